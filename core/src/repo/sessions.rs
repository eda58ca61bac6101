//! Agent sessions: one document per agent holding all of their sessions (see
//! `model::session`), changed by compare-and-swap.

use super::{decode, encode, keys, Repo};
use crate::ids::{SessionId, UserId};
use crate::model::session::{AgentSessions, SessionRecord};
use crate::model::User;
use crate::repo::RepoError;
use crate::time::Timestamp;

impl Repo<'_> {
    /// The agent's sessions and user record, in one batch read (what checking a session needs).
    pub fn agent_sessions_and_user(
        &self,
        user: UserId,
    ) -> Result<(AgentSessions, Option<User>), RepoError> {
        let (sessions_key, user_key) = (keys::agent_sessions(user), keys::user(user));
        let mut values = self.get_many(&[&sessions_key, &user_key])?.into_iter();
        let (raw_sessions, raw_user) = (values.next().flatten(), values.next().flatten());
        let sessions = raw_sessions
            .map(|raw| decode(&sessions_key, &raw))
            .transpose()?
            .unwrap_or_default();
        let user = raw_user.map(|raw| decode(&user_key, &raw)).transpose()?;
        Ok((sessions, user))
    }

    pub fn agent_sessions(&self, user: UserId) -> Result<AgentSessions, RepoError> {
        Ok(self
            .read(&keys::agent_sessions(user))?
            .map(|v| v.value)
            .unwrap_or_default())
    }

    /// Adds a session to the agent's document (made on the agent's first session); returns
    /// the sessions this ended (beyond the live limit).
    pub fn add_agent_session(
        &self,
        user: UserId,
        record: &SessionRecord,
        now: Timestamp,
    ) -> Result<Vec<SessionId>, RepoError> {
        let key = keys::agent_sessions(user);
        // Repairing is safe here: a late first write of the empty document can only end sessions.
        self.ensure_exists(&key, &encode(&AgentSessions::default())?, true)?;
        let mut ended = Vec::new();
        self.update(&key, |sessions: &mut AgentSessions| {
            ended = sessions.add(record.clone(), now);
            Ok(true)
        })?;
        Ok(ended)
    }

    /// Ends one session of the agent; false when it was not live.
    pub fn revoke_agent_session(
        &self,
        user: UserId,
        id: SessionId,
        now: Timestamp,
    ) -> Result<bool, RepoError> {
        let mut revoked = false;
        self.update(
            &keys::agent_sessions(user),
            |sessions: &mut AgentSessions| {
                revoked = sessions.revoke(id, now);
                Ok(revoked)
            },
        )?;
        Ok(revoked)
    }

    /// Ends every session of the agent; how many were live.
    pub fn revoke_agent_sessions(&self, user: UserId, now: Timestamp) -> Result<usize, RepoError> {
        let mut count = 0;
        self.update(
            &keys::agent_sessions(user),
            |sessions: &mut AgentSessions| {
                count = sessions.revoke_all(now);
                Ok(count > 0)
            },
        )?;
        Ok(count)
    }
}
