//! Automatic distribution (issue 20), in process on the virtual clock and on a real
//! redis-server: the scenarios of `tm_e2e_tests::distribution`, the parallel invariant check,
//! and a request that dies at every one of its store steps.

use tm_e2e_tests::distribution::*;
use tm_e2e_tests::redis_server::redis_or_skip;
use tm_e2e_tests::*;

#[test]
fn longest_idle_first_ring_timeout_not_responding_and_wrap_up() {
    longest_idle_ring_timeout_and_wrap_up(&Api::in_process().with_directory());
}

#[test]
fn blocked_away_and_manual_members_get_nothing() {
    blocked_away_and_manual(&Api::in_process().with_directory());
}

#[test]
fn a_waiting_feed_read_applies_a_ring_timeout_within_two_seconds() {
    a_waiting_reader_applies_the_ring_timeout_in_time(&Api::in_process().with_directory());
}

fn with_agents(api: Api, agents: usize) -> (Api, Vec<String>) {
    let (directory, ids) = agents_directory(agents);
    assert_status(
        &api.admin("PUT", "/admin/v1.0/directory", Some(directory)),
        200,
    );
    (api, ids)
}

#[test]
fn fifty_agents_and_five_hundred_parallel_calls_keep_every_invariant_in_memory() {
    let (api, agents) = with_agents(Api::in_process(), 50);
    api.interleave_store_operations();
    let report = parallel_distribution_keeps_every_invariant(&api, &agents, 500);
    eprintln!("in memory: {report:?}");
    assert!(report.ring_timeouts > 0, "some calls rang out: {report:?}");
}

#[test]
fn fifty_agents_and_five_hundred_parallel_calls_keep_every_invariant_on_redis() {
    let Some(server) = redis_or_skip("distribution on redis") else {
        return;
    };
    let transport = tm_host_spin::redis_store::native::NativeRedis::open(&server.url())
        .expect("a Redis client");
    let store = std::sync::Arc::new(tm_host_spin::redis_store::RedisStore::new(transport));
    let (api, agents) = with_agents(Api::in_process_on(store), 50);
    let report = parallel_distribution_keeps_every_invariant(&api, &agents, 500);
    eprintln!("on redis: {report:?}");
    assert!(report.ring_timeouts > 0, "some calls rang out: {report:?}");
}

#[test]
fn a_request_dying_between_any_two_writes_leaves_no_agent_or_task_stuck() {
    let store = std::sync::Arc::new(tm_e2e_tests::failing_store::FailingStore::new());
    let api = Api::in_process_on(store.clone()).with_directory();
    a_request_dying_at_any_step_leaves_nobody_stuck(&api, &store);
}

#[test]
fn a_member_added_by_the_admin_who_is_available_gets_the_waiting_task() {
    a_member_added_by_the_admin_gets_the_waiting_task(&Api::in_process().with_directory());
}

#[test]
fn availability_changes_are_in_the_users_feed_in_order_with_their_causes() {
    availability_changes_are_in_the_users_feed(&Api::in_process().with_directory());
}
