//! An agent's availability: what they chose (Available, Away, Offline) and what the service
//! derives from their work (Busy, WrapUp, NotResponding), as one record per user and pure
//! functions over it. The distribution engine reserves an agent in this record before it
//! offers them a task, so an agent never has two.

use crate::ids::{TaskId, TeamId, UserId};
use crate::model::Distribution;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// What an agent sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChosenState {
    Available,
    Away,
    /// Every agent starts here: nobody gets calls before they say they are there.
    #[default]
    Offline,
}

/// What an agent is, as the API answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentState {
    Available,
    Away,
    Offline,
    /// A task rings at them or is in progress with them (an automatic offer's reservation).
    Busy,
    /// After a task of theirs ended, for the team's wrap-up time.
    WrapUp,
    /// They let an automatic offer ring out, until the team's reset time passes.
    NotResponding,
}

/// The task an agent is reserved for: taken before the offer is written to the task, so that
/// two distributors can never offer two tasks to one agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Reservation {
    pub id: uuid::Uuid,
    pub task_id: TaskId,
    pub team_id: TeamId,
    pub at: Timestamp,
    /// When the offer rings out.
    pub ring_until: Timestamp,
}

/// How a task left an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// The task ended (terminated or transferred): wrap-up follows.
    Ended,
    /// The agent declined the offer: free at once.
    Declined,
    /// The offer rang out: NotResponding follows.
    RingTimeout,
    /// The offer never reached the task (another change won): as if it had not been made.
    Void,
}

/// One agent's availability as stored (`agent/{userId}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentRecord {
    pub user_id: UserId,
    pub chosen: ChosenState,
    #[serde(default)]
    pub reason: Option<String>,
    pub chosen_at: Timestamp,
    #[serde(default)]
    pub reservation: Option<Reservation>,
    /// When the last task that left them did (longest-idle order starts from here).
    #[serde(default)]
    pub last_released_at: Option<Timestamp>,
    #[serde(default)]
    pub wrap_up_until: Option<Timestamp>,
    #[serde(default)]
    pub not_responding_until: Option<Timestamp>,
    /// Counts every write, so that a pool entry decided on an older record cannot win; it is
    /// also the record's version in the user's change feed (every write is a feed change).
    #[serde(default)]
    pub revision: u64,
    /// The id of the change that made this revision (see `repo::feeds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<crate::ids::ChangeId>,
    /// Changes of the next revision refused by a feed reader (their requests took too long).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fenced: Vec<crate::ids::ChangeId>,
}

/// An agent's availability as the API answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Availability {
    pub user_id: UserId,
    /// The effective state: derived states win over the chosen one.
    pub state: AgentState,
    pub chosen: ChosenState,
    /// Since when the agent is in `State` (for Available: idle since, the longest-idle order).
    pub since: Timestamp,
    /// When a derived state ends (WrapUp, NotResponding), else null.
    pub until: Option<Timestamp>,
    pub reason: Option<String>,
    /// The task that makes them Busy.
    pub task_id: Option<TaskId>,
}

/// The longest a reason may be.
pub const MAX_REASON_CHARS: usize = 100;

impl AgentRecord {
    /// A user who never set a state: Offline since the beginning of time.
    pub fn new(user_id: UserId) -> Self {
        AgentRecord {
            user_id,
            chosen: ChosenState::Offline,
            reason: None,
            chosen_at: Timestamp::from_unix_millis(0),
            reservation: None,
            last_released_at: None,
            wrap_up_until: None,
            not_responding_until: None,
            revision: 0,
            change: None,
            fenced: Vec::new(),
        }
    }

    /// When the agent may be offered a task (now or later), or `None` while they chose not to
    /// be or are reserved. It is also their place in the longest-idle order: the earliest first.
    pub fn free_from(&self) -> Option<Timestamp> {
        if self.chosen != ChosenState::Available || self.reservation.is_some() {
            return None;
        }
        let from = [
            Some(self.chosen_at),
            self.last_released_at,
            self.wrap_up_until,
            self.not_responding_until,
        ]
        .into_iter()
        .flatten()
        .max();
        from.or(Some(self.chosen_at))
    }

    /// Whether the agent may be offered a task at `now`.
    pub fn is_free_at(&self, now: Timestamp) -> bool {
        self.free_from().is_some_and(|from| from <= now)
    }

    /// The availability at `now`.
    pub fn availability(&self, now: Timestamp) -> Availability {
        let (state, since, until) = if let Some(reservation) = &self.reservation {
            (AgentState::Busy, reservation.at, None)
        } else if let Some(until) = self.not_responding_until.filter(|u| *u > now) {
            let since = self.last_released_at.unwrap_or(self.chosen_at);
            (AgentState::NotResponding, since, Some(until))
        } else if let Some(until) = self.wrap_up_until.filter(|u| *u > now) {
            let since = self.last_released_at.unwrap_or(self.chosen_at);
            (AgentState::WrapUp, since, Some(until))
        } else {
            let state = match self.chosen {
                ChosenState::Available => AgentState::Available,
                ChosenState::Away => AgentState::Away,
                ChosenState::Offline => AgentState::Offline,
            };
            let since = match self.chosen {
                ChosenState::Available => self.free_from().unwrap_or(self.chosen_at),
                _ => self.chosen_at,
            };
            (state, since, None)
        };
        Availability {
            user_id: self.user_id,
            state,
            chosen: self.chosen,
            since,
            until,
            reason: self.reason.clone(),
            task_id: self.reservation.as_ref().map(|r| r.task_id),
        }
    }

    /// The agent sets `chosen` at `now`: this ends WrapUp and NotResponding (they said what
    /// they are). Setting the state they are in already keeps their place in the idle order.
    /// A reservation is kept: a task at them stays theirs.
    pub fn choose(&mut self, chosen: ChosenState, reason: Option<String>, now: Timestamp) {
        let ends_derived = self.wrap_up_until.is_some_and(|u| u > now)
            || self.not_responding_until.is_some_and(|u| u > now);
        if self.chosen != chosen || ends_derived {
            self.chosen_at = now;
        }
        self.chosen = chosen;
        self.reason = reason;
        self.wrap_up_until = None;
        self.not_responding_until = None;
        self.revision += 1;
    }

    /// Reserves the agent for `reservation` if they are free at its time.
    pub fn reserve(&mut self, reservation: Reservation) -> bool {
        if !self.is_free_at(reservation.at) {
            return false;
        }
        self.reservation = Some(reservation);
        self.revision += 1;
        true
    }

    /// Ends reservation `id` as `release` says, at `now`, with the team's settings; false (and
    /// nothing changed) if the agent holds another reservation or none.
    pub fn release(
        &mut self,
        id: uuid::Uuid,
        release: Release,
        settings: &Distribution,
        now: Timestamp,
    ) -> bool {
        if self.reservation.as_ref().map(|r| r.id) != Some(id) {
            return false;
        }
        self.reservation = None;
        match release {
            Release::Ended => {
                self.last_released_at = Some(now);
                self.wrap_up_until = (settings.wrap_up_seconds > 0)
                    .then(|| now.plus_millis(settings.wrap_up_millis()));
            }
            Release::Declined => self.last_released_at = Some(now),
            Release::RingTimeout => {
                self.last_released_at = Some(now);
                self.not_responding_until =
                    Some(now.plus_millis(settings.not_responding_reset_millis()));
            }
            Release::Void => {}
        }
        self.revision += 1;
        true
    }
}

#[cfg(test)]
mod tests;
