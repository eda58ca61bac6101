//! The feed's upkeep: done by every 16th appender of a feed ([`UPKEEP_EVERY`]) after its task
//! write, so no background thread is needed. It *settles* the block of 16 places a block behind
//! (decides their intents, writes the decisions back by compare-and-swap, moves `decided` over the block when it is
//! decided whole) and *retires* the places [`FEED_KEPT_EVENTS`] behind (deletes them with their gap
//! notes and void marks), then counts the team feed's new changes into the team's statistics
//! (`repo/statistics.rs`). Upkeep only: a failure loses nothing, the next upkeep or a reader does
//! the same work.

use super::FeedEntry;
use super::{FeedId, Place, Placed, FEED_KEPT_EVENTS, UPKEEP_EVERY};
use crate::repo::{decode, encode, Repo, RepoError};
use crate::time::Timestamp;

impl Repo<'_> {
    /// After a change's task write: every 16th place settles a block of its feed and retires
    /// the places [`FEED_KEPT_EVENTS`] behind. Upkeep only: a failure loses nothing.
    pub(in crate::repo) fn feed_upkeep(&self, placed: &Placed, now: Timestamp) {
        for (feed, place) in &placed.places {
            if place % UPKEEP_EVERY == 0 {
                let _ = self.upkeep_retires_places(*feed, *place);
                let _ = self.upkeep_settles_block(*feed, *place, now);
                if let FeedId::Team(team) = feed {
                    self.statistics_upkeep(*team, now);
                    if let Some(millis) = self.retention() {
                        let _ =
                            self.sweep_slice(now, millis, super::super::retention::UPKEEP_SLICE);
                    }
                    let _ = self.sweep_expired_answers(now, super::super::retention::UPKEEP_SLICE);
                }
            }
        }
    }

    /// Deletes the 16 places (and their gap notes) that are now [`FEED_KEPT_EVENTS`] and a
    /// window behind `place`, so that a reader that passed the age check never meets a retired
    /// place.
    fn upkeep_retires_places(&self, feed: FeedId, place: Place) -> Result<(), RepoError> {
        let Some(last) = place.checked_sub(FEED_KEPT_EVENTS + UPKEEP_EVERY) else {
            return Ok(());
        };
        let first = last.saturating_sub(UPKEEP_EVERY - 1).max(1);
        let keys = feed.place_keys(first, last);
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        Ok(self.store.delete_many(&refs)?)
    }

    /// Upkeep by the appender of place `place` (a multiple of 16): decides the block of 16 places
    /// a block behind it (their requests have had the time of 16 more changes to finish),
    /// writes the decisions into the intents, and moves `decided` over the block when it is
    /// decided whole (scanning from `decided` if that lags behind the block). Blocks do not overlap, so parallel upkeeps do
    /// not repeat each other's work.
    pub(super) fn upkeep_settles_block(
        &self,
        feed: FeedId,
        place: Place,
        now: Timestamp,
    ) -> Result<(), RepoError> {
        let Some(first) = place.checked_sub(2 * UPKEEP_EVERY - 1) else {
            return Ok(());
        };
        let keys: Vec<String> = (first..first + UPKEEP_EVERY)
            .map(|n| feed.entry_key(n))
            .collect();
        let raws = self.get_keys(&keys)?;
        let mut places = raws
            .iter()
            .zip(&keys)
            .map(|(raw, key)| raw.as_ref().map(|raw| decode(key, raw)).transpose())
            .collect::<Result<Vec<Option<FeedEntry>>, RepoError>>()?;
        let undecided: Vec<bool> = places
            .iter()
            .map(|p| matches!(p, Some(e) if e.outcome.is_pending()))
            .collect();
        self.decide_places(feed, &mut places, now)?;
        // Each decision goes back by compare-and-swap on the intent as read: a scrub of the
        // entry (an erasure, `repo/personal_data.rs`) made meanwhile wins, and the decision is
        // made again by whoever reads the entry next.
        for (((place, raw), key), was_undecided) in
            places.iter().zip(&raws).zip(&keys).zip(undecided)
        {
            if let (Some(entry), Some(raw), true) = (place, raw, was_undecided) {
                if entry.outcome.is_decided() {
                    self.store.compare_and_swap(key, raw, &encode(entry)?)?;
                }
            }
        }
        let whole = places
            .iter()
            .all(|p| matches!(p, Some(e) if e.outcome.is_decided()));
        let last = first + UPKEEP_EVERY - 1;
        if whole {
            let mark = self.decided_mark(feed)?;
            if mark + 1 >= first && mark < last {
                self.store.set(&feed.decided_key(), &encode(&last)?)?;
            } else if mark < first {
                // An earlier block was not decided whole when it was settled (or is being
                // settled now): scan from `decided` instead.
                self.feed_cursor(feed, now)?;
            }
        }
        Ok(())
    }
}
