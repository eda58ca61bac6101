//! What each action does to a task beyond its status, written out from API.md and the vendor
//! document: who it is assigned to, where it went, its consultation call, when it ended, and its
//! version. One row per case: the task before (status, consultation), the action and its input,
//! and the fields after.

use super::*;
use crate::ids::{TaskId, TeamId, UserId};
use crate::model::task::{Party, Priority, TaskStatus, TaskType};
use crate::model::{ConsultationStatus as C, Target};
use uuid::Uuid;

const T0: Timestamp = Timestamp::from_unix_millis(1_767_600_000_000);
const NOW: Timestamp = Timestamp::from_unix_millis(1_767_600_060_000);
const ANNA: UserId = UserId(Uuid::from_u128(0xa));
const BEN: UserId = UserId(Uuid::from_u128(0xb));
const TEAM: TeamId = TeamId(Uuid::from_u128(0x7));
const CALL_ID: ConsultationCallId = ConsultationCallId(Uuid::from_u128(0xc));

fn carla() -> Target {
    Target {
        uri: "sip:carla@contoso.com".into(),
        display_name: "Carla".into(),
        user_id: Some(UserId(Uuid::from_u128(0xca))),
    }
}

fn external() -> Target {
    Target {
        uri: "tel:+41445550199".into(),
        display_name: String::new(),
        user_id: None,
    }
}

/// A task of Anna's (or queued) in `status`, with a consultation call in `consultation`.
fn task(status: TaskStatus, consultation: Option<C>) -> Task {
    Task {
        id: TaskId(Uuid::from_u128(1)),
        team_id: TEAM,
        task_type: TaskType::IncomingCall,
        status,
        priority: Priority::Normal,
        customer: Party {
            uri: "tel:+41445550101".into(),
            display_name: "Mia Weber".into(),
        },
        assigned_user_id: (status != TaskStatus::Queued).then_some(ANNA),
        external_task_id: None,
        description: None,
        created_at: T0,
        queued_at: Some(T0),
        updated_at: T0,
        ended_at: None,
        version: 4,
        consultation_call: consultation.map(|status| ConsultationCall {
            id: ConsultationCallId(Uuid::from_u128(0xd)),
            task_id: TaskId(Uuid::from_u128(1)),
            initiator_user_id: Some(ANNA),
            target: carla(),
            status,
            audio_routes: if status == C::Merged {
                AudioRoutes::ALL
            } else {
                AudioRoutes::CONSULTING
            },
            started_at: T0,
            ended_at: None,
        }),
        transferred_to: None,
        ringing_until: None,
        allowed_actions: Default::default(),
    }
}

/// The fields a row checks after the action.
#[derive(Debug, PartialEq)]
struct After {
    status: TaskStatus,
    assigned: Option<UserId>,
    transferred_to: Option<String>,
    consultation: Option<(C, bool)>,
    ended: bool,
}

fn after(task: &Task) -> After {
    After {
        status: task.status,
        assigned: task.assigned_user_id,
        transferred_to: task.transferred_to.as_ref().map(|t| t.uri.clone()),
        consultation: task
            .consultation_call
            .as_ref()
            .map(|c| (c.status, c.audio_routes == AudioRoutes::ALL)),
        ended: task.ended_at.is_some(),
    }
}

fn offer(user: UserId, membership: Option<bool>) -> ActionInput {
    ActionInput::Offer { user, membership }
}

fn to(target: Target) -> ActionInput {
    ActionInput::Target {
        target,
        consultation_id: Some(CALL_ID),
    }
}

#[test]
fn every_action_changes_the_fields_api_md_says() {
    use TaskAction as A;
    use TaskStatus as S;
    let none = ActionInput::None;
    let carla_uri = Some("sip:carla@contoso.com".to_string());
    #[rustfmt::skip]
    let rows: Vec<(&str, Task, TaskAction, ActionInput, After)> = vec![
        ("offer assigns the user", task(S::Queued, None), A::Offer, offer(BEN, Some(true)),
            After { status: S::Ringing, assigned: Some(BEN), transferred_to: None, consultation: None, ended: false }),
        ("accept keeps the assignment", task(S::Ringing, None), A::Accept, none.clone(),
            After { status: S::Connected, assigned: Some(ANNA), transferred_to: None, consultation: None, ended: false }),
        ("decline takes it back to the queue", task(S::Ringing, None), A::Decline, none.clone(),
            After { status: S::Queued, assigned: None, transferred_to: None, consultation: None, ended: false }),
        ("hold", task(S::Connected, None), A::Hold, none.clone(),
            After { status: S::OnHold, assigned: Some(ANNA), transferred_to: None, consultation: None, ended: false }),
        ("resume", task(S::OnHold, None), A::Resume, none.clone(),
            After { status: S::Connected, assigned: Some(ANNA), transferred_to: None, consultation: None, ended: false }),
        ("transfer records where it went and ends it", task(S::Connected, None), A::Transfer, to(external()),
            After { status: S::Transferred, assigned: Some(ANNA), transferred_to: Some("tel:+41445550199".into()), consultation: None, ended: true }),
        ("terminate ends it", task(S::Queued, None), A::Terminate, none.clone(),
            After { status: S::Terminated, assigned: None, transferred_to: None, consultation: None, ended: true }),
        ("terminate ends an active consultation", task(S::Consulting, Some(C::Connected)), A::Terminate, none.clone(),
            After { status: S::Terminated, assigned: Some(ANNA), transferred_to: None, consultation: Some((C::Ended, false)), ended: true }),
        ("a consultation call starts ringing, agent and consultant only", task(S::OnHold, None), A::ConsultationCall, to(carla()),
            After { status: S::Consulting, assigned: Some(ANNA), transferred_to: None, consultation: Some((C::Ringing, false)), ended: false }),
        ("the consultant answers", task(S::Consulting, Some(C::Ringing)), A::ConsultationAnswered, none.clone(),
            After { status: S::Consulting, assigned: Some(ANNA), transferred_to: None, consultation: Some((C::Connected, false)), ended: false }),
        ("merge: everyone hears everyone", task(S::Consulting, Some(C::Connected)), A::ConsultationMerge, none.clone(),
            After { status: S::Conference, assigned: Some(ANNA), transferred_to: None, consultation: Some((C::Merged, true)), ended: false }),
        ("consultation transfer goes to the consultant", task(S::Consulting, Some(C::Connected)), A::ConsultationTransfer, none.clone(),
            After { status: S::Transferred, assigned: Some(ANNA), transferred_to: carla_uri.clone(), consultation: Some((C::Ended, false)), ended: true }),
        ("leaving a conference leaves it to the consultant", task(S::Conference, Some(C::Merged)), A::ConsultationLeave, none.clone(),
            After { status: S::Transferred, assigned: Some(ANNA), transferred_to: carla_uri, consultation: Some((C::Ended, true)), ended: true }),
        ("ending the consultation goes back to hold", task(S::Consulting, Some(C::Ringing)), A::ConsultationTerminate, none.clone(),
            After { status: S::OnHold, assigned: Some(ANNA), transferred_to: None, consultation: Some((C::Ended, false)), ended: false }),
        ("ending the consultation of a conference goes back to the customer", task(S::Conference, Some(C::Merged)), A::ConsultationTerminate, none.clone(),
            After { status: S::Connected, assigned: Some(ANNA), transferred_to: None, consultation: Some((C::Ended, true)), ended: false }),
        ("the customer leaves a conference: agent and consultant stay", task(S::Conference, Some(C::Merged)), A::ConsultationTerminateCustomerCall, none.clone(),
            After { status: S::Terminated, assigned: Some(ANNA), transferred_to: None, consultation: Some((C::Connected, false)), ended: true }),
        ("the consultation leg after the customer left is ended", task(S::Terminated, Some(C::Connected)), A::ConsultationTerminate, none.clone(),
            After { status: S::Terminated, assigned: Some(ANNA), transferred_to: None, consultation: Some((C::Ended, false)), ended: true }),
        ("audio routes are set in a conference", task(S::Conference, Some(C::Merged)), A::ConsultationAudioRoutes, ActionInput::AudioRoutes(AudioRoutes::CONSULTING),
            After { status: S::Conference, assigned: Some(ANNA), transferred_to: None, consultation: Some((C::Merged, false)), ended: false }),
    ];
    for (case, before, action, input, expected) in rows {
        let next = apply(&before, action, &input, NOW).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(after(&next), expected, "{case}");
        assert_eq!(next.version, before.version + 1, "{case}: version");
        assert_eq!(next.updated_at, NOW, "{case}: updated");
        assert_eq!(
            (next.id, next.queued_at, next.created_at),
            (before.id, before.queued_at, before.created_at),
            "{case}: kept"
        );
    }
}

#[test]
fn a_new_consultation_call_has_its_id_initiator_target_and_start() {
    let next = apply(
        &task(TaskStatus::Connected, None),
        TaskAction::ConsultationCall,
        &to(carla()),
        NOW,
    )
    .expect("allowed");
    let call = next.consultation_call.expect("a consultation call");
    assert_eq!(
        (
            call.id,
            call.initiator_user_id,
            call.target,
            call.started_at,
            call.ended_at
        ),
        (CALL_ID, Some(ANNA), carla(), NOW, None)
    );
}

#[test]
fn ended_at_is_set_once() {
    let mut ended = task(TaskStatus::Terminated, Some(C::Connected));
    ended.ended_at = Some(T0);
    let next = apply(
        &ended,
        TaskAction::ConsultationTerminate,
        &ActionInput::None,
        NOW,
    )
    .expect("allowed");
    assert_eq!(next.ended_at, Some(T0));
    assert_eq!(next.consultation_call.and_then(|c| c.ended_at), Some(NOW));
}

#[test]
fn refusals_name_their_cause_and_change_nothing() {
    let queued = task(TaskStatus::Queued, None);
    assert_eq!(
        apply(&queued, TaskAction::Offer, &offer(BEN, None), NOW),
        Err(Refusal::NotAMember {
            user: BEN,
            team: TEAM
        })
    );
    assert_eq!(
        apply(&queued, TaskAction::Offer, &offer(BEN, Some(false)), NOW),
        Err(Refusal::Blocked {
            user: BEN,
            team: TEAM
        })
    );
    assert!(matches!(
        apply(&queued, TaskAction::Hold, &ActionInput::None, NOW),
        Err(Refusal::NotAllowed(_))
    ));
    // The state machine decides first: offering a ringing task is refused whoever it goes to.
    assert!(matches!(
        apply(
            &task(TaskStatus::Ringing, None),
            TaskAction::Offer,
            &offer(BEN, None),
            NOW
        ),
        Err(Refusal::NotAllowed(_))
    ));
}
