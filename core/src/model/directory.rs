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
    /// How the team's queue is served (Manual unless the admin says otherwise).
    #[serde(default)]
    pub distribution: super::Distribution,
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

    /// Checks ids, references and uniqueness in time linear in the directory's size. The
    /// message names every offending entry (the first [`MAX_REPORTED_PROBLEMS`]).
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Problems::default();
        let mut units = HashMap::new();
        for unit in &self.organization_units {
            if units.insert(unit.id, unit).is_some() {
                problems.add(format!("OrganizationUnits: duplicate Id '{}'.", unit.id));
            }
            if unit.name.trim().is_empty() {
                problems.add(format!(
                    "OrganizationUnits: unit '{}' needs a Name.",
                    unit.id
                ));
            }
        }
        for unit in &self.organization_units {
            if let Some(parent) = unit.parent_id {
                if !units.contains_key(&parent) {
                    problems.add(format!(
                        "OrganizationUnits: ParentId '{parent}' of unit '{}' does not exist.",
                        unit.id
                    ));
                }
            }
        }
        // Units whose chain of parents ends at a root; the rest sit on a cycle or above one.
        let mut rooted: HashSet<OrganizationUnitId> = HashSet::new();
        for unit in &self.organization_units {
            let mut chain = Vec::new();
            let mut current = Some(unit.id);
            let mut ok = false;
            while let Some(id) = current {
                if rooted.contains(&id) || chain.len() > units.len() {
                    ok = rooted.contains(&id);
                    break;
                }
                chain.push(id);
                match units.get(&id) {
                    Some(u) => current = u.parent_id,
                    None => break,
                }
                if current.is_none() {
                    ok = true;
                }
            }
            if ok {
                rooted.extend(chain);
            } else if units.contains_key(&unit.id) && chain.len() > units.len() {
                problems.add(format!(
                    "OrganizationUnits: unit '{}' is its own ancestor (cycle).",
                    unit.id
                ));
            }
        }
        let mut team_ids = HashSet::new();
        let mut team_names = HashMap::new();
        for team in &self.teams {
            if !team_ids.insert(team.id) {
                problems.add(format!("Teams: duplicate Id '{}'.", team.id));
            }
            if !units.contains_key(&team.organization_unit_id) {
                problems.add(format!(
                    "Teams: OrganizationUnitId '{}' of team '{}' does not exist.",
                    team.organization_unit_id, team.id
                ));
            }
            if team.name.trim().is_empty() || team.sip_uri.trim().is_empty() {
                problems.add(format!(
                    "Teams: team '{}' needs a Name and a SipUri.",
                    team.id
                ));
            }
            for problem in team.distribution.problems() {
                problems.add(format!("Teams: team '{}': {problem}", team.id));
            }
            if let Some(other) = team_names.insert(lookup_name(&team.sip_uri), team.id) {
                problems.add(format!(
                    "Teams: duplicate SipUri '{}' (teams '{other}' and '{}').",
                    team.sip_uri, team.id
                ));
            }
        }
        let mut user_ids = HashSet::new();
        // SIP URIs and UPNs share one namespace: an identifier resolves to one user only.
        let mut user_names: HashMap<String, UserId> = HashMap::new();
        for user in &self.users {
            if !user_ids.insert(user.id) {
                problems.add(format!("Users: duplicate Id '{}'.", user.id));
            }
            if user.upn.trim().is_empty() || user.sip_uri.trim().is_empty() {
                problems.add(format!(
                    "Users: user '{}' needs a Upn and a SipUri.",
                    user.id
                ));
            }
            let mut names = vec![lookup_name(&user.sip_uri), lookup_name(&user.upn)];
            names.dedup();
            for name in names {
                if let Some(other) = user_names.insert(name, user.id) {
                    if other != user.id {
                        problems.add(format!(
                            "Users: users '{other}' and '{}' share a SipUri or Upn.",
                            user.id
                        ));
                    }
                }
            }
        }
        let mut pairs = HashSet::new();
        for m in &self.memberships {
            if !team_ids.contains(&m.team_id) || !user_ids.contains(&m.user_id) {
                problems.add(format!(
                    "Memberships: team '{}' or user '{}' does not exist.",
                    m.team_id, m.user_id
                ));
            }
            if !pairs.insert((m.team_id, m.user_id)) {
                problems.add(format!(
                    "Memberships: user '{}' is listed twice in team '{}'.",
                    m.user_id, m.team_id
                ));
            }
        }
        let mut rights = HashSet::new();
        for c in &self.conversation_as {
            if !team_ids.contains(&c.team_id) || !user_ids.contains(&c.user_id) {
                problems.add(format!(
                    "ConversationAs: team '{}' or user '{}' does not exist.",
                    c.team_id, c.user_id
                ));
            }
            if !rights.insert((c.team_id, c.user_id)) {
                problems.add(format!(
                    "ConversationAs: user '{}' is listed twice for team '{}'.",
                    c.user_id, c.team_id
                ));
            }
        }
        problems.into_result()
    }
}

/// How many problems a refused directory names at most.
pub const MAX_REPORTED_PROBLEMS: usize = 20;

#[derive(Default)]
struct Problems {
    listed: Vec<String>,
    total: usize,
}

impl Problems {
    fn add(&mut self, problem: String) {
        self.total += 1;
        if self.listed.len() < MAX_REPORTED_PROBLEMS {
            self.listed.push(problem);
        }
    }

    fn into_result(self) -> Result<(), String> {
        if self.total == 0 {
            return Ok(());
        }
        let mut message = self.listed.join(" ");
        if self.total > self.listed.len() {
            message.push_str(&format!(
                " ({} more problems)",
                self.total - self.listed.len()
            ));
        }
        Err(message)
    }
}

/// The form under which a SIP URI or UPN is looked up: trimmed, without `sip:`, lower case.
pub fn lookup_name(identifier: &str) -> String {
    without_sip_scheme(identifier.trim()).to_lowercase()
}
