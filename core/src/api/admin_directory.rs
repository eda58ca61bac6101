//! The admin API of the directory: the whole document (`GET`/`PUT /admin/v1.0/directory`,
//! for synchronisation) and one entity at a time (organization units, teams, users,
//! memberships, conversation-as rights). Every write goes through
//! [`Repo::change_directory`](crate::repo::Repo::change_directory): one admin write at a time,
//! validated as a whole, only changed records written.

use super::Ctx;
use crate::error::ApiError;
use crate::http::Response;
use crate::ids::{OrganizationUnitId, TeamId, UserId};
use crate::model::{
    ConversationAsRight, ConversationAsService, Directory, Distribution, Membership,
    OrganizationUnit, Team, TeamStatus, User,
};
use serde::Deserialize;

pub fn get_directory(ctx: &mut Ctx) -> Result<Response, ApiError> {
    Ok(Response::json(200, &ctx.repo.load_directory()?))
}

pub fn put_directory(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let directory: Directory = ctx.body()?;
    // Refuse a broken document before taking the lease.
    directory.validate().map_err(ApiError::BadRequest)?;
    let holder = ctx.ids.next_id();
    let ((), changes) = ctx.repo.change_directory(ctx.now, holder, |stored| {
        *stored = directory;
        Ok(())
    })?;
    Ok(Response::json(200, &changes))
}

/// Runs one entity edit; answers 201 when `change` created the entity, 200 otherwise.
fn edit<T: serde::Serialize>(
    ctx: &mut Ctx,
    change: impl FnOnce(&mut Directory) -> Result<(T, bool), ApiError>,
) -> Result<Response, ApiError> {
    let holder = ctx.ids.next_id();
    let ((entity, created), _) = ctx
        .repo
        .change_directory(ctx.now, holder, |directory| Ok(change(directory)?))?;
    Ok(Response::json(if created { 201 } else { 200 }, &entity))
}

/// Runs one entity removal; 404 (and nothing written) when `change` found nothing to remove.
fn remove(
    ctx: &mut Ctx,
    what: &str,
    change: impl FnOnce(&mut Directory) -> bool,
) -> Result<Response, ApiError> {
    let holder = ctx.ids.next_id();
    let identifier = ctx.param(0).to_string();
    ctx.repo.change_directory(ctx.now, holder, |directory| {
        if change(directory) {
            Ok(())
        } else {
            Err(ApiError::not_found(what, &identifier).into())
        }
    })?;
    Ok(Response::no_content())
}

/// Replaces the item `same` finds, or appends it; true if it was appended.
fn upsert<T>(items: &mut Vec<T>, item: T, same: impl Fn(&T) -> bool) -> bool {
    match items.iter_mut().find(|existing| same(existing)) {
        Some(existing) => {
            *existing = item;
            false
        }
        None => {
            items.push(item);
            true
        }
    }
}

fn path_id<T>(
    ctx: &Ctx,
    index: usize,
    what: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, ApiError> {
    parse(ctx.param(index).trim()).ok_or_else(|| ApiError::not_found(what, ctx.param(index)))
}

// ---- organization units --------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OrganizationUnitInput {
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<OrganizationUnitId>,
}

pub fn put_organization_unit(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: OrganizationUnitInput = ctx.body()?;
    let id = path_id(ctx, 0, "Organization unit", OrganizationUnitId::parse)?;
    let unit = OrganizationUnit {
        id,
        name: body.name,
        parent_id: body.parent_id,
    };
    edit(ctx, |directory| {
        let created = upsert(&mut directory.organization_units, unit.clone(), |u| {
            u.id == id
        });
        Ok((unit, created))
    })
}

pub fn delete_organization_unit(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let id = path_id(ctx, 0, "Organization unit", OrganizationUnitId::parse)?;
    remove(ctx, "Organization unit", |directory| {
        let before = directory.organization_units.len();
        directory.organization_units.retain(|u| u.id != id);
        // Child units or teams left behind make the directory invalid: 400 names them.
        directory.organization_units.len() != before
    })
}

// ---- teams ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TeamInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub sip_uri: String,
    pub organization_unit_id: OrganizationUnitId,
    pub status: TeamStatus,
    #[serde(default)]
    pub distribution: Distribution,
}

pub fn put_team(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: TeamInput = ctx.body()?;
    let id = path_id(ctx, 0, "Team", TeamId::parse)?;
    let team = Team {
        id,
        name: body.name,
        description: body.description,
        sip_uri: body.sip_uri,
        organization_unit_id: body.organization_unit_id,
        status: body.status,
        distribution: body.distribution,
    };
    edit(ctx, |directory| {
        let created = upsert(&mut directory.teams, team.clone(), |t| t.id == id);
        Ok((team, created))
    })
}

pub fn delete_team(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let id = path_id(ctx, 0, "Team", TeamId::parse)?;
    remove(ctx, "Team", |directory| {
        let before = directory.teams.len();
        directory.teams.retain(|t| t.id != id);
        directory.memberships.retain(|m| m.team_id != id);
        directory.conversation_as.retain(|c| c.team_id != id);
        directory.teams.len() != before
    })
}

// ---- users ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UserInput {
    pub display_name: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    pub upn: String,
    pub sip_uri: String,
    #[serde(default)]
    pub email: String,
}

pub fn put_user(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: UserInput = ctx.body()?;
    let id = path_id(ctx, 0, "User", UserId::parse)?;
    let user = User {
        id,
        display_name: body.display_name,
        first_name: body.first_name,
        last_name: body.last_name,
        upn: body.upn,
        sip_uri: body.sip_uri,
        email: body.email,
    };
    edit(ctx, |directory| {
        let created = upsert(&mut directory.users, user.clone(), |u| u.id == id);
        Ok((user, created))
    })
}

pub fn delete_user(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let id = path_id(ctx, 0, "User", UserId::parse)?;
    let response = remove(ctx, "User", |directory| {
        let before = directory.users.len();
        directory.users.retain(|u| u.id != id);
        directory.memberships.retain(|m| m.user_id != id);
        directory.conversation_as.retain(|c| c.user_id != id);
        directory.users.len() != before
    })?;
    // The agent's sessions end with them (a session also needs its user to exist, so one that
    // this misses, e.g. after a store error, still opens nothing).
    ctx.repo.revoke_agent_sessions(id, ctx.now)?;
    Ok(response)
}

// ---- memberships and conversation-as rights ------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MembershipInput {
    pub is_active: bool,
}

pub fn put_membership(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: MembershipInput = ctx.body()?;
    let team = path_id(ctx, 0, "Team", TeamId::parse)?;
    let user = path_id(ctx, 1, "User", UserId::parse)?;
    let membership = Membership {
        team_id: team,
        user_id: user,
        is_active: body.is_active,
    };
    let response = edit(ctx, |directory| {
        let created = upsert(&mut directory.memberships, membership.clone(), |m| {
            m.team_id == team && m.user_id == user
        });
        Ok((membership, created))
    })?;
    if body.is_active {
        // A new or unblocked member who is free joins the team's idle pool now (and may get
        // its waiting tasks); a failure is caught up at their next availability change.
        let _ = ctx.repo.reconcile_idle_entry(team, user).and_then(|()| {
            let record = ctx.repo.team(team)?;
            let mut engine = crate::engine::Engine::new(&ctx.repo, &mut *ctx.ids, ctx.now);
            match record {
                Some(record) => engine.run_team(&record).map(|_| ()),
                None => Ok(()),
            }
        });
    }
    Ok(response)
}

pub fn delete_membership(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let team = path_id(ctx, 0, "Team", TeamId::parse)?;
    let user = path_id(ctx, 1, "User", UserId::parse)?;
    remove(ctx, "Membership of team", |directory| {
        let before = directory.memberships.len();
        directory
            .memberships
            .retain(|m| !(m.team_id == team && m.user_id == user));
        directory.memberships.len() != before
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ConversationAsInput {
    pub conversation_as_service: ConversationAsService,
}

pub fn put_conversation_as(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: ConversationAsInput = ctx.body()?;
    let user = path_id(ctx, 0, "User", UserId::parse)?;
    let team = path_id(ctx, 1, "Team", TeamId::parse)?;
    let right = ConversationAsRight {
        user_id: user,
        team_id: team,
        conversation_as_service: body.conversation_as_service,
    };
    edit(ctx, |directory| {
        let created = upsert(&mut directory.conversation_as, right.clone(), |c| {
            c.team_id == team && c.user_id == user
        });
        Ok((right, created))
    })
}

pub fn delete_conversation_as(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = path_id(ctx, 0, "User", UserId::parse)?;
    let team = path_id(ctx, 1, "Team", TeamId::parse)?;
    remove(ctx, "Conversation-as right of user", |directory| {
        let before = directory.conversation_as.len();
        directory
            .conversation_as
            .retain(|c| !(c.team_id == team && c.user_id == user));
        directory.conversation_as.len() != before
    })
}
