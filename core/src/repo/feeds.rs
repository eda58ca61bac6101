//! Change feeds: every committed change of a team's tasks, in one order that every reader sees
//! the same way, each exactly once, each task's changes in `Version` order.
//!
//! A feed is a head document (the newest entries, the "ring") and immutable pages of 16 older
//! entries. There is no transaction over the feed and the task, so a change is written as an
//! *intent*: appended to the feed (compare-and-swap on its head, which gives it its place)
//! before the task write, and decided later:
//! - the task record carries the id of the change that made its current version, and the
//!   intent of a change records the id of the version it was made on (`AfterChange`). So an
//!   intent for version v is committed exactly when the task's version v has its change id:
//!   read from the task while it is at v, or from the next change's intent, which the feed
//!   holds after it (the next change read version v before its own intent was appended).
//! - an intent whose task is still below its version is in flight, or its request died. After
//!   [`FENCE_AFTER_MILLIS`] a reader *fences* it: it records the change id as refused in the
//!   task (compare-and-swap), so the late writer's own swap fails and it retries as a new change.
//!   A create cannot be fenced (its task is written, not swapped): its intent is refused once the
//!   task is still missing [`CREATE_ABANDONED_AFTER_MILLIS`] after it.
//!
//! Readers answer decided entries in feed order and stop at the first undecided one. Appenders
//! decide what they can while they append and move whole decided pages out of the head.

use super::{
    decode, encode, keys, Repo, StoredTask, Versioned, MAX_CAS_ATTEMPTS, MAX_RECONCILE_ATTEMPTS,
};
use crate::error::ApiError;
use crate::ids::{TaskId, TeamId, UserId};
use crate::model::Task;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Entries per page; the head keeps at least this many of the newest entries.
pub const FEED_PAGE: u64 = 16;
/// Pages kept: the feed keeps its newest 10,000 entries; an older cursor answers 410.
pub const FEED_PAGES_KEPT: u64 = 625;
/// The number of newest changes a feed keeps (at least).
pub const FEED_KEPT_EVENTS: u64 = FEED_PAGE * FEED_PAGES_KEPT;
/// How old an in-flight intent must be before a reader fences its change.
pub const FENCE_AFTER_MILLIS: i64 = 10_000;
/// How long a create's intent waits for its task before it counts as never written.
pub const CREATE_ABANDONED_AFTER_MILLIS: i64 = 30_000;
/// Events per answer.
pub const FEED_ANSWER_LIMIT: usize = 100;
/// Changes refused by fencing that a task remembers (only while it stays at one version).
const FENCED_KEPT: usize = 8;

/// A feed: one per team (every change of the team's tasks, its *home* feed), one per user
/// (changes of tasks the user is assigned to or consults on, before or after the change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedId {
    Team(TeamId),
    User(UserId),
}

impl FeedId {
    pub fn head_key(&self) -> String {
        match self {
            FeedId::Team(team) => keys::team_feed(*team),
            FeedId::User(user) => keys::user_feed(*user),
        }
    }
    fn page_key(&self, page: u64) -> String {
        format!("{}/page/{page}", self.head_key())
    }
}

/// One change as a feed stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FeedEntry {
    /// The entry's place in the feed, from 1.
    pub seq: u64,
    /// What changed: `Created`, `OutboundCallStarted` or the action (`Offer`, `Hold`, …).
    pub kind: String,
    pub task_id: TaskId,
    /// The task's version after the change.
    pub version: u64,
    pub at: Timestamp,
    /// The task as it is after the change.
    pub task: Task,
    pub change: Uuid,
    /// The change id of the version this change was made on (`None` for a create).
    #[serde(default)]
    pub after_change: Option<Uuid>,
    /// In a user feed: the place of the same change in its team's feed, which decides it when
    /// this feed cannot (the task's next version may not be in this feed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<u64>,
    /// Whether the change committed, once known (pages hold decided entries only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed: Option<bool>,
}

/// The head document of a feed.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FeedHead {
    /// The place the next entry gets (entries start at 1).
    pub next: u64,
    /// The oldest place still kept: a cursor before `oldest - 1` answers 410.
    pub oldest: u64,
    /// The newest entries, in order; whole decided pages move out to page documents.
    pub ring: Vec<FeedEntry>,
}

impl FeedHead {
    pub fn new() -> Self {
        FeedHead {
            next: 1,
            oldest: 1,
            ring: Vec::new(),
        }
    }

    /// The place of the newest entry (0 for an empty feed).
    pub fn last(&self) -> u64 {
        self.next.saturating_sub(1)
    }

    /// A cursor a client can list at and then follow without a gap: just before the first
    /// entry that is not decided yet (a list read after it may show that change already; the
    /// event then repeats a state the client has, with the same `Version`).
    pub fn list_cursor(&self) -> u64 {
        self.ring
            .iter()
            .find(|e| e.committed.is_none())
            .map_or(self.last(), |e| e.seq - 1)
    }
}

/// What a request's change is, for its feed entries: the kind, when, and the base of its
/// change ids (one id per attempt, see [`attempt_change_id`]).
#[derive(Clone, Debug)]
pub struct ChangeMeta {
    pub kind: String,
    pub id_base: Uuid,
    pub at: Timestamp,
}

/// What one change appends: everything but its place.
pub struct Intent {
    pub kind: String,
    pub task: Task,
    pub change: Uuid,
    pub after_change: Option<Uuid>,
    pub at: Timestamp,
    /// The change's place in its team's feed (for user feeds).
    pub home: Option<u64>,
}

/// A page of a feed as answered.
pub struct FeedAnswer {
    /// Committed changes after the cursor, in feed order.
    pub events: Vec<FeedEntry>,
    /// The cursor to go on from.
    pub cursor: u64,
}

/// The change id a task version's change gets in attempt `attempt` of a request: a fresh base
/// per request, a different id per attempt (a retried change is a new change). Hashed, so that
/// ids from a sequential source (tests) cannot meet another request's.
pub fn attempt_change_id(base: Uuid, attempt: usize) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(base.as_bytes())
        .chain_update((attempt as u64).to_le_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// What is known about whether `entry` committed, from a later entry of the same task (the
/// next version's intent knows which change made this version).
fn decided_by_chain(entry: &FeedEntry, later: &[FeedEntry]) -> Option<bool> {
    later
        .iter()
        .find(|l| l.task_id == entry.task_id && l.version == entry.version + 1)
        .map(|next| next.after_change == Some(entry.change))
}

/// Decides every undecided entry of `ring` that a later entry of its task decides.
fn decide_by_chain(ring: &mut [FeedEntry]) {
    for i in 0..ring.len() {
        if ring[i].committed.is_none() {
            ring[i].committed = decided_by_chain(&ring[i], &ring[i + 1..]);
        }
    }
}

/// What the task as stored says about `entry` (`None`: not yet known).
fn decided_by_task(entry: &FeedEntry, task: Option<&StoredTask>, now: Timestamp) -> Decision {
    let Some(stored) = task else {
        let abandoned = entry.at.plus_millis(CREATE_ABANDONED_AFTER_MILLIS) < now;
        return match entry.version {
            1 if !abandoned => Decision::Unknown,
            _ => Decision::Known(false),
        };
    };
    let version = stored.task.version;
    if version == entry.version {
        return Decision::Known(stored.change == Some(entry.change));
    }
    if version > entry.version {
        return Decision::Superseded;
    }
    if stored.fenced.contains(&entry.change) {
        return Decision::Known(false);
    }
    if entry.at.plus_millis(FENCE_AFTER_MILLIS) < now {
        return Decision::Fence;
    }
    Decision::Unknown
}

enum Decision {
    Known(bool),
    /// In flight too long: refuse it in the task, then it is known not to have committed.
    Fence,
    /// The task is past this version. If this change made it, the next version's intent says
    /// so and is in the feed after it (appended after this change was written and before the
    /// next one was): decided by a feed state read after the task (see [`committed_per`]).
    Superseded,
    Unknown,
}

/// Whether `entry` committed, by a feed state read after its task showed a later version.
fn committed_per(entry: &FeedEntry, state: &[FeedEntry]) -> bool {
    state.iter().any(|f| {
        f.seq > entry.seq
            && f.task_id == entry.task_id
            && f.version == entry.version + 1
            && f.after_change == Some(entry.change)
    })
}

/// Where the feed state read after the tasks comes from.
enum After {
    /// The head being appended to: its swap fails if anything was appended since it was read,
    /// so when it succeeds this state is as new as the task reads.
    ThisHead,
    /// A reader: the head read again from the store.
    ReadAgain(FeedId),
}

impl Repo<'_> {
    /// Appends a change's intent to `feed` (before the task write) and returns its place.
    pub(super) fn append_intent(
        &self,
        feed: FeedId,
        intent: &Intent,
        now: Timestamp,
    ) -> Result<u64, ApiError> {
        let key = feed.head_key();
        // Every change of the team's tasks meets here: retried as long as reconciles are.
        for _ in 0..MAX_RECONCILE_ATTEMPTS {
            let Some(Versioned {
                raw,
                value: mut head,
            }) = self.read::<FeedHead>(&key)?
            else {
                // Feeds of teams stored before feeds existed: created once, behind the gate.
                self.ensure_exists(&key, &encode(&FeedHead::new())?, false)?;
                continue;
            };
            let seq = head.next;
            head.next += 1;
            head.ring.push(FeedEntry {
                seq,
                kind: intent.kind.clone(),
                task_id: intent.task.id,
                version: intent.task.version,
                at: intent.at,
                task: intent.task.clone(),
                change: intent.change,
                after_change: intent.after_change,
                home: intent.home,
                committed: None,
            });
            // Pages take only entries decided in a head some request already stored: decisions
            // made now may rest on this head being current (see `After::ThisHead`), which only
            // the swap below confirms, and a page is written before it.
            let stored_decisions: Vec<u64> = head
                .ring
                .iter()
                .filter(|e| e.committed.is_some())
                .map(|e| e.seq)
                .collect();
            self.decide_ring(&mut head, now)?;
            self.move_out_pages(feed, &mut head, &stored_decisions)?;
            if self.store.compare_and_swap(&key, &raw, &encode(&head)?)? {
                return Ok(seq);
            }
        }
        Err(ApiError::ServiceUnavailable(format!(
            "Feed '{key}' is being changed by many requests at once; retry."
        )))
    }

    /// Decides the head's undecided entries from the chain; those beyond the newest page's
    /// worth also from their tasks (one batch read), so that whole pages can move out.
    fn decide_ring(&self, head: &mut FeedHead, now: Timestamp) -> Result<(), ApiError> {
        decide_by_chain(&mut head.ring);
        let movable = head.ring.len().saturating_sub(FEED_PAGE as usize);
        self.decide_from_tasks(&mut head.ring, movable, now, After::ThisHead)
    }

    /// Decides the undecided entries among the first `upto` of `ring` from their tasks (one
    /// batch read), fencing stale intents.
    fn decide_from_tasks(
        &self,
        ring: &mut [FeedEntry],
        upto: usize,
        now: Timestamp,
        after: After,
    ) -> Result<(), ApiError> {
        let undecided: Vec<usize> = (0..upto.min(ring.len()))
            .filter(|&i| ring[i].committed.is_none())
            .collect();
        if undecided.is_empty() {
            return Ok(());
        }
        let task_keys: Vec<String> = undecided
            .iter()
            .map(|&i| keys::task(ring[i].task_id))
            .collect();
        let refs: Vec<&str> = task_keys.iter().map(String::as_str).collect();
        let tasks = self.store.get_many(&refs)?;
        let mut superseded = Vec::new();
        for ((&i, key), raw) in undecided.iter().zip(&task_keys).zip(tasks) {
            let stored: Option<StoredTask> = match raw {
                Some(raw) => Some(decode(key, &raw)?),
                None => None,
            };
            ring[i].committed = match decided_by_task(&ring[i], stored.as_ref(), now) {
                Decision::Known(committed) => Some(committed),
                Decision::Fence => self.fence(&ring[i], now)?,
                Decision::Superseded => {
                    superseded.push(i);
                    None
                }
                Decision::Unknown => None,
            };
        }
        if superseded.is_empty() {
            return Ok(());
        }
        for i in superseded {
            ring[i].committed = Some(match (ring[i].home, &after) {
                // A user feed's entry: as its twin in the team's feed is decided.
                (Some(home), _) => {
                    let team = FeedId::Team(ring[i].task.team_id);
                    self.decided_again(team, home)?
                }
                (None, After::ThisHead) => committed_per(&ring[i], ring),
                (None, After::ReadAgain(feed)) => self.decided_again(*feed, ring[i].seq)?,
            });
        }
        Ok(())
    }

    /// Whether the entry at `seq` of `feed`, whose task is past its version, committed: by the
    /// feed as read now (after the task), or as the feed already decided it.
    fn decided_again(&self, feed: FeedId, seq: u64) -> Result<bool, ApiError> {
        let fresh = self.feed_head(feed)?;
        let first = fresh.ring.first().map_or(fresh.next, |e| e.seq);
        if seq < first {
            return self.decided_in_page(feed, seq);
        }
        Ok(match fresh.ring.iter().find(|e| e.seq == seq) {
            Some(entry) => entry
                .committed
                .unwrap_or_else(|| committed_per(entry, &fresh.ring)),
            None => false,
        })
    }

    /// The decision a page records for the entry at `seq` (pages hold decided entries only).
    fn decided_in_page(&self, feed: FeedId, seq: u64) -> Result<bool, ApiError> {
        let key = feed.page_key((seq - 1) / FEED_PAGE);
        let raw = self.store.get(&key)?.ok_or_else(|| {
            ApiError::ServiceUnavailable(format!("Feed page '{key}' is missing."))
        })?;
        let page: Vec<FeedEntry> = decode(&key, &raw)?;
        Ok(page
            .iter()
            .find(|e| e.seq == seq)
            .and_then(|e| e.committed)
            .unwrap_or(false))
    }

    /// Refuses an in-flight change in its task, so its late swap fails; then decides it.
    fn fence(&self, entry: &FeedEntry, now: Timestamp) -> Result<Option<bool>, ApiError> {
        let key = keys::task(entry.task_id);
        for _ in 0..MAX_CAS_ATTEMPTS {
            let Some(Versioned {
                raw,
                value: mut stored,
            }) = self.read::<StoredTask>(&key)?
            else {
                return Ok(Some(false));
            };
            match decided_by_task(entry, Some(&stored), now) {
                Decision::Fence => {}
                Decision::Known(committed) => return Ok(Some(committed)),
                // Changed meanwhile: decided on the next read.
                Decision::Superseded | Decision::Unknown => return Ok(None),
            }
            stored.fenced.push(entry.change);
            let excess = stored.fenced.len().saturating_sub(FENCED_KEPT);
            stored.fenced.drain(..excess);
            if self.store.compare_and_swap(&key, &raw, &encode(&stored)?)? {
                return Ok(Some(false));
            }
        }
        Ok(None)
    }

    /// Moves whole decided pages out of the head while it holds more than a page beyond them,
    /// and forgets pages beyond [`FEED_PAGES_KEPT`]. A page holds decisions a stored head already
    /// had, which never change, so writing it again after a lost swap writes the same bytes.
    fn move_out_pages(
        &self,
        feed: FeedId,
        head: &mut FeedHead,
        stored_decisions: &[u64],
    ) -> Result<(), ApiError> {
        loop {
            let Some(first) = head.ring.first().map(|e| e.seq) else {
                return Ok(());
            };
            let page = (first - 1) / FEED_PAGE;
            let page_end = (page + 1) * FEED_PAGE; // last seq of the page
            let in_page = head.ring.iter().take_while(|e| e.seq <= page_end).count();
            let whole = first == page * FEED_PAGE + 1 && in_page as u64 == FEED_PAGE;
            let decided = head.ring[..in_page]
                .iter()
                .all(|e| stored_decisions.contains(&e.seq));
            if !whole || !decided || head.ring.len() < in_page + FEED_PAGE as usize {
                return Ok(());
            }
            let entries: Vec<FeedEntry> = head.ring.drain(..in_page).collect();
            self.store.set(&feed.page_key(page), &encode(&entries)?)?;
            if page >= FEED_PAGES_KEPT {
                let forgotten = page - FEED_PAGES_KEPT;
                self.store.delete(&feed.page_key(forgotten))?;
                head.oldest = head.oldest.max((forgotten + 1) * FEED_PAGE + 1);
            }
        }
    }

    /// The feed's head (an empty feed if the team has none yet).
    pub fn feed_head(&self, feed: FeedId) -> Result<FeedHead, ApiError> {
        Ok(self
            .read::<FeedHead>(&feed.head_key())?
            .map_or_else(FeedHead::new, |v| v.value))
    }

    /// Where a list read after this call can be followed from without a gap: just before the
    /// first entry whose change may still commit (decided from the tasks where needed).
    pub fn feed_cursor(&self, feed: FeedId, now: Timestamp) -> Result<u64, ApiError> {
        let head = self.feed_head(feed)?;
        self.cursor_of(feed, head, now)
    }

    /// [`Repo::feed_cursor`] of a head the request already read.
    pub fn cursor_of(
        &self,
        feed: FeedId,
        mut head: FeedHead,
        now: Timestamp,
    ) -> Result<u64, ApiError> {
        self.decide_for_reader(feed, &mut head.ring, now)?;
        Ok(head.list_cursor())
    }

    /// A reader's decisions on a head's entries: from the chain, then from their tasks.
    fn decide_for_reader(
        &self,
        feed: FeedId,
        ring: &mut [FeedEntry],
        now: Timestamp,
    ) -> Result<(), ApiError> {
        decide_by_chain(ring);
        let all = ring.len();
        self.decide_from_tasks(ring, all, now, After::ReadAgain(feed))
    }

    /// The committed changes after `after` (at most [`FEED_ANSWER_LIMIT`]) and the cursor to
    /// go on from, from the feed's `head` as the request read it; `None` for a cursor older
    /// than the feed keeps.
    pub fn read_feed(
        &self,
        feed: FeedId,
        head: FeedHead,
        after: u64,
        now: Timestamp,
    ) -> Result<Option<FeedAnswer>, ApiError> {
        if after + 1 < head.oldest {
            return Ok(None);
        }
        let ring_first = head.ring.first().map_or(head.next, |e| e.seq);
        let mut entries: Vec<FeedEntry> = Vec::new();
        // Enough pages for one answer; the next request goes on from where this one stops.
        let first_page = after / FEED_PAGE;
        let last_page = ring_first.saturating_sub(2) / FEED_PAGE;
        let read_up_to = last_page.min(first_page + FEED_ANSWER_LIMIT as u64 / FEED_PAGE);
        if after + 1 < ring_first {
            let pages: Vec<String> = (first_page..=read_up_to)
                .map(|page| feed.page_key(page))
                .collect();
            let refs: Vec<&str> = pages.iter().map(String::as_str).collect();
            for (key, raw) in pages.iter().zip(self.store.get_many(&refs)?) {
                let raw = raw.ok_or_else(|| {
                    ApiError::ServiceUnavailable(format!("Feed page '{key}' is missing."))
                })?;
                entries.extend(decode::<Vec<FeedEntry>>(key, &raw)?);
            }
        }
        if after + 1 >= ring_first || read_up_to == last_page {
            let mut ring = head.ring;
            self.decide_for_reader(feed, &mut ring, now)?;
            entries.extend(ring);
        }
        let mut answer = FeedAnswer {
            events: Vec::new(),
            cursor: after,
        };
        for entry in entries.into_iter().filter(|e| e.seq > after) {
            match entry.committed {
                None => break,
                Some(false) => answer.cursor = entry.seq,
                Some(true) if answer.events.len() == FEED_ANSWER_LIMIT => break,
                Some(true) => {
                    answer.cursor = entry.seq;
                    answer.events.push(entry);
                }
            }
        }
        Ok(Some(answer))
    }
}
