//! A store that fails one chosen operation, as a request that dies at that step would.

use std::sync::atomic::{AtomicU64, Ordering};
use tm_core::{MemoryStore, Store, StoreError};

/// Fails the store's `n`-th operation after `arm` (once), as a crash at that step would.
#[derive(Default)]
pub struct FailingStore {
    pub inner: MemoryStore,
    countdown: AtomicU64,
    /// The next compare-and-swap of a key with this prefix fails.
    fail_swap_of: std::sync::Mutex<Option<String>>,
}

impl FailingStore {
    pub fn new() -> FailingStore {
        FailingStore::default()
    }

    pub fn fail_next_swap_of(&self, prefix: &str) {
        if let Ok(mut armed) = self.fail_swap_of.lock() {
            *armed = Some(prefix.to_string());
        }
    }
    /// Whether the armed failure is still to come (the request did not reach it).
    pub fn armed(&self) -> bool {
        self.countdown.load(Ordering::SeqCst) > 0
    }
    pub fn arm(&self, n: u64) {
        self.countdown.store(n, Ordering::SeqCst);
    }
    fn step(&self) -> Result<(), StoreError> {
        let left = self.countdown.load(Ordering::SeqCst);
        if left == 0 {
            return Ok(());
        }
        self.countdown.store(left - 1, Ordering::SeqCst);
        if left == 1 {
            return Err(StoreError::Unavailable("injected".into()));
        }
        Ok(())
    }
}

impl Store for FailingStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.step()?;
        self.inner.get(key)
    }
    fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.step()?;
        self.inner.get_many(keys)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.step()?;
        self.inner.set(key, value)
    }
    fn set_many(&self, entries: &[(&str, &[u8])]) -> Result<(), StoreError> {
        self.step()?;
        self.inner.set_many(entries)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.step()?;
        self.inner.delete(key)
    }
    fn compare_and_swap(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        self.step()?;
        if let Ok(mut armed) = self.fail_swap_of.lock() {
            if armed
                .as_deref()
                .is_some_and(|prefix| key.starts_with(prefix))
            {
                *armed = None;
                return Err(StoreError::Unavailable("injected".into()));
            }
        }
        self.inner.compare_and_swap(key, expected, new)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.step()?;
        self.inner.increment(key, delta)
    }
}
