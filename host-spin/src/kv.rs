//! The core's storage port on Spin key-value storage: `spin_sdk::key_value::Store` for
//! get/set/delete and `wasi:keyvalue/atomics` (hidden in spin-sdk at
//! `spin_sdk::wit::wasi::keyvalue`) for compare-and-swap and increment, both on the
//! same store label.

/// Every key the core writes is namespaced, so the store can be shared with other apps.
pub const KEY_PREFIX: &str = "tm:v1:";

/// The store key for a core key: namespaced, with `/` written as `:` because some Spin
/// key-value backends (Azure Cosmos DB) refuse `/` in keys. Core keys never contain `:`,
/// so the mapping stays one-to-one.
pub fn encode_key(key: &str) -> String {
    format!("{KEY_PREFIX}{}", key.replace('/', ":"))
}

#[cfg(target_arch = "wasm32")]
pub use spin::SpinStore;

#[cfg(target_arch = "wasm32")]
mod spin {
    use super::encode_key;
    use spin_sdk::key_value;
    use spin_sdk::wit::wasi::keyvalue::{atomics, batch, store as wasi_store};
    use std::cell::RefCell;
    use tm_core::{Store, StoreError};

    pub struct SpinStore {
        store: key_value::Store,
        bucket: wasi_store::Bucket,
        /// Reads go through compare-and-swap handles (one host call, like a plain get), kept
        /// for the last few keys: a swap of a key read just before, with the bytes it read,
        /// then needs one host call instead of two. Every store access costs about the same
        /// on Spin's SQLite store (one connection behind a lock), so calls are what count.
        recent: RefCell<Vec<(String, atomics::Cas, Vec<u8>)>>,
    }

    /// How many read handles a request keeps.
    const RECENT_READS: usize = 8;

    fn unavailable(error: impl std::fmt::Debug) -> StoreError {
        StoreError::Unavailable(format!("{error:?}"))
    }

    impl SpinStore {
        pub fn open(label: &str) -> Result<SpinStore, StoreError> {
            Ok(SpinStore {
                store: key_value::Store::open(label).map_err(unavailable)?,
                bucket: wasi_store::open(label).map_err(unavailable)?,
                recent: RefCell::new(Vec::new()),
            })
        }
    }

    impl Store for SpinStore {
        /// Read through a compare-and-swap handle (one store access, as a plain get), kept for
        /// a swap of this key that follows.
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            let cas = atomics::Cas::new(&self.bucket, &encode_key(key)).map_err(unavailable)?;
            let current = cas.current().map_err(unavailable)?;
            if let Some(value) = &current {
                let mut recent = self.recent.borrow_mut();
                recent.retain(|(k, ..)| k != key);
                if recent.len() >= RECENT_READS {
                    recent.remove(0);
                }
                recent.push((key.to_string(), cas, value.clone()));
            }
            Ok(current)
        }

        /// One host call for all keys (wasi:keyvalue/batch `get-many`).
        fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
            let encoded: Vec<String> = keys.iter().map(|key| encode_key(key)).collect();
            let found = batch::get_many(&self.bucket, &encoded).map_err(unavailable)?;
            // Matched by key: Spin's SQLite store answers a key asked twice only once, and the
            // port promises a value for every position (a batch may name one task twice).
            let found: std::collections::HashMap<String, Option<Vec<u8>>> =
                found.into_iter().collect();
            Ok(encoded
                .iter()
                .map(|key| found.get(key).cloned().flatten())
                .collect())
        }

        fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
            self.store.set(&encode_key(key), value).map_err(unavailable)
        }

        /// One host call and one SQLite transaction for all entries (wasi:keyvalue/batch).
        fn set_many(&self, entries: &[(&str, &[u8])]) -> Result<(), StoreError> {
            if entries.is_empty() {
                return Ok(());
            }
            let pairs: Vec<(String, Vec<u8>)> = entries
                .iter()
                .map(|(key, value)| (encode_key(key), value.to_vec()))
                .collect();
            self.recent.borrow_mut().clear();
            batch::set_many(&self.bucket, &pairs).map_err(unavailable)
        }

        fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.store.delete(&encode_key(key)).map_err(unavailable)
        }

        /// One host call for all keys (wasi:keyvalue/batch `delete-many`).
        fn delete_many(&self, keys: &[&str]) -> Result<(), StoreError> {
            if keys.is_empty() {
                return Ok(());
            }
            let encoded: Vec<String> = keys.iter().map(|key| encode_key(key)).collect();
            self.recent.borrow_mut().clear();
            batch::delete_many(&self.bucket, &encoded).map_err(unavailable)
        }

        /// Spin's CAS handle remembers the value it saw; we also compare it with `expected`,
        /// and never swap an absent key (Spin's SQLite store would write it unconditionally):
        /// a kept handle always saw a value.
        fn compare_and_swap(
            &self,
            key: &str,
            expected: &[u8],
            new: &[u8],
        ) -> Result<bool, StoreError> {
            let kept = {
                let mut recent = self.recent.borrow_mut();
                let at = recent
                    .iter()
                    .position(|(k, _, seen)| k == key && seen.as_slice() == expected);
                at.map(|at| recent.remove(at).1)
            };
            // The swap writes only if the stored value is still the one the handle saw.
            let cas = match kept {
                Some(cas) => cas,
                None => {
                    let cas =
                        atomics::Cas::new(&self.bucket, &encode_key(key)).map_err(unavailable)?;
                    match cas.current().map_err(unavailable)? {
                        Some(current) if current == expected => cas,
                        _ => return Ok(false),
                    }
                }
            };
            match atomics::swap(cas, new) {
                Ok(()) => Ok(true),
                Err(atomics::CasError::CasFailed(_)) => Ok(false),
                Err(atomics::CasError::StoreError(error)) => Err(unavailable(error)),
            }
        }

        fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
            atomics::increment(&self.bucket, &encode_key(key), delta).map_err(unavailable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_without_slashes() {
        assert_eq!(encode_key("task/7"), "tm:v1:task:7");
        assert_eq!(encode_key("index/team/abc"), "tm:v1:index:team:abc");
        assert_eq!(encode_key(""), "tm:v1:");
    }

    #[test]
    fn core_keys_never_contain_the_replacement_character() {
        let samples = tm_core::repo::key_layout_samples();
        assert!(samples.len() > 40, "{samples:?}");
        for key in samples {
            assert!(!key.contains(':'), "{key}");
        }
    }
}
