//! The core's storage port on Redis, for several Spin instances sharing one store.
//!
//! Spin 4.0.2's key-value store on Redis reports every compare-and-swap as failed, won or
//! lost (its `swap` sends `UNWATCH` with an argument, which Redis refuses, after `EXEC` has
//! already applied the write). So when a Redis URL is configured, the component does not use
//! the key-value interface at all: it talks to Redis through Spin's outbound Redis API, and
//! makes compare-and-swap one atomic server-side script. That stays correct whatever Spin's
//! key-value provider does.
//!
//! The logic (commands, scripts, replies) lives in [`RedisStore`], generic over a
//! [`RedisTransport`] that only sends one command: Spin's `Connection::execute` in the
//! component, the `redis` crate in native tests against a real `redis-server`.

use crate::kv::encode_key;
use tm_core::{Store, StoreError};

/// One argument of a Redis command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

/// One value of a Redis reply (arrays arrive flattened, as Spin delivers them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Nil,
    Int(i64),
    Bytes(Vec<u8>),
    Status(String),
}

/// Sends one command and returns its reply. The only part that differs between Spin and tests.
pub trait RedisTransport {
    fn execute(&self, command: &str, args: &[Arg]) -> Result<Vec<Reply>, StoreError>;
}

/// Writes `ARGV[2]` only if `KEYS[1]` exists and holds exactly `ARGV[1]`: the port's
/// compare-and-swap, atomic because Redis runs a script without interleaving other commands.
pub const COMPARE_AND_SWAP_SCRIPT: &str = "\
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0";

pub struct RedisStore<T> {
    transport: T,
}

impl<T: RedisTransport> RedisStore<T> {
    pub fn new(transport: T) -> Self {
        RedisStore { transport }
    }

    fn one(&self, command: &str, args: &[Arg]) -> Result<Reply, StoreError> {
        let mut replies = self.transport.execute(command, args)?;
        if replies.len() != 1 {
            return Err(StoreError::Other(format!(
                "Redis {command} answered {} values",
                replies.len()
            )));
        }
        Ok(replies.remove(0))
    }

    fn int(&self, command: &str, args: &[Arg]) -> Result<i64, StoreError> {
        match self.one(command, args)? {
            Reply::Int(n) => Ok(n),
            other => Err(StoreError::Other(format!(
                "Redis {command} answered {other:?}, not an integer"
            ))),
        }
    }
}

impl<T: RedisTransport> Store for RedisStore<T> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = encode_key(key);
        match self.one("GET", &[Arg::Bytes(key.as_bytes())])? {
            Reply::Nil => Ok(None),
            Reply::Bytes(value) => Ok(Some(value)),
            other => Err(StoreError::Other(format!("Redis GET answered {other:?}"))),
        }
    }

    fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let encoded: Vec<String> = keys.iter().map(|key| encode_key(key)).collect();
        let args: Vec<Arg> = encoded.iter().map(|k| Arg::Bytes(k.as_bytes())).collect();
        let replies = self.transport.execute("MGET", &args)?;
        if replies.len() != keys.len() {
            return Err(StoreError::Other(format!(
                "Redis MGET of {} keys answered {} values",
                keys.len(),
                replies.len()
            )));
        }
        replies
            .into_iter()
            .map(|reply| match reply {
                Reply::Nil => Ok(None),
                Reply::Bytes(value) => Ok(Some(value)),
                other => Err(StoreError::Other(format!("Redis MGET answered {other:?}"))),
            })
            .collect()
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let key = encode_key(key);
        match self.one("SET", &[Arg::Bytes(key.as_bytes()), Arg::Bytes(value)])? {
            Reply::Status(status) if status == "OK" => Ok(()),
            other => Err(StoreError::Other(format!("Redis SET answered {other:?}"))),
        }
    }

    fn set_many(&self, entries: &[(&str, &[u8])]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let encoded: Vec<(String, &[u8])> =
            entries.iter().map(|(k, v)| (encode_key(k), *v)).collect();
        let mut args = Vec::with_capacity(encoded.len() * 2);
        for (key, value) in &encoded {
            args.push(Arg::Bytes(key.as_bytes()));
            args.push(Arg::Bytes(value));
        }
        match self.one("MSET", &args)? {
            Reply::Status(status) if status == "OK" => Ok(()),
            other => Err(StoreError::Other(format!("Redis MSET answered {other:?}"))),
        }
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let key = encode_key(key);
        self.int("DEL", &[Arg::Bytes(key.as_bytes())]).map(|_| ())
    }

    fn delete_many(&self, keys: &[&str]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let encoded: Vec<String> = keys.iter().map(|key| encode_key(key)).collect();
        let args: Vec<Arg> = encoded.iter().map(|k| Arg::Bytes(k.as_bytes())).collect();
        self.int("DEL", &args).map(|_| ())
    }

    fn compare_and_swap(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        let key = encode_key(key);
        let swapped = self.int(
            "EVAL",
            &[
                Arg::Bytes(COMPARE_AND_SWAP_SCRIPT.as_bytes()),
                Arg::Int(1),
                Arg::Bytes(key.as_bytes()),
                Arg::Bytes(expected),
                Arg::Bytes(new),
            ],
        )?;
        Ok(swapped == 1)
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        let key = encode_key(key);
        self.int("INCRBY", &[Arg::Bytes(key.as_bytes()), Arg::Int(delta)])
    }
}

/// Spin's outbound Redis connection as the transport (wasm only).
#[cfg(target_arch = "wasm32")]
pub mod spin {
    use super::{Arg, Reply};
    use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
    use tm_core::StoreError;

    pub struct SpinRedis(Connection);

    impl SpinRedis {
        /// The URL may carry a password: errors name the kind of failure, never the URL.
        pub fn open(url: &str) -> Result<SpinRedis, StoreError> {
            Connection::open(url).map(SpinRedis).map_err(|error| {
                let kind = match error {
                    spin_sdk::redis::Error::InvalidAddress => "invalid address (redis_url)",
                    spin_sdk::redis::Error::TooManyConnections => "too many connections",
                    spin_sdk::redis::Error::TypeError => "unexpected reply",
                    spin_sdk::redis::Error::Other(_) => "cannot connect",
                };
                StoreError::Unavailable(format!("Redis: {kind}"))
            })
        }
    }

    impl super::RedisTransport for SpinRedis {
        fn execute(&self, command: &str, args: &[Arg]) -> Result<Vec<Reply>, StoreError> {
            let args: Vec<RedisParameter> = args
                .iter()
                .map(|arg| match arg {
                    Arg::Bytes(bytes) => RedisParameter::Binary(bytes.to_vec()),
                    Arg::Int(n) => RedisParameter::Int64(*n),
                })
                .collect();
            let replies = self
                .0
                .execute(command, &args)
                .map_err(|e| StoreError::Unavailable(format!("Redis {command}: {e}")))?;
            Ok(replies
                .into_iter()
                .map(|reply| match reply {
                    RedisResult::Nil => Reply::Nil,
                    RedisResult::Int64(n) => Reply::Int(n),
                    RedisResult::Binary(bytes) => Reply::Bytes(bytes),
                    RedisResult::Status(status) => Reply::Status(status),
                })
                .collect())
        }
    }
}

/// The `redis` crate as the transport, for native tests and tools against a real server.
#[cfg(not(target_arch = "wasm32"))]
pub mod native {
    use super::{Arg, Reply};
    use std::sync::Mutex;
    use tm_core::StoreError;

    /// A small pool of synchronous connections, so parallel test threads really interleave.
    pub struct NativeRedis {
        client: redis::Client,
        idle: Mutex<Vec<redis::Connection>>,
    }

    fn unavailable(error: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable(format!("Redis: {error}"))
    }

    impl NativeRedis {
        pub fn open(url: &str) -> Result<NativeRedis, StoreError> {
            Ok(NativeRedis {
                // The URL may carry a password: not repeated in the error.
                client: redis::Client::open(url)
                    .map_err(|_| StoreError::Unavailable("Redis: invalid address".into()))?,
                idle: Mutex::new(Vec::new()),
            })
        }

        fn flatten(value: redis::Value, out: &mut Vec<Reply>) -> Result<(), StoreError> {
            match value {
                redis::Value::Nil => out.push(Reply::Nil),
                redis::Value::Int(n) => out.push(Reply::Int(n)),
                redis::Value::BulkString(bytes) => out.push(Reply::Bytes(bytes)),
                redis::Value::SimpleString(s) => out.push(Reply::Status(s)),
                redis::Value::Okay => out.push(Reply::Status("OK".into())),
                redis::Value::Array(items) | redis::Value::Set(items) => {
                    for item in items {
                        Self::flatten(item, out)?;
                    }
                }
                other => return Err(StoreError::Other(format!("unexpected reply {other:?}"))),
            }
            Ok(())
        }
    }

    impl super::RedisTransport for NativeRedis {
        fn execute(&self, command: &str, args: &[Arg]) -> Result<Vec<Reply>, StoreError> {
            let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let mut connection = match pooled {
                Some(connection) => connection,
                None => self.client.get_connection().map_err(unavailable)?,
            };
            let mut cmd = redis::cmd(command);
            for arg in args {
                match arg {
                    Arg::Bytes(bytes) => cmd.arg(*bytes),
                    Arg::Int(n) => cmd.arg(*n),
                };
            }
            let value: redis::Value = cmd.query(&mut connection).map_err(unavailable)?;
            if let Ok(mut idle) = self.idle.lock() {
                idle.push(connection);
            }
            let mut replies = Vec::new();
            Self::flatten(value, &mut replies)?;
            Ok(replies)
        }
    }
}
