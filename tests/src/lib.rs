//! The end-to-end harness: one [`Api`] client that sends requests either through the
//! core's handler with an in-memory store (always), or over HTTP to a live `spin up`
//! (when a `spin` binary is on PATH). Scenarios are written once against [`Api`].

pub mod audit;
pub mod concurrency;
pub mod contract;
pub mod dev_server;
pub mod distribution;
pub mod erasure;
pub mod failing_store;
pub mod live;
pub mod redis_server;
pub mod scenarios;
pub mod sessions;
pub mod statistics;

use serde_json::{json, Value};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tm_core::{Config, Env, IdSource, MemoryStore, Request, Response, Store, Timestamp};
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789abcdef";
/// 2026-01-05T08:00:00.000Z, where the virtual clock starts.
pub const START_MILLIS: i64 = 1_767_600_000_000;

/// Ids from a shared atomic counter, so parallel requests never share one.
struct CounterIds<'a>(&'a AtomicU64);

impl IdSource for CounterIds<'_> {
    fn next_id(&mut self) -> Uuid {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        // Version-4 shaped so ids look like what production hosts make.
        Uuid::from_u128((0xe2e0_0000_0000_4000_8000_u128 << 48) | u128::from(n))
    }
}

/// A store that parallel test threads can share.
pub type SharedStore = Arc<dyn Store + Send + Sync>;

pub enum Backend {
    InProcess {
        store: SharedStore,
        /// The same store when it is the in-memory one (operation counts, outages, yields).
        memory: Option<Arc<MemoryStore>>,
        now: AtomicI64,
        ids: AtomicU64,
        config: Config,
    },
    Live {
        /// Requests go to these in turn (several instances on one store).
        base_urls: Vec<String>,
        next: AtomicUsize,
        /// The store behind the instances, when the test can read it directly.
        inspect: Option<SharedStore>,
    },
}

pub struct Api {
    pub backend: Backend,
}

impl Api {
    /// The core's handler over a fresh in-memory store, with a virtual clock.
    pub fn in_process() -> Api {
        let memory = Arc::new(MemoryStore::new());
        Api::in_process_with(memory.clone(), Some(memory))
    }

    /// The core's handler over `store` (e.g. Redis), with a virtual clock.
    pub fn in_process_on(store: SharedStore) -> Api {
        Api::in_process_with(store, None)
    }

    fn in_process_with(store: SharedStore, memory: Option<Arc<MemoryStore>>) -> Api {
        Api {
            backend: Backend::InProcess {
                store,
                memory,
                now: AtomicI64::new(START_MILLIS),
                ids: AtomicU64::new(1),
                config: Config {
                    admin_token: Some(ADMIN_TOKEN.into()),
                    cors_allowed_origins: vec!["https://crm.example.com".into()],
                    ..Default::default()
                },
            },
        }
    }

    pub fn live(base_url: &str) -> Api {
        Api::live_spread(&[base_url], None)
    }

    /// Requests spread over several instances in turn; `inspect` reads their shared store.
    pub fn live_spread(base_urls: &[&str], inspect: Option<SharedStore>) -> Api {
        Api {
            backend: Backend::Live {
                base_urls: base_urls
                    .iter()
                    .map(|u| u.trim_end_matches('/').to_string())
                    .collect(),
                next: AtomicUsize::new(0),
                inspect,
            },
        }
    }

    /// Caps on waiting feed reads (per key, for the service) for the in-process backend.
    pub fn with_wait_caps(mut self, per_key: u64, service: u64) -> Api {
        if let Backend::InProcess { config, .. } = &mut self.backend {
            config.max_waiting_reads_per_key = per_key;
            config.max_waiting_reads = service;
        }
        self
    }

    /// Ends a wait an answer granted, as a waiting host does when its wait is over.
    pub fn end_wait(&self, response: &Response) {
        if let (Backend::InProcess { store, .. }, Some(wait)) = (&self.backend, &response.wait) {
            tm_core::api::feeds::end_wait(store.as_ref(), wait);
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self.backend, Backend::Live { .. })
    }

    /// The in-memory store (in-process backend on memory only).
    pub fn store(&self) -> Option<&MemoryStore> {
        match &self.backend {
            Backend::InProcess { memory, .. } => memory.as_deref(),
            Backend::Live { .. } => None,
        }
    }

    /// The store behind the in-process backend, whichever it is.
    pub fn raw_store(&self) -> Option<&(dyn Store + Send + Sync)> {
        match &self.backend {
            Backend::InProcess { store, .. } => Some(store.as_ref()),
            Backend::Live { inspect, .. } => inspect.as_deref(),
        }
    }

    /// Makes parallel requests interleave inside store operations where the store allows it
    /// (the memory store yields the thread; a network store interleaves by itself).
    pub fn interleave_store_operations(&self) {
        if let Some(memory) = self.store() {
            memory.set_yield_inside(true);
        }
    }

    pub fn now(&self) -> Timestamp {
        match &self.backend {
            Backend::InProcess { now, .. } => {
                Timestamp::from_unix_millis(now.load(Ordering::SeqCst))
            }
            Backend::Live { .. } => Timestamp::default(),
        }
    }

    /// Lets `millis` pass in full: the virtual clock in-process, real time against a live
    /// instance (unlike [`Api::advance`], which waits at most 20 ms there).
    pub fn let_time_pass(&self, millis: i64) {
        match &self.backend {
            Backend::InProcess { now, .. } => {
                now.fetch_add(millis, Ordering::SeqCst);
            }
            Backend::Live { .. } => {
                std::thread::sleep(std::time::Duration::from_millis(millis.max(0) as u64))
            }
        }
    }

    /// Moves the virtual clock (the live backend waits instead, at most the given time).
    pub fn advance(&self, millis: i64) {
        match &self.backend {
            Backend::InProcess { now, .. } => {
                now.fetch_add(millis, Ordering::SeqCst);
            }
            Backend::Live { .. } => {
                std::thread::sleep(std::time::Duration::from_millis(millis.clamp(0, 20) as u64))
            }
        }
    }

    pub fn send(&self, request: Request) -> Response {
        match &self.backend {
            Backend::InProcess {
                store,
                now,
                ids,
                config,
                ..
            } => {
                let mut ids = CounterIds(ids);
                let mut env = Env {
                    store: store.as_ref() as &dyn Store,
                    now: Timestamp::from_unix_millis(now.load(Ordering::SeqCst)),
                    ids: &mut ids,
                    config,
                };
                tm_core::handle(&request, &mut env)
            }
            Backend::Live {
                base_urls, next, ..
            } => {
                let turn = next.fetch_add(1, Ordering::SeqCst) % base_urls.len().max(1);
                live::send(&base_urls[turn], &request)
            }
        }
    }

    /// A `/v1.0` call with an API key and an optional JSON body.
    pub fn call(&self, key: &str, method: &str, path: &str, body: Option<Value>) -> Response {
        let mut request = Request::new(method, path).header("api_key", key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request)
    }

    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        let mut request =
            Request::new(method, path).header("Authorization", &format!("Bearer {ADMIN_TOKEN}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request)
    }

    /// Creates an API key with these roles (none given: every role) and returns its secret.
    pub fn key(&self, roles: &[&str]) -> String {
        const EVERY_ROLE: [&str; 5] = [
            "TasksReadonly",
            "TasksManage",
            "TeamsReadonly",
            "UsersReadonly",
            "UsersControl",
        ];
        let roles = if roles.is_empty() {
            &EVERY_ROLE[..]
        } else {
            roles
        };
        let response = self.admin(
            "POST",
            "/admin/v1.0/apikeys",
            Some(json!({"Name": "e2e", "Roles": roles})),
        );
        assert_eq!(
            response.status,
            201,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        response.json_body()["Secret"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Stores the standard test directory (see [`directory`]).
    pub fn with_directory(self) -> Api {
        let response = self.admin("PUT", "/admin/v1.0/directory", Some(directory()));
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        self
    }
}

// ---- the test directory ------------------------------------------------------------

pub const OU_ROOT: &str = "0e000000-0000-4000-8000-000000000001";
pub const OU_CARE: &str = "0e000000-0000-4000-8000-000000000002";
pub const OU_CARE_EMEA: &str = "0e000000-0000-4000-8000-000000000003";
pub const OU_OTHER: &str = "0e000000-0000-4000-8000-000000000004";
pub const TEAM_SUPPORT: &str = "7e000000-0000-4000-8000-000000000001";
pub const TEAM_EMEA: &str = "7e000000-0000-4000-8000-000000000002";
pub const TEAM_SALES: &str = "7e000000-0000-4000-8000-000000000003";
pub const ANNA: &str = "5e000000-0000-4000-8000-000000000001";
pub const BEN: &str = "5e000000-0000-4000-8000-000000000002";
pub const CARLA: &str = "5e000000-0000-4000-8000-000000000003";
pub const DAN: &str = "5e000000-0000-4000-8000-000000000004";

fn user(id: &str, first: &str, last: &str) -> Value {
    let login = first.to_lowercase();
    json!({"Id": id, "DisplayName": format!("{first} {last}"), "FirstName": first, "LastName": last,
        "Upn": format!("{login}.upn@contoso.com"), "SipUri": format!("sip:{login}@contoso.com"),
        "Email": format!("{login}@contoso.com")})
}

/// OUs root > care > care-emea, plus other; teams Support (care), EMEA (care-emea), Sales
/// (other, inactive); Anna and Ben in Support, Ben and Carla in EMEA, Dan in Sales.
pub fn directory() -> Value {
    json!({
        "OrganizationUnits": [
            {"Id": OU_ROOT, "Name": "Contoso", "ParentId": null},
            {"Id": OU_CARE, "Name": "Care", "ParentId": OU_ROOT},
            {"Id": OU_CARE_EMEA, "Name": "Care EMEA", "ParentId": OU_CARE},
            {"Id": OU_OTHER, "Name": "Other", "ParentId": OU_ROOT}
        ],
        "Teams": [
            {"Id": TEAM_SUPPORT, "Name": "Support", "Description": "First level", "SipUri": "sip:support@contoso.com", "OrganizationUnitId": OU_CARE, "Status": "Active", "Distribution": {"Mode": "Manual", "RingTimeoutSeconds": 20, "WrapUpSeconds": 0, "NotRespondingResetSeconds": 600, "ServiceLevelThresholdSeconds": 20}},
            {"Id": TEAM_EMEA, "Name": "EMEA", "Description": "Second level", "SipUri": "sip:emea@contoso.com", "OrganizationUnitId": OU_CARE_EMEA, "Status": "Active", "Distribution": {"Mode": "Manual", "RingTimeoutSeconds": 20, "WrapUpSeconds": 0, "NotRespondingResetSeconds": 600, "ServiceLevelThresholdSeconds": 20}},
            {"Id": TEAM_SALES, "Name": "Sales", "Description": "", "SipUri": "sip:sales@contoso.com", "OrganizationUnitId": OU_OTHER, "Status": "Inactive", "Distribution": {"Mode": "Manual", "RingTimeoutSeconds": 20, "WrapUpSeconds": 0, "NotRespondingResetSeconds": 600, "ServiceLevelThresholdSeconds": 20}}
        ],
        "Users": [user(ANNA, "Anna", "Keller"), user(BEN, "Ben", "Meier"), user(CARLA, "Carla", "Rossi"), user(DAN, "Dan", "Brun")],
        "Memberships": [
            {"TeamId": TEAM_SUPPORT, "UserId": ANNA, "IsActive": true},
            {"TeamId": TEAM_SUPPORT, "UserId": BEN, "IsActive": true},
            {"TeamId": TEAM_EMEA, "UserId": BEN, "IsActive": true},
            {"TeamId": TEAM_EMEA, "UserId": CARLA, "IsActive": true},
            {"TeamId": TEAM_SALES, "UserId": DAN, "IsActive": true}
        ],
        "ConversationAs": [
            {"UserId": ANNA, "TeamId": TEAM_SUPPORT, "ConversationAsService": "AllConversations"},
            {"UserId": BEN, "TeamId": TEAM_EMEA, "ConversationAsService": "ExternalConversations"}
        ]
    })
}

/// The test directory plus `extra_users` users in `extra_users / 10` more teams (each user in
/// four of them, so memberships are four times the users), all in one more unit: an
/// organization of contact-center size.
pub fn large_directory(extra_users: usize) -> Value {
    let mut directory = directory();
    let unit = "0e000000-0000-4000-8000-0000000000aa";
    if let Some(units) = directory["OrganizationUnits"].as_array_mut() {
        units.push(json!({"Id": unit, "Name": "Call center", "ParentId": OU_ROOT}));
    }
    let team_count = (extra_users / 10).max(1);
    let team_id = |t: usize| format!("7e000000-0000-4000-8000-{:012x}", 0x1000 + t);
    let user_id = |u: usize| format!("5e000000-0000-4000-8000-{:012x}", 0x1000 + u);
    let mut teams = Vec::new();
    for t in 0..team_count {
        teams.push(json!({"Id": team_id(t), "Name": format!("Queue {t:04}"), "Description": "",
            "SipUri": format!("sip:queue{t}@contoso.com"), "OrganizationUnitId": unit, "Status": "Active"}));
    }
    let mut users = Vec::new();
    let mut memberships = Vec::new();
    let mut rights = Vec::new();
    for u in 0..extra_users {
        users.push(json!({"Id": user_id(u), "DisplayName": format!("Agent {u:05}"), "FirstName": "Agent",
            "LastName": format!("{u:05}"), "Upn": format!("agent{u}.upn@contoso.com"),
            "SipUri": format!("sip:agent{u}@contoso.com"), "Email": format!("agent{u}@contoso.com")}));
        for k in 0..4.min(team_count) {
            memberships.push(json!({"TeamId": team_id((u + k) % team_count), "UserId": user_id(u), "IsActive": true}));
        }
        rights.push(json!({"UserId": user_id(u), "TeamId": team_id(u % team_count), "ConversationAsService": "AllConversations"}));
    }
    let extend = |name: &str, directory: &mut Value, items: Vec<Value>| {
        if let Some(list) = directory[name].as_array_mut() {
            list.extend(items);
        }
    };
    extend("Teams", &mut directory, teams);
    extend("Users", &mut directory, users);
    extend("Memberships", &mut directory, memberships);
    extend("ConversationAs", &mut directory, rights);
    directory
}

/// Asserts the status and that the body is the documented JSON error with this code.
pub fn assert_error(response: &Response, status: u16, code: &str) -> String {
    let body = response.json_body();
    assert_eq!(response.status, status, "body: {body}");
    assert_eq!(body["Error"]["Code"], code, "body: {body}");
    let message = body["Error"]["Message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!message.is_empty(), "error without message: {body}");
    message
}

pub fn assert_status(response: &Response, status: u16) -> Value {
    let body = response.json_body();
    assert_eq!(response.status, status, "body: {body}");
    body
}
