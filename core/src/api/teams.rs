//! The Team API: teams, organization units and conversation-as rights.

use super::paging::Page;
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
fn sort_teams(teams: &mut [Team]) {
    teams.sort_by_key(|t| (t.name.to_lowercase(), t.id));
}

fn team_list(mut teams: Vec<Team>) -> Response {
    sort_teams(&mut teams);
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
    let page = Page::from_request(ctx.request)?;
    // Teams number in the hundreds: all are read (one batch) to sort them by name.
    let ids = ctx.repo.team_ids()?;
    let mut teams: Vec<Team> = ctx
        .repo
        .teams(&ids)?
        .into_iter()
        .filter(|t| status.is_none_or(|s| t.status == s))
        .collect();
    sort_teams(&mut teams);
    let (teams, total) = page.slice(teams);
    Ok(page.response(ctx.request, &teams, total))
}

pub fn get_team(ctx: &mut Ctx) -> Result<Response, ApiError> {
    Ok(Response::json(200, &find_team(&ctx.repo, ctx.param(0))?))
}

pub fn teams_by_member(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = find_user(&ctx.repo, ctx.param(0))?;
    let ids = ctx.repo.user_team_ids(user.id)?;
    Ok(team_list(ctx.repo.teams(&ids)?))
}

pub fn organization_unit_teams(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let unit = OrganizationUnitId::parse(ctx.param(0).trim())
        .map(|id| ctx.repo.organization_unit(id))
        .transpose()?
        .flatten()
        .ok_or_else(|| ApiError::not_found("Organization unit", ctx.param(0)))?;
    let ids = ctx.repo.organization_unit_subtree_teams(unit.id)?;
    Ok(team_list(ctx.repo.teams(&ids)?))
}

pub fn user_conversation_as(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = find_user(&ctx.repo, ctx.param(0))?;
    let entries = ctx.repo.conversation_as(user.id)?;
    let ids: Vec<TeamId> = entries.iter().map(|e| e.team_id).collect();
    let teams = ctx.repo.teams(&ids)?;
    let mut rights: Vec<ConversationAs> = entries
        .iter()
        .filter_map(|entry| {
            let team = teams.iter().find(|t| t.id == entry.team_id)?;
            Some(ConversationAs {
                team_id: team.id,
                team_name: team.name.clone(),
                sip_uri: team.sip_uri.clone(),
                conversation_as_service: entry.conversation_as_service,
            })
        })
        .collect();
    rights.sort_by_key(|r| (r.team_name.to_lowercase(), r.team_id));
    Ok(Response::json(200, &rights))
}
