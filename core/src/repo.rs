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
//! - The task record is the truth; indexes are hints. Index entries are added before the
//!   task write and removed after it, so a crash in between leaves an extra entry (skipped
//!   and pruned when read), never a missing one.

use crate::error::ApiError;
use crate::ids::{ApiKeyId, TaskId, TeamId, UserId};
use crate::model::{ApiKeyRecord, Directory, Priority, Task, TaskStatus};
use crate::store::{Store, StoreError};
use crate::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// How often a compare-and-swap is retried before the request gives up with 503.
pub const MAX_CAS_ATTEMPTS: usize = 32;

/// The key layout. Every stored document is JSON except the counters.
pub mod keys {
    use super::*;

    pub const DIRECTORY: &str = "directory";
    pub const API_KEY_INDEX: &str = "index/apikeys";
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
    pub fn user_index(id: UserId) -> String {
        format!("index/user/{id}")
    }
    pub fn api_key(id: ApiKeyId) -> String {
        format!("apikey/{id}")
    }
    pub fn api_key_last_used(id: ApiKeyId) -> String {
        format!("apikey/{id}/last-used")
    }
    /// Counter (increment only) that lets exactly one request create `key`.
    pub fn creation_gate(key: &str) -> String {
        format!("gate/{key}")
    }
}

/// A task as stored: the task plus its place in the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoredTask {
    #[serde(flatten)]
    pub task: Task,
    /// From [`keys::QUEUE_SEQUENCE`] at creation; breaks ties between equal `QueuedAt`.
    pub queue_sequence: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueEntry {
    pub task_id: TaskId,
    pub priority: Priority,
    pub queued_at: Timestamp,
    pub sequence: i64,
}

impl QueueEntry {
    /// Serving order: priority first, then age, then arrival.
    pub fn serving_key(&self) -> (Priority, Timestamp, i64) {
        (self.priority, self.queued_at, self.sequence)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TeamIndex {
    /// Non-final tasks of the team.
    pub open: Vec<TaskId>,
    /// Queued tasks of the team.
    pub queue: Vec<QueueEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserIndex {
    /// Non-final tasks assigned to the user.
    pub tasks: Vec<TaskId>,
    /// Tasks with an active consultation call the user started or is the target of.
    pub consultations: Vec<TaskId>,
}

/// One index entry a task should have in its current state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexEntry {
    TeamOpen(TeamId, TaskId),
    TeamQueue(TeamId, QueueEntry),
    UserTask(UserId, TaskId),
    UserConsultation(UserId, TaskId),
}

/// The index entries that `stored` should have: a pure function of the task.
pub fn index_entries(stored: &StoredTask) -> Vec<IndexEntry> {
    let task = &stored.task;
    let mut entries = Vec::new();
    if !task.status.is_final() {
        entries.push(IndexEntry::TeamOpen(task.team_id, task.id));
        if let Some(user) = task.assigned_user_id {
            entries.push(IndexEntry::UserTask(user, task.id));
        }
    }
    if task.status == TaskStatus::Queued {
        if let Some(queued_at) = task.queued_at {
            entries.push(IndexEntry::TeamQueue(
                task.team_id,
                QueueEntry {
                    task_id: task.id,
                    priority: task.priority,
                    queued_at,
                    sequence: stored.queue_sequence,
                },
            ));
        }
    }
    if let Some(call) = task
        .consultation_call
        .as_ref()
        .filter(|c| c.status.is_active())
    {
        for user in [call.initiator_user_id, call.target.user_id]
            .into_iter()
            .flatten()
        {
            let entry = IndexEntry::UserConsultation(user, task.id);
            if !entries.contains(&entry) {
                entries.push(entry);
            }
        }
    }
    entries
}

/// A document together with the exact bytes read, for compare-and-swap.
struct Versioned<T> {
    raw: Vec<u8>,
    value: T,
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value)
        .map_err(|e| ApiError::Internal(format!("could not encode record: {e}")))
}

pub struct Repo<'a> {
    store: &'a dyn Store,
}

impl<'a> Repo<'a> {
    pub fn new(store: &'a dyn Store) -> Self {
        Repo { store }
    }

    pub fn store(&self) -> &'a dyn Store {
        self.store
    }

    fn read<T: DeserializeOwned>(&self, key: &str) -> Result<Option<Versioned<T>>, ApiError> {
        let Some(raw) = self.store.get(key)? else {
            return Ok(None);
        };
        let value =
            serde_json::from_slice(&raw).map_err(|_| StoreError::Corrupt { key: key.into() })?;
        Ok(Some(Versioned { raw, value }))
    }

    /// Makes sure `key` exists, holding `initial` if this call creates it. Only the request that
    /// wins the increment gate writes, so two creators cannot reset each other's updates.
    /// `repair` (admin paths only) writes anyway if the gate's winner never finished.
    fn ensure_exists(&self, key: &str, initial: &[u8], repair: bool) -> Result<(), ApiError> {
        if self.store.get(key)?.is_some() {
            return Ok(());
        }
        if self.store.increment(&keys::creation_gate(key), 1)? == 1 {
            return Ok(self.store.set(key, initial)?);
        }
        for _ in 0..3 {
            if self.store.get(key)?.is_some() {
                return Ok(());
            }
        }
        if repair {
            return Ok(self.store.set(key, initial)?);
        }
        Err(ApiError::ServiceUnavailable(format!(
            "Index '{key}' is missing; store the directory again to rebuild it."
        )))
    }

    /// Read-modify-write of an existing document through compare-and-swap with retry.
    /// `change` returns whether it changed anything (nothing is written otherwise).
    fn update<T, F>(&self, key: &str, mut change: F) -> Result<Option<T>, ApiError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(&mut T) -> Result<bool, ApiError>,
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
        Err(ApiError::ServiceUnavailable(format!(
            "Record '{key}' is being changed by many requests at once; retry."
        )))
    }

    // ---- directory ------------------------------------------------------------------

    /// The directory; empty before an operator stores one.
    pub fn directory(&self) -> Result<Directory, ApiError> {
        Ok(self
            .read(keys::DIRECTORY)?
            .map(|v| v.value)
            .unwrap_or_default())
    }

    /// Replaces the directory (a blind write: PUT semantics) after creating the indexes of
    /// its teams and users, so that no task request ever sees a team without an index.
    pub fn replace_directory(&self, directory: &Directory) -> Result<(), ApiError> {
        let empty_team = encode(&TeamIndex::default())?;
        let empty_user = encode(&UserIndex::default())?;
        for team in &directory.teams {
            self.ensure_exists(&keys::team_index(team.id), &empty_team, true)?;
        }
        for user in &directory.users {
            self.ensure_exists(&keys::user_index(user.id), &empty_user, true)?;
        }
        Ok(self.store.set(keys::DIRECTORY, &encode(directory)?)?)
    }

    /// Changes the stored directory through compare-and-swap (e.g. blocking a user).
    pub fn update_directory<F>(&self, change: F) -> Result<Option<Directory>, ApiError>
    where
        F: FnMut(&mut Directory) -> Result<bool, ApiError>,
    {
        self.update(keys::DIRECTORY, change)
    }

    // ---- tasks ----------------------------------------------------------------------

    pub fn task(&self, id: TaskId) -> Result<Option<StoredTask>, ApiError> {
        Ok(self.read(&keys::task(id))?.map(|v| v.value))
    }

    /// A queue sequence number for a new task.
    pub fn next_queue_sequence(&self) -> Result<i64, ApiError> {
        Ok(self.store.increment(keys::QUEUE_SEQUENCE, 1)?)
    }

    /// Stores a new task (its id is fresh, so a plain write cannot overwrite anything).
    pub fn create_task(&self, stored: &StoredTask) -> Result<(), ApiError> {
        let entries = index_entries(stored);
        for entry in &entries {
            self.change_index(entry, true)?;
        }
        Ok(self
            .store
            .set(&keys::task(stored.task.id), &encode(stored)?)?)
    }

    /// Changes a task through compare-and-swap with retry; `change` is re-run on the
    /// current state after every lost race, so it re-evaluates preconditions and transitions.
    pub fn update_task<F>(&self, id: TaskId, mut change: F) -> Result<StoredTask, ApiError>
    where
        F: FnMut(&mut StoredTask) -> Result<(), ApiError>,
    {
        let key = keys::task(id);
        for _ in 0..MAX_CAS_ATTEMPTS {
            let Some(Versioned { raw, value: before }) = self.read::<StoredTask>(&key)? else {
                return Err(ApiError::not_found("Task", &id.to_string()));
            };
            let mut after = before.clone();
            change(&mut after)?;
            let old_entries = index_entries(&before);
            let new_entries = index_entries(&after);
            for added in new_entries.iter().filter(|e| !old_entries.contains(e)) {
                self.change_index(added, true)?;
            }
            if self.store.compare_and_swap(&key, &raw, &encode(&after)?)? {
                for removed in old_entries.iter().filter(|e| !new_entries.contains(e)) {
                    self.change_index(removed, false)?;
                }
                return Ok(after);
            }
        }
        Err(ApiError::ServiceUnavailable(format!(
            "Task '{id}' is being changed by many requests at once; retry."
        )))
    }

    fn change_index(&self, entry: &IndexEntry, add: bool) -> Result<(), ApiError> {
        fn toggle<T: PartialEq + Clone>(list: &mut Vec<T>, item: &T, add: bool) -> bool {
            let present = list.contains(item);
            if add && !present {
                list.push(item.clone());
            } else if !add && present {
                list.retain(|x| x != item);
            } else {
                return false;
            }
            true
        }
        let missing = |key: String| {
            ApiError::ServiceUnavailable(format!(
                "Index '{key}' is missing; store the directory again to rebuild it."
            ))
        };
        match entry {
            IndexEntry::TeamOpen(team, task)
            | IndexEntry::TeamQueue(team, QueueEntry { task_id: task, .. }) => {
                let key = keys::team_index(*team);
                let updated = self.update::<TeamIndex, _>(&key, |index| {
                    Ok(match entry {
                        IndexEntry::TeamQueue(_, queued) => toggle(&mut index.queue, queued, add),
                        _ => toggle(&mut index.open, task, add),
                    })
                })?;
                updated.map(|_| ()).ok_or_else(|| missing(key))
            }
            IndexEntry::UserTask(user, task) | IndexEntry::UserConsultation(user, task) => {
                let key = keys::user_index(*user);
                let updated = self.update::<UserIndex, _>(&key, |index| {
                    Ok(match entry {
                        IndexEntry::UserTask(..) => toggle(&mut index.tasks, task, add),
                        _ => toggle(&mut index.consultations, task, add),
                    })
                })?;
                updated.map(|_| ()).ok_or_else(|| missing(key))
            }
        }
    }

    pub fn team_index(&self, team: TeamId) -> Result<TeamIndex, ApiError> {
        Ok(self
            .read(&keys::team_index(team))?
            .map(|v| v.value)
            .unwrap_or_default())
    }

    pub fn user_index(&self, user: UserId) -> Result<UserIndex, ApiError> {
        Ok(self
            .read(&keys::user_index(user))?
            .map(|v| v.value)
            .unwrap_or_default())
    }

    /// Reads the tasks behind index entries, keeping those for which `entry_of(task)` is still
    /// one of the task's entries. Entries whose task says otherwise are pruned; entries whose
    /// task is not written yet (creation in progress) are skipped and kept.
    pub fn tasks_for_entries(
        &self,
        candidates: &[(TaskId, IndexEntry)],
    ) -> Result<Vec<StoredTask>, ApiError> {
        let mut found = Vec::new();
        for (id, entry) in candidates {
            let Some(stored) = self.task(*id)? else {
                continue;
            };
            if index_entries(&stored).contains(entry) {
                found.push(stored);
            } else {
                self.change_index(entry, false)?;
            }
        }
        Ok(found)
    }

    /// The queued task the team serves next, pruning stale queue entries on the way.
    pub fn longest_waiting_task(&self, team: TeamId) -> Result<Option<StoredTask>, ApiError> {
        let mut queue = self.team_index(team)?.queue;
        queue.sort_by_key(QueueEntry::serving_key);
        for queued in queue {
            let entry = IndexEntry::TeamQueue(team, queued.clone());
            if let Some(stored) = self.tasks_for_entries(&[(queued.task_id, entry)])?.pop() {
                return Ok(Some(stored));
            }
        }
        Ok(None)
    }

    // ---- API keys -------------------------------------------------------------------

    pub fn api_key(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, ApiError> {
        Ok(self.read(&keys::api_key(id))?.map(|v| v.value))
    }

    pub fn create_api_key(&self, record: &ApiKeyRecord) -> Result<(), ApiError> {
        self.ensure_exists(keys::API_KEY_INDEX, b"[]", true)?;
        self.update::<Vec<ApiKeyId>, _>(keys::API_KEY_INDEX, |ids| {
            ids.push(record.id);
            Ok(true)
        })?;
        Ok(self
            .store
            .set(&keys::api_key(record.id), &encode(record)?)?)
    }

    pub fn update_api_key<F>(
        &self,
        id: ApiKeyId,
        change: F,
    ) -> Result<Option<ApiKeyRecord>, ApiError>
    where
        F: FnMut(&mut ApiKeyRecord) -> Result<bool, ApiError>,
    {
        self.update(&keys::api_key(id), change)
    }

    /// Removes a revoked key from the listing (the record stays, marked revoked, so that
    /// requests with it are told it was revoked rather than unknown).
    pub fn unlist_api_key(&self, id: ApiKeyId) -> Result<(), ApiError> {
        self.update::<Vec<ApiKeyId>, _>(keys::API_KEY_INDEX, |ids| {
            let before = ids.len();
            ids.retain(|k| *k != id);
            Ok(ids.len() != before)
        })?;
        Ok(())
    }

    pub fn api_key_ids(&self) -> Result<Vec<ApiKeyId>, ApiError> {
        Ok(self
            .read(keys::API_KEY_INDEX)?
            .map(|v| v.value)
            .unwrap_or_default())
    }

    pub fn touch_api_key(&self, id: ApiKeyId, now: Timestamp) -> Result<(), ApiError> {
        Ok(self
            .store
            .set(&keys::api_key_last_used(id), &encode(&now)?)?)
    }

    pub fn api_key_last_used(&self, id: ApiKeyId) -> Result<Option<Timestamp>, ApiError> {
        Ok(self.read(&keys::api_key_last_used(id))?.map(|v| v.value))
    }

    /// True for exactly one caller ever (an atomic counter), e.g. to load demo data once.
    pub fn first_time(&self, gate: &str) -> Result<bool, ApiError> {
        Ok(self.store.increment(gate, 1)? == 1)
    }
}
