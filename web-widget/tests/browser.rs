//! The widget in a real headless Chromium, talking to the real core handler with an
//! in-memory store inside the page (no hand-written fake of the API).

use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use tm_core::demo::{ANNA, CARLA, SUPPORT};
use tm_core::ids::TaskId;
use tm_core::model::{Task, TaskStatus};
use tm_core::{Config, Env, MemoryStore, Request, Response, SequentialIds, TaskAction, Timestamp};
use tm_web_widget::transport::{ResponseFuture, Transport};
use tm_web_widget::view::{self, ViewState};
use tm_web_widget::{Options, Widget};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

const ADMIN: &str = "widget-test-admin-token-0123456789";

/// The real API, in the page: core handler + in-memory store. Records what the widget sends
/// and can switch the store off or strip `If-Match` (to provoke real 503s and 409s).
struct InPageApi {
    store: MemoryStore,
    ids: RefCell<SequentialIds>,
    now: Cell<i64>,
    config: Config,
    sent: RefCell<Vec<Request>>,
    strip_if_match: Cell<bool>,
    /// Feed reads still to fail as if the network were down.
    feed_reads_failing: Cell<u32>,
    /// Feed reads from this cursor answer 410 (older than the feed keeps).
    feed_gone_after: RefCell<Option<String>>,
    /// Sessions the page's backend made (see `InPageTransport::session`).
    sessions_made: Cell<u32>,
}

impl InPageApi {
    fn new() -> Rc<InPageApi> {
        let api = Rc::new(InPageApi {
            store: MemoryStore::new(),
            ids: RefCell::new(SequentialIds::new(7)),
            now: Cell::new(1_767_600_000_000),
            config: Config {
                admin_token: Some(ADMIN.into()),
                cors_allowed_origins: vec![],
                ..Default::default()
            },
            sent: RefCell::new(Vec::new()),
            strip_if_match: Cell::new(false),
            feed_reads_failing: Cell::new(0),
            feed_gone_after: RefCell::new(None),
            sessions_made: Cell::new(0),
        });
        let directory = serde_json::to_value(tm_core::demo::directory()).unwrap_or_default();
        assert_eq!(
            api.admin("PUT", "/admin/v1.0/directory", directory).status,
            200
        );
        api
    }

    fn handle(&self, request: &Request) -> Response {
        let mut ids = self.ids.borrow_mut();
        let mut env = Env {
            store: &self.store,
            now: Timestamp::from_unix_millis(self.now.get()),
            ids: &mut *ids,
            config: &self.config,
        };
        tm_core::handle(request, &mut env)
    }

    fn admin(&self, method: &str, path: &str, body: Value) -> Response {
        self.handle(
            &Request::new(method, path)
                .header("Authorization", &format!("Bearer {ADMIN}"))
                .json(&body),
        )
    }

    fn key(&self) -> String {
        let created = self.admin(
            "POST",
            "/admin/v1.0/apikeys",
            json!({"Name": "widget", "Roles": ["TasksManage"]}),
        );
        created.json_body()["Secret"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn call(&self, key: &str, path: &str, body: Option<Value>) -> Value {
        let mut request = Request::new("POST", path).header("api_key", key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = self.handle(&request);
        assert!(
            response.status < 300,
            "{path}: {} {}",
            response.status,
            response.json_body()
        );
        response.json_body()
    }

    /// A Support call offered to Anna and driven through `steps`.
    fn task_for_anna(&self, key: &str, steps: &[&str]) -> String {
        let created = self.call(key, &format!("/v1.0/teams/{SUPPORT}/tasks"), Some(json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41445550100", "DisplayName": "Mia <Weber>"}})));
        let id = created["Id"].as_str().unwrap_or_default().to_string();
        self.call(
            key,
            &format!("/v1.0/tasks/{id}/offer"),
            Some(json!({"UserIdentifier": "sip:anna@contoso.com"})),
        );
        for step in steps {
            let body =
                (*step == "consultationCall").then(|| json!({"Target": "carla@contoso.com"}));
            self.call(key, &format!("/v1.0/tasks/{id}/{step}"), body);
        }
        id
    }
}

struct InPageTransport(Rc<InPageApi>);

impl Transport for InPageTransport {
    /// The page's own backend: `/backend/session?user=…&seconds=…` asks the API for a session
    /// of that agent with a UsersControl key, as an integrator's backend would.
    fn session(&self, url: &str) -> ResponseFuture {
        let request = Request::new("POST", url);
        let user = request.query_param("user").unwrap_or_default();
        let seconds: u32 = request
            .query_param("seconds")
            .and_then(|s| s.parse().ok())
            .unwrap_or(3600);
        let created = self.0.admin(
            "POST",
            "/admin/v1.0/apikeys",
            json!({"Name": "backend", "Roles": ["UsersControl"]}),
        );
        let key = created.json_body()["Secret"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let response = self.0.handle(
            &Request::new("POST", &format!("/v1.0/users/{user}/sessions"))
                .header("api_key", &key)
                .json(&json!({"LifetimeSeconds": seconds})),
        );
        self.0.sessions_made.set(self.0.sessions_made.get() + 1);
        Box::pin(async move { Ok(response) })
    }

    fn send(&self, mut request: Request) -> ResponseFuture {
        self.0.sent.borrow_mut().push(request.clone());
        if self.0.strip_if_match.get() {
            request
                .headers
                .retain(|(name, _)| !name.eq_ignore_ascii_case("If-Match"));
        }
        if request.path().ends_with("/events") {
            let failing = self.0.feed_reads_failing.get();
            if failing > 0 {
                self.0.feed_reads_failing.set(failing - 1);
                return Box::pin(async { Err("TypeError: Failed to fetch".to_string()) });
            }
            let after = request.query_param("after");
            if after.is_some() && *self.0.feed_gone_after.borrow() == after {
                let gone = Response::json(
                    410,
                    &json!({"Error": {"Code": "Gone", "Message": "Cursor too old."}}),
                );
                return Box::pin(async move { Ok(gone) });
            }
        }
        let response = self.0.handle(&request);
        Box::pin(async move { Ok(response) })
    }
}

fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("a document")
}

fn container() -> HtmlElement {
    // A plain element: once the custom element is defined, a <tm-agent-tasks> would mount its
    // own fetch-based widget as well.
    let element: HtmlElement = document()
        .create_element("div")
        .expect("element")
        .dyn_into()
        .expect("html element");
    document()
        .body()
        .expect("body")
        .append_child(&element)
        .expect("attached");
    element
}

async fn mounted(api: &Rc<InPageApi>, key: &str, user: &str) -> Rc<Widget> {
    let pause: tm_web_widget::widget::Pause = Box::new(|_| Box::pin(settle()));
    mount_in_page(api, key, user, false, pause).await
}

/// A widget on the in-page API, without interval refresh; durations on screen count to the
/// API's clock (so that a test decides when time passes), the feed loop pauses with `pause`.
async fn mount_in_page(
    api: &Rc<InPageApi>,
    key: &str,
    user: &str,
    follow: bool,
    pause: tm_web_widget::widget::Pause,
) -> Rc<Widget> {
    let options = Options {
        api_key: key.into(),
        user: user.into(),
        refresh_seconds: 0,
        follow,
        ..Options::default()
    };
    mount_with_options(api, options, pause).await
}

/// A widget on the in-page API with `options`.
async fn mount_with_options(
    api: &Rc<InPageApi>,
    options: Options,
    pause: tm_web_widget::widget::Pause,
) -> Rc<Widget> {
    let clock = Rc::clone(api);
    let widget = Widget::mount_with(
        container(),
        options,
        Rc::new(InPageTransport(Rc::clone(api))),
        Box::new(move || Timestamp::from_unix_millis(clock.now.get())),
        pause,
    );
    // Let the first refresh that mounting starts finish, so that it cannot land mid-test.
    settle().await;
    widget
}

fn buttons(root: &Element, task: &str) -> Vec<String> {
    let list = root
        .query_selector_all(&format!(r#"button[data-task="{task}"]"#))
        .expect("query");
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
        .map(|b| b.get_attribute("data-action").unwrap_or_default())
        .collect()
}

/// The visible text of a task's buttons, in order.
fn button_labels(root: &Element, task: &str) -> Vec<String> {
    let list = root
        .query_selector_all(&format!(r#"button[data-task="{task}"]"#))
        .expect("query");
    (0..list.length())
        .filter_map(|i| list.item(i)?.text_content())
        .map(|text| text.trim().to_string())
        .collect()
}

fn button(root: &Element, task: &str, action: TaskAction) -> HtmlElement {
    root.query_selector(&format!(
        r#"button[data-task="{task}"][data-action="{action:?}"]"#
    ))
    .ok()
    .flatten()
    .and_then(|b| b.dyn_into().ok())
    .unwrap_or_else(|| panic!("no {action:?} button for {task}"))
}

/// What the message regions say (the error region, then the info region).
fn message(root: &Element) -> String {
    let regions = root.query_selector_all(".tm-message").expect("query");
    (0..regions.length())
        .filter_map(|i| regions.item(i)?.text_content())
        .collect()
}

fn expected_buttons(task: &Task) -> Vec<String> {
    view::agent_actions(task)
        .iter()
        .map(|a| format!("{a:?}"))
        .collect()
}

fn status_of(api: &InPageApi, key: &str, task: &str) -> Value {
    api.handle(&Request::new("GET", &format!("/v1.0/tasks/{task}")).header("api_key", key))
        .json_body()
}

/// Types `text` into the task's target field, as a person would (value, then an input event).
fn type_target(root: &Element, task: &str, text: &str) {
    let input: HtmlInputElement = root
        .query_selector(&format!(r#"input[data-task="{task}"]"#))
        .ok()
        .flatten()
        .and_then(|i| i.dyn_into().ok())
        .expect("target input");
    input.set_value(text);
    input.dispatch_event(&input_event()).expect("dispatched");
}

/// What typing into a field fires (it bubbles, as a real one does).
fn input_event() -> web_sys::Event {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    web_sys::Event::new_with_event_init_dict("input", &init).expect("event")
}

/// Lets the click handler's spawned future run to completion: yields to the event loop
/// (a zero-delay timer, so every queued microtask runs first) a few times.
async fn settle() {
    for _ in 0..5 {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}

#[wasm_bindgen_test]
async fn renders_every_agent_state_with_exactly_the_allowed_buttons() {
    let api = InPageApi::new();
    let key = api.key();
    // What a person sees on the buttons, state by state, written out (not taken from the view).
    let recipes: [(&[&str], &str, &[&str]); 6] = [
        (
            &[],
            "Ringing",
            &["Accept", "Decline", "Transfer", "Terminate"],
        ),
        (
            &["accept"],
            "Connected",
            &["Hold", "Transfer", "Terminate", "Consult"],
        ),
        (
            &["accept", "hold"],
            "OnHold",
            &["Resume", "Transfer", "Terminate", "Consult"],
        ),
        (
            &["accept", "consultationCall"],
            "Consulting",
            &[
                "Terminate",
                "Consultant answered",
                "End consultation",
                "End customer call",
            ],
        ),
        (
            &["accept", "consultationCall", "consultationCall/answered"],
            "Consulting",
            &[
                "Terminate",
                "Merge",
                "Transfer to consultant",
                "End consultation",
                "End customer call",
            ],
        ),
        (
            &[
                "accept",
                "consultationCall",
                "consultationCall/answered",
                "consultationCall/merge",
            ],
            "Conference",
            &[
                "Terminate",
                "Transfer to consultant",
                "End consultation",
                "Leave conference",
                "End customer call",
            ],
        ),
    ];
    let mut ids = Vec::new();
    for (steps, status, labels) in recipes {
        ids.push((api.task_for_anna(&key, steps), status, labels));
    }
    let outbound = api.call(
        &key,
        "/v1.0/tasks/outboundCall/start",
        Some(json!({"UserIdentifier": "anna@contoso.com", "Target": "tel:+41445550199"})),
    );
    ids.push((
        outbound["Id"].as_str().unwrap_or_default().to_string(),
        "Dialing",
        &["Mark answered", "Terminate"],
    ));

    let widget = mounted(&api, &key, "sip:anna@contoso.com").await;
    let root: &Element = widget.root();
    assert_eq!(widget.tasks().len(), ids.len());
    for (id, status, labels) in &ids {
        let task = widget
            .tasks()
            .into_iter()
            .find(|t| t.id.to_string() == *id)
            .expect("listed");
        assert_eq!(task.status.as_str(), *status);
        let item = root
            .query_selector(&format!(r#"li[data-task="{id}"]"#))
            .ok()
            .flatten()
            .expect("rendered");
        let text = item.text_content().unwrap_or_default();
        assert!(text.contains(view::status_label(task.status)), "{text}");
        assert!(text.contains("for "), "time in state: {text}");
        assert_eq!(button_labels(root, id), *labels, "{status}");
        assert_eq!(buttons(root, id), expected_buttons(&task), "{status}");
        assert!(!buttons(root, id).is_empty());
        let has_target = item
            .query_selector("input.tm-target")
            .ok()
            .flatten()
            .is_some();
        let wants_target = view::agent_actions(&task)
            .iter()
            .any(|a| view::needs_target(*a));
        assert_eq!(has_target, wants_target, "{status}");
        if task.consultation_call.is_some() {
            assert!(text.contains("Consultation with Carla Rossi"), "{text}");
        }
    }
    // Markup from data is escaped, never interpreted.
    assert!(root.inner_html().contains("Mia &lt;Weber&gt;"));
    assert!(root.query_selector("weber").ok().flatten().is_none());
}

#[wasm_bindgen_test]
fn the_view_offers_nothing_for_final_or_queued_tasks_and_every_status_renders() {
    let base: Task = serde_json::from_value(json!({
        "Id": "00000000-0000-4000-8000-000000000001", "TeamId": SUPPORT.to_string(), "Type": "IncomingCall",
        "Status": "Queued", "Priority": "Normal", "Customer": {"Uri": "tel:+41", "DisplayName": "Mia"},
        "AssignedUserId": null, "ExternalTaskId": null, "Description": null, "CreatedAt": "2026-01-05T08:00:00.000Z",
        "QueuedAt": null, "UpdatedAt": "2026-01-05T08:00:00.000Z", "EndedAt": null, "Version": 1, "ConsultationCall": null
    })).expect("task");
    for status in TaskStatus::ALL {
        let mut task = base.clone();
        task.status = status;
        let html = view::render(&ViewState {
            tasks: std::slice::from_ref(&task),
            now: Timestamp::from_unix_millis(task.updated_at.unix_millis() + 125_000),
            message: None,
            busy: None,
            stale: false,
            targets: &Default::default(),
        });
        assert!(html.contains(view::status_label(status)), "{status:?}");
        assert!(html.contains("for 2 min 05 s"));
        let rendered = html.matches("<button").count();
        assert_eq!(rendered, view::agent_actions(&task).len(), "{status:?}");
        if status.is_final() {
            assert_eq!(rendered, 0);
        }
    }
    // While an action is in flight, no button of that task is enabled.
    let mut task = base;
    task.status = TaskStatus::Connected;
    let html = view::render(&ViewState {
        tasks: std::slice::from_ref(&task),
        now: task.updated_at,
        message: None,
        busy: Some(task.id),
        stale: false,
        targets: &Default::default(),
    });
    assert_eq!(
        html.matches("<button").count(),
        html.matches(" disabled>").count()
    );
}

#[wasm_bindgen_test]
async fn each_button_sends_its_request_and_the_task_follows() {
    let api = InPageApi::new();
    let key = api.key();
    let id = api.task_for_anna(&key, &[]);
    let widget = mounted(&api, &key, ANNA.to_string().as_str()).await;
    let root = widget.root().clone();
    let task_id = TaskId::parse(&id).expect("id");
    let target_for = |action: TaskAction| match action {
        TaskAction::ConsultationCall => Some("sip:carla@contoso.com"),
        TaskAction::Transfer => Some("tel:+41445550177"),
        _ => None,
    };
    // Accept, hold, resume, consult, consultant answered, merge, leave: the demo path.
    let path = [
        TaskAction::Accept,
        TaskAction::Hold,
        TaskAction::Resume,
        TaskAction::ConsultationCall,
        TaskAction::ConsultationAnswered,
        TaskAction::ConsultationMerge,
        TaskAction::ConsultationLeave,
    ];
    for action in path {
        let before = widget
            .tasks()
            .into_iter()
            .find(|t| t.id == task_id)
            .expect("on screen");
        if let Some(target) = target_for(action) {
            type_target(&root, &id, target);
        }
        api.sent.borrow_mut().clear();
        button(&root, &id, action).click();
        settle().await;
        let sent = api
            .sent
            .borrow()
            .iter()
            .find(|r| r.method != "GET")
            .cloned()
            .expect("a request was sent");
        assert_eq!(sent.method, "POST");
        assert_eq!(
            sent.path_and_query,
            format!("/v1.0/tasks/{id}/{}", action.endpoint())
        );
        assert_eq!(sent.header_value("api_key"), Some(key.as_str()));
        assert_eq!(sent.header_value("If-Match"), Some(before.etag().as_str()));
        match target_for(action) {
            Some(target) => {
                assert_eq!(
                    sent.header_value("Content-Type"),
                    Some("application/json; charset=utf-8")
                );
                assert_eq!(
                    serde_json::from_slice::<Value>(&sent.body).unwrap_or_default(),
                    json!({"Target": target})
                );
            }
            None => assert!(sent.body.is_empty(), "{action:?} sends no body"),
        }
        assert!(
            message(&root).contains("done"),
            "{action:?}: {}",
            message(&root)
        );
        assert_eq!(
            status_of(&api, &key, &id)["Version"],
            before.version + 1,
            "{action:?}: {:?}",
            api.sent
                .borrow()
                .iter()
                .map(|r| format!("{} {}", r.method, r.path_and_query))
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(status_of(&api, &key, &id)["Status"], "Transferred");
    // The finished task left Anna's list.
    assert!(widget.tasks().is_empty());
    assert!(root
        .text_content()
        .unwrap_or_default()
        .contains("No current tasks"));
}

#[wasm_bindgen_test]
async fn transfer_and_terminate_buttons_and_a_missing_target() {
    let api = InPageApi::new();
    let key = api.key();
    let transfer = api.task_for_anna(&key, &["accept"]);
    let terminate = api.task_for_anna(&key, &["accept", "hold"]);
    let widget = mounted(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    // Transfer without a target: a clear message, nothing sent.
    api.sent.borrow_mut().clear();
    button(&root, &transfer, TaskAction::Transfer).click();
    settle().await;
    assert!(
        api.sent.borrow().iter().all(|r| r.method == "GET"),
        "nothing but refreshes"
    );
    assert!(
        message(&root).contains("Enter a target"),
        "{}",
        message(&root)
    );
    type_target(&root, &transfer, &CARLA.to_string());
    button(&root, &transfer, TaskAction::Transfer).click();
    settle().await;
    let done = status_of(&api, &key, &transfer);
    assert_eq!(done["Status"], "Transferred");
    assert_eq!(done["TransferredTo"]["UserId"], CARLA.to_string());
    button(&root, &terminate, TaskAction::Terminate).click();
    settle().await;
    assert_eq!(status_of(&api, &key, &terminate)["Status"], "Terminated");
    assert!(widget.tasks().is_empty());
}

#[wasm_bindgen_test]
async fn every_error_code_is_shown_clearly_and_followed_by_a_refresh() {
    let api = InPageApi::new();
    let key = api.key();
    let id = api.task_for_anna(&key, &["accept"]);
    let widget = mounted(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();

    // 412: the task changed behind the widget's back.
    api.call(&key, &format!("/v1.0/tasks/{id}/hold"), None);
    button(&root, &id, TaskAction::Hold).click();
    settle().await;
    assert!(
        message(&root).contains("changed elsewhere"),
        "{}",
        message(&root)
    );
    let alert = root.query_selector(".tm-error[role=alert]").ok().flatten();
    assert!(alert
        .and_then(|a| a.text_content())
        .is_some_and(|t| t.contains("changed elsewhere")));
    // ...and the refresh brought the new state: Resume is offered now, Hold is not.
    assert!(buttons(&root, &id).contains(&"Resume".to_string()));
    assert!(!buttons(&root, &id).contains(&"Hold".to_string()));

    // 409: a client without If-Match acting on a stale view gets the core's state conflict.
    api.strip_if_match.set(true);
    api.call(&key, &format!("/v1.0/tasks/{id}/resume"), None);
    button(&root, &id, TaskAction::Resume).click();
    settle().await;
    assert!(
        message(&root).contains("current state") && message(&root).contains("Connected"),
        "{}",
        message(&root)
    );
    api.strip_if_match.set(false);

    // 503: the store is down.
    api.store.set_unavailable(true);
    button(&root, &id, TaskAction::Hold).click();
    settle().await;
    assert!(
        message(&root).contains("unavailable (503)"),
        "{}",
        message(&root)
    );
    // The refresh failed too: the list may be stale, so every button is disabled.
    let enabled = root
        .query_selector_all("button.tm-action:not([disabled])")
        .expect("query")
        .length();
    assert_eq!(enabled, 0);
    api.store.set_unavailable(false);
    widget.refresh().await;
    assert!(
        root.query_selector_all("button.tm-action:not([disabled])")
            .expect("query")
            .length()
            > 0
    );

    // 401: the key was revoked.
    let keys = api
        .admin("GET", "/admin/v1.0/apikeys", json!(null))
        .json_body();
    let key_id = keys[0]["Id"].as_str().unwrap_or_default().to_string();
    api.handle(
        &Request::new("DELETE", &format!("/admin/v1.0/apikeys/{key_id}"))
            .header("Authorization", &format!("Bearer {ADMIN}")),
    );
    button(&root, &id, TaskAction::Hold).click();
    settle().await;
    assert!(
        message(&root).contains("Not authorized") && message(&root).contains("revoked"),
        "{}",
        message(&root)
    );
    assert!(widget.tasks().is_empty(), "a 401 clears the list");

    // 404: an unknown user.
    let key = api.key();
    let stranger = mounted(&api, &key, "nobody@contoso.com").await;
    assert!(
        message(stranger.root()).contains("Not found"),
        "{}",
        message(stranger.root())
    );
}

#[wasm_bindgen_test]
async fn keyboard_focus_survives_actions_and_escape_dismisses_messages() {
    let api = InPageApi::new();
    let key = api.key();
    let id = api.task_for_anna(&key, &["accept"]);
    let widget = mounted(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    // Every control is a native button or input: reachable with Tab, activated with Enter/Space.
    let controls = root.query_selector_all("button, input").expect("query");
    for i in 0..controls.length() {
        let control: Element = controls
            .item(i)
            .and_then(|c| c.dyn_into().ok())
            .expect("element");
        assert!(matches!(control.tag_name().as_str(), "BUTTON" | "INPUT"));
        assert!(
            control.get_attribute("tabindex").is_none(),
            "no custom tab order"
        );
        let name = control.text_content().unwrap_or_default()
            + &control.get_attribute("aria-label").unwrap_or_default();
        assert!(
            !name.trim().is_empty(),
            "every control has an accessible name"
        );
    }
    assert!(root
        .query_selector(r#"[role="group"][aria-label]"#)
        .ok()
        .flatten()
        .is_some());
    // Activate Hold from the keyboard's point of view: focus it, press (click) it.
    let hold = button(&root, &id, TaskAction::Hold);
    hold.focus().expect("focus");
    hold.click();
    settle().await;
    let active = document().active_element().expect("focus kept");
    assert_eq!(
        active.get_attribute("data-task").as_deref(),
        Some(id.as_str()),
        "focus stays on the task"
    );
    assert_eq!(
        active.get_attribute("data-action").as_deref(),
        Some("Resume"),
        "Hold became Resume"
    );
    assert!(!message(&root).is_empty());
    let escape = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &{
        let init = web_sys::KeyboardEventInit::new();
        init.set_key("Escape");
        init.set_bubbles(true);
        init
    })
    .expect("event");
    active.dispatch_event(&escape).expect("dispatched");
    assert!(message(&root).is_empty());
    assert_eq!(
        document()
            .active_element()
            .and_then(|a| a.get_attribute("data-action"))
            .as_deref(),
        Some("Resume")
    );
}

#[wasm_bindgen_test]
fn the_custom_element_is_defined_once_and_styles_are_themable() {
    tm_web_widget::element::define_custom_element();
    tm_web_widget::element::define_custom_element();
    let registry = web_sys::window().expect("window").custom_elements();
    assert!(!registry.get("tm-agent-tasks").is_undefined());
    let style = document()
        .get_element_by_id("tm-agent-tasks-style")
        .expect("style");
    let css = style.text_content().unwrap_or_default();
    for property in [
        "--tm-accent",
        "--tm-bg",
        "--tm-fg",
        "--tm-danger",
        "--tm-radius",
        "--tm-font",
    ] {
        assert!(css.contains(property), "{property}");
    }
}

#[wasm_bindgen_test]
async fn the_element_mounts_from_its_attributes_and_fetches() {
    tm_web_widget::element::define_custom_element();
    let element = document()
        .create_element("tm-agent-tasks")
        .expect("element");
    element
        .set_attribute("user", "anna@contoso.com")
        .expect("attribute");
    element.set_attribute("api-key", "k").expect("attribute");
    element
        .set_attribute("refresh-seconds", "0")
        .expect("attribute");
    document()
        .body()
        .expect("body")
        .append_child(&element)
        .expect("attached");
    // The test server is not the API: the real fetch gets a non-JSON 404, shown as such.
    for _ in 0..50 {
        if message(&element).contains("Not found") {
            break;
        }
        settle().await;
    }
    assert!(
        message(&element).contains("Not found"),
        "{}",
        message(&element)
    );
    assert!(element
        .query_selector("section.tm-widget[aria-label]")
        .ok()
        .flatten()
        .is_some());
    element.remove();
}

#[wasm_bindgen_test]
async fn the_live_regions_stay_in_place_across_renders() {
    let api = InPageApi::new();
    let key = api.key();
    let id = api.task_for_anna(&key, &["accept"]);
    let widget = mounted(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    let status_region = root
        .query_selector("[role=status]")
        .ok()
        .flatten()
        .expect("status region");
    let alert_region = root
        .query_selector("[role=alert]")
        .ok()
        .flatten()
        .expect("alert region");
    button(&root, &id, TaskAction::Hold).click();
    settle().await;
    assert!(status_region
        .text_content()
        .unwrap_or_default()
        .contains("Hold: done"));
    api.call(&key, &format!("/v1.0/tasks/{id}/resume"), None);
    button(&root, &id, TaskAction::Resume).click();
    settle().await;
    assert!(alert_region
        .text_content()
        .unwrap_or_default()
        .contains("changed elsewhere"));
    // The very same elements: screen readers announce changes only in regions that stay.
    assert!(root.contains(Some(&status_region)) && root.contains(Some(&alert_region)));
    assert!(
        status_region.text_content().unwrap_or_default().is_empty(),
        "one message at a time"
    );
}

#[wasm_bindgen_test]
async fn each_done_action_is_announced_to_the_host_page() {
    let api = InPageApi::new();
    let key = api.key();
    let id = api.task_for_anna(&key, &[]);
    let widget = mounted(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    let seen: Rc<RefCell<Vec<Value>>> = Rc::default();
    let listener = {
        let seen = Rc::clone(&seen);
        wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::CustomEvent)>::new(
            move |event: web_sys::CustomEvent| {
                seen.borrow_mut()
                    .push(serde_wasm_bindgen::from_value(event.detail()).unwrap_or_default());
            },
        )
    };
    // Listening on the document: the event bubbles out of the widget.
    document()
        .add_event_listener_with_callback("tm-task-action", listener.as_ref().unchecked_ref())
        .expect("listener");
    button(&root, &id, TaskAction::Accept).click();
    settle().await;
    type_target(&root, &id, "sip:carla@contoso.com");
    button(&root, &id, TaskAction::ConsultationCall).click();
    settle().await;
    // A refused action is not announced.
    api.call(
        &key,
        &format!("/v1.0/tasks/{id}/consultationCall/answered"),
        None,
    );
    button(&root, &id, TaskAction::ConsultationAnswered).click();
    settle().await;
    let _ = document()
        .remove_event_listener_with_callback("tm-task-action", listener.as_ref().unchecked_ref());
    assert_eq!(
        *seen.borrow(),
        vec![
            json!({"TaskId": id, "Action": "Accept", "Status": "Connected", "Version": 3}),
            json!({"TaskId": id, "Action": "ConsultationCall", "Status": "Consulting", "Version": 4}),
        ]
    );
}

/// Records every change to the DOM under `root` (nodes, attributes, text).
struct Mutations {
    observer: web_sys::MutationObserver,
    _callback: wasm_bindgen::closure::Closure<dyn FnMut(js_sys::Array)>,
}

impl Mutations {
    fn observe(root: &Element) -> Mutations {
        let callback = wasm_bindgen::closure::Closure::<dyn FnMut(js_sys::Array)>::new(
            |_records: js_sys::Array| {},
        );
        let observer =
            web_sys::MutationObserver::new(callback.as_ref().unchecked_ref()).expect("observer");
        let init = web_sys::MutationObserverInit::new();
        init.set_subtree(true);
        init.set_child_list(true);
        init.set_attributes(true);
        init.set_character_data(true);
        observer
            .observe_with_options(root, &init)
            .expect("observing");
        Mutations {
            observer,
            _callback: callback,
        }
    }

    /// The changes since the last call, as "type target" lines.
    fn take(&self) -> Vec<String> {
        self.observer
            .take_records()
            .iter()
            .filter_map(|record| record.dyn_into::<web_sys::MutationRecord>().ok())
            .map(|record| {
                let target = record
                    .target()
                    .and_then(|t| t.dyn_into::<Element>().ok())
                    .map(|e| e.outer_html().chars().take(80).collect::<String>())
                    .unwrap_or_else(|| "text".into());
                format!("{} {target}", record.type_())
            })
            .collect()
    }
}

/// Counts focus changes inside `root` (focusin bubbles).
fn count_focus_events(
    root: &Element,
) -> (Rc<Cell<u32>>, wasm_bindgen::closure::Closure<dyn FnMut()>) {
    let count = Rc::new(Cell::new(0));
    let seen = Rc::clone(&count);
    let listener = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
        seen.set(seen.get() + 1);
    });
    root.add_event_listener_with_callback("focusin", listener.as_ref().unchecked_ref())
        .expect("listening");
    (count, listener)
}

fn target_field(root: &Element, task: &str) -> HtmlInputElement {
    root.query_selector(&format!(r#"input[data-task="{task}"]"#))
        .ok()
        .flatten()
        .and_then(|i| i.dyn_into().ok())
        .expect("target input")
}

#[wasm_bindgen_test]
async fn a_refresh_that_changes_nothing_touches_nothing_and_moves_no_focus() {
    let api = InPageApi::new();
    let key = api.key();
    let connected = api.task_for_anna(&key, &["accept"]);
    let _ringing = api.task_for_anna(&key, &[]);
    let widget = mounted(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    let hold = button(&root, &connected, TaskAction::Hold);
    hold.focus().expect("focus");
    let mutations = Mutations::observe(&root);
    let (focus_events, _listener) = count_focus_events(&root);
    for _ in 0..3 {
        widget.refresh().await;
    }
    assert_eq!(mutations.take(), Vec::<String>::new(), "no DOM change");
    assert_eq!(focus_events.get(), 0, "no focus event");
    let active = document().active_element().expect("focus");
    assert!(
        &active == AsRef::<Element>::as_ref(&hold),
        "the very same button keeps focus"
    );

    // Time passing changes the duration text only.
    api.now.set(api.now.get() + 65_000);
    widget.refresh().await;
    let changes = mutations.take();
    assert!(!changes.is_empty());
    assert!(
        changes
            .iter()
            .all(|c| c.contains("tm-head") || c.contains("tm-time")),
        "{changes:?}"
    );
    assert_eq!(focus_events.get(), 0);
}

#[wasm_bindgen_test]
async fn typing_in_a_target_field_survives_refreshes_with_text_and_caret() {
    let api = InPageApi::new();
    let key = api.key();
    let connected = api.task_for_anna(&key, &["accept"]);
    let other = api.task_for_anna(&key, &[]);
    let widget = mounted(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    let field = target_field(&root, &connected);
    field.focus().expect("focus");
    field.set_value("sip:abc");
    field.dispatch_event(&input_event()).expect("typed");
    field.set_selection_range(4, 4).expect("caret");
    let (focus_events, _listener) = count_focus_events(&root);

    // Two refreshes, one of which changes another task (it is accepted elsewhere) and this
    // one (put on hold elsewhere: its buttons change, the field stays).
    widget.refresh().await;
    api.call(&key, &format!("/v1.0/tasks/{other}/accept"), None);
    api.call(&key, &format!("/v1.0/tasks/{connected}/hold"), None);
    widget.refresh().await;
    assert_eq!(
        button_labels(&root, &connected)[0],
        "Resume",
        "the card did change"
    );

    let now = target_field(&root, &connected);
    assert!(
        now == field,
        "the field the agent types in is never replaced"
    );
    assert_eq!(now.value(), "sip:abc");
    assert_eq!(now.selection_start().ok().flatten(), Some(4), "caret kept");
    assert_eq!(now.selection_end().ok().flatten(), Some(4));
    let active = document().active_element().expect("focus");
    assert!(
        &active == AsRef::<Element>::as_ref(&now),
        "focus stays in the field"
    );
    assert_eq!(focus_events.get(), 0, "no focus event during refreshes");
}

#[wasm_bindgen_test]
async fn arriving_and_leaving_tasks_are_announced_once() {
    let api = InPageApi::new();
    let key = api.key();
    let widget = mounted(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    let status = root
        .query_selector("[role=status]")
        .ok()
        .flatten()
        .expect("status region");
    assert_eq!(
        status.text_content().unwrap_or_default(),
        "",
        "first load: silence"
    );
    let id = api.task_for_anna(&key, &[]);
    widget.refresh().await;
    assert_eq!(
        status.text_content().unwrap_or_default(),
        "Incoming call from Mia <Weber>."
    );
    // Said once: further refreshes leave the region alone.
    let mutations = Mutations::observe(&root);
    widget.refresh().await;
    widget.refresh().await;
    assert_eq!(mutations.take(), Vec::<String>::new());
    api.call(&key, &format!("/v1.0/tasks/{id}/decline"), None);
    widget.refresh().await;
    assert_eq!(
        status.text_content().unwrap_or_default(),
        "No longer in your tasks: Incoming call from Mia <Weber>."
    );
    assert_eq!(
        root.query_selector(".tm-empty")
            .ok()
            .flatten()
            .and_then(|e| e.text_content())
            .as_deref(),
        Some("No current tasks.")
    );
}

/// Virtual time for the widget's pauses: each pause adds its length and lets the page run on.
struct VirtualPauses {
    paused_millis: Rc<Cell<f64>>,
}

impl VirtualPauses {
    fn pause(&self) -> tm_web_widget::widget::Pause {
        let total = Rc::clone(&self.paused_millis);
        Box::new(move |millis| {
            total.set(total.get() + millis);
            Box::pin(settle())
        })
    }
}

/// A widget that follows the feed (no interval refresh), with virtual pauses.
async fn following(api: &Rc<InPageApi>, key: &str, user: &str) -> (Rc<Widget>, VirtualPauses) {
    let pauses = VirtualPauses {
        paused_millis: Rc::new(Cell::new(0.0)),
    };
    let widget = mount_in_page(api, key, user, true, pauses.pause()).await;
    (widget, pauses)
}

/// Lets the page run until `done` holds or the widget has paused `budget_millis` (virtual)
/// more; answers whether `done` held, and the virtual time it took.
async fn within(
    pauses: &VirtualPauses,
    budget_millis: f64,
    done: impl Fn() -> bool,
) -> (bool, f64) {
    let start = pauses.paused_millis.get();
    // Each round lets the widget's loop take a step; the budget bounds the rounds.
    for _ in 0..10_000 {
        if done() {
            return (true, pauses.paused_millis.get() - start);
        }
        if pauses.paused_millis.get() - start > budget_millis {
            break;
        }
        settle().await;
    }
    (done(), pauses.paused_millis.get() - start)
}

/// How often the widget has listed the tasks.
fn list_reads(api: &InPageApi) -> usize {
    api.sent
        .borrow()
        .iter()
        .filter(|r| r.path().ends_with("/tasks"))
        .count()
}

/// The cursors the widget read its feed after, in order.
fn feed_reads(api: &InPageApi) -> Vec<String> {
    api.sent
        .borrow()
        .iter()
        .filter(|r| r.path().ends_with("/events"))
        .map(|r| r.query_param("after").unwrap_or_default().to_string())
        .collect()
}

/// The issue's bar: an offer made through the API (not through this widget) is on the agent's
/// screen within 2 s, with no interval refresh (`refresh_seconds` 0); the in-page API answers
/// `wait` at once, so this is the widget's own pause between reads at work.
#[wasm_bindgen_test]
async fn an_offer_made_elsewhere_shows_up_within_two_seconds_without_interval_refresh() {
    let api = InPageApi::new();
    let key = api.key();
    let (widget, pauses) = following(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    assert!(
        !feed_reads(&api).is_empty(),
        "the widget reads the user's feed"
    );
    let id = api.task_for_anna(&key, &[]);
    let (shown, took) = within(&pauses, 2_000.0, || {
        buttons(&root, &id).contains(&"Accept".to_string())
    })
    .await;
    widget.unmount();
    assert!(
        shown,
        "the offer is not on screen after {took} ms of the widget's pauses"
    );
    assert!(took <= 2_000.0, "{took}");
}

/// After the network fails (laptop asleep, Wi-Fi gone) the widget reads on from the cursor it
/// had, so a change made meanwhile still shows; a cursor the feed no longer keeps (410) makes
/// it list again and follow on from the new list.
#[wasm_bindgen_test]
async fn the_feed_resumes_from_its_cursor_after_failures_and_relists_after_410() {
    let api = InPageApi::new();
    let key = api.key();
    let (widget, pauses) = following(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    let before = feed_reads(&api).last().cloned().unwrap_or_default();
    api.feed_reads_failing.set(3);
    let first = api.task_for_anna(&key, &[]);
    let (shown, took) = within(&pauses, 60_000.0, || !buttons(&root, &first).is_empty()).await;
    assert!(shown, "not shown after the failures ({took} ms)");
    let reads = feed_reads(&api);
    let failed_from = reads.iter().position(|c| *c == before).unwrap_or(0);
    assert!(
        reads[failed_from..].iter().take(4).all(|c| *c == before),
        "the reads after the failures go on from the same cursor: {reads:?}"
    );
    // 1 s, 2 s, 4 s: the pause doubles while reads fail.
    assert!(took >= 7_000.0, "{took}");
    let lists_before = list_reads(&api);
    *api.feed_gone_after.borrow_mut() = feed_reads(&api).last().cloned();
    let second = api.task_for_anna(&key, &[]);
    let (shown, took) = within(&pauses, 2_000.0, || !buttons(&root, &second).is_empty()).await;
    let lists_after = list_reads(&api);
    widget.unmount();
    assert!(shown, "not shown after a 410 ({took} ms)");
    assert!(
        lists_after > lists_before,
        "a 410 makes the widget list again"
    );
    let reads_after = feed_reads(&api);
    assert!(
        reads_after.last().is_some_and(|c| *c != before),
        "it follows on from a newer cursor: {reads_after:?}"
    );
}

fn availability_text(root: &Element) -> String {
    root.query_selector(".tm-availability-state")
        .ok()
        .flatten()
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

/// Issue 20's widget bar: the agent sees their state and sets it (Available / Away) with the
/// widget's own buttons; in an Automatic team an offer made by the service rings on screen
/// within a second, through the feed the widget follows, with the time left to accept; the
/// state then says Busy. A key without UsersReadonly shows no bar (the other tests).
#[wasm_bindgen_test]
async fn the_agent_sets_available_and_an_automatic_offer_rings_with_the_time_left() {
    let api = InPageApi::new();
    let mut directory = api
        .handle(
            &Request::new("GET", "/admin/v1.0/directory")
                .header("Authorization", &format!("Bearer {ADMIN}")),
        )
        .json_body();
    for team in directory["Teams"].as_array_mut().into_iter().flatten() {
        if team["Id"] == SUPPORT.to_string() {
            team["Distribution"] = json!({"Mode": "Automatic", "RingTimeoutSeconds": 20});
        }
    }
    assert_eq!(
        api.admin("PUT", "/admin/v1.0/directory", directory).status,
        200
    );
    let created = api.admin(
        "POST",
        "/admin/v1.0/apikeys",
        json!({"Name": "agent", "Roles": ["TasksManage", "TasksReadonly", "UsersReadonly", "UsersControl"]}),
    );
    let key = created.json_body()["Secret"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (widget, pauses) = following(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    let (shown, _) = within(&pauses, 2_000.0, || availability_text(&root) == "Offline").await;
    assert!(shown, "the state is shown: {:?}", availability_text(&root));
    let available: HtmlElement = root
        .query_selector(r#"button[data-availability="Available"]"#)
        .ok()
        .flatten()
        .and_then(|b| b.dyn_into().ok())
        .expect("an Available button");
    assert_eq!(
        available.get_attribute("aria-pressed").as_deref(),
        Some("false")
    );
    available.click();
    let (set, _) = within(&pauses, 2_000.0, || availability_text(&root) == "Available").await;
    assert!(
        set,
        "Available after the click: {:?}",
        availability_text(&root)
    );
    let sent_put = api
        .sent
        .borrow()
        .iter()
        .any(|r| r.method == "PUT" && r.path().ends_with("/availability"));
    assert!(sent_put);
    // A call arrives; the service offers it to Anna (the only one Available).
    let call = api.call(
        &key,
        &format!("/v1.0/teams/{SUPPORT}/tasks"),
        Some(json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41445550100", "DisplayName": "Mia Weber"}})),
    );
    let id = call["Id"].as_str().unwrap_or_default().to_string();
    let (rings, took) = within(&pauses, 1_000.0, || {
        buttons(&root, &id).contains(&"Accept".to_string())
    })
    .await;
    assert!(
        rings,
        "the automatic offer is not on screen after {took} ms"
    );
    assert!(took <= 1_000.0, "{took}");
    let head = root
        .query_selector(&format!(r#"li[data-task="{id}"] .tm-time"#))
        .ok()
        .flatten()
        .and_then(|e| e.text_content())
        .unwrap_or_default();
    assert_eq!(head, "20 s left to accept");
    assert_eq!(availability_text(&root), "Busy");
    widget.unmount();
}

/// Issue 21: the widget acts as one agent on a session it gets from the page's backend (no key
/// in the page), renews it before it runs out and after a 401, and works on a `session` token
/// given directly; the agent comes from the session when no `user` is set.
#[wasm_bindgen_test]
async fn the_widget_works_on_a_session_it_gets_and_renews() {
    let api = InPageApi::new();
    let key = api.key();
    let id = api.task_for_anna(&key, &[]);
    let pause: tm_web_widget::widget::Pause = Box::new(|_| Box::pin(settle()));
    let options = Options {
        session_url: format!("/backend/session?user={ANNA}&seconds=60"),
        refresh_seconds: 0,
        follow: false,
        ..Options::default()
    };
    api.sent.borrow_mut().clear();
    let widget = mount_with_options(&api, options, pause).await;
    let root = widget.root().clone();
    assert_eq!(api.sessions_made.get(), 1);
    let ids: Vec<String> = widget.tasks().iter().map(|t| t.id.to_string()).collect();
    assert_eq!(
        ids,
        vec![id.clone()],
        "Anna's task, the agent taken from the session"
    );
    let every_request_on_the_session = || {
        api.sent.borrow().iter().all(|r| {
            r.header_value("api_key").is_none()
                && r.header_value("Authorization")
                    .is_some_and(|a| a.starts_with("Bearer tms_"))
        })
    };
    assert!(every_request_on_the_session());
    // Accepting works on the session.
    button(&root, &id, TaskAction::Accept).click();
    settle().await;
    assert_eq!(
        status_of(&api, &key, &id)["Status"],
        "Connected",
        "{}",
        message(&root)
    );
    assert_eq!(api.sessions_made.get(), 1, "not renewed before it is due");
    // 48 s of its 60: renewed before the next request.
    api.now.set(api.now.get() + 48_000);
    widget.refresh().await;
    assert_eq!(api.sessions_made.get(), 2);
    // Every session of Anna's ended by the integrator: the 401 makes the widget get a new one.
    let revoke = Request::new("DELETE", &format!("/admin/v1.0/users/{ANNA}/sessions"))
        .header("Authorization", &format!("Bearer {ADMIN}"));
    assert_eq!(api.handle(&revoke).status, 204);
    widget.refresh().await;
    assert_eq!(api.sessions_made.get(), 3);
    assert_eq!(widget.tasks().len(), 1);
    assert!(
        !message(&root).contains("Not authorized"),
        "{}",
        message(&root)
    );
    assert!(every_request_on_the_session());
    widget.unmount();
    root.remove();

    // A session token given as the attribute, without `user`.
    let backend = api.admin(
        "POST",
        "/admin/v1.0/apikeys",
        json!({"Name": "backend", "Roles": ["UsersControl"]}),
    );
    let backend = backend.json_body()["Secret"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let created = api.handle(
        &Request::new("POST", &format!("/v1.0/users/{ANNA}/sessions")).header("api_key", &backend),
    );
    let token = created.json_body()["Token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let options = Options {
        session: token,
        refresh_seconds: 0,
        follow: false,
        ..Options::default()
    };
    let pause: tm_web_widget::widget::Pause = Box::new(|_| Box::pin(settle()));
    let widget = mount_with_options(&api, options, pause).await;
    assert_eq!(widget.tasks().len(), 1);
    widget.unmount();
    widget.root().remove();
}
