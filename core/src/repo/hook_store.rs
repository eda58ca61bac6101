//! A store wrapper for scripted interleavings: it runs another request at an exact point
//! inside a request, the way parallel Spin instances can interleave.

use crate::store::{MemoryStore, Store, StoreError};
use std::cell::RefCell;

pub(crate) type Hook<'a> = Box<dyn FnMut(&str, &str, &MemoryStore) + 'a>;

/// Calls `hook(operation, key, inner)` before every operation (not for operations the hook
/// itself makes on `inner`).
pub(crate) struct HookStore<'a> {
    pub(crate) inner: MemoryStore,
    pub(crate) hook: RefCell<Option<Hook<'a>>>,
    /// The next compare-and-swap on this key fails as if the store went away (the request
    /// dies there).
    pub(crate) fail_next_swap_of: RefCell<Option<String>>,
}

impl HookStore<'_> {
    fn before(&self, operation: &str, key: &str) {
        let taken = self.hook.borrow_mut().take();
        if let Some(mut hook) = taken {
            hook(operation, key, &self.inner);
            *self.hook.borrow_mut() = Some(hook);
        }
    }
}

impl Store for HookStore<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.before("get", key);
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.before("set", key);
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.before("delete", key);
        self.inner.delete(key)
    }
    fn compare_and_swap(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        self.before("cas", key);
        if self.fail_next_swap_of.borrow().as_deref() == Some(key) {
            self.fail_next_swap_of.borrow_mut().take();
            return Err(StoreError::Unavailable("injected failure".into()));
        }
        self.inner.compare_and_swap(key, expected, new)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.before("increment", key);
        self.inner.increment(key, delta)
    }
}

impl<'a> HookStore<'a> {
    pub(crate) fn new() -> Self {
        HookStore {
            inner: MemoryStore::new(),
            hook: RefCell::new(None),
            fail_next_swap_of: RefCell::new(None),
        }
    }

    /// A store with the demo data (loaded at `now`, not hooked) and the demo key's secret.
    pub(crate) fn with_demo_data(now: crate::time::Timestamp) -> (Self, String) {
        let store = HookStore::new();
        let config = crate::api::Config::default();
        let mut ids = crate::ids::SequentialIds::new(1);
        let secret = crate::demo::load_if_empty(&mut crate::api::Env {
            store: &store.inner,
            now,
            ids: &mut ids,
            config: &config,
        })
        .ok()
        .flatten()
        .unwrap_or_default();
        (store, secret)
    }

    /// From now on, calls `hook(operation, key, inner)` before every operation.
    pub(crate) fn set_hook(&self, hook: impl FnMut(&str, &str, &MemoryStore) + 'a) {
        *self.hook.borrow_mut() = Some(Box::new(hook));
    }
}
