//! What the host supplies to the core: the wall clock and random ids. Plain std and uuid, so
//! the same code runs in the component (WASI clock and randomness) and natively (dev server).

use std::time::{SystemTime, UNIX_EPOCH};
use tm_core::{IdSource, Timestamp};
use uuid::Uuid;

/// UUID v4 from the platform's randomness (WASI `random_get` in the component).
pub struct RandomIds;

impl IdSource for RandomIds {
    fn next_id(&mut self) -> Uuid {
        Uuid::new_v4()
    }
}

pub fn wall_clock_now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_v4_and_the_clock_is_after_2025() {
        let (a, b) = (RandomIds.next_id(), RandomIds.next_id());
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 4);
        assert!(wall_clock_now() > Timestamp::from_unix_millis(1_735_689_600_000));
    }
}
