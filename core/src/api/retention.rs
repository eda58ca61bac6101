//! `POST /admin/v1.0/retention/sweep`: one slice of the retention sweep (see
//! [`crate::retention`]) and one of the expiry of stored answers ([`crate::answer_expiry`]),
//! for an operator's scheduler.

use super::Ctx;
use crate::error::ApiError;
use crate::http::Response;
use serde::Serialize;

/// The most a scheduled slice deletes (a fixed number of store operations).
const ADMIN_SLICE: u64 = 100;
/// Feed places of deleted teams and users a scheduled slice deletes (three keys each, in
/// batches of at most this many places).
const ADMIN_LEFTOVER_PLACES: u64 = 1_000;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Swept {
    #[serde(flatten)]
    report: crate::repo::SweepReport,
    retention_days: u32,
    /// Stored answers of `Idempotency-Key` requests deleted (kept 24 hours, whatever
    /// `retention_days` says).
    expired_answers_deleted: u64,
    /// Audit entries deleted (older than `audit_retention_days`).
    audit_entries_deleted: u64,
    /// Records of API keys revoked or expired more than 90 days ago deleted.
    api_keys_deleted: u64,
    /// What deleted teams and users left (feeds, indexes, queue heads, …): keys deleted,
    /// entities now gone without a trace, and whether more is left.
    leftover_keys_deleted: u64,
    deleted_entities_cleaned: u64,
    more_leftovers: bool,
}

pub fn sweep(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let report = match ctx.config.retention_millis() {
        Some(millis) => ctx.repo.sweep_slice(ctx.now, millis, ADMIN_SLICE)?,
        None => Default::default(),
    };
    let expired_answers_deleted = ctx.repo.sweep_expired_answers(ctx.now, ADMIN_SLICE)?;
    let audit_entries_deleted = match ctx.config.audit_retention_millis() {
        Some(millis) => ctx.repo.sweep_audit(ctx.now, millis, ADMIN_SLICE)?,
        None => 0,
    };
    let api_keys_deleted = ctx.repo.sweep_api_keys(ctx.now, ADMIN_SLICE)?;
    let holder = ctx.ids.next_id();
    let leftovers = ctx
        .repo
        .sweep_leftovers(ctx.now, holder, ADMIN_LEFTOVER_PLACES)?;
    Ok(Response::json(
        200,
        &Swept {
            report,
            retention_days: ctx.config.retention_days,
            expired_answers_deleted,
            audit_entries_deleted,
            api_keys_deleted,
            leftover_keys_deleted: leftovers.keys_deleted,
            deleted_entities_cleaned: leftovers.entities_cleaned,
            more_leftovers: leftovers.more,
        },
    ))
}
