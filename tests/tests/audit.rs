//! The audit trail (issue 23), in process on memory and on a real redis-server.

use tm_e2e_tests::audit::*;
use tm_e2e_tests::redis_server::api_on_redis as on_redis;
use tm_e2e_tests::*;

#[test]
fn each_change_is_recorded_once_with_its_actor_on_memory() {
    each_change_is_recorded_once_with_its_actor_and_no_secret(&Api::in_process().with_directory());
}

#[test]
fn each_change_is_recorded_once_with_its_actor_on_redis() {
    if let Some((api, _server)) = on_redis("audit on redis") {
        each_change_is_recorded_once_with_its_actor_and_no_secret(&api);
    }
}

#[test]
fn concurrent_admin_writes_are_each_recorded_once_on_memory() {
    let api = Api::in_process().with_directory();
    api.interleave_store_operations();
    concurrent_admin_writes_are_each_recorded_once(&api);
}

#[test]
fn concurrent_admin_writes_are_each_recorded_once_on_redis() {
    if let Some((api, _server)) = on_redis("audit on redis") {
        concurrent_admin_writes_are_each_recorded_once(&api);
    }
}

#[test]
fn audit_entries_are_kept_a_year_on_memory() {
    audit_entries_are_kept_a_year_then_deleted_in_order(&Api::in_process().with_directory());
}

#[test]
fn audit_entries_are_kept_a_year_on_redis() {
    if let Some((api, _server)) = on_redis("audit retention on redis") {
        audit_entries_are_kept_a_year_then_deleted_in_order(&api);
    }
}
