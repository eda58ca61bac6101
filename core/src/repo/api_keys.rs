//! API key records, their listing and their last use.

use super::{decode, encode, keys, Repo};
use crate::ids::ApiKeyId;
use crate::model::ApiKeyRecord;
use crate::repo::RepoError;
use crate::time::Timestamp;

/// Slots a create sweeps.
const CREATE_SWEEPS: u64 = 16;

impl Repo<'_> {
    // ---- API keys -------------------------------------------------------------------

    pub fn api_key(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, RepoError> {
        Ok(self.read(&keys::api_key(id))?.map(|v| v.value))
    }

    /// Writes the record, then lists it in a numbered slot of its own. Nothing here reads
    /// and rewrites a shared document, so parallel creates cannot lose one another (a shared
    /// list would first have to be created, and Spin's SQLite store has no create-if-absent).
    /// Then sweeps a slice of [`CREATE_SWEEPS`] slots, so the slots' records stay bounded by
    /// the creates themselves.
    pub fn create_api_key(&self, record: &ApiKeyRecord) -> Result<(), RepoError> {
        self.store
            .set(&keys::api_key(record.id), &encode(record)?)?;
        let slot = self.store.increment(keys::API_KEY_SLOTS, 1)?;
        self.store
            .set(&keys::api_key_slot(slot), &encode(&record.id)?)?;
        // The key exists now; a failed sweep leaves its work to the next slice.
        let _ = self.sweep_api_keys(record.created_at, CREATE_SWEEPS);
        Ok(())
    }

    pub fn update_api_key<F>(
        &self,
        id: ApiKeyId,
        change: F,
    ) -> Result<Option<ApiKeyRecord>, RepoError>
    where
        F: FnMut(&mut ApiKeyRecord) -> Result<bool, RepoError>,
    {
        self.update(&keys::api_key(id), change)
    }

    /// Every key not revoked, with its last use: the keys of the slots handed out and of the
    /// list older versions kept, in three batch reads. A revoked key stays in its slot (its
    /// record says it is revoked); a slot whose create died before writing it is skipped.
    pub fn listed_api_keys(&self) -> Result<Vec<(ApiKeyRecord, Option<Timestamp>)>, RepoError> {
        let slots = self.store.increment(keys::API_KEY_SLOTS, 0)?;
        let mut slot_keys: Vec<String> = (1..=slots).map(keys::api_key_slot).collect();
        slot_keys.push(keys::API_KEY_INDEX.to_string());
        let mut ids: Vec<ApiKeyId> = Vec::new();
        for (key, raw) in slot_keys.iter().zip(self.get_keys(&slot_keys)?) {
            let Some(raw) = raw else { continue };
            if key == keys::API_KEY_INDEX {
                ids.extend(decode::<Vec<ApiKeyId>>(key, &raw)?);
            } else {
                ids.push(decode(key, &raw)?);
            }
        }
        ids.sort();
        ids.dedup();
        let record_keys: Vec<(String, String)> = ids
            .iter()
            .map(|id| (keys::api_key(*id), keys::api_key_last_used(*id)))
            .collect();
        let refs: Vec<&str> = record_keys
            .iter()
            .flat_map(|(record, used)| [record.as_str(), used.as_str()])
            .collect();
        let values = self.get_many(&refs)?;
        let mut listed = Vec::new();
        for ((record_key, _), pair) in record_keys.iter().zip(values.chunks(2)) {
            let Some(raw) = &pair[0] else { continue };
            let record: ApiKeyRecord = decode(record_key, raw)?;
            // A damaged last-use time only loses the time, never the key.
            let used = pair[1]
                .as_ref()
                .and_then(|raw| serde_json::from_slice(raw).ok());
            if record.revoked_at.is_none() {
                listed.push((record, used));
            }
        }
        Ok(listed)
    }

    pub fn touch_api_key(&self, id: ApiKeyId, now: Timestamp) -> Result<(), RepoError> {
        Ok(self
            .store
            .set(&keys::api_key_last_used(id), &encode(&now)?)?)
    }

    /// A key's record and its last use, in one batch read.
    pub fn api_key_and_last_use(
        &self,
        id: ApiKeyId,
    ) -> Result<(Option<ApiKeyRecord>, Option<Timestamp>), RepoError> {
        let (record_key, used_key) = (keys::api_key(id), keys::api_key_last_used(id));
        let mut values = self.get_many(&[&record_key, &used_key])?.into_iter();
        let (raw_record, raw_used) = (values.next().flatten(), values.next().flatten());
        let record = raw_record
            .map(|raw| decode(&record_key, &raw))
            .transpose()?;
        // A damaged last-use time only loses the time, never the request.
        let last_used = raw_used.and_then(|raw| serde_json::from_slice(&raw).ok());
        Ok((record, last_used))
    }

    pub fn api_key_last_used(&self, id: ApiKeyId) -> Result<Option<Timestamp>, RepoError> {
        Ok(self.read(&keys::api_key_last_used(id))?.map(|v| v.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::hook_store::HookStore;
    use crate::store::Store;
    use crate::time::Timestamp;
    use std::cell::Cell;

    fn record(n: u128) -> ApiKeyRecord {
        ApiKeyRecord {
            id: ApiKeyId(uuid::Uuid::from_u128(n)),
            name: format!("key {n}"),
            roles: Vec::new(),
            expires_at: None,
            created_at: Timestamp::from_unix_millis(1_767_600_000_000),
            secret_sha256: String::new(),
            revoked_at: None,
        }
    }

    fn listed(store: &dyn crate::store::Store) -> Vec<ApiKeyId> {
        let mut ids: Vec<ApiKeyId> = Repo::new(store)
            .listed_api_keys()
            .unwrap_or_default()
            .into_iter()
            .map(|(record, _)| record.id)
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn keys_listed_by_earlier_versions_stay_listed_until_revoked() {
        let store = crate::store::MemoryStore::new();
        let repo = Repo::new(&store);
        for n in [1, 2] {
            store
                .set(
                    &keys::api_key(record(n).id),
                    &encode(&record(n)).unwrap_or_default(),
                )
                .expect("a stored record");
        }
        let old_list = encode(&vec![record(1).id, record(2).id]).unwrap_or_default();
        store
            .set(keys::API_KEY_INDEX, &old_list)
            .expect("the old list");
        repo.create_api_key(&record(3)).expect("a new key");
        repo.update_api_key(record(2).id, |r| {
            r.revoked_at = Some(r.created_at);
            Ok(true)
        })
        .expect("a revoke");
        assert_eq!(listed(&store), vec![record(1).id, record(3).id]);
    }

    /// Parallel Spin instances: a create stalls before one of its writes (its instance is
    /// not scheduled) while other creates and a revoke run to the end; at every write.
    /// Found live: the list document's creation gate let a waiting creator write an empty
    /// list, and the stalled winner's own empty list then erased the keys made meanwhile.
    #[test]
    fn a_create_that_stalls_at_any_write_loses_no_key_made_meanwhile() {
        let writes = {
            let count = Cell::new(0);
            let store = HookStore::new();
            store.set_hook(|operation, _key, _inner| {
                if operation != "get" {
                    count.set(count.get() + 1);
                }
            });
            Repo::new(&store)
                .create_api_key(&record(1))
                .expect("a create");
            count.get()
        };
        assert!(writes >= 2, "{writes}");
        for stall_at in 1..=writes {
            let seen = Cell::new(0);
            let store = HookStore::new();
            store.set_hook(|operation, _key, inner| {
                if operation == "get" {
                    return;
                }
                seen.set(seen.get() + 1);
                if seen.get() == stall_at {
                    let other = Repo::new(inner);
                    for n in [2, 3] {
                        other
                            .create_api_key(&record(n))
                            .expect("a create meanwhile");
                    }
                    other
                        .update_api_key(record(3).id, |r| {
                            r.revoked_at = Some(r.created_at);
                            Ok(true)
                        })
                        .expect("a revoke meanwhile");
                }
            });
            Repo::new(&store)
                .create_api_key(&record(1))
                .expect("the stalled create");
            assert_eq!(
                listed(&store),
                vec![record(1).id, record(2).id],
                "stalled before write {stall_at} of {writes}"
            );
        }
    }
}
