//! Remote key sets in the registry (issue 14): parties whose keys are fetched, the fetched
//! JWK Sets installed through the same loader and rules as inline keys, and the verdicts that
//! follow — `keys_unavailable` (503, `temporarily_unavailable`) before any set is installed
//! and past its lifetime plus `STALE_GRACE`, each at its boundary; `UnknownRemoteKey` (reason
//! `unknown_key`) for a `kid` naming none of the fetched keys; every refusal of
//! `Registry::install_jwk_set` with the party keeping its keys; one key, one party (RFC 8725
//! §3.8) for fetched keys too.

use std::sync::OnceLock;

use rfc7523::limits::{MAX_DOCUMENT_LEN, MAX_MAX_AGE, MAX_REMOTE_KEYS, MIN_MAX_AGE, STALE_GRACE};
use rfc7523::registry::{InstallError, Installed, PartyKind};
use rfc7523::remote_keys::{DocumentError, Entry, FetchFailure, Member as DocMember};
use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::token_request::JWT_BEARER_CLIENT_ASSERTION_TYPE;
use rfc7523::{
    Algorithm, DecodeBuffer, Error, KeyError, KeySet, KeySource, MemoryReplayStore,
    OtherClientAuthentication, Reason, Registry, TokenBuffers, TokenError, Use,
};
use rfc7523_conformance::{b64url, distinct_2048_key_pairs, openssl_key_pair, public_jwk, TempDir};
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
const AS: &str = "https://as.example";
/// A client with inline keys (key 0).
const INLINE: &str = "client-a";
/// A client whose keys are fetched from its `jwks_uri`.
const CLIENT: &str = "client-r";
/// An issuer found by discovery.
const IDP: &str = "https://idp.example";
/// An issuer restricted to ES256, with a `jwks_uri`.
const IDP_ES: &str = "https://idp-es.example";

struct Fixture {
    /// RSA signers 0..4 and their public JWKs (`kid` "k{i}").
    signers: Vec<AssertionSigner>,
    jwks: Vec<Value>,
    /// A P-256 signer and its public JWK (`kid` "es").
    es_signer: AssertionSigner,
    es_jwk: Value,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let pairs = distinct_2048_key_pairs(4);
        let signers = pairs
            .iter()
            .map(|(private, _)| {
                AssertionSigner::from_pem(private).unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        let jwks = pairs
            .iter()
            .enumerate()
            .map(|(i, (_, public))| {
                serde_json::from_str(&public_jwk(public, &format!("k{i}")))
                    .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        let dir = TempDir::new("remote-es256");
        let (private, public) = openssl_key_pair(&dir, Algorithm::Es256, "es");
        let pem = std::fs::read_to_string(&private).unwrap_or_else(|e| panic!("{e}"));
        let es_signer = AssertionSigner::from_pem(&pem).unwrap_or_else(|e| panic!("{e}"));
        let keys = KeySet::from_pem(&public).unwrap_or_else(|e| panic!("{e}"));
        let key = keys.iter().next().unwrap_or_else(|| panic!("no key"));
        let rfc7523::MaterialRef::P256(point) = key.material() else {
            panic!("not a P-256 key")
        };
        let es_jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": "es",
            "x": b64url(&point[..32]), "y": b64url(&point[32..]),
        });
        Fixture {
            signers,
            jwks,
            es_signer,
            es_jwk,
        }
    })
}

fn registry() -> Registry {
    let f = fixture();
    let doc = json!({
        "issuer": AS,
        "clients": [
            { "client_id": INLINE, "token_endpoint_auth_method": "private_key_jwt",
              "jwks": { "keys": [f.jwks[0]] } },
            { "client_id": CLIENT, "token_endpoint_auth_method": "private_key_jwt",
              "jwks_uri": "https://keys.example/client-r" }
        ],
        "issuers": [
            { "issuer": IDP, "discovery": "openid-configuration" },
            { "issuer": IDP_ES, "jwks_uri": "https://keys.example/idp-es",
              "token_endpoint_auth_signing_alg": "ES256" }
        ]
    });
    Registry::from_json(&doc.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// A JWK Set of the given keys, as served.
fn set(keys: &[&Value]) -> Vec<u8> {
    json!({ "keys": keys }).to_string().into_bytes()
}

/// Fetched at `at`, fresh for ten minutes.
fn entry(at: u64) -> Entry {
    Entry {
        fetched_at: at,
        max_age: 600,
    }
}

/// An assertion of `party` (client authentication for a client, a grant for an issuer) by
/// `signer` with header `kid`, issued at `iat`.
fn token(signer: &AssertionSigner, party: &str, kid: Option<&str>, iat: u64, jti: &str) -> String {
    let client = !party.starts_with("https://");
    let request = AssertionRequest {
        issuer: party,
        subject: if client { party } else { "alice" },
        audience: AS,
        lifetime: Some(300),
        jti: Some(jti),
        kid,
        client_authentication: client,
    };
    signer
        .sign(&request, iat)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string()
}

/// The verdict on `token` for `party` at `now`, through its profile.
fn judge(registry: &Registry, party: &str, token: &str, now: u64) -> Result<(), Error> {
    let mut replay = MemoryReplayStore::<4>::new();
    let mut buffer = DecodeBuffer::new();
    registry.with_profiles(|grant, client| {
        if party.starts_with("https://") {
            grant
                .unwrap_or_else(|| panic!("grant profile"))
                .validate(token, now, &mut replay, &mut buffer)
                .map(|_| ())
        } else {
            client
                .unwrap_or_else(|| panic!("client profile"))
                .validate(token, None, now, &mut replay, &mut buffer)
                .map(|_| ())
        }
    })
}

fn install(registry: &mut Registry, kind: PartyKind, id: &str, body: &[u8], at: u64) {
    assert_eq!(
        registry.install_jwk_set(kind, id, body, entry(at)),
        Ok(Installed::Replaced),
        "{id}"
    );
}

/// Before any set is installed a remote party's assertions are `keys_unavailable`; with one,
/// they are judged as usual until `fetched_at + max_age + STALE_GRACE` (the last second
/// included, that one refused); the inline party is never affected.
#[test]
fn keys_are_usable_from_install_to_the_end_of_their_grace() {
    let f = fixture();
    let mut registry = registry();
    let unavailable = Err(Error::KeysUnavailable { retry_after: None });
    let inline = token(&f.signers[0], INLINE, Some("k0"), NOW, "i-1");
    assert_eq!(judge(&registry, INLINE, &inline, NOW), Ok(()));
    for (party, signer, kid) in [(CLIENT, 1, "k1"), (IDP, 2, "k2")] {
        let t = token(&f.signers[signer], party, Some(kid), NOW, "j");
        assert_eq!(judge(&registry, party, &t, NOW), unavailable, "{party}");
    }

    install(
        &mut registry,
        PartyKind::Client,
        CLIENT,
        &set(&[&f.jwks[1]]),
        NOW,
    );
    install(
        &mut registry,
        PartyKind::Issuer,
        IDP,
        &set(&[&f.jwks[2]]),
        NOW,
    );
    let until = NOW + 600 + STALE_GRACE;
    for (party, signer, kid, kind) in [
        (CLIENT, 1, "k1", PartyKind::Client),
        (IDP, 2, "k2", PartyKind::Issuer),
    ] {
        let remote = registry
            .remote_party(kind, party)
            .unwrap_or_else(|| panic!("{party}"));
        assert_eq!(remote.fetched(), Some(entry(NOW)));
        let core = registry
            .parties(kind)
            .get(party)
            .unwrap_or_else(|| panic!("{party}"));
        assert_eq!(
            core.key_source(),
            KeySource::Fetched {
                usable_until: Some(until)
            }
        );
        for (now, expected) in [
            (NOW, Ok(())),
            (NOW + 600, Ok(())), // stale, within the grace
            (until - 1, Ok(())),
            (until, unavailable),
            (until + 1, unavailable),
        ] {
            let t = token(&f.signers[signer], party, Some(kid), now, "j");
            assert_eq!(
                judge(&registry, party, &t, now),
                expected,
                "{party} at {now}"
            );
        }
    }
    let late = token(&f.signers[0], INLINE, Some("k0"), until + 1, "i-2");
    assert_eq!(judge(&registry, INLINE, &late, until + 1), Ok(()));
}

/// A `kid` (or thumbprint) naming none of the fetched keys is `UnknownRemoteKey`, the
/// layer's cue to refetch; once the rotated set is installed the same token passes. Without a
/// `kid` nothing is named: a key outside the set is an invalid signature, no refetch cue. For
/// inline keys an unknown `kid` stays `UnknownKey`.
#[test]
fn an_unknown_kid_of_a_fetched_set_is_told_apart() {
    let f = fixture();
    let mut registry = registry();
    install(
        &mut registry,
        PartyKind::Client,
        CLIENT,
        &set(&[&f.jwks[1]]),
        NOW,
    );
    let rotated = token(&f.signers[3], CLIENT, Some("k3"), NOW, "r-1");
    let error = judge(&registry, CLIENT, &rotated, NOW);
    assert_eq!(error, Err(Error::UnknownRemoteKey));
    assert_eq!(error.map_err(|e| e.reason()), Err(Reason::UnknownKey));
    let unnamed = token(&f.signers[3], CLIENT, None, NOW, "r-2");
    assert_eq!(
        judge(&registry, CLIENT, &unnamed, NOW),
        Err(Error::InvalidSignature)
    );
    let inline = token(&f.signers[0], INLINE, Some("nope"), NOW, "r-3");
    assert_eq!(
        judge(&registry, INLINE, &inline, NOW),
        Err(Error::UnknownKey)
    );

    install(
        &mut registry,
        PartyKind::Client,
        CLIENT,
        &set(&[&f.jwks[1], &f.jwks[3]]),
        NOW + 40,
    );
    assert_eq!(judge(&registry, CLIENT, &rotated, NOW + 40), Ok(()));
    // The old key, dropped by the next rotation, no longer verifies.
    install(
        &mut registry,
        PartyKind::Client,
        CLIENT,
        &set(&[&f.jwks[3]]),
        NOW + 80,
    );
    let old = token(&f.signers[1], CLIENT, Some("k1"), NOW + 80, "r-4");
    assert_eq!(
        judge(&registry, CLIENT, &old, NOW + 80),
        Err(Error::UnknownRemoteKey)
    );
}

/// The party's `alg` allow-list is judged before the keys are: a header `alg` the party never
/// accepts is `unsupported_algorithm` even while its keys are unavailable. A published set
/// may hold keys for other algorithms: kept, never tried.
#[test]
fn the_allow_list_comes_before_the_keys() {
    let f = fixture();
    let mut registry = registry();
    let rs256 = token(&f.signers[2], IDP_ES, Some("k2"), NOW, "a-1");
    let es256 = token(&f.es_signer, IDP_ES, Some("es"), NOW, "a-2");
    assert_eq!(
        judge(&registry, IDP_ES, &rs256, NOW),
        Err(Error::UnsupportedAlgorithm)
    );
    assert_eq!(
        judge(&registry, IDP_ES, &es256, NOW),
        Err(Error::KeysUnavailable { retry_after: None })
    );
    install(
        &mut registry,
        PartyKind::Issuer,
        IDP_ES,
        &set(&[&f.jwks[2], &f.es_jwk]),
        NOW,
    );
    assert_eq!(judge(&registry, IDP_ES, &es256, NOW), Ok(()));
    assert_eq!(
        judge(&registry, IDP_ES, &rs256, NOW),
        Err(Error::UnsupportedAlgorithm)
    );
}

/// Through the token endpoint: `keys_unavailable` is 503 `temporarily_unavailable` for either
/// assertion, with the `Retry-After` the layer adds; the other party's assertion is not
/// affected by it.
#[test]
fn token_requests_answer_503_with_retry_after() {
    let f = fixture();
    let registry = registry();
    let assertion = token(&f.signers[1], CLIENT, Some("k1"), NOW, "t-1");
    let mut body = format!(
        "grant_type=client_credentials&client_assertion_type={}&client_assertion={assertion}",
        JWT_BEARER_CLIENT_ASSERTION_TYPE.replace(':', "%3A")
    )
    .into_bytes();
    let mut replay = MemoryReplayStore::<4>::new();
    let mut buffers = TokenBuffers::new();
    let error = registry
        .with_token_endpoint(OtherClientAuthentication::Refuse, |endpoint| {
            endpoint
                .handle(&mut body, NOW, &mut replay, &mut buffers)
                .map(|_| ())
        })
        .expect_err("keys_unavailable");
    assert_eq!(
        error,
        TokenError::Client(Error::KeysUnavailable { retry_after: None })
    );
    assert_eq!(
        (error.status(), error.reason()),
        (503, Reason::KeysUnavailable)
    );
    assert_eq!(error.response().retry_after(), None);
    let Some(&inner) = error.assertion_error() else {
        panic!("an assertion error")
    };
    let told = TokenError::Client(inner.with_retry_after(17));
    let response = told.response();
    assert_eq!(
        (
            response.status(),
            response.error().code(),
            response.retry_after()
        ),
        (503, "temporarily_unavailable", Some(17))
    );
    assert_eq!(
        response.to_json().as_str(),
        r#"{"error":"temporarily_unavailable","error_description":"client assertion: the party's keys cannot be fetched now; retry in 17 s"}"#
    );
    for use_ in [Use::AuthorizationGrant, Use::ClientAuthentication] {
        assert_eq!(inner.response(use_).status(), 503);
    }
}

/// A row of `install_refusals_keep_the_keys`: what, the party (kind, id), the body, its
/// entry, and the error with the cause a layer reports.
type Refusal = (
    &'static str,
    PartyKind,
    &'static str,
    Vec<u8>,
    Entry,
    (InstallError, FetchFailure),
);

/// Every refusal of `install_jwk_set`, with the cause a layer reports to its cache; after each
/// the party still has exactly the keys it had (and so the verdicts it had).
#[test]
fn install_refusals_keep_the_keys() {
    let f = fixture();
    let mut base = registry();
    install(
        &mut base,
        PartyKind::Client,
        CLIENT,
        &set(&[&f.jwks[1]]),
        NOW,
    );
    let mut private = f.jwks[3].clone();
    private["d"] = json!("AQAB");
    let mut small = f.jwks[3].clone();
    small["n"] = json!(b64url(&{
        let mut n = vec![0xc5u8; 128];
        n[127] |= 1;
        n
    }));
    let many: Vec<Value> = (0..=MAX_REMOTE_KEYS)
        .map(|i| {
            let mut k = f.jwks[3].clone();
            k["kid"] = json!(format!("m{i}"));
            k
        })
        .collect();
    let many: Vec<&Value> = many.iter().collect();
    let padded = {
        let mut text = set(&[&f.jwks[3]]);
        text.resize(MAX_DOCUMENT_LEN + 1, b' ');
        text
    };
    let keys_error = |e| (InstallError::Key(e), FetchFailure::Keys);
    let doc_error = |e| (InstallError::Document(e), FetchFailure::Document(e));
    let cases: Vec<Refusal> = vec![
        (
            "an inline party",
            PartyKind::Client,
            INLINE,
            set(&[&f.jwks[3]]),
            entry(NOW),
            (InstallError::NotRemote, FetchFailure::Keys),
        ),
        (
            "no such party",
            PartyKind::Client,
            "nobody",
            set(&[&f.jwks[3]]),
            entry(NOW),
            (InstallError::NotRemote, FetchFailure::Keys),
        ),
        (
            "a client id as an issuer",
            PartyKind::Issuer,
            CLIENT,
            set(&[&f.jwks[3]]),
            entry(NOW),
            (InstallError::NotRemote, FetchFailure::Keys),
        ),
        (
            "a lifetime under MIN_MAX_AGE",
            PartyKind::Client,
            CLIENT,
            set(&[&f.jwks[3]]),
            Entry {
                fetched_at: NOW,
                max_age: MIN_MAX_AGE - 1,
            },
            (
                InstallError::Lifetime {
                    max_age: MIN_MAX_AGE - 1,
                },
                FetchFailure::Keys,
            ),
        ),
        (
            "a lifetime over MAX_MAX_AGE",
            PartyKind::Client,
            CLIENT,
            set(&[&f.jwks[3]]),
            Entry {
                fetched_at: NOW,
                max_age: MAX_MAX_AGE + 1,
            },
            (
                InstallError::Lifetime {
                    max_age: MAX_MAX_AGE + 1,
                },
                FetchFailure::Keys,
            ),
        ),
        (
            "not JSON",
            PartyKind::Client,
            CLIENT,
            b"<html>".to_vec(),
            entry(NOW),
            doc_error(DocumentError::NotJson),
        ),
        (
            "a duplicate member",
            PartyKind::Client,
            CLIENT,
            br#"{"keys":[],"keys":[]}"#.to_vec(),
            entry(NOW),
            doc_error(DocumentError::DuplicateMember),
        ),
        (
            "keys not an array",
            PartyKind::Client,
            CLIENT,
            br#"{"keys":{}}"#.to_vec(),
            entry(NOW),
            doc_error(DocumentError::MemberType(DocMember::Keys)),
        ),
        (
            "one past MAX_DOCUMENT_LEN",
            PartyKind::Client,
            CLIENT,
            padded,
            entry(NOW),
            doc_error(DocumentError::TooLarge {
                len: MAX_DOCUMENT_LEN + 1,
            }),
        ),
        (
            "one past MAX_REMOTE_KEYS",
            PartyKind::Client,
            CLIENT,
            set(&many),
            entry(NOW),
            doc_error(DocumentError::TooManyKeys {
                count: MAX_REMOTE_KEYS + 1,
            }),
        ),
        (
            "no keys",
            PartyKind::Client,
            CLIENT,
            set(&[]),
            entry(NOW),
            keys_error(KeyError::NoUsableKeys),
        ),
        (
            "private key material",
            PartyKind::Client,
            CLIENT,
            set(&[&private]),
            entry(NOW),
            keys_error(KeyError::PrivateKeyMaterial),
        ),
        (
            "a key under 2048 bits",
            PartyKind::Client,
            CLIENT,
            set(&[&small]),
            entry(NOW),
            keys_error(KeyError::ModulusTooSmall { bits: 1024 }),
        ),
        (
            "no key for the party's ES256",
            PartyKind::Issuer,
            IDP_ES,
            set(&[&f.jwks[3]]),
            entry(NOW),
            (
                InstallError::NoKeyForAlgorithm {
                    alg: Algorithm::Es256,
                },
                FetchFailure::Keys,
            ),
        ),
        (
            "an inline party's key",
            PartyKind::Client,
            CLIENT,
            set(&[&f.jwks[3], &f.jwks[0]]),
            entry(NOW),
            (
                InstallError::SharedKey {
                    other: format!(r#"clients[0] "{INLINE}""#),
                },
                FetchFailure::Keys,
            ),
        ),
        (
            "another remote party's installed key",
            PartyKind::Issuer,
            IDP,
            set(&[&f.jwks[1]]),
            entry(NOW),
            (
                InstallError::SharedKey {
                    other: format!(r#"clients[1] "{CLIENT}""#),
                },
                FetchFailure::Keys,
            ),
        ),
    ];
    let accepted = token(&f.signers[1], CLIENT, Some("k1"), NOW, "k");
    for (what, kind, id, body, entry, (error, cause)) in cases {
        let mut registry = base.clone();
        let before: Vec<Option<String>> = snapshot(&registry);
        let got = registry.install_jwk_set(kind, id, &body, entry);
        assert_eq!(got, Err(error.clone()), "{what}");
        assert_eq!(error.fetch_failure(), cause, "{what}");
        assert!(!error.to_string().is_empty(), "{what}");
        assert_eq!(snapshot(&registry), before, "{what}: keys changed");
        assert_eq!(judge(&registry, CLIENT, &accepted, NOW), Ok(()), "{what}");
    }
}

/// Each party's keys, as text, in a fixed order: what must not change when a set is refused.
fn snapshot(registry: &Registry) -> Vec<Option<String>> {
    [
        (PartyKind::Client, INLINE),
        (PartyKind::Client, CLIENT),
        (PartyKind::Issuer, IDP),
        (PartyKind::Issuer, IDP_ES),
    ]
    .iter()
    .map(|&(kind, id)| {
        registry
            .parties(kind)
            .get(id)
            .map(|p| format!("{:?} {:?}", p.keys(), p.key_source()))
    })
    .collect()
}

/// The lifetime bounds themselves are accepted; a set fetched before the installed one is
/// superseded (ignored); a party may list its own key twice and reinstall it; replacing a
/// set releases its keys, which another party may then hold.
#[test]
fn installs_at_the_boundaries_and_key_ownership_moves_with_the_sets() {
    let f = fixture();
    let mut registry = registry();
    for max_age in [MIN_MAX_AGE, MAX_MAX_AGE] {
        let e = Entry {
            fetched_at: NOW,
            max_age,
        };
        assert_eq!(
            registry.install_jwk_set(PartyKind::Client, CLIENT, &set(&[&f.jwks[1]]), e),
            Ok(Installed::Replaced),
            "{max_age}"
        );
    }
    let mut twice = f.jwks[1].clone();
    twice["kid"] = json!("k1-again");
    install(
        &mut registry,
        PartyKind::Client,
        CLIENT,
        &set(&[&f.jwks[1], &twice]),
        NOW + 10,
    );
    let before = snapshot(&registry);
    assert_eq!(
        registry.install_jwk_set(
            PartyKind::Client,
            CLIENT,
            &set(&[&f.jwks[3]]),
            entry(NOW + 9)
        ),
        Ok(Installed::Superseded)
    );
    assert_eq!(snapshot(&registry), before);

    // k1 is the client's: the issuer may not have it, until the client's set drops it.
    let shared = registry.install_jwk_set(PartyKind::Issuer, IDP, &set(&[&f.jwks[1]]), entry(NOW));
    assert!(
        matches!(shared, Err(InstallError::SharedKey { .. })),
        "{shared:?}"
    );
    install(
        &mut registry,
        PartyKind::Client,
        CLIENT,
        &set(&[&f.jwks[3]]),
        NOW + 20,
    );
    install(
        &mut registry,
        PartyKind::Issuer,
        IDP,
        &set(&[&f.jwks[1]]),
        NOW + 20,
    );
    let grant = token(&f.signers[1], IDP, Some("k1"), NOW + 20, "g");
    assert_eq!(judge(&registry, IDP, &grant, NOW + 20), Ok(()));
    // …and now the client may not take it back.
    let back = registry.install_jwk_set(
        PartyKind::Client,
        CLIENT,
        &set(&[&f.jwks[1]]),
        entry(NOW + 30),
    );
    assert_eq!(
        back,
        Err(InstallError::SharedKey {
            other: format!(r#"issuers[0] "{IDP}""#)
        })
    );
}

/// Discovery: the document's `issuer` must be the party's exactly; its `jwks_uri` is what the
/// layer fetches next.
#[test]
fn discovery_documents_are_read_for_their_issuer() {
    let registry = registry();
    let idp = registry
        .remote_party(PartyKind::Issuer, IDP)
        .unwrap_or_else(|| panic!("idp"));
    assert_eq!(
        idp.location().url(),
        "https://idp.example/.well-known/openid-configuration"
    );
    let doc = |issuer: &str| {
        json!({ "issuer": issuer, "jwks_uri": "https://idp.example/keys" })
            .to_string()
            .into_bytes()
    };
    let read = idp
        .read_discovery(&doc(IDP))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read.jwks_uri(), "https://idp.example/keys");
    for other in [
        "https://idp.example/",
        "https://IDP.example",
        "https://idp-es.example",
    ] {
        assert_eq!(
            idp.read_discovery(&doc(other))
                .map(|d| d.jwks_uri().to_owned()),
            Err(DocumentError::IssuerMismatch),
            "{other}"
        );
    }
}
