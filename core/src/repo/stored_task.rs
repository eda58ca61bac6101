//! A task as the store keeps it: the task, its place in the queue, and what the change feed
//! needs to decide its changes (see [`super::feeds`]).

use crate::model::Task;
use serde::{Deserialize, Serialize};

/// A task as stored: the task plus its place in the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoredTask {
    #[serde(flatten)]
    pub task: Task,
    /// From [`keys::QUEUE_SEQUENCE`] at creation; breaks ties between equal `QueuedAt`.
    pub queue_sequence: i64,
    /// The id of the change that made this version (see [`super::feeds`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<crate::ids::ChangeId>,
    /// Changes of the next version refused by a feed reader (their requests took too long).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fenced: Vec<crate::ids::ChangeId>,
    /// A create in progress: written with the create's intents, replaced by the task through
    /// compare-and-swap. A feed reader that refuses a stalled create fences it here, so the
    /// create's swap fails (see [`Repo::create_task`]). Every reader takes it as no task.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
    /// The agent reservation an automatic offer put this task at its agent with; kept while
    /// the task is at them (see [`crate::engine`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<uuid::Uuid>,
    /// Reservations that may never reach this task: a request that found an agent reserved for
    /// it too long without the task knowing fenced them here (the newest few).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fenced_reservations: Vec<uuid::Uuid>,
    /// The reservation whose offer of this task rang out last: a request that timed the offer
    /// out and died before releasing the agent leaves them to be released as NotResponding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rang_out: Option<uuid::Uuid>,
    /// The customer-index entries that point at this task (see `repo/personal_data.rs`),
    /// deleted with it by retention.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub party_notes: Vec<String>,
}

impl StoredTask {
    pub fn new(task: Task, queue_sequence: i64) -> Self {
        StoredTask {
            task,
            queue_sequence,
            change: None,
            fenced: Vec::new(),
            pending: false,
            reservation: None,
            fenced_reservations: Vec::new(),
            rang_out: None,
            party_notes: Vec::new(),
        }
    }

    /// The task, unless this is the placeholder of a create in progress.
    pub(crate) fn written(self) -> Option<StoredTask> {
        (!self.pending).then_some(self)
    }
}
