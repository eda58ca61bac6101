//! The directory, stored per entity so that a request reads only the records it needs:
//! a team, a user, the members of one team, the teams of one user, one user's
//! conversation-as rights, an organization unit's children. Lookup records map a team's SIP
//! URI, or a user's SIP URI or UPN (case-insensitive, with or without `sip:`), to the Id.
//!
//! The admin writes the directory ([`super::directory_write`]); `/v1.0` only reads it, except
//! that blocking a user changes the team's members document through compare-and-swap.

use super::{decode, keys, Repo, Versioned};
use crate::digest::sha256_hex;
use crate::ids::{OrganizationUnitId, TeamId, UserId};
use crate::model::directory::lookup_name;
use crate::model::{ConversationAsService, OrganizationUnit, Team, User};
use crate::repo::RepoError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Keys per batch read.
pub(super) const BATCH: usize = 500;

/// One member of a team, as stored in the team's members document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MemberEntry {
    pub user_id: UserId,
    pub is_active: bool,
}

/// The members of one team, in the order the directory lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TeamMembers {
    pub members: Vec<MemberEntry>,
}

impl TeamMembers {
    pub fn member(&self, user: UserId) -> Option<&MemberEntry> {
        self.members.iter().find(|m| m.user_id == user)
    }
}

/// One conversation-as right of a user, as stored in the user's rights document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConversationAsEntry {
    pub team_id: TeamId,
    pub conversation_as_service: ConversationAsService,
}

/// Present once a directory was stored; `/health` and the demo loader read only this.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DirectoryMeta {
    pub revision: u64,
}

/// The key of the lookup record for a name (hashed: names may hold any character).
pub(super) fn team_name_key(sip_uri: &str) -> String {
    keys::team_name(&sha256_hex(lookup_name(sip_uri).as_bytes()))
}

pub(super) fn user_name_key(name: &str) -> String {
    keys::user_name(&sha256_hex(lookup_name(name).as_bytes()))
}

/// Users in the order every user list has: display name (case-insensitive), then Id.
pub fn user_order(user: &User) -> (String, UserId) {
    (user.display_name.to_lowercase(), user.id)
}

impl Repo<'_> {
    pub(super) fn read_value<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, RepoError> {
        Ok(self.read(key)?.map(|v: Versioned<T>| v.value))
    }

    /// Reads many records in batches; absent ones are skipped, in the order of `keys`.
    pub(super) fn read_many<T: DeserializeOwned>(
        &self,
        keys: &[String],
    ) -> Result<Vec<T>, RepoError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            for (key, raw) in chunk.iter().zip(self.store.get_many(&refs)?) {
                if let Some(raw) = raw {
                    found.push(decode(key, &raw)?);
                }
            }
        }
        Ok(found)
    }

    // ---- reads for requests ---------------------------------------------------------

    /// Whether a directory was ever stored (one small record).
    pub fn directory_meta(&self) -> Result<Option<DirectoryMeta>, RepoError> {
        self.read_value(keys::DIRECTORY_META)
    }

    pub fn team(&self, id: TeamId) -> Result<Option<Team>, RepoError> {
        self.read_value(&keys::team(id))
    }

    pub fn user(&self, id: UserId) -> Result<Option<User>, RepoError> {
        self.read_value(&keys::user(id))
    }

    /// A team by Id or SIP URI (case-insensitive, with or without `sip:`).
    pub fn find_team(&self, identifier: &str) -> Result<Option<Team>, RepoError> {
        let identifier = identifier.trim();
        if let Some(id) = TeamId::parse(identifier) {
            if let Some(team) = self.team(id)? {
                return Ok(Some(team));
            }
        }
        match self.read_value::<TeamId>(&team_name_key(identifier))? {
            Some(id) => self.team(id),
            None => Ok(None),
        }
    }

    /// A user by Id, SIP URI (with or without `sip:`) or UPN, case-insensitive.
    pub fn find_user(&self, identifier: &str) -> Result<Option<User>, RepoError> {
        let identifier = identifier.trim();
        if let Some(id) = UserId::parse(identifier) {
            if let Some(user) = self.user(id)? {
                return Ok(Some(user));
            }
        }
        match self.read_value::<UserId>(&user_name_key(identifier))? {
            Some(id) => self.user(id),
            None => Ok(None),
        }
    }

    pub fn teams(&self, ids: &[TeamId]) -> Result<Vec<Team>, RepoError> {
        self.read_many(&ids.iter().map(|id| keys::team(*id)).collect::<Vec<_>>())
    }

    pub fn users(&self, ids: &[UserId]) -> Result<Vec<User>, RepoError> {
        self.read_many(&ids.iter().map(|id| keys::user(*id)).collect::<Vec<_>>())
    }

    /// Every team id, in directory order.
    pub fn team_ids(&self) -> Result<Vec<TeamId>, RepoError> {
        Ok(self.read_value(keys::TEAM_LIST)?.unwrap_or_default())
    }

    /// Every user id, by display name.
    pub fn user_ids(&self) -> Result<Vec<UserId>, RepoError> {
        Ok(self.read_value(keys::USER_LIST)?.unwrap_or_default())
    }

    pub fn organization_unit(
        &self,
        id: OrganizationUnitId,
    ) -> Result<Option<OrganizationUnit>, RepoError> {
        self.read_value(&keys::ou(id))
    }

    /// The teams of an organization unit and of all units below it, level by level (one
    /// batch read per level and kind).
    pub fn organization_unit_subtree_teams(
        &self,
        root: OrganizationUnitId,
    ) -> Result<Vec<TeamId>, RepoError> {
        let mut teams = Vec::new();
        let mut seen = HashSet::from([root]);
        let mut level = vec![root];
        while !level.is_empty() {
            let team_keys: Vec<String> = level.iter().map(|u| keys::ou_teams(*u)).collect();
            for ids in self.read_many::<Vec<TeamId>>(&team_keys)? {
                teams.extend(ids);
            }
            let child_keys: Vec<String> = level.iter().map(|u| keys::ou_children(*u)).collect();
            level = self
                .read_many::<Vec<OrganizationUnitId>>(&child_keys)?
                .into_iter()
                .flatten()
                .filter(|u| seen.insert(*u))
                .collect();
        }
        Ok(teams)
    }

    pub fn team_members(&self, team: TeamId) -> Result<TeamMembers, RepoError> {
        Ok(self
            .read_value(&keys::team_members(team))?
            .unwrap_or_default())
    }

    /// The teams the user is a member of (blocked or not), in directory order.
    pub fn user_team_ids(&self, user: UserId) -> Result<Vec<TeamId>, RepoError> {
        Ok(self
            .read_value(&keys::user_teams(user))?
            .unwrap_or_default())
    }

    pub fn conversation_as(&self, user: UserId) -> Result<Vec<ConversationAsEntry>, RepoError> {
        Ok(self
            .read_value(&keys::conversation_as(user))?
            .unwrap_or_default())
    }

    /// Blocks or unblocks a member in a team (compare-and-swap on the team's members).
    /// `None` when the user is not a member.
    pub fn set_member_active(
        &self,
        team: TeamId,
        user: UserId,
        active: bool,
    ) -> Result<Option<()>, RepoError> {
        let mut is_member = false;
        self.update::<TeamMembers, _>(&keys::team_members(team), |members| {
            let Some(entry) = members.members.iter_mut().find(|m| m.user_id == user) else {
                is_member = false;
                return Ok(false);
            };
            is_member = true;
            let changed = entry.is_active != active;
            entry.is_active = active;
            Ok(changed)
        })?;
        Ok(is_member.then_some(()))
    }
}
