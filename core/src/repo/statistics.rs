//! Where a team's statistics are kept (`stats/team/{id}`, one [`TeamCounts`] document) and how
//! they are kept up to date: folded from the team's change feed, in feed order, by the feed's
//! own upkeep (every 16th change of the team) and by every statistics read before it answers.
//! A fold moves the document's feed place and its counts in one compare-and-swap, so every
//! committed change is counted once, whoever folds and whichever requests die (see
//! [`crate::statistics`]).

use super::feeds::{FeedId, FeedRead, Subject, FEED_ANSWER_LIMIT};
use super::{encode, keys, Repo, Versioned, MAX_CAS_ATTEMPTS};
use crate::ids::TeamId;
use crate::repo::{Contended, RepoError};
use crate::statistics::TeamCounts;
use crate::time::Timestamp;

/// Feed pages a statistics read folds at most before it answers (an upkeep folds one).
const READ_FOLD_PAGES: usize = 2;

/// A team's counts as a read found them.
pub struct StatisticsRead {
    pub counts: TeamCounts,
    /// Whether every decided change of the feed was counted (false when the counts lag more
    /// than a read folds; the next read goes on).
    pub caught_up: bool,
}

impl Repo<'_> {
    /// The team's counts, first folding what the feed has beyond them (at most two pages).
    pub fn team_statistics(
        &self,
        team: TeamId,
        now: Timestamp,
    ) -> Result<StatisticsRead, RepoError> {
        self.fold_team_statistics(team, now, READ_FOLD_PAGES)
    }

    /// The feed's upkeep of a team's statistics: one page folded. Upkeep only: a failure loses
    /// nothing (the next fold counts the same changes).
    pub(super) fn statistics_upkeep(&self, team: TeamId, now: Timestamp) {
        let _ = self.fold_team_statistics(team, now, 1);
    }

    fn fold_team_statistics(
        &self,
        team: TeamId,
        now: Timestamp,
        pages: usize,
    ) -> Result<StatisticsRead, RepoError> {
        let key = keys::team_statistics(team);
        let feed = FeedId::Team(team);
        for _ in 0..MAX_CAS_ATTEMPTS {
            let stored = self.read::<TeamCounts>(&key)?;
            let (raw, mut counts) = match stored {
                Some(Versioned { raw, value }) => (Some(raw), value),
                None => (None, TeamCounts::default()),
            };
            let start = counts.cursor;
            let mut caught_up = false;
            for _ in 0..pages {
                let answer = match self.read_feed(feed, counts.cursor, now)? {
                    FeedRead::Answer(answer) => answer,
                    // Counts more than the feed keeps behind (10,000 failed folds in a row): go
                    // on from where the feed stands; the skipped changes are not counted.
                    FeedRead::Gone | FeedRead::Ahead { .. } => {
                        counts.cursor = self.feed_cursor(feed, now)?;
                        break;
                    }
                };
                let full = answer.events.len() == FEED_ANSWER_LIMIT;
                for entry in &answer.events {
                    if let Subject::Task { task, before, .. } = &entry.subject {
                        counts.fold(entry.place, entry.at, task, before.as_ref());
                    }
                }
                counts.cursor = counts.cursor.max(answer.cursor);
                if !full {
                    caught_up = true;
                    break;
                }
            }
            if counts.cursor == start {
                return Ok(StatisticsRead { counts, caught_up });
            }
            let written = encode(&counts)?;
            let swapped = match &raw {
                Some(raw) => self.store.compare_and_swap(&key, raw, &written)?,
                // The first fold of a team: created once, then changed like any other. A creator
                // that died is repaired with the same empty document (at worst a repair lands
                // on a fold, which is then counted again from the feed: the same counts).
                None => {
                    self.ensure_exists(&key, &encode(&TeamCounts::default())?, true)?;
                    continue;
                }
            };
            if swapped {
                return Ok(StatisticsRead { counts, caught_up });
            }
        }
        Err(RepoError::Contended {
            what: Contended::Record(key),
        })
    }
}
