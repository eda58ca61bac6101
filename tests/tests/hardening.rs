//! Hardening before launch (issue 18), in process: what an unauthenticated request may cost,
//! what answers tell caches and browsers, what a 503 says, caps on waiting feed reads, and
//! requests a store that refuses writes must still answer. Each expectation is written out from
//! the issue; the live checks (a 300 MB body, `/V1.0/teams`) are in `live_spin_runtime.rs`.

use tm_core::{Request, Response};
use tm_e2e_tests::scenarios::Tasks;
use tm_e2e_tests::*;

fn operations_of(api: &Api, request: Request) -> (Response, u64) {
    let store = api.store().expect("in-process");
    let before = store.operations();
    let response = api.send(request);
    (response, store.operations() - before)
}

#[test]
fn a_401_reads_one_batch_and_an_unknown_path_nothing() {
    let api = Api::in_process().with_directory();
    let team_tasks = format!("/v1.0/teams/{TEAM_SUPPORT}/tasks");
    // A made-up key of the right shape: its record is looked up (one batch), nothing else.
    let made_up = format!("tm_{}_{}", "7".repeat(32), "0".repeat(64));
    let cases: Vec<(&str, Request, u16, u64)> = vec![
        (
            "made-up key, team task list",
            Request::new("GET", &team_tasks).header("api_key", &made_up),
            401,
            1,
        ),
        (
            "made-up key, longest waiting task",
            Request::new(
                "GET",
                &format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"),
            )
            .header("api_key", &made_up),
            401,
            1,
        ),
        (
            "malformed key",
            Request::new("GET", &team_tasks).header("api_key", "not-a-key"),
            401,
            0,
        ),
        ("no key", Request::new("GET", &team_tasks), 401, 0),
        ("unknown path", Request::new("GET", "/foo"), 404, 0),
        (
            "unknown path below /v1.0",
            Request::new("GET", "/v1.0/nothing/here").header("api_key", &made_up),
            404,
            0,
        ),
        (
            "admin API with a wrong token",
            Request::new("GET", "/admin/v1.0/apikeys").header("Authorization", "Bearer wrong"),
            401,
            0,
        ),
    ];
    for (case, request, status, expected) in cases {
        let (response, operations) = operations_of(&api, request);
        assert_eq!(response.status, status, "{case}: {}", response.json_body());
        assert_eq!(operations, expected, "{case}: store operations");
    }
}

#[test]
fn every_api_answer_says_no_store_and_browsers_may_send_the_headers_the_api_reads() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let answers = [
        api.call(&t.key, "GET", "/v1.0/teams", None),
        api.call("tm_bad", "GET", "/v1.0/teams", None),
        api.send(Request::new("GET", "/nothing")),
        api.send(Request::new("GET", "/health")),
        api.admin("GET", "/admin/v1.0/apikeys", None),
        api.send(Request::new("GET", "/v1.0/openapi.json")),
    ];
    for answer in &answers {
        assert_eq!(
            answer.header_value("Cache-Control"),
            Some("no-store"),
            "{} {}",
            answer.status,
            answer.json_body()
        );
    }
    let preflight = api.send(
        Request::new("OPTIONS", "/v1.0/teams/x/tasks")
            .header("Origin", "https://crm.example.com")
            .header("Access-Control-Request-Method", "POST"),
    );
    let allowed = preflight
        .header_value("Access-Control-Allow-Headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in [
        "api_key",
        "authorization",
        "content-type",
        "if-match",
        "if-none-match",
        "idempotency-key",
    ] {
        assert!(
            allowed.split(',').any(|h| h.trim() == header),
            "{header} in {allowed}"
        );
    }
    let exposed = preflight
        .header_value("Access-Control-Expose-Headers")
        .unwrap_or_default();
    for header in ["ETag", "Location", "X-Feed-Cursor", "Retry-After"] {
        assert!(exposed.contains(header), "{header} in {exposed}");
    }
}

#[test]
fn a_503_says_only_that_the_store_is_unavailable_and_logs_the_detail() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let store = api.store().expect("in-process");
    store.set_unavailable(true);
    for response in [
        api.call(&t.key, "GET", "/v1.0/teams", None),
        api.send(Request::new("GET", "/health")),
    ] {
        let message = assert_error(&response, 503, "ServiceUnavailable");
        assert_eq!(message, "The store is unavailable; retry.");
        let body = String::from_utf8_lossy(&response.body);
        assert!(!body.contains("memory store"), "{body}");
        let log = response.log.clone().unwrap_or_default();
        assert!(log.contains("memory store switched off"), "{log}");
    }
}

#[test]
fn reads_go_on_when_the_store_refuses_writes() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let task = t.in_state("Connected", None);
    let store = api.store().expect("in-process");
    // LastUsedAt is written at most once a minute: let a minute pass, so this GET writes it.
    api.advance(61_000);
    store.set_read_only(true);
    let response = api.call(&t.key, "GET", &format!("/v1.0/tasks/{task}"), None);
    assert_eq!(response.status, 200, "{}", response.json_body());
    let log = response.log.clone().unwrap_or_default();
    assert!(
        log.contains("LastUsedAt"),
        "the operator hears of it: {log}"
    );
    let hold = api.call(&t.key, "POST", &format!("/v1.0/tasks/{task}/hold"), None);
    assert_error(&hold, 503, "ServiceUnavailable");
    store.set_read_only(false);
}

#[test]
fn a_cursor_past_any_counter_is_ahead_not_an_overflow() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    for after in [
        "18446744073709551615",
        "18446744073709551584",
        "9223372036854775808",
        "9223372036854775807",
    ] {
        let response = api.call(
            &t.key,
            "GET",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/events?after={after}"),
            None,
        );
        let message = assert_error(&response, 400, "BadRequest");
        assert!(message.contains("ahead"), "{after}: {message}");
    }
}

#[test]
fn waiting_reads_are_capped_per_key_and_a_read_without_a_cursor_never_waits() {
    let api = Api::in_process().with_directory().with_wait_caps(2, 3);
    let t = Tasks::new(&api);
    let other = api.key(&["TasksReadonly"]);
    let cursor = {
        let page = assert_status(
            &api.call(
                &t.key,
                "GET",
                &format!("/v1.0/teams/{TEAM_SUPPORT}/events"),
                None,
            ),
            200,
        );
        page["Cursor"].as_str().unwrap_or_default().to_string()
    };
    let waiting = |key: &str| {
        api.call(
            key,
            "GET",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/events?after={cursor}&wait=25"),
            None,
        )
    };
    // No cursor: answered at once, nothing to wait for.
    let no_cursor = api.call(
        &t.key,
        "GET",
        &format!("/v1.0/teams/{TEAM_SUPPORT}/events?wait=25"),
        None,
    );
    assert_eq!(no_cursor.status, 200);
    assert!(
        no_cursor.wait.is_none(),
        "a read without 'after' never waits"
    );
    // Nothing new: the host may wait (the in-process backend does not, so each stays counted).
    let first = waiting(&t.key);
    let second = waiting(&t.key);
    assert!(first.wait.is_some() && second.wait.is_some());
    let third = waiting(&t.key);
    let message = assert_error(&third, 429, "TooManyRequests");
    assert!(message.contains("API key"), "{message}");
    assert_eq!(third.header_value("Retry-After"), Some("30"));
    // Another key has its own cap, within the service's.
    assert!(waiting(&other).wait.is_some());
    let message = assert_error(&waiting(&other), 429, "TooManyRequests");
    assert!(message.contains("service"), "{message}");
    // A wait that ends frees its place.
    api.end_wait(&first);
    assert!(waiting(&t.key).wait.is_some());
    // Without `wait`, or with something new, nothing is counted.
    let plain = api.call(
        &t.key,
        "GET",
        &format!("/v1.0/teams/{TEAM_SUPPORT}/events?after={cursor}"),
        None,
    );
    assert_eq!(plain.status, 200);
    assert!(plain.wait.is_none());
    t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    let news = waiting(&t.key);
    assert_eq!(
        news.status, 200,
        "something new is answered even at the cap"
    );
    assert!(news.wait.is_none());
    // Waits started more than a window before are forgotten (a request that died waiting).
    api.advance(61_000);
    let page = assert_status(
        &api.call(
            &t.key,
            "GET",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/events"),
            None,
        ),
        200,
    );
    let fresh_cursor = page["Cursor"].as_str().unwrap_or_default().to_string();
    let again = api.call(
        &t.key,
        "GET",
        &format!("/v1.0/teams/{TEAM_SUPPORT}/events?after={fresh_cursor}&wait=25"),
        None,
    );
    assert!(again.wait.is_some(), "{}", again.json_body());
}
