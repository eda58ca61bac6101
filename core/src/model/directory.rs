//! Organization units, teams, users, memberships and conversation-as rights: the
//! directory that the admin API replaces as a whole and the Team/User API reads.

use crate::ids::{OrganizationUnitId, TeamId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrganizationUnit {
    pub id: OrganizationUnitId,
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<OrganizationUnitId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TeamStatus {
    Active,
    Inactive,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub sip_uri: String,
    pub organization_unit_id: OrganizationUnitId,
    pub status: TeamStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    pub id: UserId,
    pub display_name: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    pub upn: String,
    pub sip_uri: String,
    #[serde(default)]
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Membership {
    pub team_id: TeamId,
    pub user_id: UserId,
    /// False when the user is blocked in this team (gets no offers from it).
    pub is_active: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConversationAsService {
    AllConversations,
    ExternalConversations,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConversationAsRight {
    pub user_id: UserId,
    pub team_id: TeamId,
    pub conversation_as_service: ConversationAsService,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Directory {
    #[serde(default)]
    pub organization_units: Vec<OrganizationUnit>,
    #[serde(default)]
    pub teams: Vec<Team>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub memberships: Vec<Membership>,
    #[serde(default)]
    pub conversation_as: Vec<ConversationAsRight>,
}

/// `sip:anna@x` and `anna@x` name the same SIP address; compare without the scheme.
fn without_sip_scheme(text: &str) -> &str {
    match text.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("sip:") => &text[4..],
        _ => text,
    }
}

fn same_sip(a: &str, b: &str) -> bool {
    without_sip_scheme(a).eq_ignore_ascii_case(without_sip_scheme(b))
}

impl Directory {
    /// A user by Id, SIP URI (with or without `sip:`) or UPN, case-insensitive.
    pub fn find_user(&self, identifier: &str) -> Option<&User> {
        let identifier = identifier.trim();
        if let Some(id) = UserId::parse(identifier) {
            if let Some(user) = self.users.iter().find(|u| u.id == id) {
                return Some(user);
            }
        }
        self.users
            .iter()
            .find(|u| same_sip(&u.sip_uri, identifier) || u.upn.eq_ignore_ascii_case(identifier))
    }

    /// A team by Id or SIP URI, case-insensitive.
    pub fn find_team(&self, identifier: &str) -> Option<&Team> {
        let identifier = identifier.trim();
        if let Some(id) = TeamId::parse(identifier) {
            if let Some(team) = self.teams.iter().find(|t| t.id == id) {
                return Some(team);
            }
        }
        self.teams.iter().find(|t| same_sip(&t.sip_uri, identifier))
    }

    pub fn team(&self, id: TeamId) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    pub fn user(&self, id: UserId) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn membership(&self, team: TeamId, user: UserId) -> Option<&Membership> {
        self.memberships
            .iter()
            .find(|m| m.team_id == team && m.user_id == user)
    }

    pub fn membership_mut(&mut self, team: TeamId, user: UserId) -> Option<&mut Membership> {
        self.memberships
            .iter_mut()
            .find(|m| m.team_id == team && m.user_id == user)
    }

    /// Teams the user is a member of (blocked or not), in directory order.
    pub fn teams_of_user(&self, user: UserId) -> Vec<&Team> {
        self.teams
            .iter()
            .filter(|t| self.membership(t.id, user).is_some())
            .collect()
    }

    pub fn conversation_as_of_user(&self, user: UserId) -> Vec<&ConversationAsRight> {
        self.conversation_as
            .iter()
            .filter(|c| c.user_id == user)
            .collect()
    }

    /// The unit itself and all units below it.
    pub fn organization_unit_subtree(
        &self,
        root: OrganizationUnitId,
    ) -> HashSet<OrganizationUnitId> {
        let mut subtree = HashSet::from([root]);
        // Validation rejects cycles, so this grows to a fixed point in at most |units| rounds.
        loop {
            let before = subtree.len();
            for unit in &self.organization_units {
                if unit.parent_id.is_some_and(|p| subtree.contains(&p)) {
                    subtree.insert(unit.id);
                }
            }
            if subtree.len() == before {
                return subtree;
            }
        }
    }

    /// Checks ids, references and uniqueness; the message names the offending entry.
    pub fn validate(&self) -> Result<(), String> {
        let mut units = HashMap::new();
        for unit in &self.organization_units {
            if units.insert(unit.id, unit).is_some() {
                return Err(format!("OrganizationUnits: duplicate Id '{}'.", unit.id));
            }
        }
        for unit in &self.organization_units {
            if unit.name.trim().is_empty() {
                return Err(format!(
                    "OrganizationUnits: unit '{}' needs a Name.",
                    unit.id
                ));
            }
            if let Some(parent) = unit.parent_id {
                if !units.contains_key(&parent) {
                    return Err(format!(
                        "OrganizationUnits: ParentId '{parent}' of unit '{}' does not exist.",
                        unit.id
                    ));
                }
            }
            // Walk up the parents; more steps than units means a cycle.
            let mut current = unit.parent_id;
            for _ in 0..=units.len() {
                match current {
                    None => break,
                    Some(id) if id == unit.id => {
                        return Err(format!(
                            "OrganizationUnits: unit '{}' is its own ancestor (cycle).",
                            unit.id
                        ))
                    }
                    Some(id) => current = units.get(&id).and_then(|u| u.parent_id),
                }
            }
        }
        let mut team_ids = HashSet::new();
        for team in &self.teams {
            if !team_ids.insert(team.id) {
                return Err(format!("Teams: duplicate Id '{}'.", team.id));
            }
            if !units.contains_key(&team.organization_unit_id) {
                return Err(format!(
                    "Teams: OrganizationUnitId '{}' of team '{}' does not exist.",
                    team.organization_unit_id, team.id
                ));
            }
            if team.name.trim().is_empty() || team.sip_uri.trim().is_empty() {
                return Err(format!(
                    "Teams: team '{}' needs a Name and a SipUri.",
                    team.id
                ));
            }
        }
        for (i, a) in self.teams.iter().enumerate() {
            if self.teams[..i]
                .iter()
                .any(|b| same_sip(&a.sip_uri, &b.sip_uri))
            {
                return Err(format!("Teams: duplicate SipUri '{}'.", a.sip_uri));
            }
        }
        let mut user_ids = HashSet::new();
        for user in &self.users {
            if !user_ids.insert(user.id) {
                return Err(format!("Users: duplicate Id '{}'.", user.id));
            }
            if user.upn.trim().is_empty() || user.sip_uri.trim().is_empty() {
                return Err(format!(
                    "Users: user '{}' needs a Upn and a SipUri.",
                    user.id
                ));
            }
        }
        // Identifiers must resolve to one user only, whichever kind the caller passes.
        for (i, a) in self.users.iter().enumerate() {
            for b in &self.users[..i] {
                let clash = same_sip(&a.sip_uri, &b.sip_uri)
                    || a.upn.eq_ignore_ascii_case(&b.upn)
                    || same_sip(&a.sip_uri, &b.upn)
                    || same_sip(&a.upn, &b.sip_uri);
                if clash {
                    return Err(format!(
                        "Users: users '{}' and '{}' share a SipUri or Upn.",
                        b.id, a.id
                    ));
                }
            }
        }
        let mut pairs = HashSet::new();
        for m in &self.memberships {
            if !team_ids.contains(&m.team_id) || !user_ids.contains(&m.user_id) {
                return Err(format!(
                    "Memberships: team '{}' or user '{}' does not exist.",
                    m.team_id, m.user_id
                ));
            }
            if !pairs.insert((m.team_id, m.user_id)) {
                return Err(format!(
                    "Memberships: user '{}' is listed twice in team '{}'.",
                    m.user_id, m.team_id
                ));
            }
        }
        let mut rights = HashSet::new();
        for c in &self.conversation_as {
            if !team_ids.contains(&c.team_id) || !user_ids.contains(&c.user_id) {
                return Err(format!(
                    "ConversationAs: team '{}' or user '{}' does not exist.",
                    c.team_id, c.user_id
                ));
            }
            if !rights.insert((c.team_id, c.user_id)) {
                return Err(format!(
                    "ConversationAs: user '{}' is listed twice for team '{}'.",
                    c.user_id, c.team_id
                ));
            }
        }
        Ok(())
    }
}
