//! The live backend: a real `spin up` of this repository, reached over HTTP.
//!
//! `spin up` starts a `spin trigger http` child that outlives a kill of `spin up` itself, so
//! every instance runs in its own process group and is stopped by ending the whole group.
//! Its output goes to a file in its state dir, never to the test runner's pipes (an orphan
//! holding them open would keep the runner from finishing).

use serde_json::Value;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tm_core::{Request, Response};

/// Sends a core [`Request`] over HTTP and converts the answer back. Redirects are not
/// followed: a 302 is an answer like any other.
pub fn send(base_url: &str, request: &Request) -> Response {
    try_send(base_url, request).unwrap_or_else(|error| panic!("{error}"))
}

/// [`send`], with a failure to connect or to read the answer as an error instead of a panic.
pub fn try_send(base_url: &str, request: &Request) -> Result<Response, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .redirects(0)
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
        Err(error) => return Err(format!("request to {base_url} failed: {error}")),
    };
    let status = answer.status();
    let headers = answer
        .headers_names()
        .into_iter()
        .filter_map(|name| answer.header(&name).map(|v| (name.clone(), v.to_string())))
        .collect();
    let mut body = Vec::new();
    answer
        .into_reader()
        .take(16 << 20)
        .read_to_end(&mut body)
        .map_err(|e| format!("reading the answer of {base_url} failed: {e}"))?;
    Ok(Response {
        status,
        headers,
        body,
        log: None,
        wait: None,
    })
}

/// Whether a `spin` binary answers `spin --version`.
pub fn spin_on_path() -> bool {
    Command::new("spin")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// For live tests, which the runner only starts with `--ignored`: without `spin` they fail
/// (never pass silently).
pub fn require_spin() {
    assert!(
        spin_on_path(),
        "this live test needs a `spin` binary on PATH (run without --ignored to skip it)"
    );
}

/// A port nothing listens on right now (for spin, the dev server and chromedriver).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(3999)
}

/// The repository root (the parent of this crate).
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A directory under the system temp dir, removed when dropped: Spin's `--state-dir`
/// (key-value data and logs), kept across restarts of an instance by holding on to it.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "tm-e2e-{label}-{}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_dir_all(&path);
        if let Err(error) = std::fs::create_dir_all(&path) {
            panic!("cannot create {}: {error}", path.display());
        }
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How to start an instance.
pub struct SpinOptions<'a> {
    /// The app directory (its `spin.toml`).
    pub app_dir: &'a Path,
    pub state_dir: &'a Path,
    /// `spin up --build` (otherwise the last build is used).
    pub build: bool,
    pub admin_token: &'a str,
    pub demo_data: bool,
    pub runtime_config: Option<&'a Path>,
    /// Extra environment for `spin up` and the build it runs.
    pub env: Vec<(String, String)>,
}

impl<'a> SpinOptions<'a> {
    /// This repository on a state dir, without demo data, no build.
    pub fn new(state_dir: &'a Path, admin_token: &'a str) -> SpinOptions<'a> {
        SpinOptions {
            app_dir: repo_root(),
            state_dir,
            build: false,
            admin_token,
            demo_data: false,
            runtime_config: None,
            env: Vec::new(),
        }
    }
}

/// A `spin up` in its own process group, stopped (the whole group) when dropped.
pub struct SpinInstance {
    child: Child,
    pub base_url: String,
    output_path: PathBuf,
    _own_state_dir: Option<TempDir>,
}

impl SpinInstance {
    /// Builds and starts this repository on a free port with a fresh state dir, without demo
    /// data, and waits for `/health`. `build` runs `spin up --build`.
    pub fn start(admin_token: &str, build: bool) -> SpinInstance {
        let state_dir = TempDir::new("spin-state");
        let mut options = SpinOptions::new(state_dir.path(), admin_token);
        options.build = build;
        let mut instance = SpinInstance::start_with(&options);
        instance._own_state_dir = Some(state_dir);
        instance
    }

    /// Starts an instance as `options` say and waits until `/health` answers 2xx.
    pub fn start_with(options: &SpinOptions) -> SpinInstance {
        SpinInstance::launch(options, true)
    }

    /// Starts an instance and waits until it answers at all (for tests of a failing store).
    pub fn start_when_listening(options: &SpinOptions) -> SpinInstance {
        SpinInstance::launch(options, false)
    }

    fn launch(options: &SpinOptions, healthy: bool) -> SpinInstance {
        let port = free_port();
        let output_path = options.state_dir.join(format!("spin-up-{port}.log"));
        let output = std::fs::File::create(&output_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", output_path.display()));
        let errors = output
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot share {}: {e}", output_path.display()));
        let mut command = Command::new("spin");
        command
            .current_dir(options.app_dir)
            .arg("up")
            .args(options.build.then_some("--build"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--state-dir"])
            .arg(options.state_dir);
        if let Some(config) = options.runtime_config {
            command.arg("--runtime-config-file").arg(config);
        }
        command
            .env("SPIN_VARIABLE_ADMIN_TOKEN", options.admin_token)
            .env("SPIN_VARIABLE_DEMO_DATA", options.demo_data.to_string())
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not start spin: {e}"));
        let mut instance = SpinInstance {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            output_path,
            _own_state_dir: None,
        };
        let limit = Duration::from_secs(if options.build { 900 } else { 120 });
        instance.wait_until_up(limit, healthy);
        instance
    }

    fn wait_until_up(&mut self, limit: Duration, healthy: bool) {
        let deadline = Instant::now() + limit;
        loop {
            let answer = ureq::get(&format!("{}/health", self.base_url))
                .timeout(Duration::from_secs(2))
                .call();
            let up = match answer {
                Ok(_) => true,
                Err(ureq::Error::Status(..)) => !healthy,
                Err(_) => false,
            };
            if up {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("spin up exited ({status}):\n{}", self.output());
            }
            assert!(
                Instant::now() < deadline,
                "spin did not become healthy:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The process group of this instance (`spin up` and everything it started).
    pub fn process_group(&self) -> i32 {
        self.child.id() as i32
    }

    /// What `spin up` and its components wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.output_path).unwrap_or_default()
    }

    /// Sends SIGKILL to the whole group at once (a crash, not a shutdown) and reaps `spin up`.
    pub fn kill_hard(mut self) {
        signal_group(self.process_group(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for SpinInstance {
    fn drop(&mut self) {
        let group = self.process_group();
        signal_group(group, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !live_processes_in_group(group).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        signal_group(group, libc::SIGKILL);
        let _ = self.child.wait();
    }
}

fn signal_group(group: i32, signal: i32) {
    if group > 1 {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is shared.
        unsafe {
            libc::kill(-group, signal);
        }
    }
}

/// The processes of a process group that still run (zombies waiting to be reaped do not count:
/// they hold no pipes or ports).
pub fn live_processes_in_group(group: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may contain spaces.
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some((_, after_comm)) = stat.rsplit_once(')') else {
                return false;
            };
            let fields: Vec<&str> = after_comm.split_whitespace().collect();
            fields.first() != Some(&"Z") && fields.get(2) == Some(&group.to_string().as_str())
        })
        .collect()
}

/// The line the component writes once when it loads the demo data (see README).
pub const DEMO_KEY_LINE: &str = "expires in 7 days): ";

/// Every demo key that `output` shows, in order.
pub fn demo_keys_in(output: &str) -> Vec<String> {
    output
        .split(DEMO_KEY_LINE)
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next().map(str::to_string))
        .collect()
}

/// One HTTP call for the bench tools: the JSON answer, or a panic naming the request and the
/// status (a bench that cannot seed has nothing to measure).
pub fn blocking_call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Value {
    let mut request = agent.request(method, url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let result = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    match result {
        Ok(response) => response.into_json().unwrap_or(Value::Null),
        Err(ureq::Error::Status(code, response)) => {
            panic!(
                "{method} {url}: {code} {}",
                response.into_string().unwrap_or_default()
            )
        }
        Err(error) => panic!("{method} {url}: {error}"),
    }
}
