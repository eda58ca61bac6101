//! What only a real `spin up` can show: the build from a clean clone, the files and content
//! types the component serves, the demo key on its output, and data kept across a restart on
//! the same state dir. Ignored unless asked for (`--ignored`, as `scripts/test` does when
//! `spin` is on PATH); asked for without `spin`, they fail.

use serde_json::{json, Value};
use std::process::Command;
use tm_core::Request;
use tm_e2e_tests::live::{
    demo_keys_in, live_processes_in_group, repo_root, require_spin, SpinInstance, SpinOptions,
    TempDir,
};
use tm_e2e_tests::{assert_status, Api, ADMIN_TOKEN};

/// The demo data's Support team (the restart test works on the demo data).
fn support() -> String {
    tm_core::demo::SUPPORT.to_string()
}

fn get(base_url: &str, path: &str) -> (u16, String, Vec<u8>) {
    let response = tm_e2e_tests::live::send(base_url, &Request::new("GET", path));
    let content_type = response
        .header_value("Content-Type")
        .unwrap_or_default()
        .to_string();
    (response.status, content_type, response.body)
}

fn stop_and_check_nothing_left(spin: SpinInstance) {
    let group = spin.process_group();
    drop(spin);
    let left = live_processes_in_group(group);
    assert!(left.is_empty(), "processes of the instance left: {left:?}");
}

#[test]
#[ignore = "live: needs spin on PATH (scripts/test runs it when spin is found)"]
fn a_clean_clone_builds_and_serves_api_docs_widget_and_a_working_demo_key() {
    require_spin();
    let work = TempDir::new("clean-clone");
    let app = work.path().join("app");
    let cloned = Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(repo_root())
        .arg(&app)
        .status()
        .expect("git runs");
    assert!(cloned.success(), "git clone of the repository");
    let state = work.path().join("state");
    let mut options = SpinOptions::new(&state, ADMIN_TOKEN);
    options.app_dir = &app;
    options.build = true;
    options.demo_data = true;
    let _ = std::fs::create_dir_all(&state);
    let spin = SpinInstance::start_with(&options);
    let base = spin.base_url.clone();

    let json = "application/json; charset=utf-8";
    let html = "text/html; charset=utf-8";
    let js = "text/javascript; charset=utf-8";
    for (path, content_type, needle) in [
        ("/health", json, "Healthy"),
        ("/v1.0/openapi.json", json, "3.1.0"),
        ("/docs/", html, "swagger-ui"),
        ("/docs/swagger-ui/swagger-ui-bundle.js", js, "SwaggerUI"),
        (
            "/docs/swagger-ui/swagger-ui.css",
            "text/css; charset=utf-8",
            ".swagger-ui",
        ),
        ("/widget/", html, "tm-agent-tasks"),
        ("/widget/tm-agent-tasks.js", js, "defineElement"),
        ("/widget/pkg/tm_web_widget.js", js, "tm_web_widget_bg.wasm"),
        ("/wallboard/", html, "tm-wallboard"),
        ("/widget/tm-wallboard.js", js, "defineWallboard"),
    ] {
        let (status, served_type, body) = get(&base, path);
        assert_eq!(
            (status, served_type.as_str()),
            (200, content_type),
            "{path}"
        );
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains(needle), "{path} does not contain {needle}");
    }
    let (status, served_type, wasm) = get(&base, "/widget/pkg/tm_web_widget_bg.wasm");
    assert_eq!((status, served_type.as_str()), (200, "application/wasm"));
    assert!(
        wasm.starts_with(b"\0asm"),
        "the widget's wasm is WebAssembly"
    );

    // The first request loaded the demo data; its key is on the output once and works.
    let keys = demo_keys_in(&spin.output());
    assert_eq!(
        keys.len(),
        1,
        "one demo key on the output:\n{}",
        spin.output()
    );
    let api = Api::live(&base);
    let longest = api.call(
        &keys[0],
        "GET",
        "/v1.0/teams/sip:support@contoso.com/longestwaitingtask",
        None,
    );
    let task = assert_status(&longest, 200);
    assert_eq!(task["Status"], "Queued");
    // The API answers JSON errors without a key.
    let (status, served_type, _) = get(&base, "/v1.0/teams");
    assert_eq!((status, served_type.as_str()), (401, json));
    stop_and_check_nothing_left(spin);
}

fn longest_waiting(api: &Api, key: &str) -> Value {
    let path = format!("/v1.0/teams/{}/longestwaitingtask", support());
    assert_status(&api.call(key, "GET", &path, None), 200)
}

/// What a restart must keep, read through the API.
fn snapshot(api: &Api, key: &str) -> Value {
    let keys = assert_status(&api.admin("GET", "/admin/v1.0/apikeys", None), 200);
    let key_facts: Vec<Value> = keys
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| {
            json!([
                k["Id"],
                k["Name"],
                k["Roles"],
                k["ExpiresAt"],
                k["CreatedAt"]
            ])
        })
        .collect();
    json!({
        "directory": assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200),
        "keys": key_facts,
        "support": assert_status(&api.call(key, "GET", &format!("/v1.0/teams/{}/tasks", support()), None), 200),
        "longest": longest_waiting(api, key),
        "anna": assert_status(&api.call(key, "GET", "/v1.0/users/sip:anna@contoso.com/tasks", None), 200),
    })
}

#[test]
#[ignore = "live: needs spin on PATH (scripts/test runs it when spin is found)"]
fn a_restart_on_the_same_state_dir_keeps_everything_and_loads_demo_data_once() {
    require_spin();
    let state = TempDir::new("restart");
    let mut options = SpinOptions::new(state.path(), ADMIN_TOKEN);
    options.demo_data = true;

    let spin = SpinInstance::start_with(&options);
    let first_output = spin.output();
    assert_eq!(demo_keys_in(&first_output).len(), 1, "{first_output}");
    let api = Api::live(&spin.base_url);
    let key = api.key(&["TasksManage", "TeamsReadonly", "UsersReadonly"]);
    let tasks = tm_e2e_tests::scenarios::Tasks::new(&api);
    // A queue of three (ages and priorities differ), and one task moved through a few versions.
    let first = tasks.create(&support(), "IncomingCall", "Normal");
    let second = tasks.create(&support(), "ExternalTask", "Normal");
    let high = tasks.create(&support(), "IncomingCall", "High");
    let moved = tasks.create(&support(), "IncomingCall", "Low");
    for (action, body) in [
        (
            "offer",
            Some(json!({"UserIdentifier": "sip:anna@contoso.com"})),
        ),
        ("accept", None),
        ("hold", None),
    ] {
        assert_status(&tasks.act(&moved, action, body), 200);
    }
    let before = snapshot(&api, &key);
    assert_eq!(before["longest"]["Id"], high.as_str());
    let queued: Vec<&Value> = before["support"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| &t["Id"])
        .collect();
    for id in [&first, &second, &high, &moved] {
        assert!(queued.iter().any(|q| *q == id.as_str()), "{id} listed");
    }
    let moved_before = assert_status(
        &api.call(&key, "GET", &format!("/v1.0/tasks/{moved}"), None),
        200,
    );
    assert_eq!(moved_before["Version"], 4);
    stop_and_check_nothing_left(spin);

    let spin = SpinInstance::start_with(&options);
    let api = Api::live(&spin.base_url);
    let after = snapshot(&api, &key);
    assert_eq!(after, before, "what the API shows after the restart");
    let moved_after = assert_status(
        &api.call(&key, "GET", &format!("/v1.0/tasks/{moved}"), None),
        200,
    );
    assert_eq!(moved_after, moved_before);
    // The queue order continues: a new task waits behind the old ones of its priority.
    let tasks = tm_e2e_tests::scenarios::Tasks {
        api: &api,
        key: key.clone(),
    };
    let newer = tasks.create(&support(), "IncomingCall", "High");
    assert_status(&tasks.act(&high, "terminate", None), 200);
    let longest = longest_waiting(&api, &key);
    assert_eq!(longest["Id"], newer.as_str());
    assert_status(&tasks.act(&newer, "terminate", None), 200);
    let longest = longest_waiting(&api, &key);
    // Next is the oldest queued Normal task (the list is in creation order): the demo's, then
    // `first`.
    let oldest_normal = before["support"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["Status"] == "Queued" && t["Priority"] == "Normal")
        .map(|t| t["Id"].clone());
    assert_eq!(
        Some(longest["Id"].clone()),
        oldest_normal,
        "the oldest Normal one is next"
    );
    assert!(queued.len() >= 6, "the demo's tasks and ours: {queued:?}");
    // The demo data was not loaded again, and its key from the first run still works.
    assert!(demo_keys_in(&spin.output()).is_empty(), "{}", spin.output());
    let demo_key = &demo_keys_in(&first_output)[0];
    assert_eq!(api.call(demo_key, "GET", "/v1.0/teams", None).status, 200);

    // The change feed kept its history across the restart: the moved task's four versions.
    let feed = format!("/v1.0/teams/{}/events", support());
    let history = assert_status(
        &api.call(&key, "GET", &format!("{feed}?after=0"), None),
        200,
    );
    let moved_versions: Vec<u64> = history["Events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["TaskId"] == moved.as_str())
        .filter_map(|e| e["Version"].as_u64())
        .collect();
    assert_eq!(moved_versions, vec![1, 2, 3, 4]);
    // A waiting read answers the change made while it waits (Spin repeats the empty answer).
    let cursor = assert_status(&api.call(&key, "GET", &feed, None), 200)["Cursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let waited = std::thread::scope(|scope| {
        let waiting =
            scope.spawn(|| api.call(&key, "GET", &format!("{feed}?after={cursor}&wait=20"), None));
        std::thread::sleep(std::time::Duration::from_millis(500));
        let made = tasks.create(&support(), "IncomingCall", "Normal");
        (waiting.join(), made)
    });
    let (Ok(answer), made) = waited else {
        panic!("the waiting read failed");
    };
    let page = assert_status(&answer, 200);
    assert_eq!(page["Events"][0]["TaskId"], made.as_str(), "{page}");
    assert_eq!(page["Events"][0]["Kind"], "Created");
    stop_and_check_nothing_left(spin);
}
