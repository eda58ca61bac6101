//! The admin API of API keys (stands in for the vendor's Configurator).

use super::Ctx;
use crate::auth;
use crate::error::ApiError;
use crate::http::Response;
use crate::ids::ApiKeyId;
use crate::model::apikey::ApiKeyView;
use crate::model::{ApiKeyRecord, Role};
use crate::time::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

pub const MAX_KEY_NAME_CHARS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateApiKeyRequest {
    pub name: String,
    /// Required: a key without roles would have every right (only keys carried over from
    /// earlier versions have that).
    #[serde(default)]
    pub roles: Option<Vec<Role>>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

/// `null` clears, absent keeps: a field that is present is `Some(value_or_null)`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PatchApiKeyRequest {
    /// Absent keeps the roles; `null` is refused like `[]` (a key keeps at least one role).
    #[serde(default, deserialize_with = "present")]
    pub roles: Option<Option<Vec<Role>>>,
    #[serde(default, deserialize_with = "present")]
    pub expires_at: Option<Option<Timestamp>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatedApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub roles: Vec<Role>,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Shown once; only its hash is stored.
    pub secret: String,
}

/// The roles of a new or changed key: at least one. Full access (no roles) belongs only to
/// records carried over from earlier versions; a key can no longer be given it.
fn some_roles(roles: Option<Vec<Role>>) -> Result<Vec<Role>, ApiError> {
    match roles {
        Some(roles) if !roles.is_empty() => Ok(roles),
        _ => Err(ApiError::BadRequest(format!(
            "Invalid value for 'Roles': at least one role is required ({}).",
            Role::ALL.map(|r| format!("{r:?}")).join(", ")
        ))),
    }
}

fn dedup_roles(mut roles: Vec<Role>) -> Vec<Role> {
    let mut seen = Vec::new();
    roles.retain(|r| {
        let first = !seen.contains(r);
        seen.push(*r);
        first
    });
    roles
}

/// Creates a key; used by the admin API and by the demo loader.
pub fn new_api_key(
    ctx: &mut Ctx,
    name: String,
    roles: Vec<Role>,
    expires_at: Option<Timestamp>,
) -> Result<CreatedApiKey, ApiError> {
    let id = ApiKeyId(ctx.ids.next_id());
    let (secret, secret_sha256) = auth::new_secret(id, ctx.ids);
    let record = ApiKeyRecord {
        id,
        name,
        roles: dedup_roles(roles),
        expires_at,
        created_at: ctx.now,
        secret_sha256,
        revoked_at: None,
    };
    ctx.repo.create_api_key(&record)?;
    Ok(CreatedApiKey {
        id,
        name: record.name,
        roles: record.roles,
        expires_at,
        created_at: record.created_at,
        secret,
    })
}

pub fn create_api_key(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: CreateApiKeyRequest = ctx.body()?;
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_KEY_NAME_CHARS {
        return Err(ApiError::BadRequest(format!(
            "Invalid value for 'Name': 1 to {MAX_KEY_NAME_CHARS} characters are required."
        )));
    }
    let roles = some_roles(body.roles)?;
    let created = new_api_key(ctx, name, roles, body.expires_at)?;
    let location = format!("/admin/v1.0/apikeys/{}", created.id);
    Ok(Response::json(201, &created).with_header("Location", &location))
}

pub fn list_api_keys(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let mut views: Vec<ApiKeyView> = ctx
        .repo
        .listed_api_keys()?
        .into_iter()
        .map(|(record, used)| record.view(used))
        .collect();
    views.sort_by_key(|v| (v.created_at, v.id));
    Ok(Response::json(200, &views))
}

fn key_id(ctx: &Ctx) -> Result<ApiKeyId, ApiError> {
    ApiKeyId::parse(ctx.param(0).trim()).ok_or_else(|| ApiError::not_found("API key", ctx.param(0)))
}

pub fn patch_api_key(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let body: PatchApiKeyRequest = ctx.body()?;
    let roles = body.roles.map(some_roles).transpose()?;
    let id = key_id(ctx)?;
    let updated = ctx.repo.update_api_key(id, |record| {
        if record.revoked_at.is_some() {
            return Err(ApiError::not_found("API key", &id.to_string()).into());
        }
        if let Some(roles) = &roles {
            record.roles = dedup_roles(roles.clone());
        }
        if let Some(expires_at) = body.expires_at {
            record.expires_at = expires_at;
        }
        Ok(true)
    })?;
    let record = updated.ok_or_else(|| ApiError::not_found("API key", &id.to_string()))?;
    let view = record.view(ctx.repo.api_key_last_used(id)?);
    Ok(Response::json(200, &view))
}

pub fn delete_api_key(ctx: &mut Ctx) -> Result<Response, ApiError> {
    let id = key_id(ctx)?;
    let now = ctx.now;
    let updated = ctx.repo.update_api_key(id, |record| {
        if record.revoked_at.is_some() {
            return Err(ApiError::not_found("API key", &id.to_string()).into());
        }
        record.revoked_at = Some(now);
        Ok(true)
    })?;
    updated.ok_or_else(|| ApiError::not_found("API key", &id.to_string()))?;
    Ok(Response::no_content())
}
