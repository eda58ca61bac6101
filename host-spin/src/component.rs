//! The Spin entry point: reads variables, opens the store (at its first use), reads the body up
//! to its limit, supplies clock and ids, and hands the request to the core (or serves a mounted
//! file for `/docs` and `/widget`).

use crate::body::{self, LimitedBody};
use crate::lazy_store::LazyStore;
use crate::redis_store::{spin::SpinRedis, RedisStore};
use crate::runtime::{wall_clock_now, RandomIds};
use crate::{assets, convert, kv::SpinStore};
use futures::StreamExt;
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use spin_sdk::variables;
use std::time::{Duration, Instant};
use tm_core::api::feeds;
use tm_core::setup::Prepared;
use tm_core::{ApiError, Env, Store, StoreError};

fn into_spin(response: tm_core::Response) -> Response {
    if let Some(line) = &response.log {
        eprintln!("{line}");
    }
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

/// The `demo_data` variable (`true`, `full` or off).
fn demo_data_setting() -> tm_core::demo::DemoData {
    tm_core::demo::DemoData::parse(variables::get("demo_data").ok().as_deref())
}

fn too_large(limit: usize) -> Response {
    into_spin(tm_core::api::finish(
        ApiError::PayloadTooLarge { limit }.into_response(),
    ))
}

#[http_component]
async fn handle(request: IncomingRequest) -> Response {
    let headers = request.headers().entries();
    let mut core_request = convert::to_core_request(
        &request.method().to_string(),
        &request.uri(),
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_slice())),
        Vec::new(),
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
    // Variables are read only when the request needs them: each read costs a host call.
    let needs = convert::Needs::of(&core_request);
    let mut config = convert::config(
        needs
            .admin_token
            .then(|| variables::get("admin_token").ok())
            .flatten(),
        needs
            .cors
            .then(|| variables::get("cors_allowed_origins").ok())
            .flatten(),
        variables::get("max_waiting_reads_per_key").ok(),
        variables::get("max_waiting_reads").ok(),
        variables::get("retention_days").ok(),
        variables::get("audit_retention_days").ok(),
    );
    // The demo page's backend answers only while the demo data is on.
    config.demo = needs.demo && demo_data_setting().is_on();
    // The body, up to the limit the head allows (the admin limit only with a valid admin token).
    let limit = tm_core::api::body_limit(&core_request, &config);
    let declared = body::declared_length(
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_slice())),
    );
    if body::start(declared, limit) == body::Start::RefuseNow {
        return too_large(limit);
    }
    let mut stream = request.into_body_stream();
    let mut body = LimitedBody::new(limit);
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                if body.push(&chunk) == body::Next::Stop {
                    break;
                }
            }
            Err(_) => {
                let error = ApiError::BadRequest("The request body could not be read.".into());
                return into_spin(tm_core::api::finish(error.into_response()));
            }
        }
    }
    drop(stream);
    let Ok(body) = body.finish() else {
        return too_large(limit);
    };
    core_request.body = body;
    let store = LazyStore::new(|| open_store(variables::get("redis_url").ok()));
    let mut ids = RandomIds;
    let started = Instant::now();
    let mut answer = |request: &tm_core::Request| {
        let mut env = Env {
            store: &store,
            now: wall_clock_now(),
            ids: &mut ids,
            config: &config,
        };
        tm_core::setup::handle_preparing(request, &mut env, demo_data_setting, |done| match done {
            // The one time the demo key exists in clear: the operator needs it to try the API.
            Ok(Prepared::DemoLoaded(secret)) => {
                eprintln!("Demo data loaded. Demo API key (shown once; read-only unless demo_data is \"full\"; expires in 7 days): {secret}")
            }
            Ok(Prepared::Migrated) => eprintln!("Directory moved to per-entity records."),
            Ok(_) => {}
            Err(error) => eprintln!("The store could not be prepared: {error}"),
        })
    };
    let mut response = answer(&core_request);
    // A feed read that found nothing new and may wait: asked again after a pause until
    // something is new or the wait is over (this instance stays busy meanwhile).
    let Some(wait) = response.wait.take() else {
        return into_spin(response);
    };
    let until = Duration::from_secs(wait.seconds);
    let pause = Duration::from_millis(feeds::POLL_INTERVAL_MILLIS);
    core_request.repeat = true;
    while started.elapsed() + pause <= until {
        std::thread::sleep(pause);
        let again = answer(&core_request);
        let nothing_new = again.wait.is_some();
        response = again;
        if !nothing_new {
            break;
        }
    }
    feeds::end_wait(&store, &wait);
    into_spin(response)
}
