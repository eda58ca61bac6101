//! The route table and the OpenAPI document against the contract: every endpoint of the vendor
//! document and API.md is routed and described, with the roles, success answers and errors the
//! contract gives, and responses carry what their schemas require.

use serde_json::json;
use tm_core::routes::{route, RouteMatch, ROUTES};
use tm_core::Request;
use tm_e2e_tests::scenarios::Tasks;
use tm_e2e_tests::*;

/// The endpoints of the vendor document, copied from `shared/seed/teammanager-api.txt`.
const VENDOR_ENDPOINTS: &[&str] = &[
    "GET /v1.0/teams/{teamIdentifier}/tasks",
    "GET /v1.0/teams/{teamIdentifier}/longestwaitingtask",
    "GET /v1.0/tasks/byteamsmember/{userIdentifier}",
    "POST /v1.0/tasks/outboundCall/start",
    "GET /v1.0/users/{userIdentifier}/tasks",
    "POST /v1.0/tasks/{taskIdentifier}/transfer",
    "POST /v1.0/tasks/{taskIdentifier}/hold",
    "POST /v1.0/tasks/{taskIdentifier}/resume",
    "POST /v1.0/tasks/{taskIdentifier}/terminate",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall",
    "GET /v1.0/tasks/{taskIdentifier}/consultationCall",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/merge",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/transfer",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/terminate",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/leave",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/audioRoutes",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/terminateCustomerCall",
    "GET /v1.0/users/{userIdentifier}/consultativeCalls",
    "GET /v1.0/teams",
    "GET /v1.0/teams/{teamIdentifier}",
    "GET /v1.0/teams/bymember/{userIdentifier}",
    "GET /v1.0/organizationunits/{ouIdentifier}/teams",
    "GET /v1.0/users/{userIdentifier}/teams/conversationas",
    "GET /v1.0/users/{userIdentifier}",
    "GET /v1.0/users",
    "GET /v1.0/teams/{teamIdentifier}/users",
    "POST /v1.0/teams/{teamIdentifier}/users/{userIdentifier}/active",
];

/// The extension endpoints API.md requires.
const EXTENSION_ENDPOINTS: &[&str] = &[
    "GET /v1.0/users/{userIdentifier}/availability",
    "PUT /v1.0/users/{userIdentifier}/availability",
    "POST /v1.0/teams/{teamIdentifier}/distribution/run",
    "GET /v1.0/teams/{teamIdentifier}/statistics",
    "GET /v1.0/organizationunits/{ouIdentifier}/statistics",
    "POST /v1.0/teams/{teamIdentifier}/tasks",
    "GET /v1.0/tasks/{taskIdentifier}",
    "POST /v1.0/tasks/{taskIdentifier}/offer",
    "POST /v1.0/tasks/{taskIdentifier}/accept",
    "POST /v1.0/tasks/{taskIdentifier}/decline",
    "POST /v1.0/tasks/{taskIdentifier}/answered",
    "POST /v1.0/tasks/{taskIdentifier}/consultationCall/answered",
    "GET /v1.0/openapi.json",
    "GET /health",
    "GET /admin/v1.0/directory",
    "PUT /admin/v1.0/directory",
    "POST /admin/v1.0/apikeys",
    "GET /admin/v1.0/apikeys",
    "PATCH /admin/v1.0/apikeys/{id}",
    "DELETE /admin/v1.0/apikeys/{id}",
];

#[test]
fn every_required_endpoint_is_routed_and_in_the_openapi_document() {
    let api = Api::in_process();
    let doc = assert_status(&api.send(Request::new("GET", "/v1.0/openapi.json")), 200);
    for endpoint in VENDOR_ENDPOINTS.iter().chain(EXTENSION_ENDPOINTS) {
        let (method, template) = endpoint.split_once(' ').unwrap_or_default();
        let concrete = template
            .split('/')
            .map(|s| if s.starts_with('{') { "x1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let spec = match route(method, &concrete) {
            RouteMatch::Found { spec, .. } => spec,
            other => panic!("{endpoint} is not routed: {other:?}"),
        };
        let documented = &doc["paths"][spec.path][method.to_ascii_lowercase()];
        assert!(
            documented.is_object(),
            "{endpoint} is missing from openapi.json"
        );
        assert!(
            documented["responses"]["200"].is_object()
                || documented["responses"]["201"].is_object()
                || documented["responses"]["204"].is_object(),
            "{endpoint}"
        );
    }
    let vendor_routes = ROUTES.iter().filter(|r| r.vendor).count();
    assert_eq!(
        vendor_routes,
        VENDOR_ENDPOINTS.len(),
        "the vendor flag matches the vendor list"
    );
    // It reads as an OpenAPI 3.1 document (typed parse by the oas3 crate).
    let parsed = oas3::from_json(doc.to_string()).expect("a valid OpenAPI 3.1 document");
    assert_eq!(parsed.openapi, "3.1.0");
    assert_eq!(
        parsed.paths.as_ref().map(|p| p.len()),
        Some(doc["paths"].as_object().map_or(0, |p| p.len()))
    );
    // Every schema a path refers to exists.
    let text = doc.to_string();
    for reference in text.split("#/components/schemas/").skip(1) {
        let name: String = reference
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        assert!(
            doc["components"]["schemas"][&name].is_object(),
            "schema {name} is referenced but missing"
        );
    }
}

#[test]
fn the_route_table_grants_exactly_the_roles_of_the_contract() {
    use tm_core::routes::Access;
    use tm_e2e_tests::contract::ROLE_TABLE;
    let mut routed = Vec::new();
    for spec in ROUTES {
        let access = match spec.access {
            Access::Public => "Public".to_string(),
            Access::Admin => "Admin".to_string(),
            Access::ApiKey(role) => format!("{role:?}"),
        };
        routed.push((
            spec.method.as_str().to_string(),
            spec.path.to_string(),
            access,
        ));
    }
    let mut written: Vec<(String, String, String)> = ROLE_TABLE
        .iter()
        .map(|(m, p, a)| (m.to_string(), p.to_string(), a.to_string()))
        .collect();
    routed.sort();
    written.sort();
    assert_eq!(
        routed, written,
        "route table (left) and the contract's role table (right)"
    );
}

#[test]
fn responses_carry_every_property_their_schema_requires() {
    let api = Api::in_process().with_directory();
    let t = Tasks::new(&api);
    let doc = assert_status(&api.send(Request::new("GET", "/v1.0/openapi.json")), 200);
    let task = t.in_state("Connected", None);
    let samples = [
        ("Task", t.get(&task)),
        (
            "Team",
            assert_status(
                &api.call(&t.key, "GET", &format!("/v1.0/teams/{TEAM_SUPPORT}"), None),
                200,
            ),
        ),
        (
            "User",
            assert_status(
                &api.call(&t.key, "GET", &format!("/v1.0/users/{ANNA}"), None),
                200,
            ),
        ),
        ("TaskStatusData", t.ok(&task, "hold", None)),
    ];
    for (schema, body) in samples {
        let required = doc["components"]["schemas"][schema]["required"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!required.is_empty(), "{schema} requires something");
        for name in required {
            let name = name.as_str().unwrap_or_default();
            assert!(
                body.get(name).is_some(),
                "{schema} response lacks {name}: {body}"
            );
        }
        // And what is always sent is required (generated clients type it as present).
        for (name, _) in body.as_object().into_iter().flatten() {
            let listed = doc["components"]["schemas"][schema]["required"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r == name.as_str());
            assert!(listed, "{schema}.{name} is always sent but not required");
        }
    }
}

/// The success answers the OpenAPI document states, written out from API.md ("Starting a
/// consultation ... returns 201 with the ConsultationCall", creates answer 201, actions
/// answer TaskStatusData): a generated client decodes the answer by these.
#[test]
fn the_document_states_the_success_answers_of_the_contract() {
    let api = Api::in_process().with_directory();
    let doc = assert_status(&api.send(Request::new("GET", "/v1.0/openapi.json")), 200);
    let expected = [
        (
            "post",
            "/v1.0/tasks/{taskIdentifier}/consultationCall",
            "201",
            Some("ConsultationCall"),
        ),
        (
            "get",
            "/v1.0/tasks/{taskIdentifier}/consultationCall",
            "200",
            Some("ConsultationCall"),
        ),
        (
            "post",
            "/v1.0/teams/{teamIdentifier}/tasks",
            "201",
            Some("Task"),
        ),
        (
            "post",
            "/v1.0/tasks/outboundCall/start",
            "201",
            Some("Task"),
        ),
        (
            "post",
            "/v1.0/tasks/{taskIdentifier}/hold",
            "200",
            Some("TaskStatusData"),
        ),
        (
            "post",
            "/v1.0/tasks/{taskIdentifier}/consultationCall/merge",
            "200",
            Some("TaskStatusData"),
        ),
        ("get", "/v1.0/tasks/{taskIdentifier}", "200", Some("Task")),
        ("post", "/admin/v1.0/apikeys", "201", Some("CreatedApiKey")),
        ("delete", "/admin/v1.0/teams/{teamId}", "204", None),
    ];
    for (method, path, status, schema) in expected {
        let responses = &doc["paths"][path][method]["responses"];
        let success: Vec<&String> = responses
            .as_object()
            .into_iter()
            .flatten()
            .map(|(code, _)| code)
            .filter(|code| code.starts_with('2'))
            .collect();
        assert_eq!(success, vec![status], "{method} {path}");
        let declared = responses[status]["content"]["application/json"]["schema"]["$ref"].as_str();
        assert_eq!(
            declared,
            schema
                .map(|s| format!("#/components/schemas/{s}"))
                .as_deref(),
            "{method} {path}"
        );
    }
    // `GET /teams?status=Active|Inactive` (the vendor's filter), and no other route takes it.
    let status_parameter = |path: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "status" && p["in"] == "query")
            .map(|p| p["schema"]["$ref"].clone())
    };
    assert_eq!(
        status_parameter("/v1.0/teams"),
        Some(json!("#/components/schemas/TeamStatus"))
    );
    for path in [
        "/v1.0/users",
        "/v1.0/teams/{teamIdentifier}/users",
        "/v1.0/teams/{teamIdentifier}",
    ] {
        assert_eq!(status_parameter(path), None, "{path}");
    }
}

/// Error examples carry the code API.md gives their status (written out from its "Errors"), and
/// the document lists conflict, precondition, size, media-type and idempotency answers only where
/// a route can give them.
#[test]
fn the_document_describes_each_routes_errors_as_the_contract_does() {
    let api = Api::in_process().with_directory();
    let doc = assert_status(&api.send(Request::new("GET", "/v1.0/openapi.json")), 200);
    let codes = [
        ("400", "BadRequest"),
        ("401", "Unauthorized"),
        ("404", "NotFound"),
        ("405", "MethodNotAllowed"),
        ("409", "Conflict"),
        ("412", "PreconditionFailed"),
        ("413", "PayloadTooLarge"),
        ("415", "UnsupportedMediaType"),
        ("410", "Gone"),
        ("422", "UnprocessableContent"),
        // Not in API.md: the cap on waiting feed reads (docs/api.md, "Change feed").
        ("429", "TooManyRequests"),
        ("503", "ServiceUnavailable"),
    ];
    let mut examples = 0;
    for (path, methods) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in methods.as_object().into_iter().flatten() {
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                if !status.starts_with('4') && !status.starts_with('5') {
                    continue;
                }
                let expected = codes.iter().find(|(s, _)| s == status).map(|(_, c)| *c);
                let example = &response["content"]["application/json"]["example"]["Error"]["Code"];
                assert_eq!(example.as_str(), expected, "{method} {path} {status}");
                examples += 1;
            }
        }
    }
    assert!(examples > 100, "{examples} error examples");
    let errors_of = |method: &str, path: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(status, _)| status.clone())
            .filter(|status| status.starts_with('4'))
            .collect()
    };
    let takes_idempotency_key = |method: &str, path: &str| {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "Idempotency-Key")
    };
    // A read: no conflict, no precondition, no body.
    assert_eq!(
        errors_of("get", "/v1.0/teams/{teamIdentifier}"),
        ["400", "401", "404", "405"]
    );
    // An action: 409 (state) and 412 (If-Match), no body size or media type (it takes none).
    assert_eq!(
        errors_of("post", "/v1.0/tasks/{taskIdentifier}/hold"),
        ["400", "401", "404", "405", "409", "412"]
    );
    assert!(!takes_idempotency_key(
        "post",
        "/v1.0/tasks/{taskIdentifier}/hold"
    ));
    // A create: body limits and a retry key (422 when reused for another request).
    assert_eq!(
        errors_of("post", "/v1.0/teams/{teamIdentifier}/tasks"),
        ["400", "401", "404", "405", "409", "413", "415", "422"]
    );
    assert!(takes_idempotency_key(
        "post",
        "/v1.0/teams/{teamIdentifier}/tasks"
    ));
    // A feed read may be refused beyond the cap on waiting reads (429 with Retry-After).
    for feed in [
        "/v1.0/teams/{teamIdentifier}/events",
        "/v1.0/users/{userIdentifier}/events",
    ] {
        assert!(
            errors_of("get", feed).contains(&"429".to_string()),
            "{feed}"
        );
        let retry_after = &doc["paths"][feed]["get"]["responses"]["429"]["headers"]["Retry-After"];
        assert!(retry_after.is_object(), "{feed}");
    }
    // A directory write: 409 while another runs.
    assert!(errors_of("put", "/admin/v1.0/directory").contains(&"409".to_string()));
    assert!(!errors_of("get", "/admin/v1.0/directory").contains(&"409".to_string()));
}

/// Operations are grouped as the vendor document groups its endpoints (Task, Team, User API),
/// plus the service and admin endpoints: generated clients get one class per group.
#[test]
fn operations_are_tagged_by_the_vendors_groups() {
    let api = Api::in_process().with_directory();
    let doc = assert_status(&api.send(Request::new("GET", "/v1.0/openapi.json")), 200);
    let expected = [
        ("get", "/v1.0/teams/{teamIdentifier}/tasks", "Tasks"),
        ("post", "/v1.0/tasks/{taskIdentifier}/hold", "Tasks"),
        ("post", "/v1.0/teams/{teamIdentifier}/tasks", "Tasks"),
        ("get", "/v1.0/teams/{teamIdentifier}", "Teams"),
        (
            "get",
            "/v1.0/organizationunits/{ouIdentifier}/teams",
            "Teams",
        ),
        ("get", "/v1.0/users/{userIdentifier}", "Users"),
        (
            "post",
            "/v1.0/teams/{teamIdentifier}/users/{userIdentifier}/active",
            "Users",
        ),
        ("get", "/health", "Service"),
        ("put", "/admin/v1.0/directory", "Admin"),
    ];
    for (method, path, tag) in expected {
        assert_eq!(
            doc["paths"][path][method]["tags"],
            json!([tag]),
            "{method} {path}"
        );
    }
}

/// The examples are real answers' shapes: each carries every property its schema requires.
#[test]
fn schema_examples_carry_every_required_property() {
    let api = Api::in_process().with_directory();
    let doc = assert_status(&api.send(Request::new("GET", "/v1.0/openapi.json")), 200);
    for schema in ["Task", "Team"] {
        let examples = doc["components"]["schemas"][schema]["examples"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!examples.is_empty(), "{schema} has an example");
        for example in examples {
            for name in doc["components"]["schemas"][schema]["required"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let name = name.as_str().unwrap_or_default();
                assert!(example.get(name).is_some(), "{schema} example lacks {name}");
            }
        }
    }
}

/// The create schema tells clients what the server enforces: a call's `Customer.Uri` is a
/// `sip:` or `tel:` URI (any case), an external task's any text. Checked both ways: the schema's
/// pattern and the server's answers agree on the same samples.
#[test]
fn the_create_schema_and_the_server_agree_on_call_uris() {
    let api = Api::in_process().with_directory();
    let key = api.key(&[]);
    let doc = assert_status(&api.send(Request::new("GET", "/v1.0/openapi.json")), 200);
    let schema = &doc["components"]["schemas"]["CreateTaskRequest"];
    assert_eq!(schema["if"]["properties"]["Type"]["const"], "IncomingCall");
    let pattern = schema["then"]["properties"]["Customer"]["properties"]["Uri"]["pattern"]
        .as_str()
        .expect("a pattern for a call's Customer.Uri");
    let pattern = regex::Regex::new(pattern).expect("a valid pattern");
    let path = format!("/v1.0/teams/{TEAM_SUPPORT}/tasks");
    for (uri, call_allowed) in [
        ("sip:anna@contoso.com", true),
        ("SIP:anna@contoso.com", true),
        ("tel:+41445550100", true),
        ("Tel:+41445550100", true),
        ("mailto:anna@contoso.com", false),
        ("anna@contoso.com", false),
        ("crm:4711", false),
    ] {
        assert_eq!(pattern.is_match(uri), call_allowed, "schema on {uri}");
        for (kind, allowed) in [("IncomingCall", call_allowed), ("ExternalTask", true)] {
            let body = json!({"Type": kind, "Customer": {"Uri": uri}});
            let status = api.call(&key, "POST", &path, Some(body)).status;
            assert_eq!(status, if allowed { 201 } else { 400 }, "{kind} from {uri}");
        }
    }
}
