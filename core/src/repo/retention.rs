//! The time-ordered structure retention sweeps (see [`crate::retention`]): one bucket per UTC
//! day of the tasks that ended on it, a counter and one write-once entry per task
//! (`retention/ended/{day}/count`, `…/e/{n}`), noted *before* the task's final write (so a
//! request that dies after it leaves nothing unswept; an entry whose end never committed is
//! dropped). The sweep's cursor (`retention/sweep`: a day and the next place in it) moves by
//! compare-and-swap; a slice reads at most `max` entries and their tasks in one batch each,
//! deletes what is due and moves the cursor, whatever the store holds. Two slices at once do
//! the same deletes (idempotent) and one moves the cursor. A deleted task takes its personal
//! data's index entries and places list with it, and its feed entries are scrubbed of every
//! party (`repo/personal_data.rs`).

use super::{decode, encode, keys, Repo, StoredTask, Versioned};
use crate::ids::TaskId;
use crate::repo::RepoError;
use crate::retention::{day_is_due, day_of, verdict, Verdict};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Empty days a slice passes over at most (each costs one counter read).
const MAX_DAYS_PER_SLICE: usize = 8;
/// The entries a change's upkeep sweeps (every 16th change of a team).
pub(super) const UPKEEP_SLICE: u64 = 16;

fn bucket_count(day: i64) -> String {
    format!("retention/ended/{day}/count")
}
fn bucket_entry(day: i64, n: u64) -> String {
    format!("retention/ended/{day}/e/{n}")
}
const SWEEP_CURSOR: &str = "retention/sweep";

pub(super) fn layout_samples() -> Vec<String> {
    vec![
        bucket_count(99_999),
        bucket_entry(99_999, u64::MAX),
        SWEEP_CURSOR.to_string(),
    ]
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SweepCursor {
    day: i64,
    /// The next place to look at in the day's bucket (from 1).
    next: u64,
}

/// What one slice did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SweepReport {
    /// Tasks deleted.
    pub deleted: u64,
    /// Entries whose task was gone or never ended.
    pub dropped: u64,
    /// Whether more is due now (another slice would find work).
    pub more_due: bool,
}

impl Repo<'_> {
    /// Notes that `task` is about to end at `now` (before its write).
    pub(super) fn note_ending(&self, task: TaskId, now: Timestamp) -> Result<(), RepoError> {
        let day = day_of(now);
        let place = self.store.increment(&bucket_count(day), 1)?;
        let place = u64::try_from(place).unwrap_or(0);
        self.store.set(&bucket_entry(day, place), &encode(&task)?)?;
        if place == 1 {
            // The first task ever noted starts the sweep there (later days follow in order).
            let first = SweepCursor { day, next: 1 };
            self.ensure_exists(SWEEP_CURSOR, &encode(&first)?, true)?;
        }
        Ok(())
    }

    /// One slice of the sweep: at most `max` entries of the oldest due day, for a retention of
    /// `millis`.
    pub fn sweep_slice(
        &self,
        now: Timestamp,
        millis: i64,
        max: u64,
    ) -> Result<SweepReport, RepoError> {
        let mut report = SweepReport::default();
        let Some(Versioned { raw, value: start }) = self.read::<SweepCursor>(SWEEP_CURSOR)? else {
            return Ok(report);
        };
        let mut cursor = start.clone();
        let today = day_of(now);
        for _ in 0..MAX_DAYS_PER_SLICE {
            if !day_is_due(cursor.day, now, millis) {
                break;
            }
            let count =
                u64::try_from(self.store.increment(&bucket_count(cursor.day), 0)?).unwrap_or(0);
            if cursor.next > count {
                if cursor.day >= today {
                    break;
                }
                // The day is done: its counter goes too, the next day starts.
                self.store
                    .delete_many(&[bucket_count(cursor.day).as_str()])?;
                cursor = SweepCursor {
                    day: cursor.day + 1,
                    next: 1,
                };
                continue;
            }
            let last = count.min(cursor.next + max - 1);
            let places: Vec<u64> = (cursor.next..=last).collect();
            let entry_keys: Vec<String> = places
                .iter()
                .map(|n| bucket_entry(cursor.day, *n))
                .collect();
            let entries = self.get_keys(&entry_keys)?;
            let ids: Vec<Option<TaskId>> = entries
                .iter()
                .zip(&entry_keys)
                .map(|(raw, key)| {
                    raw.as_ref()
                        .map(|raw| decode::<TaskId>(key, raw))
                        .transpose()
                })
                .collect::<Result<_, _>>()?;
            let task_keys: Vec<String> = ids.iter().flatten().map(|id| keys::task(*id)).collect();
            let tasks = self.get_keys(&task_keys)?;
            let mut tasks = tasks.into_iter().zip(&task_keys);
            let mut delete: Vec<String> = Vec::new();
            let mut forgotten: Vec<StoredTask> = Vec::new();
            let none = String::new();
            let mut done = cursor.next;
            let mut waiting = false;
            for (id, entry_key) in ids.iter().zip(&entry_keys) {
                if id.is_some() {
                    let (raw, key) = tasks.next().unwrap_or((None, &none));
                    let stored: Option<StoredTask> =
                        raw.map(|raw| decode(key, &raw)).transpose()?;
                    let task = stored.as_ref().filter(|s| !s.pending).map(|s| &s.task);
                    match verdict(task, now, millis) {
                        Verdict::Delete => {
                            report.deleted += 1;
                            forgotten.extend(stored);
                            delete.push(key.clone());
                        }
                        Verdict::Drop => report.dropped += 1,
                        Verdict::NotYet => {
                            waiting = true;
                            break;
                        }
                    }
                } else {
                    // An entry its request never wrote (it died after its increment).
                    report.dropped += 1;
                }
                delete.push(entry_key.clone());
                done += 1;
            }
            if !forgotten.is_empty() {
                delete.extend(self.forget_tasks(&forgotten)?);
            }
            let refs: Vec<&str> = delete.iter().map(String::as_str).collect();
            if !refs.is_empty() {
                self.store.delete_many(&refs)?;
            }
            report.more_due = !waiting && (done <= count || cursor.day < today);
            cursor.next = done;
            break;
        }
        if cursor != start {
            // Lost to a parallel slice: it did the same, the next slice goes on from its place.
            let _ = self
                .store
                .compare_and_swap(SWEEP_CURSOR, &raw, &encode(&cursor)?)?;
        }
        Ok(report)
    }
}
