//! Verification: `AssertionVerifier` (`verify`, `verifyTokenRequest`), the replay choices,
//! and errors as `AssertionError` objects (feature `verify`, on by default: the package's main
//! module).

use base64ct::{Base64UrlUnpadded, Encoding};
use js_sys::{Array, Function, Object, Reflect, JSON};
use rfc7523::token_request::TokenError;
use rfc7523::{
    Checks, ClientAuthProfile, Error, GrantProfile, KeyLookup, KeySet, MemoryReplayStore, Reason,
    ReplayEntry, ReplayError, ReplayStore, RsaVerifyingKey, TokenEndpoint, TrustedIssuer, TypRule,
    Use, ValidatedAssertion,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::platform_rsa::PlatformKeys;
use crate::{boolean, check_options, current_time, optional, seconds, string, type_error};

/// Entries of the default per-instance replay store (40 bytes each).
pub const DEFAULT_REPLAY_CAPACITY: usize = 4096;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Keys: a JWK Set or a JWK (object or JSON text), or a PEM public key (SPKI or PKCS#1). */
export type KeyInput = string | { keys: object[] } | object;

/** A caller-supplied replay store: atomically store `key` (a digest of iss and jti) until
 *  `expiresAt` (Unix seconds) and return true, or return false when it is already present (a
 *  replay). Throwing, or returning anything but a boolean, refuses the assertion (fail closed). */
export interface ReplayHook {
  checkAndInsert(key: string, expiresAt: number): boolean;
}

/** Options of `new AssertionVerifier()`. Unknown names are refused (TypeError), so a typo
 *  cannot silently weaken a check. Names follow jose's `jwtVerify` where the meaning is the same. */
export interface VerifierOptions {
  /** Trusted keys. */
  keys: KeyInput;
  /** Trusted issuer(s) (authorization grant profile). */
  issuer?: string | string[];
  /** Accepted audience(s). With `clientId`, exactly one: the server's issuer identifier. */
  audience: string | string[];
  /** Expected subject (authorization grant profile). */
  subject?: string;
  /** Selects the client-authentication profile: iss == sub == clientId. */
  clientId?: string;
  /** Allowed clock skew in seconds (default 30). */
  clockTolerance?: number;
  /** Maximum age of `iat`, in seconds (makes `iat` required). */
  maxTokenAge?: number;
  /** Maximum lifetime (`exp - iat`, or `exp - now`), in seconds. */
  maxLifetime?: number;
  requireJti?: boolean;
  requireIat?: boolean;
  /** `"client-authentication+jwt"`: require that explicit type (same as `requireTyp: true`).
   *  Client authentication only. */
  typ?: "client-authentication+jwt";
  /** Require `typ: client-authentication+jwt` (rfc7523bis); otherwise an absent `typ` or
   *  `JWT` also passes, and any other type is refused. Client authentication only. */
  requireTyp?: boolean;
  /** The RSA public-key operation (the modular exponentiation under RS256). `"platform"`
   *  (the default): `node:crypto` where the runtime has it (found through
   *  `process.getBuiltinModule`: Node >= 20.16, Workers with `nodejs_compat`; not in the
   *  `web` build), checked on every key at construction against the package's own
   *  arithmetic, else that arithmetic;
   *  `"wasm"`: always the package's own arithmetic. Either way the package checks the
   *  signature's length and range and compares the result with the one valid encoding
   *  itself. `rsaImplementation` tells which one a verifier uses. */
  rsa?: "platform" | "wasm";
  /** Replay protection: omitted = a bounded in-memory store per verifier (4096 live entries;
   *  full = refused); a ReplayHook; or `"external"`: nothing is stored, and results carry
   *  `replay` for your own atomic insert (e.g. a Durable Object). */
  replay?: ReplayHook | "external";
}

export interface VerifyOptions {
  /** The time of the check (default: now). */
  currentDate?: Date;
}

/** What an external replay store must record: `key` until `expiresAt`. */
export interface ReplayRecord {
  key: string;
  iss: string;
  jti: string;
  expiresAt: number;
}

export interface VerifyResult {
  header: Record<string, unknown>;
  claims: Record<string, unknown> & { iss: string; sub: string; exp: number };
  /** Present with `replay: "external"` when the assertion has a `jti`. */
  replay?: ReplayRecord;
}

export interface TokenRequestResult {
  /** `"grant"` for the jwt-bearer grant (with or without client authentication), else
   *  `"client_authentication"` (a client assertion beside another grant type). */
  use: "grant" | "client_authentication";
  grantType: string;
  /** The claims of the assertion of `use`. */
  claims: Record<string, unknown> & { iss: string; sub: string; exp: number };
  /** The client assertion's claims, when the client authenticated with one (`sub` is the
   *  client id). */
  clientClaims?: Record<string, unknown> & { iss: string; sub: string; exp: number };
  /** With `replay: "external"`: every assertion with a `jti` (client assertion first). */
  replay?: ReplayRecord[];
}

/** Thrown for every refusal. `code` follows jose; `reason` is the core's stable code. Bad
 *  options and arguments throw `TypeError` instead. */
export declare class AssertionError extends Error {
  name: "AssertionError";
  code: string;
  reason: string;
  oauthError: "invalid_request" | "invalid_client" | "invalid_grant" | "unsupported_grant_type";
  status: 400 | 401;
  /** The claim that failed, when one did. */
  claim?: string;
  /** The RFC 6749 §5.2 JSON body, ready for a Response. */
  body: string;
  /** What a replay hook threw (or a TypeError for a non-boolean answer), with reason
   *  `replay_store_full`. */
  cause?: unknown;
}
"#;

#[wasm_bindgen(inline_js = "
export class AssertionError extends Error {
  constructor(message, fields) {
    super(message);
    this.name = 'AssertionError';
    Object.assign(this, fields);
  }
}
export function assertionErrorClass() { return AssertionError; }
")]
extern "C" {
    #[wasm_bindgen(js_name = AssertionError)]
    type AssertionErrorJs;
    #[wasm_bindgen(constructor, js_class = "AssertionError")]
    fn new(message: &str, fields: &Object) -> AssertionErrorJs;
    #[wasm_bindgen(js_name = assertionErrorClass)]
    fn assertion_error_class() -> JsValue;

    #[wasm_bindgen(typescript_type = "VerifierOptions")]
    pub type VerifierOptions;
    #[wasm_bindgen(typescript_type = "VerifyOptions")]
    pub type VerifyOptions;
    #[wasm_bindgen(typescript_type = "typeof AssertionError")]
    pub type AssertionErrorClass;
    #[wasm_bindgen(typescript_type = "VerifyResult")]
    pub type VerifyResult;
    #[wasm_bindgen(typescript_type = "TokenRequestResult")]
    pub type TokenRequestResult;
}

/// The `AssertionError` class, so that `instanceof` works: `err instanceof errorClass()`.
/// The package entry points also export it as `AssertionError`.
#[wasm_bindgen(js_name = errorClass)]
pub fn error_class() -> AssertionErrorClass {
    assertion_error_class().unchecked_into()
}

/// The option names `new AssertionVerifier()` accepts.
const VERIFIER_OPTIONS: &[&str] = &[
    "keys",
    "issuer",
    "audience",
    "subject",
    "clientId",
    "clockTolerance",
    "maxTokenAge",
    "maxLifetime",
    "requireJti",
    "requireIat",
    "typ",
    "requireTyp",
    "replay",
    "rsa",
];

/// The option names of `verify()` and `verifyTokenRequest()`.
const VERIFY_OPTIONS: &[&str] = &["currentDate"];

#[derive(Debug)]
enum Replay {
    Memory(Box<MemoryReplayStore<DEFAULT_REPLAY_CAPACITY>>),
    Hook { object: JsValue, function: Function },
    External,
}

/// Validates RFC 7523 assertions (and token requests carrying them) with one policy.
#[wasm_bindgen]
#[derive(Debug)]
pub struct AssertionVerifier {
    keys: KeySet,
    issuers: Vec<String>,
    audiences: Vec<String>,
    subject: Option<String>,
    client_id: Option<String>,
    checks: Checks,
    typ: TypRule,
    replay: Replay,
    /// The platform's RSA, when it is used (option `rsa`).
    platform: Option<PlatformKeys>,
}

/// The trusted issuers (or the one client) with the RSA operation the verifier uses.
struct Trusted<'a> {
    issuers: &'a [TrustedIssuer<'a>],
    keys: &'a KeySet,
    platform: Option<&'a PlatformKeys>,
}

impl KeyLookup for Trusted<'_> {
    fn keys_for(&self, id: &str) -> Option<&KeySet> {
        self.issuers.keys_for(id)
    }

    /// The platform's RSAVP1 for a key it holds; the package's arithmetic otherwise, and when
    /// the platform fails (the result is the same number either way).
    fn rsavp1(&self, key: &RsaVerifyingKey, signature: &[u8], out: &mut [u8]) -> Option<()> {
        let platform = self.platform.and_then(|platform| {
            let index = self.keys.iter().position(|k| core::ptr::eq(k, key))?;
            platform.rsavp1(index, signature, out)
        });
        platform.or_else(|| key.rsavp1(signature, out).map(|_| ()))
    }
}

#[wasm_bindgen]
impl AssertionVerifier {
    /// Checks the options and loads the keys once; throws `TypeError` on bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(options: VerifierOptions) -> Result<AssertionVerifier, JsValue> {
        let options: JsValue = options.into();
        check_options(&options, VERIFIER_OPTIONS, "AssertionVerifier options")?;
        let keys = load_keys(&required(&options, "keys")?)?;
        let issuers = strings(&options, "issuer")?;
        let audiences = strings(&options, "audience")?;
        let subject = string(&options, "subject")?;
        let client_id = string(&options, "clientId")?;
        if audiences.is_empty() {
            return Err(type_error("audience is required"));
        }
        match &client_id {
            Some(_) if audiences.len() != 1 => {
                return Err(type_error(
                    "with clientId, audience must be one value: the server's issuer identifier",
                ))
            }
            Some(_) if subject.is_some() => {
                return Err(type_error(
                    "subject applies to grants; with clientId, sub must be the client id",
                ))
            }
            None if issuers.is_empty() => {
                return Err(type_error(
                    "issuer is required (or clientId for client authentication)",
                ))
            }
            _ => {}
        }
        let defaults = Checks::default();
        let checks = Checks {
            leeway: seconds(&options, "clockTolerance")?.unwrap_or(defaults.leeway),
            max_lifetime: seconds(&options, "maxLifetime")?,
            max_age: seconds(&options, "maxTokenAge")?,
            require_jti: boolean(&options, "requireJti")?,
            require_iat: boolean(&options, "requireIat")?,
            ..defaults
        };
        let explicit_typ = match string(&options, "typ")?.as_deref() {
            None => false,
            Some(t) if t.eq_ignore_ascii_case(rfc7523::profile::CLIENT_AUTHENTICATION_TYP) => true,
            Some(_) => return Err(type_error("typ may only be \"client-authentication+jwt\"")),
        };
        let typ = if explicit_typ || boolean(&options, "requireTyp")? {
            TypRule::RequireExplicit
        } else {
            TypRule::NotAnotherType
        };
        if typ == TypRule::RequireExplicit && client_id.is_none() {
            return Err(type_error(
                "typ and requireTyp apply to client authentication: set clientId",
            ));
        }
        let replay = match optional(&options, "replay")? {
            None => Replay::Memory(Box::default()),
            Some(v) if v.as_string().as_deref() == Some("external") => Replay::External,
            Some(v) if v.is_string() => {
                return Err(type_error(
                    "replay must be \"external\" or an object with checkAndInsert()",
                ))
            }
            Some(object) => {
                let function = Reflect::get(&object, &"checkAndInsert".into())?
                    .dyn_into::<Function>()
                    .map_err(|_| {
                        type_error("replay must be \"external\" or an object with checkAndInsert()")
                    })?;
                Replay::Hook { object, function }
            }
        };
        let platform = match string(&options, "rsa")?.as_deref() {
            None | Some("platform") => PlatformKeys::load(&keys),
            Some("wasm") => None,
            Some(_) => return Err(type_error("rsa must be \"platform\" or \"wasm\"")),
        };
        Ok(AssertionVerifier {
            keys,
            issuers,
            audiences,
            subject,
            client_id,
            checks,
            typ,
            replay,
            platform,
        })
    }

    /// Which RSA implementation this verifier uses: `"node:crypto"` or `"wasm"` (option
    /// `rsa`).
    #[wasm_bindgen(
        getter,
        js_name = rsaImplementation,
        unchecked_return_type = "\"node:crypto\" | \"wasm\""
    )]
    pub fn rsa_implementation(&self) -> JsValue {
        JsValue::from_str(if self.platform.is_some() {
            "node:crypto"
        } else {
            "wasm"
        })
    }

    /// Validates one assertion; returns `{ header, claims }` or throws `AssertionError`.
    /// With `clientId` the client-authentication profile applies, else the grant profile.
    pub fn verify(
        &mut self,
        token: &str,
        options: Option<VerifyOptions>,
    ) -> Result<VerifyResult, JsValue> {
        let now = current_time(options.map(Into::into), VERIFY_OPTIONS)?;
        let external = matches!(self.replay, Replay::External);
        let ((use_, result), hook_failure) = self.with_profiles(|profiles, store| {
            match (profiles.client, profiles.client_id, profiles.grant) {
                (Some(profile), Some(client), _) => (
                    Use::ClientAuthentication,
                    profile.validate(token, Some(client), now, store),
                ),
                (_, _, Some(profile)) => {
                    (Use::AuthorizationGrant, profile.validate(token, now, store))
                }
                _ => (Use::AuthorizationGrant, Err(Error::UnknownKey)),
            }
        });
        let valid = result.map_err(|e| {
            with_cause(assertion_error(&e, use_), e.reason(), hook_failure.as_ref())
        })?;
        let out = Object::new();
        set(
            &out,
            "header",
            &JSON::parse(valid.assertion().header_json())?,
        )?;
        set(&out, "claims", &claims_json(&valid)?)?;
        if external {
            if let Some(record) = replay_record(&valid)? {
                set(&out, "replay", &record)?;
            }
        }
        Ok(out.unchecked_into())
    }

    /// Validates an `application/x-www-form-urlencoded` token request body; returns
    /// `{ use, grantType, claims }` or throws `AssertionError` carrying `status` and `body`.
    #[wasm_bindgen(js_name = verifyTokenRequest)]
    pub fn verify_token_request(
        &mut self,
        body: &str,
        options: Option<VerifyOptions>,
    ) -> Result<TokenRequestResult, JsValue> {
        let now = current_time(options.map(Into::into), VERIFY_OPTIONS)?;
        let external = matches!(self.replay, Replay::External);
        let (result, hook_failure) = self.with_profiles(|profiles, store| {
            let endpoint = TokenEndpoint {
                grant: profiles.grant,
                client_auth: profiles.client,
            };
            endpoint.handle(body.as_bytes(), now, store)
        });
        let outcome =
            result.map_err(|e| with_cause(token_error(&e), e.reason(), hook_failure.as_ref()))?;
        let primary = outcome
            .primary()
            .ok_or_else(|| type_error("no assertion was validated"))?;
        let out = Object::new();
        set(&out, "use", &outcome.use_().as_str().into())?;
        set(&out, "grantType", &outcome.grant_type().into())?;
        set(&out, "claims", &claims_json(primary)?)?;
        if let Some(client) = outcome.client() {
            set(&out, "clientClaims", &claims_json(client)?)?;
        }
        if external {
            let records = Array::new();
            for valid in outcome.client().into_iter().chain(outcome.grant()) {
                if let Some(record) = replay_record(valid)? {
                    records.push(&record);
                }
            }
            set(&out, "replay", &records)?;
        }
        Ok(out.unchecked_into())
    }
}

struct Profiles<'a> {
    grant: Option<GrantProfile<'a, Trusted<'a>>>,
    client: Option<ClientAuthProfile<'a, Trusted<'a>>>,
    client_id: Option<&'a str>,
}

impl AssertionVerifier {
    /// Builds the configured profiles (borrowing the keys and strings) and the replay store
    /// adapter, and runs `f` with them. Also returns what a replay hook threw, if it did.
    fn with_profiles<T>(
        &mut self,
        f: impl FnOnce(Profiles<'_>, &mut StoreAdapter<'_>) -> T,
    ) -> (T, Option<JsValue>) {
        let AssertionVerifier {
            keys,
            issuers,
            audiences,
            subject,
            client_id,
            checks,
            typ,
            replay,
            platform,
        } = self;
        let keys: &KeySet = keys;
        let platform = platform.as_ref();
        let audience_refs: Vec<&str> = audiences.iter().map(String::as_str).collect();
        let grant_issuers: Vec<TrustedIssuer<'_>> = issuers
            .iter()
            .map(|issuer| TrustedIssuer { issuer, keys })
            .collect();
        let client: Option<[TrustedIssuer<'_>; 1]> = client_id
            .as_deref()
            .map(|issuer| [TrustedIssuer { issuer, keys }]);
        let grant_lookup = Trusted {
            issuers: grant_issuers.as_slice(),
            keys,
            platform,
        };
        let client_lookup = client.as_ref().map(|clients| Trusted {
            issuers: clients.as_slice(),
            keys,
            platform,
        });
        let grant = (!grant_issuers.is_empty()).then_some(GrantProfile {
            issuers: &grant_lookup,
            audiences: audience_refs.as_slice(),
            subject: subject.as_deref(),
            checks: *checks,
        });
        let client_profile = match (&client_lookup, audiences.first()) {
            (Some(clients), Some(issuer)) => Some(ClientAuthProfile {
                clients,
                issuer,
                typ: *typ,
                checks: *checks,
            }),
            _ => None,
        };
        let mut store = StoreAdapter {
            replay,
            hook_failure: None,
        };
        let result = f(
            Profiles {
                grant,
                client: client_profile,
                client_id: client_id.as_deref(),
            },
            &mut store,
        );
        (result, store.hook_failure)
    }
}

/// The verifier's replay choice as a core `ReplayStore`.
struct StoreAdapter<'r> {
    replay: &'r mut Replay,
    /// What the hook threw, or a TypeError for an answer that is not a boolean.
    hook_failure: Option<JsValue>,
}

impl ReplayStore for StoreAdapter<'_> {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        match self.replay {
            Replay::Memory(store) => store.check_and_insert(entry, now),
            // The caller stores `replay` from the result itself.
            Replay::External => Ok(()),
            Replay::Hook { object, function } => {
                let key = JsValue::from_str(&base64url(entry.key.as_bytes()));
                let expires_at = JsValue::from_f64(entry.expires_at as f64);
                let answer = function.call2(object, &key, &expires_at);
                match answer.as_ref().map(JsValue::as_bool) {
                    Ok(Some(true)) => Ok(()),
                    Ok(Some(false)) => Err(ReplayError::Replayed),
                    // A throwing or confused store refuses: fail closed, and the error
                    // carries what went wrong as `cause`.
                    Ok(None) => {
                        self.hook_failure = Some(type_error(
                            "replay.checkAndInsert must return true or false (synchronously)",
                        ));
                        Err(ReplayError::Full)
                    }
                    Err(thrown) => {
                        self.hook_failure = Some(thrown.clone());
                        Err(ReplayError::Full)
                    }
                }
            }
        }
    }
}

/// `{ key, iss, jti, expiresAt }` for an external store, when the assertion had a `jti`.
fn replay_record(valid: &ValidatedAssertion) -> Result<Option<Object>, JsValue> {
    let (Some(entry), Some(jti)) = (valid.replay_entry(), valid.claims().jti()) else {
        return Ok(None);
    };
    let record = Object::new();
    set(&record, "key", &base64url(entry.key.as_bytes()).into())?;
    set(&record, "iss", &valid.issuer().into())?;
    set(&record, "jti", &jti.into())?;
    set(
        &record,
        "expiresAt",
        &JsValue::from_f64(entry.expires_at as f64),
    )?;
    Ok(Some(record))
}

/// Sets `cause` on a `replay_store_full` error that a replay hook caused.
fn with_cause(error: JsValue, reason: Reason, hook_failure: Option<&JsValue>) -> JsValue {
    if let (Reason::ReplayStoreFull, Some(cause)) = (reason, hook_failure) {
        let _ = Reflect::set(&error, &"cause".into(), cause);
    }
    error
}

fn claims_json(valid: &ValidatedAssertion) -> Result<JsValue, JsValue> {
    let payload = valid
        .assertion()
        .payload_json()
        .ok_or_else(|| type_error("payload is not UTF-8"))?;
    JSON::parse(payload)
}

/// jose's error code for a core reason (`ERR_JWT_*`, `ERR_JWS_*`, `ERR_JOSE_*`).
fn jose_code(reason: Reason) -> &'static str {
    match reason {
        Reason::Expired | Reason::TooOld => "ERR_JWT_EXPIRED",
        Reason::InvalidSignature => "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        Reason::UnsupportedAlgorithm => "ERR_JOSE_ALG_NOT_ALLOWED",
        Reason::UnsupportedHeader => "ERR_JOSE_NOT_SUPPORTED",
        Reason::UnknownKey => "ERR_JWKS_NO_MATCHING_KEY",
        Reason::Malformed | Reason::TooLarge => "ERR_JWT_INVALID",
        Reason::Replayed => "ERR_JWT_REPLAYED",
        Reason::ReplayStoreFull => "ERR_JWT_REPLAY_STORE_FULL",
        Reason::InvalidRequest => "ERR_OAUTH_INVALID_REQUEST",
        Reason::UnsupportedGrantType => "ERR_OAUTH_UNSUPPORTED_GRANT_TYPE",
        Reason::UnsupportedAssertionType => "ERR_OAUTH_UNSUPPORTED_ASSERTION_TYPE",
        _ => "ERR_JWT_CLAIM_VALIDATION_FAILED",
    }
}

fn error_object(
    message: &str,
    reason: Reason,
    response: &rfc7523::ErrorResponse,
    claim: Option<rfc7523::Claim>,
) -> JsValue {
    let fields = Object::new();
    let _ = Reflect::set(&fields, &"code".into(), &jose_code(reason).into());
    let _ = Reflect::set(&fields, &"reason".into(), &reason.as_str().into());
    let _ = Reflect::set(
        &fields,
        &"oauthError".into(),
        &response.error().code().into(),
    );
    let _ = Reflect::set(&fields, &"status".into(), &JsValue::from(response.status()));
    let _ = Reflect::set(&fields, &"body".into(), &response.to_json().as_str().into());
    if let Some(claim) = claim {
        let _ = Reflect::set(&fields, &"claim".into(), &claim.as_str().into());
    }
    AssertionErrorJs::new(message, &fields).into()
}

fn assertion_error(error: &Error, use_: Use) -> JsValue {
    error_object(
        &error.to_string(),
        error.reason(),
        &error.response(use_),
        error.claim(),
    )
}

fn token_error(error: &TokenError) -> JsValue {
    let claim = error.assertion_error().and_then(Error::claim);
    error_object(&error.to_string(), error.reason(), &error.response(), claim)
}

fn set(object: &Object, key: &str, value: &JsValue) -> Result<(), JsValue> {
    Reflect::set(object, &key.into(), value).map(|_| ())
}

fn required(object: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    optional(object, key)?.ok_or_else(|| type_error(&format!("{key} is required")))
}

/// A string or an array of strings.
fn strings(object: &JsValue, key: &str) -> Result<Vec<String>, JsValue> {
    let Some(value) = optional(object, key)? else {
        return Ok(Vec::new());
    };
    if let Some(one) = value.as_string() {
        return Ok(vec![one]);
    }
    if !Array::is_array(&value) {
        return Err(type_error(&format!(
            "{key} must be a string or an array of strings"
        )));
    }
    Array::from(&value)
        .iter()
        .map(|v| {
            v.as_string().ok_or_else(|| {
                type_error(&format!("{key} must be a string or an array of strings"))
            })
        })
        .collect()
}

fn load_keys(value: &JsValue) -> Result<KeySet, JsValue> {
    let text = match value.as_string() {
        Some(text) => text,
        None if value.is_object() => JSON::stringify(value)?
            .as_string()
            .ok_or_else(|| type_error("keys could not be serialized"))?,
        None => return Err(type_error("keys must be a JWKS, a JWK or a PEM string")),
    };
    KeySet::from_text(&text).map_err(|e| type_error(&format!("keys: {e}")))
}

pub(crate) fn base64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}
