//! What can go wrong in the repo, by cause. The API layer maps these to answers in one place
//! (`api/repo_errors.rs`); no wording for callers lives here.

use crate::error::ApiError;
use crate::ids::TaskId;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// The store failed (driver or server message, for the log only).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored record could not be read as what its key holds.
    #[error("stored record '{key}' is corrupt")]
    Corrupt { key: String },
    /// A record could not be encoded (a bug, not a state of the store).
    #[error("a record could not be encoded: {0}")]
    Encode(String),
    /// A compare-and-swap loop lost every one of its attempts.
    #[error("{what} stayed contended through every attempt")]
    Contended { what: Contended },
    /// A record another request is creating did not appear while this one waited.
    #[error("record '{key}' is still being created by another request")]
    BeingCreated { key: String },
    /// An index document the directory should have written is missing.
    #[error("index '{key}' is missing")]
    IndexMissing { key: String },
    #[error("task '{0}' was not found")]
    TaskNotFound(TaskId),
    /// The placeholder of a task being created is gone (only a store that lost a write).
    #[error("the placeholder of task '{0}' is gone while it was being created")]
    PlaceholderGone(TaskId),
    /// The directory a write would leave is not consistent.
    #[error("invalid directory: {0}")]
    InvalidDirectory(String),
    /// Another directory write holds the lease.
    #[error("another directory write is in progress")]
    DirectoryBusy,
    /// Entities to delete still have open tasks (up to 20 named).
    #[error("entities to delete have open tasks: {}", .0.join("; "))]
    OpenTasks(Vec<String>),
    /// A person to erase is named by tasks that are still open.
    #[error("tasks naming the person are open: {0:?}")]
    PersonHasOpenTasks(Vec<TaskId>),
    /// The record no longer allows the change a caller meant to make (the service's own
    /// changes: the offer is no longer ringing out, the task is no longer queued).
    #[error("the change no longer applies to the record as it is now")]
    NoLongerApplies,
    /// A caller's change refused itself (its own error, passed through unchanged).
    #[error(transparent)]
    Refused(ApiError),
}

/// What stayed contended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contended {
    Record(String),
    Index(String),
    Task(TaskId),
    /// The team's feed voided every attempt of a create.
    CreateFeed,
}

impl std::fmt::Display for Contended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Contended::Record(key) => write!(f, "record '{key}'"),
            Contended::Index(key) => write!(f, "index '{key}'"),
            Contended::Task(id) => write!(f, "task '{id}'"),
            Contended::CreateFeed => f.write_str("the team's change feed"),
        }
    }
}

impl From<StoreError> for RepoError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Corrupt { key } => RepoError::Corrupt { key },
            other => RepoError::Unavailable(other.to_string()),
        }
    }
}

/// A caller's closure refuses with its own error; the repo passes it through.
impl From<ApiError> for RepoError {
    fn from(error: ApiError) -> Self {
        RepoError::Refused(error)
    }
}
