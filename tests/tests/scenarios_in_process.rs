//! Every shared scenario through the core's handler with the in-memory store, one test each
//! (so that one failure does not hide the others). A test below checks that none is missed.

use tm_e2e_tests::{scenarios, Api};

fn run(scenario: fn(&Api)) {
    scenario(&Api::in_process().with_directory());
}

/// One test per scenario of the shared list.
macro_rules! one_test_each {
    ($($name:ident: $scenario:path),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run($scenario);
            }
        )*
    };
}
tm_e2e_tests::for_each_scenario!(one_test_each);

#[test]
fn the_shared_scenarios_have_one_name_each() {
    let mut names: Vec<&str> = scenarios::ALL.iter().map(|(name, _)| *name).collect();
    assert_eq!(names.len(), 18);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 18);
}
