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
    type Row = (TaskStatus, Option<u128>, Option<u128>, Option<Release>);
    let table: &[Row] = &[
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

mod interleavings {
    //! Scripted interleavings of an engine that stalls between reserving an agent and writing
    //! the offer, and another request that meets the reservation meanwhile.

    use super::super::*;
    use crate::demo;
    use crate::ids::SequentialIds;
    use crate::model::ChosenState;
    use crate::repo::hook_store::HookStore;

    const NOW: Timestamp = Timestamp::from_unix_millis(1_767_600_000_000);

    /// The demo store, Ben Available, a queued Support task and a reservation of Ben for it
    /// made at `NOW` (the stalled engine's first step).
    fn stalled_after_reserving() -> (HookStore<'static>, TaskId, Reservation) {
        let (store, _) = HookStore::with_demo_data(NOW);
        let repo = Repo::new(&store.inner);
        let queued = repo
            .team_index(demo::SUPPORT)
            .unwrap_or_default()
            .queue
            .first()
            .map(|q| q.task_id)
            .unwrap_or(TaskId(uuid::Uuid::nil()));
        let reservation = Reservation {
            id: uuid::Uuid::from_u128(0xfe),
            task_id: queued,
            team_id: demo::SUPPORT,
            at: NOW,
            ring_until: NOW.plus_millis(20_000),
        };
        let set = repo.update_agent(demo::BEN, NOW, uuid::Uuid::from_u128(0xfd), |r| {
            r.choose(ChosenState::Available, None, NOW.plus_millis(-60_000));
            Ok(r.reserve(reservation.clone()))
        });
        assert!(set.is_ok_and(|r| r.reservation.is_some()));
        (store, queued, reservation)
    }

    fn status(store: &HookStore, task: TaskId) -> Option<TaskStatus> {
        Repo::new(&store.inner)
            .task(task)
            .ok()
            .flatten()
            .map(|s| s.task.status)
    }

    /// Another request repairs the reservation after the grace (fences it in the task, frees
    /// Ben); the stalled engine then resumes and writes its offer: the write must fail, or Ben
    /// would have a task rung at him while his record says he is free for the next one.
    #[test]
    fn a_stalled_offer_after_its_reservation_was_repaired_never_reaches_the_task() {
        let (store, task, reservation) = stalled_after_reserving();
        let repo = Repo::new(&store.inner);
        let mut ids = SequentialIds::new(5);
        // Exactly at the end of the grace (1 ms earlier is left alone: the next test).
        let later = NOW.plus_millis(RESERVATION_GRACE_MILLIS);
        let repaired = Engine::new(&repo, &mut ids, later).repair_agent(demo::BEN);
        assert_eq!(repaired, Ok(true));
        assert!(repo.agent(demo::BEN).is_ok_and(|r| r.reservation.is_none()));
        let mut stalled_ids = SequentialIds::new(6);
        let mut stalled = Engine::new(&repo, &mut stalled_ids, NOW);
        assert_eq!(stalled.offer_task(task, demo::BEN, &reservation), Ok(false));
        assert_eq!(status(&store, task), Some(TaskStatus::Queued));
    }

    /// Within the grace, a reservation its task does not know yet is left alone.
    #[test]
    fn a_fresh_reservation_is_left_to_its_offer() {
        let (store, task, reservation) = stalled_after_reserving();
        let repo = Repo::new(&store.inner);
        let mut ids = SequentialIds::new(5);
        let soon = NOW.plus_millis(RESERVATION_GRACE_MILLIS - 1);
        assert_eq!(
            Engine::new(&repo, &mut ids, soon).repair_agent(demo::BEN),
            Ok(false)
        );
        let mut stalled_ids = SequentialIds::new(6);
        let mut stalled = Engine::new(&repo, &mut stalled_ids, NOW);
        assert_eq!(stalled.offer_task(task, demo::BEN, &reservation), Ok(true));
        assert_eq!(status(&store, task), Some(TaskStatus::Ringing));
        // Once the task holds it, no repair touches it, however late.
        let mut late_ids = SequentialIds::new(7);
        let late = NOW.plus_millis(10 * RESERVATION_GRACE_MILLIS);
        assert_eq!(
            Engine::new(&repo, &mut late_ids, late).repair_agent(demo::BEN),
            Ok(false)
        );
        assert!(repo
            .agent(demo::BEN)
            .is_ok_and(|r| r.reservation.map(|r| r.id) == Some(reservation.id)));
    }
}
