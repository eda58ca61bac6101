//! What deleted teams and users leave (issue 23: "Feeds, indexes, heads and lookups of deleted
//! teams and users are deleted with them (or by the sweep)"), in process on the memory store
//! and on a real redis-server: after the sweeps no key names the entity, also after parallel
//! deletes and sweeps; a slice costs the same whatever a feed holds; a
//! deletion undone before the sweep keeps the feed; a deleting write that dies at any step
//! leaves nothing behind once retried and swept.

use serde_json::{json, Value};
use std::sync::Arc;
use tm_core::MemoryStore;
use tm_e2e_tests::failing_store::FailingStore;
use tm_e2e_tests::redis_server::{api_on_redis, redis_keys};
use tm_e2e_tests::scenarios::Tasks;
use tm_e2e_tests::*;

const NIGHT: &str = "7e000000-0000-4000-8000-0000000000d1";
/// `repo::DIRECTORY_LEASE_MILLIS`: five minutes.
const DIRECTORY_LEASE_MILLIS: i64 = 5 * 60 * 1000;
const EVA: &str = "5e000000-0000-4000-8000-0000000000d1";

fn night_team() -> Value {
    json!({"Name": "Night", "Description": "After hours", "SipUri": "sip:night@contoso.com",
        "OrganizationUnitId": OU_CARE, "Status": "Active"})
}

fn eva() -> Value {
    json!({"DisplayName": "Eva Roth", "FirstName": "Eva", "LastName": "Roth",
        "Upn": "eva.upn@contoso.com", "SipUri": "sip:eva@contoso.com", "Email": "eva@contoso.com"})
}

fn put(api: &Api, path: &str, body: Value) {
    let status = api.admin("PUT", path, Some(body)).status;
    assert!(status == 200 || status == 201, "{path}: {status}");
}

/// Night with Eva in it.
fn with_night_and_eva(api: &Api) {
    put(api, &format!("/admin/v1.0/teams/{NIGHT}"), night_team());
    put(api, &format!("/admin/v1.0/users/{EVA}"), eva());
    put(
        api,
        &format!("/admin/v1.0/teams/{NIGHT}/members/{EVA}"),
        json!({"IsActive": true}),
    );
}

fn keys_naming(api: &Api, ids: &[&str]) -> Vec<String> {
    keys_of(api.store().expect("on the memory store"), ids)
}

fn keys_of(store: &MemoryStore, ids: &[&str]) -> Vec<String> {
    naming(
        store
            .value_keys()
            .into_iter()
            .chain(store.counter_keys())
            .collect(),
        ids,
    )
}

/// Those of `keys` that contain one of `ids`.
fn naming(keys: Vec<String>, ids: &[&str]) -> Vec<String> {
    keys.into_iter()
        .filter(|key| ids.iter().any(|id| key.contains(id)))
        .collect()
}

fn sweep(api: &Api) -> Value {
    assert_status(&api.admin("POST", "/admin/v1.0/retention/sweep", None), 200)
}

/// Sweeps until nothing is left; the number of sweeps.
fn sweep_until_clean(api: &Api) -> usize {
    for n in 1..=100 {
        if sweep(api)["MoreLeftovers"] == false {
            return n;
        }
    }
    panic!("leftovers after 100 sweeps")
}

/// `tasks` tasks of Night created and ended: two places each in its feed.
fn ended_tasks(t: &Tasks, tasks: usize) {
    for _ in 0..tasks {
        let id = t.create(NIGHT, "IncomingCall", "Normal");
        t.ok(&id, "terminate", None);
    }
}

#[test]
fn a_deleted_team_and_user_leave_no_key_that_names_them_on_the_memory_store() {
    let api = Api::in_process().with_directory();
    let keys = || keys_naming(&api, &[NIGHT, EVA]);
    a_deleted_team_and_user_leave_no_key_that_names_them(&api, &keys);
    let jobs = keys_of(api.store().expect("in process"), &["leftovers/e/"]);
    assert_eq!(
        jobs,
        Vec::<String>::new(),
        "the jobs' entries went with them"
    );
}

#[test]
fn a_deleted_team_and_user_leave_no_key_that_names_them_in_redis() {
    let Some((api, server)) = api_on_redis("leftovers on redis") else {
        return;
    };
    let keys = || naming(redis_keys(&server), &[NIGHT, EVA]);
    a_deleted_team_and_user_leave_no_key_that_names_them(&api, &keys);
}

/// Night and Eva with tasks, availability, a session's waiting read and statistics, deleted
/// and swept: `keys()` (the store's keys that name either) ends empty.
fn a_deleted_team_and_user_leave_no_key_that_names_them(api: &Api, keys: &dyn Fn() -> Vec<String>) {
    with_night_and_eva(api);
    let t = Tasks::new(api);
    // A task Eva took and ended, one that ended waiting, her availability and a session.
    let taken = t.create(NIGHT, "IncomingCall", "Normal");
    t.ok(&taken, "offer", Some(json!({"UserIdentifier": EVA})));
    t.ok(&taken, "accept", None);
    t.ok(&taken, "terminate", None);
    ended_tasks(&t, 3);
    let set = api.call(
        &t.key,
        "PUT",
        &format!("/v1.0/users/{EVA}/availability"),
        Some(json!({"State": "Away"})),
    );
    assert_status(&set, 200);
    let session = api.call(&t.key, "POST", &format!("/v1.0/users/{EVA}/sessions"), None);
    let token = assert_status(&session, 201)["Token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Her session's waiting read of her feed (counted under her scope).
    let feed = format!("/v1.0/users/{EVA}/events");
    let cursor = t.read(&feed)["Cursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let wait = tm_core::Request::new("GET", &format!("{feed}?after={cursor}&wait=5"))
        .header("Authorization", &format!("Bearer {token}"));
    assert_status(&api.send(wait), 200);
    assert_status(
        &api.call(
            &t.key,
            "GET",
            &format!("/v1.0/teams/{NIGHT}/statistics"),
            None,
        ),
        200,
    );
    let before = keys();
    for kind in [
        "index/team/",
        "index/team-head/",
        "feed/team/",
        "stats/team/",
        "index/user/",
        "feed/user/",
        "agent/",
        "sessions/",
        "waits/agent/",
    ] {
        assert!(
            before.iter().any(|k| k.starts_with(kind)),
            "{kind} before the deletion: {before:?}"
        );
    }
    for path in [
        format!("/admin/v1.0/teams/{NIGHT}"),
        format!("/admin/v1.0/users/{EVA}"),
    ] {
        assert_eq!(api.admin("DELETE", &path, None).status, 204, "{path}");
    }
    sweep_until_clean(api);
    // Her sessions record stays a day, so her token is told it was revoked.
    let mut left = keys();
    left.sort();
    assert_eq!(
        left,
        [format!("gate/sessions/{EVA}"), format!("sessions/{EVA}")]
    );
    let own = tm_core::Request::new("GET", &format!("/v1.0/users/{EVA}"))
        .header("Authorization", &format!("Bearer {token}"));
    let refused = api.send(own.clone());
    assert_eq!(
        assert_error(&refused, 401, "Unauthorized"),
        "The session has been revoked."
    );
    // The next day but one, a sweep deletes it too.
    api.advance(2 * 86_400_000);
    sweep(api);
    assert_eq!(keys(), Vec::<String>::new());
    let refused = api.send(own);
    assert_eq!(
        assert_error(&refused, 401, "Unauthorized"),
        "The session is not valid."
    );
    // Nothing to do any more.
    let again = sweep(api);
    assert_eq!(again["LeftoverKeysDeleted"], 0, "{again}");
    assert_eq!(again["MoreLeftovers"], false);
    // The tasks themselves stay until their retention, readable by id.
    assert_status(
        &api.call(&t.key, "GET", &format!("/v1.0/tasks/{taken}"), None),
        200,
    );
}

#[test]
fn a_leftover_slice_costs_the_same_for_a_feed_of_1600_and_one_of_3200_places() {
    let measure = |tasks: usize| -> (u64, Value) {
        let api = Api::in_process().with_directory();
        with_night_and_eva(&api);
        ended_tasks(&Tasks::new(&api), tasks);
        assert_eq!(
            api.admin("DELETE", &format!("/admin/v1.0/teams/{NIGHT}"), None)
                .status,
            204
        );
        let store = api.store().expect("in process");
        let before = store.operations();
        let swept = sweep(&api);
        (store.operations() - before, swept)
    };
    let (small, small_swept) = measure(800);
    let (big, big_swept) = measure(1_600);
    eprintln!(
        "a leftover slice: {small} store operations with 1,600 places left, {big} with 3,200"
    );
    assert_eq!(small_swept["LeftoverKeysDeleted"], 3_000, "{small_swept}");
    assert_eq!(big_swept["LeftoverKeysDeleted"], 3_000, "{big_swept}");
    assert_eq!(small_swept["MoreLeftovers"], true);
    assert_eq!(small, big, "a slice's cost grew with the feed");
}

#[test]
fn a_team_made_again_before_the_sweep_keeps_what_is_left_of_its_feed() {
    let api = Api::in_process().with_directory();
    with_night_and_eva(&api);
    let t = Tasks::new(&api);
    ended_tasks(&t, 400);
    let team = format!("/admin/v1.0/teams/{NIGHT}");
    assert_eq!(api.admin("DELETE", &team, None).status, 204);
    // The deleting write did one slice (the first 500 places): the newest 300 are still there.
    put(&api, &team, night_team());
    let swept = sweep(&api);
    assert_eq!(swept["LeftoverKeysDeleted"], 0, "{swept}");
    assert_eq!(swept["MoreLeftovers"], false, "{swept}");
    let events = |after: u64| -> Vec<Value> {
        t.read(&format!("/v1.0/teams/{NIGHT}/events?after={after}"))["Events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        events(790).len(),
        10,
        "the newest places of the feed answer"
    );
    let id = t.create(NIGHT, "IncomingCall", "Normal");
    let newest = events(800);
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0]["Task"]["Id"], id.as_str(), "{newest:?}");
    assert!(
        keys_naming(&api, &[NIGHT]).contains(&format!("index/team/{NIGHT}")),
        "the team made again has its index"
    );
}

#[test]
fn a_deleting_write_that_dies_at_any_step_leaves_nothing_once_retried_and_swept() {
    let mut died = 0;
    for step in 1..=200 {
        let store = Arc::new(FailingStore::new());
        let api = Api::in_process_on(store.clone()).with_directory();
        with_night_and_eva(&api);
        let t = Tasks::new(&api);
        ended_tasks(&t, 2);
        assert!(
            keys_of(&store.inner, &[NIGHT]).len() > 30,
            "the team's keys"
        );
        let path = format!("/admin/v1.0/teams/{NIGHT}");
        store.arm(step);
        let first = api.admin("DELETE", &path, None).status;
        let reached = !store.armed();
        store.arm(0);
        if first != 204 {
            assert!(reached, "step {step}: {first} without the failure");
            died += 1;
            // A write that died holding the directory lease holds it until it runs out.
            api.advance(DIRECTORY_LEASE_MILLIS + 1);
            let retried = api.admin("DELETE", &path, None).status;
            assert!(
                retried == 204 || retried == 404,
                "step {step}: the retry answered {retried}"
            );
        }
        sweep_until_clean(&api);
        assert_eq!(
            keys_of(&store.inner, &[NIGHT]),
            Vec::<String>::new(),
            "step {step}"
        );
        let lookups = keys_of(&store.inner, &["dir/team-name/"]).len();
        assert_eq!(lookups, 3, "step {step}: the other three teams' names only");
        if !reached {
            break;
        }
    }
    assert!(died > 10, "the failures hit: {died}");
}

#[test]
fn a_deleted_teams_name_taken_by_another_team_in_the_same_write_stays_that_teams() {
    let api = Api::in_process().with_directory();
    with_night_and_eva(&api);
    let mut directory = assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200);
    if let Some(teams) = directory["Teams"].as_array_mut() {
        teams.retain(|t| t["Id"] != NIGHT);
        for team in teams.iter_mut().filter(|t| t["Id"] == TEAM_SUPPORT) {
            team["SipUri"] = json!("sip:night@contoso.com");
        }
    }
    if let Some(members) = directory["Memberships"].as_array_mut() {
        members.retain(|m| m["TeamId"] != NIGHT);
    }
    if let Some(rights) = directory["ConversationAs"].as_array_mut() {
        rights.retain(|r| r["TeamId"] != NIGHT);
    }
    assert_status(
        &api.admin("PUT", "/admin/v1.0/directory", Some(directory)),
        200,
    );
    sweep_until_clean(&api);
    assert_eq!(keys_naming(&api, &[NIGHT]), Vec::<String>::new());
    let key = api.key(&["TeamsReadonly"]);
    let found = api.call(&key, "GET", "/v1.0/teams/sip:night@contoso.com", None);
    assert_eq!(assert_status(&found, 200)["Id"], TEAM_SUPPORT);
}

#[test]
fn a_user_made_again_keeps_the_sessions_opened_since() {
    let api = Api::in_process().with_directory();
    with_night_and_eva(&api);
    let key = api.key(&[]);
    let user = format!("/admin/v1.0/users/{EVA}");
    assert_eq!(api.admin("DELETE", &user, None).status, 204);
    put(&api, &user, eva());
    // Late the next day (after the day her sessions record is kept for), a new session.
    api.advance(40 * 3_600_000);
    let session = api.call(&key, "POST", &format!("{}/sessions", &user[6..]), None);
    let token = assert_status(&session, 201)["Token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    sweep(&api);
    let own = tm_core::Request::new("GET", &format!("/v1.0/users/{EVA}"))
        .header("Authorization", &format!("Bearer {token}"));
    assert_status(&api.send(own), 200);
}

/// Teams deleted by parallel admin writes while parallel sweeps clean and tasks of a kept team
/// change: in the end no key names a deleted team, and the kept team's feed and queue work.
fn parallel_deletes_and_sweeps_leave_nothing_and_keep_the_rest(
    api: &Api,
    keys: &dyn Fn(&[&str]) -> Vec<String>,
) {
    let teams: Vec<String> = (0..6)
        .map(|n| format!("7e000000-0000-4000-8000-0000000000e{n}"))
        .collect();
    for (n, team) in teams.iter().enumerate() {
        put(
            api,
            &format!("/admin/v1.0/teams/{team}"),
            json!({"Name": format!("Gone {n}"), "SipUri": format!("sip:gone{n}@contoso.com"),
                "OrganizationUnitId": OU_CARE, "Status": "Active"}),
        );
    }
    let t = Tasks::new(api);
    for team in &teams {
        for _ in 0..20 {
            let id = t.create(team, "IncomingCall", "Normal");
            t.ok(&id, "terminate", None);
        }
    }
    let ids: Vec<&str> = teams.iter().map(String::as_str).collect();
    assert!(keys(&ids).len() > 6 * 40, "the teams' keys");
    let kept_before = t.list(&format!("/v1.0/teams/{TEAM_SUPPORT}/tasks")).len();
    let created = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for pair in teams.chunks(2) {
            scope.spawn(move || {
                for team in pair {
                    let path = format!("/admin/v1.0/teams/{team}");
                    let mut tries = 0;
                    loop {
                        let status = api.admin("DELETE", &path, None).status;
                        if status == 204 {
                            break;
                        }
                        assert_eq!(status, 409, "{path}");
                        tries += 1;
                        assert!(tries < 10_000, "the directory stayed busy");
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                }
            });
        }
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..20 {
                    sweep(api);
                }
            });
        }
        scope.spawn(|| {
            for _ in 0..20 {
                let id = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
                if let Ok(mut created) = created.lock() {
                    created.push(id);
                }
            }
        });
    });
    sweep_until_clean(api);
    assert_eq!(
        keys(&ids),
        Vec::<String>::new(),
        "nothing of the deleted teams"
    );
    let listed = t.list(&format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"));
    assert_eq!(listed.len(), kept_before + 20, "the kept team's tasks");
    // Its feed goes on: the next change is in it.
    let cursor = t.read(&format!("/v1.0/teams/{TEAM_SUPPORT}/events"))["Cursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let next = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    let (events, _) = t.follow_feed(&format!("/v1.0/teams/{TEAM_SUPPORT}/events"), &cursor);
    assert!(
        events.iter().any(|e| e["Task"]["Id"] == next.as_str()),
        "{events:?}"
    );
    assert_eq!(created.into_inner().map(|c| c.len()).unwrap_or(0), 20);
}

#[test]
fn parallel_deletes_and_sweeps_on_memory() {
    let api = Api::in_process().with_directory();
    api.interleave_store_operations();
    let keys = |ids: &[&str]| keys_naming(&api, ids);
    parallel_deletes_and_sweeps_leave_nothing_and_keep_the_rest(&api, &keys);
}

#[test]
fn parallel_deletes_and_sweeps_on_redis() {
    let Some((api, server)) = api_on_redis("parallel leftovers on redis") else {
        return;
    };
    let keys = |ids: &[&str]| naming(redis_keys(&server), ids);
    parallel_deletes_and_sweeps_leave_nothing_and_keep_the_rest(&api, &keys);
}
