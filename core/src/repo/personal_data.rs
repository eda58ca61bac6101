//! Where a person's data is kept, found without scanning (the decisions are in
//! [`crate::personal_data`]):
//! - the *customer index*: for each person's URI hash a counter and one write-once entry per
//!   task that names them (`pd/customer/{hash}/count`, `…/e/{n}`), noted before the write that
//!   stores the task (so a request that dies after it leaves an entry pointing at nothing or at
//!   a task that never names them, which an erasure skips, never a task missing from the index);
//! - the *places list* of each task: a counter and one write-once note per change attempt
//!   (`pd/task/{id}/count`, `…/e/{n}`) naming the feed entries it wrote and the idempotency
//!   record its request answers in, written in the same batch as the intents (so every place a
//!   snapshot of the task can be is listed, refused and dead attempts included).
//!
//! An erasure reads both, refuses while a task of the person is open, and scrubs the person
//! from the tasks, their feed entries and the stored answers, each by compare-and-swap (a
//! feed's upkeep writes its decisions back the same way, so neither can undo the other).

use super::{decode, encode, keys, Repo, StoredTask};
use crate::ids::TaskId;
use crate::personal_data::{customer_hash, party_uris, scrub_document, Scrub};
use crate::repo::{RepoError, MAX_CAS_ATTEMPTS};
use serde::{Deserialize, Serialize};

fn customer_count(hash: &str) -> String {
    format!("pd/customer/{hash}/count")
}
fn customer_entry(hash: &str, n: u64) -> String {
    format!("pd/customer/{hash}/e/{n}")
}
fn places_count(task: TaskId) -> String {
    format!("pd/task/{task}/count")
}
fn places_entry(task: TaskId, n: u64) -> String {
    format!("pd/task/{task}/e/{n}")
}

pub(super) fn layout_samples() -> Vec<String> {
    let hash = customer_hash("tel:+41441234567");
    let task = TaskId(uuid::Uuid::from_u128(0xabc));
    vec![
        customer_count(&hash),
        customer_entry(&hash, u64::MAX),
        places_count(task),
        places_entry(task, u64::MAX),
    ]
}

/// Where one change attempt of a task wrote its snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PlacesNote {
    /// The feed entries' keys.
    entries: Vec<String>,
    /// The idempotency record the request's answer is stored in, if it had a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    answer: Option<String>,
}

/// What an erasure did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErasureReport {
    /// Tasks that named the person (as customer, consultation or transfer target).
    pub tasks: u64,
    /// Task records scrubbed.
    pub tasks_scrubbed: u64,
    /// Feed entries (change snapshots) scrubbed.
    pub feed_entries_scrubbed: u64,
    /// Stored answers of idempotent requests scrubbed.
    pub answers_scrubbed: u64,
    /// Whether the person has more tasks than one erasure takes on: call again.
    pub more: bool,
}

/// The most tasks one erasure request takes on (a person with more is erased in several
/// requests: the index entries of tasks done are deleted, so the next one goes on).
pub const MAX_ERASURE_TASKS: u64 = 1_000;

/// A counter's value as a place (never negative).
fn counted(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl Repo<'_> {
    /// The customer-index entries saying that `task` names `uris` (their counters taken), to
    /// be written before the write that stores the task.
    fn party_entries(
        &self,
        task: TaskId,
        uris: &[&str],
    ) -> Result<Vec<(String, Vec<u8>)>, RepoError> {
        let mut writes = Vec::with_capacity(uris.len());
        for uri in uris {
            let hash = customer_hash(uri);
            let n = counted(self.store.increment(&customer_count(&hash), 1)?);
            writes.push((customer_entry(&hash, n), encode(&task)?));
        }
        Ok(writes)
    }

    /// Notes in the customer index that `task` names `uris` (before the write that stores it);
    /// the entries' keys, for the task record.
    pub(super) fn note_parties(
        &self,
        task: TaskId,
        uris: &[&str],
    ) -> Result<Vec<String>, RepoError> {
        let writes = self.party_entries(task, uris)?;
        self.set_all(&writes)?;
        Ok(writes.into_iter().map(|(key, _)| key).collect())
    }

    /// The customer-index entries of a task about to be created (named in its record too), to
    /// be written in the batch of its first intents.
    pub(super) fn party_entries_of(
        &self,
        stored: &mut StoredTask,
    ) -> Result<Vec<(String, Vec<u8>)>, RepoError> {
        let writes = self.party_entries(stored.task.id, &party_uris(&stored.task))?;
        stored.party_notes = writes.iter().map(|(key, _)| key.clone()).collect();
        Ok(writes)
    }

    /// What retention deletes with tasks besides their records: their customer-index entries
    /// and their places lists; their feed entries stay (the feed retires them in order) but are
    /// scrubbed of every party first. One counter read per task, one batch read of all their
    /// notes and one of all their entries, then a compare-and-swap per entry still holding a
    /// party. Returns the keys to delete.
    pub(super) fn forget_tasks(&self, stored: &[StoredTask]) -> Result<Vec<String>, RepoError> {
        let mut note_keys = Vec::new();
        let mut forget = Vec::new();
        for stored in stored {
            let task = stored.task.id;
            let count = counted(self.store.increment(&places_count(task), 0)?);
            note_keys.extend((1..=count).map(|n| places_entry(task, n)));
            forget.extend(stored.party_notes.iter().cloned());
            forget.push(places_count(task));
        }
        let entries: Vec<String> = self
            .places_in(&note_keys)?
            .into_iter()
            .filter(|key| !is_answer(key))
            .collect();
        self.scrub_keys(&entries, Scrub::Everyone)?;
        forget.extend(note_keys);
        Ok(forget)
    }

    /// The note of where one change attempt of `task` writes its snapshots (`entries`), to be
    /// written in the same batch as them.
    pub(super) fn places_note(
        &self,
        task: TaskId,
        entries: Vec<String>,
    ) -> Result<(String, Vec<u8>), RepoError> {
        let n = counted(self.store.increment(&places_count(task), 1)?);
        let note = PlacesNote {
            entries,
            answer: self.answer_record.borrow().clone(),
        };
        Ok((places_entry(task, n), encode(&note)?))
    }

    /// Tells the repo which idempotency record this request's answer goes to (places notes
    /// name it, so that an erasure finds the answers that hold a task).
    pub(crate) fn note_answer_record(&self, key: &str) {
        *self.answer_record.borrow_mut() = Some(key.to_string());
    }

    /// The keys every change attempt of `task` wrote a snapshot of it to (and the answers).
    fn places_of(&self, task: TaskId) -> Result<Vec<String>, RepoError> {
        let count = counted(self.store.increment(&places_count(task), 0)?);
        let note_keys: Vec<String> = (1..=count).map(|n| places_entry(task, n)).collect();
        self.places_in(&note_keys)
    }

    /// The keys the places notes under `note_keys` name (one batch read).
    fn places_in(&self, note_keys: &[String]) -> Result<Vec<String>, RepoError> {
        let mut found = Vec::new();
        for (raw, key) in self.get_keys(note_keys)?.into_iter().zip(note_keys) {
            let Some(raw) = raw else { continue };
            let note: PlacesNote = decode(key, &raw)?;
            found.extend(note.entries);
            found.extend(note.answer);
        }
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// Scrubs `scrub` from the documents under `keys` (read in one batch, each written back by
    /// compare-and-swap, re-read and scrubbed again when another writer came first); how many
    /// changed.
    fn scrub_keys(&self, keys: &[String], scrub: Scrub) -> Result<u64, RepoError> {
        let mut scrubbed = 0;
        for (raw, key) in self.get_keys(keys)?.into_iter().zip(keys) {
            let mut raw = raw;
            for _ in 0..MAX_CAS_ATTEMPTS {
                let Some(current) = raw.take() else { break };
                let Some(clean) = scrub_document(&current, scrub) else {
                    break;
                };
                if self.store.compare_and_swap(key, &current, &clean)? {
                    scrubbed += 1;
                    break;
                }
                raw = self.store.get(key)?;
            }
        }
        Ok(scrubbed)
    }

    /// Erases the person with `uri` from every task that names them, its feed snapshots and the
    /// stored answers that hold it; refused while one of those tasks is open (it must end first).
    pub fn erase_person(&self, uri: &str) -> Result<ErasureReport, RepoError> {
        let hash = customer_hash(uri);
        let count = counted(self.store.increment(&customer_count(&hash), 0)?);
        // Entries of tasks already erased are deleted: the first MAX_ERASURE_TASKS present ones.
        let entry_keys: Vec<String> = (1..=count).map(|n| customer_entry(&hash, n)).collect();
        let mut listed: Vec<(String, TaskId)> = Vec::new();
        let mut more = false;
        for (raw, key) in self.get_keys(&entry_keys)?.into_iter().zip(&entry_keys) {
            let Some(raw) = raw else { continue };
            if listed.len() as u64 == MAX_ERASURE_TASKS {
                more = true;
                break;
            }
            listed.push((key.clone(), decode(key, &raw)?));
        }
        let mut ids: Vec<TaskId> = listed.iter().map(|(_, id)| *id).collect();
        ids.sort_by_key(|id| id.0);
        ids.dedup();
        let task_keys: Vec<String> = ids.iter().map(|id| keys::task(*id)).collect();
        let mut open = Vec::new();
        for ((raw, key), id) in self
            .get_keys(&task_keys)?
            .into_iter()
            .zip(&task_keys)
            .zip(&ids)
        {
            let Some(raw) = raw else { continue };
            let stored: StoredTask = decode(key, &raw)?;
            let names_them = party_uris(&stored.task).contains(&uri);
            if names_them && !stored.pending && !stored.task.status.is_final() {
                open.push(*id);
            }
        }
        if !open.is_empty() {
            return Err(RepoError::PersonHasOpenTasks(open));
        }
        let scrub = Scrub::Uri(uri);
        let mut report = ErasureReport {
            tasks: ids.len() as u64,
            more,
            ..ErasureReport::default()
        };
        for id in &ids {
            let places = self.places_of(*id)?;
            let (answers, entries): (Vec<String>, Vec<String>) =
                places.into_iter().partition(|key| is_answer(key));
            report.feed_entries_scrubbed += self.scrub_keys(&entries, scrub)?;
            report.answers_scrubbed += self.scrub_keys(&answers, scrub)?;
        }
        report.tasks_scrubbed = self.scrub_keys(&task_keys, scrub)?;
        // Last: a request that dies before this leaves the index to the next erasure. The
        // counter stays (a number under a hash): deleting it could lose the entry of a task
        // created meanwhile.
        let done: Vec<&str> = listed.iter().map(|(key, _)| key.as_str()).collect();
        self.store.delete_many(&done)?;
        Ok(report)
    }
}

/// Whether a key a places note names is an idempotency record (else a feed entry).
fn is_answer(key: &str) -> bool {
    key.starts_with(&keys::idempotency(""))
}
