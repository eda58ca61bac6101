//! Two `spin up` instances of this repository on one real `redis-server` (through the
//! `redis_url` variable), requests spread over both: the concurrency checks, and an instance
//! killed with SIGKILL in the middle of a load and started again. And the same checks on one
//! instance on Spin's own key-value store (SQLite), whose adapter keeps read handles for swaps. Ignored unless asked for
//! (`--ignored`, as `scripts/test` does when `spin` is on PATH); asked for without `spin`,
//! they fail.

use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tm_core::Request;
use tm_e2e_tests::live::{require_spin, try_send, SpinInstance, SpinOptions, TempDir};
use tm_e2e_tests::redis_server::RedisServer;
use tm_e2e_tests::*;
use tm_host_spin::redis_store::{native::NativeRedis, RedisStore, RedisTransport};

/// Options that point an instance at the Redis on loopback `port` through `url`.
fn on_redis(state: &TempDir, url: String, port: u16) -> SpinOptions<'_> {
    let mut options = SpinOptions::new(state.path(), ADMIN_TOKEN);
    options.env = vec![
        ("SPIN_VARIABLE_REDIS_URL".into(), url),
        (
            "SPIN_VARIABLE_REDIS_HOST".into(),
            format!("127.0.0.1:{port}"),
        ),
    ];
    options
}

fn start_on_redis(state: &TempDir, redis: &RedisServer) -> SpinInstance {
    SpinInstance::start_with(&on_redis(state, redis.url(), redis.port()))
}

fn flush(redis: &RedisServer) {
    let transport = NativeRedis::open(&redis.url()).expect("a Redis client");
    transport.execute("FLUSHALL", &[]).expect("FLUSHALL");
}

#[test]
#[ignore = "live: needs spin on PATH (scripts/test runs it when spin is found)"]
fn two_instances_on_one_redis_pass_the_concurrency_checks() {
    require_spin();
    let redis = RedisServer::start();
    let (state_a, state_b) = (TempDir::new("redis-a"), TempDir::new("redis-b"));
    let a = start_on_redis(&state_a, &redis);
    let b = start_on_redis(&state_b, &redis);
    let mut failed = Vec::new();
    for (name, check) in concurrency::ALL {
        eprintln!("two instances on Redis: {name}");
        flush(&redis);
        let inspect: SharedStore = Arc::new(RedisStore::new(
            NativeRedis::open(&redis.url()).expect("a Redis client"),
        ));
        let api = Api::live_spread(&[&a.base_url, &b.base_url], Some(inspect)).with_directory();
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&api))).is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "failed on two instances: {failed:?}");
}

#[test]
#[ignore = "live: needs spin on PATH (scripts/test runs it when spin is found)"]
fn an_instance_killed_mid_load_loses_no_answered_change() {
    require_spin();
    let redis = RedisServer::start();
    let (state_a, state_b) = (TempDir::new("kill-a"), TempDir::new("kill-b"));
    let a = start_on_redis(&state_a, &redis);
    let b = start_on_redis(&state_b, &redis);
    let api = Api::live_spread(&[&a.base_url, &b.base_url], None).with_directory();
    let key = api.key(&["TasksManage"]);
    let answered = Mutex::new(Vec::<String>::new());
    let stop = AtomicBool::new(false);
    let create = |base: &str| {
        let body = json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41445550100"}});
        let request = Request::new("POST", &format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"))
            .header("api_key", &key)
            .json(&body);
        match try_send(base, &request) {
            Ok(response) if response.status == 201 => {
                let id = response.json_body()["Id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if let Ok(mut answered) = answered.lock() {
                    answered.push(id);
                }
            }
            Ok(response) => assert!(
                response.status == 503,
                "{}: {}",
                response.status,
                response.json_body()
            ),
            // The killed instance does not answer: nothing was promised.
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let b_url = b.base_url.clone();
    std::thread::scope(|scope| {
        for base in [&a.base_url, &a.base_url, &b_url, &b_url] {
            let (create, stop) = (&create, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    create(base);
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        b.kill_hard();
        std::thread::sleep(Duration::from_millis(1000));
        stop.store(true, Ordering::SeqCst);
    });
    let answered = answered.into_inner().unwrap_or_default();
    assert!(
        answered.len() > 20,
        "the load ran: {} creates",
        answered.len()
    );
    // A new instance in place of the killed one sees every answered create, listed once.
    let state_c = TempDir::new("kill-c");
    let c = start_on_redis(&state_c, &redis);
    let api = Api::live_spread(&[&a.base_url, &c.base_url], None);
    let tasks = scenarios::Tasks {
        api: &api,
        key: key.clone(),
    };
    let listed: Vec<String> = tasks
        .list(&format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"))
        .iter()
        .filter_map(|t| t["Id"].as_str().map(String::from))
        .collect();
    let mut unique = listed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), listed.len(), "no task listed twice");
    for id in &answered {
        assert!(listed.contains(id), "answered 201 but not listed: {id}");
        assert_eq!(tasks.get(id)["Status"], "Queued");
    }
    // The queue still serves: the oldest answered task comes first.
    let longest = assert_status(
        &api.call(
            &key,
            "GET",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"),
            None,
        ),
        200,
    );
    assert!(listed.iter().any(|id| longest["Id"] == id.as_str()));
}

#[test]
#[ignore = "live: needs spin on PATH (scripts/test runs it when spin is found)"]
fn one_instance_on_spins_key_value_store_passes_the_concurrency_checks() {
    require_spin();
    let mut failed = Vec::new();
    for (name, check) in concurrency::ALL {
        eprintln!("one instance on Spin KV: {name}");
        let spin = SpinInstance::start(ADMIN_TOKEN, false);
        let api = Api::live(&spin.base_url).with_directory();
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&api))).is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "failed on Spin KV: {failed:?}");
}

#[test]
#[ignore = "live: needs spin on PATH (scripts/test runs it when spin is found)"]
fn an_unreachable_redis_gives_503_json_without_echoing_its_url() {
    require_spin();
    let state = TempDir::new("redis-down");
    let port = tm_e2e_tests::live::free_port();
    let url = format!("redis://:s3cret-password@127.0.0.1:{port}/0");
    let spin = SpinInstance::start_when_listening(&on_redis(&state, url, port));
    // A key of the right shape, so that the request reaches the store (a request without one
    // is refused before any store operation).
    let made_up = format!("tm_{}_{}", "7".repeat(32), "0".repeat(64));
    for path in ["/health", "/v1.0/teams"] {
        let request = Request::new("GET", path).header("api_key", &made_up);
        let response = tm_e2e_tests::live::send(&spin.base_url, &request);
        let body = String::from_utf8_lossy(&response.body).to_string();
        assert_eq!(response.status, 503, "{path}: {body}");
        assert_eq!(response.json_body()["Error"]["Code"], "ServiceUnavailable");
        assert!(
            !body.contains("s3cret"),
            "{path} echoes the Redis URL: {body}"
        );
    }
    let output = spin.output();
    assert!(!output.contains("s3cret"), "the log shows the Redis URL");
    assert!(
        output.contains("store unavailable: ") && output.contains("Redis"),
        "the log says what failed: {output}"
    );
    let without_key = tm_e2e_tests::live::send(&spin.base_url, &Request::new("GET", "/v1.0/teams"));
    assert_eq!(without_key.status, 401, "no key: refused before the store");
}

/// Issue 20 on two `spin up` instances on one Redis, requests spread over both, real time: 50
/// agents, 500 calls created in parallel, agents that accept or let calls ring out (5 s), a
/// scheduler calling the team's run: the invariants of
/// `distribution::parallel_distribution_keeps_every_invariant`.
#[test]
#[ignore = "live: needs spin on PATH (scripts/test runs it when spin is found)"]
fn two_instances_on_one_redis_distribute_500_calls_to_50_agents() {
    require_spin();
    let redis = RedisServer::start();
    let (state_a, state_b) = (TempDir::new("dist-a"), TempDir::new("dist-b"));
    let a = start_on_redis(&state_a, &redis);
    let b = start_on_redis(&state_b, &redis);
    let api = Api::live_spread(&[&a.base_url, &b.base_url], None);
    let (directory, agents) = distribution::agents_directory(50);
    assert_status(
        &api.admin("PUT", "/admin/v1.0/directory", Some(directory)),
        200,
    );
    let report = distribution::parallel_distribution_keeps_every_invariant(&api, &agents, 500);
    eprintln!("two instances on Redis: {report:?}");
    assert!(report.ring_timeouts > 0, "some calls rang out: {report:?}");
}
