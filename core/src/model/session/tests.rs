use super::*;
use crate::ids::SequentialIds;

const HOUR: i64 = 3600 * 1000;

fn t(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_767_600_000_000 + millis)
}

fn anna() -> UserId {
    UserId(uuid::Uuid::from_u128(0xa))
}

#[test]
fn a_token_names_its_agent_and_session_and_only_its_hash_is_kept() {
    let (token, record) = new_session(anna(), 3600, "key", t(0), &mut SequentialIds::new(3));
    assert_eq!(token_names(&token), Some((anna(), record.id)));
    assert!(!record.token_sha256.contains(&token[4..]));
    assert_eq!(record.token_sha256, sha256_hex(token.as_bytes()));
    assert_eq!(record.expires_at, t(HOUR));
}

#[test]
fn malformed_tokens_name_nothing() {
    let (token, _) = new_session(anna(), 3600, "key", t(0), &mut SequentialIds::new(3));
    let cut = &token[..token.len() - 1];
    let extra = format!("{token}_x");
    let api_key_like = format!("tm_{}", &token[4..]);
    for bad in [
        "",
        "tms_",
        "tms_a_b_c",
        cut,
        extra.as_str(),
        api_key_like.as_str(),
    ] {
        assert_eq!(token_names(bad), None, "{bad}");
    }
}

/// A session's answer at each moment of its life, with the token and with a wrong one.
#[test]
fn verify_answers_by_what_happened_to_the_session() {
    let mut sessions = AgentSessions::default();
    let (token, record) = new_session(anna(), 3600, "key", t(0), &mut SequentialIds::new(3));
    let id = record.id;
    sessions.add(record, t(0));
    let forged = format!("{}0", &token[..token.len() - 1]);
    let other_id = {
        let (other, _) = new_session(anna(), 3600, "key", t(0), &mut SequentialIds::new(9));
        other
    };
    assert_eq!(sessions.verify(&token, t(0)).map(|s| s.id), Ok(id));
    assert_eq!(sessions.verify(&token, t(HOUR - 1)).map(|s| s.id), Ok(id));
    assert_eq!(
        sessions.verify(&token, t(HOUR)),
        Err(SessionRefused::Expired(t(HOUR))),
        "expired at exactly its ExpiresAt"
    );
    assert_eq!(
        sessions.verify(&forged, t(0)),
        Err(SessionRefused::NotValid)
    );
    assert_eq!(
        sessions.verify(&other_id, t(0)),
        Err(SessionRefused::NotValid)
    );
    assert!(sessions.revoke(id, t(10)));
    assert!(!sessions.revoke(id, t(11)), "only once");
    assert_eq!(sessions.verify(&token, t(20)), Err(SessionRefused::Revoked));
    assert_eq!(
        sessions.verify(&forged, t(20)),
        Err(SessionRefused::NotValid),
        "a wrong token learns nothing about the session"
    );
}

#[test]
fn revoke_all_ends_every_live_session_and_later_sessions_work() {
    let mut ids = SequentialIds::new(3);
    let mut sessions = AgentSessions::default();
    let tokens: Vec<String> = (0..3)
        .map(|n| {
            let (token, record) = new_session(anna(), 3600, "key", t(n), &mut ids);
            sessions.add(record, t(n));
            token
        })
        .collect();
    assert_eq!(sessions.revoke_all(t(100)), 3);
    for token in &tokens {
        assert_eq!(sessions.verify(token, t(100)), Err(SessionRefused::Revoked));
    }
    let (later, record) = new_session(anna(), 3600, "key", t(200), &mut ids);
    sessions.add(record, t(200));
    assert!(sessions.verify(&later, t(200)).is_ok());
    assert_eq!(sessions.live(t(200)).count(), 1);
}

#[test]
fn a_session_beyond_the_live_limit_ends_the_oldest_one() {
    let mut ids = SequentialIds::new(3);
    let mut sessions = AgentSessions::default();
    let mut tokens = Vec::new();
    for n in 0..MAX_LIVE_SESSIONS as i64 {
        let (token, record) = new_session(anna(), 3600, "key", t(n), &mut ids);
        assert!(sessions.add(record, t(n)).is_empty());
        tokens.push(token);
    }
    let (newest, record) = new_session(anna(), 3600, "key", t(0), &mut ids);
    let ended = sessions.add(record, t(50));
    assert_eq!(ended.len(), 1);
    assert_eq!(
        sessions.verify(&tokens[0], t(50)),
        Err(SessionRefused::Revoked)
    );
    assert!(sessions.verify(&tokens[1], t(50)).is_ok());
    assert!(sessions.verify(&newest, t(50)).is_ok(), "never the new one");
    assert_eq!(sessions.live(t(50)).count(), MAX_LIVE_SESSIONS);
}

#[test]
fn ended_sessions_are_kept_a_day_and_the_document_stays_bounded() {
    let mut ids = SequentialIds::new(3);
    let mut sessions = AgentSessions::default();
    let (token, record) = new_session(anna(), 60, "key", t(0), &mut ids);
    sessions.add(record, t(0));
    // Expired at one minute; still told so a day later, forgotten after that.
    let day = ENDED_KEPT_MILLIS;
    let (_, record) = new_session(anna(), 60, "key", t(60_000 + day - 1), &mut ids);
    sessions.add(record, t(60_000 + day - 1));
    assert_eq!(
        sessions.verify(&token, t(60_000 + day - 1)),
        Err(SessionRefused::Expired(t(60_000)))
    );
    let (_, record) = new_session(anna(), 60, "key", t(60_000 + day), &mut ids);
    sessions.add(record, t(60_000 + day));
    assert_eq!(
        sessions.verify(&token, t(60_000 + day)),
        Err(SessionRefused::NotValid)
    );
    // Many short sessions in a day: never more than MAX_KEPT_SESSIONS records.
    for n in 0..500 {
        let (_, record) = new_session(anna(), 60, "key", t(n * 1000), &mut ids);
        sessions.add(record, t(n * 1000));
        assert!(sessions.sessions.len() <= MAX_KEPT_SESSIONS);
    }
}
