//! Measures automatic distribution on a running API for `scripts/bench` (a measurement, not a
//! test): an Automatic team with 100 Available agents, then `threads` clients that each create a
//! call (the service offers it to an idle agent within the create request), read it back
//! (Ringing at an agent), and terminate it (the agent is free again). Prints the create →
//! ringing latency (p50, p99: the create request, which ends after the offer is written) and the
//! throughput of create + automatic offer, as shell assignments:
//! `tm-bench-distribution <base-url> <admin-token> <seconds> <threads>`.

use serde_json::json;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tm_e2e_tests::distribution::agents_directory;
use tm_e2e_tests::live::blocking_call as call;
use tm_e2e_tests::TEAM_EMEA;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, token, seconds, threads] = args.as_slice() else {
        eprintln!("usage: tm-bench-distribution <base-url> <admin-token> <seconds> <threads>");
        std::process::exit(2);
    };
    let seconds: u64 = seconds.parse().unwrap_or(10);
    let threads: usize = threads.parse().unwrap_or(8);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let bearer = format!("Bearer {token}");
    let admin = [("Authorization", bearer.as_str())];
    let (directory, agents) = agents_directory(100);
    call(
        &agent,
        "PUT",
        &format!("{base}/admin/v1.0/directory"),
        &admin,
        Some(&directory),
    );
    let created = call(
        &agent,
        "POST",
        &format!("{base}/admin/v1.0/apikeys"),
        &admin,
        Some(
            &json!({"Name": "bench-distribution", "Roles": ["TasksReadonly", "TasksManage", "UsersReadonly", "UsersControl"]}),
        ),
    );
    let key = created["Secret"].as_str().unwrap_or_default().to_string();
    let headers = [("api_key", key.as_str())];
    for user in &agents {
        call(
            &agent,
            "PUT",
            &format!("{base}/v1.0/users/{user}/availability"),
            &headers,
            Some(&json!({"State": "Available"})),
        );
    }
    let latencies = Mutex::new(Vec::<Duration>::new());
    let not_ringing = Mutex::new(0usize);
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
                while Instant::now() < until {
                    let began = Instant::now();
                    let task = call(&agent, "POST", &format!("{base}/v1.0/teams/{TEAM_EMEA}/tasks"), &headers,
                        Some(&json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41445550100"}})));
                    let took = began.elapsed();
                    let id = task["Id"].as_str().unwrap_or_default().to_string();
                    let read = call(&agent, "GET", &format!("{base}/v1.0/tasks/{id}"), &headers, None);
                    if read["Status"] != "Ringing" {
                        if let Ok(mut n) = not_ringing.lock() {
                            *n += 1;
                        }
                    }
                    if let Ok(mut list) = latencies.lock() {
                        list.push(took);
                    }
                    call(&agent, "POST", &format!("{base}/v1.0/tasks/{id}/terminate"), &headers, None);
                }
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut latencies = latencies.into_inner().unwrap_or_default();
    latencies.sort();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies
            .get(index)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    println!("DIST_CREATES={}", latencies.len());
    println!("DIST_RATE={:.1}", latencies.len() as f64 / elapsed);
    println!("DIST_P50={:.2}ms", at(0.5));
    println!("DIST_P99={:.2}ms", at(0.99));
    println!("DIST_NOT_RINGING={}", not_ringing.into_inner().unwrap_or(0));
}
