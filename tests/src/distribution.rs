//! Automatic distribution (issue 20) through the API, on any backend that has a virtual clock
//! (in process on memory or on a real Redis): agent states × events, longest-idle order, ring
//! timeouts, wrap-up, blocking, a Manual team unchanged, and the parallel check of the
//! invariants (one task per agent, one agent per task, every ring timeout in its bound, every
//! task connected in the end, every change once in order in the team feed).
//!
//! Expectations are written from the issue's text: "offers the task that `longestwaitingtask`
//! would answer to the longest-idle member who is Available, active (not blocked) in that team
//! and has no task"; "a task Ringing longer than RingTimeoutSeconds goes back to Queued at its
//! original place (as a decline does), the agent becomes NotResponding, and the next agent is
//! offered".

use crate::scenarios::Tasks;
use crate::*;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

pub const RING_SECONDS: i64 = 20;
pub const WRAP_UP_SECONDS: i64 = 30;
pub const RESET_SECONDS: i64 = 60;

/// Makes Support an Automatic team with these times (admin API, single team PUT).
pub fn make_automatic(api: &Api, team: &str, ring: i64, wrap_up: i64, reset: i64) {
    let current = assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200);
    let existing = current["Teams"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["Id"] == team)
        .cloned()
        .unwrap_or_else(|| panic!("team {team} exists"));
    let body = json!({
        "Name": existing["Name"], "Description": existing["Description"], "SipUri": existing["SipUri"],
        "OrganizationUnitId": existing["OrganizationUnitId"], "Status": existing["Status"],
        "Distribution": {"Mode": "Automatic", "RingTimeoutSeconds": ring, "WrapUpSeconds": wrap_up,
            "NotRespondingResetSeconds": reset}});
    assert_status(
        &api.admin("PUT", &format!("/admin/v1.0/teams/{team}"), Some(body)),
        200,
    );
}

pub fn set_state(api: &Api, key: &str, user: &str, state: &str) -> Value {
    assert_status(
        &api.call(
            key,
            "PUT",
            &format!("/v1.0/users/{user}/availability"),
            Some(json!({"State": state})),
        ),
        200,
    )
}

pub fn availability(api: &Api, key: &str, user: &str) -> Value {
    assert_status(
        &api.call(
            key,
            "GET",
            &format!("/v1.0/users/{user}/availability"),
            None,
        ),
        200,
    )
}

pub fn state_of(api: &Api, key: &str, user: &str) -> String {
    availability(api, key, user)["State"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub fn run(api: &Api, key: &str, team: &str) -> Value {
    assert_status(
        &api.call(
            key,
            "POST",
            &format!("/v1.0/teams/{team}/distribution/run"),
            None,
        ),
        200,
    )
}

/// The clock the service decides by: the virtual one in process, the wall clock live.
fn clock_millis(api: &Api) -> i64 {
    if api.is_live() {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    } else {
        api.now().unix_millis()
    }
}

fn seconds(n: i64) -> i64 {
    n * 1000
}

fn team_feed(team: &str) -> String {
    format!("/v1.0/teams/{team}/events")
}

fn cursor_of(t: &Tasks, team: &str) -> String {
    t.read(&team_feed(team))["Cursor"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// (kind, task, status, assigned user) of each event.
fn kinds(events: &[Value]) -> Vec<(String, String, String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["Kind"].as_str().unwrap_or_default().to_string(),
                e["TaskId"].as_str().unwrap_or_default().to_string(),
                e["Task"]["Status"].as_str().unwrap_or_default().to_string(),
                e["Task"]["AssignedUserId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

fn user_feed(user: &str) -> String {
    format!("/v1.0/users/{user}/events")
}

/// The availability changes (`Kind` `Availability`) in `user`'s feed from `cursor` on: each
/// once, in order (the record's revisions one by one, none missing), every one of them this
/// user's, and the last one what the API answers now (the chosen state, the reason, the task).
pub fn check_availability_feed(t: &Tasks, user: &str, cursor: &str, context: &str) -> Vec<Value> {
    let (events, _) = t.follow_feed(&user_feed(user), cursor);
    check_availability_changes(t, user, events, context)
}

/// [`check_availability_feed`] on events read already.
pub fn check_availability_changes(
    t: &Tasks,
    user: &str,
    events: Vec<Value>,
    context: &str,
) -> Vec<Value> {
    let changes: Vec<Value> = events
        .into_iter()
        .filter(|e| e["Kind"] == "Availability")
        .collect();
    for pair in changes.windows(2) {
        assert_eq!(
            pair[1]["Version"].as_u64(),
            pair[0]["Version"].as_u64().map(|v| v + 1),
            "{context}: {user}'s availability changes once each, in order: {pair:?}"
        );
    }
    for change in &changes {
        assert_eq!(change["UserId"], user, "{context}");
        assert_eq!(change["Availability"]["UserId"], user, "{context}");
        assert!(change.get("Task").is_none(), "{context}: {change}");
    }
    if let Some(last) = changes.last() {
        let now = availability(t.api, &t.key, user);
        for field in ["Chosen", "Reason", "TaskId"] {
            assert_eq!(
                last["Availability"][field], now[field],
                "{context}: {user}'s last change in the feed is their availability ({field})"
            );
        }
    }
    changes
}

/// Follows a feed past the places of requests that died (virtual clock only): reads, lets the
/// fence time pass, reads on, until three rounds in a row bring nothing.
pub fn follow_feed_past_dead_requests(t: &Tasks, feed: &str, cursor: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = cursor.to_string();
    let mut quiet_rounds = 0;
    while quiet_rounds < 3 {
        let (events, next) = t.follow_feed(feed, &cursor);
        quiet_rounds = if events.is_empty() {
            quiet_rounds + 1
        } else {
            0
        };
        all.extend(events);
        cursor = next;
        t.api.advance(tm_core::repo::FENCE_AFTER_MILLIS + 1);
    }
    all
}

/// The cursor a user's feed stands at now.
pub fn user_feed_cursor(t: &Tasks, user: &str) -> String {
    t.read(&user_feed(user))["Cursor"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// An agent's availability changes are in their feed (issue 20: "Changes of availability are
/// in the user's change feed"), in order with the task changes that cause them: what they set,
/// Busy when an automatic offer reserves them, WrapUp when their task ends. Written out for
/// Anna, alone in an Automatic team with 30 s wrap-up.
pub fn availability_changes_are_in_the_users_feed(api: &Api) {
    make_automatic(
        api,
        TEAM_SUPPORT,
        RING_SECONDS,
        WRAP_UP_SECONDS,
        RESET_SECONDS,
    );
    let t = Tasks::new(api);
    let key = &t.key;
    // List, then follow: the list's cursor, then every change after it.
    let listed = api.call(key, "GET", &format!("/v1.0/users/{ANNA}/tasks"), None);
    assert_status(&listed, 200);
    let start = listed
        .header_value("X-Feed-Cursor")
        .unwrap_or_default()
        .to_string();
    set_state(api, key, ANNA, "Available");
    api.advance(1000);
    let call = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    assert_eq!(t.get(&call)["AssignedUserId"], ANNA);
    t.ok(&call, "accept", None);
    api.advance(1000);
    t.ok(&call, "terminate", None);
    let ended = api.now();
    api.advance(1000);
    assert_status(
        &api.call(
            key,
            "PUT",
            &format!("/v1.0/users/{ANNA}/availability"),
            Some(json!({"State": "Away", "Reason": "Lunch"})),
        ),
        200,
    );
    let (events, _) = t.follow_feed(&user_feed(ANNA), &start);
    // (Kind, the task's status or the agent's state, the task or the agent's task)
    let summary: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            let (state, task) = match e["Kind"].as_str() {
                Some("Availability") => (&e["Availability"]["State"], &e["Availability"]["TaskId"]),
                _ => (&e["Task"]["Status"], &e["TaskId"]),
            };
            let task = if *task == call.as_str() { "call" } else { "-" };
            (
                e["Kind"].as_str().unwrap_or_default().to_string(),
                state.as_str().unwrap_or_default().to_string(),
                task.to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("Availability", "Available", "-"),
        ("Availability", "Busy", "call"),
        ("AutomaticOffer", "Ringing", "call"),
        ("Accept", "Connected", "call"),
        ("Terminate", "Terminated", "call"),
        ("Availability", "WrapUp", "-"),
        ("Availability", "Away", "-"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(summary, expected, "{events:#?}");
    let changes = check_availability_feed(&t, ANNA, &start, "Anna's story");
    let wrap_up = &changes[2]["Availability"];
    assert_eq!(
        wrap_up["Until"],
        Timestamp::from_unix_millis(ended.unix_millis() + seconds(WRAP_UP_SECONDS)).to_rfc3339(),
        "the wrap-up says when it ends"
    );
    assert_eq!(changes[3]["Availability"]["Reason"], "Lunch");
    assert_eq!(changes[3]["Availability"]["Chosen"], "Away");
    // A team feed has task changes only.
    let (team_events, _) = t.follow_feed(&team_feed(TEAM_SUPPORT), "0");
    assert!(team_events.iter().all(|e| e["Kind"] != "Availability"));
    // A key that may read tasks but not users reads Anna's feed without her availability (and
    // its cursor moves over it, answered at once even with `wait`).
    let tasks_only = Tasks {
        api,
        key: api.key(&["TasksReadonly"]),
    };
    let (seen, end) = tasks_only.follow_feed(&user_feed(ANNA), &start);
    let kinds: Vec<&str> = seen.iter().filter_map(|e| e["Kind"].as_str()).collect();
    assert_eq!(kinds, ["AutomaticOffer", "Accept", "Terminate"]);
    let (_, full_end) = t.follow_feed(&user_feed(ANNA), &start);
    assert_eq!(end, full_end, "the same cursor at the end");
    let last_task_event = seen
        .last()
        .and_then(|e| e["Cursor"].as_str())
        .unwrap_or_default();
    let waiting = api.call(
        &tasks_only.key,
        "GET",
        &format!("{}?after={last_task_event}&wait=25", user_feed(ANNA)),
        None,
    );
    assert!(
        waiting.wait.is_none(),
        "a cursor that moved is answered at once"
    );
    let waited = assert_status(&waiting, 200);
    assert_eq!(waited["Events"], json!([]));
    assert_eq!(
        waited["Cursor"],
        json!(full_end),
        "moved over Anna's Away at once"
    );
}

/// The story of two agents in an Automatic team, step by step on the virtual clock: longest
/// idle first, ring timeout to the next agent, NotResponding and its reset, wrap-up and its
/// end, and the team feed telling it all in order with the service's own kinds.
pub fn longest_idle_ring_timeout_and_wrap_up(api: &Api) {
    make_automatic(
        api,
        TEAM_SUPPORT,
        RING_SECONDS,
        WRAP_UP_SECONDS,
        RESET_SECONDS,
    );
    let t = Tasks::new(api);
    let key = &t.key;
    let start = cursor_of(&t, TEAM_SUPPORT);
    // Nobody has said they are there: Offline, and a new call waits.
    assert_eq!(state_of(api, key, ANNA), "Offline");
    let first = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    assert_eq!(t.status(&first), "Queued");
    // Ben says Available first, Anna a second later: Ben is the longest idle and gets it now
    // (setting a state runs the team).
    set_state(api, key, BEN, "Available");
    api.advance(1000);
    let anna = set_state(api, key, ANNA, "Available");
    assert_eq!(anna["State"], "Available");
    let ringing = t.get(&first);
    assert_eq!(ringing["Status"], "Ringing");
    assert_eq!(ringing["AssignedUserId"], BEN);
    let until = Timestamp::parse_rfc3339(ringing["RingingUntil"].as_str().unwrap_or_default())
        .map(|t| t.unix_millis());
    assert_eq!(
        until,
        Some(api.now().unix_millis() - 1000 + seconds(RING_SECONDS))
    );
    let ben = availability(api, key, BEN);
    assert_eq!(ben["State"], "Busy");
    assert_eq!(ben["TaskId"], first.as_str());
    // A second call goes to Anna (Ben has one).
    let second = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    assert_eq!(t.get(&second)["AssignedUserId"], ANNA);
    // One millisecond before Ben's ring timeout nothing happens; at it, the call goes back.
    api.advance(seconds(RING_SECONDS) - 1000 - 1);
    assert_eq!(run(api, key, TEAM_SUPPORT)["RingTimeouts"], 0);
    assert_eq!(t.status(&first), "Ringing");
    api.advance(1);
    let outcome = run(api, key, TEAM_SUPPORT);
    assert_eq!(outcome["RingTimeouts"], 1, "{outcome}");
    // Anna's call rang out at the same time as Ben's? No: hers began a moment later.
    let ben = availability(api, key, BEN);
    assert_eq!(ben["State"], "NotResponding");
    assert_eq!(
        ben["Until"],
        Timestamp::from_unix_millis(api.now().unix_millis() + seconds(RESET_SECONDS)).to_rfc3339()
    );
    // Nobody else is free (Anna has the second call): the first waits at its old place.
    assert_eq!(t.status(&first), "Queued");
    let longest = t.read(&format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"));
    assert_eq!(longest["Id"], first.as_str());
    // Anna accepts and ends her call: she is in wrap-up, so the first still waits.
    t.ok(&second, "accept", None);
    assert_eq!(state_of(api, key, ANNA), "Busy");
    t.ok(&second, "terminate", None);
    let anna = availability(api, key, ANNA);
    assert_eq!(anna["State"], "WrapUp", "{anna}");
    assert_eq!(t.status(&first), "Queued");
    // Wrap-up over (30 s): the next run offers the first call to Anna (Ben is still
    // NotResponding for another 30 s).
    api.advance(seconds(WRAP_UP_SECONDS));
    assert_eq!(run(api, key, TEAM_SUPPORT)["Offers"], 1);
    assert_eq!(t.get(&first)["AssignedUserId"], ANNA);
    // Anna declines: back to its place, and nobody is free (Anna just declined is free again
    // at once, so it comes straight back to her: she is the only one).
    t.ok(&first, "decline", None);
    assert_eq!(t.get(&first)["AssignedUserId"], ANNA);
    assert_eq!(t.status(&first), "Ringing");
    // Ben sets Available himself: that ends NotResponding at once.
    assert_eq!(set_state(api, key, BEN, "Available")["State"], "Available");
    t.ok(&first, "accept", None);
    let (events, _) = t.follow_feed(&team_feed(TEAM_SUPPORT), &start);
    let summary: Vec<(String, String, String)> = kinds(&events)
        .into_iter()
        .map(|(kind, task, status, user)| {
            let task = if task == first { "first" } else { "second" };
            let user = match user.as_str() {
                ANNA => "Anna",
                BEN => "Ben",
                _ => "-",
            };
            (kind, task.to_string(), format!("{status}@{user}"))
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("Created", "first", "Queued@-"),
        ("AutomaticOffer", "first", "Ringing@Ben"),
        ("Created", "second", "Queued@-"),
        ("AutomaticOffer", "second", "Ringing@Anna"),
        ("RingTimeout", "first", "Queued@-"),
        ("Accept", "second", "Connected@Anna"),
        ("Terminate", "second", "Terminated@Anna"),
        ("AutomaticOffer", "first", "Ringing@Anna"),
        ("Decline", "first", "Queued@-"),
        ("AutomaticOffer", "first", "Ringing@Anna"),
        ("Accept", "first", "Connected@Anna"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(summary, expected);
}

/// Blocked and Away members get nothing; an unblock offers at once; a Manual team is untouched
/// by Available agents; Away while Busy keeps the task and ends in Away.
pub fn blocked_away_and_manual(api: &Api) {
    let t = Tasks::new(api);
    let key = &t.key;
    // Manual (the default): Available agents change nothing.
    set_state(api, key, ANNA, "Available");
    set_state(api, key, BEN, "Available");
    let manual = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    assert_eq!(t.status(&manual), "Queued");
    assert_eq!(run(api, key, TEAM_SUPPORT)["Offers"], 0);
    assert_eq!(t.status(&manual), "Queued");
    t.ok(&manual, "terminate", None);
    make_automatic(api, TEAM_SUPPORT, RING_SECONDS, 0, RESET_SECONDS);
    // Anna blocked, Ben away: a new call waits.
    let block = |user: &str, active: bool| {
        assert_status(
            &api.call(
                key,
                "POST",
                &format!("/v1.0/teams/{TEAM_SUPPORT}/users/{user}/active"),
                Some(json!({"Active": active})),
            ),
            200,
        )
    };
    block(ANNA, false);
    set_state(api, key, BEN, "Away");
    let call = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    assert_eq!(t.status(&call), "Queued");
    assert_eq!(run(api, key, TEAM_SUPPORT)["Offers"], 0);
    // Unblocked: offered at once.
    block(ANNA, true);
    assert_eq!(t.get(&call)["AssignedUserId"], ANNA);
    // Away while Busy: the call stays hers; after it ends she is Away (no wrap-up here).
    t.ok(&call, "accept", None);
    let away = set_state(api, key, ANNA, "Away");
    assert_eq!(away["State"], "Busy");
    assert_eq!(away["Chosen"], "Away");
    t.ok(&call, "terminate", None);
    assert_eq!(state_of(api, key, ANNA), "Away");
    let next = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    assert_eq!(t.status(&next), "Queued");
    // Offline and Away agents are never offered; Available again: at once.
    set_state(api, key, BEN, "Available");
    assert_eq!(t.get(&next)["AssignedUserId"], BEN);
}

/// A waiting feed read (as a widget keeps open) applies a ring timeout within
/// RingTimeoutSeconds + 2 s without any other request: the host asks again every 250 ms.
pub fn a_waiting_reader_applies_the_ring_timeout_in_time(api: &Api) {
    make_automatic(api, TEAM_SUPPORT, RING_SECONDS, 0, RESET_SECONDS);
    let t = Tasks::new(api);
    let key = &t.key;
    set_state(api, key, ANNA, "Available");
    let call = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    let ringing_until =
        Timestamp::parse_rfc3339(t.get(&call)["RingingUntil"].as_str().unwrap_or_default())
            .map(|t| t.unix_millis())
            .unwrap_or_default();
    let cursor = cursor_of(&t, TEAM_SUPPORT);
    // Anna's widget waits on her feed: the host's repeats, every 250 ms of (virtual) time.
    // Start at an odd offset so that the repeats do not fall on whole seconds.
    api.advance(137);
    let user_feed = format!("/v1.0/users/{ANNA}/events?after=0&wait=25");
    let mut applied_at = None;
    for _ in 0..(RING_SECONDS * 4 + 40) {
        api.advance(250);
        let mut request = tm_core::Request::new("GET", &user_feed).header("api_key", key);
        request.repeat = true;
        let _ = api.send(request);
        if t.status(&call) == "Queued" {
            applied_at = Some(api.now().unix_millis());
            break;
        }
    }
    let applied_at = applied_at.expect("the ring timeout was applied by the waiting reads");
    assert!(applied_at >= ringing_until, "not before its time");
    assert!(
        applied_at <= ringing_until + 2000,
        "applied {} ms after RingingUntil",
        applied_at - ringing_until
    );
    let (events, _) = t.follow_feed(&team_feed(TEAM_SUPPORT), &cursor);
    assert_eq!(
        kinds(&events).first().map(|k| k.0.clone()),
        Some("RingTimeout".to_string())
    );
}

/// A directory of `agents` users, all members of one Automatic team (ring 5 s, reset 10 s,
/// no wrap-up), for the parallel check.
pub fn agents_directory(agents: usize) -> (Value, Vec<String>) {
    let mut directory = directory();
    let user_id = |u: usize| format!("5e000000-0000-4000-8000-{:012x}", 0x2000 + u);
    let mut users = Vec::new();
    let mut ids = Vec::new();
    for u in 0..agents {
        users.push(json!({"Id": user_id(u), "DisplayName": format!("Agent {u:03}"), "Upn": format!("a{u}@contoso.com"),
            "SipUri": format!("sip:a{u}@contoso.com")}));
        directory["Memberships"]
            .as_array_mut()
            .into_iter()
            .for_each(|m| {
                m.push(json!({"TeamId": TEAM_EMEA, "UserId": user_id(u), "IsActive": true}))
            });
        ids.push(user_id(u));
    }
    directory["Users"]
        .as_array_mut()
        .into_iter()
        .for_each(|list| list.extend(users.clone()));
    if let Some(team) = directory["Teams"]
        .as_array_mut()
        .and_then(|teams| teams.iter_mut().find(|t| t["Id"] == TEAM_EMEA))
    {
        team["Distribution"] = json!({"Mode": "Automatic", "RingTimeoutSeconds": 5, "WrapUpSeconds": 0, "NotRespondingResetSeconds": 10});
    }
    (directory, ids)
}

/// What the parallel check found, for the caller to print.
#[derive(Debug)]
pub struct ParallelReport {
    pub tasks: usize,
    pub ring_timeouts: usize,
    pub offers: usize,
    pub worst_timeout_lateness_millis: i64,
}

/// The parallel check: `agents` agents Available, `tasks` calls created in parallel,
/// simulated agents that accept after random delays or let some calls ring out, a scheduler
/// that runs the team every virtual second, all on the virtual clock. Then, from the team feed
/// in order: never two tasks ringing or in progress at one agent, every ring timeout applied
/// within one scheduler period after its time, every task connected in the end, every change of
/// every task once and in version order. Agents end free (nobody stuck Busy).
pub fn parallel_distribution_keeps_every_invariant(
    api: &Api,
    agents: &[String],
    tasks: usize,
) -> ParallelReport {
    let t = Tasks::new(api);
    let key = t.key.clone();
    let start = cursor_of(&t, TEAM_EMEA);
    let agent_starts: Vec<String> = agents.iter().map(|a| user_feed_cursor(&t, a)).collect();
    for agent in agents {
        set_state(api, &key, agent, "Available");
    }
    let created = Mutex::new(Vec::<String>::new());
    let connected: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
    let creators_done = AtomicBool::new(false);
    let all_done = AtomicBool::new(false);
    let next_call = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        // Four creators.
        for _ in 0..4 {
            scope.spawn(|| loop {
                let n = next_call.fetch_add(1, Ordering::SeqCst);
                if n >= tasks {
                    return;
                }
                let response = api.call(
                    &key,
                    "POST",
                    &format!("/v1.0/teams/{TEAM_EMEA}/tasks"),
                    Some(json!({"Type": "IncomingCall", "Customer": {"Uri": format!("tel:+4144{n:07}")}})),
                );
                let body = assert_status(&response, 201);
                if let Ok(mut list) = created.lock() {
                    list.push(body["Id"].as_str().unwrap_or_default().to_string());
                }
            });
        }
        // The scheduler: one virtual second per turn, then a run of the team.
        scope.spawn(|| {
            let mut turns = 0u64;
            while !all_done.load(Ordering::SeqCst) && turns < 20_000 {
                turns += 1;
                api.advance(1000);
                let _ = api.call(
                    &key,
                    "POST",
                    &format!("/v1.0/teams/{TEAM_EMEA}/distribution/run"),
                    None,
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        });
        // Agents, five per thread: a ringing call is accepted after 0-3 s, or (one in five,
        // while calls are still being created) left to ring out; a connected call ends 0-3 s
        // later.
        for group in agents.chunks(5) {
            let created = &created;
            let connected = &connected;
            let key = &key;
            let creators_done = &creators_done;
            let all_done = &all_done;
            scope.spawn(move || {
                let mut plans: HashMap<String, (i64, bool)> = HashMap::new();
                let mut seed = group.len() as u64 * 7919 + group[0].len() as u64;
                let mut random = move |n: u64| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 33) % n
                };
                while !all_done.load(Ordering::SeqCst) {
                    for agent in group {
                        let response =
                            api.call(key, "GET", &format!("/v1.0/users/{agent}/tasks"), None);
                        let list = match response.status {
                            200 => response.json_body().as_array().cloned().unwrap_or_default(),
                            _ => continue,
                        };
                        let now = clock_millis(api);
                        for task in list {
                            let id = task["Id"].as_str().unwrap_or_default().to_string();
                            let status = task["Status"].as_str().unwrap_or_default();
                            let ring_out = !creators_done.load(Ordering::SeqCst) && random(5) == 0;
                            let plan = plans
                                .entry(format!("{id}/{status}/{}", task["Version"]))
                                .or_insert((now + random(3000) as i64, ring_out));
                            if now < plan.0 {
                                continue;
                            }
                            let action = match (status, plan.1) {
                                ("Ringing", false) => "accept",
                                ("Connected", _) => "terminate",
                                _ => continue,
                            };
                            let done =
                                api.call(key, "POST", &format!("/v1.0/tasks/{id}/{action}"), None);
                            if done.status == 200 && action == "accept" {
                                if let Ok(mut set) = connected.lock() {
                                    set.insert(id.clone());
                                }
                            }
                        }
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    let all_created = created.lock().map(|l| l.len()).unwrap_or(0) >= tasks;
                    if all_created {
                        creators_done.store(true, Ordering::SeqCst);
                    }
                    let all_connected = connected.lock().map(|s| s.len()).unwrap_or(0) >= tasks;
                    if all_created && all_connected {
                        all_done.store(true, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    let created = created.into_inner().unwrap_or_default();
    assert_eq!(created.len(), tasks);
    assert_eq!(
        connected.into_inner().map(|s| s.len()).unwrap_or(0),
        tasks,
        "every task connected in the end"
    );
    // End the last calls and let time pass (NotResponding lasts 10 s): every agent free again.
    api.let_time_pass(10_000);
    for agent in agents {
        for task in t.list(&format!("/v1.0/users/{agent}/tasks")) {
            let id = task["Id"].as_str().unwrap_or_default();
            let _ = api.call(&key, "POST", &format!("/v1.0/tasks/{id}/terminate"), None);
        }
    }
    api.let_time_pass(1_000);
    run(api, &key, TEAM_EMEA);
    for agent in agents {
        assert_eq!(state_of(api, &key, agent), "Available", "agent {agent}");
    }
    // The team feed, in order.
    let (events, _) = t.follow_feed(&team_feed(TEAM_EMEA), &start);
    let mut at_agent: HashMap<String, HashSet<String>> = HashMap::new();
    let mut last_version: HashMap<String, u64> = HashMap::new();
    let mut ringing_until: HashMap<String, i64> = HashMap::new();
    let mut report = ParallelReport {
        tasks,
        ring_timeouts: 0,
        offers: 0,
        worst_timeout_lateness_millis: 0,
    };
    for event in &events {
        let task = event["TaskId"].as_str().unwrap_or_default().to_string();
        let version = event["Version"].as_u64().unwrap_or(0);
        let before = last_version.insert(task.clone(), version).unwrap_or(0);
        assert_eq!(
            version,
            before + 1,
            "task {task}: versions once and in order"
        );
        let status = event["Task"]["Status"].as_str().unwrap_or_default();
        let user = event["Task"]["AssignedUserId"].as_str().unwrap_or_default();
        let kind = event["Kind"].as_str().unwrap_or_default();
        for tasks in at_agent.values_mut() {
            tasks.remove(&task);
        }
        let holds = matches!(
            status,
            "Ringing" | "Connected" | "OnHold" | "Consulting" | "Conference"
        );
        if holds && !user.is_empty() {
            let held = at_agent.entry(user.to_string()).or_default();
            held.insert(task.clone());
            assert!(
                held.len() <= 1,
                "agent {user} holds {held:?} at {kind} of {task}"
            );
        }
        match kind {
            "AutomaticOffer" => {
                report.offers += 1;
                let until = event["Task"]["RingingUntil"]
                    .as_str()
                    .and_then(Timestamp::parse_rfc3339)
                    .map(|t| t.unix_millis())
                    .unwrap_or_default();
                ringing_until.insert(task.clone(), until);
            }
            "RingTimeout" => {
                report.ring_timeouts += 1;
                let at = event["Time"]
                    .as_str()
                    .and_then(Timestamp::parse_rfc3339)
                    .map(|t| t.unix_millis())
                    .unwrap_or_default();
                let due = ringing_until.get(&task).copied().unwrap_or(i64::MAX);
                assert!(at >= due, "task {task} timed out before its time");
                report.worst_timeout_lateness_millis =
                    report.worst_timeout_lateness_millis.max(at - due);
            }
            _ => {}
        }
    }
    // The scheduler runs every virtual second; a timeout may wait for one run and the runs
    // around it (several requests share one virtual clock).
    assert!(report.worst_timeout_lateness_millis <= 2000, "{report:?}");
    for task in &created {
        let version = t.get(task)["Version"].as_u64().unwrap_or(0);
        assert_eq!(
            last_version.get(task),
            Some(&version),
            "task {task}: every change in the feed"
        );
    }
    // Each agent's feed: every availability change once, in order, the last one as it is now.
    for (agent, start) in agents.iter().zip(&agent_starts) {
        let changes = check_availability_feed(&t, agent, start, "after the parallel calls");
        assert!(changes.len() >= 3, "{agent}: Available, Busy, free again");
    }
    let stats = crate::statistics::statistics(api, &key, TEAM_EMEA);
    assert_eq!(
        stats["Today"]["Answered"].as_u64(),
        Some(tasks as u64),
        "every call answered once"
    );
    crate::statistics::check_statistics_match_a_recount(api, &key, TEAM_EMEA, "parallel calls");
    report
}

/// The engine's invariants as they can be read from outside, after a repair window: every agent
/// who is Busy holds an open task that names them; every task ringing or in progress at an
/// agent makes that agent Busy with it; a task waits only while no agent is Available.
pub fn check_nobody_stuck(api: &Api, key: &str, team: &str, agents: &[&str], context: &str) {
    let open = assert_status(
        &api.call(key, "GET", &format!("/v1.0/teams/{team}/tasks"), None),
        200,
    );
    let open = open.as_array().cloned().unwrap_or_default();
    let mut states = HashMap::new();
    for agent in agents {
        let availability = availability(api, key, agent);
        if availability["State"] == "Busy" {
            let task = open.iter().find(|t| t["Id"] == availability["TaskId"]);
            assert!(
                task.is_some_and(|t| t["AssignedUserId"] == *agent),
                "{context}: {agent} is Busy with {} which is not at them: {open:?}",
                availability["TaskId"]
            );
        }
        states.insert(agent.to_string(), availability);
    }
    for task in &open {
        let status = task["Status"].as_str().unwrap_or_default();
        let user = task["AssignedUserId"].as_str().unwrap_or_default();
        if status != "Queued" {
            let state = &states[user];
            assert_eq!(state["State"], "Busy", "{context}: {user} holds {task}");
            assert_eq!(state["TaskId"], task["Id"], "{context}: {user}");
        }
    }
    if open.iter().any(|t| t["Status"] == "Queued") {
        for (agent, state) in &states {
            assert_ne!(
                state["State"], "Available",
                "{context}: a task waits while {agent} is Available"
            );
        }
    }
}

/// A request of the engine's paths that dies at its `step`-th store operation (for every step
/// until one succeeds whole), then a repair window (the reservation grace), one run: nobody is
/// stuck reserved, no task stuck ringing, nothing waits while an agent is free. The paths: a
/// create that offers, an accept, a decline that offers again, a terminate, a ring timeout,
/// and setting Available.
pub fn a_request_dying_at_any_step_leaves_nobody_stuck(
    api: &Api,
    store: &crate::failing_store::FailingStore,
) {
    make_automatic(api, TEAM_SUPPORT, RING_SECONDS, 0, RESET_SECONDS);
    let t = Tasks::new(api);
    let key = t.key.clone();
    let agents = [ANNA, BEN];
    let feed_starts: Vec<String> = agents.iter().map(|a| user_feed_cursor(&t, a)).collect();
    let settle = |context: &str| {
        api.advance(crate::distribution::GRACE_MILLIS + 1);
        run(api, &key, TEAM_SUPPORT);
        check_nobody_stuck(api, &key, TEAM_SUPPORT, &agents, context);
    };
    let clean = || {
        for task in t.list(&format!("/v1.0/teams/{TEAM_SUPPORT}/tasks")) {
            let id = task["Id"].as_str().unwrap_or_default();
            let _ = api.call(&key, "POST", &format!("/v1.0/tasks/{id}/terminate"), None);
        }
        api.advance(1000);
        set_state(api, &key, ANNA, "Available");
        set_state(api, &key, BEN, "Away");
        run(api, &key, TEAM_SUPPORT);
        check_nobody_stuck(api, &key, TEAM_SUPPORT, &agents, "clean");
    };
    let paths = [
        "create",
        "accept",
        "decline",
        "terminate",
        "ring timeout",
        "available",
    ];
    let mut failures = 0;
    for path in paths {
        for step in 1..=80 {
            clean();
            // The task at Anna for the actions (Ben Away, so a decline comes back to her).
            let ringing = match path {
                "create" | "available" => None,
                _ => {
                    let id = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
                    assert_eq!(t.status(&id), "Ringing", "{path}: offered to Anna");
                    if path == "terminate" {
                        t.ok(&id, "accept", None);
                    }
                    Some(id)
                }
            };
            if path == "available" {
                set_state(api, &key, ANNA, "Away");
                t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
            }
            if path == "ring timeout" {
                api.advance(seconds(RING_SECONDS));
            }
            let id = ringing.clone().unwrap_or_default();
            let (method, target, body) = match path {
                "create" => (
                    "POST",
                    format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"),
                    Some(json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41"}})),
                ),
                "accept" | "decline" | "terminate" => {
                    ("POST", format!("/v1.0/tasks/{id}/{path}"), None)
                }
                "ring timeout" => (
                    "POST",
                    format!("/v1.0/teams/{TEAM_SUPPORT}/distribution/run"),
                    None,
                ),
                _ => (
                    "PUT",
                    format!("/v1.0/users/{ANNA}/availability"),
                    Some(json!({"State": "Available"})),
                ),
            };
            store.arm(step);
            let response = api.call(&key, method, &target, body);
            let failed_inside = !store.armed();
            store.arm(0);
            settle(&format!("{path} dying at step {step}: {}", response.status));
            if !failed_inside {
                // The request finished before the failure: every step was tried.
                break;
            }
            failures += 1;
        }
    }
    assert!(failures > 60, "the failures hit: {failures}");
    // Every availability change that committed is in the agent's feed once, in order, past
    // every request that died: the feed's last change is the availability as it is.
    for (agent, start) in agents.iter().zip(&feed_starts) {
        let events = follow_feed_past_dead_requests(&t, &user_feed(agent), start);
        let changes = check_availability_changes(&t, agent, events, "after dying requests");
        assert!(changes.len() > 100, "{agent}: {} changes", changes.len());
    }
    crate::statistics::check_statistics_match_a_recount(api, &key, TEAM_SUPPORT, "dying requests");
}

/// The reservation grace of the engine (a dead request's reservation is repaired after it).
pub const GRACE_MILLIS: i64 = tm_core::engine::RESERVATION_GRACE_MILLIS;

/// A member added to an Automatic team by the admin (single membership PUT) who is Available
/// gets its waiting task at once.
pub fn a_member_added_by_the_admin_gets_the_waiting_task(api: &Api) {
    make_automatic(api, TEAM_SUPPORT, RING_SECONDS, 0, RESET_SECONDS);
    let t = Tasks::new(api);
    let key = &t.key;
    set_state(api, key, CARLA, "Available");
    let call = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    assert_eq!(t.status(&call), "Queued", "nobody in Support is Available");
    assert_status(
        &api.admin(
            "PUT",
            &format!("/admin/v1.0/teams/{TEAM_SUPPORT}/members/{CARLA}"),
            Some(json!({"IsActive": true})),
        ),
        201,
    );
    assert_eq!(t.get(&call)["AssignedUserId"], CARLA);
}
