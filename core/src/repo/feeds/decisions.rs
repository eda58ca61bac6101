//! Deciding whether an intent committed: from the next version's intent, from the task,
//! by fencing a stale one.

use super::reading::WINDOW;
use super::{FeedEntry, FeedId, Outcome, CREATE_ABANDONED_AFTER_MILLIS, FENCE_AFTER_MILLIS};
use crate::repo::RepoError;
use crate::repo::{decode, encode, keys, Repo, StoredTask, Versioned, MAX_CAS_ATTEMPTS};
use crate::time::Timestamp;

/// Changes refused by fencing that a task remembers (only while it stays at one version).
const FENCED_KEPT: usize = 8;

/// What is known about whether `entry` committed, from a later entry of the same task (the
/// next version's intent knows which change made this version).
fn decided_by_chain<'a>(
    entry: &FeedEntry,
    mut later: impl Iterator<Item = &'a FeedEntry>,
) -> Option<bool> {
    later
        .find(|l| l.task_id == entry.task_id && l.version == entry.version + 1)
        .map(|next| next.after_change == Some(entry.change))
}

/// What the task as stored says about `entry` ([`Decision::Unknown`]: not yet known).
fn decided_by_task(entry: &FeedEntry, task: Option<&StoredTask>, now: Timestamp) -> Decision {
    let Some(stored) = task else {
        let abandoned = entry.at.plus_millis(CREATE_ABANDONED_AFTER_MILLIS) < now;
        return match entry.version {
            1 if !abandoned => Decision::Unknown,
            _ => Decision::Known(false),
        };
    };
    // A create's placeholder stands for "no version yet".
    let version = if stored.pending {
        0
    } else {
        stored.task.version
    };
    if version == entry.version {
        return Decision::Known(stored.change == Some(entry.change));
    }
    if version > entry.version {
        return Decision::Superseded;
    }
    if stored.fenced.contains(&entry.change) {
        return Decision::Known(false);
    }
    if entry.at.plus_millis(FENCE_AFTER_MILLIS) < now {
        return Decision::Fence;
    }
    Decision::Unknown
}

enum Decision {
    Known(bool),
    /// In flight too long: refuse it in the task, then it is known not to have committed.
    Fence,
    /// The task is past this version. If this change made it, the next version's intent says
    /// so; it was written before the next version was, so places read after the task hold it.
    Superseded,
    Unknown,
}

impl Repo<'_> {
    /// Decides the undecided intents among `places`: from a later intent of the same task, then
    /// from the tasks (one batch read), fencing stale ones; `write_back`: writes the new
    /// decisions into the intents (the upkeep does; readers do not).
    pub(super) fn decide_places(
        &self,
        feed: FeedId,
        places: &mut [Option<FeedEntry>],
        now: Timestamp,
        write_back: bool,
    ) -> Result<(), RepoError> {
        let undecided: Vec<usize> = (0..places.len())
            .filter(|&i| matches!(&places[i], Some(e) if e.outcome.is_pending()))
            .collect();
        if undecided.is_empty() {
            return Ok(());
        }
        for &i in &undecided {
            let decided = match &places[i] {
                Some(entry) => decided_by_chain(entry, places[i + 1..].iter().flatten()),
                None => None,
            };
            if let Some(Some(entry)) = places.get_mut(i) {
                entry.outcome = Outcome::from(decided);
            }
        }
        let open: Vec<usize> = undecided
            .iter()
            .copied()
            .filter(|&i| matches!(&places[i], Some(e) if e.outcome.is_pending()))
            .collect();
        let task_keys: Vec<String> = open
            .iter()
            .filter_map(|&i| places[i].as_ref().map(|e| keys::task(e.task_id)))
            .collect();
        let refs: Vec<&str> = task_keys.iter().map(String::as_str).collect();
        let tasks = if refs.is_empty() {
            Vec::new()
        } else {
            self.store.get_many(&refs)?
        };
        for ((&i, key), raw) in open.iter().zip(&task_keys).zip(tasks) {
            let stored: Option<StoredTask> = raw.map(|raw| decode(key, &raw)).transpose()?;
            let Some(entry) = places[i].as_ref() else {
                continue;
            };
            let decided = match decided_by_task(entry, stored.as_ref(), now) {
                Decision::Known(committed) => Some(committed),
                Decision::Fence => self.fence(entry, now)?,
                Decision::Superseded => Some(self.decided_after_task(feed, entry)?),
                Decision::Unknown => None,
            };
            if let Some(Some(entry)) = places.get_mut(i) {
                entry.outcome = Outcome::from(decided);
            }
        }
        if !write_back {
            return Ok(());
        }
        let decided = undecided
            .iter()
            .filter_map(|&i| places[i].as_ref())
            .filter(|e| e.outcome.is_decided())
            .map(|e| Ok((feed.entry_key(e.seq), encode(e)?)))
            .collect::<Result<Vec<_>, RepoError>>()?;
        self.set_all(&decided)
    }

    /// Whether `entry`, whose task was read past its version, committed: by the next version's
    /// intent in the team's feed, at a place after it that the count (read after the task)
    /// covers. A user feed's entry is decided as its twin in the team's feed.
    fn decided_after_task(&self, feed: FeedId, entry: &FeedEntry) -> Result<bool, RepoError> {
        let (team_feed, seq) = match (feed, entry.home) {
            (FeedId::User(_), Some(home)) => (FeedId::Team(entry.task.team_id), home),
            _ => (feed, entry.seq),
        };
        let newest = self.newest_place(team_feed)?;
        let mut from = seq + 1;
        while from <= newest {
            let count = (newest + 1 - from).min(WINDOW * 2);
            let places = self.read_places(team_feed, from, count)?;
            if let Some(decided) = decided_by_chain(entry, places.iter().flatten()) {
                return Ok(decided);
            }
            from += count;
        }
        Ok(false)
    }

    /// Refuses an in-flight change in its task, so its late swap fails; then decides it.
    fn fence(&self, entry: &FeedEntry, now: Timestamp) -> Result<Option<bool>, RepoError> {
        let key = keys::task(entry.task_id);
        for _ in 0..MAX_CAS_ATTEMPTS {
            let Some(Versioned {
                raw,
                value: mut stored,
            }) = self.read::<StoredTask>(&key)?
            else {
                return Ok(Some(false));
            };
            match decided_by_task(entry, Some(&stored), now) {
                Decision::Fence => {}
                Decision::Known(committed) => return Ok(Some(committed)),
                // Changed meanwhile: decided on the next read.
                Decision::Superseded | Decision::Unknown => return Ok(None),
            }
            stored.fenced.push(entry.change);
            let excess = stored.fenced.len().saturating_sub(FENCED_KEPT);
            stored.fenced.drain(..excess);
            if self.store.compare_and_swap(&key, &raw, &encode(&stored)?)? {
                return Ok(Some(false));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{TaskId, TeamId};
    use crate::model::task::{Party, Priority, TaskStatus, TaskType};
    use crate::model::Task;
    use uuid::Uuid;

    const T0: Timestamp = Timestamp::from_unix_millis(1_767_600_000_000);

    fn task(version: u64) -> Task {
        Task {
            id: TaskId(Uuid::from_u128(1)),
            team_id: TeamId(Uuid::from_u128(2)),
            task_type: TaskType::IncomingCall,
            status: TaskStatus::Queued,
            priority: Priority::Normal,
            customer: Party {
                uri: "tel:+41445550101".into(),
                display_name: "Mia".into(),
            },
            assigned_user_id: None,
            external_task_id: None,
            description: None,
            created_at: T0,
            queued_at: Some(T0),
            updated_at: T0,
            ended_at: None,
            version,
            consultation_call: None,
            transferred_to: None,
            ringing_until: None,
            allowed_actions: Default::default(),
        }
    }

    fn entry(version: u64, change: u128, after: Option<u128>) -> FeedEntry {
        FeedEntry {
            seq: 1,
            kind: "Created".into(),
            task_id: TaskId(Uuid::from_u128(1)),
            version,
            at: T0,
            task: task(version),
            change: Uuid::from_u128(change),
            after_change: after.map(Uuid::from_u128),
            home: None,
            outcome: Outcome::Pending,
        }
    }

    fn stored(version: u64, change: Option<u128>, fenced: &[u128], pending: bool) -> StoredTask {
        StoredTask {
            task: task(version),
            queue_sequence: 1,
            change: change.map(Uuid::from_u128),
            fenced: fenced.iter().map(|c| Uuid::from_u128(*c)).collect(),
            pending,
            reservation: None,
            fenced_reservations: Vec::new(),
            rang_out: None,
        }
    }

    /// What a reader decides, written out: (what is stored, the reader's time after the intent)
    /// → the decision, for a create's intent (version 1, change 10).
    #[test]
    fn a_create_is_decided_by_its_task_or_fenced_in_its_placeholder() {
        let create = entry(1, 10, None);
        let fence = FENCE_AFTER_MILLIS + 1;
        let abandoned = CREATE_ABANDONED_AFTER_MILLIS + 1;
        let cases: Vec<(&str, Option<StoredTask>, i64, &str)> = vec![
            (
                "placeholder, fresh",
                Some(stored(1, None, &[], true)),
                0,
                "unknown",
            ),
            (
                "placeholder, exactly at the fence time",
                Some(stored(1, None, &[], true)),
                FENCE_AFTER_MILLIS,
                "unknown",
            ),
            (
                "placeholder, stalled",
                Some(stored(1, None, &[], true)),
                fence,
                "fence",
            ),
            (
                "placeholder, fenced",
                Some(stored(1, None, &[10], true)),
                0,
                "refused",
            ),
            (
                "placeholder, an earlier attempt fenced",
                Some(stored(1, None, &[9], true)),
                0,
                "unknown",
            ),
            (
                "task by this change",
                Some(stored(1, Some(10), &[], false)),
                abandoned,
                "committed",
            ),
            (
                "task by another attempt",
                Some(stored(1, Some(11), &[], false)),
                0,
                "refused",
            ),
            (
                "task moved on",
                Some(stored(2, Some(12), &[], false)),
                0,
                "superseded",
            ),
            (
                "no task (an earlier version's create), fresh",
                None,
                0,
                "unknown",
            ),
            (
                "no task, exactly at the abandon time",
                None,
                CREATE_ABANDONED_AFTER_MILLIS,
                "unknown",
            ),
            ("no task, abandoned", None, abandoned, "refused"),
        ];
        for (case, task, after_millis, expected) in cases {
            let decision = decided_by_task(&create, task.as_ref(), T0.plus_millis(after_millis));
            let got = match decision {
                Decision::Known(true) => "committed",
                Decision::Known(false) => "refused",
                Decision::Fence => "fence",
                Decision::Superseded => "superseded",
                Decision::Unknown => "unknown",
            };
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn an_update_is_decided_by_the_task_at_its_version_or_by_the_next_intent() {
        let hold = entry(3, 30, Some(20));
        let at = |ms| T0.plus_millis(ms);
        assert!(matches!(
            decided_by_task(&hold, Some(&stored(3, Some(30), &[], false)), at(0)),
            Decision::Known(true)
        ));
        assert!(matches!(
            decided_by_task(&hold, Some(&stored(3, Some(31), &[], false)), at(0)),
            Decision::Known(false)
        ));
        assert!(matches!(
            decided_by_task(&hold, Some(&stored(2, Some(20), &[], false)), at(0)),
            Decision::Unknown
        ));
        assert!(matches!(
            decided_by_task(
                &hold,
                Some(&stored(2, Some(20), &[], false)),
                at(FENCE_AFTER_MILLIS + 1)
            ),
            Decision::Fence
        ));
        assert!(matches!(
            decided_by_task(&hold, Some(&stored(2, Some(20), &[30], false)), at(0)),
            Decision::Known(false)
        ));
        assert!(
            matches!(decided_by_task(&hold, None, at(0)), Decision::Known(false)),
            "a task that is gone"
        );

        // The next version's intent names the change it was made on.
        let next_on_hold = entry(4, 40, Some(30));
        let next_on_other = entry(4, 41, Some(31));
        let other_task = FeedEntry {
            task_id: TaskId(Uuid::from_u128(9)),
            ..entry(4, 42, Some(30))
        };
        assert_eq!(decided_by_chain(&hold, [&other_task].into_iter()), None);
        assert_eq!(
            decided_by_chain(&hold, [&other_task, &next_on_hold].into_iter()),
            Some(true)
        );
        assert_eq!(
            decided_by_chain(&hold, [&next_on_other].into_iter()),
            Some(false)
        );
        assert_eq!(
            decided_by_chain(&hold, [&entry(5, 50, Some(30))].into_iter()),
            None,
            "not the next version"
        );
    }
}
