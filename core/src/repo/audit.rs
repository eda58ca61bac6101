//! The audit trail's storage (issue 23): a counter and one write-once entry per place
//! (`audit/count`, `audit/e/{n}`), like a change feed without intents: an entry is written after
//! the change it records succeeded, so appenders never contend (one increment, one write) and
//! every reader sees one order. A place whose writer died between its increment and its write
//! stays empty; readers pass over it once a later entry is older than [`GAP_PASSED_AFTER_MILLIS`].
//!
//! Entries are kept `audit_retention_days` (default 365): the sweep's cursor (`audit/sweep`: the
//! first place not yet swept) moves over the entries in order by compare-and-swap; a slice reads
//! at most `max` places in one batch and deletes those older than the retention, stopping at the
//! first that is not. Readers start at the cursor, so they never walk over deleted places.

use super::{encode, Repo};
use crate::repo::RepoError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

const COUNT: &str = "audit/count";
const SWEEP_CURSOR: &str = "audit/sweep";
/// Every this many appends, the appender sweeps a slice of this many entries.
const APPEND_SWEEP_EVERY: u64 = 16;
fn entry_key(place: u64) -> String {
    format!("audit/e/{place}")
}
/// How long an empty place may be waited for (its writer is between its two writes).
pub const GAP_PASSED_AFTER_MILLIS: i64 = 10_000;

pub(super) fn layout_samples() -> Vec<String> {
    vec![
        COUNT.to_string(),
        entry_key(u64::MAX),
        SWEEP_CURSOR.to_string(),
    ]
}

/// Who made a change: the admin (token), or an API key (its id and name, never its secret),
/// or an agent's session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Actor {
    /// `Admin`, `ApiKey` or `Session`.
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuditEntry {
    #[serde(default)]
    pub cursor: String,
    pub at: Timestamp,
    pub actor: Actor,
    /// The operation (`PutTeam`, `CreateApiKey`, `SetTeamMemberActive`, …).
    pub action: String,
    /// What it was done to: the request's method and path (no query, no body).
    pub target: String,
    /// The answer's status.
    pub status: u16,
}

/// Where the sweep is: the first place not yet swept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AuditSweep {
    next: u64,
}

impl Repo<'_> {
    /// Appends `entry` (one increment and one write); every 16th append also sweeps a slice of
    /// entries past their retention.
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<(), RepoError> {
        let place = u64::try_from(self.store.increment(COUNT, 1)?).unwrap_or(0);
        self.store.set(&entry_key(place), &encode(entry)?)?;
        if place % APPEND_SWEEP_EVERY == 0 {
            if let Some(millis) = self.audit_retention_millis.get() {
                let _ = self.sweep_audit(entry.at, millis, APPEND_SWEEP_EVERY);
            }
        }
        Ok(())
    }

    /// The first place not yet swept (1 before any sweep).
    fn audit_swept_to(&self) -> Result<Option<super::Versioned<AuditSweep>>, RepoError> {
        self.read::<AuditSweep>(SWEEP_CURSOR)
    }

    /// One slice of the audit sweep: at most `max` entries older than `millis` at `now`,
    /// deleted in order; how many.
    pub fn sweep_audit(&self, now: Timestamp, millis: i64, max: u64) -> Result<u64, RepoError> {
        let cursor = match self.audit_swept_to()? {
            Some(cursor) => cursor,
            None => {
                self.ensure_exists(SWEEP_CURSOR, &encode(&AuditSweep { next: 1 })?, true)?;
                match self.audit_swept_to()? {
                    Some(cursor) => cursor,
                    None => return Ok(0),
                }
            }
        };
        let newest = u64::try_from(self.store.increment(COUNT, 0)?).unwrap_or(0);
        let first = cursor.value.next.max(1);
        let last = newest.min(first.saturating_add(max.max(1)) - 1);
        if last < first {
            return Ok(0);
        }
        let keys: Vec<String> = (first..=last).map(entry_key).collect();
        let found: Vec<Option<AuditEntry>> = self.decode_keys(&keys)?;
        let due = |entry: &AuditEntry| entry.at.plus_millis(millis) <= now;
        let mut next = first;
        let mut delete = Vec::new();
        for (i, entry) in found.iter().enumerate() {
            match entry {
                Some(entry) if due(entry) => delete.push(keys[i].as_str()),
                Some(_) => break,
                // An empty place (its writer died) goes once a later entry is due.
                None if found[i + 1..].iter().flatten().any(due) => {}
                None => break,
            }
            next = first + i as u64 + 1;
        }
        if next == first {
            return Ok(0);
        }
        if !delete.is_empty() {
            self.store.delete_many(&delete)?;
        }
        // Lost to a parallel slice: it did the same deletes, the next slice goes on from its place.
        let _ = self.store.compare_and_swap(
            SWEEP_CURSOR,
            &cursor.raw,
            &encode(&AuditSweep { next })?,
        )?;
        Ok(delete.len() as u64)
    }

    /// The entries after place `after`, at most `limit`, in order, and the cursor to go on from.
    pub fn read_audit(
        &self,
        after: u64,
        limit: u64,
        now: Timestamp,
    ) -> Result<(Vec<AuditEntry>, u64), RepoError> {
        // Swept places are gone: start at the first kept one.
        let swept = self
            .audit_swept_to()?
            .map_or(0, |cursor| cursor.value.next.saturating_sub(1));
        let after = after.max(swept);
        let newest = u64::try_from(self.store.increment(COUNT, 0)?).unwrap_or(0);
        let last = newest.min(after.saturating_add(limit));
        if last <= after {
            return Ok((Vec::new(), after));
        }
        let keys: Vec<String> = (after + 1..=last).map(entry_key).collect();
        let found: Vec<Option<AuditEntry>> = self.decode_keys(&keys)?;
        let mut entries = Vec::new();
        let mut cursor = after;
        for (i, entry) in found.iter().enumerate() {
            match entry {
                Some(entry) => {
                    let mut entry = entry.clone();
                    entry.cursor = (after + 1 + i as u64).to_string();
                    entries.push(entry);
                }
                None => {
                    // Passed over only once a later entry shows its writer had long enough.
                    let passed = found[i + 1..]
                        .iter()
                        .flatten()
                        .any(|later| later.at.plus_millis(GAP_PASSED_AFTER_MILLIS) < now);
                    if !passed {
                        break;
                    }
                }
            }
            cursor = after + 1 + i as u64;
        }
        Ok((entries, cursor))
    }
}
