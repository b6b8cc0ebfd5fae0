//! The two uses of RFC 7523, as two profiles that run the whole pipeline:
//! structure and header ([`jws`](crate::jws)), the party and its keys
//! ([`party`](crate::party)), signature ([`rs256`](crate::jws)), claims
//! ([`claims`](crate::claims)), the profile's and the party's rules (this module), then replay
//! ([`replay`](crate::replay)).
//!
//! - [`GrantProfile`]: the JWT is an authorization grant (RFC 7523 §2.1, §3). `iss` must be a
//!   trusted issuer, verified with that issuer's keys only; `sub` must be present (and one of
//!   the issuer's allowed subjects, when it has a list); `aud` must contain one of the
//!   configured values (the server's issuer identifier or its token endpoint URL: RFC 10070
//!   §2.1 lets a grant name either).
//! - [`ClientAuthProfile`]: the JWT authenticates a client (RFC 7523 §2.2, §3 item 2.B, as
//!   updated by RFC 10070). `iss` = `sub` = the client id, verified with that client's keys
//!   only; `aud` must be the server's issuer identifier as its **sole** value; `typ`, when
//!   present, must not name another kind of JWT (RFC 10070: `client-authentication+jwt` SHOULD
//!   be sent, and servers are NOT RECOMMENDED to refuse an untyped one; a party can require it).
//!
//! Both: `exp` is required and `now < exp + leeway`; `nbf` and `iat` are checked when present;
//! a maximum lifetime (by default [`DEFAULT_MAX_LIFETIME`]) and an optional maximum age; `jti`
//! is required by default and `iat` can be required. Every one of these rules is the party's
//! ([`Policy`]). One `now` (Unix seconds) comes from the caller: this crate never reads a
//! clock.
//!
//! Order of checks (an assertion breaking several rules gets the first): structure and
//! header, the party named by `iss` (and, for client authentication, the request's
//! `client_id`), the party's token size, whether its keys can be used now (fetched keys:
//! `keys_unavailable`, after the party's `alg` allow-list), key lookup by `kid`, signature
//! (RFC 7515 §5.2), claim
//! syntax, `typ`, missing claims (RFC 7523 §3 lists `iss`, `sub`, `aud`, `exp` as MUST), `iss`,
//! `sub`, `aud`, `exp`, `nbf`, `iat`, lifetime, age, the party's claim conditions
//! ([`conditions`](crate::conditions)), and last the replay check, so that a refused
//! assertion never takes a replay-store entry.

use crate::claims::{Audience, ClaimStr, ClaimString, Claims};
use crate::compat::{Compat, Relaxation, Relaxations};
use crate::error::{Claim, Error, Limit, TypProblem, Use};
use crate::jws::{
    strip_application_prefix, DecodeBuffer, Header, UnverifiedAssertion, VerifiedAssertion,
    MAX_TOKEN_LEN,
};
use crate::party::{KeyLookup, Party, Policy};
use crate::replay::{ReplayEntry, ReplayError, ReplayKey, ReplayStore};

/// Default allowed clock skew, in seconds (RFC 7523 §3 items 4–6: "a reasonably small
/// leeway, usually no more than a few minutes").
pub const DEFAULT_LEEWAY: u64 = 30;

/// Default longest accepted lifetime (`exp − iat`, or `exp − now` without `iat`), in seconds:
/// one hour. RFC 7523 §3 item 4 lets a server refuse an `exp` "unreasonably far in the
/// future"; an hour is what the longest-lived common clients send (google-auth and authlib
/// sign for exactly 3600 s; Okta and Google refuse more), and it bounds how long a `jti` is
/// remembered, so that no signer can fill a replay store with entries that live for decades.
pub const DEFAULT_MAX_LIFETIME: u64 = 3600;

/// The `typ` of a client-authentication assertion (RFC 10070).
pub const CLIENT_AUTHENTICATION_TYP: &str = "client-authentication+jwt";

/// Time, lifetime, `jti` and size rules: part of every party's [`Policy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checks {
    /// Allowed clock skew in seconds, applied to `exp`, `nbf`, `iat` and the maximum age.
    pub leeway: u64,
    /// Longest accepted lifetime in seconds: `exp − iat` (computed exactly), or `exp − now`
    /// without `iat` (RFC 7523 §3 item 4 allows refusing an `exp` "unreasonably far in the
    /// future"). Default [`DEFAULT_MAX_LIFETIME`]; `None` accepts any lifetime, and then a
    /// `jti` may be remembered until an `exp` decades away.
    pub max_lifetime: Option<u64>,
    /// Oldest accepted `iat`, in seconds before `now` (RFC 7523 §3 item 6). Makes `iat`
    /// required.
    pub max_age: Option<u64>,
    /// Refuse assertions without `jti` (default: refused; without it there is no replay
    /// protection, only the short lifetime).
    pub require_jti: bool,
    /// Refuse assertions without `iat`.
    pub require_iat: bool,
    /// Longest token accepted, in bytes; values above [`MAX_TOKEN_LEN`] act as it.
    pub max_token_len: usize,
}

impl Default for Checks {
    /// The safe defaults: 30 s of leeway, at most [`DEFAULT_MAX_LIFETIME`], `jti` required.
    fn default() -> Self {
        Self {
            leeway: DEFAULT_LEEWAY,
            max_lifetime: Some(DEFAULT_MAX_LIFETIME),
            max_age: None,
            require_jti: true,
            require_iat: false,
            max_token_len: MAX_TOKEN_LEN,
        }
    }
}

/// How a client-authentication assertion's `typ` header is judged (RFC 10070, RFC 8725
/// §3.11).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TypRule {
    /// `typ` absent, `JWT` or `client-authentication+jwt` passes; any other explicit type
    /// (`at+jwt`, `secevent+jwt`, …) is [`Error::InvalidType`]. The default: RFC 10070 makes
    /// refusing untyped client assertions NOT RECOMMENDED.
    #[default]
    NotAnotherType,
    /// `typ` must be `client-authentication+jwt`.
    RequireExplicit,
}

/// The authorization grant profile (RFC 7523 §2.1, §3).
#[derive(Debug)]
pub struct GrantProfile<'a, L: KeyLookup + ?Sized = [Party<'a>]> {
    /// The trusted issuers, each with its keys and policy.
    pub issuers: &'a L,
    /// Accepted audience values: the server's issuer identifier and/or its token endpoint
    /// URL (RFC 10070 §2.1). The assertion's `aud` must contain one of them (exact match).
    pub audiences: &'a [&'a str],
}

/// The client authentication profile (RFC 7523 §2.2, §3; RFC 10070).
#[derive(Debug)]
pub struct ClientAuthProfile<'a, L: KeyLookup + ?Sized = [Party<'a>]> {
    /// The registered clients (client id → keys and policy).
    pub clients: &'a L,
    /// The authorization server's issuer identifier: the only accepted `aud` value.
    pub issuer: &'a str,
    /// The token endpoint URL: an `aud` it names passes only for a client whose policy has
    /// the [`Compat::token_endpoint_audience`] relaxation (RFC 10070's transition; `None`:
    /// never).
    pub token_endpoint: Option<&'a str>,
}

// Manual impls: a derive would demand `L: Copy`, which an unsized lookup (a slice) is not.
impl<L: KeyLookup + ?Sized> Clone for GrantProfile<'_, L> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<L: KeyLookup + ?Sized> Copy for GrantProfile<'_, L> {}
impl<L: KeyLookup + ?Sized> Clone for ClientAuthProfile<'_, L> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<L: KeyLookup + ?Sized> Copy for ClientAuthProfile<'_, L> {}

/// An assertion that passed every check of its profile, replay included. It borrows the
/// [`DecodeBuffer`] the profile decoded it into (`'b`): its header, payload and claims are
/// spans over that buffer, not copies.
#[derive(Clone, Debug)]
pub struct ValidatedAssertion<'b> {
    use_: Use,
    assertion: VerifiedAssertion<'b>,
    claims: Claims<'b>,
    replay: Option<ReplayEntry>,
    relaxations: Relaxations,
}

impl<'b> ValidatedAssertion<'b> {
    /// How the assertion was used.
    pub const fn use_(&self) -> Use {
        self.use_
    }

    /// The header.
    pub fn header(&self) -> &Header<'b> {
        self.assertion.header()
    }

    /// The registered claims.
    pub fn claims(&self) -> &Claims<'b> {
        &self.claims
    }

    /// The verified assertion (header and payload JSON, the key's `kid`).
    pub fn assertion(&self) -> &VerifiedAssertion<'b> {
        &self.assertion
    }

    /// The replay entry stored for it, when it had a `jti`.
    pub fn replay_entry(&self) -> Option<ReplayEntry> {
        self.replay
    }

    /// The party: `iss`, the trusted issuer (grants) or the client id (client
    /// authentication); always present.
    pub fn issuer(&self) -> ClaimStr<'b> {
        self.claims.iss().unwrap_or_default()
    }

    /// The subject: `sub`; for a grant without one, which only the party's
    /// [`Compat::missing_sub`] lets through, `iss`.
    pub fn subject(&self) -> ClaimStr<'b> {
        self.claims
            .sub()
            .or_else(|| self.claims.iss())
            .unwrap_or_default()
    }

    /// The compatibility relaxations this assertion relied on: empty when it met every
    /// strict rule ([`compat`](crate::compat)).
    pub fn compat(&self) -> Relaxations {
        self.relaxations
    }
}

impl<L: KeyLookup + ?Sized> GrantProfile<'_, L> {
    /// Validates `token` as an authorization grant at time `now` (Unix seconds), recording
    /// its `jti` in `replay`. The token is decoded into `buffer`, which the result borrows.
    // Not inlined: `TokenEndpoint::handle` then holds its frame only while the grant is
    // judged, 0.7 KB less stack for a token request on a Cortex-M3 (`cargo xtask embedded`).
    #[inline(never)]
    pub fn validate<'b, R: ReplayStore + ?Sized>(
        &self,
        token: &str,
        now: u64,
        replay: &mut R,
        buffer: &'b mut DecodeBuffer,
    ) -> Result<ValidatedAssertion<'b>, Error> {
        let unverified = UnverifiedAssertion::parse(token, buffer)?;
        let mut text = ClaimString::new();
        let issuer = unverified.issuer_hint()?.decode(&mut text);
        // RFC 7523 §3 item 1: the issuer must be trusted; its keys, and only its, verify.
        let party = self.issuers.party(issuer).ok_or(Error::IssuerMismatch)?;
        let policy = party.policy;
        check_token_len(token, &policy)?;
        check_keys_usable(&unverified, &party, now)?;
        let assertion = unverified
            .verify_using(party.keys, policy.algorithms, &self.issuers)
            .map_err(|e| unknown_key_of(&party, e))?;
        let claims = assertion.claims()?;
        // RFC 8725 §3.11: an assertion typed for client authentication (or any other
        // explicit JWT type) is not a grant.
        if let Some(typ) = assertion.header().typ() {
            if !strip_application_prefix(typ.decode(&mut text)).eq_ignore_ascii_case("JWT") {
                return Err(Error::InvalidType(TypProblem::AnotherType));
            }
        }
        let (iss, sub) = require_claims(&claims, &policy.checks, policy.compat.missing_sub)?;
        if iss != party.id {
            return Err(Error::IssuerMismatch);
        }
        // Google's service-account profile: no `sub`, the grant is for `iss` itself.
        let (sub, relaxations) = match sub {
            Some(sub) => (sub, Relaxations::NONE),
            None => (iss, Relaxations::NONE.with(Relaxation::MissingSub)),
        };
        if !policy.subjects.allows(sub.decode(&mut text)) {
            return Err(Error::SubjectMismatch);
        }
        let aud = claims.aud().ok_or(Error::MissingClaim(Claim::Aud))?;
        // An empty configured value is a configuration mistake: it never matches.
        if !self
            .audiences
            .iter()
            .any(|expected| !expected.is_empty() && aud.contains(expected))
        {
            return Err(Error::AudienceMismatch);
        }
        finish(
            Use::AuthorizationGrant,
            party.id,
            assertion,
            claims,
            relaxations,
            &policy,
            now,
            replay,
        )
    }
}

impl<L: KeyLookup + ?Sized> ClientAuthProfile<'_, L> {
    /// Validates `token` as a client assertion at time `now` (Unix seconds), recording its
    /// `jti` in `replay`. `client_id` is the request's `client_id` parameter, when it had one
    /// (RFC 7521 §4.2: it must then identify the same client as the assertion's `iss`). The
    /// token is decoded into `buffer`, which the result borrows.
    pub fn validate<'b, R: ReplayStore + ?Sized>(
        &self,
        token: &str,
        client_id: Option<&str>,
        now: u64,
        replay: &mut R,
        buffer: &'b mut DecodeBuffer,
    ) -> Result<ValidatedAssertion<'b>, Error> {
        let unverified = UnverifiedAssertion::parse(token, buffer)?;
        let mut text = ClaimString::new();
        let issuer = unverified.issuer_hint()?.decode(&mut text);
        // RFC 7523 §3 item 1 and RFC 10070: `iss` is the client id. An `iss` that is not a
        // registered client, or that differs from the request's client_id, is an issuer
        // problem (the keys of no client are tried).
        if client_id.is_some_and(|id| id != issuer) {
            return Err(Error::IssuerMismatch);
        }
        let party = self.clients.party(issuer).ok_or(Error::IssuerMismatch)?;
        let policy = party.policy;
        check_token_len(token, &policy)?;
        check_keys_usable(&unverified, &party, now)?;
        let assertion = unverified
            .verify_using(party.keys, policy.algorithms, &self.clients)
            .map_err(|e| unknown_key_of(&party, e))?;
        let claims = assertion.claims()?;
        check_client_typ(
            assertion.header().typ().map(|typ| typ.decode(&mut text)),
            policy.typ,
        )?;
        let (iss, sub) = require_claims(&claims, &policy.checks, false)?;
        if iss != party.id {
            return Err(Error::IssuerMismatch);
        }
        // RFC 7523 §3 item 2.B: `sub` MUST be the client id.
        if sub.is_none_or(|sub| sub != party.id) {
            return Err(Error::SubjectMismatch);
        }
        let aud = claims.aud().ok_or(Error::MissingClaim(Claim::Aud))?;
        let relaxations = self.client_audience(aud, policy.compat)?;
        finish(
            Use::ClientAuthentication,
            party.id,
            assertion,
            claims,
            relaxations,
            &policy,
            now,
            replay,
        )
    }

    /// RFC 10070: the issuer identifier as the sole audience value. With the party's
    /// [`Compat::token_endpoint_audience`], also the token endpoint URL as a value, or the
    /// issuer identifier in an array (OIDC Core §9's clients), reported as relied on. An
    /// empty configured value never matches.
    fn client_audience(&self, aud: &Audience<'_>, compat: Compat) -> Result<Relaxations, Error> {
        let issuer = Some(self.issuer).filter(|issuer| !issuer.is_empty());
        if issuer.is_some_and(|issuer| aud.sole_value().is_some_and(|value| value == issuer)) {
            return Ok(Relaxations::NONE);
        }
        let token_endpoint = self.token_endpoint.filter(|url| !url.is_empty());
        let lenient = compat.token_endpoint_audience
            && [issuer, token_endpoint]
                .into_iter()
                .flatten()
                .any(|expected| aud.contains(expected));
        if lenient {
            Ok(Relaxations::NONE.with(Relaxation::TokenEndpointAudience))
        } else {
            Err(Error::AudienceMismatch)
        }
    }
}

/// The party's own bound on the token's length (at most [`MAX_TOKEN_LEN`], which parsing
/// applied), checked before any signature work.
fn check_token_len(token: &str, policy: &Policy<'_>) -> Result<(), Error> {
    if token.len() > policy.checks.max_token_len.min(MAX_TOKEN_LEN) {
        return Err(Error::TooLarge(Limit::TokenLength));
    }
    Ok(())
}

/// Fetched keys must be usable at `now`
/// ([`KeySource::usable_at`](crate::KeySource::usable_at)): otherwise the assertion is not
/// judged, `keys_unavailable`. Checked after the party's algorithm allow-list, which needs no
/// key: a header `alg` the party never accepts is refused as such even during an outage.
fn check_keys_usable(
    unverified: &UnverifiedAssertion<'_, '_>,
    party: &Party<'_>,
    now: u64,
) -> Result<(), Error> {
    if party.key_source.usable_at(now) {
        return Ok(());
    }
    if !party
        .policy
        .algorithms
        .contains(unverified.header().algorithm())
    {
        return Err(Error::UnsupportedAlgorithm);
    }
    Err(Error::KeysUnavailable { retry_after: None })
}

/// A `kid` (or thumbprint) naming none of a party's fetched keys: the signal that a refetch
/// may bring it ([`Error::UnknownRemoteKey`]).
fn unknown_key_of(party: &Party<'_>, error: Error) -> Error {
    match error {
        Error::UnknownKey if party.key_source.is_fetched() => Error::UnknownRemoteKey,
        other => other,
    }
}

fn check_client_typ(typ: Option<&str>, rule: TypRule) -> Result<(), Error> {
    let Some(typ) = typ.map(strip_application_prefix) else {
        return match rule {
            TypRule::NotAnotherType => Ok(()),
            TypRule::RequireExplicit => Err(Error::InvalidType(TypProblem::Missing)),
        };
    };
    let explicit = typ.eq_ignore_ascii_case(CLIENT_AUTHENTICATION_TYP);
    let passes = explicit || (rule == TypRule::NotAnotherType && typ.eq_ignore_ascii_case("JWT"));
    if passes {
        Ok(())
    } else if rule == TypRule::RequireExplicit && typ.eq_ignore_ascii_case("JWT") {
        // The generic type, where the explicit one is required.
        Err(Error::InvalidType(TypProblem::NotExplicit))
    } else {
        Err(Error::InvalidType(TypProblem::AnotherType))
    }
}

/// RFC 7523 §3: `iss`, `sub`, `aud` and `exp` MUST be present; `jti`/`iat` when the policy
/// asks. Returns `iss` and `sub` (absent only where `allow_missing_sub`: [`Compat::missing_sub`]).
fn require_claims<'b>(
    claims: &Claims<'b>,
    checks: &Checks,
    allow_missing_sub: bool,
) -> Result<(ClaimStr<'b>, Option<ClaimStr<'b>>), Error> {
    let iss = claims.iss().ok_or(Error::MissingClaim(Claim::Iss))?;
    let sub = claims.sub();
    if sub.is_none() && !allow_missing_sub {
        return Err(Error::MissingClaim(Claim::Sub));
    }
    if claims.aud().is_none() {
        return Err(Error::MissingClaim(Claim::Aud));
    }
    if claims.exp().is_none() {
        return Err(Error::MissingClaim(Claim::Exp));
    }
    if checks.require_jti && claims.jti().is_none() {
        return Err(Error::MissingClaim(Claim::Jti));
    }
    if (checks.require_iat || checks.max_age.is_some()) && claims.iat().is_none() {
        return Err(Error::MissingClaim(Claim::Iat));
    }
    Ok((iss, sub))
}

/// The time rules, the party's claim conditions, then the replay check. `issuer` is the
/// party's id, which the `iss` claim was checked to equal: the replay key's issuer, already
/// decoded. `relaxations`: those the profile's own rules relied on.
// The result is built here, once, from its parts: building it earlier and moving it through
// this call cost 0.5 KB of stack per validation on a Cortex-M3 (`cargo xtask embedded`).
#[allow(clippy::too_many_arguments)]
fn finish<'b, R: ReplayStore + ?Sized>(
    use_: Use,
    issuer: &str,
    assertion: VerifiedAssertion<'b>,
    claims: Claims<'b>,
    mut relaxations: Relaxations,
    policy: &Policy<'_>,
    now: u64,
    replay: &mut R,
) -> Result<ValidatedAssertion<'b>, Error> {
    let expires_at = check_times(&claims, &policy.checks, now)?;
    // After the signature and every standard claim; before replay, so that a refused
    // assertion takes no replay entry.
    #[cfg(feature = "claim-conditions")]
    policy.claims.check(assertion.payload())?;
    let entry = match claims.jti() {
        Some(jti) => {
            let mut text = ClaimString::new();
            let entry = ReplayEntry {
                key: ReplayKey::new(issuer, jti.decode(&mut text)),
                expires_at,
            };
            replay.check_and_insert(entry, now).map_err(|e| match e {
                ReplayError::Replayed => Error::Replayed,
                ReplayError::Full => Error::ReplayStoreFull,
            })?;
            Some(entry)
        }
        None => {
            // Only a policy without `require_jti` gets here: nothing is remembered.
            relaxations = relaxations.with(Relaxation::MissingJti);
            None
        }
    };
    Ok(ValidatedAssertion {
        use_,
        assertion,
        claims,
        replay: entry,
        relaxations,
    })
}

/// RFC 7523 §3 items 4–6 and the policy's lifetime and age. Returns the first second at which
/// the assertion can no longer be accepted (how long its `jti` must be remembered, and no
/// longer): `exp + leeway`, or earlier when the maximum age ends its acceptance first.
fn check_times(claims: &Claims, checks: &Checks, now: u64) -> Result<u64, Error> {
    let leeway = checks.leeway;
    let exp_date = claims.exp().ok_or(Error::MissingClaim(Claim::Exp))?;
    let exp = exp_date.ceil();
    let mut valid_until = exp.saturating_add(leeway);
    if now >= valid_until {
        return Err(Error::Expired { exp, now, leeway });
    }
    let latest_acceptable = now.saturating_add(leeway);
    if let Some(nbf) = claims.nbf() {
        if nbf.ceil() > latest_acceptable {
            return Err(Error::NotYetValid {
                nbf: nbf.ceil(),
                now,
                leeway,
            });
        }
    }
    if let Some(iat) = claims.iat() {
        if iat.ceil() > latest_acceptable {
            return Err(Error::IssuedInFuture {
                iat: iat.ceil(),
                now,
                leeway,
            });
        }
    }
    if let Some(max) = checks.max_lifetime {
        // Exact: `exp − iat` rounded up once (for an integral max, the same comparison as
        // with the exact difference).
        let lifetime = match claims.iat() {
            Some(iat) => exp_date.ceil_seconds_since(iat),
            None => exp.saturating_sub(now),
        };
        if lifetime > max {
            return Err(Error::LifetimeTooLong { lifetime, max });
        }
    }
    if let (Some(max), Some(iat)) = (checks.max_age, claims.iat()) {
        // Exact as well: `now − iat` rounded up is `now − floor(iat)`.
        let age = now.saturating_sub(iat.floor());
        let max_with_leeway = max.saturating_add(leeway);
        if age > max_with_leeway {
            return Err(Error::TooOld { age, max });
        }
        // Acceptable while `now − floor(iat) <= max + leeway`.
        let too_old_from = iat
            .floor()
            .saturating_add(max_with_leeway)
            .saturating_add(1);
        valid_until = valid_until.min(too_old_from);
    }
    Ok(valid_until)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::NumericDate;

    #[test]
    fn client_typ_rules() {
        use TypRule::*;
        for (typ, rule, ok) in [
            (None, NotAnotherType, true),
            (Some("JWT"), NotAnotherType, true),
            (Some("jwt"), NotAnotherType, true),
            (Some("application/jwt"), NotAnotherType, true),
            (Some("client-authentication+jwt"), NotAnotherType, true),
            (
                Some("application/Client-Authentication+JWT"),
                NotAnotherType,
                true,
            ),
            (Some("at+jwt"), NotAnotherType, false),
            (Some("secevent+jwt"), NotAnotherType, false),
            (Some(""), NotAnotherType, false),
            (None, RequireExplicit, false),
            (Some("JWT"), RequireExplicit, false),
            (Some("client-authentication+jwt"), RequireExplicit, true),
        ] {
            assert_eq!(check_client_typ(typ, rule).is_ok(), ok, "{typ:?} {rule:?}");
        }
    }

    fn claims(json: &str) -> Claims<'_> {
        Claims::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn time_boundaries() {
        let checks = Checks {
            leeway: 10,
            ..Checks::default()
        };
        let c = claims(r#"{"exp":100}"#);
        assert_eq!(check_times(&c, &checks, 109), Ok(110));
        assert_eq!(
            check_times(&c, &checks, 110),
            Err(Error::Expired {
                exp: 100,
                now: 110,
                leeway: 10
            })
        );
        let no_leeway = Checks {
            leeway: 0,
            ..Checks::default()
        };
        // exp == now is expired (RFC 7519 §4.1.4: "on or after").
        assert!(check_times(&c, &no_leeway, 100).is_err());
        assert!(check_times(&c, &no_leeway, 99).is_ok());
        // Fractional exp: 100.5 is still valid at 100, not at 101.
        let frac = claims(r#"{"exp":100.5}"#);
        assert!(check_times(&frac, &no_leeway, 100).is_ok());
        assert!(check_times(&frac, &no_leeway, 101).is_err());
        // nbf == now passes; nbf = now + leeway passes; one more fails.
        let nbf = claims(r#"{"exp":1000,"nbf":60}"#);
        assert!(check_times(&nbf, &no_leeway, 60).is_ok());
        assert!(check_times(&nbf, &checks, 50).is_ok());
        assert_eq!(
            check_times(&nbf, &checks, 49),
            Err(Error::NotYetValid {
                nbf: 60,
                now: 49,
                leeway: 10
            })
        );
        let iat = claims(r#"{"exp":1000,"iat":60.1}"#);
        assert!(check_times(&iat, &checks, 51).is_ok());
        assert_eq!(
            check_times(&iat, &checks, 50),
            Err(Error::IssuedInFuture {
                iat: 61,
                now: 50,
                leeway: 10
            })
        );
        // Overflow-safe at the extremes.
        let far = claims(r#"{"exp":9007199254740991}"#);
        let huge = Checks {
            leeway: u64::MAX,
            ..Checks::default()
        };
        assert!(check_times(&far, &huge, u64::MAX - 1).is_ok());
    }

    #[test]
    fn lifetime_is_exact() {
        let checks = Checks {
            leeway: 0,
            max_lifetime: Some(300),
            ..Checks::default()
        };
        let now = 1_700_000_001;
        // (iat, exp, accepted under 300 s): exp − iat computed once, not from exp rounded up
        // and iat rounded down.
        for (iat, exp, ok) in [
            ("1700000000.9", "1700000300.1", true),     // 299.2 s
            ("1700000000.5", "1700000300.5", true),     // 300 s exactly
            ("1700000000", "1700000300", true),         // 300 s
            ("1700000000", "1700000300.000001", false), // a microsecond over
            ("1700000000.25", "1700000300.26", false),  // 300.01 s
            ("1700000000.26", "1700000300.25", true),   // 299.99 s
            ("17000000005e-1", "17000000030e-1", true), // exponents: 300 s
            ("1.7000000009e9", "1.70000003e9", true),   // 29.1 s
        ] {
            let json = format!(r#"{{"exp":{exp},"iat":{iat}}}"#);
            let c = claims(&json);
            let result = check_times(&c, &checks, now);
            assert_eq!(result.is_ok(), ok, "iat {iat} exp {exp}: {result:?}");
        }
        let c = claims(r#"{"exp":1700000300.25,"iat":1700000000.125}"#);
        assert_eq!(
            check_times(&c, &checks, now),
            Err(Error::LifetimeTooLong {
                lifetime: 301,
                max: 300
            })
        );
        // Tiny pure fractions beyond 38 places compare in the strict direction.
        let tiny = claims(r#"{"exp":300,"iat":1e-50}"#);
        assert!(check_times(&tiny, &checks, 1).is_ok());
        let a = NumericDate::parse("3e-45").unwrap();
        let b = NumericDate::parse("2e-45").unwrap();
        assert_eq!(a.ceil_seconds_since(b), 1);
        assert_eq!(b.ceil_seconds_since(a), 1);
        assert_eq!(
            NumericDate::from_seconds(5).ceil_seconds_since(NumericDate::from_seconds(9)),
            0
        );
    }

    #[test]
    fn lifetime_and_age() {
        let checks = Checks {
            leeway: 5,
            max_lifetime: Some(300),
            max_age: Some(60),
            ..Checks::default()
        };
        let c = claims(r#"{"exp":400,"iat":100}"#);
        assert!(check_times(&c, &checks, 150).is_ok());
        let long = claims(r#"{"exp":401,"iat":100}"#);
        assert_eq!(
            check_times(&long, &checks, 150),
            Err(Error::LifetimeTooLong {
                lifetime: 301,
                max: 300
            })
        );
        // Without iat the lifetime is counted from now.
        let no_iat = claims(r#"{"exp":500}"#);
        let lifetime_only = Checks {
            max_age: None,
            ..checks
        };
        assert!(check_times(&no_iat, &lifetime_only, 200).is_ok());
        assert_eq!(
            check_times(&no_iat, &lifetime_only, 199),
            Err(Error::LifetimeTooLong {
                lifetime: 301,
                max: 300
            })
        );
        // Age: 60 s plus 5 s leeway.
        assert!(check_times(&c, &checks, 165).is_ok());
        assert_eq!(
            check_times(&c, &checks, 166),
            Err(Error::TooOld { age: 66, max: 60 })
        );
    }
}
