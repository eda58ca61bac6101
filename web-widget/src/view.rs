//! Pure rendering: tasks in, HTML out. Which buttons appear is decided by the core's
//! `allowed_actions`, so the widget can never offer what the API would refuse.

use std::collections::HashMap;
use std::fmt::Write;
use tm_core::ids::TaskId;
use tm_core::model::{ConsultationStatus, Task, TaskStatus, TaskType};
use tm_core::{TaskAction, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Info,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub kind: MessageKind,
    pub text: String,
}

/// Everything a render needs.
pub struct ViewState<'a> {
    pub tasks: &'a [Task],
    pub now: Timestamp,
    pub message: Option<&'a Message>,
    /// A task whose action is in flight: its buttons are disabled until the answer.
    pub busy: Option<TaskId>,
    /// The last refresh failed, so the list may be out of date: every button is disabled.
    pub stale: bool,
    /// What the agent typed into each task's target field.
    pub targets: &'a HashMap<TaskId, String>,
}

/// The actions an agent gets a button for: everything the state machine allows except
/// offering (a routing decision) and audio routes (a supervisor tool).
pub fn agent_actions(task: &Task) -> Vec<TaskAction> {
    task.allowed_actions()
        .into_iter()
        .filter(|a| !matches!(a, TaskAction::Offer | TaskAction::ConsultationAudioRoutes))
        .collect()
}

/// Actions that need the target field.
pub fn needs_target(action: TaskAction) -> bool {
    matches!(action, TaskAction::Transfer | TaskAction::ConsultationCall)
}

pub fn label(action: TaskAction) -> &'static str {
    match action {
        TaskAction::Offer => "Offer",
        TaskAction::Accept => "Accept",
        TaskAction::Decline => "Decline",
        TaskAction::Answered => "Mark answered",
        TaskAction::Hold => "Hold",
        TaskAction::Resume => "Resume",
        TaskAction::Transfer => "Transfer",
        TaskAction::Terminate => "Terminate",
        TaskAction::ConsultationCall => "Consult",
        TaskAction::ConsultationAnswered => "Consultant answered",
        TaskAction::ConsultationMerge => "Merge",
        TaskAction::ConsultationTransfer => "Transfer to consultant",
        TaskAction::ConsultationTerminate => "End consultation",
        TaskAction::ConsultationLeave => "Leave conference",
        TaskAction::ConsultationAudioRoutes => "Audio routes",
        TaskAction::ConsultationTerminateCustomerCall => "End customer call",
    }
}

pub fn type_label(task_type: TaskType) -> &'static str {
    match task_type {
        TaskType::IncomingCall => "Incoming call",
        TaskType::OutboundCall => "Outbound call",
        TaskType::ExternalTask => "External task",
    }
}

pub fn status_label(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::OnHold => "On hold",
        other => other.as_str(),
    }
}

fn consultation_label(status: ConsultationStatus) -> &'static str {
    match status {
        ConsultationStatus::Ringing => "ringing",
        ConsultationStatus::Connected => "connected",
        ConsultationStatus::Merged => "merged",
        ConsultationStatus::Ended => "ended",
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "45 s", "2 min 05 s", "1 h 03 min".
pub fn duration_text(millis: i64) -> String {
    let seconds = millis.max(0) / 1000;
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {:02} s", s / 60, s % 60),
        s => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// One button of a card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardButton {
    pub action: TaskAction,
    pub label: &'static str,
}

/// One task as shown, in the parts that a refresh updates separately (see `patch`): equal
/// parts are left alone in the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    pub id: TaskId,
    /// `class` of the card: its status, for styling.
    pub class: String,
    /// The card's accessible name: type, customer and status.
    pub label: String,
    /// Buttons disabled: an action of this task is in flight, or the list may be out of date.
    pub busy: bool,
    /// Inner HTML of `.tm-head`.
    pub head: String,
    /// Inner HTML of `.tm-consultation`, while a consultation is active.
    pub consultation: Option<String>,
    /// The target field's accessible name, when an action needs a target. The field itself
    /// belongs to the agent: a refresh never rewrites it.
    pub target_label: Option<String>,
    /// The button group's accessible name.
    pub actions_label: String,
    pub buttons: Vec<CardButton>,
}

/// "for 45 s" (in the state so far), or for an automatic offer "15 s left to accept".
fn time_text(task: &Task, now: Timestamp) -> String {
    let now = now.unix_millis();
    match (task.status, task.ringing_until) {
        (TaskStatus::Ringing, Some(until)) => {
            duration_text(until.unix_millis() - now) + " left to accept"
        }
        _ => "for ".to_string() + &duration_text(now - task.updated_at.unix_millis()),
    }
}

pub fn card(task: &Task, state: &ViewState) -> Card {
    let name = &task.customer.display_name;
    let head = format!(
        r#"<span class="tm-type">{kind}</span><span class="tm-customer" title="{uri}">{name}</span><span class="tm-state"><span class="tm-status">{status}</span> <span class="tm-time">{time}</span></span>"#,
        kind = type_label(task.task_type),
        uri = escape(&task.customer.uri),
        name = escape(name),
        status = status_label(task.status),
        time = time_text(task, state.now),
    );
    let consultation = task
        .consultation_call
        .as_ref()
        .filter(|c| c.status.is_active())
        .map(|call| {
            format!(
                r#"Consultation with <span class="tm-consultant">{}</span>: <span class="tm-consultation-status">{}</span>"#,
                escape(&call.target.display_name),
                consultation_label(call.status)
            )
        });
    let actions = agent_actions(task);
    Card {
        id: task.id,
        class: format!(
            "tm-task tm-status-{}",
            task.status.as_str().to_ascii_lowercase()
        ),
        label: format!(
            "{} from {}, {}",
            type_label(task.task_type),
            name,
            status_label(task.status)
        ),
        busy: state.busy == Some(task.id) || state.stale,
        head,
        consultation,
        target_label: actions
            .iter()
            .any(|a| needs_target(*a))
            .then(|| format!("Transfer or consultation target for {name}")),
        actions_label: format!("Actions for {name}"),
        buttons: actions
            .into_iter()
            .map(|action| CardButton {
                action,
                label: label(action),
            })
            .collect(),
    }
}

/// Inner HTML of `.tm-target-label`: the field, holding what the agent typed so far.
pub fn target_html(card: &Card, label: &str, value: &str) -> String {
    format!(
        r#"Target <input class="tm-target" type="text" data-task="{id}" value="{value}" placeholder="sip:, tel: or user" aria-label="{label}" autocomplete="off">"#,
        id = card.id,
        value = escape(value),
        label = escape(label),
    )
}

/// Inner HTML of `.tm-actions`: the buttons.
pub fn buttons_html(card: &Card) -> String {
    let mut out = String::new();
    for button in &card.buttons {
        let _ = write!(
            out,
            r#"<button type="button" class="tm-action tm-action-{endpoint}" data-task="{id}" data-action="{action:?}"{disabled}>{label}</button>"#,
            endpoint = button.action.endpoint().replace('/', "-"),
            id = card.id,
            action = button.action,
            disabled = if card.busy { " disabled" } else { "" },
            label = button.label,
        );
    }
    out
}

/// Inner HTML of a card's `<li>`; `value` is what the agent typed into its target field.
pub fn card_inner_html(card: &Card, value: &str) -> String {
    let mut out = format!(r#"<div class="tm-head">{}</div>"#, card.head);
    if let Some(consultation) = &card.consultation {
        let _ = write!(out, r#"<div class="tm-consultation">{consultation}</div>"#);
    }
    if let Some(label) = &card.target_label {
        let _ = write!(
            out,
            r#"<label class="tm-target-label">{}</label>"#,
            target_html(card, label, value)
        );
    }
    let _ = write!(
        out,
        r#"<div class="tm-actions" role="group" aria-label="{}">{}</div>"#,
        escape(&card.actions_label),
        buttons_html(card)
    );
    out
}

fn render_task(out: &mut String, task: &Task, state: &ViewState) {
    let card = card(task, state);
    let value = state.targets.get(&task.id).map_or("", String::as_str);
    let _ = write!(
        out,
        r#"<li class="{class}" data-task="{id}" aria-label="{label}" aria-busy="{busy}">{inner}</li>"#,
        class = card.class,
        id = card.id,
        label = escape(&card.label),
        busy = card.busy,
        inner = card_inner_html(&card, value),
    );
}

/// What changed between two lists of the agent's tasks, said once for screen readers: tasks
/// that arrived and tasks that left ("Incoming call from Mia Weber. Removed: External task
/// from Ben."). `None` when no task arrived or left.
pub fn arrivals_and_departures(before: &[Task], after: &[Task]) -> Option<String> {
    let describe = |task: &Task| {
        format!(
            "{} from {}",
            type_label(task.task_type),
            task.customer.display_name
        )
    };
    let arrived: Vec<String> = after
        .iter()
        .filter(|t| !before.iter().any(|b| b.id == t.id))
        .map(describe)
        .collect();
    let left: Vec<String> = before
        .iter()
        .filter(|t| !after.iter().any(|a| a.id == t.id))
        .map(describe)
        .collect();
    let mut parts = Vec::new();
    if !arrived.is_empty() {
        parts.push(format!("{}.", arrived.join(", ")));
    }
    if !left.is_empty() {
        parts.push(format!("No longer in your tasks: {}.", left.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The widget's frame, written once: the two live regions must stay in the page for screen
/// readers to announce what changes in them; only their text and the list are re-rendered.
pub const FRAME: &str = concat!(
    r#"<section class="tm-widget" aria-label="My tasks">"#,
    r#"<div class="tm-message tm-error" role="alert"></div>"#,
    r#"<div class="tm-message tm-info" role="status"></div>"#,
    r#"<div class="tm-availability" role="group" aria-label="My availability"></div>"#,
    r#"<div class="tm-list"></div></section>"#
);

/// The texts of the error and the info region.
pub fn message_texts(message: Option<&Message>) -> (&str, &str) {
    match message {
        Some(Message {
            kind: MessageKind::Error,
            text,
        }) => (text, ""),
        Some(Message {
            kind: MessageKind::Info,
            text,
        }) => ("", text),
        None => ("", ""),
    }
}

/// The task list (or the empty note).
pub fn render_list(state: &ViewState) -> String {
    let mut out = String::new();
    if state.tasks.is_empty() {
        out.push_str(r#"<p class="tm-empty">No current tasks.</p>"#);
    } else {
        out.push_str(r#"<ul class="tm-tasks">"#);
        for task in state.tasks {
            render_task(&mut out, task, state);
        }
        out.push_str("</ul>");
    }
    out
}

/// The whole widget as one HTML string (the frame filled in), e.g. for static rendering.
pub fn render(state: &ViewState) -> String {
    let (error, info) = message_texts(state.message);
    FRAME
        .replace(
            r#"role="alert"></div>"#,
            &format!(r#"role="alert">{}</div>"#, escape(error)),
        )
        .replace(
            r#"role="status"></div>"#,
            &format!(r#"role="status">{}</div>"#, escape(info)),
        )
        .replace(
            r#"<div class="tm-list"></div>"#,
            &format!(r#"<div class="tm-list">{}</div>"#, render_list(state)),
        )
}

/// The widget's stylesheet. Host pages theme it through the custom properties.
pub const STYLE: &str = r#"
tm-agent-tasks { display: block; font: var(--tm-font, 14px/1.4 system-ui, sans-serif); color: var(--tm-fg, #1d2430); }
tm-agent-tasks .tm-widget { background: var(--tm-bg, #fff); border: 1px solid var(--tm-border, #d0d5dd); border-radius: var(--tm-radius, 8px); padding: .5rem; min-width: 0; }
tm-agent-tasks .tm-tasks { list-style: none; margin: 0; padding: 0; display: grid; gap: .5rem; }
tm-agent-tasks .tm-task { border: 1px solid var(--tm-border, #d0d5dd); border-radius: var(--tm-radius, 8px); padding: .5rem; }
tm-agent-tasks .tm-head { display: flex; flex-wrap: wrap; gap: .25rem .75rem; align-items: baseline; }
tm-agent-tasks .tm-type { font-weight: 600; }
tm-agent-tasks .tm-customer { overflow-wrap: anywhere; }
tm-agent-tasks .tm-state { margin-left: auto; color: var(--tm-muted, #555e6b); }
tm-agent-tasks .tm-consultation { margin-top: .25rem; color: var(--tm-muted, #555e6b); }
tm-agent-tasks .tm-target-label { display: flex; gap: .5rem; align-items: center; margin-top: .5rem; }
tm-agent-tasks .tm-target { flex: 1; min-width: 0; padding: .3rem; font: inherit; }
tm-agent-tasks .tm-actions { display: flex; flex-wrap: wrap; gap: .35rem; margin-top: .5rem; }
tm-agent-tasks .tm-action { font: inherit; padding: .35rem .7rem; border-radius: var(--tm-radius, 8px); border: 1px solid var(--tm-accent, #1f5eff); background: var(--tm-button-bg, #fff); color: var(--tm-accent, #1f5eff); cursor: pointer; }
tm-agent-tasks .tm-action:focus-visible, tm-agent-tasks .tm-target:focus-visible { outline: 3px solid var(--tm-focus, #0b0c0c); outline-offset: 1px; }
tm-agent-tasks .tm-action:disabled { opacity: .5; cursor: progress; }
tm-agent-tasks .tm-action-terminate, tm-agent-tasks .tm-action-decline { border-color: var(--tm-danger, #c62828); color: var(--tm-danger, #c62828); }
tm-agent-tasks .tm-message:empty { display: none; }
tm-agent-tasks .tm-message { padding: .4rem .5rem; margin-bottom: .5rem; border-radius: var(--tm-radius, 8px); }
tm-agent-tasks .tm-error { background: var(--tm-error-bg, #fdecea); color: var(--tm-danger, #c62828); }
tm-agent-tasks .tm-info { background: var(--tm-info-bg, #eef3ff); }
tm-agent-tasks .tm-availability:empty { display: none; }
tm-agent-tasks .tm-availability { display: flex; flex-wrap: wrap; gap: .35rem .75rem; align-items: center; margin-bottom: .5rem; }
tm-agent-tasks .tm-availability-state { font-weight: 600; margin-right: auto; }
tm-agent-tasks .tm-availability-set { font: inherit; padding: .25rem .6rem; border-radius: var(--tm-radius, 8px); border: 1px solid var(--tm-accent, #1f5eff); background: var(--tm-button-bg, #fff); color: var(--tm-accent, #1f5eff); cursor: pointer; }
tm-agent-tasks .tm-availability-set[aria-pressed="true"] { background: var(--tm-accent, #1f5eff); color: var(--tm-button-bg, #fff); }
tm-agent-tasks .tm-availability-set:focus-visible { outline: 3px solid var(--tm-focus, #0b0c0c); outline-offset: 1px; }
tm-agent-tasks .tm-empty { margin: .25rem; color: var(--tm-muted, #555e6b); }
"#;

#[cfg(test)]
mod tests {
    // These run natively and, under wasm-bindgen-test-runner, in headless Chromium too (so the
    // widget's mutation run, which tests on the wasm target, sees them).
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    /// WCAG relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    /// The default of a custom property in the widget's style sheet, as `#rrggbb`.
    fn default_of(property: &str) -> String {
        let marker = format!("var({property}, ");
        let start = super::STYLE
            .find(&marker)
            .map(|i| i + marker.len())
            .unwrap_or_else(|| panic!("{property} has no default"));
        let value: String = super::STYLE[start..]
            .chars()
            .take_while(|c| *c != ')')
            .collect();
        match value.len() {
            4 => value.chars().skip(1).fold(String::from("#"), |mut hex, c| {
                hex.push(c);
                hex.push(c);
                hex
            }),
            7 => value,
            _ => panic!("{property} defaults to {value}, not a hex colour"),
        }
    }

    /// WCAG 1.4.11: the focus ring stands out at least 3:1 against the widget's background and
    /// the buttons' background (the ring sits 1px outside the button, on the widget).
    #[test]
    fn the_default_focus_ring_has_at_least_three_to_one_contrast() {
        let focus = default_of("--tm-focus");
        for background in ["--tm-bg", "--tm-button-bg"] {
            let ratio = contrast(&focus, &default_of(background));
            assert!(ratio >= 3.0, "{focus} on {background}: {ratio:.2}:1");
        }
        assert!(contrast("#ffbf47", "#ffffff") < 3.0, "the old ring failed");
        assert_eq!(default_of("--tm-bg"), "#ffffff");
    }

    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<b a="1">&'"#),
            "&lt;b a=&quot;1&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(-5), "0 s");
        assert_eq!(duration_text(45_999), "45 s");
        assert_eq!(duration_text(59_999), "59 s");
        assert_eq!(duration_text(60_000), "1 min 00 s");
        assert_eq!(duration_text(125_000), "2 min 05 s");
        assert_eq!(duration_text(3_599_999), "59 min 59 s");
        assert_eq!(duration_text(3_600_000), "1 h 00 min");
        assert_eq!(duration_text(3_780_000), "1 h 03 min");
    }

    fn task(status: &str, consultation: Option<&str>) -> Task {
        let call = consultation.map(|status| {
            serde_json::json!({"Id": "c0000000-0000-4000-8000-000000000001",
                "TaskId": "70000000-0000-4000-8000-000000000001",
                "InitiatorUserId": null,
                "Target": {"Uri": "sip:carla@contoso.com", "DisplayName": "Carla Rossi", "UserId": null},
                "Status": status,
                "AudioRoutes": {"CustomerHearsAgent": false, "CustomerHearsConsultant": false,
                    "AgentHearsCustomer": false, "AgentHearsConsultant": true,
                    "ConsultantHearsCustomer": false, "ConsultantHearsAgent": true},
                "StartedAt": "2026-01-05T08:00:00.000Z", "EndedAt": null})
        });
        serde_json::from_value(serde_json::json!({
            "Id": "70000000-0000-4000-8000-000000000001",
            "TeamId": "7e000000-0000-4000-8000-000000000001",
            "Type": "IncomingCall", "Status": status, "Priority": "Normal",
            "Customer": {"Uri": "tel:+41445550100", "DisplayName": "Mia Weber"},
            "AssignedUserId": null, "ExternalTaskId": null, "Description": null,
            "CreatedAt": "2026-01-05T08:00:00.000Z", "QueuedAt": null,
            "UpdatedAt": "2026-01-05T08:00:00.000Z", "EndedAt": null, "Version": 1,
            "ConsultationCall": call}))
        .expect("a task")
    }

    fn named(id: u128, name: &str) -> Task {
        let mut task = task("Ringing", None);
        task.id = TaskId(uuid::Uuid::from_u128(id));
        task.customer.display_name = name.to_string();
        task
    }

    /// The status region says who arrived and who left, and nothing when nobody did.
    #[test]
    fn arrivals_and_departures_name_only_who_came_or_went() {
        let (mia, tom, eva) = (
            named(1, "Mia Weber"),
            named(2, "Tom Frei"),
            named(3, "Eva Roth"),
        );
        let before = [mia.clone(), tom.clone()];
        assert_eq!(arrivals_and_departures(&before, &before), None);
        assert_eq!(
            arrivals_and_departures(&before, &[mia.clone(), tom.clone(), eva.clone()]).as_deref(),
            Some("Incoming call from Eva Roth.")
        );
        assert_eq!(
            arrivals_and_departures(&before, std::slice::from_ref(&tom)).as_deref(),
            Some("No longer in your tasks: Incoming call from Mia Weber.")
        );
        assert_eq!(
            arrivals_and_departures(&before, &[tom, eva]).as_deref(),
            Some("Incoming call from Eva Roth. No longer in your tasks: Incoming call from Mia Weber.")
        );
    }

    /// What a person reads on a card: the status line per state and the consultation line per
    /// consultation state, written out.
    #[test]
    fn a_card_says_the_state_in_words() {
        let targets = HashMap::new();
        let state = ViewState {
            tasks: &[],
            now: Timestamp::from_unix_millis(1_767_600_000_000),
            message: None,
            busy: None,
            stale: false,
            targets: &targets,
        };
        for (status, shown) in [
            ("Queued", "Queued"),
            ("Ringing", "Ringing"),
            ("Dialing", "Dialing"),
            ("Connected", "Connected"),
            ("OnHold", "On hold"),
            ("Consulting", "Consulting"),
            ("Conference", "Conference"),
            ("Transferred", "Transferred"),
            ("Terminated", "Terminated"),
        ] {
            let card = card(&task(status, None), &state);
            let expected = format!(r#"<span class="tm-status">{shown}</span>"#);
            assert!(card.head.contains(&expected), "{status}: {}", card.head);
            assert_eq!(card.label, format!("Incoming call from Mia Weber, {shown}"));
        }
        for (status, shown) in [
            ("Ringing", "ringing"),
            ("Connected", "connected"),
            ("Merged", "merged"),
        ] {
            let card = card(&task("Consulting", Some(status)), &state);
            let line = card.consultation.unwrap_or_default();
            assert!(
                line.contains(&format!(
                    r#"<span class="tm-consultation-status">{shown}</span>"#
                )) && line.starts_with(
                    r#"Consultation with <span class="tm-consultant">Carla Rossi</span>"#
                ),
                "{status}: {line}"
            );
        }
        // An ended consultation is no longer shown.
        assert_eq!(
            card(&task("Connected", Some("Ended")), &state).consultation,
            None
        );
    }
}
