//! The claims set (RFC 7519 §4.1) and the strict JSON reader: the input is a payload.
//!
//! Every input goes through `UnverifiedAssertion::issuer_hint` (which validates the whole
//! object). Inputs that are JSON objects within the limits are then signed with the fixed key
//! so that `VerifiedAssertion::claims` (registered claims, NumericDate, `aud`) reads them too:
//! the only public way there. Oracles: whatever our reader accepts, `serde_json` accepts with
//! the same `iss`; `claims().iss()` agrees with `issuer_hint`.
#![no_main]

use base64ct::{Base64UrlUnpadded, Encoding};
use libfuzzer_sys::fuzz_target;
use rfc7523::limits::{MAX_AUDIENCE_VALUES, MAX_CLAIM_STRING_LEN, MAX_NUMERIC_DATE};
use rfc7523::{Claim, DecodeBuffer, Error, Limit, Malformed, UnverifiedAssertion};

/// `kid` selects the fuzzing key alone.
const HEADER: &[u8] = br#"{"alg":"RS256","kid":"k1"}"#;

fuzz_target!(|data: &[u8]| {
    let fixture = rfc7523_fuzz::fixture();
    // Unsigned: any payload up to the token limit, with a dummy signature.
    let mut token = Base64UrlUnpadded::encode_string(HEADER);
    token.push('.');
    token.push_str(&Base64UrlUnpadded::encode_string(data));
    token.push_str(".AAAA");
    let mut buffer = DecodeBuffer::new();
    let Ok(parsed) = UnverifiedAssertion::parse(&token, &mut buffer) else {
        return;
    };
    let hint = parsed.issuer_hint();
    let json_ok = match &hint {
        Ok(_) | Err(Error::MissingClaim(Claim::Iss)) | Err(Error::InvalidClaim(Claim::Iss)) => true,
        Err(Error::TooLarge(Limit::StringLength)) => true,
        Err(e) => {
            rfc7523_fuzz::check_error(e);
            assert!(
                matches!(
                    e,
                    Error::Malformed(
                        Malformed::Utf8(_)
                            | Malformed::Json(_)
                            | Malformed::NotAnObject(_)
                            | Malformed::DuplicateMember(_)
                    ) | Error::TooLarge(
                        Limit::JsonDepth | Limit::JsonMembers | Limit::NumberLength
                    )
                ),
                "{e:?}"
            );
            false
        }
    };
    if !json_ok {
        return;
    }
    // Differential: our reader accepted an object; serde_json must too, with the same iss.
    // Except for numbers beyond f64 (`1e999`): RFC 8259 §6 lets implementations limit the
    // range, serde_json refuses them, our reader only checks the grammar (and NumericDate
    // refuses out-of-range values later).
    let theirs: serde_json::Value = match serde_json::from_slice(data) {
        Ok(value) => value,
        Err(e) if e.to_string().starts_with("number out of range") => return,
        Err(e) => panic!("accepted by rfc7523 but not by serde_json: {e}"),
    };
    assert!(theirs.is_object());
    if let Ok(iss) = &hint {
        assert_eq!(theirs["iss"].as_str(), Some(iss.to_string().as_str()));
    }

    // Signed: the claims of a verified assertion.
    let signed = fixture.sign(HEADER, data);
    let mut signed_buffer = DecodeBuffer::new();
    let verified = UnverifiedAssertion::parse(&signed, &mut signed_buffer)
        .expect("a signed accepted payload parses")
        .verify(&fixture.keys)
        .expect("signed with the fixed key");
    match verified.claims() {
        Ok(claims) => {
            match &hint {
                Ok(iss) => assert_eq!(claims.iss(), Some(*iss)),
                Err(_) => assert!(claims.iss().is_none()),
            }
            for (name, value) in [
                ("iss", claims.iss()),
                ("sub", claims.sub()),
                ("jti", claims.jti()),
            ] {
                if let Some(value) = value {
                    assert!(!value.is_empty() && value.len() <= MAX_CLAIM_STRING_LEN);
                    // Spans decoded on demand: the decoded text, its length, and equality agree.
                    let text = value.to_string();
                    assert_eq!(value.len(), text.len(), "{name}");
                    assert!(value == text.as_str(), "{name}");
                    assert_eq!(theirs[name].as_str(), Some(text.as_str()), "{name}");
                }
            }
            if let Some(aud) = claims.aud() {
                assert!(aud.len() <= MAX_AUDIENCE_VALUES);
                assert!(aud.iter().all(|v| v.len() <= MAX_CLAIM_STRING_LEN));
            }
            for date in [claims.exp(), claims.nbf(), claims.iat()]
                .into_iter()
                .flatten()
            {
                assert!(date.floor() <= MAX_NUMERIC_DATE);
                assert!(date.ceil() >= date.floor() && date.ceil() - date.floor() <= 1);
                assert_eq!(date.ceil() != date.floor(), date.is_fractional());
            }
            if let Some(exp) = claims.exp() {
                // serde_json reads the same number (as a float: only compare when exact).
                if let Some(f) = theirs["exp"].as_f64() {
                    if f < 9.0e15 && f.fract() == 0.0 && !exp.is_fractional() {
                        assert_eq!(f as u64, exp.floor(), "exp {}", theirs["exp"]);
                    }
                }
            }
        }
        Err(e) => rfc7523_fuzz::check_error(&e),
    }
});
