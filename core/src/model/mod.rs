//! The data model, in the wire format of the contract (PascalCase properties).

pub mod action;
pub mod agent;
pub mod apikey;
pub mod directory;
pub mod distribution;
pub mod session;
pub mod task;

pub use action::TaskAction;
pub use agent::{AgentRecord, AgentState, Availability, ChosenState, Release, Reservation};
pub use apikey::{ApiKeyRecord, Role};
pub use directory::{
    ConversationAsRight, ConversationAsService, Directory, Membership, OrganizationUnit, Team,
    TeamStatus, User,
};
pub use distribution::{Distribution, DistributionMode};
pub use task::{
    AudioRoutes, ConsultationCall, ConsultationStatus, Party, Priority, Target, Task, TaskStatus,
    TaskType,
};
