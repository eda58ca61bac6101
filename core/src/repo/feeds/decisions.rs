//! Deciding whether an intent committed: from the next version's intent, from the record
//! (the task, or the agent's availability record), by fencing a stale one.

use super::reading::WINDOW;
use super::{
    FeedEntry, FeedId, Outcome, Subject, CREATE_ABANDONED_AFTER_MILLIS, FENCE_AFTER_MILLIS,
};
use crate::ids::ChangeId;
use crate::model::AgentRecord;
use crate::repo::RepoError;
use crate::repo::{decode, encode, Repo, StoredTask, Versioned, MAX_CAS_ATTEMPTS};
use crate::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Changes refused by fencing that a record remembers (only while it stays at one version).
const FENCED_KEPT: usize = 8;

/// What is known about whether `entry` committed, from a later entry of the same record (the
/// next version's intent knows which change made this version).
fn decided_by_chain<'a>(
    entry: &FeedEntry,
    mut later: impl Iterator<Item = &'a FeedEntry>,
) -> Option<bool> {
    later
        .find(|l| {
            l.subject.same_record(&entry.subject)
                && l.subject.version() == entry.subject.version() + 1
        })
        .map(|next| next.after_change == Some(entry.change))
}

/// What a feed decision needs of a stored record: its version, the change that made it, and
/// the changes of its next version refused by fencing.
#[derive(Clone, Debug, PartialEq)]
struct RecordFacts {
    version: u64,
    change: Option<ChangeId>,
    fenced: Vec<ChangeId>,
}

/// A record whose changes are feed changes: it carries the id of the change that made its
/// version and the changes fenced from its next one.
trait FeedRecord: Serialize + DeserializeOwned {
    fn facts(&self) -> RecordFacts;
    fn fenced_mut(&mut self) -> &mut Vec<ChangeId>;
}

impl FeedRecord for StoredTask {
    fn facts(&self) -> RecordFacts {
        RecordFacts {
            // A create's placeholder stands for "no version yet".
            version: if self.pending { 0 } else { self.task.version },
            change: self.change,
            fenced: self.fenced.clone(),
        }
    }
    fn fenced_mut(&mut self) -> &mut Vec<ChangeId> {
        &mut self.fenced
    }
}

impl FeedRecord for AgentRecord {
    fn facts(&self) -> RecordFacts {
        RecordFacts {
            version: self.revision,
            change: self.change,
            fenced: self.fenced.clone(),
        }
    }
    fn fenced_mut(&mut self) -> &mut Vec<ChangeId> {
        &mut self.fenced
    }
}

/// The facts of the record `entry` was made to, from its stored bytes.
fn facts_of(entry: &FeedEntry, key: &str, raw: &[u8]) -> Result<RecordFacts, RepoError> {
    Ok(match entry.subject {
        Subject::Task { .. } => decode::<StoredTask>(key, raw)?.facts(),
        Subject::Agent { .. } => decode::<AgentRecord>(key, raw)?.facts(),
    })
}

/// What the record as stored says about `entry` ([`Decision::Unknown`]: not yet known).
fn decided_by_record(entry: &FeedEntry, record: Option<&RecordFacts>, now: Timestamp) -> Decision {
    let Some(record) = record else {
        // A task's create may still be on its way; an agent's record is stored before any
        // change of it is placed, so a missing one was deleted with its user.
        let abandoned = entry.at.plus_millis(CREATE_ABANDONED_AFTER_MILLIS) < now;
        return match (&entry.subject, entry.subject.version()) {
            (Subject::Task { .. }, 1) if !abandoned => Decision::Unknown,
            _ => Decision::Known(false),
        };
    };
    let version = entry.subject.version();
    if record.version == version {
        return Decision::Known(record.change == Some(entry.change));
    }
    if record.version > version {
        return Decision::Superseded;
    }
    if record.fenced.contains(&entry.change) {
        return Decision::Known(false);
    }
    if entry.at.plus_millis(FENCE_AFTER_MILLIS) < now {
        return Decision::Fence;
    }
    Decision::Unknown
}

#[derive(Debug, PartialEq)]
enum Decision {
    Known(bool),
    /// In flight too long: refuse it in the record, then it is known not to have committed.
    Fence,
    /// The record is past this version. If this change made it, the next version's intent
    /// says so; it was written before the next version was, so places read after the record
    /// hold it.
    Superseded,
    Unknown,
}

impl Repo<'_> {
    /// Decides the undecided intents among `places`: from a later intent of the same record,
    /// then from the records (one batch read), fencing stale ones. In memory only: the upkeep
    /// writes decisions back ([`Repo::upkeep_settles_block`]), readers do not.
    pub(super) fn decide_places(
        &self,
        feed: FeedId,
        places: &mut [Option<FeedEntry>],
        now: Timestamp,
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
        let record_keys: Vec<String> = open
            .iter()
            .filter_map(|&i| places[i].as_ref().map(|e| e.subject.record_key()))
            .collect();
        let records = if record_keys.is_empty() {
            Vec::new()
        } else {
            self.get_keys(&record_keys)?
        };
        for ((&i, key), raw) in open.iter().zip(&record_keys).zip(records) {
            let Some(entry) = places[i].as_ref() else {
                continue;
            };
            let facts = raw.map(|raw| facts_of(entry, key, &raw)).transpose()?;
            let decided = match decided_by_record(entry, facts.as_ref(), now) {
                Decision::Known(committed) => Some(committed),
                Decision::Fence => match entry.subject {
                    Subject::Task { .. } => self.fence::<StoredTask>(key, entry, now)?,
                    Subject::Agent { .. } => self.fence::<AgentRecord>(key, entry, now)?,
                },
                Decision::Superseded => Some(self.decided_after_record(feed, entry)?),
                Decision::Unknown => None,
            };
            if let Some(Some(entry)) = places.get_mut(i) {
                entry.outcome = Outcome::from(decided);
            }
        }
        Ok(())
    }

    /// Whether `entry`, whose record was read past its version, committed: by the next
    /// version's intent in the record's home feed, at a place after it that the count (read
    /// after the record) covers. A user feed's task entry is decided as its twin in the team's
    /// feed; an agent's entry is at home in its user's feed.
    fn decided_after_record(&self, feed: FeedId, entry: &FeedEntry) -> Result<bool, RepoError> {
        let (home_feed, place) = match (feed, entry.home, entry.subject.task()) {
            (FeedId::User(_), Some(home), Some(task)) => (FeedId::Team(task.team_id), home),
            _ => (feed, entry.place),
        };
        let newest = self.newest_place(home_feed)?;
        let mut from = place + 1;
        while from <= newest {
            let count = (newest + 1 - from).min(WINDOW * 2);
            let places = self.read_places(home_feed, from, count)?;
            if let Some(decided) = decided_by_chain(entry, places.iter().flatten()) {
                return Ok(decided);
            }
            from += count;
        }
        Ok(false)
    }

    /// Refuses an in-flight change in its record, so its late swap fails; then decides it.
    fn fence<R: FeedRecord>(
        &self,
        key: &str,
        entry: &FeedEntry,
        now: Timestamp,
    ) -> Result<Option<bool>, RepoError> {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let Some(Versioned {
                raw,
                value: mut stored,
            }) = self.read::<R>(key)?
            else {
                return Ok(Some(false));
            };
            match decided_by_record(entry, Some(&stored.facts()), now) {
                Decision::Fence => {}
                Decision::Known(committed) => return Ok(Some(committed)),
                // Changed meanwhile: decided on the next read.
                Decision::Superseded | Decision::Unknown => return Ok(None),
            }
            let fenced = stored.fenced_mut();
            fenced.push(entry.change);
            let excess = fenced.len().saturating_sub(FENCED_KEPT);
            fenced.drain(..excess);
            if self.store.compare_and_swap(key, &raw, &encode(&stored)?)? {
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

    fn change_id(n: u128) -> ChangeId {
        ChangeId(Uuid::from_u128(n))
    }

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
            place: 1,
            kind: "Created".into(),
            subject: Subject::of_task(&task(version), None),
            at: T0,
            change: change_id(change),
            after_change: after.map(change_id),
            home: None,
            outcome: Outcome::Pending,
        }
    }

    fn stored(version: u64, change: Option<u128>, fenced: &[u128], pending: bool) -> StoredTask {
        StoredTask {
            task: task(version),
            queue_sequence: 1,
            change: change.map(change_id),
            fenced: fenced.iter().map(|c| change_id(*c)).collect(),
            pending,
            reservation: None,
            fenced_reservations: Vec::new(),
            rang_out: None,
            party_notes: Vec::new(),
        }
    }

    /// The decision on a task's stored form.
    fn decided_by_task(entry: &FeedEntry, stored: Option<&StoredTask>, now: Timestamp) -> Decision {
        decided_by_record(entry, stored.map(FeedRecord::facts).as_ref(), now)
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
        let mut moved = task(4);
        moved.id = TaskId(Uuid::from_u128(9));
        let other_task = FeedEntry {
            subject: Subject::of_task(&moved, None),
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

    fn agent_entry(user: u128, revision: u64, change: u128, after: Option<u128>) -> FeedEntry {
        let mut record = AgentRecord::new(crate::ids::UserId(Uuid::from_u128(user)));
        record.revision = revision;
        FeedEntry {
            place: 1,
            kind: super::super::AVAILABILITY_KIND.into(),
            subject: Subject::Agent {
                user_id: record.user_id,
                revision,
                availability: record.availability(T0),
            },
            at: T0,
            change: change_id(change),
            after_change: after.map(change_id),
            home: None,
            outcome: Outcome::Pending,
        }
    }

    fn agent_record(revision: u64, change: Option<u128>, fenced: &[u128]) -> AgentRecord {
        let mut record = AgentRecord::new(crate::ids::UserId(Uuid::from_u128(7)));
        record.revision = revision;
        record.change = change.map(change_id);
        record.fenced = fenced.iter().map(|c| change_id(*c)).collect();
        record
    }

    /// An availability change (revision 3, change 30, made on change 20) as a reader decides it:
    /// (the agent's record as stored, the reader's time after the intent) → the decision.
    #[test]
    fn an_availability_change_is_decided_by_the_agent_record_like_a_task_version() {
        let set = agent_entry(7, 3, 30, Some(20));
        let fence = FENCE_AFTER_MILLIS + 1;
        let cases: Vec<(&str, Option<AgentRecord>, i64, Decision)> = vec![
            (
                "at its revision by it",
                Some(agent_record(3, Some(30), &[])),
                0,
                Decision::Known(true),
            ),
            (
                "at its revision by another attempt",
                Some(agent_record(3, Some(31), &[])),
                0,
                Decision::Known(false),
            ),
            (
                "moved on",
                Some(agent_record(4, Some(40), &[])),
                0,
                Decision::Superseded,
            ),
            (
                "below it, fresh",
                Some(agent_record(2, Some(20), &[])),
                0,
                Decision::Unknown,
            ),
            (
                "below it, exactly at the fence time",
                Some(agent_record(2, Some(20), &[])),
                FENCE_AFTER_MILLIS,
                Decision::Unknown,
            ),
            (
                "below it, stalled",
                Some(agent_record(2, Some(20), &[])),
                fence,
                Decision::Fence,
            ),
            (
                "below it, fenced",
                Some(agent_record(2, Some(20), &[30])),
                0,
                Decision::Known(false),
            ),
            // Stored before any of its changes is placed: missing means deleted with the user,
            // at once (a task's create waits for its task instead).
            ("no record", None, 0, Decision::Known(false)),
        ];
        for (case, record, after_millis, expected) in cases {
            let facts = record.as_ref().map(FeedRecord::facts);
            let got = decided_by_record(&set, facts.as_ref(), T0.plus_millis(after_millis));
            assert_eq!(got, expected, "{case}");
        }
        let first = agent_entry(7, 1, 10, None);
        assert_eq!(
            decided_by_record(&first, None, T0),
            Decision::Known(false),
            "an agent's first change has no placeholder to wait for"
        );
    }

    #[test]
    fn a_chain_links_versions_of_one_record_only() {
        let set = agent_entry(7, 3, 30, Some(20));
        let next = agent_entry(7, 4, 40, Some(30));
        let other_agent = agent_entry(8, 4, 41, Some(30));
        // A task at the next version made on the same change id is another record.
        let task_next = entry(4, 42, Some(30));
        assert_eq!(
            decided_by_chain(&set, [&other_agent, &task_next].into_iter()),
            None
        );
        assert_eq!(
            decided_by_chain(&set, [&task_next, &next].into_iter()),
            Some(true)
        );
        assert_eq!(
            decided_by_chain(&set, [&agent_entry(7, 4, 41, Some(31))].into_iter()),
            Some(false)
        );
    }

    #[test]
    fn an_old_feed_entry_of_a_task_reads_as_a_task_subject() {
        // The stored form of a task's entry is unchanged: TaskId, Version, Task at the top.
        let stored = serde_json::to_value(entry(2, 20, Some(10))).unwrap_or_default();
        assert_eq!(stored["Version"], 2);
        assert!(stored["TaskId"].is_string() && stored["Task"].is_object());
        let back: FeedEntry = serde_json::from_value(stored).expect("a task entry");
        assert!(matches!(back.subject, Subject::Task { version: 2, .. }));
        let agent = serde_json::to_value(agent_entry(7, 3, 30, None)).unwrap_or_default();
        let back: FeedEntry = serde_json::from_value(agent).expect("an agent entry");
        assert!(matches!(back.subject, Subject::Agent { revision: 3, .. }));
    }
}
