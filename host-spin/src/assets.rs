//! Static files the component serves from directories that `spin.toml` mounts:
//! the Swagger UI docs page (`/docs`), the agent widget with its demo page (`/widget`) and the
//! team wallboard's page (`/wallboard/`).

/// Where `spin.toml` mounts the files inside the component.
pub const DOCS_DIR: &str = "/assets/docs";
pub const WIDGET_DIR: &str = "/assets/widget";

/// Who answers a request: a redirect, a mounted file, or the API (the core).
#[derive(Debug, PartialEq, Eq)]
pub enum Served {
    Redirect(&'static str),
    /// The mounted file; if it does not exist, the API answers (a JSON 404).
    File(String),
    Api,
}

/// `GET /` goes to the widget's demo page; `GET` below `/docs` and `/widget` reads files.
pub fn served_by(method: &str, path: &str) -> Served {
    if !method.eq_ignore_ascii_case("GET") {
        return Served::Api;
    }
    if path == "/" {
        return Served::Redirect("/widget/");
    }
    file_for(path).map_or(Served::Api, Served::File)
}

/// The mounted file that serves `path`, if any. Only plain names below the two prefixes are
/// served: no `..`, no hidden files, no directories other than the mounted ones.
pub fn file_for(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or("");
    // The wallboard's page (its scripts are the widget's, below `/widget`).
    if matches!(path, "/wallboard" | "/wallboard/") {
        return Some(format!("{WIDGET_DIR}/wallboard.html"));
    }
    let (dir, rest) = if let Some(rest) = strip_prefix(path, "/docs") {
        (DOCS_DIR, rest)
    } else if let Some(rest) = strip_prefix(path, "/widget") {
        (WIDGET_DIR, rest)
    } else {
        return None;
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let rest = if rest.is_empty() { "index.html" } else { rest };
    let safe = rest.split('/').all(|segment| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    });
    safe.then(|| format!("{dir}/{rest}"))
}

fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

pub fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json; charset=utf-8",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "map" => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_pages_and_files_below_the_mounts() {
        assert_eq!(
            file_for("/docs").as_deref(),
            Some("/assets/docs/index.html")
        );
        assert_eq!(
            file_for("/docs/").as_deref(),
            Some("/assets/docs/index.html")
        );
        assert_eq!(
            file_for("/docs/swagger-ui.css").as_deref(),
            Some("/assets/docs/swagger-ui.css")
        );
        assert_eq!(
            file_for("/widget/pkg/tm_web_widget_bg.wasm?v=1").as_deref(),
            Some("/assets/widget/pkg/tm_web_widget_bg.wasm")
        );
    }

    #[test]
    fn refuses_traversal_hidden_files_and_other_prefixes() {
        for path in [
            "/docs/../spin.toml",
            "/docs/.env",
            "/docsx",
            "/widget//x",
            "/v1.0/teams",
            "/widget/%2e%2e/x",
            "/",
        ] {
            assert_eq!(file_for(path), None, "{path}");
        }
    }

    #[test]
    fn only_gets_are_served_from_files() {
        assert_eq!(served_by("GET", "/"), Served::Redirect("/widget/"));
        assert_eq!(
            file_for("/wallboard/").as_deref(),
            Some("/assets/widget/wallboard.html")
        );
        assert_eq!(file_for("/wallboard/x"), None);
        assert_eq!(
            served_by("GET", "/docs"),
            Served::File("/assets/docs/index.html".into())
        );
        assert_eq!(served_by("POST", "/docs"), Served::Api);
        assert_eq!(served_by("GET", "/v1.0/teams"), Served::Api);
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("/a/b.wasm"), "application/wasm");
        assert_eq!(content_type("/a/index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("/a/noext"), "application/octet-stream");
    }
}
