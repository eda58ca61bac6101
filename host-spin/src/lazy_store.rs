//! A store opened at its first operation: requests that never reach the store (static files,
//! unknown paths, malformed keys) open no Redis connection.

use std::cell::OnceCell;
use tm_core::{Store, StoreError};

type Opener = Box<dyn FnOnce() -> Result<Box<dyn Store>, StoreError>>;

pub struct LazyStore {
    open: std::cell::Cell<Option<Opener>>,
    opened: OnceCell<Result<Box<dyn Store>, StoreError>>,
}

impl LazyStore {
    pub fn new(open: impl FnOnce() -> Result<Box<dyn Store>, StoreError> + 'static) -> Self {
        LazyStore {
            open: std::cell::Cell::new(Some(Box::new(open))),
            opened: OnceCell::new(),
        }
    }

    /// Whether an operation needed the store (for tests).
    pub fn was_opened(&self) -> bool {
        self.opened.get().is_some()
    }

    fn store(&self) -> Result<&dyn Store, StoreError> {
        let opened = self.opened.get_or_init(|| match self.open.take() {
            Some(open) => open(),
            None => Err(StoreError::Unavailable("store opener already used".into())),
        });
        match opened {
            Ok(store) => Ok(store.as_ref()),
            Err(error) => Err(error.clone()),
        }
    }
}

impl Store for LazyStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store()?.get(key)
    }
    fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.store()?.get_many(keys)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store()?.set(key, value)
    }
    fn set_many(&self, entries: &[(&str, &[u8])]) -> Result<(), StoreError> {
        self.store()?.set_many(entries)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store()?.delete(key)
    }
    fn delete_many(&self, keys: &[&str]) -> Result<(), StoreError> {
        self.store()?.delete_many(keys)
    }
    fn compare_and_swap(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        self.store()?.compare_and_swap(key, expected, new)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.store()?.increment(key, delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;
    use tm_core::MemoryStore;

    fn counting() -> (LazyStore, Rc<std::cell::Cell<u32>>) {
        let opens = Rc::new(std::cell::Cell::new(0));
        let counter = opens.clone();
        let store = LazyStore::new(move || {
            counter.set(counter.get() + 1);
            Ok(Box::new(MemoryStore::new()))
        });
        (store, opens)
    }

    #[test]
    fn a_request_that_reads_nothing_opens_nothing() {
        let (store, opens) = counting();
        let response = tm_core::handle(
            &tm_core::Request::new("GET", "/no/such/path"),
            &mut tm_core::Env {
                store: &store,
                now: tm_core::Timestamp::from_unix_millis(0),
                ids: &mut tm_core::SequentialIds::new(1),
                config: &tm_core::Config::default(),
            },
        );
        assert_eq!(response.status, 404);
        assert_eq!(opens.get(), 0);
        assert!(!store.was_opened());
    }

    #[test]
    fn the_store_is_opened_once_at_its_first_use() {
        let (store, opens) = counting();
        store.set("a", b"1").expect("set");
        assert_eq!(store.get("a").expect("get"), Some(b"1".to_vec()));
        assert_eq!(opens.get(), 1);
    }

    #[test]
    fn a_failed_open_fails_every_operation_without_opening_again() {
        let opens = Rc::new(std::cell::Cell::new(0));
        let counter = opens.clone();
        let store = LazyStore::new(move || {
            counter.set(counter.get() + 1);
            Err(StoreError::Unavailable("Redis: cannot connect".into()))
        });
        assert!(store.get("a").is_err());
        assert!(store.increment("a", 1).is_err());
        assert_eq!(opens.get(), 1);
    }
}
