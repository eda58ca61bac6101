//! The core's storage port on Spin key-value storage: `spin_sdk::key_value::Store` for
//! get/set/delete and `wasi:keyvalue/atomics` (hidden in spin-sdk at
//! `spin_sdk::wit::wasi::keyvalue`) for compare-and-swap and increment, both on the
//! same store label.

/// Every key the core writes is namespaced, so the store can be shared with other apps.
pub const KEY_PREFIX: &str = "tm/v1/";

pub fn encode_key(key: &str) -> String {
    format!("{KEY_PREFIX}{key}")
}

#[cfg(target_arch = "wasm32")]
pub use spin::SpinStore;

#[cfg(target_arch = "wasm32")]
mod spin {
    use super::encode_key;
    use spin_sdk::key_value;
    use spin_sdk::wit::wasi::keyvalue::{atomics, store as wasi_store};
    use tm_core::{Store, StoreError};

    pub struct SpinStore {
        store: key_value::Store,
        bucket: wasi_store::Bucket,
    }

    fn unavailable(error: impl std::fmt::Debug) -> StoreError {
        StoreError::Unavailable(format!("{error:?}"))
    }

    impl SpinStore {
        pub fn open(label: &str) -> Result<SpinStore, StoreError> {
            Ok(SpinStore {
                store: key_value::Store::open(label).map_err(unavailable)?,
                bucket: wasi_store::open(label).map_err(unavailable)?,
            })
        }
    }

    impl Store for SpinStore {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.store.get(&encode_key(key)).map_err(unavailable)
        }

        fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
            self.store.set(&encode_key(key), value).map_err(unavailable)
        }

        fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.store.delete(&encode_key(key)).map_err(unavailable)
        }

        /// Spin's CAS handle remembers the value it saw; we also compare it with `expected`,
        /// and never swap an absent key (Spin's SQLite store would write it unconditionally).
        fn compare_and_swap(
            &self,
            key: &str,
            expected: &[u8],
            new: &[u8],
        ) -> Result<bool, StoreError> {
            let cas = atomics::Cas::new(&self.bucket, &encode_key(key)).map_err(unavailable)?;
            match cas.current().map_err(unavailable)? {
                Some(current) if current == expected => {}
                _ => return Ok(false),
            }
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
    fn keys_are_namespaced_verbatim() {
        assert_eq!(encode_key("task/7"), "tm/v1/task/7");
        assert_eq!(encode_key(""), "tm/v1/");
    }
}
