//! Agent states × events, written out from issue 20: every start state, every event, the
//! effective state after it (and whether an offer may reserve the agent).

use super::*;
use crate::model::DistributionMode;

const T0: i64 = 1_767_600_000_000;
const WRAP_UP: u32 = 30;
const RESET: u32 = 600;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + seconds * 1000)
}

fn settings(wrap_up_seconds: u32) -> Distribution {
    Distribution {
        mode: DistributionMode::Automatic,
        ring_timeout_seconds: 20,
        wrap_up_seconds,
        not_responding_reset_seconds: RESET,
        ..Distribution::default()
    }
}

fn reservation(id: u128, now: Timestamp) -> Reservation {
    Reservation {
        id: uuid::Uuid::from_u128(id),
        task_id: TaskId(uuid::Uuid::from_u128(900 + id)),
        team_id: TeamId(uuid::Uuid::from_u128(5)),
        at: now,
        ring_until: now.plus_millis(20_000),
    }
}

#[derive(Clone, Copy, Debug)]
enum Start {
    Offline,
    Available,
    Away,
    Busy,
    WrapUp,
    NotResponding,
}

/// An agent in `start` at 100 s (derived states began at 90 s).
fn agent_in(start: Start) -> AgentRecord {
    let mut agent = AgentRecord::new(UserId(uuid::Uuid::from_u128(1)));
    let available = |agent: &mut AgentRecord| agent.choose(ChosenState::Available, None, at(10));
    match start {
        Start::Offline => {}
        Start::Available => available(&mut agent),
        Start::Away => agent.choose(ChosenState::Away, Some("Lunch".into()), at(10)),
        Start::Busy => {
            available(&mut agent);
            assert!(agent.reserve(reservation(1, at(90))));
        }
        Start::WrapUp => {
            available(&mut agent);
            assert!(agent.reserve(reservation(1, at(50))));
            let id = uuid::Uuid::from_u128(1);
            assert!(agent.release(id, Release::Ended, &settings(WRAP_UP), at(90)));
        }
        Start::NotResponding => {
            available(&mut agent);
            assert!(agent.reserve(reservation(1, at(70))));
            let id = uuid::Uuid::from_u128(1);
            assert!(agent.release(id, Release::RingTimeout, &settings(0), at(90)));
        }
    }
    agent
}

#[derive(Clone, Copy, Debug)]
enum Event {
    SetAvailable,
    SetAway,
    SetOffline,
    /// An automatic offer tries to reserve the agent (reservation 2).
    Offer,
    /// The agent accepts: the task stays theirs (nothing changes in the record).
    Accept,
    Decline,
    RingTimeout,
    /// Their task is terminated or transferred, with the given wrap-up time.
    TaskEnds(u32),
    /// Time passes to 1,000 s with nothing else happening.
    TimePasses,
}

/// Applies `event` at 100 s (the reservation to release is the one the agent holds).
fn apply(agent: &mut AgentRecord, event: Event) -> Timestamp {
    let now = at(100);
    let held = agent.reservation.as_ref().map(|r| r.id).unwrap_or_default();
    match event {
        Event::SetAvailable => agent.choose(ChosenState::Available, None, now),
        Event::SetAway => agent.choose(ChosenState::Away, Some("Break".into()), now),
        Event::SetOffline => agent.choose(ChosenState::Offline, None, now),
        Event::Offer => {
            agent.reserve(reservation(2, now));
        }
        Event::Accept => {}
        Event::Decline => {
            agent.release(held, Release::Declined, &settings(WRAP_UP), now);
        }
        Event::RingTimeout => {
            agent.release(held, Release::RingTimeout, &settings(WRAP_UP), now);
        }
        Event::TaskEnds(wrap_up) => {
            agent.release(held, Release::Ended, &settings(wrap_up), now);
        }
        Event::TimePasses => return at(1000),
    }
    now
}

#[test]
fn every_state_under_every_event() {
    use AgentState as S;
    use Event as E;
    use Start as From;
    // (start, event, effective state right after, `Until` right after, may be offered then)
    let table: &[(Start, Event, AgentState, Option<i64>, bool)] = &[
        (From::Offline, E::SetAvailable, S::Available, None, true),
        (From::Offline, E::SetAway, S::Away, None, false),
        (From::Offline, E::Offer, S::Offline, None, false),
        (From::Offline, E::Decline, S::Offline, None, false),
        (From::Offline, E::TimePasses, S::Offline, None, false),
        (From::Available, E::SetAvailable, S::Available, None, true),
        (From::Available, E::SetAway, S::Away, None, false),
        (From::Available, E::SetOffline, S::Offline, None, false),
        (From::Available, E::Offer, S::Busy, None, false),
        (From::Available, E::RingTimeout, S::Available, None, true),
        (From::Available, E::TimePasses, S::Available, None, true),
        (From::Away, E::SetAvailable, S::Available, None, true),
        (From::Away, E::Offer, S::Away, None, false),
        (From::Away, E::TimePasses, S::Away, None, false),
        (From::Busy, E::Offer, S::Busy, None, false),
        (From::Busy, E::Accept, S::Busy, None, false),
        (From::Busy, E::SetAway, S::Busy, None, false),
        (From::Busy, E::SetAvailable, S::Busy, None, false),
        (From::Busy, E::Decline, S::Available, None, true),
        (
            From::Busy,
            E::RingTimeout,
            S::NotResponding,
            Some(100 + 600),
            false,
        ),
        (
            From::Busy,
            E::TaskEnds(WRAP_UP),
            S::WrapUp,
            Some(100 + 30),
            false,
        ),
        (From::Busy, E::TaskEnds(0), S::Available, None, true),
        (From::Busy, E::TimePasses, S::Busy, None, false),
        (From::WrapUp, E::Offer, S::WrapUp, Some(90 + 30), false),
        (From::WrapUp, E::SetAvailable, S::Available, None, true),
        (From::WrapUp, E::SetAway, S::Away, None, false),
        (From::WrapUp, E::TimePasses, S::Available, None, true),
        (
            From::NotResponding,
            E::Offer,
            S::NotResponding,
            Some(90 + 600),
            false,
        ),
        (
            From::NotResponding,
            E::SetAvailable,
            S::Available,
            None,
            true,
        ),
        (From::NotResponding, E::SetAway, S::Away, None, false),
        (
            From::NotResponding,
            E::Decline,
            S::NotResponding,
            Some(90 + 600),
            false,
        ),
        (From::NotResponding, E::TimePasses, S::Available, None, true),
    ];
    for (start, event, state, until, offerable) in table {
        let mut agent = agent_in(*start);
        let now = apply(&mut agent, *event);
        let availability = agent.availability(now);
        let case = format!("{start:?} + {event:?}");
        assert_eq!(availability.state, *state, "{case}");
        assert_eq!(availability.until, until.map(at), "{case}");
        assert_eq!(agent.is_free_at(now), *offerable, "{case}");
    }
}

#[test]
fn busy_with_away_chosen_ends_in_away_after_wrap_up() {
    let mut agent = agent_in(Start::Busy);
    agent.choose(ChosenState::Away, None, at(95));
    let held = uuid::Uuid::from_u128(1);
    assert!(agent.release(held, Release::Ended, &settings(WRAP_UP), at(100)));
    assert_eq!(agent.availability(at(110)).state, AgentState::WrapUp);
    assert_eq!(agent.availability(at(131)).state, AgentState::Away);
    assert!(!agent.is_free_at(at(131)));
}

#[test]
fn longest_idle_order_counts_from_the_last_release_or_wrap_up_end() {
    let available_since_10 = agent_in(Start::Available);
    assert_eq!(available_since_10.free_from(), Some(at(10)));
    let wrap_up = agent_in(Start::WrapUp);
    assert_eq!(wrap_up.free_from(), Some(at(120)));
    assert_eq!(wrap_up.availability(at(200)).since, at(120));
    let mut declined = agent_in(Start::Busy);
    let held = uuid::Uuid::from_u128(1);
    assert!(declined.release(held, Release::Declined, &settings(0), at(100)));
    assert_eq!(declined.free_from(), Some(at(100)));
    // Setting Available again keeps the place in the order.
    let mut again = agent_in(Start::Available);
    again.choose(ChosenState::Available, None, at(100));
    assert_eq!(again.free_from(), Some(at(10)));
}

#[test]
fn only_the_reservation_held_is_released() {
    let mut agent = agent_in(Start::Busy);
    let other = uuid::Uuid::from_u128(7);
    assert!(!agent.release(other, Release::Ended, &settings(0), at(100)));
    assert_eq!(agent.availability(at(100)).state, AgentState::Busy);
    let held = uuid::Uuid::from_u128(1);
    assert!(agent.release(held, Release::Void, &settings(WRAP_UP), at(100)));
    // A void reservation is as if it had never been made: the idle order is kept.
    assert_eq!(agent.free_from(), Some(at(10)));
}

#[test]
fn derived_states_end_exactly_at_their_until() {
    // Wrap-up until 120 s, NotResponding until 690 s (see `agent_in`).
    for (start, until) in [(Start::WrapUp, 120), (Start::NotResponding, 690)] {
        let agent = agent_in(start);
        let before = at(until).plus_millis(-1);
        assert!(!agent.is_free_at(before), "{start:?} 1 ms before");
        assert_ne!(agent.availability(before).state, AgentState::Available);
        assert!(agent.is_free_at(at(until)), "{start:?} at its end");
        assert_eq!(agent.availability(at(until)).state, AgentState::Available);
    }
}
