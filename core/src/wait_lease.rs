//! A waiting feed read the store has counted (see `repo::waits`): what a host holds while it
//! waits and hands back when the wait ends. Its own module, so that the transport types carry it
//! without depending on the repo.

/// The counters to take a wait off again when it ends (opaque to hosts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitLease {
    counters: Vec<String>,
}

impl WaitLease {
    pub(crate) fn new(counters: Vec<String>) -> Self {
        WaitLease { counters }
    }

    pub(crate) fn counters(&self) -> &[String] {
        &self.counters
    }
}
