//! The OpenAPI 3.1 document, generated from the route table so that it can never
//! miss an endpoint the router serves.

use crate::routes::{Access, AgentRule, Body, Operation, RouteSpec, ROUTES};
use crate::state_machine::TaskAction;
use serde_json::{json, Map, Value};

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn body_schema(body: Body) -> Option<Value> {
    match body {
        Body::None => None,
        Body::One(name) => Some(schema_ref(name)),
        Body::ArrayOf(name) => Some(json!({"type": "array", "items": schema_ref(name)})),
    }
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

/// The `Code` an error answer with `status` carries (API.md, "Errors").
fn error_code(status: &str) -> &'static str {
    match status {
        "400" => "BadRequest",
        "401" => "Unauthorized",
        "404" => "NotFound",
        "405" => "MethodNotAllowed",
        "409" => "Conflict",
        "412" => "PreconditionFailed",
        "413" => "PayloadTooLarge",
        "415" => "UnsupportedMediaType",
        "410" => "Gone",
        "422" => "UnprocessableContent",
        "429" => "TooManyRequests",
        "503" => "ServiceUnavailable",
        _ => "InternalError",
    }
}

/// An error answer, with an example of its body.
fn error_response(status: &str, description: &str) -> Value {
    let example = json!({"Error": {"Code": error_code(status), "Message": description}});
    json!({"description": description, "content": {"application/json": {
        "schema": schema_ref("Error"), "example": example}}})
}

fn operation(spec: &RouteSpec) -> Value {
    let mut responses = Map::new();
    let success = match body_schema(spec.response) {
        Some(schema) => json!({"description": "Success", "content": json_content(schema)}),
        None => json!({"description": "Success"}),
    };
    responses.insert(spec.status.to_string(), success);
    if spec.operation == Operation::OpenApi {
        responses.insert(
            "200".into(),
            json!({"description": "This document (OpenAPI 3.1)", "content": json_content(schema_ref("OpenApiDocument"))}),
        );
    }
    if spec.extras.none_is_204 {
        responses.insert("204".into(), json!({"description": "No task is waiting"}));
    }
    let mut errors = vec![
        ("400", "Bad request (the message names the field)"),
        ("404", "Not found"),
    ];
    if spec.access != Access::Public {
        errors.push(("401", "Missing or invalid credentials, or missing role"));
    }
    if spec.request != Body::None {
        errors.push((
            "413",
            if spec.access == Access::Admin {
                "Body larger than 32 MiB"
            } else {
                "Body larger than 64 KiB"
            },
        ));
        errors.push(("415", "Body is not application/json"));
    }
    if spec.extras.writes_directory {
        errors.push((
            "409",
            "Another directory write is in progress, or a team or user to delete has open tasks",
        ));
    }
    if matches!(spec.operation, Operation::Act(_)) {
        errors.push(("409", "Action not allowed in the task's current state"));
        errors.push(("412", "If-Match does not match the task's Version"));
    }
    let waits = spec.extras.feed;
    if waits {
        errors.push((
            "429",
            "Too many waiting reads (per API key or for the service); retry after Retry-After seconds",
        ));
    }
    errors.push(("405", "Method not allowed"));
    errors.push(("503", "Store unavailable"));
    for (status, description) in errors {
        responses.insert(status.into(), error_response(status, description));
    }
    if waits {
        if let Some(answer) = responses.get_mut("429") {
            answer["headers"] = json!({"Retry-After": {
                "description": "Seconds until a waiting read may be tried again",
                "schema": {"type": "integer", "minimum": 1}}});
        }
    }

    let mut parameters: Vec<Value> = spec
        .param_names()
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if spec.extras.status_filter {
        parameters.push(json!({"name": "status", "in": "query", "required": false,
            "schema": schema_ref("TeamStatus")}));
    }
    if spec.extras.paged {
        parameters.push(json!({"name": "offset", "in": "query", "required": false,
            "description": "Paging: items to skip (with it or `limit`, the answer carries `X-Total-Count` and a `Link` to the next page)",
            "schema": {"type": "integer", "minimum": 0}}));
        parameters.push(json!({"name": "limit", "in": "query", "required": false,
            "description": "Paging: items per page (1 to 1000); without `offset` and `limit` the whole list",
            "schema": {"type": "integer", "minimum": 1, "maximum": super::paging::MAX_LIMIT}}));
    }
    if spec.extras.conditional_list {
        parameters.push(json!({"name": "If-None-Match", "in": "header", "required": false,
            "description": "The list's ETag from an earlier answer: 304 without a body while the list is the same.",
            "schema": {"type": "string"}}));
        responses.insert(
            "304".into(),
            json!({"description": "The list is unchanged (same ETag)"}),
        );
    }
    if spec.extras.conditional_list {
        if let Some(success) = responses.get_mut("200") {
            success["headers"] = json!({"X-Feed-Cursor": {"description": "Where the change feed of this team or user stands, read before the list: follow its `/events?after=` from it to miss no later change.", "schema": {"type": "string"}}});
        }
    }
    if spec.extras.feed {
        parameters.push(json!({"name": "after", "in": "query", "required": false,
            "description": "The cursor to read after: the `Cursor` of the last answer or event, or the list's `X-Feed-Cursor`. Without it, the feed's current end (an empty page with the cursor to follow).",
            "schema": {"type": "string", "pattern": "^[0-9]+$"}}));
        parameters.push(json!({"name": "wait", "in": "query", "required": false,
            "description": "Seconds to wait for a change when there is none yet (long poll), 0 to 25.",
            "schema": {"type": "integer", "minimum": 0, "maximum": super::feeds::MAX_WAIT_SECONDS}}));
        responses.insert(
            "410".into(),
            error_response(
                "410",
                &format!(
                    "The cursor is older than the feed keeps (its newest {} changes): list again and follow the list's X-Feed-Cursor",
                    crate::repo::FEED_KEPT_EVENTS
                ),
            ),
        );
    }
    if super::takes_idempotency_key(spec.operation) {
        parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Makes a retry safe: the same key with the same request answers the first answer again (`Idempotent-Replayed: true`) for 24 hours; 422 for a different request, 409 while the first still runs. Scoped per API key.",
            "schema": {"type": "string", "minLength": 1, "maxLength": crate::idempotency::MAX_KEY_CHARS}}));
        responses.insert(
            "422".into(),
            error_response("422", "Idempotency-Key reused for a different request"),
        );
        responses.entry("409").or_insert_with(|| {
            error_response(
                "409",
                "A request with this Idempotency-Key is still running",
            )
        });
    }
    if matches!(spec.operation, Operation::Act(_)) {
        parameters.push(json!({"name": "If-Match", "in": "header", "required": false,
            "description": "The task's Version as an entity tag, e.g. \"3\"; 412 when it is not the current one",
            "schema": {"type": "string"}}));
    }
    let mut op = json!({
        "summary": spec.summary,
        "operationId": format!("{:?}", spec.operation).replace(['(', ')'], ""),
        "tags": [tag(spec)],
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(schema) = body_schema(spec.request) {
        op["requestBody"] =
            json!({"required": !spec.extras.body_optional, "content": json_content(schema)});
    }
    match spec.access {
        Access::Public => op["security"] = json!([]),
        Access::ApiKey(role) if spec.agents != AgentRule::Refused => {
            op["security"] = json!([{"api_key": []}, {"agent_session": []}]);
            op["x-required-role"] = json!(format!("{role:?}"));
            op["x-agent-session"] = json!(agent_rule_text(spec.agents));
        }
        Access::ApiKey(role) => {
            op["security"] = json!([{"api_key": []}]);
            op["x-required-role"] = json!(format!("{role:?}"));
        }
        Access::Admin => op["security"] = json!([{"admin_token": []}]),
    }
    op
}

/// What an agent session may do on a route, for `x-agent-session`.
fn agent_rule_text(rule: AgentRule) -> &'static str {
    match rule {
        AgentRule::Refused => "Not with an agent session.",
        AgentRule::OwnUser => "An agent session for the user in the path only.",
        AgentRule::TaskTheyTakePartIn => "An agent session for a task assigned to its agent, or whose consultation call the agent takes part in.",
        AgentRule::TaskAssignedToThem => "An agent session for a task assigned to its agent.",
        AgentRule::TheirTeam => "An agent session for a team its agent is a member of.",
        AgentRule::AsThemselves => "An agent session as its own agent (UserIdentifier) only.",
    }
}

fn tag(spec: &RouteSpec) -> &'static str {
    if matches!(spec.operation, Operation::DemoSession | Operation::DemoCall) {
        return "Demo";
    }
    match spec.access {
        Access::Admin => "Admin",
        Access::Public => "Service",
        Access::ApiKey(role) => match role {
            crate::model::Role::TasksReadonly | crate::model::Role::TasksManage => "Tasks",
            crate::model::Role::TeamsReadonly => "Teams",
            _ => "Users",
        },
    }
}

fn string_enum(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

fn nullable(schema: Value) -> Value {
    json!({"oneOf": [schema, {"type": "null"}]})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

/// A schema whose object takes no other properties (the admin API's entity writes refuse
/// unknown fields: a typo in a directory sync must not be dropped silently).
trait Closed {
    fn closed(self) -> Value;
}

impl Closed for Value {
    fn closed(mut self) -> Value {
        self["additionalProperties"] = json!(false);
        self
    }
}

/// Calls need a `sip:` or `tel:` customer; JSON Schema says so with if/then.
fn with_call_uri_rule(mut schema: Value) -> Value {
    schema["if"] = json!({"properties": {"Type": {"const": "IncomingCall"}}});
    schema["then"] = json!({"properties": {"Customer": {"properties": {"Uri": {"pattern": "^([sS][iI][pP]|[tT][eE][lL]):."}}}}});
    schema
}

fn schemas() -> Value {
    let guid = json!({"type": "string", "format": "uuid"});
    let time = json!({"type": "string", "format": "date-time"});
    let text = json!({"type": "string"});
    let required_text = json!({"type": "string", "minLength": 1, "pattern": "\\S"});
    let boolean = json!({"type": "boolean"});
    let priority_values = string_enum(&[
        "StrictPriority",
        "Highest",
        "VeryHigh",
        "High",
        "Normal",
        "Low",
        "VeryLow",
        "Lowest",
        "NothingElse",
    ]);
    let status_values = string_enum(&[
        "Queued",
        "Ringing",
        "Dialing",
        "Connected",
        "OnHold",
        "Consulting",
        "Conference",
        "Transferred",
        "Terminated",
    ]);
    let actions: Vec<String> = TaskAction::ALL.iter().map(|a| format!("{a:?}")).collect();
    let role_values = string_enum(&[
        "TasksReadonly",
        "TasksManage",
        "TeamsReadonly",
        "UsersReadonly",
        "UsersControl",
    ]);
    // Every enum and object is named once and referenced, so that generated clients get one
    // type per concept (no `TaskStatus` beside `TaskStatusDataStatus`).
    let priority = schema_ref("TaskPriority");
    let statuses = schema_ref("TaskStatus");
    let roles = schema_ref("Role");
    let team_status = schema_ref("TeamStatus");
    let conversation_as_service = schema_ref("ConversationAsService");
    let user_properties = json!({"Id": guid, "DisplayName": text, "FirstName": text, "LastName": text, "Upn": required_text, "SipUri": required_text, "Email": text});
    let mut member_properties = user_properties.clone();
    member_properties["TeamId"] = guid.clone();
    member_properties["IsActive"] = boolean.clone();
    let audio_names = [
        "CustomerHearsAgent",
        "CustomerHearsConsultant",
        "AgentHearsCustomer",
        "AgentHearsConsultant",
        "ConsultantHearsCustomer",
        "ConsultantHearsAgent",
    ];
    let audio_properties: Map<String, Value> = audio_names
        .iter()
        .map(|n| (n.to_string(), boolean.clone()))
        .collect();
    let party = object(
        &["Uri", "DisplayName"],
        json!({"Uri": text, "DisplayName": text}),
    );
    let target = object(
        &["Uri", "DisplayName", "UserId"],
        json!({"Uri": text, "DisplayName": text, "UserId": nullable(guid.clone())}),
    );
    let mut named = json!({
        "TaskPriority": priority_values,
        "TaskStatus": status_values,
        "TaskType": string_enum(&["IncomingCall", "OutboundCall", "ExternalTask"]),
        "CreateTaskType": string_enum(&["IncomingCall", "ExternalTask"]),
        "TaskAction": {"type": "string", "enum": actions},
        "Role": role_values,
        "TeamStatus": string_enum(&["Active", "Inactive"]),
        "ConversationAsService": string_enum(&["AllConversations", "ExternalConversations"]),
        "ConsultationStatus": string_enum(&["Ringing", "Connected", "Merged", "Ended"]),
        "ErrorCode": string_enum(&["BadRequest", "Unauthorized", "NotFound", "MethodNotAllowed", "Conflict", "PreconditionFailed", "PayloadTooLarge", "UnsupportedMediaType", "Gone", "UnprocessableContent", "TooManyRequests", "InternalError", "ServiceUnavailable"]),
        "OpenApiDocument": {"type": "object", "description": "An OpenAPI 3.1 document (this one)", "additionalProperties": true},
        "ErrorDetail": object(&["Code", "Message"], json!({"Code": schema_ref("ErrorCode"), "Message": text})),
        "Error": object(&["Error"], json!({"Error": schema_ref("ErrorDetail")})),
        "CustomerInput": object(&["Uri"], json!({"Uri": {"type": "string", "minLength": 1, "maxLength": 256, "description": "A `sip:` or `tel:` URI for calls"}, "DisplayName": nullable(text.clone())})),
    });
    let objects = json!({
        "Health": object(&["Status"], json!({"Status": text, "Time": time})),
        "OrganizationUnit": object(&["Id", "Name", "ParentId"], json!({"Id": guid, "Name": required_text, "ParentId": nullable(guid.clone())})),
        "Team": object(&["Id", "Name", "Description", "SipUri", "OrganizationUnitId", "Status", "Distribution"], json!({"Id": guid, "Name": required_text, "Description": text, "SipUri": required_text, "OrganizationUnitId": guid, "Status": team_status, "Distribution": schema_ref("Distribution")})),
        "User": object(&["Id", "DisplayName", "FirstName", "LastName", "Upn", "SipUri", "Email"], user_properties),
        "TeamMember": object(&["Id", "DisplayName", "FirstName", "LastName", "Upn", "SipUri", "Email", "TeamId", "IsActive"], member_properties),
        "ConversationAs": object(&["TeamId", "TeamName", "SipUri", "ConversationAsService"], json!({"TeamId": guid, "TeamName": text, "SipUri": text, "ConversationAsService": conversation_as_service})),
        "Party": party,
        "Target": target,
        "AudioRoutes": {"type": "object", "required": audio_names, "properties": audio_properties, "additionalProperties": false},
        "ConsultationCall": object(&["Id", "TaskId", "InitiatorUserId", "Target", "Status", "AudioRoutes", "StartedAt", "EndedAt"], json!({
            "Id": guid, "TaskId": guid, "InitiatorUserId": nullable(guid.clone()), "Target": schema_ref("Target"),
            "Status": schema_ref("ConsultationStatus"), "AudioRoutes": schema_ref("AudioRoutes"),
            "StartedAt": time, "EndedAt": nullable(time.clone())})),
        "Task": object(&["Id", "TeamId", "Type", "Status", "Priority", "Customer", "AssignedUserId", "ExternalTaskId", "Description", "CreatedAt", "QueuedAt", "UpdatedAt", "EndedAt", "Version", "ConsultationCall", "TransferredTo", "AllowedActions"], json!({
            "Id": guid, "TeamId": guid, "Type": schema_ref("TaskType"), "Status": statuses,
            "Priority": priority, "Customer": schema_ref("Party"), "AssignedUserId": nullable(guid.clone()),
            "ExternalTaskId": nullable(text.clone()), "Description": nullable(json!({"type": "string", "maxLength": 150})),
            "CreatedAt": time, "QueuedAt": nullable(time.clone()), "UpdatedAt": time, "EndedAt": nullable(time.clone()),
            "Version": {"type": "integer", "minimum": 1}, "ConsultationCall": nullable(schema_ref("ConsultationCall")),
            "TransferredTo": nullable(schema_ref("Target")),
            "RingingUntil": {"type": "string", "format": "date-time", "description": "Present while an automatic offer rings: when it goes back to the queue"},
            "AllowedActions": {"type": "array", "items": schema_ref("TaskAction")}})),
        "TaskStatusData": object(&["TaskId", "Status", "Version", "UpdatedAt"], json!({"TaskId": guid, "Status": statuses, "Version": {"type": "integer"}, "UpdatedAt": time})),
        "CreateTaskRequest": with_call_uri_rule(object(&["Type", "Customer"], json!({
            "Type": schema_ref("CreateTaskType"),
            "Customer": schema_ref("CustomerInput"),
            "Priority": nullable(priority.clone()), "ExternalTaskId": nullable(text.clone()), "Description": nullable(json!({"type": "string", "maxLength": 150}))}))),
        "StartOutboundCallRequest": object(&["UserIdentifier", "Target"], json!({"UserIdentifier": required_text, "Target": required_text, "TeamIdentifier": nullable(text.clone())})),
        "TargetRequest": object(&["Target"], json!({"Target": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "\\S", "description": "sip: or tel: URI, or a user identifier"}})),
        "OfferRequest": object(&["UserIdentifier"], json!({"UserIdentifier": required_text})),
        "ActiveRequest": object(&["Active"], json!({"Active": boolean})),
        "Directory": object(&[], json!({
            "OrganizationUnits": {"type": "array", "items": schema_ref("OrganizationUnit")},
            "Teams": {"type": "array", "items": schema_ref("Team")},
            "Users": {"type": "array", "items": schema_ref("User")},
            "Memberships": {"type": "array", "items": schema_ref("Membership")},
            "ConversationAs": {"type": "array", "items": schema_ref("ConversationAsRight")}})),
        "DirectoryChanges": object(&["OrganizationUnits", "Teams", "Users", "Memberships", "ConversationAs"], json!({
            "OrganizationUnits": schema_ref("ChangeCounts"), "Teams": schema_ref("ChangeCounts"), "Users": schema_ref("ChangeCounts"),
            "Memberships": schema_ref("ChangeCounts"), "ConversationAs": schema_ref("ChangeCounts")})),
        "ChangeCounts": object(&["Created", "Updated", "Deleted", "Unchanged"], json!({
            "Created": {"type": "integer", "minimum": 0}, "Updated": {"type": "integer", "minimum": 0},
            "Deleted": {"type": "integer", "minimum": 0}, "Unchanged": {"type": "integer", "minimum": 0}})),
        "OrganizationUnitInput": object(&["Name"], json!({"Name": required_text, "ParentId": nullable(guid.clone())})).closed(),
        "TeamInput": object(&["Name", "SipUri", "OrganizationUnitId", "Status"], json!({"Name": required_text, "Description": text, "SipUri": required_text, "OrganizationUnitId": guid, "Status": team_status, "Distribution": schema_ref("Distribution")})).closed(),
        "UserInput": object(&["DisplayName", "Upn", "SipUri"], json!({"DisplayName": text, "FirstName": text, "LastName": text, "Upn": required_text, "SipUri": required_text, "Email": text})).closed(),
        "MembershipInput": object(&["IsActive"], json!({"IsActive": boolean})).closed(),
        "Membership": object(&["TeamId", "UserId", "IsActive"], json!({"TeamId": guid, "UserId": guid, "IsActive": boolean})),
        "ConversationAsInput": object(&["ConversationAsService"], json!({"ConversationAsService": conversation_as_service})).closed(),
        "ConversationAsRight": object(&["UserId", "TeamId", "ConversationAsService"], json!({"UserId": guid, "TeamId": guid, "ConversationAsService": conversation_as_service})),
        "CreateApiKeyRequest": object(&["Name", "Roles"], json!({"Name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"}, "Roles": {"type": "array", "items": roles, "minItems": 1}, "ExpiresAt": nullable(time.clone())})),
        "PatchApiKeyRequest": object(&[], json!({"Roles": {"type": "array", "items": roles, "minItems": 1}, "ExpiresAt": nullable(time.clone())})),
        "ApiKey": object(&["Id", "Name", "Roles", "ExpiresAt", "CreatedAt"], json!({"Id": guid, "Name": text, "Roles": {"type": "array", "items": roles}, "ExpiresAt": nullable(time.clone()), "CreatedAt": time, "LastUsedAt": nullable(time.clone())})),
        "CreatedApiKey": object(&["Id", "Name", "Roles", "ExpiresAt", "CreatedAt", "Secret"], json!({"Id": guid, "Name": text, "Roles": {"type": "array", "items": roles}, "ExpiresAt": nullable(time.clone()), "CreatedAt": time, "Secret": {"type": "string", "description": "Shown once"}})),
    });
    if let (Some(named), Value::Object(objects)) = (named.as_object_mut(), objects) {
        named.extend(objects);
    }
    named["Distribution"] = object(
        &[],
        json!({
            "Mode": schema_ref("DistributionMode"),
            "RingTimeoutSeconds": {"type": "integer", "minimum": 5, "maximum": 300, "default": 20},
            "WrapUpSeconds": {"type": "integer", "minimum": 0, "maximum": 3600, "default": 0},
            "NotRespondingResetSeconds": {"type": "integer", "minimum": 10, "maximum": 28800, "default": 600},
            "ServiceLevelThresholdSeconds": {"type": "integer", "minimum": 1, "maximum": 600, "default": 20, "description": "Team statistics: answered within this many seconds counts as answered in time"}}),
    )
    .closed();
    named["DistributionMode"] = string_enum(&["Manual", "Automatic"]);
    named["DistributionMode"]["description"] = json!("Manual (the default): tasks wait for a client's offer, the vendor's behaviour. Automatic: the service offers each waiting task to the longest-idle available member.");
    named["AgentState"] = string_enum(&[
        "Available",
        "Away",
        "Offline",
        "Busy",
        "WrapUp",
        "NotResponding",
    ]);
    named["ChosenState"] = string_enum(&["Available", "Away", "Offline"]);
    let agent_state = schema_ref("AgentState");
    let chosen_state = schema_ref("ChosenState");
    named["Availability"] = object(
        &[
            "UserId", "State", "Chosen", "Since", "Until", "Reason", "TaskId",
        ],
        json!({
            "UserId": {"type": "string", "format": "uuid"},
            "State": agent_state,
            "Chosen": chosen_state.clone(),
            "Since": {"type": "string", "format": "date-time", "description": "Since when in State (Available: idle since; the longest-idle order)"},
            "Until": nullable(json!({"type": "string", "format": "date-time", "description": "When WrapUp or NotResponding ends"})),
            "Reason": nullable(json!({"type": "string"})),
            "TaskId": nullable(json!({"type": "string", "format": "uuid", "description": "The task that makes the agent Busy"}))}),
    );
    named["AvailabilityRequest"] = object(
        &["State"],
        json!({"State": chosen_state, "Reason": nullable(json!({"type": "string", "maxLength": 100}))}),
    )
    .closed();
    let uuid = json!({"type": "string", "format": "uuid"});
    let when = json!({"type": "string", "format": "date-time"});
    named["SessionRequest"] = json!({"type": "object", "properties": {
        "LifetimeSeconds": {"type": "integer", "minimum": crate::model::session::MIN_LIFETIME_SECONDS,
            "maximum": crate::model::session::MAX_LIFETIME_SECONDS,
            "description": "Default 28800 (8 hours)"}}})
    .closed();
    named["CreatedSession"] = object(
        &[
            "Token",
            "SessionId",
            "UserId",
            "ExpiresAt",
            "ExpiresInSeconds",
        ],
        json!({
            "Token": {"type": "string", "description": "Shown once: `Authorization: Bearer <Token>` on /v1.0. Only its hash is stored."},
            "SessionId": uuid.clone(), "UserId": uuid.clone(), "ExpiresAt": when.clone(),
            "ExpiresInSeconds": {"type": "integer", "minimum": 1, "description": "The lifetime, for renewing by the browser's own clock"}}),
    );
    named["Session"] = object(
        &["Id", "UserId", "CreatedAt", "ExpiresAt", "CreatedBy"],
        json!({"Id": uuid.clone(), "UserId": uuid, "CreatedAt": when.clone(), "ExpiresAt": when,
            "CreatedBy": {"type": "string", "description": "The API key's id that asked for it, `admin` or `demo`"}}),
    );
    named["DemoSessionRequest"] = object(
        &["User"],
        json!({"User": {"type": "string", "description": "A demo agent: Id, SIP URI or UPN"}}),
    )
    .closed();
    named["DistributionRun"] = object(
        &["Offers", "RingTimeouts", "Repairs"],
        json!({
            "Offers": {"type": "integer", "minimum": 0},
            "RingTimeouts": {"type": "integer", "minimum": 0},
            "Repairs": {"type": "integer", "minimum": 0, "description": "Stale pool entries, ring entries and reservations repaired on the way"}}),
    );
    named["FeedEvent"] = object(
        &["Cursor", "Kind", "Version", "Time"],
        json!({
            "Cursor": {"type": "string", "description": "This event's place in the feed"},
            "Kind": {"type": "string", "description": "Created, OutboundCallStarted, the action (Offer, Hold, …), or the service's own AutomaticOffer and RingTimeout: a task's change (TaskId, Task). Availability (in a user's feed only, to callers that may read it): a change of the user's availability (UserId, Availability)"},
            "TaskId": {"type": "string", "format": "uuid", "description": "A task's change"},
            "UserId": {"type": "string", "format": "uuid", "description": "An availability change"},
            "Version": {"type": "integer", "description": "The task's Version after the change, or the availability record's revision (one more per change)"},
            "Time": {"type": "string", "format": "date-time"},
            "Task": schema_ref("Task"),
            "Availability": schema_ref("Availability")}),
    );
    let count = || json!({"type": "integer", "minimum": 0});
    let seconds = |description: &str| {
        nullable(json!({"type": "number", "minimum": 0, "description": description}))
    };
    named["PeriodStatistics"] = object(
        &[
            "Created",
            "Answered",
            "Abandoned",
            "Transferred",
            "AverageAnswerSeconds",
            "P90AnswerSeconds",
            "ServiceLevelPercent",
            "ServiceLevelThresholdSeconds",
            "AnsweredWithinThreshold",
        ],
        json!({
            "Created": {"type": "integer", "minimum": 0, "description": "Tasks created (not outbound calls)"},
            "Answered": {"type": "integer", "minimum": 0, "description": "Tasks that went from Queued or Ringing to Connected (accepted)"},
            "Abandoned": {"type": "integer", "minimum": 0, "description": "Tasks terminated while Queued or Ringing"},
            "Transferred": {"type": "integer", "minimum": 0, "description": "Tasks transferred"},
            "AverageAnswerSeconds": seconds("Average time from CreatedAt to the answer (null: none answered)"),
            "P90AnswerSeconds": nullable(json!({"type": "integer", "minimum": 0, "description": "90th percentile (nearest rank) of the time to answer, whole seconds rounded up"})),
            "ServiceLevelPercent": seconds("100 × AnsweredWithinThreshold / (Answered + Abandoned), one decimal (null: none answered or abandoned)"),
            "ServiceLevelThresholdSeconds": {"type": "integer", "minimum": 1},
            "AnsweredWithinThreshold": count()}),
    );
    named["Statistics"] = object(
        &[
            "AsOf",
            "TasksByStatus",
            "QueuedByPriority",
            "LongestWaiting",
            "AverageWaitSeconds",
            "Agents",
            "Today",
            "Last15Minutes",
            "LastHour",
        ],
        json!({
            "TeamId": {"type": "string", "format": "uuid"},
            "OrganizationUnitId": {"type": "string", "format": "uuid"},
            "AsOf": {"type": "string", "format": "date-time"},
            "TasksByStatus": schema_ref("TasksByStatus"),
            "QueuedByPriority": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}, "description": "Queued tasks by Priority, every priority listed"},
            "LongestWaiting": nullable(schema_ref("LongestWaiting")),
            "AverageWaitSeconds": seconds("How long the queued tasks have waited so far, on average (null: none waits)"),
            "Agents": schema_ref("AgentCounts"),
            "Today": schema_ref("PeriodStatistics"),
            "Last15Minutes": schema_ref("PeriodStatistics"),
            "LastHour": {"type": "array", "items": schema_ref("MinuteStatistics")}}),
    );
    named["TasksByStatus"] = object(
        &[
            "Queued",
            "Ringing",
            "Dialing",
            "Connected",
            "OnHold",
            "Consulting",
            "Conference",
        ],
        json!({"Queued": count(), "Ringing": count(), "Dialing": count(), "Connected": count(), "OnHold": count(), "Consulting": count(), "Conference": count()}),
    );
    named["LongestWaiting"] = object(
        &["TaskId", "AgeSeconds"],
        json!({"TaskId": {"type": "string", "format": "uuid"}, "AgeSeconds": {"type": "number", "minimum": 0}}),
    );
    named["AgentCounts"] = object(
        &[
            "Available",
            "Busy",
            "WrapUp",
            "NotResponding",
            "Away",
            "Offline",
            "Blocked",
        ],
        json!({"Available": count(), "Busy": count(), "WrapUp": count(), "NotResponding": count(), "Away": count(), "Offline": count(), "Blocked": count()}),
    );
    named["MinuteStatistics"] = object(
        &["Minute", "Waiting", "ServiceLevelPercent"],
        json!({
        "Minute": {"type": "string", "format": "date-time"},
        "Waiting": nullable(json!({"type": "integer", "minimum": 0})),
        "ServiceLevelPercent": seconds("The minute's service level")}),
    );
    named["ErasureRequest"] = object(
        &["CustomerUri"],
        json!({"CustomerUri": {"type": "string", "minLength": 1, "maxLength": 2048, "description": "The person's URI exactly as tasks hold it (e.g. tel:+41441234567)"}}),
    );
    named["Erasure"] = object(
        &[
            "Tasks",
            "TasksScrubbed",
            "FeedEntriesScrubbed",
            "AnswersScrubbed",
            "More",
        ],
        json!({"Tasks": {"type": "integer", "minimum": 0, "description": "Tasks that named the person"},
            "TasksScrubbed": {"type": "integer", "minimum": 0},
            "FeedEntriesScrubbed": {"type": "integer", "minimum": 0},
            "AnswersScrubbed": {"type": "integer", "minimum": 0},
            "More": {"type": "boolean", "description": "More tasks are left for another request"}}),
    );
    named["RetentionSweep"] = object(
        &[
            "Deleted",
            "Dropped",
            "MoreDue",
            "RetentionDays",
            "ExpiredAnswersDeleted",
            "AuditEntriesDeleted",
            "ApiKeysDeleted",
            "LeftoverKeysDeleted",
            "DeletedEntitiesCleaned",
            "MoreLeftovers",
        ],
        json!({
            "Deleted": {"type": "integer", "minimum": 0, "description": "Finished tasks deleted"},
            "Dropped": {"type": "integer", "minimum": 0, "description": "Entries of tasks already gone or whose end never committed"},
            "MoreDue": {"type": "boolean", "description": "Another slice would find work now"},
            "RetentionDays": {"type": "integer", "minimum": 0, "description": "0: finished tasks are kept"},
            "ExpiredAnswersDeleted": {"type": "integer", "minimum": 0, "description": "Stored answers of Idempotency-Key requests deleted (kept 24 hours)"},
            "AuditEntriesDeleted": {"type": "integer", "minimum": 0, "description": "Audit entries deleted (older than audit_retention_days, default 365)"},
            "ApiKeysDeleted": {"type": "integer", "minimum": 0, "description": "Records of API keys revoked or expired more than 90 days ago deleted"},
            "LeftoverKeysDeleted": {"type": "integer", "minimum": 0, "description": "Keys deleted of what deleted teams and users left (feeds, index shards, queue heads, statistics, idle pools, agent records, sessions)"},
            "DeletedEntitiesCleaned": {"type": "integer", "minimum": 0, "description": "Deleted teams and users of which nothing is left now"},
            "MoreLeftovers": {"type": "boolean", "description": "Deleted teams or users still leave keys (another slice would find work)"}}),
    );
    named["AuditActorType"] = string_enum(&["Admin", "ApiKey", "Session"]);
    named["AuditActor"] = object(
        &["Type"],
        json!({
            "Type": schema_ref("AuditActorType"),
            "ApiKeyId": {"type": "string", "format": "uuid"},
            "ApiKeyName": {"type": "string"},
            "UserId": {"type": "string", "format": "uuid"}}),
    );
    named["AuditEntry"] = object(
        &["Cursor", "At", "Actor", "Action", "Target", "Status"],
        json!({
            "Cursor": {"type": "string", "description": "This entry's place; read on with `after` set to it"},
            "At": {"type": "string", "format": "date-time"},
            "Actor": schema_ref("AuditActor"),
            "Action": {"type": "string", "description": "The operation, e.g. PutTeam, CreateApiKey, SetTeamMemberActive"},
            "Target": {"type": "string", "description": "Method and path of the request"},
            "Status": {"type": "integer"}}),
    );
    named["AuditPage"] = object(
        &["Entries", "Cursor"],
        json!({"Entries": {"type": "array", "items": schema_ref("AuditEntry")}, "Cursor": {"type": "string"}}),
    );
    named["FeedPage"] = object(
        &["Events", "Cursor"],
        json!({
            "Events": {"type": "array", "items": schema_ref("FeedEvent")},
            "Cursor": {"type": "string", "description": "Read on from here (`after`)"}}),
    );
    named["CreateTaskRequest"]["description"] = json!("A new task. For `IncomingCall`, `Customer.Uri` must be a `sip:` or `tel:` URI (the `if`/`then` rule says the same for validators).");
    named["Task"]["examples"] = json!([example_task()]);
    named["Team"]["examples"] = json!([{"Id": "7d3a0000-0000-4000-8000-000000000201", "Name": "Support", "Description": "First-level support", "SipUri": "sip:support@contoso.com", "OrganizationUnitId": "7d3a0000-0000-4000-8000-000000000101", "Status": "Active", "Distribution": {"Mode": "Manual", "RingTimeoutSeconds": 20, "WrapUpSeconds": 0, "NotRespondingResetSeconds": 600, "ServiceLevelThresholdSeconds": 20}}]);
    named
}

fn example_task() -> Value {
    json!({"Id": "5f0c7a52-51a4-4c49-9a53-0d1c8f6f2b11", "TeamId": "7d3a0000-0000-4000-8000-000000000201",
        "Type": "IncomingCall", "Status": "Ringing", "Priority": "Normal",
        "Customer": {"Uri": "tel:+41445550100", "DisplayName": "Mia Weber"},
        "AssignedUserId": "7d3a0000-0000-4000-8000-000000000301", "ExternalTaskId": null, "Description": null,
        "CreatedAt": "2026-01-05T08:00:00Z", "QueuedAt": "2026-01-05T08:00:00Z", "UpdatedAt": "2026-01-05T08:00:12Z",
        "EndedAt": null, "Version": 2, "ConsultationCall": null, "TransferredTo": null,
        "AllowedActions": ["Accept", "Decline", "Transfer", "Terminate"]})
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for spec in ROUTES {
        let entry = paths
            .entry(spec.path.to_string())
            .or_insert_with(|| json!({}));
        entry[spec.method.as_str().to_ascii_lowercase()] = operation(spec);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "TM Task / Team / User API",
            "version": "1.0",
            "description": "Tasks, teams, organization units and users of the TM contact center. Every /v1.0 request carries the header `api_key` with an API key (`api_key: tm_...`), or, from an agent's browser, `Authorization: Bearer tms_...` with that agent's session (`POST /v1.0/users/{userIdentifier}/sessions`), which may do only what the agent may (`x-agent-session`). The admin API under /admin/v1.0 takes `Authorization: Bearer <admin token>`.\n\nPaths: a literal segment always wins over a parameter, so `/v1.0/tasks/byteamsmember/{userIdentifier}` is never read as `/v1.0/tasks/{taskId}/...` (task ids are GUIDs).",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "Tasks", "description": "A team's tasks: list, longest waiting, create, and the actions of the task state machine (offer, accept, hold, transfer, consultation calls, ...)."},
            {"name": "Teams", "description": "Teams and organization units, read only."},
            {"name": "Users", "description": "Users, their teams and conversation-as rights; blocking a user in a team."},
            {"name": "Service", "description": "Health and this document; no key needed."},
            {"name": "Demo", "description": "The demo page's backend, only while the demo data is on (404 otherwise); for the demo agents only."},
            {"name": "Admin", "description": "The operator's API: API keys and the directory. `Authorization: Bearer <admin token>`."}
        ],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "api_key": {"type": "apiKey", "in": "header", "name": "api_key",
                    "description": "Every /v1.0 request: the header `api_key` with the key's secret (`api_key: tm_...`). `Authorization: Bearer` carries an agent's session instead (see `agent_session`). Each route needs one role (`x-required-role`)."},
                "agent_session": {"type": "http", "scheme": "bearer",
                    "description": "An agent's session (`Authorization: Bearer tms_...`), from `POST /v1.0/users/{userIdentifier}/sessions`: may do only what that agent may (`x-agent-session` on each route that takes it; every other route answers 401). Used only when no `api_key` header is sent."},
                "admin_token": {"type": "http", "scheme": "bearer",
                    "description": "The admin API (/admin/v1.0): `Authorization: Bearer <admin token>`, the token set with the `admin_token` variable."}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `description` string anywhere in the document.
    fn descriptions(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (name, inner) in map {
                    match inner {
                        Value::String(text) if name == "description" => found.push(text.clone()),
                        _ => descriptions(inner, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| descriptions(i, found)),
            _ => {}
        }
    }

    /// Descriptions are Markdown: a `<` outside a code span starts an HTML tag and is not shown
    /// (Swagger UI rendered "Authorization: Bearer ." for "Bearer <admin token>").
    #[test]
    fn descriptions_show_angle_brackets_only_inside_code_spans() {
        let mut found = Vec::new();
        descriptions(&document(), &mut found);
        assert!(found.len() > 10, "descriptions found: {}", found.len());
        for text in found {
            let outside_code: String = text.split('`').step_by(2).collect();
            assert!(
                !outside_code.contains('<'),
                "raw '<' in description: {text}"
            );
        }
        let info = document()["info"]["description"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            info.contains("`Authorization: Bearer <admin token>`"),
            "{info}"
        );
        assert!(info.contains("`api_key"), "{info}");
    }

    /// Schemas inside `value` that declare an enum or an object with properties: each such
    /// concept must be a named component (generators make a type per inline one).
    fn inline_types(value: &Value, at: &str, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if map.contains_key("enum")
                    || map.contains_key("properties") && map.get("type") == Some(&json!("object"))
                {
                    found.push(at.to_string());
                }
                for (name, inner) in map {
                    // The if/then rule for call URIs only restates a pattern (said in words too).
                    if name != "if" && name != "then" && name != "examples" && name != "example" {
                        inline_types(inner, &format!("{at}/{name}"), found);
                    }
                }
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, item)| inline_types(item, &format!("{at}/{i}"), found)),
            _ => {}
        }
    }

    #[test]
    fn every_enum_and_object_is_a_named_schema() {
        let document = document();
        let mut found = Vec::new();
        inline_types(&document["paths"], "paths", &mut found);
        if let Some(schemas) = document["components"]["schemas"].as_object() {
            for (name, schema) in schemas {
                let Some(parts) = schema.as_object() else {
                    continue;
                };
                for (part, inner) in parts {
                    if part != "if" && part != "then" && part != "examples" {
                        inline_types(inner, &format!("{name}/{part}"), &mut found);
                    }
                }
            }
        }
        assert_eq!(found, Vec::<String>::new());
    }
}
