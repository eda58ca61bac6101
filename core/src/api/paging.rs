//! Optional paging of list endpoints: `?offset=N&limit=M`. Without them a list answers every
//! item, as the vendor document describes. With them it answers that slice of the same
//! order, and says how many there are in all (`X-Total-Count`) and where the next page is
//! (`Link: <...>; rel="next"`).

use crate::error::ApiError;
use crate::http::{Request, Response};
use serde::Serialize;

/// The most items one page may ask for.
pub const MAX_LIMIT: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub limit: Option<usize>,
}

/// A whole number of 0 or more; one past what the platform counts (`usize` is 32 bits in the
/// component) is as good as the largest: no list is that long.
fn number(request: &Request, name: &str) -> Result<Option<usize>, ApiError> {
    let Some(text) = request.query_param(name) else {
        return Ok(None);
    };
    let digits = text.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest(format!(
            "Invalid value for '{name}': a whole number of 0 or more is required."
        )));
    }
    Ok(Some(digits.parse::<usize>().unwrap_or(usize::MAX)))
}

impl Page {
    pub fn from_request(request: &Request) -> Result<Page, ApiError> {
        let offset = number(request, "offset")?.unwrap_or(0);
        let limit = number(request, "limit")?;
        if let Some(limit) = limit {
            if !(1..=MAX_LIMIT).contains(&limit) {
                return Err(ApiError::BadRequest(format!(
                    "Invalid value for 'limit': 1 to {MAX_LIMIT} items per page."
                )));
            }
        }
        Ok(Page { offset, limit })
    }

    pub fn is_paged(&self) -> bool {
        self.offset > 0 || self.limit.is_some()
    }

    /// The part of `0..total` this page covers.
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        let start = self.offset.min(total);
        let end = match self.limit {
            Some(limit) => start.saturating_add(limit).min(total),
            None => total,
        };
        start..end
    }

    /// The page's slice of `items` (all of them, in order).
    pub fn slice<T>(&self, mut items: Vec<T>) -> (Vec<T>, usize) {
        let total = items.len();
        let range = self.range(total);
        items.truncate(range.end);
        items.drain(..range.start);
        (items, total)
    }

    /// A 200 with `items` (already this page's slice) and, when paged, the total and the
    /// link to the next page.
    pub fn response<T: Serialize>(&self, request: &Request, items: &[T], total: usize) -> Response {
        let response = Response::json(200, items);
        if !self.is_paged() {
            return response;
        }
        let response = response.with_header("X-Total-Count", &total.to_string());
        let end = self.range(total).end;
        match self.limit {
            Some(limit) if end < total => {
                let next = format!(
                    "<{}?offset={end}&limit={limit}>; rel=\"next\"",
                    request.path()
                );
                response.with_header("Link", &next)
            }
            _ => response,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(query: &str) -> Result<Page, ApiError> {
        Page::from_request(&Request::new("GET", &format!("/v1.0/users{query}")))
    }

    #[test]
    fn slices_and_links_the_next_page() {
        let p = page("?offset=2&limit=3").unwrap();
        let (items, total) = p.slice((0..10).collect::<Vec<_>>());
        assert_eq!((items.clone(), total), (vec![2, 3, 4], 10));
        let request = Request::new("GET", "/v1.0/users?offset=2&limit=3");
        let response = p.response(&request, &items, total);
        assert_eq!(response.header_value("X-Total-Count"), Some("10"));
        assert_eq!(
            response.header_value("Link"),
            Some("</v1.0/users?offset=5&limit=3>; rel=\"next\"")
        );
        let last = page("?offset=8&limit=3").unwrap();
        let (items, _) = last.slice((0..10).collect::<Vec<_>>());
        assert_eq!(items, vec![8, 9]);
        assert_eq!(
            last.response(&request, &items, 10).header_value("Link"),
            None
        );
        assert_eq!(
            page("?offset=50").unwrap().slice(vec![1, 2]).0,
            Vec::<i32>::new()
        );
    }

    #[test]
    fn without_paging_everything_and_no_headers() {
        let p = page("").unwrap();
        assert!(!p.is_paged());
        assert_eq!(p.slice(vec![1, 2, 3]).0, vec![1, 2, 3]);
        let response = p.response(&Request::new("GET", "/v1.0/users"), &[1], 1);
        assert_eq!(response.header_value("X-Total-Count"), None);
    }

    #[test]
    fn refuses_bad_numbers() {
        // Past any platform's count: an empty page, not an error (found by Schemathesis on the
        // component, where usize has 32 bits).
        let far = page("?offset=7219783758&limit=5").unwrap();
        assert_eq!(far.slice(vec![1, 2]).0, Vec::<i32>::new());
        let farther = page("?offset=99999999999999999999999").unwrap();
        assert_eq!(farther.slice(vec![1, 2]).0, Vec::<i32>::new());
        for query in [
            "?limit=0",
            "?limit=1001",
            "?offset=-1",
            "?limit=x",
            "?offset=",
            "?offset=1.5",
        ] {
            assert!(page(query).is_err(), "{query}");
        }
    }
}
