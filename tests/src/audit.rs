//! The audit trail (issue 23) through the API: what is recorded (written out from the issue:
//! "every admin change … and every block/unblock and availability change made by an
//! integrator … with time, actor (admin, or the API key's id and name, never a secret), action
//! and target"), in order, once each, also after concurrent admin writes.

use crate::*;
use serde_json::{json, Value};

/// Every entry after `after`, page by page (`limit` per page).
pub fn audit_entries(api: &Api, after: &str, limit: u64) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor = after.to_string();
    loop {
        let page = assert_status(
            &api.admin(
                "GET",
                &format!("/admin/v1.0/audit?after={cursor}&limit={limit}"),
                None,
            ),
            200,
        );
        let batch = page["Entries"].as_array().cloned().unwrap_or_default();
        let next = page["Cursor"].as_str().unwrap_or_default().to_string();
        if batch.is_empty() {
            return entries;
        }
        entries.extend(batch);
        cursor = next;
    }
}

fn start(api: &Api) -> String {
    let page = assert_status(
        &api.admin("GET", "/admin/v1.0/audit?after=0&limit=100", None),
        200,
    );
    let mut cursor = page["Cursor"].as_str().unwrap_or_default().to_string();
    loop {
        let next = assert_status(
            &api.admin(
                "GET",
                &format!("/admin/v1.0/audit?after={cursor}&limit=100"),
                None,
            ),
            200,
        );
        let moved = next["Cursor"].as_str().unwrap_or_default().to_string();
        if moved == cursor {
            return cursor;
        }
        cursor = moved;
    }
}

/// (Action, actor type, target) of each entry.
fn summary(entries: &[Value]) -> Vec<(String, String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e["Action"].as_str().unwrap_or_default().to_string(),
                e["Actor"]["Type"].as_str().unwrap_or_default().to_string(),
                e["Target"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

pub fn each_change_is_recorded_once_with_its_actor_and_no_secret(api: &Api) {
    let from = start(api);
    let made = api.admin(
        "POST",
        "/admin/v1.0/apikeys",
        Some(json!({"Name": "crm-integration", "Roles": ["UsersControl", "TasksReadonly"]})),
    );
    let made = assert_status(&made, 201);
    let secret = made["Secret"].as_str().unwrap_or_default().to_string();
    let key_id = made["Id"].as_str().unwrap_or_default().to_string();
    // Refused: not recorded.
    assert_eq!(
        api.admin("PUT", "/admin/v1.0/teams/not-a-uuid", Some(json!({})))
            .status,
        400
    );
    let block = format!("/v1.0/teams/{TEAM_SUPPORT}/users/{ANNA}/active");
    assert_status(
        &api.call(&secret, "POST", &block, Some(json!({"Active": false}))),
        200,
    );
    let availability = format!("/v1.0/users/{BEN}/availability");
    assert_status(
        &api.call(
            &secret,
            "PUT",
            &availability,
            Some(json!({"State": "Away"})),
        ),
        200,
    );
    // Reads are not changes.
    assert_status(
        &api.call(
            &secret,
            "GET",
            &format!("/v1.0/users/{BEN}/availability"),
            None,
        ),
        200,
    );
    let patch = format!("/admin/v1.0/apikeys/{key_id}");
    assert_status(
        &api.admin("PATCH", &patch, Some(json!({"Name": "crm"}))),
        200,
    );
    assert_eq!(api.admin("DELETE", &patch, None).status, 204);
    let entries = audit_entries(api, &from, 2);
    let expected: Vec<(String, String, String)> = [
        (
            "CreateApiKey",
            "Admin",
            "POST /admin/v1.0/apikeys".to_string(),
        ),
        ("SetTeamMemberActive", "ApiKey", format!("POST {block}")),
        ("SetAvailability", "ApiKey", format!("PUT {availability}")),
        ("PatchApiKey", "Admin", format!("PATCH {patch}")),
        ("DeleteApiKey", "Admin", format!("DELETE {patch}")),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c))
    .collect();
    assert_eq!(summary(&entries), expected);
    assert_eq!(entries[1]["Actor"]["ApiKeyId"], key_id.as_str());
    assert_eq!(entries[1]["Actor"]["ApiKeyName"], "crm-integration");
    assert_eq!(entries[0]["Status"], 201);
    let text = serde_json::to_string(&entries).unwrap_or_default();
    assert!(!text.contains(&secret), "no secret in the trail");
    assert!(
        !text.contains(crate::ADMIN_TOKEN),
        "no admin token in the trail"
    );
    let cursors: Vec<u64> = entries
        .iter()
        .filter_map(|e| e["Cursor"].as_str().and_then(|c| c.parse().ok()))
        .collect();
    assert!(
        cursors.windows(2).all(|w| w[0] < w[1]),
        "in order: {cursors:?}"
    );
    assert_eq!(
        api.admin("GET", "/admin/v1.0/audit?limit=101", None).status,
        400,
        "at most 100 per page"
    );
}

/// Eight admins write 25 users each at once (retrying while the directory is busy): the trail
/// holds each write once, and no refused attempt.
pub fn concurrent_admin_writes_are_each_recorded_once(api: &Api) {
    let from = start(api);
    std::thread::scope(|scope| {
        for writer in 0..8u32 {
            scope.spawn(move || {
                for n in 0..25u32 {
                    let id = format!("5e000000-0000-4000-8000-{:012}", 1000 + writer * 100 + n);
                    let login = format!("user{writer}x{n}");
                    let body = json!({"DisplayName": login, "Upn": format!("{login}@contoso.com"),
                        "SipUri": format!("sip:{login}@contoso.com")});
                    // One admin write at a time: a busy directory answers 409, and the admin
                    // tries again (a refused write is no change and is not recorded).
                    let mut tries = 0;
                    loop {
                        let answer = api.admin(
                            "PUT",
                            &format!("/admin/v1.0/users/{id}"),
                            Some(body.clone()),
                        );
                        if answer.status < 300 {
                            break;
                        }
                        assert_eq!(
                            answer.status,
                            409,
                            "{}",
                            String::from_utf8_lossy(&answer.body)
                        );
                        // Bounded by tries, not time: a lease left behind (a write that
                        // never released it) keeps it busy for minutes and fails here.
                        tries += 1;
                        assert!(tries < 10_000, "the directory stayed busy");
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                }
            });
        }
    });
    let entries = audit_entries(api, &from, 100);
    let mut targets: Vec<String> = summary(&entries)
        .into_iter()
        .filter(|(action, _, _)| action == "PutUser")
        .map(|(_, _, target)| target)
        .collect();
    assert_eq!(targets.len(), 200, "every write once");
    targets.sort();
    targets.dedup();
    assert_eq!(targets.len(), 200, "none twice");
}

fn put_user(api: &Api, n: u32) -> String {
    let id = format!("5e000000-0000-4000-8000-{:012}", 9000 + n);
    let login = format!("kept{n}");
    let body = json!({"DisplayName": login, "Upn": format!("{login}@contoso.com"),
        "SipUri": format!("sip:{login}@contoso.com")});
    let path = format!("/admin/v1.0/users/{id}");
    // A new user: 201 Created.
    assert_status(&api.admin("PUT", &path, Some(body)), 201);
    format!("PUT {path}")
}

/// Issue 23: audit entries are kept a year (the default), then deleted in order, by the admin
/// sweep and by the appends themselves; a reader from the start begins at the first kept one.
pub fn audit_entries_are_kept_a_year_then_deleted_in_order(api: &Api) {
    const DAY: i64 = 86_400_000;
    let old: Vec<String> = (0..3).map(|n| put_user(api, n)).collect();
    let before = audit_entries(api, "0", 100);
    assert!(before.len() >= 3, "{before:?}");
    api.advance(364 * DAY);
    let kept: Vec<String> = (3..5).map(|n| put_user(api, n)).collect();
    // A day later the first ones are 365 days old: due.
    api.advance(DAY);
    let swept = assert_status(&api.admin("POST", "/admin/v1.0/retention/sweep", None), 200);
    assert_eq!(swept["AuditEntriesDeleted"], before.len(), "{swept}");
    let after = summary(&audit_entries(api, "0", 100));
    let targets: Vec<&str> = after.iter().map(|(_, _, t)| t.as_str()).collect();
    assert_eq!(
        targets,
        [
            kept[0].as_str(),
            kept[1].as_str(),
            "POST /admin/v1.0/retention/sweep"
        ],
        "the year-old entries ({old:?}) are gone, the rest in order"
    );
    // Another year on, without the admin sweep: the appends sweep as they go.
    api.advance(366 * DAY);
    for n in 5..25 {
        put_user(api, n);
    }
    let left = summary(&audit_entries(api, "0", 100));
    assert!(
        left.iter().all(|(_, _, t)| !kept.contains(t)),
        "entries older than a year stay: {left:?}"
    );
    assert_eq!(
        left.len(),
        20,
        "a slice stops at the first kept entry: {left:?}"
    );
}
