//! Agent sessions on `/v1.0`: which credential a request presents, and the facts an agent's
//! route rule is decided on (the decision itself is `agent_access`, without IO).

use super::find_team;
use crate::agent_access::{self, Facts};
use crate::auth;
use crate::error::ApiError;
use crate::http::Request;
use crate::ids::{TaskId, TeamId, UserId};
use crate::model::directory::lookup_name;
use crate::model::User;
use crate::repo::Repo;
use crate::routes::{Access, AgentRule, RouteSpec};

/// The session token a request presents: `Authorization: Bearer tms_…` without an `api_key`
/// header (the vendor's header wins, so integrators' requests work exactly as before, whatever
/// else they carry).
pub(super) fn presented(request: &Request) -> Option<&str> {
    if request.header_value(auth::API_KEY_HEADER).is_some() {
        return None;
    }
    auth::bearer_token(request.header_value("Authorization"))
        .filter(|token| token.starts_with(crate::model::session::TOKEN_PREFIX))
}

/// `identifier` (Id, SIP URI or UPN, as in every `{userIdentifier}`) names `user`.
fn names(identifier: &str, user: &User) -> bool {
    let identifier = identifier.trim();
    if let Some(id) = UserId::parse(identifier) {
        return id == user.id;
    }
    let name = lookup_name(identifier);
    name == lookup_name(&user.sip_uri) || name == lookup_name(&user.upn)
}

/// 401 unless the session of `agent` may call `spec` with these path parameters.
pub(super) fn check(
    repo: &Repo,
    spec: &RouteSpec,
    params: &[String],
    agent: &User,
) -> Result<(), ApiError> {
    let param = |wanted: &str| {
        spec.param_names()
            .zip(params)
            .find(|(name, _)| *name == wanted)
            .map(|(_, value)| value.as_str())
    };
    let role = match spec.access {
        Access::ApiKey(role) => Some(role),
        _ => None,
    };
    let mut facts = Facts::default();
    let task;
    match spec.agents {
        AgentRule::OwnUser => {
            facts.path_names_agent = param("userIdentifier").is_some_and(|u| names(u, agent));
        }
        AgentRule::TaskAssignedToThem | AgentRule::TaskTheyTakePartIn => {
            task = match param("taskIdentifier").and_then(|t| TaskId::parse(t.trim())) {
                Some(id) => repo.task_keeping_read_ahead(id)?,
                None => None,
            };
            facts.task = task.as_ref().map(|stored| &stored.task);
        }
        AgentRule::TheirTeam => {
            // A team the agent is not in answers like one that does not exist: 401 either way.
            // By Id the agent's team list decides alone (the team record stays read ahead for
            // the handler); only a SIP URI needs the team looked up.
            if let Some(identifier) = param("teamIdentifier").map(str::trim) {
                let team = match TeamId::parse(identifier) {
                    Some(id) => Some(id),
                    None => find_team(repo, identifier).ok().map(|team| team.id),
                };
                if let Some(team) = team {
                    facts.member_of_team = repo.user_team_ids(agent.id)?.contains(&team);
                }
            }
        }
        AgentRule::Refused | AgentRule::AsThemselves => {}
    }
    agent_access::decide(spec.agents, role, agent.id, &facts)
        .map_err(|refused| ApiError::Unauthorized(refused.to_string()))
}
