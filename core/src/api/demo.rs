//! The demo page's backend, served only while the demo data is on: a session for one of the
//! demo agents, and a new demo call offered to one. The page thus never holds a key or types a
//! secret; whoever can open the demo page may act as a demo agent, which is what a demo is for
//! (turn `demo_data` off on a real deployment: these routes then answer 404).

use super::{find_user, sessions, tasks, Ctx};
use crate::demo::ids as demo;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::model::{TaskAction, User};
use serde::Deserialize;
use serde_json::json;

/// A demo session lives an hour (the page asks again when it runs out).
pub const DEMO_SESSION_SECONDS: u32 = 3600;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DemoSessionRequest {
    /// A demo agent: Id, SIP URI or UPN.
    pub user: String,
}

/// The demo agent the request names (`?user=` or the body's `User`); 404 unless the demo is
/// on and the user is a demo agent.
fn demo_agent(ctx: &Ctx) -> Result<User, ApiError> {
    if !ctx.config.demo {
        return Err(ApiError::NotFound(format!(
            "No endpoint at '{}' (the demo data is off).",
            ctx.request.path()
        )));
    }
    let named = match ctx.request.query_param("user") {
        Some(user) => user,
        None => ctx.body::<DemoSessionRequest>()?.user,
    };
    let user = find_user(&ctx.repo, &named)?;
    if !demo::AGENTS.contains(&user.id) {
        return Err(ApiError::BadRequest(format!(
            "Invalid value for 'User': '{}' is not a demo agent.",
            named.chars().take(200).collect::<String>()
        )));
    }
    Ok(user)
}

pub fn demo_session(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = demo_agent(ctx)?;
    sessions::start_session(ctx, user.id, DEMO_SESSION_SECONDS, "demo")
}

/// A call from a random demo caller in the agent's first team, offered to the agent.
pub fn demo_call(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = demo_agent(ctx)?;
    let team = ctx
        .repo
        .user_team_ids(user.id)?
        .first()
        .copied()
        .ok_or_else(|| ApiError::BadRequest("This demo agent is in no team.".into()))?;
    let n = 1000 + ctx.ids.next_id().as_u128() % 9000;
    let create = Request::new("POST", &format!("/v1.0/teams/{team}/tasks")).json(&json!({
        "Type": "IncomingCall", "Priority": "Normal",
        "Customer": {"Uri": format!("tel:+4144555{n}"), "DisplayName": format!("Caller {n}")},
        "Description": "Demo call"}));
    let created = on_behalf(ctx, &create, team.to_string(), |ctx| {
        tasks::create_task(ctx)
    })?;
    let task = created.json_body()["Id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let offer = Request::new("POST", &format!("/v1.0/tasks/{task}/offer"))
        .json(&json!({"UserIdentifier": user.id.to_string()}));
    let offered = on_behalf(ctx, &offer, task.clone(), |ctx| {
        tasks::act(ctx, TaskAction::Offer)
    })?;
    if offered.status >= 300 {
        return Ok(offered);
    }
    Ok(created)
}

/// Runs a handler for a request the demo makes itself (with the demo's own authority).
fn on_behalf(
    ctx: &mut Ctx,
    request: &Request,
    param: String,
    handler: impl FnOnce(&mut Ctx) -> Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    let params = [param];
    let mut inner = Ctx {
        repo: ctx.repo.sibling(),
        now: ctx.now,
        ids: &mut *ctx.ids,
        request,
        params: &params,
        caller: "demo",
        agent: None,
        reads_availability: ctx.reads_availability,
        config: ctx.config,
    };
    handler(&mut inner)
}
