//! Scripted interleavings of feed writers and readers (see `hook_store`).

use crate::api::{handle, Config, Env};
use crate::demo;
use crate::http::{Request, Response};
use crate::ids::SequentialIds;
use crate::repo::hook_store::HookStore;
use crate::store::Store;
use crate::time::Timestamp;
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const NOW: Timestamp = Timestamp::from_unix_millis(1_767_600_000_000);

fn send(store: &dyn Store, request: &Request, now: Timestamp, first_id: u64) -> Response {
    let config = Config::default();
    let mut ids = SequentialIds::new(first_id);
    handle(
        request,
        &mut Env {
            store,
            now,
            ids: &mut ids,
            config: &config,
        },
    )
}

fn create(key: &str) -> Request {
    Request::new("POST", &format!("/v1.0/teams/{}/tasks", demo::SUPPORT))
        .header("api_key", key)
        .json(&json!({"Type": "ExternalTask", "Customer": {"Uri": "mailto:c@example.com"}}))
}

fn events(key: &str, after: &str) -> Request {
    Request::new(
        "GET",
        &format!("/v1.0/teams/{}/events?after={after}", demo::SUPPORT),
    )
    .header("api_key", key)
}

fn body(response: &Response) -> Value {
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

/// Demo data, its key, and the team feed's cursor after it.
fn setup() -> (HookStore<'static>, String, String) {
    let (store, key) = HookStore::with_demo_data(NOW);
    let start = body(&send(&store.inner, &events(&key, "0"), NOW, 500));
    let cursor = start["Cursor"].as_str().unwrap_or_default().to_string();
    (store, key, cursor)
}

/// The created task ids in a feed page.
fn created(page: &Value) -> Vec<String> {
    page["Events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["Kind"] == "Created")
        .filter_map(|e| e["TaskId"].as_str().map(String::from))
        .collect()
}

/// A create stalls between taking its place and writing its intent for longer than readers
/// wait: a reader voids the place and follows on. The create must not commit on the voided
/// place (it would never be answered to that reader); it takes a new place, and the reader
/// that skipped the void gets it there.
#[test]
fn a_create_whose_place_was_voided_is_placed_again_and_reaches_the_reader() {
    let (store, key, start_cursor) = setup();
    let other = Rc::new(RefCell::new(String::new()));
    let reader_cursor = Rc::new(RefCell::new(String::new()));
    let stalled = Rc::new(Cell::new(false));
    let (hook_other, hook_cursor, hook_stalled) =
        (other.clone(), reader_cursor.clone(), stalled.clone());
    let hook_key = key.clone();
    store.set_hook(move |operation, key_written, inner| {
        let (key, other, stalled) = (&hook_key, &hook_other, &hook_stalled);
        if operation != "set"
            || !(key_written.starts_with("feed/") && key_written.contains("/e/"))
            || stalled.replace(true)
        {
            return;
        }
        // Meanwhile: another create commits at the next place; a reader sees the gap, and
        // sees it again 11 s later (and voids it).
        let made = send(inner, &create(key), NOW, 600);
        assert_eq!(made.status, 201);
        *other.borrow_mut() = body(&made)["Id"].as_str().unwrap_or_default().to_string();
        let first = body(&send(inner, &events(key, &start_cursor), NOW, 700));
        assert!(created(&first).is_empty(), "stops at the gap: {first}");
        let later = NOW.plus_millis(11_000);
        let second = body(&send(inner, &events(key, &start_cursor), later, 800));
        assert_eq!(created(&second), vec![other.borrow().clone()], "{second}");
        *hook_cursor.borrow_mut() = second["Cursor"].as_str().unwrap_or_default().into();
    });
    let made = send(&store, &create(&key), NOW, 900);
    assert_eq!(made.status, 201, "{}", body(&made));
    assert!(stalled.get());
    let stalled_id = body(&made)["Id"].as_str().unwrap_or_default().to_string();
    let cursor = reader_cursor.borrow().clone();
    let next = body(&send(
        &store.inner,
        &events(&key, &cursor),
        NOW.plus_millis(12_000),
        1000,
    ));
    assert_eq!(created(&next), vec![stalled_id], "{next}");
}

/// The other side of the void handshake: a reader decides to void a place whose request
/// stalled, and the request writes its intent (and commits) just before the void is written.
/// The reader reads the place again after voiding and answers the change.
///
/// The stalled request is played by a create that runs at that moment while the feed's counter
/// is set back by one, so that it takes the place taken earlier (a request stalled between its
/// increment and its write is exactly that).
#[test]
fn a_place_written_just_before_it_is_voided_is_answered() {
    let (store, key, start_cursor) = setup();
    let counter = format!("feed/team/{}/count", demo::SUPPORT);
    // The stalled request's place, then a create that commits after it.
    store.inner.increment(&counter, 1).expect("a place taken");
    assert_eq!(send(&store.inner, &create(&key), NOW, 600).status, 201);
    let noted = body(&send(&store.inner, &events(&key, &start_cursor), NOW, 700));
    assert!(created(&noted).is_empty(), "stops at the gap: {noted}");
    let late = Rc::new(RefCell::new(String::new()));
    let hook_late = late.clone();
    let hook_key = key.clone();
    store.set_hook(move |operation, written, inner| {
        if operation != "set" || !written.contains("/void/") || !hook_late.borrow().is_empty() {
            return;
        }
        inner.increment(&counter, -2).expect("counter set back");
        let made = send(inner, &create(&hook_key), NOW, 800);
        assert_eq!(made.status, 201);
        inner.increment(&counter, 1).expect("counter restored");
        *hook_late.borrow_mut() = body(&made)["Id"].as_str().unwrap_or_default().into();
    });
    let later = NOW.plus_millis(11_000);
    let page = body(&send(&store, &events(&key, &start_cursor), later, 900));
    let late_id = late.borrow().clone();
    assert!(!late_id.is_empty(), "the reader voided the place");
    assert_eq!(created(&page).first(), Some(&late_id), "{page}");
}

/// A create stalls between its intent and its task write for longer than a reader waits for a
/// create (31 s, the reader's clock), while readers follow the feed. Whatever the create then
/// answers, the feed must agree with the store: either the create fails and its task does not
/// exist, or it succeeds and its `Created` event reaches every reader, once (the reader that
/// read during the stall, going on from its cursor, and a reader that starts afterwards).
#[test]
fn a_create_stalled_before_its_task_write_either_fails_or_reaches_every_reader() {
    let (store, key, start_cursor) = setup();
    let during = Rc::new(RefCell::new(Value::Null));
    let stalled = Rc::new(Cell::new(false));
    let (hook_during, hook_stalled) = (during.clone(), stalled.clone());
    let hook_key = key.clone();
    let hook_start = start_cursor.clone();
    let intent_written = Cell::new(false);
    store.set_hook(move |operation, written, inner| {
        if operation == "set" && written.starts_with("feed/") && written.contains("/e/") {
            intent_written.set(true);
        }
        let writes_task = matches!(operation, "set" | "cas") && written.starts_with("task/");
        if !writes_task || !intent_written.get() || hook_stalled.replace(true) {
            return;
        }
        // The intent is placed and undecided: a reader 31 s later decides it.
        let later = NOW.plus_millis(31_000);
        *hook_during.borrow_mut() = body(&send(inner, &events(&hook_key, &hook_start), later, 700));
    });
    let made = send(&store, &create(&key), NOW, 900);
    assert!(stalled.get(), "the create stalled before its task write");
    let during = during.borrow().clone();
    let id = body(&made)["Id"].as_str().unwrap_or_default().to_string();
    let late = NOW.plus_millis(32_000);
    let fresh = body(&send(
        &store.inner,
        &events(&key, &start_cursor),
        late,
        1000,
    ));
    if made.status == 201 {
        let cursor = during["Cursor"].as_str().unwrap_or_default();
        let after_stall = body(&send(&store.inner, &events(&key, cursor), late, 1100));
        let seen: Vec<String> = created(&during)
            .into_iter()
            .chain(created(&after_stall))
            .collect();
        assert_eq!(
            seen,
            vec![id.clone()],
            "the reader during the stall: {during} then {after_stall}"
        );
        assert_eq!(created(&fresh), vec![id], "a fresh reader: {fresh}");
    } else {
        let get = Request::new("GET", &format!("/v1.0/tasks/{id}")).header("api_key", &key);
        assert_eq!(send(&store.inner, &get, late, 1200).status, 404);
        assert!(created(&fresh).is_empty(), "{fresh}");
    }
}

/// An intent's outcome is stored as earlier versions stored it (`Committed`: true, false or
/// absent), so feeds written before the typed outcome read the same.
#[test]
fn an_outcome_keeps_the_stored_committed_flag() {
    use crate::repo::{FeedEntry, Outcome};
    let stored = |committed: Option<bool>| {
        let task = json!({"Id": "00000000-0000-0000-0000-000000000001", "TeamId": "00000000-0000-0000-0000-000000000002",
            "Type": "IncomingCall", "Status": "Queued", "Priority": "Normal",
            "Customer": {"Uri": "tel:+41", "DisplayName": ""}, "AssignedUserId": null, "ExternalTaskId": null,
            "Description": null, "CreatedAt": "2026-01-05T00:00:00.000Z", "QueuedAt": null,
            "UpdatedAt": "2026-01-05T00:00:00.000Z", "EndedAt": null, "Version": 1, "ConsultationCall": null});
        let mut entry = json!({"Seq": 3, "Kind": "Created", "TaskId": "00000000-0000-0000-0000-000000000001",
            "Version": 1, "At": "2026-01-05T00:00:00.000Z", "Task": task,
            "Change": "00000000-0000-0000-0000-00000000000c"});
        if let Some(flag) = committed {
            entry["Committed"] = json!(flag);
        }
        entry
    };
    for (flag, outcome) in [
        (None, Outcome::Pending),
        (Some(true), Outcome::Committed),
        (Some(false), Outcome::Refused),
    ] {
        let entry: FeedEntry = serde_json::from_value(stored(flag)).expect("an entry");
        assert_eq!(entry.outcome, outcome);
        let written = serde_json::to_value(&entry).expect("written");
        assert_eq!(
            written.get("Committed").cloned(),
            flag.map(|f| json!(f)),
            "{outcome:?}"
        );
    }
}

fn user_events(key: &str, after: &str) -> Request {
    Request::new(
        "GET",
        &format!("/v1.0/users/{}/events?after={after}", demo::ANNA),
    )
    .header("api_key", key)
}

/// The availability changes in a feed page, as (revision, chosen state).
fn availability_changes(page: &Value) -> Vec<(u64, String)> {
    page["Events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["Kind"] == "Availability")
        .map(|e| {
            let chosen = e["Availability"]["Chosen"].as_str().unwrap_or_default();
            (e["Version"].as_u64().unwrap_or(0), chosen.to_string())
        })
        .collect()
}

/// An availability change stalls between its intent and its record write for longer than
/// readers wait (11 s on the reader's clock), while a task is offered to the agent after it:
/// the reader fences the stalled change in the agent's record and reads on to the offer; the
/// late write fails, the request places its change again and commits it. Every reader then
/// sees exactly one availability change, the second attempt, and the answer agrees with it.
#[test]
fn an_availability_change_stalled_before_its_record_write_is_fenced_and_placed_again() {
    let (store, key, _) = setup();
    let start = body(&send(&store.inner, &user_events(&key, "0"), NOW, 500));
    let start = start["Cursor"].as_str().unwrap_or_default().to_string();
    let during = Rc::new(RefCell::new(Value::Null));
    let stalled = Rc::new(Cell::new(false));
    let (hook_during, hook_stalled, hook_key, hook_start) =
        (during.clone(), stalled.clone(), key.clone(), start.clone());
    let agent_key = format!("agent/{}", demo::ANNA);
    store.set_hook(move |operation, written, inner| {
        if operation != "cas" || written != agent_key || hook_stalled.replace(true) {
            return;
        }
        // Meanwhile a task is offered to Anna by hand: a change after the stalled one.
        let made = send(inner, &create(&hook_key), NOW, 600);
        let id = body(&made)["Id"].as_str().unwrap_or_default().to_string();
        let offer = Request::new("POST", &format!("/v1.0/tasks/{id}/offer"))
            .header("api_key", &hook_key)
            .json(&json!({"UserIdentifier": demo::ANNA.0.to_string()}));
        assert_eq!(send(inner, &offer, NOW, 650).status, 200);
        let later = NOW.plus_millis(11_000);
        *hook_during.borrow_mut() = body(&send(
            inner,
            &user_events(&hook_key, &hook_start),
            later,
            700,
        ));
    });
    let set = Request::new("PUT", &format!("/v1.0/users/{}/availability", demo::ANNA))
        .header("api_key", &key)
        .json(&json!({"State": "Away", "Reason": "Lunch"}));
    let made = send(&store, &set, NOW, 900);
    assert!(stalled.get(), "the change stalled before its record write");
    assert_eq!(made.status, 200, "{}", body(&made));
    assert_eq!(body(&made)["Chosen"], "Away");
    let during = during.borrow().clone();
    assert!(
        availability_changes(&during).is_empty(),
        "the stalled change was fenced, not answered: {during}"
    );
    let kinds: Vec<&str> = during["Events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["Kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["Offer"],
        "the reader went on past the fenced change"
    );
    let later = NOW.plus_millis(12_000);
    let cursor = during["Cursor"].as_str().unwrap_or_default();
    let after_stall = body(&send(&store.inner, &user_events(&key, cursor), later, 1000));
    let fresh = body(&send(&store.inner, &user_events(&key, &start), later, 1100));
    let expected = vec![(1, "Away".to_string())];
    assert_eq!(
        availability_changes(&after_stall),
        expected,
        "{after_stall}"
    );
    assert_eq!(availability_changes(&fresh), expected, "{fresh}");
}

/// An erasure scrubs a person's feed entries while the upkeep settling their block has read
/// them and is writing its decisions back: the decisions must not put the person back (the
/// upkeep writes by compare-and-swap on what it read, so the scrub wins).
#[test]
fn an_erasure_during_the_upkeep_of_its_entries_is_not_undone() {
    const PERSON: &str = "tel:+41790000001";
    let (store, key, _) = setup();
    let mine = Request::new("POST", &format!("/v1.0/teams/{}/tasks", demo::SUPPORT))
        .header("api_key", &key)
        .json(&json!({"Type": "ExternalTask", "Customer": {"Uri": PERSON, "DisplayName": "P"}}));
    let made = send(&store, &mine, NOW, 600);
    assert_eq!(made.status, 201, "{}", body(&made));
    let id = body(&made)["Id"].as_str().unwrap_or_default().to_string();
    let terminate =
        Request::new("POST", &format!("/v1.0/tasks/{id}/terminate")).header("api_key", &key);
    assert_eq!(send(&store, &terminate, NOW, 650).status, 200);
    let erased = Rc::new(Cell::new(false));
    let hook_erased = erased.clone();
    store.set_hook(move |operation, written, inner| {
        if operation != "cas" || !written.starts_with("feed/") || hook_erased.get() {
            return;
        }
        let holds_person = inner
            .get(written)
            .ok()
            .flatten()
            .is_some_and(|raw| String::from_utf8_lossy(&raw).contains(PERSON));
        if holds_person {
            let report = crate::repo::Repo::new(inner)
                .erase_person(PERSON)
                .expect("erased");
            assert_eq!(report.tasks, 1);
            hook_erased.set(true);
        }
    });
    // Other changes until the upkeep has settled the block of the person's entries.
    for n in 0..40 {
        assert_eq!(send(&store, &create(&key), NOW, 700 + n * 10).status, 201);
    }
    assert!(erased.get(), "the upkeep wrote the entries' decisions back");
    let left: Vec<String> = store
        .inner
        .value_keys()
        .into_iter()
        .filter(|k| {
            store
                .inner
                .get(k)
                .ok()
                .flatten()
                .is_some_and(|raw| String::from_utf8_lossy(&raw).contains(PERSON))
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
