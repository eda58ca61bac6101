//! The secondary indexes that list tasks (a team's open tasks and queue, sharded by task id; a
//! user's tasks and consultations): their documents, and the entries a task should have in them,
//! a pure function of the task.

use super::keys;
use super::stored_task::StoredTask;
use crate::ids::{TaskId, TeamId, UserId};
use crate::model::{Priority, Task, TaskStatus};
use crate::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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

/// A task that rings at an agent after an automatic offer, and when it rings out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RingEntry {
    pub task_id: TaskId,
    pub until: Timestamp,
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
    /// Counts the changes of `queue` and `ringing` (not of `open`): the head published for
    /// this shard says which count it was taken from (see [`super::queue_heads`]).
    #[serde(default)]
    pub queue_revision: u64,
    /// Tasks ringing after an automatic offer, with their ring timeout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ringing: Vec<RingEntry>,
}

impl TeamIndex {
    /// The entry this shard serves first.
    pub fn best_queued(&self) -> Option<&QueueEntry> {
        self.queue.iter().min_by_key(|q| q.serving_key())
    }

    /// The ringing task of this shard that rings out first.
    pub fn first_ring_due(&self) -> Option<&RingEntry> {
        self.ringing.iter().min_by_key(|r| (r.until, r.task_id))
    }

    fn queued_entries_of(&self, task: TaskId) -> impl Iterator<Item = &QueueEntry> {
        self.queue.iter().filter(move |q| q.task_id == task)
    }

    fn ring_entries_of(&self, task: TaskId) -> impl Iterator<Item = &RingEntry> {
        self.ringing.iter().filter(move |r| r.task_id == task)
    }
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
    TeamRinging(TeamId, RingEntry),
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
            IndexEntry::TeamRinging(team, ringing) => {
                IndexDoc::Team(*team, team_shard(ringing.task_id))
            }
            IndexEntry::UserTask(user, _) | IndexEntry::UserConsultation(user, _) => {
                IndexDoc::User(*user)
            }
        }
    }
}

/// The documents `entries` live in, each once, in order of appearance.
pub(super) fn distinct_docs<'e>(entries: impl Iterator<Item = &'e IndexEntry>) -> Vec<IndexDoc> {
    let mut docs = Vec::new();
    for entry in entries {
        if !docs.contains(&entry.doc()) {
            docs.push(entry.doc());
        }
    }
    docs
}

/// What the two index document types share.
pub(super) trait IndexDocument: Serialize + DeserializeOwned {
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
            IndexEntry::TeamQueue(_, queued) => {
                let added = push_missing(&mut self.queue, queued);
                if added {
                    self.queue_revision += 1;
                }
                added
            }
            IndexEntry::TeamRinging(_, ringing) => {
                let added = push_missing(&mut self.ringing, ringing);
                if added {
                    self.queue_revision += 1;
                }
                added
            }
            _ => false,
        }
    }
    fn set_task_entries(&mut self, task: TaskId, entries: &[&IndexEntry]) {
        let queued_before: Vec<QueueEntry> = self.queued_entries_of(task).cloned().collect();
        let ringing_before: Vec<RingEntry> = self.ring_entries_of(task).cloned().collect();
        self.open.retain(|t| *t != task);
        self.queue.retain(|q| q.task_id != task);
        self.ringing.retain(|r| r.task_id != task);
        let revision = self.queue_revision;
        for entry in entries {
            self.add(entry);
        }
        // One count per change of the queue: removing and adding the same entry is none.
        let unchanged = self.queued_entries_of(task).eq(queued_before.iter())
            && self.ring_entries_of(task).eq(ringing_before.iter());
        self.queue_revision = if unchanged { revision } else { revision + 1 };
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
    if let (TaskStatus::Ringing, Some(until)) = (task.status, task.ringing_until) {
        entries.push(IndexEntry::TeamRinging(
            task.team_id,
            RingEntry {
                task_id: task.id,
                until,
            },
        ));
    }
    for user in consultation_users(task) {
        let entry = IndexEntry::UserConsultation(user, task.id);
        if !entries.contains(&entry) {
            entries.push(entry);
        }
    }
    entries
}

/// The users taking part in the task's active consultation call (its initiator and target).
pub fn consultation_users(task: &Task) -> impl Iterator<Item = UserId> + '_ {
    task.consultation_call
        .iter()
        .filter(|call| call.status.is_active())
        .flat_map(|call| [call.initiator_user_id, call.target.user_id])
        .flatten()
}
