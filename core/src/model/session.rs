//! Agent sessions: short-lived tokens that an integrator's backend asks for one agent, so that
//! the agent's browser holds only what that agent may do (never an API key).
//!
//! A token reads `tms_<user id, 32 hex>_<session id, 32 hex>_<64 hex random>`. All sessions of
//! one agent live in one small document ([`AgentSessions`]) found from the token's user id, so
//! checking a session is one read, and ending all of an agent's sessions is one write. Only the
//! SHA-256 of a token is stored. Ended sessions stay listed (revoked, or past their expiry) for
//! a day, so that their tokens are answered with what happened to them.

use crate::digest::sha256_hex;
use crate::ids::{IdSource, SessionId, UserId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

pub const TOKEN_PREFIX: &str = "tms_";
/// A session's lifetime unless asked otherwise: one working day (a shift).
pub const DEFAULT_LIFETIME_SECONDS: u32 = 8 * 3600;
/// The longest lifetime a session may be given.
pub const MAX_LIFETIME_SECONDS: u32 = 24 * 3600;
/// The shortest: below a minute a widget would renew more than it works.
pub const MIN_LIFETIME_SECONDS: u32 = 60;
/// Live sessions one agent may have; a new one beyond ends the oldest (an agent signs in on a
/// few devices, not on twenty; the bound keeps the document, read on every request, small).
pub const MAX_LIVE_SESSIONS: usize = 20;
/// Sessions (live and ended) one agent's document keeps at most.
pub const MAX_KEPT_SESSIONS: usize = 60;
/// How long an ended session stays listed, so that its token is told why it no longer works.
pub const ENDED_KEPT_MILLIS: i64 = 24 * 3600 * 1000;

/// One session of an agent, as stored (the token only as its hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionRecord {
    pub id: SessionId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Lower-case hex SHA-256 of the token.
    pub token_sha256: String,
    /// Who asked for it: the API key's id, or `admin` / `demo`.
    pub created_by: String,
    pub revoked_at: Option<Timestamp>,
}

impl SessionRecord {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// Every session of one agent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentSessions {
    pub sessions: Vec<SessionRecord>,
}

/// Why a presented session does not authenticate. The messages are the 401's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionRefused {
    #[error("The session is not valid.")]
    NotValid,
    #[error("The session has been revoked.")]
    Revoked,
    #[error("The session expired at {0}.")]
    Expired(Timestamp),
    #[error("The session's agent no longer exists.")]
    AgentGone,
}

/// A new session of `user` that lives `lifetime_seconds` from `now`: its token (shown once)
/// and its record.
pub fn new_session(
    user: UserId,
    lifetime_seconds: u32,
    created_by: &str,
    now: Timestamp,
    ids: &mut dyn IdSource,
) -> (String, SessionRecord) {
    let id = SessionId(ids.next_id());
    let random: String = [ids.next_id(), ids.next_id()]
        .iter()
        .map(|u| u.simple().to_string())
        .collect();
    let token = format!(
        "{TOKEN_PREFIX}{}_{}_{random}",
        user.0.simple(),
        id.0.simple()
    );
    let record = SessionRecord {
        id,
        created_at: now,
        expires_at: now.plus_millis(i64::from(lifetime_seconds) * 1000),
        token_sha256: sha256_hex(token.as_bytes()),
        created_by: created_by.to_string(),
        revoked_at: None,
    };
    (token, record)
}

/// The agent and session a presented token names, if it has a token's shape.
pub fn token_names(token: &str) -> Option<(UserId, SessionId)> {
    let rest = token.trim().strip_prefix(TOKEN_PREFIX)?;
    let mut parts = rest.split('_');
    let (user, session, random) = (parts.next()?, parts.next()?, parts.next()?);
    let hex32 = |part: &str| part.len() == 32 && part.bytes().all(|b| b.is_ascii_hexdigit());
    if parts.next().is_some() || !hex32(user) || !hex32(session) || random.len() != 64 {
        return None;
    }
    Some((UserId::parse(user)?, SessionId::parse(session)?))
}

impl AgentSessions {
    /// The session `token` names, if its hash matches, and whether it may be used at `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<&SessionRecord, SessionRefused> {
        let (_, id) = token_names(token).ok_or(SessionRefused::NotValid)?;
        let presented = sha256_hex(token.trim().as_bytes());
        let record = self
            .sessions
            .iter()
            .find(|s| s.id == id)
            .filter(|s| bool::from(presented.as_bytes().ct_eq(s.token_sha256.as_bytes())))
            .ok_or(SessionRefused::NotValid)?;
        if record.revoked_at.is_some() {
            return Err(SessionRefused::Revoked);
        }
        if now >= record.expires_at {
            return Err(SessionRefused::Expired(record.expires_at));
        }
        Ok(record)
    }

    /// Adds `record`; ends the oldest live sessions beyond [`MAX_LIVE_SESSIONS`] and forgets
    /// sessions ended more than a day ago (or the oldest ended ones beyond
    /// [`MAX_KEPT_SESSIONS`]). Returns the sessions it ended.
    pub fn add(&mut self, record: SessionRecord, now: Timestamp) -> Vec<SessionId> {
        // Appended, so the list is in the order the sessions were made (the oldest first).
        self.sessions.push(record);
        let live = self.sessions.iter().filter(|s| s.is_live(now)).count();
        let mut ended = Vec::new();
        for session in self.sessions.iter_mut() {
            if ended.len() + MAX_LIVE_SESSIONS >= live {
                break;
            }
            if session.is_live(now) {
                session.revoked_at = Some(now);
                ended.push(session.id);
            }
        }
        self.forget_ended(now);
        ended
    }

    /// Ends one session; false when there is no such live session.
    pub fn revoke(&mut self, id: SessionId, now: Timestamp) -> bool {
        let revoked = match self.sessions.iter_mut().find(|s| s.id == id) {
            Some(session) if session.is_live(now) => {
                session.revoked_at = Some(now);
                true
            }
            _ => false,
        };
        self.forget_ended(now);
        revoked
    }

    /// Ends every live session; how many were live.
    pub fn revoke_all(&mut self, now: Timestamp) -> usize {
        let mut count = 0;
        for session in self.sessions.iter_mut().filter(|s| s.is_live(now)) {
            session.revoked_at = Some(now);
            count += 1;
        }
        self.forget_ended(now);
        count
    }

    pub fn live(&self, now: Timestamp) -> impl Iterator<Item = &SessionRecord> {
        self.sessions.iter().filter(move |s| s.is_live(now))
    }

    fn forget_ended(&mut self, now: Timestamp) {
        let ended_at = |s: &SessionRecord| s.revoked_at.unwrap_or(s.expires_at);
        self.sessions
            .retain(|s| s.is_live(now) || ended_at(s).plus_millis(ENDED_KEPT_MILLIS) > now);
        while self.sessions.len() > MAX_KEPT_SESSIONS {
            let oldest_ended = self
                .sessions
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.is_live(now))
                .min_by_key(|(_, s)| ended_at(s))
                .map(|(index, _)| index);
            match oldest_ended {
                Some(index) => {
                    self.sessions.remove(index);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests;
