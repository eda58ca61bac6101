//! Refreshes change only what differs: no DOM mutation, no focus move, typing kept.

use super::*;

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
