//! `GET /v1.0/teams/{t}/statistics` and `/v1.0/organizationunits/{ou}/statistics`: the counts
//! folded from each team's feed (see [`crate::statistics`]), the queue head for the longest
//! waiting task, and the members' availability.

use super::{find_team, Ctx};
use crate::error::ApiError;
use crate::http::Response;
use crate::ids::OrganizationUnitId;
use crate::model::Team;
use crate::statistics::{answer, AgentCounts, TeamCounts};

/// A team's counts, its longest waiting task and its members by availability.
struct TeamFigures {
    counts: TeamCounts,
    longest: Option<(crate::ids::TaskId, crate::time::Timestamp)>,
    agents: AgentCounts,
}

fn team_figures(ctx: &Ctx, team: &Team) -> Result<TeamFigures, ApiError> {
    let counts = ctx.repo.team_statistics(team.id, ctx.now)?.counts;
    let longest = ctx
        .repo
        .longest_waiting_task(team.id, ctx.now)?
        .and_then(|stored| Some((stored.task.id, stored.task.queued_at?)));
    // The members' records in one batch read (bytes grow with the team, operations do not).
    let members = ctx.repo.team_members(team.id)?.members;
    let ids: Vec<_> = members.iter().map(|m| m.user_id).collect();
    let mut agents = AgentCounts::default();
    for (member, record) in members.iter().zip(ctx.repo.agents(&ids)?) {
        agents.count(record.availability(ctx.now).state, !member.is_active);
    }
    Ok(TeamFigures {
        counts,
        longest,
        agents,
    })
}

pub fn team_statistics(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let team = find_team(&ctx.repo, ctx.param(0))?;
    let figures = team_figures(ctx, &team)?;
    let threshold = team.distribution.service_level_threshold_seconds;
    let mut statistics = answer(
        &figures.counts,
        ctx.now,
        threshold,
        figures.longest,
        figures.agents,
    );
    statistics.team_id = Some(team.id);
    Ok(Response::json(200, &statistics))
}

/// The unit's teams (and its children's) summed: counts and members added up (a member of two
/// of its teams counts in each), the longest waiting task the oldest of the teams' heads, the
/// service level with the strictest (smallest) threshold of its teams.
pub fn organization_unit_statistics(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let unit = OrganizationUnitId::parse(ctx.param(0).trim())
        .map(|id| ctx.repo.organization_unit(id))
        .transpose()?
        .flatten()
        .ok_or_else(|| ApiError::not_found("Organization unit", ctx.param(0)))?;
    let ids = ctx.repo.organization_unit_subtree_teams(unit.id)?;
    let teams = ctx.repo.teams(&ids)?;
    let mut counts = TeamCounts::default();
    let mut agents = AgentCounts::default();
    let mut longest: Option<(crate::ids::TaskId, crate::time::Timestamp)> = None;
    // Each team's waiting per minute (carried over its own quiet minutes), summed.
    let mut waiting: Vec<Option<u64>> = Vec::new();
    for team in &teams {
        let figures = team_figures(ctx, team)?;
        let own = answer(&figures.counts, ctx.now, 20, None, AgentCounts::default());
        waiting.resize(own.last_hour.len(), None);
        for (sum, minute) in waiting.iter_mut().zip(&own.last_hour) {
            *sum = match (*sum, minute.waiting) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
        }
        counts.add(&figures.counts);
        agents.add(&figures.agents);
        longest = match (longest, figures.longest) {
            (Some(a), Some(b)) => Some(if b.1 < a.1 { b } else { a }),
            (a, b) => a.or(b),
        };
    }
    let threshold = teams
        .iter()
        .map(|t| t.distribution.service_level_threshold_seconds)
        .min()
        .unwrap_or(crate::model::Distribution::DEFAULT_SERVICE_LEVEL_THRESHOLD_SECONDS);
    let mut statistics = answer(&counts, ctx.now, threshold, longest, agents);
    for (minute, sum) in statistics.last_hour.iter_mut().zip(waiting) {
        minute.waiting = sum;
    }
    statistics.organization_unit_id = Some(unit.id);
    Ok(Response::json(200, &statistics))
}
