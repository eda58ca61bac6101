//! Change feeds: every committed change of a team's tasks, in one order that every reader sees
//! the same way, each exactly once, each task's changes in `Version` order.
//!
//! A feed is a counter and one write-once document per place. A change takes its place with an
//! atomic `increment` and writes its *intent* there before its task write: no document is
//! shared by the writers, so parallel changes of one team never retry on the feed (a head
//! document changed by compare-and-swap made every change of a busy team retry about once per
//! other change in flight). There is no transaction over the feed and the task, so intents are
//! decided later:
//! - the task record carries the id of the change that made its current version, and the
//!   intent of a change records the id of the version it was made on (`AfterChange`). So an
//!   intent for version v is committed exactly when the task's version v has its change id:
//!   read from the task while it is at v, or from the next version's intent, which is at a
//!   later place (the next change read version v before it took its place).
//! - an intent whose task is still below its version is in flight, or its request died. After
//!   [`FENCE_AFTER_MILLIS`] a reader *fences* it: it records the change id as refused in the
//!   task (compare-and-swap), so the late writer's own swap fails and it retries as a new change.
//!   A create is fenced the same way: its first intent is written with a placeholder of the task
//!   (pending, version 0 for the feed), which the task replaces by compare-and-swap. Fencing is a
//!   swap the late writer must lose, so no decision rests on clocks agreeing: a clock that is
//!   ahead only makes a reader fence early (the writer retries). Only an intent of an earlier
//!   version, written without a placeholder, is still refused by time: once its task is missing
//!   [`CREATE_ABANDONED_AFTER_MILLIS`] after it.
//! - a place without an intent while later places have one is a *gap*: its request is between
//!   its increment and its write, or died there. The first reader to see it notes the time
//!   (`gap/{n}`); after [`FENCE_AFTER_MILLIS`] a reader *voids* it (`void/{n}`) and reads the
//!   place again. The appender reads `void/{n}` after writing its intent and gives up that
//!   attempt if it is there. Either the appender sees the void or the reader sees the intent,
//!   so a voided place stays empty for good, or its intent is decided like any other.
//!
//! A decision, once made, is written back into the intent (the same bytes whoever decides).
//! Readers answer decided places in order and stop at the first undecided one. `decided` holds
//! a place up to which everything is decided (a lower bound, written with a plain set: any
//! value a request wrote is true, so a lost or late write only costs reading); every 16th
//! appender moves it on and retires the places [`FEED_KEPT_EVENTS`] behind.

use super::{encode, keys, Repo};
use crate::ids::{ChangeId, TaskId, TeamId, UserId};
use crate::model::task::TaskBefore;
use crate::model::{Availability, Task};
use crate::repo::RepoError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A place in a feed: 1 for its first change, counted by the feed's counter. A *cursor* is
/// the place a reader has read up to (0 before the first).
pub type Place = u64;

/// The number of newest changes a feed keeps; an older cursor answers 410.
pub const FEED_KEPT_EVENTS: u64 = 10_000;
/// How old an in-flight intent (or a gap) must be before a reader fences (voids) it.
pub const FENCE_AFTER_MILLIS: i64 = 10_000;
/// How long a create's intent waits for its task before it counts as never written.
pub const CREATE_ABANDONED_AFTER_MILLIS: i64 = 30_000;
/// Events per answer.
pub const FEED_ANSWER_LIMIT: usize = 100;
/// Every this many places, the appender does the feed's upkeep ([`Repo::feed_upkeep`]): it
/// settles a block of decisions and retires old places.
pub(super) const UPKEEP_EVERY: u64 = 16;

/// A feed: one per team (every change of the team's tasks, its *home* feed), one per user
/// (changes of tasks the user is assigned to or consults on, before or after the change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedId {
    Team(TeamId),
    User(UserId),
}

impl FeedId {
    fn base(&self) -> String {
        match self {
            FeedId::Team(team) => keys::team_feed(*team),
            FeedId::User(user) => keys::user_feed(*user),
        }
    }
    /// Counter (increment only): the newest place handed out.
    fn count_key(&self) -> String {
        format!("{}/count", self.base())
    }
    fn entry_key(&self, place: Place) -> String {
        format!("{}/e/{place}", self.base())
    }
    fn gap_key(&self, place: Place) -> String {
        format!("{}/gap/{place}", self.base())
    }
    fn void_key(&self, place: Place) -> String {
        format!("{}/void/{place}", self.base())
    }
    /// A place up to which every place is decided.
    pub fn decided_key(&self) -> String {
        format!("{}/decided", self.base())
    }
    /// Every key of places `first..=last`: entries, gap notes, void marks.
    pub(super) fn place_keys(&self, first: Place, last: Place) -> Vec<String> {
        (first..=last)
            .flat_map(|n| [self.entry_key(n), self.gap_key(n), self.void_key(n)])
            .collect()
    }
    /// The feed's keys that are not a place's.
    pub(super) fn own_keys(&self) -> Vec<String> {
        vec![self.count_key(), self.decided_key()]
    }
    pub(super) fn layout_samples(&self) -> Vec<String> {
        let last = u64::try_from(i64::MAX).unwrap_or(u64::MAX);
        vec![
            self.count_key(),
            self.entry_key(last),
            self.gap_key(last),
            self.void_key(last),
            self.decided_key(),
        ]
    }
}

/// One change as a feed stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FeedEntry {
    /// The entry's place in the feed (stored as `Seq`, its name in earlier versions).
    #[serde(rename = "Seq")]
    pub place: Place,
    /// What changed: `Created`, `OutboundCallStarted` or the action (`Offer`, `Hold`, …) for a
    /// task; [`AVAILABILITY_KIND`] for an agent's record.
    pub kind: String,
    /// The task or the agent record the change made, at its version after the change.
    #[serde(flatten)]
    pub subject: Subject,
    pub at: Timestamp,
    pub change: ChangeId,
    /// The change id of the version this change was made on (`None` for a create).
    #[serde(default)]
    pub after_change: Option<ChangeId>,
    /// In a user feed: the place of the same change in its team's feed, which decides it when
    /// this feed cannot (the task's next version may not be in this feed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<Place>,
    /// Whether the change committed, once known (stored as `Committed`: true, false or absent).
    #[serde(
        rename = "Committed",
        default,
        with = "outcome_as_committed",
        skip_serializing_if = "Outcome::is_pending"
    )]
    pub outcome: Outcome,
}

/// The `Kind` of a change of an agent's availability record (in the user's feed only).
pub const AVAILABILITY_KIND: &str = "Availability";

/// What a feed change made: a task's version (in the team's feed and its users' feeds) or an
/// agent record's revision (in that user's feed, which is its home). Both are versioned
/// records that carry the id of the change that made their version, decided the same way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Subject {
    #[serde(rename_all = "PascalCase")]
    Task {
        task_id: TaskId,
        /// The task's version after the change.
        version: u64,
        /// The task as it is after the change (boxed: the larger variant).
        task: Box<Task>,
        /// What the task was before the change, as far as statistics need it (`None` for a
        /// create, and in entries written before statistics).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<TaskBefore>,
    },
    #[serde(rename_all = "PascalCase")]
    Agent {
        user_id: UserId,
        /// The record's revision after the change.
        revision: u64,
        /// The availability as it was just after the change.
        availability: Availability,
    },
}

impl Subject {
    /// The version the change made.
    pub fn version(&self) -> u64 {
        match self {
            Subject::Task { version, .. } => *version,
            Subject::Agent { revision, .. } => *revision,
        }
    }

    /// Whether both are versions of one record.
    pub fn same_record(&self, other: &Subject) -> bool {
        match (self, other) {
            (Subject::Task { task_id: a, .. }, Subject::Task { task_id: b, .. }) => a == b,
            (Subject::Agent { user_id: a, .. }, Subject::Agent { user_id: b, .. }) => a == b,
            _ => false,
        }
    }

    /// The key of the record the change was made to.
    pub(super) fn record_key(&self) -> String {
        match self {
            Subject::Task { task_id, .. } => keys::task(*task_id),
            Subject::Agent { user_id, .. } => keys::agent(*user_id),
        }
    }

    /// A task subject's task.
    pub fn task(&self) -> Option<&Task> {
        match self {
            Subject::Task { task, .. } => Some(task),
            Subject::Agent { .. } => None,
        }
    }

    /// The subject a task's version is, made from `before` (`None`: a create).
    pub fn of_task(task: &Task, before: Option<&Task>) -> Subject {
        Subject::Task {
            task_id: task.id,
            version: task.version,
            task: Box::new(task.clone()),
            before: before.map(TaskBefore::of),
        }
    }
}

/// What became of an intent: not decided yet, committed (its task has its version), or
/// refused (fenced, voided, or its task never reached it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Outcome {
    #[default]
    Pending,
    Committed,
    Refused,
}

impl Outcome {
    pub fn is_pending(&self) -> bool {
        *self == Outcome::Pending
    }

    pub fn is_decided(&self) -> bool {
        !self.is_pending()
    }
}

impl From<Option<bool>> for Outcome {
    /// A decision function's answer: `None` undecided, else whether it committed.
    fn from(decided: Option<bool>) -> Outcome {
        match decided {
            None => Outcome::Pending,
            Some(true) => Outcome::Committed,
            Some(false) => Outcome::Refused,
        }
    }
}

/// The stored form of [`Outcome`], as feeds written by earlier versions hold it.
mod outcome_as_committed {
    use super::Outcome;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(outcome: &Outcome, serializer: S) -> Result<S::Ok, S::Error> {
        match outcome {
            Outcome::Pending => serializer.serialize_none(),
            Outcome::Committed => serializer.serialize_bool(true),
            Outcome::Refused => serializer.serialize_bool(false),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Outcome, D::Error> {
        Ok(Outcome::from(Option::<bool>::deserialize(deserializer)?))
    }
}

/// What a request's change is, for its feed entries: the kind, when, and the base of its
/// change ids (one id per attempt, see [`attempt_change_id`]).
#[derive(Clone, Debug)]
pub struct ChangeMeta {
    pub kind: String,
    pub id_base: Uuid,
    pub at: Timestamp,
}

/// What one change appends: everything but its place.
pub struct Intent {
    pub kind: String,
    pub subject: Subject,
    pub change: ChangeId,
    pub after_change: Option<ChangeId>,
    pub at: Timestamp,
}

/// A page of a feed as answered.
pub struct FeedAnswer {
    /// Committed changes after the cursor, in feed order.
    pub events: Vec<FeedEntry>,
    /// The cursor to go on from.
    pub cursor: Place,
}

/// The change id a task version's change gets in attempt `attempt` of a request: a fresh base
/// per request, a different id per attempt (a retried change is a new change). Hashed, so that
/// ids from a sequential source (tests) cannot meet another request's.
pub fn attempt_change_id(base: Uuid, attempt: usize) -> ChangeId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(base.as_bytes())
        .chain_update((attempt as u64).to_le_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    ChangeId(Uuid::from_bytes(bytes))
}

/// The places of one change's intents; `voided` if a reader gave one of them up (the attempt
/// must not be written).
pub(super) struct Placed {
    pub(super) voided: bool,
    places: Vec<(FeedId, Place)>,
}

impl Repo<'_> {
    /// Places a change's intents in `feeds`, the first its home (a task's team feed, an agent's
    /// own feed), the others pointing at the home place, before the record write. One increment
    /// per feed, one batch write, one batch read of the voids.
    pub(super) fn append_intents(
        &self,
        feeds: &[FeedId],
        intent: &Intent,
        first: Vec<(String, Vec<u8>)>,
    ) -> Result<Placed, RepoError> {
        let mut entries: Vec<(FeedId, FeedEntry)> = Vec::new();
        let mut home = None;
        for &feed in feeds {
            let at_place = place(self.store.increment(&feed.count_key(), 1)?);
            entries.push((
                feed,
                FeedEntry {
                    place: at_place,
                    kind: intent.kind.clone(),
                    subject: intent.subject.clone(),
                    at: intent.at,
                    change: intent.change,
                    after_change: intent.after_change,
                    home,
                    outcome: Outcome::Pending,
                },
            ));
            home = home.or(Some(at_place));
        }
        // Where a task's snapshots go is noted with them (see `personal_data`).
        let places_note = match &intent.subject {
            Subject::Task { task_id, .. } => Some(
                self.places_note(
                    *task_id,
                    entries
                        .iter()
                        .map(|(feed, entry)| feed.entry_key(entry.place))
                        .collect(),
                )?,
            ),
            Subject::Agent { .. } => None,
        };
        // A create's placeholder goes first: stores that write a batch key by key then never
        // show its intent without it.
        let encoded = first
            .into_iter()
            .chain(places_note)
            .map(Ok)
            .chain(
                entries
                    .iter()
                    .map(|(feed, entry)| Ok((feed.entry_key(entry.place), encode(entry)?))),
            )
            .collect::<Result<Vec<_>, RepoError>>()?;
        self.set_all(&encoded)?;
        let void_keys: Vec<String> = entries
            .iter()
            .map(|(feed, entry)| feed.void_key(entry.place))
            .collect();
        let voided = self.get_keys(&void_keys)?.iter().any(Option::is_some);
        Ok(Placed {
            voided,
            places: entries.iter().map(|(feed, e)| (*feed, e.place)).collect(),
        })
    }

    /// The newest place handed out (a read: an increment by 0).
    pub(super) fn newest_place(&self, feed: FeedId) -> Result<Place, RepoError> {
        Ok(place(self.store.increment(&feed.count_key(), 0)?))
    }
}

/// A place from the store's counter (never negative; 0 if it were).
fn place(counter: i64) -> Place {
    u64::try_from(counter).unwrap_or(0)
}

mod decisions;
mod reading;
#[cfg(test)]
mod tests;
mod upkeep;

pub use reading::FeedRead;
