//! The Team API: teams, organization units and conversation-as rights.

use super::{find_team, find_user, Ctx};
use crate::error::ApiError;
use crate::http::Response;
use crate::ids::{OrganizationUnitId, TeamId};
use crate::model::{ConversationAsService, Team, TeamStatus};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ConversationAs {
    pub team_id: TeamId,
    pub team_name: String,
    pub sip_uri: String,
    pub conversation_as_service: ConversationAsService,
}

/// Teams are listed by name (case-insensitive), then id.
fn team_list(mut teams: Vec<Team>) -> Response {
    teams.sort_by_key(|t| (t.name.to_lowercase(), t.id));
    Response::json(200, &teams)
}

pub fn list_teams(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let status = match ctx.request.query_param("status") {
        None => None,
        Some(s) if s.eq_ignore_ascii_case("Active") => Some(TeamStatus::Active),
        Some(s) if s.eq_ignore_ascii_case("Inactive") => Some(TeamStatus::Inactive),
        Some(s) => {
            return Err(ApiError::BadRequest(format!(
                "Invalid value for 'status': '{}'; expected Active or Inactive.",
                s.chars().take(50).collect::<String>()
            )))
        }
    };
    let directory = ctx.repo.directory()?;
    let teams = directory
        .teams
        .into_iter()
        .filter(|t| status.is_none_or(|s| t.status == s))
        .collect();
    Ok(team_list(teams))
}

pub fn get_team(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let directory = ctx.repo.directory()?;
    Ok(Response::json(200, find_team(&directory, ctx.param(0))?))
}

pub fn teams_by_member(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let directory = ctx.repo.directory()?;
    let user = find_user(&directory, ctx.param(0))?;
    Ok(team_list(
        directory
            .teams_of_user(user.id)
            .into_iter()
            .cloned()
            .collect(),
    ))
}

pub fn organization_unit_teams(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let directory = ctx.repo.directory()?;
    let unit = OrganizationUnitId::parse(ctx.param(0).trim())
        .filter(|id| directory.organization_units.iter().any(|u| u.id == *id))
        .ok_or_else(|| ApiError::not_found("Organization unit", ctx.param(0)))?;
    let subtree = directory.organization_unit_subtree(unit);
    let teams = directory
        .teams
        .iter()
        .filter(|t| subtree.contains(&t.organization_unit_id))
        .cloned()
        .collect();
    Ok(team_list(teams))
}

pub fn user_conversation_as(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let directory = ctx.repo.directory()?;
    let user = find_user(&directory, ctx.param(0))?;
    let mut rights: Vec<ConversationAs> = directory
        .conversation_as_of_user(user.id)
        .into_iter()
        .filter_map(|right| {
            let team = directory.team(right.team_id)?;
            Some(ConversationAs {
                team_id: team.id,
                team_name: team.name.clone(),
                sip_uri: team.sip_uri.clone(),
                conversation_as_service: right.conversation_as_service,
            })
        })
        .collect();
    rights.sort_by_key(|r| (r.team_name.to_lowercase(), r.team_id));
    Ok(Response::json(200, &rights))
}
