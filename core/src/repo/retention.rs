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

use super::time_buckets::{DayCursor, TimeBuckets};
use super::{decode, encode, keys, Repo, StoredTask};
use crate::ids::TaskId;
use crate::repo::RepoError;
use crate::retention::{day_is_due, day_of, verdict, Verdict};
use crate::time::Timestamp;
use serde::Serialize;

/// The entries a change's upkeep sweeps (every 16th change of a team).
pub(super) const UPKEEP_SLICE: u64 = 16;

const BUCKETS: TimeBuckets = TimeBuckets {
    prefix: "retention/ended",
    cursor_key: "retention/sweep",
};

pub(super) fn layout_samples() -> Vec<String> {
    BUCKETS.layout_samples()
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
        let entry_key = BUCKETS.note::<DayCursor>(self, day_of(now))?;
        Ok(self.store.set(&entry_key, &encode(&task)?)?)
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
        let today = day_of(now);
        let is_due = |day| day_is_due(day, now, millis);
        let Some(slice) = BUCKETS.next_slice::<DayCursor>(self, is_due, today, max)? else {
            return Ok(report);
        };
        let (day, count) = (slice.period, slice.count);
        let mut done = slice.first;
        if slice.first <= slice.last {
            let entry_keys = BUCKETS.entry_keys(&slice);
            let ids: Vec<Option<TaskId>> = self.decode_keys(&entry_keys)?;
            let task_keys: Vec<String> = ids.iter().flatten().map(|id| keys::task(*id)).collect();
            let tasks = self.get_keys(&task_keys)?;
            let mut tasks = tasks.into_iter().zip(&task_keys);
            let mut delete: Vec<String> = Vec::new();
            let mut forgotten: Vec<StoredTask> = Vec::new();
            let none = String::new();
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
            report.more_due = !waiting && (done <= count || day < today);
        }
        BUCKETS.finish(self, &slice, done)?;
        Ok(report)
    }
}
