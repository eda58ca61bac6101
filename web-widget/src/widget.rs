//! The live widget: keeps the user's tasks, renders them, turns clicks into API calls, and
//! follows the user's change feed (a long poll that answers when one of the user's tasks
//! changed; the list is then loaded again). It also refreshes when the page becomes visible
//! again and, as a fallback, on an interval.

use crate::availability;
use crate::credential::{Credential, Next, SessionAnswer};
use crate::feed;
use crate::patch;
use crate::transport::Transport;
use crate::view::{self, Message, MessageKind, ViewState};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use tm_core::ids::TaskId;
use tm_core::model::Task;
use tm_core::{Request, Response, TaskAction, Timestamp};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, Event, HtmlElement, HtmlInputElement, KeyboardEvent};

mod events;
mod focus;

/// What the integrator configures (the element's attributes).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Options {
    /// Base URL of the API; empty for the page's own origin.
    pub api_base: String,
    /// An agent session's token (`Authorization: Bearer`); the page replaces it to renew it.
    pub session: String,
    /// Where the widget gets and renews the agent's session itself (`POST`, with the page's
    /// cookies); answered like `POST /v1.0/users/{u}/sessions`.
    pub session_url: String,
    /// For compatibility: an API key (it can do what the key can, for every agent).
    pub api_key: String,
    /// The agent: Id, SIP URI or UPN (with a session, the session's agent when left out).
    pub user: String,
    /// Refresh interval (the fallback to following the feed); 0 turns it off.
    pub refresh_seconds: u32,
    /// Follow the user's change feed (on unless turned off).
    pub follow: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            api_base: String::new(),
            session: String::new(),
            session_url: String::new(),
            api_key: String::new(),
            user: String::new(),
            refresh_seconds: 0,
            follow: true,
        }
    }
}

/// Where the current message came from: a refresh's message goes away with the next good
/// refresh, an action's stays until the next action or Escape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Refresh,
    Action,
    /// Tasks that arrived or left: said once, kept until something else is said.
    Arrivals,
}

#[derive(Default)]
pub(crate) struct State {
    tasks: Vec<Task>,
    message: Option<(Source, Message)>,
    busy: Option<TaskId>,
    /// The last refresh failed: tasks may be out of date, so no button is enabled.
    stale: bool,
    targets: HashMap<TaskId, String>,
    /// The task list was loaded at least once (the first load is not announced).
    loaded: bool,
    /// Where the user's change feed stood when the list was loaded (`X-Feed-Cursor`).
    pub(crate) cursor: Option<String>,
    /// The agent's availability, when the key may read it (UsersReadonly).
    availability: Option<availability::Shown>,
}

type Listener = (String, Closure<dyn FnMut(Event)>, bool);
/// The refresh timer's id and its callback (kept alive while the timer runs).
type Interval = (i32, Closure<dyn FnMut()>);

pub struct Widget {
    root: HtmlElement,
    pub(crate) transport: Rc<dyn Transport>,
    pub(crate) options: Options,
    /// What requests authenticate with (see `credential`).
    credential: Credential,
    pub(crate) state: RefCell<State>,
    listeners: RefCell<Vec<Listener>>,
    interval: RefCell<Option<Interval>>,
    /// The one-second render timer of countdowns.
    countdown: RefCell<Option<Interval>>,
    /// A control that had focus but could not get it back yet (disabled while busy).
    pending_focus: RefCell<Option<(String, String)>>,
    /// The cards as the page shows them now (`None` before the first render).
    rendered: RefCell<Option<Vec<view::Card>>>,
    /// The time shown durations count to (the page's clock; tests pass their own).
    clock: Box<dyn Fn() -> Timestamp>,
    /// Mounted: the feed loop goes on while this is set.
    pub(crate) following: std::cell::Cell<bool>,
    /// How the widget waits between feed reads (the page's timers; tests pass their own).
    pub(crate) pause: Pause,
}

/// Waits the given milliseconds.
pub type Pause = Box<dyn Fn(f64) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>;

/// `GET /v1.0/users/{user}/tasks` (the credential is added when it is sent).
pub fn list_request(user: &str) -> Request {
    let user: String = js_sys::encode_uri_component(user).into();
    Request::new("GET", &format!("/v1.0/users/{user}/tasks"))
}

/// `GET /v1.0/users/{user}/events?after={cursor}&wait=25`.
pub fn events_request(user: &str, cursor: &str) -> Request {
    let user: String = js_sys::encode_uri_component(user).into();
    let cursor: String = js_sys::encode_uri_component(cursor).into();
    Request::new(
        "GET",
        &format!(
            "/v1.0/users/{user}/events?after={cursor}&wait={}",
            feed::FEED_WAIT_SECONDS
        ),
    )
}

/// The request a button sends: `POST /v1.0/tasks/{id}/{action}` with `If-Match` of the
/// version on screen, and `{"Target": ...}` for transfer and consultation.
pub fn action_request(task: &Task, action: TaskAction, target: &str) -> Result<Request, String> {
    let mut request = Request::new(
        "POST",
        &format!("/v1.0/tasks/{}/{}", task.id, action.endpoint()),
    )
    .header("If-Match", &task.etag());
    if view::needs_target(action) {
        let target = target.trim();
        if target.is_empty() {
            return Err(format!(
                "Enter a target (sip:, tel: or a user) to {}.",
                view::label(action).to_lowercase()
            ));
        }
        request = request.json(&serde_json::json!({"Target": target}));
    }
    Ok(request)
}

/// A clear message for an error answer.
pub fn error_text(response: &Response) -> String {
    let detail = response.json_body()["Error"]["Message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match response.status {
        400 => format!("Rejected: {detail}"),
        401 => format!("Not authorized: {detail}"),
        404 => format!("Not found: {detail}"),
        409 => format!("Not possible in the task's current state: {detail}"),
        412 => {
            "The task was changed elsewhere; the list has been refreshed. Please try again.".into()
        }
        status if status >= 500 => {
            format!("The service is unavailable ({status}); please try again shortly.")
        }
        status => format!("Request failed ({status}): {detail}"),
    }
}

fn now() -> Timestamp {
    Timestamp::from_unix_millis(js_sys::Date::now() as i64)
}

fn action_by_name(name: &str) -> Option<TaskAction> {
    TaskAction::ALL
        .into_iter()
        .find(|a| format!("{a:?}") == name)
}

impl Widget {
    /// Renders into `root`, wires events and starts refreshing.
    pub fn mount(root: HtmlElement, options: Options, transport: Rc<dyn Transport>) -> Rc<Widget> {
        Widget::mount_with_clock(root, options, transport, Box::new(now))
    }

    /// [`Widget::mount`] with the clock that durations on screen count to.
    pub fn mount_with_clock(
        root: HtmlElement,
        options: Options,
        transport: Rc<dyn Transport>,
        clock: Box<dyn Fn() -> Timestamp>,
    ) -> Rc<Widget> {
        let pause: Pause = Box::new(|millis| Box::pin(feed::sleep(millis)));
        Widget::mount_with(root, options, transport, clock, pause)
    }

    /// [`Widget::mount_with_clock`] with the pauses of the feed loop.
    pub fn mount_with(
        root: HtmlElement,
        options: Options,
        transport: Rc<dyn Transport>,
        clock: Box<dyn Fn() -> Timestamp>,
        pause: Pause,
    ) -> Rc<Widget> {
        let credential = Credential::new(&options.api_key, &options.session, &options.session_url);
        let widget = Rc::new(Widget {
            root,
            transport,
            credential,
            options,
            state: RefCell::new(State::default()),
            listeners: RefCell::new(Vec::new()),
            interval: RefCell::new(None),
            countdown: RefCell::new(None),
            pending_focus: RefCell::new(None),
            rendered: RefCell::new(None),
            clock,
            following: std::cell::Cell::new(true),
            pause,
        });
        widget.render();
        widget.listen();
        if widget.options.refresh_seconds > 0 {
            widget.start_interval();
        }
        widget.start_countdown();
        let first = Rc::clone(&widget);
        let follow = widget.options.follow.then(|| Rc::downgrade(&widget));
        wasm_bindgen_futures::spawn_local(async move {
            first.refresh().await;
            drop(first);
            if let Some(weak) = follow {
                feed::follow_feed(weak).await;
            }
        });
        widget
    }

    /// Stops timers, listeners and the feed loop (the element left the page).
    pub fn unmount(&self) {
        self.following.set(false);
        for timer in [&self.interval, &self.countdown] {
            if let Some((id, _)) = timer.borrow_mut().take() {
                if let Some(window) = web_sys::window() {
                    window.clear_interval_with_handle(id);
                }
            }
        }
        for (event, closure, on_document) in self.listeners.borrow_mut().drain(..) {
            let target: Option<web_sys::EventTarget> = if on_document {
                web_sys::window().and_then(|w| w.document()).map(Into::into)
            } else {
                Some(self.root.clone().into())
            };
            if let Some(target) = target {
                let _ = target
                    .remove_event_listener_with_callback(&event, closure.as_ref().unchecked_ref());
            }
        }
    }

    pub fn tasks(&self) -> Vec<Task> {
        self.state.borrow().tasks.clone()
    }

    pub fn root(&self) -> &HtmlElement {
        &self.root
    }

    /// The agent: the `user` attribute, else the session's agent.
    pub(crate) fn user(&self) -> String {
        match self.options.user.trim() {
            "" => self
                .credential
                .agent()
                .map(|user| user.to_string())
                .unwrap_or_default(),
            user => user.to_string(),
        }
    }

    /// Sends `request` with the credential: a session due for renewal (or none yet) is got
    /// from the page's session URL first, and a session refused with 401 is replaced once.
    pub(crate) async fn send(&self, request: Request) -> Result<Response, String> {
        let response = self.send_once(request.clone()).await?;
        if response.status == 401 && self.credential.renews() {
            self.credential.forget();
            return self.send_once(request).await;
        }
        Ok(response)
    }

    async fn send_once(&self, request: Request) -> Result<Response, String> {
        let request = self.authorized(request).await?;
        self.transport.send(request).await
    }

    /// `request` with the credential, getting a session from the page's URL first when none is
    /// held or the held one is due for renewal.
    async fn authorized(&self, request: Request) -> Result<Request, String> {
        let url = match self.credential.next(request.clone(), (self.clock)()) {
            Next::Send(ready) => return Ok(ready),
            Next::GetSession(url) => url,
        };
        let answer = self.transport.session(&url).await?;
        if !matches!(answer.status, 200 | 201) {
            return Err(format!(
                "the page's session URL answered {}: {}",
                answer.status,
                error_text(&answer)
            ));
        }
        let session: SessionAnswer = serde_json::from_slice(&answer.body)
            .map_err(|e| format!("the page's session URL answered no session: {e}"))?;
        self.credential.hold(session, (self.clock)());
        match self.credential.next(request, (self.clock)()) {
            Next::Send(ready) => Ok(ready),
            Next::GetSession(_) => Err("the page's session URL answered an expired session".into()),
        }
    }

    /// Reloads the user's tasks.
    pub async fn refresh(self: &Rc<Self>) {
        // Without a `user` attribute the session names the agent: get it before the list.
        if self.user().is_empty() && self.credential.renews() {
            let _ = self.authorized(Request::default()).await;
        }
        let result = self.send(list_request(&self.user())).await;
        {
            let mut state = self.state.borrow_mut();
            match result {
                Ok(response) if response.status == 200 => {
                    match serde_json::from_slice::<Vec<Task>>(&response.body) {
                        Ok(tasks) => {
                            if let Some(cursor) = response.header_value("X-Feed-Cursor") {
                                state.cursor = Some(cursor.to_string());
                            }
                            let arrivals = view::arrivals_and_departures(&state.tasks, &tasks)
                                .filter(|_| state.loaded);
                            state.tasks = tasks;
                            state.stale = false;
                            state.loaded = true;
                            if matches!(state.message, Some((Source::Refresh, _))) {
                                state.message = None;
                            }
                            if let Some(text) = arrivals {
                                state.message = Some((
                                    Source::Arrivals,
                                    Message {
                                        kind: MessageKind::Info,
                                        text,
                                    },
                                ));
                            }
                        }
                        Err(error) => {
                            state.stale = true;
                            state.message = Some((
                                Source::Refresh,
                                error_message(format!(
                                    "Unexpected answer from the service: {error}"
                                )),
                            ));
                        }
                    }
                }
                Ok(response) => {
                    state.stale = true;
                    if matches!(response.status, 401 | 404) {
                        state.tasks.clear();
                    }
                    state.message = Some((Source::Refresh, error_message(error_text(&response))));
                }
                Err(error) => {
                    state.stale = true;
                    state.message = Some((
                        Source::Refresh,
                        error_message(format!("Cannot reach the service: {error}")),
                    ));
                }
            }
            let ids: Vec<TaskId> = state.tasks.iter().map(|t| t.id).collect();
            state.targets.retain(|id, _| ids.contains(id));
        }
        self.refresh_availability().await;
        self.render();
    }

    /// Reads the agent's availability; a key that may not (401) or any failure hides it
    /// without a message (the tasks are what the widget is for).
    async fn refresh_availability(&self) {
        let user: String = js_sys::encode_uri_component(&self.user()).into();
        let request = availability::read_request(&user);
        let availability = match self.send(request).await {
            Ok(response) if response.status == 200 => availability::Shown::parse(&response.body),
            _ => None,
        };
        self.state.borrow_mut().availability = availability;
    }

    /// Shows an availability the feed told (read from cursor `from`, going on from `next`).
    pub(crate) fn show_availability(
        &self,
        shown: availability::Shown,
        from: &str,
        next: Option<&str>,
    ) {
        {
            let mut state = self.state.borrow_mut();
            state.availability = Some(shown);
            if let (Some(next), true) = (next, state.cursor.as_deref() == Some(from)) {
                state.cursor = Some(next.to_string());
            }
        }
        self.render();
    }

    /// Sets the agent's chosen state, then refreshes (the service may offer a call at once);
    /// a refusal is shown like an action's.
    pub async fn set_availability(self: &Rc<Self>, chosen: &str) {
        let user: String = js_sys::encode_uri_component(&self.user()).into();
        let request = availability::set_request(&user, chosen);
        let refused = match self.send(request).await {
            Ok(response) if response.status < 300 => None,
            Ok(response) => Some(error_text(&response)),
            Err(error) => Some(format!("Cannot reach the service: {error}")),
        };
        self.refresh().await;
        if let Some(text) = refused {
            self.state.borrow_mut().message = Some((Source::Action, error_message(text)));
            self.render();
        }
    }

    /// Performs `action` on `task` as shown on screen, then refreshes.
    pub async fn perform(self: &Rc<Self>, task_id: TaskId, action: TaskAction) {
        let request = {
            let mut state = self.state.borrow_mut();
            if state.busy.is_some() || state.stale {
                return;
            }
            let Some(task) = state.tasks.iter().find(|t| t.id == task_id).cloned() else {
                return;
            };
            if !view::agent_actions(&task).contains(&action) {
                return;
            }
            let target = state.targets.get(&task_id).cloned().unwrap_or_default();
            match action_request(&task, action, &target) {
                Ok(request) => {
                    state.busy = Some(task_id);
                    request
                }
                Err(text) => {
                    state.message = Some((Source::Action, error_message(text)));
                    drop(state);
                    self.render();
                    return;
                }
            }
        };
        self.render();
        let result = self.send(request).await;
        let message = match result {
            Ok(response) if response.status < 300 => {
                self.state.borrow_mut().targets.remove(&task_id);
                self.announce(task_id, action, &response);
                Message {
                    kind: MessageKind::Info,
                    text: format!("{}: done.", view::label(action)),
                }
            }
            Ok(response) => error_message(error_text(&response)),
            Err(error) => error_message(format!("Cannot reach the service: {error}")),
        };
        self.state.borrow_mut().busy = None;
        self.refresh().await;
        self.state.borrow_mut().message = Some((Source::Action, message));
        self.render();
    }

    /// Tells the host page what the agent did: a `tm-task-action` event (bubbling) on the
    /// element, with `{TaskId, Action, Status, Version}` in `detail`, e.g. for a CRM to open
    /// the customer's record on Accept.
    fn announce(&self, task_id: TaskId, action: TaskAction, response: &Response) {
        let body = response.json_body();
        // Actions answer TaskStatusData; starting a consultation answers the consultation call,
        // whose task is then Consulting at the version in the ETag.
        let (status, version) = match action {
            TaskAction::ConsultationCall => (
                Some("Consulting"),
                response
                    .header_value("ETag")
                    .and_then(|tag| tag.trim_matches('"').parse::<u64>().ok()),
            ),
            _ => (body["Status"].as_str(), body["Version"].as_u64()),
        };
        // Built field by field (not through serde): plain data, and a smaller bundle.
        let detail = js_sys::Object::new();
        let fields = [
            ("TaskId", JsValue::from_str(&task_id.to_string())),
            ("Action", JsValue::from_str(&format!("{action:?}"))),
            ("Status", status.map_or(JsValue::NULL, JsValue::from_str)),
            (
                "Version",
                version.map_or(JsValue::NULL, |v| JsValue::from_f64(v as f64)),
            ),
        ];
        for (name, value) in fields {
            let _ = js_sys::Reflect::set(&detail, &JsValue::from_str(name), &value);
        }
        let init = web_sys::CustomEventInit::new();
        init.set_bubbles(true);
        init.set_detail(&detail);
        if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict("tm-task-action", &init) {
            let _ = self.root.dispatch_event(&event);
        }
    }

    /// Shows the state: message texts and the task list, changing only what differs from what
    /// the page shows. Focus is moved only when the focused control itself went away.
    fn render(&self) {
        let focused = self.focused_control();
        let pending = self.pending_focus.borrow_mut().take();
        if self
            .root
            .query_selector(".tm-widget")
            .ok()
            .flatten()
            .is_none()
        {
            self.root.set_inner_html(view::FRAME);
            *self.rendered.borrow_mut() = None;
        }
        let state = self.state.borrow();
        let view = ViewState {
            tasks: &state.tasks,
            now: (self.clock)(),
            message: state.message.as_ref().map(|(_, m)| m),
            busy: state.busy,
            stale: state.stale,
            targets: &state.targets,
        };
        let (error, info) = view::message_texts(view.message);
        for (selector, text) in [(".tm-error", error), (".tm-info", info)] {
            if let Ok(Some(region)) = self.root.query_selector(selector) {
                // Only a changed text is written, so that nothing is announced twice.
                if region.text_content().unwrap_or_default() != text {
                    region.set_text_content(Some(text));
                }
            }
        }
        let shown = availability::html(state.availability.as_ref(), view.now, state.stale);
        if let Ok(Some(region)) = self.root.query_selector(".tm-availability") {
            // Rewritten only when it changed (so a focused button keeps its focus otherwise).
            if region.inner_html() != shown {
                region.set_inner_html(&shown);
            }
        }
        let cards: Vec<view::Card> = state.tasks.iter().map(|t| view::card(t, &view)).collect();
        if let Ok(Some(list)) = self.root.query_selector(".tm-list") {
            let mut rendered = self.rendered.borrow_mut();
            if patch::patch(&list, rendered.as_deref(), &cards, &state.targets).is_err() {
                // A page that changed our markup under us: draw the list afresh.
                list.set_inner_html(&view::render_list(&view));
            }
            *rendered = Some(cards);
        }
        drop(state);
        match focused {
            Some(control) if !self.holds_focus() => self.restore_focus(Some(control)),
            None if !self.focus_elsewhere() => self.restore_focus(pending),
            _ => {}
        }
    }
}

fn error_message(text: String) -> Message {
    Message {
        kind: MessageKind::Error,
        text,
    }
}

/// For JS callers: an error as a JS value.
pub fn js_error(text: &str) -> JsValue {
    js_sys::Error::new(text).into()
}
