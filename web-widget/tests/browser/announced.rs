//! Done actions are announced to the host page.

use super::*;

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
