//! Team statistics (issue 22): what a supervisor asks first ("how is my queue doing right
//! now?"), as a small document per team kept by folding the team's change feed in order, and
//! the answer computed from it. Pure: the repo reads and writes the document
//! (`repo/statistics.rs`), the API adds the queue head and the members' availability.
//!
//! Why from the feed: the feed has every committed change of the team's tasks exactly once, in
//! one order, whatever instances made them and whichever requests died (see `repo::feeds`).
//! The document carries the feed place it has counted up to, and a fold moves the place and the
//! counts in one compare-and-swap, so a change is counted exactly once: two folders of the same
//! places compute the same document, and one of them wins.

use crate::ids::{TaskId, TeamId};
use crate::model::task::{TaskBefore, TaskType};
use crate::model::{Priority, Task, TaskStatus};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MINUTE_MILLIS: i64 = 60_000;
pub const DAY_MILLIS: i64 = 86_400_000;
/// Minutes kept for the last hour's chart.
pub const MINUTES_KEPT: i64 = 60;
/// The sliding window: the current minute and the 14 before it.
pub const RECENT_MINUTES: i64 = 15;
/// Times to answer above this count as this (seconds).
pub const LONGEST_COUNTED_ANSWER_SECONDS: u32 = 3600;

/// What one period (a minute or a UTC day) saw of the team's queued work.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Period {
    /// Minutes (or days) since 1970-01-01T00:00Z.
    pub index: i64,
    pub created: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub transferred: u64,
    /// The sum of the times to answer of `answered`.
    pub answer_millis: u64,
    /// Answered tasks by time to answer in whole seconds rounded up (so "within T seconds" is
    /// exact for any whole T): seconds → count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answer_seconds: BTreeMap<u32, u64>,
    /// Tasks waiting after the period's last change (minutes only).
    #[serde(default)]
    pub waiting_at_end: u64,
}

impl Period {
    fn new(index: i64) -> Period {
        Period {
            index,
            ..Period::default()
        }
    }

    /// Adds `other`'s counts (the same period of another team).
    fn add(&mut self, other: &Period) {
        self.created += other.created;
        self.answered += other.answered;
        self.abandoned += other.abandoned;
        self.transferred += other.transferred;
        self.answer_millis += other.answer_millis;
        self.waiting_at_end += other.waiting_at_end;
        for (seconds, count) in &other.answer_seconds {
            *self.answer_seconds.entry(*seconds).or_default() += count;
        }
    }
}

/// The document a team's statistics are kept in (`stats/team/{id}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TeamCounts {
    /// The team feed's place counted up to.
    pub cursor: u64,
    /// Open tasks by status (final statuses are not kept).
    pub by_status: BTreeMap<TaskStatus, u64>,
    pub queued_by_priority: BTreeMap<Priority, u64>,
    /// The sum of `QueuedAt` (Unix milliseconds) of the queued tasks: their average wait at
    /// `now` is `now - sum / count`.
    pub queued_at_sum_millis: i64,
    /// The last [`MINUTES_KEPT`] minutes that saw a change, oldest first.
    pub minutes: Vec<Period>,
    /// The current and the previous UTC day, oldest first.
    pub days: Vec<Period>,
}

/// Whether a change's task is counted as queued work (created, answered, abandoned): every
/// task but outbound calls, which never wait in the queue.
fn is_queued_work(task: &Task) -> bool {
    task.task_type != TaskType::OutboundCall
}

fn is_open(status: TaskStatus) -> bool {
    !matches!(status, TaskStatus::Transferred | TaskStatus::Terminated)
}

fn waiting(status: TaskStatus) -> bool {
    matches!(status, TaskStatus::Queued | TaskStatus::Ringing)
}

impl TeamCounts {
    /// Counts the change at feed place `place`: its task after the change and, for every change
    /// but a create, what it was before. Changes must come in feed order.
    pub fn fold(&mut self, place: u64, at: Timestamp, task: &Task, before: Option<&TaskBefore>) {
        self.cursor = place;
        let created = task.version == 1;
        if let Some(before) = before.filter(|_| !created) {
            self.count_now(before.status, before.priority, before.queued_at, -1);
        }
        // An entry written before statistics has no `before`: only creates are counted then.
        if created || before.is_some() {
            self.count_now(task.status, task.priority, task.queued_at, 1);
        }
        let was = before.map(|b| b.status);
        let minute = at.unix_millis().div_euclid(MINUTE_MILLIS);
        let day = at.unix_millis().div_euclid(DAY_MILLIS);
        let waiting_now = self.queued();
        let mut outcome = Outcome::default();
        if is_queued_work(task) {
            outcome = Outcome {
                created: created as u64,
                answered: match was {
                    Some(w) if waiting(w) && task.status == TaskStatus::Connected => {
                        Some((at.unix_millis() - task.created_at.unix_millis()).max(0))
                    }
                    _ => None,
                },
                abandoned: matches!(was, Some(w) if waiting(w))
                    && task.status == TaskStatus::Terminated,
                transferred: was.is_some_and(is_open) && task.status == TaskStatus::Transferred,
            };
        }
        let minute = period_at(&mut self.minutes, minute, MINUTES_KEPT);
        outcome.count_in(minute);
        minute.waiting_at_end = waiting_now;
        outcome.count_in(period_at(&mut self.days, day, 2));
    }

    /// Adds (`sign` 1) or takes away (-1) an open task in the "now" figures.
    fn count_now(
        &mut self,
        status: TaskStatus,
        priority: Priority,
        queued_at: Option<Timestamp>,
        sign: i64,
    ) {
        if !is_open(status) {
            return;
        }
        let change = |count: &mut u64| {
            *count = if sign > 0 {
                *count + 1
            } else {
                count.saturating_sub(1)
            };
        };
        change(self.by_status.entry(status).or_default());
        if status == TaskStatus::Queued {
            change(self.queued_by_priority.entry(priority).or_default());
            let millis = queued_at.map_or(0, Timestamp::unix_millis);
            self.queued_at_sum_millis += sign * millis;
        }
        self.by_status.retain(|_, n| *n > 0);
        self.queued_by_priority.retain(|_, n| *n > 0);
    }

    pub fn queued(&self) -> u64 {
        self.by_status
            .get(&TaskStatus::Queued)
            .copied()
            .unwrap_or(0)
    }

    /// Adds another team's counts (an organization unit's figures are its teams' sums).
    pub fn add(&mut self, other: &TeamCounts) {
        for (status, n) in &other.by_status {
            *self.by_status.entry(*status).or_default() += n;
        }
        for (priority, n) in &other.queued_by_priority {
            *self.queued_by_priority.entry(*priority).or_default() += n;
        }
        self.queued_at_sum_millis += other.queued_at_sum_millis;
        for (mine, theirs) in [
            (&mut self.minutes, &other.minutes),
            (&mut self.days, &other.days),
        ] {
            for period in theirs {
                match mine.iter_mut().find(|p| p.index == period.index) {
                    Some(found) => found.add(period),
                    None => mine.push(period.clone()),
                }
            }
            mine.sort_by_key(|p| p.index);
        }
    }
}

/// What one change adds to its periods.
#[derive(Default)]
struct Outcome {
    created: u64,
    /// The time to answer, if the change answered the task.
    answered: Option<i64>,
    abandoned: bool,
    transferred: bool,
}

impl Outcome {
    fn count_in(&self, period: &mut Period) {
        period.created += self.created;
        period.abandoned += self.abandoned as u64;
        period.transferred += self.transferred as u64;
        if let Some(millis) = self.answered {
            period.answered += 1;
            period.answer_millis += u64::try_from(millis).unwrap_or(0);
            *period
                .answer_seconds
                .entry(answer_bucket(millis))
                .or_default() += 1;
        }
    }
}

/// A time to answer in whole seconds, rounded up, at most [`LONGEST_COUNTED_ANSWER_SECONDS`].
fn answer_bucket(millis: i64) -> u32 {
    let seconds = (millis.max(0) + 999) / 1000;
    u32::try_from(seconds)
        .unwrap_or(u32::MAX)
        .min(LONGEST_COUNTED_ANSWER_SECONDS)
}

/// The period with `index` in `periods` (made if missing; periods more than `kept` behind the
/// newest are dropped). A change older than every kept period is counted in a throwaway one.
fn period_at(periods: &mut Vec<Period>, index: i64, kept: i64) -> &mut Period {
    let position = match periods.iter().position(|p| p.index == index) {
        Some(found) => found,
        None => {
            periods.push(Period::new(index));
            periods.sort_by_key(|p| p.index);
            let newest = periods.last().map_or(index, |p| p.index);
            periods.retain(|p| p.index > newest - kept || p.index == index);
            periods.iter().position(|p| p.index == index).unwrap_or(0)
        }
    };
    if periods.is_empty() {
        periods.push(Period::new(index));
    }
    let last = periods.len() - 1;
    &mut periods[position.min(last)]
}

/// The figures of a period as answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PeriodFigures {
    pub created: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub transferred: u64,
    pub average_answer_seconds: Option<f64>,
    #[serde(rename = "P90AnswerSeconds")]
    pub p90_answer_seconds: Option<u32>,
    pub service_level_percent: Option<f64>,
    pub service_level_threshold_seconds: u32,
    /// Answered within the threshold (the service level's numerator).
    pub answered_within_threshold: u64,
}

/// Rounds to one decimal.
fn one_decimal(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

impl PeriodFigures {
    /// The figures of `period` for a service level target of `threshold` seconds.
    ///
    /// Service level = answered within the threshold / (answered + abandoned), in percent: every
    /// abandoned call counts against it, also one given up within the threshold (the strict
    /// form; null while nothing was answered or abandoned).
    pub fn of(period: &Period, threshold: u32) -> PeriodFigures {
        let within: u64 = period
            .answer_seconds
            .range(..=threshold)
            .map(|(_, n)| n)
            .sum();
        let ended_wait = period.answered + period.abandoned;
        PeriodFigures {
            created: period.created,
            answered: period.answered,
            abandoned: period.abandoned,
            transferred: period.transferred,
            average_answer_seconds: (period.answered > 0).then(|| {
                one_decimal(period.answer_millis as f64 / period.answered as f64 / 1000.0)
            }),
            p90_answer_seconds: percentile(&period.answer_seconds, period.answered, 90),
            service_level_percent: (ended_wait > 0)
                .then(|| one_decimal(100.0 * within as f64 / ended_wait as f64)),
            service_level_threshold_seconds: threshold,
            answered_within_threshold: within,
        }
    }
}

/// The smallest number of seconds within which at least `percent` % of `total` were answered
/// (the nearest-rank percentile of the whole-second histogram).
fn percentile(histogram: &BTreeMap<u32, u64>, total: u64, percent: u64) -> Option<u32> {
    if total == 0 {
        return None;
    }
    let rank = (total * percent).div_ceil(100);
    let mut seen = 0;
    for (seconds, count) in histogram {
        seen += count;
        if seen >= rank {
            return Some(*seconds);
        }
    }
    histogram.keys().next_back().copied()
}

/// Periods summed: those of `periods` whose index is in `from..=to`.
pub fn summed(periods: &[Period], from: i64, to: i64) -> Period {
    let mut sum = Period::new(from);
    for period in periods.iter().filter(|p| (from..=to).contains(&p.index)) {
        sum.add(period);
    }
    sum
}

/// One minute of the last hour's chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MinuteFigures {
    pub minute: Timestamp,
    /// Tasks waiting at the minute's end (at its last change; carried over minutes without
    /// changes; null before the first change counted).
    pub waiting: Option<u64>,
    pub service_level_percent: Option<f64>,
}

/// The last hour, minute by minute, ending with the minute of `now`.
pub fn last_hour(
    minutes: &[Period],
    now: Timestamp,
    threshold: u32,
    waiting_now: u64,
) -> Vec<MinuteFigures> {
    let current = now.unix_millis().div_euclid(MINUTE_MILLIS);
    let mut carried: Option<u64> = minutes
        .iter()
        .rev()
        .find(|p| p.index <= current - MINUTES_KEPT)
        .map(|p| p.waiting_at_end);
    (current - MINUTES_KEPT + 1..=current)
        .map(|index| {
            let found = minutes.iter().find(|p| p.index == index);
            if let Some(period) = found {
                carried = Some(period.waiting_at_end);
            }
            let waiting = if index == current {
                Some(waiting_now)
            } else {
                carried
            };
            MinuteFigures {
                minute: Timestamp::from_unix_millis(index * MINUTE_MILLIS),
                waiting,
                service_level_percent: found
                    .and_then(|p| PeriodFigures::of(p, threshold).service_level_percent),
            }
        })
        .collect()
}

/// The longest waiting task (the one `longestwaitingtask` answers) and its age.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LongestWaiting {
    pub task_id: TaskId,
    pub age_seconds: f64,
}

/// Members of the team by availability, and how many are blocked in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentCounts {
    pub available: u64,
    pub busy: u64,
    pub wrap_up: u64,
    pub not_responding: u64,
    pub away: u64,
    pub offline: u64,
    pub blocked: u64,
}

impl AgentCounts {
    pub fn count(&mut self, state: crate::model::AgentState, blocked: bool) {
        use crate::model::AgentState as S;
        let slot = match state {
            S::Available => &mut self.available,
            S::Busy => &mut self.busy,
            S::WrapUp => &mut self.wrap_up,
            S::NotResponding => &mut self.not_responding,
            S::Away => &mut self.away,
            S::Offline => &mut self.offline,
        };
        *slot += 1;
        self.blocked += blocked as u64;
    }

    pub fn add(&mut self, other: &AgentCounts) {
        self.available += other.available;
        self.busy += other.busy;
        self.wrap_up += other.wrap_up;
        self.not_responding += other.not_responding;
        self.away += other.away;
        self.offline += other.offline;
        self.blocked += other.blocked;
    }
}

/// Open tasks by status, every status listed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TasksByStatus {
    pub queued: u64,
    pub ringing: u64,
    pub dialing: u64,
    pub connected: u64,
    pub on_hold: u64,
    pub consulting: u64,
    pub conference: u64,
}

impl TasksByStatus {
    fn of(counts: &BTreeMap<TaskStatus, u64>) -> TasksByStatus {
        let n = |s: TaskStatus| counts.get(&s).copied().unwrap_or(0);
        TasksByStatus {
            queued: n(TaskStatus::Queued),
            ringing: n(TaskStatus::Ringing),
            dialing: n(TaskStatus::Dialing),
            connected: n(TaskStatus::Connected),
            on_hold: n(TaskStatus::OnHold),
            consulting: n(TaskStatus::Consulting),
            conference: n(TaskStatus::Conference),
        }
    }
}

/// `GET /v1.0/teams/{t}/statistics` (and, summed, an organization unit's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statistics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_unit_id: Option<crate::ids::OrganizationUnitId>,
    pub as_of: Timestamp,
    pub tasks_by_status: TasksByStatus,
    /// Queued tasks by priority (every priority listed).
    pub queued_by_priority: BTreeMap<Priority, u64>,
    pub longest_waiting: Option<LongestWaiting>,
    /// The average time the queued tasks have waited so far (null while none waits).
    pub average_wait_seconds: Option<f64>,
    pub agents: AgentCounts,
    pub today: PeriodFigures,
    pub last15_minutes: PeriodFigures,
    pub last_hour: Vec<MinuteFigures>,
}

/// The answer from the counts at `now`, with the service level target `threshold`, the
/// longest waiting task (its id and `QueuedAt`) and the members' counts.
pub fn answer(
    counts: &TeamCounts,
    now: Timestamp,
    threshold: u32,
    longest: Option<(TaskId, Timestamp)>,
    agents: AgentCounts,
) -> Statistics {
    let queued = counts.queued();
    let mut by_priority: BTreeMap<Priority, u64> = Priority::ALL.iter().map(|p| (*p, 0)).collect();
    by_priority.extend(counts.queued_by_priority.iter().map(|(p, n)| (*p, *n)));
    let average_wait_seconds = (queued > 0).then(|| {
        let average_queued_at = counts.queued_at_sum_millis as f64 / queued as f64;
        one_decimal(((now.unix_millis() as f64 - average_queued_at) / 1000.0).max(0.0))
    });
    let minute = now.unix_millis().div_euclid(MINUTE_MILLIS);
    let day = now.unix_millis().div_euclid(DAY_MILLIS);
    Statistics {
        team_id: None,
        organization_unit_id: None,
        as_of: now,
        tasks_by_status: TasksByStatus::of(&counts.by_status),
        queued_by_priority: by_priority,
        longest_waiting: longest.map(|(task_id, queued_at)| LongestWaiting {
            task_id,
            age_seconds: one_decimal(
                ((now.unix_millis() - queued_at.unix_millis()).max(0)) as f64 / 1000.0,
            ),
        }),
        average_wait_seconds,
        agents,
        today: PeriodFigures::of(&summed(&counts.days, day, day), threshold),
        last15_minutes: PeriodFigures::of(
            &summed(&counts.minutes, minute - RECENT_MINUTES + 1, minute),
            threshold,
        ),
        last_hour: last_hour(&counts.minutes, now, threshold, queued),
    }
}

#[cfg(test)]
mod tests;
