//! The sessions record of a deleted user (`sessions/{user}`) outlives the rest of what the user
//! leaves by a day: the deleting write revoked its sessions, and a revoked session is told so
//! ("The session has been revoked.") for [`ENDED_KEPT_MILLIS`] after it ended, as a record
//! kept by a live agent forgets it. So the user's cleanup job notes the user in a day bucket
//! (`leftovers/sessions/{day}/count`, `…/e/{n}`, walked by the cursor
//! `leftovers/sessions-sweep`, see `time_buckets.rs`), and the leftover slices delete the
//! records of users noted on a day that ended a day ago, unless the user was made again.

use super::time_buckets::{DayCursor, TimeBuckets};
use super::{encode, keys, Repo};
use crate::ids::UserId;
use crate::model::session::ENDED_KEPT_MILLIS;
use crate::repo::RepoError;
use crate::retention::{day_is_due, day_of};
use crate::time::Timestamp;

const BUCKETS: TimeBuckets = TimeBuckets {
    prefix: "leftovers/sessions",
    cursor_key: "leftovers/sessions-sweep",
};

pub(super) fn layout_samples() -> Vec<String> {
    BUCKETS.layout_samples()
}

/// The sessions record of `user` and its creation gate.
pub(super) fn sessions_keys(user: UserId) -> [String; 2] {
    let record = keys::agent_sessions(user);
    [keys::creation_gate(&record), record]
}

impl Repo<'_> {
    /// Notes that the sessions record of the deleted `user` goes a day after `now`'s day.
    pub(super) fn note_sessions_to_forget(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), RepoError> {
        let entry_key = BUCKETS.note::<DayCursor>(self, day_of(now))?;
        Ok(self.store.set(&entry_key, &encode(&user)?)?)
    }

    /// One slice, by a caller that holds the directory lease: at most `max` noted users of the
    /// oldest due day; how many keys it deleted.
    pub(super) fn forget_sessions(&self, now: Timestamp, max: u64) -> Result<u64, RepoError> {
        let is_due = |day| day_is_due(day, now, ENDED_KEPT_MILLIS);
        let Some(slice) = BUCKETS.next_slice::<DayCursor>(self, is_due, day_of(now), max)? else {
            return Ok(0);
        };
        if slice.first > slice.last {
            BUCKETS.finish(self, &slice, slice.first)?;
            return Ok(0);
        }
        let entry_keys = BUCKETS.entry_keys(&slice);
        let users: Vec<UserId> = self
            .decode_keys::<UserId>(&entry_keys)?
            .into_iter()
            .flatten()
            .collect();
        let records: Vec<String> = users.iter().map(|user| keys::user(*user)).collect();
        let present = self.get_keys(&records)?;
        let mut delete = entry_keys;
        for (user, record) in users.iter().zip(present) {
            // Made again since: its sessions are its own.
            if record.is_none() {
                delete.extend(sessions_keys(*user));
            }
        }
        let refs: Vec<&str> = delete.iter().map(String::as_str).collect();
        self.store.delete_many(&refs)?;
        BUCKETS.finish(self, &slice, slice.last + 1)?;
        Ok(delete.len() as u64)
    }
}
