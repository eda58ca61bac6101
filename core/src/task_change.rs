//! What an action does to a task, as a pure function: given the task, the action with its
//! resolved input, the time and the id a new consultation call would get, the next task or a
//! refusal typed by its cause. The API handler keeps parsing, `If-Match` and the response; the
//! repo runs this inside its compare-and-swap loop, so it is re-run on the current task after
//! every lost race. The distribution engine makes its automatic changes with the same function.

use crate::ids::{ConsultationCallId, TeamId, UserId};
use crate::model::{AudioRoutes, ConsultationCall, ConsultationStatus, Target, Task};
use crate::state_machine::{self, ConsultationEffect, TaskAction, TransitionError};
use crate::time::Timestamp;

/// What an action needs besides the task, resolved before it is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionInput {
    None,
    /// Offer to `user`; `membership` is what the task's team says of them (`None`: not a
    /// member, `Some(false)`: blocked there).
    Offer {
        user: UserId,
        membership: Option<bool>,
    },
    /// A transfer's or a new consultation call's target. A consultation call also needs the id
    /// its call gets.
    Target {
        target: Target,
        consultation_id: Option<ConsultationCallId>,
    },
    AudioRoutes(AudioRoutes),
}

/// Why an action was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    NotAllowed(#[from] TransitionError),
    #[error("user '{user}' is not a member of team '{team}'")]
    NotAMember { user: UserId, team: TeamId },
    #[error("User '{user}' is blocked in team '{team}' and cannot be offered tasks.")]
    Blocked { user: UserId, team: TeamId },
}

/// The task after `action` with `input` at `now`: status, assignment, transfer target,
/// consultation call, `EndedAt`, `Version` and `UpdatedAt`.
pub fn apply(
    task: &Task,
    action: TaskAction,
    input: &ActionInput,
    now: Timestamp,
) -> Result<Task, Refusal> {
    let transition = state_machine::transition(
        task.task_type,
        task.status,
        task.consultation_status(),
        action,
    )?;
    let mut next = task.clone();
    match input {
        ActionInput::Offer { user, membership } => {
            let team = task.team_id;
            match membership {
                None => return Err(Refusal::NotAMember { user: *user, team }),
                Some(false) => return Err(Refusal::Blocked { user: *user, team }),
                Some(true) => next.assigned_user_id = Some(*user),
            }
        }
        ActionInput::Target { target, .. } if action == TaskAction::Transfer => {
            next.transferred_to = Some(target.clone());
        }
        ActionInput::AudioRoutes(routes) => {
            if let Some(call) = next.consultation_call.as_mut() {
                call.audio_routes = *routes;
            }
        }
        _ => {}
    }
    if action == TaskAction::Decline {
        // Back to the queue at its original position: QueuedAt and sequence are kept.
        next.assigned_user_id = None;
    }
    if matches!(
        action,
        TaskAction::ConsultationTransfer | TaskAction::ConsultationLeave
    ) {
        next.transferred_to = next.consultation_call.as_ref().map(|c| c.target.clone());
    }
    apply_consultation_effect(&mut next, transition.consultation, input, now);
    next.status = transition.to;
    if next.status.is_final() && next.ended_at.is_none() {
        next.ended_at = Some(now);
    }
    next.version += 1;
    next.updated_at = now;
    Ok(next)
}

fn apply_consultation_effect(
    task: &mut Task,
    effect: ConsultationEffect,
    input: &ActionInput,
    now: Timestamp,
) {
    let end = |call: &mut ConsultationCall| {
        call.status = ConsultationStatus::Ended;
        call.ended_at = Some(now);
    };
    match effect {
        ConsultationEffect::Keep => {}
        ConsultationEffect::Start => {
            if let ActionInput::Target {
                target,
                consultation_id: Some(id),
            } = input
            {
                task.consultation_call = Some(ConsultationCall {
                    id: *id,
                    task_id: task.id,
                    initiator_user_id: task.assigned_user_id,
                    target: target.clone(),
                    status: ConsultationStatus::Ringing,
                    audio_routes: AudioRoutes::CONSULTING,
                    started_at: now,
                    ended_at: None,
                });
            }
        }
        ConsultationEffect::Set(status) => {
            if let Some(call) = task.consultation_call.as_mut() {
                match status {
                    ConsultationStatus::Ended => end(call),
                    ConsultationStatus::Merged => {
                        call.status = status;
                        call.audio_routes = AudioRoutes::ALL;
                    }
                    // A connected consultation is agent and consultant only: a merged call
                    // that loses the customer goes back to that (a ringing one has it already,
                    // its routes can only be set in a conference).
                    ConsultationStatus::Connected => {
                        call.status = status;
                        call.audio_routes = AudioRoutes::CONSULTING;
                    }
                    _ => call.status = status,
                }
            }
        }
        ConsultationEffect::EndIfActive => {
            if let Some(call) = task
                .consultation_call
                .as_mut()
                .filter(|c| c.status.is_active())
            {
                end(call);
            }
        }
    }
}

#[cfg(test)]
mod tests;
