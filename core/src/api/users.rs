//! The User API: users, team members, and blocking a user in a team.

use super::paging::Page;
use super::{find_team, find_user, Ctx};
use crate::engine::Engine;
use crate::error::ApiError;
use crate::http::Response;
use crate::ids::{TeamId, UserId};
use crate::model::User;
use crate::repo::user_order;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TeamMember {
    #[serde(flatten)]
    pub user: User,
    pub team_id: TeamId,
    pub is_active: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActiveRequest {
    pub active: bool,
}

pub fn list_users(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let page = Page::from_request(ctx.request)?;
    // The list of ids is kept in display-name order: a page reads only its own users.
    let ids = ctx.repo.user_ids()?;
    let total = ids.len();
    let users = ctx.repo.users(&ids[page.range(total)])?;
    Ok(page.response(ctx.request, &users, total))
}

pub fn get_user(ctx: &mut Ctx) -> Result<Response, ApiError> {
    Ok(Response::json(200, &find_user(&ctx.repo, ctx.param(0))?))
}

pub fn team_users(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let team = find_team(&ctx.repo, ctx.param(0))?.id;
    let page = Page::from_request(ctx.request)?;
    let entries = ctx.repo.team_members(team)?.members;
    let ids: Vec<UserId> = entries.iter().map(|m| m.user_id).collect();
    let mut members: Vec<TeamMember> = ctx
        .repo
        .users(&ids)?
        .into_iter()
        .filter_map(|user| {
            let entry = entries.iter().find(|m| m.user_id == user.id)?;
            Some(TeamMember {
                is_active: entry.is_active,
                team_id: team,
                user,
            })
        })
        .collect();
    members.sort_by_key(|m| user_order(&m.user));
    let (members, total) = page.slice(members);
    Ok(page.response(ctx.request, &members, total))
}

pub fn set_team_member_active(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: ActiveRequest = ctx.body()?;
    let (team_identifier, user_identifier) = (ctx.param(0), ctx.param(1));
    let team_record = find_team(&ctx.repo, team_identifier)?;
    let team = team_record.id;
    let user = find_user(&ctx.repo, user_identifier)?;
    ctx.repo
        .set_member_active(team, user.id, body.active)?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "User '{user_identifier}' is not a member of team '{team_identifier}'."
            ))
        })?;
    if body.active {
        // Unblocked: a free agent is back in the team's pool and may get its waiting tasks.
        // (A blocked one leaves the pool when the engine meets them there.)
        let mut engine = Engine::new(&ctx.repo, &mut *ctx.ids, ctx.now);
        let _ = ctx
            .repo
            .reconcile_idle_entry(team, user.id)
            .and_then(|()| engine.run_team(&team_record));
    }
    Ok(Response::json(
        200,
        &TeamMember {
            user,
            team_id: team,
            is_active: body.active,
        },
    ))
}
