//! Typed ids. Every id is a GUID on the wire (lower case, hyphenated); the types keep
//! a team id from being passed where a task id belongs. Ids are made by the host
//! through [`IdSource`], so the core stays free of randomness.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Where new ids come from: the host passes one in (UUID v4 from real randomness in
/// production, a counter in tests).
pub trait IdSource {
    fn next_id(&mut self) -> Uuid;
}

impl<F: FnMut() -> Uuid> IdSource for F {
    fn next_id(&mut self) -> Uuid {
        self()
    }
}

/// Deterministic ids for tests and demos: `seed` in the high bits, a counter in the low bits.
#[derive(Debug, Clone)]
pub struct SequentialIds {
    seed: u64,
    next: u64,
}

impl SequentialIds {
    pub fn new(seed: u64) -> Self {
        SequentialIds { seed, next: 1 }
    }
}

impl IdSource for SequentialIds {
    fn next_id(&mut self) -> Uuid {
        let id = (u128::from(self.seed) << 64) | u128::from(self.next);
        self.next += 1;
        Uuid::from_u128(id)
    }
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn parse(text: &str) -> Option<Self> {
                Uuid::parse_str(text).ok().map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }
    };
}

typed_id!(
    /// An agent's session (see `model::session`).
    SessionId
);
typed_id!(
    /// An organization unit.
    OrganizationUnitId
);
typed_id!(
    /// A team.
    TeamId
);
typed_id!(
    /// A user (agent).
    UserId
);
typed_id!(
    /// A task (call or external task).
    TaskId
);
typed_id!(
    /// A consultation call of a task.
    ConsultationCallId
);
typed_id!(
    /// An API key (not its secret).
    ApiKeyId
);
typed_id!(
    /// One change of a record as the change feeds decide it: a task or agent record carries
    /// the id of the change that made its version (see `repo::feeds`).
    ChangeId
);
