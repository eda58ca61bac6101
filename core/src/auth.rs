//! Authentication: API keys for `/v1.0` (the vendor's `api_key` header), agent sessions for
//! what one agent may do on `/v1.0` (`Authorization: Bearer tms_…`, see `model::session`), the
//! operator's admin token for `/admin`.
//!
//! A key's secret has the form `tm_<key id, 32 hex>_<64 hex random>`. The key id locates
//! the record; the secret's SHA-256 is compared with the stored hash in constant time.
//! Secrets are random (256 bits from the host's id source), so a plain hash is enough.

use crate::error::ApiError;
use crate::ids::{ApiKeyId, IdSource};
use crate::model::{ApiKeyRecord, Role};
use crate::repo::Repo;
use crate::time::Timestamp;
use subtle::ConstantTimeEq;
use uuid::Uuid;

pub const API_KEY_HEADER: &str = "api_key";
const SECRET_PREFIX: &str = "tm_";

pub use crate::digest::sha256_hex;

/// Equal-length digests compared in constant time, so timing says nothing about the secret.
pub fn secrets_match(presented: &str, stored_sha256_hex: &str) -> bool {
    let presented = sha256_hex(presented.as_bytes());
    presented
        .as_bytes()
        .ct_eq(stored_sha256_hex.as_bytes())
        .into()
}

/// A new secret for key `id`, and the hash to store.
pub fn new_secret(id: ApiKeyId, ids: &mut dyn IdSource) -> (String, String) {
    let random: String = [ids.next_id(), ids.next_id()]
        .iter()
        .map(|u: &Uuid| u.simple().to_string())
        .collect();
    let secret = format!("{SECRET_PREFIX}{}_{random}", id.0.simple());
    let hash = sha256_hex(secret.as_bytes());
    (secret, hash)
}

/// The key id inside a presented secret, if it has the expected shape.
fn key_id_of(secret: &str) -> Option<ApiKeyId> {
    let rest = secret.strip_prefix(SECRET_PREFIX)?;
    let (id, _) = rest.split_once('_')?;
    if id.len() != 32 {
        return None;
    }
    ApiKeyId::parse(id)
}

/// An API key that may call the route.
#[derive(Debug)]
pub struct Authorized {
    pub record: ApiKeyRecord,
    /// Why its last use could not be recorded, for the operator's log (the request goes on).
    pub last_use_not_recorded: Option<String>,
}

/// Checks the `api_key` header against the stored keys and the role the route needs: one batch
/// read (the record and its last use), nothing for a malformed key. Records the key's last use,
/// best effort (a blind write: last writer wins, which is fine for a timestamp; a store that
/// refuses writes must not fail reads).
pub fn authorize_api_key(
    repo: &Repo,
    header: Option<&str>,
    required: Role,
    now: Timestamp,
) -> Result<Authorized, ApiError> {
    let presented =
        header.ok_or_else(|| ApiError::Unauthorized("Header 'api_key' not found.".into()))?;
    let invalid = || ApiError::Unauthorized("The API key is not valid.".into());
    let id = key_id_of(presented.trim()).ok_or_else(invalid)?;
    let (record, last_used) = repo.api_key_and_last_use(id)?;
    let record = record.ok_or_else(invalid)?;
    if !secrets_match(presented.trim(), &record.secret_sha256) {
        return Err(invalid());
    }
    if record.revoked_at.is_some() {
        return Err(ApiError::Unauthorized(
            "The API key has been revoked.".into(),
        ));
    }
    if let Some(expires_at) = record.expires_at {
        if now >= expires_at {
            return Err(ApiError::Unauthorized(format!(
                "The API key expired at {expires_at}."
            )));
        }
    }
    if !record.has_role(required) {
        return Err(ApiError::Unauthorized(format!(
            "The API key does not have the role '{required:?}' that this endpoint requires."
        )));
    }
    // LastUsedAt to the minute: at most one write a minute per key, not one per request.
    let mut last_use_not_recorded = None;
    if last_used.is_none_or(|last| last.plus_millis(LAST_USED_RESOLUTION_MILLIS) <= now) {
        if let Err(error) = repo.touch_api_key(id, now) {
            let detail = match error {
                crate::repo::RepoError::Unavailable(detail) => detail,
                other => other.to_string(),
            };
            last_use_not_recorded =
                Some(format!("LastUsedAt of API key {id} not written: {detail}"));
        }
    }
    Ok(Authorized {
        record,
        last_use_not_recorded,
    })
}

/// An agent's session that authenticated: who the agent is.
#[derive(Debug)]
pub struct AgentSession {
    pub user: crate::model::User,
    pub session: crate::ids::SessionId,
}

/// The token of `Authorization: Bearer <token>`, if the header has that form.
pub fn bearer_token(header: Option<&str>) -> Option<&str> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("Bearer").then(|| token.trim())
}

/// Checks an agent session's token: one batch read (the agent's sessions and user record),
/// nothing for a token of the wrong shape. The agent's user must still exist.
pub fn authorize_session(
    repo: &Repo,
    token: &str,
    now: Timestamp,
) -> Result<AgentSession, ApiError> {
    use crate::model::session::{token_names, SessionRefused};
    let refused = |why: SessionRefused| ApiError::Unauthorized(why.to_string());
    let (user_id, _) = token_names(token).ok_or_else(|| refused(SessionRefused::NotValid))?;
    let (sessions, user) = repo.agent_sessions_and_user(user_id)?;
    let session = sessions.verify(token, now).map_err(refused)?.id;
    let user = user.ok_or_else(|| refused(SessionRefused::AgentGone))?;
    Ok(AgentSession { user, session })
}

/// How stale `LastUsedAt` may be: it is written at most once per this many milliseconds.
pub const LAST_USED_RESOLUTION_MILLIS: i64 = 60_000;

/// The shortest admin token the service accepts: shorter ones are guessable, and the admin API
/// stays closed until the operator configures a longer one.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

/// Checks `Authorization: Bearer <token>` against the configured admin token.
pub fn authorize_admin(header: Option<&str>, admin_token: Option<&str>) -> Result<(), ApiError> {
    let configured = admin_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        ApiError::Unauthorized("The admin API is disabled: no admin token is configured.".into())
    })?;
    if configured.chars().count() < MIN_ADMIN_TOKEN_CHARS {
        return Err(ApiError::AdminTokenTooShort {
            min_chars: MIN_ADMIN_TOKEN_CHARS,
        });
    }
    let presented = bearer_token(header).ok_or_else(|| {
        ApiError::Unauthorized("Header 'Authorization: Bearer <admin token>' not found.".into())
    })?;
    if secrets_match(presented, &sha256_hex(configured.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(
            "The admin token is not valid.".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::SequentialIds;

    #[test]
    fn secret_carries_its_key_id_and_matches_only_its_hash() {
        let id = ApiKeyId(Uuid::from_u128(7));
        let (secret, hash) = new_secret(id, &mut SequentialIds::new(1));
        assert_eq!(key_id_of(&secret), Some(id));
        assert!(secrets_match(&secret, &hash));
        assert!(!secrets_match(&format!("{secret}x"), &hash));
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&secret));
    }

    #[test]
    fn malformed_secrets_have_no_key_id() {
        for s in [
            "",
            "tm_",
            "tm_xyz_abc",
            "abc",
            "tm_00000000000000000000000000000007",
        ] {
            assert_eq!(key_id_of(s), None, "{s}");
        }
    }

    #[test]
    fn admin_token_needs_bearer_scheme_and_exact_token() {
        let token = "s3cret-0123456789-0123456789-0123";
        let shorter = &token[..token.len() - 1];
        assert!(authorize_admin(Some(&format!("Bearer {token}")), Some(token)).is_ok());
        assert!(authorize_admin(Some(&format!("bearer {token}")), Some(token)).is_ok());
        assert!(authorize_admin(Some(&format!("Bearer {shorter}")), Some(token)).is_err());
        assert!(authorize_admin(Some(token), Some(token)).is_err());
        assert!(authorize_admin(None, Some(token)).is_err());
        assert!(authorize_admin(Some("Bearer "), Some("")).is_err());
    }

    #[test]
    fn an_admin_token_shorter_than_32_characters_opens_nothing() {
        let short = "0123456789012345678901234567890"; // 31
        let error = authorize_admin(Some(&format!("Bearer {short}")), Some(short));
        assert_eq!(
            error,
            Err(ApiError::AdminTokenTooShort { min_chars: 32 }),
            "even the right token is refused"
        );
        let response = ApiError::AdminTokenTooShort { min_chars: 32 }.into_response();
        assert_eq!(response.status, 401);
        assert!(response.log.is_some(), "the operator hears why");
        let long = format!("{short}x");
        assert!(authorize_admin(Some(&format!("Bearer {long}")), Some(&long)).is_ok());
    }

    #[test]
    fn manage_roles_imply_read_roles_only() {
        assert!(Role::TasksManage.grants(Role::TasksReadonly));
        assert!(!Role::TasksReadonly.grants(Role::TasksManage));
        assert!(Role::UsersControl.grants(Role::UsersReadonly));
        assert!(!Role::TeamsReadonly.grants(Role::UsersReadonly));
    }
}
