//! Request handling: the one entry point hosts call, and the request plumbing that
//! every endpoint shares (routing, size limit, auth, content type, body parsing).

mod admin;
mod admin_directory;
mod agent_session;
mod audit;
mod availability;
mod demo;
mod erasure;
pub mod feeds;
mod paging;
mod repo_errors;
mod retention;
mod sessions;
mod statistics;
pub use admin::new_api_key as admin_new_api_key;
pub mod openapi;
mod tasks;
mod teams;
mod users;

use crate::auth;
use crate::error::ApiError;
use crate::http::{Method, Request, Response};
use crate::idempotency;
use crate::ids::IdSource;
use crate::ids::{TaskId, TeamId, UserId};
use crate::model::{Role, Team, User};
use crate::repo::{Named, Repo, TeamRead, UserRead};
use crate::routes::{self, Access, Body, Operation, RouteMatch, RouteSpec};
use crate::store::Store;
use crate::time::Timestamp;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Bodies above this size get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The request body limit of the admin API.
pub const MAX_ADMIN_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Operator configuration the host reads (Spin variables) and passes in.
#[derive(Clone, Debug)]
pub struct Config {
    /// Token for `/admin`; `None` or empty disables the admin API.
    pub admin_token: Option<String>,
    /// Origins allowed to call the API from a browser (`*` for any); empty: no CORS headers.
    pub cors_allowed_origins: Vec<String>,
    /// Feed reads one API key may have waiting at once.
    pub max_waiting_reads_per_key: u64,
    /// Feed reads the whole service (every instance on the store) may have waiting at once.
    pub max_waiting_reads: u64,
    /// The demo data is on: the demo page's backend (`/demo/v1.0/…`) answers.
    pub demo: bool,
    /// Days finished tasks are kept after `EndedAt` (0: forever).
    pub retention_days: u32,
    /// Days audit entries are kept (0: forever).
    pub audit_retention_days: u32,
}

impl Config {
    /// [`Config::retention_days`] in milliseconds, `None` for forever.
    pub fn retention_millis(&self) -> Option<i64> {
        crate::retention::days_millis(self.retention_days)
    }

    /// [`Config::audit_retention_days`] in milliseconds, `None` for forever.
    pub fn audit_retention_millis(&self) -> Option<i64> {
        crate::retention::days_millis(self.audit_retention_days)
    }
}

/// Default of [`Config::max_waiting_reads_per_key`]: one agent widget per agent of a large
/// contact center sharing a key, with room to spare.
pub const DEFAULT_MAX_WAITING_READS_PER_KEY: u64 = 6_000;
/// Default of [`Config::max_waiting_reads`].
pub const DEFAULT_MAX_WAITING_READS: u64 = 10_000;

impl Default for Config {
    fn default() -> Self {
        Config {
            admin_token: None,
            cors_allowed_origins: Vec::new(),
            max_waiting_reads_per_key: DEFAULT_MAX_WAITING_READS_PER_KEY,
            max_waiting_reads: DEFAULT_MAX_WAITING_READS,
            demo: false,
            retention_days: crate::retention::DEFAULT_RETENTION_DAYS,
            audit_retention_days: crate::retention::DEFAULT_AUDIT_RETENTION_DAYS,
        }
    }
}

/// Everything a request may use besides itself: the store, the time and an id source.
pub struct Env<'a> {
    pub store: &'a dyn Store,
    pub now: Timestamp,
    pub ids: &'a mut dyn IdSource,
    pub config: &'a Config,
}

/// What a handler gets: the request, its path parameters and the environment.
pub struct Ctx<'a, 'r> {
    pub repo: Repo<'a>,
    pub now: Timestamp,
    pub ids: &'r mut dyn IdSource,
    pub request: &'r Request,
    pub params: &'r [String],
    /// Who is calling: the API key's id, `agent/<user id>` for an agent's session, `admin` or
    /// `public` (scopes idempotency keys and waiting caps).
    pub caller: &'r str,
    /// The agent, when the caller is an agent's session (it may act only as them).
    pub agent: Option<UserId>,
    /// Whether the caller may read agents' availability (a key with UsersReadonly, an agent's
    /// session on their own records): a user's feed answers availability changes only then.
    pub reads_availability: bool,
    pub config: &'r Config,
}

impl Ctx<'_, '_> {
    pub fn param(&self, index: usize) -> &str {
        self.params.get(index).map_or("", String::as_str)
    }

    /// The body as `T`; 400 naming the field on any mismatch.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse_json_body(&self.request.body)
    }
}

/// Parses a JSON body into `T`, naming the failing field (`Customer.Uri`) in the error.
pub fn parse_json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "A JSON request body is required.".into(),
        ));
    }
    // serde would also read a struct from a JSON array (`[null, null]`); the API takes objects only.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::BadRequest(
            "The request body must be a JSON object.".into(),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("The request body is not valid JSON: {inner}")
        } else if path == "." {
            format!("Invalid request body: {inner}")
        } else {
            format!("Invalid value for '{path}': {inner}")
        };
        ApiError::BadRequest(message)
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::BadRequest(format!("The request body is not valid JSON: {e}")))?;
    Ok(value)
}

/// A team by `{teamIdentifier}` (Id or SIP URI), or 404 naming it.
pub(crate) fn find_team(repo: &Repo, identifier: &str) -> Result<Team, ApiError> {
    repo.find_team(identifier)?
        .ok_or_else(|| ApiError::not_found("Team", identifier))
}

/// A user by `{userIdentifier}` (Id, SIP URI or UPN), or 404 naming it.
pub(crate) fn find_user(repo: &Repo, identifier: &str) -> Result<User, ApiError> {
    repo.find_user(identifier)?
        .ok_or_else(|| ApiError::not_found("User", identifier))
}

/// The single entry point: hosts turn their request into a [`Request`], call this, and
/// send back the [`Response`]. Never panics on any input; every error is a JSON body.
pub fn handle(request: &Request, env: &mut Env) -> Response {
    let mut response = if request.method.eq_ignore_ascii_case("OPTIONS") {
        preflight(request)
    } else if request.method.eq_ignore_ascii_case("HEAD") {
        // HEAD is GET without the body (health checks of load balancers use it).
        let get = Request {
            method: "GET".into(),
            ..request.clone()
        };
        let mut response = dispatch(&get, env).unwrap_or_else(ApiError::into_response);
        response.body.clear();
        response
    } else {
        dispatch(request, env).unwrap_or_else(ApiError::into_response)
    };
    add_cors_headers(request, env.config, &mut response);
    finish(response)
}

/// What every API answer carries, also those a host makes itself (a 413 before the body is
/// read): answers depend on the caller's key, which travels in a header shared caches do not
/// treat like `Authorization`, so no cache may keep them.
pub fn finish(response: Response) -> Response {
    response.with_header("Cache-Control", "no-store")
}

/// The body limit of `request`: [`MAX_BODY_BYTES`], or [`MAX_ADMIN_BODY_BYTES`] for an admin
/// request whose token is valid (so an unauthenticated caller can never make a host hold more
/// than 64 KiB). Hosts call this with the request's head, before they read its body.
pub fn body_limit(request: &Request, config: &Config) -> usize {
    let admin = request.is_admin()
        && auth::authorize_admin(
            request.header_value("Authorization"),
            config.admin_token.as_deref(),
        )
        .is_ok();
    if admin {
        MAX_ADMIN_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

fn dispatch(request: &Request, env: &mut Env) -> Result<Response, ApiError> {
    // The admin API takes whole directories (10,000 users, 40,000 memberships: several MB).
    let limit = body_limit(request, env.config);
    if request.body.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let (spec, params) = match routes::route(&request.method, request.path()) {
        RouteMatch::Found { spec, params } => (spec, params),
        RouteMatch::MethodNotAllowed(allow) => {
            return Err(ApiError::MethodNotAllowed {
                method: request.method.chars().take(16).collect(),
                allow,
            })
        }
        RouteMatch::NotFound => {
            return Err(ApiError::NotFound(format!(
                "No endpoint at '{}'.",
                request.path().chars().take(200).collect::<String>()
            )))
        }
    };
    let repo = Repo::new(env.store);
    repo.set_retention(env.config.retention_millis());
    repo.set_audit_retention(env.config.audit_retention_millis());
    // Authentication first: the key's record and last use are the only reads of a request
    // that ends in 401.
    let mut log = None;
    let mut agent = None;
    let mut reads_availability = false;
    let mut actor = crate::repo::Actor {
        kind: "Public".into(),
        api_key_id: None,
        api_key_name: None,
        user_id: None,
    };
    let scope = match spec.access {
        Access::Public => "public".to_string(),
        // The vendor's header first, exactly as before; a session only without it.
        Access::ApiKey(role) => match agent_session::presented(request) {
            Some(token) => {
                let session = auth::authorize_session(&repo, token, env.now)?;
                let scope = crate::repo::agent_scope(session.user.id);
                actor.kind = "Session".into();
                actor.user_id = Some(session.user.id.to_string());
                agent = Some(session);
                reads_availability = true;
                scope
            }
            None => {
                let authorized = auth::authorize_api_key(
                    &repo,
                    request.header_value(auth::API_KEY_HEADER),
                    role,
                    env.now,
                )?;
                log = authorized.last_use_not_recorded;
                reads_availability = authorized.record.has_role(Role::UsersReadonly);
                actor.kind = "ApiKey".into();
                actor.api_key_id = Some(authorized.record.id.to_string());
                actor.api_key_name = Some(authorized.record.name.clone());
                authorized.record.id.to_string()
            }
        },
        Access::Admin => {
            auth::authorize_admin(
                request.header_value("Authorization"),
                env.config.admin_token.as_deref(),
            )?;
            actor.kind = "Admin".into();
            "admin".to_string()
        }
    };
    repo.read_ahead(&named_in_path(spec, &params))?;
    if let Some(session) = &agent {
        agent_session::check(&repo, spec, &params, &session.user)?;
    }
    let agent = agent.map(|session| session.user.id);
    check_content_type(spec, request)?;
    let idempotency_key = match takes_idempotency_key(spec.operation) {
        true => idempotency::key_of(request)?,
        false => None,
    };
    let claim = match idempotency_key {
        None => None,
        Some(key) => {
            let holder = env.ids.next_id();
            match idempotency::begin(&repo, &scope, &key, request, env.now, holder)? {
                idempotency::Decision::Answer(response) => return Ok(response),
                idempotency::Decision::Run(claim) => Some(claim),
            }
        }
    };
    let mut ctx = Ctx {
        repo,
        now: env.now,
        ids: &mut *env.ids,
        request,
        params: &params,
        caller: &scope,
        agent,
        reads_availability,
        config: env.config,
    };
    let mut response = run(spec, &mut ctx).unwrap_or_else(ApiError::into_response);
    audit::record(
        &ctx.repo,
        spec.operation,
        actor,
        request,
        response.status,
        ctx.now,
    );
    if let Some(claim) = claim {
        // The change is made: its answer stands even if it could not be recorded for replays.
        let _ = claim.finish(&ctx.repo, &response);
    }
    if response.log.is_none() {
        response.log = log;
    }
    Ok(response)
}

/// What an authenticated request names in its path, for the repo to read ahead in one batch:
/// the task, team or user (for reads of a team's tasks, the shards of its index too, or for the
/// longest waiting task their queue heads).
fn named_in_path(spec: &RouteSpec, params: &[String]) -> Vec<Named> {
    let mut named = Vec::new();
    for (name, value) in spec.param_names().zip(params) {
        let value = value.trim();
        match name {
            "taskIdentifier" => named.extend(TaskId::parse(value).map(Named::Task)),
            "teamIdentifier" => {
                let read = match spec.operation {
                    Operation::LongestWaitingTask => TeamRead::LongestWaiting,
                    Operation::ListTeamTasks => TeamRead::TaskList,
                    _ => TeamRead::Record,
                };
                named.extend(TeamId::parse(value).map(|team| Named::Team(team, read)));
            }
            "userIdentifier" => {
                let read = match spec.operation {
                    Operation::ListUserTasks => UserRead::TaskList,
                    _ => UserRead::Record,
                };
                named.extend(UserId::parse(value).map(|user| Named::User(user, read)));
            }
            _ => {}
        }
    }
    named
}

/// The creating POSTs, where a retry after a lost answer must not create twice.
pub(crate) fn takes_idempotency_key(operation: Operation) -> bool {
    matches!(
        operation,
        Operation::CreateTask
            | Operation::StartOutboundCall
            | Operation::Act(crate::state_machine::TaskAction::ConsultationCall)
            | Operation::CreateApiKey
    )
}

/// Bodies must be JSON. Endpoints without a body ignore whatever is sent.
fn check_content_type(spec: &RouteSpec, request: &Request) -> Result<(), ApiError> {
    if spec.request == Body::None || request.body.is_empty() {
        return Ok(());
    }
    let content_type = request.header_value("Content-Type").unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media_type == "application/json" || media_type.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type must be application/json, not '{}'.",
            content_type.chars().take(100).collect::<String>()
        )))
    }
}

fn run(spec: &RouteSpec, ctx: &mut Ctx) -> Result<Response, ApiError> {
    match spec.operation {
        Operation::ListTeamTasks => tasks::list_team_tasks(ctx),
        Operation::LongestWaitingTask => tasks::longest_waiting_task(ctx),
        Operation::TeamEvents => feeds::team_events(ctx),
        Operation::UserEvents => feeds::user_events(ctx),
        Operation::TasksByTeamsMember => tasks::tasks_by_teams_member(ctx),
        Operation::StartOutboundCall => tasks::start_outbound_call(ctx),
        Operation::ListUserTasks => tasks::list_user_tasks(ctx),
        Operation::CreateTask => tasks::create_task(ctx),
        Operation::GetTask => tasks::get_task(ctx),
        Operation::Act(action) => tasks::act(ctx, action),
        Operation::GetConsultationCall => tasks::get_consultation_call(ctx),
        Operation::UserConsultativeCalls => tasks::user_consultative_calls(ctx),
        Operation::ListTeams => teams::list_teams(ctx),
        Operation::GetTeam => teams::get_team(ctx),
        Operation::TeamsByMember => teams::teams_by_member(ctx),
        Operation::OrganizationUnitTeams => teams::organization_unit_teams(ctx),
        Operation::UserConversationAs => teams::user_conversation_as(ctx),
        Operation::GetUser => users::get_user(ctx),
        Operation::ListUsers => users::list_users(ctx),
        Operation::TeamUsers => users::team_users(ctx),
        Operation::SetTeamMemberActive => users::set_team_member_active(ctx),
        Operation::GetAvailability => availability::get_availability(ctx),
        Operation::TeamStatistics => statistics::team_statistics(ctx),
        Operation::RetentionSweep => retention::sweep(ctx),
        Operation::Erasure => erasure::erase(ctx),
        Operation::ReadAudit => audit::read(ctx),
        Operation::OrganizationUnitStatistics => statistics::organization_unit_statistics(ctx),
        Operation::SetAvailability => availability::set_availability(ctx),
        Operation::RunDistribution => availability::run_distribution(ctx),
        Operation::CreateSession => sessions::create_session(ctx),
        Operation::EndSessions => sessions::end_sessions(ctx),
        Operation::ListSessions => sessions::list_sessions(ctx),
        Operation::AdminEndSessions => sessions::admin_end_sessions(ctx),
        Operation::AdminEndSession => sessions::admin_end_session(ctx),
        Operation::DemoSession => demo::demo_session(ctx),
        Operation::DemoCall => demo::demo_call(ctx),
        Operation::Health => health(ctx),
        Operation::OpenApi => Ok(Response::json(200, &openapi::document())),
        Operation::GetDirectory => admin_directory::get_directory(ctx),
        Operation::PutDirectory => admin_directory::put_directory(ctx),
        Operation::PutOrganizationUnit => admin_directory::put_organization_unit(ctx),
        Operation::DeleteOrganizationUnit => admin_directory::delete_organization_unit(ctx),
        Operation::PutTeam => admin_directory::put_team(ctx),
        Operation::DeleteTeam => admin_directory::delete_team(ctx),
        Operation::PutUser => admin_directory::put_user(ctx),
        Operation::DeleteUser => admin_directory::delete_user(ctx),
        Operation::PutMembership => admin_directory::put_membership(ctx),
        Operation::DeleteMembership => admin_directory::delete_membership(ctx),
        Operation::PutConversationAs => admin_directory::put_conversation_as(ctx),
        Operation::DeleteConversationAs => admin_directory::delete_conversation_as(ctx),
        Operation::CreateApiKey => admin::create_api_key(ctx),
        Operation::ListApiKeys => admin::list_api_keys(ctx),
        Operation::PatchApiKey => admin::patch_api_key(ctx),
        Operation::DeleteApiKey => admin::delete_api_key(ctx),
    }
}

/// Healthy when the store answers (one small record).
fn health(ctx: &mut Ctx) -> Result<Response, ApiError> {
    ctx.repo.directory_meta()?;
    Ok(Response::json(
        200,
        &json!({"Status": "Healthy", "Time": ctx.now}),
    ))
}

/// CORS preflight (and plain OPTIONS): the methods the path supports, no auth needed.
fn preflight(request: &Request) -> Response {
    let methods = routes::methods_at(request.path());
    if methods.is_empty() {
        return ApiError::NotFound("No endpoint at this path.".into()).into_response();
    }
    let methods: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
    Response::no_content().with_header("Allow", &methods.join(", "))
}

fn add_cors_headers(request: &Request, config: &crate::api::Config, response: &mut Response) {
    let Some(origin) = request.header_value("Origin") else {
        return;
    };
    let allowed = config
        .cors_allowed_origins
        .iter()
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin));
    if !allowed {
        return;
    }
    response.set_header("Access-Control-Allow-Origin", origin);
    response.set_header("Vary", "Origin");
    response.set_header(
        "Access-Control-Expose-Headers",
        "ETag, Location, X-Feed-Cursor, Retry-After, Idempotent-Replayed",
    );
    if request.method.eq_ignore_ascii_case("OPTIONS") {
        let methods = [
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ];
        let methods: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
        response.set_header("Access-Control-Allow-Methods", &methods.join(", "));
        response.set_header(
            "Access-Control-Allow-Headers",
            "api_key, Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key",
        );
        response.set_header("Access-Control-Max-Age", "600");
    }
}
