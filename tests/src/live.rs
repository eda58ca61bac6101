//! The live backend: a real `spin up` of this repository, reached over HTTP.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tm_core::{Request, Response};

/// Sends a core [`Request`] over HTTP and converts the answer back.
pub fn send(base_url: &str, request: &Request) -> Response {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let mut call = agent.request(
        &request.method,
        &format!("{base_url}{}", request.path_and_query),
    );
    for (name, value) in &request.headers {
        call = call.set(name, value);
    }
    let result = if request.body.is_empty() && request.method != "POST" {
        call.call()
    } else {
        call.send_bytes(&request.body)
    };
    let answer = match result {
        Ok(answer) | Err(ureq::Error::Status(_, answer)) => answer,
        Err(error) => panic!("request to {base_url} failed: {error}"),
    };
    let status = answer.status();
    let headers = answer
        .headers_names()
        .into_iter()
        .filter_map(|name| answer.header(&name).map(|v| (name.clone(), v.to_string())))
        .collect();
    let mut body = Vec::new();
    let _ = answer.into_reader().take(16 << 20).read_to_end(&mut body);
    Response {
        status,
        headers,
        body,
    }
}

/// A `spin up` of the repository root, stopped when dropped.
pub struct SpinInstance {
    child: Child,
    pub base_url: String,
    _state_dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for SpinInstance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spin_on_path() -> bool {
    Command::new("spin")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A port nothing listens on right now (for spin, the dev server and chromedriver).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(3999)
}

impl SpinInstance {
    /// Builds and starts the app on a free port with a temporary state dir, and waits for `/health`.
    /// `build` runs `spin up --build` (the first start); later starts reuse the build.
    pub fn start(repo_root: &Path, admin_token: &str, build: bool) -> SpinInstance {
        let port = free_port();
        let state_dir =
            std::env::temp_dir().join(format!("tm-e2e-spin-{port}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&state_dir);
        let child = Command::new("spin")
            .current_dir(repo_root)
            .arg("up")
            .args(build.then_some("--build"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--state-dir"])
            .arg(&state_dir)
            .env("SPIN_VARIABLE_ADMIN_TOKEN", admin_token)
            .env("SPIN_VARIABLE_DEMO_DATA", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start spin: {e}"));
        let instance = SpinInstance {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            _state_dir: TempDir(state_dir),
        };
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let healthy = ureq::get(&format!("{}/health", instance.base_url))
                .timeout(Duration::from_secs(2))
                .call()
                .is_ok();
            if healthy {
                return instance;
            }
            assert!(Instant::now() < deadline, "spin did not become healthy");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}
