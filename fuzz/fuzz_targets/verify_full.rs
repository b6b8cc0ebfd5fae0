//! Full validation (`GrantProfile` and `ClientAuthProfile`) against the fixed key.
//!
//! Input: `[flags][mode]…`; `flags` chooses the policy (`rfc7523_fuzz::checks`), bit 1 of
//! `mode` whether the client assertion comes with a `client_id`. Mode byte even: the rest is a
//! token, validated as it is (almost always stopped at the signature). Mode byte odd: `[now: u64 LE][header length: u16 LE]
//! [header][payload]`, signed with the fixed key first, so that the claims, the profile rules,
//! the time rules and the replay store all see fuzzed data behind a valid signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc7523::{DecodeBuffer, Error, MemoryReplayStore, ValidatedAssertion};

fn split(data: &[u8]) -> Option<(u64, &[u8], &[u8])> {
    let now = u64::from_le_bytes(data.get(..8)?.try_into().ok()?);
    let len = usize::from(u16::from_le_bytes(data.get(8..10)?.try_into().ok()?));
    let rest = data.get(10..)?;
    let header = rest.get(..len)?;
    Some((now, header, rest.get(len..)?))
}

/// What every accepted assertion must satisfy, whatever the profile.
fn check_accepted(valid: &ValidatedAssertion<'_>, now: u64, flags: u8) {
    let checks = rfc7523_fuzz::checks(flags);
    let claims = valid.claims();
    let exp = claims.exp().expect("exp is required");
    assert!(now < exp.ceil().saturating_add(checks.leeway));
    if let Some(nbf) = claims.nbf() {
        assert!(nbf.ceil() <= now.saturating_add(checks.leeway));
    }
    if let Some(iat) = claims.iat() {
        assert!(iat.ceil() <= now.saturating_add(checks.leeway));
    }
    assert!(!valid.issuer().is_empty() && !valid.subject().is_empty());
    if checks.require_jti {
        assert!(claims.jti().is_some());
    }
    if checks.require_iat || checks.max_age.is_some() {
        assert!(claims.iat().is_some());
    }
    assert_eq!(valid.replay_entry().is_some(), claims.jti().is_some());
    // A replay entry is never kept past the last second its assertion could be accepted,
    // and, under a maximum lifetime, never much past now.
    if let Some(entry) = valid.replay_entry() {
        assert!(entry.expires_at <= exp.ceil().saturating_add(checks.leeway));
        if let Some(max) = checks.max_lifetime {
            let bound = now
                .saturating_add(checks.leeway.saturating_mul(2))
                .saturating_add(max);
            assert!(entry.expires_at <= bound);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let fixture = rfc7523_fuzz::fixture();
    let (&flags, rest) = data.split_first().unwrap_or((&0, &[]));
    let (&mode, rest) = rest.split_first().unwrap_or((&0, &[]));
    let (token, now) = if mode & 1 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        (token.to_owned(), rfc7523_fuzz::NOW)
    } else {
        let Some((now, header, payload)) = split(rest) else {
            return;
        };
        if header.len() + payload.len() > rfc7523::limits::MAX_TOKEN_LEN {
            return;
        }
        (fixture.sign(header, payload), now)
    };
    let issuers = fixture.issuers(flags);
    let clients = fixture.clients(flags);
    let grant = rfc7523_fuzz::grant_profile(&issuers);
    let client = rfc7523_fuzz::client_profile(&clients);
    let mut replay = MemoryReplayStore::<4>::new();

    let (mut buffer, mut again_buffer) = (DecodeBuffer::new(), DecodeBuffer::new());
    match grant.validate(&token, now, &mut replay, &mut buffer) {
        Ok(valid) => {
            check_accepted(&valid, now, flags);
            let iss = valid.issuer();
            assert!(iss == "joe" || iss == rfc7523_fuzz::ISSUER);
            let aud = valid.claims().aud().expect("aud is required");
            assert!(
                aud.contains(rfc7523_fuzz::AS_ISSUER) || aud.contains(rfc7523_fuzz::TOKEN_ENDPOINT)
            );
            if flags & 64 != 0 {
                assert!(valid.subject() == "alice");
            }
            // Replay: a second use is refused when there was a jti.
            let again = grant.validate(&token, now, &mut replay, &mut again_buffer);
            if valid.claims().jti().is_some() {
                assert_eq!(again.unwrap_err(), Error::Replayed);
            } else {
                assert!(again.is_ok());
            }
        }
        Err(e) => rfc7523_fuzz::check_error(&e),
    }
    // One client validation per input (each costs an RSA verification): the flags choose
    // whether the request named the client.
    let client_id = (mode & 2 != 0).then_some(rfc7523_fuzz::CLIENT);
    let mut replay = MemoryReplayStore::<4>::new();
    let mut buffer = DecodeBuffer::new();
    match client.validate(&token, client_id, now, &mut replay, &mut buffer) {
        Ok(valid) => {
            check_accepted(&valid, now, flags);
            assert!(valid.issuer() == rfc7523_fuzz::CLIENT);
            assert!(valid.subject() == rfc7523_fuzz::CLIENT);
            let aud = valid.claims().aud().expect("aud is required");
            assert!(aud
                .sole_value()
                .is_some_and(|v| v == rfc7523_fuzz::AS_ISSUER));
        }
        Err(e) => rfc7523_fuzz::check_error(&e),
    }
});
