//! When the stored answers of `Idempotency-Key` requests go (issue 23). Pure decisions; the
//! repo keeps the records (`repo/idempotency_records.rs`) and their expiry buckets
//! (`repo/answer_expiry.rs`).
//!
//! A record is kept 24 hours ([`RETENTION_MILLIS`]). Records live in *epochs* of that length: a
//! request claims its key in the epoch of its time and looks for an earlier answer in that
//! epoch and the one before, which is where every record younger than 24 hours is. Records of
//! older epochs are never read again, so a sweep deletes them without any race with a request
//! that reuses the key (that request writes in its own epoch).

use crate::time::Timestamp;

/// How long a key and its answer are kept.
pub const RETENTION_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// The epoch of `at` (24-hour periods since 1970-01-01 UTC).
pub fn epoch_of(at: Timestamp) -> i64 {
    at.unix_millis().div_euclid(RETENTION_MILLIS)
}

/// The epochs a request at `now` reads: its own and the one before.
pub fn epochs_read(now: Timestamp) -> [i64; 2] {
    let epoch = epoch_of(now);
    [epoch, epoch - 1]
}

/// Whether no request at `now` or later reads the records of `epoch` any more.
pub fn epoch_is_due(epoch: i64, now: Timestamp) -> bool {
    epoch + 2 <= epoch_of(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_unix_millis(1_767_571_200_000); // 2026-01-05 00:00 UTC

    #[test]
    fn a_record_is_read_while_it_is_younger_than_a_day_and_due_only_after() {
        // (claimed at, read at) → the claim's epoch is among those read, and not yet due.
        let hour = 3_600_000;
        for (claimed, ago) in [
            (0, 0),
            (0, RETENTION_MILLIS - 1),
            (23 * hour, 1),
            (23 * hour, RETENTION_MILLIS - 1),
            (RETENTION_MILLIS - 1, RETENTION_MILLIS - 1),
        ] {
            let at = T0.plus_millis(claimed);
            let now = at.plus_millis(ago);
            assert!(epochs_read(now).contains(&epoch_of(at)), "{claimed} +{ago}");
            assert!(!epoch_is_due(epoch_of(at), now), "{claimed} +{ago}");
        }
    }

    #[test]
    fn an_epoch_is_due_once_a_whole_epoch_lies_between_it_and_now() {
        let epoch = epoch_of(T0);
        let cases = [
            (0, false),
            (RETENTION_MILLIS, false),
            (2 * RETENTION_MILLIS - 1, false),
            (2 * RETENTION_MILLIS, true),
            (10 * RETENTION_MILLIS, true),
        ];
        for (later, due) in cases {
            assert_eq!(epoch_is_due(epoch, T0.plus_millis(later)), due, "+{later}");
            // Due means no request reads it any more.
            if due {
                assert!(!epochs_read(T0.plus_millis(later)).contains(&epoch));
            }
        }
    }
}
