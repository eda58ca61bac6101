//! The task state machine: one transition table, one pure transition function, and
//! `allowed_actions`, which the API and the widget both use so that they can never disagree.

use crate::model::{ConsultationStatus, TaskStatus, TaskType};

use crate::model::Task;
pub use crate::model::TaskAction;

impl Task {
    /// The actions the state machine allows now: what the API accepts and the widget offers.
    pub fn allowed_actions(&self) -> Vec<TaskAction> {
        allowed_actions(self.task_type, self.status, self.consultation_status())
    }

    /// Fills `AllowedActions` before the task goes out.
    pub fn with_allowed_actions(mut self) -> Self {
        self.allowed_actions = crate::model::task::AllowedActions(self.allowed_actions());
        self
    }
}

/// What a rule needs of the consultation call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConsultationGuard {
    Any,
    Is(ConsultationStatus),
    Active,
}

/// What a rule does to the consultation call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsultationEffect {
    Keep,
    /// A new consultation call starts, ringing.
    Start,
    Set(ConsultationStatus),
    /// Ends the consultation call if one is active (terminate).
    EndIfActive,
}

struct Rule {
    action: TaskAction,
    from: TaskStatus,
    guard: ConsultationGuard,
    to: TaskStatus,
    effect: ConsultationEffect,
}

const fn rule(
    action: TaskAction,
    from: TaskStatus,
    guard: ConsultationGuard,
    to: TaskStatus,
    effect: ConsultationEffect,
) -> Rule {
    Rule {
        action,
        from,
        guard,
        to,
        effect,
    }
}

use ConsultationEffect::{EndIfActive, Keep, Set, Start};
use ConsultationGuard::{Active, Any, Is};
use ConsultationStatus as C;
use TaskAction as A;
use TaskStatus as S;

/// The transition table of API.md, one row per (action, from-state).
const RULES: &[Rule] = &[
    rule(A::Offer, S::Queued, Any, S::Ringing, Keep),
    rule(A::Accept, S::Ringing, Any, S::Connected, Keep),
    rule(A::Decline, S::Ringing, Any, S::Queued, Keep),
    rule(A::Answered, S::Dialing, Any, S::Connected, Keep),
    rule(A::Hold, S::Connected, Any, S::OnHold, Keep),
    rule(A::Resume, S::OnHold, Any, S::Connected, Keep),
    rule(A::Transfer, S::Queued, Any, S::Transferred, Keep),
    rule(A::Transfer, S::Ringing, Any, S::Transferred, Keep),
    rule(A::Transfer, S::Connected, Any, S::Transferred, Keep),
    rule(A::Transfer, S::OnHold, Any, S::Transferred, Keep),
    rule(A::Terminate, S::Queued, Any, S::Terminated, EndIfActive),
    rule(A::Terminate, S::Ringing, Any, S::Terminated, EndIfActive),
    rule(A::Terminate, S::Dialing, Any, S::Terminated, EndIfActive),
    rule(A::Terminate, S::Connected, Any, S::Terminated, EndIfActive),
    rule(A::Terminate, S::OnHold, Any, S::Terminated, EndIfActive),
    rule(A::Terminate, S::Consulting, Any, S::Terminated, EndIfActive),
    rule(A::Terminate, S::Conference, Any, S::Terminated, EndIfActive),
    rule(A::ConsultationCall, S::Connected, Any, S::Consulting, Start),
    rule(A::ConsultationCall, S::OnHold, Any, S::Consulting, Start),
    rule(
        A::ConsultationAnswered,
        S::Consulting,
        Is(C::Ringing),
        S::Consulting,
        Set(C::Connected),
    ),
    rule(
        A::ConsultationMerge,
        S::Consulting,
        Is(C::Connected),
        S::Conference,
        Set(C::Merged),
    ),
    rule(
        A::ConsultationTransfer,
        S::Consulting,
        Is(C::Connected),
        S::Transferred,
        Set(C::Ended),
    ),
    rule(
        A::ConsultationTransfer,
        S::Conference,
        Any,
        S::Transferred,
        Set(C::Ended),
    ),
    rule(
        A::ConsultationTerminate,
        S::Consulting,
        Active,
        S::OnHold,
        Set(C::Ended),
    ),
    rule(
        A::ConsultationTerminate,
        S::Conference,
        Active,
        S::Connected,
        Set(C::Ended),
    ),
    // After terminateCustomerCall the consultation leg stays up; this ends it.
    rule(
        A::ConsultationTerminate,
        S::Terminated,
        Active,
        S::Terminated,
        Set(C::Ended),
    ),
    rule(
        A::ConsultationLeave,
        S::Conference,
        Any,
        S::Transferred,
        Set(C::Ended),
    ),
    rule(
        A::ConsultationAudioRoutes,
        S::Conference,
        Any,
        S::Conference,
        Keep,
    ),
    rule(
        A::ConsultationTerminateCustomerCall,
        S::Consulting,
        Any,
        S::Terminated,
        Keep,
    ),
    rule(
        A::ConsultationTerminateCustomerCall,
        S::Conference,
        Any,
        S::Terminated,
        Set(C::Connected),
    ),
];

/// The outcome of an allowed action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub to: TaskStatus,
    pub consultation: ConsultationEffect,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("Action '{action:?}' is not allowed in task state '{}': it is applicable only for incoming call tasks, and this is an {task_type:?} task.", state.as_str())]
    IncomingCallOnly {
        action: TaskAction,
        state: TaskStatus,
        task_type: TaskType,
    },
    #[error("Action '{action:?}' is not allowed in task state '{}'{}.", state.as_str(), consultation_note(*consultation))]
    NotAllowed {
        action: TaskAction,
        state: TaskStatus,
        consultation: Option<ConsultationStatus>,
    },
}

fn consultation_note(consultation: Option<ConsultationStatus>) -> String {
    consultation.map_or(String::new(), |c| format!(" (consultation call {c:?})"))
}

fn guard_holds(guard: ConsultationGuard, consultation: Option<ConsultationStatus>) -> bool {
    match guard {
        Any => true,
        Is(status) => consultation == Some(status),
        Active => consultation.is_some_and(ConsultationStatus::is_active),
    }
}

/// Decides whether `action` may happen to a task of `task_type` in `state`, and what follows.
pub fn transition(
    task_type: TaskType,
    state: TaskStatus,
    consultation: Option<ConsultationStatus>,
    action: TaskAction,
) -> Result<Transition, TransitionError> {
    if action.incoming_call_only() && task_type != TaskType::IncomingCall {
        return Err(TransitionError::IncomingCallOnly {
            action,
            state,
            task_type,
        });
    }
    RULES
        .iter()
        .find(|r| r.action == action && r.from == state && guard_holds(r.guard, consultation))
        .map(|r| Transition {
            to: r.to,
            consultation: r.effect,
        })
        .ok_or(TransitionError::NotAllowed {
            action,
            state,
            consultation,
        })
}

/// Every action that [`transition`] would allow now, in [`TaskAction::ALL`] order.
pub fn allowed_actions(
    task_type: TaskType,
    state: TaskStatus,
    consultation: Option<ConsultationStatus>,
) -> Vec<TaskAction> {
    TaskAction::ALL
        .into_iter()
        .filter(|a| transition(task_type, state, consultation, *a).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each action's path below `/v1.0/tasks/{taskIdentifier}/`, written out from the vendor
    /// document (the widget builds its requests from `endpoint`).
    #[test]
    fn every_action_has_the_vendor_path() {
        let expected = [
            (A::Offer, "offer"),
            (A::Accept, "accept"),
            (A::Decline, "decline"),
            (A::Answered, "answered"),
            (A::Hold, "hold"),
            (A::Resume, "resume"),
            (A::Transfer, "transfer"),
            (A::Terminate, "terminate"),
            (A::ConsultationCall, "consultationCall"),
            (A::ConsultationAnswered, "consultationCall/answered"),
            (A::ConsultationMerge, "consultationCall/merge"),
            (A::ConsultationTransfer, "consultationCall/transfer"),
            (A::ConsultationTerminate, "consultationCall/terminate"),
            (A::ConsultationLeave, "consultationCall/leave"),
            (A::ConsultationAudioRoutes, "consultationCall/audioRoutes"),
            (
                A::ConsultationTerminateCustomerCall,
                "consultationCall/terminateCustomerCall",
            ),
        ];
        assert_eq!(expected.len(), A::ALL.len());
        for (action, path) in expected {
            assert_eq!(action.endpoint(), path, "{action:?}");
        }
    }

    /// A refusal names the consultation's state when there is one: "why can't I merge?"
    #[test]
    fn a_refusal_during_a_consultation_says_so() {
        let err = transition(
            TaskType::IncomingCall,
            S::Consulting,
            Some(C::Ringing),
            A::ConsultationMerge,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Action 'ConsultationMerge' is not allowed in task state 'Consulting' (consultation call Ringing)."
        );
        let err = transition(TaskType::IncomingCall, S::Queued, None, A::Hold).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Action 'Hold' is not allowed in task state 'Queued'."
        );
    }

    #[test]
    fn final_states_allow_nothing_but_ending_a_leftover_consultation() {
        for state in [S::Transferred, S::Terminated] {
            assert!(allowed_actions(TaskType::IncomingCall, state, None).is_empty());
        }
        assert_eq!(
            allowed_actions(TaskType::IncomingCall, S::Terminated, Some(C::Connected)),
            vec![A::ConsultationTerminate]
        );
    }

    #[test]
    fn incoming_only_actions_are_refused_for_other_types_with_their_own_message() {
        let err = transition(TaskType::ExternalTask, S::Connected, None, A::Transfer).unwrap_err();
        assert!(matches!(err, TransitionError::IncomingCallOnly { .. }));
        assert!(err.to_string().contains("only for incoming call tasks"));
    }

    #[test]
    fn refusal_names_state_and_action() {
        let err = transition(TaskType::IncomingCall, S::Queued, None, A::Hold).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Action 'Hold' is not allowed in task state 'Queued'."
        );
    }

    #[test]
    fn consultation_substates_gate_answered_and_merge() {
        let t = TaskType::IncomingCall;
        assert_eq!(
            allowed_actions(t, S::Consulting, Some(C::Ringing)),
            vec![
                A::Terminate,
                A::ConsultationAnswered,
                A::ConsultationTerminate,
                A::ConsultationTerminateCustomerCall
            ]
        );
        assert_eq!(
            allowed_actions(t, S::Consulting, Some(C::Connected)),
            vec![
                A::Terminate,
                A::ConsultationMerge,
                A::ConsultationTransfer,
                A::ConsultationTerminate,
                A::ConsultationTerminateCustomerCall
            ]
        );
    }
}
