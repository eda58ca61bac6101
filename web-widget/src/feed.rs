//! Following the user's change feed: the widget's loop of waiting reads (its policy in
//! `follow.rs`).

use crate::availability;
use crate::follow::{Follower, Found, Step};
use crate::widget::{events_request, Widget};
use std::rc::Weak;

/// How long a feed read may wait on the server for a change, in seconds (the API's most).
pub const FEED_WAIT_SECONDS: u32 = 25;
/// Follows the user's change feed while the widget is mounted: a read that waits on the
/// server until one of the user's tasks changes, then the list again (which also gives the
/// cursor to go on from). What comes next after each read is the policy's
/// ([`crate::follow::Follower`]): a cursor the feed no longer keeps (410) is answered by listing
/// again; failed reads (network down, laptop asleep) are retried from the same cursor after a
/// pause that doubles up to 16 s. Holds the widget only while a request is out.
pub(crate) async fn follow_feed(weak: Weak<Widget>) {
    let mut follower = Follower::default();
    loop {
        let Some(widget) = weak.upgrade() else {
            return;
        };
        if !widget.following.get() {
            return;
        }
        let Some(cursor) = widget.state.borrow().cursor.clone() else {
            if let Step::ListThenPause(millis) = follower.step(Found::NoList) {
                widget.refresh().await;
                let pause = (widget.pause)(millis);
                drop(widget);
                pause.await;
            }
            continue;
        };
        let result = widget.send(events_request(&widget.user(), &cursor)).await;
        if !widget.following.get() {
            return;
        }
        let page = match &result {
            Ok(response) if response.status == 200 => Some(response.json_body()),
            _ => None,
        };
        let events = page
            .as_ref()
            .and_then(|page| page["Events"].as_array())
            .map_or(&[][..], Vec::as_slice);
        let shown = availability::from_feed_events(events);
        let found = match &result {
            Ok(response) if response.status == 200 => Found::Page {
                events: events.len(),
                availability_only: shown.is_some(),
            },
            Ok(response) if response.status == 410 => Found::Gone,
            _ => Found::Failed,
        };
        let next_cursor = page.as_ref().and_then(|page| page["Cursor"].as_str());
        match follower.step(found) {
            Step::ShowAvailability => {
                if let Some(shown) = shown {
                    widget.show_availability(shown, &cursor, next_cursor);
                }
            }
            Step::Relist | Step::ListThenPause(_) => widget.refresh().await,
            Step::AdvanceAndPause(millis) => {
                if let Some(next) = next_cursor {
                    let mut state = widget.state.borrow_mut();
                    if state.cursor.as_deref() == Some(cursor.as_str()) {
                        state.cursor = Some(next.to_string());
                    }
                }
                let pause = (widget.pause)(millis);
                drop(widget);
                pause.await;
            }
            Step::Pause(millis) => {
                let pause = (widget.pause)(millis);
                drop(widget);
                pause.await;
            }
        }
    }
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
