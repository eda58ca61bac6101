//! Issue 22's wallboard in Chromium (driven over WebDriver by wasm-bindgen-test-runner): the
//! figures on screen follow the team's feed. A call created through the API moves "Waiting"
//! from 0 to 1 within 2 s; its offer and accept move it back; the chart says how many wait.

use super::feed::{within, VirtualPauses};
use super::*;
use tm_web_widget::wallboard::{Wallboard, WallboardOptions};

fn shown(root: &Element, figure: &str) -> String {
    root.query_selector(&format!(r#"[data-figure="{figure}"] dd"#))
        .ok()
        .flatten()
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn a_call_moves_waiting_from_0_to_1_within_two_seconds_and_an_accept_moves_it_back() {
    let api = InPageApi::new();
    let created = api.admin(
        "POST",
        "/admin/v1.0/apikeys",
        json!({"Name": "wallboard", "Roles": ["TasksReadonly", "TeamsReadonly"]}),
    );
    let key = created.json_body()["Secret"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let manage = api.key();
    let pauses = VirtualPauses {
        paused_millis: Rc::new(Cell::new(0.0)),
    };
    let options = WallboardOptions {
        api_key: key,
        team: "sip:support@contoso.com".into(),
        ..WallboardOptions::default()
    };
    let board = Wallboard::mount_with(
        container(),
        options,
        Rc::new(InPageTransport(Rc::clone(&api))),
        pauses.pause(),
    );
    let root: Element = board.root().clone().into();
    let (ready, _) = within(&pauses, 2_000.0, || shown(&root, "waiting") == "0").await;
    assert!(ready, "Waiting 0 at first: {:?}", root.inner_html());
    assert!(root.inner_html().contains("Support"), "the team's name");
    let call = api.call(
        &manage,
        &format!("/v1.0/teams/{SUPPORT}/tasks"),
        Some(json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41445550100"}})),
    );
    let id = call["Id"].as_str().unwrap_or_default().to_string();
    let (one, took) = within(&pauses, 2_000.0, || shown(&root, "waiting") == "1").await;
    assert!(
        one,
        "Waiting 1 after the call: {:?} after {took} ms",
        shown(&root, "waiting")
    );
    assert!(took <= 2_000.0, "{took}");
    assert!(
        root.inner_html().contains("1 waiting now"),
        "the chart's text says so"
    );
    api.call(
        &manage,
        &format!("/v1.0/tasks/{id}/offer"),
        Some(json!({"UserIdentifier": ANNA.to_string()})),
    );
    api.call(&manage, &format!("/v1.0/tasks/{id}/accept"), None);
    let (zero, took) = within(&pauses, 2_000.0, || {
        shown(&root, "waiting") == "0" && shown(&root, "answered") == "1"
    })
    .await;
    assert!(
        zero,
        "Waiting 0 and one answered after the accept ({took} ms): {:?}",
        root.inner_html()
    );
    board.unmount();
}
