//! Agents' availability records and each team's pool of idle agents, the two documents the
//! distribution engine (see [`crate::engine`]) decides on.
//!
//! The record (`agent/{userId}`) is the truth: it says what the agent chose and which task they
//! are reserved for, and every change of it goes through compare-and-swap. The pool of a team
//! (`dist/idle/{teamId}/{shard}`, sixteen documents by user id, read in one batch) lists the
//! agents who may be free and from when, so that choosing the longest-idle member costs the
//! same for 10 and for 5,000 members. The pool follows the record as the task indexes follow
//! the task: an entry a change will need is added before the record write, and after the
//! write every pool document of the agent's teams is reconciled (read the document, then the
//! record, set the entry from the record, bump the revision, compare-and-swap). So a pool never
//! lacks a free agent once the writes stop; an extra or outdated entry is repaired when the
//! engine meets it, because the engine always checks the record before it offers.

use super::feeds::{attempt_change_id, FeedId, Intent, Subject, AVAILABILITY_KIND};
use super::{decode, encode, keys, Repo, Versioned, MAX_CAS_ATTEMPTS, MAX_RECONCILE_ATTEMPTS};
use crate::ids::{TeamId, UserId};
use crate::model::AgentRecord;
use crate::repo::{Contended, RepoError};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The idle pool of a team is split into this many documents by user id.
pub const IDLE_POOL_SHARDS: u8 = 16;

/// The pool shard that lists `user`.
pub fn idle_pool_shard(user: UserId) -> u8 {
    (user.0.as_u128() % u128::from(IDLE_POOL_SHARDS)) as u8
}

/// One agent who may be free for offers from `From` on (their place in the longest-idle order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdleEntry {
    pub user_id: UserId,
    pub from: Timestamp,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdlePool {
    /// Bumped by every write, so that a reconcile decided on an older record cannot win.
    revision: u64,
    idle: Vec<IdleEntry>,
}

impl IdlePool {
    /// Sets what the pool says of `user`; true if that changed anything.
    fn set(&mut self, user: UserId, from: Option<Timestamp>) -> bool {
        let before = self.idle.iter().find(|e| e.user_id == user).map(|e| e.from);
        if before == from {
            return false;
        }
        self.idle.retain(|e| e.user_id != user);
        if let Some(from) = from {
            self.idle.push(IdleEntry {
                user_id: user,
                from,
            });
        }
        true
    }
}

impl Repo<'_> {
    /// The agent's record (a user who never set a state is Offline), with its bytes for
    /// compare-and-swap when it is stored.
    fn agent_versioned(&self, user: UserId) -> Result<Option<Versioned<AgentRecord>>, RepoError> {
        self.read::<AgentRecord>(&keys::agent(user))
    }

    pub fn agent(&self, user: UserId) -> Result<AgentRecord, RepoError> {
        Ok(self
            .agent_versioned(user)?
            .map(|v| v.value)
            .unwrap_or_else(|| AgentRecord::new(user)))
    }

    /// The records of several agents in one batch read, in the order asked.
    pub fn agents(&self, users: &[UserId]) -> Result<Vec<AgentRecord>, RepoError> {
        let keys: Vec<String> = users.iter().map(|u| keys::agent(*u)).collect();
        let mut records = Vec::with_capacity(users.len());
        for ((user, key), raw) in users.iter().zip(&keys).zip(self.get_keys(&keys)?) {
            records.push(match raw {
                Some(raw) => decode(key, &raw)?,
                None => AgentRecord::new(*user),
            });
        }
        Ok(records)
    }

    /// Read-modify-write of an agent's record through compare-and-swap with retry; `change`
    /// is re-run on the current record after a lost race and returns whether it changed
    /// anything (nothing is written otherwise). Returns the record as it is now.
    ///
    /// Every write is a change in the user's feed (`Kind` [`AVAILABILITY_KIND`], the
    /// availability just after it at `at`), placed before the write and decided like a task's
    /// change: the record carries the id of the change that made its revision (one id per
    /// attempt from `id_base`).
    pub fn update_agent<F>(
        &self,
        user: UserId,
        at: Timestamp,
        id_base: Uuid,
        mut change: F,
    ) -> Result<AgentRecord, RepoError>
    where
        F: FnMut(&mut AgentRecord) -> Result<bool, RepoError>,
    {
        let key = keys::agent(user);
        for attempt in 0..MAX_CAS_ATTEMPTS {
            let Some(Versioned { raw, value: before }) = self.agent_versioned(user)? else {
                // First state of this user: created once, behind the gate, then changed.
                self.ensure_exists(&key, &encode(&AgentRecord::new(user))?, false)?;
                continue;
            };
            let mut after = before.clone();
            if !change(&mut after)? {
                return Ok(after);
            }
            after.revision = before.revision + 1;
            let change = attempt_change_id(id_base, attempt);
            after.change = Some(change);
            after.fenced.clear();
            let intent = Intent {
                kind: AVAILABILITY_KIND.to_string(),
                subject: Subject::Agent {
                    user_id: user,
                    revision: after.revision,
                    availability: after.availability(at),
                },
                change,
                after_change: before.change,
                at,
            };
            let placed = self.append_intents(&[FeedId::User(user)], &intent, Vec::new())?;
            if !placed.voided && self.store.compare_and_swap(&key, &raw, &encode(&after)?)? {
                self.feed_upkeep(&placed, at);
                return Ok(after);
            }
        }
        Err(RepoError::Contended {
            what: Contended::Record(key),
        })
    }

    /// The idle entries of a team's pool (all shards, one batch read), earliest first.
    pub fn idle_pool(&self, team: TeamId) -> Result<Vec<IdleEntry>, RepoError> {
        let keys: Vec<String> = (0..IDLE_POOL_SHARDS)
            .map(|shard| keys::idle_pool(team, shard))
            .collect();
        let mut idle = Vec::new();
        for (key, raw) in keys.iter().zip(self.get_keys(&keys)?) {
            if let Some(raw) = raw {
                idle.extend(decode::<IdlePool>(key, &raw)?.idle);
            }
        }
        idle.sort_by_key(|e| (e.from, e.user_id));
        Ok(idle)
    }

    /// Before a record write that makes `user` free from `from`: their entry in the pools of
    /// `teams` (written only where it differs).
    pub fn add_to_idle_pools(
        &self,
        teams: &[TeamId],
        user: UserId,
        from: Timestamp,
    ) -> Result<(), RepoError> {
        let shard = idle_pool_shard(user);
        for team in teams {
            let key = keys::idle_pool(*team, shard);
            let change = |pool: &mut IdlePool| {
                let changed = pool.set(user, Some(from));
                if changed {
                    pool.revision += 1;
                }
                Ok(changed)
            };
            if self.update::<IdlePool, _>(&key, change)?.is_none() {
                self.ensure_exists(&key, &encode(&IdlePool::default())?, false)?;
                self.update::<IdlePool, _>(&key, change)?;
            }
        }
        Ok(())
    }

    /// Takes `user` out of `team`'s pool (blocked there, or no member any more).
    pub fn remove_idle_entry(&self, team: TeamId, user: UserId) -> Result<(), RepoError> {
        let key = keys::idle_pool(team, idle_pool_shard(user));
        self.update::<IdlePool, _>(&key, |pool| {
            let changed = pool.set(user, None);
            if changed {
                pool.revision += 1;
            }
            Ok(changed)
        })?;
        Ok(())
    }

    /// After a write of `user`'s record: makes their entry in the pools of `teams` say what the
    /// record says now (see the module documentation for why this order cannot lose an entry).
    pub fn reconcile_idle_pools(&self, teams: &[TeamId], user: UserId) -> Result<(), RepoError> {
        for team in teams {
            self.reconcile_idle_entry(*team, user)?;
        }
        Ok(())
    }

    /// [`Repo::reconcile_idle_pools`] for one team: the pool document first, then the record
    /// (from the store, never read ahead), then compare-and-swap.
    pub fn reconcile_idle_entry(&self, team: TeamId, user: UserId) -> Result<(), RepoError> {
        let key = keys::idle_pool(team, idle_pool_shard(user));
        for _ in 0..MAX_RECONCILE_ATTEMPTS {
            let Some(Versioned {
                raw,
                value: mut pool,
            }) = self.read::<IdlePool>(&key)?
            else {
                let record_key = keys::agent(user);
                let free = match self.store.get(&record_key)? {
                    Some(raw) => decode::<AgentRecord>(&record_key, &raw)?.free_from(),
                    None => None,
                };
                if free.is_none() {
                    // No pool yet and nothing to add to it.
                    return Ok(());
                }
                self.ensure_exists(&key, &encode(&IdlePool::default())?, false)?;
                continue;
            };
            let record_key = keys::agent(user);
            let from = match self.store.get(&record_key)? {
                Some(raw) => decode::<AgentRecord>(&record_key, &raw)?.free_from(),
                None => None,
            };
            pool.set(user, from);
            pool.revision += 1;
            if self.store.compare_and_swap(&key, &raw, &encode(&pool)?)? {
                return Ok(());
            }
        }
        Err(RepoError::Contended {
            what: Contended::Index(key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChosenState;
    use crate::store::MemoryStore;

    fn user(n: u128) -> UserId {
        UserId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn the_pool_follows_the_record_and_lists_the_earliest_first() {
        let store = MemoryStore::new();
        let repo = Repo::new(&store);
        let team = TeamId(uuid::Uuid::from_u128(77));
        let at = |s: i64| Timestamp::from_unix_millis(1_767_600_000_000 + s * 1000);
        for (n, second) in [(1, 30), (2, 10), (3, 20)] {
            let set = |r: &mut AgentRecord| {
                r.choose(ChosenState::Available, None, at(second));
                Ok(true)
            };
            let record = repo.update_agent(user(n), at(second), uuid::Uuid::from_u128(n), set);
            let from = record.ok().and_then(|r| r.free_from());
            assert_eq!(from, Some(at(second)));
            assert!(repo.add_to_idle_pools(&[team], user(n), at(second)).is_ok());
            assert!(repo.reconcile_idle_pools(&[team], user(n)).is_ok());
        }
        let order: Vec<UserId> = repo
            .idle_pool(team)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.user_id)
            .collect();
        assert_eq!(order, vec![user(2), user(3), user(1)]);
        // Away: the reconcile after the write takes the entry out.
        let away = |r: &mut AgentRecord| {
            r.choose(ChosenState::Away, None, at(40));
            Ok(true)
        };
        assert!(repo
            .update_agent(user(2), at(40), uuid::Uuid::from_u128(40), away)
            .is_ok());
        assert!(repo.reconcile_idle_pools(&[team], user(2)).is_ok());
        let left: Vec<UserId> = repo
            .idle_pool(team)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.user_id)
            .collect();
        assert_eq!(left, vec![user(3), user(1)]);
    }
}
