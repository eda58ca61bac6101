//! Team and organization unit statistics (issue 22), in process on the virtual clock and on a
//! real redis-server.

use tm_e2e_tests::redis_server::redis_or_skip;
use tm_e2e_tests::statistics::*;
use tm_e2e_tests::*;

#[test]
fn a_scripted_morning_gives_exactly_these_figures() {
    a_scripted_morning_gives_these_figures(&Api::in_process().with_directory());
}

#[test]
fn a_scripted_morning_gives_exactly_these_figures_on_redis() {
    let Some(server) = redis_or_skip("statistics on redis") else {
        return;
    };
    let transport = tm_host_spin::redis_store::native::NativeRedis::open(&server.url())
        .expect("a Redis client");
    let store = std::sync::Arc::new(tm_host_spin::redis_store::RedisStore::new(transport));
    a_scripted_morning_gives_these_figures(&Api::in_process_on(store).with_directory());
}
