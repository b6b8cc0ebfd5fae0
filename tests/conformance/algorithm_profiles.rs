//! Every algorithm through the profiles (RFC 7523 §3, the JWS rules of `jws.rs` and the
//! one-algorithm-per-key rule of `keys`), with tokens signed by `openssl` at test time: an
//! independent signer, with keys `openssl genpkey` makes and the parties' keys read from the
//! SPKI PEM `openssl pkey -pubout` writes.
//!
//! Three tables, each over every case:
//! 1. every algorithm × how its party's key is configured (no `alg`, pinned to it, pinned to
//!    another algorithm of its key type) × the party's allow-list (all, only it, only another):
//!    accepted exactly when the one-algorithm-per-key rule says the key serves the header's
//!    `alg`, refused as `unsupported_algorithm` otherwise — never as anything else;
//! 2. every signer × every party (RFC 8725 §3.8): a token signed with party i's key and naming
//!    party j is accepted only when i = j; another key of the same type is `invalid_signature`,
//!    a key of another type `unsupported_algorithm`;
//! 3. the client-authentication profile and the token endpoint with the same signers.

use std::path::{Path, PathBuf};

use rfc7523::{
    Algorithm, Algorithms, ClientAuthProfile, DecodeBuffer, Error, GrantProfile, KeySet,
    MemoryReplayStore, Party, Policy, TokenBuffers, TokenEndpoint, VerifyingKey,
};
use rfc7523_conformance::{b64url, der_to_raw, openssl_key_pair, openssl_ok, Failures, TempDir};
use serde_json::json;

const AS_ISSUER: &str = "https://as.example";
const TOKEN_ENDPOINT: &str = "https://as.example/token";
const NOW: u64 = 1_750_000_100;

/// One signer: its algorithm, its private key file and its public key (SPKI PEM), both made
/// by `openssl`.
struct Signer {
    alg: Algorithm,
    private: PathBuf,
    public_pem: String,
}

impl Signer {
    /// A fresh key of the algorithm's type.
    fn new(dir: &TempDir, alg: Algorithm, name: &str) -> Self {
        let (private, public_pem) = openssl_key_pair(dir, alg, name);
        Self {
            alg,
            private,
            public_pem,
        }
    }

    /// A compact JWS of `claims` with this signer's algorithm, signed by `openssl`.
    fn sign(&self, dir: &TempDir, claims: &serde_json::Value) -> String {
        let header = json!({ "alg": self.alg.as_str(), "typ": "JWT" });
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let signature = openssl_signature(dir, self.alg, &self.private, &input);
        format!("{input}.{}", b64url(&signature))
    }

    /// The party's key set: the SPKI PEM, pinned to `pinned` when given (as a JWK `alg`).
    fn keys(&self, pinned: Option<Algorithm>) -> KeySet {
        let key = VerifyingKey::from_pem(&self.public_pem)
            .unwrap_or_else(|e| panic!("openssl's {} key refused: {e}", self.alg));
        let key = match pinned {
            Some(alg) => key
                .with_algorithm(alg)
                .unwrap_or_else(|e| panic!("{alg}: {e}")),
            None => key,
        };
        KeySet::from_key(&key).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// `openssl`'s signature of `input`: RS256 and PS256 (salt 32, MGF1-SHA-256) with `dgst`,
/// ES256 with `dgst` then DER → `R || S`, EdDSA with `pkeyutl -rawin` (PureEdDSA).
fn openssl_signature(dir: &TempDir, alg: Algorithm, key: &Path, input: &str) -> Vec<u8> {
    let dgst = |sigopts: &[&str]| {
        let mut args: Vec<std::ffi::OsString> =
            vec!["dgst".into(), "-sha256".into(), "-sign".into(), key.into()];
        for opt in sigopts {
            args.push("-sigopt".into());
            args.push((*opt).into());
        }
        openssl_ok(args, Some(input.as_bytes()))
    };
    match alg {
        Algorithm::Rs256 => dgst(&[]),
        Algorithm::Ps256 => dgst(&[
            "rsa_padding_mode:pss",
            "rsa_pss_saltlen:32",
            "rsa_mgf1_md:sha256",
        ]),
        Algorithm::Es256 => der_to_raw(&dgst(&[])),
        Algorithm::EdDsa | Algorithm::Ed25519 => {
            let message = dir.write("input.txt", input);
            openssl_ok(
                [
                    "pkeyutl".as_ref(),
                    "-sign".as_ref(),
                    "-rawin".as_ref(),
                    "-inkey".as_ref(),
                    key.as_os_str(),
                    "-in".as_ref(),
                    message.as_os_str(),
                ],
                None,
            )
        }
    }
}

/// Grant claims of issuer `iss`, valid at [`NOW`].
fn grant_claims(iss: &str, jti: &str) -> serde_json::Value {
    json!({
        "iss": iss, "sub": "subject-4711", "aud": TOKEN_ENDPOINT,
        "iat": NOW - 10, "exp": NOW + 290, "jti": jti,
    })
}

/// Client-assertion claims of client `id`, valid at [`NOW`].
fn client_claims(id: &str, jti: &str) -> serde_json::Value {
    json!({
        "iss": id, "sub": id, "aud": AS_ISSUER,
        "iat": NOW - 10, "exp": NOW + 290, "jti": jti,
    })
}

/// The grant profile of `parties` (both audiences of RFC 10070 §2.1), run with a fresh store.
fn validate_grant(parties: &[Party<'_>], token: &str) -> Result<(), Error> {
    let profile = GrantProfile {
        issuers: parties,
        audiences: &[AS_ISSUER, TOKEN_ENDPOINT],
    };
    let mut replay = MemoryReplayStore::<8>::new();
    profile
        .validate(token, NOW, &mut replay, &mut DecodeBuffer::new())
        .map(|_| ())
}

/// The algorithm of a key of `signer`'s type that serves it by the crate's rule, recomputed
/// here from the rule as the docs state it.
fn serves(
    pinned: Option<Algorithm>,
    allowed: Algorithms,
    key_alg: Algorithm,
    header: Algorithm,
) -> bool {
    let key_type = key_alg.key_type();
    if header.key_type() != key_type || !allowed.contains(header) {
        return false;
    }
    if let Some(pinned) = pinned {
        return pinned == header;
    }
    if key_type == rfc7523::KeyType::Ed25519 {
        return true;
    }
    let of_type: Vec<Algorithm> = allowed
        .iter()
        .filter(|a| a.key_type() == key_type)
        .collect();
    match of_type.as_slice() {
        [one] => *one == header,
        _ => header == key_type.default_algorithm(),
    }
}

#[test]
fn every_algorithm_key_configuration_and_allow_list() {
    let dir = TempDir::new("rfc7523-algorithm-profiles");
    let mut failures = Failures::new("algorithm × key configuration × allow-list");
    let mut cases = 0usize;
    let mut accepted = 0usize;
    for alg in Algorithm::ALL {
        let signer = Signer::new(&dir, alg, &format!("key-{alg}"));
        let token = signer.sign(&dir, &grant_claims("issuer", &format!("t-{alg}")));
        // How the party's key is configured: no alg, pinned to each algorithm of its type.
        let mut pins = vec![None];
        pins.extend(
            Algorithm::ALL
                .into_iter()
                .filter(|a| a.key_type() == alg.key_type())
                .map(Some),
        );
        let mut allow_lists = vec![Algorithms::ALL];
        allow_lists.extend(Algorithm::ALL.map(Algorithms::only));
        for &pinned in &pins {
            let keys = signer.keys(pinned);
            for &allowed in &allow_lists {
                cases += 1;
                let policy = Policy {
                    algorithms: allowed,
                    ..Policy::default()
                };
                let parties = [Party::new("issuer", &keys).with_policy(policy)];
                let outcome = validate_grant(&parties, &token);
                let expected = serves(pinned, allowed, alg, alg);
                accepted += usize::from(expected);
                let id = format!("{alg}, key pinned {pinned:?}, allowed {allowed:?}");
                if expected {
                    failures.check(outcome.is_ok(), &id, format!("refused: {outcome:?}"));
                } else {
                    failures.check(
                        outcome == Err(Error::UnsupportedAlgorithm),
                        &id,
                        format!("expected unsupported_algorithm, got {outcome:?}"),
                    );
                }
            }
        }
    }
    failures.assert_none();
    // RSA: 3 pins × 6 lists for each of RS256 and PS256; P-256: 2 × 6; Ed25519: 3 × 6 twice.
    assert_eq!(cases, 2 * 18 + 12 + 2 * 18);
    // Accepted: RS256 (ALL, only RS256) unpinned and pinned RS256 = 4; PS256 only(PS256)
    // unpinned, pinned PS256 ALL and only = 3; ES256 2 + 2; EdDSA and Ed25519 (ALL, only
    // itself) unpinned 2, pinned to itself 2 each.
    assert_eq!(accepted, 4 + 3 + 4 + 4 + 4);
}

#[test]
fn every_signer_against_every_party() {
    let dir = TempDir::new("rfc7523-algorithm-parties");
    let mut failures = Failures::new("signer × party");
    // Two keys of each type, so that "another key of the same type" exists for each.
    let signers: Vec<(String, Signer)> = [
        Algorithm::Rs256,
        Algorithm::Rs256,
        Algorithm::Ps256,
        Algorithm::Es256,
        Algorithm::Es256,
        Algorithm::EdDsa,
        Algorithm::Ed25519,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, alg)| {
        (
            format!("party-{i}-{alg}"),
            Signer::new(&dir, alg, &format!("p{i}")),
        )
    })
    .collect();
    // Each party's key pinned to its signer's algorithm (as its JWK `alg` would).
    let key_sets: Vec<KeySet> = signers.iter().map(|(_, s)| s.keys(Some(s.alg))).collect();
    let parties: Vec<Party<'_>> = signers
        .iter()
        .zip(&key_sets)
        .map(|((id, _), keys)| Party::new(id, keys))
        .collect();
    let clients = ClientAuthProfile {
        clients: &parties[..],
        issuer: AS_ISSUER,
        token_endpoint: None,
    };
    let mut cases = 0usize;
    for (i, (_, signer)) in signers.iter().enumerate() {
        for (j, (claimed, owner)) in signers.iter().enumerate() {
            cases += 1;
            let grant = signer.sign(&dir, &grant_claims(claimed, &format!("g-{i}-{j}")));
            let client = signer.sign(&dir, &client_claims(claimed, &format!("c-{i}-{j}")));
            let expected = if i == j {
                Ok(())
            } else if owner.alg.key_type() != signer.alg.key_type() || owner.alg != signer.alg {
                // The named party has no key that serves this algorithm.
                Err(Error::UnsupportedAlgorithm)
            } else {
                Err(Error::InvalidSignature)
            };
            let mut replay = MemoryReplayStore::<8>::new();
            let outcomes = [
                validate_grant(&parties, &grant),
                clients
                    .validate(
                        &client,
                        Some(claimed),
                        NOW,
                        &mut replay,
                        &mut DecodeBuffer::new(),
                    )
                    .map(|_| ()),
            ];
            for (profile, outcome) in ["grant", "client"].iter().zip(outcomes) {
                failures.check(
                    outcome == expected,
                    format!("{profile}: {} signs as {claimed}", signer.alg),
                    format!("expected {expected:?}, got {outcome:?}"),
                );
            }
        }
    }
    failures.assert_none();
    assert_eq!(cases, signers.len() * signers.len());
}

#[test]
fn token_endpoint_with_every_algorithm() {
    let dir = TempDir::new("rfc7523-algorithm-endpoint");
    let mut failures = Failures::new("token endpoint × algorithm");
    let clients: Vec<Signer> = Algorithm::ALL
        .iter()
        .map(|&alg| Signer::new(&dir, alg, &format!("client-{alg}")))
        .collect();
    let issuers: Vec<Signer> = Algorithm::ALL
        .iter()
        .map(|&alg| Signer::new(&dir, alg, &format!("issuer-{alg}")))
        .collect();
    for (client_alg, client) in Algorithm::ALL.into_iter().zip(&clients) {
        for (grant_alg, issuer) in Algorithm::ALL.into_iter().zip(&issuers) {
            let client_keys = client.keys(Some(client_alg));
            let issuer_keys = issuer.keys(Some(grant_alg));
            let clients = [Party::new("client-1", &client_keys)];
            let issuers = [Party::new("https://idp.example", &issuer_keys)];
            let endpoint = TokenEndpoint {
                grant: Some(GrantProfile {
                    issuers: &issuers[..],
                    audiences: &[AS_ISSUER, TOKEN_ENDPOINT],
                }),
                client_auth: Some(ClientAuthProfile {
                    clients: &clients[..],
                    issuer: AS_ISSUER,
                    token_endpoint: None,
                }),
                other_client_auth: Default::default(),
            };
            let grant = issuer.sign(&dir, &grant_claims("https://idp.example", "grant"));
            let assertion = client.sign(&dir, &client_claims("client-1", "client"));
            let body = format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={grant}\
                 &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
                 &client_assertion={assertion}"
            );
            let mut replay = MemoryReplayStore::<8>::new();
            let mut body = body.into_bytes();
            let mut buffers = Box::new(TokenBuffers::new());
            let outcome = endpoint
                .handle(&mut body, NOW, &mut replay, &mut buffers)
                .map(|outcome| {
                    (
                        outcome.grant().map(|g| g.header().alg()),
                        outcome.client().map(|c| c.header().alg()),
                    )
                });
            failures.check(
                outcome == Ok((Some(grant_alg.as_str()), Some(client_alg.as_str()))),
                format!("client {client_alg}, grant {grant_alg}"),
                format!("{outcome:?}"),
            );
        }
    }
    failures.assert_none();
}

/// The public key of `signer` as a JWK (RSA `n`/`e`, EC `x`/`y`, OKP `x`), with `extra`
/// members, built from the key `openssl` wrote.
fn public_jwk(signer: &Signer, extra: serde_json::Value) -> serde_json::Value {
    let keys = signer.keys(None);
    let key = keys.iter().next().unwrap_or_else(|| panic!("no key"));
    let mut jwk = match key.material() {
        rfc7523::MaterialRef::Rsa(rsa) => {
            let e = rsa.exponent().to_be_bytes();
            let first = e.iter().position(|&b| b != 0).unwrap_or(7);
            json!({"kty": "RSA", "n": b64url(rsa.modulus()), "e": b64url(&e[first..])})
        }
        rfc7523::MaterialRef::P256(point) => json!({
            "kty": "EC", "crv": "P-256", "x": b64url(&point[..32]), "y": b64url(&point[32..]),
        }),
        rfc7523::MaterialRef::Ed25519(bytes) => {
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(bytes)})
        }
    };
    if let (Some(jwk), Some(extra)) = (jwk.as_object_mut(), extra.as_object()) {
        jwk.extend(extra.clone());
    }
    jwk
}

/// A registry of parties of every key type, through its token endpoint: a client whose RSA key
/// has no `alg` but whose `token_endpoint_auth_signing_alg` is PS256 signs PS256 (and not
/// RS256); a P-256 client without either signs ES256; an OKP client whose JWK says `Ed25519`
/// signs that name only; an issuer whose JWK says RS256 signs RS256 grants.
#[test]
fn a_registry_with_every_key_type() {
    let dir = TempDir::new("rfc7523-algorithm-registry");
    let rsa_client = Signer::new(&dir, Algorithm::Ps256, "c-rsa");
    let ec_client = Signer::new(&dir, Algorithm::Es256, "c-ec");
    let ed_client = Signer::new(&dir, Algorithm::Ed25519, "c-ed");
    let issuer = Signer::new(&dir, Algorithm::Rs256, "i-rsa");
    let client = |id: &str, jwk: serde_json::Value, alg: Option<&str>| {
        let mut client = json!({
            "client_id": id,
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [jwk]},
        });
        if let Some(alg) = alg {
            client["token_endpoint_auth_signing_alg"] = json!(alg);
        }
        client
    };
    let document = json!({
        "issuer": AS_ISSUER,
        "token_endpoint": TOKEN_ENDPOINT,
        "clients": [
            client("c-rsa", public_jwk(&rsa_client, json!({"kid": "r1"})), Some("PS256")),
            client("c-ec", public_jwk(&ec_client, json!({})), None),
            client("c-ed", public_jwk(&ed_client, json!({"alg": "Ed25519"})), None),
        ],
        "issuers": [{
            "issuer": "https://idp.example",
            "jwks": {"keys": [public_jwk(&issuer, json!({"alg": "RS256", "use": "sig"}))]},
        }],
    });
    let registry = rfc7523::Registry::from_json(&document.to_string())
        .unwrap_or_else(|e| panic!("registry: {e}"));
    let grant = |alg: Algorithm| {
        let signer = Signer {
            alg,
            private: issuer.private.clone(),
            public_pem: issuer.public_pem.clone(),
        };
        signer.sign(
            &dir,
            &grant_claims("https://idp.example", &format!("g-{alg}")),
        )
    };
    let assertion = |signer: &Signer, alg: Algorithm, id: &str| {
        let signer = Signer {
            alg,
            private: signer.private.clone(),
            public_pem: signer.public_pem.clone(),
        };
        signer.sign(&dir, &client_claims(id, &format!("{id}-{alg}")))
    };
    let request = |grant: &str, client: &str| {
        format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={grant}\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion={client}"
        )
    };
    let mut failures = Failures::new("registry × algorithm");
    // (client signer, client id, alg, grant alg, expected reason or None)
    let cases: [(&Signer, &str, Algorithm, Algorithm, Option<&str>); 7] = [
        (
            &rsa_client,
            "c-rsa",
            Algorithm::Ps256,
            Algorithm::Rs256,
            None,
        ),
        (
            &rsa_client,
            "c-rsa",
            Algorithm::Rs256,
            Algorithm::Rs256,
            Some("unsupported_algorithm"),
        ),
        (&ec_client, "c-ec", Algorithm::Es256, Algorithm::Rs256, None),
        (
            &ed_client,
            "c-ed",
            Algorithm::Ed25519,
            Algorithm::Rs256,
            None,
        ),
        (
            &ed_client,
            "c-ed",
            Algorithm::EdDsa,
            Algorithm::Rs256,
            Some("unsupported_algorithm"),
        ),
        // The grant issuer's key says RS256: PS256 from the same key is refused.
        (
            &ec_client,
            "c-ec",
            Algorithm::Es256,
            Algorithm::Ps256,
            Some("unsupported_algorithm"),
        ),
        // A client's key never verifies as another client's.
        (
            &ec_client,
            "c-ed",
            Algorithm::Es256,
            Algorithm::Rs256,
            Some("unsupported_algorithm"),
        ),
    ];
    for (signer, id, alg, grant_alg, expected) in cases {
        let body = request(&grant(grant_alg), &assertion(signer, alg, id));
        let mut replay = MemoryReplayStore::<8>::new();
        let mut body = body.into_bytes();
        let mut buffers = Box::new(TokenBuffers::new());
        let outcome = registry.with_token_endpoint(Default::default(), |endpoint| {
            endpoint
                .handle(&mut body, NOW, &mut replay, &mut buffers)
                .map(|outcome| outcome.client().map(|c| c.issuer().to_string()))
                .map_err(|e| e.reason().as_str())
        });
        let case = format!("{id} signs {alg}, grant {grant_alg}");
        match expected {
            None => failures.check(
                outcome == Ok(Some(id.to_owned())),
                &case,
                format!("{outcome:?}"),
            ),
            Some(reason) => failures.check(
                outcome == Err(reason),
                &case,
                format!("expected {reason}, got {outcome:?}"),
            ),
        }
    }
    failures.assert_none();
}
