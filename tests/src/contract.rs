//! Expectations written out from the contract, never read from the code under test.

/// Who may call what: `(method, path, access)`, where access is a role, `Public` or `Admin`.
/// The `/v1.0` roles are copied from the vendor document's "API Roles" section (TasksReadonly:
/// the Task API's GETs; TasksManage: its POSTs; TeamsReadonly; UsersReadonly; UsersControl: the
/// `active` POST); the task endpoints that shared/API.md adds follow the same rule (GET task →
/// TasksReadonly, POST → TasksManage). Service endpoints are public; the admin API takes the
/// admin token.
pub const ROLE_TABLE: &[(&str, &str, &str)] = &[
    // Task API (vendor)
    ("GET", "/v1.0/teams/{teamIdentifier}/tasks", "TasksReadonly"),
    (
        "GET",
        "/v1.0/teams/{teamIdentifier}/longestwaitingtask",
        "TasksReadonly",
    ),
    (
        "GET",
        "/v1.0/tasks/byteamsmember/{userIdentifier}",
        "TasksReadonly",
    ),
    ("POST", "/v1.0/tasks/outboundCall/start", "TasksManage"),
    ("GET", "/v1.0/users/{userIdentifier}/tasks", "TasksReadonly"),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/transfer",
        "TasksManage",
    ),
    ("POST", "/v1.0/tasks/{taskIdentifier}/hold", "TasksManage"),
    ("POST", "/v1.0/tasks/{taskIdentifier}/resume", "TasksManage"),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/terminate",
        "TasksManage",
    ),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/consultationCall",
        "TasksManage",
    ),
    (
        "GET",
        "/v1.0/tasks/{taskIdentifier}/consultationCall",
        "TasksReadonly",
    ),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/consultationCall/merge",
        "TasksManage",
    ),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/consultationCall/transfer",
        "TasksManage",
    ),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/consultationCall/terminate",
        "TasksManage",
    ),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/consultationCall/leave",
        "TasksManage",
    ),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/consultationCall/audioRoutes",
        "TasksManage",
    ),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/consultationCall/terminateCustomerCall",
        "TasksManage",
    ),
    (
        "GET",
        "/v1.0/users/{userIdentifier}/consultativeCalls",
        "TasksReadonly",
    ),
    // Task API (shared/API.md)
    ("POST", "/v1.0/teams/{teamIdentifier}/tasks", "TasksManage"),
    // The change feed (issue "A lossless, ordered change feed": role TasksReadonly).
    (
        "GET",
        "/v1.0/teams/{teamIdentifier}/events",
        "TasksReadonly",
    ),
    (
        "GET",
        "/v1.0/users/{userIdentifier}/events",
        "TasksReadonly",
    ),
    // Agent availability and distribution (issue 20: reading needs UsersReadonly, setting
    // UsersControl; running a team's distribution changes tasks: TasksManage).
    (
        "GET",
        "/v1.0/users/{userIdentifier}/availability",
        "UsersReadonly",
    ),
    (
        "PUT",
        "/v1.0/users/{userIdentifier}/availability",
        "UsersControl",
    ),
    (
        "POST",
        "/v1.0/teams/{teamIdentifier}/distribution/run",
        "TasksManage",
    ),
    // Statistics (issue 22: figures about tasks, so TasksReadonly, like the feeds a wallboard
    // follows with the same key).
    (
        "GET",
        "/v1.0/teams/{teamIdentifier}/statistics",
        "TasksReadonly",
    ),
    (
        "GET",
        "/v1.0/organizationunits/{ouIdentifier}/statistics",
        "TasksReadonly",
    ),
    ("GET", "/v1.0/tasks/{taskIdentifier}", "TasksReadonly"),
    ("POST", "/v1.0/tasks/{taskIdentifier}/offer", "TasksManage"),
    ("POST", "/v1.0/tasks/{taskIdentifier}/accept", "TasksManage"),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/decline",
        "TasksManage",
    ),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/answered",
        "TasksManage",
    ),
    (
        "POST",
        "/v1.0/tasks/{taskIdentifier}/consultationCall/answered",
        "TasksManage",
    ),
    // Team API (vendor)
    ("GET", "/v1.0/teams", "TeamsReadonly"),
    ("GET", "/v1.0/teams/{teamIdentifier}", "TeamsReadonly"),
    (
        "GET",
        "/v1.0/teams/bymember/{userIdentifier}",
        "TeamsReadonly",
    ),
    (
        "GET",
        "/v1.0/organizationunits/{ouIdentifier}/teams",
        "TeamsReadonly",
    ),
    (
        "GET",
        "/v1.0/users/{userIdentifier}/teams/conversationas",
        "TeamsReadonly",
    ),
    // User API (vendor)
    ("GET", "/v1.0/users/{userIdentifier}", "UsersReadonly"),
    ("GET", "/v1.0/users", "UsersReadonly"),
    ("GET", "/v1.0/teams/{teamIdentifier}/users", "UsersReadonly"),
    (
        "POST",
        "/v1.0/teams/{teamIdentifier}/users/{userIdentifier}/active",
        "UsersControl",
    ),
    // Service (shared/API.md)
    ("GET", "/health", "Public"),
    ("GET", "/v1.0/openapi.json", "Public"),
    // Admin API (shared/API.md and docs/api.md)
    ("GET", "/admin/v1.0/directory", "Admin"),
    ("PUT", "/admin/v1.0/directory", "Admin"),
    // Retention (issue 23): an operator's scheduler, with the admin token.
    ("POST", "/admin/v1.0/retention/sweep", "Admin"),
    // Erasure (issue 23): one person's data, with the admin token.
    ("POST", "/admin/v1.0/erasure", "Admin"),
    ("GET", "/admin/v1.0/audit", "Admin"),
    ("PUT", "/admin/v1.0/organizationunits/{ouId}", "Admin"),
    ("DELETE", "/admin/v1.0/organizationunits/{ouId}", "Admin"),
    ("PUT", "/admin/v1.0/teams/{teamId}", "Admin"),
    ("DELETE", "/admin/v1.0/teams/{teamId}", "Admin"),
    ("PUT", "/admin/v1.0/users/{userId}", "Admin"),
    ("DELETE", "/admin/v1.0/users/{userId}", "Admin"),
    (
        "PUT",
        "/admin/v1.0/teams/{teamId}/members/{userId}",
        "Admin",
    ),
    (
        "DELETE",
        "/admin/v1.0/teams/{teamId}/members/{userId}",
        "Admin",
    ),
    (
        "PUT",
        "/admin/v1.0/users/{userId}/conversationas/{teamId}",
        "Admin",
    ),
    (
        "DELETE",
        "/admin/v1.0/users/{userId}/conversationas/{teamId}",
        "Admin",
    ),
    ("POST", "/admin/v1.0/apikeys", "Admin"),
    ("GET", "/admin/v1.0/apikeys", "Admin"),
    ("PATCH", "/admin/v1.0/apikeys/{apiKeyId}", "Admin"),
    ("DELETE", "/admin/v1.0/apikeys/{apiKeyId}", "Admin"),
    // Agent sessions (issue 21): an integrator's backend asks for them with UsersControl; the
    // admin lists and ends them; the demo page's backend is public (and only with demo data).
    (
        "POST",
        "/v1.0/users/{userIdentifier}/sessions",
        "UsersControl",
    ),
    (
        "DELETE",
        "/v1.0/users/{userIdentifier}/sessions",
        "UsersControl",
    ),
    ("GET", "/admin/v1.0/users/{userId}/sessions", "Admin"),
    ("DELETE", "/admin/v1.0/users/{userId}/sessions", "Admin"),
    (
        "DELETE",
        "/admin/v1.0/users/{userId}/sessions/{sessionId}",
        "Admin",
    ),
    ("POST", "/demo/v1.0/sessions", "Public"),
    ("POST", "/demo/v1.0/calls", "Public"),
];
