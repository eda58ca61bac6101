//! Caps on waiting feed reads. A waiting read holds a host instance for up to 25 s, so one key
//! (or a flood of them) could hold every instance: the reads that are about to wait are counted
//! per API key and for the whole service, and a read beyond a cap is refused (429).
//!
//! Counting without leaks when a request dies: a read that starts waiting adds one to the
//! counter of its key's current 30 s window (and to the service's), and takes it off again when
//! it ends. Waits last at most 25 s, so every live wait started in the current window or the one
//! before: the number in flight is the sum of those two windows. A request that dies while
//! waiting stays counted until its window is 60 s old, never longer.
//!
//! Counters of old windows are deleted by the scope's next waits: the first wait of a scope in
//! a window (its increment answered 1) moves the scope's *last window* (`waits/{scope}/last`,
//! compare-and-swap, never backwards) and deletes the counters the scope can have left before
//! it: the previous last window's (unless it is the window before this one, still counted) and
//! the one before that (made by the read of a window before). So a scope holds at most its last
//! two windows' counters and its last-window record, whatever it did before: per 30 s and scope
//! one read, one swap and one batch delete more, for the first wait of the window only.

use super::{encode, Repo};
use crate::repo::RepoError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Length of a counting window; longer than the longest wait.
pub const WAIT_WINDOW_MILLIS: i64 = 30_000;

/// Counter keys (increment only) of waits started in `window` by `scope`.
fn counter_key(scope: &str, window: i64) -> String {
    format!("waits/{scope}/{window}")
}

/// The scope an agent's session waits (and keeps idempotency keys) in; an API key's is its id.
pub fn agent_scope(user: crate::ids::UserId) -> String {
    format!("agent/{user}")
}

/// The last window in which `scope` counted a wait.
fn last_window_key(scope: &str) -> String {
    format!("waits/{scope}/last")
}

pub(super) fn layout_samples() -> Vec<String> {
    vec![
        counter_key(SERVICE, i64::MAX / WAIT_WINDOW_MILLIS),
        counter_key("00000000-0000-0000-0000-000000000abc", -1),
        last_window_key("agent/00000000-0000-0000-0000-000000000abc"),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LastWindow {
    window: i64,
}

/// The counter windows a scope whose last window was `last` can have left that a first wait in
/// `window` deletes: every one but `window` and the one before it, which are still counted.
fn windows_to_forget(last: i64, window: i64) -> Vec<i64> {
    [last - 1, last]
        .into_iter()
        .filter(|w| *w < window - 1)
        .collect()
}

/// The service-wide scope.
const SERVICE: &str = "service";

pub use crate::wait_lease::WaitLease;

/// The caps a waiting read is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitCaps {
    pub per_key: u64,
    pub service: u64,
}

/// Which cap a wait exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapExceeded {
    PerKey(u64),
    Service(u64),
}

/// Whether `in_flight` waits (this one included) are within `cap`.
fn within(in_flight: i64, cap: u64) -> bool {
    u64::try_from(in_flight).unwrap_or(0) <= cap
}

impl Repo<'_> {
    /// Counts a wait of `scope` starting at `now`: the lease to release, or which cap it
    /// exceeded (then nothing stays counted). Four counter operations.
    pub fn admit_wait(
        &self,
        scope: &str,
        now: Timestamp,
        caps: WaitCaps,
    ) -> Result<Result<WaitLease, CapExceeded>, RepoError> {
        let window = now.unix_millis().div_euclid(WAIT_WINDOW_MILLIS);
        let mine = counter_key(scope, window);
        let service = counter_key(SERVICE, window);
        let mine_now = self.store.increment(&mine, 1)?;
        let key_in_flight = mine_now + self.store.increment(&counter_key(scope, window - 1), 0)?;
        if !within(key_in_flight, caps.per_key) {
            self.store.increment(&mine, -1)?;
            return Ok(Err(CapExceeded::PerKey(caps.per_key)));
        }
        let service_now = self.store.increment(&service, 1)?;
        let service_in_flight =
            service_now + self.store.increment(&counter_key(SERVICE, window - 1), 0)?;
        // Upkeep: a failure only leaves counters for a later first wait to delete.
        if mine_now == 1 {
            let _ = self.forget_old_windows(scope, window);
        }
        if service_now == 1 {
            let _ = self.forget_old_windows(SERVICE, window);
        }
        if !within(service_in_flight, caps.service) {
            self.store.increment(&mine, -1)?;
            self.store.increment(&service, -1)?;
            return Ok(Err(CapExceeded::Service(caps.service)));
        }
        Ok(Ok(WaitLease::new(vec![mine, service])))
    }

    /// By the first wait of `scope` in `window`: moves its last window there and deletes the
    /// counters it left before (see the module's comment). A wait from a clock behind the
    /// last window deletes nothing.
    fn forget_old_windows(&self, scope: &str, window: i64) -> Result<(), RepoError> {
        let key = last_window_key(scope);
        let here = encode(&LastWindow { window })?;
        let Some(stored) = self.read::<LastWindow>(&key)? else {
            return self.ensure_exists(&key, &here, false);
        };
        let last = stored.value.window;
        if last >= window || !self.store.compare_and_swap(&key, &stored.raw, &here)? {
            // Behind, or another first wait moved it on: that one deletes.
            return Ok(());
        }
        let forget: Vec<String> = windows_to_forget(last, window)
            .into_iter()
            .map(|w| counter_key(scope, w))
            .collect();
        let refs: Vec<&str> = forget.iter().map(String::as_str).collect();
        Ok(self.store.delete_many(&refs)?)
    }

    /// The keys a scope that will never wait again (a deleted key or user) leaves: its last
    /// two windows' counters and its last-window record with its gate. One read.
    pub(super) fn wait_keys_of(&self, scope: &str) -> Result<Vec<String>, RepoError> {
        let key = last_window_key(scope);
        let mut keys = match self.read_value::<LastWindow>(&key)? {
            Some(LastWindow { window }) => {
                vec![counter_key(scope, window), counter_key(scope, window - 1)]
            }
            None => Vec::new(),
        };
        keys.push(super::keys::creation_gate(&key));
        keys.push(key);
        Ok(keys)
    }

    /// Ends a counted wait (best effort: a lost release is forgotten with its window).
    pub fn release_wait(&self, lease: &WaitLease) {
        for counter in lease.counters() {
            let _ = self.store.increment(counter, -1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    const T0: Timestamp = Timestamp::from_unix_millis(1_767_600_000_000);
    const CAPS: WaitCaps = WaitCaps {
        per_key: 2,
        service: 3,
    };

    #[test]
    fn a_key_gets_its_cap_and_the_service_its_own() {
        let store = MemoryStore::new();
        let repo = Repo::new(&store);
        let a1 = repo.admit_wait("a", T0, CAPS).expect("store");
        let a2 = repo.admit_wait("a", T0, CAPS).expect("store");
        assert!(a1.is_ok() && a2.is_ok());
        assert_eq!(
            repo.admit_wait("a", T0, CAPS).expect("store"),
            Err(CapExceeded::PerKey(2))
        );
        assert!(repo.admit_wait("b", T0, CAPS).expect("store").is_ok());
        assert_eq!(
            repo.admit_wait("c", T0, CAPS).expect("store"),
            Err(CapExceeded::Service(3)),
            "the refused waits of a and c are not counted"
        );
        if let Ok(lease) = a1 {
            repo.release_wait(&lease);
        }
        assert!(repo.admit_wait("a", T0, CAPS).expect("store").is_ok());
    }

    #[test]
    fn a_first_wait_forgets_every_window_but_its_own_and_the_one_before() {
        // (last window, this window) → windows deleted.
        let rows: [(i64, i64, &[i64]); 5] = [
            (10, 11, &[9]),
            (10, 12, &[9, 10]),
            (10, 13, &[9, 10]),
            (10, 500, &[9, 10]),
            (-3, 0, &[-4, -3]),
        ];
        for (last, window, forgotten) in rows {
            assert_eq!(
                windows_to_forget(last, window),
                forgotten,
                "{last} → {window}"
            );
        }
    }

    #[test]
    fn a_scope_keeps_at_most_two_windows_of_counters_whatever_it_did_before() {
        let store = MemoryStore::new();
        let repo = Repo::new(&store);
        let counters = |scope: &str| -> Vec<String> {
            store
                .counter_keys()
                .into_iter()
                .filter(|k| k.starts_with(&format!("waits/{scope}/")))
                .collect()
        };
        let mut now = T0;
        // Waits in 200 windows in a row, then after gaps of 1, 2 and 40 windows.
        let mut windows: Vec<i64> = (0..200).collect();
        windows.extend([201, 204, 245]);
        for n in windows {
            now = T0.plus_millis(n * WAIT_WINDOW_MILLIS);
            for _ in 0..3 {
                if let Ok(Ok(lease)) = repo.admit_wait("a", now, CAPS) {
                    repo.release_wait(&lease);
                }
            }
            assert!(counters("a").len() <= 2, "window {n}: {:?}", counters("a"));
            assert!(counters(SERVICE).len() <= 2, "window {n}");
        }
        let window = now.unix_millis().div_euclid(WAIT_WINDOW_MILLIS);
        let mut expected = vec![counter_key("a", window - 1), counter_key("a", window)];
        expected.sort();
        let mut held = counters("a");
        held.sort();
        assert_eq!(held, expected);
        // What a key that never waits again leaves is exactly what it names.
        let mut left = repo.wait_keys_of("a").expect("store");
        left.sort();
        let mut all: Vec<String> = store
            .value_keys()
            .into_iter()
            .chain(store.counter_keys())
            .filter(|k| k.starts_with("waits/a/") || k == "gate/waits/a/last")
            .collect();
        all.sort();
        assert_eq!(left, all);
    }

    #[test]
    fn the_first_wait_of_a_window_keeps_the_window_before_counted() {
        let store = MemoryStore::new();
        let repo = Repo::new(&store);
        let late_in_window =
            T0.plus_millis(WAIT_WINDOW_MILLIS - 1 - T0.unix_millis() % WAIT_WINDOW_MILLIS);
        // One wait of key a still in flight from the window before.
        assert!(repo
            .admit_wait("a", late_in_window, CAPS)
            .expect("store")
            .is_ok());
        let next_window = late_in_window.plus_millis(1);
        assert!(
            repo.admit_wait("a", next_window, CAPS)
                .expect("store")
                .is_ok(),
            "the first of the window (it forgets older windows): 2 in flight"
        );
        assert_eq!(
            repo.admit_wait("a", next_window, CAPS).expect("store"),
            Err(CapExceeded::PerKey(2)),
            "the one of the window before is still counted"
        );
    }

    #[test]
    fn waits_of_the_window_before_count_and_older_ones_are_forgotten() {
        let store = MemoryStore::new();
        let repo = Repo::new(&store);
        // Two waits of key a that died without releasing, at the end of one window.
        let late_in_window =
            T0.plus_millis(WAIT_WINDOW_MILLIS - 1 - T0.unix_millis() % WAIT_WINDOW_MILLIS);
        for _ in 0..2 {
            assert!(repo
                .admit_wait("a", late_in_window, CAPS)
                .expect("store")
                .is_ok());
        }
        let next_window = late_in_window.plus_millis(1);
        assert_eq!(
            repo.admit_wait("a", next_window, CAPS).expect("store"),
            Err(CapExceeded::PerKey(2)),
            "still in flight for all this service knows"
        );

        let two_windows_on = late_in_window.plus_millis(1 + WAIT_WINDOW_MILLIS);
        assert!(repo
            .admit_wait("a", two_windows_on, CAPS)
            .expect("store")
            .is_ok());
    }
}
