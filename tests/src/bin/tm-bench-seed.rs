//! Seeds a running API for `scripts/bench` through its own HTTP API (admin and /v1.0), and
//! prints what the load needs as shell assignments:
//! `tm-bench-seed <base-url> <admin-token> <users> <stored-tasks> <open-tasks-in-team>`.
//! The directory is `large_directory(users)`; stored tasks are mostly terminated, spread over
//! other teams; the measured team (Support) holds the given number of queued tasks, 64 more
//! for offer / decline, and 64 connected calls for hold / resume.

use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tm_e2e_tests::live::blocking_call as call;
use tm_e2e_tests::{large_directory, ANNA, BEN, TEAM_EMEA, TEAM_SUPPORT};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, token, users, stored, open] = args.as_slice() else {
        eprintln!(
            "usage: tm-bench-seed <base-url> <admin-token> <users> <stored-tasks> <open-tasks>"
        );
        std::process::exit(2);
    };
    let number = |text: &str| {
        text.parse::<usize>()
            .unwrap_or_else(|_| panic!("not a number: {text}"))
    };
    let (users, stored, open) = (number(users), number(stored), number(open));
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(600))
        .build();
    let bearer = format!("Bearer {token}");
    let admin = [("Authorization", bearer.as_str())];
    call(
        &agent,
        "PUT",
        &format!("{base}/admin/v1.0/directory"),
        &admin,
        Some(&large_directory(users.saturating_sub(4))),
    );
    let created = call(
        &agent,
        "POST",
        &format!("{base}/admin/v1.0/apikeys"),
        &admin,
        Some(
            &json!({"Name": "bench", "Roles": ["TasksReadonly", "TasksManage", "TeamsReadonly", "UsersReadonly", "UsersControl"]}),
        ),
    );
    let key = created["Secret"].as_str().unwrap_or_default().to_string();
    let headers = [("api_key", key.as_str())];
    let create = |team: &str, kind: &str| -> String {
        let body =
            json!({"Type": kind, "Customer": {"Uri": "tel:+41445550100", "DisplayName": "Bench"}});
        call(
            &agent,
            "POST",
            &format!("{base}/v1.0/teams/{team}/tasks"),
            &headers,
            Some(&body),
        )["Id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // Stored history: mostly terminated tasks in EMEA, in parallel.
    let done = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| loop {
                let n = done.fetch_add(1, Ordering::SeqCst);
                if n >= stored {
                    break;
                }
                let id = create(TEAM_EMEA, "ExternalTask");
                if !n.is_multiple_of(100) {
                    call(
                        &agent,
                        "POST",
                        &format!("{base}/v1.0/tasks/{id}/terminate"),
                        &headers,
                        None,
                    );
                }
            });
        }
    });
    // The measured team: `open` queued tasks, plus connected calls for hold/resume.
    let queued = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                while queued.fetch_add(1, Ordering::SeqCst) < open {
                    create(TEAM_SUPPORT, "IncomingCall");
                }
            });
        }
    });
    // Queued tasks for offer / decline (each wrk thread alternates on its own share).
    let queued_ids: Vec<String> = (0..64)
        .map(|_| create(TEAM_SUPPORT, "IncomingCall"))
        .collect();
    let mut connected = Vec::new();
    for _ in 0..64 {
        let id = create(TEAM_SUPPORT, "IncomingCall");
        call(
            &agent,
            "POST",
            &format!("{base}/v1.0/tasks/{id}/offer"),
            &headers,
            Some(&json!({"UserIdentifier": ANNA})),
        );
        call(
            &agent,
            "POST",
            &format!("{base}/v1.0/tasks/{id}/accept"),
            &headers,
            None,
        );
        connected.push(id);
    }
    println!("KEY={key}");
    println!("TEAM_ID={TEAM_SUPPORT}");
    println!("USER_ID={ANNA}");
    println!("ANNA={ANNA}");
    println!("BEN={BEN}");
    println!("TASK_ID={}", connected[0]);
    println!("CONNECTED=\"{}\"", connected.join(" "));
    println!("QUEUED=\"{}\"", queued_ids.join(" "));
}
