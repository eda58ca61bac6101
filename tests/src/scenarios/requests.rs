//! Request handling: If-Match and ETags, bad inputs and their JSON errors, idempotent retries.

use super::*;

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
