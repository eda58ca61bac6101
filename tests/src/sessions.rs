//! Agent sessions (issue 21), written from the text: a literal table of route × caller
//! (a session of the assignee Anna, a session of another agent Ben, an expired and a revoked
//! session of Anna's, an API key) → status; how sessions end; and that no answer or log line
//! carries a token.

use crate::scenarios::Tasks;
use crate::*;
use serde_json::{json, Value};
use tm_core::{Request, Response};

/// Who calls a row: the five callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    /// A session of Anna's, the agent the row's task is assigned to.
    Assignee,
    /// A session of Ben's.
    OtherAgent,
    /// A session of Anna's past its lifetime.
    Expired,
    /// A session of Anna's that was revoked.
    Revoked,
    /// An API key with every role.
    Key,
}
use Caller::{Assignee, Expired, Key, OtherAgent, Revoked};

/// The callers in the order each row is tried: the refused ones first (they change nothing),
/// then the session that may, then the key (after the session's change, e.g. hold then 409).
const ORDER: [Caller; 5] = [OtherAgent, Expired, Revoked, Assignee, Key];

/// A new session of `user` through `key` (UsersControl): (token, session id).
pub fn session_of(api: &Api, key: &str, user: &str, lifetime: Option<u32>) -> (String, String) {
    let body = lifetime.map(|seconds| json!({"LifetimeSeconds": seconds}));
    let created = assert_status(
        &api.call(key, "POST", &format!("/v1.0/users/{user}/sessions"), body),
        201,
    );
    (
        created["Token"].as_str().unwrap_or_default().to_string(),
        created["SessionId"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// A request with `Authorization: Bearer <token>`.
pub fn with_session(token: &str, method: &str, path: &str, body: Option<Value>) -> Request {
    let mut request =
        Request::new(method, path).header("Authorization", &format!("Bearer {token}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request
}

/// Every token made in a test must appear in no answer and no log line.
fn assert_no_token(response: &Response, tokens: &[&str], row: &str) {
    let body = String::from_utf8_lossy(&response.body);
    for token in tokens {
        let secret_part = &token[token.len() - 64..];
        assert!(!body.contains(secret_part), "{row}: a token in the answer");
        assert!(
            !response
                .log
                .as_deref()
                .is_some_and(|l| l.contains(secret_part)),
            "{row}: a token in the log"
        );
        for (name, value) in &response.headers {
            assert!(!value.contains(secret_part), "{row}: a token in {name}");
        }
    }
}

/// The table: every `/v1.0` route a session may or may not call, with each of the five callers.
pub fn route_by_caller_table(api: &Api) {
    let tasks = Tasks::new(api);
    let key = tasks.key.clone();
    // Anna's sessions that no longer work: one expired (its minute runs out first), one revoked.
    let (expired, _) = session_of(api, &key, ANNA, Some(60));
    api.let_time_pass(61_000);
    let (revoked, revoked_id) = session_of(api, &key, ANNA, None);
    assert_status(
        &api.admin(
            "DELETE",
            &format!("/admin/v1.0/users/{ANNA}/sessions/{revoked_id}"),
            None,
        ),
        204,
    );
    let (anna, _) = session_of(api, &key, "sip:anna@contoso.com", None);
    let (ben, _) = session_of(api, &key, BEN, None);
    let tokens = [
        anna.as_str(),
        ben.as_str(),
        expired.as_str(),
        revoked.as_str(),
    ];

    // Anna's call (Connected), a call of Ben's on which he consults Anna, and a call of Ben's.
    let hers = tasks.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    tasks.ok(&hers, "offer", Some(json!({"UserIdentifier": ANNA})));
    tasks.ok(&hers, "accept", None);
    let consulted = tasks.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    tasks.ok(&consulted, "offer", Some(json!({"UserIdentifier": BEN})));
    tasks.ok(&consulted, "accept", None);
    tasks.ok(
        &consulted,
        "consultationCall",
        Some(json!({"Target": "sip:anna@contoso.com"})),
    );
    let bens = tasks.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    tasks.ok(&bens, "offer", Some(json!({"UserIdentifier": BEN})));

    let outbound = |user: &str| json!({"UserIdentifier": user, "Target": "tel:+41445550177"});
    // (method, path, body, [OtherAgent, Expired, Revoked, Assignee, Key]); 401 is every refusal.
    #[rustfmt::skip]
    let rows: Vec<(&str, String, Option<Value>, [u16; 5])> = vec![
        // Her own user, tasks, calls, feed, availability and teams (Id, SIP URI or UPN).
        ("GET", format!("/v1.0/users/{ANNA}"), None, [401, 401, 401, 200, 200]),
        ("GET", "/v1.0/users/sip:anna@contoso.com".into(), None, [401, 401, 401, 200, 200]),
        ("GET", "/v1.0/users/ANNA.UPN@contoso.com".into(), None, [401, 401, 401, 200, 200]),
        ("GET", format!("/v1.0/users/{BEN}"), None, [200, 401, 401, 401, 200]),
        ("GET", format!("/v1.0/users/{ANNA}/tasks"), None, [401, 401, 401, 200, 200]),
        ("GET", format!("/v1.0/users/{ANNA}/consultativeCalls"), None, [401, 401, 401, 200, 200]),
        ("GET", format!("/v1.0/users/{ANNA}/events"), None, [401, 401, 401, 200, 200]),
        ("GET", format!("/v1.0/users/{ANNA}/availability"), None, [401, 401, 401, 200, 200]),
        ("PUT", format!("/v1.0/users/{ANNA}/availability"), Some(json!({"State": "Away"})), [401, 401, 401, 200, 200]),
        ("GET", format!("/v1.0/teams/bymember/{ANNA}"), None, [401, 401, 401, 200, 200]),
        ("GET", format!("/v1.0/users/{ANNA}/teams/conversationas"), None, [401, 401, 401, 200, 200]),
        ("GET", format!("/v1.0/teams/{TEAM_SUPPORT}"), None, [200, 401, 401, 200, 200]),
        ("GET", format!("/v1.0/teams/{TEAM_EMEA}"), None, [200, 401, 401, 401, 200]),
        // Their teams' statistics (a softphone's "3 waiting"); a unit's are a supervisor's.
        ("GET", format!("/v1.0/teams/{TEAM_SUPPORT}/statistics"), None, [200, 401, 401, 200, 200]),
        ("GET", format!("/v1.0/teams/{TEAM_EMEA}/statistics"), None, [200, 401, 401, 401, 200]),
        ("GET", format!("/v1.0/organizationunits/{OU_CARE}/statistics"), None, [401, 401, 401, 401, 200]),
        ("GET", "/v1.0/teams/sip:emea@contoso.com".into(), None, [200, 401, 401, 401, 200]),
        ("GET", "/v1.0/teams/SUPPORT@contoso.com".into(), None, [200, 401, 401, 200, 200]),
        // Her task: read it and act on it; offering is never the agent's.
        ("GET", format!("/v1.0/tasks/{hers}"), None, [401, 401, 401, 200, 200]),
        ("GET", format!("/v1.0/tasks/{hers}/consultationCall"), None, [401, 401, 401, 404, 404]),
        ("POST", format!("/v1.0/tasks/{hers}/hold"), None, [401, 401, 401, 200, 409]),
        ("POST", format!("/v1.0/tasks/{hers}/resume"), None, [401, 401, 401, 200, 409]),
        ("POST", format!("/v1.0/tasks/{hers}/offer"), Some(json!({"UserIdentifier": ANNA})), [401, 401, 401, 401, 409]),
        // A call of Ben's she is consulted on: she reads it, he acts on it.
        ("GET", format!("/v1.0/tasks/{consulted}"), None, [200, 401, 401, 200, 200]),
        ("GET", format!("/v1.0/tasks/{consulted}/consultationCall"), None, [200, 401, 401, 200, 200]),
        ("POST", format!("/v1.0/tasks/{consulted}/consultationCall/terminate"), None, [200, 401, 401, 401, 409]),
        // A call of Ben's: hers neither to read nor to act on.
        ("GET", format!("/v1.0/tasks/{bens}"), None, [200, 401, 401, 401, 200]),
        ("POST", format!("/v1.0/tasks/{bens}/accept"), None, [200, 401, 401, 401, 409]),
        // Outbound calls as herself only.
        ("POST", "/v1.0/tasks/outboundCall/start".into(), Some(outbound(ANNA)), [401, 401, 401, 201, 201]),
        ("POST", "/v1.0/tasks/outboundCall/start".into(), Some(outbound(BEN)), [201, 401, 401, 401, 201]),
        // Queues, directory lists, other teams' reads, control and distribution: keys only.
        ("GET", format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"), None, [401, 401, 401, 401, 200]),
        ("GET", format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"), None, [401, 401, 401, 401, 204]),
        ("GET", format!("/v1.0/teams/{TEAM_SUPPORT}/events"), None, [401, 401, 401, 401, 200]),
        ("GET", format!("/v1.0/tasks/byteamsmember/{ANNA}"), None, [401, 401, 401, 401, 200]),
        ("POST", format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"), Some(json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41445550100"}})), [401, 401, 401, 401, 201]),
        ("GET", "/v1.0/teams".into(), None, [401, 401, 401, 401, 200]),
        ("GET", "/v1.0/users".into(), None, [401, 401, 401, 401, 200]),
        ("GET", format!("/v1.0/teams/{TEAM_SUPPORT}/users"), None, [401, 401, 401, 401, 200]),
        ("GET", format!("/v1.0/organizationunits/{OU_CARE}/teams"), None, [401, 401, 401, 401, 200]),
        ("POST", format!("/v1.0/teams/{TEAM_SUPPORT}/users/{ANNA}/active"), Some(json!({"Active": true})), [401, 401, 401, 401, 200]),
        ("POST", format!("/v1.0/teams/{TEAM_SUPPORT}/distribution/run"), None, [401, 401, 401, 401, 200]),
        // A session makes no sessions, and opens no admin route.
        ("POST", format!("/v1.0/users/{ANNA}/sessions"), None, [401, 401, 401, 401, 201]),
        ("GET", "/admin/v1.0/apikeys".into(), None, [401, 401, 401, 401, 401]),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, expected) in &rows {
        for (caller, want) in ORDER.iter().zip(expected) {
            let request = match caller {
                Assignee => with_session(&anna, method, path, body.clone()),
                OtherAgent => with_session(&ben, method, path, body.clone()),
                Expired => with_session(&expired, method, path, body.clone()),
                Revoked => with_session(&revoked, method, path, body.clone()),
                Key => {
                    let mut request = Request::new(method, path).header("api_key", &key);
                    if let Some(body) = body {
                        request = request.json(body);
                    }
                    request
                }
            };
            let response = api.send(request);
            let row = format!("{method} {path} as {caller:?}");
            assert_no_token(&response, &tokens, &row);
            if response.status != *want {
                wrong.push(format!(
                    "{row}: {} (expected {want}) {}",
                    response.status,
                    response.json_body()["Error"]["Message"]
                ));
            }
            // The message of a 401 names the reason.
            let message = response.json_body()["Error"]["Message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            match (caller, response.status) {
                (Expired, 401) if path.starts_with("/v1.0") => {
                    assert!(
                        message.starts_with("The session expired at "),
                        "{row}: {message}"
                    )
                }
                (Revoked, 401) if path.starts_with("/v1.0") => {
                    assert_eq!(message, "The session has been revoked.", "{row}")
                }
                (Assignee | OtherAgent, 401) if path.starts_with("/v1.0") => {
                    assert!(message.starts_with("An agent session "), "{row}: {message}")
                }
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "rows that differ:\n{}", wrong.join("\n"));
}

/// Sessions end: all of an agent's at once (the integrator's key), one through the admin API,
/// with the user; lifetimes are bounded; the admin list never shows a token.
pub fn sessions_end_when_asked_and_with_their_agent(api: &Api) {
    let key = api.key(&["UsersControl"]);
    let readonly = api.key(&["UsersReadonly"]);
    let own = |token: &str, user: &str| {
        api.send(with_session(
            token,
            "GET",
            &format!("/v1.0/users/{user}"),
            None,
        ))
    };
    // Lifetimes: default 8 h, 60 s to 24 h; UsersControl needed.
    let created = assert_status(
        &api.call(&key, "POST", &format!("/v1.0/users/{ANNA}/sessions"), None),
        201,
    );
    assert_eq!(created["ExpiresInSeconds"], 28_800);
    assert_eq!(created["UserId"], ANNA);
    for seconds in [59, 86_401] {
        let refused = api.call(
            &key,
            "POST",
            &format!("/v1.0/users/{ANNA}/sessions"),
            Some(json!({"LifetimeSeconds": seconds})),
        );
        let message = assert_error(&refused, 400, "BadRequest");
        assert!(message.contains("LifetimeSeconds"), "{message}");
    }
    assert_error(
        &api.call(
            &readonly,
            "POST",
            &format!("/v1.0/users/{ANNA}/sessions"),
            None,
        ),
        401,
        "Unauthorized",
    );
    assert_error(
        &api.call(
            &key,
            "POST",
            "/v1.0/users/nobody@contoso.com/sessions",
            None,
        ),
        404,
        "NotFound",
    );
    let first = created["Token"].as_str().unwrap_or_default().to_string();
    let (second, _) = session_of(api, &key, ANNA, Some(86_400));
    let (bens, _) = session_of(api, &key, BEN, None);
    assert_status(&own(&first, ANNA), 200);
    // The admin list: the live sessions, never a token or its hash.
    let listed = api.admin("GET", &format!("/admin/v1.0/users/{ANNA}/sessions"), None);
    let body = String::from_utf8_lossy(&listed.body).to_string();
    let list = assert_status(&listed, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    for token in [&first, &second] {
        assert!(!body.contains(&token[token.len() - 64..]));
    }
    assert!(!body.contains("Sha256"), "{body}");
    // The integrator ends all of Anna's sessions: both get 'revoked', Ben's still works.
    assert_eq!(
        api.call(
            &key,
            "DELETE",
            &format!("/v1.0/users/{ANNA}/sessions"),
            None
        )
        .status,
        204
    );
    for token in [&first, &second] {
        let message = assert_error(&own(token, ANNA), 401, "Unauthorized");
        assert_eq!(message, "The session has been revoked.");
    }
    assert_status(&own(&bens, BEN), 200);
    let (later, _) = session_of(api, &key, ANNA, None);
    assert_status(&own(&later, ANNA), 200);
    // Ending one session through the admin API; 404 for one that is not live.
    let listed = assert_status(
        &api.admin("GET", &format!("/admin/v1.0/users/{ANNA}/sessions"), None),
        200,
    );
    let id = listed[0]["Id"].as_str().unwrap_or_default().to_string();
    let end_one = format!("/admin/v1.0/users/{ANNA}/sessions/{id}");
    assert_eq!(api.admin("DELETE", &end_one, None).status, 204);
    assert_eq!(api.admin("DELETE", &end_one, None).status, 404);
    assert_error(&own(&later, ANNA), 401, "Unauthorized");
    // Ben leaves the company: deleting his user ends his session.
    assert_eq!(
        api.admin("DELETE", &format!("/admin/v1.0/users/{BEN}"), None)
            .status,
        204
    );
    let message = assert_error(&own(&bens, BEN), 401, "Unauthorized");
    assert_eq!(message, "The session has been revoked.");
    // A token of the wrong shape, a forged one, and the vendor's header beside a session.
    let forged = format!("{}0", &first[..first.len() - 1]);
    let message = assert_error(&own(&forged, ANNA), 401, "Unauthorized");
    assert_eq!(message, "The session is not valid.");
    let plain = api.send(
        Request::new("GET", &format!("/v1.0/users/{ANNA}"))
            .header("Authorization", "Bearer not-a-session"),
    );
    let message = assert_error(&plain, 401, "Unauthorized");
    assert_eq!(
        message, "Header 'api_key' not found.",
        "the vendor's message"
    );
    let both = api.send(
        with_session(&forged, "GET", &format!("/v1.0/users/{ANNA}"), None)
            .header("api_key", &readonly),
    );
    assert_status(&both, 200);
}

/// Parallel requests on one agent's sessions document (several Spin instances): sessions made
/// at once are all kept (none lost to a stale write), and a revocation racing with new sessions
/// leaves each token either working or told "revoked", never "not valid" (a lost session).
pub fn parallel_sessions_lose_nothing(api: &Api) {
    let key = api.key(&["UsersControl"]);
    let own = |token: &str| {
        api.send(with_session(
            token,
            "GET",
            &format!("/v1.0/users/{ANNA}"),
            None,
        ))
    };
    let made = |count: usize| -> Vec<String> {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..count)
                .map(|_| scope.spawn(|| session_of(api, &key, ANNA, None).0))
                .collect();
            workers
                .into_iter()
                .map(|worker| worker.join().expect("a session request"))
                .collect()
        })
    };
    // 20 at once: exactly the live limit, so every one must still work.
    let tokens = made(tm_core::model::session::MAX_LIVE_SESSIONS);
    for token in &tokens {
        assert_status(&own(token), 200);
    }
    // Ten more racing with the integrator ending all of Anna's sessions.
    let (racing, ended) = std::thread::scope(|scope| {
        let revoke = scope.spawn(|| {
            api.call(
                &key,
                "DELETE",
                &format!("/v1.0/users/{ANNA}/sessions"),
                None,
            )
            .status
        });
        let racing = made(10);
        (racing, revoke.join().expect("the revoke"))
    });
    assert_eq!(ended, 204);
    for token in &tokens {
        let message = assert_error(&own(token), 401, "Unauthorized");
        assert_eq!(
            message, "The session has been revoked.",
            "made before the revoke"
        );
    }
    for token in &racing {
        let answer = own(token);
        if answer.status != 200 {
            let message = assert_error(&answer, 401, "Unauthorized");
            assert_eq!(message, "The session has been revoked.", "never lost");
        }
    }
}

/// A session request that dies at any one of its store steps (its instance crashed) leaves
/// nothing stuck: the agent's next session works, a session answered 201 works, and ending
/// sessions that died midway ends them when asked again. Each step on a fresh store, so that the
/// first session's creation of the agent's document is among the steps.
pub fn a_session_request_dying_at_any_step_leaves_nothing_stuck() {
    let own = |api: &Api, token: &str| {
        api.send(with_session(
            token,
            "GET",
            &format!("/v1.0/users/{ANNA}"),
            None,
        ))
        .status
    };
    for path in ["create", "end all"] {
        for step in 1..=30 {
            let store = std::sync::Arc::new(crate::failing_store::FailingStore::new());
            let api = Api::in_process_on(store.clone()).with_directory();
            let key = api.key(&["UsersControl"]);
            let earlier = (path == "end all").then(|| session_of(&api, &key, ANNA, None).0);
            store.arm(step);
            let response = match path {
                "create" => api.call(&key, "POST", &format!("/v1.0/users/{ANNA}/sessions"), None),
                _ => api.call(
                    &key,
                    "DELETE",
                    &format!("/v1.0/users/{ANNA}/sessions"),
                    None,
                ),
            };
            let failed_inside = !store.armed();
            store.arm(0);
            let context = format!("{path} dying at step {step}: {}", response.status);
            if response.status == 201 {
                let token = response.json_body()["Token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                assert_eq!(
                    own(&api, &token),
                    200,
                    "{context}: the answered session works"
                );
            }
            let (next, _) = session_of(&api, &key, ANNA, None);
            assert_eq!(own(&api, &next), 200, "{context}: the next session works");
            if let Some(earlier) = earlier {
                let again = api.call(
                    &key,
                    "DELETE",
                    &format!("/v1.0/users/{ANNA}/sessions"),
                    None,
                );
                assert_eq!(again.status, 204, "{context}");
                assert_eq!(
                    own(&api, &earlier),
                    401,
                    "{context}: ended when asked again"
                );
            }
            if !failed_inside {
                break;
            }
        }
    }
}
