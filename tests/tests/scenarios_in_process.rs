//! Every shared scenario through the core's handler with the in-memory store.

use tm_e2e_tests::{scenarios, Api};

#[test]
fn all_scenarios_in_process() {
    for (name, scenario) in scenarios::ALL {
        eprintln!("scenario {name}");
        scenario(&Api::in_process().with_directory());
    }
}
