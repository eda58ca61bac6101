//! Typed access to the store: the key layout, compare-and-swap loops, and the
//! secondary indexes that keep every request's cost independent of the number of
//! stored tasks.
//!
//! Rules that keep updates from being lost on Spin KV:
//! - New records (tasks, keys) are written with `set` under fresh unique keys.
//! - Existing records change only through compare-and-swap with retry.
//! - Compare-and-swap is never used on an absent key (Spin's SQLite store would turn it
//!   into an unconditional write): index documents are created once, by the admin
//!   paths, behind an atomic `increment` gate so that two creators cannot both write.
//! - The task record is the truth; indexes follow it. Entries a change will need are added
//!   before the task write (so a crash leaves an extra entry, skipped and repaired when
//!   read, never a missing one); after the write, every index document whose entries
//!   changed is *reconciled*: read the document, then the task, set the task's entries from
//!   the task, bump the document's revision, compare-and-swap. Because a reconcile always
//!   writes and reads the document before the task, a reconcile that decided on an older task
//!   version can never overwrite one that decided on a newer version (its swap fails and it
//!   re-reads), so every index converges to the latest task state.

use crate::ids::{ApiKeyId, OrganizationUnitId, TaskId, TeamId, UserId};
use crate::store::{Store, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;

/// How many reads a request that lost a creation gate waits for the winner's write.
pub const GATE_WAIT_READS: usize = 64;
/// How often a compare-and-swap is retried before the request gives up with 503.
pub const MAX_CAS_ATTEMPTS: usize = 32;
/// Reconciles run after a change is committed and must not give up easily: they are cheap
/// and a give-up could leave an index without an entry it needs.
pub const MAX_RECONCILE_ATTEMPTS: usize = 256;

/// The key layout. Every stored document is JSON except the counters.
pub mod keys {
    use super::*;

    /// The directory as one document, as versions before per-entity storage kept it.
    pub const LEGACY_DIRECTORY: &str = "directory";
    /// Small marker: a directory was stored (and its revision).
    pub const DIRECTORY_META: &str = "dir/meta";
    /// The lease that lets one admin write change the directory at a time.
    pub const DIRECTORY_LOCK: &str = "dir/lock";
    pub const OU_LIST: &str = "dir/list/ous";
    pub const TEAM_LIST: &str = "dir/list/teams";
    pub const USER_LIST: &str = "dir/list/users";
    /// The key list as versions before numbered slots kept it (read, never written).
    pub const API_KEY_INDEX: &str = "index/apikeys";
    /// Counter (increment only): how many key slots were handed out.
    pub const API_KEY_SLOTS: &str = "counter/apikey-slots";
    /// Counter (increment only): ties in the queue are served in arrival order.
    pub const QUEUE_SEQUENCE: &str = "counter/queue-sequence";
    /// Counter (increment only): the demo data is loaded once.
    pub const DEMO_GATE: &str = "gate/demo";

    pub fn task(id: TaskId) -> String {
        format!("task/{id}")
    }
    pub fn team_index(id: TeamId) -> String {
        format!("index/team/{id}")
    }
    /// One shard of a team's index; shard 0 is where the whole index lived before sharding.
    pub fn team_index_shard(id: TeamId, shard: u8) -> String {
        match shard {
            0 => team_index(id),
            _ => format!("index/team/{id}/{shard}"),
        }
    }
    /// Every shard of a team's index, shard 0 first.
    pub fn team_index_shards(id: TeamId) -> impl Iterator<Item = String> {
        (0..super::TEAM_INDEX_SHARDS).map(move |shard| team_index_shard(id, shard))
    }
    /// Where a team's change feed keeps its keys (`{this}/count`, `/e/{n}`, … see `feeds`).
    /// Versions before kept a head document under this key itself; it is no longer read.
    pub fn team_feed(id: TeamId) -> String {
        format!("feed/team/{id}")
    }
    /// Where a user's change feed keeps its keys.
    pub fn user_feed(id: UserId) -> String {
        format!("feed/user/{id}")
    }
    /// The published head of one shard's queue (see `queue_heads`).
    pub fn team_queue_head(id: TeamId, shard: u8) -> String {
        format!("index/team-head/{id}/{shard}")
    }
    /// The queue heads of every shard of a team's index, shard 0 first.
    pub fn team_queue_heads(id: TeamId) -> impl Iterator<Item = String> {
        (0..super::TEAM_INDEX_SHARDS).map(move |shard| team_queue_head(id, shard))
    }
    pub fn user_index(id: UserId) -> String {
        format!("index/user/{id}")
    }
    pub fn api_key(id: ApiKeyId) -> String {
        format!("apikey/{id}")
    }
    pub fn api_key_last_used(id: ApiKeyId) -> String {
        format!("apikey/{id}/last-used")
    }
    pub fn ou(id: OrganizationUnitId) -> String {
        format!("dir/ou/{id}")
    }
    pub fn ou_children(id: OrganizationUnitId) -> String {
        format!("dir/ou-children/{id}")
    }
    pub fn ou_teams(id: OrganizationUnitId) -> String {
        format!("dir/ou-teams/{id}")
    }
    pub fn team(id: TeamId) -> String {
        format!("dir/team/{id}")
    }
    pub fn user(id: UserId) -> String {
        format!("dir/user/{id}")
    }
    /// Lookup of a team's SIP URI (hash of its lookup form) to its Id.
    pub fn team_name(hash: &str) -> String {
        format!("dir/team-name/{hash}")
    }
    /// Lookup of a user's SIP URI or UPN (hash of its lookup form) to the Id.
    pub fn user_name(hash: &str) -> String {
        format!("dir/user-name/{hash}")
    }
    pub fn team_members(team: TeamId) -> String {
        format!("dir/members/{team}")
    }
    pub fn user_teams(user: UserId) -> String {
        format!("dir/user-teams/{user}")
    }
    pub fn conversation_as(user: UserId) -> String {
        format!("dir/conversationas/{user}")
    }
    /// An agent's availability and reservation (see `agents`).
    pub fn agent(user: UserId) -> String {
        format!("agent/{user}")
    }
    /// All sessions of one agent (see `sessions`).
    pub fn agent_sessions(user: UserId) -> String {
        format!("sessions/{user}")
    }
    /// A team's statistics: counts folded from its feed (see `statistics`).
    pub fn team_statistics(team: TeamId) -> String {
        format!("stats/team/{team}")
    }
    /// One shard of a team's pool of idle agents (see `agents`).
    pub fn idle_pool(team: TeamId, shard: u8) -> String {
        format!("dist/idle/{team}/{shard}")
    }
    /// The id of the key created with slot `n` of [`API_KEY_SLOTS`].
    pub fn api_key_slot(n: i64) -> String {
        format!("apikey-slot/{n}")
    }
    /// The first answer to a request with an `Idempotency-Key` (hash of scope and key).
    pub fn idempotency(hash: &str) -> String {
        format!("idempotency/{hash}")
    }
    /// Counter (increment only) that lets exactly one request create `key`.
    pub fn creation_gate(key: &str) -> String {
        format!("gate/{key}")
    }
}

/// One key of every kind the repo writes, for hosts that check their key encoding against the
/// whole layout (the Spin adapter's test).
pub fn key_layout_samples() -> Vec<String> {
    let id = uuid::Uuid::from_u128(0xabc);
    let (team, user) = (TeamId(id), UserId(id));
    let hash = crate::digest::sha256_hex(b"sip:anna@contoso.com");
    let mut samples = vec![
        keys::LEGACY_DIRECTORY.to_string(),
        keys::DIRECTORY_META.to_string(),
        keys::DIRECTORY_LOCK.to_string(),
        keys::OU_LIST.to_string(),
        keys::TEAM_LIST.to_string(),
        keys::USER_LIST.to_string(),
        keys::API_KEY_INDEX.to_string(),
        keys::API_KEY_SLOTS.to_string(),
        keys::QUEUE_SEQUENCE.to_string(),
        keys::DEMO_GATE.to_string(),
        keys::task(TaskId(id)),
        keys::team_index(team),
        keys::team_index_shard(team, 15),
        keys::team_queue_head(team, 15),
        keys::user_index(user),
        keys::api_key(ApiKeyId(id)),
        keys::api_key_last_used(ApiKeyId(id)),
        keys::api_key_slot(i64::MAX),
        keys::ou(OrganizationUnitId(id)),
        keys::ou_children(OrganizationUnitId(id)),
        keys::ou_teams(OrganizationUnitId(id)),
        keys::team(team),
        keys::user(user),
        keys::team_name(&hash),
        keys::user_name(&hash),
        keys::team_members(team),
        keys::user_teams(user),
        keys::conversation_as(user),
        keys::agent(user),
        keys::agent_sessions(user),
        keys::idle_pool(team, 15),
        keys::team_statistics(team),
        keys::creation_gate(&keys::team_index(team)),
    ];
    samples.extend(FeedId::Team(team).layout_samples());
    samples.extend(FeedId::User(user).layout_samples());
    samples.extend(IdempotencySlot::in_epoch("admin", "order 4711 / ü", 99_999).layout_samples());
    samples.extend(IdempotencySlot::before_epochs("admin", "order 4711 / ü").layout_samples());
    samples.extend(answer_expiry::layout_samples());
    samples.extend(waits::layout_samples());
    samples.extend(retention::layout_samples());
    samples.extend(audit::layout_samples());
    samples.extend(api_key_retention::layout_samples());
    samples.extend(personal_data::layout_samples());
    samples.extend(leftovers::layout_samples());
    samples.extend(leftover_sessions::layout_samples());
    samples
}

mod agents;
mod answer_expiry;
mod api_key_retention;
mod api_keys;
mod audit;
mod directory;
mod directory_write;
mod error;
mod feeds;
#[cfg(test)]
pub(crate) mod hook_store;
mod idempotency_records;
mod leftover_sessions;
mod leftovers;
mod personal_data;
mod queue_heads;
mod read_ahead;
mod reservations;
mod retention;
mod sessions;
mod statistics;
mod stored_task;
mod task_index;
mod tasks;
mod time_buckets;
mod waits;

pub use agents::{idle_pool_shard, IdleEntry, IDLE_POOL_SHARDS};
pub use audit::{Actor, AuditEntry};
pub use directory::{user_order, ConversationAsEntry, DirectoryMeta, MemberEntry, TeamMembers};
pub use directory_write::{ChangeCounts, DirectoryChanges};
pub use error::{Contended, RepoError};
pub use feeds::{
    attempt_change_id, ChangeMeta, FeedAnswer, FeedEntry, FeedId, FeedRead, Intent, Outcome, Place,
    Subject, AVAILABILITY_KIND, FEED_KEPT_EVENTS, FENCE_AFTER_MILLIS,
};
pub use idempotency_records::IdempotencySlot;
pub use leftovers::LeftoverReport;
pub use personal_data::{ErasureReport, MAX_ERASURE_TASKS};
pub use queue_heads::QueueHead;
pub use read_ahead::{Named, TeamRead, UserRead};
pub use reservations::Fence;
pub use retention::SweepReport;
pub use statistics::StatisticsRead;
pub use stored_task::StoredTask;
pub use task_index::{
    index_entries, team_shard, IndexDoc, IndexEntry, QueueEntry, RingEntry, TeamIndex, UserIndex,
    TEAM_INDEX_SHARDS,
};
pub use waits::{agent_scope, CapExceeded, WaitCaps, WaitLease, WAIT_WINDOW_MILLIS};

/// A document together with the exact bytes read, for compare-and-swap.
pub(crate) struct Versioned<T> {
    pub(crate) raw: Vec<u8>,
    pub(crate) value: T,
}

/// A stored JSON document; a record that does not parse is reported as corrupt, naming its key.
pub(crate) fn decode<T: DeserializeOwned>(key: &str, raw: &[u8]) -> Result<T, RepoError> {
    Ok(serde_json::from_slice(raw).map_err(|_| StoreError::Corrupt { key: key.into() })?)
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, RepoError> {
    serde_json::to_vec(value).map_err(|e| RepoError::Encode(e.to_string()))
}

pub struct Repo<'a> {
    store: &'a dyn Store,
    /// Records read ahead in one batch at the start of a request (see [`Repo::prefetch`]).
    prefetched: RefCell<HashMap<String, Option<Vec<u8>>>>,
    /// How long finished tasks are kept (milliseconds; `None`: forever): the feed's upkeep
    /// sweeps a slice of the due ones (see `retention`).
    retention_millis: std::cell::Cell<Option<i64>>,
    /// How long audit entries are kept (`None`: forever): every 16th entry sweeps a slice.
    audit_retention_millis: std::cell::Cell<Option<i64>>,
    /// The idempotency record this request answers in, if any (see `personal_data`).
    answer_record: RefCell<Option<String>>,
}

impl<'a> Repo<'a> {
    pub fn new(store: &'a dyn Store) -> Self {
        Repo {
            store,
            prefetched: RefCell::new(HashMap::new()),
            retention_millis: std::cell::Cell::new(None),
            audit_retention_millis: std::cell::Cell::new(None),
            answer_record: RefCell::new(None),
        }
    }

    /// Sets how long finished tasks are kept (`None`: forever), from the operator's config.
    pub fn set_retention(&self, millis: Option<i64>) {
        self.retention_millis.set(millis);
    }

    pub fn retention(&self) -> Option<i64> {
        self.retention_millis.get()
    }

    /// Sets how long audit entries are kept (`None`: forever), from the operator's config.
    pub fn set_audit_retention(&self, millis: Option<i64>) {
        self.audit_retention_millis.set(millis);
    }

    /// Another repo on the same store, with nothing read ahead (for a request a handler makes
    /// on its own, like the demo's calls).
    pub(crate) fn sibling(&self) -> Repo<'a> {
        let repo = Repo::new(self.store);
        repo.set_retention(self.retention());
        repo.set_audit_retention(self.audit_retention_millis.get());
        repo
    }

    /// Reads `keys` in one batch now; each is then served once from it, as if read now, and
    /// read from the store after that. For the records a request reads first (the API key,
    /// the task or team in its path), so that a simple request costs one store round trip.
    pub fn prefetch(&self, keys: &[String]) -> Result<(), RepoError> {
        if keys.is_empty() {
            return Ok(());
        }
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let values = self.store.get_many(&refs)?;
        let mut prefetched = self.prefetched.borrow_mut();
        for (key, value) in keys.iter().zip(values) {
            prefetched.insert(key.clone(), value);
        }
        Ok(())
    }

    /// The read-ahead value of `key`, once.
    pub(crate) fn take_prefetched(&self, key: &str) -> Option<Option<Vec<u8>>> {
        self.prefetched.borrow_mut().remove(key)
    }

    /// Whether `key` was read ahead and found (the value stays there to be taken).
    pub(crate) fn prefetched_found(&self, key: &str) -> bool {
        matches!(self.prefetched.borrow().get(key), Some(Some(_)))
    }

    /// [`Repo::get_many`] of owned keys; no store operation for none.
    pub(crate) fn get_keys(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, RepoError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.get_many(&refs)
    }

    /// [`Repo::get_keys`], each value decoded (`None` where absent).
    pub(crate) fn decode_keys<T: DeserializeOwned>(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<T>>, RepoError> {
        self.get_keys(keys)?
            .into_iter()
            .zip(keys)
            .map(|(raw, key)| raw.map(|raw| decode(key, &raw)).transpose())
            .collect()
    }

    /// Writes documents in one batch; no store operation for none.
    pub(crate) fn set_all(&self, entries: &[(String, Vec<u8>)]) -> Result<(), RepoError> {
        if entries.is_empty() {
            return Ok(());
        }
        let refs: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_slice()))
            .collect();
        Ok(self.store.set_many(&refs)?)
    }

    /// Reads several keys, taking read-ahead values where all of them were read ahead.
    pub(crate) fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, RepoError> {
        let all_there = {
            let prefetched = self.prefetched.borrow();
            keys.iter().all(|k| prefetched.contains_key(*k))
        };
        if all_there && !keys.is_empty() {
            return Ok(keys
                .iter()
                .map(|k| self.take_prefetched(k).flatten())
                .collect());
        }
        Ok(self.store.get_many(keys)?)
    }

    pub(crate) fn read<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<T>>, RepoError> {
        let raw = match self.take_prefetched(key) {
            Some(raw) => raw,
            None => self.store.get(key)?,
        };
        let Some(raw) = raw else {
            return Ok(None);
        };
        let value = decode(key, &raw)?;
        Ok(Some(Versioned { raw, value }))
    }

    /// Makes sure `key` exists, holding `initial` if this call creates it. Only the request that
    /// wins the increment gate writes, so two creators cannot reset each other's updates.
    /// `repair` (admin paths only) writes anyway if the gate's winner never finished.
    pub(crate) fn ensure_exists(
        &self,
        key: &str,
        initial: &[u8],
        repair: bool,
    ) -> Result<(), RepoError> {
        if self.store.get(key)?.is_some() {
            return Ok(());
        }
        if self.store.increment(&keys::creation_gate(key), 1)? == 1 {
            return Ok(self.store.set(key, initial)?);
        }
        // The winner writes right after its increment; wait for it by reading (the core has no
        // clock to sleep on; each read is a round trip to the store).
        for _ in 0..GATE_WAIT_READS {
            if self.store.get(key)?.is_some() {
                return Ok(());
            }
        }
        if repair {
            return Ok(self.store.set(key, initial)?);
        }
        Err(RepoError::BeingCreated {
            key: key.to_string(),
        })
    }

    /// Read-modify-write of an existing document through compare-and-swap with retry.
    /// `change` returns whether it changed anything (nothing is written otherwise).
    pub(crate) fn update<T, F>(&self, key: &str, mut change: F) -> Result<Option<T>, RepoError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(&mut T) -> Result<bool, RepoError>,
    {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let Some(Versioned { raw, mut value }) = self.read::<T>(key)? else {
                return Ok(None);
            };
            if !change(&mut value)? {
                return Ok(Some(value));
            }
            if self.store.compare_and_swap(key, &raw, &encode(&value)?)? {
                return Ok(Some(value));
            }
        }
        Err(RepoError::Contended {
            what: Contended::Record(key.to_string()),
        })
    }

    /// True for exactly one caller ever (an atomic counter), e.g. to load demo data once.
    pub fn first_time(&self, gate: &str) -> Result<bool, RepoError> {
        Ok(self.store.increment(gate, 1)? == 1)
    }
}
