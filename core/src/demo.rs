//! Demo data, so that a fresh deployment serves something real: a small directory, a few
//! waiting tasks and one demo API key that expires (read-only unless `demo_data` asks for
//! full access). The demo page itself needs no key: it gets agent sessions from the
//! component (`api::demo`).

use crate::api::{self, Env};
use crate::error::ApiError;
use crate::http::Request;
use crate::ids::UserId;
use crate::model::{
    ConversationAsRight, ConversationAsService, Directory, Membership, OrganizationUnit, Role,
    Team, TeamStatus, User,
};
use crate::repo::{keys, Repo};
use serde_json::json;

pub mod ids;
pub use ids::*;

fn user(id: UserId, first: &str, last: &str) -> User {
    let login = first.to_lowercase();
    User {
        id,
        display_name: format!("{first} {last}"),
        first_name: first.into(),
        last_name: last.into(),
        upn: format!("{login}@contoso.com"),
        sip_uri: format!("sip:{login}@contoso.com"),
        email: format!("{login}@contoso.com"),
    }
}

pub fn directory() -> Directory {
    let team = |id, name: &str, sip: &str, unit| Team {
        id,
        name: name.into(),
        description: format!("{name} hotline"),
        sip_uri: sip.into(),
        organization_unit_id: unit,
        status: TeamStatus::Active,
        distribution: Default::default(),
    };
    let member = |team_id, user_id| Membership {
        team_id,
        user_id,
        is_active: true,
    };
    Directory {
        organization_units: vec![
            OrganizationUnit {
                id: HEADQUARTERS,
                name: "Contoso".into(),
                parent_id: None,
            },
            OrganizationUnit {
                id: CUSTOMER_CARE,
                name: "Customer Care".into(),
                parent_id: Some(HEADQUARTERS),
            },
        ],
        teams: vec![
            team(SUPPORT, "Support", "sip:support@contoso.com", CUSTOMER_CARE),
            team(SALES, "Sales", "sip:sales@contoso.com", HEADQUARTERS),
        ],
        users: vec![
            user(ANNA, "Anna", "Keller"),
            user(BEN, "Ben", "Meier"),
            user(CARLA, "Carla", "Rossi"),
        ],
        memberships: vec![
            member(SUPPORT, ANNA),
            member(SUPPORT, BEN),
            member(SALES, BEN),
            member(SALES, CARLA),
        ],
        conversation_as: vec![
            ConversationAsRight {
                user_id: ANNA,
                team_id: SUPPORT,
                conversation_as_service: ConversationAsService::AllConversations,
            },
            ConversationAsRight {
                user_id: BEN,
                team_id: SALES,
                conversation_as_service: ConversationAsService::ExternalConversations,
            },
        ],
    }
}

/// What the operator's `demo_data` setting asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemoData {
    /// No demo data (`false`, the empty string or anything unknown).
    Off,
    /// Demo data with a read-only demo key (`true`).
    On,
    /// Demo data with a demo key of every role (`full`).
    FullAccessKey,
}

impl DemoData {
    pub fn parse(flag: Option<&str>) -> DemoData {
        match flag.map(|f| f.trim().to_ascii_lowercase()).as_deref() {
            Some("true" | "1" | "yes" | "on") => DemoData::On,
            Some("full") => DemoData::FullAccessKey,
            _ => DemoData::Off,
        }
    }

    pub fn is_on(self) -> bool {
        self != DemoData::Off
    }
}

/// The demo key expires a week after the demo data was loaded.
pub const DEMO_KEY_LIFETIME_MILLIS: i64 = 7 * 24 * 3600 * 1000;
/// The roles of the demo key unless `demo_data` is `full`: enough to try every read.
pub const DEMO_KEY_READ_ROLES: [Role; 3] = [
    Role::TasksReadonly,
    Role::TeamsReadonly,
    Role::UsersReadonly,
];

/// [`load_with`] with a demo key of every role (tests and the native dev server).
pub fn load_if_empty(env: &mut Env) -> Result<Option<String>, ApiError> {
    load_with(env, DemoData::FullAccessKey)
}

/// Loads the demo directory, three waiting Support tasks (one already ringing at Anna's)
/// and a demo key (of every role for `FullAccessKey`, else read-only; expiring after a week),
/// if the store has no directory yet. Runs at most once per store (an atomic gate), so
/// concurrent first requests do not load it twice. Returns the demo key's secret when it was
/// created now (it is shown only once).
pub fn load_with(env: &mut Env, demo: DemoData) -> Result<Option<String>, ApiError> {
    let repo = Repo::new(env.store);
    if repo.directory_meta()?.is_some() || !repo.first_time(keys::DEMO_GATE)? {
        return Ok(None);
    }
    let holder = env.ids.next_id();
    repo.change_directory(env.now, holder, |stored| {
        *stored = directory();
        Ok(())
    })?;
    let created = {
        let mut ctx = api::Ctx {
            repo: Repo::new(env.store),
            now: env.now,
            ids: &mut *env.ids,
            request: &Request::default(),
            params: &[],
            caller: "admin",
            agent: None,
            reads_availability: true,
            config: env.config,
        };
        let expires = env.now.plus_millis(DEMO_KEY_LIFETIME_MILLIS);
        api::admin_new_api_key(&mut ctx, "demo".into(), Role::ALL.to_vec(), Some(expires))?
    };
    let customers = [
        ("IncomingCall", "tel:+41445550101", "Mia Weber", "High"),
        ("IncomingCall", "tel:+41445550102", "Noah Frei", "Normal"),
        ("ExternalTask", "mailto:lea@example.com", "Lea Graf", "Low"),
    ];
    let mut first_task = None;
    for (kind, uri, name, priority) in customers {
        let request = Request::new("POST", &format!("/v1.0/teams/{SUPPORT}/tasks"))
            .header("api_key", &created.secret)
            .json(&json!({"Type": kind, "Customer": {"Uri": uri, "DisplayName": name}, "Priority": priority,
                "Description": format!("Demo task for {name}")}));
        let response = api::handle(&request, env);
        if response.status != 201 {
            return Err(ApiError::Internal(format!(
                "demo task was refused ({})",
                response.status
            )));
        }
        first_task = first_task.or(response.json_body()["Id"].as_str().map(str::to_string));
    }
    if let Some(task) = first_task {
        let offer = Request::new("POST", &format!("/v1.0/tasks/{task}/offer"))
            .header("api_key", &created.secret)
            .json(&json!({"UserIdentifier": "anna@contoso.com"}));
        api::handle(&offer, env);
    }
    // The demo tasks were made with every role; the key keeps only reading unless asked.
    if demo != DemoData::FullAccessKey {
        repo.update_api_key(created.id, |record| {
            record.roles = DEMO_KEY_READ_ROLES.to_vec();
            Ok(true)
        })?;
    }
    Ok(Some(created.secret))
}
