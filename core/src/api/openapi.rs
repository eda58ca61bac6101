//! The OpenAPI 3.1 document, generated from the route table so that it can never
//! miss an endpoint the router serves.

use crate::routes::{Access, Body, RouteSpec, ROUTES};
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

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": json_content(schema_ref("Error"))})
}

fn operation(spec: &RouteSpec) -> Value {
    let mut responses = Map::new();
    let success = match body_schema(spec.response) {
        Some(schema) => json!({"description": "Success", "content": json_content(schema)}),
        None => json!({"description": "Success"}),
    };
    responses.insert(spec.status.to_string(), success);
    if spec.path.ends_with("/longestwaitingtask") {
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
            if spec.path.starts_with("/admin/") {
                "Body larger than 32 MiB"
            } else {
                "Body larger than 64 KiB"
            },
        ));
        errors.push(("415", "Body is not application/json"));
    }
    if writes_directory(spec) {
        errors.push((
            "409",
            "Another directory write is in progress, or a team or user to delete has open tasks",
        ));
    }
    if matches!(spec.operation, crate::routes::Operation::Act(_)) {
        errors.push(("409", "Action not allowed in the task's current state"));
        errors.push(("412", "If-Match does not match the task's Version"));
    }
    errors.push(("405", "Method not allowed"));
    errors.push(("503", "Store unavailable"));
    for (status, description) in errors {
        responses.insert(status.into(), error_response(description));
    }

    let mut parameters: Vec<Value> = spec
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if spec.path == "/v1.0/teams" {
        parameters.push(json!({"name": "status", "in": "query", "required": false,
            "schema": {"type": "string", "enum": ["Active", "Inactive"]}}));
    }
    if PAGED_PATHS.contains(&spec.path) {
        parameters.push(json!({"name": "offset", "in": "query", "required": false,
            "description": "Paging: items to skip (with it or `limit`, the answer carries `X-Total-Count` and a `Link` to the next page)",
            "schema": {"type": "integer", "minimum": 0}}));
        parameters.push(json!({"name": "limit", "in": "query", "required": false,
            "description": "Paging: items per page (1 to 1000); without `offset` and `limit` the whole list",
            "schema": {"type": "integer", "minimum": 1, "maximum": super::paging::MAX_LIMIT}}));
    }
    if super::takes_idempotency_key(spec.operation) {
        parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Makes a retry safe: the same key with the same request answers the first answer again (`Idempotent-Replayed: true`) for 24 hours; 422 for a different request, 409 while the first still runs. Scoped per API key.",
            "schema": {"type": "string", "minLength": 1, "maxLength": crate::idempotency::MAX_KEY_CHARS}}));
        responses.insert(
            "422".into(),
            error_response("Idempotency-Key reused for a different request"),
        );
        responses.entry("409").or_insert_with(|| {
            error_response("A request with this Idempotency-Key is still running")
        });
    }
    if matches!(spec.operation, crate::routes::Operation::Act(_)) {
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
        op["requestBody"] = json!({"required": true, "content": json_content(schema)});
    }
    match spec.access {
        Access::Public => op["security"] = json!([]),
        Access::ApiKey(role) => {
            op["security"] = json!([{"api_key": []}]);
            op["x-required-role"] = json!(format!("{role:?}"));
        }
        Access::Admin => op["security"] = json!([{"admin_token": []}]),
    }
    op
}

/// Admin writes of the directory (one at a time; 409 while another runs).
fn writes_directory(spec: &RouteSpec) -> bool {
    use crate::routes::Operation as O;
    matches!(
        spec.operation,
        O::PutDirectory
            | O::PutOrganizationUnit
            | O::DeleteOrganizationUnit
            | O::PutTeam
            | O::DeleteTeam
            | O::PutUser
            | O::DeleteUser
            | O::PutMembership
            | O::DeleteMembership
            | O::PutConversationAs
            | O::DeleteConversationAs
    )
}

/// The list endpoints that take `offset` and `limit`.
pub const PAGED_PATHS: &[&str] = &[
    "/v1.0/users",
    "/v1.0/teams",
    "/v1.0/teams/{teamIdentifier}/users",
];

fn tag(spec: &RouteSpec) -> &'static str {
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
    let priority = string_enum(&[
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
    let statuses = string_enum(&[
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
    let roles = string_enum(&[
        "TasksReadonly",
        "TasksManage",
        "TeamsReadonly",
        "UsersReadonly",
        "UsersControl",
    ]);
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
    json!({
        "Error": object(&["Error"], json!({"Error": object(&["Code", "Message"], json!({
            "Code": string_enum(&["BadRequest", "Unauthorized", "NotFound", "MethodNotAllowed", "Conflict", "PreconditionFailed", "PayloadTooLarge", "UnsupportedMediaType", "UnprocessableContent", "InternalError", "ServiceUnavailable"]),
            "Message": text}))})),
        "Health": object(&["Status"], json!({"Status": text, "Time": time})),
        "OrganizationUnit": object(&["Id", "Name", "ParentId"], json!({"Id": guid, "Name": required_text, "ParentId": nullable(guid.clone())})),
        "Team": object(&["Id", "Name", "Description", "SipUri", "OrganizationUnitId", "Status"], json!({"Id": guid, "Name": required_text, "Description": text, "SipUri": required_text, "OrganizationUnitId": guid, "Status": string_enum(&["Active", "Inactive"])})),
        "User": object(&["Id", "DisplayName", "FirstName", "LastName", "Upn", "SipUri", "Email"], user_properties),
        "TeamMember": object(&["Id", "DisplayName", "FirstName", "LastName", "Upn", "SipUri", "Email", "TeamId", "IsActive"], member_properties),
        "ConversationAs": object(&["TeamId", "TeamName", "SipUri", "ConversationAsService"], json!({"TeamId": guid, "TeamName": text, "SipUri": text, "ConversationAsService": string_enum(&["AllConversations", "ExternalConversations"])})),
        "Party": party,
        "Target": target,
        "AudioRoutes": {"type": "object", "required": audio_names, "properties": audio_properties, "additionalProperties": false},
        "ConsultationCall": object(&["Id", "TaskId", "InitiatorUserId", "Target", "Status", "AudioRoutes", "StartedAt", "EndedAt"], json!({
            "Id": guid, "TaskId": guid, "InitiatorUserId": nullable(guid.clone()), "Target": schema_ref("Target"),
            "Status": string_enum(&["Ringing", "Connected", "Merged", "Ended"]), "AudioRoutes": schema_ref("AudioRoutes"),
            "StartedAt": time, "EndedAt": nullable(time.clone())})),
        "Task": object(&["Id", "TeamId", "Type", "Status", "Priority", "Customer", "AssignedUserId", "ExternalTaskId", "Description", "CreatedAt", "QueuedAt", "UpdatedAt", "EndedAt", "Version", "ConsultationCall", "TransferredTo", "AllowedActions"], json!({
            "Id": guid, "TeamId": guid, "Type": string_enum(&["IncomingCall", "OutboundCall", "ExternalTask"]), "Status": statuses,
            "Priority": priority, "Customer": schema_ref("Party"), "AssignedUserId": nullable(guid.clone()),
            "ExternalTaskId": nullable(text.clone()), "Description": nullable(json!({"type": "string", "maxLength": 150})),
            "CreatedAt": time, "QueuedAt": nullable(time.clone()), "UpdatedAt": time, "EndedAt": nullable(time.clone()),
            "Version": {"type": "integer", "minimum": 1}, "ConsultationCall": nullable(schema_ref("ConsultationCall")),
            "TransferredTo": nullable(schema_ref("Target")),
            "AllowedActions": {"type": "array", "items": {"type": "string", "enum": actions}}})),
        "TaskStatusData": object(&["TaskId", "Status", "Version", "UpdatedAt"], json!({"TaskId": guid, "Status": statuses, "Version": {"type": "integer"}, "UpdatedAt": time})),
        "CreateTaskRequest": with_call_uri_rule(object(&["Type", "Customer"], json!({
            "Type": string_enum(&["IncomingCall", "ExternalTask"]),
            "Customer": object(&["Uri"], json!({"Uri": {"type": "string", "minLength": 1, "maxLength": 256, "description": "A sip: or tel: URI for calls"}, "DisplayName": nullable(text.clone())})),
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
        "OrganizationUnitInput": object(&["Name"], json!({"Name": required_text, "ParentId": nullable(guid.clone())})),
        "TeamInput": object(&["Name", "SipUri", "OrganizationUnitId", "Status"], json!({"Name": required_text, "Description": text, "SipUri": required_text, "OrganizationUnitId": guid, "Status": string_enum(&["Active", "Inactive"])})),
        "UserInput": object(&["DisplayName", "Upn", "SipUri"], json!({"DisplayName": text, "FirstName": text, "LastName": text, "Upn": required_text, "SipUri": required_text, "Email": text})),
        "MembershipInput": object(&["IsActive"], json!({"IsActive": boolean})),
        "Membership": object(&["TeamId", "UserId", "IsActive"], json!({"TeamId": guid, "UserId": guid, "IsActive": boolean})),
        "ConversationAsInput": object(&["ConversationAsService"], json!({"ConversationAsService": string_enum(&["AllConversations", "ExternalConversations"])})),
        "ConversationAsRight": object(&["UserId", "TeamId", "ConversationAsService"], json!({"UserId": guid, "TeamId": guid, "ConversationAsService": string_enum(&["AllConversations", "ExternalConversations"])})),
        "CreateApiKeyRequest": object(&["Name"], json!({"Name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"}, "Roles": {"type": "array", "items": roles}, "ExpiresAt": nullable(time.clone())})),
        "PatchApiKeyRequest": object(&[], json!({"Roles": {"type": "array", "items": roles}, "ExpiresAt": nullable(time.clone())})),
        "ApiKey": object(&["Id", "Name", "Roles", "ExpiresAt", "CreatedAt"], json!({"Id": guid, "Name": text, "Roles": {"type": "array", "items": roles}, "ExpiresAt": nullable(time.clone()), "CreatedAt": time, "LastUsedAt": nullable(time.clone())})),
        "CreatedApiKey": object(&["Id", "Name", "Roles", "ExpiresAt", "CreatedAt", "Secret"], json!({"Id": guid, "Name": text, "Roles": {"type": "array", "items": roles}, "ExpiresAt": nullable(time.clone()), "CreatedAt": time, "Secret": {"type": "string", "description": "Shown once"}})),
    })
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
            "description": "Tasks, teams, organization units and users of the TM contact center. Every /v1.0 request carries the header `api_key` with an API key (`api_key: tm_...`), not an Authorization header. The admin API under /admin/v1.0 takes `Authorization: Bearer <admin token>`."
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": "Tasks"}, {"name": "Teams"}, {"name": "Users"}, {"name": "Service"}, {"name": "Admin"}],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "api_key": {"type": "apiKey", "in": "header", "name": "api_key"},
                "admin_token": {"type": "http", "scheme": "bearer"}
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
}
