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
}

use Access::{Admin, ApiKey, Public};
use Body::{ArrayOf, One};
use Method::{Delete, Get, Patch, Post, Put};
use Operation as O;
use Role::{TasksManage, TasksReadonly, TeamsReadonly, UsersControl, UsersReadonly};

#[allow(clippy::too_many_arguments)]
const fn r(
    method: Method,
    path: &'static str,
    operation: Operation,
    access: Access,
    summary: &'static str,
    request: Body,
    status: u16,
    response: Body,
    vendor: bool,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        operation,
        access,
        summary,
        request,
        status,
        response,
        vendor,
    }
}

impl RouteSpec {
    /// The names of the path's parameters, in order (`{taskIdentifier}` → `taskIdentifier`).
    pub fn param_names(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }
}

const fn act(
    action: TaskAction,
    path: &'static str,
    summary: &'static str,
    request: Body,
    vendor: bool,
) -> RouteSpec {
    let (status, response) = match action {
        TaskAction::ConsultationCall => (201, One("ConsultationCall")),
        _ => (200, One("TaskStatusData")),
    };
    r(
        Post,
        path,
        O::Act(action),
        ApiKey(TasksManage),
        summary,
        request,
        status,
        response,
        vendor,
    )
}

const NONE: Body = Body::None;
const TASKS_READ: Access = ApiKey(TasksReadonly);

pub const ROUTES: &[RouteSpec] = &[
    // ---- Task API (vendor) ----
    r(Get, "/v1.0/teams/{teamIdentifier}/tasks", O::ListTeamTasks, TASKS_READ, "Retrieves a list of team tasks.", NONE, 200, ArrayOf("Task"), true),
    r(Get, "/v1.0/teams/{teamIdentifier}/longestwaitingtask", O::LongestWaitingTask, TASKS_READ, "Retrieves the longest waiting task of the team (204 when none waits).", NONE, 200, One("Task"), true),
    r(Get, "/v1.0/tasks/byteamsmember/{userIdentifier}", O::TasksByTeamsMember, TASKS_READ, "Retrieves the tasks of the teams the user is a member of.", NONE, 200, ArrayOf("Task"), true),
    r(Post, "/v1.0/tasks/outboundCall/start", O::StartOutboundCall, ApiKey(TasksManage), "Start Outbound Call.", One("StartOutboundCallRequest"), 201, One("Task"), true),
    r(Get, "/v1.0/users/{userIdentifier}/tasks", O::ListUserTasks, TASKS_READ, "Retrieves the current tasks assigned to the user.", NONE, 200, ArrayOf("Task"), true),
    act(TaskAction::Transfer, "/v1.0/tasks/{taskIdentifier}/transfer", "Transfer the task. Applicable only for the incoming call tasks.", One("TargetRequest"), true),
    act(TaskAction::Hold, "/v1.0/tasks/{taskIdentifier}/hold", "Put existing task on Hold. Returns TaskStatusData object.", NONE, true),
    act(TaskAction::Resume, "/v1.0/tasks/{taskIdentifier}/resume", "Resume task from Hold state. Returns TaskStatusData object.", NONE, true),
    act(TaskAction::Terminate, "/v1.0/tasks/{taskIdentifier}/terminate", "Terminate the task.", NONE, true),
    act(TaskAction::ConsultationCall, "/v1.0/tasks/{taskIdentifier}/consultationCall", "Make a new consult call. Applicable only for the incoming call tasks.", One("TargetRequest"), true),
    r(Get, "/v1.0/tasks/{taskIdentifier}/consultationCall", O::GetConsultationCall, TASKS_READ, "Get consultation call status.", NONE, 200, One("ConsultationCall"), true),
    act(TaskAction::ConsultationMerge, "/v1.0/tasks/{taskIdentifier}/consultationCall/merge", "Merge the consultation call with the customer. Applicable only for the incoming call tasks.", NONE, true),
    act(TaskAction::ConsultationTransfer, "/v1.0/tasks/{taskIdentifier}/consultationCall/transfer", "Transfer the consultation call with the customer. Applicable only for the incoming call tasks.", NONE, true),
    act(TaskAction::ConsultationTerminate, "/v1.0/tasks/{taskIdentifier}/consultationCall/terminate", "Terminate consultation call.", NONE, true),
    act(TaskAction::ConsultationLeave, "/v1.0/tasks/{taskIdentifier}/consultationCall/leave", "Leave the merged consultation call: customer and consultant stay connected.", NONE, true),
    act(TaskAction::ConsultationAudioRoutes, "/v1.0/tasks/{taskIdentifier}/consultationCall/audioRoutes", "Set audio routes for merged consultation call. Applicable only for the incoming call tasks.", One("AudioRoutes"), true),
    act(TaskAction::ConsultationTerminateCustomerCall, "/v1.0/tasks/{taskIdentifier}/consultationCall/terminateCustomerCall", "Terminate customer call during the consultation call. Applicable only for the incoming call tasks.", NONE, true),
    r(Get, "/v1.0/users/{userIdentifier}/consultativeCalls", O::UserConsultativeCalls, TASKS_READ, "Get the user's active consultative calls.", NONE, 200, ArrayOf("ConsultationCall"), true),
    // ---- Task API (extensions) ----
    r(Get, "/v1.0/teams/{teamIdentifier}/events", O::TeamEvents, TASKS_READ, "The team's change feed: every committed change of its tasks after a cursor, in order (see the API description).", NONE, 200, One("FeedPage"), false),
    r(Get, "/v1.0/users/{userIdentifier}/events", O::UserEvents, TASKS_READ, "The user's change feed: every committed change of the tasks the user is assigned to or consults on (before or after the change), after a cursor, in order.", NONE, 200, One("FeedPage"), false),
    r(Post, "/v1.0/teams/{teamIdentifier}/tasks", O::CreateTask, ApiKey(TasksManage), "Create a task in the team's queue.", One("CreateTaskRequest"), 201, One("Task"), false),
    r(Get, "/v1.0/tasks/{taskIdentifier}", O::GetTask, TASKS_READ, "Get a task.", NONE, 200, One("Task"), false),
    act(TaskAction::Offer, "/v1.0/tasks/{taskIdentifier}/offer", "Offer a queued task to an active team member.", One("OfferRequest"), false),
    act(TaskAction::Accept, "/v1.0/tasks/{taskIdentifier}/accept", "Accept an offered task.", NONE, false),
    act(TaskAction::Decline, "/v1.0/tasks/{taskIdentifier}/decline", "Decline an offered task: it goes back to its place in the queue.", NONE, false),
    act(TaskAction::Answered, "/v1.0/tasks/{taskIdentifier}/answered", "Report that an outbound call was answered.", NONE, false),
    act(TaskAction::ConsultationAnswered, "/v1.0/tasks/{taskIdentifier}/consultationCall/answered", "Report that the consultation call was answered.", NONE, false),
    // ---- Team API ----
    r(Get, "/v1.0/teams", O::ListTeams, ApiKey(TeamsReadonly), "Retrieves all teams; filter with ?status=Active|Inactive.", NONE, 200, ArrayOf("Team"), true),
    r(Get, "/v1.0/teams/{teamIdentifier}", O::GetTeam, ApiKey(TeamsReadonly), "Retrieve team identified by teamIdentifier.", NONE, 200, One("Team"), true),
    r(Get, "/v1.0/teams/bymember/{userIdentifier}", O::TeamsByMember, ApiKey(TeamsReadonly), "Retrieves all the teams where user is a member.", NONE, 200, ArrayOf("Team"), true),
    r(Get, "/v1.0/organizationunits/{ouIdentifier}/teams", O::OrganizationUnitTeams, ApiKey(TeamsReadonly), "Retrieves the teams of the organization unit and its children.", NONE, 200, ArrayOf("Team"), true),
    r(Get, "/v1.0/users/{userIdentifier}/teams/conversationas", O::UserConversationAs, ApiKey(TeamsReadonly), "Get per user the available conversation as services.", NONE, 200, ArrayOf("ConversationAs"), true),
    // ---- User API ----
    r(Get, "/v1.0/users/{userIdentifier}", O::GetUser, ApiKey(UsersReadonly), "Get a user by Id, SIP URI or UPN (case insensitive).", NONE, 200, One("User"), true),
    r(Get, "/v1.0/users", O::ListUsers, ApiKey(UsersReadonly), "Get all users in the system.", NONE, 200, ArrayOf("User"), true),
    r(Get, "/v1.0/teams/{teamIdentifier}/users", O::TeamUsers, ApiKey(UsersReadonly), "Get the members of the team.", NONE, 200, ArrayOf("TeamMember"), true),
    r(Post, "/v1.0/teams/{teamIdentifier}/users/{userIdentifier}/active", O::SetTeamMemberActive, ApiKey(UsersControl), "Block (Active=false) or unblock a user in the team.", One("ActiveRequest"), 200, One("TeamMember"), true),
    // ---- Distribution (extensions) ----
    r(Get, "/v1.0/users/{userIdentifier}/availability", O::GetAvailability, ApiKey(UsersReadonly), "The user's availability: the effective State (Available, Away, Offline, Busy, WrapUp, NotResponding), what they chose, since and until when.", NONE, 200, One("Availability"), false),
    r(Put, "/v1.0/users/{userIdentifier}/availability", O::SetAvailability, ApiKey(UsersControl), "Set the user's chosen state (Available, Away or Offline) with an optional reason; ends WrapUp and NotResponding.", One("AvailabilityRequest"), 200, One("Availability"), false),
    r(Post, "/v1.0/teams/{teamIdentifier}/distribution/run", O::RunDistribution, ApiKey(TasksManage), "Apply the team's due ring timeouts and offer its waiting tasks now (for a scheduler; requests do it too).", NONE, 200, One("DistributionRun"), false),
    // ---- Service ----
    r(Get, "/health", O::Health, Public, "Health check.", NONE, 200, One("Health"), false),
    r(Get, "/v1.0/openapi.json", O::OpenApi, Public, "This OpenAPI document.", NONE, 200, Body::None, false),
    // ---- Admin API ----
    r(Get, "/admin/v1.0/directory", O::GetDirectory, Admin, "Get the directory.", NONE, 200, One("Directory"), false),
    r(Put, "/admin/v1.0/directory", O::PutDirectory, Admin, "Replace the whole directory (synchronisation): writes only what changed and answers the counts.", One("Directory"), 200, One("DirectoryChanges"), false),
    r(Put, "/admin/v1.0/organizationunits/{ouId}", O::PutOrganizationUnit, Admin, "Create or replace an organization unit (201 when created).", One("OrganizationUnitInput"), 200, One("OrganizationUnit"), false),
    r(Delete, "/admin/v1.0/organizationunits/{ouId}", O::DeleteOrganizationUnit, Admin, "Delete an organization unit that has no child units and no teams.", NONE, 204, Body::None, false),
    r(Put, "/admin/v1.0/teams/{teamId}", O::PutTeam, Admin, "Create or replace a team (201 when created).", One("TeamInput"), 200, One("Team"), false),
    r(Delete, "/admin/v1.0/teams/{teamId}", O::DeleteTeam, Admin, "Delete a team without open tasks, with its memberships and conversation-as rights.", NONE, 204, Body::None, false),
    r(Put, "/admin/v1.0/users/{userId}", O::PutUser, Admin, "Create or replace a user (201 when created).", One("UserInput"), 200, One("User"), false),
    r(Delete, "/admin/v1.0/users/{userId}", O::DeleteUser, Admin, "Delete a user without open tasks, with their memberships and conversation-as rights.", NONE, 204, Body::None, false),
    r(Put, "/admin/v1.0/teams/{teamId}/members/{userId}", O::PutMembership, Admin, "Make a user a member of a team, or change IsActive (201 when created).", One("MembershipInput"), 200, One("Membership"), false),
    r(Delete, "/admin/v1.0/teams/{teamId}/members/{userId}", O::DeleteMembership, Admin, "Remove a user from a team.", NONE, 204, Body::None, false),
    r(Put, "/admin/v1.0/users/{userId}/conversationas/{teamId}", O::PutConversationAs, Admin, "Let a user converse as a team (201 when created).", One("ConversationAsInput"), 200, One("ConversationAsRight"), false),
    r(Delete, "/admin/v1.0/users/{userId}/conversationas/{teamId}", O::DeleteConversationAs, Admin, "Take a conversation-as right away.", NONE, 204, Body::None, false),
    r(Post, "/admin/v1.0/apikeys", O::CreateApiKey, Admin, "Create an API key; the secret is returned once.", One("CreateApiKeyRequest"), 201, One("CreatedApiKey"), false),
    r(Get, "/admin/v1.0/apikeys", O::ListApiKeys, Admin, "List API keys (never their secrets).", NONE, 200, ArrayOf("ApiKey"), false),
    r(Patch, "/admin/v1.0/apikeys/{apiKeyId}", O::PatchApiKey, Admin, "Change an API key's roles or expiry.", One("PatchApiKeyRequest"), 200, One("ApiKey"), false),
    r(Delete, "/admin/v1.0/apikeys/{apiKeyId}", O::DeleteApiKey, Admin, "Revoke an API key.", NONE, 204, Body::None, false),
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
