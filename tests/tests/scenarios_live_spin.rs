//! Every shared scenario against a live `spin up` of this repository. Ignored unless asked for
//! (`cargo test -- --ignored`, as `scripts/test` does when `spin` is on PATH); asked for
//! without `spin`, it fails. Each scenario gets its own Spin instance with a fresh state dir,
//! as each in-process one gets a fresh store.

use tm_e2e_tests::live::{live_processes_in_group, require_spin, SpinInstance};
use tm_e2e_tests::{scenarios, Api, ADMIN_TOKEN};

#[test]
#[ignore = "live: needs spin on PATH (scripts/test runs it when spin is found)"]
fn all_scenarios_against_live_spin() {
    require_spin();
    let mut failed = Vec::new();
    for (index, (name, scenario)) in scenarios::ALL.iter().enumerate() {
        eprintln!("live scenario {name}");
        let spin = SpinInstance::start(ADMIN_TOKEN, index == 0);
        let group = spin.process_group();
        let api = Api::live(&spin.base_url).with_directory();
        // One failing scenario must not hide the others.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(&api))).is_err() {
            failed.push(*name);
        }
        // No session token ever reaches the component's output (issue 21).
        if spin.output().contains("tms_") {
            failed.push("a session token in spin's output");
        }
        drop(spin);
        let left = live_processes_in_group(group);
        assert!(
            left.is_empty(),
            "{name}: processes of the instance left: {left:?}"
        );
    }
    assert!(failed.is_empty(), "live scenarios failed: {failed:?}");
}
