//! Conversion between what Spin hands the component and the core's transport-neutral types.

use tm_core::{Config, Request};

/// The path and query of a request URI, whether Spin gives a full URL or just the path.
pub fn path_and_query(uri: &str) -> String {
    let without_scheme = match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => uri,
    };
    if without_scheme.starts_with('/') {
        without_scheme.to_string()
    } else {
        format!("/{without_scheme}")
    }
}

/// Builds the core request. Header values that are not UTF-8 are passed on lossily: the core
/// compares them as text and will simply not match them.
pub fn to_core_request<'a>(
    method: &str,
    uri: &str,
    headers: impl Iterator<Item = (&'a str, &'a [u8])>,
    body: Vec<u8>,
) -> Request {
    Request {
        method: method.to_string(),
        path_and_query: path_and_query(uri),
        headers: headers
            .map(|(name, value)| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(value).into_owned(),
                )
            })
            .collect(),
        body,
        repeat: false,
    }
}

/// A cap from a Spin variable: a whole number, else the default.
fn cap(text: Option<String>, default: u64) -> u64 {
    text.and_then(|t| t.trim().parse().ok()).unwrap_or(default)
}

/// The operator configuration from Spin variables (passed in as strings).
pub fn config(
    admin_token: Option<String>,
    cors_allowed_origins: Option<String>,
    max_waiting_reads_per_key: Option<String>,
    max_waiting_reads: Option<String>,
    retention_days: Option<String>,
    audit_retention_days: Option<String>,
) -> Config {
    Config {
        max_waiting_reads_per_key: cap(
            max_waiting_reads_per_key,
            tm_core::api::DEFAULT_MAX_WAITING_READS_PER_KEY,
        ),
        max_waiting_reads: cap(max_waiting_reads, tm_core::api::DEFAULT_MAX_WAITING_READS),
        demo: false,
        retention_days: u32::try_from(cap(
            retention_days,
            u64::from(tm_core::retention::DEFAULT_RETENTION_DAYS),
        ))
        .unwrap_or(tm_core::retention::DEFAULT_RETENTION_DAYS),
        audit_retention_days: u32::try_from(cap(
            audit_retention_days,
            u64::from(tm_core::retention::DEFAULT_AUDIT_RETENTION_DAYS),
        ))
        .unwrap_or(tm_core::retention::DEFAULT_AUDIT_RETENTION_DAYS),
        admin_token: admin_token.filter(|t| !t.trim().is_empty()),
        cors_allowed_origins: cors_allowed_origins
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect(),
    }
}

/// Which configuration a request needs: the admin token for the admin API, the CORS origins
/// when a browser says where it comes from.
#[derive(Debug, PartialEq, Eq)]
pub struct Needs {
    pub admin_token: bool,
    pub cors: bool,
    /// The demo page's backend (`/demo/…`) answers only while the demo data is on.
    pub demo: bool,
}

impl Needs {
    pub fn of(request: &tm_core::Request) -> Needs {
        Needs {
            admin_token: request.is_admin(),
            cors: request.header_value("Origin").is_some(),
            demo: request
                .path()
                .get(..6)
                .is_some_and(|p| p.eq_ignore_ascii_case("/demo/")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_requests_need_the_admin_token_and_only_browsers_the_origins() {
        let plain = tm_core::Request::new("GET", "/v1.0/teams");
        assert_eq!(
            Needs::of(&plain),
            Needs {
                admin_token: false,
                cors: false,
                demo: false
            }
        );
        let admin = tm_core::Request::new("PUT", "/Admin/v1.0/directory");
        assert!(Needs::of(&admin).admin_token);
        let browser =
            tm_core::Request::new("GET", "/v1.0/teams").header("Origin", "https://crm.example.com");
        assert_eq!(
            Needs::of(&browser),
            Needs {
                admin_token: false,
                cors: true,
                demo: false
            }
        );
    }

    #[test]
    fn path_and_query_from_full_urls_and_paths() {
        assert_eq!(
            path_and_query("http://127.0.0.1:3000/v1.0/teams?status=Active"),
            "/v1.0/teams?status=Active"
        );
        assert_eq!(path_and_query("https://tm.example.com"), "/");
        assert_eq!(path_and_query("/health"), "/health");
        assert_eq!(path_and_query("health"), "/health");
    }

    #[test]
    fn request_keeps_method_headers_and_body() {
        let headers = [
            ("api_key", b"tm_x".as_slice()),
            ("x-bin", b"\xff".as_slice()),
        ];
        let request = to_core_request(
            "POST",
            "http://h/v1.0/tasks/1/hold",
            headers.into_iter(),
            b"{}".to_vec(),
        );
        assert_eq!(request.method, "POST");
        assert_eq!(request.path(), "/v1.0/tasks/1/hold");
        assert_eq!(request.header_value("API_KEY"), Some("tm_x"));
        assert_eq!(request.header_value("x-bin"), Some("\u{fffd}"));
        assert_eq!(request.body, b"{}");
    }

    #[test]
    fn config_from_variables() {
        let config = config(
            Some(" ".into()),
            Some("https://a.example, ,https://b.example".into()),
            Some(" 12 ".into()),
            Some("many".into()),
            Some("0".into()),
            None,
        );
        assert_eq!(config.retention_days, 0, "0 keeps finished tasks");
        assert_eq!(config.audit_retention_days, 365, "a year unless set");
        assert_eq!(config.admin_token, None);
        assert_eq!(config.max_waiting_reads_per_key, 12);
        assert_eq!(
            config.max_waiting_reads,
            tm_core::api::DEFAULT_MAX_WAITING_READS,
            "a value that is not a number keeps the default"
        );
        assert_eq!(
            config.cors_allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        use tm_core::demo::DemoData;
        assert_eq!(DemoData::parse(Some("True")), DemoData::On);
        assert_eq!(DemoData::parse(Some(" full ")), DemoData::FullAccessKey);
        assert_eq!(DemoData::parse(Some("false")), DemoData::Off);
        assert_eq!(DemoData::parse(None), DemoData::Off);
        let demo_page = tm_core::Request::new("POST", "/Demo/v1.0/sessions");
        assert!(Needs::of(&demo_page).demo);
    }
}
