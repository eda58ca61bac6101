//! The expiry of stored `Idempotency-Key` answers (decisions in [`crate::answer_expiry`]): one
//! bucket per epoch of the records claimed in it, a counter and one write-once entry per claim
//! (`answers/expiry/{epoch}/count`, `…/e/{n}`), written in the batch of the record itself. The
//! sweep's cursor (`answers/expiry/sweep`: an epoch and the next place in it) moves by
//! compare-and-swap; a slice reads at most `max` entries and their stall notes (one batch each)
//! and deletes the records, stall notes, gates and entries in one batch. Due epochs are never
//! read by a request again, so nothing a request writes is deleted (see the module's decisions).

use super::{decode, encode, IdempotencySlot, Repo, Versioned};
use crate::answer_expiry::{epoch_is_due, epoch_of};
use crate::repo::RepoError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Empty epochs a slice passes over at most (each costs one counter read).
const MAX_EPOCHS_PER_SLICE: usize = 8;

fn bucket_count(epoch: i64) -> String {
    format!("answers/expiry/{epoch}/count")
}
fn bucket_entry(epoch: i64, n: u64) -> String {
    format!("answers/expiry/{epoch}/e/{n}")
}
const SWEEP_CURSOR: &str = "answers/expiry/sweep";

pub(super) fn layout_samples() -> Vec<String> {
    vec![
        bucket_count(99_999),
        bucket_entry(99_999, u64::MAX),
        SWEEP_CURSOR.to_string(),
    ]
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SweepCursor {
    epoch: i64,
    /// The next place to look at in the epoch's bucket (from 1).
    next: u64,
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
        let place = u64::try_from(self.store.increment(&bucket_count(epoch), 1)?).unwrap_or(0);
        if place == 1 {
            // The first record ever noted starts the sweep there (later epochs follow in order).
            let first = SweepCursor { epoch, next: 1 };
            self.ensure_exists(SWEEP_CURSOR, &encode(&first)?, true)?;
        }
        let entry = ExpiryEntry {
            record: slot.record_key().to_string(),
        };
        Ok((bucket_entry(epoch, place), encode(&entry)?))
    }

    /// One slice of the expiry sweep: at most `max` records of the oldest due epoch; how many
    /// records it deleted.
    pub fn sweep_expired_answers(&self, now: Timestamp, max: u64) -> Result<u64, RepoError> {
        let Some(Versioned { raw, value: start }) = self.read::<SweepCursor>(SWEEP_CURSOR)? else {
            return Ok(0);
        };
        let mut cursor = start.clone();
        let mut deleted = 0;
        for _ in 0..MAX_EPOCHS_PER_SLICE {
            if !epoch_is_due(cursor.epoch, now) {
                break;
            }
            let count =
                u64::try_from(self.store.increment(&bucket_count(cursor.epoch), 0)?).unwrap_or(0);
            if cursor.next > count {
                // Nothing is written into a due epoch any more: its counter goes too.
                self.store
                    .delete_many(&[bucket_count(cursor.epoch).as_str()])?;
                cursor = SweepCursor {
                    epoch: cursor.epoch + 1,
                    next: 1,
                };
                if cursor.epoch > epoch_of(now) {
                    break;
                }
                continue;
            }
            let last = count.min(cursor.next + max.max(1) - 1);
            let entry_keys: Vec<String> = (cursor.next..=last)
                .map(|n| bucket_entry(cursor.epoch, n))
                .collect();
            let mut slots = Vec::new();
            for (raw, key) in self.get_keys(&entry_keys)?.into_iter().zip(&entry_keys) {
                if let Some(raw) = raw {
                    let entry: ExpiryEntry = decode(key, &raw)?;
                    slots.push(IdempotencySlot::of_record_key(&entry.record, cursor.epoch));
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
            deleted += slots.len() as u64;
            let refs: Vec<&str> = delete.iter().map(String::as_str).collect();
            self.store.delete_many(&refs)?;
            cursor.next = last + 1;
            break;
        }
        if cursor != start {
            // Lost to a parallel slice: it did the same, the next slice goes on from its place.
            let _ = self
                .store
                .compare_and_swap(SWEEP_CURSOR, &raw, &encode(&cursor)?)?;
        }
        Ok(deleted)
    }
}
