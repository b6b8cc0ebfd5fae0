//! Shared set-up of the fuzz targets: the fixed keys, the profiles the targets validate
//! against, an RS256 signer for inputs that must get past the signature, and the checks every
//! error must pass.
//!
//! Fixed configuration (the seed generator in `crates/xtask` writes seeds that match it):
//! - grant issuers `joe` (the RFC's own token) and [`ISSUER`]; audiences [`AS_ISSUER`] and
//!   [`TOKEN_ENDPOINT`];
//! - client [`CLIENT`], server issuer identifier [`AS_ISSUER`];
//! - one key set of two keys: the RFC 7515 Appendix A.2 key (no `kid`; read from
//!   `tests/vectors/rfc/rfc7515_A2_rs256.json` at compile time), which verifies the RFC's own
//!   token, and a **fuzzing-only** 2048-bit key with `kid` [`KID`] that signs fuzzed headers
//!   and payloads.
//!
//! The fuzzing key is a product of 32 primes of 64 bits (multi-prime RSA, RFC 8017 §3.2):
//! worthless as a key, but valid RSA that passes every load-time check, and its private
//! operation costs 32 exponentiations modulo 64-bit primes instead of two modulo 1024-bit
//! ones. Signing with a real 2048-bit key under the sanitizers held the signed-input targets
//! to about 60 executions per second.

use std::sync::OnceLock;

use base64ct::{Base64UrlUnpadded, Encoding};
use rfc7523::{
    Algorithm, Algorithms, Checks, ClientAuthProfile, Compat, Error, ErrorResponse, GrantProfile,
    KeyMaterial, KeySet, Party, Policy, RsaVerifyingKey, Subjects, TypRule, VerifyingKey,
};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey};
use sha2::Sha256;

/// The fixed `now` of the seeds (2023-11-14T22:13:20Z).
pub const NOW: u64 = 1_700_000_000;
/// The authorization server's issuer identifier.
pub const AS_ISSUER: &str = "https://as.example";
/// Its token endpoint.
pub const TOKEN_ENDPOINT: &str = "https://as.example/token";
/// A trusted grant issuer besides `joe`.
pub const ISSUER: &str = "https://issuer.example";
/// The registered client.
pub const CLIENT: &str = "s6BhdRkqt3";
/// The `kid` of the second copy of the key.
pub const KID: &str = "k1";

const A2: &str = include_str!("../../tests/vectors/rfc/rfc7515_A2_rs256.json");

/// The fixed keys and signer.
pub struct Fixture {
    /// The A.2 public key (no `kid`) and the fuzzing key ([`KID`]).
    pub keys: KeySet,
    signer: SigningKey<Sha256>,
    /// The A.2 token itself (valid signature, `iss` = `joe`).
    pub a2_token: String,
}

/// The fixture, built once per process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let doc: serde_json::Value = serde_json::from_str(A2).expect("A.2 vector is JSON");
        let a2 = VerifyingKey::from_jwk(&doc["public_jwk"].to_string()).expect("A.2 key");
        let private = fast_key();
        let fast = RsaVerifyingKey::from_components(
            &private.n().to_bytes_be(),
            &private.e().to_bytes_be(),
        )
        .expect("the fuzzing key passes the load-time checks");
        let fast = VerifyingKey::new(KeyMaterial::Rsa(fast))
            .with_kid(KID)
            .expect("kid");
        let mut keys = KeySet::from_key(&a2).expect("key set");
        keys.push(&fast).expect("key set");
        // A P-256 key (RFC 7515 A.3) and an Ed25519 key (RFC 8037 A.2) beside them, so that
        // fuzzed ES256, EdDSA and Ed25519 tokens reach their verifiers too.
        keys.load_text(
            r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
        )
        .expect("EC and OKP keys");
        Fixture {
            keys,
            signer: SigningKey::<Sha256>::new(private),
            a2_token: doc["jws_compact"].as_str().expect("token").to_owned(),
        }
    })
}

/// The fuzzing key: the 32 largest 64-bit primes p with gcd(65537, p − 1) = 1. Their product
/// has exactly 2048 bits.
fn fast_key() -> RsaPrivateKey {
    let mut primes = Vec::new();
    let mut candidate = u64::MAX;
    while primes.len() < 32 {
        if is_prime(candidate) && candidate % 65_537 != 1 {
            primes.push(BigUint::from(candidate));
        }
        candidate -= 2;
    }
    let key = RsaPrivateKey::from_primes(primes, BigUint::from(65_537u32)).expect("key");
    assert_eq!(key.n().bits(), 2048);
    key
}

/// Deterministic Miller–Rabin for 64-bit numbers (these bases are exact below 2^64).
fn is_prime(n: u64) -> bool {
    if n < 2 || n % 2 == 0 {
        return n == 2;
    }
    let mul = |a: u64, b: u64| ((u128::from(a) * u128::from(b)) % u128::from(n)) as u64;
    let pow = |mut base: u64, mut exp: u64| {
        let mut acc = 1u64;
        while exp > 0 {
            if exp & 1 == 1 {
                acc = mul(acc, base);
            }
            base = mul(base, base);
            exp >>= 1;
        }
        acc
    };
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37]
        .iter()
        .all(|&a| {
            let mut x = pow(a, d);
            if x == 1 || x == n - 1 {
                return true;
            }
            for _ in 1..s {
                x = mul(x, x);
                if x == n - 1 {
                    return true;
                }
            }
            false
        })
}

impl Fixture {
    /// An RS256 compact JWS over arbitrary header and payload bytes, signed with the fuzzing
    /// key (a header without `kid`, or with `kid` [`KID`], selects a key that verifies it).
    pub fn sign(&self, header: &[u8], payload: &[u8]) -> String {
        let mut token = Base64UrlUnpadded::encode_string(header);
        token.push('.');
        token.push_str(&Base64UrlUnpadded::encode_string(payload));
        let signature = self.signer.sign(token.as_bytes());
        token.push('.');
        token.push_str(&Base64UrlUnpadded::encode_string(&signature.to_bytes()));
        token
    }

    /// The trusted grant issuers, with the policy of `flags`.
    pub fn issuers(&self, flags: u8) -> [Party<'_>; 2] {
        [
            Party::new("joe", &self.keys).with_policy(policy(flags)),
            Party::new(ISSUER, &self.keys).with_policy(policy(flags)),
        ]
    }

    /// The registered clients, with the policy of `flags`.
    pub fn clients(&self, flags: u8) -> [Party<'_>; 1] {
        [Party::new(CLIENT, &self.keys).with_policy(policy(flags))]
    }
}

/// Policy knobs chosen by the fuzzer from one byte.
pub fn checks(flags: u8) -> Checks {
    Checks {
        leeway: if flags & 1 != 0 { 0 } else { 30 },
        max_lifetime: (flags & 2 != 0).then_some(300),
        max_age: (flags & 4 != 0).then_some(600),
        require_jti: flags & 8 != 0,
        require_iat: flags & 16 != 0,
        max_token_len: if flags & 32 != 0 {
            1024
        } else {
            rfc7523::limits::MAX_TOKEN_LEN
        },
    }
}

/// A party's policy chosen by the fuzzer from one byte.
pub fn policy(flags: u8) -> Policy<'static> {
    Policy {
        checks: checks(flags),
        typ: if flags & 128 != 0 {
            TypRule::RequireExplicit
        } else {
            TypRule::NotAnotherType
        },
        subjects: if flags & 64 != 0 {
            Subjects::OneOf(&["alice"])
        } else {
            Subjects::Any
        },
        // RS256 alone, or every algorithm (bit 5 also picks the token length limit).
        algorithms: if flags & 32 != 0 {
            Algorithms::only(Algorithm::Rs256)
        } else {
            Algorithms::ALL
        },
        // Both relaxations where bits 0 (leeway 0) and 2 (max_age) are both set: a quarter of
        // the policies.
        compat: Compat {
            token_endpoint_audience: flags & 0b101 == 0b101,
            missing_sub: flags & 0b101 == 0b101,
        },
        claims: rfc7523::ClaimConditions::NONE,
    }
}

/// The grant profile over `issuers`.
pub fn grant_profile<'a>(issuers: &'a [Party<'a>]) -> GrantProfile<'a> {
    GrantProfile {
        issuers,
        audiences: &[AS_ISSUER, TOKEN_ENDPOINT],
    }
}

/// The client authentication profile over `clients`.
pub fn client_profile<'a>(clients: &'a [Party<'a>]) -> ClientAuthProfile<'a> {
    ClientAuthProfile {
        clients,
        issuer: AS_ISSUER,
        token_endpoint: Some(TOKEN_ENDPOINT),
    }
}

/// Every error must render a bounded RFC 6749 §5.2 body in the allowed character set.
pub fn check_response(response: &ErrorResponse) {
    let description = response.description();
    assert!(description.len() <= rfc7523::limits::MAX_DESCRIPTION_LEN);
    assert!(
        description
            .chars()
            .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')),
        "description outside RFC 6749 §5.2's set: {description:?}"
    );
    let json = response.to_json();
    assert!(json.starts_with("{\"error\":\""), "{json}");
    assert!(json.ends_with("\"}"), "{json}");
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("error body is JSON");
    assert_eq!(parsed["error_description"].as_str(), Some(description));
}

/// [`check_response`] for an assertion error, under both uses.
pub fn check_error(error: &Error) {
    check_response(&error.response(rfc7523::Use::AuthorizationGrant));
    check_response(&error.response(rfc7523::Use::ClientAuthentication));
    assert!(rfc7523::Reason::ALL.contains(&error.reason()));
}
