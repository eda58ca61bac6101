//! Tasks and the secondary indexes that list them (a team's open tasks and queue, a user's
//! tasks and consultations), kept so that no request's cost grows with the stored tasks.

use super::{decode, encode, keys, Repo, Versioned, MAX_CAS_ATTEMPTS};
use crate::error::ApiError;
use crate::ids::{TaskId, TeamId, UserId};
use crate::model::{Priority, Task, TaskStatus};
use crate::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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

/// A team's index is split into this many documents by task id, so that concurrent changes of
/// different tasks of one team rarely meet on one document, and no document holds more than
/// its share of the team's open tasks. Readers take all shards in one batch read.
pub const TEAM_INDEX_SHARDS: u8 = 16;

/// The shard of a team's index that lists `task`.
pub fn team_shard(task: TaskId) -> u8 {
    (task.0.as_u128() % u128::from(TEAM_INDEX_SHARDS)) as u8
}

/// The index document an entry lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexDoc {
    /// A team and the shard (see [`team_shard`]).
    Team(TeamId, u8),
    User(UserId),
}

impl IndexDoc {
    pub fn key(&self) -> String {
        match self {
            IndexDoc::Team(team, shard) => keys::team_index_shard(*team, *shard),
            IndexDoc::User(user) => keys::user_index(*user),
        }
    }
}

impl IndexEntry {
    pub fn doc(&self) -> IndexDoc {
        match self {
            IndexEntry::TeamOpen(team, task) => IndexDoc::Team(*team, team_shard(*task)),
            IndexEntry::TeamQueue(team, queued) => {
                IndexDoc::Team(*team, team_shard(queued.task_id))
            }
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

impl Repo<'_> {
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
            // Lost the race: the entries added for this attempt may not be wanted by the task as
            // it is now (the next attempt may even be refused). Let the task decide them again.
            let added: Vec<IndexEntry> = added.into_iter().cloned().collect();
            let _ = self.reconcile_all(id, &added);
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
        fn add<T: IndexDocument + Default>(
            repo: &Repo,
            key: &str,
            entries: &[&IndexEntry],
            create: bool,
        ) -> Result<(), ApiError> {
            let change = |index: &mut T| {
                let mut added = false;
                for entry in entries {
                    added |= index.add(entry);
                }
                if added {
                    index.bump_revision();
                }
                Ok(added)
            };
            if repo.update::<T, _>(key, change)?.is_some() {
                return Ok(());
            }
            if !create {
                return Err(Repo::missing_index(key));
            }
            // A team shard's first entry creates it (behind the gate: one creator only).
            repo.ensure_exists(key, &encode(&T::default())?, false)?;
            repo.update::<T, _>(key, change)?
                .map(|_| ())
                .ok_or_else(|| Repo::missing_index(key))
        }
        for doc in distinct_docs(entries.iter().copied()) {
            let in_doc: Vec<&IndexEntry> =
                entries.iter().copied().filter(|e| e.doc() == doc).collect();
            match doc {
                IndexDoc::Team(..) => add::<TeamIndex>(self, &doc.key(), &in_doc, true)?,
                IndexDoc::User(_) => add::<UserIndex>(self, &doc.key(), &in_doc, false)?,
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
        fn run<T: IndexDocument + Default>(
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
                    if matches!(doc, IndexDoc::Team(..)) {
                        // A team shard that no entry needed yet.
                        repo.ensure_exists(key, &encode(&T::default())?, false)?;
                        continue;
                    }
                    return Err(Repo::missing_index(key));
                };
                // Not written yet: its creation is in progress and will reconcile itself.
                // Read from the store, never ahead: it must be read after the document.
                let task_key = keys::task(task);
                let Some(task_raw) = repo.store.get(&task_key)? else {
                    return Ok(());
                };
                let stored: StoredTask = decode(&task_key, &task_raw)?;
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
            IndexDoc::Team(..) => run::<TeamIndex>(self, &doc.key(), doc, task),
            IndexDoc::User(_) => run::<UserIndex>(self, &doc.key(), doc, task),
        }
    }

    /// Every shard of a team's index, in one batch read, each with the document it is.
    pub fn team_index_shards(&self, team: TeamId) -> Result<Vec<(IndexDoc, TeamIndex)>, ApiError> {
        self.read_team_shards(team)
    }

    /// Every stored shard of a team's index in one batch read, decoded as `T` (the whole shard,
    /// or only the part a reader needs), each with the document it is.
    fn read_team_shards<T: DeserializeOwned>(
        &self,
        team: TeamId,
    ) -> Result<Vec<(IndexDoc, T)>, ApiError> {
        let docs: Vec<IndexDoc> = (0..TEAM_INDEX_SHARDS)
            .map(|shard| IndexDoc::Team(team, shard))
            .collect();
        let keys: Vec<String> = docs.iter().map(IndexDoc::key).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut shards = Vec::new();
        for ((doc, key), raw) in docs.into_iter().zip(&keys).zip(self.get_many(&refs)?) {
            if let Some(raw) = raw {
                shards.push((doc, decode(key, &raw)?));
            }
        }
        Ok(shards)
    }

    /// A team's whole index (all shards together).
    pub fn team_index(&self, team: TeamId) -> Result<TeamIndex, ApiError> {
        let mut whole = TeamIndex::default();
        for (_, shard) in self.team_index_shards(team)? {
            whole.open.extend(shard.open);
            whole.queue.extend(shard.queue);
        }
        Ok(whole)
    }

    /// The open tasks of a team, with the document each entry was read from.
    pub fn team_open_candidates(
        &self,
        team: TeamId,
    ) -> Result<Vec<(TaskId, IndexEntry, IndexDoc)>, ApiError> {
        Ok(self
            .team_index_shards(team)?
            .into_iter()
            .flat_map(|(doc, shard)| {
                shard
                    .open
                    .into_iter()
                    .map(move |id| (id, IndexEntry::TeamOpen(team, id), doc))
            })
            .collect())
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
    /// `candidates` name the document each entry was read from: an entry in a document where
    /// the task's entry does not belong (written there by an older layout) is repaired there.
    /// The tasks are read in batches.
    pub fn tasks_for_entries(
        &self,
        candidates: &[(TaskId, IndexEntry, IndexDoc)],
    ) -> Result<Vec<StoredTask>, ApiError> {
        let mut found = Vec::new();
        for chunk in candidates.chunks(500) {
            let keys: Vec<String> = chunk.iter().map(|(id, ..)| keys::task(*id)).collect();
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            for ((id, entry, source), (key, raw)) in chunk
                .iter()
                .zip(keys.iter().zip(self.store.get_many(&refs)?))
            {
                let Some(raw) = raw else {
                    continue;
                };
                let stored: StoredTask = decode(key, &raw)?;
                let wanted = index_entries(&stored).contains(entry);
                if entry.doc() == *source && wanted {
                    found.push(stored);
                    continue;
                }
                if entry.doc() != *source {
                    // Written where an older layout kept it: first where it belongs now (so the
                    // task is never missing), then out of the old place.
                    self.reconcile(entry.doc(), *id)?;
                    if wanted {
                        found.push(stored);
                    }
                }
                self.reconcile(*source, *id)?;
            }
        }
        Ok(found)
    }

    /// The queued task the team serves next, repairing stale queue entries on the way.
    /// Reads only the queues of the team's shards (their open lists are skipped, not decoded)
    /// and checks candidates best first: usually the first one is still queued.
    pub fn longest_waiting_task(&self, team: TeamId) -> Result<Option<StoredTask>, ApiError> {
        let mut queue: Vec<(QueueEntry, IndexDoc)> = self
            .read_team_shards::<ShardQueue>(team)?
            .into_iter()
            .flat_map(|(doc, shard)| shard.queue.into_iter().map(move |q| (q, doc)))
            .collect();
        while let Some(best) = (0..queue.len()).min_by_key(|&i| queue[i].0.serving_key()) {
            let (queued, source) = queue.swap_remove(best);
            let entry = IndexEntry::TeamQueue(team, queued.clone());
            let candidate = [(queued.task_id, entry, source)];
            if let Some(stored) = self.tasks_for_entries(&candidate)?.pop() {
                return Ok(Some(stored));
            }
        }
        Ok(None)
    }
}

/// A team index shard's queue alone (the rest of the document is skipped).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShardQueue {
    queue: Vec<QueueEntry>,
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
    use crate::store::{MemoryStore, Store, StoreError};
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

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
    fn a_team_written_by_the_directory_has_every_shard_so_first_creations_pass_no_gate() {
        let (store, key, _) = setup();
        for shard in 0..TEAM_INDEX_SHARDS {
            let shard_key = keys::team_index_shard(demo::SUPPORT, shard);
            assert!(
                store.inner.get(&shard_key).ok().flatten().is_some(),
                "{shard_key} missing after the directory write"
            );
        }
        // Creating tasks (spread over the shards by id) never waits on a creation gate: under
        // parallel requests a gate loser could run out of reads and answer 503.
        let gates = Rc::new(Cell::new(0));
        let seen = Rc::clone(&gates);
        *store.hook.borrow_mut() = Some(Box::new(move |_, key: &str, _: &MemoryStore| {
            if key.starts_with("gate/index/") {
                seen.set(seen.get() + 1);
            }
        }));
        let body =
            serde_json::json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41445550100"}});
        for n in 0..40 {
            let create = post(
                &key,
                format!("/v1.0/teams/{}/tasks", demo::SUPPORT),
                Some(body.clone()),
            )
            .header("Idempotency-Key", &format!("create-{n}"));
            assert_eq!(request(&store.inner, &create).status, 201);
        }
        assert_eq!(gates.get(), 0, "creation gates touched");
    }

    #[test]
    fn entries_left_where_the_unsharded_layout_kept_them_are_moved_without_losing_a_task() {
        let (store, key, queued) = setup();
        let repo = Repo::new(&store.inner);
        let task = *queued
            .iter()
            .find(|t| team_shard(**t) != 0)
            .expect("a queued task outside shard 0");
        let offer = post(
            &key,
            format!("/v1.0/tasks/{task}/offer"),
            Some(serde_json::json!({"UserIdentifier": "ben@contoso.com"})),
        );
        assert_eq!(request(&store.inner, &offer).status, 200);
        // As the unsharded layout left it: the task's entry in shard 0, not in its own shard.
        let right = IndexDoc::Team(demo::SUPPORT, team_shard(task)).key();
        let old = keys::team_index(demo::SUPPORT);
        let read = |key: &str| -> TeamIndex {
            repo.read(key)
                .ok()
                .flatten()
                .map(|v| v.value)
                .unwrap_or_default()
        };
        let mut own = read(&right);
        own.open.retain(|t| *t != task);
        store
            .inner
            .set(&right, &encode(&own).unwrap_or_default())
            .ok();
        let mut legacy = read(&old);
        legacy.open.push(task);
        store
            .inner
            .set(&old, &encode(&legacy).unwrap_or_default())
            .ok();

        // A change that touches no team entry, then two lists: the task is listed both times.
        let accept = post(&key, format!("/v1.0/tasks/{task}/accept"), None);
        assert_eq!(request(&store.inner, &accept).status, 200);
        let list = Request::new("GET", &format!("/v1.0/teams/{}/tasks", demo::SUPPORT))
            .header("api_key", &key);
        for round in 0..2 {
            let listed = request(&store.inner, &list).json_body();
            let ids: Vec<String> = listed
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["Id"].as_str().map(String::from))
                .collect();
            assert!(ids.contains(&task.to_string()), "round {round}: {ids:?}");
        }
        // Now it is where it belongs, and only there.
        assert!(read(&right).open.contains(&task));
        assert!(!read(&old).open.contains(&task));
    }

    /// The best queue entry names a task that is no longer queued (its change committed, the
    /// index not reconciled yet): the next best is served, and the stale entry is repaired.
    #[test]
    fn a_stale_first_queue_entry_is_skipped_and_repaired() {
        let (store, key, queued) = setup();
        let repo = Repo::new(&store.inner);
        let best = repo
            .longest_waiting_task(demo::SUPPORT)
            .ok()
            .flatten()
            .map(|t| t.task.id)
            .expect("a queued task");
        let next = *queued.iter().find(|t| **t != best).expect("a second one");
        let mut stale: StoredTask = repo
            .read(&keys::task(best))
            .ok()
            .flatten()
            .map(|v| v.value)
            .expect("stored");
        stale.task.status = TaskStatus::Ringing;
        stale.task.assigned_user_id = Some(demo::ANNA);
        store
            .inner
            .set(&keys::task(best), &encode(&stale).unwrap_or_default())
            .ok();
        let longest = Request::new(
            "GET",
            &format!("/v1.0/teams/{}/longestwaitingtask", demo::SUPPORT),
        )
        .header("api_key", &key);
        let answer = request(&store.inner, &longest).json_body();
        assert_eq!(answer["Id"], next.to_string());
        let queue = repo.team_index(demo::SUPPORT).unwrap_or_default().queue;
        assert!(!queue.iter().any(|q| q.task_id == best), "repaired");
        assert!(queue.iter().any(|q| q.task_id == next));
    }

    #[test]
    fn an_offer_that_loses_its_race_leaves_no_entry_behind() {
        let (store, key, queued) = setup();
        let task = queued[0];
        let fired = Rc::new(Cell::new(false));
        let hook_fired = Rc::clone(&fired);
        let other_key = key.clone();
        *store.hook.borrow_mut() = Some(Box::new(move |operation, key, inner| {
            // After the offer added its entry to Anna's index and right before its task write,
            // another request ends the task: the offer's write fails, its retry is refused.
            if operation == "cas" && key == keys::task(task) && !hook_fired.replace(true) {
                let end = post(&other_key, format!("/v1.0/tasks/{task}/terminate"), None);
                assert_eq!(request(inner, &end).status, 200);
            }
        }));
        let offer = post(
            &key,
            format!("/v1.0/tasks/{task}/offer"),
            Some(serde_json::json!({"UserIdentifier": "anna@contoso.com"})),
        );
        assert_eq!(request(&store, &offer).status, 409);
        *store.hook.borrow_mut() = None;
        assert!(fired.get(), "the interleaved terminate ran");
        assert!(
            !anna_tasks(&store.inner).contains(&task),
            "a refused offer left the task in Anna's index"
        );
    }

    #[test]
    fn a_reader_repairing_an_entry_mid_offer_cannot_lose_the_offer() {
        let (store, key, queued) = setup();
        let task = queued[0];
        let fired = Rc::new(Cell::new(false));
        let hook_fired = Rc::clone(&fired);
        let list_key = key.clone();
        *store.hook.borrow_mut() = Some(Box::new(move |operation, key, inner| {
            let fired = &hook_fired;
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
        assert!(fired.get(), "the interleaved reader ran");
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
        let fired = Rc::new(Cell::new(false));
        let hook_fired = Rc::clone(&fired);
        let decline_key = key.clone();
        *store.hook.borrow_mut() = Some(Box::new(move |operation, key, inner| {
            let fired = &hook_fired;
            if operation == "cas" && key == keys::task(task) {
                task_written.set(true);
                return;
            }
            // After the offer wrote the task and before it cleans up the queue entry, a decline
            // runs to completion: the task is queued again and needs that entry.
            let shard = keys::team_index_shard(demo::SUPPORT, team_shard(task));
            if task_written.get() && key == shard && !fired.replace(true) {
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
        assert!(fired.get(), "the interleaved decline ran");
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
