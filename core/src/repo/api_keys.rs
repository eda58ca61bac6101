//! API key records, their listing and their last use.

use super::{decode, encode, keys, Repo};
use crate::error::ApiError;
use crate::ids::ApiKeyId;
use crate::model::ApiKeyRecord;
use crate::time::Timestamp;

impl Repo<'_> {
    // ---- API keys -------------------------------------------------------------------

    pub fn api_key(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, ApiError> {
        Ok(self.read(&keys::api_key(id))?.map(|v| v.value))
    }

    pub fn create_api_key(&self, record: &ApiKeyRecord) -> Result<(), ApiError> {
        self.ensure_exists(keys::API_KEY_INDEX, b"[]", true)?;
        self.update::<Vec<ApiKeyId>, _>(keys::API_KEY_INDEX, |ids| {
            ids.push(record.id);
            Ok(true)
        })?;
        Ok(self
            .store
            .set(&keys::api_key(record.id), &encode(record)?)?)
    }

    pub fn update_api_key<F>(
        &self,
        id: ApiKeyId,
        change: F,
    ) -> Result<Option<ApiKeyRecord>, ApiError>
    where
        F: FnMut(&mut ApiKeyRecord) -> Result<bool, ApiError>,
    {
        self.update(&keys::api_key(id), change)
    }

    /// Removes a revoked key from the listing (the record stays, marked revoked, so that
    /// requests with it are told it was revoked rather than unknown).
    pub fn unlist_api_key(&self, id: ApiKeyId) -> Result<(), ApiError> {
        self.update::<Vec<ApiKeyId>, _>(keys::API_KEY_INDEX, |ids| {
            let before = ids.len();
            ids.retain(|k| *k != id);
            Ok(ids.len() != before)
        })?;
        Ok(())
    }

    pub fn api_key_ids(&self) -> Result<Vec<ApiKeyId>, ApiError> {
        Ok(self
            .read(keys::API_KEY_INDEX)?
            .map(|v| v.value)
            .unwrap_or_default())
    }

    pub fn touch_api_key(&self, id: ApiKeyId, now: Timestamp) -> Result<(), ApiError> {
        Ok(self
            .store
            .set(&keys::api_key_last_used(id), &encode(&now)?)?)
    }

    /// A key's record and its last use, in one batch read.
    pub fn api_key_and_last_use(
        &self,
        id: ApiKeyId,
    ) -> Result<(Option<ApiKeyRecord>, Option<Timestamp>), ApiError> {
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

    pub fn api_key_last_used(&self, id: ApiKeyId) -> Result<Option<Timestamp>, ApiError> {
        Ok(self.read(&keys::api_key_last_used(id))?.map(|v| v.value))
    }
}
