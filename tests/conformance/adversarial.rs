//! The adversarial table: one row per attack on a JWT validator, each with the exact error it
//! must meet. Tokens are validated by a [`GrantProfile`] (or a [`ClientAuthProfile`] where the
//! row says so); request bodies go through [`TokenEndpoint::handle`].
//!
//! The trusted key is the first SHA-256 key of Wycheproof's `rsa_pkcs1_2048_sig_gen_test.json`
//! (its public half, without a `kid`, for [`ISSUER`]; the same key with `kid` `k1` for
//! [`KID_ISSUER`]); the attacker's key is another group's key of that file. Every attack that
//! needs a signature gets a real one, so each row fails for the reason it names and not for an
//! earlier one.
//!
//! A few rows are boundaries that must pass (`Accepted`): the `aud` array at its limit, a
//! NumericDate at its maximum.

use std::sync::OnceLock;

use rfc7523::form::FormError;
use rfc7523::limits::{
    MAX_AUDIENCE_VALUES, MAX_FORM_BODY_LEN, MAX_HEADER_STRING_LEN, MAX_NUMBER_LEN, MAX_TOKEN_LEN,
};
use rfc7523::token_request::{RequestProblem, JWT_BEARER_GRANT_TYPE};
use rfc7523::{
    Claim, ClientAuthProfile, Error, GrantProfile, HeaderParameter, KeySet, Limit, Malformed,
    MemoryReplayStore, Part, Party, TokenEndpoint, TokenError, VerifyingKey,
};
use rfc7523::{DecodeBuffer, TokenBuffers};
use rfc7523_conformance::{b64url, b64url_decode, sig_gen_2048_sha256_groups, Failures};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const NOW: u64 = 1_700_000_000;
const AS_ISSUER: &str = "https://as.example";
const ISSUER: &str = "https://issuer.example";
const KID_ISSUER: &str = "https://kid-issuer.example";
const CLIENT: &str = "client-1";

struct Keys {
    trusted: SigningKey<Sha256>,
    attacker: SigningKey<Sha256>,
    public_pem: String,
    public_der: Vec<u8>,
    public_jwk: String,
    attacker_jwk: Value,
    keys: KeySet,
    kid_keys: KeySet,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let groups = sig_gen_2048_sha256_groups();
        let main = &groups[0];
        let other = groups
            .iter()
            .find(|g| g["privateKeyPem"] != main["privateKeyPem"])
            .unwrap_or_else(|| panic!("no second key"));
        let text =
            |g: &Value, m: &str| g[m].as_str().unwrap_or_else(|| panic!("no {m}")).to_owned();
        let signing = |pem: &str| {
            SigningKey::<Sha256>::new(
                rsa::RsaPrivateKey::from_pkcs1_pem(pem).unwrap_or_else(|e| panic!("{e}")),
            )
        };
        let public_pem = text(main, "keyPem");
        let keys = KeySet::from_pem(&public_pem).unwrap_or_else(|e| panic!("{e}"));
        let kid_keys = KeySet::from_key(
            &VerifyingKey::from_pem(&public_pem)
                .and_then(|k| k.with_kid("k1"))
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Keys {
            trusted: signing(&text(main, "privateKeyPem")),
            attacker: signing(&text(other, "privateKeyPem")),
            public_der: rfc7523_conformance::hex(&text(main, "keyDer")),
            public_jwk: main["keyJwk"].to_string(),
            attacker_jwk: other["keyJwk"].clone(),
            public_pem,
            keys,
            kid_keys,
        }
    })
}

/// A valid grant claim set (with a unique `jti`).
fn claims(jti: &str) -> Value {
    json!({
        "iss": ISSUER, "sub": "alice", "aud": AS_ISSUER,
        "exp": NOW + 300, "iat": NOW - 10, "jti": jti,
    })
}

fn sign_with(key: &SigningKey<Sha256>, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64url(header), b64url(payload));
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64url(&signature.to_bytes()))
}

/// Signed with the trusted key.
fn signed(header: &str, payload: &str) -> String {
    sign_with(&keys().trusted, header.as_bytes(), payload.as_bytes())
}

/// Signed with the trusted key over raw header and payload bytes.
fn signed_bytes(header: &[u8], payload: &[u8]) -> String {
    sign_with(&keys().trusted, header, payload)
}

const RS256: &str = r#"{"alg":"RS256","typ":"JWT"}"#;

/// The token with its signature segment replaced.
fn with_signature(token: &str, signature: &[u8]) -> String {
    let input = token.rsplit_once('.').map_or(token, |(input, _)| input);
    format!("{input}.{}", b64url(signature))
}

fn signature_of(token: &str) -> Vec<u8> {
    token
        .rsplit('.')
        .next()
        .and_then(b64url_decode)
        .unwrap_or_else(|| panic!("no signature in {token}"))
}

/// HMAC-SHA256 (RFC 2104), for the "HS256 keyed with the public key" attack.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// An HS256 token over the standard claims, keyed with `secret`.
fn hs256(secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(claims("hs").to_string().as_bytes())
    );
    let mac = hmac_sha256(secret, input.as_bytes());
    format!("{input}.{}", b64url(&mac))
}

/// A valid token whose RS256 signature starts with 0x00: the first `jti` of `lz-0`, `lz-1`, …
/// that gives one (PKCS#1 v1.5 signing is deterministic, so this is always the same token).
fn token_with_leading_zero_signature() -> String {
    for i in 0..10_000 {
        let token = signed(RS256, &claims(&format!("lz-{i}")).to_string());
        let signature = signature_of(&token);
        assert_eq!(signature.len(), 256);
        if signature[0] == 0 {
            return token;
        }
    }
    panic!("no signature with a leading zero byte in 10,000 tries");
}

/// What a row expects.
#[derive(Debug, Clone, PartialEq)]
enum Expected {
    /// The assertion is refused with exactly this error.
    Refused(Error),
    /// The request is refused with exactly this error.
    Request(TokenError),
    /// A boundary that must pass.
    Accepted,
}

/// Which profile validates a token row.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Via {
    Grant,
    Client,
    /// A token request body through `TokenEndpoint::handle`.
    Body,
}

struct Row {
    attack: String,
    via: Via,
    input: Vec<u8>,
    expected: Expected,
}

fn row(attack: impl Into<String>, token: impl Into<String>, expected: Error) -> Row {
    Row {
        attack: attack.into(),
        via: Via::Grant,
        input: token.into().into_bytes(),
        expected: Expected::Refused(expected),
    }
}

fn accepted(attack: impl Into<String>, token: impl Into<String>) -> Row {
    Row {
        attack: attack.into(),
        via: Via::Grant,
        input: token.into().into_bytes(),
        expected: Expected::Accepted,
    }
}

fn body(attack: impl Into<String>, body: impl Into<Vec<u8>>, expected: TokenError) -> Row {
    Row {
        attack: attack.into(),
        via: Via::Body,
        input: body.into(),
        expected: Expected::Request(expected),
    }
}

fn client_row(attack: impl Into<String>, token: impl Into<String>, expected: Error) -> Row {
    Row {
        via: Via::Client,
        ..row(attack, token, expected)
    }
}

/// Nested arrays `depth` deep as the value of an unknown claim.
fn nested(depth: usize) -> String {
    let mut base = claims("deep").to_string();
    base.pop();
    format!("{base},\"x\":{}{}}}", "[".repeat(depth), "]".repeat(depth))
}

fn table() -> Vec<Row> {
    let k = keys();
    let good = signed(RS256, &claims("good").to_string());
    let payload_b64 = good.split('.').nth(1).unwrap_or_default().to_owned();
    let claims_text = claims("c").to_string();
    let mut rows = Vec::new();

    // --- alg: none and its case variants, unsigned and with the real signature kept.
    for alg in ["none", "None", "NONE", "nOnE", "none ", " none"] {
        let header = b64url(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
        rows.push(row(
            format!("alg {alg:?}, empty signature"),
            format!("{header}.{payload_b64}."),
            Error::UnsupportedAlgorithm,
        ));
        rows.push(row(
            format!("alg {alg:?}, a real signature kept"),
            format!("{header}.{payload_b64}.{}", b64url(&signature_of(&good))),
            Error::UnsupportedAlgorithm,
        ));
    }
    rows.push(row(
        "alg none with an escaped spelling (\\u006eone)",
        format!("{}.{payload_b64}.", b64url(br#"{"alg":"\u006eone"}"#)),
        Error::UnsupportedAlgorithm,
    ));
    for alg in [
        "rs256",
        "Rs256",
        "RS256\u{0}",
        "RS384",
        "PS256",
        "ES256",
        "EdDSA",
    ] {
        rows.push(row(
            format!("alg {alg:?} (not exactly RS256)"),
            signed(&json!({ "alg": alg }).to_string(), &claims_text),
            Error::UnsupportedAlgorithm,
        ));
    }
    rows.push(row(
        "alg missing",
        signed(r#"{"typ":"JWT"}"#, &claims_text),
        Error::Malformed(Malformed::MissingAlgorithm),
    ));
    rows.push(row(
        "alg as an array [\"RS256\"]",
        signed(r#"{"alg":["RS256"]}"#, &claims_text),
        Error::Malformed(Malformed::HeaderValue(HeaderParameter::Alg)),
    ));

    // --- Algorithm confusion: HS256 keyed with the public key, in every form a server holds.
    for (form, secret) in [
        ("PEM", k.public_pem.as_bytes().to_vec()),
        (
            "PEM without trailing newline",
            k.public_pem.trim_end().as_bytes().to_vec(),
        ),
        ("DER", k.public_der.clone()),
        ("JWK text", k.public_jwk.as_bytes().to_vec()),
    ] {
        rows.push(row(
            format!("HS256 keyed with the public key ({form})"),
            hs256(&secret),
            Error::UnsupportedAlgorithm,
        ));
    }

    // --- kid: path traversal, SQL, very long text. It only selects among configured keys,
    // so against keys with kids an unknown kid finds no key; too long is refused.
    let kid_claims = json!({
        "iss": KID_ISSUER, "sub": "alice", "aud": AS_ISSUER, "exp": NOW + 300,
    })
    .to_string();
    for kid in [
        "../../../../../../etc/passwd",
        "..\\..\\..\\windows\\win.ini",
        "/dev/null",
        "' OR '1'='1' --",
        "k1' UNION SELECT 'secret' --",
        "k1\u{0}",
        "K1",
        " k1",
        "http://attacker.example/key",
    ] {
        rows.push(row(
            format!("kid {kid:?} (keys have kid k1)"),
            signed(
                &json!({ "alg": "RS256", "kid": kid }).to_string(),
                &kid_claims,
            ),
            Error::UnknownKey,
        ));
    }
    rows.push(row(
        format!(
            "kid of {} bytes (one past the limit)",
            MAX_HEADER_STRING_LEN + 1
        ),
        signed(
            &json!({ "alg": "RS256", "kid": "k".repeat(MAX_HEADER_STRING_LEN + 1) }).to_string(),
            &kid_claims,
        ),
        Error::TooLarge(Limit::StringLength),
    ));
    rows.push(row(
        "kid of 700 bytes",
        signed(
            &json!({ "alg": "RS256", "kid": "../".repeat(233) }).to_string(),
            &kid_claims,
        ),
        Error::TooLarge(Limit::StringLength),
    ));
    rows.push(row(
        "kid as a number",
        signed(r#"{"alg":"RS256","kid":1}"#, &kid_claims),
        Error::Malformed(Malformed::HeaderValue(HeaderParameter::Kid)),
    ));

    // --- crit, b64, zip, nested JWT.
    for (header, parameter) in [
        (
            r#"{"alg":"RS256","crit":["exp"],"exp":1}"#,
            HeaderParameter::Crit,
        ),
        (r#"{"alg":"RS256","crit":[]}"#, HeaderParameter::Crit),
        (
            r#"{"alg":"RS256","crit":["b64"],"b64":false}"#,
            HeaderParameter::Crit,
        ),
        (r#"{"alg":"RS256","b64":false}"#, HeaderParameter::B64),
        (r#"{"alg":"RS256","b64":true}"#, HeaderParameter::B64),
        (r#"{"alg":"RS256","zip":"DEF"}"#, HeaderParameter::Zip),
        (r#"{"alg":"RS256","cty":"JWT"}"#, HeaderParameter::Cty),
    ] {
        rows.push(row(
            format!("header {header}"),
            signed(header, &claims_text),
            Error::UnsupportedHeader(parameter),
        ));
    }

    // --- jku / x5u / jwk / x5c: signed by the attacker, pointing at the attacker's key.
    let attacker_headers = [
        json!({ "alg": "RS256", "jku": "https://attacker.example/jwks.json" }),
        json!({ "alg": "RS256", "x5u": "https://attacker.example/cert.pem" }),
        json!({ "alg": "RS256", "jwk": k.attacker_jwk }),
        json!({ "alg": "RS256", "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"] }),
        json!({ "alg": "RS256", "jwk": k.attacker_jwk, "jku": "https://attacker.example/j" }),
    ];
    for header in attacker_headers {
        let name = header
            .as_object()
            .map(|o| {
                o.keys()
                    .filter(|k| *k != "alg")
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .join("+");
        rows.push(row(
            format!("{name} header naming the attacker's key, signed by the attacker"),
            sign_with(
                &k.attacker,
                header.to_string().as_bytes(),
                claims_text.as_bytes(),
            ),
            Error::InvalidSignature,
        ));
    }

    // --- Duplicate members (also spelled differently but equal once unescaped).
    rows.push(row(
        "duplicate alg in the header (RS256 then none)",
        signed(r#"{"alg":"RS256","alg":"none"}"#, &claims_text),
        Error::Malformed(Malformed::DuplicateMember(Part::Header)),
    ));
    rows.push(row(
        "duplicate alg in the header, escaped (\\u0061lg)",
        signed(r#"{"alg":"RS256","\u0061lg":"RS256"}"#, &claims_text),
        Error::Malformed(Malformed::DuplicateMember(Part::Header)),
    ));
    let mut dup = claims("dup").to_string();
    dup.pop();
    rows.push(row(
        "duplicate iss in the claims",
        signed(RS256, &format!(r#"{dup},"iss":"https://evil.example"}}"#)),
        Error::Malformed(Malformed::DuplicateMember(Part::Payload)),
    ));
    rows.push(row(
        "duplicate sub in the claims, escaped (s\\u0075b)",
        signed(RS256, &format!(r#"{dup},"s\u0075b":"admin"}}"#)),
        Error::Malformed(Malformed::DuplicateMember(Part::Payload)),
    ));

    // --- Invalid UTF-8, NUL bytes, lone surrogates, control characters.
    rows.push(row(
        "invalid UTF-8 in the header",
        signed_bytes(
            b"{\"alg\":\"RS256\",\"kid\":\"\xff\"}",
            claims_text.as_bytes(),
        ),
        Error::Malformed(Malformed::Utf8(Part::Header)),
    ));
    rows.push(row(
        "overlong UTF-8 (C0 AF, an encoded '/') in the claims",
        signed_bytes(
            RS256.as_bytes(),
            b"{\"iss\":\"https:\xC0\xAF\xC0\xAFissuer.example\"}",
        ),
        Error::Malformed(Malformed::Utf8(Part::Payload)),
    ));
    rows.push(row(
        "a raw NUL byte inside a claim string",
        signed_bytes(
            RS256.as_bytes(),
            format!("{{\"iss\":\"{ISSUER}\u{0}\",\"sub\":\"a\"}}").as_bytes(),
        ),
        Error::Malformed(Malformed::Json(Part::Payload)),
    ));
    rows.push(row(
        "an escaped NUL (\\u0000) appended to a trusted iss",
        signed(
            RS256,
            &claims_text.replace(ISSUER, &format!("{ISSUER}\\u0000")),
        ),
        Error::IssuerMismatch,
    ));
    rows.push(row(
        "a NUL byte inside the token text",
        format!("{}\u{0}", good),
        Error::Malformed(Malformed::Base64(Part::Signature)),
    ));
    for (what, escape) in [
        ("lone high surrogate \\ud800", "\\ud800"),
        ("lone low surrogate \\udc00", "\\udc00"),
        (
            "high surrogate then a non-surrogate \\ud800\\u0041",
            "\\ud800\\u0041",
        ),
        ("two high surrogates \\ud800\\ud800", "\\ud800\\ud800"),
        ("reversed pair \\ude00\\ud83d", "\\ude00\\ud83d"),
    ] {
        rows.push(row(
            format!("{what} in sub"),
            signed(
                RS256,
                &claims_text.replace("\"sub\":\"alice\"", &format!("\"sub\":\"a{escape}\"")),
            ),
            Error::Malformed(Malformed::Json(Part::Payload)),
        ));
    }
    rows.push(row(
        "a raw tab inside a claim string",
        signed(RS256, &claims_text.replace("alice", "al\tice")),
        Error::Malformed(Malformed::Json(Part::Payload)),
    ));

    // --- Overlong and extreme numbers.
    let exp_text = (NOW + 300).to_string();
    let with_exp = |text: &str| claims_text.replace(&exp_text, text);
    rows.push(row(
        format!("exp of {} digits", MAX_NUMBER_LEN + 1),
        signed(RS256, &with_exp(&"9".repeat(MAX_NUMBER_LEN + 1))),
        Error::TooLarge(Limit::NumberLength),
    ));
    rows.push(row(
        "exp with 40 leading zeros",
        signed(RS256, &with_exp(&format!("{}{exp_text}", "0".repeat(40)))),
        Error::Malformed(Malformed::Json(Part::Payload)),
    ));
    rows.push(row(
        "exp 1e999999999 (astronomical exponent)",
        signed(RS256, &with_exp("1e999999999")),
        Error::InvalidClaim(Claim::Exp),
    ));
    rows.push(row(
        "exp 2^53 (one past the NumericDate limit)",
        signed(RS256, &with_exp("9007199254740992")),
        Error::InvalidClaim(Claim::Exp),
    ));
    rows.push(row(
        "exp -1",
        signed(RS256, &with_exp("-1")),
        Error::InvalidClaim(Claim::Exp),
    ));
    rows.push(row(
        "exp as a numeric string",
        signed(RS256, &with_exp(&format!("\"{exp_text}\""))),
        Error::InvalidClaim(Claim::Exp),
    ));
    rows.push(row(
        "exp NaN (not JSON)",
        signed(RS256, &with_exp("NaN")),
        Error::Malformed(Malformed::Json(Part::Payload)),
    ));
    rows.push(row(
        "exp Infinity (not JSON)",
        signed(RS256, &with_exp("Infinity")),
        Error::Malformed(Malformed::Json(Part::Payload)),
    ));
    // Read, then refused by the default maximum lifetime (it would keep a replay entry for
    // 285 million years).
    rows.push(row(
        "exp 2^53 - 1 (the NumericDate limit itself)",
        signed(RS256, &with_exp("9007199254740991")),
        Error::LifetimeTooLong {
            lifetime: 9_007_199_254_740_991 - (NOW - 10), // exp − iat
            max: rfc7523::profile::DEFAULT_MAX_LIFETIME,
        },
    ));

    // --- Size: 1 MiB tokens, deep nesting.
    let mib = 1 << 20;
    rows.push(row(
        "a 1 MiB token",
        format!(
            "{}.{}.{}",
            b64url(RS256.as_bytes()),
            "A".repeat(mib),
            "A".repeat(344)
        ),
        Error::TooLarge(Limit::TokenLength),
    ));
    rows.push(row(
        "a 1 MiB token of dots",
        ".".repeat(mib),
        Error::TooLarge(Limit::TokenLength),
    ));
    rows.push(row(
        format!(
            "a token one byte past MAX_TOKEN_LEN ({})",
            MAX_TOKEN_LEN + 1
        ),
        format!("{good}{}", "A".repeat(MAX_TOKEN_LEN + 1 - good.len())),
        Error::TooLarge(Limit::TokenLength),
    ));
    rows.push(row(
        "10,000-deep nesting (too long to be a token)",
        signed(RS256, &nested(10_000)),
        Error::TooLarge(Limit::TokenLength),
    ));
    rows.push(row(
        "2,500-deep nesting in an unknown claim (fits in a token)",
        signed(RS256, &nested(2_500)),
        Error::TooLarge(Limit::JsonDepth),
    ));
    rows.push(row(
        "16-deep nesting: one past MAX_JSON_DEPTH",
        signed(RS256, &nested(16)),
        Error::TooLarge(Limit::JsonDepth),
    ));
    rows.push(accepted(
        "15-deep nesting: at MAX_JSON_DEPTH",
        signed(RS256, &nested(15)),
    ));
    rows.push(row(
        "300-deep nesting in the header",
        signed(
            &format!(
                r#"{{"alg":"RS256","x":{}{}}}"#,
                "[".repeat(300),
                "]".repeat(300)
            ),
            &claims_text,
        ),
        Error::TooLarge(Limit::JsonDepth),
    ));

    // --- Non-canonical base64url and whitespace.
    let (input, signature_b64) = good.rsplit_once('.').unwrap_or_default();
    // (344 random characters without '-' or '_' would have odds of about 1 in 50,000.)
    assert!(signature_b64.contains(['-', '_']), "{signature_b64}");
    let header_b64 = good.split('.').next().unwrap_or_default();
    let last = signature_b64.chars().last().unwrap_or('A');
    // 256 bytes are 342 characters, the last carrying 2 bits and 4 zero bits: setting one of
    // those 4 bits decodes to the same bytes, and must still be refused.
    let sloppy = match last {
        'A' => 'B',
        'Q' => 'R',
        'g' => 'h',
        'w' => 'x',
        other => panic!("unexpected final character {other}"),
    };
    rows.push(row(
        "non-canonical base64url: non-zero padding bits in the signature",
        format!("{}{sloppy}", &good[..good.len() - 1]),
        Error::Malformed(Malformed::Base64(Part::Signature)),
    ));
    rows.push(row(
        "base64 padding '=' on the signature",
        format!("{input}.{signature_b64}="),
        Error::Malformed(Malformed::Base64(Part::Signature)),
    ));
    rows.push(row(
        "standard alphabet (+ and /) in the signature",
        format!(
            "{input}.{}",
            signature_b64.replace('-', "+").replace('_', "/")
        ),
        Error::Malformed(Malformed::Base64(Part::Signature)),
    ));
    rows.push(row(
        "base64 padding '=' on the header",
        format!("{header_b64}=={}", &good[header_b64.len()..]),
        Error::Malformed(Malformed::Base64(Part::Header)),
    ));
    for (what, token) in [
        ("a leading space", format!(" {good}")),
        ("a 'Bearer ' prefix", format!("Bearer {good}")),
    ] {
        rows.push(row(
            format!("whitespace: {what}"),
            token,
            Error::Malformed(Malformed::Base64(Part::Header)),
        ));
    }
    for (what, token) in [
        ("a trailing newline", format!("{good}\n")),
        ("a trailing CRLF", format!("{good}\r\n")),
        (
            "a space inside the signature",
            format!("{}  {}", &good[..good.len() - 10], &good[good.len() - 10..]),
        ),
    ] {
        rows.push(row(
            format!("whitespace: {what}"),
            token,
            Error::Malformed(Malformed::Base64(Part::Signature)),
        ));
    }
    rows.push(row(
        "whitespace: a line break inside the payload",
        format!(
            "{header_b64}.{}\n{}",
            &payload_b64[..10],
            &good[header_b64.len() + 11..]
        ),
        Error::Malformed(Malformed::Base64(Part::Payload)),
    ));
    rows.push(accepted(
        "whitespace inside the JSON itself (valid JSON)",
        signed(
            "{ \"alg\" :\t\"RS256\" ,\r\n \"typ\" : \"JWT\" }",
            &format!("\n {}\n", claims("ws")),
        ),
    ));

    // --- Signature length.
    let signature = signature_of(&good);
    rows.push(row(
        "signature one byte short (255 of 256)",
        with_signature(&good, &signature[..255]),
        Error::Malformed(Malformed::SignatureLength),
    ));
    rows.push(row(
        "signature one byte long (a 0x00 prepended)",
        with_signature(&good, &[&[0u8][..], &signature].concat()),
        Error::Malformed(Malformed::SignatureLength),
    ));
    let leading_zero = token_with_leading_zero_signature();
    let lz_signature = signature_of(&leading_zero);
    rows.push(accepted(
        "a valid signature whose first byte is 0x00, kept (256 bytes)",
        leading_zero.clone(),
    ));
    rows.push(row(
        "the same signature with its leading 0x00 stripped (255 bytes)",
        with_signature(&leading_zero, &lz_signature[1..]),
        Error::Malformed(Malformed::SignatureLength),
    ));
    rows.push(row(
        "signature of 256 zero bytes",
        with_signature(&good, &[0u8; 256]),
        Error::InvalidSignature,
    ));
    rows.push(row(
        "signature of 256 0xFF bytes (at least the modulus)",
        with_signature(&good, &[0xffu8; 256]),
        Error::InvalidSignature,
    ));
    rows.push(row(
        "the signature of another token",
        with_signature(&signed(RS256, &claims("other").to_string()), &signature),
        Error::InvalidSignature,
    ));

    // --- aud arrays at and past the limit.
    let aud_claims = |n: usize, matching: bool| {
        let mut values: Vec<String> = (0..n).map(|i| format!("https://rp-{i}.example")).collect();
        if matching {
            if let Some(last) = values.last_mut() {
                *last = AS_ISSUER.to_owned();
            }
        }
        let mut c = claims("aud");
        c["aud"] = json!(values);
        c.to_string()
    };
    rows.push(accepted(
        format!("aud array of {MAX_AUDIENCE_VALUES} values (the limit), ours last"),
        signed(RS256, &aud_claims(MAX_AUDIENCE_VALUES, true)),
    ));
    rows.push(row(
        format!("aud array of {MAX_AUDIENCE_VALUES} values, none ours"),
        signed(RS256, &aud_claims(MAX_AUDIENCE_VALUES, false)),
        Error::AudienceMismatch,
    ));
    rows.push(row(
        format!(
            "aud array of {} values (one past), ours last",
            MAX_AUDIENCE_VALUES + 1
        ),
        signed(RS256, &aud_claims(MAX_AUDIENCE_VALUES + 1, true)),
        Error::TooLarge(Limit::AudienceValues),
    ));
    rows.push(row(
        "aud array of 200 values",
        signed(RS256, &aud_claims(200, true)),
        Error::TooLarge(Limit::AudienceValues),
    ));
    rows.push(client_row(
        "client assertion whose aud array holds the issuer and another value",
        signed(
            r#"{"alg":"RS256"}"#,
            &json!({
                "iss": CLIENT, "sub": CLIENT, "aud": [AS_ISSUER, "https://rp.example"],
                "exp": NOW + 60, "jti": "two-audiences",
            })
            .to_string(),
        ),
        Error::AudienceMismatch,
    ));

    // --- Token request bodies.
    let grant = format!("grant_type={}&assertion={good}", JWT_BEARER_GRANT_TYPE);
    rows.push(body(
        "a 1 MiB request body",
        format!("{grant}&pad={}", "x".repeat(mib)),
        TokenError::InvalidRequest(RequestProblem::Form(FormError::BodyTooLong)),
    ));
    rows.push(body(
        format!(
            "a body one byte past MAX_FORM_BODY_LEN ({})",
            MAX_FORM_BODY_LEN + 1
        ),
        format!(
            "{grant}&pad={}",
            "x".repeat(MAX_FORM_BODY_LEN + 1 - grant.len() - 5)
        ),
        TokenError::InvalidRequest(RequestProblem::Form(FormError::BodyTooLong)),
    ));
    rows.push(body(
        "the assertion parameter twice (a second, forged assertion)",
        format!("{grant}&assertion=eyJhbGciOiJub25lIn0.e30."),
        TokenError::InvalidRequest(RequestProblem::Form(FormError::RepeatedParameter)),
    ));
    rows.push(body(
        "the assertion parameter twice, the second name percent-encoded",
        format!("{grant}&%61ssertion=x"),
        TokenError::InvalidRequest(RequestProblem::Form(FormError::RepeatedParameter)),
    ));
    rows.push(body(
        "invalid UTF-8 in the assertion (%FF)",
        format!("grant_type={JWT_BEARER_GRANT_TYPE}&assertion={good}%FF"),
        TokenError::InvalidRequest(RequestProblem::Form(FormError::BadEncoding)),
    ));
    rows.push(body(
        "a truncated percent escape",
        format!("{grant}&scope=%4"),
        TokenError::InvalidRequest(RequestProblem::Form(FormError::BadEncoding)),
    ));
    rows.push(body(
        "a NUL byte in grant_type (%00)",
        format!("grant_type={JWT_BEARER_GRANT_TYPE}%00&assertion={good}"),
        TokenError::UnsupportedGrantType,
    ));
    rows.push(body(
        "alg none inside a well-formed request",
        format!(
            "grant_type={JWT_BEARER_GRANT_TYPE}&assertion={}.{payload_b64}.",
            b64url(br#"{"alg":"none"}"#)
        ),
        TokenError::Grant(Error::UnsupportedAlgorithm),
    ));
    rows
}

#[test]
fn adversarial_table() {
    let k = keys();
    let issuers = [
        Party::new(ISSUER, &k.keys),
        Party::new(KID_ISSUER, &k.kid_keys),
    ];
    let clients = [Party::new(CLIENT, &k.keys)];
    let grant = GrantProfile {
        issuers: &issuers[..],
        audiences: &[AS_ISSUER],
    };
    let client = ClientAuthProfile {
        clients: &clients[..],
        issuer: AS_ISSUER,
        token_endpoint: None,
    };
    let endpoint = TokenEndpoint {
        grant: Some(grant),
        client_auth: Some(client),
        other_client_auth: Default::default(),
    };
    let rows = table();
    let mut failures = Failures::new("adversarial table");
    for row in &rows {
        let mut replay = MemoryReplayStore::<64>::new();
        let got = match row.via {
            Via::Body => match endpoint.handle(
                &mut row.input.to_vec(),
                NOW,
                &mut replay,
                &mut TokenBuffers::new(),
            ) {
                Ok(_) => Expected::Accepted,
                Err(e) => Expected::Request(e),
            },
            Via::Grant | Via::Client => {
                let Ok(token) = std::str::from_utf8(&row.input) else {
                    failures.push(&row.attack, "token rows must be text");
                    continue;
                };
                let mut buffer = DecodeBuffer::new();
                let result = if row.via == Via::Grant {
                    grant.validate(token, NOW, &mut replay, &mut buffer)
                } else {
                    client.validate(token, None, NOW, &mut replay, &mut buffer)
                };
                match result {
                    Ok(_) => Expected::Accepted,
                    Err(e) => Expected::Refused(e),
                }
            }
        };
        failures.check(
            got == row.expected,
            &row.attack,
            format!("expected {:?}, got {got:?}", row.expected),
        );
        // Whatever the input, the error body stays bounded and never echoes it.
        if let Expected::Refused(e) = &got {
            let body = e.response(rfc7523::Use::AuthorizationGrant).to_json();
            failures.check(
                !body.contains("attacker") && !body.contains("passwd") && !body.contains("OR '1"),
                &row.attack,
                format!("error body echoes input: {body}"),
            );
        }
    }
    println!("adversarial table: {} rows", rows.len());
    failures.assert_none();
    assert!(rows.len() >= 90, "{} rows", rows.len());
}
