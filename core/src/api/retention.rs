//! `POST /admin/v1.0/retention/sweep`: one slice of the retention sweep (see
//! [`crate::retention`]), for an operator's scheduler.

use super::Ctx;
use crate::error::ApiError;
use crate::http::Response;
use serde::Serialize;

/// The most a scheduled slice deletes (a fixed number of store operations).
const ADMIN_SLICE: u64 = 100;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Swept {
    #[serde(flatten)]
    report: crate::repo::SweepReport,
    retention_days: u32,
}

pub fn sweep(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let report = match ctx.config.retention_millis() {
        Some(millis) => ctx.repo.sweep_slice(ctx.now, millis, ADMIN_SLICE)?,
        None => Default::default(),
    };
    Ok(Response::json(
        200,
        &Swept {
            report,
            retention_days: ctx.config.retention_days,
        },
    ))
}
