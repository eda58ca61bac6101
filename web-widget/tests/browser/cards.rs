//! Every agent state renders with exactly the buttons its task allows.

use super::*;

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
