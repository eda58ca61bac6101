//! Tasks (calls and external tasks) and their consultation calls.

use super::TaskAction;
use crate::ids::{ConsultationCallId, TaskId, TeamId, UserId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskType {
    IncomingCall,
    OutboundCall,
    ExternalTask,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TaskStatus {
    /// Waiting in the team queue.
    Queued,
    /// Offered to `AssignedUserId`.
    Ringing,
    /// Outbound call, not yet answered.
    Dialing,
    Connected,
    OnHold,
    /// Consultation leg active, customer held.
    Consulting,
    /// Consultation merged with the customer.
    Conference,
    Transferred,
    Terminated,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 9] = [
        TaskStatus::Queued,
        TaskStatus::Ringing,
        TaskStatus::Dialing,
        TaskStatus::Connected,
        TaskStatus::OnHold,
        TaskStatus::Consulting,
        TaskStatus::Conference,
        TaskStatus::Transferred,
        TaskStatus::Terminated,
    ];

    pub fn is_final(self) -> bool {
        matches!(self, TaskStatus::Transferred | TaskStatus::Terminated)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Queued => "Queued",
            TaskStatus::Ringing => "Ringing",
            TaskStatus::Dialing => "Dialing",
            TaskStatus::Connected => "Connected",
            TaskStatus::OnHold => "OnHold",
            TaskStatus::Consulting => "Consulting",
            TaskStatus::Conference => "Conference",
            TaskStatus::Transferred => "Transferred",
            TaskStatus::Terminated => "Terminated",
        }
    }
}

/// `AgentTaskPriorityType`, in serving order: earlier variants are served first.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Priority {
    StrictPriority,
    Highest,
    VeryHigh,
    High,
    #[default]
    Normal,
    Low,
    VeryLow,
    Lowest,
    NothingElse,
}

impl Priority {
    pub const ALL: [Priority; 9] = [
        Priority::StrictPriority,
        Priority::Highest,
        Priority::VeryHigh,
        Priority::High,
        Priority::Normal,
        Priority::Low,
        Priority::VeryLow,
        Priority::Lowest,
        Priority::NothingElse,
    ];
}

/// The customer of a task, or the other end of a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Party {
    pub uri: String,
    pub display_name: String,
}

/// Who a consultation call or a transfer goes to; `UserId` is set when the target is a known user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    pub uri: String,
    pub display_name: String,
    pub user_id: Option<UserId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConsultationStatus {
    Ringing,
    Connected,
    Merged,
    Ended,
}

impl ConsultationStatus {
    pub fn is_active(self) -> bool {
        self != ConsultationStatus::Ended
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AudioRoutes {
    pub customer_hears_agent: bool,
    pub customer_hears_consultant: bool,
    pub agent_hears_customer: bool,
    pub agent_hears_consultant: bool,
    pub consultant_hears_customer: bool,
    pub consultant_hears_agent: bool,
}

impl AudioRoutes {
    /// While consulting, the customer is held: only agent and consultant hear each other.
    pub const CONSULTING: AudioRoutes = AudioRoutes {
        customer_hears_agent: false,
        customer_hears_consultant: false,
        agent_hears_customer: false,
        agent_hears_consultant: true,
        consultant_hears_customer: false,
        consultant_hears_agent: true,
    };
    /// After a merge everybody hears everybody.
    pub const ALL: AudioRoutes = AudioRoutes {
        customer_hears_agent: true,
        customer_hears_consultant: true,
        agent_hears_customer: true,
        agent_hears_consultant: true,
        consultant_hears_customer: true,
        consultant_hears_agent: true,
    };
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsultationCall {
    pub id: ConsultationCallId,
    pub task_id: TaskId,
    pub initiator_user_id: Option<UserId>,
    pub target: Target,
    pub status: ConsultationStatus,
    pub audio_routes: AudioRoutes,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// A task as stored and as returned (`AllowedActions` is computed, never stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    pub id: TaskId,
    pub team_id: TeamId,
    #[serde(rename = "Type")]
    pub task_type: TaskType,
    pub status: TaskStatus,
    pub priority: Priority,
    pub customer: Party,
    pub assigned_user_id: Option<UserId>,
    pub external_task_id: Option<String>,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub queued_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub version: u64,
    pub consultation_call: Option<ConsultationCall>,
    /// Where a transferred task went (transfer, consultation transfer or leave).
    #[serde(default)]
    pub transferred_to: Option<Target>,
    /// An automatic offer rings until then, and goes back to the queue after (see
    /// `Distribution.RingTimeoutSeconds`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ringing_until: Option<Timestamp>,
    /// Computed from the state machine on every serialization; ignored on input.
    #[serde(default, skip_deserializing)]
    pub allowed_actions: AllowedActions,
}

impl Task {
    pub fn consultation_status(&self) -> Option<ConsultationStatus> {
        self.consultation_call.as_ref().map(|c| c.status)
    }

    /// `ETag` value for this version.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// The task's allowed actions as serialized; kept as a field so that a `Task` read back by a
/// client (the widget) carries them too.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AllowedActions(pub Vec<TaskAction>);

/// A task as it was before a change: what team statistics take away when they count the change
/// (see `crate::statistics`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskBefore {
    pub status: TaskStatus,
    pub priority: Priority,
    #[serde(default)]
    pub queued_at: Option<Timestamp>,
}

impl TaskBefore {
    pub fn of(task: &Task) -> TaskBefore {
        TaskBefore {
            status: task.status,
            priority: task.priority,
            queued_at: task.queued_at,
        }
    }
}
