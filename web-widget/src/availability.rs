//! The agent's own availability in the widget: what it shows (the effective state, and the time
//! left of WrapUp and NotResponding) and the requests that read and set it. Pure, so that it is
//! tested natively; the widget wires it to the page.

use crate::view::{duration_text, escape};
use tm_core::model::{AgentState, Availability, ChosenState};
use tm_core::{Request, Timestamp};

/// `GET /v1.0/users/{user}/availability`.
pub fn read_request(user: &str, api_key: &str) -> Request {
    Request::new("GET", &format!("/v1.0/users/{user}/availability")).header("api_key", api_key)
}

/// `PUT /v1.0/users/{user}/availability` with `{"State": chosen}`.
pub fn set_request(user: &str, api_key: &str, chosen: ChosenState) -> Request {
    Request::new("PUT", &format!("/v1.0/users/{user}/availability"))
        .header("api_key", api_key)
        .json(&serde_json::json!({ "State": chosen }))
}

/// The state in words, with the time left of a derived state at `now`.
pub fn state_text(availability: &Availability, now: Timestamp) -> String {
    let left = availability
        .until
        .map(|until| duration_text(until.unix_millis() - now.unix_millis()));
    match (availability.state, left) {
        (AgentState::Available, _) => "Available".into(),
        (AgentState::Away, _) => "Away".into(),
        (AgentState::Offline, _) => "Offline".into(),
        (AgentState::Busy, _) => "Busy".into(),
        (AgentState::WrapUp, Some(left)) => format!("Wrap-up, {left} left"),
        (AgentState::WrapUp, None) => "Wrap-up".into(),
        (AgentState::NotResponding, Some(left)) => {
            format!("Not responding (missed a call), {left} left")
        }
        (AgentState::NotResponding, None) => "Not responding".into(),
    }
}

/// The buttons the agent sets their state with, in order.
pub const CHOICES: [(ChosenState, &str); 2] = [
    (ChosenState::Available, "Available"),
    (ChosenState::Away, "Away"),
];

/// Inner HTML of `.tm-availability`: the state and the two buttons (`aria-pressed` on the one
/// chosen). Empty when the availability is not known (a key without UsersReadonly).
pub fn html(availability: Option<&Availability>, now: Timestamp, busy: bool) -> String {
    let Some(availability) = availability else {
        return String::new();
    };
    let mut out = format!(
        r#"<span class="tm-availability-state tm-agent-{state}">{text}</span>"#,
        state = format!("{:?}", availability.state).to_ascii_lowercase(),
        text = escape(&state_text(availability, now)),
    );
    for (choice, label) in CHOICES {
        out.push_str(&format!(
            r#"<button type="button" class="tm-availability-set" data-availability="{label}" aria-pressed="{pressed}"{disabled}>{label}</button>"#,
            pressed = availability.chosen == choice,
            disabled = if busy { " disabled" } else { "" },
        ));
    }
    out
}

/// The choice a button names.
pub fn choice_named(name: &str) -> Option<ChosenState> {
    CHOICES
        .into_iter()
        .find(|(_, label)| *label == name)
        .map(|(choice, _)| choice)
}

/// Whether anything on screen counts down (a derived state's or an offer's time left), so that
/// the widget renders every second.
pub fn counts_down(availability: Option<&Availability>, ringing_until: &[Timestamp]) -> bool {
    availability.is_some_and(|a| a.until.is_some()) || !ringing_until.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tm_core::ids::UserId;

    fn availability(state: AgentState, chosen: ChosenState, until: Option<i64>) -> Availability {
        Availability {
            user_id: UserId(uuid::Uuid::from_u128(1)),
            state,
            chosen,
            since: Timestamp::from_unix_millis(0),
            until: until.map(Timestamp::from_unix_millis),
            reason: None,
            task_id: None,
        }
    }

    #[test]
    fn derived_states_say_the_time_left() {
        let now = Timestamp::from_unix_millis(100_000);
        let table = [
            (AgentState::Available, None, "Available"),
            (AgentState::Away, None, "Away"),
            (AgentState::Offline, None, "Offline"),
            (AgentState::Busy, None, "Busy"),
            (AgentState::WrapUp, Some(125_000), "Wrap-up, 25 s left"),
            (
                AgentState::NotResponding,
                Some(700_000),
                "Not responding (missed a call), 10 min 00 s left",
            ),
        ];
        for (state, until, text) in table {
            let shown = state_text(&availability(state, ChosenState::Available, until), now);
            assert_eq!(shown, text, "{state:?}");
        }
    }

    #[test]
    fn the_chosen_state_is_the_pressed_button() {
        let now = Timestamp::from_unix_millis(0);
        let away = availability(AgentState::Away, ChosenState::Away, None);
        let shown = html(Some(&away), now, false);
        assert!(shown.contains(r#"data-availability="Away" aria-pressed="true""#));
        assert!(shown.contains(r#"data-availability="Available" aria-pressed="false""#));
        assert!(html(Some(&away), now, true).contains(" disabled"));
        assert_eq!(html(None, now, false), "");
        assert_eq!(choice_named("Away"), Some(ChosenState::Away));
        assert_eq!(choice_named("Busy"), None);
    }
}
