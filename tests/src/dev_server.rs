//! A native stand-in for `spin up`, for machines without Spin: the same core handler and
//! the same asset mapping as the Spin component, over an in-memory store with Spin KV
//! semantics and demo data. Used by the browser test of the widget's demo page, and by
//! developers (`cargo run -p tm-e2e-tests --bin tm-dev-server`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tm_core::{Config, Env, MemoryStore};
use tm_host_spin::runtime::{wall_clock_now, RandomIds};
use tm_host_spin::{assets, convert};

pub struct DevServer {
    pub base_url: String,
    /// The demo key, created when the server started.
    pub demo_key: String,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `f` with an environment over `store`: the host's wall clock and random ids.
fn with_env<R>(store: &MemoryStore, config: &Config, f: impl FnOnce(&mut Env) -> R) -> R {
    let mut ids = RandomIds;
    let mut env = Env {
        store,
        now: wall_clock_now(),
        ids: &mut ids,
        config,
    };
    f(&mut env)
}

/// Where the Spin manifest mounts each asset directory from, relative to the repository.
fn repo_file(root: &Path, mounted: &str) -> Option<PathBuf> {
    for (mount, source) in [
        (assets::DOCS_DIR, "static/docs"),
        (assets::WIDGET_DIR, "web-widget/www"),
    ] {
        if let Some(rest) = mounted.strip_prefix(mount) {
            return Some(root.join(source).join(rest.trim_start_matches('/')));
        }
    }
    None
}

fn header(name: &str, value: &str) -> Option<tiny_http::Header> {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// Starts serving on `address` (e.g. `127.0.0.1:0`) from repository `root`.
pub fn start(address: &str, root: &Path, admin_token: &str) -> std::io::Result<DevServer> {
    let server = Arc::new(tiny_http::Server::http(address).map_err(std::io::Error::other)?);
    let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
    let store = Arc::new(MemoryStore::new());
    let config = Config {
        admin_token: Some(admin_token.to_string()),
        cors_allowed_origins: vec![],
    };
    let demo_key = with_env(&store, &config, tm_core::demo::load_if_empty)
        .ok()
        .flatten()
        .unwrap_or_default();
    let root = root.to_path_buf();
    let serving = Arc::clone(&server);
    let thread = std::thread::spawn(move || {
        for mut incoming in serving.incoming_requests() {
            let mut body = Vec::new();
            let _ = incoming.as_reader().read_to_end(&mut body);
            let headers: Vec<(String, Vec<u8>)> = incoming
                .headers()
                .iter()
                .map(|h| {
                    (
                        h.field.as_str().to_string(),
                        h.value.as_str().as_bytes().to_vec(),
                    )
                })
                .collect();
            let request = convert::to_core_request(
                incoming.method().as_str(),
                incoming.url(),
                headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())),
                body,
            );
            let is_get = request.method.eq_ignore_ascii_case("GET");
            let file = assets::file_for(request.path()).and_then(|m| repo_file(&root, &m));
            let answer = if is_get && request.path() == "/" {
                let mut response = tiny_http::Response::from_data(Vec::new()).with_status_code(302);
                if let Some(location) = header("Location", "/widget/") {
                    response = response.with_header(location);
                }
                response
            } else if let (true, Some(bytes)) =
                (is_get, file.as_ref().and_then(|f| std::fs::read(f).ok()))
            {
                let mut response = tiny_http::Response::from_data(bytes);
                if let Some(h) = file.as_ref().and_then(|f| {
                    header("Content-Type", assets::content_type(&f.to_string_lossy()))
                }) {
                    response = response.with_header(h);
                }
                response
            } else {
                let answer = with_env(&store, &config, |env| tm_core::handle(&request, env));
                let mut response =
                    tiny_http::Response::from_data(answer.body).with_status_code(answer.status);
                for (name, value) in &answer.headers {
                    if let Some(h) = header(name, value) {
                        response = response.with_header(h);
                    }
                }
                response
            };
            let _ = incoming.respond(answer);
        }
    });
    Ok(DevServer {
        base_url: format!("http://127.0.0.1:{port}"),
        demo_key,
        server,
        thread: Some(thread),
    })
}
