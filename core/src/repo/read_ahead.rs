//! Reading ahead: what an authenticated request will read first, asked of the repo by what the
//! request names (the API layer knows operations, the repo knows which keys they read), and
//! read in one batch.

use super::{keys, FeedId, Repo};
use crate::ids::{TaskId, TeamId, UserId};
use crate::repo::RepoError;

/// What a request's path names, and what it will read of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Named {
    Task(TaskId),
    Team(TeamId, TeamRead),
    User(UserId, UserRead),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeamRead {
    /// The team's record.
    Record,
    /// The record and the queue heads of its index shards.
    LongestWaiting,
    /// The record, where its feed is decided, and every shard of its index.
    TaskList,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserRead {
    Record,
    /// The record and where its feed is decided.
    TaskList,
}

impl Named {
    fn keys(self) -> Vec<String> {
        match self {
            Named::Task(task) => vec![keys::task(task)],
            Named::Team(team, read) => {
                let mut keys = vec![keys::team(team)];
                match read {
                    TeamRead::Record => {}
                    TeamRead::LongestWaiting => keys.extend(keys::team_queue_heads(team)),
                    TeamRead::TaskList => {
                        keys.push(FeedId::Team(team).decided_key());
                        keys.extend(keys::team_index_shards(team));
                    }
                }
                keys
            }
            Named::User(user, read) => {
                let mut keys = vec![keys::user(user)];
                if read == UserRead::TaskList {
                    keys.push(FeedId::User(user).decided_key());
                }
                keys
            }
        }
    }
}

impl Repo<'_> {
    /// Reads what `named` will be read for, in one batch (none for nothing named).
    pub fn read_ahead(&self, named: &[Named]) -> Result<(), RepoError> {
        let keys: Vec<String> = named.iter().flat_map(|n| n.keys()).collect();
        self.prefetch(&keys)
    }
}
