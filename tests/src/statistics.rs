//! Team statistics (issue 22) through the API: a scripted morning on the virtual clock with
//! every figure written out from the definitions, and a recount from the tasks that
//! the concurrency checks end with (open tasks from the team's task list, the day's figures
//! from the task snapshots in the team's feed, counted here independently of the service's
//! fold).

use crate::scenarios::Tasks;
use crate::*;
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn statistics(api: &Api, key: &str, team: &str) -> Value {
    assert_status(
        &api.call(key, "GET", &format!("/v1.0/teams/{team}/statistics"), None),
        200,
    )
}

/// The morning of `core/src/statistics/tests.rs` played through the API on Support (Manual):
/// calls 1 and 2 at 0 s (2 High), an external task 3 at 5 s; 1 offered at 10 s and accepted at
/// 15 s; 2 offered at 40 s and accepted at 45 s; 3 terminated while queued at 50 s; 1
/// transferred at 60 s; call 4 at 70 s still waits; an outbound call at 80 s. Read at 100 s.
pub fn a_scripted_morning_gives_these_figures(api: &Api) {
    let t = Tasks::new(api);
    let key = &t.key;
    let control = api.key(&["UsersControl"]);
    // Members of Support: Anna (Away), Ben (Available, then blocked in Support).
    for (user, state) in [(ANNA, "Away"), (BEN, "Available")] {
        assert_status(
            &api.call(
                key,
                "PUT",
                &format!("/v1.0/users/{user}/availability"),
                Some(json!({"State": state})),
            ),
            200,
        );
    }
    assert_status(
        &api.call(
            &control,
            "POST",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/users/{BEN}/active"),
            Some(json!({"Active": false})),
        ),
        200,
    );
    // Start at a whole minute, so that the chart's minutes are the script's.
    let start = api.now().unix_millis();
    api.advance(60_000 - start.rem_euclid(60_000));
    let offer = |task: &str, user: &str| {
        t.ok(task, "offer", Some(json!({"UserIdentifier": user})));
    };
    let first = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    let second = t.create(TEAM_SUPPORT, "IncomingCall", "High");
    api.advance(5_000);
    let third = t.create(TEAM_SUPPORT, "ExternalTask", "Normal");
    api.advance(5_000);
    offer(&first, ANNA);
    api.advance(5_000);
    t.ok(&first, "accept", None);
    api.advance(25_000);
    offer(&second, ANNA);
    api.advance(5_000);
    t.ok(&second, "accept", None);
    api.advance(5_000);
    t.ok(&third, "terminate", None);
    api.advance(10_000);
    t.ok(
        &first,
        "transfer",
        Some(json!({"Target": "tel:+41445550177"})),
    );
    api.advance(10_000);
    let fourth = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    api.advance(10_000);
    let outbound = t.in_state("Dialing", None);
    let outbound_team = t.get(&outbound)["TeamId"].clone();
    api.advance(20_000);
    let stats = statistics(api, key, TEAM_SUPPORT);
    assert_eq!(stats["TeamId"], TEAM_SUPPORT);
    assert_eq!(stats["AsOf"], api.now().to_rfc3339());
    let dialing = u64::from(outbound_team == TEAM_SUPPORT);
    assert_eq!(
        stats["TasksByStatus"],
        json!({"Queued": 1, "Ringing": 0, "Dialing": dialing, "Connected": 1, "OnHold": 0, "Consulting": 0, "Conference": 0})
    );
    assert_eq!(
        stats["QueuedByPriority"],
        json!({"StrictPriority": 0, "Highest": 0, "VeryHigh": 0, "High": 0, "Normal": 1, "Low": 0, "VeryLow": 0, "Lowest": 0, "NothingElse": 0})
    );
    assert_eq!(
        stats["LongestWaiting"],
        json!({"TaskId": fourth, "AgeSeconds": 30.0})
    );
    assert_eq!(stats["AverageWaitSeconds"], 30.0);
    let figures = json!({"Created": 4, "Answered": 2, "Abandoned": 1, "Transferred": 1,
        "AverageAnswerSeconds": 30.0, "P90AnswerSeconds": 45, "ServiceLevelPercent": 33.3,
        "ServiceLevelThresholdSeconds": 20, "AnsweredWithinThreshold": 1});
    assert_eq!(stats["Today"], figures);
    assert_eq!(stats["Last15Minutes"], figures);
    let members = t.list(&format!("/v1.0/teams/{TEAM_SUPPORT}/users"));
    let others = members.len() as u64 - 2;
    assert_eq!(
        stats["Agents"],
        json!({"Available": 1, "Busy": 0, "WrapUp": 0, "NotResponding": 0, "Away": 1, "Offline": others, "Blocked": 1})
    );
    let hour = stats["LastHour"].as_array().cloned().unwrap_or_default();
    assert_eq!(hour.len(), 60);
    assert_eq!(
        hour[58]["Waiting"], 0,
        "the first minute ended with nobody waiting"
    );
    assert_eq!(hour[58]["ServiceLevelPercent"], 33.3);
    assert_eq!(hour[59]["Waiting"], 1);
    assert_eq!(hour[59]["ServiceLevelPercent"], Value::Null);
    // The organization unit (Care holds Support and, below it, EMEA): the same figures plus
    // whatever Sales has (nothing here).
    let unit = assert_status(
        &api.call(
            key,
            "GET",
            &format!("/v1.0/organizationunits/{OU_CARE}/statistics"),
            None,
        ),
        200,
    );
    assert_eq!(unit["OrganizationUnitId"], OU_CARE);
    assert_eq!(unit["Today"], figures);
    assert_eq!(unit["TasksByStatus"]["Queued"], 1);
    // An hour later the last 15 minutes are empty, the day is not.
    api.advance(3_600_000);
    let later = statistics(api, key, TEAM_SUPPORT);
    assert_eq!(later["Last15Minutes"]["Created"], 0);
    assert_eq!(later["Last15Minutes"]["ServiceLevelPercent"], Value::Null);
    assert_eq!(later["Today"], figures);
    check_statistics_match_a_recount(api, key, TEAM_SUPPORT, "after the scripted morning");
}

fn is_waiting(status: &str) -> bool {
    matches!(status, "Queued" | "Ringing")
}

/// The team's statistics against a recount: open tasks by status and queued by priority from
/// the team's task list; today's created, answered, abandoned and transferred from the task
/// snapshots in the team's feed (each task's status before and after each change).
pub fn check_statistics_match_a_recount(api: &Api, key: &str, team: &str, context: &str) {
    let t = Tasks {
        api,
        key: key.to_string(),
    };
    let stats = statistics(api, key, team);
    let open = t.list(&format!("/v1.0/teams/{team}/tasks"));
    let mut by_status: HashMap<String, u64> = HashMap::new();
    let mut by_priority: HashMap<String, u64> = HashMap::new();
    for task in &open {
        let status = task["Status"].as_str().unwrap_or_default().to_string();
        if status == "Queued" {
            *by_priority
                .entry(task["Priority"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
        *by_status.entry(status).or_default() += 1;
    }
    for status in [
        "Queued",
        "Ringing",
        "Dialing",
        "Connected",
        "OnHold",
        "Consulting",
        "Conference",
    ] {
        assert_eq!(
            stats["TasksByStatus"][status].as_u64(),
            Some(by_status.get(status).copied().unwrap_or(0)),
            "{context}: {status} in {}",
            stats["TasksByStatus"]
        );
    }
    for (priority, n) in stats["QueuedByPriority"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        assert_eq!(
            n.as_u64(),
            Some(by_priority.get(&priority).copied().unwrap_or(0)),
            "{context}: {priority}"
        );
    }
    let today = stats["AsOf"]
        .as_str()
        .unwrap_or_default()
        .get(..10)
        .unwrap_or_default()
        .to_string();
    let (events, _) = t.follow_feed(&format!("/v1.0/teams/{team}/events"), "0");
    let mut status_of: HashMap<String, String> = HashMap::new();
    let (mut created, mut answered, mut abandoned, mut transferred) = (0u64, 0u64, 0u64, 0u64);
    for event in &events {
        let task = event["TaskId"].as_str().unwrap_or_default().to_string();
        let after = event["Task"]["Status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let before = status_of.insert(task, after.clone());
        let counted = event["Task"]["Type"] != "OutboundCall"
            && event["Time"]
                .as_str()
                .is_some_and(|time| time.starts_with(&today));
        if !counted {
            continue;
        }
        match before.as_deref() {
            None => created += 1,
            Some(b) if is_waiting(b) && after == "Connected" => answered += 1,
            Some(b) if is_waiting(b) && after == "Terminated" => abandoned += 1,
            Some(b) if b != "Transferred" && b != "Terminated" && after == "Transferred" => {
                transferred += 1
            }
            _ => {}
        }
    }
    let day = &stats["Today"];
    assert_eq!(
        (
            day["Created"].as_u64(),
            day["Answered"].as_u64(),
            day["Abandoned"].as_u64(),
            day["Transferred"].as_u64()
        ),
        (
            Some(created),
            Some(answered),
            Some(abandoned),
            Some(transferred)
        ),
        "{context}: today's figures against the feed's {} events",
        events.len()
    );
}
