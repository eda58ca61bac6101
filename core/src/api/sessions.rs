//! Agent sessions over HTTP: an integrator's backend (a key with UsersControl) asks for one,
//! or ends all of an agent's; the admin API lists and ends them. See `model::session`.

use super::{find_user, parse_json_body, Ctx};
use crate::error::ApiError;
use crate::http::Response;
use crate::ids::{SessionId, UserId};
use crate::model::session::{
    new_session, SessionRecord, DEFAULT_LIFETIME_SECONDS, MAX_LIFETIME_SECONDS,
    MIN_LIFETIME_SECONDS,
};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SessionRequest {
    #[serde(default, deserialize_with = "some_whole_seconds")]
    pub lifetime_seconds: Option<u32>,
}

fn some_whole_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    crate::model::distribution::whole_seconds(d).map(Some)
}

/// The answer of a new session: the token, shown this once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatedSession {
    pub token: String,
    pub session_id: SessionId,
    pub user_id: UserId,
    pub expires_at: Timestamp,
    /// The lifetime, so that a browser renews by its own clock (whatever its offset).
    pub expires_in_seconds: u32,
}

/// What the admin API shows of a session (never its token or hash).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionView {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub created_by: String,
}

impl SessionView {
    fn of(user: UserId, record: &SessionRecord) -> SessionView {
        SessionView {
            id: record.id,
            user_id: user,
            created_at: record.created_at,
            expires_at: record.expires_at,
            created_by: record.created_by.clone(),
        }
    }
}

/// Makes a session of `user` living `lifetime_seconds`, made by `created_by`: 201 with its token.
pub(super) fn start_session(
    ctx: &mut Ctx,
    user: UserId,
    lifetime_seconds: u32,
    created_by: &str,
) -> Result<Response, ApiError> {
    let (token, record) = new_session(user, lifetime_seconds, created_by, ctx.now, ctx.ids);
    ctx.repo.add_agent_session(user, &record, ctx.now)?;
    Ok(Response::json(
        201,
        &CreatedSession {
            token,
            session_id: record.id,
            user_id: user,
            expires_at: record.expires_at,
            expires_in_seconds: lifetime_seconds,
        },
    ))
}

pub fn create_session(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: SessionRequest = if ctx.request.body.iter().all(u8::is_ascii_whitespace) {
        SessionRequest::default()
    } else {
        parse_json_body(&ctx.request.body)?
    };
    let lifetime = body.lifetime_seconds.unwrap_or(DEFAULT_LIFETIME_SECONDS);
    if !(MIN_LIFETIME_SECONDS..=MAX_LIFETIME_SECONDS).contains(&lifetime) {
        return Err(ApiError::BadRequest(format!(
            "Invalid value for 'LifetimeSeconds': {lifetime} is outside {MIN_LIFETIME_SECONDS} to {MAX_LIFETIME_SECONDS}."
        )));
    }
    let user = find_user(&ctx.repo, ctx.param(0))?.id;
    let created_by = ctx.caller.to_string();
    start_session(ctx, user, lifetime, &created_by)
}

pub fn end_sessions(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = find_user(&ctx.repo, ctx.param(0))?.id;
    ctx.repo.revoke_agent_sessions(user, ctx.now)?;
    Ok(Response::no_content())
}

fn path_user(ctx: &Ctx) -> Result<UserId, ApiError> {
    UserId::parse(ctx.param(0).trim()).ok_or_else(|| ApiError::not_found("User", ctx.param(0)))
}

pub fn list_sessions(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = path_user(ctx)?;
    let sessions = ctx.repo.agent_sessions(user)?;
    let views: Vec<SessionView> = sessions
        .live(ctx.now)
        .map(|record| SessionView::of(user, record))
        .collect();
    Ok(Response::json(200, &views))
}

pub fn admin_end_sessions(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = path_user(ctx)?;
    ctx.repo.revoke_agent_sessions(user, ctx.now)?;
    Ok(Response::no_content())
}

pub fn admin_end_session(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = path_user(ctx)?;
    let session = SessionId::parse(ctx.param(1).trim())
        .ok_or_else(|| ApiError::not_found("Session", ctx.param(1)))?;
    if ctx.repo.revoke_agent_session(user, session, ctx.now)? {
        Ok(Response::no_content())
    } else {
        Err(ApiError::not_found("Session", ctx.param(1)))
    }
}
