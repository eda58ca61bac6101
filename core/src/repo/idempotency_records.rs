//! Where the records of `Idempotency-Key`s live (the decisions are in [`crate::idempotency`]):
//! one record per scope, key and epoch ([`crate::answer_expiry`]), its creation gate (an
//! increment per generation), and a note of since when a gate's winner has written no record.
//! Records of the versions before epochs (`idempotency/{hash}`) are still read, never written.

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
    /// The epoch its record belongs to (`None`: a record of the versions before epochs).
    epoch: Option<i64>,
}

impl IdempotencySlot {
    /// The places of `key` in `scope` in `epoch` (the key is hashed: it is the client's text).
    pub fn in_epoch(scope: &str, key: &str, epoch: i64) -> Self {
        let hash = sha256_hex(format!("{scope}\n{key}").as_bytes());
        Self::at(keys::idempotency(&format!("{epoch}/{hash}")), Some(epoch))
    }

    /// Where the versions before epochs kept `key` in `scope` (read only).
    pub fn before_epochs(scope: &str, key: &str) -> Self {
        let hash = sha256_hex(format!("{scope}\n{key}").as_bytes());
        Self::at(keys::idempotency(&hash), None)
    }

    fn at(record: String, epoch: Option<i64>) -> Self {
        let stall = format!("{record}/stall");
        IdempotencySlot {
            record,
            stall,
            epoch,
        }
    }

    /// The record's key (what an expiry entry names).
    pub(super) fn record_key(&self) -> &str {
        &self.record
    }

    /// The stall note's key.
    pub(super) fn stall_key(&self) -> &str {
        &self.stall
    }

    /// The keys of a record of a due epoch, given the last generation its stall note names.
    pub(super) fn keys_up_to(&self, generation: u64) -> Vec<String> {
        let mut all = vec![self.record.clone(), self.stall.clone()];
        all.extend((0..=generation).map(|n| self.gate(n)));
        all
    }

    /// The slot of a record key written by [`IdempotencySlot::in_epoch`].
    pub(super) fn of_record_key(record: &str, epoch: i64) -> Self {
        Self::at(record.to_string(), Some(epoch))
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

/// What a request with a key finds: the record and stall note of its own epoch, and the
/// records of earlier places that may still hold an answer.
pub(crate) struct FoundRecords<R, S> {
    pub record: Option<Versioned<R>>,
    pub stall: Option<S>,
    pub earlier: Vec<R>,
}

impl Repo<'_> {
    /// The record and the stall note of `slot` and the records of `earlier` slots, in one
    /// batch read. A damaged note reads as none (it only costs a takeover's wait).
    pub(crate) fn idempotency_records<R: DeserializeOwned, S: DeserializeOwned>(
        &self,
        slot: &IdempotencySlot,
        earlier: &[IdempotencySlot],
    ) -> Result<FoundRecords<R, S>, RepoError> {
        let mut wanted = vec![slot.record.clone(), slot.stall.clone()];
        wanted.extend(earlier.iter().map(|e| e.record.clone()));
        let mut found = self.get_keys(&wanted)?.into_iter();
        let (record, stall) = (found.next().flatten(), found.next().flatten());
        let record = match record {
            Some(raw) => Some(Versioned {
                value: decode(&slot.record, &raw)?,
                raw,
            }),
            None => None,
        };
        let mut older = Vec::new();
        for (raw, slot) in found.zip(earlier) {
            if let Some(raw) = raw {
                older.push(decode(&slot.record, &raw)?);
            }
        }
        Ok(FoundRecords {
            record,
            stall: stall.and_then(|raw| serde_json::from_slice(&raw).ok()),
            earlier: older,
        })
    }

    /// Whether this request is the first through the gate of `generation`.
    pub(crate) fn pass_idempotency_gate(
        &self,
        slot: &IdempotencySlot,
        generation: u64,
    ) -> Result<bool, RepoError> {
        self.first_time(&slot.gate(generation))
    }

    /// Writes the record of a request that passed the gate (nobody else writes it before),
    /// with the entry that lets the sweep find it once its epoch is due.
    pub(crate) fn write_idempotency_record<R: Serialize>(
        &self,
        slot: &IdempotencySlot,
        record: &R,
    ) -> Result<(), RepoError> {
        let mut writes = vec![(slot.record.clone(), encode(record)?)];
        if let Some(epoch) = slot.epoch {
            writes.push(self.expiry_entry(epoch, slot)?);
        }
        self.set_all(&writes)
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
