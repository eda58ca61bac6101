//! The head of each team index shard's queue: a small document naming the entry the shard
//! serves first, so that `longestwaitingtask` reads sixteen small documents and one task however
//! many tasks wait, instead of every queue entry of the team.
//!
//! How a head stays true without a transaction over two keys:
//! - Every change of a shard's queue counts up the shard's `queue_revision` (in the shard's own
//!   compare-and-swap), so each queue state has its own number.
//! - The request that wrote a shard then *publishes* its head: read the head; if it was taken
//!   from this revision or a newer one, stop; else compare-and-swap it to this revision's best
//!   entry, re-reading after a lost swap. An older state can never replace a newer one, and the
//!   writer of the newest state keeps trying until its head (or a newer one) is stored: once the
//!   writes stop, each head names the best entry of its shard as it is.
//! - A change adds the entries it needs, and publishes, before its task write (see
//!   [`super::tasks`]): when a task becomes queued, its entry is already in a published head.
//!   A request that dies after a shard write and before publishing leaves a head that names an
//!   entry its task contradicts; the reader checks every head entry against its task, repairs the
//!   entry (which publishes again) and reads that one shard's whole queue meanwhile.
//! - A shard without a head (teams stored before heads existed, shards created on first use) is
//!   read whole, and the reader publishes its head for the next request.

use super::task_index::{RingEntry, TeamIndex};
use super::{encode, keys, IndexDoc, QueueEntry, Repo, Versioned, MAX_RECONCILE_ATTEMPTS};
use crate::ids::TeamId;
use crate::repo::{Contended, RepoError};
use serde::{Deserialize, Serialize};

/// The published head of one shard's queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueHead {
    /// The shard's `queue_revision` this head was taken from; `None` until first published
    /// (a head created empty for a shard whose queue it has not seen yet).
    pub revision: Option<u64>,
    /// The entry the shard serves first at that revision.
    pub best: Option<QueueEntry>,
    /// The shard's ringing task that rings out first at that revision (automatic offers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_due: Option<RingEntry>,
}

impl QueueHead {
    /// The head of `shard` as it is.
    pub fn of(shard: &TeamIndex) -> Self {
        QueueHead {
            revision: Some(shard.queue_revision),
            best: shard.best_queued().cloned(),
            ring_due: shard.first_ring_due().cloned(),
        }
    }

    /// The head of a shard created empty together with it.
    pub fn of_empty_shard() -> Self {
        QueueHead::of(&TeamIndex::default())
    }
}

impl Repo<'_> {
    /// Publishes the head of the shard `doc` after this request wrote `shard` (see the module
    /// documentation). Does nothing for user index documents.
    pub(super) fn publish_queue_head(
        &self,
        doc: IndexDoc,
        shard: &TeamIndex,
    ) -> Result<(), RepoError> {
        let IndexDoc::Team(team, number) = doc else {
            return Ok(());
        };
        let key = keys::team_queue_head(team, number);
        let head = QueueHead::of(shard);
        for _ in 0..MAX_RECONCILE_ATTEMPTS {
            let Some(Versioned { raw, value }) = self.read::<QueueHead>(&key)? else {
                // A shard that had no head yet: create it unpublished, behind the creation gate.
                self.ensure_exists(&key, &encode(&QueueHead::default())?, false)?;
                continue;
            };
            if value.revision >= head.revision {
                return Ok(());
            }
            if self.store.compare_and_swap(&key, &raw, &encode(&head)?)? {
                return Ok(());
            }
        }
        Err(RepoError::Contended {
            what: Contended::Index(key.to_string()),
        })
    }

    /// The published heads of a team's shards in one batch read: `None` for a shard whose
    /// head is missing or not published yet.
    pub(super) fn queue_heads(
        &self,
        team: TeamId,
    ) -> Result<Vec<(IndexDoc, Option<QueueHead>)>, RepoError> {
        let keys: Vec<String> = keys::team_queue_heads(team).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut heads = Vec::new();
        for (shard, (key, raw)) in (0..).zip(keys.iter().zip(self.get_many(&refs)?)) {
            let head = match raw {
                Some(raw) => Some(super::decode::<QueueHead>(key, &raw)?),
                None => None,
            };
            let published = head.filter(|h| h.revision.is_some());
            heads.push((IndexDoc::Team(team, shard), published));
        }
        Ok(heads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TaskId;
    use crate::model::Priority;
    use crate::store::{MemoryStore, Store};
    use crate::time::Timestamp;

    fn entry(n: u128, minute: i64) -> QueueEntry {
        QueueEntry {
            task_id: TaskId(uuid::Uuid::from_u128(n)),
            priority: Priority::Normal,
            queued_at: Timestamp::from_unix_millis(1_767_600_000_000 + minute * 60_000),
            sequence: n as i64,
        }
    }

    fn shard(revision: u64, queue: Vec<QueueEntry>) -> TeamIndex {
        TeamIndex {
            queue,
            queue_revision: revision,
            ..TeamIndex::default()
        }
    }

    fn head(store: &MemoryStore, doc: IndexDoc) -> Option<QueueHead> {
        let IndexDoc::Team(team, number) = doc else {
            return None;
        };
        let raw = store.get(&keys::team_queue_head(team, number)).ok()??;
        serde_json::from_slice(&raw).ok()
    }

    #[test]
    fn an_older_queue_state_never_replaces_a_newer_head() {
        let store = MemoryStore::new();
        let repo = Repo::new(&store);
        let doc = IndexDoc::Team(TeamId(uuid::Uuid::from_u128(7)), 3);
        let newer = shard(5, vec![entry(2, 2)]);
        let older = shard(4, vec![entry(1, 1), entry(2, 2)]);
        assert!(repo.publish_queue_head(doc, &newer).is_ok());
        assert!(repo.publish_queue_head(doc, &older).is_ok());
        assert_eq!(
            head(&store, doc),
            Some(QueueHead {
                revision: Some(5),
                best: Some(entry(2, 2)),
                ring_due: None,
            })
        );
        // A newer state replaces it; the head names the best entry, not the first listed.
        let newest = shard(6, vec![entry(3, 9), entry(4, 0), entry(2, 2)]);
        assert!(repo.publish_queue_head(doc, &newest).is_ok());
        assert_eq!(head(&store, doc).and_then(|h| h.best), Some(entry(4, 0)));
    }

    #[test]
    fn a_missing_or_unpublished_head_is_reported_as_unknown() {
        let store = MemoryStore::new();
        let repo = Repo::new(&store);
        let team = TeamId(uuid::Uuid::from_u128(9));
        let unpublished = encode(&QueueHead::default()).unwrap_or_default();
        let published = encode(&QueueHead::of_empty_shard()).unwrap_or_default();
        assert!(store
            .set(&keys::team_queue_head(team, 1), &unpublished)
            .is_ok());
        assert!(store
            .set(&keys::team_queue_head(team, 2), &published)
            .is_ok());
        let heads = repo.queue_heads(team).unwrap_or_default();
        assert_eq!(heads.len(), usize::from(super::super::TEAM_INDEX_SHARDS));
        let known: Vec<IndexDoc> = heads
            .iter()
            .filter(|(_, head)| head.is_some())
            .map(|(doc, _)| *doc)
            .collect();
        assert_eq!(known, vec![IndexDoc::Team(team, 2)]);
    }
}
