//! Every party has its own keys (RFC 8725 §3.8): for every ordered pair of parties A ≠ B
//! among two clients and two trusted issuers, an assertion signed with A's key that claims to
//! be B is refused, through the profiles and through the token endpoint, with the reason and
//! the status of B's use; each party's own assertion is accepted. Run over a [`Registry`]
//! loaded from a document and over a plain slice of [`Party`] values (the no-heap form), so
//! both lookups are held to the same table.
//!
//! Also here: replay exhaustion (a signer sending far-future assertions cannot keep replay
//! entries past the maximum lifetime, and the store recovers as entries expire), and the
//! client authentication methods a token request may carry.

use std::sync::OnceLock;

use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::token_request::{
    RequestProblem, JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE,
};
use rfc7523::{
    ClientAuthProfile, ClientAuthentication, Error, GrantProfile, KeyLookup, KeySet,
    MemoryReplayStore, OtherClientAuthentication, Party, Policy, Reason, Registry, TokenEndpoint,
    TokenError,
};
use rfc7523::{DecodeBuffer, TokenBuffers};
use rfc7523_conformance::{distinct_2048_key_pairs, public_jwk};
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const AS_ISSUER: &str = "https://as.example";
const TOKEN_ENDPOINT: &str = "https://as.example/token";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Client,
    Issuer,
}

struct Member {
    id: &'static str,
    kind: Kind,
    kid: String,
    signer: AssertionSigner,
    keys: KeySet,
    jwk: String,
}

struct World {
    members: Vec<Member>,
    registry: Registry,
}

const PARTIES: [(&str, Kind); 4] = [
    ("client-a", Kind::Client),
    ("client-b", Kind::Client),
    ("https://idp-a.example", Kind::Issuer),
    ("https://idp-b.example", Kind::Issuer),
];

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let pairs = distinct_2048_key_pairs(PARTIES.len());
        let members: Vec<Member> = PARTIES
            .iter()
            .zip(pairs)
            .map(|(&(id, kind), (private_pem, public_pem))| {
                let kid = format!("{id}#key-1");
                let jwk = public_jwk(&public_pem, &kid);
                Member {
                    id,
                    kind,
                    signer: AssertionSigner::from_pem(&private_pem)
                        .unwrap_or_else(|e| panic!("{id}: {e}")),
                    keys: KeySet::from_jwks(&format!(r#"{{"keys":[{jwk}]}}"#))
                        .unwrap_or_else(|e| panic!("{id}: {e}")),
                    kid,
                    jwk,
                }
            })
            .collect();
        let party = |m: &Member| {
            let jwks: serde_json::Value =
                serde_json::from_str(&format!(r#"{{"keys":[{}]}}"#, m.jwk))
                    .unwrap_or_else(|e| panic!("{e}"));
            match m.kind {
                Kind::Client => json!({
                    "client_id": m.id,
                    "token_endpoint_auth_method": "private_key_jwt",
                    "jwks": jwks,
                }),
                Kind::Issuer => json!({ "issuer": m.id, "jwks": jwks }),
            }
        };
        let document = json!({
            "issuer": AS_ISSUER,
            "token_endpoint": TOKEN_ENDPOINT,
            "clients": members.iter().filter(|m| m.kind == Kind::Client).map(party).collect::<Vec<_>>(),
            "issuers": members.iter().filter(|m| m.kind == Kind::Issuer).map(party).collect::<Vec<_>>(),
        });
        let registry = Registry::from_json(&document.to_string())
            .unwrap_or_else(|e| panic!("registry: {e}"));
        World { members, registry }
    })
}

/// An assertion signed by `signer` that claims to be `claimed`, for `kind`'s use.
fn claiming(signer: &Member, claimed: &str, kind: Kind, kid: Option<&str>, jti: &str) -> String {
    let request = AssertionRequest {
        issuer: claimed,
        subject: if kind == Kind::Client {
            claimed
        } else {
            "alice"
        },
        audience: AS_ISSUER,
        kid,
        jti: Some(jti),
        lifetime: Some(60),
        client_authentication: kind == Kind::Client,
    };
    signer
        .signer
        .sign(&request, NOW)
        .unwrap_or_else(|e| panic!("sign: {e}"))
        .as_str()
        .to_owned()
}

fn body(kind: Kind, token: &str) -> String {
    match kind {
        Kind::Client => format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={token}",
            form(JWT_BEARER_CLIENT_ASSERTION_TYPE)
        ),
        Kind::Issuer => format!(
            "grant_type={}&assertion={token}",
            form(JWT_BEARER_GRANT_TYPE)
        ),
    }
}

fn form(s: &str) -> String {
    s.replace(':', "%3A")
}

/// What the assertion gives through a profile and through the endpoint: the reason (or
/// `None` when accepted) and the HTTP status.
fn judge<G: KeyLookup + ?Sized, C: KeyLookup + ?Sized>(
    endpoint: &TokenEndpoint<'_, G, C>,
    route: Kind,
    token: &str,
) -> (Result<(), Error>, Result<(), (TokenError, u16)>) {
    let mut store = MemoryReplayStore::<8>::new();
    let profile = match route {
        Kind::Client => endpoint.client_auth.as_ref().map(|p| {
            p.validate(token, None, NOW, &mut store, &mut DecodeBuffer::new())
                .map(|_| ())
        }),
        Kind::Issuer => endpoint.grant.as_ref().map(|p| {
            p.validate(token, NOW, &mut store, &mut DecodeBuffer::new())
                .map(|_| ())
        }),
    }
    .unwrap_or_else(|| panic!("no profile for {route:?}"));
    let mut store = MemoryReplayStore::<8>::new();
    let request = endpoint
        .handle(
            &mut body(route, token).as_bytes().to_vec(),
            NOW,
            &mut store,
            &mut TokenBuffers::new(),
        )
        .map(|_| ())
        .map_err(|e| (e, e.status()));
    (profile, request)
}

/// The table: (signer, claimed party, route, header kid) → expected.
fn run_table<G: KeyLookup + ?Sized, C: KeyLookup + ?Sized>(
    what: &str,
    endpoint: &TokenEndpoint<'_, G, C>,
) -> usize {
    let w = world();
    let mut failures = Vec::new();
    let mut rows = 0;
    for (i, a) in w.members.iter().enumerate() {
        for b in &w.members {
            for route in [Kind::Client, Kind::Issuer] {
                for with_kid in [false, true] {
                    rows += 1;
                    let kid = with_kid.then_some(a.kid.as_str());
                    let jti = format!("{i}-{}-{route:?}-{with_kid}", b.id);
                    let token = claiming(a, b.id, route, kid, &jti);
                    // B must be a party of the route's kind; then only B's keys are tried.
                    let expected = if b.kind != route {
                        Err(Error::IssuerMismatch)
                    } else if a.id == b.id {
                        Ok(())
                    } else if with_kid {
                        Err(Error::UnknownKey)
                    } else {
                        Err(Error::InvalidSignature)
                    };
                    let status = match route {
                        Kind::Client => 401,
                        Kind::Issuer => 400,
                    };
                    let expected_request = expected.map_err(|e| {
                        let wrapped = match route {
                            Kind::Client => TokenError::Client(e),
                            Kind::Issuer => TokenError::Grant(e),
                        };
                        (wrapped, status)
                    });
                    let got = judge(endpoint, route, &token);
                    if got != (expected, expected_request) {
                        failures.push(format!(
                            "{} signs as {} ({route:?}, kid {with_kid}): expected {expected:?} / \
                             {expected_request:?}, got {got:?}",
                            a.id, b.id
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{what}: {} of {rows} rows failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    rows
}

#[test]
fn a_key_of_one_party_never_verifies_another_registry() {
    let w = world();
    let rows = w
        .registry
        .with_token_endpoint(OtherClientAuthentication::Refuse, |endpoint| {
            run_table("registry", endpoint)
        });
    // 4 signers × 4 claimed parties × 2 routes × with and without kid.
    assert_eq!(rows, 64);
}

#[test]
fn a_key_of_one_party_never_verifies_another_slices() {
    let w = world();
    let parties = |kind: Kind| -> Vec<Party<'_>> {
        w.members
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| Party::new(m.id, &m.keys))
            .collect()
    };
    let clients = parties(Kind::Client);
    let issuers = parties(Kind::Issuer);
    let endpoint: TokenEndpoint<'_> = TokenEndpoint {
        grant: Some(GrantProfile {
            issuers: &issuers[..],
            audiences: &[AS_ISSUER, TOKEN_ENDPOINT],
        }),
        client_auth: Some(ClientAuthProfile {
            clients: &clients[..],
            issuer: AS_ISSUER,
            token_endpoint: None,
        }),
        other_client_auth: OtherClientAuthentication::Refuse,
    };
    assert_eq!(run_table("slices", &endpoint), 64);
}

#[test]
fn the_request_client_id_must_name_the_asserting_client() {
    let w = world();
    let a = &w.members[0];
    let b = &w.members[1];
    let token = claiming(a, a.id, Kind::Client, Some(&a.kid), "cid");
    w.registry.with_profiles(|_, client| {
        let client = client.unwrap_or_else(|| panic!("clients"));
        for (client_id, expected) in [
            (Some(a.id), Ok(())),
            (None, Ok(())),
            (Some(b.id), Err(Error::IssuerMismatch)),
            (Some("nobody"), Err(Error::IssuerMismatch)),
        ] {
            let mut store = MemoryReplayStore::<4>::new();
            let got = client
                .validate(&token, client_id, NOW, &mut store, &mut DecodeBuffer::new())
                .map(|_| ());
            assert_eq!(got, expected, "client_id {client_id:?}");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Replay exhaustion
// ---------------------------------------------------------------------------------------------

#[test]
fn far_future_assertions_cannot_fill_the_replay_store() {
    let w = world();
    let issuer = &w.members[2];
    let parties = [Party::new(issuer.id, &issuer.keys)];
    let grant = GrantProfile {
        issuers: &parties[..],
        audiences: &[AS_ISSUER],
    };
    let max = rfc7523::profile::DEFAULT_MAX_LIFETIME;
    let leeway = rfc7523::profile::DEFAULT_LEEWAY;
    let mut store = MemoryReplayStore::<4>::new();
    let sign = |jti: &str, lifetime: u64, now: u64| {
        issuer
            .signer
            .sign(
                &AssertionRequest {
                    issuer: issuer.id,
                    subject: "alice",
                    audience: AS_ISSUER,
                    jti: Some(jti),
                    lifetime: Some(lifetime),
                    ..AssertionRequest::default()
                },
                now,
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .as_str()
            .to_owned()
    };
    // Decades ahead, a year, a day, one second over the maximum: refused, nothing stored.
    for lifetime in [30 * 365 * 86_400, 365 * 86_400, 86_400, max + 1] {
        let token = sign(&format!("far-{lifetime}"), lifetime, NOW);
        assert_eq!(
            grant
                .validate(&token, NOW, &mut store, &mut DecodeBuffer::new())
                .map(|_| ()),
            Err(Error::LifetimeTooLong { lifetime, max }),
        );
        assert!(store.is_empty(), "a refused assertion took an entry");
    }
    // At the maximum: accepted, each kept until exp + leeway and no longer.
    for n in 0..4 {
        let token = sign(&format!("max-{n}"), max, NOW);
        let mut buffer = DecodeBuffer::new();
        let valid = grant
            .validate(&token, NOW, &mut store, &mut buffer)
            .unwrap_or_else(|e| panic!("{e}"));
        let entry = valid.replay_entry().unwrap_or_else(|| panic!("entry"));
        assert_eq!(entry.expires_at, NOW + max + leeway);
    }
    // Full of live entries: refused (fail closed), right up to the last second.
    let last_live = NOW + max + leeway - 1;
    let token = sign("one-more", 60, last_live);
    assert_eq!(
        grant
            .validate(&token, last_live, &mut store, &mut DecodeBuffer::new())
            .map(|_| ()),
        Err(Error::ReplayStoreFull)
    );
    // Then the entries expire and the store takes new ones again.
    let recovered = NOW + max + leeway;
    let token = sign("after", 60, recovered);
    assert!(grant
        .validate(&token, recovered, &mut store, &mut DecodeBuffer::new())
        .is_ok());
    assert_eq!(store.live(recovered), 1);
}

#[test]
fn a_maximum_age_ends_the_replay_entry_sooner() {
    let w = world();
    let issuer = &w.members[2];
    let policy = Policy {
        checks: rfc7523::Checks {
            max_age: Some(120),
            ..rfc7523::Checks::default()
        },
        ..Policy::default()
    };
    let parties = [Party::new(issuer.id, &issuer.keys).with_policy(policy)];
    let grant = GrantProfile {
        issuers: &parties[..],
        audiences: &[AS_ISSUER],
    };
    let token = issuer
        .signer
        .sign(
            &AssertionRequest {
                issuer: issuer.id,
                subject: "alice",
                audience: AS_ISSUER,
                jti: Some("aged"),
                lifetime: Some(3000),
                ..AssertionRequest::default()
            },
            NOW,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut store = MemoryReplayStore::<4>::new();
    let mut buffer = DecodeBuffer::new();
    let valid = grant
        .validate(&token, NOW, &mut store, &mut buffer)
        .unwrap_or_else(|e| panic!("{e}"));
    // Acceptable while now - iat <= 120 + 30: the entry ends at iat + 151, not exp + 30.
    let ends = NOW + 120 + 30 + 1;
    assert_eq!(valid.replay_entry().map(|e| e.expires_at), Some(ends));
    let mut fresh = MemoryReplayStore::<4>::new();
    assert!(grant
        .validate(&token, ends - 1, &mut fresh, &mut DecodeBuffer::new())
        .is_ok());
    let mut fresh = MemoryReplayStore::<4>::new();
    assert!(matches!(
        grant.validate(&token, ends, &mut fresh, &mut DecodeBuffer::new()),
        Err(Error::TooOld { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Client authentication methods of a token request
// ---------------------------------------------------------------------------------------------

#[test]
fn other_client_authentication_methods() {
    let w = world();
    let client = &w.members[0];
    let issuer = &w.members[2];
    let grant_token = claiming(issuer, issuer.id, Kind::Issuer, None, "g-1");
    let client_token = claiming(client, client.id, Kind::Client, None, "c-1");
    let cat = format!(
        "client_assertion_type={}&client_assertion={client_token}",
        form(JWT_BEARER_CLIENT_ASSERTION_TYPE)
    );
    let grant = body(Kind::Issuer, &grant_token);
    let unsupported = Err(Reason::UnsupportedClientAuthentication);
    let two_methods = Err(Reason::InvalidRequest);
    use ClientAuthentication as Auth;
    use OtherClientAuthentication::{Refuse, VerifiedByCaller};
    // (what, body, Authorization header, endpoint setting) → reason, or the outcome's method
    // and whether it holds a grant and a client assertion.
    type Case = (
        &'static str,
        String,
        bool,
        OtherClientAuthentication,
        Result<(Auth, bool, bool), Reason>,
    );
    let cases: Vec<Case> = vec![
        (
            "client_secret, client_credentials",
            "grant_type=client_credentials&client_id=c&client_secret=s".into(),
            false,
            Refuse,
            unsupported,
        ),
        (
            "client_secret, client_credentials, caller verifies",
            "grant_type=client_credentials&client_id=c&client_secret=s".into(),
            false,
            VerifiedByCaller,
            Ok((Auth::ClientSecretByCaller, false, false)),
        ),
        (
            "Authorization, client_credentials",
            "grant_type=client_credentials".into(),
            true,
            Refuse,
            unsupported,
        ),
        (
            "Authorization, client_credentials, caller verifies",
            "grant_type=client_credentials".into(),
            true,
            VerifiedByCaller,
            Ok((Auth::AuthorizationHeaderByCaller, false, false)),
        ),
        (
            "Authorization beside a jwt-bearer grant",
            grant.clone(),
            true,
            Refuse,
            unsupported,
        ),
        (
            "Authorization beside a jwt-bearer grant, caller verifies",
            grant.clone(),
            true,
            VerifiedByCaller,
            Ok((Auth::AuthorizationHeaderByCaller, true, false)),
        ),
        (
            "client_secret beside a jwt-bearer grant, caller verifies",
            format!("{grant}&client_id=c&client_secret=s"),
            false,
            VerifiedByCaller,
            Ok((Auth::ClientSecretByCaller, true, false)),
        ),
        (
            "Authorization and a client assertion",
            format!("grant_type=client_credentials&{cat}"),
            true,
            VerifiedByCaller,
            two_methods,
        ),
        (
            "client_secret and Authorization",
            "grant_type=client_credentials&client_secret=s".into(),
            true,
            VerifiedByCaller,
            two_methods,
        ),
        (
            "no client authentication, client_credentials",
            "grant_type=client_credentials".into(),
            false,
            VerifiedByCaller,
            Err(Reason::UnsupportedGrantType),
        ),
        (
            "public client, jwt-bearer grant",
            grant.clone(),
            false,
            Refuse,
            Ok((Auth::None, true, false)),
        ),
        (
            "client assertion and jwt-bearer grant",
            format!("{grant}&{cat}"),
            false,
            Refuse,
            Ok((Auth::Assertion, true, true)),
        ),
    ];
    let mut failures = Vec::new();
    for (what, body, header, other, expected) in &cases {
        let got = w.registry.with_token_endpoint(*other, |endpoint| {
            let mut store = MemoryReplayStore::<8>::new();
            endpoint
                .handle_request(
                    &mut body.as_bytes().to_vec(),
                    *header,
                    NOW,
                    &mut store,
                    &mut TokenBuffers::new(),
                )
                .map(|o| {
                    // Both parties' claims are in the outcome.
                    if let (Some(g), Some(c)) = (o.grant(), o.client()) {
                        assert!(g.issuer() == issuer.id && c.issuer() == client.id);
                    }
                    (
                        o.client_authentication(),
                        o.grant().is_some(),
                        o.client().is_some(),
                    )
                })
                .map_err(|e| {
                    let status = e.status();
                    let expected_status = match e.reason() {
                        Reason::UnsupportedClientAuthentication => 401,
                        _ => status,
                    };
                    assert_eq!(status, expected_status, "{what}");
                    e.reason()
                })
        });
        if &got != expected {
            failures.push(format!("{what}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The refusal leaves no replay entry behind.
    w.registry
        .with_token_endpoint(OtherClientAuthentication::Refuse, |endpoint| {
            let mut store = MemoryReplayStore::<8>::new();
            let mut buffers = TokenBuffers::new();
            let mut body_bytes = grant.as_bytes().to_vec();
            let refused =
                endpoint.handle_request(&mut body_bytes, true, NOW, &mut store, &mut buffers);
            assert_eq!(
                refused.map(|_| ()).map_err(|e| e.reason()),
                Err(Reason::UnsupportedClientAuthentication)
            );
            assert!(store.is_empty());
            let response = TokenError::UnsupportedClientAuthentication.response();
            assert_eq!(response.status(), 401);
            assert_eq!(response.error().code(), "invalid_client");
        });
    // Two methods in one request is invalid_request (RFC 6749 §2.3), as the body says.
    let e = TokenError::InvalidRequest(RequestProblem::MultipleClientCredentials);
    assert_eq!(
        e.response().to_json().as_str(),
        r#"{"error":"invalid_request","error_description":"more than one client authentication method was used"}"#
    );
}
