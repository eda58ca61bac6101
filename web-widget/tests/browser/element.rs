//! The custom element, its attributes and its live regions.

use super::*;

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
