//! The expiry of stored `Idempotency-Key` answers (decisions in [`crate::answer_expiry`]): one
//! bucket per epoch of the records claimed in it, a counter and one write-once entry per claim
//! (`answers/expiry/{epoch}/count`, `…/e/{n}`), written in the batch of the record itself. The
//! sweep's cursor (`answers/expiry/sweep`: an epoch and the next place in it) moves by
//! compare-and-swap; a slice reads at most `max` entries and their stall notes (one batch each)
//! and deletes the records, stall notes, gates and entries in one batch. Due epochs are never
//! read by a request again, so nothing a request writes is deleted (see the module's decisions).

use super::time_buckets::{BucketCursor, TimeBuckets};
use super::{decode, encode, IdempotencySlot, Repo};
use crate::answer_expiry::{epoch_is_due, epoch_of};
use crate::repo::RepoError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

const BUCKETS: TimeBuckets = TimeBuckets {
    prefix: "answers/expiry",
    cursor_key: "answers/expiry/sweep",
};

pub(super) fn layout_samples() -> Vec<String> {
    BUCKETS.layout_samples()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SweepCursor {
    epoch: i64,
    /// The next place to look at in the epoch's bucket (from 1).
    next: u64,
}

impl BucketCursor for SweepCursor {
    fn at(epoch: i64, next: u64) -> Self {
        SweepCursor { epoch, next }
    }
    fn position(&self) -> (i64, u64) {
        (self.epoch, self.next)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ExpiryEntry {
    record: String,
}

/// The part of a stall note the sweep needs: the last gate generation it opened.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StallGeneration {
    #[serde(default)]
    generation: u64,
}

impl Repo<'_> {
    /// The expiry entry of a record about to be written in `epoch` (its counter taken).
    pub(super) fn expiry_entry(
        &self,
        epoch: i64,
        slot: &IdempotencySlot,
    ) -> Result<(String, Vec<u8>), RepoError> {
        let entry_key = BUCKETS.note::<SweepCursor>(self, epoch)?;
        let entry = ExpiryEntry {
            record: slot.record_key().to_string(),
        };
        Ok((entry_key, encode(&entry)?))
    }

    /// One slice of the expiry sweep: at most `max` records of the oldest due epoch; how many
    /// records it deleted.
    pub fn sweep_expired_answers(&self, now: Timestamp, max: u64) -> Result<u64, RepoError> {
        let is_due = |epoch| epoch_is_due(epoch, now);
        let Some(slice) = BUCKETS.next_slice::<SweepCursor>(self, is_due, epoch_of(now), max)?
        else {
            return Ok(0);
        };
        if slice.first > slice.last {
            BUCKETS.finish(self, &slice, slice.first)?;
            return Ok(0);
        }
        let entry_keys = BUCKETS.entry_keys(&slice);
        let mut slots = Vec::new();
        for (raw, key) in self.get_keys(&entry_keys)?.into_iter().zip(&entry_keys) {
            if let Some(raw) = raw {
                let entry: ExpiryEntry = decode(key, &raw)?;
                slots.push(IdempotencySlot::of_record_key(&entry.record, slice.period));
            }
        }
        let stall_keys: Vec<String> = slots.iter().map(|s| s.stall_key().to_string()).collect();
        let stalls = self.get_keys(&stall_keys)?;
        let mut delete: Vec<String> = entry_keys.clone();
        for (slot, stall) in slots.iter().zip(stalls) {
            // A damaged note names no generation beyond the first.
            let generation = stall
                .and_then(|raw| serde_json::from_slice::<StallGeneration>(&raw).ok())
                .map_or(0, |s| s.generation);
            delete.extend(slot.keys_up_to(generation));
        }
        let refs: Vec<&str> = delete.iter().map(String::as_str).collect();
        self.store.delete_many(&refs)?;
        BUCKETS.finish(self, &slice, slice.last + 1)?;
        Ok(slots.len() as u64)
    }
}
