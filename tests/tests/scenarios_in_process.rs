//! Every shared scenario through the core's handler with the in-memory store, one test each
//! (so that one failure does not hide the others). A test below checks that none is missed.

use tm_e2e_tests::{scenarios, Api};

fn run(scenario: fn(&Api)) {
    scenario(&Api::in_process().with_directory());
}

const TESTED: &[&str] = &[
    "task_lifecycle_with_consultation_merge_and_leave",
    "consultation_transfer_and_terminate_flows",
    "terminate_customer_call_keeps_consultation_until_terminated",
    "every_state_times_every_action",
    "outbound_call_flow",
    "user_identifiers_resolve_by_id_sip_upn_any_case",
    "teams_and_organization_units",
    "blocking_a_user_in_a_team",
    "role_matrix",
    "api_key_lifecycle",
    "if_match_and_etag",
    "bad_inputs_give_documented_json_errors",
    "admin_directory_validation",
    "admin_directory_one_entity_at_a_time",
    "idempotent_retries",
    "openapi_and_health_are_public",
    "agent_sessions_route_by_caller",
    "agent_sessions_end_when_asked_and_with_their_agent",
];

#[test]
fn every_shared_scenario_has_its_own_test() {
    let shared: Vec<&str> = scenarios::ALL.iter().map(|(name, _)| *name).collect();
    assert_eq!(shared, TESTED);
}

#[test]
fn task_lifecycle_with_consultation_merge_and_leave() {
    run(scenarios::task_lifecycle_with_consultation_merge_and_leave);
}

#[test]
fn consultation_transfer_and_terminate_flows() {
    run(scenarios::consultation_transfer_and_terminate_flows);
}

#[test]
fn terminate_customer_call_keeps_consultation_until_terminated() {
    run(scenarios::terminate_customer_call_keeps_consultation_until_terminated);
}

#[test]
fn every_state_times_every_action() {
    run(scenarios::every_state_times_every_action);
}

#[test]
fn outbound_call_flow() {
    run(scenarios::outbound_call_flow);
}

#[test]
fn user_identifiers_resolve_by_id_sip_upn_any_case() {
    run(scenarios::user_identifiers_resolve_by_id_sip_upn_any_case);
}

#[test]
fn teams_and_organization_units() {
    run(scenarios::teams_and_organization_units);
}

#[test]
fn blocking_a_user_in_a_team() {
    run(scenarios::blocking_a_user_in_a_team);
}

#[test]
fn role_matrix() {
    run(scenarios::role_matrix);
}

#[test]
fn api_key_lifecycle() {
    run(scenarios::api_key_lifecycle);
}

#[test]
fn if_match_and_etag() {
    run(scenarios::if_match_and_etag);
}

#[test]
fn bad_inputs_give_documented_json_errors() {
    run(scenarios::bad_inputs_give_documented_json_errors);
}

#[test]
fn admin_directory_validation() {
    run(scenarios::admin_directory_validation);
}

#[test]
fn admin_directory_one_entity_at_a_time() {
    run(scenarios::admin_directory_one_entity_at_a_time);
}

#[test]
fn openapi_and_health_are_public() {
    run(scenarios::openapi_and_health_are_public);
}

#[test]
fn idempotent_retries() {
    run(scenarios::idempotent_retries);
}

#[test]
fn agent_sessions_route_by_caller() {
    run(tm_e2e_tests::sessions::route_by_caller_table);
}

#[test]
fn agent_sessions_end_when_asked_and_with_their_agent() {
    run(tm_e2e_tests::sessions::sessions_end_when_asked_and_with_their_agent);
}
