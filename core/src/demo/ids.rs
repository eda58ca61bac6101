//! The demo directory's ids (apart, so that the demo page's backend can know its agents
//! without depending on the loader).

use crate::ids::{OrganizationUnitId, TeamId, UserId};
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
/// The demo agents (the demo page may get sessions for them, and only for them).
pub const AGENTS: [UserId; 3] = [ANNA, BEN, CARLA];
