//! The Spin host: a thin adapter between Spin and `tm-core`.
//!
//! - [`convert`]: Spin request/response <-> core request/response (pure, tested natively).
//! - [`kv`]: the core's storage port on Spin key-value storage (wasm only).
//! - [`redis_store`]: the storage port on Redis through Spin's outbound Redis API, for
//!   several instances on one store (its logic is tested natively against `redis-server`).
//! - [`assets`]: which mounted file serves which path (pure, tested natively).
//! - [`body`]: reading a request body chunk by chunk up to its limit (pure, tested natively).
//! - [`lazy_store`]: the store opened at its first operation, not for every request.
//! - [`runtime`]: the wall clock and random ids the core gets.
//! - `component`: the `#[http_component]` entry point: variables, clock, ids (wasm only).
//!
//! All API logic stays in the core.

pub mod assets;
pub mod body;
pub mod convert;
pub mod kv;
pub mod lazy_store;
pub mod redis_store;
pub mod runtime;

#[cfg(target_arch = "wasm32")]
mod component;
