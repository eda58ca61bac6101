//! Scripted interleavings: a store wrapper runs another request at an exact point inside
//! a request, the way parallel Spin instances can interleave.

use super::*;
use crate::api::{handle, Config, Env};
use crate::demo;
use crate::http::Request;
use crate::ids::SequentialIds;
use crate::model::TaskStatus;
use crate::repo::hook_store::HookStore;
use crate::repo::{team_shard, QueueHead};
use crate::store::{MemoryStore, Store};
use crate::time::Timestamp;
use std::cell::Cell;
use std::rc::Rc;

const NOW: Timestamp = Timestamp::from_unix_millis(1_767_600_000_000);

fn request(store: &dyn Store, request: &Request) -> crate::http::Response {
    let config = Config::default();
    let mut ids = SequentialIds::new(99);
    handle(
        request,
        &mut Env {
            store,
            now: NOW,
            ids: &mut ids,
            config: &config,
        },
    )
}

/// Demo data (one task ringing at Anna's, two queued) and its key.
fn setup() -> (HookStore<'static>, String, Vec<TaskId>) {
    let (store, secret) = HookStore::with_demo_data(NOW);
    let queue = Repo::new(&store.inner)
        .team_index(demo::SUPPORT)
        .unwrap_or_default()
        .queue;
    let queued = queue.into_iter().map(|q| q.task_id).collect();
    (store, secret, queued)
}

fn post(key: &str, path: String, body: Option<serde_json::Value>) -> Request {
    let request = Request::new("POST", &path).header("api_key", key);
    match body {
        Some(body) => request.json(&body),
        None => request,
    }
}

fn anna_tasks(store: &dyn Store) -> Vec<TaskId> {
    Repo::new(store)
        .user_index(demo::ANNA)
        .unwrap_or_default()
        .tasks
}

#[test]
fn a_team_written_by_the_directory_has_every_shard_so_first_creations_pass_no_gate() {
    let (store, key, _) = setup();
    for shard in 0..TEAM_INDEX_SHARDS {
        let shard_key = keys::team_index_shard(demo::SUPPORT, shard);
        assert!(
            store.inner.get(&shard_key).ok().flatten().is_some(),
            "{shard_key} missing after the directory write"
        );
    }
    // Creating tasks (spread over the shards by id) never waits on a creation gate: under
    // parallel requests a gate loser could run out of reads and answer 503.
    let gates = Rc::new(Cell::new(0));
    let seen = Rc::clone(&gates);
    *store.hook.borrow_mut() = Some(Box::new(move |_, key: &str, _: &MemoryStore| {
        if key.starts_with("gate/index/") {
            seen.set(seen.get() + 1);
        }
    }));
    let body = serde_json::json!({"Type": "IncomingCall", "Customer": {"Uri": "tel:+41445550100"}});
    for n in 0..40 {
        let create = post(
            &key,
            format!("/v1.0/teams/{}/tasks", demo::SUPPORT),
            Some(body.clone()),
        )
        .header("Idempotency-Key", &format!("create-{n}"));
        assert_eq!(request(&store.inner, &create).status, 201);
    }
    assert_eq!(gates.get(), 0, "creation gates touched");
}

#[test]
fn entries_left_where_the_unsharded_layout_kept_them_are_moved_without_losing_a_task() {
    let (store, key, queued) = setup();
    let repo = Repo::new(&store.inner);
    let task = *queued
        .iter()
        .find(|t| team_shard(**t) != 0)
        .expect("a queued task outside shard 0");
    let offer = post(
        &key,
        format!("/v1.0/tasks/{task}/offer"),
        Some(serde_json::json!({"UserIdentifier": "ben@contoso.com"})),
    );
    assert_eq!(request(&store.inner, &offer).status, 200);
    // As the unsharded layout left it: the task's entry in shard 0, not in its own shard.
    let right = IndexDoc::Team(demo::SUPPORT, team_shard(task)).key();
    let old = keys::team_index(demo::SUPPORT);
    let read = |key: &str| -> TeamIndex {
        repo.read(key)
            .ok()
            .flatten()
            .map(|v| v.value)
            .unwrap_or_default()
    };
    let mut own = read(&right);
    own.open.retain(|t| *t != task);
    store
        .inner
        .set(&right, &encode(&own).unwrap_or_default())
        .ok();
    let mut legacy = read(&old);
    legacy.open.push(task);
    store
        .inner
        .set(&old, &encode(&legacy).unwrap_or_default())
        .ok();

    // A change that touches no team entry, then two lists: the task is listed both times.
    let accept = post(&key, format!("/v1.0/tasks/{task}/accept"), None);
    assert_eq!(request(&store.inner, &accept).status, 200);
    let list = Request::new("GET", &format!("/v1.0/teams/{}/tasks", demo::SUPPORT))
        .header("api_key", &key);
    for round in 0..2 {
        let listed = request(&store.inner, &list).json_body();
        let ids: Vec<String> = listed
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["Id"].as_str().map(String::from))
            .collect();
        assert!(ids.contains(&task.to_string()), "round {round}: {ids:?}");
    }
    // Now it is where it belongs, and only there.
    assert!(read(&right).open.contains(&task));
    assert!(!read(&old).open.contains(&task));
}

/// The best queue entry names a task that is no longer queued (its change committed, the
/// index not reconciled yet): the next best is served, and the stale entry is repaired.
#[test]
fn a_stale_first_queue_entry_is_skipped_and_repaired() {
    let (store, key, queued) = setup();
    let repo = Repo::new(&store.inner);
    let best = repo
        .longest_waiting_task(demo::SUPPORT, NOW)
        .ok()
        .flatten()
        .map(|t| t.task.id)
        .expect("a queued task");
    let next = *queued.iter().find(|t| **t != best).expect("a second one");
    let mut stale: StoredTask = repo
        .read(&keys::task(best))
        .ok()
        .flatten()
        .map(|v| v.value)
        .expect("stored");
    stale.task.status = TaskStatus::Ringing;
    stale.task.assigned_user_id = Some(demo::ANNA);
    store
        .inner
        .set(&keys::task(best), &encode(&stale).unwrap_or_default())
        .ok();
    let longest = Request::new(
        "GET",
        &format!("/v1.0/teams/{}/longestwaitingtask", demo::SUPPORT),
    )
    .header("api_key", &key);
    let answer = request(&store.inner, &longest).json_body();
    assert_eq!(answer["Id"], next.to_string());
    let queue = repo.team_index(demo::SUPPORT).unwrap_or_default().queue;
    assert!(!queue.iter().any(|q| q.task_id == best), "repaired");
    assert!(queue.iter().any(|q| q.task_id == next));
}

#[test]
fn an_offer_that_loses_its_race_leaves_no_entry_behind() {
    let (store, key, queued) = setup();
    let task = queued[0];
    let fired = Rc::new(Cell::new(false));
    let hook_fired = Rc::clone(&fired);
    let other_key = key.clone();
    *store.hook.borrow_mut() = Some(Box::new(move |operation, key, inner| {
        // After the offer added its entry to Anna's index and right before its task write,
        // another request ends the task: the offer's write fails, its retry is refused.
        if operation == "cas" && key == keys::task(task) && !hook_fired.replace(true) {
            let end = post(&other_key, format!("/v1.0/tasks/{task}/terminate"), None);
            assert_eq!(request(inner, &end).status, 200);
        }
    }));
    let offer = post(
        &key,
        format!("/v1.0/tasks/{task}/offer"),
        Some(serde_json::json!({"UserIdentifier": "anna@contoso.com"})),
    );
    assert_eq!(request(&store, &offer).status, 409);
    *store.hook.borrow_mut() = None;
    assert!(fired.get(), "the interleaved terminate ran");
    assert!(
        !anna_tasks(&store.inner).contains(&task),
        "a refused offer left the task in Anna's index"
    );
}

#[test]
fn a_reader_repairing_an_entry_mid_offer_cannot_lose_the_offer() {
    let (store, key, queued) = setup();
    let task = queued[0];
    let fired = Rc::new(Cell::new(false));
    let hook_fired = Rc::clone(&fired);
    let list_key = key.clone();
    *store.hook.borrow_mut() = Some(Box::new(move |operation, key, inner| {
        let fired = &hook_fired;
        // Between the offer's index addition and its task write, a reader lists Anna's
        // tasks: it sees the new entry but the task still queued, and repairs the index.
        if operation == "cas" && key == keys::task(task) && !fired.replace(true) {
            let list = Request::new("GET", &format!("/v1.0/users/{}/tasks", demo::ANNA))
                .header("api_key", &list_key);
            assert_eq!(request(inner, &list).status, 200);
            assert!(
                !anna_tasks(inner).contains(&task),
                "the reader removed the early entry"
            );
        }
    }));
    let offer = post(
        &key,
        format!("/v1.0/tasks/{task}/offer"),
        Some(serde_json::json!({"UserIdentifier": "anna@contoso.com"})),
    );
    assert_eq!(request(&store, &offer).status, 200);
    *store.hook.borrow_mut() = None;
    assert!(fired.get(), "the interleaved reader ran");
    assert!(
        anna_tasks(&store.inner).contains(&task),
        "the offered task is missing from Anna's index"
    );
}

#[test]
fn an_update_between_a_task_write_and_its_index_cleanup_is_kept() {
    let (store, key, queued) = setup();
    let task = queued[0];
    let task_written = Cell::new(false);
    let fired = Rc::new(Cell::new(false));
    let hook_fired = Rc::clone(&fired);
    let decline_key = key.clone();
    *store.hook.borrow_mut() = Some(Box::new(move |operation, key, inner| {
        let fired = &hook_fired;
        if operation == "cas" && key == keys::task(task) {
            task_written.set(true);
            return;
        }
        // After the offer wrote the task and before it cleans up the queue entry, a decline
        // runs to completion: the task is queued again and needs that entry.
        let shard = keys::team_index_shard(demo::SUPPORT, team_shard(task));
        if task_written.get() && key == shard && !fired.replace(true) {
            let decline = post(&decline_key, format!("/v1.0/tasks/{task}/decline"), None);
            assert_eq!(request(inner, &decline).status, 200);
        }
    }));
    let offer = post(
        &key,
        format!("/v1.0/tasks/{task}/offer"),
        Some(serde_json::json!({"UserIdentifier": "anna@contoso.com"})),
    );
    assert_eq!(request(&store, &offer).status, 200);
    *store.hook.borrow_mut() = None;
    assert!(fired.get(), "the interleaved decline ran");
    let stored = Repo::new(&store.inner)
        .task(task)
        .ok()
        .flatten()
        .map(|s| s.task.status);
    assert_eq!(stored, Some(TaskStatus::Queued));
    let queue = Repo::new(&store.inner)
        .team_index(demo::SUPPORT)
        .unwrap_or_default()
        .queue;
    assert!(
        queue.iter().any(|q| q.task_id == task),
        "the declined task lost its queue entry"
    );
    assert!(
        !anna_tasks(&store.inner).contains(&task),
        "the declined task is still Anna's"
    );
}

fn longest_waiting(store: &dyn Store, key: &str) -> crate::http::Response {
    let path = format!("/v1.0/teams/{}/longestwaitingtask", demo::SUPPORT);
    request(store, &Request::new("GET", &path).header("api_key", key))
}

fn queue_head(store: &MemoryStore, task: TaskId) -> Option<QueueHead> {
    let raw = store
        .get(&keys::team_queue_head(demo::SUPPORT, team_shard(task)))
        .ok()??;
    serde_json::from_slice(&raw).ok()
}

#[test]
fn an_offer_that_dies_before_publishing_its_queue_head_is_repaired_by_the_next_reader() {
    let (store, key, queued) = setup();
    let first = longest_waiting(&store.inner, &key).json_body()["Id"].clone();
    let first = queued
        .iter()
        .copied()
        .find(|t| first == t.to_string())
        .expect("the longest waiting task is queued");
    let next = *queued.iter().find(|t| **t != first).expect("a second one");
    // The offer commits and takes the entry out of the shard, then dies publishing the head.
    *store.fail_next_swap_of.borrow_mut() =
        Some(keys::team_queue_head(demo::SUPPORT, team_shard(first)));
    let offer = post(
        &key,
        format!("/v1.0/tasks/{first}/offer"),
        Some(serde_json::json!({"UserIdentifier": "ben@contoso.com"})),
    );
    assert_eq!(request(&store, &offer).status, 200);
    assert!(
        store.fail_next_swap_of.borrow().is_none(),
        "the failure was injected"
    );
    let stale = queue_head(&store.inner, first).and_then(|h| h.best);
    assert_eq!(stale.map(|q| q.task_id), Some(first), "the head is stale");
    // The reader checks the head against the task, serves the next one and repairs the head.
    let answer = longest_waiting(&store.inner, &key).json_body();
    assert_eq!(answer["Id"], next.to_string());
    let repaired = queue_head(&store.inner, first).and_then(|h| h.best);
    assert_ne!(
        repaired.map(|q| q.task_id),
        Some(first),
        "the head was not repaired"
    );
}

#[test]
fn a_create_that_cannot_publish_its_queue_head_fails_before_its_task_is_written() {
    let (store, key, _) = setup();
    let before = longest_waiting(&store.inner, &key).json_body()["Id"].clone();
    let body = serde_json::json!({"Type": "IncomingCall", "Priority": "StrictPriority",
        "Customer": {"Uri": "tel:+41445550100"}});
    let create = post(
        &key,
        format!("/v1.0/teams/{}/tasks", demo::SUPPORT),
        Some(body),
    );
    // The id the next task gets: its shard's head is where the create dies.
    let mut ids = SequentialIds::new(99);
    let id = TaskId(crate::ids::IdSource::next_id(&mut ids));
    *store.fail_next_swap_of.borrow_mut() =
        Some(keys::team_queue_head(demo::SUPPORT, team_shard(id)));
    assert_eq!(request(&store, &create).status, 503);
    assert!(
        store.fail_next_swap_of.borrow().is_none(),
        "the failure was injected"
    );
    assert!(store.inner.get(&keys::task(id)).ok().flatten().is_none());
    // Nothing half-made is served; the same create again succeeds and is served first.
    assert_eq!(
        longest_waiting(&store.inner, &key).json_body()["Id"],
        before
    );
    assert_eq!(request(&store, &create).status, 201);
    assert_eq!(
        longest_waiting(&store.inner, &key).json_body()["Id"],
        id.to_string()
    );
}

#[test]
fn a_team_without_queue_heads_is_read_whole_once_then_by_its_heads() {
    let (store, key, _) = setup();
    let expected = longest_waiting(&store.inner, &key).json_body()["Id"].clone();
    // As a team stored before queue heads existed.
    for head in keys::team_queue_heads(demo::SUPPORT) {
        assert!(store.inner.delete(&head).is_ok());
    }
    assert_eq!(
        longest_waiting(&store.inner, &key).json_body()["Id"],
        expected
    );
    let heads = keys::team_queue_heads(demo::SUPPORT)
        .filter(|head| store.inner.get(head).ok().flatten().is_some())
        .count();
    assert_eq!(heads, usize::from(TEAM_INDEX_SHARDS), "heads published");
    let operations = store.inner.operations();
    assert_eq!(
        longest_waiting(&store.inner, &key).json_body()["Id"],
        expected
    );
    // The key (authentication first), the read-ahead (team, heads) and the task; no shard.
    assert_eq!(store.inner.operations() - operations, 3);
}

/// What a create that died between its index write and its task write leaves: the entries of a
/// task that does not exist, queued `minutes_ago` with the highest priority (so it is the best
/// entry of its shard and named by the shard's head).
fn abandoned_create(store: &MemoryStore, minutes_ago: i64) -> TaskId {
    let task = TaskId(uuid::Uuid::from_u128(0xdead));
    let queued = QueueEntry {
        task_id: task,
        priority: crate::model::Priority::StrictPriority,
        queued_at: NOW.plus_millis(-minutes_ago * 60_000),
        sequence: 0,
    };
    let open = IndexEntry::TeamOpen(demo::SUPPORT, task);
    let queue = IndexEntry::TeamQueue(demo::SUPPORT, queued);
    assert!(Repo::new(store).add_entries(&[&open, &queue]).is_ok());
    assert_eq!(
        queue_head(store, task)
            .and_then(|h| h.best)
            .map(|q| q.task_id),
        Some(task)
    );
    task
}

fn shard_lists(store: &MemoryStore, task: TaskId) -> bool {
    let shard: TeamIndex = store
        .get(&keys::team_index_shard(demo::SUPPORT, team_shard(task)))
        .ok()
        .flatten()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .unwrap_or_default();
    shard.open.contains(&task) || shard.queue.iter().any(|q| q.task_id == task)
}

#[test]
fn entries_of_a_create_that_died_long_ago_are_removed_when_met() {
    let (store, key, _) = setup();
    let expected = longest_waiting(&store.inner, &key).json_body()["Id"].clone();
    let dead = abandoned_create(&store.inner, 11);
    assert_eq!(
        longest_waiting(&store.inner, &key).json_body()["Id"],
        expected
    );
    assert!(
        !shard_lists(&store.inner, dead),
        "the abandoned entries stay"
    );
    let head = queue_head(&store.inner, dead).and_then(|h| h.best);
    assert_ne!(head.map(|q| q.task_id), Some(dead));
}

#[test]
fn entries_of_a_create_still_in_progress_are_kept() {
    let (store, key, _) = setup();
    let expected = longest_waiting(&store.inner, &key).json_body()["Id"].clone();
    let in_progress = abandoned_create(&store.inner, 1);
    assert_eq!(
        longest_waiting(&store.inner, &key).json_body()["Id"],
        expected
    );
    assert!(
        shard_lists(&store.inner, in_progress),
        "a create in progress lost its entries"
    );
}
