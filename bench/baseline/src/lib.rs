//! The baseline that `scripts/bench` measures the API against, in the same run and on the
//! same kind of store:
//! - `GET /empty` answers at once;
//! - `GET /kv` reads one small record from Spin's `default` key-value store (written by the
//!   first request) and answers it;
//! - `GET /kvwrite` writes a small record whose bytes change on every request (a write of the
//!   same bytes is cheaper on SQLite and would flatter the platform);
//! - `GET /kvcas` reads one of 64 records through a compare-and-swap handle and swaps new bytes
//!   in: the platform's own cost of one compare-and-swap update. A swap lost to a parallel
//!   request answers 409 (counted as non-2xx by the benchmark).

#[cfg(target_arch = "wasm32")]
mod component {
    use spin_sdk::http::{Request, Response};
    use spin_sdk::http_component;
    use spin_sdk::key_value::{Error, Store};
    use spin_sdk::wit::wasi::keyvalue::{atomics, store};
    use std::time::{SystemTime, UNIX_EPOCH};

    const KEY: &str = "baseline:record";
    const RECORD: &[u8] = br#"{"Revision":1}"#;
    /// Records `/kvcas` spreads over, so that parallel requests rarely meet.
    const CAS_RECORDS: u128 = 64;

    fn nanos() -> u128 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    }

    /// A record of the size of `RECORD` whose bytes differ from request to request.
    fn fresh_record(nanos: u128) -> Vec<u8> {
        format!(r#"{{"Revision":{nanos}}}"#).into_bytes()
    }

    enum Answer {
        Ok(Vec<u8>),
        Conflict,
    }

    fn compare_and_swap() -> Result<Answer, Error> {
        let failed = |_| Error::Other("compare-and-swap".into());
        let now = nanos();
        let key = format!("baseline:cas:{}", now % CAS_RECORDS);
        let bucket = store::open("default").map_err(failed)?;
        let cas = atomics::Cas::new(&bucket, &key).map_err(failed)?;
        cas.current().map_err(failed)?;
        let record = fresh_record(now);
        match atomics::swap(cas, &record) {
            Ok(()) => Ok(Answer::Ok(record)),
            Err(atomics::CasError::CasFailed(_)) => Ok(Answer::Conflict),
            Err(atomics::CasError::StoreError(_)) => Err(Error::Other("swap".into())),
        }
    }

    #[http_component]
    fn handle(request: Request) -> Response {
        let answer = match request.path() {
            "/kv" => Store::open_default()
                .and_then(|store| match store.get(KEY)? {
                    Some(value) => Ok(value),
                    None => store.set(KEY, RECORD).map(|()| RECORD.to_vec()),
                })
                .map(Answer::Ok),
            "/kvwrite" => Store::open_default().and_then(|store| {
                let record = fresh_record(nanos());
                store.set(KEY, &record).map(|()| Answer::Ok(record))
            }),
            "/kvcas" => compare_and_swap(),
            _ => return Response::builder().status(200).body(Vec::new()).build(),
        };
        match answer {
            Ok(Answer::Ok(body)) => Response::builder()
                .status(200)
                .header("Content-Type", "application/json")
                .body(body)
                .build(),
            Ok(Answer::Conflict) => Response::builder().status(409).body(Vec::new()).build(),
            Err(_) => Response::builder().status(503).body(Vec::new()).build(),
        }
    }
}
