//! The agent's availability bar and the widget on agent sessions.

use super::feed::{following, list_reads, within};
use super::*;

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

/// Issue 20's last item: availability changes are in the user's feed. A supervisor sets Anna
/// Away through the API; the widget that follows her feed shows it within a second, from the
/// feed event itself (no list read), and the pressed button follows.
#[wasm_bindgen_test]
async fn an_availability_change_made_elsewhere_reaches_the_bar_through_the_feed() {
    let api = InPageApi::new();
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
    let lists_before = list_reads(&api);
    let set = api.handle(
        &Request::new("PUT", &format!("/v1.0/users/{ANNA}/availability"))
            .header("api_key", &key)
            .json(&json!({"State": "Away", "Reason": "Coaching"})),
    );
    assert_eq!(set.status, 200);
    let (away, took) = within(&pauses, 1_000.0, || availability_text(&root) == "Away").await;
    assert!(
        away,
        "Away on screen: {:?} after {took} ms",
        availability_text(&root)
    );
    assert_eq!(
        list_reads(&api),
        lists_before,
        "shown from the feed, not a list read"
    );
    let pressed = root
        .query_selector(r#"button[data-availability="Away"]"#)
        .ok()
        .flatten()
        .and_then(|b| b.get_attribute("aria-pressed"));
    assert_eq!(pressed.as_deref(), Some("true"));
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
