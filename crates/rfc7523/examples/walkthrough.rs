//! A guided tour: sign RFC 7523 assertions for both uses, validate them as an authorization
//! server would, then break them one rule at a time and show the OAuth error each gets.
//!
//! Run with `cargo run -p rfc7523 --example walkthrough --features sign`.
//!
//! The key is the public example key of RFC 7520 §3.4 ("bilbo.baggins@hobbiton.example"),
//! read from the test vectors. Everybody has its private half: never trust it for real.

use base64ct::{Base64UrlUnpadded, Encoding};
use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::{
    Checks, ClientAuthProfile, Error, GrantProfile, KeySet, MemoryReplayStore, TokenEndpoint,
    TrustedIssuer, TypRule, Use,
};

const PRIVATE_JWK: &str =
    include_str!("../../../tests/vectors/rfc/ietf-jose-cookbook/jwk/3_4.rsa_private_key.json");
const PUBLIC_JWK: &str =
    include_str!("../../../tests/vectors/rfc/ietf-jose-cookbook/jwk/3_3.rsa_public_key.json");

const AS_ISSUER: &str = "https://as.example";
const TOKEN_ENDPOINT: &str = "https://as.example/token";
const CLIENT_ID: &str = "s6BhdRkqt3";
const BATCH_ISSUER: &str = "https://jwt-idp.example";
const NOW: u64 = 1_700_000_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let signer = AssertionSigner::from_key(private_key_from_jwk(PRIVATE_JWK)?)?;
    let keys = KeySet::from_text(PUBLIC_JWK)?;
    println!(
        "demo key: RFC 7520 §3.4 example, {} bits (public: never trust it for real)\n",
        signer.bits()
    );

    let clients = [TrustedIssuer {
        issuer: CLIENT_ID,
        keys: &keys,
    }];
    let issuers = [TrustedIssuer {
        issuer: BATCH_ISSUER,
        keys: &keys,
    }];
    let checks = Checks {
        max_lifetime: Some(600),
        require_jti: true,
        ..Checks::default()
    };
    let client_auth = ClientAuthProfile {
        clients: &clients[..],
        issuer: AS_ISSUER,
        typ: TypRule::NotAnotherType,
        checks,
    };
    let grant = GrantProfile {
        issuers: &issuers[..],
        audiences: &[AS_ISSUER, TOKEN_ENDPOINT],
        subject: None,
        checks,
    };
    let endpoint = TokenEndpoint {
        grant: Some(grant),
        client_auth: Some(client_auth),
    };
    let mut replay = MemoryReplayStore::<1024>::new();

    let client_request = AssertionRequest {
        issuer: CLIENT_ID,
        subject: CLIENT_ID,
        audience: AS_ISSUER,
        kid: Some("bilbo.baggins@hobbiton.example"),
        client_authentication: true,
        ..AssertionRequest::default()
    };
    let grant_request = AssertionRequest {
        issuer: BATCH_ISSUER,
        subject: "batch-worker-7",
        audience: TOKEN_ENDPOINT,
        ..AssertionRequest::default()
    };

    println!("== Client authentication (RFC 7523 §2.2, private_key_jwt)");
    let token = signer.sign(&client_request, NOW)?;
    let body = format!(
        "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={token}"
    );
    report(
        "valid client assertion",
        endpoint
            .handle(body.as_bytes(), NOW, &mut replay)
            .map(|o| o.use_()),
    );
    report(
        "the same request again",
        endpoint
            .handle(body.as_bytes(), NOW, &mut replay)
            .map(|o| o.use_()),
    );

    println!("\n== Authorization grant (RFC 7523 §2.1)");
    let token = signer.sign(&grant_request, NOW)?;
    let body = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={token}"
    );
    report(
        "valid grant",
        endpoint
            .handle(body.as_bytes(), NOW, &mut replay)
            .map(|o| o.use_()),
    );

    println!("\n== One broken rule at a time (client authentication)");
    let cases: [(&str, String); 6] = [
        (
            "expired (checked 10 minutes later)",
            signer.sign(&client_request, NOW - 600)?.to_string(),
        ),
        (
            "token endpoint URL as aud (rfc7523bis wants the issuer)",
            signer
                .sign(
                    &AssertionRequest {
                        audience: TOKEN_ENDPOINT,
                        ..client_request
                    },
                    NOW,
                )?
                .to_string(),
        ),
        (
            "payload tampered (exp + 1 h), old signature kept",
            tamper(&signer.sign(&client_request, NOW)?),
        ),
        ("alg: none", alg_none(&signer.sign(&client_request, NOW)?)),
        (
            "lifetime of one day",
            signer
                .sign(
                    &AssertionRequest {
                        lifetime: Some(86_400),
                        ..client_request
                    },
                    NOW,
                )?
                .to_string(),
        ),
        (
            "unknown client",
            signer
                .sign(
                    &AssertionRequest {
                        issuer: "intruder",
                        subject: "intruder",
                        ..client_request
                    },
                    NOW,
                )?
                .to_string(),
        ),
    ];
    for (what, token) in cases {
        let result = client_auth.validate(&token, None, NOW, &mut replay);
        report(what, result.map(|v| v.use_()));
    }
    Ok(())
}

fn report(what: &str, result: Result<Use, impl Into<Refusal>>) {
    match result {
        Ok(use_) => println!("  ✓ {what}: accepted as {}", use_.as_str()),
        Err(e) => {
            let refusal = e.into();
            println!(
                "  ✗ {what}: {} → HTTP {} {}",
                refusal.reason, refusal.status, refusal.body
            );
        }
    }
}

struct Refusal {
    reason: &'static str,
    status: u16,
    body: String,
}

impl From<rfc7523::TokenError> for Refusal {
    fn from(e: rfc7523::TokenError) -> Self {
        let response = e.response();
        Self {
            reason: e.reason().as_str(),
            status: response.status(),
            body: response.to_json().to_string(),
        }
    }
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        let response = e.response(Use::ClientAuthentication);
        Self {
            reason: e.reason().as_str(),
            status: response.status(),
            body: response.to_json().to_string(),
        }
    }
}

/// Re-encodes the payload with `exp` pushed an hour later, keeping the old signature.
fn tamper(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let payload = Base64UrlUnpadded::decode_vec(&parts[1]).unwrap_or_default();
    let mut claims: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
    let exp = claims["exp"].as_u64().unwrap_or_default();
    claims["exp"] = (exp + 3600).into();
    parts[1] = Base64UrlUnpadded::encode_string(claims.to_string().as_bytes());
    parts.join(".")
}

/// Replaces the header with `{"alg":"none"}` and drops the signature.
fn alg_none(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap_or_default();
    format!(
        "{}.{payload}.",
        Base64UrlUnpadded::encode_string(br#"{"alg":"none"}"#)
    )
}

fn private_key_from_jwk(jwk: &str) -> Result<rsa::RsaPrivateKey, Box<dyn std::error::Error>> {
    let jwk: serde_json::Value = serde_json::from_str(jwk)?;
    let member = |name: &str| -> Result<rsa::BigUint, Box<dyn std::error::Error>> {
        let text = jwk[name]
            .as_str()
            .ok_or(format!("JWK member {name} missing"))?;
        Ok(rsa::BigUint::from_bytes_be(&Base64UrlUnpadded::decode_vec(
            text,
        )?))
    };
    Ok(rsa::RsaPrivateKey::from_components(
        member("n")?,
        member("e")?,
        member("d")?,
        vec![member("p")?, member("q")?],
    )
    .map_err(|e| format!("RSA key: {e}"))?)
}
