//! Signing: `signAssertion` (feature `sign`: the package's `rfc7523/sign` module, built with
//! `--no-default-features --features sign`, so that verifiers never download the private-key
//! code of RSA, P-256 and Ed25519, PKCS#8/PKCS#1 parsing and the random number generator).
//! With `serviceAccount`, the grant of a Google service account's key file, as google-auth
//! signs it (the core's `ServiceAccount`).

use rfc7523::sign::{
    split_scopes, AssertionRequest, AssertionSigner, ServiceAccount, ServiceAccountRequest,
    SignError,
};
use rfc7523::Algorithm;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::{boolean, check_options, current_time, seconds, string, type_error};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** An RFC 7523 assertion from a private key, or (with `serviceAccount`) a Google
 * service account's grant. */
export type SignOptions = AssertionSignOptions | ServiceAccountSignOptions;

export interface AssertionSignOptions {
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
  serviceAccount?: never;
  scope?: never;
}

/** The grant google-auth signs with a service account's key file (RS256): header
 * `{"typ": "JWT", "alg": "RS256", "kid": private_key_id}`, claims iat, exp (iat + 3600),
 * iss (client_email), aud (token_uri), scope and, with `subject`, sub; no jti. Post it to
 * token_uri as `assertion=…&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer`. */
export interface ServiceAccountSignOptions {
  /** Google's JSON key file: its text, or the parsed object. */
  serviceAccount: string | ServiceAccountKey;
  /** The scopes: an array, or one string of scopes separated by single spaces (each RFC 6749
   * §3.3: printable ASCII without space, `"` and `\`). At least one. */
  scope: string | string[];
  /** The user a domain-wide delegation acts for (sub); no sub without it. */
  subject?: string;
  currentDate?: Date;
  privateKey?: never;
  alg?: never;
  issuer?: never;
  audience?: never;
  lifetime?: never;
  kid?: never;
  jti?: never;
  clientAuth?: never;
}

/** A service account's key file as Google issues it; the members read (others are ignored). */
export interface ServiceAccountKey {
  type: "service_account";
  private_key_id: string;
  /** PKCS#8 PEM, RSA. */
  private_key: string;
  client_email: string;
  token_uri: string;
  [member: string]: unknown;
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
    "serviceAccount",
    "scope",
];

/// The options of the key-file form besides `serviceAccount`; the others are refused beside it.
const SERVICE_ACCOUNT_OPTIONS: &[&str] = &["serviceAccount", "scope", "subject", "currentDate"];

/// Signs an RFC 7523 assertion (RS256, PS256, ES256, EdDSA or Ed25519) for a client; randomness
/// (the `jti`, PSS salts, RSA blinding) from `crypto.getRandomValues`. With `serviceAccount`,
/// a Google service account's grant.
#[wasm_bindgen(js_name = signAssertion)]
pub fn sign_assertion(options: SignOptions) -> Result<String, JsValue> {
    let options: JsValue = options.into();
    check_options(&options, SIGN_OPTIONS, "signAssertion options")?;
    if crate::optional(&options, "serviceAccount")?.is_some() {
        return sign_service_account(&options);
    }
    if crate::optional(&options, "scope")?.is_some() {
        return Err(type_error("scope applies to serviceAccount only"));
    }
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

/// `signAssertion({ serviceAccount, scope, subject?, currentDate? })`.
fn sign_service_account(options: &JsValue) -> Result<String, JsValue> {
    for name in SIGN_OPTIONS {
        if !SERVICE_ACCOUNT_OPTIONS.contains(name) && crate::optional(options, name)?.is_some() {
            return Err(type_error(&format!(
                "serviceAccount: {name} cannot be combined with it (the key file gives the key \
                 and the claims)"
            )));
        }
    }
    let file = crate::optional(options, "serviceAccount")?.unwrap_or(JsValue::UNDEFINED);
    let text = match file.as_string() {
        Some(text) => text,
        None if file.is_object() && !file.is_function() && !js_sys::Array::is_array(&file) => {
            js_sys::JSON::stringify(&file)
                .ok()
                .and_then(|text| text.as_string())
                .ok_or_else(|| type_error("serviceAccount: the object is not JSON"))?
        }
        None => {
            return Err(type_error(
                "serviceAccount must be the key file's JSON text or its parsed object",
            ))
        }
    };
    let account = ServiceAccount::from_json(&text)
        .map_err(|e| type_error(&format!("serviceAccount: {e}")))?;
    let scope = scopes(options)?;
    let scopes: Vec<&str> = scope.iter().flat_map(|s| split_scopes(s)).collect();
    let subject = string(options, "subject")?;
    let request = ServiceAccountRequest {
        scopes: &scopes,
        subject: subject.as_deref(),
    };
    let now = current_time(options, SIGN_OPTIONS)?;
    account
        .sign(&request, now)
        .map(|token| token.as_str().to_owned())
        .map_err(|e| {
            type_error(&match e {
                SignError::NoScope
                | SignError::InvalidScope { .. }
                | SignError::ScopeTooLong { .. } => {
                    format!("scope: {e}")
                }
                e => e.to_string(),
            })
        })
}

/// `scope`: a string, or an array of strings; required.
fn scopes(options: &JsValue) -> Result<Vec<String>, JsValue> {
    let value = crate::optional(options, "scope")?
        .ok_or_else(|| type_error("scope is required with serviceAccount"))?;
    if let Some(text) = value.as_string() {
        return Ok(vec![text]);
    }
    let array = value
        .dyn_into::<js_sys::Array>()
        .map_err(|_| type_error("scope must be a string or an array of strings"))?;
    array
        .iter()
        .map(|item| {
            item.as_string()
                .ok_or_else(|| type_error("scope must be a string or an array of strings"))
        })
        .collect()
}

fn required_string(object: &JsValue, key: &str) -> Result<String, JsValue> {
    string(object, key)?.ok_or_else(|| type_error(&format!("{key} is required")))
}
