//! The registry of parties (feature `alloc`): one JSON document that names this authorization
//! server, its clients (RFC 7591 client metadata) and the trusted issuers of its jwt-bearer
//! grants, each with its own keys and policy. The CLI (`--registry`), the npm package
//! (`new AssertionVerifier({ registry })`) and the Worker example all load it through
//! [`Registry::from_json`], so a document means the same in every layer.
//!
//! ```json
//! {
//!   "issuer": "https://as.example",
//!   "token_endpoint": "https://as.example/token",
//!   "clients": [
//!     { "client_id": "s6BhdRkqt3", "token_endpoint_auth_method": "private_key_jwt",
//!       "jwks": { "keys": [ { "kty": "RSA", "kid": "c1", "n": "…", "e": "AQAB" } ] },
//!       "max_lifetime": 300, "require_typ": true }
//!   ],
//!   "issuers": [
//!     { "issuer": "https://idp.example", "jwks": { "keys": [ … ] },
//!       "subjects": ["batch-worker-7"] }
//!   ]
//! }
//! ```
//!
//! Loading is strict, because a typo must never weaken a check: an unknown field, a
//! duplicate `client_id` or `issuer`, a party without a usable key, one public key listed for
//! two parties (RFC 8725 §3.8: keys belong to one issuer), a value out of range, and every key
//! the key loaders refuse ([`KeyError`]) fail the whole document, with a
//! [`RegistryError`] that names the field and the party. Field by field: the README's
//! *Registry* section, and `registry.schema.json` at the repository root.
//!
//! An issuer may also have `claims`, conditions on its grants' other top-level claims
//! (`{"repository": "octo-org/octo-repo", "ref": "refs/heads/main"}`: workload identity,
//! [`conditions`](crate::conditions)), read into its [`Policy::claims`].
//!
//! # Remote key sets
//!
//! A party's keys may instead be fetched ([`remote_keys`](crate::remote_keys) has the rules):
//! from its `jwks_uri` (RFC 7591 §2 client metadata, for clients and issuers alike), or, for
//! an issuer, through its discovery document (`"discovery": "openid-configuration"` or
//! `"oauth-authorization-server"`: OIDC Discovery 1.0 §4, RFC 8414 §3), whose `issuer` must
//! equal the configured one exactly and whose `jwks_uri` is then fetched. Exactly one of
//! `jwks`, `jwks_uri` and `discovery`; the URLs pass the
//! [`KeyUrl`](crate::remote_keys::KeyUrl) / [`IssuerUrl`] rules at load, and no two parties
//! share a `jwks_uri`. Nothing in a token ever names a URL. All this needs the `remote`
//! feature; without it a registry naming `jwks_uri` or `discovery` is refused at load
//! ([`RegistryProblem::JwksUriNotSupported`], [`RegistryProblem::DiscoveryNotSupported`]).
//!
//! The registry does no I/O. It says which parties are remote and where their keys are
//! ([`Registry::remote_parties`], [`KeyLocation`]); a layer fetches (with a
//! [`KeyCache`](crate::remote_keys::KeyCache) per URI) and hands each JWK Set it accepted to
//! [`Registry::install_jwk_set`], which reads it with the same key loader and rules as inline
//! keys and keeps it with its fetch time and lifetime. Until a party's keys are installed, and
//! once they are past their lifetime plus [`STALE_GRACE`](crate::remote_keys::STALE_GRACE),
//! its assertions are refused `keys_unavailable` ([`KeySource::Fetched`]); a `kid` naming none
//! of its fetched keys is [`Error::UnknownRemoteKey`](crate::Error::UnknownRemoteKey) (the
//! layer's cue to refetch once).
//!
//! One key, one party, for fetched keys too (RFC 8725 §3.8): a fetched set holding a public
//! key that another party has (inline, or in its own installed set) is refused whole
//! ([`InstallError::SharedKey`]), and the party keeps the keys it had. The first to hold a key
//! keeps it: inline keys are claimed at load, before anything is fetched. In a fetched set,
//! keys that cannot serve the party's `token_endpoint_auth_signing_alg` are kept but never
//! tried (a published set serves more than this verifier, and its owner, not this
//! configuration, chose its keys); a set with no key for it is refused
//! ([`InstallError::NoKeyForAlgorithm`]).
//!
//! Loading and installing allocate (the parties and their keys live on the heap, each key
//! sized to one key); validating an assertion against a loaded registry does not.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::alg::{Algorithm, Algorithms};
use crate::claims::MAX_CLAIM_STRING_LEN;
use crate::compat::Compat;
#[cfg(feature = "claim-conditions")]
use crate::conditions::{ClaimConditions, ConditionError};
use crate::error::Use;
use crate::json::{self, JsonStr, Object, Value};
use crate::keys::{KeyError, KeyRef, KeySet, MaterialRef, OwnedKeys, MAX_KEY_TEXT_LEN};
use crate::party::{KeyLookup, KeySource, Party, Policy, Subjects};
use crate::profile::{
    Checks, ClientAuthProfile, GrantProfile, TypRule, DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME,
};
#[cfg(feature = "remote")]
use crate::remote_keys::{
    check_jwk_set, DiscoveryDocument, DocumentError, Entry, FetchFailure, IssuerUrl, UrlError,
    WellKnown, MAX_MAX_AGE, MIN_MAX_AGE,
};
use crate::token_request::{OtherClientAuthentication, TokenEndpoint};

/// Longest registry document accepted, in bytes.
pub const MAX_REGISTRY_LEN: usize = 4 * 1024 * 1024;

/// Most parties (clients and issuers together) in one registry.
pub const MAX_REGISTRY_PARTIES: usize = 4096;

/// Largest `max_lifetime` and `max_age` a registry may set, in seconds (one day): a `jti`
/// is remembered for at most about this long.
pub const MAX_LIFETIME_SETTING: u64 = 86_400;

/// Largest `leeway` a registry may set, in seconds (RFC 7523 §3: "no more than a few
/// minutes").
pub const MAX_LEEWAY_SETTING: u64 = 600;

/// The only client authentication method a registered client may have (RFC 7591 §2,
/// RFC 7523 §2.2).
pub const PRIVATE_KEY_JWT: &str = "private_key_jwt";

/// The signing algorithms a party may be restricted to (`token_endpoint_auth_signing_alg`,
/// RFC 7591 §2): every algorithm this crate verifies.
pub const SUPPORTED_SIGNING_ALGS: &[&str] = &["RS256", "PS256", "ES256", "EdDSA", "Ed25519"];

/// The fields of the document itself; any other is refused.
pub const TOP_LEVEL_FIELDS: &[&str] = &["issuer", "token_endpoint", "clients", "issuers"];

/// The fields of a client (RFC 7591 names where RFC 7591 has one); any other is refused.
pub const CLIENT_FIELDS: &[&str] = &[
    "client_id",
    "jwks",
    "jwks_uri",
    "x509",
    "token_endpoint_auth_method",
    "token_endpoint_auth_signing_alg",
    "max_lifetime",
    "max_age",
    "leeway",
    "require_jti",
    "require_iat",
    "require_typ",
    "compat",
];
/// The values of an issuer's `discovery`: the well-known metadata document its keys are found
/// through ([`WellKnown`]: OIDC Discovery 1.0 §4, RFC 8414 §3.1). No fallback between them.
pub const DISCOVERY_VALUES: &[&str] = &["openid-configuration", "oauth-authorization-server"];

/// The fields of a trusted issuer; any other is refused.
pub const ISSUER_FIELDS: &[&str] = &[
    "issuer",
    "jwks",
    "jwks_uri",
    "x509",
    "discovery",
    "token_endpoint_auth_signing_alg",
    "subjects",
    "claims",
    "max_lifetime",
    "max_age",
    "leeway",
    "require_jti",
    "require_iat",
    "compat",
];

/// The compatibility relaxations a client's `compat` may name ([`compat`](crate::compat)).
pub const CLIENT_COMPAT: &[&str] = &["token_endpoint_audience"];
/// The compatibility relaxations a trusted issuer's `compat` may name
/// ([`compat`](crate::compat)). `missing_jti` is `require_jti: false`, for both.
pub const ISSUER_COMPAT: &[&str] = &["missing_sub"];

/// What is wrong with a registry document.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryProblem {
    /// Longer than [`MAX_REGISTRY_LEN`].
    TooLarge,
    /// Not a JSON object (or not valid JSON: duplicate member names, bad escapes, too deep).
    NotJson,
    /// A field this registry does not know (its name).
    UnknownField(String),
    /// A required field is absent.
    Missing,
    /// The value has the wrong JSON type; the words say what was expected.
    WrongType(&'static str),
    /// An empty string or list where a value is needed.
    Empty,
    /// A string longer than its limit.
    TooLong {
        /// The limit, in bytes.
        max: usize,
    },
    /// A number outside its range.
    OutOfRange {
        /// The smallest accepted value.
        min: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// A second party with the same id (the first one's position).
    Duplicate {
        /// Where the first one is, e.g. `clients[0]`.
        first: String,
    },
    /// The same value twice in a list.
    DuplicateValue,
    /// More than [`MAX_REGISTRY_PARTIES`] parties.
    TooManyParties,
    /// Neither clients nor issuers.
    NoParties,
    /// A key could not be used.
    Key(KeyError),
    /// The same public key is listed for another party.
    SharedKey {
        /// The other party, e.g. `clients[0] "s6BhdRkqt3"`.
        other: String,
    },
    /// A `token_endpoint_auth_method` other than `private_key_jwt`.
    UnsupportedAuthMethod,
    /// A `token_endpoint_auth_signing_alg` not in [`SUPPORTED_SIGNING_ALGS`].
    UnsupportedAlgorithm,
    /// A `token_endpoint_auth_signing_alg` this build leaves out (crate features `ps256`,
    /// `es256`, `eddsa`; [`is_built_in`](crate::alg::is_built_in)): the party could never be
    /// verified. (A party whose only keys are of such algorithms: [`RegistryProblem::Key`]
    /// with [`KeyError::NotBuiltIn`], at the first such key.)
    AlgorithmNotBuiltIn(Algorithm),
    /// A key that cannot serve the party's `token_endpoint_auth_signing_alg` (another key type,
    /// or a JWK `alg` naming another algorithm): it could never verify anything.
    KeyNotForAlgorithm {
        /// The position of the key in `jwks.keys` (after skipped keys are dropped).
        index: usize,
        /// The party's algorithm.
        alg: Algorithm,
    },
    /// Both `jwks` and `jwks_uri` (RFC 7591 §2: "MUST NOT both be present").
    JwksAndJwksUri,
    /// Neither `jwks` nor `jwks_uri` (nor, for an issuer, `discovery`).
    NoKeys,
    /// `jwks_uri` in a build without the `remote` feature (the npm package, for now).
    JwksUriNotSupported,
    /// `discovery` in a build without the `remote` feature.
    DiscoveryNotSupported,
    /// A `jwks_uri` refused by the URL rules ([`KeyUrl`](crate::remote_keys::KeyUrl)).
    #[cfg(feature = "remote")]
    Url(UrlError),
    /// The same `jwks_uri` as another party: its keys would be trusted for both
    /// (RFC 8725 §3.8).
    #[cfg(feature = "remote")]
    SharedJwksUri {
        /// The other party, e.g. `clients[0] "s6BhdRkqt3"`.
        other: String,
    },
    /// A `discovery` other than [`DISCOVERY_VALUES`].
    #[cfg(feature = "remote")]
    UnsupportedDiscovery,
    /// `discovery` beside `jwks` or `jwks_uri`: the keys come from one place.
    #[cfg(feature = "remote")]
    DiscoveryWithKeys,
    /// `discovery` for an issuer whose identifier is not a URL discovery can use ([`IssuerUrl`]:
    /// `https`, no query or fragment; RFC 8414 §2).
    #[cfg(feature = "remote")]
    DiscoveryIssuer(UrlError),
    /// A `compat` value this kind of party cannot have.
    UnknownCompat {
        /// The value, from the document.
        value: String,
        /// What this kind of party may name ([`CLIENT_COMPAT`] or [`ISSUER_COMPAT`]).
        accepted: &'static [&'static str],
    },
    /// `compat: ["token_endpoint_audience"]` without a top-level `token_endpoint` to accept.
    CompatNeedsTokenEndpoint,
    /// An issuer's `claims` breaks a rule of claim conditions
    /// ([`conditions`](crate::conditions)): more than
    /// [`MAX_CLAIM_CONDITIONS`](crate::conditions::MAX_CLAIM_CONDITIONS), an empty or too
    /// long name, a claim the profiles govern, the same claim twice, an empty or too long value.
    #[cfg(feature = "claim-conditions")]
    ClaimCondition(ConditionError),
    /// `x509` beside `jwks`, `jwks_uri` or `discovery`: the keys come from one place.
    #[cfg(feature = "x509")]
    X509WithOtherKeys,
    /// An issuer's `claims` in a build without claim conditions (feature `claim-conditions`:
    /// the npm package's RS256-only module): refused, never loaded without them.
    ClaimConditionsNotBuiltIn,
}

impl fmt::Display for RegistryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryProblem::TooLarge => {
                write!(f, "the registry is longer than {MAX_REGISTRY_LEN} bytes")
            }
            RegistryProblem::NotJson => f.write_str(
                "not a JSON object (or invalid JSON: syntax, a duplicate member name, nesting)",
            ),
            RegistryProblem::UnknownField(name) => write!(f, "unknown field {}", quoted(name)),
            RegistryProblem::Missing => f.write_str("is required"),
            RegistryProblem::WrongType(expected) => write!(f, "must be {expected}"),
            RegistryProblem::Empty => f.write_str("must not be empty"),
            RegistryProblem::TooLong { max } => write!(f, "is longer than {max} bytes"),
            RegistryProblem::OutOfRange { min, max } => {
                write!(f, "must be a whole number from {min} to {max}")
            }
            RegistryProblem::Duplicate { first } => write!(f, "is a duplicate of {first}"),
            RegistryProblem::DuplicateValue => f.write_str("lists the same value twice"),
            RegistryProblem::TooManyParties => write!(
                f,
                "more than {MAX_REGISTRY_PARTIES} parties (clients and issuers together)"
            ),
            RegistryProblem::NoParties => f.write_str("the registry has no clients and no issuers"),
            RegistryProblem::Key(e) => e.fmt(f),
            RegistryProblem::SharedKey { other } => write!(
                f,
                "the same public key is listed for {other}: a key belongs to one party \
                 (RFC 8725 section 3.8)"
            ),
            RegistryProblem::UnsupportedAuthMethod => write!(
                f,
                "must be \"{PRIVATE_KEY_JWT}\" (RFC 7591's default when it is absent is \
                 client_secret_basic, which this server does not verify)"
            ),
            RegistryProblem::UnsupportedAlgorithm => {
                f.write_str("must be one of the supported algorithms:")?;
                for alg in SUPPORTED_SIGNING_ALGS {
                    write!(f, " {alg}")?;
                }
                Ok(())
            }
            // The words of a key of that algorithm: "this build does not verify ES256".
            RegistryProblem::AlgorithmNotBuiltIn(alg) => KeyError::NotBuiltIn(*alg).fmt(f),
            RegistryProblem::KeyNotForAlgorithm { index, alg } => write!(
                f,
                "key {index} cannot verify {alg}, the party's token_endpoint_auth_signing_alg"
            ),
            RegistryProblem::JwksAndJwksUri => {
                f.write_str("jwks and jwks_uri must not both be present (RFC 7591 section 2)")
            }
            // The words the npm package's tests expect (it takes inline keys only, for now);
            // the field list (jwks_uri, an issuer's discovery) is in the README and the schema.
            RegistryProblem::NoKeys => f.write_str("the party has no keys: give jwks"),
            RegistryProblem::JwksUriNotSupported => f.write_str(
                "remote key sets (jwks_uri) are not supported yet: give the keys inline as jwks",
            ),
            RegistryProblem::DiscoveryNotSupported => f.write_str(
                "remote key sets (discovery) are not supported yet: give the keys inline as jwks",
            ),
            #[cfg(feature = "remote")]
            RegistryProblem::Url(e) => write!(f, "{e}"),
            #[cfg(feature = "remote")]
            RegistryProblem::SharedJwksUri { other } => write!(
                f,
                "is also the jwks_uri of {other}: a key set belongs to one party (RFC 8725 \
                 section 3.8)"
            ),
            #[cfg(feature = "remote")]
            RegistryProblem::UnsupportedDiscovery => {
                f.write_str("must be one of:")?;
                for value in DISCOVERY_VALUES {
                    write!(f, " \"{value}\"")?;
                }
                Ok(())
            }
            #[cfg(feature = "remote")]
            RegistryProblem::DiscoveryWithKeys => f.write_str(
                "discovery must not be combined with jwks or jwks_uri: the keys come from the \
                 issuer's discovery document",
            ),
            #[cfg(feature = "remote")]
            RegistryProblem::DiscoveryIssuer(e) => write!(
                f,
                "discovery needs the issuer identifier to be an https URL without query or \
                 fragment (RFC 8414 section 2): {e}"
            ),
            RegistryProblem::UnknownCompat { value, accepted } => {
                // Quoted by hand: `{:?}` would link the Unicode escape tables into every wasm
                // module; the names written one by one: `join` links its own copy loop (about
                // 1 KB of the RS256-only npm module).
                write!(
                    f,
                    "unknown compatibility relaxation \"{value}\" (this kind of party may name:"
                )?;
                for (i, name) in accepted.iter().enumerate() {
                    f.write_str(if i == 0 { " " } else { ", " })?;
                    f.write_str(name)?;
                }
                f.write_str(")")?;
                if value == "missing_jti" {
                    f.write_str("; a party accepts assertions without jti with require_jti: false")?;
                }
                Ok(())
            }
            RegistryProblem::CompatNeedsTokenEndpoint => f.write_str(
                "token_endpoint_audience needs the registry's token_endpoint (the URL to accept in aud)",
            ),
            #[cfg(feature = "claim-conditions")]
            RegistryProblem::ClaimCondition(e) => e.fmt(f),
            #[cfg(feature = "x509")]
            RegistryProblem::X509WithOtherKeys => f.write_str(
                "x509 must not be combined with jwks, jwks_uri or discovery: the keys come from one place",
            ),
            RegistryProblem::ClaimConditionsNotBuiltIn => {
                f.write_str("claim conditions are not in this build (feature claim-conditions)")
            }
        }
    }
}

/// Why a registry document was refused: where (`clients[2] "s6BhdRkqt3".max_lifetime`) and
/// what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryError {
    at: String,
    problem: RegistryProblem,
}

impl RegistryError {
    fn new(at: impl Into<String>, problem: RegistryProblem) -> Self {
        Self {
            at: at.into(),
            problem,
        }
    }

    /// The field at fault, as a path naming the party (`clients[2] "s6BhdRkqt3".jwks`), or
    /// `registry` for the document itself.
    pub fn at(&self) -> &str {
        &self.at
    }

    /// What is wrong.
    pub fn problem(&self) -> &RegistryProblem {
        &self.problem
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.problem)
    }
}

impl core::error::Error for RegistryError {}

/// Which parties of a registry: its clients or its trusted issuers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartyKind {
    /// A client (`clients`): its assertions authenticate it (RFC 7523 §2.2).
    Client,
    /// A trusted issuer (`issuers`): its assertions are grants (RFC 7523 §2.1).
    Issuer,
}

impl PartyKind {
    /// The parties that serve `use_`: clients for client authentication, issuers for grants.
    pub const fn of_use(use_: Use) -> Self {
        match use_ {
            Use::ClientAuthentication => PartyKind::Client,
            Use::AuthorizationGrant => PartyKind::Issuer,
        }
    }

    /// The use its assertions have.
    pub const fn use_(self) -> Use {
        match self {
            PartyKind::Client => Use::ClientAuthentication,
            PartyKind::Issuer => Use::AuthorizationGrant,
        }
    }

    /// The document's array of them: `clients` or `issuers`.
    pub const fn array(self) -> &'static str {
        match self {
            PartyKind::Client => "clients",
            PartyKind::Issuer => "issuers",
        }
    }

    const fn id_field(self) -> &'static str {
        match self {
            PartyKind::Client => "client_id",
            PartyKind::Issuer => "issuer",
        }
    }

    const fn fields(self) -> &'static [&'static str] {
        match self {
            PartyKind::Client => CLIENT_FIELDS,
            PartyKind::Issuer => ISSUER_FIELDS,
        }
    }
}

/// Where a remote party's keys are fetched from: the registry's configuration, never a
/// token.
#[cfg(feature = "remote")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyLocation {
    /// `jwks_uri`: the JWK Set at this URL, which passed the
    /// [`KeyUrl`](crate::remote_keys::KeyUrl) rules.
    JwksUri(String),
    /// `discovery`: the issuer's metadata document at `url` ([`IssuerUrl::discovery_url`]),
    /// read with [`RemoteParty::read_discovery`] (its `issuer` exactly the party's, its
    /// `jwks_uri` through the URL rules); then the JWK Set at that `jwks_uri`.
    Discovery {
        /// Which well-known document.
        well_known: WellKnown,
        /// Its URL.
        url: String,
    },
}

#[cfg(feature = "remote")]
impl KeyLocation {
    /// The first URL to fetch: the JWK Set's, or the discovery document's.
    pub fn url(&self) -> &str {
        match self {
            KeyLocation::JwksUri(url) | KeyLocation::Discovery { url, .. } => url,
        }
    }
}

/// A party's remote key set: where, and the installed set's fetch time and lifetime.
#[cfg(feature = "remote")]
#[derive(Clone, Debug)]
struct Remote {
    location: KeyLocation,
    fetched: Option<Entry>,
}

/// One registered party, owned.
#[derive(Clone, Debug)]
pub struct RegisteredParty {
    id: String,
    keys: OwnedKeys,
    checks: Checks,
    typ: TypRule,
    subjects: Option<Vec<String>>,
    /// Claim conditions, `(claim, value)`, checked at load (`ClaimConditions::checked`).
    #[cfg(feature = "claim-conditions")]
    claims: Vec<(String, String)>,
    algorithms: Algorithms,
    #[cfg(feature = "remote")]
    remote: Option<Remote>,
    compat: Compat,
}

impl RegisteredParty {
    /// A party built in code rather than read from a document (the one-party forms of the CLI
    /// and the npm package): its id, keys and policy; `subjects` `None` allows any `sub`.
    pub fn new(
        id: String,
        keys: OwnedKeys,
        checks: Checks,
        typ: TypRule,
        subjects: Option<Vec<String>>,
    ) -> Self {
        Self {
            id,
            keys,
            checks,
            typ,
            subjects,
            #[cfg(feature = "claim-conditions")]
            claims: Vec::new(),
            algorithms: Algorithms::ALL,
            #[cfg(feature = "remote")]
            remote: None,
            compat: Compat::default(),
        }
    }

    /// The same party with the compatibility relaxations `compat` (its [`Policy::compat`]).
    #[must_use]
    pub fn with_compat(mut self, compat: Compat) -> Self {
        self.compat = compat;
        self
    }

    /// The same party accepting only `algorithms` (its [`Policy::algorithms`]).
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: Algorithms) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// The client id or issuer.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its keys: inline ones, or the installed fetched set (none before one is installed).
    pub fn keys(&self) -> crate::Keys<'_> {
        self.keys.keys()
    }

    /// Where its keys are fetched from, when they are.
    #[cfg(feature = "remote")]
    pub fn key_location(&self) -> Option<&KeyLocation> {
        self.remote.as_ref().map(|r| &r.location)
    }

    /// Where its keys come from, and until when the installed ones may be used.
    pub fn key_source(&self) -> KeySource {
        #[cfg(feature = "remote")]
        if let Some(remote) = &self.remote {
            return KeySource::Fetched {
                usable_until: remote.fetched.map(|e| e.expires_at()),
            };
        }
        KeySource::Configured
    }

    /// As the core's [`Party`].
    pub fn as_party(&self) -> Party<'_> {
        Party {
            id: &self.id,
            keys: self.keys.keys(),
            policy: Policy {
                checks: self.checks,
                typ: self.typ,
                algorithms: self.algorithms,
                compat: self.compat,
                subjects: match &self.subjects {
                    None => Subjects::Any,
                    Some(list) => Subjects::OneOfOwned(list),
                },
                #[cfg(feature = "claim-conditions")]
                claims: ClaimConditions::owned(&self.claims),
            },
            key_source: self.key_source(),
        }
    }
}

/// A party whose keys are fetched ([`Registry::remote_parties`]): what a layer needs to fetch
/// them.
#[cfg(feature = "remote")]
#[derive(Clone, Copy, Debug)]
pub struct RemoteParty<'r> {
    kind: PartyKind,
    party: &'r RegisteredParty,
    remote: &'r Remote,
}

#[cfg(feature = "remote")]
impl<'r> RemoteParty<'r> {
    /// A client or an issuer.
    pub fn kind(&self) -> PartyKind {
        self.kind
    }

    /// Its client id or issuer identifier.
    pub fn id(&self) -> &'r str {
        &self.party.id
    }

    /// Where its keys are.
    pub fn location(&self) -> &'r KeyLocation {
        &self.remote.location
    }

    /// The installed set's fetch time and lifetime, when one is installed.
    pub fn fetched(&self) -> Option<Entry> {
        self.remote.fetched
    }

    /// Reads a discovery document fetched from [`KeyLocation::Discovery`]'s URL for this
    /// issuer ([`DiscoveryDocument::read`]: its `issuer` exactly this party's id, its
    /// `jwks_uri` through the URL rules, loopback only for a loopback issuer).
    pub fn read_discovery(&self, body: &[u8]) -> Result<DiscoveryDocument, DocumentError> {
        // The id passed the issuer URL rules at load (`discovery` requires it); were it ever
        // not to parse, no document can match it.
        let issuer = IssuerUrl::parse(&self.party.id).map_err(|_| DocumentError::IssuerMismatch)?;
        DiscoveryDocument::read(body, &issuer)
    }
}

/// What [`Registry::install_jwk_set`] did.
#[cfg(feature = "remote")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Installed {
    /// The set is now the party's keys.
    Replaced,
    /// The party's installed set was fetched later than this one: kept, this one ignored (the
    /// rule of [`KeyCache::fetched`](crate::remote_keys::KeyCache::fetched)).
    Superseded,
}

/// Why [`Registry::install_jwk_set`] refused a fetched JWK Set. The party keeps the keys it
/// had; [`fetch_failure`](Self::fetch_failure) is what the layer reports to its cache.
#[cfg(feature = "remote")]
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallError {
    /// No party of that kind and id has a remote key set (configured keys are never
    /// replaced).
    NotRemote,
    /// The lifetime given is outside [`MIN_MAX_AGE`]..=[`MAX_MAX_AGE`] (a
    /// [`Freshness`](crate::remote_keys::Freshness) is always within it).
    Lifetime {
        /// The lifetime given, in seconds.
        max_age: u64,
    },
    /// Not a JWK Set ([`check_jwk_set`]: size, strict JSON, `keys`, at most
    /// [`MAX_REMOTE_KEYS`](crate::remote_keys::MAX_REMOTE_KEYS)).
    Document(DocumentError),
    /// The key loader refused it, as it would inline keys (a key too small, private
    /// material, no usable key, …).
    Key(KeyError),
    /// No key of the set serves the party's `token_endpoint_auth_signing_alg`.
    NoKeyForAlgorithm {
        /// The party's algorithm.
        alg: Algorithm,
    },
    /// A key of the set is a key of another party (RFC 8725 §3.8: keys belong to one party).
    SharedKey {
        /// The other party, e.g. `clients[0] "s6BhdRkqt3"`.
        other: String,
    },
}

#[cfg(feature = "remote")]
impl InstallError {
    /// The cause to report to the party's [`KeyCache`](crate::remote_keys::KeyCache) (and to
    /// keep with a `keys_unavailable` refusal).
    pub fn fetch_failure(&self) -> FetchFailure {
        match self {
            InstallError::Document(e) => FetchFailure::Document(*e),
            _ => FetchFailure::Keys,
        }
    }
}

#[cfg(feature = "remote")]
impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::NotRemote => f.write_str("the party has no remote key set"),
            InstallError::Lifetime { max_age } => write!(
                f,
                "a lifetime of {max_age} s is outside {MIN_MAX_AGE}..={MAX_MAX_AGE} s"
            ),
            InstallError::Document(e) => e.fmt(f),
            InstallError::Key(e) => write!(f, "the key set's keys were refused: {e}"),
            InstallError::NoKeyForAlgorithm { alg } => write!(
                f,
                "no key of the set can verify {alg}, the party's token_endpoint_auth_signing_alg"
            ),
            InstallError::SharedKey { other } => write!(
                f,
                "the set holds a public key of {other}: a key belongs to one party (RFC 8725 \
                 section 3.8)"
            ),
        }
    }
}

#[cfg(feature = "remote")]
impl core::error::Error for InstallError {}

/// The clients, or the issuers, of a [`Registry`]: a [`KeyLookup`] by exact id.
///
/// A sorted index rather than a map: the same O(log n) lookup for much less code (the npm
/// package's WebAssembly module is size-budgeted).
#[derive(Clone, Debug, Default)]
pub struct Parties {
    list: Vec<RegisteredParty>,
    /// Indices into `list`, sorted by id.
    by_id: Vec<u32>,
}

impl Parties {
    /// The parties, in document order.
    pub fn iter(&self) -> impl Iterator<Item = &RegisteredParty> {
        self.list.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The party with this exact id.
    pub fn get(&self, id: &str) -> Option<&RegisteredParty> {
        self.list.get(self.index_of(id)?)
    }

    /// The position in document order of the party with this exact id.
    fn index_of(&self, id: &str) -> Option<usize> {
        let slot = self.search(id).ok()?;
        self.by_id.get(slot).map(|&i| i as usize)
    }

    /// Where `id` is in the sorted index: `Ok(slot)`, or `Err(slot)` to insert it.
    fn search(&self, id: &str) -> Result<usize, usize> {
        self.by_id.binary_search_by(|&i| {
            self.list
                .get(i as usize)
                .map_or("", |p| p.id.as_str())
                .cmp(id)
        })
    }
}

impl KeyLookup for Parties {
    fn party(&self, id: &str) -> Option<Party<'_>> {
        self.get(id).map(RegisteredParty::as_party)
    }
}

/// A loaded registry: this server's issuer identifier, its token endpoint, its clients and
/// its trusted issuers.
#[derive(Clone, Debug)]
pub struct Registry {
    issuer: String,
    token_endpoint: Option<String>,
    clients: Parties,
    issuers: Parties,
    /// Every public key of every party, inline and installed: one key, one party.
    #[cfg(feature = "remote")]
    owners: KeyOwners,
}

impl Registry {
    /// Reads and checks a registry document (see the module docs).
    pub fn from_json(text: &str) -> Result<Self, RegistryError> {
        if text.len() > MAX_REGISTRY_LEN {
            return Err(RegistryError::new("registry", RegistryProblem::TooLarge));
        }
        let top = json::parse_object(text.as_bytes())
            .map_err(|_| RegistryError::new("registry", RegistryProblem::NotJson))?;
        refuse_unknown(&top, TOP_LEVEL_FIELDS, "")?;
        let issuer = required_string(&top, "issuer", "", usize::MAX)?;
        let token_endpoint = optional_string(&top, "token_endpoint", "", usize::MAX)?;
        let client_list = party_array(&top, "clients")?;
        let issuer_list = party_array(&top, "issuers")?;
        if client_list.len() + issuer_list.len() > MAX_REGISTRY_PARTIES {
            return Err(RegistryError::new(
                "registry",
                RegistryProblem::TooManyParties,
            ));
        }
        if client_list.is_empty() && issuer_list.is_empty() {
            return Err(RegistryError::new("registry", RegistryProblem::NoParties));
        }
        let mut owners = KeyOwners::default();
        let mut uris = Vec::new();
        let has_token_endpoint = token_endpoint.is_some();
        let clients = read_parties(
            &client_list,
            PartyKind::Client,
            has_token_endpoint,
            &mut owners,
            &mut uris,
        )?;
        let issuers = read_parties(
            &issuer_list,
            PartyKind::Issuer,
            has_token_endpoint,
            &mut owners,
            &mut uris,
        )?;
        Ok(Self {
            issuer,
            token_endpoint,
            clients,
            issuers,
            #[cfg(feature = "remote")]
            owners,
        })
    }

    /// This server's issuer identifier (RFC 8414): the sole accepted `aud` of client
    /// assertions, and an accepted `aud` of grants.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The token endpoint URL, also accepted as a grant's `aud` (RFC 10070 §2.1).
    pub fn token_endpoint(&self) -> Option<&str> {
        self.token_endpoint.as_deref()
    }

    /// The registered clients.
    pub fn clients(&self) -> &Parties {
        &self.clients
    }

    /// The trusted issuers of jwt-bearer grants.
    pub fn issuers(&self) -> &Parties {
        &self.issuers
    }

    /// The clients or the issuers.
    pub fn parties(&self, kind: PartyKind) -> &Parties {
        match kind {
            PartyKind::Client => &self.clients,
            PartyKind::Issuer => &self.issuers,
        }
    }

    /// The parties whose keys are fetched, clients then issuers, each in document order.
    #[cfg(feature = "remote")]
    pub fn remote_parties(&self) -> impl Iterator<Item = RemoteParty<'_>> {
        let of = |kind: PartyKind| {
            self.parties(kind).iter().filter_map(move |party| {
                party.remote.as_ref().map(|remote| RemoteParty {
                    kind,
                    party,
                    remote,
                })
            })
        };
        of(PartyKind::Client).chain(of(PartyKind::Issuer))
    }

    /// The party `id` of `kind`, when its keys are fetched.
    #[cfg(feature = "remote")]
    pub fn remote_party(&self, kind: PartyKind, id: &str) -> Option<RemoteParty<'_>> {
        let party = self.parties(kind).get(id)?;
        let remote = party.remote.as_ref()?;
        Some(RemoteParty {
            kind,
            party,
            remote,
        })
    }

    /// Installs a fetched JWK Set (`body`, as received) as the keys of the remote party `id`
    /// of `kind`, fetched at `entry.fetched_at` and fresh for `entry.max_age` (the layer's
    /// [`KeyCache`](crate::remote_keys::KeyCache) gives both: the fetch's
    /// [`started_at`](crate::remote_keys::FetchTicket::started_at) and
    /// [`Freshness::max_age`](crate::remote_keys::Freshness::max_age)).
    ///
    /// The set goes through [`check_jwk_set`], the key loader of inline keys, and the party's
    /// rules (see the module docs: at least one key for its signing algorithm, no key of
    /// another party); refused, the party keeps the keys it had. A set fetched before the
    /// installed one is [`Installed::Superseded`]. Allocates; validation never does.
    #[cfg(feature = "remote")]
    pub fn install_jwk_set(
        &mut self,
        kind: PartyKind,
        id: &str,
        body: &[u8],
        entry: Entry,
    ) -> Result<Installed, InstallError> {
        let parties = self.parties(kind);
        let index = parties.index_of(id).ok_or(InstallError::NotRemote)?;
        let party = parties.list.get(index).ok_or(InstallError::NotRemote)?;
        let remote = party.remote.as_ref().ok_or(InstallError::NotRemote)?;
        if !(MIN_MAX_AGE..=MAX_MAX_AGE).contains(&entry.max_age) {
            return Err(InstallError::Lifetime {
                max_age: entry.max_age,
            });
        }
        if remote
            .fetched
            .is_some_and(|e| e.fetched_at > entry.fetched_at)
        {
            return Ok(Installed::Superseded);
        }
        let text = check_jwk_set(body).map_err(InstallError::Document)?;
        let mut set: alloc::boxed::Box<KeySet> = alloc::boxed::Box::default();
        set.load_jwks(text).map_err(InstallError::Key)?;
        let algorithms = party.algorithms;
        if let Some(alg) = single(algorithms) {
            if !set.iter().any(|key| key.serves_algorithm(alg, algorithms)) {
                return Err(InstallError::NoKeyForAlgorithm { alg });
            }
        }
        let owner = Owner {
            kind,
            index,
            label: format!("{}[{index}] {}", kind.array(), quoted(id)),
        };
        let digests: Vec<[u8; 32]> = set.iter().map(|key| key_digest(&key)).collect();
        if let Some(other) = self.owners.conflict(&digests, &owner) {
            return Err(InstallError::SharedKey { other });
        }
        self.owners.replace(&owner, &digests);
        let parties = match kind {
            PartyKind::Client => &mut self.clients,
            PartyKind::Issuer => &mut self.issuers,
        };
        let party = parties.list.get_mut(index).ok_or(InstallError::NotRemote)?;
        party.keys = OwnedKeys::from_set(&set);
        if let Some(remote) = party.remote.as_mut() {
            remote.fetched = Some(entry);
        }
        Ok(Installed::Replaced)
    }

    /// Runs `f` with the grant profile (`None` without trusted issuers) and the client
    /// authentication profile (`None` without clients) of this registry.
    pub fn with_profiles<T>(
        &self,
        f: impl FnOnce(Option<GrantProfile<'_, Parties>>, Option<ClientAuthProfile<'_, Parties>>) -> T,
    ) -> T {
        let both;
        let one;
        let audiences: &[&str] = match &self.token_endpoint {
            Some(endpoint) => {
                both = [self.issuer.as_str(), endpoint.as_str()];
                &both
            }
            None => {
                one = [self.issuer.as_str()];
                &one
            }
        };
        let grant = (!self.issuers.is_empty()).then_some(GrantProfile {
            issuers: &self.issuers,
            audiences,
        });
        let client = (!self.clients.is_empty()).then_some(ClientAuthProfile {
            clients: &self.clients,
            issuer: &self.issuer,
            token_endpoint: self.token_endpoint.as_deref(),
        });
        f(grant, client)
    }

    /// Runs `f` with the token endpoint of this registry.
    pub fn with_token_endpoint<T>(
        &self,
        other_client_auth: OtherClientAuthentication,
        f: impl FnOnce(&TokenEndpoint<'_, Parties, Parties>) -> T,
    ) -> T {
        self.with_profiles(|grant, client_auth| {
            f(&TokenEndpoint {
                grant,
                client_auth,
                other_client_auth,
            })
        })
    }
}

/// The one algorithm of `algorithms`, when it holds exactly one (a party's
/// `token_endpoint_auth_signing_alg`).
#[cfg(feature = "remote")]
fn single(algorithms: Algorithms) -> Option<Algorithm> {
    let mut all = algorithms.iter();
    match (all.next(), all.next()) {
        (Some(alg), None) => Some(alg),
        _ => None,
    }
}

/// A party that holds keys: which one, and how messages name it.
#[derive(Clone, Debug)]
struct Owner {
    kind: PartyKind,
    index: usize,
    /// `clients[0] "s6BhdRkqt3"`.
    label: String,
}

impl Owner {
    fn is(&self, other: &Owner) -> bool {
        self.kind == other.kind && self.index == other.index
    }
}

/// Which party each public key belongs to: a list sorted by the SHA-256 of the key
/// ([`key_digest`]), inline keys claimed at load, fetched ones when installed.
#[derive(Clone, Debug, Default)]
struct KeyOwners {
    owners: Vec<([u8; 32], Owner)>,
}

fn party_array<'a>(top: &Object<'a>, name: &str) -> Result<Vec<&'a [u8]>, RegistryError> {
    let Some(value) = top.get(name) else {
        return Ok(Vec::new());
    };
    let Value::Array(array) = value else {
        return Err(RegistryError::new(
            name,
            RegistryProblem::WrongType("an array of objects"),
        ));
    };
    let mut out = Vec::new();
    for (i, element) in array.elements().enumerate() {
        match element {
            Ok(Value::Object(text)) => out.push(text),
            _ => {
                return Err(RegistryError::new(
                    format!("{name}[{i}]"),
                    RegistryProblem::WrongType("an object"),
                ))
            }
        }
        if out.len() > MAX_REGISTRY_PARTIES {
            return Err(RegistryError::new(
                "registry",
                RegistryProblem::TooManyParties,
            ));
        }
    }
    Ok(out)
}

/// The `jwks_uri`s read so far, with the party each belongs to.
type KeySetUris = Vec<(String, String)>;

fn read_parties(
    texts: &[&[u8]],
    kind: PartyKind,
    has_token_endpoint: bool,
    owners: &mut KeyOwners,
    uris: &mut KeySetUris,
) -> Result<Parties, RegistryError> {
    let mut parties = Parties::default();
    for (i, text) in texts.iter().enumerate() {
        let position = format!("{}[{i}]", kind.array());
        let object = json::parse_object(text)
            .map_err(|_| RegistryError::new(position.clone(), RegistryProblem::NotJson))?;
        // The id first, so that every later message names the party.
        let id = required_string(&object, kind.id_field(), &position, MAX_CLAIM_STRING_LEN)?;
        let at = format!("{position} {}", quoted(&id));
        let slot = match parties.search(&id) {
            Err(slot) => slot,
            Ok(slot) => {
                let first = parties.by_id.get(slot).copied().unwrap_or_default();
                return Err(RegistryError::new(
                    format!("{at}.{}", kind.id_field()),
                    RegistryProblem::Duplicate {
                        first: format!("{}[{first}]", kind.array()),
                    },
                ));
            }
        };
        refuse_unknown(&object, kind.fields(), &at)?;
        let owner = Owner {
            kind,
            index: i,
            label: at.clone(),
        };
        let party = read_party(&object, id, &owner, has_token_endpoint, owners, uris)?;
        // At most MAX_REGISTRY_PARTIES, checked before: the index fits a u32.
        parties.by_id.insert(slot, parties.list.len() as u32);
        parties.list.push(party);
    }
    Ok(parties)
}

fn read_party(
    object: &Object<'_>,
    id: String,
    owner: &Owner,
    has_token_endpoint: bool,
    owners: &mut KeyOwners,
    uris: &mut KeySetUris,
) -> Result<RegisteredParty, RegistryError> {
    let at = owner.label.as_str();
    if owner.kind == PartyKind::Client {
        match optional_string(object, "token_endpoint_auth_method", at, usize::MAX)? {
            Some(method) if method == PRIVATE_KEY_JWT => {}
            Some(_) => {
                return Err(RegistryError::new(
                    format!("{at}.token_endpoint_auth_method"),
                    RegistryProblem::UnsupportedAuthMethod,
                ))
            }
            None => {
                return Err(RegistryError::new(
                    format!("{at}.token_endpoint_auth_method"),
                    RegistryProblem::UnsupportedAuthMethod,
                ))
            }
        }
    }
    let signing_alg =
        match optional_string(object, "token_endpoint_auth_signing_alg", at, usize::MAX)? {
            None => None,
            Some(alg) => match Algorithm::from_header(&alg) {
                Some(alg) if crate::alg::is_built_in(alg) => Some(alg),
                Some(alg) => {
                    return Err(RegistryError::new(
                        format!("{at}.token_endpoint_auth_signing_alg"),
                        RegistryProblem::AlgorithmNotBuiltIn(alg),
                    ))
                }
                None => {
                    return Err(RegistryError::new(
                        format!("{at}.token_endpoint_auth_signing_alg"),
                        RegistryProblem::UnsupportedAlgorithm,
                    ))
                }
            },
        };
    let algorithms = signing_alg.map_or(Algorithms::ALL, Algorithms::only);
    #[cfg(not(feature = "remote"))]
    let KeysConfig::Inline(keys) = read_keys(object, &id, at, uris)?;
    #[cfg(feature = "remote")]
    let (keys, remote) = match read_keys(object, &id, at, uris)? {
        KeysConfig::Inline(keys) => (keys, None),
        KeysConfig::Remote(location) => (
            OwnedKeys::default(),
            Some(Remote {
                location,
                fetched: None,
            }),
        ),
    };
    for (index, key) in keys.keys().iter().enumerate() {
        if let Some(other) = owners.claim(key_digest(&key), owner) {
            return Err(RegistryError::new(
                format!("{at}.jwks"),
                RegistryProblem::SharedKey { other },
            ));
        }
        // With one algorithm, every key must serve it (RFC 7591 §2: the algorithm "MUST be
        // used for signing"); a key that cannot is a mistake to see at start-up.
        if let Some(alg) = signing_alg {
            if !key.serves_algorithm(alg, algorithms) {
                return Err(RegistryError::new(
                    format!("{at}.jwks"),
                    RegistryProblem::KeyNotForAlgorithm { index, alg },
                ));
            }
        }
    }
    let defaults = Checks::default();
    let checks = Checks {
        leeway: optional_number(object, "leeway", at, 0, MAX_LEEWAY_SETTING)?
            .unwrap_or(DEFAULT_LEEWAY),
        max_lifetime: Some(
            optional_number(object, "max_lifetime", at, 1, MAX_LIFETIME_SETTING)?
                .unwrap_or(DEFAULT_MAX_LIFETIME),
        ),
        max_age: optional_number(object, "max_age", at, 1, MAX_LIFETIME_SETTING)?,
        require_jti: optional_bool(object, "require_jti", at)?.unwrap_or(true),
        require_iat: optional_bool(object, "require_iat", at)?.unwrap_or(false),
        ..defaults
    };
    let typ = match optional_bool(object, "require_typ", at)? {
        Some(true) => TypRule::RequireExplicit,
        _ => TypRule::NotAnotherType,
    };
    let subjects = match object.get("subjects") {
        None => None,
        Some(value) => Some(read_distinct_strings(value, &format!("{at}.subjects"))?),
    };
    // Issuers only: `claims` is not a client field (refused as unknown).
    #[cfg(feature = "claim-conditions")]
    let claims = match object.get("claims") {
        None => Vec::new(),
        #[cfg(feature = "claim-conditions")]
        Some(value) => read_claim_conditions(value, &format!("{at}.claims"))?,
    };
    #[cfg(not(feature = "claim-conditions"))]
    if object.get("claims").is_some() {
        return Err(RegistryError::new(
            format!("{at}.claims"),
            RegistryProblem::ClaimConditionsNotBuiltIn,
        ));
    }
    let compat = match object.get("compat") {
        None => Compat::default(),
        Some(value) => read_compat(
            value,
            owner.kind,
            &format!("{at}.compat"),
            has_token_endpoint,
        )?,
    };
    Ok(RegisteredParty {
        id,
        keys,
        checks,
        typ,
        subjects,
        #[cfg(feature = "claim-conditions")]
        claims,
        algorithms,
        #[cfg(feature = "remote")]
        remote,
        compat,
    })
}

/// Where a party's keys are: inline, or fetched.
enum KeysConfig {
    Inline(OwnedKeys),
    #[cfg(feature = "remote")]
    Remote(KeyLocation),
}

/// Exactly one of `jwks`, `jwks_uri` and (issuers only: clients refuse it as unknown)
/// `discovery`.
#[cfg_attr(not(feature = "remote"), allow(unused_variables))]
fn read_keys(
    object: &Object<'_>,
    id: &str,
    at: &str,
    uris: &mut KeySetUris,
) -> Result<KeysConfig, RegistryError> {
    let field = format!("{at}.jwks");
    let discovery = object.get("discovery");
    #[cfg(feature = "x509")]
    if let Some(map) = object.get("x509") {
        let at = format!("{at}.x509");
        if object.get("jwks").is_some() || object.get("jwks_uri").is_some() || discovery.is_some() {
            return Err(RegistryError::new(at, RegistryProblem::X509WithOtherKeys));
        }
        return read_x509_map(map, at).map(KeysConfig::Inline);
    }
    // Without the feature (the npm package, firmware): refused as such, whatever else is given.
    #[cfg(not(feature = "x509"))]
    if object.get("x509").is_some() {
        return Err(RegistryError::new(
            format!("{at}.x509"),
            RegistryProblem::Key(KeyError::CertificatesNotBuiltIn),
        ));
    }
    match (object.get("jwks"), object.get("jwks_uri"), discovery) {
        (Some(_), Some(_), _) => Err(RegistryError::new(field, RegistryProblem::JwksAndJwksUri)),
        // Without the feature, any `discovery` is refused as such.
        #[cfg(not(feature = "remote"))]
        (_, _, Some(_)) => Err(RegistryError::new(
            format!("{at}.discovery"),
            RegistryProblem::DiscoveryNotSupported,
        )),
        #[cfg(feature = "remote")]
        (Some(_), None, Some(_)) | (None, Some(_), Some(_)) => Err(RegistryError::new(
            format!("{at}.discovery"),
            RegistryProblem::DiscoveryWithKeys,
        )),
        (None, None, None) => Err(RegistryError::new(field, RegistryProblem::NoKeys)),
        #[cfg(feature = "remote")]
        (None, None, Some(value)) => read_discovery(value, id, at).map(KeysConfig::Remote),
        #[cfg(not(feature = "remote"))]
        (None, Some(_), None) => Err(RegistryError::new(
            format!("{at}.jwks_uri"),
            RegistryProblem::JwksUriNotSupported,
        )),
        #[cfg(feature = "remote")]
        (None, Some(value), None) => read_jwks_uri(value, at, uris).map(KeysConfig::Remote),
        (Some(Value::Object(text)), None, None) => {
            let text = core::str::from_utf8(text)
                .map_err(|_| RegistryError::new(field.clone(), RegistryProblem::NotJson))?;
            if text.len() > MAX_KEY_TEXT_LEN {
                return Err(RegistryError::new(
                    field,
                    RegistryProblem::Key(KeyError::TooLarge),
                ));
            }
            // Loaded once through a full-size set on the heap, then kept sized to the keys.
            let mut set: alloc::boxed::Box<KeySet> = alloc::boxed::Box::default();
            set.load_jwks(text).map_err(|e| match e {
                // Say which key this build leaves out, not only that none is usable.
                KeyError::NoUsableKeys => match first_key_not_built_in(&mut set, text) {
                    Some((index, alg)) => RegistryError::new(
                        format!("{field}.keys[{index}]"),
                        RegistryProblem::Key(KeyError::NotBuiltIn(alg)),
                    ),
                    None => RegistryError::new(field, RegistryProblem::Key(e)),
                },
                e => RegistryError::new(field, RegistryProblem::Key(e)),
            })?;
            Ok(KeysConfig::Inline(OwnedKeys::from_set(&set)))
        }
        (Some(_), None, None) => Err(RegistryError::new(
            field,
            RegistryProblem::WrongType("a JWK Set object ({\"keys\": [...]})"),
        )),
    }
}

/// An `x509` member: an X.509 map (a JSON object of `kid` -> PEM certificate, as Google
/// publishes a service account's keys at
/// `https://www.googleapis.com/service_accounts/v1/metadata/x509/EMAIL`), read by
/// [`KeySet::load_x509_map`]: each certificate's public key with its member's name as `kid`,
/// its validity dates reported, not enforced, no chain trusted. A refusal names the member.
#[cfg(feature = "x509")]
fn read_x509_map(value: Value<'_>, at: String) -> Result<OwnedKeys, RegistryError> {
    let Value::Object(text) = value else {
        return Err(RegistryError::new(
            at,
            RegistryProblem::WrongType(
                "an X.509 map object ({\"kid\": \"-----BEGIN CERTIFICATE-----…\"})",
            ),
        ));
    };
    let text = core::str::from_utf8(text)
        .map_err(|_| RegistryError::new(at.clone(), RegistryProblem::NotJson))?;
    if text.len() > MAX_KEY_TEXT_LEN {
        return Err(RegistryError::new(
            at,
            RegistryProblem::Key(KeyError::TooLarge),
        ));
    }
    let mut set: alloc::boxed::Box<KeySet> = alloc::boxed::Box::default();
    set.load_x509_map(text).map_err(|e| match e.kid {
        Some(kid) => RegistryError::new(format!("{at}.{kid}"), RegistryProblem::Key(e.error)),
        None => RegistryError::new(at, RegistryProblem::Key(e.error)),
    })?;
    Ok(OwnedKeys::from_set(&set))
}

/// A `jwks_uri`: a string, a [`KeyUrl`](crate::remote_keys::KeyUrl), no other party's.
#[cfg(feature = "remote")]
fn read_jwks_uri(
    value: Value<'_>,
    at: &str,
    uris: &mut KeySetUris,
) -> Result<KeyLocation, RegistryError> {
    let field = format!("{at}.jwks_uri");
    let Value::String(text) = value else {
        return Err(RegistryError::new(
            field,
            RegistryProblem::WrongType("a string"),
        ));
    };
    let url = decode(text, &field, usize::MAX)?;
    crate::remote_keys::KeyUrl::parse(&url)
        .map_err(|e| RegistryError::new(field.clone(), RegistryProblem::Url(e)))?;
    if let Some((_, other)) = uris.iter().find(|(known, _)| *known == url) {
        return Err(RegistryError::new(
            field,
            RegistryProblem::SharedJwksUri {
                other: other.clone(),
            },
        ));
    }
    uris.push((url.clone(), at.to_string()));
    Ok(KeyLocation::JwksUri(url))
}

/// An issuer's `discovery`: one of [`DISCOVERY_VALUES`], for an issuer identifier that is an
/// [`IssuerUrl`].
#[cfg(feature = "remote")]
fn read_discovery(value: Value<'_>, id: &str, at: &str) -> Result<KeyLocation, RegistryError> {
    let field = format!("{at}.discovery");
    let well_known = match value {
        Value::String(s) if s.eq_str("openid-configuration") => WellKnown::OpenIdConfiguration,
        Value::String(s) if s.eq_str("oauth-authorization-server") => {
            WellKnown::OAuthAuthorizationServer
        }
        _ => {
            return Err(RegistryError::new(
                field,
                RegistryProblem::UnsupportedDiscovery,
            ))
        }
    };
    let issuer = IssuerUrl::parse(id)
        .map_err(|e| RegistryError::new(field.clone(), RegistryProblem::DiscoveryIssuer(e)))?;
    let url = issuer
        .discovery_url(well_known)
        .map_err(|e| RegistryError::new(field, RegistryProblem::DiscoveryIssuer(e)))?;
    Ok(KeyLocation::Discovery {
        well_known,
        url: url.as_str().to_string(),
    })
}

/// The SHA-256 of a public key, tagged with its type: RSA `n` and `e`, P-256 `x || y`,
/// Ed25519's encoding. Two records of the same public key (under two `kid`s, with or without
/// thumbprints) have the same digest.
fn key_digest(key: &KeyRef<'_>) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    match key.material() {
        MaterialRef::Rsa(rsa) => {
            hash.update(b"RSA");
            hash.update(rsa.modulus());
            hash.update(rsa.exponent().to_be_bytes());
        }
        MaterialRef::P256(point) => {
            hash.update(b"P-256");
            hash.update(point);
        }
        MaterialRef::Ed25519(bytes) => {
            hash.update(b"Ed25519");
            hash.update(bytes);
        }
    }
    hash.finalize().into()
}

/// The position and algorithm of the first key of a JWK Set that this build leaves out (crate
/// features `ps256`, `es256`, `eddsa`), if any: read again only when the set had no usable key,
/// so that the error names that key. (A JWK Set skips such keys beside usable ones.) Each key
/// is loaded on its own into `set`, which is then discarded: the loader this module already
/// uses, so the RS256-only npm module grows by the error path alone.
#[cfg(not(all(feature = "ps256", feature = "es256", feature = "eddsa")))]
fn first_key_not_built_in(set: &mut KeySet, text: &str) -> Option<(usize, Algorithm)> {
    let object = json::parse_object(text.as_bytes()).ok()?;
    let Some(Value::Array(keys)) = object.get("keys") else {
        return None;
    };
    for (index, element) in keys.elements().enumerate() {
        if let Ok(Value::Object(jwk)) = element {
            let jwk = core::str::from_utf8(jwk).ok()?;
            if let Err(KeyError::NotBuiltIn(alg)) = set.load_text(jwk) {
                return Some((index, alg));
            }
        }
    }
    None
}

/// With every algorithm built in, no key is left out.
#[cfg(all(feature = "ps256", feature = "es256", feature = "eddsa"))]
fn first_key_not_built_in(_: &mut KeySet, _: &str) -> Option<(usize, Algorithm)> {
    None
}

impl KeyOwners {
    /// Records `digest` as `owner`'s; returns the other party that already holds it, if one
    /// does (the same party listing a key twice, under two `kid`s, still holds its own key).
    fn claim(&mut self, digest: [u8; 32], owner: &Owner) -> Option<String> {
        match self.owners.binary_search_by(|(d, _)| d.cmp(&digest)) {
            Ok(i) => match self.owners.get(i) {
                Some((_, other)) if !other.is(owner) => Some(other.label.clone()),
                _ => None,
            },
            Err(i) => {
                self.owners.insert(i, (digest, owner.clone()));
                None
            }
        }
    }

    /// The other party holding one of `digests`, if any.
    #[cfg(feature = "remote")]
    fn conflict(&self, digests: &[[u8; 32]], owner: &Owner) -> Option<String> {
        digests.iter().find_map(|digest| {
            let i = self.owners.binary_search_by(|(d, _)| d.cmp(digest)).ok()?;
            self.owners
                .get(i)
                .filter(|(_, other)| !other.is(owner))
                .map(|(_, other)| other.label.clone())
        })
    }

    /// `owner` now holds exactly `digests` (its fetched set was replaced), which
    /// [`conflict`](Self::conflict) found no other party holding.
    #[cfg(feature = "remote")]
    fn replace(&mut self, owner: &Owner, digests: &[[u8; 32]]) {
        self.owners.retain(|(_, o)| !o.is(owner));
        for &digest in digests {
            let _ = self.claim(digest, owner);
        }
    }
}

/// A party's `compat` list: distinct names of [`CLIENT_COMPAT`] or [`ISSUER_COMPAT`].
fn read_compat(
    value: Value<'_>,
    kind: PartyKind,
    at: &str,
    has_token_endpoint: bool,
) -> Result<Compat, RegistryError> {
    let accepted = match kind {
        PartyKind::Client => CLIENT_COMPAT,
        PartyKind::Issuer => ISSUER_COMPAT,
    };
    let mut compat = Compat::default();
    for name in read_distinct_strings(value, at)? {
        match (kind, name.as_str()) {
            (PartyKind::Client, "token_endpoint_audience") if has_token_endpoint => {
                compat.token_endpoint_audience = true;
            }
            (PartyKind::Client, "token_endpoint_audience") => {
                return Err(RegistryError::new(
                    at,
                    RegistryProblem::CompatNeedsTokenEndpoint,
                ))
            }
            (PartyKind::Issuer, "missing_sub") => compat.missing_sub = true,
            _ => {
                return Err(RegistryError::new(
                    at,
                    RegistryProblem::UnknownCompat {
                        value: name,
                        accepted,
                    },
                ))
            }
        }
    }
    Ok(compat)
}

/// An issuer's `claims`: a non-empty object of claim names to required string values, which
/// pass the rules of claim conditions ([`ClaimConditions::new`]). A value that is not a string,
/// or an empty one, is refused naming its member (`issuers[0] "…".claims.ref`); the rules of
/// the list (count, names, lengths, repeats) naming `claims`.
#[cfg(feature = "claim-conditions")]
fn read_claim_conditions(
    value: Value<'_>,
    at: &str,
) -> Result<Vec<(String, String)>, RegistryError> {
    let problem = |e| RegistryError::new(at, RegistryProblem::ClaimCondition(e));
    let Value::Object(text) = value else {
        return Err(RegistryError::new(
            at,
            RegistryProblem::WrongType("an object of claim names to strings"),
        ));
    };
    // Validated with the document: only a repeated name (after unescaping) or more members
    // than any object may have fail here.
    let object = json::parse_object(text).map_err(|e| {
        problem(match e {
            json::JsonError::Duplicate => ConditionError::Duplicate,
            _ => ConditionError::TooMany,
        })
    })?;
    // The values' types first, then the list (nothing to drop on these refusals).
    for (name, value) in object.members() {
        let problem = match value {
            Value::String(s) if s.is_empty() => RegistryProblem::Empty,
            Value::String(_) => continue,
            _ => RegistryProblem::WrongType("a string"),
        };
        let claim: String = name.chars().collect();
        return Err(RegistryError::new(format!("{at}.{claim}"), problem));
    }
    if object.members().next().is_none() {
        return Err(RegistryError::new(at, RegistryProblem::Empty));
    }
    let list: Vec<(String, String)> = object
        .members()
        .map(|(name, value)| match value {
            Value::String(s) => (name.chars().collect(), s.chars().collect()),
            // Not reached: every value was checked to be a string above.
            _ => (String::new(), String::new()),
        })
        .collect();
    // The core's rules (count, names, lengths, repeats), on the list as it will be used.
    ClaimConditions::owned(&list).checked().map_err(problem)?;
    Ok(list)
}

/// A non-empty array of distinct strings (`subjects`, `compat`).
fn read_distinct_strings(value: Value<'_>, at: &str) -> Result<Vec<String>, RegistryError> {
    let Value::Array(array) = value else {
        return Err(RegistryError::new(
            at,
            RegistryProblem::WrongType("an array of strings"),
        ));
    };
    let mut out: Vec<String> = Vec::new();
    for element in array.elements() {
        let Ok(Value::String(s)) = element else {
            return Err(RegistryError::new(
                at,
                RegistryProblem::WrongType("an array of strings"),
            ));
        };
        let s = decode(s, at, MAX_CLAIM_STRING_LEN)?;
        if out.contains(&s) {
            return Err(RegistryError::new(at, RegistryProblem::DuplicateValue));
        }
        out.push(s);
    }
    if out.is_empty() {
        return Err(RegistryError::new(at, RegistryProblem::Empty));
    }
    Ok(out)
}

fn refuse_unknown(object: &Object<'_>, known: &[&str], at: &str) -> Result<(), RegistryError> {
    for (name, _) in object.members() {
        if !known.iter().any(|k| name.eq_str(k)) {
            let name: String = name.chars().collect();
            let place = if at.is_empty() { "registry" } else { at };
            return Err(RegistryError::new(
                place,
                RegistryProblem::UnknownField(name),
            ));
        }
    }
    Ok(())
}

/// `"text"`: names and ids from the document (configuration, not attacker input), quoted so
/// that a message shows where they end.
fn quoted(text: &str) -> String {
    format!("\"{text}\"")
}

fn path(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

fn decode(s: JsonStr<'_>, at: &str, max: usize) -> Result<String, RegistryError> {
    let value: String = s.chars().collect();
    if value.is_empty() {
        return Err(RegistryError::new(at, RegistryProblem::Empty));
    }
    if value.len() > max {
        return Err(RegistryError::new(at, RegistryProblem::TooLong { max }));
    }
    Ok(value)
}

fn optional_string(
    object: &Object<'_>,
    name: &str,
    at: &str,
    max: usize,
) -> Result<Option<String>, RegistryError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => decode(s, &path(at, name), max).map(Some),
        Some(_) => Err(RegistryError::new(
            path(at, name),
            RegistryProblem::WrongType("a string"),
        )),
    }
}

fn required_string(
    object: &Object<'_>,
    name: &str,
    at: &str,
    max: usize,
) -> Result<String, RegistryError> {
    optional_string(object, name, at, max)?
        .ok_or_else(|| RegistryError::new(path(at, name), RegistryProblem::Missing))
}

fn optional_bool(object: &Object<'_>, name: &str, at: &str) -> Result<Option<bool>, RegistryError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(RegistryError::new(
            path(at, name),
            RegistryProblem::WrongType("true or false"),
        )),
    }
}

/// A whole number of seconds in `min..=max`: digits only (no sign, fraction or exponent).
fn optional_number(
    object: &Object<'_>,
    name: &str,
    at: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, RegistryError> {
    let range = || RegistryError::new(path(at, name), RegistryProblem::OutOfRange { min, max });
    match object.get(name) {
        None => Ok(None),
        Some(Value::Number(text)) => {
            if !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 19 {
                return Err(range());
            }
            let value: u64 = text.parse().map_err(|_| range())?;
            if (min..=max).contains(&value) {
                Ok(Some(value))
            } else {
                Err(range())
            }
        }
        Some(_) => Err(range()),
    }
}

/// Without the `remote` feature (`cargo test -p rfc7523 --features alloc`): a registry naming
/// a remote key set is refused at load, naming the party and the field.
#[cfg(all(test, not(feature = "remote")))]
mod tests {
    use super::*;

    #[test]
    fn remote_key_sets_need_the_remote_feature() {
        let client = |keys: &str| {
            format!(
                r#"{{"issuer":"https://as.example","clients":[{{"client_id":"c",
                "token_endpoint_auth_method":"private_key_jwt",{keys}}}]}}"#
            )
        };
        let issuer = |keys: &str| {
            format!(
                r#"{{"issuer":"https://as.example","issuers":[{{"issuer":"https://i.example",
                {keys}}}]}}"#
            )
        };
        let uri = r#""jwks_uri":"https://keys.example/jwks""#;
        let discovery = r#""discovery":"openid-configuration""#;
        let inline = r#""jwks":{"keys":[]}"#;
        let c = r#"clients[0] "c""#;
        let i = r#"issuers[0] "https://i.example""#;
        for (document, at, problem) in [
            (
                client(uri),
                format!("{c}.jwks_uri"),
                RegistryProblem::JwksUriNotSupported,
            ),
            (
                issuer(uri),
                format!("{i}.jwks_uri"),
                RegistryProblem::JwksUriNotSupported,
            ),
            (
                issuer(discovery),
                format!("{i}.discovery"),
                RegistryProblem::DiscoveryNotSupported,
            ),
            (
                issuer(&format!("{inline},{discovery}")),
                format!("{i}.discovery"),
                RegistryProblem::DiscoveryNotSupported,
            ),
            (
                client(&format!("{inline},{uri}")),
                format!("{c}.jwks"),
                RegistryProblem::JwksAndJwksUri,
            ),
        ] {
            let error = Registry::from_json(&document).unwrap_err();
            assert_eq!(
                (error.at(), error.problem()),
                (at.as_str(), &problem),
                "{document}"
            );
        }
        let error = Registry::from_json(&client(uri)).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"clients[0] "c".jwks_uri: remote key sets (jwks_uri) are not supported yet: give the keys inline as jwks"#
        );
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn unknown_compat_names_what_the_party_may_name() {
        let problem = |value: &str, accepted| {
            RegistryProblem::UnknownCompat {
                value: value.into(),
                accepted,
            }
            .to_string()
        };
        assert_eq!(
            problem("x", CLIENT_COMPAT),
            "unknown compatibility relaxation \"x\" (this kind of party may name: token_endpoint_audience)"
        );
        assert_eq!(
            problem("missing_jti", &["a", "b", "c"]),
            "unknown compatibility relaxation \"missing_jti\" (this kind of party may name: a, b, c); \
             a party accepts assertions without jti with require_jti: false"
        );
        assert_eq!(
            problem("y", &[]),
            "unknown compatibility relaxation \"y\" (this kind of party may name:)"
        );
    }
}
