//! The Redis store (host-spin's `RedisStore`: its commands and compare-and-swap script) through
//! the same store port the core uses, against a real `redis-server` on a free loopback port:
//! the port's semantics, every concurrency check the in-memory store passes, and a crash of
//! Redis (SIGKILL) after which every change answered 2xx is still there.
//!
//! The transport here is the `redis` crate; in the component it is Spin's outbound Redis
//! `Connection::execute`, a few lines in `host-spin/src/redis_store.rs` that only a real Spin
//! runs (the live tests do, with `spin` on PATH).

use serde_json::json;
use std::sync::Arc;
use tm_core::Store;
use tm_e2e_tests::redis_server::{redis_or_skip, RedisServer};
use tm_e2e_tests::scenarios::Tasks;
use tm_e2e_tests::*;
use tm_host_spin::redis_store::{native::NativeRedis, RedisStore};

fn store_on(server: &RedisServer) -> Arc<RedisStore<NativeRedis>> {
    let transport = NativeRedis::open(&server.url()).expect("a Redis client");
    Arc::new(RedisStore::new(transport))
}

#[test]
fn the_port_semantics_hold_on_redis() {
    let Some(server) = redis_or_skip("the_port_semantics_hold_on_redis") else {
        return;
    };
    let store = store_on(&server);
    assert_eq!(store.get("task/1").unwrap(), None);
    assert!(
        !store.compare_and_swap("task/1", b"", b"x").unwrap(),
        "no swap on an absent key"
    );
    assert_eq!(store.get("task/1").unwrap(), None, "and nothing written");
    store.set("task/1", b"a").unwrap();
    assert!(!store.compare_and_swap("task/1", b"b", b"c").unwrap());
    assert_eq!(store.get("task/1").unwrap(), Some(b"a".to_vec()));
    assert!(store.compare_and_swap("task/1", b"a", b"c").unwrap());
    assert_eq!(store.get("task/1").unwrap(), Some(b"c".to_vec()));
    // Binary values survive byte for byte (the script compares bytes, not text).
    let binary: Vec<u8> = (0..=255).collect();
    store.set("task/2", &binary).unwrap();
    assert!(store
        .compare_and_swap("task/2", &binary, b"\0\xff")
        .unwrap());
    assert_eq!(store.get("task/2").unwrap(), Some(b"\0\xff".to_vec()));
    // A batch read answers in the order asked, absent keys as None (one MGET).
    assert_eq!(
        store.get_many(&["task/2", "task/none", "task/1"]).unwrap(),
        vec![Some(b"\0\xff".to_vec()), None, Some(b"c".to_vec())]
    );
    assert_eq!(store.get_many(&[]).unwrap(), Vec::<Option<Vec<u8>>>::new());
    // A key named twice gets its value twice (a feed reader may ask for one task twice).
    assert_eq!(
        store.get_many(&["task/1", "task/none", "task/1"]).unwrap(),
        vec![Some(b"c".to_vec()), None, Some(b"c".to_vec())]
    );
    // A batch write (one MSET) is read back as written.
    store
        .set_many(&[("dir/team/a", b"1"), ("dir/team/b", b"\0\x01")])
        .unwrap();
    assert_eq!(
        store.get_many(&["dir/team/a", "dir/team/b"]).unwrap(),
        vec![Some(b"1".to_vec()), Some(b"\0\x01".to_vec())]
    );
    store.set_many(&[]).unwrap();
    assert_eq!(store.increment("counter/n", 1).unwrap(), 1);
    assert_eq!(store.increment("counter/n", 5).unwrap(), 6);
    store.delete("task/1").unwrap();
    assert_eq!(store.get("task/1").unwrap(), None);
    store.delete("task/1").unwrap();
}

#[test]
fn parallel_swaps_on_one_key_never_lose_an_increment() {
    let Some(server) = redis_or_skip("parallel_swaps_on_one_key_never_lose_an_increment") else {
        return;
    };
    let store = store_on(&server);
    store.set("n", b"0").unwrap();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let store = &store;
            scope.spawn(move || {
                for _ in 0..50 {
                    loop {
                        let current = store.get("n").unwrap().unwrap_or_default();
                        let n: u64 = String::from_utf8_lossy(&current).parse().unwrap_or(0);
                        let next = (n + 1).to_string();
                        if store
                            .compare_and_swap("n", &current, next.as_bytes())
                            .unwrap()
                        {
                            break;
                        }
                    }
                }
            });
        }
    });
    assert_eq!(store.get("n").unwrap(), Some(b"400".to_vec()));
}

/// One concurrency check from `tm_e2e_tests::concurrency` on a fresh Redis.
fn on_redis(test: &str, check: fn(&Api)) {
    let Some(server) = redis_or_skip(test) else {
        return;
    };
    check(&Api::in_process_on(store_on(&server)).with_directory());
}

#[test]
fn actions_on_one_task_lose_no_update() {
    on_redis(
        "actions_on_one_task_lose_no_update",
        concurrency::actions_on_one_task_lose_no_update,
    );
}

#[test]
fn parallel_creates_are_all_listed() {
    on_redis(
        "parallel_creates_are_all_listed",
        concurrency::parallel_creates_are_all_listed,
    );
}

#[test]
fn simultaneous_offers_have_exactly_one_winner() {
    on_redis(
        "simultaneous_offers_have_exactly_one_winner",
        concurrency::simultaneous_offers_have_exactly_one_winner,
    );
}

#[test]
fn parallel_blocks_are_all_kept() {
    on_redis(
        "parallel_blocks_are_all_kept",
        concurrency::parallel_blocks_are_all_kept,
    );
}

#[test]
fn parallel_key_edits_lose_nothing_and_duplicate_nothing() {
    on_redis(
        "parallel_key_edits_lose_nothing_and_duplicate_nothing",
        concurrency::parallel_key_edits_lose_nothing_and_duplicate_nothing,
    );
}

#[test]
fn indexes_converge_under_concurrent_changes_and_reads() {
    on_redis(
        "indexes_converge_under_concurrent_changes_and_reads",
        concurrency::indexes_converge_under_concurrent_changes_and_reads,
    );
}

#[test]
fn the_feed_has_every_committed_change_once_in_one_order() {
    on_redis(
        "the_feed_has_every_committed_change_once_in_one_order",
        concurrency::the_feed_has_every_committed_change_once_in_one_order,
    );
}

#[test]
fn the_queue_is_served_in_order_after_parallel_changes() {
    on_redis(
        "the_queue_is_served_in_order_after_parallel_changes",
        concurrency::the_queue_is_served_in_order_after_parallel_changes,
    );
}

#[test]
fn every_change_answered_2xx_survives_a_redis_crash() {
    let Some(mut server) = redis_or_skip("every_change_answered_2xx_survives_a_redis_crash") else {
        return;
    };
    let api = Api::in_process_on(store_on(&server)).with_directory();
    let t = Tasks::new(&api);
    let key = api.key(&["TasksReadonly"]);
    let blocker = api.key(&["UsersControl"]);
    let path = format!("/v1.0/teams/{TEAM_EMEA}/users/{CARLA}/active");
    assert_status(
        &api.call(&blocker, "POST", &path, Some(json!({"Active": false}))),
        200,
    );
    let queued = t.create(TEAM_SUPPORT, "IncomingCall", "High");
    let held = t.in_state("OnHold", None);
    let consulting = t.in_state("Consulting", None);
    let ended = t.in_state("Connected", None);
    assert_status(&t.act(&ended, "terminate", None), 200);
    let tasks_before: Vec<_> = [&queued, &held, &consulting, &ended]
        .iter()
        .map(|id| t.get(id))
        .collect();
    let team_before = t.list(&format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"));
    let directory_before = assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200);
    let keys_before = assert_status(&api.admin("GET", "/admin/v1.0/apikeys", None), 200);

    server.crash_and_restart();
    // Read back as new requests would: over new connections (the old ones died with the server).
    let api = Api::in_process_on(store_on(&server));
    let t = Tasks {
        api: &api,
        key: t.key.clone(),
    };

    let tasks_after: Vec<_> = [&queued, &held, &consulting, &ended]
        .iter()
        .map(|id| t.get(id))
        .collect();
    assert_eq!(tasks_after, tasks_before);
    assert_eq!(
        t.list(&format!("/v1.0/teams/{TEAM_SUPPORT}/tasks")),
        team_before
    );
    let directory_after = assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200);
    assert_eq!(directory_after, directory_before);
    let keys_after = assert_status(&api.admin("GET", "/admin/v1.0/apikeys", None), 200);
    assert_eq!(keys_after, keys_before);
    assert_eq!(
        api.call(&key, "GET", &format!("/v1.0/tasks/{held}"), None)
            .status,
        200
    );
    // The queue and its order go on after the crash.
    let longest = assert_status(
        &api.call(
            &key,
            "GET",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"),
            None,
        ),
        200,
    );
    assert_eq!(longest["Id"], queued.as_str());
}
