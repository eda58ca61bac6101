//! Buttons send their requests; errors are shown clearly; keyboard focus survives.

use super::*;

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
