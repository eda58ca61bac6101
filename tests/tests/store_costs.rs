//! What a request costs the store: operation counts per request, equal for small and large
//! organizations and stores, and within what docs/api.md states.

use serde_json::json;
use tm_e2e_tests::scenarios::Tasks;
use tm_e2e_tests::*;

#[test]
fn store_operations_per_request_do_not_grow_with_stored_tasks() {
    let measure = |stored_tasks: usize| -> Vec<(String, u64)> {
        let api = Api::in_process().with_directory();
        let t = Tasks::new(&api);
        // The stored tasks live in EMEA and are mostly finished, as in a long-running
        // install; the measured team (Support) holds a few open ones.
        for i in 0..stored_tasks {
            let id = t.create(TEAM_EMEA, "ExternalTask", "Normal");
            if i % 100 != 0 {
                t.ok(&id, "terminate", None);
            }
        }
        let queued = t.create(TEAM_SUPPORT, "IncomingCall", "High");
        let connected = t.in_state("Connected", None);
        let requests: Vec<Probe> = vec![
            (
                "longest waiting",
                "GET",
                format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"),
                None,
            ),
            (
                "team tasks",
                "GET",
                format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"),
                None,
            ),
            (
                "user tasks",
                "GET",
                format!("/v1.0/users/{ANNA}/tasks"),
                None,
            ),
            ("get task", "GET", format!("/v1.0/tasks/{queued}"), None),
            (
                "create",
                "POST",
                format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"),
                Some(json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41"}})),
            ),
            (
                "offer",
                "POST",
                format!("/v1.0/tasks/{queued}/offer"),
                Some(json!({"UserIdentifier": BEN})),
            ),
            (
                "hold",
                "POST",
                format!("/v1.0/tasks/{connected}/hold"),
                None,
            ),
            (
                "consult",
                "POST",
                format!("/v1.0/tasks/{connected}/consultationCall"),
                Some(json!({"Target": CARLA})),
            ),
            (
                "consultative calls",
                "GET",
                format!("/v1.0/users/{CARLA}/consultativeCalls"),
                None,
            ),
            ("teams", "GET", "/v1.0/teams".to_string(), None),
        ];
        count_operations(&api, &t.key, requests)
    };
    same_and_bounded(measure(10), measure(10_000), "10 / 10,000 stored tasks");
}

/// Sends each request and counts the store operations it took (each must succeed).
fn count_operations(api: &Api, key: &str, requests: Vec<Probe>) -> Vec<(String, u64)> {
    let store = api.store().expect("in-process");
    requests
        .into_iter()
        .map(|(name, method, path, body)| {
            let before = store.operations();
            let response = api.call(key, method, &path, body);
            assert!(
                response.status < 300,
                "{name}: {} {}",
                response.status,
                response.json_body()
            );
            (name.to_string(), store.operations() - before)
        })
        .collect()
}

/// Store operations per request as docs/api.md ("Cost") states them, written out: a simple read
/// is two round trips (the key first, then the record it names).
const DOCUMENTED_OPERATIONS: &[(&str, u64)] = &[
    ("get task", 2),
    ("user by id", 2),
    ("team by id", 2),
    ("health", 1),
    ("longest waiting", 3),
    ("team tasks", 5),
    ("hold", 8),
    ("create", 12),
];

/// The counts must not depend on the size, stay small, and stay within what the docs state.
fn same_and_bounded(small: Vec<(String, u64)>, large: Vec<(String, u64)>, sizes: &str) {
    eprintln!("store operations per request ({sizes}): {small:?} / {large:?}");
    assert_eq!(small, large, "a request's store operations grew ({sizes})");
    for (name, operations) in &small {
        // The most a change takes: the task, its index entries and up to three feeds (the team's,
        // the user it leaves, the user it reaches), each an increment, in one batch write and one batch read.
        assert!(
            *operations <= 24,
            "{name} takes {operations} store operations"
        );
        if let Some((_, documented)) = DOCUMENTED_OPERATIONS.iter().find(|(n, _)| n == name) {
            assert!(
                operations <= documented,
                "{name} takes {operations} store operations; docs/api.md says {documented}"
            );
        }
    }
}

/// The requests whose store operations must not depend on the organization's size.
type Probe = (
    &'static str,
    &'static str,
    String,
    Option<serde_json::Value>,
);

fn directory_requests(queued: &str) -> Vec<Probe> {
    vec![
        ("user by id", "GET", format!("/v1.0/users/{ANNA}"), None),
        (
            "user by SIP",
            "GET",
            "/v1.0/users/sip:anna@contoso.com".into(),
            None,
        ),
        (
            "user by UPN",
            "GET",
            "/v1.0/users/ANNA.UPN@contoso.com".into(),
            None,
        ),
        (
            "team by id",
            "GET",
            format!("/v1.0/teams/{TEAM_SUPPORT}"),
            None,
        ),
        (
            "team by SIP",
            "GET",
            "/v1.0/teams/sip:support@contoso.com".into(),
            None,
        ),
        (
            "team members",
            "GET",
            format!("/v1.0/teams/{TEAM_SUPPORT}/users"),
            None,
        ),
        (
            "teams of a user",
            "GET",
            format!("/v1.0/teams/bymember/{BEN}"),
            None,
        ),
        (
            "conversation as",
            "GET",
            format!("/v1.0/users/{ANNA}/teams/conversationas"),
            None,
        ),
        (
            "a page of users",
            "GET",
            "/v1.0/users?offset=0&limit=3".into(),
            None,
        ),
        (
            "longest waiting",
            "GET",
            format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"),
            None,
        ),
        (
            "create",
            "POST",
            format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"),
            Some(json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41"}})),
        ),
        (
            "offer",
            "POST",
            format!("/v1.0/tasks/{queued}/offer"),
            Some(json!({"UserIdentifier": "sip:ben@contoso.com"})),
        ),
        (
            "decline",
            "POST",
            format!("/v1.0/tasks/{queued}/decline"),
            None,
        ),
        (
            "block",
            "POST",
            format!("/v1.0/teams/{TEAM_SUPPORT}/users/{ANNA}/active"),
            Some(json!({"Active": false})),
        ),
        (
            "unblock",
            "POST",
            format!("/v1.0/teams/{TEAM_SUPPORT}/users/{ANNA}/active"),
            Some(json!({"Active": true})),
        ),
        ("get task", "GET", format!("/v1.0/tasks/{queued}"), None),
        ("health", "GET", "/health".into(), None),
    ]
}

#[test]
fn store_operations_per_request_do_not_grow_with_the_organization() {
    let measure = |extra_users: usize| -> Vec<(String, u64)> {
        let api = Api::in_process();
        let loaded = api.admin(
            "PUT",
            "/admin/v1.0/directory",
            Some(large_directory(extra_users)),
        );
        assert_eq!(loaded.status, 200, "{}", loaded.json_body());
        let t = Tasks::new(&api);
        let queued = t.create(TEAM_SUPPORT, "IncomingCall", "High");
        count_operations(&api, &t.key, directory_requests(&queued))
    };
    same_and_bounded(measure(16), measure(10_000), "20 / 10,016 users");
}

/// `longestwaitingtask` reads the head of each index shard's queue and the task it serves: the
/// same operations and (up to a few digits) the same bytes with 32 or 2,000 waiting tasks, also
/// right after the first one was offered.
#[test]
fn longest_waiting_reads_the_same_bytes_however_many_tasks_wait() {
    let measure = |waiting: usize| -> (u64, u64) {
        let api = Api::in_process().with_directory();
        let t = Tasks::new(&api);
        for _ in 0..waiting {
            t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
        }
        // The first one is offered: the head of its shard must follow.
        let path = format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask");
        let first = t.read(&path)["Id"].as_str().unwrap_or_default().to_string();
        t.ok(&first, "offer", Some(json!({"UserIdentifier": BEN})));
        let store = api.store().expect("in-process");
        let (operations, bytes) = (store.operations(), store.bytes_read());
        assert_eq!(api.call(&t.key, "GET", &path, None).status, 200);
        (store.operations() - operations, store.bytes_read() - bytes)
    };
    let (few_operations, few_bytes) = measure(32);
    let (many_operations, many_bytes) = measure(2_000);
    eprintln!("longest waiting: {few_operations} operations, {few_bytes} bytes with 32 waiting; {many_operations}, {many_bytes} with 2,000");
    assert_eq!(few_operations, many_operations);
    assert!(
        many_bytes <= few_bytes + 256,
        "read {many_bytes} bytes with 2,000 waiting, {few_bytes} with 32"
    );
}

/// Issue 20: choosing the longest-idle eligible member among 10 or 5,000, and the next task
/// among 10 or 5,000 waiting, costs the same number of store operations. Measured: a create in
/// an Automatic team whose members are all Available (the create and its automatic offer), and
/// an agent setting Available while tasks wait (the change and the offer of the longest waiting
/// one to them).
#[test]
fn automatic_offers_cost_the_same_for_10_and_5000_members_and_waiting_tasks() {
    use tm_e2e_tests::distribution::{agents_directory, set_state};
    let with_members = |members: usize| -> (Api, Vec<String>, String) {
        let api = Api::in_process();
        let (directory, agents) = agents_directory(members);
        assert_status(
            &api.admin("PUT", "/admin/v1.0/directory", Some(directory)),
            200,
        );
        let key = api.key(&[]);
        (api, agents, key)
    };
    let create = |api: &Api, key: &str| -> (u64, String) {
        let store = api.store().expect("in-process");
        let before = store.operations();
        let response = api.call(
            key,
            "POST",
            &format!("/v1.0/teams/{TEAM_EMEA}/tasks"),
            Some(json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41"}})),
        );
        let id = assert_status(&response, 201)["Id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (store.operations() - before, id)
    };
    let idle_members = |members: usize| -> u64 {
        let (api, agents, key) = with_members(members);
        for agent in &agents {
            set_state(&api, &key, agent, "Available");
            api.advance(1);
        }
        // A first create warms up what is created once (pool shards, feed blocks).
        let _ = create(&api, &key);
        let (operations, id) = create(&api, &key);
        let task = assert_status(
            &api.call(&key, "GET", &format!("/v1.0/tasks/{id}"), None),
            200,
        );
        assert_eq!(task["Status"], "Ringing");
        // The longest idle of those still free: the second to set Available (the first has
        // the warm-up call).
        assert_eq!(task["AssignedUserId"], agents[1].as_str());
        operations
    };
    let waiting_tasks = |waiting: usize| -> u64 {
        let (api, agents, key) = with_members(10);
        let mut first = None;
        for _ in 0..waiting {
            let (_, id) = create(&api, &key);
            first.get_or_insert(id);
            api.advance(1);
        }
        let store = api.store().expect("in-process");
        // A first agent warms up; the second is measured.
        set_state(&api, &key, &agents[0], "Available");
        let before = store.operations();
        set_state(&api, &key, &agents[1], "Available");
        let operations = store.operations() - before;
        let second = assert_status(
            &api.call(
                &key,
                "GET",
                &format!("/v1.0/users/{}/tasks", agents[1]),
                None,
            ),
            200,
        );
        assert_eq!(second.as_array().map(Vec::len), Some(1), "{second}");
        operations
    };
    let members = (idle_members(10), idle_members(5000));
    let waiting = (waiting_tasks(10), waiting_tasks(5000));
    eprintln!("create + automatic offer, 10 / 5,000 idle members: {members:?}; set Available + offer, 10 / 5,000 waiting: {waiting:?}");
    assert_eq!(members.0, members.1, "the pick grew with the members");
    assert_eq!(waiting.0, waiting.1, "the pick grew with the waiting tasks");
}

/// An agent's session costs what an API key costs (issue 21): its check is one batch read (the
/// agent's sessions and user record), as a key's is (its record and last use), and the task an
/// agent rule reads stays read ahead for the handler.
#[test]
fn a_session_costs_what_a_key_costs() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let (token, _) = sessions::session_of(&api, &t.key, ANNA, None);
    let store = api.store().expect("in-process");
    // Two connected calls of Anna's: one held with the key, the other with the session.
    let (by_key, by_session) = (t.in_state("Connected", None), t.in_state("Connected", None));
    let probes = |task: &str| {
        [
            ("user tasks", "GET", format!("/v1.0/users/{ANNA}/tasks")),
            ("user", "GET", format!("/v1.0/users/{ANNA}")),
            ("get task", "GET", format!("/v1.0/tasks/{task}")),
            ("hold", "POST", format!("/v1.0/tasks/{task}/hold")),
        ]
    };
    // The key's LastUsedAt was written by the calls above (once a minute): no side pays it.
    let count = |send: &dyn Fn(&str, &str) -> tm_core::Response, task: &str| {
        probes(task)
            .into_iter()
            .map(|(name, method, path)| {
                let before = store.operations();
                let response = send(method, &path);
                assert!(response.status < 300, "{name}: {}", response.status);
                (name, store.operations() - before)
            })
            .collect::<Vec<_>>()
    };
    let with_key = count(
        &|method, path| api.call(&t.key, method, path, None),
        &by_key,
    );
    let with_session = count(
        &|method, path| api.send(sessions::with_session(&token, method, path, None)),
        &by_session,
    );
    eprintln!("store operations, key / session: {with_key:?} / {with_session:?}");
    assert_eq!(with_key, with_session);
}

/// Issue 22: a statistics read costs the same for 10 and 5,000 open tasks in the team and for
/// 10 and 100,000 tasks ended in the day (the counts are one small document kept by the feed's
/// upkeep; the read folds what the feed has beyond it, here nothing: it is measured right after
/// a read that caught up).
#[test]
fn statistics_cost_the_same_for_10_and_5000_open_and_10_and_100000_ended_tasks() {
    let measure = |open: usize, ended: usize| -> Vec<(String, u64)> {
        let api = Api::in_process().with_directory();
        let t = Tasks::new(&api);
        for _ in 0..ended {
            let id = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
            t.ok(&id, "terminate", None);
        }
        for _ in 0..open {
            t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
        }
        let path = format!("/v1.0/teams/{TEAM_SUPPORT}/statistics");
        let caught_up = tm_e2e_tests::statistics::statistics(&api, &t.key, TEAM_SUPPORT);
        assert_eq!(caught_up["Today"]["Created"], (open + ended) as u64);
        assert_eq!(caught_up["Today"]["Abandoned"], ended as u64);
        assert_eq!(caught_up["TasksByStatus"]["Queued"], open as u64);
        count_operations(
            &api,
            &t.key,
            vec![
                ("team statistics", "GET", path, None),
                (
                    "unit statistics",
                    "GET",
                    format!("/v1.0/organizationunits/{OU_CARE_EMEA}/statistics"),
                    None,
                ),
            ],
        )
    };
    let started = std::time::Instant::now();
    let small = measure(10, 10);
    let many_open = measure(5_000, 10);
    eprintln!("5,000 open set up in {:?}", started.elapsed());
    let many_ended = measure(10, 100_000);
    eprintln!("statistics reads, 10 / 5,000 open / 100,000 ended: {small:?} / {many_open:?} / {many_ended:?}; set up in {:?}", started.elapsed());
    assert_eq!(small, many_open, "a statistics read grew with open tasks");
    assert_eq!(
        small, many_ended,
        "a statistics read grew with the day's tasks"
    );
}
