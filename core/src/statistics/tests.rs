//! A scripted morning of one team on the virtual clock, with every figure written out by hand
//! from the definitions (answered = accepted or connected from waiting; abandoned =
//! terminated while queued or ringing; service level = answered within the threshold /
//! (answered + abandoned)).

use super::*;
use crate::model::task::Party;
use uuid::Uuid;

/// 2026-01-05 09:00:00 UTC, a minute's start.
const T0: Timestamp = Timestamp::from_unix_millis(1_767_603_600_000);

fn at(seconds: i64) -> Timestamp {
    T0.plus_millis(seconds * 1000)
}

fn task(n: u128, task_type: TaskType, priority: Priority, created: i64) -> Task {
    Task {
        id: TaskId(Uuid::from_u128(n)),
        team_id: TeamId(Uuid::from_u128(2)),
        task_type,
        status: TaskStatus::Queued,
        priority,
        customer: Party {
            uri: "tel:+41445550101".into(),
            display_name: String::new(),
        },
        assigned_user_id: None,
        external_task_id: None,
        description: None,
        created_at: at(created),
        queued_at: Some(at(created)),
        updated_at: at(created),
        ended_at: None,
        version: 1,
        consultation_call: None,
        transferred_to: None,
        ringing_until: None,
        allowed_actions: Default::default(),
    }
}

/// Feeds the changes to a document in order, as the feed would.
struct Script {
    counts: TeamCounts,
    tasks: BTreeMap<u128, Task>,
    place: u64,
}

impl Script {
    fn new() -> Script {
        Script {
            counts: TeamCounts::default(),
            tasks: BTreeMap::new(),
            place: 0,
        }
    }

    fn create(&mut self, n: u128, task_type: TaskType, priority: Priority, second: i64) {
        let mut made = task(n, task_type, priority, second);
        if task_type == TaskType::OutboundCall {
            made.status = TaskStatus::Dialing;
            made.queued_at = None;
        }
        self.place += 1;
        self.counts.fold(self.place, at(second), &made, None);
        self.tasks.insert(n, made);
    }

    fn change(&mut self, n: u128, kind: &str, status: TaskStatus, second: i64) {
        let Some(current) = self.tasks.get_mut(&n) else {
            panic!("task {n} was created");
        };
        let before = TaskBefore::of(current);
        current.status = status;
        current.version += 1;
        self.place += 1;
        // The kind is what the feed says; the counts go by the statuses before and after.
        let _ = kind;
        self.counts
            .fold(self.place, at(second), current, Some(&before));
    }
}

fn morning() -> Script {
    let mut s = Script::new();
    s.create(1, TaskType::IncomingCall, Priority::Normal, 0);
    s.create(2, TaskType::IncomingCall, Priority::High, 0);
    s.create(3, TaskType::ExternalTask, Priority::Normal, 5);
    s.change(1, "Offer", TaskStatus::Ringing, 10);
    s.change(1, "Accept", TaskStatus::Connected, 15); // answered after 15 s
    s.change(2, "AutomaticOffer", TaskStatus::Ringing, 40);
    s.change(2, "Accept", TaskStatus::Connected, 45); // answered after 45 s
    s.change(3, "Terminate", TaskStatus::Terminated, 50); // abandoned while queued
    s.change(1, "Transfer", TaskStatus::Transferred, 60); // transferred after the answer
    s.create(4, TaskType::IncomingCall, Priority::Normal, 70); // still waiting
    s.create(5, TaskType::OutboundCall, Priority::Normal, 80); // not queued work
    s
}

fn figures(created: u64, answered: u64, abandoned: u64, transferred: u64) -> PeriodFigures {
    PeriodFigures {
        created,
        answered,
        abandoned,
        transferred,
        average_answer_seconds: None,
        p90_answer_seconds: None,
        service_level_percent: None,
        service_level_threshold_seconds: 20,
        answered_within_threshold: 0,
    }
}

#[test]
fn a_scripted_morning_gives_these_exact_figures() {
    let s = morning();
    assert_eq!(s.counts.cursor, 11, "every change counted up to its place");
    let now = at(100);
    let longest = Some((TaskId(Uuid::from_u128(4)), at(70)));
    let stats = answer(&s.counts, now, 20, longest, AgentCounts::default());
    assert_eq!(
        stats.tasks_by_status,
        TasksByStatus {
            queued: 1,
            connected: 1,
            dialing: 1,
            ..TasksByStatus::default()
        }
    );
    assert_eq!(stats.queued_by_priority[&Priority::Normal], 1);
    assert_eq!(stats.queued_by_priority[&Priority::High], 0);
    assert_eq!(stats.queued_by_priority.len(), 9, "every priority listed");
    assert_eq!(stats.average_wait_seconds, Some(30.0));
    assert_eq!(
        stats.longest_waiting,
        Some(LongestWaiting {
            task_id: TaskId(Uuid::from_u128(4)),
            age_seconds: 30.0
        })
    );
    let expected = PeriodFigures {
        average_answer_seconds: Some(30.0),
        p90_answer_seconds: Some(45),
        service_level_percent: Some(33.3),
        answered_within_threshold: 1,
        ..figures(4, 2, 1, 1)
    };
    assert_eq!(stats.today, expected);
    assert_eq!(stats.last15_minutes, expected);
    // The chart: 60 minutes ending with the current one (09:01); 09:00 ended with nobody
    // waiting (the last change then was the abandon), 09:01 has one.
    assert_eq!(stats.last_hour.len(), 60);
    let last_two: Vec<(Timestamp, Option<u64>, Option<f64>)> = stats.last_hour[58..]
        .iter()
        .map(|m| (m.minute, m.waiting, m.service_level_percent))
        .collect();
    assert_eq!(
        last_two,
        vec![(at(0), Some(0), Some(33.3)), (at(60), Some(1), None)]
    );
    assert_eq!(stats.last_hour[57].waiting, None, "before the first change");
}

#[test]
fn the_sliding_window_and_the_day_move_on_with_the_clock() {
    let s = morning();
    // 09:16:00: the 15 minutes are 09:02 to 09:16, nothing happened then.
    let stats = answer(&s.counts, at(16 * 60), 20, None, AgentCounts::default());
    assert_eq!(stats.last15_minutes, figures(0, 0, 0, 0));
    assert_eq!(stats.today.created, 4);
    // 09:14:59: the window is 09:00 to 09:14, everything is in.
    let none = AgentCounts::default;
    let stats = answer(&s.counts, at(14 * 60 + 59), 20, None, none());
    assert_eq!(stats.last15_minutes.created, 4);
    // 09:15:00: 09:00 is out; 09:01 (the transfer at 09:01:00, the create of task 4) still in.
    let stats = answer(&s.counts, at(15 * 60), 20, None, none());
    assert_eq!(stats.last15_minutes, figures(1, 0, 0, 1));
    // The next day (UTC): today starts empty; what is open stays.
    let tomorrow = answer(&s.counts, at(86_400), 20, None, AgentCounts::default());
    assert_eq!(tomorrow.today, figures(0, 0, 0, 0));
    assert_eq!(tomorrow.tasks_by_status.queued, 1);
    assert_eq!(tomorrow.average_wait_seconds, Some(86_330.0));
}

#[test]
fn the_service_level_threshold_is_exact_to_the_millisecond_and_p90_is_nearest_rank() {
    let mut s = Script::new();
    // Ten calls answered after 1 s, 2 s, … 10 s; an eleventh after exactly 20.000 s, a twelfth
    // after 20.001 s.
    for n in 1..=12u128 {
        s.create(n, TaskType::IncomingCall, Priority::Normal, 0);
    }
    for n in 1..=10u128 {
        s.change(n, "Offer", TaskStatus::Ringing, 0);
        s.change(n, "Accept", TaskStatus::Connected, n as i64);
    }
    s.change(11, "Offer", TaskStatus::Ringing, 0);
    s.change(11, "Accept", TaskStatus::Connected, 20);
    let twelve = s.tasks.get_mut(&12).map(|t| {
        t.created_at = T0.plus_millis(-1);
        t.clone()
    });
    assert!(twelve.is_some());
    s.change(12, "Offer", TaskStatus::Ringing, 0);
    s.change(12, "Accept", TaskStatus::Connected, 20);
    let day = answer(&s.counts, at(30), 20, None, AgentCounts::default()).today;
    assert_eq!(day.answered, 12);
    assert_eq!(
        day.answered_within_threshold, 11,
        "20.000 s is within, 20.001 s is not"
    );
    assert_eq!(day.service_level_percent, Some(91.7));
    // Nearest rank: the 11th of 12 (ceil(0.9 × 12)) is the 20.000 s answer.
    assert_eq!(day.p90_answer_seconds, Some(20));
    let strict = answer(&s.counts, at(30), 10, None, AgentCounts::default()).today;
    assert_eq!(strict.answered_within_threshold, 10);
}

#[test]
fn an_organization_unit_sums_its_teams() {
    let a = morning();
    let b = morning();
    let mut sum = a.counts.clone();
    sum.add(&b.counts);
    let stats = answer(&sum, at(100), 20, None, AgentCounts::default());
    assert_eq!(stats.tasks_by_status.queued, 2);
    assert_eq!(stats.today.created, 8);
    assert_eq!(stats.today.answered_within_threshold, 2);
    assert_eq!(stats.today.service_level_percent, Some(33.3));
    assert_eq!(stats.average_wait_seconds, Some(30.0));
}
