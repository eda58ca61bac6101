//! Every shared scenario against a live `spin up` of this repository, when `spin` is on PATH.
//! Each scenario gets its own Spin instance with a fresh state dir, as each in-process one
//! gets a fresh store.

use std::path::Path;
use tm_e2e_tests::live::{spin_on_path, SpinInstance};
use tm_e2e_tests::{scenarios, Api, ADMIN_TOKEN};

#[test]
fn all_scenarios_against_live_spin() {
    if !spin_on_path() {
        eprintln!("SKIPPED: no `spin` binary on PATH; the live Spin scenarios did not run (the in-process ones did).");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (index, (name, scenario)) in scenarios::ALL.iter().enumerate() {
        eprintln!("live scenario {name}");
        let spin = SpinInstance::start(&root, ADMIN_TOKEN, index == 0);
        scenario(&Api::live(&spin.base_url).with_directory());
    }
}
