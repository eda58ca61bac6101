//! Retention (issue 23): finished tasks (Transferred, Terminated) are deleted a configurable
//! time after their `EndedAt`. Pure decisions; the repo keeps the time-ordered structure (day
//! buckets of ended tasks, `repo/retention.rs`) and sweeps it in bounded slices.

use crate::model::Task;
use crate::time::Timestamp;

pub const DAY_MILLIS: i64 = 86_400_000;
/// The default retention of finished tasks: 30 days (Spin variable `retention_days`).
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// The default retention of audit entries: a year (Spin variable `audit_retention_days`).
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 365;

/// A retention in days as milliseconds (`None`: 0 days, kept forever).
pub fn days_millis(days: u32) -> Option<i64> {
    (days > 0).then(|| i64::from(days) * DAY_MILLIS)
}

/// The UTC day (days since 1970-01-01) of `at`.
pub fn day_of(at: Timestamp) -> i64 {
    at.unix_millis().div_euclid(DAY_MILLIS)
}

/// Whether every task that ended on `day` is due at `now` for a retention of `millis`.
pub fn day_is_due(day: i64, now: Timestamp, millis: i64) -> bool {
    (day + 1) * DAY_MILLIS + millis <= now.unix_millis()
}

/// What a sweep does with one entry of a day bucket (a task noted as ending).
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Ended longer ago than retention: delete the task.
    Delete,
    /// Nothing to delete (the task is gone, or its end never committed: it is noted again on
    /// the day it does end): drop the entry.
    Drop,
    /// Ended, but not that long ago (its end committed later than it was noted): wait.
    NotYet,
}

/// The verdict on a noted task as stored now.
pub fn verdict(task: Option<&Task>, now: Timestamp, millis: i64) -> Verdict {
    let Some(task) = task else {
        return Verdict::Drop;
    };
    match task.ended_at.filter(|_| task.status.is_final()) {
        None => Verdict::Drop,
        Some(ended) if ended.plus_millis(millis) <= now => Verdict::Delete,
        Some(_) => Verdict::NotYet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TaskStatus;

    const T0: Timestamp = Timestamp::from_unix_millis(1_767_571_200_000); // 2026-01-05 00:00 UTC

    fn days(n: i64) -> i64 {
        n * DAY_MILLIS
    }

    #[test]
    fn a_task_ended_more_than_thirty_days_ago_goes_and_one_ended_less_stays() {
        let retention = days(30);
        let ended = |ago_days: i64, status: TaskStatus| {
            let mut task: Task = serde_json::from_value(serde_json::json!({
                "Id": "00000000-0000-0000-0000-000000000001", "TeamId": "00000000-0000-0000-0000-000000000002",
                "Type": "IncomingCall", "Status": "Queued", "Priority": "Normal",
                "Customer": {"Uri": "tel:+41", "DisplayName": ""}, "AssignedUserId": null, "ExternalTaskId": null,
                "Description": null, "CreatedAt": "2026-01-01T00:00:00.000Z", "QueuedAt": null,
                "UpdatedAt": "2026-01-01T00:00:00.000Z", "EndedAt": null, "Version": 2, "ConsultationCall": null}))
            .expect("a task");
            task.status = status;
            task.ended_at = Some(T0.plus_millis(-days(ago_days)));
            task
        };
        let table = [
            (31, TaskStatus::Terminated, Verdict::Delete),
            (31, TaskStatus::Transferred, Verdict::Delete),
            (30, TaskStatus::Terminated, Verdict::Delete),
            (29, TaskStatus::Terminated, Verdict::NotYet),
            (0, TaskStatus::Terminated, Verdict::NotYet),
            // Noted before a write that did not commit: still open.
            (31, TaskStatus::Connected, Verdict::Drop),
        ];
        for (ago, status, expected) in table {
            let task = ended(ago, status);
            assert_eq!(
                verdict(Some(&task), T0, retention),
                expected,
                "{ago} days, {status:?}"
            );
        }
        assert_eq!(
            verdict(None, T0, retention),
            Verdict::Drop,
            "deleted already"
        );
        // Exactly at the edge: due at EndedAt + 30 days, not a millisecond before.
        let task = ended(30, TaskStatus::Terminated);
        assert_eq!(
            verdict(Some(&task), T0.plus_millis(-1), retention),
            Verdict::NotYet
        );
    }

    #[test]
    fn a_day_is_due_once_its_last_task_is() {
        let day = day_of(T0); // 2026-01-05
        let retention = days(30);
        // Its last moment ends at 2026-01-06 00:00; due 30 days after that.
        assert!(!day_is_due(day, T0.plus_millis(days(31) - 1), retention));
        assert!(day_is_due(day, T0.plus_millis(days(31)), retention));
    }

    #[test]
    fn zero_days_keep_forever() {
        assert_eq!(days_millis(0), None);
        assert_eq!(days_millis(1), Some(DAY_MILLIS));
        assert_eq!(days_millis(365), Some(365 * DAY_MILLIS));
        assert_eq!(
            days_millis(u32::MAX),
            Some(i64::from(u32::MAX) * DAY_MILLIS)
        );
    }
}
