//! Where a contended create spends its store operations: creates from several threads into
//! one team on the in-process memory store (yielding inside operations so that requests
//! interleave), with a small and a large number of open tasks in the team. Prints, per create
//! and per kind of key, reads, bytes read, swaps tried, swaps lost and bytes written.
//! A measurement for `scripts/bench`'s numbers, not a test:
//! `tm-contention-probe [threads] [creates-per-thread] [open-tasks...]`.

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tm_core::{MemoryStore, Store, StoreError};
use tm_e2e_tests::scenarios::Tasks;
use tm_e2e_tests::{Api, TEAM_SUPPORT};

#[derive(Default, Clone, Copy)]
struct Counts {
    reads: u64,
    read_bytes: u64,
    swaps: u64,
    swaps_lost: u64,
    writes: u64,
    written_bytes: u64,
    increments: u64,
}

/// The memory store, counting per kind of key (the key up to its first id).
struct CountingStore {
    inner: Arc<MemoryStore>,
    counts: Mutex<BTreeMap<String, Counts>>,
}

/// The key with its ids and numbers taken out: `feed/team/{id}/e/{n}`.
fn kind(key: &str) -> String {
    key.split('/')
        .map(|part| {
            if part.len() >= 32 && part.contains('-') {
                "{id}"
            } else if !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()) {
                "{n}"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl CountingStore {
    fn count(&self, key: &str, add: impl FnOnce(&mut Counts)) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        add(counts.entry(kind(key)).or_default());
    }
}

impl Store for CountingStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.inner.get(key)?;
        self.count(key, |c| {
            c.reads += 1;
            c.read_bytes += value.as_ref().map_or(0, |v| v.len() as u64);
        });
        Ok(value)
    }
    fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let values = self.inner.get_many(keys)?;
        for (key, value) in keys.iter().zip(&values) {
            self.count(key, |c| {
                c.reads += 1;
                c.read_bytes += value.as_ref().map_or(0, |v| v.len() as u64);
            });
        }
        Ok(values)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.count(key, |c| {
            c.writes += 1;
            c.written_bytes += value.len() as u64;
        });
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn compare_and_swap(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        let won = self.inner.compare_and_swap(key, expected, new)?;
        self.count(key, |c| {
            c.swaps += 1;
            c.swaps_lost += u64::from(!won);
            c.written_bytes += new.len() as u64;
        });
        Ok(won)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.count(key, |c| c.increments += 1);
        self.inner.increment(key, delta)
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let threads = args.first().copied().unwrap_or(8);
    let per_thread = args.get(1).copied().unwrap_or(50);
    let sizes: Vec<usize> = match args.get(2..) {
        Some(sizes) if !sizes.is_empty() => sizes.to_vec(),
        _ => vec![10, 3000],
    };
    for open in sizes {
        let memory = Arc::new(MemoryStore::new());
        let store = Arc::new(CountingStore {
            inner: memory.clone(),
            counts: Mutex::new(BTreeMap::new()),
        });
        let api = Api::in_process_on(store.clone()).with_directory();
        let key = api.key(&["TasksManage"]);
        let t = Tasks::new(&api);
        for _ in 0..open {
            t.create(TEAM_SUPPORT, "ExternalTask", "Normal");
        }
        memory.set_yield_inside(true);
        store
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let failed = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    for _ in 0..per_thread {
                        let response = api.call(
                            &key,
                            "POST",
                            &format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"),
                            Some(json!({"Type": "ExternalTask", "Customer": {"Uri": "mailto:probe@example.com"}})),
                        );
                        if response.status != 201 {
                            failed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        let creates = (threads * per_thread) as f64;
        println!(
            "\n{open} open tasks, {threads} threads x {per_thread} creates ({} failed); per create:",
            failed.into_inner()
        );
        println!(
            "{:<32} {:>7} {:>9} {:>7} {:>7} {:>7} {:>9} {:>5}",
            "key kind", "reads", "KB read", "swaps", "lost", "sets", "KB writ", "incr"
        );
        let counts = store.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut total = Counts::default();
        for (kind, c) in counts.iter() {
            print_row(kind, c, creates);
            total.reads += c.reads;
            total.read_bytes += c.read_bytes;
            total.swaps += c.swaps;
            total.swaps_lost += c.swaps_lost;
            total.writes += c.writes;
            total.written_bytes += c.written_bytes;
            total.increments += c.increments;
        }
        print_row("total", &total, creates);
    }
}

/// One line of the table: `counts` per create.
fn print_row(kind: &str, c: &Counts, creates: f64) {
    let per = |n: u64| n as f64 / creates;
    println!(
        "{:<32} {:>7.2} {:>9.1} {:>7.2} {:>7.2} {:>7.2} {:>9.1} {:>5.2}",
        kind,
        per(c.reads),
        per(c.read_bytes) / 1024.0,
        per(c.swaps),
        per(c.swaps_lost),
        per(c.writes),
        per(c.written_bytes) / 1024.0,
        per(c.increments)
    );
}
