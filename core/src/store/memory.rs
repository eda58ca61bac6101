//! An in-memory [`Store`] with Spin KV semantics, for tests, benchmarks and the
//! widget's in-page tests. It counts operations (so tests can bound a request's cost),
//! can be switched to "unavailable" (so tests can see 503s), and keeps counters apart
//! from values so that reading a counter with `get` fails as it would in Spin.

use super::{Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryStore {
    values: Mutex<BTreeMap<String, Vec<u8>>>,
    counters: Mutex<BTreeMap<String, i64>>,
    counter_keys: Mutex<BTreeSet<String>>,
    operations: AtomicU64,
    writes: AtomicU64,
    bytes_read: AtomicU64,
    unavailable: AtomicBool,
    /// Reads work, writes fail (a Redis that is out of memory or a read-only replica).
    read_only: AtomicBool,
    /// Yield the thread inside operations so that concurrent tests really interleave.
    yield_inside: AtomicBool,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of store operations performed so far.
    pub fn operations(&self) -> u64 {
        self.operations.load(Ordering::SeqCst)
    }

    /// Number of operations that changed something (set, delete, swap, increment) so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// Number of value bytes returned by reads so far (what a request had to transfer and parse).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::SeqCst)
    }

    fn count_read(&self, value: Option<&Vec<u8>>) {
        let bytes = value.map_or(0, |v| v.len() as u64);
        self.bytes_read.fetch_add(bytes, Ordering::SeqCst);
    }

    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Makes every write fail while reads still work (as a full or read-only Redis does).
    pub fn set_read_only(&self, read_only: bool) {
        self.read_only.store(read_only, Ordering::SeqCst);
    }

    pub fn set_yield_inside(&self, yield_inside: bool) {
        self.yield_inside.store(yield_inside, Ordering::SeqCst);
    }

    /// Number of stored values (not counting counters).
    pub fn len(&self) -> usize {
        self.values.lock().map(|v| v.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys of the stored values, in order (tests that look at everything the store holds).
    pub fn value_keys(&self) -> Vec<String> {
        self.values
            .lock()
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The keys of the stored counters, in order (tests that look at everything the store holds).
    pub fn counter_keys(&self) -> Vec<String> {
        self.counters
            .lock()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A delete removes a counter too, as in Spin and Redis (a counter is a value there).
    fn forget_counters(&self, keys: &[&str]) {
        if let (Ok(mut counters), Ok(mut counter_keys)) =
            (self.counters.lock(), self.counter_keys.lock())
        {
            for key in keys {
                counters.remove(*key);
                counter_keys.remove(*key);
            }
        }
    }

    fn begin(&self) -> Result<(), StoreError> {
        self.operations.fetch_add(1, Ordering::SeqCst);
        if self.yield_inside.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("memory store switched off".into()));
        }
        Ok(())
    }

    fn begin_write(&self) -> Result<(), StoreError> {
        self.begin()?;
        if self.read_only.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "READONLY memory store refuses writes".into(),
            ));
        }
        Ok(())
    }

    fn values(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>>, StoreError> {
        self.values
            .lock()
            .map_err(|_| StoreError::Other("lock poisoned".into()))
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.begin()?;
        let is_counter = self
            .counter_keys
            .lock()
            .map_err(|_| StoreError::Other("lock poisoned".into()))?
            .contains(key);
        if is_counter {
            return Err(StoreError::Other(format!(
                "'{key}' is a counter written by increment and cannot be read with get"
            )));
        }
        let value = self.values()?.get(key).cloned();
        self.count_read(value.as_ref());
        Ok(value)
    }

    /// One operation, as a batch read is one round trip.
    fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.begin()?;
        let counters = self
            .counter_keys
            .lock()
            .map_err(|_| StoreError::Other("lock poisoned".into()))?;
        if let Some(key) = keys.iter().find(|k| counters.contains(**k)) {
            return Err(StoreError::Other(format!(
                "'{key}' is a counter written by increment and cannot be read with get"
            )));
        }
        drop(counters);
        let values = self.values()?;
        let found: Vec<Option<Vec<u8>>> =
            keys.iter().map(|key| values.get(*key).cloned()).collect();
        found
            .iter()
            .for_each(|value| self.count_read(value.as_ref()));
        Ok(found)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.begin_write()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.values()?.insert(key.to_string(), value.to_vec());
        Ok(())
    }

    /// One operation; every entry counts as a write.
    fn set_many(&self, entries: &[(&str, &[u8])]) -> Result<(), StoreError> {
        self.begin_write()?;
        self.writes
            .fetch_add(entries.len() as u64, Ordering::SeqCst);
        let mut values = self.values()?;
        for (key, value) in entries {
            values.insert(key.to_string(), value.to_vec());
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.begin_write()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.values()?.remove(key);
        self.forget_counters(&[key]);
        Ok(())
    }

    /// One operation; every key counts as a write.
    fn delete_many(&self, keys: &[&str]) -> Result<(), StoreError> {
        self.begin_write()?;
        self.writes.fetch_add(keys.len() as u64, Ordering::SeqCst);
        let mut values = self.values()?;
        for key in keys {
            values.remove(*key);
        }
        drop(values);
        self.forget_counters(keys);
        Ok(())
    }

    fn compare_and_swap(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        self.begin_write()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        let mut values = self.values()?;
        match values.get_mut(key) {
            Some(current) if current.as_slice() == expected => {
                *current = new.to_vec();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.begin_write()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        let mut counters = self
            .counters
            .lock()
            .map_err(|_| StoreError::Other("lock poisoned".into()))?;
        let value = counters.entry(key.to_string()).or_insert(0);
        *value += delta;
        let result = *value;
        drop(counters);
        self.counter_keys
            .lock()
            .map_err(|_| StoreError::Other("lock poisoned".into()))?
            .insert(key.to_string());
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_and_swap_only_replaces_an_unchanged_existing_value() {
        let store = MemoryStore::new();
        assert!(
            !store.compare_and_swap("k", b"", b"x").unwrap(),
            "absent key"
        );
        store.set("k", b"a").unwrap();
        assert!(!store.compare_and_swap("k", b"b", b"c").unwrap());
        assert!(store.compare_and_swap("k", b"a", b"c").unwrap());
        assert_eq!(store.get("k").unwrap(), Some(b"c".to_vec()));
    }

    #[test]
    fn counters_are_atomic_and_not_readable_with_get() {
        let store = MemoryStore::new();
        assert_eq!(store.increment("n", 1).unwrap(), 1);
        assert_eq!(store.increment("n", 2).unwrap(), 3);
        assert!(store.get("n").is_err());
    }

    #[test]
    fn a_batch_read_answers_every_position_also_a_key_named_twice() {
        let store = MemoryStore::new();
        assert!(store.set("a", b"1").is_ok());
        assert_eq!(
            store.get_many(&["a", "b", "a"]).ok(),
            Some(vec![Some(b"1".to_vec()), None, Some(b"1".to_vec())])
        );
    }

    #[test]
    fn unavailable_store_fails_every_operation() {
        let store = MemoryStore::new();
        store.set_unavailable(true);
        assert!(matches!(store.get("k"), Err(StoreError::Unavailable(_))));
        assert!(store.set("k", b"v").is_err());
        assert_eq!(store.operations(), 2);
    }
}
