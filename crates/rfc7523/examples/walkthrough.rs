//! A guided tour: sign RFC 7523 assertions for both uses, validate them as an authorization
//! server would, then break them one rule at a time and show the OAuth error each gets.
//!
//! Run with `cargo run -p rfc7523 --example walkthrough --features sign`.
//!
//! Two parties, each with its own key, in one registry document: the client signs with the
//! public example key of RFC 7520 §3.4 ("bilbo.baggins@hobbiton.example"), the batch issuer
//! with the first SHA-256 key of Wycheproof's RSA-2048 signature-generation vectors, both read
//! from the test vectors. Everybody has their private halves: never trust them for real.

use base64ct::{Base64UrlUnpadded, Encoding};
use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::{
    DecodeBuffer, Error, MemoryReplayStore, OtherClientAuthentication, Registry, TokenBuffers, Use,
};

const PRIVATE_JWK: &str =
    include_str!("../../../tests/vectors/rfc/ietf-jose-cookbook/jwk/3_4.rsa_private_key.json");
const PUBLIC_JWK: &str =
    include_str!("../../../tests/vectors/rfc/ietf-jose-cookbook/jwk/3_3.rsa_public_key.json");
const WYCHEPROOF_SIG_GEN: &str =
    include_str!("../../../tests/vectors/wycheproof/rsa_pkcs1_2048_sig_gen_test.json");

const AS_ISSUER: &str = "https://as.example";
const TOKEN_ENDPOINT: &str = "https://as.example/token";
const CLIENT_ID: &str = "s6BhdRkqt3";
const BATCH_ISSUER: &str = "https://jwt-idp.example";
const NOW: u64 = 1_700_000_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let signer = AssertionSigner::from_key(private_key_from_jwk(PRIVATE_JWK)?)?;
    let (issuer_signer, issuer_jwk) = wycheproof_issuer_key()?;
    println!(
        "client key: RFC 7520 §3.4 example, {} bits; issuer key: Wycheproof RSA-2048 \
         (both public: never trust them for real)\n",
        signer.bits()
    );

    // One document names every party with its own keys and policy (RFC 8725 §3.8: a key
    // belongs to one party); the CLI, the npm package and the Worker read the same format.
    let registry = Registry::from_json(&format!(
        r#"{{
          "issuer": "{AS_ISSUER}",
          "token_endpoint": "{TOKEN_ENDPOINT}",
          "clients": [{{ "client_id": "{CLIENT_ID}", "token_endpoint_auth_method": "private_key_jwt",
                         "jwks": {{ "keys": [{PUBLIC_JWK}] }}, "max_lifetime": 600 }}],
          "issuers": [{{ "issuer": "{BATCH_ISSUER}", "jwks": {{ "keys": [{issuer_jwk}] }},
                         "subjects": ["batch-worker-7"], "max_lifetime": 600 }}]
        }}"#
    ))?;
    let mut replay = MemoryReplayStore::<1024>::new();
    // Where the two assertions of a request are decoded: the outcome borrows it (and the body,
    // percent-decoded in place), so nothing is copied.
    let mut buffers = TokenBuffers::new();
    let mut handle = |body: &str, replay: &mut MemoryReplayStore<1024>| {
        let mut body = body.as_bytes().to_vec();
        registry.with_token_endpoint(OtherClientAuthentication::Refuse, |endpoint| {
            endpoint
                .handle(&mut body, NOW, replay, &mut buffers)
                .map(|o| o.use_())
        })
    };

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
    report("valid client assertion", handle(&body, &mut replay));
    report("the same request again", handle(&body, &mut replay));

    println!("\n== Authorization grant (RFC 7523 §2.1)");
    let grant_body = |token: &str| {
        format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={token}"
        )
    };
    let token = issuer_signer.sign(&grant_request, NOW)?;
    report("valid grant", handle(&grant_body(&token), &mut replay));

    println!("\n== A key of one party never verifies another (RFC 8725 §3.8)");
    let forged = signer.sign(
        &AssertionRequest {
            jti: Some("forged"),
            ..grant_request
        },
        NOW,
    )?;
    report(
        "the client's key signs a grant as the batch issuer",
        handle(&grant_body(&forged), &mut replay),
    );
    let unlisted = issuer_signer.sign(
        &AssertionRequest {
            subject: "admin",
            ..grant_request
        },
        NOW,
    )?;
    report(
        "the batch issuer asserts a subject it is not allowed",
        handle(&grant_body(&unlisted), &mut replay),
    );

    println!("\n== One broken rule at a time (client authentication)");
    let cases: [(&str, String); 6] = [
        (
            "expired (checked 10 minutes later)",
            signer.sign(&client_request, NOW - 600)?.to_string(),
        ),
        (
            "token endpoint URL as aud (RFC 10070 wants the issuer)",
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
    let mut buffer = DecodeBuffer::new();
    for (what, token) in cases {
        let result = registry.with_profiles(|_, client_auth| {
            client_auth.ok_or(Error::IssuerMismatch)?.validate(
                &token,
                None,
                NOW,
                &mut replay,
                &mut buffer,
            )
        });
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

/// The first SHA-256 key of Wycheproof's RSA-2048 signature-generation vectors: its signer
/// (PKCS#1 private key PEM) and its public JWK.
fn wycheproof_issuer_key() -> Result<(AssertionSigner, String), Box<dyn std::error::Error>> {
    let doc: serde_json::Value = serde_json::from_str(WYCHEPROOF_SIG_GEN)?;
    let group = doc["testGroups"]
        .as_array()
        .and_then(|groups| groups.iter().find(|g| g["sha"] == "SHA-256"))
        .ok_or("no SHA-256 group")?;
    let private_pem = group["privateKeyPem"].as_str().ok_or("privateKeyPem")?;
    let public_pem = group["keyPem"].as_str().ok_or("keyPem")?;
    let key = rfc7523::RsaVerifyingKey::from_pem(public_pem)?;
    let mut n = vec![0u8; key.modulus_len()];
    let n = key.modulus(&mut n).ok_or("modulus")?;
    let e = key.exponent().to_be_bytes();
    let e = &e[e.iter().position(|&b| b != 0).unwrap_or(7)..];
    let jwk = format!(
        r#"{{"kty":"RSA","kid":"batch-1","n":"{}","e":"{}"}}"#,
        Base64UrlUnpadded::encode_string(n),
        Base64UrlUnpadded::encode_string(e)
    );
    Ok((AssertionSigner::from_pem(private_pem)?, jwk))
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
