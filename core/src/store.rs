//! The storage port. Hosts implement [`Store`] on their key-value store; the core
//! only ever talks to this trait. The semantics follow Spin key-value storage
//! (wasi:keyvalue): plain get/set/delete, a compare-and-swap that only succeeds on
//! an existing key whose value is unchanged, and an atomic counter (`increment`)
//! whose value is binary and must never be read back with `get`.

mod memory;

pub use memory::MemoryStore;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable ({0})")]
    Unavailable(String),
    #[error("store error ({0})")]
    Other(String),
    #[error("stored record '{key}' is corrupt")]
    Corrupt { key: String },
}

pub trait Store {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Reads several keys, in one round trip where the store can (Redis `MGET`, wasi:keyvalue
    /// `get-many`); the values come in the order of `keys`, one per position (a key named twice
    /// gets its value twice).
    fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        keys.iter().map(|key| self.get(key)).collect()
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Writes several keys, in one round trip where the store can (Redis `MSET`, wasi:keyvalue
    /// `set-many`, one SQLite transaction in Spin). Not atomic as a whole on every store.
    fn set_many(&self, entries: &[(&str, &[u8])]) -> Result<(), StoreError> {
        entries
            .iter()
            .try_for_each(|(key, value)| self.set(key, value))
    }
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes several keys (absent ones are fine), in one round trip where the store can.
    fn delete_many(&self, keys: &[&str]) -> Result<(), StoreError> {
        keys.iter().try_for_each(|key| self.delete(key))
    }
    /// Writes `new` only if `key` exists and still holds exactly `expected`.
    /// Returns `Ok(false)` when the value changed (or the key is absent): the caller re-reads and retries.
    fn compare_and_swap(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, StoreError>;
    /// Atomically adds `delta` to the counter at `key` (absent counts as 0) and returns the new value.
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
}
