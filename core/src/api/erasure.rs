//! `POST /admin/v1.0/erasure`: erases one person's data (GDPR art. 17) from every task that
//! names them, its feed snapshots and the stored answers of idempotent requests (see
//! `repo/personal_data.rs`); 409 while one of those tasks is open.

use super::Ctx;
use crate::error::ApiError;
use crate::http::Response;
use serde::Deserialize;

/// The longest URI an erasure takes (a task's party URIs are shorter).
const MAX_URI_CHARS: usize = 2_048;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ErasureRequest {
    customer_uri: String,
}

pub fn erase(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let request: ErasureRequest = ctx.body()?;
    let uri = request.customer_uri.trim();
    if uri.is_empty() || uri.chars().count() > MAX_URI_CHARS {
        return Err(ApiError::BadRequest(format!(
            "CustomerUri must be a URI of 1 to {MAX_URI_CHARS} characters (e.g. tel:+41441234567)."
        )));
    }
    let report = ctx.repo.erase_person(uri)?;
    Ok(Response::json(200, &report))
}
