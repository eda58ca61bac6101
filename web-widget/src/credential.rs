//! What the widget authenticates with: an agent session (the `session` token, or one it gets
//! and renews from the page's `session-url`), or, for compatibility, an API key. The token is
//! kept in memory only: never in a URL, never in storage.

use serde::Deserialize;
use std::cell::RefCell;
use tm_core::ids::UserId;
use tm_core::model::session::token_names;
use tm_core::{Request, Timestamp};

/// A session is renewed once this share of its lifetime has passed (an 8-hour session after
/// 6.4 hours, a one-hour session after 48 minutes): early enough that a renewal that fails
/// once has time to be tried again, late enough not to make sessions for nothing.
const RENEW_AFTER_SHARE: f64 = 0.8;

/// When a session obtained at `obtained` (the page's clock) for `expires_in_seconds` is to be
/// renewed. By the page's own clock, so an offset between page and server does not matter.
pub fn renew_at(obtained: Timestamp, expires_in_seconds: u32) -> Timestamp {
    let lifetime_millis = f64::from(expires_in_seconds) * 1000.0;
    obtained.plus_millis((lifetime_millis * RENEW_AFTER_SHARE) as i64)
}

/// What the page's session endpoint answers (the shape of `POST /v1.0/users/{u}/sessions`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionAnswer {
    pub token: String,
    pub user_id: UserId,
    pub expires_in_seconds: u32,
}

/// A session token in hand, and when to renew it.
#[derive(Clone, Debug)]
struct Held {
    token: String,
    user: Option<UserId>,
    renew_at: Timestamp,
}

/// The widget's credential.
#[derive(Debug, Default)]
pub struct Credential {
    api_key: String,
    /// Given as the `session` attribute (not renewed: its page replaces the attribute).
    session: String,
    /// Where to get and renew sessions (`session-url`), with the page's cookies.
    session_url: String,
    held: RefCell<Option<Held>>,
}

/// The step before a request: send it with this header, or get a session first.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Send(Request),
    GetSession(String),
}

impl Credential {
    pub fn new(api_key: &str, session: &str, session_url: &str) -> Credential {
        Credential {
            api_key: api_key.trim().to_string(),
            session: session.trim().to_string(),
            session_url: session_url.trim().to_string(),
            held: RefCell::new(None),
        }
    }

    /// It gets its sessions from the page (and can get a new one after a 401).
    pub fn renews(&self) -> bool {
        self.session.is_empty() && !self.session_url.is_empty()
    }

    /// What to do with `request` at `now`: a session attribute or a held session that is not
    /// due for renewal is sent as `Authorization: Bearer`; a due one is renewed first; the API
    /// key (only when no session is configured) goes in the vendor's `api_key` header.
    pub fn next(&self, request: Request, now: Timestamp) -> Next {
        if !self.session.is_empty() {
            return Next::Send(bearer(request, &self.session));
        }
        if !self.session_url.is_empty() {
            return match &*self.held.borrow() {
                Some(held) if now < held.renew_at => Next::Send(bearer(request, &held.token)),
                _ => Next::GetSession(self.session_url.clone()),
            };
        }
        Next::Send(request.header("api_key", &self.api_key))
    }

    /// Takes the page's answer to a session request (obtained at `now`).
    pub fn hold(&self, answer: SessionAnswer, now: Timestamp) {
        *self.held.borrow_mut() = Some(Held {
            renew_at: renew_at(now, answer.expires_in_seconds),
            user: Some(answer.user_id),
            token: answer.token,
        });
    }

    /// Forgets a held session (it was refused): the next request gets a new one.
    pub fn forget(&self) {
        self.held.borrow_mut().take();
    }

    /// The agent the session is for, when the page did not name one.
    pub fn agent(&self) -> Option<UserId> {
        if !self.session.is_empty() {
            return token_names(&self.session).map(|(user, _)| user);
        }
        self.held.borrow().as_ref().and_then(|held| held.user)
    }
}

fn bearer(request: Request, token: &str) -> Request {
    request.header("Authorization", &format!("Bearer {token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_unix_millis(1_767_600_000_000);
    const ANNA: &str = "5e000000-0000-4000-8000-000000000001";

    fn plain() -> Request {
        Request::new("GET", "/v1.0/users/x/tasks")
    }

    fn answer(token: &str, seconds: u32) -> SessionAnswer {
        SessionAnswer {
            token: token.into(),
            user_id: UserId::parse(ANNA).expect("a user id"),
            expires_in_seconds: seconds,
        }
    }

    #[test]
    fn renewal_is_due_after_four_fifths_of_the_lifetime_by_the_pages_clock() {
        assert_eq!(renew_at(T0, 3600), T0.plus_millis(2_880_000));
        assert_eq!(renew_at(T0, 28_800), T0.plus_millis(23_040_000));
        assert_eq!(renew_at(T0, 60), T0.plus_millis(48_000));
    }

    #[test]
    fn a_session_url_is_asked_first_then_the_token_is_sent_until_renewal_is_due() {
        let credential = Credential::new("", "", "/backend/session");
        assert!(credential.renews());
        assert_eq!(
            credential.next(plain(), T0),
            Next::GetSession("/backend/session".into())
        );
        credential.hold(answer("tms_a", 3600), T0);
        assert_eq!(
            credential.next(plain(), T0.plus_millis(2_879_999)),
            Next::Send(plain().header("Authorization", "Bearer tms_a"))
        );
        assert_eq!(
            credential.next(plain(), T0.plus_millis(2_880_000)),
            Next::GetSession("/backend/session".into()),
            "due at exactly four fifths"
        );
        credential.hold(answer("tms_b", 3600), T0);
        credential.forget();
        assert_eq!(
            credential.next(plain(), T0),
            Next::GetSession("/backend/session".into()),
            "a refused session is not sent again"
        );
    }

    #[test]
    fn a_session_attribute_wins_over_a_key_and_a_key_goes_in_the_vendors_header() {
        let session = Credential::new("tm_key", "tms_given", "/backend/session");
        assert!(!session.renews());
        assert_eq!(
            session.next(plain(), T0),
            Next::Send(plain().header("Authorization", "Bearer tms_given"))
        );
        let key = Credential::new("tm_key", "", "");
        assert_eq!(
            key.next(plain(), T0),
            Next::Send(plain().header("api_key", "tm_key"))
        );
    }
}
