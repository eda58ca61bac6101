//! Following the user's change feed: the widget's loop of waiting reads, its pauses and its
//! backoff after failures.

use crate::availability;
use crate::widget::{events_request, Widget};
use std::rc::Weak;

/// How long a feed read may wait on the server for a change, in seconds (the API's most).
pub const FEED_WAIT_SECONDS: u32 = 25;
/// The pause after a feed read that found nothing (a server that does not wait answers at
/// once; after a read that waited, a change during the pause is answered at once by the next).
const FEED_PAUSE_MILLIS: f64 = 1_000.0;
/// The longest pause after failed feed reads (it doubles from one second).
const FEED_MAX_BACKOFF_MILLIS: f64 = 16_000.0;

/// Follows the user's change feed while the widget is mounted: a read that waits on the
/// server until one of the user's tasks changes, then the list again (which also gives the
/// cursor to go on from). A cursor the feed no longer keeps (410) is answered by listing again;
/// failed reads (network down, laptop asleep) are retried from the same cursor after a pause
/// that doubles up to 16 s. Holds the widget only while a request is out.
pub(crate) async fn follow_feed(weak: Weak<Widget>) {
    let mut failures: u32 = 0;
    loop {
        let Some(widget) = weak.upgrade() else {
            return;
        };
        if !widget.following.get() {
            return;
        }
        let Some(cursor) = widget.state.borrow().cursor.clone() else {
            // No list loaded yet (or the service was unreachable): the list comes first.
            widget.refresh().await;
            failures += 1;
            let pause = (widget.pause)(backoff(failures));
            drop(widget);
            pause.await;
            continue;
        };
        let result = widget.send(events_request(&widget.user(), &cursor)).await;
        if !widget.following.get() {
            return;
        }
        match result {
            Ok(response) if response.status == 200 => {
                failures = 0;
                let page = response.json_body();
                let events = page["Events"].as_array().map_or(&[][..], Vec::as_slice);
                if let Some(shown) = availability::from_feed_events(events) {
                    // Only the agent's availability changed (a supervisor, another tab): shown
                    // from the feed, no list read.
                    widget.show_availability(shown, &cursor, page["Cursor"].as_str());
                    continue;
                }
                if !events.is_empty() {
                    widget.refresh().await;
                    continue;
                }
                if let Some(next) = page["Cursor"].as_str() {
                    let mut state = widget.state.borrow_mut();
                    if state.cursor.as_deref() == Some(cursor.as_str()) {
                        state.cursor = Some(next.to_string());
                    }
                }
                let pause = (widget.pause)(FEED_PAUSE_MILLIS);
                drop(widget);
                pause.await;
            }
            Ok(response) if response.status == 410 => {
                failures = 0;
                widget.refresh().await;
            }
            _ => {
                failures += 1;
                let pause = (widget.pause)(backoff(failures));
                drop(widget);
                pause.await;
            }
        }
    }
}

/// The pause after `failures` failed feed reads in a row: 1 s, 2 s, 4 s, … up to 16 s.
fn backoff(failures: u32) -> f64 {
    (1_000.0 * 2f64.powi(failures.saturating_sub(1).min(10) as i32)).min(FEED_MAX_BACKOFF_MILLIS)
}

/// Resolves after `millis` (a timer of the page).
pub(crate) async fn sleep(millis: f64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                millis.max(0.0) as i32,
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
