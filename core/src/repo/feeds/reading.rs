//! Reading a feed: deciding places in order from a cursor, gaps, the list cursor.

use super::{
    FeedAnswer, FeedEntry, FeedId, Outcome, Place, FEED_ANSWER_LIMIT, FEED_KEPT_EVENTS,
    FENCE_AFTER_MILLIS, UPKEEP_EVERY,
};
use crate::repo::RepoError;
use crate::repo::{decode, encode, Repo, Versioned};
use crate::time::Timestamp;

/// Places read in one batch.
pub(super) const WINDOW: u64 = 32;
/// Windows a request decides at most (its cursor is then as far as it got).
const MAX_WINDOWS: usize = 8;

/// What a feed read found.
pub enum FeedRead {
    Answer(FeedAnswer),
    /// The cursor is past the newest place.
    Ahead {
        newest: Place,
    },
    /// The cursor is older than the feed keeps.
    Gone,
}

/// A place without an intent, as a reader finds it.
enum Gap {
    /// Still open (its request may write it): readers stop here.
    Open,
    /// Empty for good.
    Void,
    /// Written after all.
    Filled(Box<FeedEntry>),
    /// Older than the feed keeps.
    Retired,
}

/// How far a scan got.
struct Scan {
    /// Committed changes found (only when asked for).
    events: Vec<FeedEntry>,
    /// Every place up to here is decided.
    cursor: Place,
    gone: bool,
}

impl Repo<'_> {
    /// Where a list read after this call can be followed from without a gap: just before the
    /// first place whose change may still commit, scanning on from `decided`. Moves `decided`
    /// on when it lagged a block or more (the upkeep moves it only over whole decided blocks).
    pub fn feed_cursor(&self, feed: FeedId, now: Timestamp) -> Result<Place, RepoError> {
        let mark = self.decided_mark(feed)?;
        let cursor = self.scan(feed, mark, now, None)?.cursor;
        if cursor >= mark + UPKEEP_EVERY {
            // A plain write: whatever value wins, everything up to it is decided.
            self.store.set(&feed.decided_key(), &encode(&cursor)?)?;
        }
        Ok(cursor)
    }

    pub(super) fn decided_mark(&self, feed: FeedId) -> Result<Place, RepoError> {
        Ok(self
            .read::<u64>(&feed.decided_key())?
            .map_or(0, |Versioned { value, .. }| value))
    }

    /// The committed changes after `after` (at most [`FEED_ANSWER_LIMIT`]) and the cursor to
    /// go on from.
    pub fn read_feed(
        &self,
        feed: FeedId,
        after: Place,
        now: Timestamp,
    ) -> Result<FeedRead, RepoError> {
        // Places are counted by the store's i64 counter: a larger cursor is ahead of any feed
        // (and arithmetic on it below can never overflow).
        if i64::try_from(after).is_err() {
            let newest = self.newest_place(feed)?;
            return Ok(FeedRead::Ahead { newest });
        }
        // The first window and the cursor's own place in one batch. A cursor this feed answered
        // is at a decided place (an intent or a void); cursor 0 is valid while place 1 is kept.
        let own = [feed.entry_key(after), feed.void_key(after)];
        let mut keys: Vec<String> = (after + 1..=after + WINDOW)
            .map(|n| feed.entry_key(n))
            .collect();
        if after > 0 {
            keys.extend(own.iter().cloned());
        }
        self.prefetch(&keys)?;
        let cursor_known = match after {
            0 => self.prefetched_found(&feed.entry_key(1)),
            _ => self.get_keys(&own)?.iter().any(Option::is_some),
        };
        if !cursor_known {
            // Not a place this feed answered as decided: ahead, gone, or just retired.
            let newest = self.newest_place(feed)?;
            if after > newest {
                return Ok(FeedRead::Ahead { newest });
            }
            if after.saturating_add(FEED_KEPT_EVENTS) < newest {
                return Ok(FeedRead::Gone);
            }
        }
        let scan = self.scan(feed, after, now, Some(FEED_ANSWER_LIMIT))?;
        if scan.gone {
            return Ok(FeedRead::Gone);
        }
        Ok(FeedRead::Answer(FeedAnswer {
            events: scan.events,
            cursor: scan.cursor,
        }))
    }

    /// Decides the places after `after` in order and stops at the first undecided one (or
    /// after `limit` committed changes, or [`MAX_WINDOWS`] windows). Readers do not write the
    /// decisions they make back into the intents: only the upkeep does ([`Repo::upkeep_settles_block`]).
    fn scan(
        &self,
        feed: FeedId,
        after: Place,
        now: Timestamp,
        limit: Option<usize>,
    ) -> Result<Scan, RepoError> {
        let mut scan = Scan {
            events: Vec::new(),
            cursor: after,
            gone: false,
        };
        for _ in 0..MAX_WINDOWS {
            let from = scan.cursor + 1;
            let mut places = self.read_places(feed, from, WINDOW)?;
            let Some(last_present) = places.iter().rposition(Option::is_some) else {
                return Ok(scan);
            };
            let window_full = last_present as u64 + 1 == WINDOW;
            places.truncate(last_present + 1);
            self.decide_places(feed, &mut places, now)?;
            let gap_places: Vec<Place> = (from..)
                .zip(&places)
                .filter(|(_, found)| found.is_none())
                .map(|(place, _)| place)
                .collect();
            let mut gaps = self.resolve_gaps(feed, &gap_places, now)?.into_iter();
            for (i, found) in places.into_iter().enumerate() {
                let place = from + i as u64;
                let entry = match found {
                    Some(entry) => entry,
                    None => match gaps.next().unwrap_or(Gap::Open) {
                        Gap::Open => return Ok(scan),
                        Gap::Retired => {
                            scan.gone = true;
                            return Ok(scan);
                        }
                        Gap::Void => {
                            scan.cursor = place;
                            continue;
                        }
                        Gap::Filled(entry) => {
                            let mut one = vec![Some(*entry)];
                            self.decide_places(feed, &mut one, now)?;
                            match one.pop().flatten() {
                                Some(entry) => entry,
                                None => return Ok(scan),
                            }
                        }
                    },
                };
                match (entry.outcome, limit) {
                    (Outcome::Pending, _) => return Ok(scan),
                    (Outcome::Committed, Some(limit)) if scan.events.len() == limit => {
                        return Ok(scan)
                    }
                    (Outcome::Committed, Some(_)) => scan.events.push(entry),
                    _ => {}
                }
                scan.cursor = place;
            }
            if !window_full {
                return Ok(scan);
            }
        }
        Ok(scan)
    }

    /// The intents at places `from..from + count` (`None` where there is none).
    pub(super) fn read_places(
        &self,
        feed: FeedId,
        from: Place,
        count: u64,
    ) -> Result<Vec<Option<FeedEntry>>, RepoError> {
        self.read_entries(feed, &(from..from + count).collect::<Vec<_>>())
    }

    /// The intents at `places`, in one batch read.
    fn read_entries(
        &self,
        feed: FeedId,
        places: &[Place],
    ) -> Result<Vec<Option<FeedEntry>>, RepoError> {
        if places.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = places.iter().map(|&n| feed.entry_key(n)).collect();
        self.decode_keys(&keys)
    }

    /// Places found empty while later ones are written (one window's, in order): each is
    /// noted with the time it was first seen, voided once it has been empty for
    /// [`FENCE_AFTER_MILLIS`], and read again after voiding. All of a window's gaps at once,
    /// so that several gaps cost one wait, not one each.
    fn resolve_gaps(
        &self,
        feed: FeedId,
        places: &[Place],
        now: Timestamp,
    ) -> Result<Vec<Gap>, RepoError> {
        if places.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = places
            .iter()
            .flat_map(|&n| [feed.gap_key(n), feed.void_key(n)])
            .collect();
        let found = self.get_keys(&keys)?;
        let (mut notes, mut voids, mut read_again) = (Vec::new(), Vec::new(), Vec::new());
        let mut gaps = Vec::with_capacity(places.len());
        // Read as (gap note, void mark) per place, in the order the keys were asked.
        for (&place, pair) in places.iter().zip(found.chunks_exact(2)) {
            let [gap_note, void_mark] = pair else {
                continue;
            };
            let gap = match (gap_note, void_mark) {
                (_, Some(_)) => None,
                (None, None) => {
                    notes.push(feed.gap_key(place));
                    Some(Gap::Open)
                }
                (Some(raw), None) => {
                    let since: Timestamp = decode(&feed.gap_key(place), raw)?;
                    if since.plus_millis(FENCE_AFTER_MILLIS) >= now {
                        Some(Gap::Open)
                    } else {
                        voids.push(feed.void_key(place));
                        None
                    }
                }
            };
            if gap.is_none() {
                read_again.push(place);
            }
            gaps.push(gap);
        }
        let noted = encode(&now)?;
        let mut writes: Vec<(String, Vec<u8>)> =
            notes.into_iter().map(|key| (key, noted.clone())).collect();
        if let (Some(&first), false) = (places.first(), voids.is_empty()) {
            if first + FEED_KEPT_EVENTS < self.newest_place(feed)? {
                return Ok(places.iter().map(|_| Gap::Retired).collect());
            }
            writes.extend(voids.into_iter().map(|key| (key, b"true".to_vec())));
        }
        self.set_all(&writes)?;
        let again = self.read_entries(feed, &read_again)?;
        let mut again = again.into_iter();
        Ok(gaps
            .into_iter()
            .map(|gap| {
                gap.unwrap_or_else(|| match again.next().flatten() {
                    Some(entry) => Gap::Filled(Box::new(entry)),
                    None => Gap::Void,
                })
            })
            .collect())
    }
}
