//! Erasure of one person's data (issue 23): after `POST /admin/v1.0/erasure` no stored value
//! holds the person's URI or name (every key of the store is read), while everybody else's data
//! stays; open tasks of the person are refused with 409 and change nothing.

use crate::scenarios::Tasks;
use crate::*;
use serde_json::{json, Value};
use tm_core::Request;

/// The person to erase: a customer who called twice (once with an Idempotency-Key) and was
/// called in once as a consultation target on somebody else's call.
pub const ERIKA_URI: &str = "tel:+41791234567";
pub const ERIKA_NAME: &str = "Erika Muster";
/// Somebody else, who must keep every trace.
pub const MIA_NAME: &str = "Mia Weber";

fn erase(api: &Api, uri: &str) -> Response {
    api.admin(
        "POST",
        "/admin/v1.0/erasure",
        Some(json!({"CustomerUri": uri})),
    )
}

fn create_for_erika(t: &Tasks, idempotency: Option<&str>) -> (String, Value) {
    let body = json!({"Type": "IncomingCall", "Priority": "Normal",
        "Customer": {"Uri": ERIKA_URI, "DisplayName": ERIKA_NAME}});
    let mut request = Request::new("POST", &format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"))
        .header("api_key", &t.key)
        .json(&body);
    if let Some(key) = idempotency {
        request = request.header("Idempotency-Key", key);
    }
    let created = assert_status(&t.api.send(request), 201);
    (created["Id"].as_str().unwrap_or_default().to_string(), body)
}

/// Every stored value that contains `needle`, as `key: value` lines.
pub fn values_containing(values: &[(String, Vec<u8>)], needle: &str) -> Vec<String> {
    values
        .iter()
        .filter_map(|(key, value)| {
            let text = String::from_utf8_lossy(value);
            text.contains(needle)
                .then(|| format!("{key}: {}", text.chars().take(300).collect::<String>()))
        })
        .collect()
}

/// The scripted erasure; `dump` reads every key and value of the store under the API.
pub fn erasing_a_person_leaves_no_trace_and_keeps_everybody_else(
    api: &Api,
    dump: &dyn Fn() -> Vec<(String, Vec<u8>)>,
) {
    let t = Tasks::new(api);
    // Erika calls (with an Idempotency-Key): offered, accepted, on hold, terminated.
    let (first, body) = create_for_erika(&t, Some("erika-call-1"));
    t.ok(&first, "offer", Some(json!({"UserIdentifier": ANNA})));
    t.ok(&first, "accept", None);
    t.ok(&first, "hold", None);
    t.ok(&first, "terminate", None);
    // Mia's call, on which Anna consults Erika's number.
    let mia = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    t.ok(&mia, "offer", Some(json!({"UserIdentifier": ANNA})));
    t.ok(&mia, "accept", None);
    t.ok(&mia, "consultationCall", Some(json!({"Target": ERIKA_URI})));
    // Erika calls again; this call is still open.
    let (second, _) = create_for_erika(&t, None);
    assert!(!values_containing(&dump(), ERIKA_NAME).is_empty());

    // Open tasks of hers: refused, nothing changed.
    let before = dump();
    let refused = erase(api, ERIKA_URI);
    let message = assert_error(&refused, 409, "Conflict");
    assert!(message.contains(&second), "{message}");
    assert!(
        message.contains(&mia),
        "the consultation is open too: {message}"
    );
    let unchanged = |key: &str| {
        before
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let after_refusal = dump();
    let task_key = format!("task/{first}");
    assert_eq!(
        after_refusal
            .iter()
            .find(|(k, _)| *k == task_key)
            .map(|(_, v)| v.clone()),
        unchanged(&task_key),
        "a refused erasure changes nothing"
    );

    // Once they have ended, the erasure goes through.
    t.ok(&mia, "consultationCall/terminate", None);
    t.ok(&mia, "terminate", None);
    t.ok(&second, "terminate", None);
    let erased = assert_status(&erase(api, ERIKA_URI), 200);
    assert_eq!(erased["Tasks"], 3, "{erased}");
    assert_eq!(erased["TasksScrubbed"], 3, "{erased}");
    assert_eq!(erased["AnswersScrubbed"], 1, "{erased}");
    assert_eq!(erased["More"], false, "{erased}");
    assert!(
        erased["FeedEntriesScrubbed"].as_u64().unwrap_or(0) >= 10,
        "every change's snapshots: {erased}"
    );

    // No value anywhere holds her number or her name; Mia's stay.
    let values = dump();
    assert_eq!(values_containing(&values, ERIKA_URI), Vec::<String>::new());
    assert_eq!(values_containing(&values, ERIKA_NAME), Vec::<String>::new());
    assert!(
        values_containing(&values, "+41791234567").is_empty(),
        "not even the digits"
    );
    assert!(!values_containing(&values, MIA_NAME).is_empty());
    // No key names her either (the index is under a hash, and its entries are gone).
    let hash = tm_core::personal_data::customer_hash(ERIKA_URI);
    let indexed: Vec<&String> = values
        .iter()
        .map(|(k, _)| k)
        .filter(|k| k.contains(&hash) && !k.ends_with("count"))
        .collect();
    assert!(indexed.is_empty(), "{indexed:?}");

    // What readers see: the tasks with an empty party, the rest unchanged.
    let task = t.get(&first);
    assert_eq!(task["Customer"], json!({"Uri": "", "DisplayName": ""}));
    assert_eq!(task["Status"], "Terminated");
    let consulted = t.get(&mia);
    assert_eq!(consulted["Customer"]["DisplayName"], MIA_NAME);
    assert_eq!(consulted["ConsultationCall"]["Target"]["Uri"], "");
    let (events, _) = t.follow_feed(&format!("/v1.0/teams/{TEAM_SUPPORT}/events"), "0");
    let of_first: Vec<&Value> = events.iter().filter(|e| e["TaskId"] == first).collect();
    assert_eq!(of_first.len(), 5, "created, offer, accept, hold, terminate");
    for event in of_first {
        assert_eq!(event["Task"]["Customer"]["Uri"], "", "{event}");
    }
    // The idempotent create's stored answer is scrubbed too: a replay shows the empty party.
    let replay = t.api.send(
        Request::new("POST", &format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"))
            .header("api_key", &t.key)
            .header("Idempotency-Key", "erika-call-1")
            .json(&body),
    );
    assert_eq!(replay.status, 201);
    assert_eq!(replay.json_body()["Id"], first.as_str());
    assert_eq!(replay.json_body()["Customer"]["Uri"], "");

    // Done once: a second erasure finds nothing; bad input is a clear 400.
    let again = assert_status(&erase(api, ERIKA_URI), 200);
    assert_eq!(again["Tasks"], 0, "{again}");
    assert_error(&erase(api, "  "), 400, "BadRequest");
    let unknown = api.admin(
        "POST",
        "/admin/v1.0/erasure",
        Some(json!({"CustomerUri": ERIKA_URI, "Name": "x"})),
    );
    assert_eq!(unknown.status, 400);
    // An integrator's key cannot erase.
    let integrator = api.call(
        &t.key,
        "POST",
        "/admin/v1.0/erasure",
        Some(json!({"CustomerUri": ERIKA_URI})),
    );
    assert_eq!(integrator.status, 401);
}

/// A person with more tasks than one erasure takes on (1,000) is erased in two requests: the
/// first answers `More: true`, the second takes the rest and answers `More: false`.
pub fn a_person_with_many_tasks_is_erased_in_several_requests(api: &Api) {
    let t = Tasks::new(api);
    for _ in 0..1_001 {
        let (id, _) = create_for_erika(&t, None);
        t.ok(&id, "terminate", None);
    }
    let first = assert_status(&erase(api, ERIKA_URI), 200);
    assert_eq!(first["Tasks"], 1_000, "{first}");
    assert_eq!(first["TasksScrubbed"], 1_000, "{first}");
    assert_eq!(first["More"], true, "{first}");
    let second = assert_status(&erase(api, ERIKA_URI), 200);
    assert_eq!(second["Tasks"], 1, "{second}");
    assert_eq!(second["More"], false, "{second}");
    assert_eq!(assert_status(&erase(api, ERIKA_URI), 200)["Tasks"], 0);
}
