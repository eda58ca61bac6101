//! The audit trail's storage (issue 23): a counter and one write-once entry per place
//! (`audit/count`, `audit/e/{n}`), like a change feed without intents: an entry is written after
//! the change it records succeeded, so appenders never contend (one increment, one write) and
//! every reader sees one order. A place whose writer died between its increment and its write
//! stays empty; readers pass over it once a later entry is older than [`GAP_PASSED_AFTER_MILLIS`].

use super::{decode, encode, Repo};
use crate::repo::RepoError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

const COUNT: &str = "audit/count";
fn entry_key(place: u64) -> String {
    format!("audit/e/{place}")
}
/// How long an empty place may be waited for (its writer is between its two writes).
pub const GAP_PASSED_AFTER_MILLIS: i64 = 10_000;

pub(super) fn layout_samples() -> Vec<String> {
    vec![COUNT.to_string(), entry_key(u64::MAX)]
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

impl Repo<'_> {
    /// Appends `entry` (one increment and one write).
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<(), RepoError> {
        let place = u64::try_from(self.store.increment(COUNT, 1)?).unwrap_or(0);
        self.store.set(&entry_key(place), &encode(entry)?)?;
        Ok(())
    }

    /// The entries after place `after`, at most `limit`, in order, and the cursor to go on from.
    pub fn read_audit(
        &self,
        after: u64,
        limit: u64,
        now: Timestamp,
    ) -> Result<(Vec<AuditEntry>, u64), RepoError> {
        let newest = u64::try_from(self.store.increment(COUNT, 0)?).unwrap_or(0);
        let last = newest.min(after.saturating_add(limit));
        if last <= after {
            return Ok((Vec::new(), after));
        }
        let keys: Vec<String> = (after + 1..=last).map(entry_key).collect();
        let found: Vec<Option<AuditEntry>> = self
            .get_keys(&keys)?
            .into_iter()
            .zip(&keys)
            .map(|(raw, key)| raw.map(|raw| decode(key, &raw)).transpose())
            .collect::<Result<_, _>>()?;
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
