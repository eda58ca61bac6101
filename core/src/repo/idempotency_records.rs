//! Where the records of `Idempotency-Key`s live (the decisions are in [`crate::idempotency`]):
//! one record per scope and key, its creation gate (an increment per generation), and a note of
//! since when a gate's winner has written no record.

use super::{decode, encode, keys, Repo, Versioned};
use crate::digest::sha256_hex;
use crate::repo::RepoError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The stored places of one scope's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencySlot {
    record: String,
    stall: String,
}

impl IdempotencySlot {
    /// The places of `key` in `scope` (the key is hashed: it is the client's text).
    pub fn of(scope: &str, key: &str) -> Self {
        let record = keys::idempotency(&sha256_hex(format!("{scope}\n{key}").as_bytes()));
        let stall = format!("{record}/stall");
        IdempotencySlot { record, stall }
    }

    pub(super) fn layout_samples(&self) -> Vec<String> {
        vec![
            self.record.clone(),
            self.stall.clone(),
            self.gate(0),
            self.gate(u64::MAX),
        ]
    }

    /// Names this slot's record as the one the request's answer goes to (see
    /// `repo/personal_data.rs`: the places of a task's snapshots name it).
    pub(crate) fn answer_here(&self, repo: &Repo) {
        repo.note_answer_record(&self.record);
    }

    /// The gate of one generation (generation 0 is the gate earlier versions used).
    fn gate(&self, generation: u64) -> String {
        match generation {
            0 => keys::creation_gate(&self.record),
            n => format!("{}/{n}", keys::creation_gate(&self.record)),
        }
    }
}

impl Repo<'_> {
    /// The record and the stall note of `slot`, in one batch read. A damaged note reads as none
    /// (it only costs a takeover's wait).
    pub(crate) fn idempotency_record<R: DeserializeOwned, S: DeserializeOwned>(
        &self,
        slot: &IdempotencySlot,
    ) -> Result<(Option<Versioned<R>>, Option<S>), RepoError> {
        let mut found = self
            .get_keys(&[slot.record.clone(), slot.stall.clone()])?
            .into_iter();
        let (record, stall) = (found.next().flatten(), found.next().flatten());
        let record = match record {
            Some(raw) => Some(Versioned {
                value: decode(&slot.record, &raw)?,
                raw,
            }),
            None => None,
        };
        Ok((
            record,
            stall.and_then(|raw| serde_json::from_slice(&raw).ok()),
        ))
    }

    /// Whether this request is the first through the gate of `generation`.
    pub(crate) fn pass_idempotency_gate(
        &self,
        slot: &IdempotencySlot,
        generation: u64,
    ) -> Result<bool, RepoError> {
        self.first_time(&slot.gate(generation))
    }

    /// Writes the record of a request that passed the gate (nobody else writes it before).
    pub(crate) fn write_idempotency_record<R: Serialize>(
        &self,
        slot: &IdempotencySlot,
        record: &R,
    ) -> Result<(), RepoError> {
        Ok(self.store.set(&slot.record, &encode(record)?)?)
    }

    /// Replaces the record as read (`raw`) by `record`; false if it changed meanwhile.
    pub(crate) fn swap_idempotency_record<R: Serialize>(
        &self,
        slot: &IdempotencySlot,
        raw: &[u8],
        record: &R,
    ) -> Result<bool, RepoError> {
        Ok(self
            .store
            .compare_and_swap(&slot.record, raw, &encode(record)?)?)
    }

    /// Notes since when the gate's winner has written no record (a plain write: any request's
    /// note is as good).
    pub(crate) fn note_idempotency_stall<S: Serialize>(
        &self,
        slot: &IdempotencySlot,
        stall: &S,
    ) -> Result<(), RepoError> {
        Ok(self.store.set(&slot.stall, &encode(stall)?)?)
    }

    /// Changes the record through compare-and-swap with retry (see [`Repo::update`]).
    pub(crate) fn update_idempotency_record<R, F>(
        &self,
        slot: &IdempotencySlot,
        change: F,
    ) -> Result<Option<R>, RepoError>
    where
        R: Serialize + DeserializeOwned,
        F: FnMut(&mut R) -> Result<bool, RepoError>,
    {
        self.update(&slot.record, change)
    }
}
