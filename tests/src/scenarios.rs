//! Scenarios that run against any backend (in-process core or live Spin). Each takes an
//! [`Api`] whose store holds the test directory and nothing else.

use crate::*;
use serde_json::{json, Value};
use tm_core::Response;

/// A scenario: a name and a function that panics on failure.
pub type Scenario = (&'static str, fn(&Api));

pub const ALL: &[Scenario] = &[
    (
        "task_lifecycle_with_consultation_merge_and_leave",
        task_lifecycle_with_consultation_merge_and_leave,
    ),
    (
        "consultation_transfer_and_terminate_flows",
        consultation_transfer_and_terminate_flows,
    ),
    (
        "terminate_customer_call_keeps_consultation_until_terminated",
        terminate_customer_call_keeps_consultation_until_terminated,
    ),
    (
        "every_state_times_every_action",
        every_state_times_every_action,
    ),
    ("outbound_call_flow", outbound_call_flow),
    (
        "user_identifiers_resolve_by_id_sip_upn_any_case",
        user_identifiers_resolve_by_id_sip_upn_any_case,
    ),
    ("teams_and_organization_units", teams_and_organization_units),
    ("blocking_a_user_in_a_team", blocking_a_user_in_a_team),
    ("role_matrix", role_matrix),
    ("api_key_lifecycle", api_key_lifecycle),
    ("if_match_and_etag", if_match_and_etag),
    (
        "bad_inputs_give_documented_json_errors",
        bad_inputs_give_documented_json_errors,
    ),
    ("admin_directory_validation", admin_directory_validation),
    (
        "admin_directory_one_entity_at_a_time",
        admin_directory_one_entity_at_a_time,
    ),
    ("idempotent_retries", idempotent_retries),
    (
        "openapi_and_health_are_public",
        openapi_and_health_are_public,
    ),
    (
        "agent_sessions_route_by_caller",
        crate::sessions::route_by_caller_table,
    ),
    (
        "agent_sessions_end_when_asked_and_with_their_agent",
        crate::sessions::sessions_end_when_asked_and_with_their_agent,
    ),
];

/// Task helpers bound to one key with every role.
pub struct Tasks<'a> {
    pub api: &'a Api,
    pub key: String,
}

impl<'a> Tasks<'a> {
    pub fn new(api: &'a Api) -> Self {
        Tasks {
            api,
            key: api.key(&[]),
        }
    }

    pub fn create(&self, team: &str, kind: &str, priority: &str) -> String {
        let body = json!({"Type": kind, "Customer": {"Uri": "tel:+41445550100", "DisplayName": "Mia Weber"}, "Priority": priority});
        let created = assert_status(
            &self.api.call(
                &self.key,
                "POST",
                &format!("/v1.0/teams/{team}/tasks"),
                Some(body),
            ),
            201,
        );
        created["Id"].as_str().unwrap_or_default().to_string()
    }

    pub fn act(&self, task: &str, action: &str, body: Option<Value>) -> Response {
        self.api.call(
            &self.key,
            "POST",
            &format!("/v1.0/tasks/{task}/{action}"),
            body,
        )
    }

    /// Performs an action that must succeed; returns the response body.
    pub fn ok(&self, task: &str, action: &str, body: Option<Value>) -> Value {
        let response = self.act(task, action, body);
        assert!(
            response.status == 200 || response.status == 201,
            "{action} on {task}: {} {}",
            response.status,
            response.json_body()
        );
        response.json_body()
    }

    pub fn get(&self, task: &str) -> Value {
        assert_status(
            &self
                .api
                .call(&self.key, "GET", &format!("/v1.0/tasks/{task}"), None),
            200,
        )
    }

    pub fn status(&self, task: &str) -> String {
        self.get(task)["Status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// `GET path` with this key; must answer 200; returns the body.
    pub fn read(&self, path: &str) -> Value {
        assert_status(&self.api.call(&self.key, "GET", path, None), 200)
    }

    /// Every event of the feed at `feed` (`…/events`) after `cursor`, page by page until an
    /// empty page (which must keep the cursor), and the cursor at the end.
    pub fn follow_feed(&self, feed: &str, cursor: &str) -> (Vec<Value>, String) {
        let mut events = Vec::new();
        let mut cursor = cursor.to_string();
        loop {
            let page = self.read(&format!("{feed}?after={cursor}"));
            let batch = page["Events"].as_array().cloned().unwrap_or_default();
            let next = page["Cursor"].as_str().unwrap_or_default().to_string();
            if batch.is_empty() {
                assert_eq!(next, cursor, "an empty page keeps the cursor");
                return (events, cursor);
            }
            events.extend(batch);
            cursor = next;
        }
    }

    pub fn list(&self, path: &str) -> Vec<Value> {
        self.read(path).as_array().cloned().unwrap_or_default()
    }

    /// A new task of type `kind` in Support, driven into `state` (with its consultation call in
    /// `consultation`, for incoming calls).
    pub fn in_state_of(&self, kind: &str, state: &str, consultation: Option<&str>) -> String {
        let steps: &[&str] = match (kind, state) {
            ("IncomingCall", _) => {
                let consultation = match (state, consultation) {
                    ("Consulting", c) => c,
                    ("Terminated", Some(_)) => Some("Connected"),
                    _ => None,
                };
                return self.in_state(state, consultation);
            }
            ("ExternalTask", _) => {
                let task = self.create(TEAM_SUPPORT, "ExternalTask", "Normal");
                let steps: &[&str] = match state {
                    "Queued" => &[],
                    "Ringing" => &["offer"],
                    "Connected" => &["offer", "accept"],
                    "OnHold" => &["offer", "accept", "hold"],
                    "Terminated" => &["terminate"],
                    _ => panic!("no recipe for an external task in {state}"),
                };
                for action in steps {
                    let body = (*action == "offer").then(|| json!({"UserIdentifier": ANNA}));
                    self.ok(&task, action, body);
                }
                assert_eq!(self.status(&task), state);
                return task;
            }
            (_, "Dialing") => &[],
            (_, "Connected") => &["answered"],
            (_, "OnHold") => &["answered", "hold"],
            (_, "Terminated") => &["terminate"],
            _ => panic!("no recipe for an outbound call in {state}"),
        };
        let task = self.in_state("Dialing", None);
        for action in steps {
            self.ok(&task, action, None);
        }
        assert_eq!(self.status(&task), state);
        task
    }

    /// A new incoming call in Support, driven into `state` (consultation `Ringing`/`Connected`
    /// for Consulting, `None` otherwise).
    pub fn in_state(&self, state: &str, consultation: Option<&str>) -> String {
        if state == "Dialing" {
            let body = json!({"UserIdentifier": ANNA, "Target": "tel:+41445550199"});
            let started = assert_status(
                &self.api.call(
                    &self.key,
                    "POST",
                    "/v1.0/tasks/outboundCall/start",
                    Some(body),
                ),
                201,
            );
            return started["Id"].as_str().unwrap_or_default().to_string();
        }
        let task = self.create(TEAM_SUPPORT, "IncomingCall", "Normal");
        let consult = json!({"Target": "sip:carla@contoso.com"});
        let steps: &[(&str, Option<Value>)] = match (state, consultation) {
            ("Queued", _) => &[],
            ("Ringing", _) => &[("offer", None)],
            ("Connected", _) => &[("offer", None), ("accept", None)],
            ("OnHold", _) => &[("offer", None), ("accept", None), ("hold", None)],
            ("Consulting", Some("Ringing")) => &[
                ("offer", None),
                ("accept", None),
                ("consultationCall", None),
            ],
            ("Consulting", _) => &[
                ("offer", None),
                ("accept", None),
                ("consultationCall", None),
                ("consultationCall/answered", None),
            ],
            ("Conference", _) => &[
                ("offer", None),
                ("accept", None),
                ("consultationCall", None),
                ("consultationCall/answered", None),
                ("consultationCall/merge", None),
            ],
            ("Transferred", _) => &[("offer", None), ("accept", None), ("transfer", None)],
            ("Terminated", Some(_)) => &[
                ("offer", None),
                ("accept", None),
                ("consultationCall", None),
                ("consultationCall/answered", None),
                ("consultationCall/terminateCustomerCall", None),
            ],
            ("Terminated", None) => &[("terminate", None)],
            _ => panic!("no recipe for {state}"),
        };
        for (action, _) in steps {
            let body = match *action {
                "offer" => Some(json!({"UserIdentifier": "sip:anna@contoso.com"})),
                "consultationCall" => Some(consult.clone()),
                "transfer" => Some(json!({"Target": "tel:+41445550177"})),
                _ => None,
            };
            self.ok(&task, action, body);
        }
        assert_eq!(self.status(&task), state);
        task
    }
}

fn body_for(action: &str) -> Option<Value> {
    match action {
        "offer" => Some(json!({"UserIdentifier": ANNA})),
        "transfer" | "consultationCall" => Some(json!({"Target": "sip:carla@contoso.com"})),
        "consultationCall/audioRoutes" => Some(
            json!({"CustomerHearsAgent": true, "CustomerHearsConsultant": false,
            "AgentHearsCustomer": true, "AgentHearsConsultant": true, "ConsultantHearsCustomer": false, "ConsultantHearsAgent": true}),
        ),
        _ => None,
    }
}

pub fn task_lifecycle_with_consultation_merge_and_leave(api: &Api) {
    let t = Tasks::new(api);
    let task = t.create(TEAM_SUPPORT, "IncomingCall", "High");
    let listed = t.list(&format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["Status"], "Queued");
    assert_eq!(
        listed[0]["AllowedActions"],
        json!(["Offer", "Transfer", "Terminate"])
    );
    let longest = t.read(&format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"));
    assert_eq!(longest["Id"], task.as_str());

    let offered = t.ok(
        &task,
        "offer",
        Some(json!({"UserIdentifier": "ANNA.UPN@contoso.com"})),
    );
    assert_eq!(
        offered,
        json!({"TaskId": task, "Status": "Ringing", "Version": 2, "UpdatedAt": offered["UpdatedAt"]})
    );
    assert_eq!(
        api.call(
            &t.key,
            "GET",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask"),
            None
        )
        .status,
        204
    );
    t.ok(&task, "accept", None);
    let mine = t.list(&format!("/v1.0/users/{ANNA}/tasks"));
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["AssignedUserId"], ANNA);
    t.ok(&task, "hold", None);
    t.ok(&task, "resume", None);

    let call = t.ok(
        &task,
        "consultationCall",
        Some(json!({"Target": "carla.upn@contoso.com"})),
    );
    assert_eq!(call["Status"], "Ringing");
    assert_eq!(call["Target"]["UserId"], CARLA);
    assert_eq!(call["InitiatorUserId"], ANNA);
    assert_eq!(call["AudioRoutes"]["CustomerHearsAgent"], false);
    assert_eq!(t.status(&task), "Consulting");
    for user in [ANNA, CARLA] {
        let calls = t.list(&format!("/v1.0/users/{user}/consultativeCalls"));
        assert_eq!(calls.len(), 1, "{user}");
        assert_eq!(calls[0]["Id"], call["Id"]);
    }
    assert!(t
        .list(&format!("/v1.0/users/{BEN}/consultativeCalls"))
        .is_empty());

    t.ok(&task, "consultationCall/answered", None);
    let merged = t.ok(&task, "consultationCall/merge", None);
    assert_eq!(merged["Status"], "Conference");
    let got = t.read(&format!("/v1.0/tasks/{task}/consultationCall"));
    assert_eq!(got["Status"], "Merged");
    assert!(got["AudioRoutes"]
        .as_object()
        .is_some_and(|r| r.values().all(|v| v == true)));

    t.ok(
        &task,
        "consultationCall/audioRoutes",
        body_for("consultationCall/audioRoutes"),
    );
    let routes = t.get(&task)["ConsultationCall"]["AudioRoutes"].clone();
    assert_eq!(routes["CustomerHearsConsultant"], false);
    assert_eq!(routes["AgentHearsConsultant"], true);

    let left = t.ok(&task, "consultationCall/leave", None);
    assert_eq!(left["Status"], "Transferred");
    let done = t.get(&task);
    assert_eq!(done["ConsultationCall"]["Status"], "Ended");
    assert_eq!(done["TransferredTo"]["UserId"], CARLA);
    assert!(done["EndedAt"].is_string());
    assert_eq!(done["AllowedActions"], json!([]));
    assert!(t
        .list(&format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"))
        .is_empty());
    assert!(t.list(&format!("/v1.0/users/{ANNA}/tasks")).is_empty());
    assert!(t
        .list(&format!("/v1.0/users/{CARLA}/consultativeCalls"))
        .is_empty());
}

pub fn consultation_transfer_and_terminate_flows(api: &Api) {
    let t = Tasks::new(api);
    // Consultation transfer from Consulting (consultation connected). Consulting alone moves
    // the customer nowhere: TransferredTo stays null until the transfer.
    let task = t.in_state("Consulting", Some("Connected"));
    assert_eq!(t.get(&task)["TransferredTo"], Value::Null);
    assert_eq!(
        t.ok(&task, "consultationCall/transfer", None)["Status"],
        "Transferred"
    );
    assert_eq!(
        t.get(&task)["TransferredTo"]["Uri"],
        "sip:carla@contoso.com"
    );
    // A plain (blind) transfer records where the customer went too: a number, then a user.
    let task = t.in_state("Connected", None);
    t.ok(
        &task,
        "transfer",
        Some(json!({"Target": "tel:+41445550177"})),
    );
    let moved = t.get(&task)["TransferredTo"].clone();
    assert_eq!(moved["Uri"], "tel:+41445550177");
    assert_eq!(moved["UserId"], Value::Null);
    let task = t.in_state("OnHold", None);
    t.ok(
        &task,
        "transfer",
        Some(json!({"Target": "sip:carla@contoso.com"})),
    );
    assert_eq!(t.get(&task)["TransferredTo"]["UserId"], CARLA);
    // Every consultation call has its own id.
    let ids: Vec<Value> = ["Consulting", "Conference"]
        .iter()
        .map(|state| {
            let task = t.in_state(state, None);
            t.read(&format!("/v1.0/tasks/{task}/consultationCall"))["Id"].clone()
        })
        .collect();
    assert_ne!(ids[0], ids[1]);
    for id in &ids {
        let id = id.as_str().unwrap_or_default();
        assert!(
            id.len() == 36 && id != "00000000-0000-0000-0000-000000000000",
            "{id}"
        );
    }
    // Consultation transfer from Conference.
    let task = t.in_state("Conference", None);
    assert_eq!(
        t.ok(&task, "consultationCall/transfer", None)["Status"],
        "Transferred"
    );
    // Terminating the consultation: back to OnHold from Consulting, Connected from Conference.
    let task = t.in_state("Consulting", Some("Ringing"));
    assert_eq!(
        t.ok(&task, "consultationCall/terminate", None)["Status"],
        "OnHold"
    );
    let call = t.read(&format!("/v1.0/tasks/{task}/consultationCall"));
    assert_eq!(call["Status"], "Ended");
    assert!(call["EndedAt"].is_string());
    // A second consultation can follow the first.
    assert_eq!(
        t.ok(&task, "consultationCall", body_for("consultationCall"))["Status"],
        "Ringing"
    );
    let task = t.in_state("Conference", None);
    assert_eq!(
        t.ok(&task, "consultationCall/terminate", None)["Status"],
        "Connected"
    );
    // Terminating the task ends an active consultation too.
    let task = t.in_state("Consulting", Some("Connected"));
    assert_eq!(t.ok(&task, "terminate", None)["Status"], "Terminated");
    assert_eq!(t.get(&task)["ConsultationCall"]["Status"], "Ended");
    // A task that never consulted has no consultation call.
    let task = t.in_state("Connected", None);
    assert_error(
        &api.call(
            &t.key,
            "GET",
            &format!("/v1.0/tasks/{task}/consultationCall"),
            None,
        ),
        404,
        "NotFound",
    );
}

pub fn terminate_customer_call_keeps_consultation_until_terminated(api: &Api) {
    let t = Tasks::new(api);
    let task = t.in_state("Consulting", Some("Connected"));
    assert_eq!(
        t.ok(&task, "consultationCall/terminateCustomerCall", None)["Status"],
        "Terminated"
    );
    let after = t.get(&task);
    assert_eq!(after["ConsultationCall"]["Status"], "Connected");
    assert_eq!(after["AllowedActions"], json!(["ConsultationTerminate"]));
    assert_eq!(
        t.list(&format!("/v1.0/users/{CARLA}/consultativeCalls"))
            .len(),
        1
    );
    assert_eq!(
        t.ok(&task, "consultationCall/terminate", None)["Status"],
        "Terminated"
    );
    assert_eq!(t.get(&task)["ConsultationCall"]["Status"], "Ended");
    assert!(t
        .list(&format!("/v1.0/users/{CARLA}/consultativeCalls"))
        .is_empty());
    // From a conference: the customer leaves, agent and consultant stay, hearing only each other.
    let task = t.in_state("Conference", None);
    t.ok(&task, "consultationCall/terminateCustomerCall", None);
    let call = t.get(&task)["ConsultationCall"].clone();
    assert_eq!(call["Status"], "Connected");
    assert_eq!(call["AudioRoutes"]["CustomerHearsAgent"], false);
    assert_eq!(call["AudioRoutes"]["AgentHearsConsultant"], true);
}

/// What `action` does to a task of type `kind` in `state` (its consultation call in
/// `consultation`), written out from the table of shared/API.md and the readings in
/// docs/api.md, independently of the core's table: `Some((state after, consultation after))`,
/// or `None` for 409.
pub fn expected_outcome(
    kind: &str,
    state: &str,
    consultation: Option<&'static str>,
    action: &str,
) -> Option<(&'static str, Option<&'static str>)> {
    let incoming = kind == "IncomingCall";
    let is_final = matches!(state, "Transferred" | "Terminated");
    let active = matches!(consultation, Some("Ringing" | "Connected" | "Merged"));
    let ended = consultation.map(|_| "Ended");
    match (action, state, consultation) {
        ("offer", "Queued", _) => Some(("Ringing", consultation)),
        ("accept", "Ringing", _) => Some(("Connected", consultation)),
        ("decline", "Ringing", _) => Some(("Queued", consultation)),
        ("answered", "Dialing", _) => Some(("Connected", consultation)),
        ("hold", "Connected", _) => Some(("OnHold", consultation)),
        ("resume", "OnHold", _) => Some(("Connected", consultation)),
        // "IncomingCall only"
        ("transfer", "Queued" | "Ringing" | "Connected" | "OnHold", _) if incoming => {
            Some(("Transferred", consultation))
        }
        // "ends an active consultation too"
        ("terminate", _, _) if !is_final => Some(("Terminated", ended)),
        ("consultationCall", "Connected" | "OnHold", _) if incoming => {
            Some(("Consulting", Some("Ringing")))
        }
        ("consultationCall/answered", "Consulting", Some("Ringing")) => {
            Some(("Consulting", Some("Connected")))
        }
        ("consultationCall/merge", "Consulting", Some("Connected")) => {
            Some(("Conference", Some("Merged")))
        }
        ("consultationCall/transfer", "Consulting", Some("Connected"))
        | ("consultationCall/transfer", "Conference", _) => Some(("Transferred", Some("Ended"))),
        ("consultationCall/terminate", "Consulting", _) => Some(("OnHold", Some("Ended"))),
        ("consultationCall/terminate", "Conference", _) => Some(("Connected", Some("Ended"))),
        // docs/api.md: a consultation that outlived its customer call can still be ended.
        ("consultationCall/terminate", "Terminated", _) if active => {
            Some(("Terminated", Some("Ended")))
        }
        ("consultationCall/leave", "Conference", _) => Some(("Transferred", Some("Ended"))),
        ("consultationCall/audioRoutes", "Conference", _) => Some(("Conference", Some("Merged"))),
        // "the consultation leg stays up until terminated"; a merged one loses the customer.
        ("consultationCall/terminateCustomerCall", "Consulting", _) => {
            Some(("Terminated", consultation))
        }
        ("consultationCall/terminateCustomerCall", "Conference", _) => {
            Some(("Terminated", Some("Connected")))
        }
        _ => None,
    }
}

pub const ACTIONS: [&str; 16] = [
    "offer",
    "accept",
    "decline",
    "answered",
    "hold",
    "resume",
    "transfer",
    "terminate",
    "consultationCall",
    "consultationCall/answered",
    "consultationCall/merge",
    "consultationCall/transfer",
    "consultationCall/terminate",
    "consultationCall/leave",
    "consultationCall/audioRoutes",
    "consultationCall/terminateCustomerCall",
];

/// Every (task type, state, consultation) a task can be in.
pub const STATES: [(&str, &str, Option<&str>); 20] = [
    ("IncomingCall", "Queued", None),
    ("IncomingCall", "Ringing", None),
    ("IncomingCall", "Connected", None),
    ("IncomingCall", "OnHold", None),
    ("IncomingCall", "Consulting", Some("Ringing")),
    ("IncomingCall", "Consulting", Some("Connected")),
    ("IncomingCall", "Conference", Some("Merged")),
    ("IncomingCall", "Transferred", None),
    ("IncomingCall", "Terminated", None),
    ("IncomingCall", "Terminated", Some("Connected")),
    ("ExternalTask", "Queued", None),
    ("ExternalTask", "Ringing", None),
    ("ExternalTask", "Connected", None),
    ("ExternalTask", "OnHold", None),
    ("ExternalTask", "Terminated", None),
    ("OutboundCall", "Dialing", None),
    ("OutboundCall", "Connected", None),
    ("OutboundCall", "OnHold", None),
    ("OutboundCall", "Terminated", None),
    ("OutboundCall", "Transferred", None),
];

pub fn every_state_times_every_action(api: &Api) {
    let t = Tasks::new(api);
    let mut checked = 0;
    for (kind, state, consultation) in STATES {
        if (kind, state) == ("OutboundCall", "Transferred") {
            continue; // not reachable: transfer is for incoming calls only
        }
        for action in ACTIONS {
            let task = t.in_state_of(kind, state, consultation);
            let before = t.get(&task);
            assert_eq!(before["Type"], kind);
            assert_eq!(
                before["ConsultationCall"]["Status"].as_str(),
                consultation,
                "{kind} {state}"
            );
            let response = t.act(&task, action, body_for(action));
            let after = t.get(&task);
            let case = format!("{action} on {kind} in {state}/{consultation:?}");
            match expected_outcome(kind, state, consultation, action) {
                Some((state_after, consultation_after)) => {
                    let body = response.json_body();
                    if action == "consultationCall" {
                        assert_eq!(response.status, 201, "{case}: {body}");
                        assert_eq!(body["Status"], "Ringing", "{case}");
                    } else {
                        assert_eq!(response.status, 200, "{case}: {body}");
                        assert_eq!(body["Status"], state_after, "{case}: {body}");
                        assert_eq!(body["TaskId"], task.as_str(), "{case}");
                        assert_eq!(body["Version"], after["Version"], "{case}");
                    }
                    assert_eq!(after["Status"], state_after, "{case}");
                    assert_eq!(
                        after["ConsultationCall"]["Status"].as_str(),
                        consultation_after,
                        "{case}"
                    );
                    assert_eq!(
                        after["Version"],
                        before["Version"].as_u64().unwrap_or(0) + 1,
                        "{case}"
                    );
                }
                None => {
                    let message = assert_error(&response, 409, "Conflict");
                    assert!(message.contains(state), "{case}: {message}");
                    assert_eq!(after, before, "{case}: a refused action changed the task");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 19 * ACTIONS.len());
}

pub fn outbound_call_flow(api: &Api) {
    let t = Tasks::new(api);
    let body = json!({"UserIdentifier": "sip:BEN@contoso.com", "Target": "tel:+41445550123", "TeamIdentifier": "sip:emea@contoso.com"});
    let task = assert_status(
        &api.call(&t.key, "POST", "/v1.0/tasks/outboundCall/start", Some(body)),
        201,
    );
    assert_eq!(task["Type"], "OutboundCall");
    assert_eq!(task["Status"], "Dialing");
    assert_eq!(task["TeamId"], TEAM_EMEA);
    assert_eq!(task["AssignedUserId"], BEN);
    assert_eq!(task["QueuedAt"], Value::Null);
    let id = task["Id"].as_str().unwrap_or_default();
    // Outbound calls are not incoming calls: no transfer, no consultation.
    assert_error(
        &t.act(id, "transfer", body_for("transfer")),
        409,
        "Conflict",
    );
    t.ok(id, "answered", None);
    let message = assert_error(
        &t.act(id, "consultationCall", body_for("consultationCall")),
        409,
        "Conflict",
    );
    assert!(message.contains("incoming call"), "{message}");
    t.ok(id, "hold", None);
    t.ok(id, "terminate", None);
    // The team must be one of the user's conversation-as teams.
    let body = json!({"UserIdentifier": BEN, "Target": "tel:+41445550123", "TeamIdentifier": TEAM_SUPPORT});
    let message = assert_error(
        &api.call(&t.key, "POST", "/v1.0/tasks/outboundCall/start", Some(body)),
        400,
        "BadRequest",
    );
    assert!(message.contains("TeamIdentifier"), "{message}");
    // Without a team: the user's conversation-as team.
    let body = json!({"UserIdentifier": ANNA, "Target": "sip:ben@contoso.com"});
    let task = assert_status(
        &api.call(&t.key, "POST", "/v1.0/tasks/outboundCall/start", Some(body)),
        201,
    );
    assert_eq!(task["TeamId"], TEAM_SUPPORT);
    assert_eq!(task["Customer"]["DisplayName"], "Ben Meier");
    let body = json!({"UserIdentifier": "nobody@contoso.com", "Target": "tel:+41445550123"});
    assert_error(
        &api.call(&t.key, "POST", "/v1.0/tasks/outboundCall/start", Some(body)),
        404,
        "NotFound",
    );
}

pub fn user_identifiers_resolve_by_id_sip_upn_any_case(api: &Api) {
    let key = api.key(&["UsersReadonly"]);
    for identifier in [
        ANNA.to_string(),
        ANNA.to_uppercase(),
        "sip:anna@contoso.com".into(),
        "SIP:Anna@Contoso.COM".into(),
        "sip%3Aanna%40contoso.com".into(),
        "anna@contoso.com".into(),
        "ANNA.UPN@CONTOSO.COM".into(),
    ] {
        let user = assert_status(
            &api.call(&key, "GET", &format!("/v1.0/users/{identifier}"), None),
            200,
        );
        assert_eq!(user["Id"], ANNA, "{identifier}");
        assert_eq!(user["DisplayName"], "Anna Keller");
    }
    for unknown in [
        "zoe@contoso.com",
        "5e000000-0000-4000-8000-00000000ffff",
        "not a user",
    ] {
        let message = assert_error(
            &api.call(&key, "GET", &format!("/v1.0/users/{unknown}"), None),
            404,
            "NotFound",
        );
        assert!(message.contains(unknown), "{message}");
    }
    let users = assert_status(&api.call(&key, "GET", "/v1.0/users", None), 200);
    let names: Vec<&str> = users
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["DisplayName"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Anna Keller", "Ben Meier", "Carla Rossi", "Dan Brun"]
    );
    let members = assert_status(
        &api.call(&key, "GET", "/v1.0/teams/SIP:EMEA@contoso.com/users", None),
        200,
    );
    assert_eq!(members[0]["Id"], BEN);
    assert_eq!(members[0]["TeamId"], TEAM_EMEA);
    assert_eq!(members[0]["IsActive"], true);
    assert_eq!(members[1]["Upn"], "carla.upn@contoso.com");
}

pub fn teams_and_organization_units(api: &Api) {
    let key = api.key(&["TeamsReadonly"]);
    let names = |path: &str| -> Vec<String> {
        let body = assert_status(&api.call(&key, "GET", path, None), 200);
        body.as_array()
            .into_iter()
            .flatten()
            .map(|t| t["Name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(names("/v1.0/teams"), ["EMEA", "Sales", "Support"]);
    assert_eq!(names("/v1.0/teams?status=Active"), ["EMEA", "Support"]);
    assert_eq!(names("/v1.0/teams?Status=inactive"), ["Sales"]);
    assert_error(
        &api.call(&key, "GET", "/v1.0/teams?status=Sleeping", None),
        400,
        "BadRequest",
    );
    assert_eq!(
        names(&format!("/v1.0/teams/bymember/{BEN}")),
        ["EMEA", "Support"]
    );
    assert_eq!(
        names(&format!("/v1.0/organizationunits/{OU_CARE}/teams")),
        ["EMEA", "Support"]
    );
    assert_eq!(
        names(&format!("/v1.0/organizationunits/{OU_ROOT}/teams")),
        ["EMEA", "Sales", "Support"]
    );
    assert_eq!(
        names(&format!("/v1.0/organizationunits/{OU_CARE_EMEA}/teams")),
        ["EMEA"]
    );
    assert_error(
        &api.call(
            &key,
            "GET",
            "/v1.0/organizationunits/0e000000-0000-4000-8000-0000000000ff/teams",
            None,
        ),
        404,
        "NotFound",
    );
    let team = assert_status(
        &api.call(&key, "GET", "/v1.0/teams/sip:support@contoso.com", None),
        200,
    );
    assert_eq!(team["Id"], TEAM_SUPPORT);
    assert_eq!(team["OrganizationUnitId"], OU_CARE);
    assert_error(
        &api.call(&key, "GET", "/v1.0/teams/sip:nobody@contoso.com", None),
        404,
        "NotFound",
    );
    let rights = assert_status(
        &api.call(
            &key,
            "GET",
            "/v1.0/users/ben@contoso.com/teams/conversationas",
            None,
        ),
        200,
    );
    assert_eq!(
        rights,
        json!([{"TeamId": TEAM_EMEA, "TeamName": "EMEA", "SipUri": "sip:emea@contoso.com", "ConversationAsService": "ExternalConversations"}])
    );
}

pub fn blocking_a_user_in_a_team(api: &Api) {
    let t = Tasks::new(api);
    let control = api.key(&["UsersControl"]);
    let existing = t.in_state("Connected", None);
    let path = format!("/v1.0/teams/{TEAM_SUPPORT}/users/anna@contoso.com/active");
    let member = assert_status(
        &api.call(&control, "POST", &path, Some(json!({"Active": false}))),
        200,
    );
    assert_eq!(member["IsActive"], false);
    assert_eq!(member["Id"], ANNA);
    assert_eq!(member["TeamId"], TEAM_SUPPORT);
    // Blocked: no offers from that team; existing tasks unaffected.
    let queued = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    let message = assert_error(
        &t.act(&queued, "offer", Some(json!({"UserIdentifier": ANNA}))),
        409,
        "Conflict",
    );
    assert!(message.contains("blocked"), "{message}");
    assert_eq!(t.status(&queued), "Queued");
    t.ok(&existing, "hold", None);
    let members = assert_status(
        &api.call(
            &control,
            "GET",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/users"),
            None,
        ),
        200,
    );
    assert_eq!(members[0]["IsActive"], false);
    assert_eq!(members[1]["IsActive"], true);
    // Still active in other teams' terms: Ben can be offered.
    t.ok(&queued, "offer", Some(json!({"UserIdentifier": BEN})));
    t.ok(&queued, "decline", None);
    // Unblock.
    assert_eq!(
        assert_status(
            &api.call(&control, "POST", &path, Some(json!({"Active": true}))),
            200
        )["IsActive"],
        true
    );
    t.ok(&queued, "offer", Some(json!({"UserIdentifier": ANNA})));
    // A non-member cannot be blocked in or offered tasks of a team.
    let path = format!("/v1.0/teams/{TEAM_SUPPORT}/users/{CARLA}/active");
    assert_error(
        &api.call(&control, "POST", &path, Some(json!({"Active": false}))),
        404,
        "NotFound",
    );
    let other = t.create(TEAM_SUPPORT, "ExternalTask", "Normal");
    assert_error(
        &t.act(&other, "offer", Some(json!({"UserIdentifier": CARLA}))),
        400,
        "BadRequest",
    );
    assert_error(
        &api.call(
            &control,
            "POST",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/users/{ANNA}/active"),
            Some(json!({"Active": "no"})),
        ),
        400,
        "BadRequest",
    );
}

/// A concrete request for every route, with ids that exist, so that only the role decides.
fn concrete(api: &Api, tasks: &Tasks, path: &str) -> String {
    let task = if path.contains("{taskIdentifier}") {
        tasks.in_state("Connected", None)
    } else {
        String::new()
    };
    let _ = api;
    path.replace("{teamIdentifier}", TEAM_SUPPORT)
        .replace("{userIdentifier}", ANNA)
        .replace("{ouIdentifier}", OU_ROOT)
        .replace("{taskIdentifier}", &task)
        .replace("{apiKeyId}", "00000000-0000-4000-8000-000000000000")
}

pub fn role_matrix(api: &Api) {
    let tasks = Tasks::new(api);
    let roles = [
        "TasksReadonly",
        "TasksManage",
        "TeamsReadonly",
        "UsersReadonly",
        "UsersControl",
    ];
    let keys: Vec<(&str, String)> = roles.iter().map(|r| (*r, api.key(&[r]))).collect();
    let grants = |held: &str, needed: &str| {
        held == needed
            || (held, needed) == ("TasksManage", "TasksReadonly")
            || (held, needed) == ("UsersControl", "UsersReadonly")
    };
    // Driven by the literal table (tests/tests/contract_document.rs checks that the route table
    // agrees with it), so a wrong role on a route fails here.
    for (method, template, access) in crate::contract::ROLE_TABLE {
        let path = concrete(api, &tasks, template);
        let send = |key: Option<&str>, admin: bool| {
            let mut request = tm_core::Request::new(method, &path).json(&json!({}));
            if let Some(key) = key {
                request = request.header("api_key", key);
            }
            if admin {
                request = request.header("Authorization", &format!("Bearer {ADMIN_TOKEN}"));
            }
            api.send(request)
        };
        match *access {
            // The demo page's backend exists only while the demo data is on (off here).
            "Public" if path.starts_with("/demo/") => {
                assert_error(&send(None, false), 404, "NotFound");
            }
            "Public" => assert_eq!(send(None, false).status, 200, "{path}"),
            "Admin" => {
                assert_error(&send(None, false), 401, "Unauthorized");
                assert_error(&send(Some(&tasks.key), false), 401, "Unauthorized");
                let status = send(None, true).status;
                assert!(status != 401 && status < 500, "{method} {path}: {status}");
            }
            needed => {
                let missing = send(None, false);
                assert_error(&missing, 401, "Unauthorized");
                // The contract gives this body to the byte.
                assert_eq!(
                    String::from_utf8_lossy(&missing.body),
                    r#"{"Error":{"Code":"Unauthorized","Message":"Header 'api_key' not found."}}"#
                );
                assert_error(
                    &send(Some("tm_0123456789abcdef0123456789abcdef_00"), false),
                    401,
                    "Unauthorized",
                );
                for (held, key) in &keys {
                    let response = send(Some(key), false);
                    if grants(held, needed) {
                        assert!(
                            response.status != 401 && response.status < 500,
                            "{held} on {method} {path}: {} {}",
                            response.status,
                            response.json_body()
                        );
                    } else {
                        let message = assert_error(&response, 401, "Unauthorized");
                        assert!(
                            message.contains(needed),
                            "{held} on {method} {path}: {message}"
                        );
                    }
                }
                // A key without roles (legacy) has full access.
                let status = send(Some(&tasks.key), false).status;
                assert!(
                    status != 401 && status < 500,
                    "legacy key on {path}: {status}"
                );
            }
        }
    }
}

pub fn api_key_lifecycle(api: &Api) {
    let created = assert_status(
        &api.admin(
            "POST",
            "/admin/v1.0/apikeys",
            Some(json!({"Name": "crm", "Roles": ["TeamsReadonly"], "ExpiresAt": null})),
        ),
        201,
    );
    let secret = created["Secret"].as_str().unwrap_or_default().to_string();
    let id = created["Id"].as_str().unwrap_or_default().to_string();
    assert_eq!(created["Roles"], json!(["TeamsReadonly"]));
    assert!(secret.len() > 60);
    let list = assert_status(&api.admin("GET", "/admin/v1.0/apikeys", None), 200);
    let listed = list
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["Id"] == id.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed["Name"], "crm");
    assert!(
        !list.to_string().contains(&secret),
        "a listing must never show a secret"
    );
    assert!(listed.get("Secret").is_none());

    assert_eq!(api.call(&secret, "GET", "/v1.0/teams", None).status, 200);
    assert_error(
        &api.call(&secret, "GET", "/v1.0/users", None),
        401,
        "Unauthorized",
    );
    let listed = assert_status(&api.admin("GET", "/admin/v1.0/apikeys", None), 200);
    assert!(listed
        .as_array()
        .into_iter()
        .flatten()
        .any(|k| k["Id"] == id.as_str() && k["LastUsedAt"].is_string()));

    let patched = assert_status(
        &api.admin(
            "PATCH",
            &format!("/admin/v1.0/apikeys/{id}"),
            Some(json!({"Roles": ["UsersReadonly"]})),
        ),
        200,
    );
    assert_eq!(patched["Roles"], json!(["UsersReadonly"]));
    assert_eq!(api.call(&secret, "GET", "/v1.0/users", None).status, 200);
    // Bodies are objects: an array (serde could read it as the struct's fields) is refused
    // and changes nothing.
    for body in [
        json!([null, null]),
        json!([["TasksManage"], null]),
        json!(null),
    ] {
        let message = assert_error(
            &api.admin("PATCH", &format!("/admin/v1.0/apikeys/{id}"), Some(body)),
            400,
            "BadRequest",
        );
        assert!(message.contains("JSON object"), "{message}");
    }
    let listed = assert_status(&api.admin("GET", "/admin/v1.0/apikeys", None), 200);
    let unchanged = listed
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["Id"] == id.as_str());
    assert_eq!(
        unchanged.map(|k| k["Roles"].clone()),
        Some(json!(["UsersReadonly"]))
    );
    assert_error(
        &api.call(&secret, "GET", "/v1.0/teams", None),
        401,
        "Unauthorized",
    );

    let patched = assert_status(
        &api.admin(
            "PATCH",
            &format!("/admin/v1.0/apikeys/{id}"),
            Some(json!({"ExpiresAt": "2001-01-01T00:00:00Z"})),
        ),
        200,
    );
    assert_eq!(patched["ExpiresAt"], "2001-01-01T00:00:00.000Z");
    assert_eq!(
        patched["Roles"],
        json!(["UsersReadonly"]),
        "absent fields stay"
    );
    let message = assert_error(
        &api.call(&secret, "GET", "/v1.0/users", None),
        401,
        "Unauthorized",
    );
    assert!(message.contains("expired"), "{message}");
    assert!(!message.contains(&secret));
    assert_status(
        &api.admin(
            "PATCH",
            &format!("/admin/v1.0/apikeys/{id}"),
            Some(json!({"ExpiresAt": null})),
        ),
        200,
    );
    assert_eq!(api.call(&secret, "GET", "/v1.0/users", None).status, 200);

    assert_eq!(
        api.admin("DELETE", &format!("/admin/v1.0/apikeys/{id}"), None)
            .status,
        204
    );
    let message = assert_error(
        &api.call(&secret, "GET", "/v1.0/users", None),
        401,
        "Unauthorized",
    );
    assert!(message.contains("revoked"), "{message}");
    assert_error(
        &api.admin("DELETE", &format!("/admin/v1.0/apikeys/{id}"), None),
        404,
        "NotFound",
    );
    let list = assert_status(&api.admin("GET", "/admin/v1.0/apikeys", None), 200);
    assert!(!list
        .as_array()
        .into_iter()
        .flatten()
        .any(|k| k["Id"] == id.as_str()));
    // A tampered secret with a real key id is refused.
    let other = api.key(&[]);
    let mut tampered = other.clone();
    tampered.pop();
    tampered.push(if other.ends_with('0') { '1' } else { '0' });
    let message = assert_error(
        &api.call(&tampered, "GET", "/v1.0/users", None),
        401,
        "Unauthorized",
    );
    assert_eq!(message, "The API key is not valid.");
    assert_error(
        &api.admin(
            "POST",
            "/admin/v1.0/apikeys",
            Some(json!({"Name": "x", "Roles": ["Root"]})),
        ),
        400,
        "BadRequest",
    );
    // A key needs at least one role: without Roles, with an empty list, or changed to an empty
    // list it would have every right (full access belongs only to keys carried over).
    for body in [
        json!({"Name": "x"}),
        json!({"Name": "x", "Roles": []}),
        json!({"Name": "x", "Roles": null}),
    ] {
        let message = assert_error(
            &api.admin("POST", "/admin/v1.0/apikeys", Some(body.clone())),
            400,
            "BadRequest",
        );
        assert!(message.contains("'Roles'"), "{body}: {message}");
    }
    for body in [json!({"Roles": []}), json!({"Roles": null})] {
        let message = assert_error(
            &api.admin(
                "PATCH",
                &format!("/admin/v1.0/apikeys/{id}"),
                Some(body.clone()),
            ),
            400,
            "BadRequest",
        );
        assert!(message.contains("'Roles'"), "{body}: {message}");
    }
    assert_error(
        &api.admin("POST", "/admin/v1.0/apikeys", Some(json!({"Name": " "}))),
        400,
        "BadRequest",
    );
}

pub fn if_match_and_etag(api: &Api) {
    let t = Tasks::new(api);
    let task = t.in_state("Connected", None);
    let got = api.call(&t.key, "GET", &format!("/v1.0/tasks/{task}"), None);
    let etag = got.header_value("ETag").unwrap_or_default().to_string();
    assert_eq!(etag, format!("\"{}\"", got.json_body()["Version"]));
    let stale = tm_core::Request::new("POST", &format!("/v1.0/tasks/{task}/hold"))
        .header("api_key", &t.key)
        .header("If-Match", "\"1\"");
    assert_error(&api.send(stale), 412, "PreconditionFailed");
    assert_eq!(t.status(&task), "Connected");
    let fresh = tm_core::Request::new("POST", &format!("/v1.0/tasks/{task}/hold"))
        .header("api_key", &t.key)
        .header("If-Match", &etag);
    let held = api.send(fresh);
    assert_eq!(held.status, 200);
    assert_eq!(
        held.header_value("ETag").unwrap_or_default(),
        format!("\"{}\"", held.json_body()["Version"])
    );
}

pub fn bad_inputs_give_documented_json_errors(api: &Api) {
    let t = Tasks::new(api);
    let tasks_path = format!("/v1.0/teams/{TEAM_SUPPORT}/tasks");
    let raw = |method: &str, path: &str, content_type: Option<&str>, body: &[u8]| {
        let mut request = tm_core::Request::new(method, path)
            .header("api_key", &t.key)
            .raw_body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        api.send(request)
    };
    let json_type = Some("application/json");
    // Refused requests aimed at a real task must leave it, and the whole store, untouched.
    let real = t.in_state("Connected", None);
    let real_before = t.get(&real);
    let real_path = |action: &str| format!("/v1.0/tasks/{real}/{action}");
    let writes_before = api.store().map(|store| store.writes());
    let cases: Vec<(&str, Response, u16, &str, &str)> = vec![
        ("malformed JSON", raw("POST", &tasks_path, json_type, b"{\"Type\": "), 400, "BadRequest", "not valid JSON"),
        ("trailing garbage", raw("POST", &tasks_path, json_type, b"{\"Type\":\"IncomingCall\",\"Customer\":{\"Uri\":\"tel:+1\"}} x"), 400, "BadRequest", "JSON"),
        ("missing field", raw("POST", &tasks_path, json_type, b"{\"Type\":\"IncomingCall\"}"), 400, "BadRequest", "Customer"),
        ("wrong type", raw("POST", &tasks_path, json_type, b"{\"Type\":\"IncomingCall\",\"Customer\":{\"Uri\":5}}"), 400, "BadRequest", "Customer.Uri"),
        ("unknown enum", raw("POST", &tasks_path, json_type, b"{\"Type\":\"Fax\",\"Customer\":{\"Uri\":\"tel:+1\"}}"), 400, "BadRequest", "Type"),
        ("unknown priority", raw("POST", &tasks_path, json_type, b"{\"Type\":\"IncomingCall\",\"Priority\":\"Urgent\",\"Customer\":{\"Uri\":\"tel:+1\"}}"), 400, "BadRequest", "Priority"),
        ("description too long", t.api.call(&t.key, "POST", &tasks_path, Some(json!({"Type": "ExternalTask", "Customer": {"Uri": "x:1"}, "Description": "d".repeat(151)}))), 400, "BadRequest", "Description"),
        ("customer uri scheme", t.api.call(&t.key, "POST", &tasks_path, Some(json!({"Type": "IncomingCall", "Customer": {"Uri": "+41"}}))), 400, "BadRequest", "Customer.Uri"),
        ("outbound via create", t.api.call(&t.key, "POST", &tasks_path, Some(json!({"Type": "OutboundCall", "Customer": {"Uri": "tel:+41"}}))), 400, "BadRequest", "Type"),
        ("empty body", raw("POST", &tasks_path, json_type, b""), 400, "BadRequest", "body"),
        ("array body", raw("POST", &tasks_path, json_type, b"[]"), 400, "BadRequest", "JSON object"),
        ("array of fields", raw("POST", &tasks_path, json_type, b"[\"IncomingCall\",{\"Uri\":\"tel:+1\"}]"), 400, "BadRequest", "JSON object"),
        ("not UTF-8", raw("POST", &tasks_path, json_type, b"{\"Type\":\"\xff\"}"), 400, "BadRequest", "JSON"),
        ("oversized body", raw("POST", &tasks_path, json_type, &vec![b' '; 64 * 1024 + 1]), 413, "PayloadTooLarge", "65536"),
        ("form body", raw("POST", &tasks_path, Some("application/x-www-form-urlencoded"), b"Type=IncomingCall"), 415, "UnsupportedMediaType", "application/json"),
        ("no content type", raw("POST", &tasks_path, None, b"{}"), 415, "UnsupportedMediaType", "application/json"),
        ("invalid task GUID", raw("POST", "/v1.0/tasks/not-a-guid/hold", None, b""), 404, "NotFound", "not-a-guid"),
        ("unknown task", raw("GET", "/v1.0/tasks/00000000-0000-4000-8000-000000000000", None, b""), 404, "NotFound", "Task"),
        ("unknown team", raw("GET", "/v1.0/teams/nope/tasks", None, b""), 404, "NotFound", "nope"),
        ("unknown route", raw("GET", "/v1.0/queues", None, b""), 404, "NotFound", "/v1.0/queues"),
        ("wrong method", raw("DELETE", "/v1.0/teams", None, b""), 405, "MethodNotAllowed", "DELETE"),
        ("unknown method", raw("BREW", "/v1.0/teams", None, b""), 405, "MethodNotAllowed", "BREW"),
        ("audio routes incomplete", t.api.call(&t.key, "POST", &real_path("consultationCall/audioRoutes"), Some(json!({"CustomerHearsAgent": true}))), 400, "BadRequest", "missing field"),
        ("offer without user", t.api.call(&t.key, "POST", &real_path("offer"), Some(json!({}))), 400, "BadRequest", "UserIdentifier"),
        ("transfer to nowhere", t.api.call(&t.key, "POST", &real_path("transfer"), Some(json!({"Target": ""}))), 400, "BadRequest", "Target"),
        ("deep nesting", raw("POST", &tasks_path, json_type, "[".repeat(5000).as_bytes()), 400, "BadRequest", "JSON"),
        (
            "deep nesting in an unknown field",
            raw(
                "POST",
                &tasks_path,
                json_type,
                format!("{{\"X\":{}", "{\"a\":".repeat(5000)).as_bytes(),
            ),
            400,
            "BadRequest",
            "JSON",
        ),
    ];
    for (name, response, status, code, needle) in cases {
        assert_eq!(
            response.header_value("Content-Type"),
            Some(tm_core::http::JSON_CONTENT_TYPE),
            "{name}"
        );
        let message = assert_error(&response, status, code);
        assert!(
            message.contains(needle),
            "{name}: message '{message}' does not mention '{needle}'"
        );
    }
    if let (Some(before), Some(store)) = (writes_before, api.store()) {
        assert_eq!(
            store.writes(),
            before,
            "a refused request wrote to the store"
        );
    }
    assert_eq!(
        t.get(&real),
        real_before,
        "a refused request changed the task"
    );
    assert_eq!(t.list(&tasks_path).len(), 1, "a bad request created a task");
    // `GET /` belongs to the host, not the API: the Spin component redirects it to the widget's
    // demo page; the core alone (in-process) answers a JSON 404.
    let root = raw("GET", "/", None, b"");
    if api.is_live() {
        assert_eq!(root.status, 302, "GET / under Spin");
        assert_eq!(root.header_value("Location"), Some("/widget/"));
    } else {
        let message = assert_error(&root, 404, "NotFound");
        assert!(message.contains("endpoint"), "{message}");
    }
    let wrong = raw(
        "PUT",
        "/v1.0/tasks/00000000-0000-4000-8000-000000000000/hold",
        None,
        b"",
    );
    assert_eq!(wrong.header_value("Allow"), Some("POST"));
}

pub fn admin_directory_validation(api: &Api) {
    let base = directory();
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    let mut dangling_team = base.clone();
    dangling_team["Memberships"][0]["TeamId"] = json!("7e000000-0000-4000-8000-0000000000ff");
    cases.push(("dangling membership", dangling_team, "Memberships"));
    let mut dangling_ou = base.clone();
    dangling_ou["Teams"][0]["OrganizationUnitId"] = json!("0e000000-0000-4000-8000-0000000000ff");
    cases.push(("dangling OU", dangling_ou, "OrganizationUnitId"));
    let mut cycle = base.clone();
    cycle["OrganizationUnits"][0]["ParentId"] = json!(OU_CARE_EMEA);
    cases.push(("OU cycle", cycle, "cycle"));
    let mut duplicate = base.clone();
    duplicate["Users"][1]["SipUri"] = json!("SIP:anna@contoso.com");
    cases.push(("duplicate SIP", duplicate, "share"));
    let mut bad_id = base.clone();
    bad_id["Teams"][0]["Id"] = json!("team-1");
    cases.push(("invalid GUID", bad_id, "Teams[0].Id"));
    let mut bad_status = base.clone();
    bad_status["Teams"][0]["Status"] = json!("Sleeping");
    cases.push(("unknown enum", bad_status, "Teams[0].Status"));
    // The published schema asks for a non-blank Name (minLength 1, a non-space character).
    for blank in ["", "   "] {
        let mut unnamed_ou = base.clone();
        unnamed_ou["OrganizationUnits"][1]["Name"] = json!(blank);
        cases.push(("blank OU name", unnamed_ou, OU_CARE));
    }
    cases.push(("array body", json!([base.clone()]), "JSON object"));
    for (name, body, needle) in cases {
        let message = assert_error(
            &api.admin("PUT", "/admin/v1.0/directory", Some(body)),
            400,
            "BadRequest",
        );
        assert!(message.contains(needle), "{name}: {message}");
    }
    // The stored directory is untouched by the refused ones.
    let stored = assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200);
    assert_eq!(stored, base);
    let wrong = tm_core::Request::new("GET", "/admin/v1.0/directory")
        .header("Authorization", "Bearer wrong");
    assert_error(&api.send(wrong), 401, "Unauthorized");
}

pub fn openapi_and_health_are_public(api: &Api) {
    let head = api.send(tm_core::Request::new("HEAD", "/health"));
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        api.send(tm_core::Request::new("HEAD", "/v1.0/teams"))
            .status,
        401
    );
    let health = assert_status(&api.send(tm_core::Request::new("GET", "/health")), 200);
    assert_eq!(health["Status"], "Healthy");
    let doc = assert_status(
        &api.send(tm_core::Request::new("GET", "/v1.0/openapi.json")),
        200,
    );
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(
        doc["paths"]["/v1.0/tasks/{taskIdentifier}/consultationCall/merge"]["post"].is_object()
    );
}

pub fn admin_directory_one_entity_at_a_time(api: &Api) {
    let key = api.key(&["TeamsReadonly", "UsersReadonly", "TasksManage"]);
    let unit = "0e000000-0000-4000-8000-0000000000b1";
    let team = "7e000000-0000-4000-8000-0000000000b1";
    let user = "5e000000-0000-4000-8000-0000000000b1";
    let put = |path: String, body: Value| api.admin("PUT", &path, Some(body));
    let created = put(
        format!("/admin/v1.0/organizationunits/{unit}"),
        json!({"Name": "Night shift", "ParentId": OU_CARE}),
    );
    assert_eq!(assert_status(&created, 201)["Name"], "Night shift");
    let team_body = json!({"Name": "Night", "Description": "After hours", "SipUri": "sip:night@contoso.com",
        "OrganizationUnitId": unit, "Status": "Active"});
    assert_status(
        &put(format!("/admin/v1.0/teams/{team}"), team_body.clone()),
        201,
    );
    assert_status(
        &put(format!("/admin/v1.0/teams/{team}"), team_body.clone()),
        200,
    );
    let user_body = json!({"DisplayName": "Eva Roth", "FirstName": "Eva", "LastName": "Roth",
        "Upn": "eva.upn@contoso.com", "SipUri": "sip:eva@contoso.com", "Email": "eva@contoso.com"});
    assert_status(
        &put(format!("/admin/v1.0/users/{user}"), user_body.clone()),
        201,
    );
    // Eva joins a team with a conversation-as right there (both created: 201).
    let join = |team: &str, service: &str| {
        assert_status(
            &put(
                format!("/admin/v1.0/teams/{team}/members/{user}"),
                json!({"IsActive": true}),
            ),
            201,
        );
        assert_status(
            &put(
                format!("/admin/v1.0/users/{user}/conversationas/{team}"),
                json!({"ConversationAsService": service}),
            ),
            201,
        );
    };
    let leave = |team: &str| {
        for path in [
            format!("/admin/v1.0/teams/{team}/members/{user}"),
            format!("/admin/v1.0/users/{user}/conversationas/{team}"),
        ] {
            assert_eq!(api.admin("DELETE", &path, None).status, 204, "{path}");
        }
    };
    join(team, "ExternalConversations");
    // The API sees them at once, by every identifier.
    let read = |path: &str| assert_status(&api.call(&key, "GET", path, None), 200);
    assert_eq!(read("/v1.0/teams/SIP:NIGHT@contoso.com")["Id"], team);
    assert_eq!(read("/v1.0/users/eva.upn@contoso.com")["Id"], user);
    assert_eq!(read(&format!("/v1.0/teams/{team}/users"))[0]["Id"], user);
    assert_eq!(read(&format!("/v1.0/teams/bymember/{user}"))[0]["Id"], team);
    assert_eq!(
        read(&format!("/v1.0/users/{user}/teams/conversationas"))[0]["ConversationAsService"],
        "ExternalConversations"
    );
    // Eva also joins Support; removing the Night membership and right removes exactly those.
    join(TEAM_SUPPORT, "AllConversations");
    leave(team);
    let teams_of_eva: Vec<Value> = read(&format!("/v1.0/teams/bymember/{user}"))
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(teams_of_eva.len(), 1, "{teams_of_eva:?}");
    assert_eq!(teams_of_eva[0]["Id"], TEAM_SUPPORT);
    let rights = read(&format!("/v1.0/users/{user}/teams/conversationas"));
    assert_eq!(rights.as_array().map(Vec::len), Some(1), "{rights}");
    assert_eq!(rights[0]["TeamId"], TEAM_SUPPORT);
    // And back, for what follows.
    leave(TEAM_SUPPORT);
    join(team, "ExternalConversations");
    let below_care: Vec<Value> = read(&format!("/v1.0/organizationunits/{OU_CARE}/teams"))
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(below_care.iter().any(|t| t["Id"] == team), "{below_care:?}");
    // A renamed SIP URI: the new one finds the team, the old one no longer does.
    let mut renamed = team_body.clone();
    renamed["SipUri"] = json!("sip:late@contoso.com");
    assert_status(&put(format!("/admin/v1.0/teams/{team}"), renamed), 200);
    assert_eq!(read("/v1.0/teams/sip:late@contoso.com")["Id"], team);
    assert_error(
        &api.call(&key, "GET", "/v1.0/teams/sip:night@contoso.com", None),
        404,
        "NotFound",
    );
    // Broken references and clashes are refused with a message naming them.
    let message = assert_error(
        &put(
            format!("/admin/v1.0/teams/{team}"),
            json!({"Name": "Night", "SipUri": "sip:support@contoso.com", "OrganizationUnitId": unit, "Status": "Active"}),
        ),
        400,
        "BadRequest",
    );
    assert!(message.contains("sip:support@contoso.com"), "{message}");
    let message = assert_error(
        &put(
            format!("/admin/v1.0/teams/{team}"),
            json!({"Name": "Night", "SipUri": "sip:late@contoso.com", "OrganizationUnitId": "0e000000-0000-4000-8000-0000000000ff", "Status": "Active"}),
        ),
        400,
        "BadRequest",
    );
    assert!(
        message.contains("0e000000-0000-4000-8000-0000000000ff"),
        "{message}"
    );
    // A unit with a team in it is not deleted (the team would point at nothing).
    let message = assert_error(
        &api.admin(
            "DELETE",
            &format!("/admin/v1.0/organizationunits/{unit}"),
            None,
        ),
        400,
        "BadRequest",
    );
    assert!(message.contains(unit), "{message}");
    // A team with an open task is not deleted; once the task ended, it is, with its
    // memberships and rights.
    let tasks = Tasks {
        api,
        key: key.clone(),
    };
    let open = tasks.create(team, "IncomingCall", "Normal");
    let message = assert_error(
        &api.admin("DELETE", &format!("/admin/v1.0/teams/{team}"), None),
        409,
        "Conflict",
    );
    assert!(
        message.contains(team) && message.contains("open"),
        "{message}"
    );
    assert_status(&tasks.act(&open, "terminate", None), 200);
    assert_eq!(
        api.admin("DELETE", &format!("/admin/v1.0/teams/{team}"), None)
            .status,
        204
    );
    assert_error(
        &api.admin("DELETE", &format!("/admin/v1.0/teams/{team}"), None),
        404,
        "NotFound",
    );
    assert_eq!(read(&format!("/v1.0/teams/bymember/{user}")), json!([]));
    assert_eq!(
        read(&format!("/v1.0/users/{user}/teams/conversationas")),
        json!([])
    );
    assert_eq!(
        api.admin("DELETE", &format!("/admin/v1.0/users/{user}"), None)
            .status,
        204
    );
    assert_error(
        &api.call(&key, "GET", "/v1.0/users/sip:eva@contoso.com", None),
        404,
        "NotFound",
    );
    assert_eq!(
        api.admin(
            "DELETE",
            &format!("/admin/v1.0/organizationunits/{unit}"),
            None
        )
        .status,
        204
    );
    // Everything else is as it was.
    let stored = assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200);
    assert_eq!(stored, directory());
}

pub fn idempotent_retries(api: &Api) {
    let t = Tasks::new(api);
    let path = format!("/v1.0/teams/{TEAM_SUPPORT}/tasks");
    let body = json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41445550123"}});
    let create = |key: &str, idempotency: &str, body: &Value| {
        api.send(
            tm_core::Request::new("POST", &path)
                .header("api_key", key)
                .header("Idempotency-Key", idempotency)
                .json(body),
        )
    };
    let first = create(&t.key, "retry-1", &body);
    let task = assert_status(&first, 201)["Id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(first.header_value("Idempotent-Replayed"), None);
    // The answer was lost; the client retries: the same task, said again, none created.
    let retry = create(&t.key, "retry-1", &body);
    assert_eq!(retry.status, 201);
    assert_eq!(retry.json_body(), first.json_body());
    assert_eq!(
        retry.header_value("Location"),
        first.header_value("Location")
    );
    assert_eq!(retry.header_value("ETag"), first.header_value("ETag"));
    assert_eq!(retry.header_value("Idempotent-Replayed"), Some("true"));
    let listed = t.list(&path);
    assert_eq!(listed.len(), 1, "one task for two requests: {listed:?}");
    assert_eq!(listed[0]["Id"], task.as_str());
    // The same key for another request: 422, nothing created.
    let other = json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41445550999"}});
    assert_error(
        &create(&t.key, "retry-1", &other),
        422,
        "UnprocessableContent",
    );
    // Keys are per API key: another key may use the same one.
    let second_key = api.key(&["TasksManage"]);
    let theirs = assert_status(&create(&second_key, "retry-1", &body), 201);
    assert_ne!(theirs["Id"], task.as_str());
    assert_eq!(t.list(&path).len(), 2);
    // Without the header nothing changes: two requests, two tasks.
    assert_status(&t.api.call(&t.key, "POST", &path, Some(body.clone())), 201);
    assert_status(&t.api.call(&t.key, "POST", &path, Some(body.clone())), 201);
    assert_eq!(t.list(&path).len(), 4);
    let message = assert_error(&create(&t.key, "", &body), 400, "BadRequest");
    assert!(message.contains("Idempotency-Key"), "{message}");

    // Simultaneous retries: one task; every answer is that task or 409 (still running).
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                scope.spawn(|| {
                    let response = create(&t.key, "burst", &body);
                    (response.status, response.json_body())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let ids: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| &b["Id"])
        .collect();
    assert!(!ids.is_empty(), "{answers:?}");
    assert!(ids.iter().all(|id| *id == ids[0]), "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{answers:?}"
    );
    assert_eq!(t.list(&path).len(), 5);

    // An API key created twice with one Idempotency-Key is one key; the secret is shown once.
    let create_key = || {
        api.send(
            tm_core::Request::new("POST", "/admin/v1.0/apikeys")
                .header("Authorization", &format!("Bearer {ADMIN_TOKEN}"))
                .header("Idempotency-Key", "key-once")
                .json(&json!({"Name": "crm", "Roles": ["TasksReadonly"]})),
        )
    };
    let made = assert_status(&create_key(), 201);
    let again = assert_status(&create_key(), 201);
    assert_eq!(again["Id"], made["Id"]);
    assert!(made["Secret"].is_string());
    assert!(
        again["Secret"].is_null(),
        "the secret is never stored: {again}"
    );
    let keys = assert_status(&api.admin("GET", "/admin/v1.0/apikeys", None), 200);
    let named: Vec<&Value> = keys
        .as_array()
        .into_iter()
        .flatten()
        .filter(|k| k["Name"] == "crm")
        .collect();
    assert_eq!(named.len(), 1);
}
