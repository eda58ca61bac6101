//! `GET /v1.0/teams/{teamIdentifier}/events` and `/v1.0/users/{userIdentifier}/events`: the
//! change feeds, read from a cursor.
//! The core answers at once; an answer with nothing new to a read with `wait` carries
//! [`Wait`]: a host that supports waiting asks again after a pause while the wait lasts (see
//! [`Response::wait`]), then ends it with [`end_wait`]. Waiting reads are capped per API key
//! and for the service (429 beyond, see [`crate::repo::WaitCaps`]).

use super::{find_team, find_user, Ctx};
use crate::engine::Engine;
use crate::error::ApiError;
use crate::http::{Request, Response, Wait};
use crate::ids::{TaskId, UserId};
use crate::model::{Availability, Task};
use crate::repo::{
    CapExceeded, FeedEntry, FeedId, FeedRead, Repo, Subject, WaitCaps, FEED_KEPT_EVENTS,
    WAIT_WINDOW_MILLIS,
};
use crate::store::Store;
use crate::time::Timestamp;
use serde::Serialize;

/// The longest a feed request may wait for a change, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 25;
/// How often a waiting request looks again, in milliseconds.
pub const POLL_INTERVAL_MILLIS: u64 = 250;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FeedPage {
    events: Vec<Event>,
    /// Where to go on from (after the last event, or the same cursor if none).
    cursor: String,
}

/// One change as the feed answers it: of a task (`TaskId`, `Task`) or, in a user's feed, of
/// the user's availability (`Kind` `Availability`, `UserId`, `Availability`). `Version` is the
/// task's version or the availability record's revision after the change.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    cursor: String,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_id: Option<TaskId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
    version: u64,
    time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<Task>,
    #[serde(skip_serializing_if = "Option::is_none")]
    availability: Option<Availability>,
}

impl From<FeedEntry> for Event {
    fn from(entry: FeedEntry) -> Self {
        let version = entry.subject.version();
        let (task_id, user_id, task, availability) = match entry.subject {
            Subject::Task { task_id, task, .. } => (
                Some(task_id),
                None,
                Some((*task).with_allowed_actions()),
                None,
            ),
            Subject::Agent {
                user_id,
                availability,
                ..
            } => (None, Some(user_id), None, Some(availability)),
        };
        Event {
            cursor: entry.place.to_string(),
            kind: entry.kind,
            task_id,
            user_id,
            version,
            time: entry.at,
            task,
            availability,
        }
    }
}

/// `after` as given: a cursor this feed answered (digits).
fn cursor_param(request: &Request) -> Result<Option<u64>, ApiError> {
    match request.query_param("after") {
        None => Ok(None),
        Some(text) => text.trim().parse::<u64>().map(Some).map_err(|_| {
            ApiError::BadRequest(
                "Invalid value for 'after': a cursor this feed answered is required.".into(),
            )
        }),
    }
}

/// `wait` in seconds, 0 to [`MAX_WAIT_SECONDS`] (0 when absent).
pub fn wait_seconds(request: &Request) -> Result<u64, ApiError> {
    match request.query_param("wait") {
        None => Ok(0),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(seconds) if seconds <= MAX_WAIT_SECONDS => Ok(seconds),
            _ => Err(ApiError::BadRequest(format!(
                "Invalid value for 'wait': 0 to {MAX_WAIT_SECONDS} seconds."
            ))),
        },
    }
}

/// A waiting read runs the distribution engine (the team's, or the agent's) when the time is
/// in the first half of a second: a host that asks again every [`POLL_INTERVAL_MILLIS`] does so
/// about twice a second per waiting reader, and at least once in every second, which bounds how
/// late a ring timeout or the end of a wrap-up is applied while anyone waits on the feed.
pub const RUN_SLOT_MILLIS: i64 = 500;

fn runs_engine(ctx: &Ctx) -> Result<bool, ApiError> {
    Ok(wait_seconds(ctx.request)? > 0 && in_run_slot(ctx.now))
}

/// Whether `now` is in the first [`RUN_SLOT_MILLIS`] of its second.
fn in_run_slot(now: Timestamp) -> bool {
    now.unix_millis().rem_euclid(1000) < RUN_SLOT_MILLIS
}

pub fn team_events(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let team = find_team(&ctx.repo, ctx.param(0))?;
    if runs_engine(ctx)? {
        // Its changes are in the feed this read answers; a failure is caught up later.
        let _ = Engine::new(&ctx.repo, &mut *ctx.ids, ctx.now).run_team(&team);
    }
    events(ctx, FeedId::Team(team.id), "team")
}

pub fn user_events(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = find_user(&ctx.repo, ctx.param(0))?;
    if runs_engine(ctx)? {
        let _ = Engine::new(&ctx.repo, &mut *ctx.ids, ctx.now).run_agent(user.id);
    }
    events(ctx, FeedId::User(user.id), "user")
}

fn events(ctx: &mut Ctx, feed: FeedId, whose: &str) -> Result<Response, ApiError> {
    let wait = wait_seconds(ctx.request)?;
    let Some(after) = cursor_param(ctx.request)? else {
        // Without a cursor: from now on (an empty page with the cursor to follow), at once:
        // there is nothing a wait could bring.
        let cursor = ctx.repo.feed_cursor(feed, ctx.now)?;
        return Ok(Response::json(
            200,
            &FeedPage {
                events: Vec::new(),
                cursor: cursor.to_string(),
            },
        ));
    };
    let answer = match ctx.repo.read_feed(feed, after, ctx.now)? {
        FeedRead::Answer(answer) => answer,
        FeedRead::Ahead { newest } => {
            return Err(ApiError::BadRequest(format!(
                "Invalid value for 'after': cursor {after} is ahead of this feed (its newest is {newest})."
            )))
        }
        FeedRead::Gone => {
            return Err(ApiError::Gone(format!(
                "Cursor {after} is older than this feed keeps (its newest {FEED_KEPT_EVENTS} changes): \
                 list the {whose}'s tasks again and follow the cursor that answer carries \
                 (header X-Feed-Cursor)."
            )))
        }
    };
    // Availability is the users' business: a caller that may not read it does not see it
    // change either (its places are passed over like refused ones).
    let shown = |entry: &FeedEntry| ctx.reads_availability || entry.subject.task().is_some();
    let moved_to = answer.cursor;
    let page = FeedPage {
        cursor: moved_to.to_string(),
        events: answer
            .events
            .into_iter()
            .filter(shown)
            .map(Event::from)
            .collect(),
    };
    let mut response = Response::json(200, &page);
    // Waiting is for a cursor that did not move: one that moved over changes this caller does
    // not see is answered at once.
    if page.events.is_empty() && moved_to == after && wait > 0 {
        response.wait = Some(admit_wait(ctx, wait)?);
    }
    Ok(response)
}

/// Counts a read that is about to wait against the caps (a repeat was counted already).
fn admit_wait(ctx: &Ctx, seconds: u64) -> Result<Wait, ApiError> {
    if ctx.request.repeat {
        return Ok(Wait {
            seconds,
            lease: None,
        });
    }
    let caps = WaitCaps {
        per_key: ctx.config.max_waiting_reads_per_key,
        service: ctx.config.max_waiting_reads,
    };
    match ctx.repo.admit_wait(ctx.caller, ctx.now, caps)? {
        Ok(lease) => Ok(Wait {
            seconds,
            lease: Some(lease),
        }),
        Err(exceeded) => {
            let (whose, cap) = match exceeded {
                CapExceeded::PerKey(cap) => ("this API key", cap),
                CapExceeded::Service(cap) => ("the service", cap),
            };
            Err(ApiError::TooManyRequests {
                message: format!(
                    "Too many waiting feed reads: {whose} has {cap} waiting already. Read \
                     without 'wait', or retry later."
                ),
                retry_after_seconds: u64::try_from(WAIT_WINDOW_MILLIS / 1000).unwrap_or(30),
            })
        }
    }
}

/// Ends a wait the host held (takes it off the caps' counts).
pub fn end_wait(store: &dyn Store, wait: &Wait) {
    if let Some(lease) = &wait.lease {
        Repo::new(store).release_wait(lease);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_read_runs_the_engine_in_the_first_half_of_each_second() {
        let at = |millis: i64| Timestamp::from_unix_millis(1_767_600_000_000 + millis);
        let table = [
            (0, true),
            (499, true),
            (500, false),
            (999, false),
            (1000, true),
        ];
        for (millis, runs) in table {
            assert_eq!(in_run_slot(at(millis)), runs, "{millis}");
        }
    }
}
