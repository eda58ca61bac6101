//! Getting a store ready: moving a directory stored by an earlier version (one document) to
//! the per-entity records, and loading the demo data into an empty store. Ordinary requests
//! pay nothing for it: [`handle_preparing`] prepares first only for `/health` and the admin
//! API, and otherwise only when an authenticated request to a known endpoint answers 404 (what
//! a directory not moved yet gives), then answers the request again. A 401 never prepares: an
//! unauthenticated request costs the key lookup and nothing more, and no key can exist before
//! the store is prepared (the demo key is made by preparing).

use crate::api::{handle, Env};
use crate::demo::{self, DemoData};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::repo::Repo;

/// What [`prepare_store`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Prepared {
    /// A directory was there already.
    Ready,
    /// A single-document directory was moved to per-entity records.
    Migrated,
    /// The demo data was loaded; its key (shown once).
    DemoLoaded(String),
    /// Empty store, demo data off: nothing to do.
    Empty,
}

pub fn prepare_store(env: &mut Env, demo_data: DemoData) -> Result<Prepared, ApiError> {
    let repo = Repo::new(env.store);
    if repo.directory_meta()?.is_some() {
        return Ok(Prepared::Ready);
    }
    let holder = env.ids.next_id();
    if repo.migrate_single_document_directory(env.now, holder)? {
        return Ok(Prepared::Migrated);
    }
    if !demo_data.is_on() {
        return Ok(Prepared::Empty);
    }
    Ok(match demo::load_with(env, demo_data)? {
        Some(secret) => Prepared::DemoLoaded(secret),
        None => Prepared::Ready,
    })
}

/// Handles `request`, preparing the store when it may need it. `demo_data` is asked only then
/// (hosts read it from their configuration); `on_prepared` hears what was done (the host prints
/// the demo key once).
pub fn handle_preparing(
    request: &Request,
    env: &mut Env,
    demo_data: impl FnOnce() -> DemoData,
    on_prepared: impl FnOnce(Result<Prepared, ApiError>),
) -> Response {
    let first = request.path() == "/health" || request.is_admin();
    if first {
        on_prepared(prepare_store(env, demo_data()));
        return handle(request, env);
    }
    let response = handle(request, env);
    let routed = matches!(
        crate::routes::route(&request.method, request.path()),
        crate::routes::RouteMatch::Found { .. }
    );
    if response.status != 404 || !routed {
        return response;
    }
    let prepared = prepare_store(env, demo_data());
    let changed = matches!(prepared, Ok(Prepared::Migrated | Prepared::DemoLoaded(_)));
    on_prepared(prepared);
    if changed {
        handle(request, env)
    } else {
        response
    }
}
