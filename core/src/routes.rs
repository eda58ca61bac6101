//! The route table: every endpoint once, with its method, path template, the access it
//! needs and what it takes and returns. The router and the OpenAPI document both read it.

use crate::http::{percent_decode, Method};
use crate::model::Role;
use crate::state_machine::TaskAction;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    // Task API
    ListTeamTasks,
    LongestWaitingTask,
    TeamEvents,
    UserEvents,
    TasksByTeamsMember,
    StartOutboundCall,
    ListUserTasks,
    CreateTask,
    GetTask,
    Act(TaskAction),
    GetConsultationCall,
    UserConsultativeCalls,
    // Team API
    ListTeams,
    GetTeam,
    TeamsByMember,
    OrganizationUnitTeams,
    UserConversationAs,
    // User API
    GetUser,
    ListUsers,
    TeamUsers,
    SetTeamMemberActive,
    // Distribution (extensions)
    GetAvailability,
    SetAvailability,
    RunDistribution,
    // Statistics (extensions)
    TeamStatistics,
    OrganizationUnitStatistics,
    // Retention and audit (admin)
    RetentionSweep,
    Erasure,
    ReadAudit,
    // Agent sessions (extensions)
    CreateSession,
    EndSessions,
    // Demo (only with demo data)
    DemoSession,
    DemoCall,
    // Service
    Health,
    OpenApi,
    // Admin API
    GetDirectory,
    PutDirectory,
    PutOrganizationUnit,
    DeleteOrganizationUnit,
    PutTeam,
    DeleteTeam,
    PutUser,
    DeleteUser,
    PutMembership,
    DeleteMembership,
    PutConversationAs,
    DeleteConversationAs,
    CreateApiKey,
    ListApiKeys,
    PatchApiKey,
    DeleteApiKey,
    ListSessions,
    AdminEndSessions,
    AdminEndSession,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Public,
    ApiKey(Role),
    Admin,
}

/// A request or response body by schema name (see the OpenAPI components).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    None,
    One(&'static str),
    ArrayOf(&'static str),
}

#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub operation: Operation,
    pub access: Access,
    pub summary: &'static str,
    pub request: Body,
    pub status: u16,
    pub response: Body,
    /// Listed in the vendor's document (the others are this implementation's additions).
    pub vendor: bool,
    /// What else it answers or takes, for the OpenAPI document.
    pub extras: Extras,
    /// What an agent session may do here (nothing unless stated).
    pub agents: AgentRule,
}

/// What an agent's session (`Authorization: Bearer tms_…`) may call, route by route; an API
/// key with the route's role may call it whatever this says. Decided by `agent_access`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentRule {
    /// Not with a session: an API key with the route's role is needed.
    Refused,
    /// The `{userIdentifier}` in the path is the session's agent.
    OwnUser,
    /// The `{taskIdentifier}` task is assigned to the agent, or they take part in its
    /// consultation call (as the one who consults or the one consulted).
    TaskTheyTakePartIn,
    /// The `{taskIdentifier}` task is assigned to the agent.
    TaskAssignedToThem,
    /// The `{teamIdentifier}` team has the agent as a member.
    TheirTeam,
    /// The body's user is the agent (checked where the body is read).
    AsThemselves,
}

/// What a route answers or takes beyond its body and status, stated where the route is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extras {
    /// 204 without a body when there is nothing to answer.
    pub none_is_204: bool,
    /// `offset` and `limit` (see `api::paging`).
    pub paged: bool,
    /// `?status=Active|Inactive`.
    pub status_filter: bool,
    /// `If-None-Match` with 304, and `X-Feed-Cursor` on the answer.
    pub conditional_list: bool,
    /// A change feed: `after`, `wait`, 410 for a cursor too old, 429 beyond the waiting caps.
    pub feed: bool,
    /// Writes the directory (409 while another directory write runs).
    pub writes_directory: bool,
    /// The request body may be left out (its fields then take their defaults).
    pub body_optional: bool,
}

use Access::{Admin, ApiKey, Public};
use Body::{ArrayOf, One};
use Method::{Delete, Get, Patch, Post, Put};
use Operation as O;
use Role::{TasksManage, TasksReadonly, TeamsReadonly, UsersControl, UsersReadonly};

/// A route: where it is, what it does and who may call it; the rest is added by name
/// (`.summary(…)`, `.takes(…)`, `.answers(…)`, `.vendor()`).
const fn at(method: Method, path: &'static str, operation: Operation, access: Access) -> RouteSpec {
    RouteSpec {
        method,
        path,
        operation,
        access,
        summary: "",
        request: Body::None,
        status: 200,
        response: Body::None,
        vendor: false,
        extras: Extras {
            none_is_204: false,
            paged: false,
            status_filter: false,
            conditional_list: false,
            feed: false,
            writes_directory: false,
            body_optional: false,
        },
        agents: AgentRule::Refused,
    }
}

impl RouteSpec {
    const fn summary(mut self, summary: &'static str) -> Self {
        self.summary = summary;
        self
    }

    /// The request body it takes.
    const fn takes(mut self, request: Body) -> Self {
        self.request = request;
        self
    }

    /// The success status and body it answers.
    const fn answers(mut self, status: u16, response: Body) -> Self {
        self.status = status;
        self.response = response;
        self
    }

    /// What an agent session may do here.
    const fn agents(mut self, rule: AgentRule) -> Self {
        self.agents = rule;
        self
    }

    /// Listed in the vendor's document.
    const fn vendor(mut self) -> Self {
        self.vendor = true;
        self
    }

    const fn none_is_204(mut self) -> Self {
        self.extras.none_is_204 = true;
        self
    }

    const fn paged(mut self) -> Self {
        self.extras.paged = true;
        self
    }

    const fn status_filter(mut self) -> Self {
        self.extras.status_filter = true;
        self
    }

    const fn conditional_list(mut self) -> Self {
        self.extras.conditional_list = true;
        self
    }

    const fn feed(mut self) -> Self {
        self.extras.feed = true;
        self
    }

    const fn body_optional(mut self) -> Self {
        self.extras.body_optional = true;
        self
    }

    const fn writes_directory(mut self) -> Self {
        self.extras.writes_directory = true;
        self
    }

    /// The names of the path's parameters, in order (`{taskIdentifier}` → `taskIdentifier`).
    pub fn param_names(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }
}

/// A task action's route: `POST`, TasksManage, answering TaskStatusData (a new consultation
/// call answers 201 with the call).
const fn act(action: TaskAction, path: &'static str) -> RouteSpec {
    let (status, response) = match action {
        TaskAction::ConsultationCall => (201, One("ConsultationCall")),
        _ => (200, One("TaskStatusData")),
    };
    // Offering is the distributor's decision (the service's engine or the integrator's), never
    // the agent's own; every other action an agent takes on a task of theirs.
    let agents = match action {
        TaskAction::Offer => AgentRule::Refused,
        _ => AgentRule::TaskAssignedToThem,
    };
    at(Post, path, O::Act(action), ApiKey(TasksManage))
        .answers(status, response)
        .agents(agents)
}

const TASKS_READ: Access = ApiKey(TasksReadonly);

pub const ROUTES: &[RouteSpec] = &[
    // ---- Task API (vendor) ----
    at(Get, "/v1.0/teams/{teamIdentifier}/tasks", O::ListTeamTasks, TASKS_READ)
        .conditional_list()
        .summary("Retrieves a list of team tasks.")
        .answers(200, ArrayOf("Task"))
        .vendor(),
    at(Get, "/v1.0/teams/{teamIdentifier}/longestwaitingtask", O::LongestWaitingTask, TASKS_READ)
        .none_is_204()
        .summary("Retrieves the longest waiting task of the team (204 when none waits).")
        .answers(200, One("Task"))
        .vendor(),
    at(Get, "/v1.0/tasks/byteamsmember/{userIdentifier}", O::TasksByTeamsMember, TASKS_READ)
        .summary("Retrieves the tasks of the teams the user is a member of.")
        .answers(200, ArrayOf("Task"))
        .vendor(),
    at(Post, "/v1.0/tasks/outboundCall/start", O::StartOutboundCall, ApiKey(TasksManage))
        .agents(AgentRule::AsThemselves)
        .summary("Start Outbound Call.")
        .takes(One("StartOutboundCallRequest"))
        .answers(201, One("Task"))
        .vendor(),
    at(Get, "/v1.0/users/{userIdentifier}/tasks", O::ListUserTasks, TASKS_READ)
        .agents(AgentRule::OwnUser)
        .conditional_list()
        .summary("Retrieves the current tasks assigned to the user.")
        .answers(200, ArrayOf("Task"))
        .vendor(),
    act(TaskAction::Transfer, "/v1.0/tasks/{taskIdentifier}/transfer")
        .summary("Transfer the task. Applicable only for the incoming call tasks.")
        .takes(One("TargetRequest"))
        .vendor(),
    act(TaskAction::Hold, "/v1.0/tasks/{taskIdentifier}/hold")
        .summary("Put existing task on Hold. Returns TaskStatusData object.")
        .vendor(),
    act(TaskAction::Resume, "/v1.0/tasks/{taskIdentifier}/resume")
        .summary("Resume task from Hold state. Returns TaskStatusData object.")
        .vendor(),
    act(TaskAction::Terminate, "/v1.0/tasks/{taskIdentifier}/terminate")
        .summary("Terminate the task.")
        .vendor(),
    act(TaskAction::ConsultationCall, "/v1.0/tasks/{taskIdentifier}/consultationCall")
        .summary("Make a new consult call. Applicable only for the incoming call tasks.")
        .takes(One("TargetRequest"))
        .vendor(),
    at(Get, "/v1.0/tasks/{taskIdentifier}/consultationCall", O::GetConsultationCall, TASKS_READ)
        .agents(AgentRule::TaskTheyTakePartIn)
        .summary("Get consultation call status.")
        .answers(200, One("ConsultationCall"))
        .vendor(),
    act(TaskAction::ConsultationMerge, "/v1.0/tasks/{taskIdentifier}/consultationCall/merge")
        .summary("Merge the consultation call with the customer. Applicable only for the incoming call tasks.")
        .vendor(),
    act(TaskAction::ConsultationTransfer, "/v1.0/tasks/{taskIdentifier}/consultationCall/transfer")
        .summary("Transfer the consultation call with the customer. Applicable only for the incoming call tasks.")
        .vendor(),
    act(TaskAction::ConsultationTerminate, "/v1.0/tasks/{taskIdentifier}/consultationCall/terminate")
        .summary("Terminate consultation call.")
        .vendor(),
    act(TaskAction::ConsultationLeave, "/v1.0/tasks/{taskIdentifier}/consultationCall/leave")
        .summary("Leave the merged consultation call: customer and consultant stay connected.")
        .vendor(),
    act(TaskAction::ConsultationAudioRoutes, "/v1.0/tasks/{taskIdentifier}/consultationCall/audioRoutes")
        .summary("Set audio routes for merged consultation call. Applicable only for the incoming call tasks.")
        .takes(One("AudioRoutes"))
        .vendor(),
    act(TaskAction::ConsultationTerminateCustomerCall, "/v1.0/tasks/{taskIdentifier}/consultationCall/terminateCustomerCall")
        .summary("Terminate customer call during the consultation call. Applicable only for the incoming call tasks.")
        .vendor(),
    at(Get, "/v1.0/users/{userIdentifier}/consultativeCalls", O::UserConsultativeCalls, TASKS_READ)
        .agents(AgentRule::OwnUser)
        .summary("Get the user's active consultative calls.")
        .answers(200, ArrayOf("ConsultationCall"))
        .vendor(),
    // ---- Task API (extensions) ----
    at(Get, "/v1.0/teams/{teamIdentifier}/events", O::TeamEvents, TASKS_READ)
        .feed()
        .summary("The team's change feed: every committed change of its tasks after a cursor, in order (see the API description).")
        .answers(200, One("FeedPage")),
    at(Get, "/v1.0/users/{userIdentifier}/events", O::UserEvents, TASKS_READ)
        .agents(AgentRule::OwnUser)
        .feed()
        .summary("The user's change feed: every committed change of the tasks the user is assigned to or consults on (before or after the change), after a cursor, in order.")
        .answers(200, One("FeedPage")),
    at(Post, "/v1.0/teams/{teamIdentifier}/tasks", O::CreateTask, ApiKey(TasksManage))
        .summary("Create a task in the team's queue.")
        .takes(One("CreateTaskRequest"))
        .answers(201, One("Task")),
    at(Get, "/v1.0/tasks/{taskIdentifier}", O::GetTask, TASKS_READ)
        .agents(AgentRule::TaskTheyTakePartIn)
        .summary("Get a task.")
        .answers(200, One("Task")),
    act(TaskAction::Offer, "/v1.0/tasks/{taskIdentifier}/offer")
        .summary("Offer a queued task to an active team member.")
        .takes(One("OfferRequest")),
    act(TaskAction::Accept, "/v1.0/tasks/{taskIdentifier}/accept")
        .summary("Accept an offered task."),
    act(TaskAction::Decline, "/v1.0/tasks/{taskIdentifier}/decline")
        .summary("Decline an offered task: it goes back to its place in the queue."),
    act(TaskAction::Answered, "/v1.0/tasks/{taskIdentifier}/answered")
        .summary("Report that an outbound call was answered."),
    act(TaskAction::ConsultationAnswered, "/v1.0/tasks/{taskIdentifier}/consultationCall/answered")
        .summary("Report that the consultation call was answered."),
    // ---- Team API ----
    at(Get, "/v1.0/teams", O::ListTeams, ApiKey(TeamsReadonly))
        .status_filter()
        .paged()
        .summary("Retrieves all teams; filter with ?status=Active|Inactive.")
        .answers(200, ArrayOf("Team"))
        .vendor(),
    at(Get, "/v1.0/teams/{teamIdentifier}", O::GetTeam, ApiKey(TeamsReadonly))
        .agents(AgentRule::TheirTeam)
        .summary("Retrieve team identified by teamIdentifier.")
        .answers(200, One("Team"))
        .vendor(),
    at(Get, "/v1.0/teams/bymember/{userIdentifier}", O::TeamsByMember, ApiKey(TeamsReadonly))
        .agents(AgentRule::OwnUser)
        .summary("Retrieves all the teams where user is a member.")
        .answers(200, ArrayOf("Team"))
        .vendor(),
    at(Get, "/v1.0/organizationunits/{ouIdentifier}/teams", O::OrganizationUnitTeams, ApiKey(TeamsReadonly))
        .summary("Retrieves the teams of the organization unit and its children.")
        .answers(200, ArrayOf("Team"))
        .vendor(),
    at(Get, "/v1.0/users/{userIdentifier}/teams/conversationas", O::UserConversationAs, ApiKey(TeamsReadonly))
        .agents(AgentRule::OwnUser)
        .summary("Get per user the available conversation as services.")
        .answers(200, ArrayOf("ConversationAs"))
        .vendor(),
    // ---- User API ----
    at(Get, "/v1.0/users/{userIdentifier}", O::GetUser, ApiKey(UsersReadonly))
        .agents(AgentRule::OwnUser)
        .summary("Get a user by Id, SIP URI or UPN (case insensitive).")
        .answers(200, One("User"))
        .vendor(),
    at(Get, "/v1.0/users", O::ListUsers, ApiKey(UsersReadonly))
        .paged()
        .summary("Get all users in the system.")
        .answers(200, ArrayOf("User"))
        .vendor(),
    at(Get, "/v1.0/teams/{teamIdentifier}/users", O::TeamUsers, ApiKey(UsersReadonly))
        .paged()
        .summary("Get the members of the team.")
        .answers(200, ArrayOf("TeamMember"))
        .vendor(),
    at(Post, "/v1.0/teams/{teamIdentifier}/users/{userIdentifier}/active", O::SetTeamMemberActive, ApiKey(UsersControl))
        .summary("Block (Active=false) or unblock a user in the team.")
        .takes(One("ActiveRequest"))
        .answers(200, One("TeamMember"))
        .vendor(),
    // ---- Distribution (extensions) ----
    at(Get, "/v1.0/users/{userIdentifier}/availability", O::GetAvailability, ApiKey(UsersReadonly))
        .agents(AgentRule::OwnUser)
        .summary("The user's availability: the effective State (Available, Away, Offline, Busy, WrapUp, NotResponding), what they chose, since and until when.")
        .answers(200, One("Availability")),
    at(Put, "/v1.0/users/{userIdentifier}/availability", O::SetAvailability, ApiKey(UsersControl))
        .agents(AgentRule::OwnUser)
        .summary("Set the user's chosen state (Available, Away or Offline) with an optional reason; ends WrapUp and NotResponding.")
        .takes(One("AvailabilityRequest"))
        .answers(200, One("Availability")),
    at(Post, "/v1.0/teams/{teamIdentifier}/distribution/run", O::RunDistribution, ApiKey(TasksManage))
        .summary("Apply the team's due ring timeouts and offer its waiting tasks now (for a scheduler; requests do it too).")
        .answers(200, One("DistributionRun")),
    // ---- Statistics (extensions) ----
    at(Get, "/v1.0/teams/{teamIdentifier}/statistics", O::TeamStatistics, TASKS_READ)
        .agents(AgentRule::TheirTeam)
        .summary("The team's queue right now and today: tasks by status and priority, the longest waiting task, the average wait, members by availability, and for today (UTC) and the last 15 minutes created, answered, abandoned, transferred, time to answer and service level; the last hour per minute (see the API description for every figure's definition).")
        .answers(200, One("Statistics")),
    at(Get, "/v1.0/organizationunits/{ouIdentifier}/statistics", O::OrganizationUnitStatistics, TASKS_READ)
        .summary("The same figures summed over the teams of the organization unit and its children.")
        .answers(200, One("Statistics")),
    // ---- Agent sessions (extensions) ----
    at(Post, "/v1.0/users/{userIdentifier}/sessions", O::CreateSession, ApiKey(UsersControl))
        .body_optional()
        .summary("A session for the agent, for their browser: a token (shown once) sent as `Authorization: Bearer <token>` that may do only what this agent may. Optional body {\"LifetimeSeconds\"}: 60 to 86400, default 28800.")
        .takes(One("SessionRequest"))
        .answers(201, One("CreatedSession")),
    at(Delete, "/v1.0/users/{userIdentifier}/sessions", O::EndSessions, ApiKey(UsersControl))
        .summary("Ends every session of the agent (e.g. when they leave); their tokens get 401 'revoked'.")
        .answers(204, Body::None),
    // ---- Demo (only when the service loaded its demo data) ----
    at(Post, "/demo/v1.0/sessions", O::DemoSession, Public)
        .body_optional()
        .summary("The demo page's backend: a one-hour session for one of the demo agents, named by `?user=` or the body's User (404 unless demo data is on).")
        .takes(One("DemoSessionRequest"))
        .answers(201, One("CreatedSession")),
    at(Post, "/demo/v1.0/calls", O::DemoCall, Public)
        .summary("The demo page's backend: a new demo call in the agent's first team, offered to the agent (404 unless demo data is on).")
        .takes(One("DemoSessionRequest"))
        .answers(201, One("Task")),
    // ---- Service ----
    at(Get, "/health", O::Health, Public)
        .summary("Health check.")
        .answers(200, One("Health")),
    at(Get, "/v1.0/openapi.json", O::OpenApi, Public)
        .summary("This OpenAPI document.")
        .answers(200, Body::None),
    // ---- Admin API ----
    at(Get, "/admin/v1.0/directory", O::GetDirectory, Admin)
        .summary("Get the directory.")
        .answers(200, One("Directory")),
    at(Put, "/admin/v1.0/directory", O::PutDirectory, Admin)
        .writes_directory()
        .summary("Replace the whole directory (synchronisation): writes only what changed and answers the counts.")
        .takes(One("Directory"))
        .answers(200, One("DirectoryChanges")),
    at(Post, "/admin/v1.0/retention/sweep", O::RetentionSweep, Admin)
        .summary("Delete finished tasks older than the retention time (Spin variable retention_days, default 30; 0 keeps them): one slice of at most 100, for a scheduler (a Kubernetes CronJob); requests sweep too.")
        .answers(200, One("RetentionSweep")),
    at(Post, "/admin/v1.0/erasure", O::Erasure, Admin)
        .summary("Erase one person's data (GDPR art. 17): every task that names the URI as customer, consultation or transfer target, their change-feed snapshots and the stored answers of idempotent requests are scrubbed of it (URI and display name become empty); 409 while such a task is open. Answers the counts; More: true when another request must go on.")
        .takes(One("ErasureRequest"))
        .answers(200, One("Erasure")),
    at(Get, "/admin/v1.0/audit", O::ReadAudit, Admin)
        .summary("The audit trail: every admin change and every block/unblock and availability change made with an API key, with time, actor (never a secret), action and target, in order after the cursor `after` (at most `limit`, 1 to 100).")
        .answers(200, One("AuditPage")),
    at(Put, "/admin/v1.0/organizationunits/{ouId}", O::PutOrganizationUnit, Admin)
        .writes_directory()
        .summary("Create or replace an organization unit (201 when created).")
        .takes(One("OrganizationUnitInput"))
        .answers(200, One("OrganizationUnit")),
    at(Delete, "/admin/v1.0/organizationunits/{ouId}", O::DeleteOrganizationUnit, Admin)
        .writes_directory()
        .summary("Delete an organization unit that has no child units and no teams.")
        .answers(204, Body::None),
    at(Put, "/admin/v1.0/teams/{teamId}", O::PutTeam, Admin)
        .writes_directory()
        .summary("Create or replace a team (201 when created).")
        .takes(One("TeamInput"))
        .answers(200, One("Team")),
    at(Delete, "/admin/v1.0/teams/{teamId}", O::DeleteTeam, Admin)
        .writes_directory()
        .summary("Delete a team without open tasks, with its memberships and conversation-as rights.")
        .answers(204, Body::None),
    at(Put, "/admin/v1.0/users/{userId}", O::PutUser, Admin)
        .writes_directory()
        .summary("Create or replace a user (201 when created).")
        .takes(One("UserInput"))
        .answers(200, One("User")),
    at(Delete, "/admin/v1.0/users/{userId}", O::DeleteUser, Admin)
        .writes_directory()
        .summary("Delete a user without open tasks, with their memberships and conversation-as rights.")
        .answers(204, Body::None),
    at(Put, "/admin/v1.0/teams/{teamId}/members/{userId}", O::PutMembership, Admin)
        .writes_directory()
        .summary("Make a user a member of a team, or change IsActive (201 when created).")
        .takes(One("MembershipInput"))
        .answers(200, One("Membership")),
    at(Delete, "/admin/v1.0/teams/{teamId}/members/{userId}", O::DeleteMembership, Admin)
        .writes_directory()
        .summary("Remove a user from a team.")
        .answers(204, Body::None),
    at(Put, "/admin/v1.0/users/{userId}/conversationas/{teamId}", O::PutConversationAs, Admin)
        .writes_directory()
        .summary("Let a user converse as a team (201 when created).")
        .takes(One("ConversationAsInput"))
        .answers(200, One("ConversationAsRight")),
    at(Delete, "/admin/v1.0/users/{userId}/conversationas/{teamId}", O::DeleteConversationAs, Admin)
        .writes_directory()
        .summary("Take a conversation-as right away.")
        .answers(204, Body::None),
    at(Post, "/admin/v1.0/apikeys", O::CreateApiKey, Admin)
        .summary("Create an API key; the secret is returned once.")
        .takes(One("CreateApiKeyRequest"))
        .answers(201, One("CreatedApiKey")),
    at(Get, "/admin/v1.0/apikeys", O::ListApiKeys, Admin)
        .summary("List API keys (never their secrets).")
        .answers(200, ArrayOf("ApiKey")),
    at(Patch, "/admin/v1.0/apikeys/{apiKeyId}", O::PatchApiKey, Admin)
        .summary("Change an API key's roles or expiry.")
        .takes(One("PatchApiKeyRequest"))
        .answers(200, One("ApiKey")),
    at(Get, "/admin/v1.0/users/{userId}/sessions", O::ListSessions, Admin)
        .summary("The agent's live sessions (never their tokens).")
        .answers(200, ArrayOf("Session")),
    at(Delete, "/admin/v1.0/users/{userId}/sessions", O::AdminEndSessions, Admin)
        .summary("Ends every session of the agent.")
        .answers(204, Body::None),
    at(Delete, "/admin/v1.0/users/{userId}/sessions/{sessionId}", O::AdminEndSession, Admin)
        .summary("Ends one session of the agent (404 when it is not live).")
        .answers(204, Body::None),
    at(Delete, "/admin/v1.0/apikeys/{apiKeyId}", O::DeleteApiKey, Admin)
        .summary("Revoke an API key.")
        .answers(204, Body::None),
];

/// The outcome of routing a request.
#[derive(Debug)]
pub enum RouteMatch {
    Found {
        spec: &'static RouteSpec,
        /// Path parameters in template order, percent-decoded.
        params: Vec<String>,
    },
    MethodNotAllowed(Vec<Method>),
    NotFound,
}

/// Matches one template against path segments: literal segments compare case-insensitively
/// (ASP.NET routing does), `{param}` takes any non-empty segment. Returns the params and a
/// specificity score (literals earlier in the path weigh more) so that `/teams/bymember/x`
/// prefers the literal `bymember` over `{teamIdentifier}`.
fn match_template(template: &str, segments: &[&str]) -> Option<(u64, Vec<String>)> {
    let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut score = 0u64;
    let mut params = Vec::new();
    for (part, segment) in parts.iter().zip(segments) {
        score <<= 1;
        if part.starts_with('{') {
            if segment.is_empty() {
                return None;
            }
            params.push(percent_decode(segment));
        } else if part.eq_ignore_ascii_case(segment) {
            score |= 1;
        } else {
            return None;
        }
    }
    Some((score, params))
}

/// The methods some route serves at `path`.
pub fn methods_at(path: &str) -> Vec<Method> {
    match route("", path) {
        RouteMatch::MethodNotAllowed(methods) => methods,
        _ => Vec::new(),
    }
}

pub fn route(method: &str, path: &str) -> RouteMatch {
    let trimmed = path.trim_end_matches('/');
    let segments: Vec<&str> = trimmed.trim_start_matches('/').split('/').collect();
    let method = Method::parse(method);
    let mut best: Option<(u64, &'static RouteSpec, Vec<String>)> = None;
    let mut allowed = Vec::new();
    for spec in ROUTES {
        let Some((score, params)) = match_template(spec.path, &segments) else {
            continue;
        };
        if Some(spec.method) != method {
            if !allowed.contains(&spec.method) {
                allowed.push(spec.method);
            }
            continue;
        }
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, spec, params));
        }
    }
    match best {
        Some((_, spec, params)) => RouteMatch::Found { spec, params },
        None if !allowed.is_empty() => RouteMatch::MethodNotAllowed(allowed),
        None => RouteMatch::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, path: &str) -> Option<(Operation, Vec<String>)> {
        match route(method, path) {
            RouteMatch::Found { spec, params } => Some((spec.operation, params)),
            _ => None,
        }
    }

    #[test]
    fn literal_segments_beat_parameters() {
        assert_eq!(
            op("GET", "/v1.0/teams/bymember/anna").unwrap().0,
            O::TeamsByMember
        );
        assert_eq!(
            op("POST", "/v1.0/tasks/outboundCall/start").unwrap().0,
            O::StartOutboundCall
        );
        assert_eq!(
            op("GET", "/v1.0/tasks/byteamsmember/x").unwrap().0,
            O::TasksByTeamsMember
        );
        assert_eq!(op("GET", "/v1.0/teams/t1/users").unwrap().0, O::TeamUsers);
    }

    /// A literal segment wins over a parameter at the same place, whatever the table's order
    /// (ASP.NET routing, as the vendor's service): a user whose identifier is `tasks` or
    /// `users`, a team member called `consultationCall`.
    #[test]
    fn a_literal_segment_wins_over_a_parameter() {
        let (operation, params) = op("GET", "/v1.0/teams/bymember/tasks").unwrap();
        assert_eq!(operation, O::TeamsByMember);
        assert_eq!(params, vec!["tasks"]);
        assert_eq!(
            op("GET", "/v1.0/teams/bymember/users").unwrap().0,
            O::TeamsByMember
        );
        let (operation, params) = op("GET", "/v1.0/tasks/byteamsmember/consultationCall").unwrap();
        assert_eq!(operation, O::TasksByTeamsMember);
        assert_eq!(params, vec!["consultationCall"]);
        // And a parameter still matches where no literal does.
        assert_eq!(
            op("GET", "/v1.0/teams/support/tasks").unwrap().0,
            O::ListTeamTasks
        );
    }

    #[test]
    fn paths_are_case_insensitive_and_params_decoded() {
        let (operation, params) = op("get", "/V1.0/Users/sip%3Aanna%40contoso.com/Tasks/").unwrap();
        assert_eq!(operation, O::ListUserTasks);
        assert_eq!(params, vec!["sip:anna@contoso.com"]);
    }

    #[test]
    fn wrong_method_lists_the_allowed_ones() {
        match route("DELETE", "/v1.0/tasks/abc/hold") {
            RouteMatch::MethodNotAllowed(allowed) => assert_eq!(allowed, vec![Method::Post]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            route("GET", "/v1.0/nothing"),
            RouteMatch::NotFound
        ));
        assert!(matches!(
            route("BREW", "/v1.0/teams"),
            RouteMatch::MethodNotAllowed(_)
        ));
    }

    #[test]
    fn every_template_is_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[..i] {
                assert!(
                    !(a.method == b.method && a.path.eq_ignore_ascii_case(b.path)),
                    "{}",
                    a.path
                );
            }
        }
    }
}
