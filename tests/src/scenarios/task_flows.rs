//! Task flows: the lifecycle with consultations, every state times every action, outbound calls.

use super::*;

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
