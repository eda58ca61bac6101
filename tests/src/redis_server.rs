//! A real `redis-server` (Debian's package) on a free loopback port, with append-only
//! persistence fsynced on every write, in its own temporary directory; stopped when dropped.

use crate::live::{free_port, TempDir};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

/// Whether `redis-server` can be started here.
pub fn redis_server_installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// For tests that need Redis: `None` (and a SKIPPED line) without `redis-server`, unless
/// `TM_REQUIRE_ARTIFACTS=1` (as `scripts/test` sets): then it fails.
pub fn redis_or_skip(test: &str) -> Option<RedisServer> {
    if redis_server_installed() {
        return Some(RedisServer::start());
    }
    assert!(
        std::env::var_os("TM_REQUIRE_ARTIFACTS").is_none(),
        "{test} needs redis-server (apt-get install redis-server)"
    );
    eprintln!("SKIPPED: {test}: redis-server is not installed");
    None
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            dir: TempDir::new("redis"),
        };
        server.spawn();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .args(["--save", "", "--protected-mode", "yes"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start redis-server: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        // Up means answering PONG (while it loads its append-only file it answers -LOADING).
        while !self.answers_ping() {
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers_ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Kills the server with SIGKILL (no chance to flush anything more) and starts it again on
    /// the same port and data directory.
    pub fn crash_and_restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The in-process API on a fresh `redis-server` with the test directory stored, and the
/// server (keep it alive while the API is used); `None` as [`redis_or_skip`] says.
pub fn api_on_redis(test: &str) -> Option<(crate::Api, RedisServer)> {
    let server = redis_or_skip(test)?;
    let store = std::sync::Arc::new(redis_store_on(&server));
    Some((crate::Api::in_process_on(store).with_directory(), server))
}

/// A store on `server` (each call its own connection).
pub fn redis_store_on(
    server: &RedisServer,
) -> tm_host_spin::redis_store::RedisStore<tm_host_spin::redis_store::native::NativeRedis> {
    let transport = tm_host_spin::redis_store::native::NativeRedis::open(&server.url())
        .expect("a Redis client");
    tm_host_spin::redis_store::RedisStore::new(transport)
}

/// Every key `server` holds, listed with Redis's own command (not through the store under
/// test), in the store's key form (`tm:v1:a:b` → `a/b`).
pub fn redis_keys(server: &RedisServer) -> Vec<String> {
    use tm_host_spin::redis_store::{Arg, RedisTransport, Reply};
    let raw = tm_host_spin::redis_store::native::NativeRedis::open(&server.url())
        .expect("a Redis client");
    let listed = raw.execute("KEYS", &[Arg::Bytes(b"*")]).expect("KEYS");
    listed
        .into_iter()
        .filter_map(|reply| match reply {
            Reply::Bytes(key) => Some(String::from_utf8_lossy(&key).into_owned()),
            _ => None,
        })
        .filter_map(|key| {
            Some(
                key.strip_prefix(tm_host_spin::kv::KEY_PREFIX)?
                    .replace(':', "/"),
            )
        })
        .collect()
}
