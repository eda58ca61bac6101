//! How the widget's requests reach the API. Production uses `fetch`; tests pass a transport
//! that answers with the real core handler running in the page.

use std::future::Future;
use std::pin::Pin;
use tm_core::{Request, Response};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response, String>>>>;

pub trait Transport {
    /// Sends a request whose path is relative to the API base (`/v1.0/...`).
    fn send(&self, request: Request) -> ResponseFuture;
    /// Asks the page's own backend for an agent session: `POST url` with the page's cookies.
    fn session(&self, url: &str) -> ResponseFuture;
}

/// `window.fetch` against `base_url` (empty: same origin).
pub struct FetchTransport {
    pub base_url: String,
}

fn describe(error: JsValue) -> String {
    error
        .as_string()
        .or_else(|| {
            js_sys::JSON::stringify(&error)
                .ok()
                .and_then(|s| s.as_string())
        })
        .unwrap_or_else(|| "network error".into())
}

async fn fetch(url: String, request: Request, with_cookies: bool) -> Result<Response, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(&request.method);
    if with_cookies {
        init.set_credentials(web_sys::RequestCredentials::Include);
    }
    let headers = web_sys::Headers::new().map_err(describe)?;
    for (name, value) in &request.headers {
        headers.append(name, value).map_err(describe)?;
    }
    init.set_headers(&headers);
    if !request.body.is_empty() {
        let body = js_sys::Uint8Array::from(request.body.as_slice());
        init.set_body(&body);
    }
    let js_request = web_sys::Request::new_with_str_and_init(&url, &init).map_err(describe)?;
    let window = web_sys::window().ok_or("no window")?;
    let answer = JsFuture::from(window.fetch_with_request(&js_request))
        .await
        .map_err(describe)?;
    let answer: web_sys::Response = answer.dyn_into().map_err(describe)?;
    let mut response_headers = Vec::new();
    for name in ["Content-Type", "ETag", "X-Feed-Cursor"] {
        if let Ok(Some(value)) = answer.headers().get(name) {
            response_headers.push((name.to_string(), value));
        }
    }
    let buffer = JsFuture::from(answer.array_buffer().map_err(describe)?)
        .await
        .map_err(describe)?;
    Ok(Response {
        status: answer.status(),
        headers: response_headers,
        body: js_sys::Uint8Array::new(&buffer).to_vec(),
        log: None,
        wait: None,
    })
}

impl Transport for FetchTransport {
    fn send(&self, request: Request) -> ResponseFuture {
        let url = format!(
            "{}{}",
            self.base_url.trim_end_matches('/'),
            request.path_and_query
        );
        Box::pin(fetch(url, request, false))
    }

    fn session(&self, url: &str) -> ResponseFuture {
        // The page's URL as given (relative to the page, not to the API base).
        Box::pin(fetch(url.to_string(), Request::new("POST", url), true))
    }
}
