//! Tests that need the in-process backend: a virtual clock, store access (operation counts,
//! outages, raw contents) or many threads on one store.

use serde_json::json;
use tm_core::routes::{route, RouteMatch, ROUTES};
use tm_core::Request;
use tm_e2e_tests::scenarios::Tasks;
use tm_e2e_tests::*;

#[test]
fn longest_waiting_task_follows_priority_then_age_then_arrival() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let longest = || {
        api.call(
            &t.key,
            "GET",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"),
            None,
        )
    };
    assert_eq!(longest().status, 204, "empty queue");
    assert!(longest().body.is_empty());

    // Created oldest first: NothingElse is the oldest of all, StrictPriority the newest.
    let mut created = Vec::new();
    for priority in [
        "NothingElse",
        "Lowest",
        "Normal",
        "Highest",
        "Normal",
        "VeryLow",
        "High",
        "Low",
        "VeryHigh",
        "StrictPriority",
    ] {
        created.push((priority, t.create(TEAM_SUPPORT, "IncomingCall", priority)));
        api.advance(1_000);
    }
    // Two tasks in the same millisecond: arrival order breaks the tie.
    let tie_a = t.create(TEAM_SUPPORT, "ExternalTask", "Highest");
    let tie_b = t.create(TEAM_SUPPORT, "ExternalTask", "Highest");
    let id = |p: &str, nth: usize| {
        created
            .iter()
            .filter(|(q, _)| *q == p)
            .nth(nth)
            .map(|(_, id)| id.clone())
            .unwrap_or_default()
    };
    let expected = [
        id("StrictPriority", 0),
        id("Highest", 0),
        tie_a,
        tie_b,
        id("VeryHigh", 0),
        id("High", 0),
        id("Normal", 0),
        id("Normal", 1),
        id("Low", 0),
        id("VeryLow", 0),
        id("Lowest", 0),
        id("NothingElse", 0),
    ];
    // Another team's queue does not interfere.
    t.create(TEAM_EMEA, "IncomingCall", "StrictPriority");

    // Serve them one by one: each served task is offered, so the next one comes up.
    // Declining puts a task back at its original place.
    for (position, want) in expected.iter().enumerate() {
        let next = assert_status(&longest(), 200);
        assert_eq!(next["Id"], want.as_str(), "position {position}");
        t.ok(want, "offer", Some(json!({"UserIdentifier": ANNA})));
        if position == 3 {
            t.ok(want, "decline", None);
            assert_eq!(
                assert_status(&longest(), 200)["Id"],
                want.as_str(),
                "declined task keeps its place"
            );
            t.ok(want, "offer", Some(json!({"UserIdentifier": BEN})));
        }
    }
    assert_eq!(longest().status, 204);
}

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
/// is one round trip (the key and the record it names, read ahead in one batch).
const DOCUMENTED_OPERATIONS: &[(&str, u64)] = &[
    ("get task", 1),
    ("user by id", 1),
    ("team by id", 1),
    ("health", 1),
    ("longest waiting", 2),
    ("team tasks", 2),
    ("hold", 2),
    ("create", 5),
];

/// The counts must not depend on the size, stay small, and stay within what the docs state.
fn same_and_bounded(small: Vec<(String, u64)>, large: Vec<(String, u64)>, sizes: &str) {
    eprintln!("store operations per request ({sizes}): {small:?} / {large:?}");
    assert_eq!(small, large, "a request's store operations grew ({sizes})");
    for (name, operations) in &small {
        assert!(
            *operations <= 16,
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

#[test]
fn store_outage_gives_503_json_and_loses_nothing() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let task = t.in_state("Connected", None);
    let store = api.store().expect("in-process");
    store.set_unavailable(true);
    for (method, path) in [
        ("GET", "/health".to_string()),
        ("GET", format!("/v1.0/tasks/{task}")),
        ("POST", format!("/v1.0/tasks/{task}/hold")),
        ("GET", "/v1.0/teams".into()),
    ] {
        assert_error(
            &api.call(&t.key, method, &path, None),
            503,
            "ServiceUnavailable",
        );
    }
    store.set_unavailable(false);
    assert_eq!(t.status(&task), "Connected");
    assert_eq!(t.get(&task)["Version"], 3);
}

#[test]
fn only_hashes_of_secrets_are_stored() {
    let api = Api::in_process().with_directory();
    let secret = api.key(&["TasksManage"]);
    let store = api.store().expect("in-process");
    let contents = assert_status(&api.admin("GET", "/admin/v1.0/apikeys", None), 200).to_string();
    assert!(!contents.contains(&secret));
    // Look at every stored value through the port: the secret is nowhere.
    let dump: String = ["index/apikeys"]
        .iter()
        .filter_map(|k| tm_core::Store::get(store, k).ok().flatten())
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect();
    assert!(!dump.contains(&secret));
    let id = secret.split('_').nth(1).unwrap_or_default();
    let id = uuid::Uuid::parse_str(id)
        .map(|u| u.hyphenated().to_string())
        .unwrap_or_default();
    let record = tm_core::Store::get(store, &format!("apikey/{id}"))
        .ok()
        .flatten()
        .unwrap_or_default();
    let record = String::from_utf8_lossy(&record);
    assert!(record.contains("SecretSha256"), "{record}");
    assert!(!record.contains(&secret[10..]), "{record}");
}

#[test]
fn expiry_is_judged_by_the_passed_in_clock() {
    let api = Api::in_process().with_directory();
    let expires = api.now().plus_millis(60_000);
    let created = assert_status(
        &api.admin(
            "POST",
            "/admin/v1.0/apikeys",
            Some(json!({"Name": "short", "ExpiresAt": expires})),
        ),
        201,
    );
    let secret = created["Secret"].as_str().unwrap_or_default();
    assert_eq!(api.call(secret, "GET", "/v1.0/users", None).status, 200);
    api.advance(59_999);
    assert_eq!(api.call(secret, "GET", "/v1.0/users", None).status, 200);
    api.advance(1);
    assert_error(
        &api.call(secret, "GET", "/v1.0/users", None),
        401,
        "Unauthorized",
    );
}

/// The endpoints of the vendor document, copied from `shared/seed/teammanager-api.txt`.
const VENDOR_ENDPOINTS: &[&str] = &[
    "GET /v1.0/teams/{teamIdentifier}/tasks",
    "GET /v1.0/teams/{teamIdentifier}/longestwaitingtask",
    "GET /v1.0/tasks/byteamsmember/{userIdentifier}",
    "POST /v1.0/tasks/outboundCall/start",
    "GET /v1.0/users/{userIdentifier}/tasks",
    "POST /v1.0/tasks/{taskIdentifier}/transfer",
    "POST /v1.0/tasks/{taskIdentifier}/hold",
    "POST /v1.0/tasks/{taskIdentifier}/resume",
    "POST /v1.0/tasks/{taskIdentifier}/terminate",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall",
    "GET /v1.0/tasks/{taskIdentifier}/consultationCall",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/merge",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/transfer",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/terminate",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/leave",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/audioRoutes",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/terminateCustomerCall",
    "GET /v1.0/users/{userIdentifier}/consultativeCalls",
    "GET /v1.0/teams",
    "GET /v1.0/teams/{teamIdentifier}",
    "GET /v1.0/teams/bymember/{userIdentifier}",
    "GET /v1.0/organizationunits/{ouIdentifier}/teams",
    "GET /v1.0/users/{userIdentifier}/teams/conversationas",
    "GET /v1.0/users/{userIdentifier}",
    "GET /v1.0/users",
    "GET /v1.0/teams/{teamIdentifier}/users",
    "POST /v1.0/teams/{teamIdentifier}/users/{userIdentifier}/active",
];

/// The extension endpoints API.md requires.
const EXTENSION_ENDPOINTS: &[&str] = &[
    "POST /v1.0/teams/{teamIdentifier}/tasks",
    "GET /v1.0/tasks/{taskIdentifier}",
    "POST /v1.0/tasks/{taskIdentifier}/offer",
    "POST /v1.0/tasks/{taskIdentifier}/accept",
    "POST /v1.0/tasks/{taskIdentifier}/decline",
    "POST /v1.0/tasks/{taskIdentifier}/answered",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/answered",
    "GET /v1.0/openapi.json",
    "GET /health",
    "GET /admin/v1.0/directory",
    "PUT /admin/v1.0/directory",
    "POST /admin/v1.0/apikeys",
    "GET /admin/v1.0/apikeys",
    "PATCH /admin/v1.0/apikeys/{id}",
    "DELETE /admin/v1.0/apikeys/{id}",
];

#[test]
fn every_required_endpoint_is_routed_and_in_the_openapi_document() {
    let api = Api::in_process();
    let doc = assert_status(&api.send(Request::new("GET", "/v1.0/openapi.json")), 200);
    for endpoint in VENDOR_ENDPOINTS.iter().chain(EXTENSION_ENDPOINTS) {
        let (method, template) = endpoint.split_once(' ').unwrap_or_default();
        let concrete = template
            .split('/')
            .map(|s| if s.starts_with('{') { "x1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let spec = match route(method, &concrete) {
            RouteMatch::Found { spec, .. } => spec,
            other => panic!("{endpoint} is not routed: {other:?}"),
        };
        let documented = &doc["paths"][spec.path][method.to_ascii_lowercase()];
        assert!(
            documented.is_object(),
            "{endpoint} is missing from openapi.json"
        );
        assert!(
            documented["responses"]["200"].is_object()
                || documented["responses"]["201"].is_object()
                || documented["responses"]["204"].is_object(),
            "{endpoint}"
        );
    }
    let vendor_routes = ROUTES.iter().filter(|r| r.vendor).count();
    assert_eq!(
        vendor_routes,
        VENDOR_ENDPOINTS.len(),
        "the vendor flag matches the vendor list"
    );
    // It reads as an OpenAPI 3.1 document (typed parse by the oas3 crate).
    let parsed = oas3::from_json(doc.to_string()).expect("a valid OpenAPI 3.1 document");
    assert_eq!(parsed.openapi, "3.1.0");
    assert_eq!(
        parsed.paths.as_ref().map(|p| p.len()),
        Some(doc["paths"].as_object().map_or(0, |p| p.len()))
    );
    // Every schema a path refers to exists.
    let text = doc.to_string();
    for reference in text.split("#/components/schemas/").skip(1) {
        let name: String = reference
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        assert!(
            doc["components"]["schemas"][&name].is_object(),
            "schema {name} is referenced but missing"
        );
    }
}

#[test]
fn demo_data_loads_once_and_its_key_works() {
    let api = Api::in_process();
    let Backend::InProcess {
        store, now, config, ..
    } = &api.backend
    else {
        unreachable!()
    };
    let mut ids = tm_core::SequentialIds::new(42);
    let mut env = tm_core::Env {
        store: store.as_ref(),
        now: tm_core::Timestamp::from_unix_millis(now.load(std::sync::atomic::Ordering::SeqCst)),
        ids: &mut ids,
        config,
    };
    let secret = tm_core::demo::load_if_empty(&mut env)
        .expect("demo loads")
        .expect("first time creates a key");
    assert_eq!(
        tm_core::demo::load_if_empty(&mut env).expect("second call"),
        None
    );
    let queue = assert_status(
        &api.call(
            &secret,
            "GET",
            &format!("/v1.0/teams/{}/tasks", tm_core::demo::SUPPORT),
            None,
        ),
        200,
    );
    assert_eq!(queue.as_array().map(Vec::len), Some(3));
    let anna = assert_status(
        &api.call(
            &secret,
            "GET",
            "/v1.0/users/sip:anna@contoso.com/tasks",
            None,
        ),
        200,
    );
    assert_eq!(anna[0]["Status"], "Ringing");
    assert_eq!(api.call(&secret, "GET", "/v1.0/teams", None).status, 200);
}

#[test]
fn cors_is_answered_for_configured_origins_only() {
    let api = Api::in_process().with_directory();
    let preflight = api.send(
        Request::new("OPTIONS", "/v1.0/tasks/x/hold").header("Origin", "https://crm.example.com"),
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header_value("Access-Control-Allow-Origin"),
        Some("https://crm.example.com")
    );
    assert!(preflight
        .header_value("Access-Control-Allow-Headers")
        .unwrap_or("")
        .contains("api_key"));
    let other = api
        .send(Request::new("OPTIONS", "/v1.0/teams").header("Origin", "https://evil.example.com"));
    assert_eq!(other.header_value("Access-Control-Allow-Origin"), None);
    let unknown = api.send(Request::new("OPTIONS", "/v1.0/nothing"));
    assert_error(&unknown, 404, "NotFound");
}

// The concurrency checks on the in-memory store (yielding inside operations); the same checks
// run on a real Redis in tests/redis_store.rs.
mod concurrency_on_memory {
    use tm_e2e_tests::{concurrency, Api};

    fn api() -> Api {
        Api::in_process().with_directory()
    }

    #[test]
    fn actions_on_one_task_lose_no_update() {
        concurrency::actions_on_one_task_lose_no_update(&api());
    }

    #[test]
    fn parallel_creates_are_all_listed() {
        concurrency::parallel_creates_are_all_listed(&api());
    }

    #[test]
    fn simultaneous_offers_have_exactly_one_winner() {
        concurrency::simultaneous_offers_have_exactly_one_winner(&api());
    }

    #[test]
    fn parallel_blocks_are_all_kept() {
        concurrency::parallel_blocks_are_all_kept(&api());
    }

    #[test]
    fn parallel_key_edits_lose_nothing_and_duplicate_nothing() {
        concurrency::parallel_key_edits_lose_nothing_and_duplicate_nothing(&api());
    }

    #[test]
    fn indexes_converge_under_concurrent_changes_and_reads() {
        concurrency::indexes_converge_under_concurrent_changes_and_reads(&api());
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

#[test]
fn a_directory_of_ten_thousand_users_loads_is_idempotent_and_writes_only_changes() {
    let api = Api::in_process();
    let mut large = large_directory(10_000);
    let first = assert_status(
        &api.admin("PUT", "/admin/v1.0/directory", Some(large.clone())),
        200,
    );
    assert_eq!(first["Users"]["Created"], 10_004);
    assert_eq!(first["Teams"]["Created"], 1_003);
    assert_eq!(first["Memberships"]["Created"], 40_005);
    assert_eq!(first["ConversationAs"]["Created"], 10_002);
    let body_size = large.to_string().len();
    assert!(
        body_size > 64 * 1024,
        "a real directory is larger than the API's 64 KiB ({body_size})"
    );
    // The same document again changes nothing and writes nothing but the lease and revision.
    let store = api.store().expect("in-process");
    let writes = store.writes();
    let again = assert_status(
        &api.admin("PUT", "/admin/v1.0/directory", Some(large.clone())),
        200,
    );
    for kind in [
        "OrganizationUnits",
        "Teams",
        "Users",
        "Memberships",
        "ConversationAs",
    ] {
        assert_eq!(again[kind]["Created"], 0, "{kind}");
        assert_eq!(again[kind]["Updated"], 0, "{kind}");
        assert_eq!(again[kind]["Deleted"], 0, "{kind}");
    }
    assert!(
        store.writes() - writes <= 4,
        "writes for an unchanged directory: {}",
        store.writes() - writes
    );
    // One user renamed, one removed: that is what is written and counted.
    large["Users"][5]["DisplayName"] = json!("Renamed Agent");
    let removed = large["Users"][6]["Id"].clone();
    if let Some(users) = large["Users"].as_array_mut() {
        users.remove(6);
    }
    for list in ["Memberships", "ConversationAs"] {
        if let Some(items) = large[list].as_array_mut() {
            items.retain(|m| m["UserId"] != removed);
        }
    }
    let writes = store.writes();
    let changed = assert_status(
        &api.admin("PUT", "/admin/v1.0/directory", Some(large.clone())),
        200,
    );
    assert_eq!(changed["Users"]["Updated"], 1);
    assert_eq!(changed["Users"]["Deleted"], 1);
    assert_eq!(changed["Memberships"]["Deleted"], 4);
    assert!(
        store.writes() - writes < 40,
        "writes for two changed users: {}",
        store.writes() - writes
    );
    let key = api.key(&["UsersReadonly"]);
    let renamed = assert_status(
        &api.call(
            &key,
            "GET",
            &format!(
                "/v1.0/users/{}",
                large["Users"][5]["Id"].as_str().unwrap_or_default()
            ),
            None,
        ),
        200,
    );
    assert_eq!(renamed["DisplayName"], "Renamed Agent");
    assert_error(
        &api.call(
            &key,
            "GET",
            &format!("/v1.0/users/{}", removed.as_str().unwrap_or_default()),
            None,
        ),
        404,
        "NotFound",
    );
    // Paging walks the users in display-name order.
    let page = api.call(&key, "GET", "/v1.0/users?offset=10&limit=5", None);
    assert_eq!(page.header_value("X-Total-Count"), Some("10003"));
    assert_eq!(
        page.header_value("Link"),
        Some("</v1.0/users?offset=15&limit=5>; rel=\"next\"")
    );
    let names: Vec<String> = page
        .json_body()
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["DisplayName"].as_str().map(String::from))
        .collect();
    assert_eq!(names.len(), 5);
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);
    // What GET returns is what was stored.
    let stored = assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200);
    assert_eq!(stored["Users"].as_array().map(Vec::len), Some(10_003));
    assert_eq!(stored["Memberships"].as_array().map(Vec::len), Some(40_001));
}

#[test]
fn a_directory_stored_as_one_document_by_an_earlier_version_is_moved_on_first_use() {
    let api = Api::in_process();
    let store = api.raw_store().expect("in-process");
    // What an earlier version left: the whole directory under one key, and a key.
    tm_core::Store::set(
        store,
        tm_core::repo::keys::LEGACY_DIRECTORY,
        directory().to_string().as_bytes(),
    )
    .expect("set");
    let key = api.key(&["TeamsReadonly", "UsersReadonly"]);
    let Backend::InProcess {
        store, now, config, ..
    } = &api.backend
    else {
        unreachable!()
    };
    let mut ids = tm_core::SequentialIds::new(7);
    let mut env = tm_core::Env {
        store: store.as_ref(),
        now: tm_core::Timestamp::from_unix_millis(now.load(std::sync::atomic::Ordering::SeqCst)),
        ids: &mut ids,
        config,
    };
    // An API call that finds nothing prepares the store and is answered again.
    let request =
        Request::new("GET", "/v1.0/teams/sip:support@contoso.com").header("api_key", &key);
    let mut prepared = None;
    let response =
        tm_core::setup::handle_preparing(&request, &mut env, || true, |done| prepared = Some(done));
    assert_eq!(prepared, Some(Ok(tm_core::setup::Prepared::Migrated)));
    assert_eq!(assert_status(&response, 200)["Id"], TEAM_SUPPORT);
    assert_eq!(
        assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200),
        directory()
    );
    assert_eq!(
        tm_core::Store::get(store.as_ref(), tm_core::repo::keys::LEGACY_DIRECTORY).expect("get"),
        None,
        "the old document is gone"
    );
    // Moved, so no demo data either: the next call finds it ready.
    let mut again = None;
    tm_core::setup::handle_preparing(&request, &mut env, || true, |done| again = Some(done));
    assert_eq!(again, None, "a 200 prepares nothing");
}

#[test]
fn the_route_table_grants_exactly_the_roles_of_the_contract() {
    use tm_core::routes::Access;
    use tm_e2e_tests::contract::ROLE_TABLE;
    let mut routed = Vec::new();
    for spec in ROUTES {
        let access = match spec.access {
            Access::Public => "Public".to_string(),
            Access::Admin => "Admin".to_string(),
            Access::ApiKey(role) => format!("{role:?}"),
        };
        routed.push((
            spec.method.as_str().to_string(),
            spec.path.to_string(),
            access,
        ));
    }
    let mut written: Vec<(String, String, String)> = ROLE_TABLE
        .iter()
        .map(|(m, p, a)| (m.to_string(), p.to_string(), a.to_string()))
        .collect();
    routed.sort();
    written.sort();
    assert_eq!(
        routed, written,
        "route table (left) and the contract's role table (right)"
    );
}

#[test]
fn responses_carry_every_property_their_schema_requires() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let doc = assert_status(&api.send(Request::new("GET", "/v1.0/openapi.json")), 200);
    let task = t.in_state("Connected", None);
    let samples = [
        ("Task", t.get(&task)),
        (
            "Team",
            assert_status(
                &api.call(&t.key, "GET", &format!("/v1.0/teams/{TEAM_SUPPORT}"), None),
                200,
            ),
        ),
        (
            "User",
            assert_status(
                &api.call(&t.key, "GET", &format!("/v1.0/users/{ANNA}"), None),
                200,
            ),
        ),
        ("TaskStatusData", t.ok(&task, "hold", None)),
    ];
    for (schema, body) in samples {
        let required = doc["components"]["schemas"][schema]["required"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!required.is_empty(), "{schema} requires something");
        for name in required {
            let name = name.as_str().unwrap_or_default();
            assert!(
                body.get(name).is_some(),
                "{schema} response lacks {name}: {body}"
            );
        }
        // And what is always sent is required (generated clients type it as present).
        for (name, _) in body.as_object().into_iter().flatten() {
            let listed = doc["components"]["schemas"][schema]["required"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r == name.as_str());
            assert!(listed, "{schema}.{name} is always sent but not required");
        }
    }
}

/// The success answers the OpenAPI document states, written out from API.md ("Starting a
/// consultation ... returns 201 with the ConsultationCall", creates answer 201, actions
/// answer TaskStatusData): a generated client decodes the answer by these.
#[test]
fn the_document_states_the_success_answers_of_the_contract() {
    let api = Api::in_process().with_directory();
    let doc = assert_status(&api.send(Request::new("GET", "/v1.0/openapi.json")), 200);
    let expected = [
        (
            "post",
            "/v1.0/tasks/{taskIdentifier}/consultationCall",
            "201",
            Some("ConsultationCall"),
        ),
        (
            "get",
            "/v1.0/tasks/{taskIdentifier}/consultationCall",
            "200",
            Some("ConsultationCall"),
        ),
        (
            "post",
            "/v1.0/teams/{teamIdentifier}/tasks",
            "201",
            Some("Task"),
        ),
        (
            "post",
            "/v1.0/tasks/outboundCall/start",
            "201",
            Some("Task"),
        ),
        (
            "post",
            "/v1.0/tasks/{taskIdentifier}/hold",
            "200",
            Some("TaskStatusData"),
        ),
        (
            "post",
            "/v1.0/tasks/{taskIdentifier}/consultationCall/merge",
            "200",
            Some("TaskStatusData"),
        ),
        ("get", "/v1.0/tasks/{taskIdentifier}", "200", Some("Task")),
        ("post", "/admin/v1.0/apikeys", "201", Some("CreatedApiKey")),
        ("delete", "/admin/v1.0/teams/{teamId}", "204", None),
    ];
    for (method, path, status, schema) in expected {
        let responses = &doc["paths"][path][method]["responses"];
        let success: Vec<&String> = responses
            .as_object()
            .into_iter()
            .flatten()
            .map(|(code, _)| code)
            .filter(|code| code.starts_with('2'))
            .collect();
        assert_eq!(success, vec![status], "{method} {path}");
        let declared = responses[status]["content"]["application/json"]["schema"]["$ref"].as_str();
        assert_eq!(
            declared,
            schema
                .map(|s| format!("#/components/schemas/{s}"))
                .as_deref(),
            "{method} {path}"
        );
    }
    // `GET /teams?status=Active|Inactive` (the vendor's filter), and no other route takes it.
    let status_parameter = |path: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "status" && p["in"] == "query")
            .map(|p| p["schema"]["$ref"].clone())
    };
    assert_eq!(
        status_parameter("/v1.0/teams"),
        Some(json!("#/components/schemas/TeamStatus"))
    );
    for path in [
        "/v1.0/users",
        "/v1.0/teams/{teamIdentifier}/users",
        "/v1.0/teams/{teamIdentifier}",
    ] {
        assert_eq!(status_parameter(path), None, "{path}");
    }
}
