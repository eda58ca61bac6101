//! Feeds arbitrary requests to the core's entry point over a store that holds a directory,
//! a task and a key, so that parsing, routing, auth and handlers all get exercised.
//! Any panic is a finding; so is a 500 or a non-JSON error body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tm_core::{Config, Env, MemoryStore, Request, SequentialIds, Timestamp};

struct Fixture {
    store: MemoryStore,
    secret: String,
    config: Config,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let store = MemoryStore::new();
        let config = Config {
            admin_token: Some("fuzz-admin-token-0123456789abcdef".into()),
            cors_allowed_origins: vec!["*".into()],
            ..Default::default()
        };
        let mut ids = SequentialIds::new(1);
        let mut env = Env {
            store: &store,
            now: Timestamp::from_unix_millis(1_767_600_000_000),
            ids: &mut ids,
            config: &config,
        };
        let secret = tm_core::demo::load_if_empty(&mut env)
            .ok()
            .flatten()
            .unwrap_or_default();
        Fixture {
            store,
            secret,
            config,
        }
    })
}

const PATHS: &[&str] = &[
    "/v1.0/teams/",
    "/v1.0/tasks/",
    "/v1.0/users/",
    "/v1.0/organizationunits/",
    "/admin/v1.0/apikeys/",
    "/admin/v1.0/directory",
    "/v1.0/tasks/outboundCall/start",
    "/health",
    "/v1.0/openapi.json",
];

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let (head, body) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("");
    let selector = first.bytes().next().unwrap_or(0) as usize;
    let method = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "BREW"][selector % 7];
    let path = format!(
        "{}{}",
        PATHS[(selector / 7) % PATHS.len()],
        first.get(1..).unwrap_or("")
    );
    let mut request = Request::new(method, &path).raw_body(body);
    request = request
        .header("api_key", &fixture.secret)
        .header("Authorization", "Bearer fuzz-admin-token-0123456789abcdef");
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            request = request.header(name, value);
        }
    }
    if selector % 2 == 0 {
        request = request.header("Content-Type", "application/json");
    }
    let mut ids = SequentialIds::new(u64::from(data.len() as u32));
    let mut env = Env {
        store: &fixture.store,
        now: Timestamp::from_unix_millis(1_767_600_000_000),
        ids: &mut ids,
        config: &fixture.config,
    };
    let response = tm_core::handle(&request, &mut env);
    assert_ne!(response.status, 500, "500 for {method} {path}");
    if response.status >= 400 {
        let body: serde_json::Value =
            serde_json::from_slice(&response.body).expect("error body is JSON");
        assert!(body["Error"]["Code"].is_string());
    }
});
