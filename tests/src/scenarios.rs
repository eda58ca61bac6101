//! Scenarios that run against any backend (in-process core or live Spin). Each takes an
//! [`Api`] whose store holds the test directory and nothing else.

mod access;
mod directory;
mod requests;
mod task_flows;

pub use access::*;
pub use directory::*;
pub use requests::*;
pub use task_flows::*;

pub(crate) use crate::*;
pub(crate) use serde_json::{json, Value};
pub(crate) use tm_core::Response;

/// A scenario: a name and a function that panics on failure.
pub type Scenario = (&'static str, fn(&Api));

/// Calls `$then!` with every shared scenario as `name: function`, the one list of them: the
/// in-process suite makes one test of each, the live suite runs them in turn, [`ALL`] lists them.
#[macro_export]
macro_rules! for_each_scenario {
    ($then:ident) => {
        $then! {
            task_lifecycle_with_consultation_merge_and_leave:
                $crate::scenarios::task_lifecycle_with_consultation_merge_and_leave,
            consultation_transfer_and_terminate_flows:
                $crate::scenarios::consultation_transfer_and_terminate_flows,
            terminate_customer_call_keeps_consultation_until_terminated:
                $crate::scenarios::terminate_customer_call_keeps_consultation_until_terminated,
            every_state_times_every_action: $crate::scenarios::every_state_times_every_action,
            outbound_call_flow: $crate::scenarios::outbound_call_flow,
            user_identifiers_resolve_by_id_sip_upn_any_case:
                $crate::scenarios::user_identifiers_resolve_by_id_sip_upn_any_case,
            teams_and_organization_units: $crate::scenarios::teams_and_organization_units,
            blocking_a_user_in_a_team: $crate::scenarios::blocking_a_user_in_a_team,
            role_matrix: $crate::scenarios::role_matrix,
            api_key_lifecycle: $crate::scenarios::api_key_lifecycle,
            if_match_and_etag: $crate::scenarios::if_match_and_etag,
            bad_inputs_give_documented_json_errors:
                $crate::scenarios::bad_inputs_give_documented_json_errors,
            admin_directory_validation: $crate::scenarios::admin_directory_validation,
            admin_directory_one_entity_at_a_time:
                $crate::scenarios::admin_directory_one_entity_at_a_time,
            idempotent_retries: $crate::scenarios::idempotent_retries,
            openapi_and_health_are_public: $crate::scenarios::openapi_and_health_are_public,
            agent_sessions_route_by_caller: $crate::sessions::route_by_caller_table,
            agent_sessions_end_when_asked_and_with_their_agent:
                $crate::sessions::sessions_end_when_asked_and_with_their_agent,
        }
    };
}

macro_rules! scenario_list {
    ($($name:ident: $scenario:path),* $(,)?) => {
        /// Every shared scenario with its name.
        pub const ALL: &[Scenario] = &[$((stringify!($name), $scenario)),*];
    };
}
for_each_scenario!(scenario_list);

/// Task helpers bound to one key with every role.
pub struct Tasks<'a> {
    pub api: &'a Api,
    pub key: String,
}

impl<'a> Tasks<'a> {
    pub fn new(api: &'a Api) -> Self {
        Tasks {
            api,
            key: api.key(&[]),
        }
    }

    pub fn create(&self, team: &str, kind: &str, priority: &str) -> String {
        let body = json!({"Type": kind, "Customer": {"Uri": "tel:+41445550100", "DisplayName": "Mia Weber"}, "Priority": priority});
        let created = assert_status(
            &self.api.call(
                &self.key,
                "POST",
                &format!("/v1.0/teams/{team}/tasks"),
                Some(body),
            ),
            201,
        );
        created["Id"].as_str().unwrap_or_default().to_string()
    }

    pub fn act(&self, task: &str, action: &str, body: Option<Value>) -> Response {
        self.api.call(
            &self.key,
            "POST",
            &format!("/v1.0/tasks/{task}/{action}"),
            body,
        )
    }

    /// Performs an action that must succeed; returns the response body.
    pub fn ok(&self, task: &str, action: &str, body: Option<Value>) -> Value {
        let response = self.act(task, action, body);
        assert!(
            response.status == 200 || response.status == 201,
            "{action} on {task}: {} {}",
            response.status,
            response.json_body()
        );
        response.json_body()
    }

    pub fn get(&self, task: &str) -> Value {
        assert_status(
            &self
                .api
                .call(&self.key, "GET", &format!("/v1.0/tasks/{task}"), None),
            200,
        )
    }

    pub fn status(&self, task: &str) -> String {
        self.get(task)["Status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// `GET path` with this key; must answer 200; returns the body.
    pub fn read(&self, path: &str) -> Value {
        assert_status(&self.api.call(&self.key, "GET", path, None), 200)
    }

    /// Every event of the feed at `feed` (`…/events`) after `cursor`, page by page until an
    /// empty page (which must keep the cursor), and the cursor at the end.
    pub fn follow_feed(&self, feed: &str, cursor: &str) -> (Vec<Value>, String) {
        let mut events = Vec::new();
        let mut cursor = cursor.to_string();
        loop {
            let page = self.read(&format!("{feed}?after={cursor}"));
            let batch = page["Events"].as_array().cloned().unwrap_or_default();
            let next = page["Cursor"].as_str().unwrap_or_default().to_string();
            if batch.is_empty() {
                assert_eq!(next, cursor, "an empty page keeps the cursor");
                return (events, cursor);
            }
            events.extend(batch);
            cursor = next;
        }
    }

    pub fn list(&self, path: &str) -> Vec<Value> {
        self.read(path).as_array().cloned().unwrap_or_default()
    }

    /// A new task of type `kind` in Support, driven into `state` (with its consultation call in
    /// `consultation`, for incoming calls).
    pub fn in_state_of(&self, kind: &str, state: &str, consultation: Option<&str>) -> String {
        let steps: &[&str] = match (kind, state) {
            ("IncomingCall", _) => {
                let consultation = match (state, consultation) {
                    ("Consulting", c) => c,
                    ("Terminated", Some(_)) => Some("Connected"),
                    _ => None,
                };
                return self.in_state(state, consultation);
            }
            ("ExternalTask", _) => {
                let task = self.create(TEAM_SUPPORT, "ExternalTask", "Normal");
                let steps: &[&str] = match state {
                    "Queued" => &[],
                    "Ringing" => &["offer"],
                    "Connected" => &["offer", "accept"],
                    "OnHold" => &["offer", "accept", "hold"],
                    "Terminated" => &["terminate"],
                    _ => panic!("no recipe for an external task in {state}"),
                };
                for action in steps {
                    let body = (*action == "offer").then(|| json!({"UserIdentifier": ANNA}));
                    self.ok(&task, action, body);
                }
                assert_eq!(self.status(&task), state);
                return task;
            }
            (_, "Dialing") => &[],
            (_, "Connected") => &["answered"],
            (_, "OnHold") => &["answered", "hold"],
            (_, "Terminated") => &["terminate"],
            _ => panic!("no recipe for an outbound call in {state}"),
        };
        let task = self.in_state("Dialing", None);
        for action in steps {
            self.ok(&task, action, None);
        }
        assert_eq!(self.status(&task), state);
        task
    }

    /// A new incoming call in Support, driven into `state` (consultation `Ringing`/`Connected`
    /// for Consulting, `None` otherwise).
    pub fn in_state(&self, state: &str, consultation: Option<&str>) -> String {
        if state == "Dialing" {
            let body = json!({"UserIdentifier": ANNA, "Target": "tel:+41445550199"});
            let started = assert_status(
                &self.api.call(
                    &self.key,
                    "POST",
                    "/v1.0/tasks/outboundCall/start",
                    Some(body),
                ),
                201,
            );
            return started["Id"].as_str().unwrap_or_default().to_string();
        }
        let task = self.create(TEAM_SUPPORT, "IncomingCall", "Normal");
        let consult = json!({"Target": "sip:carla@contoso.com"});
        let steps: &[(&str, Option<Value>)] = match (state, consultation) {
            ("Queued", _) => &[],
            ("Ringing", _) => &[("offer", None)],
            ("Connected", _) => &[("offer", None), ("accept", None)],
            ("OnHold", _) => &[("offer", None), ("accept", None), ("hold", None)],
            ("Consulting", Some("Ringing")) => &[
                ("offer", None),
                ("accept", None),
                ("consultationCall", None),
            ],
            ("Consulting", _) => &[
                ("offer", None),
                ("accept", None),
                ("consultationCall", None),
                ("consultationCall/answered", None),
            ],
            ("Conference", _) => &[
                ("offer", None),
                ("accept", None),
                ("consultationCall", None),
                ("consultationCall/answered", None),
                ("consultationCall/merge", None),
            ],
            ("Transferred", _) => &[("offer", None), ("accept", None), ("transfer", None)],
            ("Terminated", Some(_)) => &[
                ("offer", None),
                ("accept", None),
                ("consultationCall", None),
                ("consultationCall/answered", None),
                ("consultationCall/terminateCustomerCall", None),
            ],
            ("Terminated", None) => &[("terminate", None)],
            _ => panic!("no recipe for {state}"),
        };
        for (action, _) in steps {
            let body = match *action {
                "offer" => Some(json!({"UserIdentifier": "sip:anna@contoso.com"})),
                "consultationCall" => Some(consult.clone()),
                "transfer" => Some(json!({"Target": "tel:+41445550177"})),
                _ => None,
            };
            self.ok(&task, action, body);
        }
        assert_eq!(self.status(&task), state);
        task
    }
}

fn body_for(action: &str) -> Option<Value> {
    match action {
        "offer" => Some(json!({"UserIdentifier": ANNA})),
        "transfer" | "consultationCall" => Some(json!({"Target": "sip:carla@contoso.com"})),
        "consultationCall/audioRoutes" => Some(
            json!({"CustomerHearsAgent": true, "CustomerHearsConsultant": false,
            "AgentHearsCustomer": true, "AgentHearsConsultant": true, "ConsultantHearsCustomer": false, "ConsultantHearsAgent": true}),
        ),
        _ => None,
    }
}
