//! Tests that need the in-process backend: a virtual clock, store access (outages, raw
//! contents) or many threads on one store. Store costs: `store_costs.rs`; the route table and
//! the OpenAPI document against the contract: `contract_document.rs`.

use serde_json::json;
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
            Some(json!({"Name": "short", "Roles": ["UsersReadonly"], "ExpiresAt": expires})),
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

    #[test]
    fn the_queue_is_served_in_order_after_parallel_changes() {
        concurrency::the_queue_is_served_in_order_after_parallel_changes(&api());
    }

    #[test]
    fn the_feed_has_every_committed_change_once_in_one_order() {
        concurrency::the_feed_has_every_committed_change_once_in_one_order(&api());
    }
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
    // The lock, the marker and the audit trail's entry (an increment and a write: the admin
    // did write the directory, even if nothing changed).
    assert!(
        store.writes() - writes <= 6,
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
    let response = tm_core::setup::handle_preparing(
        &request,
        &mut env,
        || tm_core::demo::DemoData::On,
        |done| prepared = Some(done),
    );
    assert_eq!(prepared, Some(Ok(tm_core::setup::Prepared::Migrated)));
    assert_eq!(assert_status(&response, 200)["Id"], TEAM_SUPPORT);
    // As stored then, with what teams say now that a stored team did not: the default
    // distribution settings (Manual).
    let mut expected = directory();
    for team in expected["Teams"].as_array_mut().into_iter().flatten() {
        team["Distribution"] = serde_json::json!({"Mode": "Manual", "RingTimeoutSeconds": 20, "WrapUpSeconds": 0, "NotRespondingResetSeconds": 600, "ServiceLevelThresholdSeconds": 20});
    }
    assert_eq!(
        assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200),
        expected
    );
    assert_eq!(
        tm_core::Store::get(store.as_ref(), tm_core::repo::keys::LEGACY_DIRECTORY).expect("get"),
        None,
        "the old document is gone"
    );
    // Moved, so no demo data either: the next call finds it ready.
    let mut again = None;
    tm_core::setup::handle_preparing(
        &request,
        &mut env,
        || tm_core::demo::DemoData::On,
        |done| again = Some(done),
    );
    assert_eq!(again, None, "a 200 prepares nothing");
}

/// "Bodies over 64 KiB: 413": a body of exactly 64 KiB is taken, one byte more is not; a route
/// without a body ignores whatever is sent, with any content type.
#[test]
fn the_body_limit_is_exactly_64_kib_and_bodyless_routes_ignore_bodies() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let create = |size: usize| {
        let mut body =
            br#"{"Type":"ExternalTask","Customer":{"Uri":"mailto:a@example.com"}}"#.to_vec();
        body.resize(size, b' ');
        api.send(
            Request::new("POST", &format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"))
                .header("api_key", &t.key)
                .header("Content-Type", "application/json")
                .raw_body(&body),
        )
    };
    assert_status(&create(64 * 1024), 201);
    assert_error(&create(64 * 1024 + 1), 413, "PayloadTooLarge");
    let task = t.in_state("Connected", None);
    let hold = api.send(
        Request::new("POST", &format!("/v1.0/tasks/{task}/hold"))
            .header("api_key", &t.key)
            .header("Content-Type", "text/plain")
            .raw_body(b"please hold"),
    );
    assert_eq!(assert_status(&hold, 200)["Status"], "OnHold");
}

/// `EndedAt` is the time a task reached a final state: null before, set once, never moved.
#[test]
fn ended_at_is_set_once_when_the_task_ends() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let task = t.in_state("Connected", None);
    api.advance(1_000);
    t.ok(&task, "hold", None);
    assert_eq!(t.get(&task)["EndedAt"], serde_json::Value::Null, "on hold");
    api.advance(1_000);
    let ended_at = api.now().to_rfc3339();
    t.ok(&task, "terminate", None);
    assert_eq!(t.get(&task)["EndedAt"], ended_at.as_str());
}

/// API key names: 1 to 100 characters (the schema's `maxLength`), counted as characters.
#[test]
fn api_key_names_are_one_to_a_hundred_characters() {
    let api = Api::in_process().with_directory();
    let create = |name: String| {
        api.admin(
            "POST",
            "/admin/v1.0/apikeys",
            Some(json!({"Name": name, "Roles": ["TasksReadonly"]})),
        )
    };
    assert_status(&create("é".repeat(100)), 201);
    assert_error(&create("é".repeat(101)), 400, "BadRequest");
    assert_error(&create("  ".into()), 400, "BadRequest");
}

/// Create limits from docs/api.md, both ends inclusive and counted as characters: Description
/// 150, other texts 256; one more is a 400 naming the field, and nothing is created.
#[test]
fn create_text_limits_are_inclusive_and_counted_in_characters() {
    let api = Api::in_process().with_directory();
    let key = api.key(&[]);
    let path = format!("/v1.0/teams/{TEAM_SUPPORT}/tasks");
    let create = |field: &str, value: String| {
        let mut body = json!({"Type": "ExternalTask", "Customer": {"Uri": "crm:1"}});
        match field {
            "Customer.Uri" => body["Customer"]["Uri"] = json!(value),
            "Customer.DisplayName" => body["Customer"]["DisplayName"] = json!(value),
            other => body[other] = json!(value),
        }
        api.call(&key, "POST", &path, Some(body))
    };
    for (field, limit) in [
        ("Description", 150),
        ("ExternalTaskId", 256),
        ("Customer.DisplayName", 256),
        ("Customer.Uri", 256),
    ] {
        let created = assert_status(&create(field, "é".repeat(limit)), 201);
        assert!(created["Id"].is_string(), "{field} at {limit}");
        let listed = api.call(&key, "GET", &path, None).json_body();
        let count = listed.as_array().map_or(0, Vec::len);
        let message = assert_error(&create(field, "é".repeat(limit + 1)), 400, "BadRequest");
        assert!(message.contains(field), "{field}: {message}");
        let after = api.call(&key, "GET", &path, None).json_body();
        assert_eq!(
            after.as_array().map_or(0, Vec::len),
            count,
            "{field}: created anyway"
        );
    }
}

/// Paging (docs/api.md): either `offset` or `limit` makes a request paged, answered with
/// `X-Total-Count`; with neither, the vendor's plain array and no paging headers.
#[test]
fn offset_or_limit_alone_pages_and_neither_does_not() {
    let api = Api::in_process().with_directory();
    let key = api.key(&[]);
    let total = |path: &str| {
        let response = api.call(&key, "GET", path, None);
        assert_eq!(response.status, 200, "{path}");
        let count = response.json_body().as_array().map_or(0, Vec::len);
        (
            count,
            response.header_value("X-Total-Count").map(String::from),
        )
    };
    // The test directory's four users.
    assert_eq!(total("/v1.0/users"), (4, None));
    assert_eq!(total("/v1.0/users?offset=1"), (3, Some("4".into())));
    assert_eq!(total("/v1.0/users?limit=2"), (2, Some("4".into())));
    assert_eq!(total("/v1.0/users?offset=1&limit=2"), (2, Some("4".into())));
}
