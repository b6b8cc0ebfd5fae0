//! Property tests (proptest) of the whole pipeline through the public API:
//!
//! - **sign → verify round trips**: random claims, signed by `AssertionSigner` and by a raw
//!   RS256 signer over `serde_json`'s rendering (arbitrary Unicode, escapes, `aud` arrays,
//!   fractional dates), validate and read back exactly;
//! - **tampering**: flipping any byte of a valid token to any other byte, deleting any byte,
//!   or truncating it anywhere is refused;
//! - **form round trips**: token request parameters encoded (with every legal variation:
//!   `+` or `%20`, upper or lower case hex, encoded or plain names, any order) parse back
//!   exactly;
//! - **claim conditions**: a claim of any Unicode text, written with minimal escapes or with
//!   every character as `\u` escapes (surrogate pairs for astral characters), meets a
//!   condition on exactly its decoded text and fails one on any other text;
//! - **NumericDate**: any number text (RFC 8259 grammar or not) in `exp`, `nbf`, `iat` is
//!   accepted with the right value or refused with a typed error, never a panic.
//!
//! Case counts are bounded ([`CASES`]) so the binary runs in seconds; failures are not
//! persisted to files (proptest prints the minimal failing input).

use std::sync::OnceLock;

use base64ct::{Base64UrlUnpadded, Encoding};
use proptest::prelude::*;
use proptest::test_runner::Config;
use rfc7523::form::TokenParams;
use rfc7523::limits::{MAX_CLAIM_STRING_LEN, MAX_NUMERIC_DATE};
use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::{
    Claim, ClientAuthProfile, DecodeBuffer, Error, GrantProfile, KeySet, Limit, Malformed,
    MemoryReplayStore, Party, Policy, TypRule, UnverifiedAssertion,
};
use rfc7523_conformance::text;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::json;
use sha2::Sha256;

const NOW: u64 = 1_700_000_000;
const AS_ISSUER: &str = "https://as.example";
const TOKEN_ENDPOINT: &str = "https://as.example/token";

/// Cases per property (each signs with a 2048-bit key, so they are not free).
const CASES: u32 = 48;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

struct Fixtures {
    signer: AssertionSigner,
    raw: SigningKey<Sha256>,
    keys: KeySet,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let groups = rfc7523_conformance::sig_gen_2048_sha256_groups();
        let group = &groups[0];
        let text = |member: &str| rfc7523_conformance::json_str(&group[member], member).to_owned();
        let private = text("privateKeyPem");
        Fixtures {
            signer: AssertionSigner::from_pem(&private).unwrap_or_else(|e| panic!("{e}")),
            raw: SigningKey::new(
                rsa::RsaPrivateKey::from_pkcs1_pem(&private).unwrap_or_else(|e| panic!("{e}")),
            ),
            keys: KeySet::from_pem(&text("keyPem")).unwrap_or_else(|e| panic!("{e}")),
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// An RS256 compact JWS over arbitrary header and payload bytes.
fn sign_raw(header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = fixtures().raw.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

fn grant_profile<'a>(issuers: &'a [Party<'a>]) -> GrantProfile<'a> {
    GrantProfile {
        issuers,
        audiences: &[AS_ISSUER, TOKEN_ENDPOINT],
    }
}

/// 1 to [`MAX_CLAIM_STRING_LEN`] bytes of any Unicode, with the characters JSON must escape
/// (quotes, backslashes, controls, NUL) and astral characters (surrogate pairs) made likely.
fn claim_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::char::any().prop_map(String::from),
        1 => Just("\"".to_owned()),
        1 => Just("\\".to_owned()),
        1 => Just("\u{0}".to_owned()),
        1 => Just("\n".to_owned()),
        1 => Just("\u{1F600}".to_owned()),
        1 => Just("/".to_owned()),
        4 => "[a-zA-Z0-9:._-]{1,8}",
    ];
    proptest::collection::vec(piece, 1..40)
        .prop_map(|pieces| {
            let mut s = String::new();
            for p in pieces {
                if s.len() + p.len() > MAX_CLAIM_STRING_LEN {
                    break;
                }
                s.push_str(&p);
            }
            s
        })
        .prop_filter("non-empty", |s| !s.is_empty())
}

/// A NumericDate in range, possibly fractional, as JSON text and its (floor, fractional).
fn date_after(base: u64) -> impl Strategy<Value = (String, u64, bool)> {
    (1u64..100_000, proptest::option::of(1u32..1000)).prop_map(move |(offset, fraction)| {
        let seconds = base + offset;
        match fraction {
            None => (seconds.to_string(), seconds, false),
            Some(f) => (format!("{seconds}.{f:03}"), seconds, true),
        }
    })
}

proptest! {
    #![proptest_config(config(CASES))]

    /// `AssertionSigner` output validates under both profiles and reads back exactly.
    #[test]
    fn signer_round_trip(
        issuer in claim_string(),
        subject in claim_string(),
        jti in proptest::option::of(claim_string()),
        lifetime in 1u64..=rfc7523::profile::DEFAULT_MAX_LIFETIME,
        client in any::<bool>(),
    ) {
        let f = fixtures();
        let subject = if client { issuer.clone() } else { subject };
        let request = AssertionRequest {
            issuer: &issuer,
            subject: &subject,
            audience: if client { AS_ISSUER } else { TOKEN_ENDPOINT },
            lifetime: Some(lifetime),
            jti: jti.as_deref(),
            kid: None,
            client_authentication: client,
        };
        let token = f.signer.sign(&request, NOW).unwrap_or_else(|e| panic!("{e}"));
        let policy = Policy { typ: TypRule::RequireExplicit, ..Policy::default() };
        let issuers = [Party::new(&issuer, &f.keys).with_policy(policy)];
        let mut replay = MemoryReplayStore::<4>::new();
        let mut buffer = DecodeBuffer::new();
        let valid = if client {
            ClientAuthProfile {
                clients: &issuers[..],
                issuer: AS_ISSUER,
                token_endpoint: None,
            }
            .validate(&token, None, NOW, &mut replay, &mut buffer)
        } else {
            grant_profile(&issuers).validate(&token, NOW, &mut replay, &mut buffer)
        }
        .unwrap_or_else(|e| panic!("{e:?} for {token}"));
        let claims = valid.claims();
        prop_assert_eq!(text(claims.iss()), Some(issuer.clone()));
        prop_assert_eq!(text(claims.sub()), Some(subject.clone()));
        prop_assert_eq!(claims.exp().map(|d| d.floor()), Some(NOW + lifetime));
        prop_assert_eq!(claims.iat().map(|d| d.floor()), Some(NOW));
        match &jti {
            Some(jti) => prop_assert_eq!(text(claims.jti()), Some(jti.clone())),
            // The signer draws a random jti.
            None => prop_assert!(claims.jti().is_some()),
        }
    }

    /// Claim sets rendered by `serde_json` (escapes of every kind, `aud` arrays, fractional
    /// dates, unknown members) are read back exactly from a verified assertion.
    #[test]
    fn claims_round_trip(
        iss in claim_string(),
        sub in claim_string(),
        aud in proptest::collection::vec(claim_string(), 1..=6),
        aud_as_string in any::<bool>(),
        exp in date_after(NOW),
        iat in proptest::option::of(date_after(NOW - 200_000)),
        jti in proptest::option::of(claim_string()),
        extra in proptest::collection::btree_map("[a-z]{4,8}", claim_string(), 0..4),
    ) {
        let f = fixtures();
        let mut claims = json!({ "iss": iss, "sub": sub });
        claims["aud"] = if aud_as_string { json!(aud[0]) } else { json!(aud) };
        if let Some(jti) = &jti {
            claims["jti"] = json!(jti);
        }
        for (name, value) in &extra {
            claims[format!("x-{name}")] = json!(value);
        }
        // Dates as literal number text (serde_json would rewrite fractions).
        let mut text = claims.to_string();
        text.pop();
        text.push_str(&format!(",\"exp\":{}", exp.0));
        if let Some(iat) = &iat {
            text.push_str(&format!(",\"iat\":{}", iat.0));
        }
        text.push('}');
        // Escaped NULs and controls take six bytes each: stay within the payload limit.
        prop_assume!(text.len() <= 6_000);
        let token = sign_raw(br#"{"alg":"RS256","typ":"JWT"}"#, text.as_bytes());
        let mut buffer = DecodeBuffer::new();
        let verified = UnverifiedAssertion::parse(&token, &mut buffer)
            .and_then(|t| t.verify(&f.keys))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let read = verified.claims().unwrap_or_else(|e| panic!("{e:?} for {text}"));
        prop_assert_eq!(rfc7523_conformance::text(read.iss()), Some(iss.clone()));
        prop_assert_eq!(rfc7523_conformance::text(read.sub()), Some(sub.clone()));
        prop_assert_eq!(rfc7523_conformance::text(read.jti()), jti.clone());
        let read_aud: Vec<String> = read
            .aud()
            .map(|a| a.iter().map(|v| v.to_string()).collect())
            .unwrap_or_default();
        if aud_as_string {
            prop_assert_eq!(read_aud, vec![aud[0].clone()]);
        } else {
            prop_assert_eq!(read_aud, aud.clone());
        }
        let exp_read = read.exp().unwrap_or_else(|| panic!("exp"));
        prop_assert_eq!((exp_read.floor(), exp_read.is_fractional()), (exp.1, exp.2));
        prop_assert_eq!(
            read.iat().map(|d| (d.floor(), d.is_fractional())),
            iat.map(|(_, s, frac)| (s, frac))
        );
    }
}

/// `text` as a JSON string with every character written as a `\u` escape (UTF-16 code units,
/// so astral characters as surrogate pairs), in upper or lower case hex.
fn escaped_everywhere(text: &str, upper: bool) -> String {
    let mut out = String::from("\"");
    let mut units = [0u16; 2];
    for c in text.chars() {
        for unit in c.encode_utf16(&mut units) {
            if upper {
                out.push_str(&format!("\\u{unit:04X}"));
            } else {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.push('"');
    out
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn claim_conditions_compare_decoded_text(
        value in claim_string(),
        other in claim_string(),
        style in 0u8..3,
    ) {
        use rfc7523::{ClaimCondition, ClaimConditions, ClaimName, ConditionProblem};
        let f = fixtures();
        let written = match style {
            0 => json!(value).to_string(),
            1 => escaped_everywhere(&value, false),
            _ => escaped_everywhere(&value, true),
        };
        let payload = format!(
            r#"{{"iss":"https://wl.example","sub":"job","aud":"{AS_ISSUER}","exp":{},"jti":"j","workload":{written}}}"#,
            NOW + 60
        );
        prop_assume!(payload.len() <= 6_000);
        let token = sign_raw(br#"{"alg":"RS256","typ":"JWT"}"#, payload.as_bytes());
        let judge = |required: &str| {
            let list = [ClaimCondition { claim: "workload", value: required }];
            let conditions = ClaimConditions::new(&list).unwrap_or_else(|e| panic!("{e}"));
            let parties = [Party::new("https://wl.example", &f.keys).with_policy(Policy {
                claims: conditions,
                ..Policy::default()
            })];
            grant_profile(&parties)
                .validate(&token, NOW, &mut MemoryReplayStore::<2>::new(), &mut DecodeBuffer::new())
                .map(|_| ())
        };
        prop_assert_eq!(judge(&value), Ok(()), "{}", written);
        if other != value {
            prop_assert_eq!(
                judge(&other),
                Err(Error::ClaimMismatch {
                    claim: ClaimName::new("workload"),
                    problem: ConditionProblem::Different,
                })
            );
        }
    }
}

/// A valid grant assertion to tamper with.
fn valid_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        fixtures()
            .signer
            .sign(
                &AssertionRequest {
                    issuer: "https://issuer.example",
                    subject: "alice",
                    audience: AS_ISSUER,
                    jti: Some("tamper-1"),
                    ..AssertionRequest::default()
                },
                NOW,
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .as_str()
            .to_owned()
    })
}

/// `Ok` when `token` (as bytes) is refused: not UTF-8 (it cannot even be passed as `&str`),
/// or refused by the grant profile.
fn refused(bytes: &[u8]) -> Result<(), String> {
    let Ok(token) = std::str::from_utf8(bytes) else {
        return Ok(());
    };
    let f = fixtures();
    let issuers = [Party::new("https://issuer.example", &f.keys)];
    let mut replay = MemoryReplayStore::<4>::new();
    let mut buffer = DecodeBuffer::new();
    match grant_profile(&issuers).validate(token, NOW, &mut replay, &mut buffer) {
        Ok(_) => Err(format!("tampered token accepted: {token}")),
        Err(_) => Ok(()),
    }
}

#[test]
fn the_untampered_token_is_valid() {
    let f = fixtures();
    let issuers = [Party::new("https://issuer.example", &f.keys)];
    let mut replay = MemoryReplayStore::<4>::new();
    let mut buffer = DecodeBuffer::new();
    assert!(grant_profile(&issuers)
        .validate(valid_token(), NOW, &mut replay, &mut buffer)
        .is_ok());
}

/// Every strict prefix of a valid token, at every length, is refused.
#[test]
fn every_truncation_is_refused() {
    let token = valid_token().as_bytes();
    for len in 0..token.len() {
        refused(&token[..len]).unwrap_or_else(|e| panic!("prefix of {len} bytes: {e}"));
    }
}

/// Every single-bit flip of every byte (8 per position) is refused, exhaustively.
#[test]
fn every_bit_flip_is_refused() {
    let token = valid_token().as_bytes();
    let mut tampered = token.to_vec();
    for i in 0..token.len() {
        for bit in 0..8 {
            tampered[i] = token[i] ^ (1 << bit);
            refused(&tampered).unwrap_or_else(|e| panic!("byte {i} bit {bit}: {e}"));
        }
        tampered[i] = token[i];
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Replacing any byte with any other value is refused.
    #[test]
    fn any_byte_replacement_is_refused(index in any::<prop::sample::Index>(), value in any::<u8>()) {
        let token = valid_token().as_bytes();
        let i = index.index(token.len());
        prop_assume!(token[i] != value);
        let mut tampered = token.to_vec();
        tampered[i] = value;
        prop_assert!(refused(&tampered).is_ok(), "byte {} set to {:#04x}", i, value);
    }

    /// Deleting any byte, or inserting one anywhere, is refused.
    #[test]
    fn any_deletion_or_insertion_is_refused(
        index in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let token = valid_token().as_bytes();
        let i = index.index(token.len());
        let mut deleted = token.to_vec();
        deleted.remove(i);
        prop_assert!(refused(&deleted).is_ok(), "byte {} deleted", i);
        let mut inserted = token.to_vec();
        inserted.insert(i, value);
        prop_assert!(refused(&inserted).is_ok(), "{:#04x} inserted at {}", value, i);
    }
}

// ---------------------------------------------------------------------------------------------
// Forms
// ---------------------------------------------------------------------------------------------

/// How one value or name is encoded: every variation RFC 6749 Appendix B's decoding accepts.
#[derive(Clone, Copy, Debug)]
struct Style {
    space_as_plus: bool,
    lower_hex: bool,
    encode_unreserved: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(space_as_plus, lower_hex, encode_unreserved)| Style {
            space_as_plus,
            lower_hex,
            encode_unreserved,
        },
    )
}

fn form_encode(text: &str, style: Style) -> String {
    let mut out = String::new();
    for &b in text.as_bytes() {
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if b == b' ' && style.space_as_plus {
            out.push('+');
        } else if unreserved && !style.encode_unreserved {
            out.push(char::from(b));
        } else if style.lower_hex {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A short form value: 1 to 64 characters of any Unicode, spaces and `&=+%` likely.
fn form_value(max_chars: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::char::any(),
        1 => prop::sample::select(vec![' ', '&', '=', '+', '%', '\u{0}', '\u{e9}', '\u{1F600}']),
        3 => proptest::char::range('a', 'z'),
    ];
    proptest::collection::vec(piece, 1..max_chars).prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(config(256))]

    /// Encoding the known parameters (and an unknown one) in any style and order, then
    /// parsing, gives the values back.
    #[test]
    fn form_round_trip(
        grant_type in form_value(40),
        assertion in form_value(400),
        client_assertion_type in form_value(40),
        client_assertion in form_value(400),
        client_id in form_value(40),
        scope in form_value(60),
        unknown in form_value(40),
        styles in proptest::collection::vec(style(), 7),
        name_styles in proptest::collection::vec(style(), 7),
        order in Just((0..7).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        let pairs = [
            ("grant_type", &grant_type),
            ("assertion", &assertion),
            ("client_assertion_type", &client_assertion_type),
            ("client_assertion", &client_assertion),
            ("client_id", &client_id),
            ("scope", &scope),
            ("code", &unknown),
        ];
        let body: Vec<String> = order
            .iter()
            .map(|&i| {
                let (name, value) = pairs[i];
                format!("{}={}", form_encode(name, name_styles[i]), form_encode(value, styles[i]))
            })
            .collect();
        let body = body.join("&");
        let mut bytes = body.clone().into_bytes();
        let params = TokenParams::parse(&mut bytes)
            .unwrap_or_else(|e| panic!("{e:?} for {body}"));
        prop_assert_eq!(params.grant_type, Some(grant_type.as_str()));
        prop_assert_eq!(params.assertion, Some(assertion.as_str()));
        prop_assert_eq!(params.client_assertion_type, Some(client_assertion_type.as_str()));
        prop_assert_eq!(params.client_assertion, Some(client_assertion.as_str()));
        prop_assert_eq!(params.client_id, Some(client_id.as_str()));
        prop_assert_eq!(params.scope, Some(scope.as_str()));
        prop_assert!(!params.client_secret_present);
    }
}

// ---------------------------------------------------------------------------------------------
// NumericDate
// ---------------------------------------------------------------------------------------------

/// Number text: the RFC 8259 grammar with long digit runs and huge exponents, or any mix of
/// number characters (mostly not JSON).
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "-?(0|[1-9][0-9]{0,40})(\\.[0-9]{1,40})?([eE][+-]?[0-9]{1,25})?",
        1 => "[0-9eE.+-]{1,40}",
        1 => "(0|[1-9][0-9]{0,15})(\\.[0-9]{1,3})?",
    ]
}

/// True when `text` is an RFC 8259 §6 number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    fn digits(s: &[u8]) -> usize {
        s.iter().take_while(|b| b.is_ascii_digit()).count()
    }
    let mut s = text.as_bytes();
    if let [b'-', rest @ ..] = s {
        s = rest;
    }
    match s {
        [b'0', rest @ ..] => s = rest,
        [b'1'..=b'9', ..] => s = &s[digits(s)..],
        _ => return false,
    }
    if let [b'.', rest @ ..] = s {
        let n = digits(rest);
        if n == 0 {
            return false;
        }
        s = &rest[n..];
    }
    if let [b'e' | b'E', rest @ ..] = s {
        let rest = match rest {
            [b'+' | b'-', r @ ..] => r,
            r => r,
        };
        let n = digits(rest);
        if n == 0 {
            return false;
        }
        s = &rest[n..];
    }
    s.is_empty()
}

/// What a NumericDate reader must do with `text`, decided with exact decimal arithmetic on
/// the digits: `Some((floor, fractional))` when the value is accepted.
fn reference(text: &str) -> Option<(u64, bool)> {
    if text.starts_with('-') {
        return None;
    }
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => {
            let exponent = &text[i + 1..];
            let saturated = if exponent.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            };
            (&text[..i], exponent.parse::<i64>().unwrap_or(saturated))
        }
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some((0, false));
    }
    // value = digits × 10^scale
    let scale = exponent.saturating_sub(frac_part.len() as i64);
    let (whole, fraction): (String, &str) = if scale >= 0 {
        if scale > 20 {
            return None;
        }
        (format!("{digits}{}", "0".repeat(scale as usize)), "")
    } else {
        let cut = digits.len() as i64 + scale;
        if cut <= 0 {
            ("0".to_owned(), digits)
        } else {
            (digits[..cut as usize].to_owned(), &digits[cut as usize..])
        }
    };
    let seconds: u64 = whole.parse().ok()?;
    let fractional = fraction.bytes().any(|d| d != b'0');
    if seconds > MAX_NUMERIC_DATE || (seconds == MAX_NUMERIC_DATE && fractional) {
        return None;
    }
    Some((seconds, fractional))
}

proptest! {
    #![proptest_config(config(CASES))]

    /// Any number text in `exp`, `nbf` and `iat` of a verified assertion: accepted with
    /// exactly the value the reference computes, or refused with a typed error.
    #[test]
    fn numeric_date_never_panics(exp in number_text(), nbf in number_text(), iat in number_text()) {
        let f = fixtures();
        let payload = format!(r#"{{"exp":{exp},"nbf":{nbf},"iat":{iat}}}"#);
        let token = sign_raw(br#"{"alg":"RS256"}"#, payload.as_bytes());
        let mut buffer = DecodeBuffer::new();
        let verified = UnverifiedAssertion::parse(&token, &mut buffer)
            .and_then(|t| t.verify(&f.keys))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let valid_json = [&exp, &nbf, &iat].iter().all(|t| is_json_number(t));
        let too_long = [&exp, &nbf, &iat].iter().any(|t| t.len() > 32);
        match verified.claims() {
            Ok(claims) => {
                prop_assert!(valid_json && !too_long);
                for (text, date) in [(&exp, claims.exp()), (&nbf, claims.nbf()), (&iat, claims.iat())] {
                    let date = date.unwrap_or_else(|| panic!("{text} accepted but absent"));
                    prop_assert_eq!(Some((date.floor(), date.is_fractional())), reference(text), "{}", text);
                    prop_assert_eq!(date.ceil(), date.floor() + u64::from(date.is_fractional()));
                }
            }
            Err(Error::InvalidClaim(claim)) => {
                prop_assert!(valid_json);
                let text = match claim {
                    Claim::Exp => &exp,
                    Claim::Nbf => &nbf,
                    Claim::Iat => &iat,
                    other => panic!("{other:?}"),
                };
                prop_assert_eq!(reference(text), None, "{} refused", text);
            }
            Err(Error::TooLarge(Limit::NumberLength)) => prop_assert!(too_long),
            Err(Error::Malformed(Malformed::Json(_))) => prop_assert!(!valid_json || too_long),
            Err(other) => prop_assert!(false, "unexpected {:?} for {}", other, payload),
        }
    }
}
