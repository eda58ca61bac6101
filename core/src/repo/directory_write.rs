//! Admin writes of the directory (the bulk document and the per-entity endpoints): one at a
//! time under a lease ([`keys::DIRECTORY_LOCK`]), each loads the stored directory, changes it
//! in memory, validates it and writes only the records whose bytes differ, so a repeated write
//! changes nothing and a write interrupted half-way is completed by the next one.

use super::directory::{
    team_name_key, user_name_key, user_order, ConversationAsEntry, DirectoryMeta, MemberEntry,
    TeamMembers, BATCH,
};
use super::leftovers::{Deleted, Job};
use super::{encode, keys, QueueHead, Repo, TeamIndex, UserIndex};
use crate::ids::{OrganizationUnitId, TeamId, UserId};
use crate::model::{ConversationAsRight, Directory, Membership, User};
use crate::repo::RepoError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// How long an admin write may hold the directory before another may take it over.
pub const DIRECTORY_LEASE_MILLIS: i64 = 5 * 60 * 1000;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DirectoryLock {
    holder: Option<uuid::Uuid>,
    until: Timestamp,
}

/// Feed places of deleted teams and users a directory write deletes after its own work.
const WRITE_LEFTOVER_PLACES: u64 = 500;

/// The teams and users `loaded` has and `desired` no longer has, with their names' lookups.
fn deleted_entities(loaded: &Directory, desired: &Directory) -> Vec<Job> {
    let kept_teams: HashSet<TeamId> = desired.teams.iter().map(|t| t.id).collect();
    let kept_users: HashSet<UserId> = desired.users.iter().map(|u| u.id).collect();
    let teams = loaded
        .teams
        .iter()
        .filter(|t| !kept_teams.contains(&t.id))
        .map(|t| Job {
            entity: Deleted::Team(t.id),
            names: vec![team_name_key(&t.sip_uri)],
        });
    let users = loaded
        .users
        .iter()
        .filter(|u| !kept_users.contains(&u.id))
        .map(|u| Job {
            entity: Deleted::User(u.id),
            names: vec![user_name_key(&u.sip_uri), user_name_key(&u.upn)],
        });
    teams.chain(users).collect()
}

/// Records created, updated, deleted and left unchanged by a directory write, per kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeCounts {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DirectoryChanges {
    pub organization_units: ChangeCounts,
    pub teams: ChangeCounts,
    pub users: ChangeCounts,
    pub memberships: ChangeCounts,
    pub conversation_as: ChangeCounts,
}

/// Counts how `desired` differs from `stored`, both keyed by identity.
fn count<K: std::hash::Hash + Eq, V: PartialEq>(
    stored: &HashMap<K, V>,
    desired: &HashMap<K, V>,
) -> ChangeCounts {
    let mut counts = ChangeCounts::default();
    for (key, value) in desired {
        match stored.get(key) {
            None => counts.created += 1,
            Some(old) if old == value => counts.unchanged += 1,
            Some(_) => counts.updated += 1,
        }
    }
    counts.deleted = stored.keys().filter(|k| !desired.contains_key(*k)).count();
    counts
}

impl DirectoryChanges {
    fn between(stored: &Directory, desired: &Directory) -> DirectoryChanges {
        fn by<K: std::hash::Hash + Eq, V: Clone>(
            items: &[V],
            key: impl Fn(&V) -> K,
        ) -> HashMap<K, V> {
            items.iter().map(|v| (key(v), v.clone())).collect()
        }
        DirectoryChanges {
            organization_units: count(
                &by(&stored.organization_units, |u| u.id),
                &by(&desired.organization_units, |u| u.id),
            ),
            teams: count(&by(&stored.teams, |t| t.id), &by(&desired.teams, |t| t.id)),
            users: count(&by(&stored.users, |u| u.id), &by(&desired.users, |u| u.id)),
            memberships: count(
                &by(&stored.memberships, |m| (m.team_id, m.user_id)),
                &by(&desired.memberships, |m| (m.team_id, m.user_id)),
            ),
            conversation_as: count(
                &by(&stored.conversation_as, |c| (c.user_id, c.team_id)),
                &by(&desired.conversation_as, |c| (c.user_id, c.team_id)),
            ),
        }
    }
}

/// Every record the admin owns for `directory` (all but the members documents), as the
/// bytes to store. A pure function: the same directory always gives the same records.
fn admin_records(directory: &Directory) -> Result<BTreeMap<String, Vec<u8>>, RepoError> {
    let mut records = BTreeMap::new();
    let ou_ids: Vec<OrganizationUnitId> =
        directory.organization_units.iter().map(|u| u.id).collect();
    records.insert(keys::OU_LIST.to_string(), encode(&ou_ids)?);
    let mut children: HashMap<OrganizationUnitId, Vec<OrganizationUnitId>> = HashMap::new();
    let mut unit_teams: HashMap<OrganizationUnitId, Vec<TeamId>> = HashMap::new();
    for unit in &directory.organization_units {
        records.insert(keys::ou(unit.id), encode(unit)?);
        if let Some(parent) = unit.parent_id {
            children.entry(parent).or_default().push(unit.id);
        }
    }
    for team in &directory.teams {
        unit_teams
            .entry(team.organization_unit_id)
            .or_default()
            .push(team.id);
    }
    for unit in &directory.organization_units {
        let kids = children.remove(&unit.id).unwrap_or_default();
        records.insert(keys::ou_children(unit.id), encode(&kids)?);
        let teams = unit_teams.remove(&unit.id).unwrap_or_default();
        records.insert(keys::ou_teams(unit.id), encode(&teams)?);
    }
    let team_ids: Vec<TeamId> = directory.teams.iter().map(|t| t.id).collect();
    records.insert(keys::TEAM_LIST.to_string(), encode(&team_ids)?);
    for team in &directory.teams {
        records.insert(keys::team(team.id), encode(team)?);
        records.insert(team_name_key(&team.sip_uri), encode(&team.id)?);
    }
    let mut users: Vec<&User> = directory.users.iter().collect();
    users.sort_by_key(|u| user_order(u));
    let user_ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
    records.insert(keys::USER_LIST.to_string(), encode(&user_ids)?);
    let mut teams_of: HashMap<UserId, Vec<TeamId>> = HashMap::new();
    for m in &directory.memberships {
        teams_of.entry(m.user_id).or_default().push(m.team_id);
    }
    let mut rights_of: HashMap<UserId, Vec<ConversationAsEntry>> = HashMap::new();
    for c in &directory.conversation_as {
        rights_of
            .entry(c.user_id)
            .or_default()
            .push(ConversationAsEntry {
                team_id: c.team_id,
                conversation_as_service: c.conversation_as_service,
            });
    }
    for user in &directory.users {
        records.insert(keys::user(user.id), encode(user)?);
        records.insert(user_name_key(&user.sip_uri), encode(&user.id)?);
        records.insert(user_name_key(&user.upn), encode(&user.id)?);
        let teams = teams_of.remove(&user.id).unwrap_or_default();
        records.insert(keys::user_teams(user.id), encode(&teams)?);
        let rights = rights_of.remove(&user.id).unwrap_or_default();
        records.insert(keys::conversation_as(user.id), encode(&rights)?);
    }
    Ok(records)
}

/// The members documents `directory` asks for, per team.
fn members_of(directory: &Directory) -> HashMap<TeamId, TeamMembers> {
    let mut members: HashMap<TeamId, TeamMembers> = directory
        .teams
        .iter()
        .map(|t| (t.id, TeamMembers::default()))
        .collect();
    for m in &directory.memberships {
        members
            .entry(m.team_id)
            .or_default()
            .members
            .push(MemberEntry {
                user_id: m.user_id,
                is_active: m.is_active,
            });
    }
    members
}

/// The members document to store: `desired`, except that a membership the write does not
/// change (same in `loaded` and `desired`) keeps its current state, so a user blocked by a
/// concurrent request stays blocked.
fn merge_members(
    loaded: &TeamMembers,
    desired: &TeamMembers,
    current: &TeamMembers,
) -> TeamMembers {
    TeamMembers {
        members: desired
            .members
            .iter()
            .map(|wanted| {
                let untouched = loaded.member(wanted.user_id) == Some(wanted);
                match current.member(wanted.user_id) {
                    Some(now) if untouched => now.clone(),
                    _ => wanted.clone(),
                }
            })
            .collect(),
    }
}

impl Repo<'_> {
    // ---- admin: the whole directory ---------------------------------------------------

    /// The stored directory, assembled from its records: units and teams in stored order,
    /// users by display name, memberships by team, conversation-as rights by user.
    pub fn load_directory(&self) -> Result<Directory, RepoError> {
        let unit_ids: Vec<OrganizationUnitId> = self.read_value(keys::OU_LIST)?.unwrap_or_default();
        let organization_units =
            self.read_many(&unit_ids.iter().map(|id| keys::ou(*id)).collect::<Vec<_>>())?;
        let team_ids = self.team_ids()?;
        let teams = self.teams(&team_ids)?;
        let user_ids = self.user_ids()?;
        let users = self.users(&user_ids)?;
        let member_docs: Vec<(TeamId, Option<TeamMembers>)> = {
            let member_keys: Vec<String> =
                team_ids.iter().map(|t| keys::team_members(*t)).collect();
            let mut docs = Vec::new();
            for (chunk_ids, chunk_keys) in team_ids.chunks(BATCH).zip(member_keys.chunks(BATCH)) {
                let refs: Vec<&str> = chunk_keys.iter().map(String::as_str).collect();
                for (team, raw) in chunk_ids.iter().zip(self.store.get_many(&refs)?) {
                    let doc = raw.and_then(|r| serde_json::from_slice(&r).ok());
                    docs.push((*team, doc));
                }
            }
            docs
        };
        let memberships = member_docs
            .into_iter()
            .flat_map(|(team, doc)| {
                doc.unwrap_or_default()
                    .members
                    .into_iter()
                    .map(move |m| Membership {
                        team_id: team,
                        user_id: m.user_id,
                        is_active: m.is_active,
                    })
            })
            .collect();
        let rights: Vec<Vec<ConversationAsEntry>> = self.read_many(
            &user_ids
                .iter()
                .map(|u| keys::conversation_as(*u))
                .collect::<Vec<_>>(),
        )?;
        let conversation_as = user_ids
            .iter()
            .zip(rights)
            .flat_map(|(user, entries)| {
                entries.into_iter().map(|e| ConversationAsRight {
                    user_id: *user,
                    team_id: e.team_id,
                    conversation_as_service: e.conversation_as_service,
                })
            })
            .collect();
        Ok(Directory {
            organization_units,
            teams,
            users,
            memberships,
            conversation_as,
        })
    }

    /// Runs an admin change of the directory: takes the lease, loads the stored directory,
    /// lets `change` edit it, validates the result, refuses to delete a team or user that
    /// still has open tasks, writes what differs, and releases the lease.
    pub fn change_directory<R>(
        &self,
        now: Timestamp,
        holder: uuid::Uuid,
        change: impl FnOnce(&mut Directory) -> Result<R, RepoError>,
    ) -> Result<(R, DirectoryChanges), RepoError> {
        self.take_directory_lease(now, holder)?;
        let result = (|| {
            let loaded = self.load_directory()?;
            let mut desired = loaded.clone();
            let answer = change(&mut desired)?;
            let changes = DirectoryChanges::between(&loaded, &desired);
            desired.validate().map_err(RepoError::InvalidDirectory)?;
            self.refuse_deleting_busy_entities(&loaded, &desired)?;
            // Noted before the deletes, so a write that dies half-way leaves no leftovers
            // unnoted (`repo/leftovers.rs`).
            self.note_deleted(&deleted_entities(&loaded, &desired))?;
            self.write_directory(&loaded, &desired)?;
            // Upkeep: one slice of what earlier deletions left. A failure loses nothing.
            let _ = self.clean_leftovers(now, WRITE_LEFTOVER_PLACES);
            Ok((answer, changes))
        })();
        // The lease ends with the write, whether it succeeded or not.
        self.release_directory_lease(holder)?;
        result
    }

    pub(super) fn take_directory_lease(
        &self,
        now: Timestamp,
        holder: uuid::Uuid,
    ) -> Result<(), RepoError> {
        self.ensure_exists(
            keys::DIRECTORY_LOCK,
            &encode(&DirectoryLock::default())?,
            true,
        )?;
        let until = now.plus_millis(DIRECTORY_LEASE_MILLIS);
        self.update::<DirectoryLock, _>(keys::DIRECTORY_LOCK, |lock| {
            if lock.holder.is_some() && lock.until > now {
                return Err(RepoError::DirectoryBusy);
            }
            lock.holder = Some(holder);
            lock.until = until;
            Ok(true)
        })?;
        Ok(())
    }

    pub(super) fn release_directory_lease(&self, holder: uuid::Uuid) -> Result<(), RepoError> {
        self.update::<DirectoryLock, _>(keys::DIRECTORY_LOCK, |lock| {
            if lock.holder != Some(holder) {
                return Ok(false);
            }
            lock.holder = None;
            Ok(true)
        })?;
        Ok(())
    }

    /// A team with open tasks, or a user with assigned tasks or active consultations, is not
    /// deleted: the tasks would point at nothing. End or move the tasks first.
    fn refuse_deleting_busy_entities(
        &self,
        loaded: &Directory,
        desired: &Directory,
    ) -> Result<(), RepoError> {
        let kept_teams: HashSet<TeamId> = desired.teams.iter().map(|t| t.id).collect();
        let kept_users: HashSet<UserId> = desired.users.iter().map(|u| u.id).collect();
        let mut busy = Vec::new();
        for team in loaded.teams.iter().filter(|t| !kept_teams.contains(&t.id)) {
            let index = self.team_index(team.id)?;
            if !index.open.is_empty() {
                busy.push(format!(
                    "team '{}' has {} open tasks",
                    team.id,
                    index.open.len()
                ));
            }
        }
        for user in loaded.users.iter().filter(|u| !kept_users.contains(&u.id)) {
            let index: UserIndex = self
                .read_value(&keys::user_index(user.id))?
                .unwrap_or_default();
            let open = index.tasks.len() + index.consultations.len();
            if open > 0 {
                busy.push(format!(
                    "user '{}' has {open} open tasks or consultations",
                    user.id
                ));
            }
        }
        if busy.is_empty() {
            return Ok(());
        }
        busy.truncate(20);
        Err(RepoError::OpenTasks(busy))
    }

    /// Writes `desired` over `loaded`: first what requests follow to (task indexes, members,
    /// then records and lookups, then lists), then removes what `desired` no longer has.
    fn write_directory(&self, loaded: &Directory, desired: &Directory) -> Result<(), RepoError> {
        let empty_team = encode(&TeamIndex::default())?;
        let empty_user = encode(&UserIndex::default())?;
        let known_teams: HashSet<TeamId> = loaded.teams.iter().map(|t| t.id).collect();
        let known_users: HashSet<UserId> = loaded.users.iter().map(|u| u.id).collect();
        // A new team's index (every shard, and the head of each shard's queue), written with the other fresh documents below. No task request can touch them yet
        // (the team record is written after them), so no creation gate is needed; task requests
        // still make a missing one through the gate for teams stored before these existed.
        let empty_head = encode(&QueueHead::of_empty_shard())?;
        let mut fresh: Vec<(String, Vec<u8>)> = Vec::new();
        for team in desired
            .teams
            .iter()
            .filter(|t| !known_teams.contains(&t.id))
        {
            fresh.extend(keys::team_index_shards(team.id).map(|key| (key, empty_team.clone())));
            fresh.extend(keys::team_queue_heads(team.id).map(|key| (key, empty_head.clone())));
        }
        // New users' indexes and new teams' members: only admin writes create them, so the
        // absent ones are written in batches; present ones (an interrupted earlier write) stay.
        for user in desired
            .users
            .iter()
            .filter(|u| !known_users.contains(&u.id))
        {
            fresh.push((keys::user_index(user.id), empty_user.clone()));
        }
        let loaded_members = members_of(loaded);
        let mut known_members = Vec::new();
        for (team, wanted) in members_of(desired) {
            if known_teams.contains(&team) {
                known_members.push((team, wanted));
            } else {
                fresh.push((keys::team_members(team), encode(&wanted)?));
            }
        }
        self.set_absent(&fresh)?;
        for (team, wanted) in known_members {
            let key = keys::team_members(team);
            let before = loaded_members.get(&team).cloned().unwrap_or_default();
            if self.store.get(&key)?.is_none() {
                self.store.set(&key, &encode(&wanted)?)?;
                continue;
            }
            self.update::<TeamMembers, _>(&key, |current| {
                let merged = merge_members(&before, &wanted, current);
                let changed = merged != *current;
                *current = merged;
                Ok(changed)
            })?;
        }

        let wanted = admin_records(desired)?;
        let keys_wanted: Vec<String> = wanted.keys().cloned().collect();
        // List documents last, so that a listed id always has its record when it is made,
        // and a write that dies while deleting leaves what it deletes listed: loaded again
        // by the next write, which deletes the rest (a listed id without its record is read
        // as absent).
        let (lists, records): (Vec<String>, Vec<String>) = keys_wanted
            .into_iter()
            .partition(|k| [keys::OU_LIST, keys::TEAM_LIST, keys::USER_LIST].contains(&k.as_str()));
        self.set_changed(&wanted, &records)?;
        for key in admin_records(loaded)?.keys() {
            if !wanted.contains_key(key) {
                self.store.delete(key)?;
            }
        }
        let kept_teams: HashSet<TeamId> = desired.teams.iter().map(|t| t.id).collect();
        for team in loaded.teams.iter().filter(|t| !kept_teams.contains(&t.id)) {
            self.store.delete(&keys::team_members(team.id))?;
        }
        self.set_changed(&wanted, &lists)?;

        let meta = self.directory_meta()?.unwrap_or_default();
        let next = DirectoryMeta {
            revision: meta.revision + 1,
        };
        Ok(self.store.set(keys::DIRECTORY_META, &encode(&next)?)?)
    }

    /// Writes those of `keys` whose stored bytes differ from `wanted`'s, in batches.
    fn set_changed(
        &self,
        wanted: &BTreeMap<String, Vec<u8>>,
        keys: &[String],
    ) -> Result<(), RepoError> {
        for chunk in keys.chunks(BATCH) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let mut changed = Vec::new();
            for (key, stored) in chunk.iter().zip(self.store.get_many(&refs)?) {
                if let Some(bytes) = wanted.get(key) {
                    if stored.as_ref() != Some(bytes) {
                        changed.push((key.as_str(), bytes.as_slice()));
                    }
                }
            }
            if !changed.is_empty() {
                self.store.set_many(&changed)?;
            }
        }
        Ok(())
    }

    /// Writes those of `entries` whose key is absent, in batches.
    fn set_absent(&self, entries: &[(String, Vec<u8>)]) -> Result<(), RepoError> {
        for chunk in entries.chunks(BATCH) {
            let keys: Vec<&str> = chunk.iter().map(|(key, _)| key.as_str()).collect();
            let absent: Vec<(&str, &[u8])> = chunk
                .iter()
                .zip(self.store.get_many(&keys)?)
                .filter(|(_, stored)| stored.is_none())
                .map(|((key, value), _)| (key.as_str(), value.as_slice()))
                .collect();
            if !absent.is_empty() {
                self.store.set_many(&absent)?;
            }
        }
        Ok(())
    }

    /// Moves a directory stored by an earlier version (one document) to the per-entity
    /// records, once. Returns whether there was one.
    pub fn migrate_single_document_directory(
        &self,
        now: Timestamp,
        holder: uuid::Uuid,
    ) -> Result<bool, RepoError> {
        let Some(old) = self.read_value::<Directory>(keys::LEGACY_DIRECTORY)? else {
            return Ok(false);
        };
        self.change_directory(now, holder, |directory| {
            *directory = old;
            Ok(())
        })?;
        self.store.delete(keys::LEGACY_DIRECTORY)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(user: u128, is_active: bool) -> MemberEntry {
        MemberEntry {
            user_id: UserId(uuid::Uuid::from_u128(user)),
            is_active,
        }
    }

    #[test]
    fn a_write_keeps_a_concurrent_block_unless_it_changes_that_membership() {
        let loaded = TeamMembers {
            members: vec![member(1, true), member(2, true)],
        };
        // Meanwhile user 1 was blocked by a request.
        let current = TeamMembers {
            members: vec![member(1, false), member(2, true)],
        };
        // The write leaves user 1 alone, unblocks nobody, adds user 3.
        let desired = TeamMembers {
            members: vec![member(1, true), member(2, true), member(3, true)],
        };
        let merged = merge_members(&loaded, &desired, &current);
        assert_eq!(
            merged.members,
            vec![member(1, false), member(2, true), member(3, true)]
        );
        // A write that blocks user 2 and removes user 1 does exactly that.
        let desired = TeamMembers {
            members: vec![member(2, false)],
        };
        assert_eq!(
            merge_members(&loaded, &desired, &current).members,
            vec![member(2, false)]
        );
    }

    #[test]
    fn records_are_a_pure_function_of_the_directory() {
        let directory = crate::demo::directory();
        assert_eq!(
            admin_records(&directory).unwrap(),
            admin_records(&directory).unwrap()
        );
        let records = admin_records(&directory).unwrap();
        let anna = &directory.users[0];
        for name in [
            anna.sip_uri.clone(),
            anna.sip_uri.to_uppercase(),
            anna.sip_uri.trim_start_matches("sip:").to_string(),
            anna.upn.to_uppercase(),
        ] {
            assert_eq!(
                records.get(&user_name_key(&name)),
                Some(&encode(&anna.id).unwrap()),
                "{name}"
            );
        }
    }
}
