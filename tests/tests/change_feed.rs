//! The team change feed (`GET /v1.0/teams/{t}/events`), against what its issue and
//! docs/api.md promise: every committed change once, in the order made, each task's changes in
//! `Version` order, no event for a refused or failed change, a gap-free list-then-follow, 410 for
//! a cursor older than the newest 10,000 changes, and the same after a store failure at any step.

use serde_json::{json, Value};
use std::sync::Arc;
use tm_e2e_tests::failing_store::FailingStore;
use tm_e2e_tests::scenarios::Tasks;
use tm_e2e_tests::*;

fn events_path(after: Option<&str>) -> String {
    match after {
        Some(cursor) => format!("/v1.0/teams/{TEAM_SUPPORT}/events?after={cursor}"),
        None => format!("/v1.0/teams/{TEAM_SUPPORT}/events"),
    }
}

/// Every event of the Support team's feed after `cursor`, and the cursor at the end.
fn follow(t: &Tasks, cursor: &str) -> (Vec<Value>, String) {
    t.follow_feed(&events_path(None), cursor)
}

/// (task, version, kind) of each event.
fn summary(events: &[Value]) -> Vec<(String, u64, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["TaskId"].as_str().unwrap_or_default().to_string(),
                e["Version"].as_u64().unwrap_or(0),
                e["Kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_committed_change_appears_once_in_the_order_made() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let start = t.read(&events_path(None))["Cursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut made: Vec<(String, u64, String)> = Vec::new();
    // 12 tasks through a working life: more than two pages of entries.
    for n in 0..12 {
        let id = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
        made.push((id.clone(), 1, "Created".into()));
        let steps: [(&str, Option<Value>, &str); 5] = [
            ("offer", Some(json!({"UserIdentifier": ANNA})), "Offer"),
            ("accept", None, "Accept"),
            ("hold", None, "Hold"),
            ("resume", None, "Resume"),
            ("terminate", None, "Terminate"),
        ];
        for (version, (action, body, kind)) in (2..).zip(steps) {
            t.ok(&id, action, body);
            made.push((id.clone(), version, kind.into()));
        }
        // A refused change is no event: resume of an ended task is 409.
        assert_eq!(t.act(&id, "resume", None).status, 409, "task {n}");
    }
    let (events, _) = follow(&t, &start);
    assert_eq!(summary(&events), made);
    // Each event carries the task as it is after the change, and its own cursor in order.
    let mut previous = start.parse::<u64>().unwrap_or(0);
    for event in &events {
        assert_eq!(event["Task"]["Version"], event["Version"]);
        assert_eq!(event["Task"]["Id"], event["TaskId"]);
        let cursor = event["Cursor"]
            .as_str()
            .unwrap_or_default()
            .parse::<u64>()
            .unwrap_or(0);
        assert!(cursor > previous, "cursors grow");
        previous = cursor;
    }
    let last = &events[events.len() - 1];
    assert_eq!(last["Task"]["Status"], "Terminated");
}

#[test]
fn a_list_then_the_feed_from_its_cursor_misses_nothing() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let early = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    let list = api.call(
        &t.key,
        "GET",
        &format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"),
        None,
    );
    assert_eq!(list.status, 200);
    let cursor = list
        .header_value("X-Feed-Cursor")
        .expect("the list says where the feed stands")
        .to_string();
    let listed = list.json_body();
    assert!(listed
        .as_array()
        .into_iter()
        .flatten()
        .any(|x| x["Id"] == early.as_str()));
    let late = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    t.ok(&early, "offer", Some(json!({"UserIdentifier": BEN})));
    let (events, _) = follow(&t, &cursor);
    assert_eq!(
        summary(&events),
        vec![(late, 1, "Created".into()), (early, 2, "Offer".into())]
    );
}

#[test]
fn a_cursor_is_checked_and_a_too_old_one_answers_410() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    for bad in ["abc", "-1", "1.5"] {
        let response = api.call(&t.key, "GET", &events_path(Some(bad)), None);
        let message = assert_error(&response, 400, "BadRequest");
        assert!(message.contains("after"), "{message}");
    }
    let ahead = api.call(&t.key, "GET", &events_path(Some("999")), None);
    assert_error(&ahead, 400, "BadRequest");
    let wait = api.call(
        &t.key,
        "GET",
        &format!("{}?wait=26", events_path(None)),
        None,
    );
    assert!(assert_error(&wait, 400, "BadRequest").contains("wait"));
    // The feed keeps at least its newest 10,000 changes: 10,100 changes later, cursor 0 is gone.
    let task = t.in_state("Connected", None);
    for n in 0..10_100 {
        t.ok(&task, if n % 2 == 0 { "hold" } else { "resume" }, None);
    }
    let gone = api.call(&t.key, "GET", &events_path(Some("0")), None);
    let message = assert_error(&gone, 410, "Gone");
    assert!(message.contains("list"), "says to list again: {message}");
    // A cursor from the list still works, and recent cursors page on.
    let list = api.call(
        &t.key,
        "GET",
        &format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"),
        None,
    );
    let cursor = list
        .header_value("X-Feed-Cursor")
        .unwrap_or_default()
        .to_string();
    let (events, _) = follow(&t, &cursor);
    assert!(events.is_empty());
    // And the store no longer holds what the feed does not keep (the oldest places are
    // deleted), while it holds the newest 10,000.
    let store = api.raw_store().expect("an in-process store");
    let place = |n: u64| {
        store
            .get(&format!("feed/team/{TEAM_SUPPORT}/e/{n}"))
            .ok()
            .flatten()
            .is_some()
    };
    let newest = cursor.parse::<u64>().unwrap_or(0);
    assert!(!place(1), "the oldest place is still stored");
    assert!(
        place(newest - 9_999) && place(newest),
        "a kept place is gone"
    );
    let recent = (cursor.parse::<u64>().unwrap_or(0) - 150).to_string();
    let (events, _) = follow(&t, &recent);
    assert_eq!(events.len(), 150);
}

/// A create, an offer and a hold, each with the store failing at every one of its steps in
/// turn: afterwards (time moved past the feed's waits) the feed holds exactly the changes that
/// committed, each once, each task's in version order.
#[test]
fn a_store_failure_at_any_step_loses_no_committed_change_and_adds_no_other() {
    let store = Arc::new(FailingStore::new());
    let api = Api::in_process_on(store.clone()).with_directory();
    let t = Tasks::new(&api);
    let start = t.read(&events_path(None))["Cursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let connected = t.in_state("Connected", None);
    let mut tasks = vec![connected.clone()];
    let mut failures = 0;
    for step in 1..=14 {
        let queued = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
        tasks.push(queued.clone());
        let requests: [(&str, String, Option<Value>); 3] = [
            (
                "POST",
                format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"),
                Some(json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41"}})),
            ),
            (
                "POST",
                format!("/v1.0/tasks/{queued}/offer"),
                Some(json!({"UserIdentifier": ANNA})),
            ),
            ("POST", format!("/v1.0/tasks/{connected}/hold"), None),
        ];
        for (method, path, body) in requests {
            store.arm(step);
            let response = api.call(&t.key, method, &path, body);
            store.arm(0);
            match response.status {
                200 | 201 => {
                    if let Some(id) = response.json_body()["Id"].as_str() {
                        tasks.push(id.to_string());
                    }
                }
                503 => failures += 1,
                other => panic!("{path} at step {step}: {other} {}", response.json_body()),
            }
            if path.ends_with("/hold") && t.status(&connected) == "OnHold" {
                t.ok(&connected, "resume", None);
            }
        }
    }
    assert!(failures > 20, "the failures hit: {failures}");
    // Last, a hold that dies at its task write (after its intent) and is never retried, then a
    // create: the create's event must still come (the dead intent is refused in the task, not
    // waited for forever).
    store.fail_next_swap_of("task/");
    let dead = api.call(
        &t.key,
        "POST",
        &format!("/v1.0/tasks/{connected}/hold"),
        None,
    );
    assert_eq!(dead.status, 503);
    assert_eq!(t.status(&connected), "Connected");
    tasks.push(t.create(TEAM_SUPPORT, "IncomingCall", "Normal"));
    // Past the time after which in-flight intents are fenced and missing creates given up; a
    // place whose request died before writing it is voided 10 s after a reader first saw it.
    api.advance(60_000);
    let _ = follow(&t, &start);
    api.advance(60_000);
    let (events, _) = follow(&t, &start);
    let summary = summary(&events);
    for task in &tasks {
        let version = t.get(task)["Version"].as_u64().unwrap_or(0);
        let versions: Vec<u64> = summary
            .iter()
            .filter(|(id, ..)| id == task)
            .map(|(_, v, _)| *v)
            .collect();
        assert_eq!(versions, (1..=version).collect::<Vec<_>>(), "task {task}");
    }
    let mut seen: Vec<&(String, u64, String)> = summary.iter().collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), summary.len(), "an event twice");
    // A create that failed before its task was written left no task and no event.
    let listed: Vec<&String> = summary.iter().map(|(id, ..)| id).collect();
    for id in listed {
        assert!(
            tasks.contains(id),
            "an event for a task that does not exist: {id}"
        );
    }
}

/// Lists carry an `ETag` of their content: `If-None-Match` with it answers 304 without a body
/// until the list changes.
#[test]
fn task_lists_answer_304_while_unchanged() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let task = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    t.ok(&task, "offer", Some(json!({"UserIdentifier": ANNA})));
    for path in [
        format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"),
        format!("/v1.0/users/{ANNA}/tasks"),
    ] {
        let first = api.call(&t.key, "GET", &path, None);
        assert_eq!(first.status, 200);
        let etag = first.header_value("ETag").expect("an ETag").to_string();
        let again = api.send(
            tm_core::Request::new("GET", &path)
                .header("api_key", &t.key)
                .header("If-None-Match", &etag),
        );
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header_value("ETag"), Some(etag.as_str()));
        let other = api.send(
            tm_core::Request::new("GET", &path)
                .header("api_key", &t.key)
                .header("If-None-Match", "\"something-else\""),
        );
        assert_eq!(other.status, 200, "{path}");
    }
    // A change makes both lists new.
    let before_team = api.call(
        &t.key,
        "GET",
        &format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"),
        None,
    );
    let before_user = api.call(&t.key, "GET", &format!("/v1.0/users/{ANNA}/tasks"), None);
    t.ok(&task, "accept", None);
    for (path, before) in [
        (format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"), before_team),
        (format!("/v1.0/users/{ANNA}/tasks"), before_user),
    ] {
        let etag = before.header_value("ETag").unwrap_or_default().to_string();
        let after = api.send(
            tm_core::Request::new("GET", &path)
                .header("api_key", &t.key)
                .header("If-None-Match", &etag),
        );
        assert_eq!(after.status, 200, "{path} changed");
        assert_ne!(after.header_value("ETag"), Some(etag.as_str()));
    }
}

fn user_feed(user: &str, after: Option<&str>) -> String {
    match after {
        Some(cursor) => format!("/v1.0/users/{user}/events?after={cursor}"),
        None => format!("/v1.0/users/{user}/events"),
    }
}

/// Every event of a user's feed after `cursor`.
fn follow_user(t: &Tasks, user: &str, cursor: &str) -> Vec<(String, u64, String)> {
    summary(&t.follow_feed(&user_feed(user, None), cursor).0)
}

/// A user's feed holds the changes of tasks assigned to the user and of consultation calls the
/// user is part of, before or after the change (so the change that takes a task away is there
/// too), in order, each once; another user's changes are not.
#[test]
fn a_users_feed_has_the_changes_of_their_tasks_and_consultations() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let start = |user: &str| {
        let response = api.call(&t.key, "GET", &format!("/v1.0/users/{user}/tasks"), None);
        response
            .header_value("X-Feed-Cursor")
            .expect("the user's list says where its feed stands")
            .to_string()
    };
    let (anna, ben, carla) = (start(ANNA), start(BEN), start(CARLA));
    let call = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    t.ok(&call, "offer", Some(json!({"UserIdentifier": ANNA})));
    t.ok(&call, "decline", None); // leaves Anna: still in her feed
    t.ok(&call, "offer", Some(json!({"UserIdentifier": BEN})));
    t.ok(&call, "accept", None);
    t.ok(
        &call,
        "consultationCall",
        Some(json!({"Target": "sip:carla@contoso.com"})),
    );
    t.ok(&call, "consultationCall/answered", None);
    t.ok(&call, "consultationCall/terminate", None); // ends Carla's part: in her feed
    t.ok(&call, "resume", None); // Carla no longer involved
    let other = t.create(TEAM_SUPPORT, "IncomingCall", "Normal"); // nobody's yet
    let s = |id: &str, version: u64, kind: &str| (id.to_string(), version, kind.to_string());
    assert_eq!(
        follow_user(&t, ANNA, &anna),
        vec![s(&call, 2, "Offer"), s(&call, 3, "Decline")]
    );
    assert_eq!(
        follow_user(&t, BEN, &ben),
        vec![
            s(&call, 4, "Offer"),
            s(&call, 5, "Accept"),
            s(&call, 6, "ConsultationCall"),
            s(&call, 7, "ConsultationAnswered"),
            s(&call, 8, "ConsultationTerminate"),
            s(&call, 9, "Resume"),
        ]
    );
    assert_eq!(
        follow_user(&t, CARLA, &carla),
        vec![
            s(&call, 6, "ConsultationCall"),
            s(&call, 7, "ConsultationAnswered"),
            s(&call, 8, "ConsultationTerminate"),
        ]
    );
    assert!(!follow_user(&t, ANNA, &anna)
        .iter()
        .any(|(id, ..)| *id == other));
}
