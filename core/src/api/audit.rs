//! The audit trail (issue 23): which changes are recorded, and `GET /admin/v1.0/audit`.
//! Every admin change (keys, the directory in bulk and entity by entity, sessions ended, the
//! retention sweep) and every block/unblock and availability change made with an API key is
//! recorded once it succeeded, with its time, actor (never a secret), action and target.

use super::Ctx;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::repo::{Actor, AuditEntry, Repo};
use crate::routes::Operation;
use crate::time::Timestamp;
use serde::Serialize;

/// Entries per answer at most (and by default).
pub const AUDIT_PAGE_LIMIT: u64 = 100;

/// Whether a successful `operation` by `actor` kind is recorded.
pub fn is_audited(operation: Operation, actor: &str) -> bool {
    use Operation as O;
    match operation {
        O::PutDirectory
        | O::PutOrganizationUnit
        | O::DeleteOrganizationUnit
        | O::PutTeam
        | O::DeleteTeam
        | O::PutUser
        | O::DeleteUser
        | O::PutMembership
        | O::DeleteMembership
        | O::PutConversationAs
        | O::DeleteConversationAs
        | O::CreateApiKey
        | O::PatchApiKey
        | O::DeleteApiKey
        | O::AdminEndSessions
        | O::AdminEndSession
        | O::RetentionSweep
        | O::Erasure => true,
        // An integrator's (API key's) changes of people; an agent setting their own state in
        // the widget is their work, not an administrative change.
        O::SetTeamMemberActive | O::SetAvailability => actor == "ApiKey",
        _ => false,
    }
}

/// Records a successful change (a failure to record does not undo the change: it is answered).
pub fn record(
    repo: &Repo,
    operation: Operation,
    actor: Actor,
    request: &Request,
    status: u16,
    now: Timestamp,
) {
    if status >= 300 || !is_audited(operation, &actor.kind) {
        return;
    }
    let entry = AuditEntry {
        cursor: String::new(),
        at: now,
        actor,
        action: format!("{operation:?}"),
        target: format!(
            "{} {}",
            request.method,
            request.path().chars().take(300).collect::<String>()
        ),
        status,
    };
    let _ = repo.append_audit(&entry);
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AuditPage {
    entries: Vec<AuditEntry>,
    cursor: String,
}

/// `GET /admin/v1.0/audit?after=&limit=`: entries after the cursor, in order.
pub fn read(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let number = |name: &str, default: u64| -> Result<u64, ApiError> {
        match ctx.request.query_param(name) {
            None => Ok(default),
            Some(text) => text.trim().parse::<u64>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "Invalid value for '{name}': a whole number is required."
                ))
            }),
        }
    };
    let after = number("after", 0)?;
    let limit = number("limit", AUDIT_PAGE_LIMIT)?;
    if limit == 0 || limit > AUDIT_PAGE_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "Invalid value for 'limit': 1 to {AUDIT_PAGE_LIMIT}."
        )));
    }
    let (entries, cursor) = ctx.repo.read_audit(after, limit, ctx.now)?;
    Ok(Response::json(
        200,
        &AuditPage {
            entries,
            cursor: cursor.to_string(),
        },
    ))
}
