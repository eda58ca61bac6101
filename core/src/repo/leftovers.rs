//! What deleted teams and users leave behind, and its deletion in slices.
//!
//! A directory write deletes a team's or user's records, lookups and lists itself; what
//! requests made for the entity stays: a team's index shards and queue heads, its statistics,
//! its idle pools, a user's index, agent record and the counters of their sessions' waiting
//! reads (each with the creation gate it was made through; the sessions record a day later,
//! `leftover_sessions.rs`), and the change feed, up to [`FEED_KEPT_EVENTS`] places of three keys
//! each. Too much for one request, so the write *notes* a job per deleted entity (a counter
//! and one write-once entry each: `leftovers/count`, `leftovers/e/{n}`), before it deletes
//! anything, and the jobs are done in order from one cursor (`leftovers/cursor`), in slices
//! of a fixed number of store operations: one by every directory write and one by every
//! admin sweep (`POST /admin/v1.0/retention/sweep`).
//!
//! Every slice runs under the directory lease, so no directory write runs between a slice's
//! check that the entity is still deleted and its deletes: a team or user made again with the
//! same id (a deletion undone) cancels its job and keeps what is left of its feed. A job noted
//! by a write that died before its deletes finds the entity still there and is dropped the
//! same way.

use super::feeds::FEED_KEPT_EVENTS;
use super::{encode, keys, FeedId, Place, Repo, Versioned, IDLE_POOL_SHARDS};
use crate::ids::{TeamId, UserId};
use crate::repo::RepoError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

const JOB_COUNT: &str = "leftovers/count";
const CURSOR: &str = "leftovers/cursor";
/// Places a feed's upkeep may have left behind the ones it keeps (an upkeep that failed).
const RETIRED_MARGIN: u64 = 64;
/// Deleted users' sessions records a slice deletes at most (see `leftover_sessions.rs`).
const SESSIONS_PER_SLICE: u64 = 100;
/// Steps (a job's fixed keys, a run of places, a job's end) one slice takes at most.
const MAX_STEPS_PER_SLICE: usize = 8;

fn job_key(n: u64) -> String {
    format!("leftovers/e/{n}")
}

pub(super) fn layout_samples() -> Vec<String> {
    vec![JOB_COUNT.to_string(), CURSOR.to_string(), job_key(u64::MAX)]
}

/// A team or user a directory write deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Deleted {
    Team(TeamId),
    User(UserId),
}

/// One job: the entity, and the lookup keys of its names (SIP URI, UPN) when it was deleted,
/// deleted with the rest if they still lead to it (another entity may have the name now).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Job {
    pub(super) entity: Deleted,
    #[serde(default)]
    pub(super) names: Vec<String>,
}

impl Deleted {
    fn feed(self) -> FeedId {
        match self {
            Deleted::Team(team) => FeedId::Team(team),
            Deleted::User(user) => FeedId::User(user),
        }
    }

    /// The directory record whose absence says the entity is (still) deleted.
    fn record_key(self) -> String {
        match self {
            Deleted::Team(team) => keys::team(team),
            Deleted::User(user) => keys::user(user),
        }
    }

    /// Every key outside the feed that requests made for the entity, with their creation
    /// gates, and the head document the feed kept under its own key in earlier versions.
    fn fixed_keys(self) -> Vec<String> {
        let made: Vec<String> = match self {
            Deleted::Team(team) => keys::team_index_shards(team)
                .chain(keys::team_queue_heads(team))
                .chain((0..IDLE_POOL_SHARDS).map(|shard| keys::idle_pool(team, shard)))
                .chain([keys::team_statistics(team)])
                .collect(),
            // Its sessions record goes a day later (`leftover_sessions.rs`).
            Deleted::User(user) => vec![keys::user_index(user), keys::agent(user)],
        };
        // The directory's own records, which the write deletes unless it died first.
        let directory = match self {
            Deleted::Team(team) => vec![keys::team_members(team)],
            Deleted::User(user) => vec![keys::user_teams(user), keys::conversation_as(user)],
        };
        let legacy_head = match self {
            Deleted::Team(team) => keys::team_feed(team),
            Deleted::User(user) => keys::user_feed(user),
        };
        let gates: Vec<String> = made.iter().map(|key| keys::creation_gate(key)).collect();
        made.into_iter()
            .chain(gates)
            .chain(directory)
            .chain([legacy_head])
            .collect()
    }
}

/// Where the cleanup is: the job at hand and, once its fixed keys are gone, its feed's places.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Cursor {
    /// The job at hand (from 1).
    next: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feed: Option<Places>,
}

/// The feed places a job still deletes: `next..=last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Places {
    next: Place,
    last: Place,
}

/// What a slice does next with the job at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// The entity is there (made again, or its write died before deleting it): keep all.
    Cancel,
    /// Delete the fixed keys and find the feed's places.
    Fixed,
    /// Delete the feed's places `first..=last`.
    Places { first: Place, last: Place },
    /// Delete the feed's own keys and the job: the entity is gone without a trace.
    Finish,
}

/// The next step for a job, from what is done of it, whether the entity is there again and
/// how many places the slice may still delete (at least one is always allowed).
fn next_step(feed: Option<Places>, entity_exists: bool, budget: u64) -> Step {
    if entity_exists {
        return Step::Cancel;
    }
    match feed {
        None => Step::Fixed,
        Some(places) if places.next > places.last => Step::Finish,
        Some(places) => Step::Places {
            first: places.next,
            last: places
                .last
                .min(places.next.saturating_add(budget.max(1) - 1)),
        },
    }
}

/// The oldest place a feed whose newest is `newest` may still hold: the ones it keeps, and a
/// margin for retirements an upkeep left undone.
fn oldest_held_place(newest: Place) -> Place {
    newest
        .saturating_sub(FEED_KEPT_EVENTS + RETIRED_MARGIN)
        .max(1)
}

/// What one slice did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LeftoverReport {
    /// Keys deleted (absent ones included: a delete does not say whether there was a key).
    pub keys_deleted: u64,
    /// Deleted teams and users whose leftovers are all gone now.
    pub entities_cleaned: u64,
    /// Whether a job is still waiting (another slice would find work).
    pub more: bool,
}

impl Repo<'_> {
    /// Notes a job for each of `deleted`, before the write that deletes them: one increment
    /// and one batch write.
    pub(super) fn note_deleted(&self, deleted: &[Job]) -> Result<(), RepoError> {
        if deleted.is_empty() {
            return Ok(());
        }
        let added = i64::try_from(deleted.len()).unwrap_or(i64::MAX);
        let last = u64::try_from(self.store.increment(JOB_COUNT, added)?).unwrap_or(0);
        let first = last.saturating_sub(deleted.len() as u64) + 1;
        let entries: Vec<(String, Vec<u8>)> = (first..=last)
            .zip(deleted)
            .map(|(n, entity)| Ok((job_key(n), encode(entity)?)))
            .collect::<Result<_, RepoError>>()?;
        let refs: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_slice()))
            .collect();
        Ok(self.store.set_many(&refs)?)
    }

    /// One slice of the cleanup for an operator's scheduler, under the directory lease taken
    /// for it (`holder`). While an admin write holds the lease the slice does nothing and
    /// says there may be more: that write does a slice of its own.
    pub fn sweep_leftovers(
        &self,
        now: Timestamp,
        holder: uuid::Uuid,
        max_places: u64,
    ) -> Result<LeftoverReport, RepoError> {
        match self.take_directory_lease(now, holder) {
            Ok(()) => {}
            Err(RepoError::DirectoryBusy) => {
                return Ok(LeftoverReport {
                    more: true,
                    ..Default::default()
                })
            }
            Err(other) => return Err(other),
        }
        let report = self.clean_leftovers(now, max_places);
        self.release_directory_lease(holder)?;
        report
    }

    /// One slice of the cleanup, by a caller that holds the directory lease: at most
    /// `max_places` feed places and [`MAX_STEPS_PER_SLICE`] steps, each a read or two and one
    /// batch delete.
    pub(super) fn clean_leftovers(
        &self,
        now: Timestamp,
        max_places: u64,
    ) -> Result<LeftoverReport, RepoError> {
        let mut report = LeftoverReport {
            keys_deleted: self.forget_sessions(now, SESSIONS_PER_SLICE)?,
            ..Default::default()
        };
        let jobs = u64::try_from(self.store.increment(JOB_COUNT, 0)?).unwrap_or(0);
        let stored = self.read::<Cursor>(CURSOR)?;
        let start = stored.as_ref().map_or(
            Cursor {
                next: 1,
                feed: None,
            },
            |c| c.value.clone(),
        );
        let mut cursor = start.clone();
        let mut budget = max_places;
        let mut at_hand: Option<(u64, Job, bool)> = None;
        for _ in 0..MAX_STEPS_PER_SLICE {
            if cursor.next > jobs || budget == 0 {
                break;
            }
            let key = job_key(cursor.next);
            // The job and whether its entity is there are read once per job: under the lease
            // no directory write changes them while the slice runs.
            if at_hand.as_ref().map(|(n, ..)| *n) != Some(cursor.next) {
                let Some(job) = self.read_value::<Job>(&key)? else {
                    // Its write died between the increment and the batch: nothing to clean.
                    cursor = Cursor {
                        next: cursor.next + 1,
                        feed: None,
                    };
                    continue;
                };
                let exists = self.store.get(&job.entity.record_key())?.is_some();
                at_hand = Some((cursor.next, job, exists));
            }
            let Some((_, Job { entity, names }, exists)) = &at_hand else {
                break;
            };
            let (entity, exists) = (*entity, *exists);
            match next_step(cursor.feed, exists, budget) {
                Step::Cancel => {
                    self.store.delete(&key)?;
                    cursor = Cursor {
                        next: cursor.next + 1,
                        feed: None,
                    };
                }
                Step::Fixed => {
                    let mut fixed = entity.fixed_keys();
                    fixed.extend(self.names_leading_to(entity, names)?);
                    if let Deleted::User(user) = entity {
                        fixed.extend(self.wait_keys_of(&super::agent_scope(user))?);
                        self.note_sessions_to_forget(user, now)?;
                    }
                    report.keys_deleted += self.delete_keys(&fixed)?;
                    let newest = self.newest_place(entity.feed())?;
                    cursor.feed = Some(Places {
                        next: oldest_held_place(newest),
                        last: newest,
                    });
                }
                Step::Places { first, last } => {
                    report.keys_deleted +=
                        self.delete_keys(&entity.feed().place_keys(first, last))?;
                    budget = budget.saturating_sub(last - first + 1);
                    cursor.feed = Some(Places {
                        next: last + 1,
                        last: cursor.feed.map_or(last, |p| p.last),
                    });
                }
                Step::Finish => {
                    let mut own = entity.feed().own_keys();
                    own.push(key);
                    report.keys_deleted += self.delete_keys(&own)?;
                    report.entities_cleaned += 1;
                    cursor = Cursor {
                        next: cursor.next + 1,
                        feed: None,
                    };
                }
            }
        }
        report.more = cursor.next <= jobs;
        if cursor != start {
            self.move_cursor(stored, &cursor)?;
        }
        Ok(report)
    }

    /// Those of the lookup keys `names` that still lead to `entity` (one batch read).
    fn names_leading_to(
        &self,
        entity: Deleted,
        names: &[String],
    ) -> Result<Vec<String>, RepoError> {
        let id = match entity {
            Deleted::Team(team) => team.0,
            Deleted::User(user) => user.0,
        };
        let leads_to: Vec<Option<uuid::Uuid>> = self.decode_keys(names)?;
        Ok(names
            .iter()
            .zip(leads_to)
            .filter(|(_, to)| *to == Some(id))
            .map(|(name, _)| name.clone())
            .collect())
    }

    fn delete_keys(&self, keys: &[String]) -> Result<u64, RepoError> {
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.store.delete_many(&refs)?;
        Ok(keys.len() as u64)
    }

    fn move_cursor(
        &self,
        stored: Option<Versioned<Cursor>>,
        next: &Cursor,
    ) -> Result<(), RepoError> {
        match stored {
            // Slices hold the directory lease, so a failed swap means one outlived its lease
            // and did the same deletes: the next slice goes on from where that one left it.
            Some(stored) => {
                let _ = self
                    .store
                    .compare_and_swap(CURSOR, &stored.raw, &encode(next)?)?;
                Ok(())
            }
            None => self.ensure_exists(CURSOR, &encode(next)?, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: u64 = u64::MAX;

    #[test]
    fn a_job_goes_fixed_keys_then_places_then_its_end() {
        // (done so far, entity there again, budget) → step, as the module documents it.
        let rows = [
            (None, false, 100, Step::Fixed),
            (None, true, 100, Step::Cancel),
            (
                Some(Places { next: 1, last: 250 }),
                false,
                100,
                Step::Places {
                    first: 1,
                    last: 100,
                },
            ),
            (
                Some(Places {
                    next: 201,
                    last: 250,
                }),
                false,
                100,
                Step::Places {
                    first: 201,
                    last: 250,
                },
            ),
            (
                Some(Places { next: 5, last: 9 }),
                false,
                0,
                Step::Places { first: 5, last: 5 },
            ),
            (
                Some(Places { next: 7, last: 7 }),
                false,
                ALL,
                Step::Places { first: 7, last: 7 },
            ),
            (
                Some(Places {
                    next: 251,
                    last: 250,
                }),
                false,
                100,
                Step::Finish,
            ),
            (Some(Places { next: 1, last: 0 }), false, 100, Step::Finish),
            (
                Some(Places {
                    next: 100,
                    last: 250,
                }),
                true,
                100,
                Step::Cancel,
            ),
        ];
        for (feed, exists, budget, expected) in rows {
            assert_eq!(
                next_step(feed, exists, budget),
                expected,
                "{feed:?} exists={exists} budget={budget}"
            );
        }
    }

    #[test]
    fn the_places_held_are_the_kept_ones_and_a_margin() {
        assert_eq!(oldest_held_place(0), 1);
        assert_eq!(oldest_held_place(500), 1);
        assert_eq!(oldest_held_place(FEED_KEPT_EVENTS + 64), 1);
        assert_eq!(oldest_held_place(FEED_KEPT_EVENTS + 65), 1);
        assert_eq!(oldest_held_place(FEED_KEPT_EVENTS + 66), 2);
        assert_eq!(oldest_held_place(50_000), 50_000 - FEED_KEPT_EVENTS - 64);
    }

    #[test]
    fn a_team_leaves_its_shards_heads_pools_and_statistics_with_their_gates() {
        let team = TeamId(uuid::Uuid::from_u128(7));
        let keys = Deleted::Team(team).fixed_keys();
        let shards = crate::repo::TEAM_INDEX_SHARDS as usize;
        let pools = IDLE_POOL_SHARDS as usize;
        assert_eq!(keys.len(), 2 * (2 * shards + pools + 1) + 2);
        for key in [
            format!("index/team/{}", team.0),
            format!("index/team/{}/15", team.0),
            format!("index/team-head/{}/0", team.0),
            format!("dist/idle/{}/15", team.0),
            format!("stats/team/{}", team.0),
            format!("gate/stats/team/{}", team.0),
            format!("gate/index/team/{}", team.0),
            format!("feed/team/{}", team.0),
            format!("dir/members/{}", team.0),
        ] {
            assert!(keys.contains(&key), "{key}");
        }
        let user = UserId(uuid::Uuid::from_u128(8));
        let keys = Deleted::User(user).fixed_keys();
        for key in [
            format!("index/user/{}", user.0),
            format!("agent/{}", user.0),
            format!("gate/agent/{}", user.0),
            format!("feed/user/{}", user.0),
            format!("dir/user-teams/{}", user.0),
            format!("dir/conversationas/{}", user.0),
        ] {
            assert!(keys.contains(&key), "{key}");
        }
        assert!(
            !keys.contains(&format!("sessions/{}", user.0)),
            "kept a day, so its tokens are told they were revoked"
        );
    }
}
