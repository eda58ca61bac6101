//! The distribution engine: in a team whose `Distribution.Mode` is Automatic, it offers the
//! task `longestwaitingtask` answers to the longest-idle member who is Available, active (not
//! blocked) there and free, takes a task back from an agent who lets it ring out, and frees
//! agents after their tasks. There are no background threads: requests run it (see
//! `docs/api.md`, "Automatic distribution", for which requests and the bound on lateness).
//!
//! How an offer can never give one agent two tasks, nor leave an agent stuck reserved:
//! 1. The agent is *reserved* first: compare-and-swap on their record (`agent/{userId}`), which
//!    only succeeds while they are free. Of two engines choosing the same agent, one wins.
//! 2. The offer is then written to the task by compare-and-swap (Queued → Ringing, with the
//!    reservation's id). Of two engines, or an engine and an API change, offering the same
//!    task, one wins; the loser releases its reservation (`Release::Void`) and looks again.
//! 3. A request that dies between 1 and 2 leaves a reservation its task does not hold. Whoever
//!    meets it ([`RESERVATION_GRACE_MILLIS`] after it was made) *fences* it in the task (so the
//!    late write of step 2 can never succeed) and then releases it: either the offer reached
//!    the task first and the fence finds it there, or the fence is first and the offer fails.
//! 4. A change that takes a task away from its agent (decline, ring timeout, terminate,
//!    transfer) first puts the agent back in the idle pools of their teams (a hint: "look at
//!    me"), then writes the task, then releases the agent. A request that dies in between
//!    leaves an agent whose reservation their task no longer holds; the next engine that looks
//!    at the pool meets them and repairs as in 3.

use crate::ids::{IdSource, TaskId, TeamId, UserId};
use crate::model::{Distribution, Release, Reservation, Task, TaskStatus, Team};
use crate::repo::{ChangeMeta, Fence, IdleEntry, Repo, RepoError, StoredTask};
use crate::state_machine::TaskAction;
use crate::task_change::{self, ActionInput};
use crate::time::Timestamp;
use serde::Serialize;

/// A reservation its task does not hold is left alone this long: its offer may be on the way.
pub const RESERVATION_GRACE_MILLIS: i64 = 5_000;
/// At most this many offers per run (one event frees one agent or queues one task; the rest
/// catches up on work a dead request left).
pub const MAX_OFFERS_PER_RUN: u32 = 4;
/// At most this many ring timeouts per run.
pub const MAX_RING_TIMEOUTS_PER_RUN: u32 = 4;
/// Idle pool entries checked against their records per offer (one batch read).
pub const MAX_CANDIDATES: usize = 8;
/// An agent's teams run after they became free (the first this many Automatic ones).
pub const MAX_TEAMS_PER_AGENT_RUN: usize = 8;

/// Feed kinds of the engine's own changes.
pub const KIND_AUTOMATIC_OFFER: &str = "AutomaticOffer";
pub const KIND_RING_TIMEOUT: &str = "RingTimeout";

/// What a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunOutcome {
    pub offers: u32,
    pub ring_timeouts: u32,
    /// Stale pool entries, ring entries and reservations repaired on the way.
    pub repairs: u32,
}

impl RunOutcome {
    fn add(&mut self, other: RunOutcome) {
        self.offers += other.offers;
        self.ring_timeouts += other.ring_timeouts;
        self.repairs += other.repairs;
    }
}

/// The reservation a task held before a change, and whose it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub reservation: uuid::Uuid,
    pub user: UserId,
}

impl Held {
    pub fn of(stored: &StoredTask) -> Option<Held> {
        Some(Held {
            reservation: stored.reservation?,
            user: stored.task.assigned_user_id?,
        })
    }
}

/// How a change left the agent who held the task: a pure decision from the task after it.
pub fn release_after(held: Held, after: &StoredTask) -> Option<Release> {
    let task = &after.task;
    if task.status.is_final() {
        return Some(Release::Ended);
    }
    if after.reservation == Some(held.reservation) && task.assigned_user_id == Some(held.user) {
        return None;
    }
    Some(Release::Declined)
}

/// Whether an action may take a task away from its agent (the agent goes back to the pools
/// before such a change, see the module documentation, step 4).
pub fn may_release(action: TaskAction) -> bool {
    matches!(
        action,
        TaskAction::Decline
            | TaskAction::Terminate
            | TaskAction::Transfer
            | TaskAction::ConsultationTransfer
            | TaskAction::ConsultationLeave
            | TaskAction::ConsultationTerminateCustomerCall
    )
}

/// When an agent released `release`-wise at `now` may be offered again (for the hint).
fn free_again_at(release: Release, settings: &Distribution, now: Timestamp) -> Timestamp {
    match release {
        Release::Ended => now.plus_millis(settings.wrap_up_millis()),
        Release::RingTimeout => now.plus_millis(settings.not_responding_reset_millis()),
        Release::Declined | Release::Void => now,
    }
}

/// What one offer attempt came to.
enum Attempt {
    Offered,
    /// Nobody free to take it.
    NoAgent,
    /// The task changed meanwhile (another offer, a terminate), or an agent was repaired: look
    /// at the queue and the pool again.
    TaskTaken,
}

pub struct Engine<'e, 'a> {
    repo: &'e Repo<'a>,
    ids: &'e mut dyn IdSource,
    now: Timestamp,
}

impl<'e, 'a> Engine<'e, 'a> {
    pub fn new(repo: &'e Repo<'a>, ids: &'e mut dyn IdSource, now: Timestamp) -> Self {
        Engine { repo, ids, now }
    }

    fn meta(&mut self, kind: &str) -> ChangeMeta {
        ChangeMeta {
            kind: kind.to_string(),
            id_base: self.ids.next_id(),
            at: self.now,
        }
    }

    /// Runs a team: applies its due ring timeouts, then offers its waiting tasks to its idle
    /// members. Nothing for a Manual team.
    pub fn run_team(&mut self, team: &Team) -> Result<RunOutcome, RepoError> {
        let mut outcome = RunOutcome::default();
        if !team.distribution.is_automatic() {
            return Ok(outcome);
        }
        self.apply_ring_timeouts(team, &mut outcome)?;
        self.offer_waiting(team, &mut outcome)?;
        Ok(outcome)
    }

    /// Runs the Automatic teams `user` is a member of (after they became free).
    pub fn run_teams_of(&mut self, user: UserId) -> Result<RunOutcome, RepoError> {
        let ids = self.repo.user_team_ids(user)?;
        let teams = self.repo.teams(&ids)?;
        let mut outcome = RunOutcome::default();
        for team in teams
            .iter()
            .filter(|t| t.distribution.is_automatic())
            .take(MAX_TEAMS_PER_AGENT_RUN)
        {
            outcome.add(self.run_team(team)?);
        }
        Ok(outcome)
    }

    /// What a waiting read of `user`'s feed does now and then: times out the offer ringing at
    /// them, repairs a stale reservation, and runs their teams once they are free.
    pub fn run_agent(&mut self, user: UserId) -> Result<RunOutcome, RepoError> {
        let mut outcome = RunOutcome::default();
        let record = self.repo.agent(user)?;
        if let Some(reservation) = &record.reservation {
            if reservation.ring_until <= self.now {
                if let Some(team) = self.repo.team(reservation.team_id)? {
                    if self.time_out(&team, reservation.task_id)? {
                        outcome.ring_timeouts += 1;
                    }
                }
            }
            if self.repair_reservation(user, reservation)? {
                outcome.repairs += 1;
            }
        }
        if self.repo.agent(user)?.is_free_at(self.now) {
            outcome.add(self.run_teams_of(user)?);
        }
        Ok(outcome)
    }

    /// Repairs `user`'s reservation if it is stale (for reads of their availability).
    /// A repaired agent who is free now gets their teams' waiting tasks.
    pub fn repair_agent(&mut self, user: UserId) -> Result<bool, RepoError> {
        let Some(reservation) = self.repo.agent(user)?.reservation else {
            return Ok(false);
        };
        let repaired = self.repair_reservation(user, &reservation)?;
        if repaired && self.repo.agent(user)?.is_free_at(self.now) {
            self.run_teams_of(user)?;
        }
        Ok(repaired)
    }

    // ---- ring timeouts ----------------------------------------------------------------

    fn apply_ring_timeouts(
        &mut self,
        team: &Team,
        outcome: &mut RunOutcome,
    ) -> Result<(), RepoError> {
        for _ in 0..MAX_RING_TIMEOUTS_PER_RUN {
            let due = self.repo.ring_due(team.id)?;
            let Some(entry) = due.into_iter().find(|r| r.until <= self.now) else {
                return Ok(());
            };
            if self.time_out(team, entry.task_id)? {
                outcome.ring_timeouts += 1;
            } else {
                // The head named a task that is no longer ringing out: repair its shard.
                self.repo.repair_ring_entry(team.id, entry.task_id)?;
                outcome.repairs += 1;
            }
        }
        Ok(())
    }

    /// Takes `task` back from its agent if its automatic offer rang out; false if it did not
    /// (it was answered, declined or timed out meanwhile).
    fn time_out(&mut self, team: &Team, task: TaskId) -> Result<bool, RepoError> {
        let Some(stored) = self.repo.task(task)? else {
            return Ok(false);
        };
        let now = self.now;
        let due = |t: &Task| {
            t.status == TaskStatus::Ringing && t.ringing_until.is_some_and(|until| until <= now)
        };
        if !due(&stored.task) {
            return Ok(false);
        }
        let held = Held::of(&stored);
        if let Some(held) = held {
            self.hint_free(held.user, Release::RingTimeout, &team.distribution)?;
        }
        let meta = self.meta(KIND_RING_TIMEOUT);
        let mut held_before = None;
        let result = self.repo.update_task(task, &meta, |stored| {
            if !due(&stored.task) {
                return Err(RepoError::NoLongerApplies);
            }
            held_before = Held::of(stored);
            // Back to its place in the queue, as a decline does.
            stored.task =
                task_change::apply(&stored.task, TaskAction::Decline, &ActionInput::None, now)
                    .map_err(|_| RepoError::NoLongerApplies)?;
            stored.task.ringing_until = None;
            stored.rang_out = stored.reservation.take();
            Ok(())
        });
        match result {
            Ok(_) => {}
            Err(RepoError::NoLongerApplies) => return Ok(false),
            Err(error) => return Err(error),
        }
        if let Some(held) = held_before {
            self.release(held, Release::RingTimeout, &team.distribution)?;
        }
        Ok(true)
    }

    // ---- offers -------------------------------------------------------------------------

    fn offer_waiting(&mut self, team: &Team, outcome: &mut RunOutcome) -> Result<(), RepoError> {
        for _ in 0..MAX_OFFERS_PER_RUN {
            let Some(task) = self.repo.longest_waiting_task(team.id, self.now)? else {
                return Ok(());
            };
            match self.offer_to_idle_member(team, task.task.id, outcome)? {
                Attempt::Offered => outcome.offers += 1,
                Attempt::NoAgent => return Ok(()),
                Attempt::TaskTaken => {}
            }
        }
        Ok(())
    }

    /// Offers `task` to the longest-idle free active member of `team`.
    fn offer_to_idle_member(
        &mut self,
        team: &Team,
        task: TaskId,
        outcome: &mut RunOutcome,
    ) -> Result<Attempt, RepoError> {
        let candidates: Vec<IdleEntry> = self
            .repo
            .idle_pool(team.id)?
            .into_iter()
            .filter(|e| e.from <= self.now)
            .take(MAX_CANDIDATES)
            .collect();
        if candidates.is_empty() {
            return Ok(Attempt::NoAgent);
        }
        let members = self.repo.team_members(team.id)?;
        let users: Vec<UserId> = candidates.iter().map(|e| e.user_id).collect();
        let records = self.repo.agents(&users)?;
        for (entry, record) in candidates.iter().zip(records) {
            let user = entry.user_id;
            let active = members.member(user).map(|m| m.is_active) == Some(true);
            if !active {
                // Blocked or no member (any more): out of this team's pool. An unblock puts a
                // free agent back.
                self.repo.remove_idle_entry(team.id, user)?;
                outcome.repairs += 1;
                continue;
            }
            if !record.is_free_at(self.now) || record.free_from() != Some(entry.from) {
                let mut freed = false;
                if let Some(reservation) = &record.reservation {
                    freed = self.repair_reservation(user, reservation)?;
                }
                self.repo.reconcile_idle_entry(team.id, user)?;
                outcome.repairs += 1;
                if freed {
                    // A stale reservation let go: the agent may be free now, look again.
                    return Ok(Attempt::TaskTaken);
                }
                continue;
            }
            let reservation = Reservation {
                id: self.ids.next_id(),
                task_id: task,
                team_id: team.id,
                at: self.now,
                ring_until: self
                    .now
                    .plus_millis(team.distribution.ring_timeout_millis()),
            };
            let change = self.ids.next_id();
            let reserved = self.repo.update_agent(user, self.now, change, |r| {
                Ok(r.reserve(reservation.clone()))
            })?;
            if reserved.reservation.as_ref().map(|r| r.id) != Some(reservation.id) {
                // Another engine was faster with this agent.
                self.repo.reconcile_idle_entry(team.id, user)?;
                continue;
            }
            if self.offer_task(task, user, &reservation)? {
                let teams = self.repo.user_team_ids(user)?;
                self.repo.reconcile_idle_pools(&teams, user)?;
                return Ok(Attempt::Offered);
            }
            self.release(
                Held {
                    reservation: reservation.id,
                    user,
                },
                Release::Void,
                &team.distribution,
            )?;
            return Ok(Attempt::TaskTaken);
        }
        Ok(Attempt::NoAgent)
    }

    /// Writes the offer of `task` to `user` under `reservation`; false if the task is no
    /// longer queued (or the reservation was fenced).
    fn offer_task(
        &mut self,
        task: TaskId,
        user: UserId,
        reservation: &Reservation,
    ) -> Result<bool, RepoError> {
        let meta = self.meta(KIND_AUTOMATIC_OFFER);
        let now = self.now;
        let result = self.repo.update_task(task, &meta, |stored| {
            if stored.task.status != TaskStatus::Queued
                || stored.fenced_reservations.contains(&reservation.id)
            {
                return Err(RepoError::NoLongerApplies);
            }
            let input = ActionInput::Offer {
                user,
                membership: Some(true),
            };
            stored.task = task_change::apply(&stored.task, TaskAction::Offer, &input, now)
                .map_err(|_| RepoError::NoLongerApplies)?;
            stored.task.ringing_until = Some(reservation.ring_until);
            stored.reservation = Some(reservation.id);
            Ok(())
        });
        match result {
            Ok(_) => Ok(true),
            Err(RepoError::NoLongerApplies | RepoError::TaskNotFound(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    // ---- agents -------------------------------------------------------------------------

    /// Before a change that may free `user` (`release`-wise): their entry in their teams' pools,
    /// from when they would be free (step 4 of the module documentation).
    pub fn hint_free(
        &mut self,
        user: UserId,
        release: Release,
        settings: &Distribution,
    ) -> Result<(), RepoError> {
        let record = self.repo.agent(user)?;
        if record.chosen != crate::model::ChosenState::Available {
            return Ok(());
        }
        let teams = self.repo.user_team_ids(user)?;
        let from = free_again_at(release, settings, self.now);
        self.repo.add_to_idle_pools(&teams, user, from)
    }

    /// Ends `held` as `release` says, then brings the pools of the agent's teams in line with
    /// their record. Returns whether the agent is free now.
    pub fn release(
        &mut self,
        held: Held,
        release: Release,
        settings: &Distribution,
    ) -> Result<bool, RepoError> {
        let now = self.now;
        let teams = self.repo.user_team_ids(held.user)?;
        let record = self.repo.agent(held.user)?;
        let mut predicted = record.clone();
        if predicted.release(held.reservation, release, settings, now) {
            if let Some(from) = predicted.free_from() {
                self.repo.add_to_idle_pools(&teams, held.user, from)?;
            }
        }
        let change = self.ids.next_id();
        let after = self.repo.update_agent(held.user, now, change, |r| {
            Ok(r.release(held.reservation, release, settings, now))
        })?;
        self.repo.reconcile_idle_pools(&teams, held.user)?;
        Ok(after.is_free_at(now))
    }

    /// Repairs `reservation` of `user` if its task does not hold it (step 3 of the module
    /// documentation) or the task ended without releasing them. True if it was repaired.
    fn repair_reservation(
        &mut self,
        user: UserId,
        reservation: &Reservation,
    ) -> Result<bool, RepoError> {
        let held = Held {
            reservation: reservation.id,
            user,
        };
        let stored = self.repo.task(reservation.task_id)?;
        let settings = self
            .repo
            .team(reservation.team_id)?
            .map(|t| t.distribution)
            .unwrap_or_default();
        if let Some(stored) = &stored {
            if stored.reservation == Some(reservation.id) {
                return match release_after(held, stored) {
                    // Still theirs.
                    None => Ok(false),
                    // The change that took it away died before releasing them.
                    Some(release) => self.release(held, release, &settings).map(|_| true),
                };
            }
        }
        if stored
            .as_ref()
            .is_some_and(|s| s.rang_out == Some(reservation.id))
        {
            // The ring timeout was written and the request died before releasing the agent.
            return self
                .release(held, Release::RingTimeout, &settings)
                .map(|_| true);
        }
        if reservation.at.plus_millis(RESERVATION_GRACE_MILLIS) > self.now {
            return Ok(false);
        }
        if self
            .repo
            .fence_reservation(reservation.task_id, reservation.id)?
            == Fence::Held
        {
            // The offer reached the task just now.
            return Ok(false);
        }
        // Never reached the task, or declined by a request that died before releasing them:
        // free again at their old place in the idle order.
        self.release(held, Release::Void, &settings).map(|_| true)
    }

    /// After an API change of a task from `held` (the reservation it held before, if any) to
    /// `after`: releases the agent it left, and runs the team and the agent's teams as needed.
    pub fn after_task_change(
        &mut self,
        held: Option<Held>,
        after: &StoredTask,
    ) -> Result<RunOutcome, RepoError> {
        let mut outcome = RunOutcome::default();
        let release = held.and_then(|held| Some((held, release_after(held, after)?)));
        if release.is_none() && after.task.status != TaskStatus::Queued {
            // Nothing for the engine (a hold, an accept): no read at all.
            return Ok(outcome);
        }
        let Some(team) = self.repo.team(after.task.team_id)? else {
            return Ok(outcome);
        };
        let mut freed = None;
        if let Some((held, release)) = release {
            if self.release(held, release, &team.distribution)? {
                freed = Some(held.user);
            }
        }
        if after.task.status == TaskStatus::Queued || freed.is_some() {
            outcome.add(self.run_team(&team)?);
        }
        if let Some(user) = freed {
            outcome.add(self.run_teams_of(user)?);
        }
        Ok(outcome)
    }

    /// Sets what `user` chose (the availability API): their pool entries first if this makes
    /// them free, then the record, then the pools in line, then their teams run.
    pub fn set_availability(
        &mut self,
        user: UserId,
        chosen: crate::model::ChosenState,
        reason: Option<String>,
    ) -> Result<crate::model::AgentRecord, RepoError> {
        let now = self.now;
        let mut predicted = self.repo.agent(user)?;
        predicted.choose(chosen, reason.clone(), now);
        let teams = self.repo.user_team_ids(user)?;
        if let Some(from) = predicted.free_from() {
            self.repo.add_to_idle_pools(&teams, user, from)?;
        }
        let change = self.ids.next_id();
        let record = self.repo.update_agent(user, now, change, |r| {
            r.choose(chosen, reason.clone(), now);
            Ok(true)
        })?;
        // The change is made: a failure to distribute now is caught up by the next run.
        let _ = self.after_agent_change(user);
        Ok(record)
    }

    /// After `user`'s record changed through the API (availability, unblock in `team`): brings
    /// the pools in line and runs their teams if they are free.
    pub fn after_agent_change(&mut self, user: UserId) -> Result<RunOutcome, RepoError> {
        let teams = self.repo.user_team_ids(user)?;
        self.repo.reconcile_idle_pools(&teams, user)?;
        if self.repo.agent(user)?.is_free_at(self.now) {
            return self.run_teams_of(user);
        }
        Ok(RunOutcome::default())
    }

    /// The team a task of `team_id` is in, if it exists (for callers holding only the id).
    pub fn team(&self, team_id: TeamId) -> Result<Option<Team>, RepoError> {
        self.repo.team(team_id)
    }
}

#[cfg(test)]
mod tests;
