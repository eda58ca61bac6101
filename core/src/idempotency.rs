//! Safe retries of creating requests with an `Idempotency-Key` header (IETF draft
//! "The Idempotency-Key HTTP Header Field"): the first request with a key runs; a retry with
//! the same key and the same request gets the first answer again (status, body, `ETag`,
//! `Location`, plus `Idempotent-Replayed: true`); the same key with a different request gets
//! 422; a retry while the first still runs gets 409. Keys are scoped per API key (the admin
//! token has one scope of its own) and kept 24 hours (then deleted, see
//! [`crate::answer_expiry`]). A replayed API key creation carries `"Secret": null`: the secret
//! is never stored (revoke the key and create another if the first answer was lost).
//!
//! The claim of a key is race-free on the storage port: the first claim of a key goes
//! through an atomic `increment` gate, later ones (after expiry, or taking over a request that
//! died mid-way, after [`IN_FLIGHT_TAKEOVER_MILLIS`]) through compare-and-swap. A request that
//! died between winning the gate and writing its claim is taken over the same way: the first
//! request that finds the gate taken and no claim notes the time, and once that is
//! [`IN_FLIGHT_TAKEOVER_MILLIS`] old the next generation of the gate decides who runs.

use crate::answer_expiry::epochs_read;
pub use crate::answer_expiry::RETENTION_MILLIS;
use crate::digest::sha256_hex;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::repo::{IdempotencySlot, Repo};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

pub const HEADER: &str = "Idempotency-Key";
pub const MAX_KEY_CHARS: usize = 255;
/// A request that holds a key this long without finishing is taken to have died; a retry
/// may then run the request again.
pub const IN_FLIGHT_TAKEOVER_MILLIS: i64 = 60 * 1000;
/// Response headers replayed with the body.
const REPLAYED_HEADERS: &[&str] = &["Content-Type", "ETag", "Location"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "State")]
enum Outcome {
    InFlight,
    /// A 5xx: nothing was promised, the next request with the key runs again.
    Released,
    Done {
        #[serde(rename = "Status")]
        status: u16,
        #[serde(rename = "Headers")]
        headers: Vec<(String, String)>,
        #[serde(rename = "Body")]
        body: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdempotencyRecord {
    fingerprint: String,
    holder: uuid::Uuid,
    since: Timestamp,
    expires_at: Timestamp,
    #[serde(flatten)]
    outcome: Outcome,
}

/// A claimed key: run the request, then [`Claim::finish`] with its answer.
pub struct Claim {
    slot: IdempotencySlot,
    holder: uuid::Uuid,
}

/// Fields of an answer that are never stored: an API key's secret exists in clear only in the
/// first answer (only its hash is stored), so a replay carries `null` in its place.
const NEVER_STORED_FIELDS: &[&str] = &["Secret", "Token"];

fn without_secrets(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            if let Some(object) = value.as_object_mut() {
                for field in NEVER_STORED_FIELDS {
                    if let Some(secret) = object.get_mut(*field) {
                        *secret = serde_json::Value::Null;
                    }
                }
            }
            value.to_string()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}

/// What to do with a request that carries an `Idempotency-Key`.
pub enum Decision {
    /// Run it, then finish the claim.
    Run(Claim),
    /// Answer this (a replay, 409 or 422) without running it.
    Answer(Response),
}

/// The key of a request, if it has one (400 when it is empty or too long).
pub fn key_of(request: &Request) -> Result<Option<String>, ApiError> {
    let Some(value) = request.header_value(HEADER) else {
        return Ok(None);
    };
    let value = value.trim().trim_matches('"');
    if value.is_empty() || value.chars().count() > MAX_KEY_CHARS {
        return Err(ApiError::BadRequest(format!(
            "Invalid value for header '{HEADER}': 1 to {MAX_KEY_CHARS} characters are required."
        )));
    }
    Ok(Some(value.to_string()))
}

fn fingerprint(request: &Request) -> String {
    let mut data = Vec::new();
    data.extend_from_slice(request.method.to_ascii_uppercase().as_bytes());
    data.push(b' ');
    data.extend_from_slice(request.path_and_query.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(&request.body);
    sha256_hex(&data)
}

fn replay(outcome: &Outcome) -> Option<Response> {
    let Outcome::Done {
        status,
        headers,
        body,
    } = outcome
    else {
        return None;
    };
    let mut response = Response {
        status: *status,
        headers: headers.clone(),
        body: body.as_bytes().to_vec(),
        log: None,
        wait: None,
    };
    response.set_header("Idempotent-Replayed", "true");
    Some(response)
}

fn in_flight() -> Response {
    ApiError::Conflict(format!(
        "A request with this {HEADER} is still being processed; retry later."
    ))
    .into_response()
}

/// A gate whose winner wrote no record yet: since when this request's instances have seen it so.
/// After [`IN_FLIGHT_TAKEOVER_MILLIS`] the winner is taken to have died between its gate and its
/// record, and the next *generation* of the gate (a fresh increment gate) decides who runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Stall {
    generation: u64,
    since: Timestamp,
}

/// Decides what happens to a request with `key` in `scope` (an API key id, or "admin").
pub fn begin(
    repo: &Repo,
    scope: &str,
    key: &str,
    request: &Request,
    now: Timestamp,
    holder: uuid::Uuid,
) -> Result<Decision, ApiError> {
    // Claims go to the epoch of now; an answer younger than 24 hours may also be in the epoch
    // before (or, from the versions before epochs, under the key without one).
    let [epoch, previous] = epochs_read(now);
    let slot = IdempotencySlot::in_epoch(scope, key, epoch);
    let earlier = [
        IdempotencySlot::in_epoch(scope, key, previous),
        IdempotencySlot::before_epochs(scope, key),
    ];
    let claimed = IdempotencyRecord {
        fingerprint: fingerprint(request),
        holder,
        since: now,
        expires_at: now.plus_millis(RETENTION_MILLIS),
        outcome: Outcome::InFlight,
    };
    let claim = || {
        slot.answer_here(repo);
        Claim {
            slot: slot.clone(),
            holder,
        }
    };
    for _ in 0..crate::repo::MAX_CAS_ATTEMPTS {
        let found = repo.idempotency_records::<IdempotencyRecord, Stall>(&slot, &earlier)?;
        // An earlier record still in force answers; a free one (expired, released, or its
        // request died) leaves the key to a claim in this epoch.
        if let Some(record) = found.earlier.iter().find(|r| !is_free(r, now)) {
            return answer_from(record, &claimed.fingerprint);
        }
        let (stored, stall) = (found.record, found.stall);
        let Some(stored) = stored else {
            let generation = stall.as_ref().map_or(0, |s| s.generation);
            // First use of the key (or of this generation): exactly one request wins the gate
            // and writes the claim.
            if repo.pass_idempotency_gate(&slot, generation)? {
                repo.write_idempotency_record(&slot, &claimed)?;
                return Ok(Decision::Run(claim()));
            }
            // Another request won it and is writing its claim, or died before it did.
            match stall {
                Some(stall) if stall.since.plus_millis(IN_FLIGHT_TAKEOVER_MILLIS) <= now => {
                    let next = Stall {
                        generation: generation + 1,
                        since: now,
                    };
                    repo.note_idempotency_stall(&slot, &next)?;
                    continue;
                }
                Some(_) => {}
                None => {
                    let first_seen = Stall {
                        generation,
                        since: now,
                    };
                    repo.note_idempotency_stall(&slot, &first_seen)?;
                }
            }
            return Ok(Decision::Answer(in_flight()));
        };
        if !is_free(&stored.value, now) {
            return answer_from(&stored.value, &claimed.fingerprint);
        }
        if repo.swap_idempotency_record(&slot, &stored.raw, &claimed)? {
            return Ok(Decision::Run(claim()));
        }
    }
    Ok(Decision::Answer(in_flight()))
}

/// Whether a record no longer holds its key: expired, released after a 5xx, or its request
/// died in flight.
fn is_free(record: &IdempotencyRecord, now: Timestamp) -> bool {
    let expired = record.expires_at <= now;
    let died = record.outcome == Outcome::InFlight
        && record.since.plus_millis(IN_FLIGHT_TAKEOVER_MILLIS) <= now;
    expired || died || record.outcome == Outcome::Released
}

/// The answer a record in force gives a request with `fingerprint`: its replay, 409 while it
/// runs, 422 for a different request.
fn answer_from(record: &IdempotencyRecord, fingerprint: &str) -> Result<Decision, ApiError> {
    if record.fingerprint != fingerprint {
        return Err(ApiError::UnprocessableContent(format!(
            "This {HEADER} was used for a different request; use a new key."
        )));
    }
    Ok(Decision::Answer(
        replay(&record.outcome).unwrap_or_else(in_flight),
    ))
}

impl Claim {
    /// Records the answer (a 5xx releases the key instead), if this request still holds it.
    pub fn finish(self, repo: &Repo, response: &Response) -> Result<(), ApiError> {
        let outcome = if response.status >= 500 {
            Outcome::Released
        } else {
            Outcome::Done {
                status: response.status,
                headers: response
                    .headers
                    .iter()
                    .filter(|(name, _)| {
                        REPLAYED_HEADERS
                            .iter()
                            .any(|h| h.eq_ignore_ascii_case(name))
                    })
                    .cloned()
                    .collect(),
                body: without_secrets(&response.body),
            }
        };
        repo.update_idempotency_record::<IdempotencyRecord, _>(&self.slot, |record| {
            if record.holder != self.holder || record.outcome != Outcome::InFlight {
                return Ok(false);
            }
            record.outcome = outcome.clone();
            Ok(true)
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{handle, Config, Env};
    use crate::demo;
    use crate::ids::SequentialIds;
    use crate::repo::hook_store::HookStore;
    use crate::store::Store;
    use serde_json::json;

    const T0: Timestamp = Timestamp::from_unix_millis(1_767_600_000_000);

    fn create(secret: &str) -> Request {
        Request::new("POST", &format!("/v1.0/teams/{}/tasks", demo::SUPPORT))
            .header("api_key", secret)
            .header(HEADER, "order-4711")
            .json(&json!({"Type": "ExternalTask", "Customer": {"Uri": "mailto:c@example.com"}}))
    }

    fn send(store: &dyn Store, request: &Request, now: Timestamp, first_id: u64) -> Response {
        let config = Config::default();
        handle(
            request,
            &mut Env {
                store,
                now,
                ids: &mut SequentialIds::new(first_id),
                config: &config,
            },
        )
    }

    /// A request won the key's gate and died before it wrote its claim: retries answer 409
    /// until [`IN_FLIGHT_TAKEOVER_MILLIS`] after the first retry saw it so, then one runs, and
    /// the retries after it get its answer.
    #[test]
    fn a_key_whose_first_request_died_before_its_claim_is_taken_over() {
        let (store, secret) = HookStore::with_demo_data(T0);
        let store = &store.inner;
        let scope = {
            // The demo key's id is inside its secret: tm_<id>_<random>.
            let id = secret
                .trim_start_matches("tm_")
                .split('_')
                .next()
                .unwrap_or_default();
            uuid::Uuid::parse_str(id)
                .map(|u| u.to_string())
                .unwrap_or_default()
        };
        let hash = sha256_hex(format!("{scope}\norder-4711").as_bytes());
        let epoch = crate::answer_expiry::epoch_of(T0);
        let store_key = crate::repo::keys::idempotency(&format!("{epoch}/{hash}"));
        // The request that died: its gate increment, and nothing after it.
        let gate = crate::repo::keys::creation_gate(&store_key);
        assert_eq!(store.increment(&gate, 1), Ok(1));

        let statuses: Vec<(i64, u16)> = [0, 59_999, 60_000, 60_001]
            .into_iter()
            .map(|ms| {
                (
                    ms,
                    send(store, &create(&secret), T0.plus_millis(ms), 100 + ms as u64).status,
                )
            })
            .collect();
        assert_eq!(
            statuses,
            [(0, 409), (59_999, 409), (60_000, 201), (60_001, 201)]
        );
        let last = send(store, &create(&secret), T0.plus_millis(60_002), 999_999);
        assert_eq!(last.header_value("Idempotent-Replayed"), Some("true"));
        let first = send(store, &create(&secret), T0.plus_millis(60_003), 888_888);
        assert_eq!(first.json_body()["Id"], last.json_body()["Id"], "one task");
    }
}
