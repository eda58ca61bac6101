//! Demo data, so that a fresh deployment serves something real: a small directory,
//! a few waiting tasks and one API key with every role.

use crate::api::{self, Env};
use crate::error::ApiError;
use crate::http::Request;
use crate::ids::{OrganizationUnitId, TeamId, UserId};
use crate::model::{
    ConversationAsRight, ConversationAsService, Directory, Membership, OrganizationUnit, Role,
    Team, TeamStatus, User,
};
use crate::repo::{keys, Repo};
use serde_json::json;
use uuid::Uuid;

const fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x7d3a_0000_0000_4000_8000_0000_0000_0000 | n)
}

pub const HEADQUARTERS: OrganizationUnitId = OrganizationUnitId(id(0x101));
pub const CUSTOMER_CARE: OrganizationUnitId = OrganizationUnitId(id(0x102));
pub const SUPPORT: TeamId = TeamId(id(0x201));
pub const SALES: TeamId = TeamId(id(0x202));
pub const ANNA: UserId = UserId(id(0x301));
pub const BEN: UserId = UserId(id(0x302));
pub const CARLA: UserId = UserId(id(0x303));

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

/// Loads the demo directory, three waiting Support tasks (one already ringing at Anna's)
/// and a demo key with every role, if the store has no directory yet. Runs at most once
/// per store (an atomic gate), so concurrent first requests do not load it twice.
/// Returns the demo key's secret when it was created now (it is shown only once).
pub fn load_if_empty(env: &mut Env) -> Result<Option<String>, ApiError> {
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
            config: env.config,
        };
        api::admin_new_api_key(&mut ctx, "demo".into(), Role::ALL.to_vec(), None)?
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
    Ok(Some(created.secret))
}
