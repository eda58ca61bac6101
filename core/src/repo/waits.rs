//! Caps on waiting feed reads. A waiting read holds a host instance for up to 25 s, so one key
//! (or a flood of them) could hold every instance: the reads that are about to wait are counted
//! per API key and for the whole service, and a read beyond a cap is refused (429).
//!
//! Counting without leaks when a request dies: a read that starts waiting adds one to the
//! counter of its key's current 30 s window (and to the service's), and takes it off again when
//! it ends. Waits last at most 25 s, so every live wait started in the current window or the one
//! before: the number in flight is the sum of those two windows. A request that dies while
//! waiting stays counted until its window is 60 s old, never longer.

use super::Repo;
use crate::repo::RepoError;
use crate::time::Timestamp;

/// Length of a counting window; longer than the longest wait.
pub const WAIT_WINDOW_MILLIS: i64 = 30_000;

/// Counter keys (increment only) of waits started in `window` by `scope`.
fn counter_key(scope: &str, window: i64) -> String {
    format!("waits/{scope}/{window}")
}

pub(super) fn layout_samples() -> Vec<String> {
    vec![
        counter_key(SERVICE, i64::MAX / WAIT_WINDOW_MILLIS),
        counter_key("00000000-0000-0000-0000-000000000abc", -1),
    ]
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
        let key_in_flight = self.store.increment(&mine, 1)?
            + self.store.increment(&counter_key(scope, window - 1), 0)?;
        if !within(key_in_flight, caps.per_key) {
            self.store.increment(&mine, -1)?;
            return Ok(Err(CapExceeded::PerKey(caps.per_key)));
        }
        let service_in_flight = self.store.increment(&service, 1)?
            + self.store.increment(&counter_key(SERVICE, window - 1), 0)?;
        if !within(service_in_flight, caps.service) {
            self.store.increment(&mine, -1)?;
            self.store.increment(&service, -1)?;
            return Ok(Err(CapExceeded::Service(caps.service)));
        }
        Ok(Ok(WaitLease::new(vec![mine, service])))
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
