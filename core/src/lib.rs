//! tm-core: the TM Task / Team / User API without any IO.
//!
//! Hosts call [`handle`] with a [`Request`], a [`Store`] implementation, the current time
//! and an id source, and send back the [`Response`]. Everything else (models, roles,
//! the task state machine, validation, storage layout) lives here, so that the Spin
//! component and the browser widget share one implementation.

pub mod agent_access;
pub mod answer_expiry;
pub mod api;
pub mod auth;
pub mod demo;
pub mod digest;
pub mod engine;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod key_retention;
pub mod model;
pub mod personal_data;
pub mod repo;
pub mod retention;
pub mod routes;
pub mod setup;
pub mod state_machine;
pub mod statistics;
pub mod store;
pub mod task_change;
pub mod time;
pub mod wait_lease;

pub use api::{handle, Config, Env, MAX_ADMIN_BODY_BYTES, MAX_BODY_BYTES};
pub use error::ApiError;
pub use http::{Method, Request, Response};
pub use ids::{IdSource, SequentialIds};
pub use state_machine::{allowed_actions, TaskAction};
pub use store::{MemoryStore, Store, StoreError};
pub use time::Timestamp;
