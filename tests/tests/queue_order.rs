//! `longestwaitingtask` against a model of the queue written from the contract (API.md and
//! docs/api.md, "Queue order"): priority in the enum's order (StrictPriority first, NothingElse
//! last), then `QueuedAt`, then arrival; a declined task goes back to its original place; an
//! offered or ended task leaves the queue. A long pseudo-random run of creates, offers, declines
//! and ends, with the clock moving, must answer the model's task after every step.

use tm_e2e_tests::scenarios::Tasks;
use tm_e2e_tests::*;

/// The vendor's `AgentTaskPriorityType`, in serving order, written out.
const PRIORITIES: [&str; 9] = [
    "StrictPriority",
    "Highest",
    "VeryHigh",
    "High",
    "Normal",
    "Low",
    "VeryLow",
    "Lowest",
    "NothingElse",
];

/// A queued task as the model sees it: its place is (priority rank, queued at, arrival).
#[derive(Clone, Debug)]
struct Waiting {
    id: String,
    place: (usize, i64, usize),
}

/// A small deterministic generator (no randomness in tests: the run is the same every time).
struct Steps(u64);

impl Steps {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn longest_waiting(t: &Tasks) -> Option<String> {
    let response = t.api.call(
        &t.key,
        "GET",
        &format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"),
        None,
    );
    match response.status {
        204 => None,
        200 => response.json_body()["Id"].as_str().map(String::from),
        other => panic!(
            "longestwaitingtask answered {other}: {}",
            response.json_body()
        ),
    }
}

#[test]
fn longest_waiting_task_follows_the_queue_order_of_the_contract() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let mut steps = Steps(7);
    let mut now = 0_i64;
    let mut arrivals = 0;
    let mut queue: Vec<Waiting> = Vec::new();
    let mut ringing: Vec<Waiting> = Vec::new();
    for step in 0..600 {
        // Time moves by 0 to 2 s: many tasks share a `QueuedAt`, so arrival decides.
        let moved = (steps.below(3) * 1000) as i64;
        api.advance(moved);
        now += moved;
        match steps.below(10) {
            0..=4 => {
                let rank = steps.below(PRIORITIES.len());
                let id = t.create(TEAM_SUPPORT, "IncomingCall", PRIORITIES[rank]);
                arrivals += 1;
                queue.push(Waiting {
                    id,
                    place: (rank, now, arrivals),
                });
            }
            5 | 6 if !queue.is_empty() => {
                // Offer a queued task (any, not only the first) to Ben.
                let taken = queue.remove(steps.below(queue.len()));
                t.ok(
                    &taken.id,
                    "offer",
                    Some(serde_json::json!({"UserIdentifier": BEN})),
                );
                ringing.push(taken);
            }
            7 | 8 if !ringing.is_empty() => {
                let back = ringing.remove(steps.below(ringing.len()));
                t.ok(&back.id, "decline", None);
                queue.push(back);
            }
            9 if !queue.is_empty() => {
                let ended = queue.remove(steps.below(queue.len()));
                t.ok(&ended.id, "terminate", None);
            }
            _ => {}
        }
        let expected = queue.iter().min_by_key(|w| w.place).map(|w| w.id.clone());
        assert_eq!(
            longest_waiting(&t),
            expected,
            "step {step}: {} queued",
            queue.len()
        );
    }
    assert!(
        queue.len() > 20,
        "the run should build a queue: {}",
        queue.len()
    );
}
