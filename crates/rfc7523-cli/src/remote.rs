//! Remote key sets (issue 14): the registry's `jwks_uri`s and discovery documents, fetched with
//! the core's policy ([`rfc7523::remote_keys`]) and cached for the run.
//!
//! - [`Fetcher`]: one HTTP GET of a configured URL: `https`, or `http` on loopback (the URL
//!   passed the core's rules when the registry loaded), no redirect followed, no proxy,
//!   [`FETCH_TIMEOUT`] for the whole exchange, at most [`MAX_DOCUMENT_LEN`] + 1 bytes of body
//!   read, status, `Content-Length` and `Content-Type` judged by the core.
//! - [`RemoteKeys`]: per remote party a [`KeyCache`] for its discovery document (if it has
//!   one) and one for its JWK Set, driven by the core's state machine: fetched when absent or
//!   stale, at most once per [`REFETCH_COOLDOWN`](rfc7523::remote_keys::REFETCH_COOLDOWN)
//!   whatever asks (an unknown `kid` included), installed into the registry through
//!   [`Registry::install_jwk_set`] (the inline key loader and rules).
//! - [`Shared`]: the registry and the caches of a run, shared by `--jobs` workers: validation
//!   under a read lock, fetches one at a time (single flight) under the caches' mutex, an
//!   install under the write lock.
//!
//! Nothing here judges an assertion: the core refuses a remote party's assertions
//! `keys_unavailable` when its keys are absent or past their grace, and says
//! [`Error::UnknownRemoteKey`] when a `kid` names none of them; this module only fetches,
//! and words the `Retry-After` ([`Unavailable::retry_after`]).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use rfc7523::claims::ClaimString;
use rfc7523::registry::{KeyLocation, PartyKind, Registry};
use rfc7523::remote_keys::{
    check_content_type, check_len, check_status, ContentTypeError, DocumentError, DocumentKind,
    Entry, FetchFailure, Freshness, KeyCache, Meanwhile, Need, Step, Unavailable, FETCH_TIMEOUT,
    MAX_DOCUMENT_LEN,
};
use rfc7523::{DecodeBuffer, Error, UnverifiedAssertion};

/// A fetched document: its body (at most [`MAX_DOCUMENT_LEN`] bytes) and how long it is fresh.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub freshness: Freshness,
}

/// The HTTP client of a run.
#[derive(Debug)]
pub struct Fetcher {
    agent: ureq::Agent,
}

impl Default for Fetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Fetcher {
    /// A client with the policy's rules: no redirect, [`FETCH_TIMEOUT`] end to end, no proxy
    /// (the configured URL is the one reached), statuses returned rather than turned into
    /// errors (the core judges them).
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(FETCH_TIMEOUT)))
            .proxy(None)
            .user_agent(concat!("rfc7523/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Self { agent }
    }

    /// GETs `url` (a URL of the registry, which passed the core's URL rules at load) for a
    /// document of `kind`.
    pub fn get(&self, url: &str, kind: DocumentKind) -> Result<Fetched, FetchFailure> {
        let accept = match kind {
            DocumentKind::Discovery => "application/json",
            DocumentKind::JwkSet => "application/jwk-set+json, application/json",
        };
        let response = self
            .agent
            .get(url)
            .header("Accept", accept)
            .call()
            .map_err(|e| match e {
                ureq::Error::Timeout(_) => FetchFailure::Timeout,
                ureq::Error::Io(e) => io_failure(&e),
                _ => FetchFailure::Network,
            })?;
        check_status(response.status().as_u16())?;
        let headers = response.headers();
        // An announced length past the bound refuses before a byte of the body is read.
        if let Some(len) = headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            check_len(len).map_err(FetchFailure::Document)?;
        }
        let mut types = headers.get_all("content-type").iter();
        let content_type = match (types.next(), types.next()) {
            (None, _) => None,
            (Some(value), None) => Some(
                value
                    .to_str()
                    .map_err(|_| FetchFailure::ContentType(ContentTypeError::Malformed))?,
            ),
            // RFC 9110 §8.3: a single value; two are not a media type.
            (Some(_), Some(_)) => {
                return Err(FetchFailure::ContentType(ContentTypeError::Malformed))
            }
        };
        check_content_type(kind, content_type).map_err(FetchFailure::ContentType)?;
        // Bytes outside visible ASCII make a line unreadable, which the core takes as the
        // shortest lifetime.
        let lossy =
            |v: &ureq::http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
        let cache_control: Vec<String> =
            headers.get_all("cache-control").iter().map(lossy).collect();
        let age = headers.get("age").map(lossy);
        let freshness =
            Freshness::from_headers(cache_control.iter().map(String::as_str), age.as_deref());
        let mut body = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_DOCUMENT_LEN as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| io_failure(&e))?;
        check_len(body.len() as u64).map_err(FetchFailure::Document)?;
        Ok(Fetched { body, freshness })
    }
}

/// A read or connection error: a timeout, or the network.
fn io_failure(e: &io::Error) -> FetchFailure {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => FetchFailure::Timeout,
        _ => FetchFailure::Network,
    }
}

/// What [`RemoteKeys::ensure`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ensured {
    /// The party's keys are usable (fresh, or stale within their grace while a refresh cannot
    /// be had), or the party's keys are not fetched at all.
    Ready,
    /// A refetch for an unknown key was made (whatever its outcome): validate again.
    Refetched,
    /// No refetch is due: the unknown key stays unknown.
    KeyNotFound,
    /// No usable keys and none can be had now.
    Unavailable(Unavailable),
}

/// The caches of one remote party.
#[derive(Debug, Default)]
struct PartyCache {
    /// Its discovery document's (issuers with `discovery` only).
    discovery: KeyCache,
    /// Its JWK Set's.
    jwks: KeyCache,
    /// The JWK Set's URL: configured, or from the last accepted discovery document.
    jwks_uri: Option<String>,
}

/// The remote key sets of a run: a cache per remote party, the fetcher, and where failures
/// are reported (standard error).
#[derive(Debug)]
pub struct RemoteKeys {
    fetcher: Fetcher,
    caches: HashMap<(PartyKind, String), PartyCache>,
}

impl RemoteKeys {
    fn new() -> Self {
        Self {
            fetcher: Fetcher::new(),
            caches: HashMap::new(),
        }
    }
}

/// The registry of a run with its remote key sets, for one thread or many.
#[derive(Debug)]
pub struct Shared {
    registry: RwLock<Registry>,
    remote: Mutex<RemoteKeys>,
    /// Whether any party's keys are fetched (if none, tokens are not read twice).
    any_remote: bool,
}

impl Shared {
    pub fn new(registry: Registry) -> Self {
        let any_remote = registry.remote_parties().next().is_some();
        Self {
            any_remote,
            registry: RwLock::new(registry),
            remote: Mutex::new(RemoteKeys::new()),
        }
    }

    /// The registry, to validate with (fetches wait until it is released).
    pub fn read(&self) -> RwLockReadGuard<'_, Registry> {
        // A panic elsewhere cannot leave the registry half-written: installs replace a
        // party's keys in one assignment.
        self.registry.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The remote party of `kind` that `token`'s `iss` names, if its keys are fetched: whose
    /// keys to make ready before validating (the `iss` read before verification chooses keys
    /// only, as in the core).
    pub fn target(&self, kind: PartyKind, token: &str) -> Option<String> {
        if !self.any_remote {
            return None;
        }
        let mut buffer = DecodeBuffer::new();
        let unverified = UnverifiedAssertion::parse(token, &mut buffer).ok()?;
        let mut text = ClaimString::new();
        let iss = unverified.issuer_hint().ok()?.decode(&mut text).to_owned();
        self.read().remote_party(kind, &iss).map(|_| iss)
    }

    /// Makes the keys of the remote party `id` of `kind` ready at `now` for `need`, fetching
    /// when the party's caches say so (one fetch at a time for the whole run).
    pub fn ensure(&self, kind: PartyKind, id: &str, now: u64, need: Need) -> Ensured {
        let mut remote = self.remote.lock().unwrap_or_else(PoisonError::into_inner);
        let RemoteKeys { fetcher, caches } = &mut *remote;
        let Some(location) = self
            .read()
            .remote_party(kind, id)
            .map(|p| p.location().clone())
        else {
            return Ensured::Ready;
        };
        let cache = caches.entry((kind, id.to_owned())).or_default();
        if let KeyLocation::JwksUri(uri) = &location {
            cache.jwks_uri.get_or_insert_with(|| uri.clone());
        }
        if let KeyLocation::Discovery { url, .. } = &location {
            if let Err(u) = self.discover(fetcher, cache, kind, id, url, now) {
                return Ensured::Unavailable(u);
            }
        }
        let Some(jwks_uri) = cache.jwks_uri.clone() else {
            return Ensured::Unavailable(Unavailable {
                retry_after: 1,
                cause: None,
            });
        };
        // At most three rounds: a fetch, then the answer on its result (a failed fetch is
        // followed by a decision within the cooldown, which never fetches).
        for _ in 0..3 {
            let step = cache.jwks.decide(now, need);
            let ticket = match step {
                Step::Verify { .. } => return Ensured::Ready,
                Step::KeyNotFound => return Ensured::KeyNotFound,
                Step::Unavailable(u) => return Ensured::Unavailable(u),
                // Fetches are made under the lock, so none is in flight here but one whose
                // report never came (abandoned); take what can be done meanwhile.
                Step::Wait { meanwhile, .. } => return meanwhile_of(meanwhile),
                Step::Fetch { ticket, .. } => ticket,
            };
            let fetched_at = ticket.started_at().min(now);
            match fetcher.get(&jwks_uri, DocumentKind::JwkSet) {
                Ok(fetched) => {
                    let entry = Entry {
                        fetched_at,
                        max_age: fetched.freshness.max_age(),
                    };
                    let installed = self
                        .registry
                        .write()
                        .unwrap_or_else(PoisonError::into_inner)
                        .install_jwk_set(kind, id, &fetched.body, entry);
                    match installed {
                        Ok(_) => {
                            let _ = cache.jwks.fetched(ticket, now, fetched.freshness);
                        }
                        Err(e) => {
                            report(kind, id, &jwks_uri, &e);
                            cache.jwks.failed(ticket, now, e.fetch_failure());
                        }
                    }
                }
                Err(cause) => {
                    report(kind, id, &jwks_uri, &cause);
                    cache.jwks.failed(ticket, now, cause);
                }
            }
            if need == Need::UnknownKey {
                return Ensured::Refetched;
            }
        }
        Ensured::Ready
    }

    /// Keeps `cache.jwks_uri` from a fresh-enough discovery document, fetching it when due.
    /// `Err` when there is no document to go by and none can be had now.
    fn discover(
        &self,
        fetcher: &Fetcher,
        cache: &mut PartyCache,
        kind: PartyKind,
        id: &str,
        url: &str,
        now: u64,
    ) -> Result<(), Unavailable> {
        for _ in 0..3 {
            let ticket = match cache.discovery.decide(now, Need::Keys) {
                Step::Verify { .. } => return Ok(()),
                Step::Fetch { ticket, .. } => ticket,
                // Without a usable document, the last jwks_uri it gave (if any) still serves
                // the JWK Set's own cache, whose keys have their own lifetime.
                Step::Unavailable(u)
                | Step::Wait {
                    meanwhile: Meanwhile::Unavailable(u),
                    ..
                } => {
                    return if cache.jwks_uri.is_some() {
                        Ok(())
                    } else {
                        Err(u)
                    };
                }
                Step::Wait { .. } | Step::KeyNotFound => return Ok(()),
            };
            let read = fetcher
                .get(url, DocumentKind::Discovery)
                .and_then(|fetched| {
                    let registry = self.read();
                    let party = registry.remote_party(kind, id).ok_or(FetchFailure::Keys)?;
                    party
                        .read_discovery(&fetched.body)
                        .map(|doc| (doc.jwks_uri().to_owned(), fetched.freshness))
                        .map_err(|e: DocumentError| FetchFailure::Document(e))
                });
            match read {
                Ok((jwks_uri, freshness)) => {
                    if cache.jwks_uri.as_deref() != Some(jwks_uri.as_str()) {
                        // Another key set: its own cache, from nothing.
                        cache.jwks = KeyCache::new();
                        cache.jwks_uri = Some(jwks_uri);
                    }
                    let _ = cache.discovery.fetched(ticket, now, freshness);
                }
                Err(cause) => {
                    report(kind, id, url, &cause);
                    cache.discovery.failed(ticket, now, cause);
                }
            }
        }
        Ok(())
    }
}

fn meanwhile_of(meanwhile: Meanwhile) -> Ensured {
    match meanwhile {
        Meanwhile::Verify { .. } => Ensured::Ready,
        Meanwhile::KeyNotFound => Ensured::KeyNotFound,
        Meanwhile::Unavailable(u) => Ensured::Unavailable(u),
    }
}

/// One line on standard error for a fetch that gave nothing usable: the party, the URL (both
/// from the registry) and why (fixed words: nothing the server sent).
fn report(kind: PartyKind, id: &str, url: &str, cause: &dyn std::fmt::Display) {
    let who = match kind {
        PartyKind::Client => "client",
        PartyKind::Issuer => "issuer",
    };
    let line = crate::one_line(&format!("{who} \"{id}\": GET {url}: {cause}"));
    // Nothing better to do when standard error itself fails.
    let _ = writeln!(io::stderr(), "rfc7523: {line}");
}

/// `error` with the `Retry-After` of `unavailable`, when it is `keys_unavailable` and the
/// caches said when they fetch again.
pub fn with_retry_after(error: Error, unavailable: Option<Unavailable>) -> Error {
    match unavailable {
        Some(u) => error.with_retry_after(u.retry_after),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use rfc7523::remote_keys::{REFETCH_COOLDOWN, STALE_GRACE};
    use rfc7523_conformance::http::{Reply, TestServer};
    use rfc7523_conformance::{distinct_2048_key_pairs, public_jwk};
    use serde_json::{json, Value};

    use super::*;

    const NOW: u64 = 1_700_000_000;
    const CLIENT: &str = "client-r";

    fn jwks(keys: &[&str]) -> Value {
        let pairs = distinct_2048_key_pairs(2);
        let keys: Vec<Value> = keys
            .iter()
            .zip(&pairs)
            .map(|(kid, (_, public))| serde_json::from_str(&public_jwk(public, kid)).unwrap())
            .collect();
        json!({ "keys": keys })
    }

    fn shared_for(jwks_uri: &str) -> Shared {
        let doc = json!({
            "issuer": "https://as.example",
            "clients": [{ "client_id": CLIENT, "token_endpoint_auth_method": "private_key_jwt",
                          "jwks_uri": jwks_uri }],
        });
        Shared::new(Registry::from_json(&doc.to_string()).unwrap())
    }

    /// The caches over time, each step against the core's policy and the server's count of
    /// requests: the first fetch; fresh keys without a fetch; an unknown `kid` within the
    /// cooldown (no fetch) and after it (one refetch: a rotation); expiry refreshed; failing
    /// refreshes riding on stale keys until the grace ends; then unavailable, with the
    /// `Retry-After` of the cooldown and the cause.
    #[test]
    fn the_caches_follow_the_core_policy_over_time() {
        let one = jwks(&["k0"]);
        let two = jwks(&["k0", "k1"]);
        let server = TestServer::start(move |_, n| match n {
            1 => Reply::json(&one).header("Cache-Control", "max-age=600"),
            2 | 3 => Reply::json(&two).header("Cache-Control", "max-age=600"),
            _ => Reply::status(500),
        });
        let shared = shared_for(&server.url("/jwks"));
        let third = NOW + REFETCH_COOLDOWN + 600; // the third fetch's time
        let expires = third + 600 + STALE_GRACE;
        let unavailable = |retry_after| {
            Ensured::Unavailable(Unavailable {
                retry_after,
                cause: Some(FetchFailure::Status { status: 500 }),
            })
        };
        let failed = unavailable(REFETCH_COOLDOWN);
        use Ensured::{KeyNotFound, Ready, Refetched};
        use Need::{Keys, UnknownKey};
        let rows = [
            (NOW, Keys, Ready, 1, 1),
            (NOW + 1, Keys, Ready, 1, 1),
            (NOW + REFETCH_COOLDOWN - 1, UnknownKey, KeyNotFound, 1, 1),
            (NOW + REFETCH_COOLDOWN, UnknownKey, Refetched, 2, 2),
            (NOW + REFETCH_COOLDOWN + 1, UnknownKey, KeyNotFound, 2, 2),
            (third - 1, Keys, Ready, 2, 2),
            (third, Keys, Ready, 3, 2),
            (third + 600, Keys, Ready, 4, 2), // stale: the refresh fails (500)
            (third + 600 + REFETCH_COOLDOWN - 1, Keys, Ready, 4, 2),
            (third + 600 + REFETCH_COOLDOWN, Keys, Ready, 5, 2),
            (expires - 1, Keys, Ready, 6, 2),
            (expires - 1, UnknownKey, KeyNotFound, 6, 2),
            // The last refresh started a second ago: no fetch until the cooldown ends.
            (expires, Keys, unavailable(REFETCH_COOLDOWN - 1), 6, 0),
            (expires + REFETCH_COOLDOWN - 1, Keys, failed, 7, 0),
            (
                expires + REFETCH_COOLDOWN,
                Keys,
                unavailable(REFETCH_COOLDOWN - 1),
                7,
                0,
            ),
        ];
        for (now, need, expected, hits, usable_keys) in rows {
            let got = shared.ensure(PartyKind::Client, CLIENT, now, need);
            assert_eq!(got, expected, "at {now} for {need:?}");
            assert_eq!(server.hits("/jwks"), hits, "requests by {now}");
            let registry = shared.read();
            let party = registry.clients().get(CLIENT).unwrap();
            let usable = if party.key_source().usable_at(now) {
                party.keys().len()
            } else {
                0
            };
            assert_eq!(usable, usable_keys, "keys usable at {now}");
        }
    }

    /// A party not in the registry, or with inline keys, needs nothing fetched.
    #[test]
    fn parties_without_remote_keys_are_ready() {
        let shared = shared_for("http://127.0.0.1:9/jwks");
        assert_eq!(
            shared.ensure(PartyKind::Issuer, CLIENT, NOW, Need::Keys),
            Ensured::Ready
        );
        assert_eq!(
            shared.ensure(PartyKind::Client, "nobody", NOW, Need::Keys),
            Ensured::Ready
        );
        assert_eq!(shared.target(PartyKind::Client, "not-a-jws"), None);
    }
}
