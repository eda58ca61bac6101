//! Retention (issue 23) on the virtual clock: finished tasks go 30 days (the default) after
//! they ended, through the admin sweep and through the requests' own upkeep; a sweep slice
//! costs the same whatever the store holds; a long run keeps about 30 days of tasks.

use tm_core::store::Store;
use tm_e2e_tests::scenarios::Tasks;
use tm_e2e_tests::*;

const DAY: i64 = 86_400_000;

fn sweep(api: &Api) -> serde_json::Value {
    assert_status(&api.admin("POST", "/admin/v1.0/retention/sweep", None), 200)
}

fn ended_task(t: &Tasks) -> String {
    let id = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    t.ok(&id, "terminate", None);
    id
}

#[test]
fn a_task_ended_31_days_ago_is_gone_after_a_sweep_and_one_ended_29_days_ago_stays() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let old = ended_task(&t);
    let open = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    api.advance(2 * DAY);
    let recent = ended_task(&t);
    api.advance(29 * DAY);
    let swept = sweep(&api);
    assert_eq!(swept["Deleted"], 1, "{swept}");
    assert_eq!(swept["RetentionDays"], 30);
    let get = |id: &str| {
        api.call(&t.key, "GET", &format!("/v1.0/tasks/{id}"), None)
            .status
    };
    assert_eq!(get(&old), 404, "ended 31 days ago: gone");
    assert_eq!(get(&recent), 200, "ended 29 days ago: kept");
    assert_eq!(get(&open), 200, "never ended: kept");
    // Nothing else is due: a second sweep deletes nothing.
    assert_eq!(sweep(&api)["Deleted"], 0);
    let keys = api.store().map(|s| s.value_keys()).unwrap_or_default();
    assert!(!keys.contains(&format!("task/{old}")));
    // What stays of it (its snapshots in the feeds, retired in order) names no customer.
    let store = api.store().expect("in process");
    let snapshots: Vec<String> = keys
        .iter()
        .filter_map(|key| String::from_utf8(store.get(key).ok().flatten()?).ok())
        .filter(|value| value.contains(&old))
        .collect();
    assert!(!snapshots.is_empty(), "the feeds still hold the old task");
    for value in &snapshots {
        assert!(
            !value.contains("tel:+41445550100") && !value.contains("Mia Weber"),
            "a snapshot of a deleted task keeps its customer: {value}"
        );
    }
    // Two days later the recent one is due too.
    api.advance(2 * DAY);
    assert_eq!(sweep(&api)["Deleted"], 1);
    assert_eq!(get(&recent), 404);
    assert_eq!(get(&open), 200);
    // The day buckets of swept days are gone with their tasks.
    let left: Vec<String> = api
        .store()
        .map(|s| s.value_keys())
        .unwrap_or_default()
        .into_iter()
        .filter(|k| k.starts_with("retention/ended/"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_sweep_slice_costs_the_same_for_150_and_1500_due_tasks() {
    let measure = |due: usize| -> (u64, serde_json::Value) {
        let api = Api::in_process().with_directory();
        let t = Tasks::new(&api);
        for _ in 0..due {
            ended_task(&t);
        }
        api.advance(32 * DAY);
        let store = api.store().expect("in-process");
        let before = store.operations();
        let swept = sweep(&api);
        (store.operations() - before, swept)
    };
    let (few, few_swept) = measure(150);
    let (many, many_swept) = measure(1_500);
    eprintln!("a sweep slice: {few} store operations with 150 due, {many} with 1,500");
    assert_eq!(few_swept["Deleted"], 100);
    assert_eq!(many_swept["Deleted"], 100);
    assert_eq!(few_swept["MoreDue"], true);
    assert_eq!(few, many, "a slice's cost grew with the store");
}

#[test]
fn a_long_run_keeps_about_thirty_days_of_tasks_at_unchanged_request_costs() {
    let tasks: i64 = std::env::var("TM_RETENTION_RUN_TASKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(6_000);
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let store = api.store().expect("in-process");
    let step = 60 * DAY / tasks;
    let create_cost = || -> u64 {
        let before = store.operations();
        let id = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
        let cost = store.operations() - before;
        t.ok(&id, "terminate", None);
        cost
    };
    // After the first create (which makes the team's indexes).
    ended_task(&t);
    let first_cost = create_cost();
    for _ in 0..tasks {
        api.advance(step);
        ended_task(&t);
    }
    let last_cost = create_cost();
    let kept = store
        .value_keys()
        .iter()
        .filter(|k| k.starts_with("task/"))
        .count() as i64;
    let per_day = tasks / 60;
    eprintln!(
        "{tasks} tasks over 60 days: {kept} kept (30 days = {}), create {first_cost} then {last_cost} store operations",
        30 * per_day
    );
    // 30 days after they ended, plus what the day being swept still holds (the sweep goes by
    // whole days): between 30 and 32 days' worth.
    assert!(
        kept >= 30 * per_day && kept <= 32 * per_day + 2,
        "{kept} tasks kept, {per_day} a day"
    );
    assert_eq!(first_cost, last_cost, "a create costs what it did");
}

/// The store's keys of `Idempotency-Key` records (records, stall notes, gates, expiry buckets).
fn answer_keys(api: &Api) -> Vec<String> {
    let mut keys: Vec<String> = api
        .store()
        .map(|s| [s.value_keys(), s.counter_keys()].concat())
        .unwrap_or_default()
        .into_iter()
        .filter(|k| k.contains("idempotency/") || k.starts_with("answers/expiry/e"))
        .collect();
    keys.sort();
    keys
}

fn create_with_key(api: &Api, t: &Tasks, key: &str) -> tm_core::Response {
    let body = serde_json::json!({"Type": "IncomingCall", "Priority": "Normal",
        "Customer": {"Uri": "tel:+41445550100", "DisplayName": "Mia Weber"}});
    api.send(
        tm_core::Request::new("POST", &format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"))
            .header("api_key", &t.key)
            .header("Idempotency-Key", key)
            .json(&body),
    )
}

/// Issue 23: a stored answer is replayed for 24 hours, across the epoch it was claimed in, and
/// its records are deleted once no request can read them (by the admin sweep and by the
/// requests' own upkeep); the key is then free at once.
#[test]
fn idempotency_records_are_replayed_for_a_day_and_then_deleted() {
    const HOUR: i64 = 3_600_000;
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    // 23:00 UTC of the clock's day: the next epoch begins in an hour.
    let into_day = api.now().unix_millis().rem_euclid(DAY);
    api.advance(DAY - into_day - HOUR);
    let first = create_with_key(&api, &t, "order-1");
    assert_eq!(first.status, 201);
    let id = first.json_body()["Id"].clone();
    // Two hours later, in the next epoch: the same answer.
    api.advance(2 * HOUR);
    let replay = create_with_key(&api, &t, "order-1");
    assert_eq!(replay.status, 201);
    assert_eq!(replay.header_value("Idempotent-Replayed"), Some("true"));
    assert_eq!(replay.json_body()["Id"], id);
    // 23:59:59.999 after the first: still the same answer.
    api.advance(22 * HOUR - 1);
    let last = create_with_key(&api, &t, "order-1");
    assert_eq!(last.json_body()["Id"], id, "kept 24 hours");
    assert!(!answer_keys(&api).is_empty());
    // Two days on, the admin sweep deletes the record, its gate and its bucket entry.
    api.advance(2 * DAY);
    let swept = sweep(&api);
    assert_eq!(swept["ExpiredAnswersDeleted"], 1, "{swept}");
    assert_eq!(answer_keys(&api), Vec::<String>::new());
    // The key is free at once (no 409 from a gate left behind), and a new request runs.
    let again = create_with_key(&api, &t, "order-1");
    assert_eq!(again.status, 201, "{}", again.json_body());
    assert_eq!(again.header_value("Idempotent-Replayed"), None);
    assert_ne!(again.json_body()["Id"], id);

    // Without the admin sweep, the requests' own upkeep deletes them too.
    for n in 0..20 {
        assert_eq!(create_with_key(&api, &t, &format!("burst-{n}")).status, 201);
    }
    api.advance(3 * DAY);
    for _ in 0..32 {
        let id = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
        t.ok(&id, "terminate", None);
    }
    let left = answer_keys(&api);
    assert!(left.is_empty(), "{left:?}");
}

fn key_with(api: &Api, expires_at: Option<String>) -> (String, String) {
    let created = assert_status(
        &api.admin(
            "POST",
            "/admin/v1.0/apikeys",
            Some(serde_json::json!({"Name": "crm", "Roles": ["TeamsReadonly", "TasksReadonly"], "ExpiresAt": expires_at})),
        ),
        201,
    );
    let id = created["Id"].as_str().unwrap_or_default().to_string();
    let secret = created["Secret"].as_str().unwrap_or_default().to_string();
    (id, secret)
}

/// The 401 message a key gets on a read, or "ok".
fn key_answer(api: &Api, secret: &str) -> String {
    let answer = api.call(secret, "GET", "/v1.0/teams", None);
    if answer.status == 200 {
        return "ok".into();
    }
    assert_error(&answer, 401, "Unauthorized")
}

/// Every key (counters too) a key's id is in: its record, last use, wait counters.
fn key_records(api: &Api, id: &str) -> Vec<String> {
    let store = api.store().expect("in process");
    store
        .value_keys()
        .into_iter()
        .chain(store.counter_keys())
        .filter(|k| k.contains(id))
        .collect()
}

/// A waiting read of Support's feed with `secret` (counted under the key's scope).
fn waiting_read(api: &Api, secret: &str) {
    let feed = format!("/v1.0/teams/{TEAM_SUPPORT}/events");
    let listed = assert_status(&api.call(secret, "GET", &feed, None), 200);
    let cursor = listed["Cursor"].as_str().unwrap_or_default();
    let path = format!("{feed}?after={cursor}&wait=5");
    assert_status(&api.call(secret, "GET", &path, None), 200);
}

/// Issue 23: a revoked or expired key's record stays 90 days (callers are told "revoked" or
/// "expired", an expired key can be extended), then goes with its last use and its slot; a
/// key extended in time, and one without expiry, stay.
#[test]
fn revoked_and_expired_keys_records_go_ninety_days_after_they_stopped_working() {
    let api = Api::in_process().with_directory();
    let in_days = |days: i64| Some(api.now().plus_millis(days * DAY).to_string());
    let (revoked, revoked_secret) = key_with(&api, None);
    let (expired, expired_secret) = key_with(&api, in_days(1));
    let (extended, extended_secret) = key_with(&api, in_days(1));
    let (_, forever_secret) = key_with(&api, None);
    for secret in [&revoked_secret, &expired_secret, &extended_secret] {
        assert_eq!(key_answer(&api, secret), "ok");
    }
    waiting_read(&api, &revoked_secret);
    assert!(
        key_records(&api, &revoked)
            .iter()
            .any(|k| k.starts_with("waits/")),
        "the waiting read is counted under the key"
    );
    api.admin("DELETE", &format!("/admin/v1.0/apikeys/{revoked}"), None);
    // Day 60: the expired one is extended by a year.
    api.advance(60 * DAY);
    let patch = api.admin(
        "PATCH",
        &format!("/admin/v1.0/apikeys/{extended}"),
        Some(serde_json::json!({"ExpiresAt": in_days(365)})),
    );
    assert_eq!(patch.status, 200);
    // Day 90: the revoked key is 90 days short of a millisecond: kept; so is the expired one.
    api.advance(30 * DAY - 1);
    assert_eq!(sweep(&api)["ApiKeysDeleted"], 0);
    assert_eq!(
        key_answer(&api, &revoked_secret),
        "The API key has been revoked."
    );
    assert!(key_answer(&api, &expired_secret).starts_with("The API key expired at "));
    // Day 91: both went 90 days ago (the expired one on day 1).
    api.advance(DAY + 1);
    let swept = sweep(&api);
    assert_eq!(swept["ApiKeysDeleted"], 2, "{swept}");
    for (id, secret) in [(&revoked, &revoked_secret), (&expired, &expired_secret)] {
        assert_eq!(key_answer(&api, secret), "The API key is not valid.");
        assert_eq!(
            key_records(&api, id),
            Vec::<String>::new(),
            "record, last use and wait counters gone"
        );
        let patch = api.admin(
            "PATCH",
            &format!("/admin/v1.0/apikeys/{id}"),
            Some(serde_json::json!({"ExpiresAt": null})),
        );
        assert_eq!(patch.status, 404);
    }
    assert_eq!(key_answer(&api, &extended_secret), "ok");
    assert_eq!(key_answer(&api, &forever_secret), "ok");
    let listed = assert_status(&api.admin("GET", "/admin/v1.0/apikeys", None), 200);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    let slots = |api: &Api| {
        api.store()
            .map(|s| s.value_keys())
            .unwrap_or_default()
            .into_iter()
            .filter(|k| k.starts_with("apikey-slot/"))
            .count()
    };
    assert_eq!(slots(&api), 2, "their slots gone");

    // Without the admin sweep, creating keys sweeps too.
    let (forever, _) = key_with(&api, None);
    api.admin("DELETE", &format!("/admin/v1.0/apikeys/{forever}"), None);
    api.advance(91 * DAY);
    key_with(&api, None);
    assert_eq!(key_records(&api, &forever), Vec::<String>::new());
}
