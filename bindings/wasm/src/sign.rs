//! Signing: `signAssertion` (feature `sign`: the package's `rfc7523/sign` module, built with
//! `--no-default-features --features sign`, so that verifiers never download the private-key
//! code of RSA, P-256 and Ed25519, PKCS#8/PKCS#1 parsing and the random number generator).

use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::Algorithm;
use wasm_bindgen::prelude::*;

use crate::{boolean, check_options, current_time, seconds, string, type_error};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
export interface SignOptions {
  /** PKCS#8 (`PRIVATE KEY`: RSA, P-256 — Apple's .p8 files — or Ed25519) or PKCS#1
   * (`RSA PRIVATE KEY`) PEM. */
  privateKey: string;
  /** The algorithm; default the key's: RS256 (RSA), ES256 (P-256), EdDSA (Ed25519). PS256 needs
   * an RSA key, Ed25519 (RFC 9864) an Ed25519 key; any other value is a TypeError. */
  alg?: "RS256" | "PS256" | "ES256" | "EdDSA" | "Ed25519";
  issuer: string;
  subject: string;
  audience: string;
  /** Seconds (default 300). */
  lifetime?: number;
  kid?: string;
  jti?: string;
  /** Client authentication: typ client-authentication+jwt, requires issuer == subject. */
  clientAuth?: boolean;
  currentDate?: Date;
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "SignOptions")]
    pub type SignOptions;
}

/// The option names `signAssertion()` accepts.
const SIGN_OPTIONS: &[&str] = &[
    "privateKey",
    "alg",
    "issuer",
    "subject",
    "audience",
    "lifetime",
    "kid",
    "jti",
    "clientAuth",
    "currentDate",
];

/// Signs an RFC 7523 assertion (RS256, PS256, ES256, EdDSA or Ed25519) for a client; randomness
/// (the `jti`, PSS salts, RSA blinding) from `crypto.getRandomValues`.
#[wasm_bindgen(js_name = signAssertion)]
pub fn sign_assertion(options: SignOptions) -> Result<String, JsValue> {
    let options: JsValue = options.into();
    check_options(&options, SIGN_OPTIONS, "signAssertion options")?;
    let private_key = required_string(&options, "privateKey")?;
    let issuer = required_string(&options, "issuer")?;
    let subject = required_string(&options, "subject")?;
    let audience = required_string(&options, "audience")?;
    let kid = string(&options, "kid")?;
    let jti = string(&options, "jti")?;
    let request = AssertionRequest {
        issuer: &issuer,
        subject: &subject,
        audience: &audience,
        lifetime: seconds(&options, "lifetime")?,
        jti: jti.as_deref(),
        kid: kid.as_deref(),
        client_authentication: boolean(&options, "clientAuth", false)?,
    };
    let now = current_time(&options, SIGN_OPTIONS)?;
    let mut signer =
        AssertionSigner::from_pem(&private_key).map_err(|e| type_error(&e.to_string()))?;
    if let Some(name) = string(&options, "alg")? {
        let alg = Algorithm::from_header(&name).ok_or_else(|| {
            type_error("alg must be one of RS256, PS256, ES256, EdDSA, Ed25519 (exact case)")
        })?;
        signer = signer
            .with_algorithm(alg)
            .map_err(|e| type_error(&format!("alg: {e}")))?;
    }
    signer
        .sign(&request, now)
        .map(|token| token.as_str().to_owned())
        .map_err(|e| type_error(&e.to_string()))
}

fn required_string(object: &JsValue, key: &str) -> Result<String, JsValue> {
    string(object, key)?.ok_or_else(|| type_error(&format!("{key} is required")))
}
