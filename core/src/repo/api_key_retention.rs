//! The sweep of revoked and expired API keys' records (decisions in
//! [`crate::key_retention`]). Keys are few and listed in numbered slots (`apikey-slot/{n}`), so
//! the sweep walks the slots round and round from a cursor (`apikey-sweep`: the next slot,
//! moved by compare-and-swap): a slice reads at most `max` slots and their records (one batch
//! each), marks expired ones revoked by compare-and-swap, and deletes the records, last uses
//! and slots that are due (with the counters of the key's waiting reads) in one batch. Keys listed only by earlier versions
//! (`index/apikeys`) are not swept.

use super::{decode, encode, keys, Repo};
use crate::ids::ApiKeyId;
use crate::key_retention::{key_verdict, revoked_at_expiry, KeyVerdict};
use crate::model::ApiKeyRecord;
use crate::repo::RepoError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

const SWEEP_CURSOR: &str = "apikey-sweep";

pub(super) fn layout_samples() -> Vec<String> {
    vec![SWEEP_CURSOR.to_string()]
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeySweep {
    /// The next slot to look at (from 1; past the last slot: back to 1).
    next: i64,
}

impl Repo<'_> {
    /// One slice of the key sweep at `now`: at most `max` slots; how many keys it deleted.
    pub fn sweep_api_keys(&self, now: Timestamp, max: u64) -> Result<u64, RepoError> {
        let slots = self.store.increment(keys::API_KEY_SLOTS, 0)?;
        if slots < 1 {
            return Ok(0);
        }
        let cursor = self.read::<KeySweep>(SWEEP_CURSOR)?;
        let start = cursor.as_ref().map_or(1, |c| c.value.next);
        let first = if (1..=slots).contains(&start) {
            start
        } else {
            1
        };
        let width = i64::try_from(max.max(1)).unwrap_or(i64::MAX);
        let last = slots.min(first.saturating_add(width) - 1);
        let slot_keys: Vec<String> = (first..=last).map(keys::api_key_slot).collect();
        let ids: Vec<Option<ApiKeyId>> = self.decode_keys(&slot_keys)?;
        let record_keys: Vec<Option<String>> = ids.iter().map(|id| id.map(keys::api_key)).collect();
        let present: Vec<String> = record_keys.iter().flatten().cloned().collect();
        let mut records = self.get_keys(&present)?.into_iter();
        let mut delete: Vec<String> = Vec::new();
        // The counters of the key's waiting reads go with it.
        let mut waits: Vec<String> = Vec::new();
        let mut deleted = 0;
        for ((slot_key, id), record_key) in slot_keys.iter().zip(&ids).zip(&record_keys) {
            let (Some(id), Some(record_key)) = (id, record_key) else {
                continue;
            };
            let Some(raw) = records.next().flatten() else {
                continue;
            };
            let record: ApiKeyRecord = decode(record_key, &raw)?;
            let due = match key_verdict(&record, now) {
                KeyVerdict::Keep => false,
                KeyVerdict::Delete => true,
                // Lost to a PATCH or a revoke: the next round decides again.
                KeyVerdict::RevokeThenDelete => self.store.compare_and_swap(
                    record_key,
                    &raw,
                    &encode(&revoked_at_expiry(&record))?,
                )?,
            };
            if due {
                delete.extend([
                    record_key.clone(),
                    keys::api_key_last_used(*id),
                    slot_key.clone(),
                ]);
                waits.extend(self.wait_keys_of(&id.to_string())?);
                deleted += 1;
            }
        }
        delete.extend(waits);
        if !delete.is_empty() {
            let refs: Vec<&str> = delete.iter().map(String::as_str).collect();
            self.store.delete_many(&refs)?;
        }
        let next = KeySweep {
            next: if last >= slots { 1 } else { last + 1 },
        };
        // Lost to a parallel slice: it did the same deletes.
        match cursor {
            Some(cursor) => {
                let _ = self
                    .store
                    .compare_and_swap(SWEEP_CURSOR, &cursor.raw, &encode(&next)?)?;
            }
            None => self.ensure_exists(SWEEP_CURSOR, &encode(&next)?, true)?,
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::hook_store::HookStore;
    use crate::retention::DAY_MILLIS;
    use std::cell::Cell;

    const T0: Timestamp = Timestamp::from_unix_millis(1_767_571_200_000);

    fn expiring(n: u128, days: i64) -> ApiKeyRecord {
        ApiKeyRecord {
            id: ApiKeyId(uuid::Uuid::from_u128(n)),
            name: format!("key {n}"),
            roles: Vec::new(),
            expires_at: Some(T0.plus_millis(days * DAY_MILLIS)),
            created_at: T0,
            secret_sha256: String::new(),
            revoked_at: None,
        }
    }

    /// An operator extends an expired key while the sweep is deciding on it (between its read
    /// and its write): the key stays, extended; a key nobody extended goes.
    #[test]
    fn a_key_extended_while_the_sweep_decides_stays() {
        let later = T0.plus_millis(200 * DAY_MILLIS);
        let extended_to = later.plus_millis(365 * DAY_MILLIS);
        let extend_key = keys::api_key(expiring(1, 1).id);
        let patched = Cell::new(false);
        let store = HookStore::new();
        let repo = Repo::new(&store);
        for n in [1, 2] {
            repo.create_api_key(&expiring(n, 1)).expect("a create");
        }
        store.set_hook(|operation, key, inner| {
            if operation == "cas" && key == extend_key && !patched.get() {
                patched.set(true);
                Repo::new(inner)
                    .update_api_key(expiring(1, 1).id, |r| {
                        r.expires_at = Some(extended_to);
                        Ok(true)
                    })
                    .expect("a PATCH meanwhile");
            }
        });
        let deleted = repo.sweep_api_keys(later, 100).expect("a slice");
        assert!(patched.get(), "the PATCH ran inside the slice");
        assert_eq!(deleted, 1);
        let kept = repo.api_key(expiring(1, 1).id).expect("a read");
        assert_eq!(kept.and_then(|r| r.expires_at), Some(extended_to));
        assert_eq!(repo.api_key(expiring(2, 1).id).expect("a read"), None);
    }

    /// A slice reads at most `max` slots and goes round: with 40 due keys and slices of 16,
    /// three slices delete them all.
    #[test]
    fn slices_go_round_the_slots() {
        let store = HookStore::new();
        let repo = Repo::new(&store);
        for n in 0..40 {
            repo.create_api_key(&expiring(n, 1)).expect("a create");
        }
        let later = T0.plus_millis(200 * DAY_MILLIS);
        let counts: Vec<u64> = (0..4)
            .map(|_| repo.sweep_api_keys(later, 16).expect("a slice"))
            .collect();
        // The creates' own slices moved the cursor; wherever it is, a round is three slices.
        assert!(counts.iter().all(|&n| n <= 16), "{counts:?}");
        assert_eq!(counts[..3].iter().sum::<u64>(), 40, "{counts:?}");
        assert_eq!(counts[3], 0);
    }
}
