//! Personal data (issue 23): which parts of a task are a person's (the customer, a
//! consultation or transfer target: a URI and a display name), and how a stored document is
//! scrubbed of them. Pure decisions; the repo keeps the index from a customer to their tasks and
//! the list of places each task's data was written to (`repo/personal_data.rs`).
//!
//! Scrubbing works on the stored JSON, not on typed records, because one routine must serve
//! every place a party is kept: the task, its feed snapshots (a task inside an entry) and the
//! stored answers of idempotent requests (a task inside a response body). A party is any JSON
//! object with a string `Uri` (`Party` and `Target` are the only such objects the service
//! writes): its `Uri` and `DisplayName` become empty strings. A string field `Body` holding JSON
//! (a stored answer) is scrubbed as the JSON it holds.

use crate::digest::sha256_hex;
use crate::model::Task;
use serde_json::Value;

/// Whose data a scrub removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scrub<'a> {
    /// One person's: every party with exactly this URI (an erasure).
    Uri(&'a str),
    /// Everybody's (a task deleted by retention leaves no party behind in its feed entries).
    Everyone,
}

impl Scrub<'_> {
    fn matches(&self, uri: &str) -> bool {
        match self {
            Scrub::Uri(target) => !uri.is_empty() && uri == *target,
            Scrub::Everyone => !uri.is_empty(),
        }
    }
}

/// The name a customer URI is indexed under: its SHA-256, so that the key does not carry the
/// number in clear (it is still personal data: deleted by the erasure).
pub fn customer_hash(uri: &str) -> String {
    sha256_hex(uri.as_bytes())
}

/// The URIs of the people a task names: its customer, its consultation target and where it was
/// transferred to (without empty ones and repeats).
pub fn party_uris(task: &Task) -> Vec<&str> {
    let mut uris: Vec<&str> = Vec::new();
    let candidates = [
        Some(task.customer.uri.as_str()),
        task.consultation_call
            .as_ref()
            .map(|c| c.target.uri.as_str()),
        task.transferred_to.as_ref().map(|t| t.uri.as_str()),
    ];
    for uri in candidates.into_iter().flatten() {
        if !uri.is_empty() && !uris.contains(&uri) {
            uris.push(uri);
        }
    }
    uris
}

/// The URIs `after` names that `before` did not (a change that adds a consultation or transfer
/// target notes the new person in the index).
pub fn new_party_uris<'a>(before: &Task, after: &'a Task) -> Vec<&'a str> {
    let known = party_uris(before);
    party_uris(after)
        .into_iter()
        .filter(|uri| !known.contains(uri))
        .collect()
}

/// Scrubs every party `scrub` matches in `value`; whether anything changed.
pub fn scrub_value(value: &mut Value, scrub: Scrub) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            if let Some(Value::String(uri)) = map.get("Uri") {
                if scrub.matches(uri) {
                    map.insert("Uri".into(), Value::String(String::new()));
                    if let Some(name) = map.get_mut("DisplayName") {
                        *name = Value::String(String::new());
                    }
                    changed = true;
                }
            }
            for (name, inner) in map.iter_mut() {
                changed |= match inner {
                    // A stored answer keeps its body as JSON text.
                    Value::String(text) if name == "Body" => match scrub_text(text, scrub) {
                        Some(scrubbed) => {
                            *text = scrubbed;
                            true
                        }
                        None => false,
                    },
                    _ => scrub_value(inner, scrub),
                };
            }
            changed
        }
        Value::Array(items) => {
            // Every item, not only up to the first that changed.
            let mut changed = false;
            for item in items {
                changed |= scrub_value(item, scrub);
            }
            changed
        }
        _ => false,
    }
}

/// Scrubs a stored JSON document; the new bytes if anything changed (`None`: unchanged, or not
/// JSON, which the service never stores where a party can be).
pub fn scrub_document(raw: &[u8], scrub: Scrub) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(raw).ok()?;
    if !scrub_value(&mut value, scrub) {
        return None;
    }
    serde_json::to_vec(&value).ok()
}

/// Scrubs a JSON text held inside a document (an idempotent request's stored answer body).
pub fn scrub_text(text: &str, scrub: Scrub) -> Option<String> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    if !scrub_value(&mut value, scrub) {
        return None;
    }
    serde_json::to_string(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task_json() -> Value {
        json!({
            "Id": "00000000-0000-0000-0000-000000000001", "TeamId": "00000000-0000-0000-0000-000000000002",
            "Type": "IncomingCall", "Status": "Terminated", "Priority": "Normal",
            "Customer": {"Uri": "tel:+41441234567", "DisplayName": "Erika Muster"},
            "AssignedUserId": null, "ExternalTaskId": null, "Description": null,
            "CreatedAt": "2026-01-01T00:00:00.000Z", "QueuedAt": null,
            "UpdatedAt": "2026-01-01T00:00:00.000Z", "EndedAt": "2026-01-01T00:05:00.000Z",
            "Version": 4,
            "ConsultationCall": {
                "Id": "00000000-0000-0000-0000-000000000003", "TaskId": "00000000-0000-0000-0000-000000000001",
                "InitiatorUserId": null,
                "Target": {"Uri": "tel:+41449999999", "DisplayName": "Max Beispiel", "UserId": null},
                "Status": "Ended",
                "AudioRoutes": {"CustomerHearsAgent": true, "CustomerHearsConsultant": true,
                    "AgentHearsCustomer": true, "AgentHearsConsultant": true,
                    "ConsultantHearsCustomer": true, "ConsultantHearsAgent": true},
                "StartedAt": "2026-01-01T00:01:00.000Z", "EndedAt": "2026-01-01T00:02:00.000Z"},
            "TransferredTo": {"Uri": "tel:+41441234567", "DisplayName": "Erika Muster", "UserId": null}
        })
    }

    #[test]
    fn a_task_names_its_customer_and_its_targets_once_each() {
        let task: Task = serde_json::from_value(task_json()).expect("a task");
        assert_eq!(
            party_uris(&task),
            vec!["tel:+41441234567", "tel:+41449999999"]
        );
        let mut before = task.clone();
        before.consultation_call = None;
        before.transferred_to = None;
        assert_eq!(new_party_uris(&before, &task), vec!["tel:+41449999999"]);
        assert!(new_party_uris(&task, &task).is_empty());
    }

    #[test]
    fn an_erasure_scrubs_only_the_parties_with_that_uri() {
        let mut value = task_json();
        assert!(scrub_value(&mut value, Scrub::Uri("tel:+41441234567")));
        assert_eq!(value["Customer"], json!({"Uri": "", "DisplayName": ""}));
        assert_eq!(
            value["TransferredTo"],
            json!({"Uri": "", "DisplayName": "", "UserId": null})
        );
        // The consultant is somebody else.
        assert_eq!(
            value["ConsultationCall"]["Target"]["DisplayName"],
            "Max Beispiel"
        );
        // Scrubbed once, nothing is left to change.
        assert!(!scrub_value(&mut value, Scrub::Uri("tel:+41441234567")));
        // A prefix is not the number.
        let mut other = task_json();
        assert!(!scrub_value(&mut other, Scrub::Uri("tel:+4144123456")));
        assert_eq!(other, task_json());
    }

    #[test]
    fn retention_scrubs_everybody_and_leaves_the_rest() {
        let mut value = json!({"Seq": 7, "Kind": "Terminate", "Task": task_json()});
        assert!(scrub_value(&mut value, Scrub::Everyone));
        let text = value.to_string();
        for personal in ["+4144", "Erika", "Max Beispiel"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
        assert_eq!(value["Task"]["Status"], "Terminated");
        assert_eq!(value["Seq"], 7);
    }

    #[test]
    fn documents_and_texts_are_scrubbed_in_their_stored_form() {
        let raw = serde_json::to_vec(&json!({"Body": "x", "Task": task_json()})).expect("json");
        let scrubbed = scrub_document(&raw, Scrub::Uri("tel:+41441234567")).expect("changed");
        assert!(!String::from_utf8_lossy(&scrubbed).contains("Erika"));
        assert_eq!(
            scrub_document(&scrubbed, Scrub::Uri("tel:+41441234567")),
            None
        );
        assert_eq!(scrub_document(b"\x00\x01", Scrub::Everyone), None);
        let body = task_json().to_string();
        let answer = serde_json::to_vec(&json!({"Status": 201, "Body": body})).expect("json");
        let scrubbed = scrub_document(&answer, Scrub::Everyone).expect("changed");
        assert!(!String::from_utf8_lossy(&scrubbed).contains("+4144"));
        let text = scrub_text(&body, Scrub::Uri("tel:+41441234567")).expect("changed");
        assert!(!text.contains("+41441234567"));
        assert_eq!(scrub_text("not json", Scrub::Everyone), None);
        assert_eq!(customer_hash("tel:+41").len(), 64);
    }
}
