//! Erasure of a person's data (issue 23), in process on memory and on a real redis-server:
//! every key of the store is read afterwards.

use tm_core::Store;
use tm_e2e_tests::erasure::*;
use tm_e2e_tests::redis_server::redis_or_skip;
use tm_e2e_tests::*;
use tm_host_spin::redis_store::{Arg, RedisTransport, Reply};

#[test]
fn an_erased_person_leaves_no_trace_in_the_memory_store() {
    let api = Api::in_process().with_directory();
    let dump = || {
        let store = api.store().expect("in process");
        store
            .value_keys()
            .into_iter()
            .filter_map(|key| {
                let value = store.get(&key).ok().flatten()?;
                Some((key, value))
            })
            .collect()
    };
    erasing_a_person_leaves_no_trace_and_keeps_everybody_else(&api, &dump);
}

#[test]
fn an_erased_person_leaves_no_trace_in_redis() {
    let Some(server) = redis_or_skip("erasure on redis") else {
        return;
    };
    let open = || {
        tm_host_spin::redis_store::native::NativeRedis::open(&server.url()).expect("a Redis client")
    };
    let store = std::sync::Arc::new(tm_host_spin::redis_store::RedisStore::new(open()));
    let api = Api::in_process_on(store).with_directory();
    // Every key Redis holds, read with its own commands (not through the store under test).
    let raw = open();
    let dump = || {
        let keys = raw.execute("KEYS", &[Arg::Bytes(b"*")]).expect("KEYS");
        keys.into_iter()
            .filter_map(|reply| match reply {
                Reply::Bytes(key) => Some(key),
                _ => None,
            })
            .filter_map(|key| {
                let value = raw.execute("GET", &[Arg::Bytes(&key)]).ok()?;
                match value.into_iter().next() {
                    Some(Reply::Bytes(value)) => {
                        Some((String::from_utf8_lossy(&key).into_owned(), value))
                    }
                    _ => None,
                }
            })
            .collect::<Vec<_>>()
    };
    assert!(!dump().is_empty(), "the directory is stored in this Redis");
    erasing_a_person_leaves_no_trace_and_keeps_everybody_else(&api, &dump);
}

#[test]
fn a_person_with_more_than_a_thousand_tasks_is_erased_in_two_requests() {
    let api = Api::in_process().with_directory();
    a_person_with_many_tasks_is_erased_in_several_requests(&api);
}
