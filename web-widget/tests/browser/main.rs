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

mod actions;
mod agent;
mod announced;
mod cards;
mod element;
mod feed;
mod rendering;
mod wallboard;
