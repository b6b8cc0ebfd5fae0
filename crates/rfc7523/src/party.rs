//! The parties of an authorization server: every client (RFC 7591 client metadata) and every
//! trusted issuer of authorization grants has its own keys and its own policy.
//!
//! RFC 8725 §3.8 (and draft-ietf-oauth-rfc8725bis): "the cryptographic keys used … belong to
//! the issuer". A key trusted for one party never verifies an assertion that claims to be
//! another: the profiles find the party named by the assertion (`iss`, RFC 7523 §3 item 1)
//! through a [`KeyLookup`], verify with **that party's** keys only, and apply **that party's**
//! [`Policy`]. There is no key set shared between parties anywhere in this crate.
//!
//! A lookup can be a slice of [`Party`] values (fixed, no heap: embedded gateways), the
//! [`Registry`](crate::registry::Registry) loaded from a JSON document (feature `alloc`: the
//! CLI, the npm package, the Worker), or any type of the caller's.

use crate::alg::Algorithms;
use crate::compat::Compat;
#[cfg(feature = "claim-conditions")]
use crate::conditions::ClaimConditions;
use crate::keys::{KeyStore, Keys, RsaKey, SignatureCheck};
use crate::profile::{Checks, TypRule};

/// One party: a client (its `client_id`) or a trusted issuer of grants (its `iss`), with the
/// keys that may sign its assertions and its policy.
#[derive(Clone, Copy, Debug)]
pub struct Party<'a> {
    /// The exact client id (client authentication) or `iss` value (grants).
    pub id: &'a str,
    /// Its keys, and no other party's.
    pub keys: Keys<'a>,
    /// Its rules.
    pub policy: Policy<'a>,
    /// Where its keys come from: configuration (the default), or a fetched key set that may
    /// be used until some time.
    pub key_source: KeySource,
}

impl<'a> Party<'a> {
    /// A party with the default [`Policy`] and configured keys.
    pub fn new<const N: usize>(id: &'a str, keys: &'a KeyStore<N>) -> Self {
        Self {
            id,
            keys: keys.keys(),
            policy: Policy::default(),
            key_source: KeySource::Configured,
        }
    }

    /// The same party with `policy`.
    pub const fn with_policy(mut self, policy: Policy<'a>) -> Self {
        self.policy = policy;
        self
    }

    /// The same party with keys from `key_source`.
    pub const fn with_key_source(mut self, key_source: KeySource) -> Self {
        self.key_source = key_source;
        self
    }
}

/// Where a party's keys come from, and so whether they can be used at a given time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeySource {
    /// Given in configuration (inline JWKs, key files, a firmware's [`KeyStore`]): always
    /// usable.
    #[default]
    Configured,
    /// Fetched by a layer from the party's `jwks_uri` or its issuer's discovery document
    /// ([`remote_keys`](crate::remote_keys)), held by the
    /// [`Registry`](crate::registry::Registry). Usable while `now` is before `usable_until`
    /// (their fetch time plus their freshness lifetime plus
    /// [`STALE_GRACE`](crate::remote_keys::STALE_GRACE):
    /// [`Entry::expires_at`](crate::remote_keys::Entry::expires_at)); `None` while none were
    /// fetched. Otherwise the party's assertions are refused `keys_unavailable`
    /// ([`Error::KeysUnavailable`](crate::Error::KeysUnavailable)), and a `kid` naming none of
    /// its keys is [`Error::UnknownRemoteKey`](crate::Error::UnknownRemoteKey).
    Fetched {
        /// The first second (Unix) at which the keys may no longer be used.
        usable_until: Option<u64>,
    },
}

impl KeySource {
    /// True when the keys may be used at `now`: always for configured keys; for fetched
    /// ones, when some were fetched and `now` is before their `usable_until`.
    pub const fn usable_at(&self, now: u64) -> bool {
        match self {
            KeySource::Configured => true,
            KeySource::Fetched {
                usable_until: Some(until),
            } => now < *until,
            KeySource::Fetched { usable_until: None } => false,
        }
    }

    /// True for keys fetched by a layer.
    pub const fn is_fetched(&self) -> bool {
        matches!(self, KeySource::Fetched { .. })
    }
}

/// The rules one party's assertions must meet, beside those of RFC 7523 §3 that always apply.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policy<'a> {
    /// Time, lifetime, `jti` and size rules.
    pub checks: Checks,
    /// How `typ` is judged (client authentication; a grant's `typ` is always checked to be
    /// absent or `JWT`).
    pub typ: TypRule,
    /// The subjects a trusted issuer may assert (grants; a client's `sub` is its id).
    pub subjects: Subjects<'a>,
    /// The JWS algorithms accepted (RFC 8725 §3.1: an allow-list; default: all that this crate
    /// verifies). A header `alg` outside it is `unsupported_algorithm` before any key is
    /// tried. When it holds one algorithm of a key type, keys of that type without a JWK
    /// `alg` serve that one ([`keys`](crate::keys)).
    pub algorithms: Algorithms,
    /// Compatibility relaxations for deployed clients, each reported in the result of every
    /// assertion it let through ([`compat`](crate::compat)). Default: none.
    pub compat: Compat,
    /// Top-level claims its assertions must carry as strings with exactly these values
    /// (workload identity: GitHub's `repository`, `ref`, …), checked after the signature and
    /// the standard claims ([`conditions`](crate::conditions)). Default: none. A registry
    /// gives them to trusted issuers only (`claims`); the profiles check them for any party.
    #[cfg(feature = "claim-conditions")]
    pub claims: ClaimConditions<'a>,
}

/// Which `sub` values a trusted issuer's grants may carry.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default)]
pub enum Subjects<'a> {
    /// Any subject.
    #[default]
    Any,
    /// Exactly one of these (an empty list allows none).
    OneOf(&'a [&'a str]),
    /// Exactly one of these (an empty list allows none): owned strings, as a
    /// [`Registry`](crate::registry::Registry) keeps them.
    #[cfg(feature = "alloc")]
    OneOfOwned(&'a [alloc::string::String]),
}

impl Subjects<'_> {
    /// True when `sub` is allowed (exact, case-sensitive comparison: RFC 7519 §4.1.2).
    pub fn allows(&self, sub: &str) -> bool {
        match self {
            Subjects::Any => true,
            Subjects::OneOf(list) => list.contains(&sub),
            #[cfg(feature = "alloc")]
            Subjects::OneOfOwned(list) => list.iter().any(|s| s == sub),
        }
    }
}

/// Finds a party by the id an assertion claims (its `iss`; for client authentication also the
/// request's `client_id`), and, if it wants to, does the cryptography with its keys: RSA's
/// public-key operation ([`rsavp1`](Self::rsavp1)), or a whole signature check
/// ([`verify_signature`](Self::verify_signature)).
pub trait KeyLookup {
    /// The party whose id is exactly `id`, or `None` when there is none.
    fn party(&self, id: &str) -> Option<Party<'_>>;

    /// RSAVP1 (RFC 8017 §5.2.2) under `key`, an RSA key of a party of [`party`](Self::party),
    /// for RS256 and PS256: writes `signature^e mod n` into `out` (exactly
    /// [`RsaKey::modulus_len`] bytes), or returns `None` to refuse. The default is this crate's
    /// fixed-width arithmetic ([`RsaKey::rsavp1`]); override it to hand the exponentiation to another
    /// implementation (the npm package uses Node's `node:crypto` where it has it).
    ///
    /// It is called only with a signature of exactly the modulus length whose integer is below
    /// n (RFC 8017 §8.2.2 steps 1–2, checked first), and it never sees the message or its
    /// digest: the core checks what it writes against the one valid encoding (§9.2; for PSS
    /// §9.1.2), so a wrong result refuses the assertion.
    fn rsavp1(&self, key: &RsaKey<'_>, signature: &[u8], out: &mut [u8]) -> Option<()> {
        key.rsavp1(signature, out)
    }

    /// The verdict on one signature when this lookup decides it: `Some(true)` verified,
    /// `Some(false)` refused (`invalid_signature`, or the next key the header selects); `None`
    /// (the default) lets this crate verify it, with [`rsavp1`](Self::rsavp1) for RSA.
    ///
    /// It is called only with a key of a party of [`party`](Self::party), the one algorithm
    /// that key serves, and a signature of the form that algorithm requires (length; RSA:
    /// below n; ES256: r and s in 1..n − 1; Ed25519: S below L and R not of small order:
    /// `alg/form.rs`), checked first; everything around it (which keys
    /// are tried, in which order, the claims, replay) stays this crate's. Unlike
    /// [`rsavp1`](Self::rsavp1), whose result this crate still compares with the one valid
    /// encoding, the answer here is trusted: an implementation that answers `Some(true)`
    /// wrongly accepts a forgery. The npm package answers with `node:crypto` only after a
    /// known-answer check of it, and from its asynchronous methods' awaited verifications.
    fn verify_signature(&self, check: &SignatureCheck<'_>) -> Option<bool> {
        let _ = check;
        None
    }
}

impl KeyLookup for [Party<'_>] {
    fn party(&self, id: &str) -> Option<Party<'_>> {
        self.iter().find(|p| p.id == id).copied()
    }
}

impl<const N: usize> KeyLookup for [Party<'_>; N] {
    fn party(&self, id: &str) -> Option<Party<'_>> {
        self.as_slice().party(id)
    }
}

impl<L: KeyLookup + ?Sized> KeyLookup for &L {
    fn party(&self, id: &str) -> Option<Party<'_>> {
        (**self).party(id)
    }

    fn rsavp1(&self, key: &RsaKey<'_>, signature: &[u8], out: &mut [u8]) -> Option<()> {
        (**self).rsavp1(key, signature, out)
    }

    fn verify_signature(&self, check: &SignatureCheck<'_>) -> Option<bool> {
        (**self).verify_signature(check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        assert!(Subjects::Any.allows("anyone"));
        let list = ["alice", "bob"];
        let one_of = Subjects::OneOf(&list);
        assert!(one_of.allows("alice") && one_of.allows("bob"));
        assert!(!one_of.allows("Alice") && !one_of.allows("") && !one_of.allows("alice "));
        assert!(!Subjects::OneOf(&[]).allows("alice"));
    }

    /// Fetched keys are usable strictly before `usable_until` (the boundary second is not),
    /// never before any were fetched; configured keys always.
    #[test]
    fn key_sources_at_the_boundary() {
        let until = 1_000;
        for (source, now, usable) in [
            (KeySource::Configured, 0, true),
            (KeySource::Configured, u64::MAX, true),
            (KeySource::Fetched { usable_until: None }, 0, false),
            (KeySource::Fetched { usable_until: None }, u64::MAX, false),
            (
                KeySource::Fetched {
                    usable_until: Some(until),
                },
                0,
                true,
            ),
            (
                KeySource::Fetched {
                    usable_until: Some(until),
                },
                until - 1,
                true,
            ),
            (
                KeySource::Fetched {
                    usable_until: Some(until),
                },
                until,
                false,
            ),
            (
                KeySource::Fetched {
                    usable_until: Some(until),
                },
                u64::MAX,
                false,
            ),
        ] {
            assert_eq!(source.usable_at(now), usable, "{source:?} at {now}");
        }
        assert!(!KeySource::Configured.is_fetched());
        assert!(KeySource::Fetched { usable_until: None }.is_fetched());
    }
}
