//! Brings the rendered task list from what it showed to what it must show, touching only
//! what changed: a card's status, its buttons, a card that arrived or left. What the agent is
//! typing (the target field) is never rewritten, and a refresh that changes nothing changes
//! nothing in the page, so focus, caret and screen readers are left alone.

use crate::view::{self, Card};
use std::collections::HashMap;
use tm_core::ids::TaskId;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element};

const EMPTY: &str = r#"<p class="tm-empty">No current tasks.</p>"#;
const LIST: &str = r#"<ul class="tm-tasks"></ul>"#;

/// Updates `list` (the `.tm-list` element) from `before` (what the last call rendered, `None`
/// for a list not rendered yet) to `cards`. `typed` gives what the agent typed for a task,
/// for target fields that appear.
pub fn patch(
    list: &Element,
    before: Option<&[Card]>,
    cards: &[Card],
    typed: &HashMap<TaskId, String>,
) -> Result<(), JsValue> {
    let was_empty = before.is_none_or(<[Card]>::is_empty);
    if cards.is_empty() {
        if before.is_none() || !was_empty {
            list.set_inner_html(EMPTY);
        }
        return Ok(());
    }
    let tasks = match list.query_selector("ul.tm-tasks")? {
        Some(tasks) if !was_empty => tasks,
        _ => {
            list.set_inner_html(LIST);
            list.query_selector("ul.tm-tasks")?
                .ok_or_else(|| JsValue::from_str("task list missing"))?
        }
    };
    let document = list
        .owner_document()
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let previous: HashMap<TaskId, &Card> = before
        .unwrap_or_default()
        .iter()
        .map(|card| (card.id, card))
        .collect();
    for gone in previous
        .keys()
        .filter(|id| !cards.iter().any(|c| c.id == **id))
    {
        if let Some(item) = item(&tasks, *gone)? {
            item.remove();
        }
    }
    for (position, card) in cards.iter().enumerate() {
        let item = match (previous.get(&card.id), item(&tasks, card.id)?) {
            (Some(old), Some(item)) => {
                update(&document, &item, old, card, typed)?;
                item
            }
            _ => new_item(&document, card, typed)?,
        };
        let at = tasks.query_selector(&format!(":scope > li:nth-child({})", position + 1))?;
        if at.as_ref() != Some(&item) {
            tasks.insert_before(&item, at.as_ref().map(|e| e.as_ref()))?;
        }
    }
    Ok(())
}

fn item(tasks: &Element, id: TaskId) -> Result<Option<Element>, JsValue> {
    tasks.query_selector(&format!(r#":scope > li[data-task="{id}"]"#))
}

fn new_item(
    document: &Document,
    card: &Card,
    typed: &HashMap<TaskId, String>,
) -> Result<Element, JsValue> {
    let item = document.create_element("li")?;
    item.set_attribute("data-task", &card.id.to_string())?;
    item.set_attribute("class", &card.class)?;
    item.set_attribute("aria-label", &card.label)?;
    item.set_attribute("aria-busy", &card.busy.to_string())?;
    let value = typed.get(&card.id).map_or("", String::as_str);
    item.set_inner_html(&view::card_inner_html(card, value));
    Ok(item)
}

fn set_if_changed(element: &Element, name: &str, old: &str, new: &str) -> Result<(), JsValue> {
    if old != new {
        element.set_attribute(name, new)?;
    }
    Ok(())
}

/// Applies the differences between `old` and `new` to a card in the page.
fn update(
    document: &Document,
    item: &Element,
    old: &Card,
    new: &Card,
    typed: &HashMap<TaskId, String>,
) -> Result<(), JsValue> {
    set_if_changed(item, "class", &old.class, &new.class)?;
    set_if_changed(item, "aria-label", &old.label, &new.label)?;
    set_if_changed(
        item,
        "aria-busy",
        &old.busy.to_string(),
        &new.busy.to_string(),
    )?;
    let part = |selector: &str| item.query_selector(&format!(":scope > {selector}"));
    if old.head != new.head {
        if let Some(head) = part(".tm-head")? {
            head.set_inner_html(&new.head);
        }
    }
    let actions = part(".tm-actions")?.ok_or_else(|| JsValue::from_str("buttons missing"))?;

    // The consultation line comes and goes; it sits before the target field and the buttons.
    match (
        &old.consultation,
        &new.consultation,
        part(".tm-consultation")?,
    ) {
        (_, None, Some(line)) => line.remove(),
        (_, Some(text), None) => {
            let line = document.create_element("div")?;
            line.set_attribute("class", "tm-consultation")?;
            line.set_inner_html(text);
            let before = part(".tm-target-label")?.unwrap_or_else(|| actions.clone());
            item.insert_before(&line, Some(&before))?;
        }
        (Some(was), Some(text), Some(line)) if was != text => line.set_inner_html(text),
        _ => {}
    }

    // The target field: added or removed as actions need it, never rewritten while it stays.
    match (&new.target_label, part(".tm-target-label")?) {
        (None, Some(field)) => field.remove(),
        (Some(label), None) => {
            let field = document.create_element("label")?;
            field.set_attribute("class", "tm-target-label")?;
            let value = typed.get(&new.id).map_or("", String::as_str);
            field.set_inner_html(&view::target_html(new, label, value));
            item.insert_before(&field, Some(&actions))?;
        }
        (Some(label), Some(field)) if old.target_label.as_ref() != Some(label) => {
            if let Some(input) = field.query_selector("input")? {
                input.set_attribute("aria-label", label)?;
            }
        }
        _ => {}
    }

    set_if_changed(
        &actions,
        "aria-label",
        &old.actions_label,
        &new.actions_label,
    )?;
    if old.buttons != new.buttons {
        actions.set_inner_html(&view::buttons_html(new));
    } else if old.busy != new.busy {
        // Same buttons: only enabled or disabled, in place (a focused button stays the same).
        let buttons = actions.query_selector_all("button")?;
        for i in 0..buttons.length() {
            if let Some(button) = buttons.item(i).and_then(|b| b.dyn_into::<Element>().ok()) {
                if new.busy {
                    button.set_attribute("disabled", "")?;
                } else {
                    button.remove_attribute("disabled")?;
                }
            }
        }
    }
    Ok(())
}
