//! Write-once entries in buckets of a time period (a UTC day, a 24-hour epoch), walked in
//! order by one cursor: the structure retention and the expiry of stored answers find their
//! due records through, without scanning. A bucket is a counter and one entry per place
//! (`{prefix}/{period}/count`, `…/e/{n}`); the cursor (a period and the next place in it) moves
//! by compare-and-swap, so two slices at once do the same idempotent work and one moves it.

use super::{encode, Repo, Versioned};
use crate::repo::RepoError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Empty or finished periods a slice passes over at most (each costs one counter read).
const MAX_PERIODS_PER_SLICE: usize = 8;

/// Where a sweep's cursor is (each user keeps its own stored field names).
pub(super) trait BucketCursor: Serialize + DeserializeOwned + Clone + PartialEq {
    fn at(period: i64, next: u64) -> Self;
    /// The period and the next place to look at in it (from 1).
    fn position(&self) -> (i64, u64);
}

/// A cursor by UTC day: the day and the next place in its bucket (from 1), stored as
/// `{Day, Next}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DayCursor {
    day: i64,
    next: u64,
}

impl BucketCursor for DayCursor {
    fn at(day: i64, next: u64) -> Self {
        DayCursor { day, next }
    }
    fn position(&self) -> (i64, u64) {
        (self.day, self.next)
    }
}

/// One family of buckets.
pub(super) struct TimeBuckets {
    pub(super) prefix: &'static str,
    pub(super) cursor_key: &'static str,
}

/// The places of one bucket a slice works on, and the cursor it started from.
pub(super) struct Slice<C> {
    raw: Vec<u8>,
    start: C,
    pub(super) period: i64,
    /// The places to work on (`first..=last`); empty when no due bucket has entries left.
    pub(super) first: u64,
    pub(super) last: u64,
    /// The entries the bucket holds so far.
    pub(super) count: u64,
}

impl TimeBuckets {
    pub(super) fn count_key(&self, period: i64) -> String {
        format!("{}/{period}/count", self.prefix)
    }

    pub(super) fn entry_key(&self, period: i64, n: u64) -> String {
        format!("{}/{period}/e/{n}", self.prefix)
    }

    /// The keys of the entries `slice` works on (none for an empty slice).
    pub(super) fn entry_keys<C>(&self, slice: &Slice<C>) -> Vec<String> {
        (slice.first..=slice.last)
            .map(|n| self.entry_key(slice.period, n))
            .collect()
    }

    pub(super) fn layout_samples(&self) -> Vec<String> {
        vec![
            self.count_key(99_999),
            self.entry_key(99_999, u64::MAX),
            self.cursor_key.to_string(),
        ]
    }

    /// Takes the next place in `period`'s bucket: the key its entry goes under. The first
    /// entry ever noted starts the sweep there (later periods follow in order).
    pub(super) fn note<C: BucketCursor>(
        &self,
        repo: &Repo<'_>,
        period: i64,
    ) -> Result<String, RepoError> {
        let place = u64::try_from(repo.store.increment(&self.count_key(period), 1)?).unwrap_or(0);
        if place == 1 {
            repo.ensure_exists(self.cursor_key, &encode(&C::at(period, 1))?, true)?;
        }
        Ok(self.entry_key(period, place))
    }

    /// Where the next slice works: from the cursor, passes over due buckets that are done
    /// (deleting their counters: nothing is noted in a due period any more) up to the first
    /// due one with entries left, at most `max` of them. `None` before anything was noted.
    pub(super) fn next_slice<C: BucketCursor>(
        &self,
        repo: &Repo<'_>,
        is_due: impl Fn(i64) -> bool,
        current_period: i64,
        max: u64,
    ) -> Result<Option<Slice<C>>, RepoError> {
        let Some(Versioned { raw, value: start }) = repo.read::<C>(self.cursor_key)? else {
            return Ok(None);
        };
        let (mut period, mut next) = start.position();
        let mut count = 0;
        for _ in 0..MAX_PERIODS_PER_SLICE {
            if !is_due(period) {
                break;
            }
            count = u64::try_from(repo.store.increment(&self.count_key(period), 0)?).unwrap_or(0);
            if next <= count || period >= current_period {
                break;
            }
            repo.store.delete_many(&[self.count_key(period).as_str()])?;
            (period, next, count) = (period + 1, 1, 0);
        }
        let last = if is_due(period) {
            count.min(next.saturating_add(max.max(1)) - 1)
        } else {
            next.saturating_sub(1)
        };
        Ok(Some(Slice {
            raw,
            start,
            period,
            first: next,
            last,
            count,
        }))
    }

    /// Moves the cursor to place `next` of the slice's period (lost to a parallel slice: it
    /// did the same work, the next slice goes on from its place).
    pub(super) fn finish<C: BucketCursor>(
        &self,
        repo: &Repo<'_>,
        slice: &Slice<C>,
        next: u64,
    ) -> Result<(), RepoError> {
        let cursor = C::at(slice.period, next);
        if cursor != slice.start {
            let _ = repo
                .store
                .compare_and_swap(self.cursor_key, &slice.raw, &encode(&cursor)?)?;
        }
        Ok(())
    }
}
