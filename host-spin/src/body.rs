//! Reading a request body with a limit, chunk by chunk as the host streams it: a body over the
//! limit is refused as soon as its size is known (a `Content-Length` over it, or the chunk that
//! passes it), so no request makes the component hold more than the limit.

/// The body went over the limit.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the request body is larger than {limit} bytes")]
pub struct TooLarge {
    pub limit: usize,
}

/// How much of a body over its limit is still read (and thrown away) before the answer: a client
/// that is still sending when the server answers and closes sees a broken pipe instead of the
/// 413, so a body a little over the limit is drained first; a larger one is cut off.
pub const DRAIN_BYTES: usize = 8 << 20;

/// The body's length as its `Content-Length` declares it, if it does.
pub fn declared_length<'a>(mut headers: impl Iterator<Item = (&'a str, &'a [u8])>) -> Option<u64> {
    headers.find_map(|(name, value)| {
        if !name.eq_ignore_ascii_case("content-length") {
            return None;
        }
        std::str::from_utf8(value).ok()?.trim().parse::<u64>().ok()
    })
}

/// What to do with a request whose body may be over `limit`, before reading it.
#[derive(Debug, PartialEq, Eq)]
pub enum Start {
    /// Read it (it may still turn out too large).
    Read,
    /// Declared over the limit by more than can be drained: answer 413 at once.
    RefuseNow,
}

pub fn start(declared: Option<u64>, limit: usize) -> Start {
    match declared {
        Some(length) if length > (limit as u64).saturating_add(DRAIN_BYTES as u64) => {
            Start::RefuseNow
        }
        _ => Start::Read,
    }
}

/// Whether to go on reading after a chunk.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Continue,
    /// Over the limit and drained as far as it will be: answer 413 now.
    Stop,
}

/// A body being read: the bytes so far, never more than the limit; past it, only a count of the
/// bytes thrown away.
#[derive(Debug)]
pub struct LimitedBody {
    limit: usize,
    bytes: Vec<u8>,
    discarded: usize,
}

impl LimitedBody {
    pub fn new(limit: usize) -> Self {
        LimitedBody {
            limit,
            bytes: Vec::new(),
            discarded: 0,
        }
    }

    /// Adds the next chunk while the body is within the limit; past it, throws chunks away
    /// (keeping nothing) until [`DRAIN_BYTES`] are drained.
    pub fn push(&mut self, chunk: &[u8]) -> Next {
        let over = self.discarded > 0 || self.bytes.len().saturating_add(chunk.len()) > self.limit;
        if !over {
            self.bytes.extend_from_slice(chunk);
            return Next::Continue;
        }
        if self.discarded == 0 {
            self.bytes = Vec::new();
        }
        self.discarded = self.discarded.saturating_add(chunk.len().max(1));
        if self.discarded > DRAIN_BYTES {
            Next::Stop
        } else {
            Next::Continue
        }
    }

    /// The body, or [`TooLarge`] if it passed the limit.
    pub fn finish(self) -> Result<Vec<u8>, TooLarge> {
        if self.discarded > 0 {
            return Err(TooLarge { limit: self.limit });
        }
        Ok(self.bytes)
    }
}

/// Reads `chunks` up to `limit` as the component does: the whole body, or [`TooLarge`] once it
/// passes the limit (then at most [`DRAIN_BYTES`] more are read, none kept).
pub fn read_limited<E>(
    chunks: impl IntoIterator<Item = Result<Vec<u8>, E>>,
    limit: usize,
) -> Result<Result<Vec<u8>, TooLarge>, E> {
    let mut body = LimitedBody::new(limit);
    for chunk in chunks {
        if body.push(&chunk?) == Next::Stop {
            break;
        }
    }
    Ok(body.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_body_up_to_the_limit_is_read_whole() {
        let chunks = vec![Ok::<_, ()>(vec![1; 40]), Ok(vec![2; 24])];
        let body = read_limited(chunks, 64).expect("no read error");
        assert_eq!(body.map(|b| b.len()), Ok(64));
    }

    #[test]
    fn a_body_over_the_limit_is_drained_up_to_8_mib_keeping_nothing() {
        let pulled = Cell::new(0usize);
        // An endless body: 300 MB would never end either.
        let chunks = std::iter::repeat_with(|| {
            pulled.set(pulled.get() + 1);
            Ok::<_, ()>(vec![0u8; 4096])
        });
        let body = read_limited(chunks, 64 * 1024).expect("no read error");
        assert_eq!(body, Err(TooLarge { limit: 64 * 1024 }));
        // 16 chunks fill 64 KiB; from the 17th on, 8 MiB (2,048 chunks) are drained, and the
        // one after that stops the read.
        assert_eq!(pulled.get(), 16 + 2048 + 1);
    }

    #[test]
    fn what_is_over_the_limit_is_not_kept() {
        let mut body = LimitedBody::new(10);
        assert_eq!(body.push(&[1; 8]), Next::Continue);
        assert_eq!(body.push(&[1; 8]), Next::Continue);
        assert!(body.bytes.is_empty(), "dropped at once");
        assert_eq!(body.finish(), Err(TooLarge { limit: 10 }));
    }

    #[test]
    fn a_read_error_is_passed_on() {
        let chunks = vec![Ok(vec![1; 10]), Err("reset"), Ok(vec![1; 10])];
        assert_eq!(read_limited(chunks, 64), Err("reset"));
    }

    #[test]
    fn a_declared_length_far_over_the_limit_is_refused_before_reading() {
        let limit = 65_536;
        let head = |length: &'static [u8]| -> Option<u64> {
            let headers: [(&str, &[u8]); 2] = [("Host", b"x"), ("content-length", length)];
            declared_length(headers.into_iter())
        };
        assert_eq!(head(b" 314572800 "), Some(314_572_800));
        assert_eq!(start(head(b"314572800"), limit), Start::RefuseNow);
        assert_eq!(
            start(Some((limit + DRAIN_BYTES) as u64), limit),
            Start::Read
        );
        assert_eq!(start(Some(65_537), limit), Start::Read, "drained, then 413");
        assert_eq!(
            start(head(b"lots"), limit),
            Start::Read,
            "then the stream decides"
        );
        assert_eq!(start(None, limit), Start::Read);
    }
}
