//! `<tm-agent-tasks>`: an agent's task controls for integrators' web pages.
//!
//! The widget lists the user's current tasks and offers exactly the actions that
//! `tm-core`'s state machine allows for each one; it never carries a copy of the rules.
//!
//! - [`availability`]: the agent's own state (Available, Away, WrapUp, …) shown and set.
//! - [`view`]: pure rendering of tasks to HTML (tested natively and in the browser).
//! - [`transport`]: how requests reach the API (`fetch`, or anything else in tests).
//! - [`widget`]: the live widget: state, DOM events, refresh.
//! - [`element`]: the custom element definitions and the JS-facing API.
//! - [`wallboard`]: `<tm-wallboard>`, a team's queue figures for a screen on the wall.

pub mod availability;
pub mod credential;
pub mod element;
mod feed;
mod follow;
mod patch;
pub mod transport;
pub mod view;
pub mod wallboard;
pub mod widget;

pub use transport::{FetchTransport, Transport};
pub use widget::{Options, Widget};
