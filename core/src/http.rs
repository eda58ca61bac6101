//! Transport-neutral request and response types that hosts convert to and from.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl Method {
    pub fn parse(text: &str) -> Option<Method> {
        Some(match text.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }
}

/// An HTTP request as the core sees it. `method` is kept as text so that an unknown
/// method still gets a proper 405 instead of failing in the host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path with its query string, e.g. `/v1.0/teams?status=Active`.
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Set by a host that asks again for a waiting feed read the core admitted already (see
    /// [`Response::wait`]); nothing a client sends can set it.
    pub repeat: bool,
}

impl Request {
    pub fn new(method: &str, path_and_query: &str) -> Self {
        Request {
            method: method.to_string(),
            path_and_query: path_and_query.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            repeat: false,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// A JSON body with the matching content type.
    pub fn json(self, body: &serde_json::Value) -> Self {
        let mut request = self.header("Content-Type", "application/json; charset=utf-8");
        request.body = body.to_string().into_bytes();
        request
    }

    pub fn raw_body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    /// Header lookup, case-insensitive on the name as HTTP requires.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or(self.path_and_query.as_str(), |(path, _)| path)
    }

    /// A request to the admin API (`/admin/...`; paths route case-insensitively).
    pub fn is_admin(&self) -> bool {
        self.path()
            .get(..7)
            .is_some_and(|start| start.eq_ignore_ascii_case("/admin/"))
    }

    pub fn query(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or("", |(_, query)| query)
    }

    /// The value of one query parameter (name compared case-insensitively, value decoded).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query().split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            key.eq_ignore_ascii_case(name)
                .then(|| percent_decode(&value.replace('+', " ")))
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A line for the operator's log (never sent): what a 5xx hides from the caller.
    pub log: Option<String>,
    /// Set on a feed read that found nothing new and may wait: the host may ask again (with
    /// [`Request::repeat`]) after a pause until `seconds` have passed, and then must call
    /// [`crate::api::feeds::end_wait`] with it.
    pub wait: Option<Wait>,
}

/// What the core tells a host about a feed read that may wait (str0m-style: what to do next).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wait {
    /// How long the read may wait in all, from its first answer.
    pub seconds: u64,
    /// The counted wait, released by [`crate::api::feeds::end_wait`] (`None` on a repeat).
    pub lease: Option<crate::wait_lease::WaitLease>,
}

/// Percent-decodes a path segment or query value (invalid UTF-8 is replaced).
pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

impl Response {
    pub fn json<T: Serialize + ?Sized>(status: u16, body: &T) -> Self {
        // Serializing our own model types cannot fail; fall back to a valid error body anyway.
        let body = serde_json::to_vec(body).unwrap_or_else(|_| {
            br#"{"Error":{"Code":"InternalError","Message":"Response could not be serialized."}}"#
                .to_vec()
        });
        Response {
            status,
            headers: vec![("Content-Type".to_string(), JSON_CONTENT_TYPE.to_string())],
            body,
            log: None,
            wait: None,
        }
    }

    pub fn no_content() -> Self {
        Response {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
            log: None,
            wait: None,
        }
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.set_header(name, value);
        self
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` when empty or not JSON); handy for hosts' tests and clients.
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::Request;

    #[test]
    fn admin_requests_are_known_by_their_path_in_any_case() {
        for path in [
            "/admin/v1.0/directory",
            "/Admin/v1.0/apikeys?x=1",
            "/ADMIN/",
        ] {
            assert!(Request::new("GET", path).is_admin(), "{path}");
        }
        for path in ["/v1.0/admin", "/admin", "/administrator/x", "/", ""] {
            assert!(!Request::new("GET", path).is_admin(), "{path}");
        }
    }
}
