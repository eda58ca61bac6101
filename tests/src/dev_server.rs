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

fn response(
    status: u16,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let mut response = tiny_http::Response::from_data(body).with_status_code(status);
    for (name, value) in headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response = response.with_header(header);
        }
    }
    response
}

/// Starts serving on `address` (e.g. `127.0.0.1:0`) from repository `root`.
pub fn start(address: &str, root: &Path, admin_token: &str) -> std::io::Result<DevServer> {
    let server = Arc::new(tiny_http::Server::http(address).map_err(std::io::Error::other)?);
    let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
    let store = Arc::new(MemoryStore::new());
    let config = Config {
        admin_token: Some(admin_token.to_string()),
        cors_allowed_origins: vec![],
        // The demo page's backend (`/demo/…`), as under `spin up` with demo data on.
        demo: true,
        ..Default::default()
    };
    let demo_key = with_env(&store, &config, tm_core::demo::load_if_empty)
        .ok()
        .flatten()
        .unwrap_or_default();
    let root = root.to_path_buf();
    let api = move |request: &tm_core::Request| {
        let answer = with_env(&store, &config, |env| tm_core::handle(request, env));
        let headers: Vec<(&str, &str)> = answer
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        response(answer.status, answer.body.clone(), &headers)
    };
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
            let answer = match assets::served_by(&request.method, request.path()) {
                assets::Served::Redirect(location) => {
                    response(302, Vec::new(), &[("Location", location)])
                }
                assets::Served::File(mounted) => {
                    match repo_file(&root, &mounted).and_then(|f| std::fs::read(f).ok()) {
                        Some(bytes) => response(
                            200,
                            bytes,
                            &[("Content-Type", assets::content_type(&mounted))],
                        ),
                        None => api(&request),
                    }
                }
                assets::Served::Api => api(&request),
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
