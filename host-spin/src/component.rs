//! The Spin entry point: reads variables, opens the store, supplies clock and ids, and
//! hands the request to the core (or serves a mounted file for `/docs` and `/widget`).

use crate::redis_store::{spin::SpinRedis, RedisStore};
use crate::runtime::{wall_clock_now, RandomIds};
use crate::{assets, convert, kv::SpinStore};
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;
use spin_sdk::variables;
use std::time::{Duration, Instant};
use tm_core::api::feeds;
use tm_core::setup::Prepared;
use tm_core::{ApiError, Env, Store, StoreError};

fn into_spin(response: tm_core::Response) -> Response {
    let mut builder = Response::builder();
    builder.status(response.status);
    for (name, value) in &response.headers {
        builder.header(name.as_str(), value.as_str());
    }
    builder.body(response.body).build()
}

fn serve_file(file: &str) -> Option<Response> {
    let body = std::fs::read(file).ok()?;
    Some(
        Response::builder()
            .status(200)
            .header("Content-Type", assets::content_type(file))
            .header("Cache-Control", "no-cache")
            .body(body)
            .build(),
    )
}

/// Redis through the outbound Redis API when `redis_url` is set (several instances on one
/// store), otherwise Spin's `default` key-value store (one instance, SQLite by default).
fn open_store(redis_url: Option<String>) -> Result<Box<dyn Store>, StoreError> {
    match redis_url.filter(|url| !url.trim().is_empty()) {
        Some(url) => Ok(Box::new(RedisStore::new(SpinRedis::open(url.trim())?))),
        None => Ok(Box::new(SpinStore::open("default")?)),
    }
}

#[http_component]
fn handle(request: Request) -> Response {
    let core_request = convert::to_core_request(
        &request.method().to_string(),
        request.uri(),
        request
            .headers()
            .map(|(name, value)| (name, value.as_bytes())),
        request.body().to_vec(),
    );
    match assets::served_by(&core_request.method, core_request.path()) {
        assets::Served::Redirect(location) => {
            return Response::builder()
                .status(302)
                .header("Location", location)
                .body(Vec::new())
                .build();
        }
        assets::Served::File(file) => {
            if let Some(response) = serve_file(&file) {
                return response;
            }
        }
        assets::Served::Api => {}
    }
    let store = match open_store(variables::get("redis_url").ok()) {
        Ok(store) => store,
        Err(error) => return into_spin(ApiError::from(error).into_response()),
    };
    // Variables are read only when the request needs them: each read costs a host call.
    let needs = convert::Needs::of(&core_request);
    let config = convert::config(
        needs
            .admin_token
            .then(|| variables::get("admin_token").ok())
            .flatten(),
        needs
            .cors
            .then(|| variables::get("cors_allowed_origins").ok())
            .flatten(),
    );
    let mut ids = RandomIds;
    // A feed read with `wait` that finds nothing new is answered again after a pause, until
    // something is new or the wait is over (this instance stays busy meanwhile).
    let wait = Duration::from_secs(feeds::wait_seconds(&core_request).unwrap_or(0));
    let started = Instant::now();
    loop {
        let mut env = Env {
            store: store.as_ref(),
            now: wall_clock_now(),
            ids: &mut ids,
            config: &config,
        };
        let demo_data = || convert::is_enabled(variables::get("demo_data").ok().as_deref());
        let response =
            tm_core::setup::handle_preparing(&core_request, &mut env, demo_data, |done| {
                match done {
                    // The one time the demo key exists in clear: the operator needs it to try
                    // the API.
                    Ok(Prepared::DemoLoaded(secret)) => {
                        eprintln!(
                            "Demo data loaded. Demo API key (all roles, shown once): {secret}"
                        )
                    }
                    Ok(Prepared::Migrated) => eprintln!("Directory moved to per-entity records."),
                    Ok(_) => {}
                    Err(error) => eprintln!("The store could not be prepared: {error}"),
                }
            });
        let pause = Duration::from_millis(feeds::POLL_INTERVAL_MILLIS);
        if !feeds::poll_again(&core_request, &response) || started.elapsed() + pause > wait {
            return into_spin(response);
        }
        std::thread::sleep(pause);
    }
}
