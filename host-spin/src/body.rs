//! Reading a request body with a limit, chunk by chunk as the host streams it: a body over the
//! limit is refused as soon as its size is known (a `Content-Length` over it, or the chunk that
//! passes it), so no request makes the component hold more than the limit.

/// The body went over the limit.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the request body is larger than {limit} bytes")]
pub struct TooLarge {
    pub limit: usize,
}

/// Whether the request's `Content-Length` already says the body is over `limit`.
pub fn declared_over<'a>(
    mut headers: impl Iterator<Item = (&'a str, &'a [u8])>,
    limit: usize,
) -> bool {
    headers.any(|(name, value)| {
        name.eq_ignore_ascii_case("content-length")
            && std::str::from_utf8(value)
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .is_some_and(|length| length > limit as u64)
    })
}

/// A body being read: the bytes so far, never more than the limit.
#[derive(Debug)]
pub struct LimitedBody {
    limit: usize,
    bytes: Vec<u8>,
}

impl LimitedBody {
    pub fn new(limit: usize) -> Self {
        LimitedBody {
            limit,
            bytes: Vec::new(),
        }
    }

    /// Adds the next chunk; refuses it (keeping nothing of it) if it would pass the limit.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), TooLarge> {
        if self.bytes.len().saturating_add(chunk.len()) > self.limit {
            return Err(TooLarge { limit: self.limit });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads `chunks` up to `limit`: the whole body, or [`TooLarge`] at the first chunk past it
/// (the rest is never read).
pub fn read_limited<E>(
    chunks: impl IntoIterator<Item = Result<Vec<u8>, E>>,
    limit: usize,
) -> Result<Result<Vec<u8>, TooLarge>, E> {
    let mut body = LimitedBody::new(limit);
    for chunk in chunks {
        if let Err(too_large) = body.push(&chunk?) {
            return Ok(Err(too_large));
        }
    }
    Ok(Ok(body.into_bytes()))
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
    fn reading_stops_at_the_chunk_that_passes_the_limit() {
        let pulled = Cell::new(0);
        // An endless body: 300 MB would never end either.
        let chunks = std::iter::repeat_with(|| {
            pulled.set(pulled.get() + 1);
            Ok::<_, ()>(vec![0u8; 4096])
        });
        let body = read_limited(chunks, 64 * 1024).expect("no read error");
        assert_eq!(body, Err(TooLarge { limit: 64 * 1024 }));
        assert_eq!(
            pulled.get(),
            17,
            "16 chunks fill 64 KiB, the 17th is refused"
        );
    }

    #[test]
    fn a_read_error_is_passed_on() {
        let chunks = vec![Ok(vec![1; 10]), Err("reset"), Ok(vec![1; 10])];
        assert_eq!(read_limited(chunks, 64), Err("reset"));
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let over: [(&str, &[u8]); 2] = [("Host", b"x"), ("content-length", b"65537")];
        assert!(declared_over(over.into_iter(), 65_536));
        let at: [(&str, &[u8]); 1] = [("Content-Length", b" 65536 ")];
        assert!(!declared_over(at.into_iter(), 65_536));
        let garbage: [(&str, &[u8]); 1] = [("Content-Length", b"lots")];
        assert!(
            !declared_over(garbage.into_iter(), 65_536),
            "then the stream decides"
        );
    }
}
