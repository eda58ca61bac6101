//! The agent's own availability in the widget: what it shows (the effective state, and the time
//! left of WrapUp and NotResponding) and the requests that read and set it. Pure, so that it is
//! tested natively; the widget wires it to the page. The answer is read as plain JSON (not
//! through the core's typed `Availability`): the widget's size budget.

use crate::view::{duration_text, escape};
use tm_core::{Request, Timestamp};

/// What the widget keeps of `GET /v1.0/users/{u}/availability`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    /// The effective state (`Available`, `Away`, `Offline`, `Busy`, `WrapUp`, `NotResponding`).
    pub state: String,
    /// What the agent chose (`Available`, `Away`, `Offline`).
    pub chosen: String,
    /// When a derived state ends.
    pub until: Option<Timestamp>,
}

impl Shown {
    /// From the answer's body; `None` if it is not an availability.
    pub fn parse(body: &[u8]) -> Option<Shown> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        Shown::from_value(&value)
    }

    /// From an availability as JSON (an answer's, or a feed event's `Availability`).
    pub fn from_value(value: &serde_json::Value) -> Option<Shown> {
        Some(Shown {
            state: value["State"].as_str()?.to_string(),
            chosen: value["Chosen"].as_str()?.to_string(),
            until: value["Until"].as_str().and_then(Timestamp::parse_rfc3339),
        })
    }
}

/// What a page of the user's feed says of the availability when it holds availability changes
/// only: the last one (the list need not be read again). `None` when any event is a task's
/// change (the widget lists again, which reads the availability too) or the page is empty.
pub fn from_feed_events(events: &[serde_json::Value]) -> Option<Shown> {
    if events.iter().any(|e| e["Kind"] != "Availability") {
        return None;
    }
    Shown::from_value(&events.last()?["Availability"])
}

/// `GET /v1.0/users/{user}/availability`.
pub fn read_request(user: &str) -> Request {
    Request::new("GET", &format!("/v1.0/users/{user}/availability"))
}

/// `PUT /v1.0/users/{user}/availability` with `{"State": chosen}` (one of [`CHOICES`]).
pub fn set_request(user: &str, chosen: &str) -> Request {
    let mut request = Request::new("PUT", &format!("/v1.0/users/{user}/availability"))
        .header("Content-Type", "application/json");
    request.body = format!(r#"{{"State":"{chosen}"}}"#).into_bytes();
    request
}

/// The state in words, with the time left of a derived state at `now`.
pub fn state_text(shown: &Shown, now: Timestamp) -> String {
    let left = shown
        .until
        .map(|until| duration_text(until.unix_millis() - now.unix_millis()));
    match (shown.state.as_str(), left) {
        ("WrapUp", Some(left)) => format!("Wrap-up, {left} left"),
        ("WrapUp", None) => "Wrap-up".into(),
        ("NotResponding", Some(left)) => format!("Not responding (missed a call), {left} left"),
        ("NotResponding", None) => "Not responding".into(),
        (state, _) => state.to_string(),
    }
}

/// The states the agent sets with the widget's buttons, in order.
pub const CHOICES: [&str; 2] = ["Available", "Away"];

/// Inner HTML of `.tm-availability`: the state and the two buttons (`aria-pressed` on the one
/// chosen). Empty when the availability is not known (a key without UsersReadonly).
pub fn html(shown: Option<&Shown>, now: Timestamp, busy: bool) -> String {
    let Some(shown) = shown else {
        return String::new();
    };
    let mut out = String::from(r#"<span class="tm-availability-state tm-agent-"#);
    out.push_str(&shown.state.to_ascii_lowercase());
    out.push_str(r#"">"#);
    out.push_str(&escape(&state_text(shown, now)));
    out.push_str("</span>");
    for choice in CHOICES {
        out.push_str(r#"<button type="button" class="tm-availability-set" data-availability=""#);
        out.push_str(choice);
        out.push_str(r#"" aria-pressed=""#);
        out.push_str(if shown.chosen == choice {
            "true"
        } else {
            "false"
        });
        out.push('"');
        if busy {
            out.push_str(" disabled");
        }
        out.push('>');
        out.push_str(choice);
        out.push_str("</button>");
    }
    out
}

/// The choice a button names.
pub fn choice_named(name: &str) -> Option<&'static str> {
    CHOICES.into_iter().find(|choice| *choice == name)
}

/// Whether anything on screen counts down (a derived state's or an offer's time left), so that
/// the widget renders every second.
pub fn counts_down(shown: Option<&Shown>, ringing: bool) -> bool {
    shown.is_some_and(|s| s.until.is_some()) || ringing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(state: &str, chosen: &str, until: Option<i64>) -> Shown {
        Shown {
            state: state.into(),
            chosen: chosen.into(),
            until: until.map(Timestamp::from_unix_millis),
        }
    }

    #[test]
    fn derived_states_say_the_time_left() {
        let now = Timestamp::from_unix_millis(100_000);
        let table = [
            ("Available", None, "Available"),
            ("Away", None, "Away"),
            ("Offline", None, "Offline"),
            ("Busy", None, "Busy"),
            ("WrapUp", Some(125_000), "Wrap-up, 25 s left"),
            (
                "NotResponding",
                Some(700_000),
                "Not responding (missed a call), 10 min 00 s left",
            ),
        ];
        for (state, until, text) in table {
            assert_eq!(state_text(&shown(state, "Available", until), now), text);
        }
    }

    #[test]
    fn the_chosen_state_is_the_pressed_button() {
        let now = Timestamp::from_unix_millis(0);
        let away = shown("Away", "Away", None);
        let html_away = html(Some(&away), now, false);
        assert!(html_away.contains(r#"data-availability="Away" aria-pressed="true">"#));
        assert!(html_away.contains(r#"data-availability="Available" aria-pressed="false">"#));
        assert!(html(Some(&away), now, true).contains(" disabled>"));
        assert_eq!(html(None, now, false), "");
        assert_eq!(choice_named("Away"), Some("Away"));
        assert_eq!(choice_named("Busy"), None);
    }

    #[test]
    fn the_answer_is_read_from_its_json() {
        let body = br#"{"UserId":"x","State":"WrapUp","Chosen":"Available","Since":"2026-01-05T08:00:00.000Z","Until":"2026-01-05T08:00:30.000Z","Reason":null,"TaskId":null}"#;
        let parsed = Shown::parse(body);
        assert_eq!(
            parsed.map(|s| (s.state, s.chosen, s.until.is_some())),
            Some(("WrapUp".into(), "Available".into(), true))
        );
        assert_eq!(Shown::parse(br#"{"Error":{}}"#), None);
    }

    #[test]
    fn a_feed_page_of_availability_changes_only_gives_the_last_one() {
        let change = |state: &str, chosen: &str| serde_json::json!({"Kind": "Availability", "Availability": {"State": state, "Chosen": chosen, "Until": null}});
        let offer = serde_json::json!({"Kind": "AutomaticOffer", "TaskId": "t", "Task": {}});
        let away = Shown {
            state: "Away".into(),
            chosen: "Away".into(),
            until: None,
        };
        let table: Vec<(Vec<serde_json::Value>, Option<Shown>)> = vec![
            (vec![], None),
            (vec![change("Away", "Away")], Some(away.clone())),
            (
                vec![change("Available", "Available"), change("Away", "Away")],
                Some(away),
            ),
            (vec![change("Busy", "Available"), offer.clone()], None),
            (vec![offer], None),
        ];
        for (events, expected) in table {
            assert_eq!(from_feed_events(&events), expected, "{events:?}");
        }
    }
}
