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

use crate::error::ApiError;
use crate::ids::{ApiKeyId, TaskId, TeamId, UserId};
use crate::model::{ApiKeyRecord, Directory, Priority, Task, TaskStatus};
use crate::store::{Store, StoreError};
use crate::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// How often a compare-and-swap is retried before the request gives up with 503.
pub const MAX_CAS_ATTEMPTS: usize = 32;
/// Reconciles run after a change is committed and must not give up easily: they are cheap
/// and a give-up could leave an index without an entry it needs.
pub const MAX_RECONCILE_ATTEMPTS: usize = 256;

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
    /// Bumped by every write, so that a reconcile based on an older read cannot succeed.
    #[serde(default)]
    pub revision: u64,
    /// Non-final tasks of the team.
    pub open: Vec<TaskId>,
    /// Queued tasks of the team.
    pub queue: Vec<QueueEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserIndex {
    /// Bumped by every write, so that a reconcile based on an older read cannot succeed.
    #[serde(default)]
    pub revision: u64,
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

/// The index document an entry lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexDoc {
    Team(TeamId),
    User(UserId),
}

impl IndexEntry {
    pub fn doc(&self) -> IndexDoc {
        match self {
            IndexEntry::TeamOpen(team, _) | IndexEntry::TeamQueue(team, _) => IndexDoc::Team(*team),
            IndexEntry::UserTask(user, _) | IndexEntry::UserConsultation(user, _) => {
                IndexDoc::User(*user)
            }
        }
    }
}

/// The documents `entries` live in, each once, in order of appearance.
fn distinct_docs<'e>(entries: impl Iterator<Item = &'e IndexEntry>) -> Vec<IndexDoc> {
    let mut docs = Vec::new();
    for entry in entries {
        if !docs.contains(&entry.doc()) {
            docs.push(entry.doc());
        }
    }
    docs
}

/// What the two index document types share.
trait IndexDocument: Serialize + DeserializeOwned {
    fn bump_revision(&mut self);
    /// Adds `entry` (which belongs to this document) if it is missing; true if it was.
    fn add(&mut self, entry: &IndexEntry) -> bool;
    /// Replaces what the document says about `task` with `entries`.
    fn set_task_entries(&mut self, task: TaskId, entries: &[&IndexEntry]);
}

fn push_missing<T: PartialEq + Clone>(list: &mut Vec<T>, item: &T) -> bool {
    let missing = !list.contains(item);
    if missing {
        list.push(item.clone());
    }
    missing
}

impl IndexDocument for TeamIndex {
    fn bump_revision(&mut self) {
        self.revision += 1;
    }
    fn add(&mut self, entry: &IndexEntry) -> bool {
        match entry {
            IndexEntry::TeamOpen(_, task) => push_missing(&mut self.open, task),
            IndexEntry::TeamQueue(_, queued) => push_missing(&mut self.queue, queued),
            _ => false,
        }
    }
    fn set_task_entries(&mut self, task: TaskId, entries: &[&IndexEntry]) {
        self.open.retain(|t| *t != task);
        self.queue.retain(|q| q.task_id != task);
        for entry in entries {
            self.add(entry);
        }
    }
}

impl IndexDocument for UserIndex {
    fn bump_revision(&mut self) {
        self.revision += 1;
    }
    fn add(&mut self, entry: &IndexEntry) -> bool {
        match entry {
            IndexEntry::UserTask(_, task) => push_missing(&mut self.tasks, task),
            IndexEntry::UserConsultation(_, task) => push_missing(&mut self.consultations, task),
            _ => false,
        }
    }
    fn set_task_entries(&mut self, task: TaskId, entries: &[&IndexEntry]) {
        self.tasks.retain(|t| *t != task);
        self.consultations.retain(|t| *t != task);
        for entry in entries {
            self.add(entry);
        }
    }
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
        self.add_entries(&entries.iter().collect::<Vec<_>>())?;
        // No reconcile needed: until this write, no reconcile can remove the entries (a task
        // that does not exist yet is left alone).
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
            let added: Vec<&IndexEntry> = new_entries
                .iter()
                .filter(|e| !old_entries.contains(e))
                .collect();
            self.add_entries(&added)?;
            if self.store.compare_and_swap(&key, &raw, &encode(&after)?)? {
                let removed = old_entries.iter().filter(|e| !new_entries.contains(e));
                let changed: Vec<IndexEntry> = added.into_iter().chain(removed).cloned().collect();
                // The change is committed: the caller must hear so even if an index could not
                // be reconciled now (store outage, endless contention). The entries it needs were
                // added before the write, and the task's next change reconciles again.
                let _ = self.reconcile_all(id, &changed);
                return Ok(after);
            }
        }
        Err(ApiError::ServiceUnavailable(format!(
            "Task '{id}' is being changed by many requests at once; retry."
        )))
    }

    fn missing_index(key: &str) -> ApiError {
        ApiError::ServiceUnavailable(format!(
            "Index '{key}' is missing; store the directory again to rebuild it."
        ))
    }

    /// Adds the entries a change is about to need (before the task write), one
    /// read-modify-write per index document.
    fn add_entries(&self, entries: &[&IndexEntry]) -> Result<(), ApiError> {
        fn add<T: IndexDocument>(
            repo: &Repo,
            key: &str,
            entries: &[&IndexEntry],
        ) -> Result<(), ApiError> {
            let updated = repo.update::<T, _>(key, |index| {
                let mut added = false;
                for entry in entries {
                    added |= index.add(entry);
                }
                if added {
                    index.bump_revision();
                }
                Ok(added)
            })?;
            updated.map(|_| ()).ok_or_else(|| Repo::missing_index(key))
        }
        for doc in distinct_docs(entries.iter().copied()) {
            let in_doc: Vec<&IndexEntry> =
                entries.iter().copied().filter(|e| e.doc() == doc).collect();
            match doc {
                IndexDoc::Team(team) => add::<TeamIndex>(self, &keys::team_index(team), &in_doc)?,
                IndexDoc::User(user) => add::<UserIndex>(self, &keys::user_index(user), &in_doc)?,
            }
        }
        Ok(())
    }

    /// Reconciles each index document that one of `entries` lives in.
    fn reconcile_all(&self, task: TaskId, entries: &[IndexEntry]) -> Result<(), ApiError> {
        for doc in distinct_docs(entries.iter()) {
            self.reconcile(doc, task)?;
        }
        Ok(())
    }

    /// Makes index document `doc` say about `task` what the task's current state says.
    /// Reads the document first, then the task, and always writes (bumping the revision).
    fn reconcile(&self, doc: IndexDoc, task: TaskId) -> Result<(), ApiError> {
        fn run<T: IndexDocument>(
            repo: &Repo,
            key: &str,
            doc: IndexDoc,
            task: TaskId,
        ) -> Result<(), ApiError> {
            for _ in 0..MAX_CAS_ATTEMPTS {
                let Some(Versioned {
                    raw,
                    value: mut index,
                }) = repo.read::<T>(key)?
                else {
                    return Err(Repo::missing_index(key));
                };
                // Not written yet: its creation is in progress and will reconcile itself.
                let Some(stored) = repo.task(task)? else {
                    return Ok(());
                };
                let entries = index_entries(&stored);
                let wanted: Vec<&IndexEntry> = entries.iter().filter(|e| e.doc() == doc).collect();
                index.set_task_entries(task, &wanted);
                index.bump_revision();
                if repo.store.compare_and_swap(key, &raw, &encode(&index)?)? {
                    return Ok(());
                }
            }
            Err(ApiError::ServiceUnavailable(format!(
                "Index '{key}' is being changed by many requests at once; retry."
            )))
        }
        match doc {
            IndexDoc::Team(team) => run::<TeamIndex>(self, &keys::team_index(team), doc, task),
            IndexDoc::User(user) => run::<UserIndex>(self, &keys::user_index(user), doc, task),
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

    /// Reads the tasks behind index entries, keeping those for which the entry is still one of
    /// the task's entries. An entry the task contradicts is repaired by a reconcile; an entry
    /// whose task is not written yet (creation in progress) is skipped and kept.
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
                self.reconcile(entry.doc(), *id)?;
            }
        }
        Ok(found)
    }

    /// The queued task the team serves next, repairing stale queue entries on the way.
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

#[cfg(test)]
mod tests {
    //! Scripted interleavings: a store wrapper runs another request at an exact point inside
    //! a request, the way parallel Spin instances can interleave.

    use super::*;
    use crate::api::{handle, Config, Env};
    use crate::demo;
    use crate::http::Request;
    use crate::ids::SequentialIds;
    use crate::store::MemoryStore;
    use std::cell::{Cell, RefCell};

    type Hook<'a> = Box<dyn FnMut(&str, &str, &MemoryStore) + 'a>;

    /// Calls `hook(operation, key, inner)` before every operation (not for operations the hook
    /// itself makes on `inner`).
    struct HookStore<'a> {
        inner: MemoryStore,
        hook: RefCell<Option<Hook<'a>>>,
    }

    impl HookStore<'_> {
        fn before(&self, operation: &str, key: &str) {
            let taken = self.hook.borrow_mut().take();
            if let Some(mut hook) = taken {
                hook(operation, key, &self.inner);
                *self.hook.borrow_mut() = Some(hook);
            }
        }
    }

    impl Store for HookStore<'_> {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.before("get", key);
            self.inner.get(key)
        }
        fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
            self.before("set", key);
            self.inner.set(key, value)
        }
        fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.before("delete", key);
            self.inner.delete(key)
        }
        fn compare_and_swap(
            &self,
            key: &str,
            expected: &[u8],
            new: &[u8],
        ) -> Result<bool, StoreError> {
            self.before("cas", key);
            self.inner.compare_and_swap(key, expected, new)
        }
        fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
            self.before("increment", key);
            self.inner.increment(key, delta)
        }
    }

    const NOW: Timestamp = Timestamp::from_unix_millis(1_767_600_000_000);

    fn request(store: &dyn Store, request: &Request) -> crate::http::Response {
        let config = Config::default();
        let mut ids = SequentialIds::new(99);
        handle(
            request,
            &mut Env {
                store,
                now: NOW,
                ids: &mut ids,
                config: &config,
            },
        )
    }

    /// Demo data (one task ringing at Anna's, two queued) and its key.
    fn setup() -> (HookStore<'static>, String, Vec<TaskId>) {
        let store = HookStore {
            inner: MemoryStore::new(),
            hook: RefCell::new(None),
        };
        let config = Config::default();
        let mut ids = SequentialIds::new(1);
        let secret = demo::load_if_empty(&mut Env {
            store: &store.inner,
            now: NOW,
            ids: &mut ids,
            config: &config,
        })
        .ok()
        .flatten()
        .unwrap_or_default();
        let queue = Repo::new(&store.inner)
            .team_index(demo::SUPPORT)
            .unwrap_or_default()
            .queue;
        let queued = queue.into_iter().map(|q| q.task_id).collect();
        (store, secret, queued)
    }

    fn post(key: &str, path: String, body: Option<serde_json::Value>) -> Request {
        let request = Request::new("POST", &path).header("api_key", key);
        match body {
            Some(body) => request.json(&body),
            None => request,
        }
    }

    fn anna_tasks(store: &dyn Store) -> Vec<TaskId> {
        Repo::new(store)
            .user_index(demo::ANNA)
            .unwrap_or_default()
            .tasks
    }

    #[test]
    fn a_reader_repairing_an_entry_mid_offer_cannot_lose_the_offer() {
        let (store, key, queued) = setup();
        let task = queued[0];
        let fired = Cell::new(false);
        let list_key = key.clone();
        *store.hook.borrow_mut() = Some(Box::new(move |operation, key, inner| {
            // Between the offer's index addition and its task write, a reader lists Anna's
            // tasks: it sees the new entry but the task still queued, and repairs the index.
            if operation == "cas" && key == keys::task(task) && !fired.replace(true) {
                let list = Request::new("GET", &format!("/v1.0/users/{}/tasks", demo::ANNA))
                    .header("api_key", &list_key);
                assert_eq!(request(inner, &list).status, 200);
                assert!(
                    !anna_tasks(inner).contains(&task),
                    "the reader removed the early entry"
                );
            }
        }));
        let offer = post(
            &key,
            format!("/v1.0/tasks/{task}/offer"),
            Some(serde_json::json!({"UserIdentifier": "anna@contoso.com"})),
        );
        assert_eq!(request(&store, &offer).status, 200);
        *store.hook.borrow_mut() = None;
        assert!(
            anna_tasks(&store.inner).contains(&task),
            "the offered task is missing from Anna's index"
        );
    }

    #[test]
    fn an_update_between_a_task_write_and_its_index_cleanup_is_kept() {
        let (store, key, queued) = setup();
        let task = queued[0];
        let task_written = Cell::new(false);
        let fired = Cell::new(false);
        let decline_key = key.clone();
        *store.hook.borrow_mut() = Some(Box::new(move |operation, key, inner| {
            if operation == "cas" && key == keys::task(task) {
                task_written.set(true);
                return;
            }
            // After the offer wrote the task and before it cleans up the queue entry, a decline
            // runs to completion: the task is queued again and needs that entry.
            if task_written.get() && key == keys::team_index(demo::SUPPORT) && !fired.replace(true)
            {
                let decline = post(&decline_key, format!("/v1.0/tasks/{task}/decline"), None);
                assert_eq!(request(inner, &decline).status, 200);
            }
        }));
        let offer = post(
            &key,
            format!("/v1.0/tasks/{task}/offer"),
            Some(serde_json::json!({"UserIdentifier": "anna@contoso.com"})),
        );
        assert_eq!(request(&store, &offer).status, 200);
        *store.hook.borrow_mut() = None;
        let stored = Repo::new(&store.inner)
            .task(task)
            .ok()
            .flatten()
            .map(|s| s.task.status);
        assert_eq!(stored, Some(TaskStatus::Queued));
        let queue = Repo::new(&store.inner)
            .team_index(demo::SUPPORT)
            .unwrap_or_default()
            .queue;
        assert!(
            queue.iter().any(|q| q.task_id == task),
            "the declined task lost its queue entry"
        );
        assert!(
            !anna_tasks(&store.inner).contains(&task),
            "the declined task is still Anna's"
        );
    }
}
