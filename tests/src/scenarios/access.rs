//! Who may call what: the role matrix, API keys through their life, the public routes.

use super::*;

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
