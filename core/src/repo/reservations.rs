//! What the distribution engine asks of tasks beyond ordinary changes: which ringing tasks ring
//! out first (from the queue heads), repairing a ring entry, and fencing an agent reservation
//! that never reached its task.

use super::{encode, keys, team_shard, IndexDoc, Repo, RingEntry, StoredTask, Versioned};
use super::{MAX_CAS_ATTEMPTS, MAX_RECONCILE_ATTEMPTS};
use crate::ids::{TaskId, TeamId};
use crate::repo::{Contended, RepoError};

/// How many fenced reservations a task keeps (only a reservation made for this task and never
/// written to it can meet the fence, and it meets it within seconds).
const KEPT_FENCES: usize = 8;

/// What fencing a reservation found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fence {
    /// The task holds the reservation: it did reach the task, nothing was fenced.
    Held,
    /// The reservation can never reach the task now (or the task is gone).
    Fenced,
}

impl Repo<'_> {
    /// The ring entries the heads of a team's shards name (one per shard at most: the one that
    /// rings out first there), earliest first. One batch read (the queue heads).
    pub fn ring_due(&self, team: TeamId) -> Result<Vec<RingEntry>, RepoError> {
        let mut due: Vec<RingEntry> = self
            .queue_heads(team)?
            .into_iter()
            .filter_map(|(_, head)| head.and_then(|h| h.ring_due))
            .collect();
        due.sort_by_key(|r| (r.until, r.task_id));
        Ok(due)
    }

    /// Makes the team shard that lists `task` say what the task says (a ring entry the task
    /// contradicts goes, and the shard's head is published again).
    pub fn repair_ring_entry(&self, team: TeamId, task: TaskId) -> Result<(), RepoError> {
        self.reconcile(IndexDoc::Team(team, team_shard(task)), task)
    }

    /// Makes sure reservation `id` can never be written to `task` (see [`crate::engine`]):
    /// compare-and-swap the task with the id among its fences, unless the task holds it.
    pub fn fence_reservation(&self, task: TaskId, id: uuid::Uuid) -> Result<Fence, RepoError> {
        let key = keys::task(task);
        for _ in 0..MAX_CAS_ATTEMPTS.max(MAX_RECONCILE_ATTEMPTS) {
            let Some(Versioned { raw, mut value }) = self.read::<StoredTask>(&key)? else {
                return Ok(Fence::Fenced);
            };
            if value.reservation == Some(id) {
                return Ok(Fence::Held);
            }
            if value.fenced_reservations.contains(&id) {
                return Ok(Fence::Fenced);
            }
            value.fenced_reservations.push(id);
            let excess = value.fenced_reservations.len().saturating_sub(KEPT_FENCES);
            value.fenced_reservations.drain(..excess);
            if self.store.compare_and_swap(&key, &raw, &encode(&value)?)? {
                return Ok(Fence::Fenced);
            }
        }
        Err(RepoError::Contended {
            what: Contended::Task(task),
        })
    }
}
