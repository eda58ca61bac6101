//! Agent sessions (issue 21) on a real redis-server (in process they run with the shared
//! scenarios, live with `scenarios_live_spin`).

use tm_e2e_tests::redis_server::api_on_redis;
use tm_e2e_tests::*;

fn on_redis(scenario: fn(&Api)) {
    if let Some((api, _server)) = api_on_redis("agent sessions on redis") {
        scenario(&api);
    }
}

#[test]
fn route_by_caller_on_redis() {
    on_redis(sessions::route_by_caller_table);
}

#[test]
fn sessions_end_when_asked_and_with_their_agent_on_redis() {
    on_redis(sessions::sessions_end_when_asked_and_with_their_agent);
}

#[test]
fn parallel_sessions_lose_nothing_in_memory() {
    let api = Api::in_process().with_directory();
    api.interleave_store_operations();
    sessions::parallel_sessions_lose_nothing(&api);
}

#[test]
fn parallel_sessions_lose_nothing_on_redis() {
    on_redis(sessions::parallel_sessions_lose_nothing);
}

#[test]
fn a_session_request_dying_at_any_step_leaves_nothing_stuck() {
    sessions::a_session_request_dying_at_any_step_leaves_nothing_stuck();
}
