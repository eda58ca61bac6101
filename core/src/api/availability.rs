//! Agent availability (`/v1.0/users/{u}/availability`) and running a team's distribution on
//! request (`/v1.0/teams/{t}/distribution/run`): the HTTP side of [`crate::engine`].

use super::{find_team, find_user, Ctx};
use crate::engine::Engine;
use crate::error::ApiError;
use crate::http::Response;
use crate::model::agent::MAX_REASON_CHARS;
use crate::model::ChosenState;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AvailabilityRequest {
    pub state: ChosenState,
    #[serde(default)]
    pub reason: Option<String>,
}

pub fn get_availability(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = find_user(&ctx.repo, ctx.param(0))?.id;
    // Like every read that meets a stale record, this one repairs it first (a reservation
    // left by a request that died); then it answers the record.
    let mut engine = Engine::new(&ctx.repo, &mut *ctx.ids, ctx.now);
    let _ = engine.repair_agent(user);
    let record = ctx.repo.agent(user)?;
    Ok(Response::json(200, &record.availability(ctx.now)))
}

pub fn set_availability(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: AvailabilityRequest = ctx.body()?;
    let reason = body
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(ApiError::BadRequest(format!(
            "Invalid value for 'Reason': at most {MAX_REASON_CHARS} characters are allowed."
        )));
    }
    let user = find_user(&ctx.repo, ctx.param(0))?.id;
    let mut engine = Engine::new(&ctx.repo, &mut *ctx.ids, ctx.now);
    let record = engine.set_availability(user, body.state, reason)?;
    Ok(Response::json(200, &record.availability(ctx.now)))
}

pub fn run_distribution(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let team = find_team(&ctx.repo, ctx.param(0))?;
    let mut engine = Engine::new(&ctx.repo, &mut *ctx.ids, ctx.now);
    let outcome = engine.run_team(&team)?;
    Ok(Response::json(200, &outcome))
}
