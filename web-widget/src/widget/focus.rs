//! Keeping keyboard users where they were across re-renders.

use super::*;

impl Widget {
    /// The focused element is inside the widget.
    pub(super) fn holds_focus(&self) -> bool {
        active_element().is_some_and(|active| self.root.contains(Some(&active)))
    }

    /// Something outside the widget has focus (not just the page itself).
    pub(super) fn focus_elsewhere(&self) -> bool {
        let body = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body());
        active_element().is_some_and(|active| {
            !self.root.contains(Some(&active))
                && body
                    .as_ref()
                    .is_none_or(|b| b.as_ref() as &Element != &active)
        })
    }

    /// (task, action or "target") of the focused control inside the widget.
    pub(super) fn focused_control(&self) -> Option<(String, String)> {
        let active = active_element()?;
        if !self.root.contains(Some(&active)) {
            return None;
        }
        let task = active.get_attribute("data-task")?;
        let control = active
            .get_attribute("data-action")
            .unwrap_or_else(|| "target".into());
        Some((task, control))
    }

    /// Keeps keyboard users where they were across re-renders: the same control, else the
    /// first button of the same task, else the first button. A control that cannot take focus
    /// now (disabled while its action runs) gets it back on a later render.
    pub(super) fn restore_focus(&self, focused: Option<(String, String)>) {
        let Some((task, control)) = focused else {
            return;
        };
        let selectors = [
            if control == "target" {
                format!(r#"input.tm-target[data-task="{task}"]"#)
            } else {
                format!(r#"button[data-task="{task}"][data-action="{control}"]"#)
            },
            format!(r#"[data-task="{task}"] button.tm-action"#),
            "button.tm-action".to_string(),
        ];
        for selector in selectors {
            if let Ok(Some(element)) = self.root.query_selector(&selector) {
                if let Ok(element) = element.dyn_into::<HtmlElement>() {
                    let _ = element.focus();
                    let took_focus = active_element()
                        .is_some_and(|active| &active == element.as_ref() as &Element);
                    if !took_focus {
                        *self.pending_focus.borrow_mut() = Some((task, control));
                    }
                    return;
                }
            }
        }
    }
}

/// The page's focused element.
pub(super) fn active_element() -> Option<Element> {
    web_sys::window()?.document()?.active_element()
}
