//! The one place where what went wrong in the repo becomes an answer (status, code, wording).

use crate::error::ApiError;
use crate::repo::{Contended, RepoError};

impl From<RepoError> for ApiError {
    fn from(error: RepoError) -> Self {
        match error {
            RepoError::Unavailable(detail) => ApiError::StoreUnavailable { detail },
            RepoError::Corrupt { key } => {
                ApiError::Internal(format!("Stored record '{key}' could not be read."))
            }
            RepoError::Encode(detail) => {
                ApiError::Internal(format!("A record could not be encoded: {detail}"))
            }
            RepoError::Contended { what } => ApiError::ServiceUnavailable(match what {
                Contended::Record(key) => {
                    format!("Record '{key}' is being changed by many requests at once; retry.")
                }
                Contended::Index(key) => {
                    format!("Index '{key}' is being changed by many requests at once; retry.")
                }
                Contended::Task(id) => {
                    format!("Task '{id}' is being changed by many requests at once; retry.")
                }
                Contended::CreateFeed => {
                    "The team's change feed did not take the new task; retry.".into()
                }
            }),
            RepoError::BeingCreated { key } => ApiError::ServiceUnavailable(format!(
                "Record '{key}' is being created by another request; retry."
            )),
            RepoError::IndexMissing { key } => ApiError::ServiceUnavailable(format!(
                "Index '{key}' is missing; store the directory again to rebuild it."
            )),
            RepoError::TaskNotFound(id) => ApiError::not_found("Task", &id.to_string()),
            RepoError::PlaceholderGone(id) => ApiError::Internal(format!(
                "The placeholder of task '{id}' is gone while it was being created."
            )),
            RepoError::InvalidDirectory(message) => ApiError::BadRequest(message),
            RepoError::DirectoryBusy => ApiError::Conflict(
                "The directory is being changed by another request; retry when it is done.".into(),
            ),
            RepoError::OpenTasks(busy) => ApiError::Conflict(format!(
                "Not deleted while tasks are open (terminate or transfer them first): {}.",
                busy.join("; ")
            )),
            RepoError::PersonHasOpenTasks(open) => ApiError::Conflict(format!(
                "Not erased while tasks of this person are open (terminate or transfer them \
                 first): {}.",
                open.iter()
                    .take(20)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            RepoError::NoLongerApplies => ApiError::Conflict(
                "The task changed meanwhile; the service's change no longer applies.".into(),
            ),
            RepoError::Refused(error) => error,
        }
    }
}
