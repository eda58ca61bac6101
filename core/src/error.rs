//! The error model of the API: every failure becomes one of these, and every one of
//! these becomes a JSON body `{"Error":{"Code","Message"}}` with its status code.

use crate::http::{Method, Response};
use crate::store::StoreError;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    /// The configured admin token is too short to be safe: the admin API stays closed.
    #[error("The admin API is closed: the admin token configured for this service is shorter than {min_chars} characters. The operator must configure a longer one.")]
    AdminTokenTooShort { min_chars: usize },
    #[error("{0}")]
    NotFound(String),
    #[error("Method {method} is not allowed on this resource.")]
    MethodNotAllowed { method: String, allow: Vec<Method> },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("The request body is larger than the limit of {limit} bytes.")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// An `Idempotency-Key` reused with a different request.
    #[error("{0}")]
    UnprocessableContent(String),
    /// A feed cursor older than the feed keeps: re-list, then follow the list's cursor.
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    Internal(String),
    /// Over a cap (waiting feed reads); retry after `retry_after_seconds`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_seconds: u64,
    },
    #[error("{0}")]
    ServiceUnavailable(String),
    /// The store failed. Callers read only that; `detail` (driver and server messages) goes to
    /// the operator's log, never into a response.
    #[error("The store is unavailable; retry.")]
    StoreUnavailable { detail: String },
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) | ApiError::AdminTokenTooShort { .. } => 401,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PreconditionFailed(_) => 412,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Gone(_) => 410,
            ApiError::UnprocessableContent(_) => 422,
            ApiError::Internal(_) => 500,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::ServiceUnavailable(_) | ApiError::StoreUnavailable { .. } => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Unauthorized(_) | ApiError::AdminTokenTooShort { .. } => "Unauthorized",
            ApiError::NotFound(_) => "NotFound",
            ApiError::MethodNotAllowed { .. } => "MethodNotAllowed",
            ApiError::Conflict(_) => "Conflict",
            ApiError::PreconditionFailed(_) => "PreconditionFailed",
            ApiError::PayloadTooLarge { .. } => "PayloadTooLarge",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::Gone(_) => "Gone",
            ApiError::UnprocessableContent(_) => "UnprocessableContent",
            ApiError::Internal(_) => "InternalError",
            ApiError::TooManyRequests { .. } => "TooManyRequests",
            ApiError::ServiceUnavailable(_) | ApiError::StoreUnavailable { .. } => {
                "ServiceUnavailable"
            }
        }
    }

    pub fn not_found(what: &str, identifier: &str) -> Self {
        ApiError::NotFound(format!("{what} '{identifier}' was not found."))
    }

    pub fn into_response(self) -> Response {
        let body = json!({"Error": {"Code": self.code(), "Message": self.to_string()}});
        let mut response = Response::json(self.status(), &body);
        if let ApiError::MethodNotAllowed { allow, .. } = &self {
            let allow: Vec<&str> = allow.iter().map(|m| m.as_str()).collect();
            response.set_header("Allow", &allow.join(", "));
        }
        match &self {
            ApiError::TooManyRequests {
                retry_after_seconds,
                ..
            } => response.set_header("Retry-After", &retry_after_seconds.to_string()),
            ApiError::StoreUnavailable { detail } => {
                response.log = Some(format!("store unavailable: {detail}"));
            }
            ApiError::Internal(message) => response.log = Some(message.clone()),
            ApiError::AdminTokenTooShort { min_chars } => {
                response.log = Some(format!(
                    "admin request refused: the configured admin_token is shorter than {min_chars} characters; set a longer one (for example 64 random hex characters)"
                ));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Corrupt { key } => {
                ApiError::Internal(format!("Stored record '{key}' could not be read."))
            }
            other => ApiError::StoreUnavailable {
                detail: other.to_string(),
            },
        }
    }
}
