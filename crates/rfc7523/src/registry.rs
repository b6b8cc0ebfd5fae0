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
//! Loading allocates (the parties and their keys live on the heap, each key sized to one
//! key); validating an assertion against a loaded registry does not.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::alg::{Algorithm, Algorithms};
use crate::claims::MAX_CLAIM_STRING_LEN;
use crate::compat::Compat;
use crate::json::{self, JsonStr, Object, Value};
use crate::keys::{KeyError, KeyRef, KeySet, MaterialRef, OwnedKeys, MAX_KEY_TEXT_LEN};
use crate::party::{KeyLookup, Party, Policy, Subjects};
use crate::profile::{
    Checks, ClientAuthProfile, GrantProfile, TypRule, DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME,
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
/// The fields of a trusted issuer; any other is refused.
pub const ISSUER_FIELDS: &[&str] = &[
    "issuer",
    "jwks",
    "jwks_uri",
    "token_endpoint_auth_signing_alg",
    "subjects",
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
    /// `jwks_uri`: remote key sets are not supported yet.
    JwksUriNotSupported,
    /// Both `jwks` and `jwks_uri` (RFC 7591 §2: "MUST NOT both be present").
    JwksAndJwksUri,
    /// Neither `jwks` nor `jwks_uri`.
    NoKeys,
    /// A `compat` value this kind of party cannot have.
    UnknownCompat {
        /// The value, from the document.
        value: String,
        /// What this kind of party may name ([`CLIENT_COMPAT`] or [`ISSUER_COMPAT`]).
        accepted: &'static [&'static str],
    },
    /// `compat: ["token_endpoint_audience"]` without a top-level `token_endpoint` to accept.
    CompatNeedsTokenEndpoint,
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
            RegistryProblem::JwksUriNotSupported => f.write_str(
                "remote key sets (jwks_uri) are not supported yet: give the keys inline as jwks",
            ),
            RegistryProblem::JwksAndJwksUri => {
                f.write_str("jwks and jwks_uri must not both be present (RFC 7591 section 2)")
            }
            RegistryProblem::NoKeys => f.write_str("the party has no keys: give jwks"),
            RegistryProblem::UnknownCompat { value, accepted } => {
                // Quoted by hand: `{:?}` would link the Unicode escape tables into every wasm module.
                write!(
                    f,
                    "unknown compatibility relaxation \"{value}\" (this kind of party may name: {})",
                    accepted.join(", ")
                )?;
                if value == "missing_jti" {
                    f.write_str("; a party accepts assertions without jti with require_jti: false")?;
                }
                Ok(())
            }
            RegistryProblem::CompatNeedsTokenEndpoint => f.write_str(
                "token_endpoint_audience needs the registry's token_endpoint (the URL to accept in aud)",
            ),
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

/// One registered party, owned.
#[derive(Clone, Debug)]
pub struct RegisteredParty {
    id: String,
    keys: OwnedKeys,
    checks: Checks,
    typ: TypRule,
    subjects: Option<Vec<String>>,
    algorithms: Algorithms,
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
            algorithms: Algorithms::ALL,
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

    /// Its keys.
    pub fn keys(&self) -> crate::Keys<'_> {
        self.keys.keys()
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
            },
        }
    }
}

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
        let slot = self.search(id).ok()?;
        let index = *self.by_id.get(slot)?;
        self.list.get(index as usize)
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
        let has_token_endpoint = token_endpoint.is_some();
        let clients = read_parties(&client_list, Kind::Client, has_token_endpoint, &mut owners)?;
        let issuers = read_parties(&issuer_list, Kind::Issuer, has_token_endpoint, &mut owners)?;
        Ok(Self {
            issuer,
            token_endpoint,
            clients,
            issuers,
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Client,
    Issuer,
}

impl Kind {
    const fn array(self) -> &'static str {
        match self {
            Kind::Client => "clients",
            Kind::Issuer => "issuers",
        }
    }

    const fn id_field(self) -> &'static str {
        match self {
            Kind::Client => "client_id",
            Kind::Issuer => "issuer",
        }
    }

    const fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Client => CLIENT_FIELDS,
            Kind::Issuer => ISSUER_FIELDS,
        }
    }
}

/// Which party each public key belongs to: a sorted list of (SHA-256 of modulus and
/// exponent, owner).
#[derive(Default)]
struct KeyOwners {
    owners: Vec<([u8; 32], String)>,
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

fn read_parties(
    texts: &[&[u8]],
    kind: Kind,
    has_token_endpoint: bool,
    owners: &mut KeyOwners,
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
        let party = read_party(&object, kind, id, &at, has_token_endpoint, owners)?;
        // At most MAX_REGISTRY_PARTIES, checked before: the index fits a u32.
        parties.by_id.insert(slot, parties.list.len() as u32);
        parties.list.push(party);
    }
    Ok(parties)
}

fn read_party(
    object: &Object<'_>,
    kind: Kind,
    id: String,
    at: &str,
    has_token_endpoint: bool,
    owners: &mut KeyOwners,
) -> Result<RegisteredParty, RegistryError> {
    if kind == Kind::Client {
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
    let keys = read_keys(object, at)?;
    for (index, key) in keys.keys().iter().enumerate() {
        owners.claim(&key, at)?;
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
    let compat = match object.get("compat") {
        None => Compat::default(),
        Some(value) => read_compat(value, kind, &format!("{at}.compat"), has_token_endpoint)?,
    };
    Ok(RegisteredParty {
        id,
        keys,
        checks,
        typ,
        subjects,
        algorithms,
        compat,
    })
}

fn read_keys(object: &Object<'_>, at: &str) -> Result<OwnedKeys, RegistryError> {
    let field = format!("{at}.jwks");
    match (object.get("jwks"), object.get("jwks_uri")) {
        (Some(_), Some(_)) => Err(RegistryError::new(field, RegistryProblem::JwksAndJwksUri)),
        (None, Some(_)) => Err(RegistryError::new(
            format!("{at}.jwks_uri"),
            RegistryProblem::JwksUriNotSupported,
        )),
        (None, None) => Err(RegistryError::new(field, RegistryProblem::NoKeys)),
        (Some(Value::Object(text)), None) => {
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
            Ok(OwnedKeys::from_set(&set))
        }
        (Some(_), None) => Err(RegistryError::new(
            field,
            RegistryProblem::WrongType("a JWK Set object ({\"keys\": [...]})"),
        )),
    }
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
    fn claim(&mut self, key: &KeyRef<'_>, owner: &str) -> Result<(), RegistryError> {
        use sha2::{Digest, Sha256};
        // The public key itself, tagged with its type: RSA n and e, P-256 x and y, Ed25519's
        // encoding.
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
        let digest: [u8; 32] = hash.finalize().into();
        match self.owners.binary_search_by(|(d, _)| d.cmp(&digest)) {
            // Listed twice by the same party (under two kids, say): its own key still.
            Ok(i) if self.owners.get(i).is_some_and(|(_, other)| other == owner) => Ok(()),
            Ok(i) => Err(RegistryError::new(
                format!("{owner}.jwks"),
                RegistryProblem::SharedKey {
                    other: self
                        .owners
                        .get(i)
                        .map(|(_, other)| other.clone())
                        .unwrap_or_default(),
                },
            )),
            Err(i) => {
                self.owners.insert(i, (digest, owner.to_string()));
                Ok(())
            }
        }
    }
}

/// A party's `compat` list: distinct names of [`CLIENT_COMPAT`] or [`ISSUER_COMPAT`].
fn read_compat(
    value: Value<'_>,
    kind: Kind,
    at: &str,
    has_token_endpoint: bool,
) -> Result<Compat, RegistryError> {
    let accepted = match kind {
        Kind::Client => CLIENT_COMPAT,
        Kind::Issuer => ISSUER_COMPAT,
    };
    let mut compat = Compat::default();
    for name in read_distinct_strings(value, at)? {
        match (kind, name.as_str()) {
            (Kind::Client, "token_endpoint_audience") if has_token_endpoint => {
                compat.token_endpoint_audience = true;
            }
            (Kind::Client, "token_endpoint_audience") => {
                return Err(RegistryError::new(
                    at,
                    RegistryProblem::CompatNeedsTokenEndpoint,
                ))
            }
            (Kind::Issuer, "missing_sub") => compat.missing_sub = true,
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
