//! Tasks and keeping their indexes (see [`super::task_index`]) in step with them, so that no
//! request's cost grows with the stored tasks.

use super::feeds::{FeedId, Intent, Placed, Subject};
use super::stored_task::StoredTask;
use super::task_index::{consultation_users, distinct_docs, IndexDocument};
use super::{
    attempt_change_id, decode, encode, keys, ChangeMeta, Repo, Versioned, MAX_CAS_ATTEMPTS,
};
use super::{
    index_entries, IndexDoc, IndexEntry, QueueEntry, RingEntry, TeamIndex, UserIndex,
    TEAM_INDEX_SHARDS,
};
use crate::ids::{ChangeId, TaskId, TeamId, UserId};
use crate::model::Task;
use crate::personal_data::new_party_uris;
use crate::repo::{Contended, RepoError};
use crate::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::cell::Cell;

/// A create writes its index entries and then its task, within one request: a queue entry whose
/// task is still not written this long after its `QueuedAt` belongs to a create that died in
/// between, and is removed when `longestwaitingtask` meets it (else it would become the oldest
/// entry of its shard and make every later read of that shard's queue whole).
pub const ABANDONED_AFTER_MILLIS: i64 = 10 * 60 * 1000;

/// The users whose feeds a task's changes go to: the assigned user, and the initiator and
/// target of an active consultation call.
pub fn involved_users(task: &Task) -> Vec<UserId> {
    let mut users: Vec<UserId> = task.assigned_user_id.into_iter().collect();
    for user in consultation_users(task) {
        if !users.contains(&user) {
            users.push(user);
        }
    }
    users
}

impl Repo<'_> {
    // ---- tasks ----------------------------------------------------------------------

    pub fn task(&self, id: TaskId) -> Result<Option<StoredTask>, RepoError> {
        Ok(self
            .read::<StoredTask>(&keys::task(id))?
            .and_then(|v| v.value.written()))
    }

    /// [`Repo::task`], leaving a read-ahead value in place for the request's next read of it
    /// (an agent session's check reads the task its handler reads again).
    pub fn task_keeping_read_ahead(&self, id: TaskId) -> Result<Option<StoredTask>, RepoError> {
        let key = keys::task(id);
        let raw = match self.take_prefetched(&key) {
            Some(raw) => raw,
            None => self.store.get(&key)?,
        };
        self.prefetched
            .borrow_mut()
            .insert(key.clone(), raw.clone());
        let Some(raw) = raw else { return Ok(None) };
        Ok(decode::<StoredTask>(&key, &raw)?.written())
    }

    /// A queue sequence number for a new task.
    pub fn next_queue_sequence(&self) -> Result<i64, RepoError> {
        Ok(self.store.increment(keys::QUEUE_SEQUENCE, 1)?)
    }

    /// Stores a new task after its index entries. Its first intent is written together with a
    /// placeholder under the task's key (in one batch, the placeholder first); the task then
    /// replaces the placeholder by compare-and-swap. A feed reader that finds the create stalled
    /// fences its change in the placeholder (also by compare-and-swap), so exactly one of the two
    /// wins: either the reader's "never committed" or the create's write, whatever the clocks of
    /// their instances say. A fenced or voided attempt is placed again as a new change.
    pub fn create_task(&self, stored: &mut StoredTask, meta: &ChangeMeta) -> Result<(), RepoError> {
        let key = keys::task(stored.task.id);
        let entries = index_entries(stored);
        let party_entries = self.party_entries_of(stored)?;
        self.add_entries(&entries.iter().collect::<Vec<_>>())?;
        let placeholder = StoredTask {
            pending: true,
            change: None,
            fenced: Vec::new(),
            ..stored.clone()
        };
        // The placeholder as this request last saw it (it wrote it itself at first).
        let mut current = encode(&placeholder)?;
        // The first attempt's batch: the placeholder first, then the customer-index entries.
        let mut first_writes: Vec<(String, Vec<u8>)> =
            std::iter::once((key.clone(), current.clone()))
                .chain(party_entries)
                .collect();
        for attempt in 0..MAX_CAS_ATTEMPTS {
            let change = attempt_change_id(meta.id_base, attempt);
            stored.change = Some(change);
            let first = std::mem::take(&mut first_writes);
            let placed = self.append_change(None, stored, change, meta, first)?;
            if placed.voided {
                continue;
            }
            // No reconcile needed: until this write, no reconcile can remove the entries (a task
            // that is not written yet is left alone).
            if self
                .store
                .compare_and_swap(&key, &current, &encode(&*stored)?)?
            {
                self.feed_upkeep(&placed, meta.at);
                return Ok(());
            }
            // A reader fenced this change (or an earlier one) in the placeholder: go on from the
            // placeholder as it is now.
            match self.read::<StoredTask>(&key)? {
                Some(Versioned { raw, value }) if value.pending => current = raw,
                _ => return Err(RepoError::PlaceholderGone(stored.task.id)),
            }
        }
        Err(RepoError::Contended {
            what: Contended::CreateFeed,
        })
    }

    /// Places the intent of the change that makes `after` (from `before`) in the team's feed and
    /// the feeds of the users involved before or after.
    /// `first`: written in the same batch before the intents (a create's placeholder and its
    /// customer-index entries).
    fn append_change(
        &self,
        before: Option<&StoredTask>,
        after: &StoredTask,
        change: ChangeId,
        meta: &ChangeMeta,
        first: Vec<(String, Vec<u8>)>,
    ) -> Result<Placed, RepoError> {
        let intent = Intent {
            kind: meta.kind.clone(),
            subject: Subject::of_task(&after.task, before.map(|b| &b.task)),
            change,
            after_change: before.and_then(|b| b.change),
            at: meta.at,
        };
        let mut users = before.map(|b| involved_users(&b.task)).unwrap_or_default();
        for user in involved_users(&after.task) {
            if !users.contains(&user) {
                users.push(user);
            }
        }
        let feeds: Vec<FeedId> = std::iter::once(FeedId::Team(after.task.team_id))
            .chain(users.into_iter().map(FeedId::User))
            .collect();
        self.append_intents(&feeds, &intent, first)
    }

    /// Changes a task through compare-and-swap with retry; `change` is re-run on the
    /// current state after every lost race, so it re-evaluates preconditions and transitions.
    /// Every attempt is its own change in the team's feed (an intent appended before the swap).
    pub fn update_task<F>(
        &self,
        id: TaskId,
        meta: &ChangeMeta,
        mut change: F,
    ) -> Result<StoredTask, RepoError>
    where
        F: FnMut(&mut StoredTask) -> Result<(), RepoError>,
    {
        let key = keys::task(id);
        for attempt in 0..MAX_CAS_ATTEMPTS {
            let Some(Versioned { raw, value: before }) = self.read::<StoredTask>(&key)? else {
                return Err(RepoError::TaskNotFound(id));
            };
            if before.pending {
                return Err(RepoError::TaskNotFound(id));
            }
            let mut after = before.clone();
            change(&mut after)?;
            let change_id = attempt_change_id(meta.id_base, attempt);
            after.change = Some(change_id);
            after.fenced.clear();
            let old_entries = index_entries(&before);
            let new_entries = index_entries(&after);
            let added: Vec<&IndexEntry> = new_entries
                .iter()
                .filter(|e| !old_entries.contains(e))
                .collect();
            self.add_entries(&added)?;
            let noted = self.note_parties(id, &new_party_uris(&before.task, &after.task))?;
            after.party_notes.extend(noted);
            if after.task.status.is_final() && !before.task.status.is_final() {
                // Before the write: a request that dies after it leaves the task to the sweep.
                self.note_ending(after.task.id, meta.at)?;
            }
            let placed = self.append_change(Some(&before), &after, change_id, meta, Vec::new())?;
            if !placed.voided && self.store.compare_and_swap(&key, &raw, &encode(&after)?)? {
                self.feed_upkeep(&placed, meta.at);
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
        Err(RepoError::Contended {
            what: Contended::Task(id),
        })
    }

    fn missing_index(key: &str) -> RepoError {
        RepoError::IndexMissing {
            key: key.to_string(),
        }
    }

    /// Adds the entries a change is about to need (before the task write), one
    /// read-modify-write per index document; a team shard's queue head is published after it.
    fn add_entries(&self, entries: &[&IndexEntry]) -> Result<(), RepoError> {
        /// The document as written, or `None` if it already had every entry.
        fn add<T: IndexDocument + Default>(
            repo: &Repo,
            key: &str,
            entries: &[&IndexEntry],
            create: bool,
        ) -> Result<Option<T>, RepoError> {
            let written = Cell::new(false);
            let change = |index: &mut T| {
                let mut added = false;
                for entry in entries {
                    added |= index.add(entry);
                }
                if added {
                    index.bump_revision();
                }
                written.set(added);
                Ok(added)
            };
            let updated = match repo.update::<T, _>(key, change)? {
                Some(updated) => updated,
                None if !create => return Err(Repo::missing_index(key)),
                None => {
                    // A team shard's first entry creates it (behind the gate: one creator only).
                    repo.ensure_exists(key, &encode(&T::default())?, false)?;
                    repo.update::<T, _>(key, change)?
                        .ok_or_else(|| Repo::missing_index(key))?
                }
            };
            Ok(written.get().then_some(updated))
        }
        for doc in distinct_docs(entries.iter().copied()) {
            let in_doc: Vec<&IndexEntry> =
                entries.iter().copied().filter(|e| e.doc() == doc).collect();
            match doc {
                IndexDoc::Team(..) => {
                    self.read_ahead_with_queue_head(doc)?;
                    if let Some(shard) = add::<TeamIndex>(self, &doc.key(), &in_doc, true)? {
                        self.publish_queue_head(doc, &shard)?;
                    }
                }
                IndexDoc::User(_) => {
                    add::<UserIndex>(self, &doc.key(), &in_doc, false)?;
                }
            }
        }
        Ok(())
    }

    /// Reconciles each index document that one of `entries` lives in.
    fn reconcile_all(&self, task: TaskId, entries: &[IndexEntry]) -> Result<(), RepoError> {
        for doc in distinct_docs(entries.iter()) {
            self.reconcile(doc, task)?;
        }
        Ok(())
    }

    /// Makes index document `doc` say about `task` what the task's current state says.
    /// Reads the document first, then the task, and always writes (bumping the revision);
    /// a team shard's queue head is published after it.
    pub(super) fn reconcile(&self, doc: IndexDoc, task: TaskId) -> Result<(), RepoError> {
        /// The document as written, or `None` if the task is not written yet.
        fn run<T: IndexDocument + Default>(
            repo: &Repo,
            key: &str,
            doc: IndexDoc,
            task: TaskId,
        ) -> Result<Option<T>, RepoError> {
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
                    return Ok(None);
                };
                let stored: StoredTask = decode(&task_key, &task_raw)?;
                if stored.pending {
                    return Ok(None);
                }
                let entries = index_entries(&stored);
                let wanted: Vec<&IndexEntry> = entries.iter().filter(|e| e.doc() == doc).collect();
                index.set_task_entries(task, &wanted);
                index.bump_revision();
                if repo.store.compare_and_swap(key, &raw, &encode(&index)?)? {
                    return Ok(Some(index));
                }
            }
            Err(RepoError::Contended {
                what: Contended::Index(key.to_string()),
            })
        }
        match doc {
            IndexDoc::Team(..) => {
                self.read_ahead_with_queue_head(doc)?;
                match run::<TeamIndex>(self, &doc.key(), doc, task)? {
                    Some(shard) => self.publish_queue_head(doc, &shard),
                    None => Ok(()),
                }
            }
            IndexDoc::User(_) => run::<UserIndex>(self, &doc.key(), doc, task).map(|_| ()),
        }
    }

    /// Reads a team shard together with its queue head, which publishing reads after the
    /// shard's write (a head read before that write is at worst older: its swap then fails
    /// and is read again).
    fn read_ahead_with_queue_head(&self, doc: IndexDoc) -> Result<(), RepoError> {
        let IndexDoc::Team(team, shard) = doc else {
            return Ok(());
        };
        self.prefetch(&[doc.key(), keys::team_queue_head(team, shard)])
    }

    /// Every shard of a team's index, in one batch read, each with the document it is.
    pub fn team_index_shards(&self, team: TeamId) -> Result<Vec<(IndexDoc, TeamIndex)>, RepoError> {
        self.read_team_shards(team)
    }

    /// Every stored shard of a team's index in one batch read, decoded as `T` (the whole shard,
    /// or only the part a reader needs), each with the document it is.
    fn read_team_shards<T: DeserializeOwned>(
        &self,
        team: TeamId,
    ) -> Result<Vec<(IndexDoc, T)>, RepoError> {
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
    pub fn team_index(&self, team: TeamId) -> Result<TeamIndex, RepoError> {
        let mut whole = TeamIndex::default();
        for (_, shard) in self.team_index_shards(team)? {
            whole.open.extend(shard.open);
            whole.queue.extend(shard.queue);
        }
        Ok(whole)
    }

    /// The open tasks of a team (every shard of its index, then their tasks).
    pub fn open_tasks_of_team(&self, team: TeamId) -> Result<Vec<StoredTask>, RepoError> {
        let candidates = self.team_open_candidates(team)?;
        self.tasks_for_entries(&candidates)
    }

    /// The tasks assigned to `user` (by the user's index).
    pub fn tasks_of_user(&self, user: UserId) -> Result<Vec<StoredTask>, RepoError> {
        let candidates: Vec<_> = self
            .user_index(user)?
            .tasks
            .into_iter()
            .map(|id| (id, IndexEntry::UserTask(user, id), IndexDoc::User(user)))
            .collect();
        self.tasks_for_entries(&candidates)
    }

    /// The tasks whose active consultation call `user` takes part in (by the user's index).
    pub fn tasks_user_consults_on(&self, user: UserId) -> Result<Vec<StoredTask>, RepoError> {
        let candidates: Vec<_> = self
            .user_index(user)?
            .consultations
            .into_iter()
            .map(|id| {
                (
                    id,
                    IndexEntry::UserConsultation(user, id),
                    IndexDoc::User(user),
                )
            })
            .collect();
        self.tasks_for_entries(&candidates)
    }

    /// The open tasks of a team, with the document each entry was read from.
    fn team_open_candidates(
        &self,
        team: TeamId,
    ) -> Result<Vec<(TaskId, IndexEntry, IndexDoc)>, RepoError> {
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

    pub fn user_index(&self, user: UserId) -> Result<UserIndex, RepoError> {
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
    ) -> Result<Vec<StoredTask>, RepoError> {
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
                if stored.pending {
                    continue;
                }
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
    /// Reads the published head of each shard (see [`super::queue_heads`]) and checks the
    /// best one against its task: usually it is still queued, and nothing else is read. A shard
    /// whose head is missing, or names an entry its task contradicts, is read whole (its queue
    /// only) and its entries join the candidates; its head is published again on the way.
    /// Entries of a task that was never written, older than [`ABANDONED_AFTER_MILLIS`] at `now`,
    /// are taken out on the way.
    pub fn longest_waiting_task(
        &self,
        team: TeamId,
        now: Timestamp,
    ) -> Result<Option<StoredTask>, RepoError> {
        let mut candidates: Vec<(QueueEntry, IndexDoc)> = Vec::new();
        let mut read_whole: Vec<IndexDoc> = Vec::new();
        for (doc, head) in self.queue_heads(team)? {
            match head {
                Some(head) => candidates.extend(head.best.map(|best| (best, doc))),
                None => read_whole.push(doc),
            }
        }
        let mut read: Vec<IndexDoc> = Vec::new();
        loop {
            if !read_whole.is_empty() {
                read.extend(read_whole.iter().copied());
                for (doc, shard) in self.shard_queues(&read_whole)? {
                    candidates.retain(|(_, source)| *source != doc);
                    candidates.extend(shard.queue.iter().map(|q| (q.clone(), doc)));
                    // Not a write of the shard: the head is published as this read saw it,
                    // which a newer state still replaces.
                    self.publish_queue_head(doc, &shard.into_index())?;
                }
                read_whole.clear();
            }
            let Some(best) = (0..candidates.len()).min_by_key(|&i| candidates[i].0.serving_key())
            else {
                return Ok(None);
            };
            let (queued, source) = candidates.swap_remove(best);
            let entry = IndexEntry::TeamQueue(team, queued.clone());
            let candidate = [(queued.task_id, entry, source)];
            if let Some(stored) = self.tasks_for_entries(&candidate)?.pop() {
                return Ok(Some(stored));
            }
            let abandoned_since = queued.queued_at.plus_millis(ABANDONED_AFTER_MILLIS);
            if abandoned_since < now && self.task(queued.task_id)?.is_none() {
                self.remove_abandoned_entries(source, queued.task_id)?;
            }
            // A head's entry its task contradicts (now repaired): the rest of that shard's
            // queue is unknown, so read it.
            if !read.contains(&source) {
                read_whole.push(source);
            }
        }
    }

    /// Takes out of a team shard the entries of a task that was never written (a create that
    /// died between its index write and its task write), and publishes the shard's head.
    fn remove_abandoned_entries(&self, doc: IndexDoc, task: TaskId) -> Result<(), RepoError> {
        let remove = |index: &mut TeamIndex| {
            let listed =
                index.open.contains(&task) || index.queue.iter().any(|q| q.task_id == task);
            if listed {
                index.set_task_entries(task, &[]);
                index.bump_revision();
            }
            Ok(listed)
        };
        match self.update::<TeamIndex, _>(&doc.key(), remove)? {
            Some(shard) => self.publish_queue_head(doc, &shard),
            None => Ok(()),
        }
    }

    /// The queues of the given shards in one batch read (shards not stored are left out).
    fn shard_queues(&self, docs: &[IndexDoc]) -> Result<Vec<(IndexDoc, ShardQueue)>, RepoError> {
        let keys: Vec<String> = docs.iter().map(IndexDoc::key).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut shards = Vec::new();
        for ((doc, key), raw) in docs.iter().zip(&keys).zip(self.store.get_many(&refs)?) {
            if let Some(raw) = raw {
                shards.push((*doc, decode(key, &raw)?));
            }
        }
        Ok(shards)
    }
}

/// A team index shard's queue alone (the rest of the document is skipped).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShardQueue {
    queue: Vec<QueueEntry>,
    #[serde(default)]
    queue_revision: u64,
    #[serde(default)]
    ringing: Vec<RingEntry>,
}

impl ShardQueue {
    /// As much of the shard as its queue head is taken from.
    fn into_index(self) -> TeamIndex {
        TeamIndex {
            queue: self.queue,
            queue_revision: self.queue_revision,
            ringing: self.ringing,
            ..TeamIndex::default()
        }
    }
}

#[cfg(test)]
mod tests;
