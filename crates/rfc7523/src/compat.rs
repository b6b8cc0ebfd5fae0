//! Compatibility with deployed clients: rules a party may relax, one by one, off by default,
//! and reported in the result of every assertion a relaxation let through
//! ([`ValidatedAssertion::compat`](crate::ValidatedAssertion::compat)), so that an operator
//! sees which parties still rely on one and can turn it off when they stop.
//!
//! | relaxation ([`Relaxation`]) | the strict rule | who needs it |
//! |---|---|---|
//! | `token_endpoint_audience` | RFC 10070: a client assertion's `aud` is the server's issuer identifier as its sole value | clients written to OIDC Core §9 (`aud` = the token endpoint URL): authlib's `PrivateKeyJWT`, Okta's SDKs, MSAL, openid-client ≤ 5.7 |
//! | `missing_sub` | RFC 7523 §3 item 2: a grant MUST have `sub` | Google's service-account grants (google-auth, google-auth-library): `iss` = the service account, no `sub` |
//! | `missing_jti` | none in RFC 7523 (§3 item 7: `jti` MAY be sent); this crate requires it by default | the same Google grants, and other clients that send no `jti` |
//!
//! **`token_endpoint_audience`** ([`Compat::token_endpoint_audience`], clients only). RFC
//! 10070 closes an audience-injection attack on `private_key_jwt` (an assertion a client
//! signed for one audience value, accepted by a server for which that value also stands):
//! its server MUST reject any `aud` other than its issuer identifier as the sole value, and its
//! Operational Considerations expect deployed clients to break. With the relaxation, a
//! client assertion also passes when its `aud` is the token endpoint URL (a string, or an
//! array holding it) or an array holding the issuer identifier; the token endpoint URL must
//! be configured ([`ClientAuthProfile::token_endpoint`](crate::ClientAuthProfile)). The
//! relaxation is reported only when the strict rule would have refused. (Peers: Keycloak's
//! `lenient-audience-validation`, Connect2id's `LEGACY`, Duende's strict-audience switch.)
//!
//! **`missing_sub`** ([`Compat::missing_sub`], issuers only). Google's service-account
//! profile sends a grant for the account itself, with no `sub`: read as `sub` = `iss`
//! ([`ValidatedAssertion::subject`](crate::ValidatedAssertion::subject) returns `iss`), and
//! the issuer's `subjects` list, if any, must allow that value. A client assertion's `sub`
//! stays required (RFC 7523 §3 item 2.B: it is the client id).
//!
//! **`missing_jti`** ([`Checks::require_jti`](crate::Checks::require_jti) `false`). Without
//! `jti` there is nothing to remember, so nothing stops a replay of the assertion until it
//! expires: the party's maximum lifetime ([`Checks::max_lifetime`](crate::Checks)) is then the
//! only bound on replay, and should be short. An assertion that does send a `jti` is still
//! remembered and refused the second time.

/// The relaxations one party opts into (all off by default). `missing_jti` is the policy's
/// [`Checks::require_jti`](crate::Checks::require_jti).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compat {
    /// Client assertions whose `aud` is the token endpoint URL (a string, or an array holding
    /// it or the issuer identifier) pass (the RFC 10070 transition). Clients only.
    pub token_endpoint_audience: bool,
    /// Grants without `sub` pass, read as `sub` = `iss` (Google's service-account profile).
    /// Issuers only.
    pub missing_sub: bool,
}

/// One relaxation, as reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relaxation {
    /// A client assertion passed with the token endpoint URL in `aud`, or with an `aud`
    /// array: not the issuer identifier as its sole value.
    TokenEndpointAudience,
    /// A grant passed without `sub`, read as `sub` = `iss`.
    MissingSub,
    /// An assertion passed without `jti`: it was not remembered.
    MissingJti,
}

impl Relaxation {
    /// Every relaxation, in reporting order.
    pub const ALL: [Relaxation; 3] = [
        Relaxation::TokenEndpointAudience,
        Relaxation::MissingSub,
        Relaxation::MissingJti,
    ];

    /// Its name in results and in the registry (`compat`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Relaxation::TokenEndpointAudience => "token_endpoint_audience",
            Relaxation::MissingSub => "missing_sub",
            Relaxation::MissingJti => "missing_jti",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Relaxation::TokenEndpointAudience => 1,
            Relaxation::MissingSub => 2,
            Relaxation::MissingJti => 4,
        }
    }
}

/// The relaxations one assertion relied on (empty for a strictly valid assertion).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relaxations(u8);

impl Relaxations {
    /// None.
    pub const NONE: Relaxations = Relaxations(0);

    /// These and `relaxation`.
    #[must_use]
    pub const fn with(self, relaxation: Relaxation) -> Self {
        Relaxations(self.0 | relaxation.bit())
    }

    /// True when `relaxation` is one of these.
    pub const fn contains(self, relaxation: Relaxation) -> bool {
        self.0 & relaxation.bit() != 0
    }

    /// True when the assertion met every strict rule.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// These, in [`Relaxation::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Relaxation> {
        Relaxation::ALL
            .into_iter()
            .filter(move |relaxation| self.contains(*relaxation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxations_are_a_set_in_reporting_order() {
        assert!(Relaxations::NONE.is_empty());
        assert_eq!(Relaxations::NONE.iter().count(), 0);
        // Every subset of the three, added in any order, reads back in ALL's order.
        for mask in 0u8..8 {
            let mut set = Relaxations::NONE;
            for (i, relaxation) in Relaxation::ALL.iter().enumerate().rev() {
                if mask & (1 << i) != 0 {
                    set = set.with(*relaxation);
                }
            }
            let expected: Vec<_> = Relaxation::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, r)| *r)
                .collect();
            assert_eq!(set.iter().collect::<Vec<_>>(), expected, "mask {mask}");
            assert_eq!(set.is_empty(), mask == 0);
        }
        let names: Vec<_> = Relaxation::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            ["token_endpoint_audience", "missing_sub", "missing_jti"]
        );
    }
}
