//! What an agent's session may do: the route's [`AgentRule`] against the facts of the request,
//! decided here without IO (the API layer gathers the facts). Refusals are 401 `Unauthorized`
//! with a message naming the reason (403 is not in the vendor's vocabulary).

use crate::ids::UserId;
use crate::model::{Role, Task};
use crate::routes::AgentRule;

/// What the API layer found out for the rule (only what the rule asks is looked at).
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts<'a> {
    /// The `{userIdentifier}` in the path names the session's agent.
    pub path_names_agent: bool,
    /// The `{taskIdentifier}` task, if it exists.
    pub task: Option<&'a Task>,
    /// The agent is a member of the `{teamIdentifier}` team.
    pub member_of_team: bool,
}

/// Why a session may not do what it asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AgentRefused {
    #[error(
        "An agent session cannot call this endpoint: it needs an API key with the role '{0:?}'."
    )]
    NeedsApiKey(Role),
    #[error("An agent session cannot call this endpoint: it needs the admin token.")]
    NeedsAdmin,
    #[error("An agent session may act only as its own agent.")]
    OtherUser,
    #[error("An agent session may use only tasks assigned to its agent.")]
    TaskNotAssigned,
    #[error(
        "An agent session may read only tasks assigned to its agent or whose consultation call it takes part in."
    )]
    TaskNotTheirs,
    #[error("An agent session may read only teams its agent is a member of.")]
    NotTheirTeam,
}

/// The agent takes part in `task`: assigned to it, or consulting or consulted in its
/// consultation call.
pub fn takes_part_in(task: &Task, agent: UserId) -> bool {
    task.assigned_user_id == Some(agent)
        || task.consultation_call.as_ref().is_some_and(|call| {
            call.initiator_user_id == Some(agent) || call.target.user_id == Some(agent)
        })
}

/// Whether the session of `agent` may call a route with `rule` (needing `role` of a key).
/// [`AgentRule::AsThemselves`] passes here: its user is in the body, checked by its handler
/// with [`may_act_as`].
pub fn decide(
    rule: AgentRule,
    role: Option<Role>,
    agent: UserId,
    facts: &Facts,
) -> Result<(), AgentRefused> {
    let refused = || role.map_or(AgentRefused::NeedsAdmin, AgentRefused::NeedsApiKey);
    match rule {
        AgentRule::Refused => Err(refused()),
        AgentRule::OwnUser if facts.path_names_agent => Ok(()),
        AgentRule::OwnUser => Err(AgentRefused::OtherUser),
        AgentRule::TaskAssignedToThem => match facts.task {
            Some(task) if task.assigned_user_id == Some(agent) => Ok(()),
            _ => Err(AgentRefused::TaskNotAssigned),
        },
        AgentRule::TaskTheyTakePartIn => match facts.task {
            Some(task) if takes_part_in(task, agent) => Ok(()),
            _ => Err(AgentRefused::TaskNotTheirs),
        },
        AgentRule::TheirTeam if facts.member_of_team => Ok(()),
        AgentRule::TheirTeam => Err(AgentRefused::NotTheirTeam),
        AgentRule::AsThemselves => Ok(()),
    }
}

/// A session of `agent` (if the caller is one) acting as `user`: only as itself.
pub fn may_act_as(agent: Option<UserId>, user: UserId) -> Result<(), AgentRefused> {
    match agent {
        Some(agent) if agent != user => Err(AgentRefused::OtherUser),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
