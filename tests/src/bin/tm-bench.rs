//! Measures the core's request handling in-process (no network): time per request for the
//! common operations, with a store holding many tasks. A measurement, not a test:
//! `cargo run --release -p tm-e2e-tests --bin tm-bench [stored tasks] [open tasks in the team]`.

use serde_json::json;
use std::time::Instant;
use tm_e2e_tests::scenarios::Tasks;
use tm_e2e_tests::{Api, ANNA, BEN, TEAM_EMEA, TEAM_SUPPORT};

fn main() {
    let stored: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let open: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let started = Instant::now();
    for i in 0..stored {
        let id = t.create(TEAM_EMEA, "ExternalTask", "Normal");
        if i % 100 != 0 {
            t.ok(&id, "terminate", None);
        }
    }
    for _ in 0..open {
        t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    }
    println!(
        "seeded {stored} tasks and {open} open in the measured team in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let rounds = 2_000;
    let measure = |name: &str, mut request: Box<dyn FnMut(usize)>| {
        let store = api.store().expect("in-process");
        let operations = store.operations();
        let started = Instant::now();
        for i in 0..rounds {
            request(i);
        }
        let per_request = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
        let ops = (store.operations() - operations) as f64 / rounds as f64;
        println!("{name:<28} {per_request:>8.1} µs/request {ops:>5.1} store ops/request");
    };
    let key = t.key.clone();
    measure(
        "GET task",
        Box::new({
            let id = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
            let (api, key) = (&api, key.clone());
            move |_| {
                assert_eq!(
                    api.call(&key, "GET", &format!("/v1.0/tasks/{id}"), None)
                        .status,
                    200
                )
            }
        }),
    );
    measure(
        "hold + resume (per action)",
        Box::new({
            let id = t.in_state("Connected", None);
            let (api, key) = (&api, key.clone());
            move |i| {
                let action = if i % 2 == 0 { "hold" } else { "resume" };
                assert_eq!(
                    api.call(&key, "POST", &format!("/v1.0/tasks/{id}/{action}"), None)
                        .status,
                    200
                );
            }
        }),
    );
    measure(
        "create task",
        Box::new({
            let (api, key) = (&api, key.clone());
            move |_| {
                let body = json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41"}});
                assert_eq!(
                    api.call(
                        &key,
                        "POST",
                        &format!("/v1.0/teams/{TEAM_EMEA}/tasks"),
                        Some(body)
                    )
                    .status,
                    201
                );
            }
        }),
    );
    measure(
        "offer + decline (per action)",
        Box::new({
            let id = t.create(TEAM_SUPPORT, "IncomingCall", "High");
            let (api, key) = (&api, key.clone());
            move |i| {
                let (action, body) = if i % 2 == 0 {
                    ("offer", Some(json!({"UserIdentifier": BEN})))
                } else {
                    ("decline", None)
                };
                assert_eq!(
                    api.call(&key, "POST", &format!("/v1.0/tasks/{id}/{action}"), body)
                        .status,
                    200
                );
            }
        }),
    );
    measure(
        "longest waiting task",
        Box::new({
            let (api, key) = (&api, key.clone());
            move |_| {
                assert_eq!(
                    api.call(
                        &key,
                        "GET",
                        &format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"),
                        None
                    )
                    .status,
                    200
                )
            }
        }),
    );
    measure(
        "user tasks",
        Box::new({
            let (api, key) = (&api, key.clone());
            move |_| {
                assert_eq!(
                    api.call(&key, "GET", &format!("/v1.0/users/{ANNA}/tasks"), None)
                        .status,
                    200
                )
            }
        }),
    );
}
