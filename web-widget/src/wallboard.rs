//! `<tm-wallboard>`: a team's queue as large numbers and a chart of the last hour, for a
//! screen on the wall (issue 22). It reads `GET /v1.0/teams/{t}/statistics` and reads it again
//! whenever the team's change feed has something new (a waiting read: no interval polling).
//! [`render`] is pure (tested natively); [`Wallboard`] wires it to the page.

use crate::feed::{sleep, FEED_WAIT_SECONDS};
use crate::follow::{BoardFollower, BoardFound, BoardRead, BoardStep};
use crate::transport::Transport;
use crate::view::escape;
use crate::widget::Pause;
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use tm_core::Request;
use web_sys::HtmlElement;

/// What a wallboard is mounted with.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WallboardOptions {
    pub api_base: String,
    /// An API key with TasksReadonly (a supervisor's), or
    pub api_key: String,
    /// an agent session's token (it may show the agent's own teams).
    pub session: String,
    /// The team: Id or SIP URI.
    pub team: String,
}

fn figure(name: &str, label: &str, value: &str) -> String {
    format!(
        r#"<div class="tm-wb-figure" data-figure="{name}"><dt>{label}</dt><dd>{}</dd></div>"#,
        escape(value)
    )
}

fn number(value: &Value) -> String {
    value.as_u64().map_or("–".into(), |n| n.to_string())
}

fn percent(value: &Value) -> String {
    value.as_f64().map_or("–".into(), |p| format!("{p:.0} %"))
}

/// Seconds as `m:ss` (`–` for none).
fn clock_text(value: &Value) -> String {
    match value.as_f64() {
        Some(seconds) => {
            let whole = seconds.max(0.0) as u64;
            format!("{}:{:02}", whole / 60, whole % 60)
        }
        None => "–".into(),
    }
}

/// The chart of the last hour: a bar per minute for the tasks waiting at its end, a line for
/// its service level (0–100 %), with a text alternative for screen readers.
fn chart(minutes: &[Value]) -> String {
    let width = 600.0;
    let height = 120.0;
    let most = minutes
        .iter()
        .filter_map(|m| m["Waiting"].as_u64())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = width / minutes.len().max(1) as f64;
    let mut bars = String::new();
    let mut points = Vec::new();
    for (i, minute) in minutes.iter().enumerate() {
        let x = i as f64 * step;
        if let Some(waiting) = minute["Waiting"].as_u64().filter(|w| *w > 0) {
            let h = waiting as f64 / most * height;
            bars.push_str(&format!(
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"></rect>"#,
                height - h,
                (step - 1.0).max(1.0)
            ));
        }
        if let Some(level) = minute["ServiceLevelPercent"].as_f64() {
            points.push(format!(
                "{:.1},{:.1}",
                x + step / 2.0,
                height - level / 100.0 * height
            ));
        }
    }
    let line = match points.len() {
        0 => String::new(),
        _ => format!(r#"<polyline points="{}"></polyline>"#, points.join(" ")),
    };
    let now = minutes.last().map_or("–".into(), |m| number(&m["Waiting"]));
    format!(
        r#"<figure class="tm-wb-chart"><svg viewBox="0 0 {width} {height}" role="img" aria-label="Waiting per minute (bars) and service level per minute (line) over the last hour; {now} waiting now" preserveAspectRatio="none">{bars}{line}</svg><figcaption>Last hour: waiting (bars), service level (line)</figcaption></figure>"#
    )
}

/// The wallboard's inner HTML for a statistics answer (`name`: the team's name).
pub fn render(name: &str, stats: &Value) -> String {
    let today = &stats["Today"];
    let recent = &stats["Last15Minutes"];
    let as_of = stats["AsOf"].as_str().unwrap_or_default();
    let time = as_of.get(11..19).unwrap_or_default();
    let threshold = number(&today["ServiceLevelThresholdSeconds"]);
    let figures = [
        figure(
            "waiting",
            "Waiting",
            &number(&stats["TasksByStatus"]["Queued"]),
        ),
        figure(
            "longest-wait",
            "Longest wait",
            &clock_text(&stats["LongestWaiting"]["AgeSeconds"]),
        ),
        figure(
            "available",
            "Agents available",
            &number(&stats["Agents"]["Available"]),
        ),
        figure(
            "service-level",
            &format!("Service level today ({threshold} s)"),
            &percent(&today["ServiceLevelPercent"]),
        ),
        figure("answered", "Answered today", &number(&today["Answered"])),
        figure("abandoned", "Abandoned today", &number(&today["Abandoned"])),
        figure(
            "average-answer",
            "Average answer today",
            &clock_text(&today["AverageAnswerSeconds"]),
        ),
        figure(
            "recent-service-level",
            "Service level, last 15 min",
            &percent(&recent["ServiceLevelPercent"]),
        ),
    ]
    .concat();
    let minutes = stats["LastHour"].as_array().map_or(&[][..], Vec::as_slice);
    format!(
        r#"<h2 class="tm-wb-title">{}</h2><p class="tm-wb-as-of">As of {} UTC</p><dl class="tm-wb-figures">{figures}</dl>{}"#,
        escape(name),
        escape(time),
        chart(minutes)
    )
}

/// A message in place of the figures (a refusal, the service unreachable).
fn render_message(text: &str) -> String {
    format!(
        r#"<p class="tm-wb-message" role="alert">{}</p>"#,
        escape(text)
    )
}

/// The wallboard's styles (added once to the page).
pub const STYLE: &str = r#"
tm-wallboard { display: block; font-family: var(--tm-font, system-ui, sans-serif); color: var(--tm-fg, #0b0c0c); background: var(--tm-bg, #fff); }
tm-wallboard .tm-wb-title { font-size: clamp(1.5rem, 4vw, 3rem); margin: 0; }
tm-wallboard .tm-wb-as-of { color: var(--tm-muted, #505a5f); margin: .25rem 0 1rem; font-size: 1.1rem; }
tm-wallboard .tm-wb-figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); gap: 1rem; margin: 0; }
tm-wallboard .tm-wb-figure { border: 2px solid #b1b4b6; border-radius: 12px; padding: .5rem 1rem; display: flex; flex-direction: column; justify-content: space-between; min-width: 0; }
tm-wallboard .tm-wb-figure dt { font-size: clamp(1rem, 1.6vw, 1.4rem); color: var(--tm-muted, #505a5f); }
tm-wallboard .tm-wb-figure dd { margin: 0; font-size: clamp(2.5rem, 5vw, 5rem); font-weight: 700; line-height: 1.1; font-variant-numeric: tabular-nums; white-space: nowrap; }
tm-wallboard .tm-wb-chart { margin: 1.5rem 0 0; }
tm-wallboard .tm-wb-chart svg { width: 100%; height: 8rem; border-bottom: 2px solid #b1b4b6; }
tm-wallboard .tm-wb-chart rect { fill: var(--tm-accent, #1f5eff); }
tm-wallboard .tm-wb-chart polyline { fill: none; stroke: #00703c; stroke-width: 3; vector-effect: non-scaling-stroke; }
tm-wallboard .tm-wb-chart figcaption { color: var(--tm-muted, #505a5f); font-size: 1.1rem; }
tm-wallboard .tm-wb-message { font-size: 1.5rem; }
"#;

/// A mounted wallboard.
pub struct Wallboard {
    root: HtmlElement,
    transport: Rc<dyn Transport>,
    options: WallboardOptions,
    pause: Pause,
    name: RefCell<String>,
    following: Cell<bool>,
}

impl Wallboard {
    /// Mounts into `root` and starts following the team's feed (with the page's timers).
    pub fn mount(
        root: HtmlElement,
        options: WallboardOptions,
        transport: Rc<dyn Transport>,
    ) -> Rc<Wallboard> {
        Wallboard::mount_with(
            root,
            options,
            transport,
            Box::new(|millis| Box::pin(sleep(millis))),
        )
    }

    /// [`Wallboard::mount`] with the pauses of its feed loop (tests pass virtual ones).
    pub fn mount_with(
        root: HtmlElement,
        options: WallboardOptions,
        transport: Rc<dyn Transport>,
        pause: Pause,
    ) -> Rc<Wallboard> {
        let _ = root.set_attribute("aria-live", "polite");
        let wallboard = Rc::new(Wallboard {
            name: RefCell::new(options.team.clone()),
            root,
            transport,
            options,
            pause,
            following: Cell::new(true),
        });
        wasm_bindgen_futures::spawn_local(follow(Rc::downgrade(&wallboard)));
        wallboard
    }

    pub fn root(&self) -> &HtmlElement {
        &self.root
    }

    /// Stops following (the element left the page).
    pub fn unmount(&self) {
        self.following.set(false);
    }

    async fn send(&self, path: &str) -> Result<tm_core::Response, String> {
        let mut request = Request::new("GET", path);
        if !self.options.session.is_empty() {
            request = request.header("Authorization", &format!("Bearer {}", self.options.session));
        } else {
            request = request.header("api_key", &self.options.api_key);
        }
        self.transport.send(request).await
    }

    fn team_path(&self) -> String {
        let team: String = js_sys::encode_uri_component(&self.options.team).into();
        format!("/v1.0/teams/{team}")
    }

    /// Reads the statistics and shows them; a refusal is shown in their place.
    /// Reads the team's name for the heading (kept as it was when the read fails).
    async fn read_name(&self) {
        if let Ok(team) = self.send(&self.team_path()).await {
            if let Some(name) = team.json_body()["Name"]
                .as_str()
                .filter(|_| team.status == 200)
            {
                *self.name.borrow_mut() = name.to_string();
            }
        }
    }

    async fn refresh(&self) {
        let html = match self.send(&format!("{}/statistics", self.team_path())).await {
            Ok(response) if response.status == 200 => {
                render(&self.name.borrow(), &response.json_body())
            }
            Ok(response) => {
                let body = response.json_body();
                render_message(
                    body["Message"]
                        .as_str()
                        .unwrap_or("The statistics could not be read."),
                )
            }
            Err(error) => render_message(&format!("Cannot reach the service: {error}")),
        };
        self.root.set_inner_html(&html);
    }
}

/// Follows the team's feed: its cursor first (so no change after it is missed), the figures,
/// then waiting reads; new events read the figures again; a cursor the feed no longer keeps
/// (410) starts over; failures back off from 1 s to 16 s (the policy:
/// [`crate::follow::BoardFollower`]).
async fn follow(weak: Weak<Wallboard>) {
    let mut follower = BoardFollower::default();
    loop {
        let Some(board) = weak.upgrade() else {
            return;
        };
        if !board.following.get() {
            return;
        }
        let path = match follower.read() {
            BoardRead::Listing => format!("{}/events", board.team_path()),
            BoardRead::WaitFrom(after) => format!(
                "{}/events?after={after}&wait={FEED_WAIT_SECONDS}",
                board.team_path()
            ),
        };
        let result = board.send(&path).await;
        if !board.following.get() {
            return;
        }
        let found = match result {
            Ok(response) if response.status == 200 => {
                let page = response.json_body();
                BoardFound::Page {
                    cursor: page["Cursor"].as_str().map(String::from),
                    changed: page["Events"].as_array().is_some_and(|e| !e.is_empty()),
                }
            }
            Ok(response) if response.status == 410 => BoardFound::Gone,
            Ok(_) | Err(_) => BoardFound::Failed,
        };
        let pause = match follower.step(found) {
            BoardStep::NameAndFigures => {
                board.read_name().await;
                board.refresh().await;
                continue;
            }
            BoardStep::Figures => {
                board.refresh().await;
                continue;
            }
            BoardStep::ReadOn => continue,
            BoardStep::FiguresThenPause(millis) => {
                board.refresh().await;
                millis
            }
            BoardStep::Pause(millis) => millis,
        };
        let wait = (board.pause)(pause);
        drop(board);
        wait.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_figures_are_shown_large_with_their_labels() {
        let stats = json!({"AsOf": "2026-01-05T09:01:40.000Z",
            "TasksByStatus": {"Queued": 3}, "LongestWaiting": {"AgeSeconds": 75.4},
            "Agents": {"Available": 2},
            "Today": {"ServiceLevelPercent": 83.3, "ServiceLevelThresholdSeconds": 20, "Answered": 10, "Abandoned": 2, "AverageAnswerSeconds": 12.0},
            "Last15Minutes": {"ServiceLevelPercent": null},
            "LastHour": [{"Waiting": null, "ServiceLevelPercent": null}, {"Waiting": 3, "ServiceLevelPercent": 50.0}]});
        let html = render("Support <1st>", &stats);
        for (name, value) in [
            ("waiting", "3"),
            ("longest-wait", "1:15"),
            ("available", "2"),
            ("service-level", "83 %"),
            ("answered", "10"),
            ("abandoned", "2"),
            ("average-answer", "0:12"),
            ("recent-service-level", "–"),
        ] {
            let expected = format!(r#"data-figure="{name}"><dt>"#);
            let at = html
                .find(&expected)
                .unwrap_or_else(|| panic!("{name} in {html}"));
            let dd = format!("<dd>{value}</dd>");
            assert!(
                html[at..].find(&dd).is_some_and(|i| i < 120),
                "{name}: {value}"
            );
        }
        assert!(html.contains("Support &lt;1st&gt;"));
        assert!(html.contains("As of 09:01:40 UTC"));
        assert!(html.contains("Service level today (20 s)"));
        assert!(html.contains("3 waiting now"));
        assert_eq!(
            html.matches("<rect").count(),
            1,
            "one minute had someone waiting"
        );
        assert!(html.contains("<polyline points=\"450.0,60.0\">"));
    }

    #[test]
    fn nothing_known_shows_dashes() {
        let html = render("Support", &json!({}));
        assert!(html.contains(r#"data-figure="waiting"><dt>Waiting</dt><dd>–</dd>"#));
        assert!(!html.contains("<polyline"));
    }
}
