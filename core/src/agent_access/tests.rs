//! The rules of issue 21 written out: what a session of Anna's may do, rule by rule, with the
//! facts of the request (her own user or another's, her task, a task she consults on, one she
//! does not take part in, none; her team or another).

use super::*;
use crate::ids::{ConsultationCallId, TaskId, TeamId};
use crate::model::task::{Party, Priority, TaskStatus, TaskType};
use crate::model::{AudioRoutes, ConsultationCall, ConsultationStatus, Target};
use crate::time::Timestamp;
use uuid::Uuid;

const ANNA: UserId = UserId(Uuid::from_u128(0xa));
const BEN: UserId = UserId(Uuid::from_u128(0xb));
const CARLA: UserId = UserId(Uuid::from_u128(0xc));

fn task(assigned: Option<UserId>, consulting: Option<(UserId, UserId)>) -> Task {
    let t0 = Timestamp::from_unix_millis(1_767_600_000_000);
    Task {
        id: TaskId(Uuid::from_u128(1)),
        team_id: TeamId(Uuid::from_u128(7)),
        task_type: TaskType::IncomingCall,
        status: TaskStatus::Connected,
        priority: Priority::Normal,
        customer: Party {
            uri: "tel:+41445550101".into(),
            display_name: "Mia Weber".into(),
        },
        assigned_user_id: assigned,
        external_task_id: None,
        description: None,
        created_at: t0,
        queued_at: Some(t0),
        updated_at: t0,
        ended_at: None,
        version: 3,
        consultation_call: consulting.map(|(initiator, target)| ConsultationCall {
            id: ConsultationCallId(Uuid::from_u128(0xd)),
            task_id: TaskId(Uuid::from_u128(1)),
            initiator_user_id: Some(initiator),
            target: Target {
                uri: "sip:someone@contoso.com".into(),
                display_name: String::new(),
                user_id: Some(target),
            },
            status: ConsultationStatus::Connected,
            audio_routes: AudioRoutes::CONSULTING,
            started_at: t0,
            ended_at: None,
        }),
        transferred_to: None,
        ringing_until: None,
        allowed_actions: Default::default(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Allowed,
    Refused(&'static str),
}
use Want::{Allowed, Refused};

#[test]
fn each_rule_against_the_facts_of_the_request() {
    let hers = task(Some(ANNA), None);
    let bens = task(Some(BEN), None);
    let she_consults = task(Some(BEN), Some((BEN, ANNA)));
    let she_is_consulted_by_nobody = task(Some(BEN), Some((BEN, CARLA)));
    let queued = task(None, None);
    let own = Facts {
        path_names_agent: true,
        ..Facts::default()
    };
    let other = Facts::default();
    fn with(task: &Task) -> Facts<'_> {
        Facts {
            task: Some(task),
            ..Facts::default()
        }
    }
    let (hers, bens, she_consults, nobody, queued) = (
        &hers,
        &bens,
        &she_consults,
        &she_is_consulted_by_nobody,
        &queued,
    );
    let member = Facts {
        member_of_team: true,
        ..Facts::default()
    };
    let no_task = "An agent session may use only tasks assigned to its agent.";
    let not_theirs = "An agent session may read only tasks assigned to its agent or whose consultation call it takes part in.";
    let rows: Vec<(AgentRule, Option<Role>, Facts, Want)> = vec![
        (AgentRule::Refused, Some(Role::TasksReadonly), own, Refused("An agent session cannot call this endpoint: it needs an API key with the role 'TasksReadonly'.")),
        (AgentRule::Refused, None, own, Refused("An agent session cannot call this endpoint: it needs the admin token.")),
        (AgentRule::OwnUser, Some(Role::UsersReadonly), own, Allowed),
        (AgentRule::OwnUser, Some(Role::UsersReadonly), other, Refused("An agent session may act only as its own agent.")),
        (AgentRule::TaskAssignedToThem, Some(Role::TasksManage), with(hers), Allowed),
        (AgentRule::TaskAssignedToThem, Some(Role::TasksManage), with(bens), Refused(no_task)),
        (AgentRule::TaskAssignedToThem, Some(Role::TasksManage), with(she_consults), Refused(no_task)),
        (AgentRule::TaskAssignedToThem, Some(Role::TasksManage), with(queued), Refused(no_task)),
        (AgentRule::TaskAssignedToThem, Some(Role::TasksManage), other, Refused(no_task)),
        (AgentRule::TaskTheyTakePartIn, Some(Role::TasksReadonly), with(hers), Allowed),
        (AgentRule::TaskTheyTakePartIn, Some(Role::TasksReadonly), with(she_consults), Allowed),
        (AgentRule::TaskTheyTakePartIn, Some(Role::TasksReadonly), with(bens), Refused(not_theirs)),
        (AgentRule::TaskTheyTakePartIn, Some(Role::TasksReadonly), with(nobody), Refused(not_theirs)),
        (AgentRule::TaskTheyTakePartIn, Some(Role::TasksReadonly), with(queued), Refused(not_theirs)),
        (AgentRule::TaskTheyTakePartIn, Some(Role::TasksReadonly), other, Refused(not_theirs)),
        (AgentRule::TheirTeam, Some(Role::TeamsReadonly), member, Allowed),
        (AgentRule::TheirTeam, Some(Role::TeamsReadonly), other, Refused("An agent session may read only teams its agent is a member of.")),
        (AgentRule::AsThemselves, Some(Role::TasksManage), other, Allowed),
    ];
    for (rule, role, facts, want) in rows {
        let got = decide(rule, role, ANNA, &facts).map_err(|refused| refused.to_string());
        let want = match want {
            Allowed => Ok(()),
            Refused(message) => Err(message.to_string()),
        };
        assert_eq!(got, want, "{rule:?} with {facts:?}");
    }
}

#[test]
fn a_session_acts_only_as_itself_and_a_key_as_anyone() {
    assert_eq!(may_act_as(Some(ANNA), ANNA), Ok(()));
    assert_eq!(may_act_as(Some(ANNA), BEN), Err(AgentRefused::OtherUser));
    assert_eq!(may_act_as(None, BEN), Ok(()));
}
