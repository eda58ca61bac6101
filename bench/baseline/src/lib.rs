//! The baseline that `scripts/bench` measures the API against, in the same run and on the
//! same kind of store: `GET /empty` answers at once; `GET /kv` reads one small record from
//! Spin's `default` key-value store (written by the first request) and answers it;
//! `GET /kvwrite` writes that record once (the platform's own cost of one write).

#[cfg(target_arch = "wasm32")]
mod component {
    use spin_sdk::http::{Request, Response};
    use spin_sdk::http_component;
    use spin_sdk::key_value::Store;

    const KEY: &str = "baseline:record";
    const RECORD: &[u8] = br#"{"Revision":1}"#;

    #[http_component]
    fn handle(request: Request) -> Response {
        let answer = match request.path() {
            "/kv" => Store::open_default().and_then(|store| match store.get(KEY)? {
                Some(value) => Ok(value),
                None => store.set(KEY, RECORD).map(|()| RECORD.to_vec()),
            }),
            "/kvwrite" => Store::open_default()
                .and_then(|store| store.set(KEY, RECORD))
                .map(|()| RECORD.to_vec()),
            _ => return Response::builder().status(200).body(Vec::new()).build(),
        };
        match answer {
            Ok(body) => Response::builder()
                .status(200)
                .header("Content-Type", "application/json")
                .body(body)
                .build(),
            Err(_) => Response::builder().status(503).body(Vec::new()).build(),
        }
    }
}
