//! The engine's pure decisions, written out: how a change leaves the agent who held the task.

use super::*;
use crate::model::{Party, Priority, TaskType};

fn held() -> Held {
    Held {
        reservation: uuid::Uuid::from_u128(1),
        user: UserId(uuid::Uuid::from_u128(2)),
    }
}

fn stored(status: TaskStatus, assigned: Option<u128>, reservation: Option<u128>) -> StoredTask {
    let at = Timestamp::from_unix_millis(1_767_600_000_000);
    let task = Task {
        id: TaskId(uuid::Uuid::from_u128(3)),
        team_id: TeamId(uuid::Uuid::from_u128(4)),
        task_type: TaskType::IncomingCall,
        status,
        priority: Priority::Normal,
        customer: Party {
            uri: "tel:+41441234567".into(),
            display_name: "Customer".into(),
        },
        assigned_user_id: assigned.map(|n| UserId(uuid::Uuid::from_u128(n))),
        external_task_id: None,
        description: None,
        created_at: at,
        queued_at: Some(at),
        updated_at: at,
        ended_at: None,
        version: 2,
        consultation_call: None,
        transferred_to: None,
        ringing_until: None,
        allowed_actions: Default::default(),
    };
    let mut stored = StoredTask::new(task, 1);
    stored.reservation = reservation.map(uuid::Uuid::from_u128);
    stored
}

#[test]
fn how_a_change_leaves_the_agent_who_held_the_task() {
    use TaskStatus as S;
    // (task after the change, assigned user after, reservation after) → release
    let table: &[(TaskStatus, Option<u128>, Option<u128>, Option<Release>)] = &[
        // Accept, hold, resume, consultation: still theirs.
        (S::Connected, Some(2), Some(1), None),
        (S::OnHold, Some(2), Some(1), None),
        (S::Consulting, Some(2), Some(1), None),
        (S::Conference, Some(2), Some(1), None),
        (S::Ringing, Some(2), Some(1), None),
        // Decline or ring timeout: back in the queue, the agent is let go.
        (S::Queued, None, None, Some(Release::Declined)),
        // Ended with the reservation still on the task: wrap-up.
        (S::Terminated, Some(2), Some(1), Some(Release::Ended)),
        (S::Transferred, Some(2), Some(1), Some(Release::Ended)),
        // Offered to someone else by hand meanwhile: not theirs any more.
        (S::Ringing, Some(9), None, Some(Release::Declined)),
    ];
    for (status, assigned, reservation, expected) in table {
        let after = stored(*status, *assigned, *reservation);
        assert_eq!(
            release_after(held(), &after),
            *expected,
            "{status:?} at {assigned:?} with {reservation:?}"
        );
    }
}

#[test]
fn only_changes_that_can_end_a_task_at_its_agent_hint_the_pools() {
    let releasing = [
        TaskAction::Decline,
        TaskAction::Terminate,
        TaskAction::Transfer,
        TaskAction::ConsultationTransfer,
        TaskAction::ConsultationLeave,
        TaskAction::ConsultationTerminateCustomerCall,
    ];
    for action in TaskAction::ALL {
        assert_eq!(
            may_release(action),
            releasing.contains(&action),
            "{action:?}"
        );
    }
}
