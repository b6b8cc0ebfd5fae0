//! The claim scenarios of `vectors/claim_scenarios.md` (A–K), run through the public API of
//! both profiles, plus the client-authentication rules of RFC 10070 (formerly draft-ietf-oauth-rfc7523bis), replay
//! protection, the OAuth error mapping, the `sign` feature, and token requests
//! ([`TokenEndpoint::handle`]).
//!
//! Tokens are signed at test time: by a hand-built RS256 signer ([`sign_raw`], the `rsa`
//! crate's PKCS#1 v1.5 signer over arbitrary header and payload bytes) for claim sets that
//! [`AssertionSigner`] cannot produce, and by [`AssertionSigner`] itself for round trips. The
//! key pair is the first SHA-256 group of Wycheproof's `rsa_pkcs1_2048_sig_gen_test.json`
//! (2048 bits, e = 65537); another group's key (e = 3) plays "a different key".
//!
//! Where the libraries of claim_scenarios.md diverge, the rows pin our choice: A2 `exp == now`
//! is expired (leeway 0); A7 `exp = 0` is expired; C5 a numeric-string `iat` is
//! `InvalidClaim(Iat)`; E6 an array `iss` is `InvalidClaim(Iss)`; C1 an `iat` in the future is
//! refused whether or not a maximum age is set; I5 `b64` is refused even without `crit`;
//! sub-second dates (A5, B5, C2) are compared strictly, without truncation.
//!
//! Scenarios with no row (see [`NOT_IN_TABLE`]): D7 (an RFC 7523 verifier always has an
//! expected audience: `GrantProfile::audiences` and `ClientAuthProfile::issuer` are not
//! optional), D12 and K1–K4 (configuration type confusion that Rust's types rule out: the
//! audience is a `&str`, never bytes; the leeway and ages are `u64` seconds, so NaN, ±∞,
//! "Invalid Date" or a coerced object cannot be expressed, and there is a single duration
//! type, so K4's "timedelta vs seconds" cannot differ; `now` is a required `u64` argument,
//! so there is no silent fall-back to a system clock), D13 (no "match all audiences" mode),
//! J2 (the algorithm is fixed to RS256 by the verifier, there is nothing to configure), and
//! I7 (a missing assertion parameter is a token-request matter: see [`token_requests`]).

use std::collections::HashSet;
use std::sync::OnceLock;

use base64ct::{Base64UrlUnpadded, Encoding};
use rfc7523::error::OAuthError;
use rfc7523::form::{FormError, TokenParams};
use rfc7523::sign::{AssertionRequest, AssertionSigner, SignError};
use rfc7523::token_request::{
    RequestProblem, JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE,
};
use rfc7523::{
    Algorithms, Checks, Claim, ClientAuthProfile, Compat, Error, GrantProfile, HeaderParameter,
    KeySet, KeySource, Limit, Malformed, MaterialRef, MemoryReplayStore, Part, Party, Policy,
    Reason, Relaxation, ReplayEntry, ReplayError, ReplayKey, ReplayStore, RsaKey, Subjects,
    TokenEndpoint, TokenError, TypProblem, TypRule, Use, ValidatedAssertion, VerifyingKey,
};
use rfc7523::{ClaimCondition, ClaimConditions, ConditionProblem, DecodeBuffer, TokenBuffers};
use rfc7523_conformance::text;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{json, Value};
use sha2::Sha256;

/// The fixed "current time" of every scenario (2023-11-14T22:13:20Z).
const NOW: u64 = 1_700_000_000;

/// The authorization server's issuer identifier.
const AS_ISSUER: &str = "https://as.example";
/// Its token endpoint URL.
const TOKEN_ENDPOINT: &str = "https://as.example/token";
/// Trusted grant issuers (all with the main key; the last one's key has `kid` "k1").
const ISSUER: &str = "https://issuer.example";
const ISSUER_2: &str = "https://issuer-2.example";
const KID_ISSUER: &str = "https://kid-issuer.example";
/// Registered clients (both with the main key).
const CLIENT: &str = "client-1";
const CLIENT_2: &str = "client-2";
/// The grant's subject.
const SUBJECT: &str = "alice";
/// A long audience value, as Google-style client ids are (keats "aud_use_validation_struct").
const LONG_AUD: &str = concat!(
    "123456789012-abcdefghijklmnopqrstuvwxyz0123456.apps.googleusercontent.example.com",
    "/a/very/long/path/that/keeps/going/until/it/is/longer/than/one/hundred/and/sixty/bytes",
);

/// In [`grant_with`] / [`client_with`] changes: remove the claim.
const ABSENT: &str = "\u{0}absent";

// ---------------------------------------------------------------------------------------------
// Keys and signing
// ---------------------------------------------------------------------------------------------

struct Fixtures {
    main: SigningKey<Sha256>,
    other: SigningKey<Sha256>,
    main_private_pem: String,
    main_public_pem: String,
    keys: KeySet,
    kid_keys: KeySet,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let groups = rfc7523_conformance::sig_gen_2048_sha256_groups();
        let text_of = |g: &Value, member: &str| -> String {
            rfc7523_conformance::json_str(&g[member], member).to_owned()
        };
        let main = &groups[0];
        let main_private_pem = text_of(main, "privateKeyPem");
        let other = groups
            .iter()
            .find(|g| g["privateKeyPem"] != main["privateKeyPem"])
            .unwrap_or_else(|| panic!("no second SHA-256 key"));
        let signing_key = |pem: &str| {
            let key = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
                .unwrap_or_else(|e| panic!("PKCS#1 private key: {e}"));
            SigningKey::<Sha256>::new(key)
        };
        let main_public_pem = text_of(main, "keyPem");
        let keys = KeySet::from_pem(&main_public_pem).unwrap_or_else(|e| panic!("public key: {e}"));
        let kid_key = VerifyingKey::from_pem(&main_public_pem)
            .and_then(|k| k.with_kid("k1"))
            .unwrap_or_else(|e| panic!("public key: {e}"));
        let kid_keys = KeySet::from_key(&kid_key).unwrap_or_else(|e| panic!("key set: {e}"));
        Fixtures {
            main: signing_key(&main_private_pem),
            other: signing_key(&text_of(other, "privateKeyPem")),
            main_private_pem,
            main_public_pem,
            keys,
            kid_keys,
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// An RS256 compact JWS over arbitrary header and payload bytes.
fn sign_raw(key: &SigningKey<Sha256>, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

fn trusted_issuers<'a>(f: &'a Fixtures, policy: Policy<'a>) -> [Party<'a>; 3] {
    [
        Party::new(ISSUER, &f.keys).with_policy(policy),
        Party::new(ISSUER_2, &f.keys).with_policy(policy),
        Party::new(KID_ISSUER, &f.kid_keys).with_policy(policy),
    ]
}

fn registered_clients<'a>(f: &'a Fixtures, policy: Policy<'a>) -> [Party<'a>; 2] {
    [
        Party::new(CLIENT, &f.keys).with_policy(policy),
        Party::new(CLIENT_2, &f.keys).with_policy(policy),
    ]
}

/// The same parties with keys from `source`.
fn keyed<const N: usize>(parties: [Party<'_>; N], source: KeySource) -> [Party<'_>; N] {
    parties.map(|p| p.with_key_source(source))
}

/// The default policy with `checks`.
fn with_checks(checks: Checks) -> Policy<'static> {
    Policy {
        checks,
        ..Policy::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Claim sets
// ---------------------------------------------------------------------------------------------

fn grant_base() -> Value {
    json!({
        "iss": ISSUER, "sub": SUBJECT, "aud": AS_ISSUER,
        "exp": NOW + 300, "iat": NOW, "jti": "jti-1"
    })
}

fn client_base() -> Value {
    json!({
        "iss": CLIENT, "sub": CLIENT, "aud": AS_ISSUER, "exp": NOW + 60, "iat": NOW, "jti": "cjti-1"
    })
}

/// `base` with `changes` applied: each member replaces (or adds) a claim; [`ABSENT`] removes it.
fn merged(mut base: Value, changes: Value) -> Value {
    let (Some(target), Value::Object(changes)) = (base.as_object_mut(), changes) else {
        panic!("claim sets are objects");
    };
    for (name, value) in changes {
        if value == ABSENT {
            target.remove(&name);
        } else {
            target.insert(name, value);
        }
    }
    base
}

fn grant_with(changes: Value) -> Value {
    merged(grant_base(), changes)
}

fn client_with(changes: Value) -> Value {
    merged(client_base(), changes)
}

/// `base` with claim `name` replaced by the literal JSON text `raw` (numbers serde_json would
/// rewrite, such as `1.7e9` or `1700000000.001`).
fn with_raw(base: Value, name: &str, raw: &str) -> Vec<u8> {
    let base = merged(base, json!({ name: ABSENT }));
    let text = base.to_string();
    let open = text.strip_suffix('}').unwrap_or_else(|| panic!("object"));
    let sep = if open.len() > 1 { "," } else { "" };
    format!("{open}{sep}\"{name}\":{raw}}}").into_bytes()
}

// ---------------------------------------------------------------------------------------------
// The scenario table
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Profile {
    Grant,
    Client,
}

/// How the token's signature is made.
#[derive(Clone, Copy, Debug)]
enum SignWith {
    /// The trusted key.
    Main,
    /// Another key (same `iss`): H5, H6.
    Other,
    /// The trusted key, then one bit of the signature flipped.
    FlipBit,
    /// The trusted key, then the last signature byte dropped.
    Truncate,
    /// The trusted key over the base claim set; then the payload segment is replaced by the
    /// row's payload (signature of another payload).
    SwapPayload,
    /// No signing: this literal signature segment.
    Literal(&'static str),
}

#[derive(Clone, Debug)]
struct Config {
    checks: Checks,
    /// Grant: accepted audiences.
    audiences: Vec<&'static str>,
    /// Grant: pinned subject.
    subject: Option<&'static str>,
    /// Client: the server's issuer identifier.
    as_issuer: &'static str,
    /// Client: the token endpoint URL (accepted in `aud` only with the compat relaxation).
    token_endpoint: Option<&'static str>,
    /// Both: the party's compatibility relaxations.
    compat: Compat,
    /// Client: `typ` rule.
    typ: TypRule,
    /// Client: the request's `client_id` parameter.
    client_id: Option<&'static str>,
    sign: SignWith,
    /// Replaces the whole token.
    raw_token: Option<String>,
    /// Put in front of the token.
    token_prefix: Option<&'static str>,
    /// `checks.max_token_len = token.len() + delta`.
    max_len_delta: Option<isize>,
    now: u64,
    /// Entries put in the (capacity 2) replay store before the row runs.
    prefill: Vec<ReplayEntry>,
    /// Where every party's keys come from (fetched keys: usable until when).
    key_source: KeySource,
    /// Both: the party's claim conditions (`Policy::claims`).
    claims: Vec<ClaimCondition<'static>>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            checks: Checks::default(),
            audiences: vec![AS_ISSUER, TOKEN_ENDPOINT],
            subject: None,
            as_issuer: AS_ISSUER,
            token_endpoint: Some(TOKEN_ENDPOINT),
            compat: Compat::default(),
            typ: TypRule::default(),
            client_id: None,
            sign: SignWith::Main,
            raw_token: None,
            token_prefix: None,
            max_len_delta: None,
            now: NOW,
            prefill: Vec::new(),
            key_source: KeySource::Configured,
            claims: Vec::new(),
        }
    }
}

struct Row {
    what: String,
    profile: Profile,
    header: Vec<u8>,
    payload: Vec<u8>,
    config: Config,
    expect: Option<Result<(), Error>>,
}

fn row(what: &str, profile: Profile, payload: Value) -> Row {
    Row {
        what: what.to_owned(),
        profile,
        header: br#"{"alg":"RS256"}"#.to_vec(),
        payload: payload.to_string().into_bytes(),
        config: Config::default(),
        expect: None,
    }
}

fn grant(what: &str, payload: Value) -> Row {
    row(what, Profile::Grant, payload)
}

fn client(what: &str, payload: Value) -> Row {
    row(what, Profile::Client, payload)
}

impl Row {
    fn header(mut self, header: Value) -> Self {
        self.header = header.to_string().into_bytes();
        self
    }
    fn header_raw(mut self, header: &[u8]) -> Self {
        self.header = header.to_vec();
        self
    }
    fn payload_raw(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.payload = payload.into();
        self
    }
    fn with(mut self, tweak: impl FnOnce(&mut Config)) -> Self {
        tweak(&mut self.config);
        self
    }
    fn leeway(self, leeway: u64) -> Self {
        self.with(|c| c.checks.leeway = leeway)
    }
    fn sign(self, sign: SignWith) -> Self {
        self.with(|c| c.sign = sign)
    }
    fn client_id(self, id: &'static str) -> Self {
        self.with(|c| c.client_id = Some(id))
    }
    fn ok(mut self) -> Self {
        self.expect = Some(Ok(()));
        self
    }
    fn err(mut self, e: Error) -> Self {
        self.expect = Some(Err(e));
        self
    }
}

fn expired(exp: u64, leeway: u64) -> Error {
    Error::Expired {
        exp,
        now: NOW,
        leeway,
    }
}

fn not_yet_valid(nbf: u64, leeway: u64) -> Error {
    Error::NotYetValid {
        nbf,
        now: NOW,
        leeway,
    }
}

fn issued_in_future(iat: u64, leeway: u64) -> Error {
    Error::IssuedInFuture {
        iat,
        now: NOW,
        leeway,
    }
}

/// The claim condition of the workload identity rows.
const REPOSITORY_CONDITION: ClaimCondition<'static> = ClaimCondition {
    claim: "repository",
    value: "octo-org/octo-repo",
};

fn claim_mismatch(problem: ConditionProblem) -> Error {
    Error::ClaimMismatch {
        claim: rfc7523::ClaimName::new("repository"),
        problem,
    }
}

fn malformed(m: Malformed) -> Error {
    Error::Malformed(m)
}

fn seen(issuer: &str, jti: &str) -> ReplayEntry {
    ReplayEntry {
        key: ReplayKey::new(issuer, jti),
        expires_at: NOW + 1_000,
    }
}

fn unrelated(n: u32, expires_at: u64) -> ReplayEntry {
    ReplayEntry {
        key: ReplayKey::new("https://someone-else.example", &format!("other-{n}")),
        expires_at,
    }
}

/// A client policy with [`Compat::token_endpoint_audience`].
fn lenient_audience(c: &mut Config) {
    c.compat.token_endpoint_audience = true;
}

/// Every row. Descriptions start with the claim_scenarios.md id(s) they cover (`A2`,
/// `D11/D4`), or with the topic for rows beyond that list.
#[allow(clippy::too_many_lines)]
fn rows() -> Vec<Row> {
    use Profile::Client as C;
    let mut rows = vec![
        // ---- A. exp ----------------------------------------------------------------------
        grant(
            "A1 exp now-1 (leeway 0)",
            grant_with(json!({"exp": NOW - 1})),
        )
        .leeway(0)
        .err(expired(NOW - 1, 0)),
        grant(
            "A1 exp now-100 (default leeway 30)",
            grant_with(json!({"exp": NOW - 100})),
        )
        .err(expired(NOW - 100, 30)),
        grant(
            "A1 exp now-100000",
            grant_with(json!({"exp": NOW - 100_000, "iat": NOW - 100_300})),
        )
        .err(expired(NOW - 100_000, 30)),
        client(
            "A1 client: exp now-100",
            client_with(json!({"exp": NOW - 100})),
        )
        .err(expired(NOW - 100, 30)),
        grant(
            "A2 exp == now (leeway 0): expired",
            grant_with(json!({"exp": NOW})),
        )
        .leeway(0)
        .err(expired(NOW, 0)),
        client(
            "A2 client: exp == now (leeway 0): expired",
            client_with(json!({"exp": NOW})),
        )
        .leeway(0)
        .err(expired(NOW, 0)),
        grant(
            "A2 exp == now+1 (leeway 0)",
            grant_with(json!({"exp": NOW + 1})),
        )
        .leeway(0)
        .ok(),
        grant("A3 exp in the future", grant_base()).ok(),
        client("A3 client: exp in the future", client_base()).ok(),
        grant("A4 fractional exp in the future (now+0.5)", grant_base())
            .payload_raw(with_raw(grant_base(), "exp", "1700000000.5"))
            .leeway(0)
            .ok(),
        grant("A4 fractional exp in the past (now-1.5)", grant_base())
            .payload_raw(with_raw(grant_base(), "exp", "1699999998.5"))
            .leeway(0)
            .err(expired(NOW - 1, 0)),
        grant("A4 exp in exponent form 1.7000003e9", grant_base())
            .payload_raw(with_raw(grant_base(), "exp", "1.7000003e9"))
            .ok(),
        grant("A5 clock 1 ms after exp: expired", grant_base())
            .payload_raw(with_raw(grant_base(), "exp", "1699999999.999"))
            .leeway(0)
            .err(expired(NOW, 0)),
        grant("A5 clock 1 ms before exp: valid", grant_base())
            .payload_raw(with_raw(grant_base(), "exp", "1700000000.001"))
            .leeway(0)
            .ok(),
        grant(
            "A6 exp now-2 within leeway 5",
            grant_with(json!({"exp": NOW - 2})),
        )
        .leeway(5)
        .ok(),
        grant(
            "A6 exp now-2 outside leeway 1",
            grant_with(json!({"exp": NOW - 2})),
        )
        .leeway(1)
        .err(expired(NOW - 2, 1)),
        grant(
            "A6 exp now-30, leeway 0",
            grant_with(json!({"exp": NOW - 30})),
        )
        .leeway(0)
        .err(expired(NOW - 30, 0)),
        grant(
            "A6 exp now-30, leeway 60",
            grant_with(json!({"exp": NOW - 30})),
        )
        .leeway(60)
        .ok(),
        grant(
            "A6 exp = now - leeway (boundary): expired",
            grant_with(json!({"exp": NOW - 30})),
        )
        .err(expired(NOW - 30, 30)),
        grant(
            "A6 exp = now - leeway + 1 (boundary): valid",
            grant_with(json!({"exp": NOW - 29})),
        )
        .ok(),
        grant(
            "A7 exp = 0: expired",
            grant_with(json!({"exp": 0, "iat": ABSENT})),
        )
        .err(expired(0, 30)),
        grant(
            "A8 exp string \"not-an-int\"",
            grant_with(json!({"exp": "not-an-int"})),
        )
        .err(Error::InvalidClaim(Claim::Exp)),
        grant("A8 exp empty string", grant_with(json!({"exp": ""})))
            .err(Error::InvalidClaim(Claim::Exp)),
        grant("A8 exp string \"foo\"", grant_with(json!({"exp": "foo"})))
            .err(Error::InvalidClaim(Claim::Exp)),
        grant("A8 exp null", grant_with(json!({"exp": null}))).err(Error::InvalidClaim(Claim::Exp)),
        grant(
            "A8 exp numeric string",
            grant_with(json!({"exp": (NOW + 300).to_string()})),
        )
        .err(Error::InvalidClaim(Claim::Exp)),
        grant("A8 exp boolean", grant_with(json!({"exp": true})))
            .err(Error::InvalidClaim(Claim::Exp)),
        grant("A8 exp array", grant_with(json!({"exp": [NOW + 300]})))
            .err(Error::InvalidClaim(Claim::Exp)),
        grant("A8 exp negative", grant_with(json!({"exp": -1})))
            .err(Error::InvalidClaim(Claim::Exp)),
        grant("A8 exp -0", grant_base())
            .payload_raw(with_raw(grant_base(), "exp", "-0"))
            .err(Error::InvalidClaim(Claim::Exp)),
        grant(
            "A8 exp above 2^53-1",
            grant_with(json!({"exp": 9_007_199_254_740_992_u64})),
        )
        .err(Error::InvalidClaim(Claim::Exp)),
        client("A8 client: exp string", client_with(json!({"exp": "soon"})))
            .err(Error::InvalidClaim(Claim::Exp)),
        grant("A9 exp absent", grant_with(json!({"exp": ABSENT})))
            .err(Error::MissingClaim(Claim::Exp)),
        client("A9 client: exp absent", client_with(json!({"exp": ABSENT})))
            .err(Error::MissingClaim(Claim::Exp)),
        grant(
            "A10 exp absent with a short max_lifetime: still required by RFC 7523",
            grant_with(json!({"exp": ABSENT})),
        )
        .with(|c| c.checks.max_lifetime = Some(60))
        .err(Error::MissingClaim(Claim::Exp)),
        grant(
            "A11 exp=1 with leeway u64::MAX: no overflow",
            grant_with(json!({"exp": 1, "iat": ABSENT})),
        )
        .leeway(u64::MAX)
        .ok(),
        grant(
            "A11 exp=2^53-1, leeway u64::MAX, max_lifetime and max_age: no overflow",
            grant_with(json!({"exp": 9_007_199_254_740_991_u64, "iat": 0})),
        )
        .leeway(u64::MAX)
        .with(|c| {
            c.checks.max_lifetime = Some(u64::MAX);
            c.checks.max_age = Some(u64::MAX);
        })
        .ok(),
        grant(
            "A11 now = u64::MAX: expired",
            grant_with(json!({"exp": 9_007_199_254_740_991_u64})),
        )
        .leeway(0)
        .with(|c| c.now = u64::MAX)
        .err(Error::Expired {
            exp: 9_007_199_254_740_991,
            now: u64::MAX,
            leeway: 0,
        }),
        // ---- B. nbf ----------------------------------------------------------------------
        grant(
            "B1 nbf now+1 (leeway 0)",
            grant_with(json!({"nbf": NOW + 1})),
        )
        .leeway(0)
        .err(not_yet_valid(NOW + 1, 0)),
        grant(
            "B1 nbf now+100 (leeway 30)",
            grant_with(json!({"nbf": NOW + 100})),
        )
        .err(not_yet_valid(NOW + 100, 30)),
        grant(
            "B1 nbf now+72h",
            grant_with(json!({"nbf": NOW + 72 * 3600})),
        )
        .err(not_yet_valid(NOW + 72 * 3600, 30)),
        client(
            "B1 client: nbf now+100",
            client_with(json!({"nbf": NOW + 100})),
        )
        .err(not_yet_valid(NOW + 100, 30)),
        grant("B2 nbf == now (leeway 0)", grant_with(json!({"nbf": NOW})))
            .leeway(0)
            .ok(),
        grant("B3 nbf in the past", grant_with(json!({"nbf": NOW - 10})))
            .leeway(0)
            .ok(),
        grant("B3 nbf in the past, fractional", grant_base())
            .payload_raw(with_raw(grant_base(), "nbf", "1699999989.5"))
            .leeway(0)
            .ok(),
        grant(
            "B4 nbf now+10 within leeway 13",
            grant_with(json!({"nbf": NOW + 10})),
        )
        .leeway(13)
        .ok(),
        grant(
            "B4 nbf now+10 outside leeway 1",
            grant_with(json!({"nbf": NOW + 10})),
        )
        .leeway(1)
        .err(not_yet_valid(NOW + 10, 1)),
        grant(
            "B4 nbf = now + leeway (boundary): valid",
            grant_with(json!({"nbf": NOW + 30})),
        )
        .ok(),
        grant(
            "B4 nbf = now + leeway + 1 (boundary)",
            grant_with(json!({"nbf": NOW + 31})),
        )
        .err(not_yet_valid(NOW + 31, 30)),
        grant("B5 clock 1 ms before nbf (leeway 0): strict", grant_base())
            .payload_raw(with_raw(grant_base(), "nbf", "1700000000.001"))
            .leeway(0)
            .err(not_yet_valid(NOW + 1, 0)),
        grant("B5 clock 1 ms after nbf (leeway 0)", grant_base())
            .payload_raw(with_raw(grant_base(), "nbf", "1699999999.999"))
            .leeway(0)
            .ok(),
        grant("B6 nbf string", grant_with(json!({"nbf": "x"})))
            .err(Error::InvalidClaim(Claim::Nbf)),
        grant("B6 nbf null", grant_with(json!({"nbf": null}))).err(Error::InvalidClaim(Claim::Nbf)),
        grant("B6 nbf boolean", grant_with(json!({"nbf": true})))
            .err(Error::InvalidClaim(Claim::Nbf)),
        grant(
            "B6 nbf numeric string",
            grant_with(json!({"nbf": NOW.to_string()})),
        )
        .err(Error::InvalidClaim(Claim::Nbf)),
        grant(
            "B7 nbf absent: optional in RFC 7523",
            grant_with(json!({"nbf": ABSENT})),
        )
        .ok(),
        grant(
            "B8 expired and not yet valid: exp is checked first, one error",
            grant_with(json!({"exp": NOW - 100, "nbf": NOW + 100, "iat": NOW - 200})),
        )
        .err(expired(NOW - 100, 30)),
        // ---- C. iat ----------------------------------------------------------------------
        grant(
            "C1 iat now+10 (leeway 0)",
            grant_with(json!({"iat": NOW + 10})),
        )
        .leeway(0)
        .err(issued_in_future(NOW + 10, 0)),
        grant(
            "C1 iat now+10 within the default leeway",
            grant_with(json!({"iat": NOW + 10})),
        )
        .ok(),
        grant(
            "C1 iat now+31 (leeway 30)",
            grant_with(json!({"iat": NOW + 31})),
        )
        .err(issued_in_future(NOW + 31, 30)),
        client(
            "C1 client: iat now+31",
            client_with(json!({"iat": NOW + 31})),
        )
        .err(issued_in_future(NOW + 31, 30)),
        grant("C2 iat 1 ms in the future (leeway 0): strict", grant_base())
            .payload_raw(with_raw(grant_base(), "iat", "1700000000.001"))
            .leeway(0)
            .err(issued_in_future(NOW + 1, 0)),
        grant("C2 iat 1 ms in the past (leeway 0)", grant_base())
            .payload_raw(with_raw(grant_base(), "iat", "1699999999.999"))
            .leeway(0)
            .ok(),
        grant(
            "C3 iat now-31, max_age 30 (leeway 0)",
            grant_with(json!({"iat": NOW - 31})),
        )
        .leeway(0)
        .with(|c| c.checks.max_age = Some(30))
        .err(Error::TooOld { age: 31, max: 30 }),
        grant(
            "C3 iat now-30, max_age 30 (leeway 0)",
            grant_with(json!({"iat": NOW - 30})),
        )
        .leeway(0)
        .with(|c| c.checks.max_age = Some(30))
        .ok(),
        grant(
            "C3 max_age 0, iat now-30",
            grant_with(json!({"iat": NOW - 30})),
        )
        .leeway(0)
        .with(|c| c.checks.max_age = Some(0))
        .err(Error::TooOld { age: 30, max: 0 }),
        grant("C3 max_age 0, iat now", grant_base())
            .leeway(0)
            .with(|c| c.checks.max_age = Some(0))
            .ok(),
        grant(
            "C3 max_age 30 + leeway 5: iat now-35 (boundary)",
            grant_with(json!({"iat": NOW - 35})),
        )
        .leeway(5)
        .with(|c| c.checks.max_age = Some(30))
        .ok(),
        grant(
            "C3 max_age 30 + leeway 5: iat now-36",
            grant_with(json!({"iat": NOW - 36})),
        )
        .leeway(5)
        .with(|c| c.checks.max_age = Some(30))
        .err(Error::TooOld { age: 36, max: 30 }),
        client(
            "C3 client: iat too old",
            client_with(json!({"iat": NOW - 600})),
        )
        .with(|c| c.checks.max_age = Some(300))
        .err(Error::TooOld { age: 600, max: 300 }),
        grant("C4 iat string", grant_with(json!({"iat": "x"})))
            .err(Error::InvalidClaim(Claim::Iat)),
        grant("C4 iat null", grant_with(json!({"iat": null}))).err(Error::InvalidClaim(Claim::Iat)),
        grant("C4 iat negative", grant_with(json!({"iat": -5})))
            .err(Error::InvalidClaim(Claim::Iat)),
        grant(
            "C5 iat numeric string \"1700000000\"",
            grant_with(json!({"iat": NOW.to_string()})),
        )
        .err(Error::InvalidClaim(Claim::Iat)),
        grant(
            "C6 max_age set, iat absent",
            grant_with(json!({"iat": ABSENT})),
        )
        .with(|c| c.checks.max_age = Some(300))
        .err(Error::MissingClaim(Claim::Iat)),
        grant(
            "C6 require_iat, iat absent",
            grant_with(json!({"iat": ABSENT})),
        )
        .with(|c| c.checks.require_iat = true)
        .err(Error::MissingClaim(Claim::Iat)),
        grant("C6 require_iat, iat present", grant_base())
            .with(|c| c.checks.require_iat = true)
            .ok(),
        grant(
            "C6 iat absent, neither required nor max_age",
            grant_with(json!({"iat": ABSENT})),
        )
        .ok(),
        // ---- D. aud ----------------------------------------------------------------------
        grant("D1 aud string = the issuer identifier", grant_base()).ok(),
        grant(
            "D1 long aud value (Google-style client id)",
            grant_with(json!({"aud": LONG_AUD})),
        )
        .with(|c| c.audiences = vec![LONG_AUD])
        .ok(),
        grant("D1 aud with JSON escapes is compared decoded", grant_base())
            .payload_raw(with_raw(grant_base(), "aud", r#""https:\/\/as.example""#))
            .ok(),
        grant(
            "D2 aud array containing the token endpoint URL",
            grant_with(json!({"aud": ["https://other.example", TOKEN_ENDPOINT]})),
        )
        .ok(),
        grant(
            "D3 two accepted audiences, aud matches the second",
            grant_with(json!({"aud": TOKEN_ENDPOINT})),
        )
        .ok(),
        grant(
            "D4 aud string mismatch",
            grant_with(json!({"aud": "https://other.example"})),
        )
        .err(Error::AudienceMismatch),
        grant(
            "D4 aud array mismatch",
            grant_with(json!({"aud": ["https://other.example", "https://third.example"]})),
        )
        .err(Error::AudienceMismatch),
        grant(
            "D4 aud differs in case",
            grant_with(json!({"aud": "https://AS.example"})),
        )
        .err(Error::AudienceMismatch),
        grant(
            "D4 aud with a trailing slash",
            grant_with(json!({"aud": "https://as.example/"})),
        )
        .err(Error::AudienceMismatch),
        grant("D5 empty expected-audience list", grant_base())
            .with(|c| c.audiences = vec![])
            .err(Error::AudienceMismatch),
        grant("D5 aud = []", grant_with(json!({"aud": []}))).err(Error::AudienceMismatch),
        grant("D6 aud absent", grant_with(json!({"aud": ABSENT})))
            .err(Error::MissingClaim(Claim::Aud)),
        // D6 divergence: a JSON null is a present claim of the wrong type, not a missing one.
        grant(
            "D6 aud null: invalid claim",
            grant_with(json!({"aud": null})),
        )
        .err(Error::InvalidClaim(Claim::Aud)),
        client("D6 client: aud absent", client_with(json!({"aud": ABSENT})))
            .err(Error::MissingClaim(Claim::Aud)),
        grant("D8 aud number", grant_with(json!({"aud": 1}))).err(Error::InvalidClaim(Claim::Aud)),
        grant("D8 aud [1]", grant_with(json!({"aud": [1]}))).err(Error::InvalidClaim(Claim::Aud)),
        grant(
            "D8 aud [\"test\", 1]",
            grant_with(json!({"aud": ["test", 1]})),
        )
        .err(Error::InvalidClaim(Claim::Aud)),
        grant(
            "D8 aud [\"a\", 5, issuer]",
            grant_with(json!({"aud": ["a", 5, AS_ISSUER]})),
        )
        .err(Error::InvalidClaim(Claim::Aud)),
        grant("D8 aud boolean", grant_with(json!({"aud": true})))
            .err(Error::InvalidClaim(Claim::Aud)),
        grant(
            "D8 aud object",
            grant_with(json!({"aud": {"aud": AS_ISSUER}})),
        )
        .err(Error::InvalidClaim(Claim::Aud)),
        grant(
            "D8 aud nested array",
            grant_with(json!({"aud": [[AS_ISSUER]]})),
        )
        .err(Error::InvalidClaim(Claim::Aud)),
        grant("D9 aud empty string", grant_with(json!({"aud": ""}))).err(Error::AudienceMismatch),
        grant("D9 aud [\"\"]", grant_with(json!({"aud": [""]}))).err(Error::AudienceMismatch),
        grant(
            "D10 expected audience \"\" is compared literally",
            grant_base(),
        )
        .with(|c| c.audiences = vec![""])
        .err(Error::AudienceMismatch),
        client(
            "D11 client: aud = issuer identifier as a string",
            client_base(),
        )
        .ok(),
        client(
            "D11 client: aud = issuer identifier as a one-element array",
            client_with(json!({"aud": [AS_ISSUER]})),
        )
        .ok(),
        client(
            "D11 client: aud = [issuer, other]: not the sole value",
            client_with(json!({"aud": [AS_ISSUER, "https://other.example"]})),
        )
        .err(Error::AudienceMismatch),
        client(
            "D11 client: aud = token endpoint URL (RFC 10070: issuer identifier only)",
            client_with(json!({"aud": TOKEN_ENDPOINT})),
        )
        .err(Error::AudienceMismatch),
        client(
            "D11 client: aud = [token endpoint, issuer]",
            client_with(json!({"aud": [TOKEN_ENDPOINT, AS_ISSUER]})),
        )
        .err(Error::AudienceMismatch),
        client(
            "D4 client: aud mismatch",
            client_with(json!({"aud": "https://other.example"})),
        )
        .err(Error::AudienceMismatch),
        client("D5 client: aud = []", client_with(json!({"aud": []}))).err(Error::AudienceMismatch),
        grant(
            "D14 grant: aud = AS issuer identifier",
            grant_with(json!({"aud": AS_ISSUER})),
        )
        .ok(),
        grant(
            "D14 grant: aud = token endpoint URL",
            grant_with(json!({"aud": TOKEN_ENDPOINT})),
        )
        .ok(),
        // ---- Compatibility relaxations (compat.rs): opt-in per party, reported -----------
        client(
            "compat off: aud = token endpoint URL",
            client_with(json!({"aud": TOKEN_ENDPOINT})),
        )
        .err(Error::AudienceMismatch),
        client(
            "compat token_endpoint_audience: aud = token endpoint URL",
            client_with(json!({"aud": TOKEN_ENDPOINT})),
        )
        .with(lenient_audience)
        .ok(),
        client(
            "compat token_endpoint_audience: aud = [token endpoint URL]",
            client_with(json!({"aud": [TOKEN_ENDPOINT]})),
        )
        .with(lenient_audience)
        .ok(),
        client(
            "compat token_endpoint_audience: aud = [other, token endpoint URL]",
            client_with(json!({"aud": ["https://other.example", TOKEN_ENDPOINT]})),
        )
        .with(lenient_audience)
        .ok(),
        client(
            "compat token_endpoint_audience: aud = [issuer, other]",
            client_with(json!({"aud": [AS_ISSUER, "https://other.example"]})),
        )
        .with(lenient_audience)
        .ok(),
        client(
            "compat token_endpoint_audience: aud = issuer (strict, nothing relied on)",
            client_base(),
        )
        .with(lenient_audience)
        .ok(),
        client(
            "compat token_endpoint_audience: aud = other",
            client_with(json!({"aud": "https://other.example"})),
        )
        .with(lenient_audience)
        .err(Error::AudienceMismatch),
        client(
            "compat token_endpoint_audience: aud = [other, third]",
            client_with(json!({"aud": ["https://other.example", "https://third.example"]})),
        )
        .with(lenient_audience)
        .err(Error::AudienceMismatch),
        client(
            "compat token_endpoint_audience: token endpoint with a trailing slash",
            client_with(json!({"aud": "https://as.example/token/"})),
        )
        .with(lenient_audience)
        .err(Error::AudienceMismatch),
        client(
            "compat token_endpoint_audience: aud = [] ",
            client_with(json!({"aud": []})),
        )
        .with(lenient_audience)
        .err(Error::AudienceMismatch),
        client(
            "compat token_endpoint_audience without a configured token endpoint",
            client_with(json!({"aud": TOKEN_ENDPOINT})),
        )
        .with(lenient_audience)
        .with(|c| c.token_endpoint = None)
        .err(Error::AudienceMismatch),
        client(
            "compat token_endpoint_audience: a configured \"\" never matches",
            client_with(json!({"aud": ""})),
        )
        .with(lenient_audience)
        .with(|c| c.token_endpoint = Some(""))
        .err(Error::AudienceMismatch),
        client(
            "compat token_endpoint_audience: an empty issuer never matches",
            client_with(json!({"aud": [""]})),
        )
        .with(lenient_audience)
        .with(|c| {
            c.as_issuer = "";
            c.token_endpoint = None;
        })
        .err(Error::AudienceMismatch),
        grant(
            "compat off: grant without sub",
            grant_with(json!({"sub": ABSENT})),
        )
        .err(Error::MissingClaim(Claim::Sub)),
        grant(
            "compat missing_sub: grant without sub, read as sub = iss",
            grant_with(json!({"sub": ABSENT})),
        )
        .with(|c| c.compat.missing_sub = true)
        .ok(),
        grant(
            "compat missing_sub: with sub, nothing relied on",
            grant_base(),
        )
        .with(|c| c.compat.missing_sub = true)
        .ok(),
        grant(
            "compat missing_sub: subjects pinned to another value",
            grant_with(json!({"sub": ABSENT})),
        )
        .with(|c| {
            c.compat.missing_sub = true;
            c.subject = Some(SUBJECT);
        })
        .err(Error::SubjectMismatch),
        grant(
            "compat missing_sub: subjects pinned to the issuer",
            grant_with(json!({"sub": ABSENT})),
        )
        .with(|c| {
            c.compat.missing_sub = true;
            c.subject = Some(ISSUER);
        })
        .ok(),
        grant(
            "compat missing_sub: sub null is still invalid",
            grant_with(json!({"sub": null})),
        )
        .with(|c| c.compat.missing_sub = true)
        .err(Error::InvalidClaim(Claim::Sub)),
        client(
            "compat missing_sub never applies to a client assertion",
            client_with(json!({"sub": ABSENT})),
        )
        .with(|c| c.compat.missing_sub = true)
        .err(Error::MissingClaim(Claim::Sub)),
        grant(
            "compat missing_sub and missing_jti: Google's service-account grant",
            grant_with(json!({"sub": ABSENT, "jti": ABSENT, "aud": TOKEN_ENDPOINT})),
        )
        .with(|c| {
            c.compat.missing_sub = true;
            c.checks.require_jti = false;
        })
        .ok(),
        grant(
            "claim condition met (workload identity)",
            grant_with(json!({"repository": "octo-org/octo-repo"})),
        )
        .with(|c| c.claims = vec![REPOSITORY_CONDITION])
        .ok(),
        grant(
            "claim condition: another value",
            grant_with(json!({"repository": "octo-org/other"})),
        )
        .with(|c| c.claims = vec![REPOSITORY_CONDITION])
        .err(claim_mismatch(ConditionProblem::Different)),
        grant("claim condition: the claim missing", grant_base())
            .with(|c| c.claims = vec![REPOSITORY_CONDITION])
            .err(claim_mismatch(ConditionProblem::Missing)),
        grant(
            "claim condition: not a string",
            grant_with(json!({"repository": ["octo-org/octo-repo"]})),
        )
        .with(|c| c.claims = vec![REPOSITORY_CONDITION])
        .err(claim_mismatch(ConditionProblem::NotAString)),
        grant(
            "claim condition after the time rules",
            grant_with(json!({"repository": "octo-org/other", "exp": NOW - 100})),
        )
        .with(|c| c.claims = vec![REPOSITORY_CONDITION])
        .err(expired(NOW - 100, 30)),
        client(
            "claim condition on a client party built in code: checked as well",
            client_with(json!({"repository": "octo-org/other"})),
        )
        .with(|c| c.claims = vec![REPOSITORY_CONDITION])
        .err(claim_mismatch(ConditionProblem::Different)),
        client(
            "compat missing_jti: client assertion without jti",
            client_with(json!({"jti": ABSENT})),
        )
        .with(|c| c.checks.require_jti = false)
        .ok(),
        // ---- E. iss ----------------------------------------------------------------------
        grant("E1 iss is the trusted issuer", grant_base()).ok(),
        grant(
            "E2 iss is the second trusted issuer",
            grant_with(json!({"iss": ISSUER_2})),
        )
        .ok(),
        grant(
            "E3 untrusted iss",
            grant_with(json!({"iss": "https://evil.example"})),
        )
        .err(Error::IssuerMismatch),
        grant(
            "E4 iss is a prefix of a trusted issuer",
            grant_with(json!({"iss": "https://issuer"})),
        )
        .err(Error::IssuerMismatch),
        grant(
            "E4 iss extends a trusted issuer",
            grant_with(json!({"iss": "https://issuer.example.evil"})),
        )
        .err(Error::IssuerMismatch),
        grant(
            "E4 iss differs in case",
            grant_with(json!({"iss": "https://Issuer.example"})),
        )
        .err(Error::IssuerMismatch),
        grant("E5 iss absent", grant_with(json!({"iss": ABSENT})))
            .err(Error::MissingClaim(Claim::Iss)),
        client(
            "E5 client: iss absent, no client_id",
            client_with(json!({"iss": ABSENT})),
        )
        .err(Error::MissingClaim(Claim::Iss)),
        client(
            "E5 client: iss absent, client_id given",
            client_with(json!({"iss": ABSENT})),
        )
        .client_id(CLIENT)
        .err(Error::MissingClaim(Claim::Iss)),
        grant(
            "E6 iss array [\"issuer\"]",
            grant_with(json!({"iss": [ISSUER]})),
        )
        .err(Error::InvalidClaim(Claim::Iss)),
        grant("E6 iss number", grant_with(json!({"iss": 123})))
            .err(Error::InvalidClaim(Claim::Iss)),
        grant("E6 iss empty string", grant_with(json!({"iss": ""})))
            .err(Error::InvalidClaim(Claim::Iss)),
        client(
            "E6 client: iss array [\"client-1\"]",
            client_with(json!({"iss": [CLIENT]})),
        )
        .err(Error::InvalidClaim(Claim::Iss)),
        client(
            "E6 client: iss array, client_id given",
            client_with(json!({"iss": [CLIENT]})),
        )
        .client_id(CLIENT)
        .err(Error::InvalidClaim(Claim::Iss)),
        client(
            "E7 client: unknown client",
            client_with(json!({"iss": "client-9", "sub": "client-9"})),
        )
        .err(Error::IssuerMismatch),
        client("E7 client: unknown client_id parameter", client_base())
            .client_id("client-9")
            .err(Error::IssuerMismatch),
        client(
            "E7 client: client_id parameter of another registered client",
            client_base(),
        )
        .client_id(CLIENT_2)
        .err(Error::IssuerMismatch),
        grant(
            "E7 grant: unknown issuer",
            grant_with(json!({"iss": "https://unknown.example"})),
        )
        .err(Error::IssuerMismatch),
        // ---- F. sub ----------------------------------------------------------------------
        grant("F1 pinned subject matches", grant_base())
            .with(|c| c.subject = Some(SUBJECT))
            .ok(),
        grant(
            "F2 pinned subject differs",
            grant_with(json!({"sub": "mallory"})),
        )
        .with(|c| c.subject = Some(SUBJECT))
        .err(Error::SubjectMismatch),
        grant("F3 sub absent", grant_with(json!({"sub": ABSENT})))
            .err(Error::MissingClaim(Claim::Sub)),
        client("F3 client: sub absent", client_with(json!({"sub": ABSENT})))
            .err(Error::MissingClaim(Claim::Sub)),
        grant("F4 sub integer", grant_with(json!({"sub": 42})))
            .err(Error::InvalidClaim(Claim::Sub)),
        client(
            "F4 client: sub object",
            client_with(json!({"sub": {"id": CLIENT}})),
        )
        .err(Error::InvalidClaim(Claim::Sub)),
        client(
            "F5 client: iss != sub",
            client_with(json!({"sub": CLIENT_2})),
        )
        .err(Error::SubjectMismatch),
        client(
            "F5 client: sub is a user, not the client id",
            client_with(json!({"sub": SUBJECT})),
        )
        .client_id(CLIENT)
        .err(Error::SubjectMismatch),
        client(
            "F5 client: client_id = client-1 but iss = client-2",
            client_with(json!({"iss": CLIENT_2})),
        )
        .client_id(CLIENT)
        .err(Error::IssuerMismatch),
        // ---- G. jti / replay -------------------------------------------------------------
        grant(
            "G1 require_jti, jti absent",
            grant_with(json!({"jti": ABSENT})),
        )
        .with(|c| c.checks.require_jti = true)
        .err(Error::MissingClaim(Claim::Jti)),
        client(
            "G1 client: require_jti, jti absent",
            client_with(json!({"jti": ABSENT})),
        )
        .with(|c| c.checks.require_jti = true)
        .err(Error::MissingClaim(Claim::Jti)),
        grant("G1 require_jti, jti present", grant_base())
            .with(|c| c.checks.require_jti = true)
            .ok(),
        grant(
            "G1 jti absent and not required",
            grant_with(json!({"jti": ABSENT})),
        )
        .with(|c| c.checks.require_jti = false)
        .ok(),
        grant(
            "G1 jti absent, the default policy",
            grant_with(json!({"jti": ABSENT})),
        )
        .with(|c| c.checks = Checks::default())
        .err(Error::MissingClaim(Claim::Jti)),
        client(
            "G1 client: jti absent, the default policy",
            client_with(json!({"jti": ABSENT})),
        )
        .with(|c| c.checks = Checks::default())
        .err(Error::MissingClaim(Claim::Jti)),
        grant("G2 jti integer", grant_with(json!({"jti": 7}))).err(Error::InvalidClaim(Claim::Jti)),
        grant("G2 jti empty string", grant_with(json!({"jti": ""})))
            .err(Error::InvalidClaim(Claim::Jti)),
        grant("G3 (iss, jti) already used", grant_base())
            .with(|c| c.prefill = vec![seen(ISSUER, "jti-1")])
            .err(Error::Replayed),
        client("G3 client: (iss, jti) already used", client_base())
            .with(|c| c.prefill = vec![seen(CLIENT, "cjti-1")])
            .err(Error::Replayed),
        grant("G3 same jti used by another issuer", grant_base())
            .with(|c| c.prefill = vec![seen(ISSUER_2, "jti-1")])
            .ok(),
        grant("G3 same jti used before but expired", grant_base())
            .with(|c| {
                c.prefill = vec![ReplayEntry {
                    key: ReplayKey::new(ISSUER, "jti-1"),
                    expires_at: NOW,
                }];
            })
            .ok(),
        grant("replay store full of live entries", grant_base())
            .with(|c| c.prefill = vec![unrelated(1, NOW + 1), unrelated(2, NOW + 1_000)])
            .err(Error::ReplayStoreFull),
        client("client: replay store full of live entries", client_base())
            .with(|c| c.prefill = vec![unrelated(1, NOW + 1), unrelated(2, NOW + 1_000)])
            .err(Error::ReplayStoreFull),
        grant(
            "replay store full, one entry expired: its slot is reused",
            grant_base(),
        )
        .with(|c| c.prefill = vec![unrelated(1, NOW), unrelated(2, NOW + 1_000)])
        .ok(),
        grant(
            "replay store full, but no jti: nothing to store",
            grant_with(json!({"jti": ABSENT})),
        )
        .with(|c| {
            c.checks.require_jti = false;
            c.prefill = vec![unrelated(1, NOW + 1), unrelated(2, NOW + 1_000)];
        })
        .ok(),
        // ---- fetched keys (issue 14): usable from install to the end of their grace ------
        grant("fetched keys, none installed", grant_base())
            .with(|c| c.key_source = KeySource::Fetched { usable_until: None })
            .err(Error::KeysUnavailable { retry_after: None }),
        client("client: fetched keys, none installed", client_base())
            .with(|c| c.key_source = KeySource::Fetched { usable_until: None })
            .err(Error::KeysUnavailable { retry_after: None }),
        grant("fetched keys, usable until now", grant_base())
            .with(|c| {
                c.key_source = KeySource::Fetched {
                    usable_until: Some(NOW),
                }
            })
            .err(Error::KeysUnavailable { retry_after: None }),
        client(
            "client: fetched keys, usable one more second",
            client_base(),
        )
        .with(|c| {
            c.key_source = KeySource::Fetched {
                usable_until: Some(NOW + 1),
            }
        })
        .ok(),
        grant(
            "fetched keys unavailable, but the token is malformed first",
            grant_base(),
        )
        .with(|c| {
            c.key_source = KeySource::Fetched { usable_until: None };
            c.raw_token = Some("not-a-jws".into());
        })
        .err(Error::Malformed(Malformed::SegmentCount)),
        grant(
            "fetched keys unavailable, but the issuer is unknown first",
            grant_with(json!({"iss": "https://unknown.example"})),
        )
        .with(|c| c.key_source = KeySource::Fetched { usable_until: None })
        .err(Error::IssuerMismatch),
        // ---- H. required claims, order of checks ------------------------------------------
        grant("H1 iss absent", grant_with(json!({"iss": ABSENT})))
            .err(Error::MissingClaim(Claim::Iss)),
        grant("H1 sub absent", grant_with(json!({"sub": ABSENT})))
            .err(Error::MissingClaim(Claim::Sub)),
        grant("H1 aud absent", grant_with(json!({"aud": ABSENT})))
            .err(Error::MissingClaim(Claim::Aud)),
        grant("H1 exp absent", grant_with(json!({"exp": ABSENT})))
            .err(Error::MissingClaim(Claim::Exp)),
        grant(
            "H2 __proto__ / constructor members do not make iss present",
            grant_with(json!({"iss": ABSENT, "__proto__": {"iss": ISSUER}, "constructor": ISSUER})),
        )
        .err(Error::MissingClaim(Claim::Iss)),
        grant(
            "H2 toString member does not make sub present",
            grant_with(json!({"sub": ABSENT, "toString": SUBJECT, "hasOwnProperty": "sub"})),
        )
        .err(Error::MissingClaim(Claim::Sub)),
        grant("H3 only iss", json!({"iss": ISSUER})).err(Error::MissingClaim(Claim::Sub)),
        client("H3 client: only iss", json!({"iss": CLIENT})).err(Error::MissingClaim(Claim::Sub)),
        grant(
            "H4 iss missing, also expired and wrong aud: missing claim wins",
            grant_with(json!({"iss": ABSENT, "exp": NOW - 1000, "aud": "https://other.example"})),
        )
        .err(Error::MissingClaim(Claim::Iss)),
        grant(
            "H4 sub missing, also expired, wrong aud, not yet valid",
            grant_with(json!({
                "sub": ABSENT, "exp": NOW - 1000, "nbf": NOW + 1000, "aud": "https://other.example"
            })),
        )
        .err(Error::MissingClaim(Claim::Sub)),
        grant(
            "H4 exp missing, also wrong aud and wrong pinned sub",
            grant_with(json!({"exp": ABSENT, "aud": "https://other.example"})),
        )
        .with(|c| c.subject = Some("bob"))
        .err(Error::MissingClaim(Claim::Exp)),
        client(
            "H4 client (client_id given): iss missing, also expired and wrong aud",
            client_with(json!({"iss": ABSENT, "exp": NOW - 1000, "aud": "https://other.example"})),
        )
        .client_id(CLIENT)
        .err(Error::MissingClaim(Claim::Iss)),
        grant(
            "H5 expired token signed by another key (same iss): signature first",
            grant_with(json!({"exp": NOW - 1000})),
        )
        .sign(SignWith::Other)
        .err(Error::InvalidSignature),
        client(
            "H5 client: expired token signed by another key",
            client_with(json!({"exp": NOW - 1000})),
        )
        .sign(SignWith::Other)
        .err(Error::InvalidSignature),
        grant(
            "H5 missing sub, signed by another key: signature first",
            grant_with(json!({"sub": ABSENT})),
        )
        .sign(SignWith::Other)
        .err(Error::InvalidSignature),
        grant("H6 valid claims, wrong key", grant_base())
            .sign(SignWith::Other)
            .err(Error::InvalidSignature),
        client("H6 client: valid claims, wrong key", client_base())
            .sign(SignWith::Other)
            .err(Error::InvalidSignature),
        grant("H6 one signature bit flipped", grant_base())
            .sign(SignWith::FlipBit)
            .err(Error::InvalidSignature),
        grant(
            "H6 signature of another payload",
            grant_with(json!({"sub": "admin"})),
        )
        .sign(SignWith::SwapPayload)
        .err(Error::InvalidSignature),
        grant("H6 signature one byte short", grant_base())
            .sign(SignWith::Truncate)
            .err(malformed(Malformed::SignatureLength)),
        grant("H6 signature of 3 bytes", grant_base())
            .sign(SignWith::Literal("AAAA"))
            .err(malformed(Malformed::SignatureLength)),
        grant("H6 signature segment empty", grant_base())
            .sign(SignWith::Literal(""))
            .err(malformed(Malformed::EmptySegment(Part::Signature))),
        grant("H6 signature segment not base64url", grant_base())
            .sign(SignWith::Literal("AA+A"))
            .err(malformed(Malformed::Base64(Part::Signature))),
        // ---- I. claims-set / serialization structure --------------------------------------
        grant("I2 payload is text", grant_base())
            .payload_raw("text")
            .err(malformed(Malformed::Json(Part::Payload))),
        grant("I2 payload is \"hello world\" unquoted", grant_base())
            .payload_raw("hello world")
            .err(malformed(Malformed::Json(Part::Payload))),
        // DEFLATE (raw, RFC 1951) of {"iss":"https://issuer.example"}: binary, not UTF-8.
        grant("I2 payload is DEFLATE bytes", grant_base())
            .payload_raw(vec![
                0xab, 0x56, 0xca, 0x2c, 0x2e, 0x56, 0xb2, 0x52, 0xca, 0x28, 0x29, 0x29, 0x28, 0xb6,
                0xd2, 0xd7, 0x07, 0xf2, 0x4a, 0x53, 0x8b, 0xf4, 0x52, 0x2b, 0x12, 0x73, 0x0b, 0x72,
                0x52, 0x95, 0x6a, 0x01,
            ])
            .err(malformed(Malformed::Utf8(Part::Payload))),
        grant("I2 payload is truncated JSON", grant_base())
            .payload_raw(r#"{"iss":"https://issuer.example","#)
            .err(malformed(Malformed::Json(Part::Payload))),
        grant("I2 payload has trailing data", grant_base())
            .payload_raw(format!("{}x", grant_base()))
            .err(malformed(Malformed::Json(Part::Payload))),
        grant("I2 payload is two objects", grant_base())
            .payload_raw(format!("{0}{0}", grant_base()))
            .err(malformed(Malformed::Json(Part::Payload))),
        client(
            "I2 client (client_id given): payload is text",
            client_base(),
        )
        .payload_raw("text")
        .client_id(CLIENT)
        .err(malformed(Malformed::Json(Part::Payload))),
        grant("I3 claims set with overlong UTF-8 (C0 AF)", grant_base())
            .payload_raw(b"{\"iss\":\"https://issuer.example\",\"x\":\"\xC0\xAF\"}".to_vec())
            .err(malformed(Malformed::Utf8(Part::Payload))),
        client("I3 client (client_id given): invalid UTF-8", client_base())
            .payload_raw(b"{\"iss\":\"client-1\",\"sub\":\"\xC0\xAF\"}".to_vec())
            .client_id(CLIENT)
            .err(malformed(Malformed::Utf8(Part::Payload))),
        grant("I3 header with invalid UTF-8", grant_base())
            .header_raw(b"{\"alg\":\"RS256\",\"kid\":\"\xC0\xAF\"}")
            .err(malformed(Malformed::Utf8(Part::Header))),
        grant("I4 not a compact JWS: thisisnotreallyajwt", grant_base())
            .with(|c| c.raw_token = Some("thisisnotreallyajwt".to_owned()))
            .err(malformed(Malformed::SegmentCount)),
        grant("I4 not a compact JWS: not-a-jwt", grant_base())
            .with(|c| c.raw_token = Some("not-a-jwt".to_owned()))
            .err(malformed(Malformed::SegmentCount)),
        grant("I4 empty token", grant_base())
            .with(|c| c.raw_token = Some(String::new()))
            .err(malformed(Malformed::SegmentCount)),
        grant("I4 \"bearer \" in front of a valid token", grant_base())
            .with(|c| c.token_prefix = Some("bearer "))
            .err(malformed(Malformed::Base64(Part::Header))),
        client(
            "I4 client: \"Bearer \" in front of a valid token",
            client_base(),
        )
        .with(|c| c.token_prefix = Some("Bearer "))
        .err(malformed(Malformed::Base64(Part::Header))),
        grant("I4 five segments (JWE compact form)", grant_base())
            .with(|c| c.raw_token = Some("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d".to_owned()))
            .err(malformed(Malformed::SegmentCount)),
        grant("I4 padded base64 header", grant_base())
            .with(|c| c.raw_token = Some("eyJhbGciOiJSUzI1NiJ9=.e30.AAAA".to_owned()))
            .err(malformed(Malformed::Base64(Part::Header))),
        grant("I5 b64:false listed in crit", grant_base())
            .header(json!({"alg": "RS256", "b64": false, "crit": ["b64"]}))
            .err(Error::UnsupportedHeader(HeaderParameter::Crit)),
        // I5 divergence: panva ignores b64 without crit; we refuse it outright.
        grant("I5 b64:false without crit: refused", grant_base())
            .header(json!({"alg": "RS256", "b64": false}))
            .err(Error::UnsupportedHeader(HeaderParameter::B64)),
        grant("I5 b64:true without crit: refused", grant_base())
            .header(json!({"alg": "RS256", "b64": true}))
            .err(Error::UnsupportedHeader(HeaderParameter::B64)),
        grant("I6 unknown crit extension", grant_base())
            .header(json!({
                "alg": "RS256", "crit": ["http://example.com/ext"], "http://example.com/ext": true
            }))
            .err(Error::UnsupportedHeader(HeaderParameter::Crit)),
        grant("I6 crit = []", grant_base())
            .header(json!({"alg": "RS256", "crit": []}))
            .err(Error::UnsupportedHeader(HeaderParameter::Crit)),
        client("I6 client: crit [exp]", client_base())
            .header(json!({"alg": "RS256", "crit": ["exp"], "exp": NOW}))
            .err(Error::UnsupportedHeader(HeaderParameter::Crit)),
        grant("duplicate claim name", grant_base())
            .payload_raw(with_raw(grant_base(), "sub", r#""alice","sub":"admin""#))
            .err(malformed(Malformed::DuplicateMember(Part::Payload))),
        grant("duplicate claim name hidden by an escape", grant_base())
            .payload_raw(with_raw(
                grant_base(),
                "sub",
                r#""alice","s\u0075b":"admin""#,
            ))
            .err(malformed(Malformed::DuplicateMember(Part::Payload))),
        grant("duplicate header member", grant_base())
            .header_raw(br#"{"alg":"RS256","kid":"a","kid":"b"}"#)
            .err(malformed(Malformed::DuplicateMember(Part::Header))),
        grant("header is not an object", grant_base())
            .header_raw(br#"["RS256"]"#)
            .err(malformed(Malformed::NotAnObject(Part::Header))),
        grant("header is not JSON", grant_base())
            .header_raw(b"RS256")
            .err(malformed(Malformed::Json(Part::Header))),
        grant(
            "unknown extension claims of any shape are skipped",
            grant_with(json!({
                "cnf": {"jwk": {"kty": "RSA", "n": [1, {"x": null}]}},
                "scope": ["a", {"b": [true, false, null, 1.5e-3]}],
                "x": null
            })),
        )
        .ok(),
        // ---- J. header / algorithm --------------------------------------------------------
        grant("J1 alg HS256", grant_base())
            .header(json!({"alg": "HS256"}))
            .err(Error::UnsupportedAlgorithm),
        grant("J1 alg RS384", grant_base())
            .header(json!({"alg": "RS384"}))
            .err(Error::UnsupportedAlgorithm),
        grant("J1 alg PS256", grant_base())
            .header(json!({"alg": "PS256"}))
            .err(Error::UnsupportedAlgorithm),
        grant("J1 alg ES256", grant_base())
            .header(json!({"alg": "ES256"}))
            .err(Error::UnsupportedAlgorithm),
        grant("J1 alg rs256 (case)", grant_base())
            .header(json!({"alg": "rs256"}))
            .err(Error::UnsupportedAlgorithm),
        client("J1 client: alg HS256", client_base())
            .header(json!({"alg": "HS256"}))
            .err(Error::UnsupportedAlgorithm),
        grant(
            "J1 alg with escapes that decode to RS256 is RS256",
            grant_base(),
        )
        .header_raw(br#"{"alg":"RS\u0032\u0035\u0036"}"#)
        .ok(),
        grant("J3 grant: typ JWT", grant_base())
            .header(json!({"alg": "RS256", "typ": "JWT"}))
            .ok(),
        grant(
            "J3 grant: typ application/jwt (prefix ignored)",
            grant_base(),
        )
        .header(json!({"alg": "RS256", "typ": "application/jwt"}))
        .ok(),
        grant("J3 grant: typ at+jwt", grant_base())
            .header(json!({"alg": "RS256", "typ": "at+jwt"}))
            .err(Error::InvalidType(TypProblem::AnotherType)),
        grant(
            "J3 grant: typ client-authentication+jwt (cross-JWT confusion, RFC 8725 §3.11)",
            grant_base(),
        )
        .header(json!({"alg": "RS256", "typ": "client-authentication+jwt"}))
        .err(Error::InvalidType(TypProblem::AnotherType)),
        client("J3 client: typ absent", client_base()).ok(),
        client("J3 client: typ JWT", client_base())
            .header(json!({"alg": "RS256", "typ": "JWT"}))
            .ok(),
        client("J3 client: typ client-authentication+jwt", client_base())
            .header(json!({"alg": "RS256", "typ": "client-authentication+jwt"}))
            .ok(),
        client(
            "J3 client: typ application/client-authentication+jwt",
            client_base(),
        )
        .header(json!({"alg": "RS256", "typ": "application/client-authentication+jwt"}))
        .ok(),
        client("J3 client: typ at+jwt", client_base())
            .header(json!({"alg": "RS256", "typ": "at+jwt"}))
            .err(Error::InvalidType(TypProblem::AnotherType)),
        client("J3 client: typ secevent+jwt", client_base())
            .header(json!({"alg": "RS256", "typ": "secevent+jwt"}))
            .err(Error::InvalidType(TypProblem::AnotherType)),
        client("J3 client: RequireExplicit, typ absent", client_base())
            .with(|c| c.typ = TypRule::RequireExplicit)
            .err(Error::InvalidType(TypProblem::Missing)),
        client("J3 client: RequireExplicit, typ JWT", client_base())
            .header(json!({"alg": "RS256", "typ": "JWT"}))
            .with(|c| c.typ = TypRule::RequireExplicit)
            .err(Error::InvalidType(TypProblem::NotExplicit)),
        client("J3 client: RequireExplicit, typ at+jwt", client_base())
            .header(json!({"alg": "RS256", "typ": "at+jwt"}))
            .with(|c| c.typ = TypRule::RequireExplicit)
            .err(Error::InvalidType(TypProblem::AnotherType)),
        client(
            "J3 client: RequireExplicit, typ client-authentication+jwt",
            client_base(),
        )
        .header(json!({"alg": "RS256", "typ": "client-authentication+jwt"}))
        .with(|c| c.typ = TypRule::RequireExplicit)
        .ok(),
        grant("J4 alg none, empty signature", grant_base())
            .header(json!({"alg": "none"}))
            .sign(SignWith::Literal(""))
            .err(Error::UnsupportedAlgorithm),
        grant("J4 alg None", grant_base())
            .header(json!({"alg": "None"}))
            .sign(SignWith::Literal(""))
            .err(Error::UnsupportedAlgorithm),
        grant("J4 alg NONE with a real signature", grant_base())
            .header(json!({"alg": "NONE"}))
            .err(Error::UnsupportedAlgorithm),
        client("J4 client: alg none", client_base())
            .header(json!({"alg": "none"}))
            .sign(SignWith::Literal(""))
            .err(Error::UnsupportedAlgorithm),
        grant("header without alg", grant_base())
            .header(json!({"typ": "JWT"}))
            .err(malformed(Malformed::MissingAlgorithm)),
        grant("alg is not a string", grant_base())
            .header(json!({"alg": ["RS256"]}))
            .err(malformed(Malformed::HeaderValue(HeaderParameter::Alg))),
        grant("kid is not a string", grant_base())
            .header(json!({"alg": "RS256", "kid": 1}))
            .err(malformed(Malformed::HeaderValue(HeaderParameter::Kid))),
        grant("typ is not a string", grant_base())
            .header(json!({"alg": "RS256", "typ": null}))
            .err(malformed(Malformed::HeaderValue(HeaderParameter::Typ))),
        grant("cty JWT (nested JWT)", grant_base())
            .header(json!({"alg": "RS256", "cty": "JWT"}))
            .err(Error::UnsupportedHeader(HeaderParameter::Cty)),
        grant("zip (a JWE parameter)", grant_base())
            .header(json!({"alg": "RS256", "zip": "DEF"}))
            .err(Error::UnsupportedHeader(HeaderParameter::Zip)),
        grant(
            "jku is never fetched: the configured key decides",
            grant_base(),
        )
        .header(json!({"alg": "RS256", "jku": "https://evil.example/jwks.json"}))
        .ok(),
        grant(
            "embedded jwk is never trusted: signed by its (other) key",
            grant_base(),
        )
        .header(json!({"alg": "RS256", "jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}))
        .sign(SignWith::Other)
        .err(Error::InvalidSignature),
        grant(
            "kid selects the key with that kid",
            grant_with(json!({"iss": KID_ISSUER})),
        )
        .header(json!({"alg": "RS256", "kid": "k1"}))
        .ok(),
        grant(
            "no kid: every key of the issuer is tried",
            grant_with(json!({"iss": KID_ISSUER})),
        )
        .ok(),
        grant(
            "kid matches no key of the issuer",
            grant_with(json!({"iss": KID_ISSUER})),
        )
        .header(json!({"alg": "RS256", "kid": "k2"}))
        .err(Error::UnknownKey),
        grant(
            "kid on a key set without kids: keys without kid are tried",
            grant_base(),
        )
        .header(json!({"alg": "RS256", "kid": "anything"}))
        .ok(),
        // ---- limits -----------------------------------------------------------------------
        grant("limit: token one byte over max_token_len", grant_base())
            .with(|c| c.max_len_delta = Some(-1))
            .err(Error::TooLarge(Limit::TokenLength)),
        grant("limit: token exactly max_token_len", grant_base())
            .with(|c| c.max_len_delta = Some(0))
            .ok(),
        client(
            "limit: client token one byte over max_token_len",
            client_base(),
        )
        .with(|c| c.max_len_delta = Some(-1))
        .err(Error::TooLarge(Limit::TokenLength)),
        grant(
            "limit: token over the 8 KiB hard limit",
            grant_with(json!({"pad": "p".repeat(6_000)})),
        )
        .with(|c| c.checks.max_token_len = usize::MAX)
        .err(Error::TooLarge(Limit::TokenLength)),
        grant("limit: header over 1024 bytes", grant_base())
            .header(json!({"alg": "RS256", "pad": "p".repeat(1_100)}))
            .err(Error::TooLarge(Limit::HeaderLength)),
        grant(
            "limit: sub of 257 bytes",
            grant_with(json!({"sub": "s".repeat(257)})),
        )
        .err(Error::TooLarge(Limit::StringLength)),
        grant(
            "limit: sub of 256 bytes",
            grant_with(json!({"sub": "s".repeat(256)})),
        )
        .ok(),
        grant(
            "limit: iss of 257 bytes",
            grant_with(json!({"iss": "i".repeat(257)})),
        )
        .err(Error::TooLarge(Limit::StringLength)),
        grant("limit: kid of 129 bytes", grant_base())
            .header(json!({"alg": "RS256", "kid": "k".repeat(129)}))
            .err(Error::TooLarge(Limit::StringLength)),
        grant(
            "limit: aud with 17 values",
            grant_with(json!({"aud": audience_values(17)})),
        )
        .err(Error::TooLarge(Limit::AudienceValues)),
        grant(
            "limit: aud with 16 values",
            grant_with(json!({"aud": audience_values(16)})),
        )
        .ok(),
        grant(
            "limit: JSON depth 17",
            grant_with(json!({"x": nested_arrays(16)})),
        )
        .err(Error::TooLarge(Limit::JsonDepth)),
        grant(
            "limit: JSON depth 16",
            grant_with(json!({"x": nested_arrays(15)})),
        )
        .ok(),
        grant("limit: 65 claims", members(65)).err(Error::TooLarge(Limit::JsonMembers)),
        grant("limit: 64 claims", members(64)).ok(),
        grant("limit: a 33-character number", grant_base())
            .payload_raw(with_raw(grant_base(), "x", &"1".repeat(33)))
            .err(Error::TooLarge(Limit::NumberLength)),
        // ---- policy boundaries ------------------------------------------------------------
        grant(
            "policy: lifetime = max_lifetime",
            grant_with(json!({"exp": NOW + 300})),
        )
        .with(|c| c.checks.max_lifetime = Some(300))
        .ok(),
        grant(
            "policy: lifetime = max_lifetime + 1",
            grant_with(json!({"exp": NOW + 301})),
        )
        .with(|c| c.checks.max_lifetime = Some(300))
        .err(Error::LifetimeTooLong {
            lifetime: 301,
            max: 300,
        }),
        grant(
            "policy: lifetime = max_lifetime - 1",
            grant_with(json!({"exp": NOW + 299})),
        )
        .with(|c| c.checks.max_lifetime = Some(300))
        .ok(),
        grant(
            "policy: lifetime counted from iat, not now",
            grant_with(json!({"iat": NOW - 100, "exp": NOW + 201})),
        )
        .with(|c| c.checks.max_lifetime = Some(300))
        .err(Error::LifetimeTooLong {
            lifetime: 301,
            max: 300,
        }),
        grant(
            "policy: without iat the lifetime is exp - now (boundary)",
            grant_with(json!({"iat": ABSENT, "exp": NOW + 300})),
        )
        .with(|c| c.checks.max_lifetime = Some(300))
        .ok(),
        grant(
            "policy: without iat the lifetime is exp - now (+1)",
            grant_with(json!({"iat": ABSENT, "exp": NOW + 301})),
        )
        .with(|c| c.checks.max_lifetime = Some(300))
        .err(Error::LifetimeTooLong {
            lifetime: 301,
            max: 300,
        }),
        client(
            "policy: client lifetime too long",
            client_with(json!({"exp": NOW + 3_600})),
        )
        .with(|c| c.checks.max_lifetime = Some(300))
        .err(Error::LifetimeTooLong {
            lifetime: 3_600,
            max: 300,
        }),
        grant(
            "policy: fractional iat rounds the lifetime up",
            grant_base(),
        )
        .payload_raw(with_raw(grant_base(), "iat", "1699999999.5"))
        .with(|c| c.checks.max_lifetime = Some(300))
        .err(Error::LifetimeTooLong {
            lifetime: 301,
            max: 300,
        }),
        // ---- client authentication ---------------------------------------------------------
        client("client: iss = sub = client id", client_base()).ok(),
        client("client: client_id parameter equals iss", client_base())
            .client_id(CLIENT)
            .ok(),
        client(
            "client: client_id parameter names another registered client",
            client_base(),
        )
        .client_id(CLIENT_2)
        .err(Error::IssuerMismatch),
        client(
            "client: second registered client",
            client_with(json!({"iss": CLIENT_2, "sub": CLIENT_2})),
        )
        .ok(),
        client(
            "client: a grant issuer is not a client",
            client_with(json!({"iss": ISSUER, "sub": ISSUER})),
        )
        .err(Error::IssuerMismatch),
        client(
            "client: aud checked against the configured issuer identifier",
            client_with(json!({"aud": "https://as-2.example"})),
        )
        .with(|c| c.as_issuer = "https://as-2.example")
        .ok(),
        // ---- grant -------------------------------------------------------------------------
        grant("grant: a client id is not a trusted issuer", client_base())
            .err(Error::IssuerMismatch),
        grant("grant: an escaped iss is compared decoded", grant_base())
            .payload_raw(with_raw(
                grant_base(),
                "iss",
                r#""https:\/\/issuer.example""#,
            ))
            .ok(),
    ];
    for payload in [
        "0",
        "1",
        "-1",
        "true",
        "false",
        "null",
        "[]",
        "\"\"",
        "\"1\"",
        "[\"client-id\"]",
        " 1.5e3 ",
    ] {
        rows.push(
            grant(&format!("I1 payload {payload}"), grant_base())
                .payload_raw(payload)
                .err(malformed(Malformed::NotAnObject(Part::Payload))),
        );
    }
    rows.push(
        client(
            "I1 client (client_id given): payload [\"client-1\"]",
            client_base(),
        )
        .payload_raw(r#"["client-1"]"#)
        .client_id(CLIENT)
        .err(malformed(Malformed::NotAnObject(Part::Payload))),
    );
    rows.push(
        row("I1 client: payload null", C, client_base())
            .payload_raw("null")
            .err(malformed(Malformed::NotAnObject(Part::Payload))),
    );
    rows
}

fn audience_values(n: usize) -> Vec<String> {
    let mut values: Vec<String> = (1..n).map(|i| format!("https://aud-{i}.example")).collect();
    values.push(AS_ISSUER.to_owned());
    values
}

/// `depth` arrays nested in each other (`[[…[]…]]`).
fn nested_arrays(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!([inner]))
}

/// The base grant claims padded to `n` members.
fn members(n: usize) -> Value {
    let mut base = grant_base();
    let map = base.as_object_mut().unwrap_or_else(|| panic!("object"));
    let mut i = 0;
    while map.len() < n {
        map.insert(format!("x{i}"), json!(i));
        i += 1;
    }
    base
}

// ---------------------------------------------------------------------------------------------
// Running a row
// ---------------------------------------------------------------------------------------------

fn build_token(f: &Fixtures, row: &Row) -> String {
    let c = &row.config;
    if let Some(raw) = &c.raw_token {
        return raw.clone();
    }
    let token = match c.sign {
        SignWith::Main => sign_raw(&f.main, &row.header, &row.payload),
        SignWith::Other => sign_raw(&f.other, &row.header, &row.payload),
        SignWith::FlipBit | SignWith::Truncate => {
            let good = sign_raw(&f.main, &row.header, &row.payload);
            let (input, sig) = good.rsplit_once('.').unwrap_or_else(|| panic!("JWS"));
            let mut sig = Base64UrlUnpadded::decode_vec(sig).unwrap_or_else(|e| panic!("{e}"));
            if matches!(c.sign, SignWith::FlipBit) {
                sig[100] ^= 0x01;
            } else {
                sig.pop();
            }
            format!("{input}.{}", b64(&sig))
        }
        SignWith::SwapPayload => {
            let base = match row.profile {
                Profile::Grant => grant_base(),
                Profile::Client => client_base(),
            };
            let good = sign_raw(&f.main, &row.header, base.to_string().as_bytes());
            let mut parts = good.split('.');
            let (Some(h), Some(_), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
                panic!("JWS");
            };
            format!("{h}.{}.{s}", b64(&row.payload))
        }
        SignWith::Literal(sig) => format!("{}.{}.{sig}", b64(&row.header), b64(&row.payload)),
    };
    match c.token_prefix {
        Some(prefix) => format!("{prefix}{token}"),
        None => token,
    }
}

/// Runs `row` and returns its result, with any broken invariant in `problems`.
fn run_row<'b>(
    f: &Fixtures,
    row: &Row,
    problems: &mut Vec<String>,
    buffer: &'b mut DecodeBuffer,
) -> Result<ValidatedAssertion<'b>, Error> {
    let c = &row.config;
    let token = build_token(f, row);
    let mut checks = c.checks;
    if let Some(delta) = c.max_len_delta {
        checks.max_token_len = token
            .len()
            .checked_add_signed(delta)
            .unwrap_or_else(|| panic!("length"));
    }
    let mut store = MemoryReplayStore::<2>::new();
    for entry in &c.prefill {
        store
            .check_and_insert(*entry, 0)
            .unwrap_or_else(|e| panic!("prefill: {e:?}"));
    }
    let live_before = store.live(c.now);
    let subject: Vec<&str> = c.subject.into_iter().collect();
    let policy = Policy {
        checks,
        typ: c.typ,
        subjects: if subject.is_empty() {
            Subjects::Any
        } else {
            Subjects::OneOf(&subject)
        },
        algorithms: Algorithms::ALL,
        compat: c.compat,
        claims: ClaimConditions::new(&c.claims).unwrap_or_else(|e| panic!("{e}")),
    };
    let issuers = keyed(trusted_issuers(f, policy), c.key_source);
    let clients = keyed(registered_clients(f, policy), c.key_source);
    let result = match row.profile {
        Profile::Grant => GrantProfile {
            issuers: &issuers[..],
            audiences: &c.audiences,
        }
        .validate(&token, c.now, &mut store, buffer),
        Profile::Client => ClientAuthProfile {
            clients: &clients[..],
            issuer: c.as_issuer,
            token_endpoint: c.token_endpoint,
        }
        .validate(&token, c.client_id, c.now, &mut store, buffer),
    };
    let live_after = store.live(c.now);
    match &result {
        Ok(v) => {
            let payload: Value = serde_json::from_slice(&row.payload).unwrap_or(Value::Null);
            let expected_use = match row.profile {
                Profile::Grant => Use::AuthorizationGrant,
                Profile::Client => Use::ClientAuthentication,
            };
            if v.use_() != expected_use {
                problems.push(format!("use {:?}", v.use_()));
            }
            if payload["iss"].as_str().is_some_and(|iss| iss != v.issuer()) {
                problems.push(format!("issuer() = {:?}", v.issuer()));
            }
            // Without `sub` (Compat::missing_sub), the subject is `iss`.
            let expected_subject = payload["sub"].as_str().or(payload["iss"].as_str());
            if expected_subject.is_some_and(|sub| sub != v.subject()) {
                problems.push(format!("subject() = {:?}", v.subject()));
            }
            // Every relaxation an accepted assertion relied on is reported, and no other.
            let strict_audience = payload["aud"].as_str() == Some(c.as_issuer)
                || payload["aud"].as_array().is_some_and(|a| {
                    a.len() == 1 && a.first().and_then(Value::as_str) == Some(c.as_issuer)
                });
            let expected_compat: Vec<Relaxation> = [
                (
                    Relaxation::TokenEndpointAudience,
                    row.profile == Profile::Client && !strict_audience,
                ),
                (Relaxation::MissingSub, payload.get("sub").is_none()),
                (Relaxation::MissingJti, payload.get("jti").is_none()),
            ]
            .into_iter()
            .filter_map(|(r, relied_on)| relied_on.then_some(r))
            .collect();
            if v.compat().iter().collect::<Vec<_>>() != expected_compat {
                problems.push(format!(
                    "compat() = {:?}, expected {expected_compat:?}",
                    v.compat()
                ));
            }
            let has_jti = v.claims().jti().is_some();
            if v.replay_entry().is_some() != has_jti {
                problems.push("replay entry iff jti".to_owned());
            }
            if live_after != live_before + usize::from(has_jti) {
                problems.push(format!("live entries {live_before} -> {live_after}"));
            }
        }
        Err(_) => {
            // A refused assertion never takes a replay-store entry.
            if live_after != live_before || store.len() != c.prefill.len() {
                problems.push(format!(
                    "refused, but the store changed: live {live_before} -> {live_after}"
                ));
            }
        }
    }
    result
}

/// Scenario ids of claim_scenarios.md that have no row, and why.
const NOT_IN_TABLE: [(&str, &str); 8] = [
    (
        "D7",
        "an RFC 7523 verifier always has an expected audience (not optional in the types)",
    ),
    (
        "D12",
        "the expected audience is a &str: bytes cannot be passed",
    ),
    ("D13", "there is no \"match all audiences\" mode"),
    ("I7", "a missing assertion parameter: see token_requests"),
    (
        "J2",
        "the algorithm is fixed to RS256 by the verifier: nothing to configure",
    ),
    (
        "K1",
        "leeway is u64 seconds: NaN and infinities cannot be expressed",
    ),
    (
        "K2",
        "now is a required u64 argument: no Invalid Date, no system-clock fall-back",
    ),
    (
        "K3",
        "max_age is Option<u64>: nothing can be coerced into it",
    ),
];

/// K4 (leeway as a duration object vs plain seconds) has no row either: there is a single
/// representation (u64 seconds), so the two cannot differ. Listed apart to keep
/// [`NOT_IN_TABLE`] about the ids that need a reason of their own.
const K4: &str = "K4";

fn scenario_ids() -> Vec<String> {
    let counts = [
        ('A', 11),
        ('B', 8),
        ('C', 6),
        ('D', 14),
        ('E', 7),
        ('F', 5),
        ('G', 3),
        ('H', 6),
        ('I', 7),
        ('J', 4),
        ('K', 4),
    ];
    counts
        .iter()
        .flat_map(|&(letter, n)| (1..=n).map(move |i| format!("{letter}{i}")))
        .collect()
}

#[test]
fn claim_scenarios() {
    let f = fixtures();
    let rows = rows();
    let mut failures = Vec::new();
    let mut reasons = HashSet::new();
    let mut names = HashSet::new();
    for row in &rows {
        if !names.insert(row.what.clone()) {
            failures.push(format!("duplicate row description {:?}", row.what));
        }
        let Some(expect) = &row.expect else {
            failures.push(format!("{}: no expectation", row.what));
            continue;
        };
        let mut problems = Vec::new();
        let mut buffer = DecodeBuffer::new();
        let result = run_row(f, row, &mut problems, &mut buffer);
        if let Err(e) = &result {
            reasons.insert(e.reason());
        }
        let got = result.as_ref().map(|_| ()).map_err(Clone::clone);
        if &got != expect {
            failures.push(format!("{}: expected {expect:?}, got {got:?}", row.what));
        }
        for p in problems {
            failures.push(format!("{}: {p}", row.what));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenario rows failed:\n  {}",
        failures.len(),
        rows.len(),
        failures.join("\n  ")
    );

    // Every reason an assertion can produce is reached by some row.
    let request_level = [
        Reason::InvalidRequest,
        Reason::UnsupportedGrantType,
        Reason::UnsupportedAssertionType,
        Reason::UnsupportedClientAuthentication,
    ];
    let missing: Vec<_> = Reason::ALL
        .iter()
        .filter(|r| !request_level.contains(r) && !reasons.contains(*r))
        .collect();
    assert!(missing.is_empty(), "reasons no row reaches: {missing:?}");

    // Every scenario id has a row or a reason not to.
    let covered: HashSet<String> = rows
        .iter()
        .filter_map(|r| r.what.split_whitespace().next())
        .flat_map(|ids| ids.split('/').map(str::to_owned))
        .collect();
    let unexplained: Vec<_> = scenario_ids()
        .into_iter()
        .filter(|id| {
            !covered.contains(id) && !NOT_IN_TABLE.iter().any(|(n, _)| n == id) && id != K4
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "scenarios without a row: {unexplained:?}"
    );
    let redundant: Vec<_> = NOT_IN_TABLE
        .iter()
        .filter(|(id, _)| covered.contains(*id))
        .collect();
    assert!(
        redundant.is_empty(),
        "listed as not in the table but covered: {redundant:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Replay across requests
// ---------------------------------------------------------------------------------------------

fn grant_profile<'a>(issuers: &'a [Party<'a>]) -> GrantProfile<'a> {
    GrantProfile {
        issuers,
        audiences: &[AS_ISSUER, TOKEN_ENDPOINT],
    }
}

fn client_profile<'a>(clients: &'a [Party<'a>]) -> ClientAuthProfile<'a> {
    ClientAuthProfile {
        clients,
        issuer: AS_ISSUER,
        token_endpoint: None,
    }
}

fn signed(claims: &Value) -> String {
    sign_raw(
        &fixtures().main,
        br#"{"alg":"RS256"}"#,
        claims.to_string().as_bytes(),
    )
}

/// Claims are spans over the payload with their JSON escapes in place: the party lookup, every
/// comparison, the `Subjects` list and the replay key see the decoded text, exactly as when the
/// claims were decoded into buffers of their own.
#[test]
fn escaped_claims_are_read_decoded_everywhere() {
    let f = fixtures();
    let sign_text = |text: &str| sign_raw(&f.main, br#"{"alg":"RS256"}"#, text.as_bytes());
    let mut store = MemoryReplayStore::<8>::new();

    // A client assertion with every string claim escaped.
    let clients = registered_clients(f, Policy::default());
    let escaped = sign_text(&format!(
        r#"{{"iss":"client\u002d1","sub":"\u0063lient-1","aud":"https:\/\/as.example","exp":{},"iat":{NOW},"jti":"j\/1"}}"#,
        NOW + 60
    ));
    let mut buffer = DecodeBuffer::new();
    let valid = client_profile(&clients)
        .validate(&escaped, Some(CLIENT), NOW, &mut store, &mut buffer)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(valid.issuer() == CLIENT && valid.subject() == CLIENT);
    assert_eq!(
        valid.issuer().as_str(),
        None,
        "still escaped in the payload"
    );
    assert_eq!(text(valid.claims().jti()).as_deref(), Some("j/1"));
    assert_eq!(
        valid.replay_entry().map(|e| e.key),
        Some(ReplayKey::new(CLIENT, "j/1"))
    );
    // The same (iss, jti) unescaped is a replay of it.
    let plain = signed(&client_with(json!({"jti": "j/1"})));
    assert_eq!(
        client_profile(&clients)
            .validate(&plain, None, NOW, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::Replayed
    );

    // A grant whose escaped sub is on, or off, its issuer's list.
    let subjects = ["alice/x"];
    let policy = Policy {
        subjects: Subjects::OneOf(&subjects),
        ..Policy::default()
    };
    let issuers = trusted_issuers(f, policy);
    let grant = |sub: &str| {
        sign_text(&format!(
            r#"{{"iss":"{ISSUER}","sub":"{sub}","aud":"{AS_ISSUER}","exp":{},"jti":"{sub}"}}"#,
            NOW + 60
        ))
    };
    let mut buffer = DecodeBuffer::new();
    let valid = grant_profile(&issuers)
        .validate(&grant(r"alice\/x"), NOW, &mut store, &mut buffer)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(valid.subject() == "alice/x");
    assert_eq!(
        grant_profile(&issuers)
            .validate(
                &grant(r"alice\/y"),
                NOW,
                &mut store,
                &mut DecodeBuffer::new()
            )
            .unwrap_err(),
        Error::SubjectMismatch
    );
}

#[test]
fn g3_same_jti_twice_is_replayed() {
    let f = fixtures();
    let issuers = trusted_issuers(f, Policy::default());
    let profile = grant_profile(&issuers);
    let mut store = MemoryReplayStore::<8>::new();
    let token = signed(&grant_base());
    let mut buffer = DecodeBuffer::new();
    let first = profile
        .validate(&token, NOW, &mut store, &mut buffer)
        .unwrap();
    assert_eq!(
        first.replay_entry(),
        Some(ReplayEntry {
            key: ReplayKey::new(ISSUER, "jti-1"),
            expires_at: NOW + 300 + 30,
        })
    );
    assert_eq!(
        profile
            .validate(&token, NOW + 1, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::Replayed
    );
    // Another token (another signature, other claims) with the same (iss, jti): replayed too.
    let other = signed(&grant_with(json!({"sub": "bob"})));
    assert_eq!(
        profile
            .validate(&other, NOW + 2, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::Replayed
    );
    // Same jti from another trusted issuer: a different pair, accepted.
    let from_issuer_2 = signed(&grant_with(json!({"iss": ISSUER_2})));
    profile
        .validate(
            &from_issuer_2,
            NOW + 2,
            &mut store,
            &mut DecodeBuffer::new(),
        )
        .unwrap();
    // The grant and client uses share a store but not keys: same jti from a client passes.
    let clients = registered_clients(f, Policy::default());
    let client_token = signed(&client_with(json!({"jti": "jti-1"})));
    client_profile(&clients)
        .validate(
            &client_token,
            None,
            NOW + 2,
            &mut store,
            &mut DecodeBuffer::new(),
        )
        .unwrap();
    assert_eq!(store.live(NOW + 2), 3);
}

#[test]
fn g3_replay_checking_off_with_a_custom_store() {
    /// A store that remembers nothing: replay checking switched off (authlib's
    /// "test_not_validate_jti").
    struct Forgetful;
    impl ReplayStore for Forgetful {
        fn check_and_insert(&mut self, _: ReplayEntry, _: u64) -> Result<(), ReplayError> {
            Ok(())
        }
    }
    let f = fixtures();
    let issuers = trusted_issuers(f, Policy::default());
    let profile = grant_profile(&issuers);
    let token = signed(&grant_base());
    profile
        .validate(&token, NOW, &mut Forgetful, &mut DecodeBuffer::new())
        .unwrap();
    profile
        .validate(&token, NOW, &mut Forgetful, &mut DecodeBuffer::new())
        .unwrap();
    // A dyn store works too.
    let mut store: Box<dyn ReplayStore> = Box::new(MemoryReplayStore::<1>::new());
    profile
        .validate(&token, NOW, &mut *store, &mut DecodeBuffer::new())
        .unwrap();
    assert_eq!(
        profile
            .validate(&token, NOW, &mut *store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::Replayed
    );
}

#[test]
fn replay_store_full_then_slot_reused_after_expiry() {
    let f = fixtures();
    let checks = Checks {
        leeway: 0,
        ..Checks::default()
    };
    let issuers = trusted_issuers(f, with_checks(checks));
    let profile = grant_profile(&issuers);
    let mut store = MemoryReplayStore::<1>::new();
    // A: short-lived (exp = now + 10), takes the only slot until now + 10.
    let a = signed(&grant_with(json!({"jti": "a", "exp": NOW + 10})));
    profile
        .validate(&a, NOW, &mut store, &mut DecodeBuffer::new())
        .unwrap();
    // B, while A is live: refused, store unchanged.
    let b = signed(&grant_with(json!({"jti": "b", "exp": NOW + 1_000})));
    assert_eq!(
        profile
            .validate(&b, NOW + 5, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::ReplayStoreFull
    );
    assert_eq!(
        profile
            .validate(&b, NOW + 9, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::ReplayStoreFull
    );
    assert_eq!((store.len(), store.live(NOW + 9)), (1, 1));
    // At exp + leeway A is dead (and could not pass the exp check anyway): B reuses the slot.
    assert_eq!(
        profile
            .validate(&a, NOW + 10, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::Expired {
            exp: NOW + 10,
            now: NOW + 10,
            leeway: 0
        }
    );
    profile
        .validate(&b, NOW + 10, &mut store, &mut DecodeBuffer::new())
        .unwrap();
    assert_eq!((store.len(), store.live(NOW + 10)), (1, 1));
    assert_eq!(
        profile
            .validate(&b, NOW + 11, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::Replayed
    );
}

#[test]
fn refused_assertions_do_not_consume_replay_slots() {
    let f = fixtures();
    let issuers = trusted_issuers(f, Policy::default());
    let profile = grant_profile(&issuers);
    let mut store = MemoryReplayStore::<1>::new();
    for (what, claims) in [
        (
            "wrong aud",
            grant_with(json!({"aud": "https://other.example"})),
        ),
        ("expired", grant_with(json!({"exp": NOW - 100}))),
        ("not yet valid", grant_with(json!({"nbf": NOW + 100}))),
        (
            "issued in the future",
            grant_with(json!({"iat": NOW + 100})),
        ),
    ] {
        assert!(
            profile
                .validate(&signed(&claims), NOW, &mut store, &mut DecodeBuffer::new())
                .is_err(),
            "{what}"
        );
        assert!(store.is_empty(), "{what} took a replay slot");
    }
    let short_lived = trusted_issuers(
        f,
        with_checks(Checks {
            max_lifetime: Some(60),
            ..Checks::default()
        }),
    );
    let with_lifetime = grant_profile(&short_lived);
    assert!(with_lifetime
        .validate(
            &signed(&grant_base()),
            NOW,
            &mut store,
            &mut DecodeBuffer::new()
        )
        .is_err());
    assert!(store.is_empty(), "lifetime too long took a replay slot");
    // The corrected assertion, same jti, is accepted: nothing was remembered.
    profile
        .validate(
            &signed(&grant_base()),
            NOW,
            &mut store,
            &mut DecodeBuffer::new(),
        )
        .unwrap();
    assert_eq!(store.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// OAuth error mapping
// ---------------------------------------------------------------------------------------------

#[test]
fn oauth_error_mapping() {
    let f = fixtures();
    let clients = registered_clients(f, Policy::default());
    let issuers = trusted_issuers(f, Policy::default());
    let client = client_profile(&clients);
    let grant = grant_profile(&issuers);
    let client_cases = [
        (
            signed(&client_with(json!({"exp": NOW - 100}))),
            "the assertion expired 100 s ago (leeway 30 s)",
        ),
        (
            signed(&client_with(json!({"aud": TOKEN_ENDPOINT}))),
            "the aud claim does not identify this authorization server",
        ),
        (
            sign_raw(
                &f.other,
                br#"{"alg":"RS256"}"#,
                client_base().to_string().as_bytes(),
            ),
            "invalid signature",
        ),
        (
            signed(&client_with(json!({"sub": ABSENT}))),
            "the sub claim is missing",
        ),
        (
            "not-a-jwt".to_owned(),
            "not a compact JWS: expected three dot-separated segments",
        ),
        (
            signed(&client_with(json!({"iss": "client-9", "sub": "client-9"}))),
            "the iss claim is not a trusted issuer or the client id",
        ),
    ];
    for (token, description) in &client_cases {
        let mut store = MemoryReplayStore::<4>::new();
        let err = client
            .validate(token, None, NOW, &mut store, &mut DecodeBuffer::new())
            .unwrap_err();
        let response = err.response(Use::ClientAuthentication);
        assert_eq!(response.error(), OAuthError::InvalidClient);
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.to_json().as_str(),
            format!(r#"{{"error":"invalid_client","error_description":"{description}"}}"#),
            "{err:?}"
        );
        // The same failure, as a grant, is invalid_grant.
        let as_grant = err.response(Use::AuthorizationGrant);
        assert_eq!(
            (as_grant.error().code(), as_grant.status()),
            ("invalid_grant", 400)
        );
    }
    let grant_cases = [
        (
            signed(&grant_with(json!({"iss": "https://evil.example"}))),
            "the iss claim is not a trusted issuer or the client id",
        ),
        (
            signed(&grant_with(json!({"nbf": NOW + 100}))),
            "the assertion is not valid for another 100 s (leeway 30 s)",
        ),
        (
            sign_raw(
                &f.main,
                br#"{"alg":"RS256","crit":["x"]}"#,
                grant_base().to_string().as_bytes(),
            ),
            "the crit header parameter is not supported",
        ),
        (
            sign_raw(
                &f.main,
                br#"{"alg":"none"}"#,
                grant_base().to_string().as_bytes(),
            ),
            "the alg is not one this party's keys accept",
        ),
        (
            signed(&grant_with(json!({"iat": "1700000000"}))),
            "the iat claim is invalid",
        ),
    ];
    for (token, description) in &grant_cases {
        let mut store = MemoryReplayStore::<4>::new();
        let err = grant
            .validate(token, NOW, &mut store, &mut DecodeBuffer::new())
            .unwrap_err();
        let response = err.response(Use::AuthorizationGrant);
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.to_json().as_str(),
            format!(r#"{{"error":"invalid_grant","error_description":"{description}"}}"#),
            "{err:?}"
        );
    }
    // Replay and store-full are plain refusals too.
    let mut store = MemoryReplayStore::<1>::new();
    let token = signed(&grant_base());
    grant
        .validate(&token, NOW, &mut store, &mut DecodeBuffer::new())
        .unwrap();
    let replayed = grant
        .validate(&token, NOW, &mut store, &mut DecodeBuffer::new())
        .unwrap_err();
    assert_eq!(
        replayed
            .response(Use::AuthorizationGrant)
            .to_json()
            .as_str(),
        r#"{"error":"invalid_grant","error_description":"the assertion was already used (jti replay)"}"#
    );
    let full = grant
        .validate(
            &signed(&grant_with(json!({"jti": "2"}))),
            NOW,
            &mut store,
            &mut DecodeBuffer::new(),
        )
        .unwrap_err();
    assert_eq!(
        full.response(Use::ClientAuthentication).to_json().as_str(),
        r#"{"error":"invalid_client","error_description":"the replay cache is full; the assertion cannot be accepted now"}"#
    );
}

// ---------------------------------------------------------------------------------------------
// The `sign` feature: sign, then validate
// ---------------------------------------------------------------------------------------------

fn signer() -> AssertionSigner {
    AssertionSigner::from_pem(&fixtures().main_private_pem)
        .unwrap_or_else(|e| panic!("signer: {e}"))
}

#[test]
fn sign_then_validate_grant() {
    let f = fixtures();
    let signer = signer();
    assert_eq!(signer.bits(), 2048);
    let token = signer
        .sign(
            &AssertionRequest {
                issuer: ISSUER,
                subject: SUBJECT,
                audience: TOKEN_ENDPOINT,
                ..AssertionRequest::default()
            },
            NOW,
        )
        .unwrap();
    let pinned = [SUBJECT];
    let issuers = trusted_issuers(
        f,
        Policy {
            checks: Checks {
                require_jti: true,
                require_iat: true,
                max_lifetime: Some(300),
                max_age: Some(60),
                ..Checks::default()
            },
            subjects: Subjects::OneOf(&pinned),
            ..Policy::default()
        },
    );
    let profile = grant_profile(&issuers);
    let mut store = MemoryReplayStore::<4>::new();
    let mut buffer = DecodeBuffer::new();
    let v = profile
        .validate(&token, NOW, &mut store, &mut buffer)
        .unwrap();
    assert_eq!(v.use_(), Use::AuthorizationGrant);
    assert_eq!(text(v.header().typ()).as_deref(), Some("JWT"));
    assert!(v.header().kid().is_none());
    assert!(v.issuer() == ISSUER && v.subject() == SUBJECT);
    let claims = v.claims();
    assert_eq!(claims.exp().map(|d| d.floor()), Some(NOW + 300));
    assert_eq!(claims.iat().map(|d| d.floor()), Some(NOW));
    assert!(claims
        .aud()
        .and_then(|a| a.sole_value())
        .is_some_and(|aud| aud == TOKEN_ENDPOINT));
    let jti = claims.jti().unwrap();
    assert_eq!(jti.len(), 22, "128 random bits, base64url: {jti}");
    // The random jti differs between two signatures.
    let again = signer
        .sign(
            &AssertionRequest {
                issuer: ISSUER,
                subject: SUBJECT,
                audience: TOKEN_ENDPOINT,
                ..AssertionRequest::default()
            },
            NOW,
        )
        .unwrap();
    let mut buffer2 = DecodeBuffer::new();
    let v2 = profile
        .validate(&again, NOW, &mut store, &mut buffer2)
        .unwrap();
    assert_ne!(v2.claims().jti(), Some(jti));
    // And the first one cannot be replayed.
    assert_eq!(
        profile
            .validate(&token, NOW + 1, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::Replayed
    );
    // Valid until exp + leeway, not after.
    let mut fresh = MemoryReplayStore::<4>::new();
    assert_eq!(
        profile
            .validate(&token, NOW + 330, &mut fresh, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::Expired {
            exp: NOW + 300,
            now: NOW + 330,
            leeway: 30
        }
    );
}

#[test]
fn sign_then_validate_client_authentication() {
    let f = fixtures();
    let clients = registered_clients(f, Policy::default());
    let issuers = trusted_issuers(f, Policy::default());
    let signer = signer();
    let request = AssertionRequest {
        issuer: CLIENT,
        subject: CLIENT,
        audience: AS_ISSUER,
        jti: Some("fixed-jti"),
        lifetime: Some(60),
        client_authentication: true,
        ..AssertionRequest::default()
    };
    let token = signer.sign(&request, NOW).unwrap();
    let explicit_clients = registered_clients(
        f,
        Policy {
            typ: TypRule::RequireExplicit,
            ..Policy::default()
        },
    );
    let explicit = client_profile(&explicit_clients);
    let mut store = MemoryReplayStore::<4>::new();
    let mut buffer = DecodeBuffer::new();
    let v = explicit
        .validate(&token, Some(CLIENT), NOW, &mut store, &mut buffer)
        .unwrap();
    assert_eq!(v.use_(), Use::ClientAuthentication);
    assert_eq!(
        text(v.header().typ()).as_deref(),
        Some("client-authentication+jwt")
    );
    assert!(v.claims().jti().is_some_and(|jti| jti == "fixed-jti"));
    assert_eq!(v.claims().exp().map(|d| d.floor()), Some(NOW + 60));
    assert_eq!(
        explicit
            .validate(
                &token,
                Some(CLIENT),
                NOW,
                &mut store,
                &mut DecodeBuffer::new()
            )
            .unwrap_err(),
        Error::Replayed
    );
    // Cross-JWT confusion: the client assertion is not a grant, even for a trusted issuer.
    let as_grant = signer
        .sign(
            &AssertionRequest {
                issuer: ISSUER,
                subject: ISSUER,
                audience: AS_ISSUER,
                client_authentication: true,
                ..AssertionRequest::default()
            },
            NOW,
        )
        .unwrap();
    assert_eq!(
        grant_profile(&issuers)
            .validate(&as_grant, NOW, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::InvalidType(TypProblem::AnotherType)
    );
    // A grant-style assertion (typ JWT) passes the default rule, not RequireExplicit.
    let plain = signer
        .sign(
            &AssertionRequest {
                client_authentication: false,
                jti: Some("plain"),
                ..request
            },
            NOW,
        )
        .unwrap();
    assert_eq!(
        explicit
            .validate(&plain, None, NOW, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::InvalidType(TypProblem::NotExplicit)
    );
    client_profile(&clients)
        .validate(&plain, None, NOW, &mut store, &mut DecodeBuffer::new())
        .unwrap();
    // The signer refuses iss != sub for client authentication.
    assert_eq!(
        signer
            .sign(
                &AssertionRequest {
                    subject: CLIENT_2,
                    ..request
                },
                NOW
            )
            .unwrap_err(),
        SignError::IssuerIsNotSubject
    );
}

#[test]
fn sign_with_kid_lifetime_and_fixed_jti() {
    let f = fixtures();
    let issuers = trusted_issuers(f, Policy::default());
    let signer = signer();
    let request = AssertionRequest {
        issuer: KID_ISSUER,
        subject: SUBJECT,
        audience: AS_ISSUER,
        kid: Some("k1"),
        lifetime: Some(301),
        jti: Some("j"),
        ..AssertionRequest::default()
    };
    let token = signer.sign(&request, NOW).unwrap();
    let mut store = MemoryReplayStore::<4>::new();
    let mut buffer = DecodeBuffer::new();
    let v = grant_profile(&issuers)
        .validate(&token, NOW, &mut store, &mut buffer)
        .unwrap();
    assert_eq!(text(v.header().kid()).as_deref(), Some("k1"));
    assert_eq!(v.assertion().key_id(), Some("k1"));
    let strict_issuers = trusted_issuers(
        f,
        with_checks(Checks {
            max_lifetime: Some(300),
            ..Checks::default()
        }),
    );
    let strict = grant_profile(&strict_issuers);
    assert_eq!(
        strict
            .validate(&token, NOW, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::LifetimeTooLong {
            lifetime: 301,
            max: 300
        }
    );
    // An unknown kid for that issuer: no candidate key.
    let wrong_kid = signer
        .sign(
            &AssertionRequest {
                kid: Some("k2"),
                ..request
            },
            NOW,
        )
        .unwrap();
    assert_eq!(
        grant_profile(&issuers)
            .validate(&wrong_kid, NOW, &mut store, &mut DecodeBuffer::new())
            .unwrap_err(),
        Error::UnknownKey
    );
    // The public key of the signer is the configured one.
    let (n, e) = signer.public_components();
    let from_signer = rfc7523::RsaVerifyingKey::from_components(&n, &e).unwrap();
    let configured = rfc7523::RsaVerifyingKey::from_pem(&f.main_public_pem).unwrap();
    assert_eq!(from_signer, configured);
}

// ---------------------------------------------------------------------------------------------
// Task 2: token requests
// ---------------------------------------------------------------------------------------------

/// Percent-encodes every byte (even unreserved ones), hex digits upper or lower case.
fn pct_all(s: &str, lower: bool) -> String {
    s.bytes()
        .map(|b| {
            if lower {
                format!("%{b:02x}")
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Percent-encodes what a form encoder must (RFC 6749 Appendix B), `+` for spaces.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Endpoint {
    Both,
    GrantOnly,
    ClientOnly,
}

/// What a request should give: the outcome's use, grant_type, and whether it holds a grant
/// and a client assertion; or the exact error, status and JSON body.
enum Outcome {
    Ok(Use, &'static str, bool, bool),
    Err(TokenError, u16, String),
}

fn err_body(error: &str, description: &str) -> String {
    format!(r#"{{"error":"{error}","error_description":"{description}"}}"#)
}

fn invalid_request(p: RequestProblem, description: &str) -> Outcome {
    Outcome::Err(
        TokenError::InvalidRequest(p),
        400,
        err_body("invalid_request", description),
    )
}

#[allow(clippy::too_many_lines)]
#[test]
fn token_requests() {
    let f = fixtures();
    let issuers = trusted_issuers(f, Policy::default());
    let clients = registered_clients(f, Policy::default());
    let grant = grant_profile(&issuers);
    let client = client_profile(&clients);

    let g = signed(&grant_with(json!({"jti": "g-req"})));
    let c = signed(&client_with(json!({"jti": "c-req"})));
    let g_bad = signed(&grant_with(
        json!({"jti": "g-bad", "aud": "https://other.example"}),
    ));
    let c_expired = signed(&client_with(json!({"jti": "c-old", "exp": NOW - 100})));
    let grant_type = format!("grant_type={}", form_encode(JWT_BEARER_GRANT_TYPE));
    let cat = format!(
        "client_assertion_type={}",
        form_encode(JWT_BEARER_CLIENT_ASSERTION_TYPE)
    );
    let bearer = JWT_BEARER_GRANT_TYPE;

    let cases: Vec<(&str, Endpoint, String, Outcome)> = vec![
        (
            "jwt-bearer grant",
            Endpoint::Both,
            format!("{grant_type}&assertion={g}"),
            Outcome::Ok(Use::AuthorizationGrant, bearer, true, false),
        ),
        (
            "jwt-bearer grant, raw ':' in the grant type, scope",
            Endpoint::Both,
            format!("grant_type={bearer}&assertion={g}&scope=read"),
            Outcome::Ok(Use::AuthorizationGrant, bearer, true, false),
        ),
        (
            "client assertion with grant_type=client_credentials",
            Endpoint::Both,
            format!("grant_type=client_credentials&{cat}&client_assertion={c}"),
            Outcome::Ok(Use::ClientAuthentication, "client_credentials", false, true),
        ),
        (
            "client assertion with client_id",
            Endpoint::Both,
            format!("grant_type=client_credentials&client_id={CLIENT}&{cat}&client_assertion={c}"),
            Outcome::Ok(Use::ClientAuthentication, "client_credentials", false, true),
        ),
        (
            "jwt-bearer grant and client assertion at once",
            Endpoint::Both,
            format!("{grant_type}&assertion={g}&{cat}&client_assertion={c}"),
            Outcome::Ok(Use::AuthorizationGrant, bearer, true, true),
        ),
        (
            "every byte percent-encoded (upper-case hex)",
            Endpoint::Both,
            format!(
                "{}={}&{}={}",
                pct_all("grant_type", false),
                pct_all(bearer, false),
                pct_all("assertion", false),
                pct_all(&g, false)
            ),
            Outcome::Ok(Use::AuthorizationGrant, bearer, true, false),
        ),
        (
            "every byte percent-encoded (lower-case hex)",
            Endpoint::Both,
            format!(
                "grant_type={}&{cat}&client_assertion={}",
                pct_all("client_credentials", true),
                pct_all(&c, true)
            ),
            Outcome::Ok(Use::ClientAuthentication, "client_credentials", false, true),
        ),
        (
            "'+' decodes to a space (grant_type=client+credentials)",
            Endpoint::Both,
            format!("grant_type=client+credentials&scope=read+write&{cat}&client_assertion={c}"),
            Outcome::Ok(Use::ClientAuthentication, "client credentials", false, true),
        ),
        (
            "empty pieces and unknown parameters are ignored",
            Endpoint::Both,
            format!("&&{grant_type}&&x-unknown=1&assertion={g}&"),
            Outcome::Ok(Use::AuthorizationGrant, bearer, true, false),
        ),
        (
            "repeated grant_type",
            Endpoint::Both,
            format!("{grant_type}&{grant_type}&assertion={g}"),
            invalid_request(
                RequestProblem::Form(FormError::RepeatedParameter),
                "a request parameter is repeated",
            ),
        ),
        (
            "repeated parameter, once percent-encoded (grant%5Ftype)",
            Endpoint::Both,
            format!("{grant_type}&grant%5Ftype=x&assertion={g}"),
            invalid_request(
                RequestProblem::Form(FormError::RepeatedParameter),
                "a request parameter is repeated",
            ),
        ),
        (
            "repeated assertion",
            Endpoint::Both,
            format!("{grant_type}&assertion={g}&assertion={g}"),
            invalid_request(
                RequestProblem::Form(FormError::RepeatedParameter),
                "a request parameter is repeated",
            ),
        ),
        (
            "repeated unknown parameter",
            Endpoint::Both,
            format!("{grant_type}&assertion={g}&x=1&x=2"),
            invalid_request(
                RequestProblem::Form(FormError::RepeatedParameter),
                "a request parameter is repeated",
            ),
        ),
        (
            "bad percent-encoding",
            Endpoint::Both,
            format!("{grant_type}&assertion={g}%G1"),
            invalid_request(
                RequestProblem::Form(FormError::BadEncoding),
                "the request body is not valid form encoding",
            ),
        ),
        (
            "truncated percent-encoding",
            Endpoint::Both,
            format!("assertion={g}&{grant_type}%3"),
            invalid_request(
                RequestProblem::Form(FormError::BadEncoding),
                "the request body is not valid form encoding",
            ),
        ),
        (
            "parameter without a name",
            Endpoint::Both,
            format!("{grant_type}&=x&assertion={g}"),
            invalid_request(
                RequestProblem::Form(FormError::EmptyName),
                "the request has a parameter without a name",
            ),
        ),
        (
            "I7 jwt-bearer grant without assertion",
            Endpoint::Both,
            grant_type.clone(),
            invalid_request(
                RequestProblem::MissingAssertion,
                "the assertion parameter is missing",
            ),
        ),
        (
            "I7 jwt-bearer grant with an empty assertion (= omitted)",
            Endpoint::Both,
            format!("{grant_type}&assertion="),
            invalid_request(
                RequestProblem::MissingAssertion,
                "the assertion parameter is missing",
            ),
        ),
        (
            "missing grant_type",
            Endpoint::Both,
            format!("assertion={g}"),
            invalid_request(
                RequestProblem::MissingGrantType,
                "the grant_type parameter is missing",
            ),
        ),
        (
            "missing grant_type, with a valid client assertion",
            Endpoint::Both,
            format!("{cat}&client_assertion={c}"),
            invalid_request(
                RequestProblem::MissingGrantType,
                "the grant_type parameter is missing",
            ),
        ),
        (
            "I7 client_assertion without client_assertion_type",
            Endpoint::Both,
            format!("grant_type=client_credentials&client_assertion={c}"),
            invalid_request(
                RequestProblem::IncompleteClientAssertion,
                "client_assertion and client_assertion_type must be sent together",
            ),
        ),
        (
            "I7 client_assertion_type without client_assertion",
            Endpoint::Both,
            format!("grant_type=client_credentials&{cat}"),
            invalid_request(
                RequestProblem::IncompleteClientAssertion,
                "client_assertion and client_assertion_type must be sent together",
            ),
        ),
        (
            "client_secret alone: not verified here, not served as a public client",
            Endpoint::Both,
            "grant_type=client_credentials&client_id=c&client_secret=s3cret".to_owned(),
            Outcome::Err(
                TokenError::UnsupportedClientAuthentication,
                401,
                err_body(
                    "invalid_client",
                    "the client authentication method is not supported; authenticate with a \
                     client assertion",
                ),
            ),
        ),
        (
            "client_secret beside a jwt-bearer grant",
            Endpoint::Both,
            format!("{grant_type}&assertion={g}&client_id=c&client_secret=s3cret"),
            Outcome::Err(
                TokenError::UnsupportedClientAuthentication,
                401,
                err_body(
                    "invalid_client",
                    "the client authentication method is not supported; authenticate with a \
                     client assertion",
                ),
            ),
        ),
        (
            "resource repeated (RFC 8707)",
            Endpoint::Both,
            format!(
                "{grant_type}&assertion={g}&resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example"
            ),
            Outcome::Ok(Use::AuthorizationGrant, bearer, true, false),
        ),
        (
            "scope repeated",
            Endpoint::Both,
            format!("{grant_type}&assertion={g}&scope=a&scope=b"),
            invalid_request(
                RequestProblem::Form(FormError::RepeatedParameter),
                "a request parameter is repeated",
            ),
        ),
        (
            "client_secret and client_assertion",
            Endpoint::Both,
            format!(
                "grant_type=client_credentials&client_secret=s3cret&{cat}&client_assertion={c}"
            ),
            invalid_request(
                RequestProblem::MultipleClientCredentials,
                "more than one client authentication method was used",
            ),
        ),
        (
            "other grant type without client assertion",
            Endpoint::Both,
            "grant_type=authorization_code&code=abc".to_owned(),
            Outcome::Err(
                TokenError::UnsupportedGrantType,
                400,
                err_body("unsupported_grant_type", "the grant type is not supported"),
            ),
        ),
        (
            "jwt-bearer grant at an endpoint without the grant profile",
            Endpoint::ClientOnly,
            format!("{grant_type}&assertion={g}"),
            Outcome::Err(
                TokenError::UnsupportedGrantType,
                400,
                err_body("unsupported_grant_type", "the grant type is not supported"),
            ),
        ),
        (
            "wrong client_assertion_type",
            Endpoint::Both,
            format!(
                "grant_type=client_credentials&client_assertion_type={}&client_assertion={c}",
                form_encode("urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
            ),
            Outcome::Err(
                TokenError::UnsupportedAssertionType,
                401,
                err_body(
                    "invalid_client",
                    "the client assertion type is not supported",
                ),
            ),
        ),
        (
            "client assertion at an endpoint without client authentication",
            Endpoint::GrantOnly,
            format!("{grant_type}&assertion={g}&{cat}&client_assertion={c}"),
            Outcome::Err(
                TokenError::UnsupportedAssertionType,
                401,
                err_body(
                    "invalid_client",
                    "the client assertion type is not supported",
                ),
            ),
        ),
        (
            "bad client assertion (expired)",
            Endpoint::Both,
            format!("grant_type=client_credentials&{cat}&client_assertion={c_expired}"),
            Outcome::Err(
                TokenError::Client(expired(NOW - 100, 30)),
                401,
                err_body(
                    "invalid_client",
                    "client assertion: the assertion expired 100 s ago (leeway 30 s)",
                ),
            ),
        ),
        (
            "bad client assertion beside a valid grant: the client is judged first",
            Endpoint::Both,
            format!("{grant_type}&assertion={g}&{cat}&client_assertion={c_expired}"),
            Outcome::Err(
                TokenError::Client(expired(NOW - 100, 30)),
                401,
                err_body(
                    "invalid_client",
                    "client assertion: the assertion expired 100 s ago (leeway 30 s)",
                ),
            ),
        ),
        (
            "bad grant assertion (wrong aud)",
            Endpoint::Both,
            format!("{grant_type}&assertion={g_bad}"),
            Outcome::Err(
                TokenError::Grant(Error::AudienceMismatch),
                400,
                err_body(
                    "invalid_grant",
                    "grant assertion: the aud claim does not identify this authorization server",
                ),
            ),
        ),
        (
            "bad grant assertion beside a valid client assertion",
            Endpoint::Both,
            format!("{grant_type}&assertion={g_bad}&{cat}&client_assertion={c}"),
            Outcome::Err(
                TokenError::Grant(Error::AudienceMismatch),
                400,
                err_body(
                    "invalid_grant",
                    "grant assertion: the aud claim does not identify this authorization server",
                ),
            ),
        ),
        (
            "grant assertion that is not a JWS",
            Endpoint::Both,
            format!("{grant_type}&assertion=not-a-jwt"),
            Outcome::Err(
                TokenError::Grant(malformed(Malformed::SegmentCount)),
                400,
                err_body(
                    "invalid_grant",
                    "grant assertion: not a compact JWS: expected three dot-separated segments",
                ),
            ),
        ),
        (
            "client assertion sent as the grant (typ confusion is caught by iss here)",
            Endpoint::Both,
            format!("{grant_type}&assertion={c}"),
            Outcome::Err(
                TokenError::Grant(Error::IssuerMismatch),
                400,
                err_body(
                    "invalid_grant",
                    "grant assertion: the iss claim is not a trusted issuer or the client id",
                ),
            ),
        ),
        (
            "client_id parameter names another registered client",
            Endpoint::Both,
            format!(
                "grant_type=client_credentials&client_id={CLIENT_2}&{cat}&client_assertion={c}"
            ),
            Outcome::Err(
                TokenError::Client(Error::IssuerMismatch),
                401,
                err_body(
                    "invalid_client",
                    "client assertion: the iss claim is not a trusted issuer or the client id",
                ),
            ),
        ),
        (
            "client_id parameter names an unknown client",
            Endpoint::Both,
            format!("grant_type=client_credentials&client_id=client-9&{cat}&client_assertion={c}"),
            Outcome::Err(
                TokenError::Client(Error::IssuerMismatch),
                401,
                err_body(
                    "invalid_client",
                    "client assertion: the iss claim is not a trusted issuer or the client id",
                ),
            ),
        ),
    ];

    let mut failures = Vec::new();
    let mut reasons = HashSet::new();
    for (what, endpoint, body, expect) in &cases {
        let endpoint = TokenEndpoint {
            grant: (!matches!(endpoint, Endpoint::ClientOnly)).then_some(grant),
            client_auth: (!matches!(endpoint, Endpoint::GrantOnly)).then_some(client),
            other_client_auth: Default::default(),
        };
        let mut store = MemoryReplayStore::<4>::new();
        let mut buffers = TokenBuffers::new();
        let mut body_bytes = body.as_bytes().to_vec();
        let result = endpoint.handle(&mut body_bytes, NOW, &mut store, &mut buffers);
        match (expect, &result) {
            (Outcome::Ok(use_, grant_type, has_grant, has_client), Ok(out)) => {
                let got = (
                    out.use_(),
                    out.grant_type(),
                    out.grant().is_some(),
                    out.client().is_some(),
                );
                if got != (*use_, *grant_type, *has_grant, *has_client) {
                    failures.push(format!("{what}: got {got:?}"));
                }
                if out.primary().map(ValidatedAssertion::use_) != Some(*use_) {
                    failures.push(format!("{what}: primary()"));
                }
                if let Some(c) = out.client() {
                    if c.use_() != Use::ClientAuthentication || c.issuer() != CLIENT {
                        failures.push(format!("{what}: client assertion {c:?}"));
                    }
                }
                if let Some(g) = out.grant() {
                    if g.use_() != Use::AuthorizationGrant || g.issuer() != ISSUER {
                        failures.push(format!("{what}: grant assertion {g:?}"));
                    }
                }
                let stored = usize::from(*has_grant) + usize::from(*has_client);
                if store.live(NOW) != stored {
                    failures.push(format!("{what}: {} replay entries", store.live(NOW)));
                }
            }
            (Outcome::Err(error, status, json), Err(e)) => {
                reasons.insert(e.reason());
                let response = e.response();
                let got = (e, e.status(), response.status(), response.to_json());
                if (got.0, got.1, got.2, got.3.as_str()) != (error, *status, *status, json.as_str())
                {
                    failures.push(format!("{what}: got {got:?}"));
                }
                if e.assertion_error().is_some()
                    != matches!(error, TokenError::Client(_) | TokenError::Grant(_))
                {
                    failures.push(format!("{what}: assertion_error()"));
                }
            }
            (Outcome::Ok(..), Err(e)) => failures.push(format!("{what}: unexpected {e:?}")),
            (Outcome::Err(e, ..), Ok(out)) => {
                failures.push(format!("{what}: expected {e:?}, got {out:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} token requests failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
    for r in [
        Reason::InvalidRequest,
        Reason::UnsupportedGrantType,
        Reason::UnsupportedAssertionType,
        Reason::UnsupportedClientAuthentication,
    ] {
        assert!(reasons.contains(&r), "no request reached {r}");
    }
}

#[test]
fn token_params_decoding() {
    let body = format!(
        "grant_type={}&assertion=a.b.c&scope=read+write%20admin&client_id=my%2Bclient&client_secret=",
        form_encode(JWT_BEARER_GRANT_TYPE)
    );
    let mut body = body.into_bytes();
    let p = TokenParams::parse(&mut body).unwrap();
    assert_eq!(p.grant_type, Some(JWT_BEARER_GRANT_TYPE));
    assert_eq!(p.assertion, Some("a.b.c"));
    assert_eq!(p.scope, Some("read write admin"));
    assert_eq!(p.client_id, Some("my+client"));
    // An empty value counts as omitted (RFC 6749 §3.1).
    assert!(!p.client_secret_present);
    assert!(p.client_assertion.is_none() && p.client_assertion_type.is_none());
    assert_eq!(
        TokenParams::parse(&mut b"scope=%C0%AF".to_vec()).unwrap_err(),
        FormError::BadEncoding,
        "overlong UTF-8 after decoding"
    );
}

#[test]
fn malformed_request_does_not_spend_the_client_assertion() {
    // Everything that can be judged without an assertion (here: the missing grant_type) is
    // judged first, so a malformed request does not use up the client assertion's jti; the
    // corrected request then passes, and only a second use of it is a replay.
    let f = fixtures();
    let issuers = trusted_issuers(f, Policy::default());
    let clients = registered_clients(f, Policy::default());
    let endpoint = TokenEndpoint {
        grant: Some(grant_profile(&issuers)),
        client_auth: Some(client_profile(&clients)),
        other_client_auth: Default::default(),
    };
    let c = signed(&client_base());
    let cat = format!(
        "client_assertion_type={}",
        form_encode(JWT_BEARER_CLIENT_ASSERTION_TYPE)
    );
    let mut store = MemoryReplayStore::<4>::new();
    let err = endpoint
        .handle(
            &mut format!("{cat}&client_assertion={c}").as_bytes().to_vec(),
            NOW,
            &mut store,
            &mut TokenBuffers::new(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        TokenError::InvalidRequest(RequestProblem::MissingGrantType)
    );
    assert_eq!(store.live(NOW), 0);
    let mut buffers = TokenBuffers::new();
    let mut body_bytes = format!("grant_type=client_credentials&{cat}&client_assertion={c}")
        .as_bytes()
        .to_vec();
    let corrected = endpoint
        .handle(&mut body_bytes, NOW, &mut store, &mut buffers)
        .unwrap();
    assert_eq!(corrected.use_(), rfc7523::Use::ClientAuthentication);
    assert_eq!(store.live(NOW), 1);
    let again = endpoint
        .handle(
            &mut format!("grant_type=client_credentials&{cat}&client_assertion={c}")
                .as_bytes()
                .to_vec(),
            NOW,
            &mut store,
            &mut TokenBuffers::new(),
        )
        .unwrap_err();
    assert_eq!(again, TokenError::Client(Error::Replayed));
    assert_eq!(again.status(), 401);
}

// ---------------------------------------------------------------------------------------------
// A KeyLookup with its own RSA public-key operation
// ---------------------------------------------------------------------------------------------

/// What [`OwnRsa::rsavp1`] does: this crate's result, a corrupted one, or a refusal.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OwnResult {
    Correct,
    FlipLastByte,
    Refuse,
}

/// Trusted issuers whose RSAVP1 is "another implementation": it records each call (the
/// signature it got) and answers as [`OwnResult`] says.
struct OwnRsa<'a> {
    issuers: &'a [Party<'a>],
    result: OwnResult,
    calls: std::cell::RefCell<Vec<Vec<u8>>>,
}

impl rfc7523::KeyLookup for OwnRsa<'_> {
    fn party(&self, id: &str) -> Option<Party<'_>> {
        self.issuers.party(id)
    }

    fn rsavp1(&self, key: &RsaKey<'_>, signature: &[u8], out: &mut [u8]) -> Option<()> {
        self.calls.borrow_mut().push(signature.to_vec());
        match self.result {
            OwnResult::Refuse => None,
            OwnResult::Correct | OwnResult::FlipLastByte => {
                key.rsavp1(signature, out)?;
                if self.result == OwnResult::FlipLastByte {
                    *out.last_mut()? ^= 1;
                }
                Some(())
            }
        }
    }
}

/// `token` with its signature replaced by `signature`.
fn with_signature(token: &str, signature: &[u8]) -> String {
    let input = token.rsplit_once('.').map_or(token, |(input, _)| input);
    format!("{input}.{}", b64(signature))
}

#[test]
fn key_lookup_can_supply_the_rsa_operation_and_the_core_still_decides() {
    let f = fixtures();
    let issuers = trusted_issuers(f, Policy::default());
    let clients = registered_clients(f, Policy::default());
    let lookup = |list, result| OwnRsa {
        issuers: list,
        result,
        calls: Default::default(),
    };
    let grant_token = signed(&grant_base());
    let client_token = signed(&client_base());
    for result in [
        OwnResult::Correct,
        OwnResult::FlipLastByte,
        OwnResult::Refuse,
    ] {
        let grants = lookup(&issuers, result);
        let grant = GrantProfile {
            issuers: &grants,
            audiences: &[AS_ISSUER],
        };
        let clients = lookup(&clients, result);
        let client = ClientAuthProfile {
            clients: &clients,
            issuer: AS_ISSUER,
            token_endpoint: None,
        };
        let mut store = MemoryReplayStore::<8>::new();
        let outcomes = [
            grant
                .validate(&grant_token, NOW, &mut store, &mut DecodeBuffer::new())
                .map(|_| ()),
            client
                .validate(
                    &client_token,
                    None,
                    NOW,
                    &mut store,
                    &mut DecodeBuffer::new(),
                )
                .map(|_| ()),
        ];
        for outcome in outcomes {
            match result {
                OwnResult::Correct => assert_eq!(outcome, Ok(())),
                // A wrong or refused result never passes: the core compares the encoding.
                _ => assert_eq!(outcome, Err(Error::InvalidSignature)),
            }
        }
        assert_eq!(grants.calls.borrow().len(), 1);
        assert_eq!(clients.calls.borrow().len(), 1);
        // Through TokenEndpoint too.
        let endpoint = TokenEndpoint {
            grant: Some(grant),
            client_auth: Some(client),
            other_client_auth: Default::default(),
        };
        let body = format!(
            "grant_type={}&assertion={grant_token}",
            form_encode(JWT_BEARER_GRANT_TYPE)
        );
        let mut fresh = MemoryReplayStore::<8>::new();
        assert_eq!(
            endpoint
                .handle(
                    &mut body.as_bytes().to_vec(),
                    NOW,
                    &mut fresh,
                    &mut TokenBuffers::new()
                )
                .is_ok(),
            result == OwnResult::Correct
        );
        assert_eq!(grants.calls.borrow().len(), 2);
    }

    // The operation is called only with a signature of the modulus length whose integer is
    // below n: the core checks RFC 8017 §8.2.2 steps 1 and 2 first.
    let grants = lookup(&issuers, OwnResult::Correct);
    let grant = GrantProfile {
        issuers: &grants,
        audiences: &[AS_ISSUER],
    };
    let key = f.keys.iter().next().unwrap();
    let MaterialRef::Rsa(key) = key.material() else {
        panic!("not an RSA key")
    };
    let n = key.modulus().to_vec();
    let mut n_minus_1 = n.clone();
    *n_minus_1.last_mut().unwrap() -= 1;
    let mut store = MemoryReplayStore::<8>::new();
    for (signature, expected) in [
        (n.clone(), Error::InvalidSignature),
        ([0xff; 256].to_vec(), Error::InvalidSignature),
        (
            n[1..].to_vec(),
            Error::Malformed(Malformed::SignatureLength),
        ),
    ] {
        let token = with_signature(&grant_token, &signature);
        assert_eq!(
            grant
                .validate(&token, NOW, &mut store, &mut DecodeBuffer::new())
                .err(),
            Some(expected)
        );
    }
    assert!(
        grants.calls.borrow().is_empty(),
        "out-of-range input reached the operation"
    );
    let token = with_signature(&grant_token, &n_minus_1);
    assert_eq!(
        grant
            .validate(&token, NOW, &mut store, &mut DecodeBuffer::new())
            .err(),
        Some(Error::InvalidSignature)
    );
    assert_eq!(*grants.calls.borrow(), vec![n_minus_1]);
    assert_eq!(key.exponent(), 65537);
    assert_eq!(key.modulus().len(), 256);
}

/// What [`Judge::verify_signature`] answers: nothing (the core verifies), or a fixed verdict.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    Core,
    Yes,
    No,
}

/// One [`rfc7523::SignatureCheck`] as recorded: algorithm, signing input, signature.
type Check = (rfc7523::Algorithm, Vec<u8>, Vec<u8>);

/// Trusted issuers whose signatures "another implementation" judges: it records each check
/// and answers as [`Verdict`] says.
struct Judge<'a> {
    issuers: &'a [Party<'a>],
    verdict: Verdict,
    calls: std::cell::RefCell<Vec<Check>>,
}

impl rfc7523::KeyLookup for Judge<'_> {
    fn party(&self, id: &str) -> Option<Party<'_>> {
        self.issuers.party(id)
    }

    fn verify_signature(&self, check: &rfc7523::SignatureCheck<'_>) -> Option<bool> {
        assert!(matches!(check.key().material(), MaterialRef::Rsa(_)));
        self.calls.borrow_mut().push((
            check.alg(),
            check.message().to_vec(),
            check.signature().to_vec(),
        ));
        match self.verdict {
            Verdict::Core => None,
            Verdict::Yes => Some(true),
            Verdict::No => Some(false),
        }
    }
}

#[test]
fn key_lookup_can_decide_signatures_after_the_core_checked_their_form() {
    let f = fixtures();
    let issuers = trusted_issuers(f, Policy::default());
    let token = signed(&grant_base());
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = Base64UrlUnpadded::decode_vec(signature).unwrap();
    let mut tampered = signature.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let tampered_token = with_signature(&token, &tampered);
    let key = f.keys.iter().next().unwrap();
    let MaterialRef::Rsa(key) = key.material() else {
        panic!("not an RSA key")
    };
    let n = key.modulus().to_vec();
    for (verdict, token, expected) in [
        (Verdict::Core, &token, Ok(())),
        (Verdict::Core, &tampered_token, Err(Error::InvalidSignature)),
        // The lookup's answer decides: a refusal refuses a good signature, ...
        (Verdict::No, &token, Err(Error::InvalidSignature)),
        // ... and an acceptance accepts a bad one (what the trait's docs warn about).
        (Verdict::Yes, &tampered_token, Ok(())),
    ] {
        let judge = Judge {
            issuers: &issuers,
            verdict,
            calls: Default::default(),
        };
        let grant = GrantProfile {
            issuers: &judge,
            audiences: &[AS_ISSUER],
        };
        let mut store = MemoryReplayStore::<8>::new();
        let outcome = grant
            .validate(token, NOW, &mut store, &mut DecodeBuffer::new())
            .map(|_| ());
        assert_eq!(outcome, expected, "{verdict:?}");
        let sent = token.rsplit_once('.').unwrap().1;
        assert_eq!(
            *judge.calls.borrow(),
            vec![(
                rfc7523::Algorithm::Rs256,
                input.as_bytes().to_vec(),
                Base64UrlUnpadded::decode_vec(sent).unwrap()
            )],
            "{verdict:?}: the signing input and the signature as sent, once"
        );
    }
    // A signature of the wrong length or not below n never reaches the lookup, whatever it
    // would answer.
    let judge = Judge {
        issuers: &issuers,
        verdict: Verdict::Yes,
        calls: Default::default(),
    };
    let grant = GrantProfile {
        issuers: &judge,
        audiences: &[AS_ISSUER],
    };
    let mut store = MemoryReplayStore::<8>::new();
    for (signature, expected) in [
        (n.clone(), Error::InvalidSignature),
        ([0xff; 256].to_vec(), Error::InvalidSignature),
        (
            n[1..].to_vec(),
            Error::Malformed(Malformed::SignatureLength),
        ),
        (
            [&[0u8][..], &signature].concat(),
            Error::Malformed(Malformed::SignatureLength),
        ),
    ] {
        let token = with_signature(&token, &signature);
        assert_eq!(
            grant
                .validate(&token, NOW, &mut store, &mut DecodeBuffer::new())
                .err(),
            Some(expected)
        );
    }
    assert!(judge.calls.borrow().is_empty());
}
