//! When the records of revoked and expired API keys go (issue 23). Pure decisions; the repo
//! walks the key slots (`repo/api_key_retention.rs`).
//!
//! A revoked or expired key's record is kept [`GRACE_MILLIS`] (90 days) after it stopped
//! working, so that its callers are told "revoked" or "expired at …" rather than "not valid"
//! and an operator can still extend an expired key; after that, the record, its last use and
//! its slot are deleted and the key answers like one that never existed.

use crate::model::ApiKeyRecord;
use crate::retention::DAY_MILLIS;
use crate::time::Timestamp;

/// How long a key's record stays after it was revoked or expired.
pub const GRACE_MILLIS: i64 = 90 * DAY_MILLIS;

/// What the sweep does with a key's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyVerdict {
    Keep,
    /// Expired past the grace: first marked revoked (by compare-and-swap), so that a `PATCH`
    /// extending its expiry cannot run between the sweep's read and its delete; then deleted.
    RevokeThenDelete,
    /// Revoked past the grace (a revoked key never changes again).
    Delete,
}

/// The verdict on `record` at `now`.
pub fn key_verdict(record: &ApiKeyRecord, now: Timestamp) -> KeyVerdict {
    let past_grace = |at: Timestamp| at.plus_millis(GRACE_MILLIS) <= now;
    match (record.revoked_at, record.expires_at) {
        (Some(revoked), _) if past_grace(revoked) => KeyVerdict::Delete,
        (Some(_), _) => KeyVerdict::Keep,
        (None, Some(expires)) if past_grace(expires) => KeyVerdict::RevokeThenDelete,
        (None, _) => KeyVerdict::Keep,
    }
}

/// The record marked revoked at the moment it stopped working (its expiry), so that the
/// verdict on it is [`KeyVerdict::Delete`] at once.
pub fn revoked_at_expiry(record: &ApiKeyRecord) -> ApiKeyRecord {
    let mut revoked = record.clone();
    revoked.revoked_at = record.expires_at.or(Some(record.created_at));
    revoked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ApiKeyId;

    const T0: Timestamp = Timestamp::from_unix_millis(1_767_571_200_000); // 2026-01-05 00:00 UTC

    fn record(expires: Option<i64>, revoked: Option<i64>) -> ApiKeyRecord {
        ApiKeyRecord {
            id: ApiKeyId(uuid::Uuid::from_u128(7)),
            name: "crm".into(),
            roles: Vec::new(),
            expires_at: expires.map(|d| T0.plus_millis(d * DAY_MILLIS)),
            created_at: T0,
            secret_sha256: String::new(),
            revoked_at: revoked.map(|d| T0.plus_millis(d * DAY_MILLIS)),
        }
    }

    #[test]
    fn a_key_goes_ninety_days_after_it_stopped_working() {
        use KeyVerdict::*;
        // (expires on day, revoked on day, now on day) → verdict
        let table = [
            (None, None, 10_000, Keep),
            (Some(10), None, 99, Keep),
            (Some(10), None, 100, RevokeThenDelete),
            (Some(10), None, 5_000, RevokeThenDelete),
            (None, Some(3), 92, Keep),
            (None, Some(3), 93, Delete),
            // Revoked before it expired: the revocation counts.
            (Some(100), Some(3), 93, Delete),
            // Revoked after it expired (the sweep's own mark): deleted from the expiry on.
            (Some(10), Some(10), 100, Delete),
            (Some(10), Some(50), 100, Keep),
        ];
        for (expires, revoked, now, expected) in table {
            let at = T0.plus_millis(now * DAY_MILLIS);
            assert_eq!(
                key_verdict(&record(expires, revoked), at),
                expected,
                "expires {expires:?}, revoked {revoked:?}, day {now}"
            );
        }
        // To the millisecond: not before the 90 days are over.
        let expired = record(Some(10), None);
        let edge = T0.plus_millis(100 * DAY_MILLIS);
        assert_eq!(key_verdict(&expired, edge.plus_millis(-1)), Keep);
    }

    #[test]
    fn the_sweeps_mark_makes_an_expired_key_deletable_at_once() {
        let expired = record(Some(10), None);
        let now = T0.plus_millis(100 * DAY_MILLIS);
        let marked = revoked_at_expiry(&expired);
        assert_eq!(marked.revoked_at, expired.expires_at);
        assert_eq!(key_verdict(&marked, now), KeyVerdict::Delete);
    }
}
