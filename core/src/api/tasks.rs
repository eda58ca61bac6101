//! The Task API: listing, creating, and acting on tasks and their consultation calls.

use super::{find_team, find_user, Ctx};
use crate::digest::sha256_hex;
use crate::engine::{may_release, Engine, Held};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ids::{TaskId, TeamId};
use crate::model::{
    AudioRoutes, ConsultationCall, Party, Priority, Release, Target, Task, TaskStatus, TaskType,
};
use crate::repo::{ChangeMeta, FeedId, Repo, StoredTask, TeamMembers};
use crate::state_machine::TaskAction;
use crate::task_change::{self, ActionInput, Refusal};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

pub const MAX_DESCRIPTION_CHARS: usize = 150;
pub const MAX_TEXT_CHARS: usize = 256;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerInput {
    pub uri: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTaskRequest {
    #[serde(rename = "Type")]
    pub task_type: TaskType,
    pub customer: CustomerInput,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub external_task_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartOutboundCallRequest {
    pub user_identifier: String,
    pub target: String,
    #[serde(default)]
    pub team_identifier: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetRequest {
    pub target: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OfferRequest {
    pub user_identifier: String,
}

/// What every task action returns.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TaskStatusData {
    pub task_id: TaskId,
    pub status: TaskStatus,
    pub version: u64,
    pub updated_at: Timestamp,
}

fn task_response(status: u16, task: Task) -> Response {
    let etag = task.etag();
    Response::json(status, &task.with_allowed_actions()).with_header("ETag", &etag)
}

fn task_list(mut tasks: Vec<StoredTask>) -> Response {
    tasks.sort_by_key(|s| (s.task.created_at, s.task.id));
    tasks.dedup_by_key(|s| s.task.id);
    let tasks: Vec<Task> = tasks
        .into_iter()
        .map(|s| s.task.with_allowed_actions())
        .collect();
    Response::json(200, &tasks)
}

/// A list of tasks with an `ETag` of its content; 304 without a body when `If-None-Match`
/// names it (or is `*`), so a client polling an unchanged list transfers nothing.
fn conditional_list(request: &Request, tasks: Vec<StoredTask>) -> Response {
    let list = task_list(tasks);
    let etag = format!("\"{}\"", &sha256_hex(&list.body)[..32]);
    let unchanged = request.header_value("If-None-Match").is_some_and(|header| {
        header
            .split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == "*" || tag == etag)
    });
    if unchanged {
        let mut not_modified = Response::no_content().with_header("ETag", &etag);
        not_modified.status = 304;
        return not_modified;
    }
    list.with_header("ETag", &etag)
}

fn parse_task_id(identifier: &str) -> Result<TaskId, ApiError> {
    TaskId::parse(identifier.trim()).ok_or_else(|| ApiError::not_found("Task", identifier))
}

fn has_scheme(uri: &str, scheme: &str) -> bool {
    uri.get(..scheme.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        && uri.len() > scheme.len()
}

fn is_call_uri(uri: &str) -> bool {
    has_scheme(uri, "sip:") || has_scheme(uri, "tel:")
}

fn check_length(field: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if v.chars().count() > max => Err(ApiError::BadRequest(format!(
            "Invalid value for '{field}': at most {max} characters are allowed."
        ))),
        _ => Ok(()),
    }
}

/// A transfer or consultation target: a `sip:`/`tel:` URI, or a user identifier.
/// A SIP URI of a known user also sets `UserId`.
fn resolve_target(repo: &Repo, field: &str, target: &str) -> Result<Target, ApiError> {
    let target = target.trim();
    if target.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "Invalid value for '{field}': must not be empty."
        )));
    }
    check_length(field, Some(target), MAX_TEXT_CHARS)?;
    if let Some(user) = repo.find_user(target)? {
        return Ok(Target {
            uri: user.sip_uri.clone(),
            display_name: user.display_name.clone(),
            user_id: Some(user.id),
        });
    }
    if is_call_uri(target) {
        return Ok(Target {
            uri: target.to_string(),
            display_name: target.to_string(),
            user_id: None,
        });
    }
    Err(ApiError::NotFound(format!(
        "'{field}' is neither a sip:/tel: URI nor a known user: '{target}'."
    )))
}

// ---- reads -------------------------------------------------------------------------

pub fn get_task(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let id = parse_task_id(ctx.param(0))?;
    let stored = ctx
        .repo
        .task(id)?
        .ok_or_else(|| ApiError::not_found("Task", ctx.param(0)))?;
    Ok(task_response(200, stored.task))
}

pub fn get_consultation_call(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let id = parse_task_id(ctx.param(0))?;
    let stored = ctx
        .repo
        .task(id)?
        .ok_or_else(|| ApiError::not_found("Task", ctx.param(0)))?;
    let etag = stored.task.etag();
    let call = stored
        .task
        .consultation_call
        .ok_or_else(|| ApiError::NotFound(format!("Task '{id}' has no consultation call.")))?;
    Ok(Response::json(200, &call).with_header("ETag", &etag))
}

fn open_tasks_of_team(ctx: &Ctx, team: TeamId) -> Result<Vec<StoredTask>, ApiError> {
    Ok(ctx.repo.open_tasks_of_team(team)?)
}

/// Also says where the team's change feed stands (`X-Feed-Cursor`), read before the tasks:
/// following the feed from there misses no change made after this list.
pub fn list_team_tasks(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let team = find_team(&ctx.repo, ctx.param(0))?;
    let cursor = ctx.repo.feed_cursor(FeedId::Team(team.id), ctx.now)?;
    Ok(
        conditional_list(ctx.request, open_tasks_of_team(ctx, team.id)?)
            .with_header("X-Feed-Cursor", &cursor.to_string()),
    )
}

pub fn longest_waiting_task(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let team = find_team(&ctx.repo, ctx.param(0))?;
    Ok(match ctx.repo.longest_waiting_task(team.id, ctx.now)? {
        Some(stored) => task_response(200, stored.task),
        None => Response::no_content(),
    })
}

pub fn tasks_by_teams_member(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = find_user(&ctx.repo, ctx.param(0))?;
    let mut tasks = Vec::new();
    for team in ctx.repo.user_team_ids(user.id)? {
        tasks.extend(open_tasks_of_team(ctx, team)?);
    }
    Ok(task_list(tasks))
}

/// Also says where the user's change feed stands (`X-Feed-Cursor`), read before the tasks.
pub fn list_user_tasks(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = find_user(&ctx.repo, ctx.param(0))?.id;
    let cursor = ctx.repo.feed_cursor(FeedId::User(user), ctx.now)?;
    Ok(conditional_list(ctx.request, ctx.repo.tasks_of_user(user)?)
        .with_header("X-Feed-Cursor", &cursor.to_string()))
}

pub fn user_consultative_calls(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let user = find_user(&ctx.repo, ctx.param(0))?.id;
    let mut calls: Vec<ConsultationCall> = ctx
        .repo
        .tasks_user_consults_on(user)?
        .into_iter()
        .filter_map(|s| s.task.consultation_call)
        .collect();
    calls.sort_by_key(|c| (c.started_at, c.id));
    Ok(Response::json(200, &calls))
}

// ---- creation ----------------------------------------------------------------------

fn new_task(
    ctx: &mut Ctx,
    team: TeamId,
    task_type: TaskType,
    status: TaskStatus,
    customer: Party,
) -> Task {
    Task {
        id: TaskId(ctx.ids.next_id()),
        team_id: team,
        task_type,
        status,
        priority: Priority::Normal,
        customer,
        assigned_user_id: None,
        external_task_id: None,
        description: None,
        created_at: ctx.now,
        queued_at: None,
        updated_at: ctx.now,
        ended_at: None,
        version: 1,
        consultation_call: None,
        transferred_to: None,
        ringing_until: None,
        allowed_actions: Default::default(),
    }
}

pub fn create_task(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: CreateTaskRequest = ctx.body()?;
    if body.task_type == TaskType::OutboundCall {
        return Err(ApiError::BadRequest(
            "Invalid value for 'Type': outbound calls are started with POST /v1.0/tasks/outboundCall/start.".into(),
        ));
    }
    let uri = body.customer.uri.trim();
    if !is_call_uri(uri) && body.task_type == TaskType::IncomingCall {
        return Err(ApiError::BadRequest(
            "Invalid value for 'Customer.Uri': a sip: or tel: URI is required.".into(),
        ));
    }
    if uri.is_empty() {
        return Err(ApiError::BadRequest(
            "Invalid value for 'Customer.Uri': must not be empty.".into(),
        ));
    }
    check_length("Customer.Uri", Some(uri), MAX_TEXT_CHARS)?;
    check_length(
        "Customer.DisplayName",
        body.customer.display_name.as_deref(),
        MAX_TEXT_CHARS,
    )?;
    check_length(
        "Description",
        body.description.as_deref(),
        MAX_DESCRIPTION_CHARS,
    )?;
    check_length(
        "ExternalTaskId",
        body.external_task_id.as_deref(),
        MAX_TEXT_CHARS,
    )?;

    let team_record = find_team(&ctx.repo, ctx.param(0))?;
    let team = team_record.id;
    let customer = Party {
        uri: uri.to_string(),
        display_name: body
            .customer
            .display_name
            .unwrap_or_else(|| uri.to_string()),
    };
    let mut task = new_task(ctx, team, body.task_type, TaskStatus::Queued, customer);
    task.priority = body.priority.unwrap_or_default();
    task.external_task_id = body.external_task_id;
    task.description = body.description;
    task.queued_at = Some(ctx.now);
    let mut stored = StoredTask::new(task, ctx.repo.next_queue_sequence()?);
    let meta = change_meta(ctx, "Created");
    ctx.repo.create_task(&mut stored, &meta)?;
    // The task is created (and answered as created, Queued); in an Automatic team it is
    // offered right after, as its own change. A failure to offer now is caught up by the next
    // run of the team.
    let _ = Engine::new(&ctx.repo, &mut *ctx.ids, ctx.now).run_team(&team_record);
    let location = format!("/v1.0/tasks/{}", stored.task.id);
    Ok(task_response(201, stored.task).with_header("Location", &location))
}

pub fn start_outbound_call(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: StartOutboundCallRequest = ctx.body()?;
    let user = find_user(&ctx.repo, &body.user_identifier)?;
    crate::agent_access::may_act_as(ctx.agent, user.id)
        .map_err(|refused| ApiError::Unauthorized(refused.to_string()))?;
    let rights = ctx.repo.conversation_as(user.id)?;
    let team = match body.team_identifier.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(identifier) => {
            let team = find_team(&ctx.repo, identifier)?;
            if !rights.iter().any(|r| r.team_id == team.id) {
                return Err(ApiError::BadRequest(format!(
                    "Invalid value for 'TeamIdentifier': user '{}' may not call as team '{}'.",
                    user.id, team.id
                )));
            }
            team.id
        }
        // Without a team: the user's first conversation-as team, else the first team they belong to.
        None => rights
            .first()
            .map(|r| r.team_id)
            .or(ctx.repo.user_team_ids(user.id)?.first().copied())
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "Invalid value for 'UserIdentifier': user '{}' belongs to no team to call from.",
                    user.id
                ))
            })?,
    };
    let target = resolve_target(&ctx.repo, "Target", &body.target)?;
    let customer = Party {
        uri: target.uri,
        display_name: target.display_name,
    };
    let user_id = user.id;
    let mut task = new_task(
        ctx,
        team,
        TaskType::OutboundCall,
        TaskStatus::Dialing,
        customer,
    );
    task.assigned_user_id = Some(user_id);
    let mut stored = StoredTask::new(task, 0);
    let meta = change_meta(ctx, "OutboundCallStarted");
    ctx.repo.create_task(&mut stored, &meta)?;
    let location = format!("/v1.0/tasks/{}", stored.task.id);
    Ok(task_response(201, stored.task).with_header("Location", &location))
}

/// A change made by this request, for the feed (its ids drawn after the task's own).
fn change_meta(ctx: &mut Ctx, kind: &str) -> ChangeMeta {
    ChangeMeta {
        kind: kind.to_string(),
        id_base: ctx.ids.next_id(),
        at: ctx.now,
    }
}

// ---- actions -----------------------------------------------------------------------

/// `If-Match`: `*`, or a list of entity tags (strong or weak) holding the task's Version.
fn if_match_allows(header: Option<&str>, version: u64) -> bool {
    let Some(header) = header else { return true };
    header.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == version.to_string()
    })
}

/// What an action needs besides the task, resolved before the compare-and-swap loop.
enum Resolved {
    None,
    Offer(crate::ids::UserId),
    Target(Target),
    AudioRoutes(AudioRoutes),
}

pub fn act(ctx: &mut Ctx, action: TaskAction) -> Result<Response, ApiError> {
    let id = parse_task_id(ctx.param(0))?;
    let resolved = match action {
        TaskAction::Offer => {
            let body: OfferRequest = ctx.body()?;
            Resolved::Offer(find_user(&ctx.repo, &body.user_identifier)?.id)
        }
        TaskAction::Transfer | TaskAction::ConsultationCall => {
            let body: TargetRequest = ctx.body()?;
            Resolved::Target(resolve_target(&ctx.repo, "Target", &body.target)?)
        }
        TaskAction::ConsultationAudioRoutes => Resolved::AudioRoutes(ctx.body()?),
        _ => Resolved::None,
    };
    if may_release(action) {
        hint_agent_free(ctx, id, action)?;
    }
    let consultation_id = (action == TaskAction::ConsultationCall)
        .then(|| crate::ids::ConsultationCallId(ctx.ids.next_id()));
    // The members of the task's team, read once (a task never changes team) when offering.
    let mut members: Option<TeamMembers> = None;
    let repo = &ctx.repo;
    let if_match = ctx.request.header_value("If-Match").map(str::to_string);
    let now = ctx.now;
    let meta = ChangeMeta {
        kind: format!("{action:?}"),
        id_base: ctx.ids.next_id(),
        at: now,
    };
    let mut held = None;
    let stored = repo.update_task(id, &meta, |stored| {
        held = Held::of(stored);
        if !if_match_allows(if_match.as_deref(), stored.task.version) {
            return Err(ApiError::PreconditionFailed(format!(
                "If-Match does not match the task's current version \"{}\".",
                stored.task.version
            ))
            .into());
        }
        let input = match &resolved {
            Resolved::None => ActionInput::None,
            Resolved::Offer(user) => {
                if members.is_none() {
                    members = Some(repo.team_members(stored.task.team_id)?);
                }
                let membership = members
                    .as_ref()
                    .and_then(|m| m.member(*user))
                    .map(|m| m.is_active);
                ActionInput::Offer {
                    user: *user,
                    membership,
                }
            }
            Resolved::Target(target) => ActionInput::Target {
                target: target.clone(),
                consultation_id,
            },
            Resolved::AudioRoutes(routes) => ActionInput::AudioRoutes(*routes),
        };
        stored.task = task_change::apply(&stored.task, action, &input, now).map_err(refused)?;
        if stored.task.status != TaskStatus::Ringing {
            stored.task.ringing_until = None;
        }
        if stored.task.assigned_user_id.is_none() || action == TaskAction::Offer {
            // Declined, or offered by hand: no longer at the agent it was reserved for.
            stored.reservation = None;
        }
        Ok(())
    })?;
    // The change is made; the engine's follow-ups (releasing the agent, offering the task
    // again) are caught up by the next run if they fail now.
    let _ = Engine::new(&ctx.repo, &mut *ctx.ids, now).after_task_change(held, &stored);

    let task = stored.task;
    let etag = task.etag();
    if action == TaskAction::ConsultationCall {
        if let Some(call) = task.consultation_call {
            return Ok(Response::json(201, &call).with_header("ETag", &etag));
        }
    }
    let data = TaskStatusData {
        task_id: task.id,
        status: task.status,
        version: task.version,
        updated_at: task.updated_at,
    };
    Ok(Response::json(200, &data).with_header("ETag", &etag))
}

/// Before an action that may take the task away from its agent: the agent back in their
/// teams' idle pools (see [`crate::engine`], step 4).
fn hint_agent_free(ctx: &mut Ctx, id: TaskId, action: TaskAction) -> Result<(), ApiError> {
    let Some(stored) = ctx.repo.task(id)? else {
        return Ok(());
    };
    let Some(held) = Held::of(&stored) else {
        return Ok(());
    };
    let release = match action {
        TaskAction::Decline => Release::Declined,
        _ => Release::Ended,
    };
    let settings = ctx
        .repo
        .team(stored.task.team_id)?
        .map(|t| t.distribution)
        .unwrap_or_default();
    Engine::new(&ctx.repo, &mut *ctx.ids, ctx.now).hint_free(held.user, release, &settings)?;
    Ok(())
}

/// A refused action as the API answers it.
fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::NotAllowed(error) => ApiError::Conflict(error.to_string()),
        Refusal::NotAMember { user, team } => ApiError::BadRequest(format!(
            "Invalid value for 'UserIdentifier': user '{user}' is not a member of team '{team}'."
        )),
        blocked @ Refusal::Blocked { .. } => ApiError::Conflict(blocked.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_star_lists_and_weak_tags() {
        assert!(if_match_allows(None, 3));
        assert!(if_match_allows(Some("*"), 3));
        assert!(if_match_allows(Some("\"3\""), 3));
        assert!(if_match_allows(Some("\"1\", W/\"3\""), 3));
        assert!(!if_match_allows(Some("\"2\""), 3));
        assert!(!if_match_allows(Some(""), 3));
    }

    #[test]
    fn call_uris_need_a_scheme_and_something_after_it() {
        assert!(is_call_uri("tel:+41441234567"));
        assert!(is_call_uri("SIP:anna@contoso.com"));
        assert!(!is_call_uri("sip:"));
        assert!(!is_call_uri("mailto:anna@contoso.com"));
        assert!(!is_call_uri("tél"));
    }
}
