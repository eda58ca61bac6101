//! The User API: users, team members, and blocking a user in a team.

use super::{find_team, find_user, Ctx};
use crate::error::ApiError;
use crate::http::Response;
use crate::ids::TeamId;
use crate::model::{Directory, User};
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

/// Users are listed by display name (case-insensitive), then id.
fn user_sort_key(user: &User) -> (String, crate::ids::UserId) {
    (user.display_name.to_lowercase(), user.id)
}

pub fn list_users(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let mut users = ctx.repo.directory()?.users;
    users.sort_by_key(user_sort_key);
    Ok(Response::json(200, &users))
}

pub fn get_user(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let directory = ctx.repo.directory()?;
    Ok(Response::json(200, find_user(&directory, ctx.param(0))?))
}

fn members(directory: &Directory, team: TeamId) -> Vec<TeamMember> {
    let mut members: Vec<TeamMember> = directory
        .memberships
        .iter()
        .filter(|m| m.team_id == team)
        .filter_map(|m| {
            Some(TeamMember {
                user: directory.user(m.user_id)?.clone(),
                team_id: team,
                is_active: m.is_active,
            })
        })
        .collect();
    members.sort_by_key(|m| user_sort_key(&m.user));
    members
}

pub fn team_users(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let directory = ctx.repo.directory()?;
    let team = find_team(&directory, ctx.param(0))?.id;
    Ok(Response::json(200, &members(&directory, team)))
}

pub fn set_team_member_active(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: ActiveRequest = ctx.body()?;
    let (team_identifier, user_identifier) = (ctx.param(0).to_string(), ctx.param(1).to_string());
    let mut member = None;
    ctx.repo.update_directory(|directory| {
        let team = find_team(directory, &team_identifier)?.id;
        let user = find_user(directory, &user_identifier)?.clone();
        let membership = directory.membership_mut(team, user.id).ok_or_else(|| {
            ApiError::NotFound(format!(
                "User '{user_identifier}' is not a member of team '{team_identifier}'."
            ))
        })?;
        let changed = membership.is_active != body.active;
        membership.is_active = body.active;
        member = Some(TeamMember {
            user,
            team_id: team,
            is_active: body.active,
        });
        Ok(changed)
    })?;
    match member {
        Some(member) => Ok(Response::json(200, &member)),
        None => Err(ApiError::not_found("Team", &team_identifier)),
    }
}
