//! API keys: only a SHA-256 hash of the secret is ever stored.

use crate::ids::ApiKeyId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    TasksReadonly,
    TasksManage,
    TeamsReadonly,
    UsersReadonly,
    UsersControl,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::TasksReadonly,
        Role::TasksManage,
        Role::TeamsReadonly,
        Role::UsersReadonly,
        Role::UsersControl,
    ];

    /// The manage roles imply their read role.
    pub fn grants(self, required: Role) -> bool {
        self == required
            || matches!(
                (self, required),
                (Role::TasksManage, Role::TasksReadonly)
                    | (Role::UsersControl, Role::UsersReadonly)
            )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub name: String,
    /// Empty means full access: only records carried over from earlier versions, which allowed
    /// keys without roles; the admin API refuses to create or change a key to no roles.
    pub roles: Vec<Role>,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Lower-case hex SHA-256 of the secret.
    pub secret_sha256: String,
    pub revoked_at: Option<Timestamp>,
}

/// What the admin API shows of a key (never the hash, never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: String,
    pub roles: Vec<Role>,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl ApiKeyRecord {
    pub fn view(&self, last_used_at: Option<Timestamp>) -> ApiKeyView {
        ApiKeyView {
            id: self.id,
            name: self.name.clone(),
            roles: self.roles.clone(),
            expires_at: self.expires_at,
            created_at: self.created_at,
            last_used_at,
        }
    }

    pub fn has_role(&self, required: Role) -> bool {
        self.roles.is_empty() || self.roles.iter().any(|r| r.grants(required))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_carried_over_without_roles_keeps_full_access() {
        // As an earlier version stored a key made without roles.
        let stored = r#"{"Id":"00000000-0000-0000-0000-000000000007","Name":"old","Roles":[],
            "ExpiresAt":null,"CreatedAt":"2025-01-01T00:00:00Z","SecretSha256":"ab","RevokedAt":null}"#;
        let record: ApiKeyRecord = serde_json::from_str(stored).expect("an earlier record");
        assert!(Role::ALL.iter().all(|role| record.has_role(*role)));
        let limited = ApiKeyRecord {
            roles: vec![Role::TeamsReadonly],
            ..record
        };
        assert!(limited.has_role(Role::TeamsReadonly));
        assert!(!limited.has_role(Role::TasksReadonly));
    }
}
