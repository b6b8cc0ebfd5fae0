//! Remote key sets in the asynchronous methods (issue 14; feature `remote`, in the main module
//! only): a registry's `jwks_uri` and `discovery` parties, fetched with the option `fetch` (the
//! global `fetch` by default) under the core's policy ([`rfc7523::remote_keys`]) and cached
//! in the verifier, optionally in a persistent `jwksCache` shared by instances.
//!
//! The division of work:
//!
//! - **Rust (here)** keeps, per remote party, a [`KeyCache`] for its discovery document (if it
//!   has one) and one for its JWK Set, and answers the driver's three questions: what to do
//!   now for a party ([`Remote::plan`]: ready, refuse, read the shared cache, fetch, or wait for
//!   the read or fetch in flight), what a response was ([`Remote::report`]: status,
//!   `Content-Length`, `Content-Type`, size and body judged by the core, the keys installed by
//!   [`Registry::install_jwk_set`]), and what a shared-cache record is worth
//!   ([`Remote::adopt`]: a core [`Record`] for the same URI whose document passes the same
//!   checks as a response, adopted only when newer).
//! - **The JavaScript driver** (the snippet below) does the I/O and the waiting: one GET per
//!   [`Plan::Fetch`] with `redirect: "manual"`, an `AbortSignal` and a timer of
//!   [`FETCH_TIMEOUT`], the body read chunk by chunk and stopped past [`MAX_DOCUMENT_LEN`];
//!   one promise per URI in flight that every other caller awaits (single flight within the
//!   verifier); `jwksCache.get` / `set`; and the order of a call: the parties' keys made
//!   ready, a trial run of the core that tells whether an assertion's `kid` names none of its
//!   party's keys (then one refetch, as the cache allows), then the real run.
//!
//! The URLs fetched are the registry's (a `jwks_uri`, a discovery URL) and a discovery
//! document's `jwks_uri` once its `issuer` matched: never anything from a token. Nothing here
//! judges an assertion: the core refuses `keys_unavailable` when a party's keys are absent or
//! past their grace, with the `Retry-After` this module's caches give.

use core::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Weak;

use js_sys::{Array, Function, Uint8Array};
use rfc7523::registry::{KeyLocation, PartyKind, Registry};
use rfc7523::remote_keys::{
    check_content_type, check_len, check_status, Adopted, DocumentKind, Entry, FetchFailure,
    FetchTicket, Freshness, KeyCache, Meanwhile, Need, Record, Step, FETCH_TIMEOUT,
    MAX_DOCUMENT_LEN,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::Shared;
use crate::{member, type_error};

#[wasm_bindgen(inline_js = "
// The remote-key driver of one verifier (src/remote.rs): I/O and waiting only; every
// judgement is the core's, through hooks.plan, hooks.report and hooks.adopt.
export function remoteDriver(fetchOption, store, limits, hooks) {
  // The core's and remote.rs's constants; KEYS and UNKNOWN_KEY: what a party's keys are
  // needed for.
  const [limit, timeoutMs, maxSteps, retrySoon, KEYS, UNKNOWN_KEY] = limits;
  const inflight = new Map();
  const TIMEOUT = Symbol('timeout');
  // `work` within the fetch timeout, else `fallback` (the work is left to finish alone).
  function bounded(work, fallback) {
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(fallback), timeoutMs); });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }
  async function get(uri, accept) {
    const fetchFn = fetchOption ?? globalThis.fetch;
    if (typeof fetchFn !== 'function') return { failure: 'network' };
    const controller = new AbortController();
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => { controller.abort(); reject(TIMEOUT); }, timeoutMs);
    });
    const exchange = (async () => {
      const res = await fetchFn(uri, { method: 'GET', redirect: 'manual', signal: controller.signal, headers: { accept } });
      const h = res.headers;
      const out = {
        status: res.status,
        redirected: res.redirected === true || res.type === 'opaqueredirect',
        contentType: h.get('content-type'),
        contentLength: h.get('content-length'),
        cacheControl: h.get('cache-control'),
        age: h.get('age'),
      };
      const announced = out.contentLength === null ? NaN : Number(out.contentLength);
      if (out.status !== 200 || out.redirected || announced > limit || !res.body) {
        try { await res.body?.cancel(); } catch {}
        out.body = new Uint8Array(0);
        return out;
      }
      // Read no further than one byte past the limit (the core then says how much too large).
      const reader = res.body.getReader();
      const chunks = [];
      let total = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const room = limit + 1 - total;
        chunks.push(value.length > room ? value.subarray(0, room) : value);
        total += Math.min(value.length, room);
        if (total > limit) { try { await reader.cancel(); } catch {} break; }
      }
      const body = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) { body.set(c, at); at += c.length; }
      out.body = body;
      return out;
    })();
    exchange.catch(() => {});
    try {
      return await Promise.race([exchange, timeout]);
    } catch (e) {
      return { failure: e === TIMEOUT || controller.signal.aborted ? 'timeout' : 'network' };
    } finally {
      clearTimeout(timer);
    }
  }
  // Makes the keys of one party ready: the result of its last plan (['ready'], ['not_found'],
  // ['unavailable', retryAfter]), after at most maxSteps steps.
  async function ensure(kind, id, need, now) {
    const read = [];
    for (let step = 0; step < maxSteps; step++) {
      const plan = hooks.plan(kind, id, need, now, read);
      const [what, uri] = plan;
      if (what === 'read') {
        read.push(uri);
        const p = (async () => {
          let record;
          try { record = await bounded((async () => store.get(uri))(), undefined); } catch {}
          hooks.adopt(kind, id, uri, record, now);
        })();
        inflight.set(uri, p);
        try { await p; } finally { if (inflight.get(uri) === p) inflight.delete(uri); }
      } else if (what === 'fetch') {
        const [, , ticket, accept] = plan;
        const p = (async () => {
          const response = await get(uri, accept);
          const record = hooks.report(kind, id, ticket, now, response);
          if (record !== undefined && store) {
            try { await bounded((async () => store.set(uri, record))(), undefined); } catch {}
          }
        })();
        inflight.set(uri, p);
        try { await p; } finally { if (inflight.get(uri) === p) inflight.delete(uri); }
        if (plan[4]) return ['refetched'];
      } else if (what === 'wait') {
        const p = inflight.get(uri);
        if (p === undefined) return plan[2];
        await p;
      } else {
        return plan;
      }
    }
    return ['unavailable', retrySoon];
  }
  return {
    // targets: [[kind, id] | null, [kind, id] | null]; trial(): the slot whose assertion's kid
    // names none of its party's keys, or -1; finish(retry0, retry1): the call's promise.
    async run(targets, now, trial, finish) {
      const retry = [-1, -1];
      const note = (slot, outcome) => { if (outcome[0] === 'unavailable') retry[slot] = outcome[1]; };
      await Promise.all(targets.map(async (t, slot) => {
        if (t) note(slot, await ensure(t[0], t[1], KEYS, now));
      }));
      const refetched = [false, false];
      for (let round = 0; round < 2; round++) {
        const slot = trial();
        if (slot < 0 || refetched[slot] || !targets[slot]) break;
        refetched[slot] = true;
        note(slot, await ensure(targets[slot][0], targets[slot][1], UNKNOWN_KEY, now));
      }
      return finish(retry[0], retry[1]);
    },
  };
}
")]
extern "C" {
    #[wasm_bindgen(js_name = remoteDriver)]
    /// The driver of one verifier; `limits` is `[MAX_DOCUMENT_LEN, FETCH_TIMEOUT in ms,
    /// MAX_DRIVER_STEPS, RETRY_SOON, NEED_KEYS, NEED_UNKNOWN_KEY]`.
    fn remote_driver(
        fetch: &JsValue,
        store: &JsValue,
        limits: &JsValue,
        hooks: &JsValue,
    ) -> JsValue;
}

/// Steps (plans, reads, fetches, waits) one call's `ensure` of one party takes at most: a
/// discovery document and a key set each read from the shared cache, fetched, and waited for
/// twice, with room to spare. Past it the party is taken as unavailable for this call.
const MAX_DRIVER_STEPS: u32 = 12;

/// The `Retry-After` of a refusal that is not the cache's (no jwks_uri known yet, the driver
/// out of steps, the verifier gone or in use): one second.
const RETRY_SOON: u64 = 1;

/// What a party's keys are needed for, as the driver passes it ([`Need`]).
const NEED_KEYS: u32 = 0;
const NEED_UNKNOWN_KEY: u32 = 1;

/// Kinds of party as the driver passes them.
const CLIENT: u32 = 0;
const ISSUER: u32 = 1;

/// What the driver should do next for one party (the `plan` hook's answer, as an array).
#[derive(Debug)]
enum Plan {
    /// The party's keys are usable (fresh, or stale within their grace while no refresh can be
    /// had): validate.
    Ready,
    /// No refetch is due: the unknown key stays unknown.
    NotFound,
    /// No usable keys and none can be had now: seconds until a fetch may start.
    Unavailable(u64),
    /// Read the shared cache's record for this URI first (a fetch is due).
    Read(String),
    /// GET this URI for a document of this kind, and report it with this ticket.
    Fetch(String, DocumentKind, u32),
    /// A read or fetch of this URI is in flight: await it, then plan again; without one, the
    /// step given.
    Wait(String, Box<Plan>),
}

impl Plan {
    fn to_js(&self, need: Need) -> JsValue {
        let out = Array::new();
        let push = |v: JsValue| {
            out.push(&v);
        };
        match self {
            Plan::Ready => push("ready".into()),
            Plan::NotFound => push("not_found".into()),
            Plan::Unavailable(s) => {
                push("unavailable".into());
                push(JsValue::from(*s as f64));
            }
            Plan::Read(uri) => {
                push("read".into());
                push(uri.into());
            }
            Plan::Fetch(uri, kind, ticket) => {
                push("fetch".into());
                push(uri.into());
                push(JsValue::from(*ticket));
                push(
                    match kind {
                        DocumentKind::Discovery => "application/json",
                        _ => "application/jwk-set+json, application/json",
                    }
                    .into(),
                );
                // A refetch for an unknown key ends the driver's `ensure` once made.
                push(JsValue::from(
                    need == Need::UnknownKey && *kind == DocumentKind::JwkSet,
                ));
            }
            Plan::Wait(uri, meanwhile) => {
                push("wait".into());
                push(uri.into());
                push(meanwhile.to_js(need));
            }
        }
        out.into()
    }
}

/// One document of a party: its cache policy, the fetch in flight's ticket (with the id the
/// driver reports it by), and whether its shared-cache record is being read.
#[derive(Debug, Default)]
struct Document {
    cache: KeyCache,
    ticket: Option<(u32, FetchTicket)>,
    reading: bool,
}

/// The caches of one remote party.
#[derive(Debug, Default)]
struct PartyCache {
    /// Its discovery document's (issuers with `discovery` only).
    discovery: Document,
    /// Its JWK Set's.
    jwks: Document,
    /// The JWK Set's URL: configured, or from the last accepted discovery document.
    jwks_uri: Option<String>,
}

/// The remote key sets of one verifier: the caches and the JavaScript driver.
#[derive(Debug)]
pub(super) struct Remote {
    parties: RefCell<BTreeMap<(u32, String), PartyCache>>,
    next_ticket: Cell<u32>,
    store: bool,
    driver: JsValue,
}

/// The party kind of the driver's number.
fn kind_of(kind: u32) -> PartyKind {
    if kind == CLIENT {
        PartyKind::Client
    } else {
        PartyKind::Issuer
    }
}

/// The driver's number of a party kind.
pub(super) fn kind_number(kind: PartyKind) -> u32 {
    match kind {
        PartyKind::Client => CLIENT,
        PartyKind::Issuer => ISSUER,
    }
}

/// The options `fetch` and `jwksCache`, checked.
#[derive(Debug)]
pub(super) struct RemoteOptions {
    fetch: JsValue,
    store: JsValue,
}

impl RemoteOptions {
    /// `fetch` (a function, or absent for the global one) and `jwksCache` (`{ get, set }`, or
    /// absent) of the verifier `options`; `None` when `config` has no remote party (then they
    /// are checked and unused).
    pub(super) fn read(
        options: &JsValue,
        config: &super::Config,
    ) -> Result<Option<RemoteOptions>, JsValue> {
        let fetch = member(options, &"fetch".into())?.unwrap_or(JsValue::UNDEFINED);
        if !fetch.is_undefined() && !fetch.is_function() {
            return Err(type_error(
                "fetch must be a function like the global fetch (omit it for the global one)",
            ));
        }
        let store = member(options, &"jwksCache".into())?.unwrap_or(JsValue::UNDEFINED);
        if !store.is_undefined() {
            let method = |name: &str| {
                member(&store, &name.into())
                    .ok()
                    .flatten()
                    .is_some_and(|f| f.is_function())
            };
            if !store.is_object() || !method("get") || !method("set") {
                return Err(type_error(
                    "jwksCache must be an object with get(uri) and set(uri, record) methods",
                ));
            }
        }
        let remote = registry_of(config).is_some_and(|r| r.remote_parties().next().is_some());
        Ok(remote.then_some(RemoteOptions { fetch, store }))
    }
}

impl Remote {
    /// The caches and driver of a verifier whose registry has remote parties. The driver's
    /// hooks hold `shared` weakly (the verifier holds the driver).
    pub(super) fn new(shared: Weak<Shared>, options: RemoteOptions) -> Remote {
        let RemoteOptions { fetch, store } = options;
        let has_store = !store.is_undefined();
        let hooks = js_sys::Object::new();
        let weak = shared.clone();
        let plan = Closure::wrap(Box::new(
            move |kind: u32, id: String, need: u32, now: f64, read: JsValue| -> JsValue {
                let need = if need == NEED_UNKNOWN_KEY {
                    Need::UnknownKey
                } else {
                    Need::Keys
                };
                match weak.upgrade() {
                    Some(shared) => shared
                        .remote_plan(kind_of(kind), &id, need, now as u64, &read)
                        .to_js(need),
                    None => Plan::Unavailable(RETRY_SOON).to_js(need),
                }
            },
        )
            as Box<dyn Fn(u32, String, u32, f64, JsValue) -> JsValue>);
        let weak = shared.clone();
        let report = Closure::wrap(Box::new(
            move |kind: u32, id: String, ticket: u32, now: f64, response: JsValue| -> JsValue {
                weak.upgrade()
                    .and_then(|shared| {
                        shared.remote_report(kind_of(kind), &id, ticket, now as u64, &response)
                    })
                    .map_or(JsValue::UNDEFINED, JsValue::from)
            },
        )
            as Box<dyn Fn(u32, String, u32, f64, JsValue) -> JsValue>);
        let adopt = Closure::wrap(Box::new(
            move |kind: u32, id: String, uri: String, record: JsValue, now: f64| {
                if let Some(shared) = shared.upgrade() {
                    shared.remote_adopt(kind_of(kind), &id, &uri, &record, now as u64);
                }
            },
        ) as Box<dyn Fn(u32, String, String, JsValue, f64)>);
        // Setting a property of a new plain object cannot fail.
        let _ = js_sys::Reflect::set(&hooks, &"plan".into(), &plan.into_js_value());
        let _ = js_sys::Reflect::set(&hooks, &"report".into(), &report.into_js_value());
        let _ = js_sys::Reflect::set(&hooks, &"adopt".into(), &adopt.into_js_value());
        let limits: Array = [
            MAX_DOCUMENT_LEN as f64,
            (FETCH_TIMEOUT * 1000) as f64,
            f64::from(MAX_DRIVER_STEPS),
            RETRY_SOON as f64,
            f64::from(NEED_KEYS),
            f64::from(NEED_UNKNOWN_KEY),
        ]
        .iter()
        .map(|&n| JsValue::from(n))
        .collect();
        let driver = remote_driver(&fetch, &store, &limits, &hooks);
        Remote {
            parties: RefCell::new(BTreeMap::new()),
            next_ticket: Cell::new(0),
            store: has_store,
            driver,
        }
    }

    /// Runs a call through the driver: the `targets`' keys made ready, `trial` (the slot to
    /// refetch for, or -1) asked until nothing more is due, then `finish(retry0, retry1)`.
    pub(super) fn run(
        &self,
        targets: &[Option<(PartyKind, String)>; 2],
        now: u64,
        trial: JsValue,
        finish: JsValue,
    ) -> Result<js_sys::Promise, JsValue> {
        let list = Array::new();
        for target in targets {
            list.push(&match target {
                Some((kind, id)) => {
                    Array::of2(&JsValue::from(kind_number(*kind)), &id.into()).into()
                }
                None => JsValue::NULL,
            });
        }
        let run: Function = js_sys::Reflect::get(&self.driver, &"run".into())?.dyn_into()?;
        let out = run.call4(
            &self.driver,
            &list,
            &JsValue::from(now as f64),
            &trial,
            &finish,
        )?;
        out.dyn_into()
    }

    fn ticket(&self) -> u32 {
        let id = self.next_ticket.get();
        self.next_ticket.set(id.wrapping_add(1));
        id
    }

    /// The next step for `document` (at `uri`, of `kind`) at `now` for `need`.
    fn plan_document(
        &self,
        document: &mut Document,
        uri: &str,
        kind: DocumentKind,
        now: u64,
        need: Need,
        read: &JsValue,
    ) -> Plan {
        // The shared cache first, when a fetch is due: another instance may have fetched.
        if self.store && !Array::from(read).includes(&uri.into(), 0) {
            if document.reading {
                return Plan::Wait(uri.to_owned(), Box::new(Plan::Unavailable(RETRY_SOON)));
            }
            if matches!(document.cache.clone().decide(now, need), Step::Fetch { .. }) {
                document.reading = true;
                return Plan::Read(uri.to_owned());
            }
        }
        let meanwhile = |m: Meanwhile| match m {
            Meanwhile::Verify { .. } => Plan::Ready,
            Meanwhile::KeyNotFound => Plan::NotFound,
            Meanwhile::Unavailable(u) => Plan::Unavailable(u.retry_after),
        };
        match document.cache.decide(now, need) {
            Step::Verify { .. } => Plan::Ready,
            Step::KeyNotFound => Plan::NotFound,
            Step::Unavailable(u) => Plan::Unavailable(u.retry_after),
            Step::Wait { meanwhile: m, .. } => Plan::Wait(uri.to_owned(), Box::new(meanwhile(m))),
            Step::Fetch { ticket, .. } => {
                let id = self.ticket();
                document.ticket = Some((id, ticket));
                Plan::Fetch(uri.to_owned(), kind, id)
            }
        }
    }
}

impl Shared {
    /// The `plan` hook: what to do now for the party `id` of `kind`.
    fn remote_plan(&self, kind: PartyKind, id: &str, need: Need, now: u64, read: &JsValue) -> Plan {
        let Some(remote) = &self.remote else {
            return Plan::Ready;
        };
        let Ok(config) = self.config.try_borrow() else {
            return Plan::Unavailable(RETRY_SOON);
        };
        let Some(location) = registry_of(&config)
            .and_then(|r| r.remote_party(kind, id))
            .map(|p| p.location().clone())
        else {
            return Plan::Ready;
        };
        drop(config);
        let Ok(mut parties) = remote.parties.try_borrow_mut() else {
            return Plan::Unavailable(RETRY_SOON);
        };
        let cache = parties
            .entry((kind_number(kind), id.to_owned()))
            .or_default();
        match &location {
            KeyLocation::JwksUri(uri) => {
                cache.jwks_uri.get_or_insert_with(|| uri.clone());
            }
            KeyLocation::Discovery { url, .. } => {
                let plan = remote.plan_document(
                    &mut cache.discovery,
                    url,
                    DocumentKind::Discovery,
                    now,
                    Need::Keys,
                    read,
                );
                match plan {
                    Plan::Ready | Plan::NotFound => {}
                    // Without a usable document, the last jwks_uri it gave (if any) still
                    // serves the JWK Set's own cache, whose keys have their own lifetime.
                    Plan::Unavailable(_) | Plan::Wait(..) if cache.jwks_uri.is_some() => {}
                    other => return other,
                }
            }
        }
        let Some(jwks_uri) = cache.jwks_uri.clone() else {
            return Plan::Unavailable(RETRY_SOON);
        };
        remote.plan_document(
            &mut cache.jwks,
            &jwks_uri,
            DocumentKind::JwkSet,
            now,
            need,
            read,
        )
    }

    /// The `report` hook: the response to the fetch `ticket` of a document of the party `id`
    /// of `kind`, judged by the core and reported to its cache; the record to write to the
    /// shared cache, when there is one and the response says it may be kept.
    fn remote_report(
        &self,
        kind: PartyKind,
        id: &str,
        ticket: u32,
        now: u64,
        response: &JsValue,
    ) -> Option<String> {
        let remote = self.remote.as_ref()?;
        let mut parties = remote.parties.try_borrow_mut().ok()?;
        let cache = parties.get_mut(&(kind_number(kind), id.to_owned()))?;
        let ours = |d: &Document| d.ticket.as_ref().is_some_and(|(t, _)| *t == ticket);
        let (doc_kind, document) = if ours(&cache.jwks) {
            (DocumentKind::JwkSet, &mut cache.jwks)
        } else if ours(&cache.discovery) {
            (DocumentKind::Discovery, &mut cache.discovery)
        } else {
            // A report for a fetch the cache has given up on: ignored.
            return None;
        };
        let (_, ticket) = document.ticket.take()?;
        let fetched_at = ticket.started_at().min(now);
        let response = read_response(doc_kind, response);
        match doc_kind {
            DocumentKind::JwkSet => {
                let uri = cache.jwks_uri.clone()?;
                let installed = response.and_then(|(body, freshness)| {
                    let entry = Entry {
                        fetched_at,
                        max_age: freshness.max_age(),
                    };
                    self.install(kind, id, &body, entry)
                        .map(|()| (body, freshness))
                });
                match installed {
                    Ok((body, freshness)) => {
                        let stored = cache.jwks.cache.fetched(ticket, now, freshness);
                        record_to_share(stored, &uri, fetched_at, freshness, &body)
                    }
                    Err(cause) => {
                        cache.jwks.cache.failed(ticket, now, cause);
                        None
                    }
                }
            }
            _ => {
                let config = self.config.try_borrow().ok()?;
                let uri = match registry_of(&config)?.remote_party(kind, id)?.location() {
                    KeyLocation::Discovery { url, .. } => url.clone(),
                    KeyLocation::JwksUri(_) => return None,
                };
                let read = response.and_then(|(body, freshness)| {
                    let party = registry_of(&config)
                        .and_then(|r| r.remote_party(kind, id))
                        .ok_or(FetchFailure::Keys)?;
                    let doc = party
                        .read_discovery(&body)
                        .map_err(FetchFailure::Document)?;
                    Ok((doc.jwks_uri().to_owned(), body, freshness))
                });
                match read {
                    Ok((jwks_uri, body, freshness)) => {
                        set_jwks_uri(cache, jwks_uri);
                        let stored = cache.discovery.cache.fetched(ticket, now, freshness);
                        record_to_share(stored, &uri, fetched_at, freshness, &body)
                    }
                    Err(cause) => {
                        cache.discovery.cache.failed(ticket, now, cause);
                        None
                    }
                }
            }
        }
    }

    /// The `adopt` hook: the shared cache's `record` for `uri` (anything, as `get` answered),
    /// adopted when it is a record of the core's format for that URI, its document passes
    /// the checks of a fetched one, and it is newer than the cached one.
    fn remote_adopt(&self, kind: PartyKind, id: &str, uri: &str, record: &JsValue, now: u64) {
        let Some(remote) = &self.remote else {
            return;
        };
        let Ok(mut parties) = remote.parties.try_borrow_mut() else {
            return;
        };
        let Some(cache) = parties.get_mut(&(kind_number(kind), id.to_owned())) else {
            return;
        };
        let is_discovery = {
            let Ok(config) = self.config.try_borrow() else {
                return;
            };
            matches!(
                registry_of(&config).and_then(|r| r.remote_party(kind, id)).map(|p| p.location()),
                Some(KeyLocation::Discovery { url, .. }) if url == uri
            )
        };
        let is_jwks = cache.jwks_uri.as_deref() == Some(uri);
        if is_jwks {
            cache.jwks.reading = false;
        } else if is_discovery {
            cache.discovery.reading = false;
        } else {
            // Neither of the party's documents (any more): nothing to adopt.
            return;
        }
        let Some(text) = record.as_string() else {
            return;
        };
        let Ok(record) = Record::read(text.as_bytes(), uri) else {
            return;
        };
        let document = if is_jwks {
            &cache.jwks
        } else {
            &cache.discovery
        };
        let mut probe = document.cache.clone();
        if probe.adopt(now, record.fetched_at(), record.max_age()) != Adopted::Adopted {
            return;
        }
        let entry = Entry {
            fetched_at: record.fetched_at().min(now),
            max_age: record.max_age(),
        };
        if is_jwks {
            if self.install(kind, id, record.document(), entry).is_ok() {
                cache.jwks.cache = probe;
            }
            return;
        }
        let jwks_uri = {
            let Ok(config) = self.config.try_borrow() else {
                return;
            };
            let Some(party) = registry_of(&config).and_then(|r| r.remote_party(kind, id)) else {
                return;
            };
            match party.read_discovery(record.document()) {
                Ok(doc) => doc.jwks_uri().to_owned(),
                Err(_) => return,
            }
        };
        set_jwks_uri(cache, jwks_uri);
        cache.discovery.cache = probe;
    }

    /// Installs a JWK Set as the party's keys (the core's checks), then reloads the
    /// platform's key handles, which are per key.
    fn install(
        &self,
        kind: PartyKind,
        id: &str,
        body: &[u8],
        entry: Entry,
    ) -> Result<(), FetchFailure> {
        {
            let mut config = self
                .config
                .try_borrow_mut()
                .map_err(|_| FetchFailure::Keys)?;
            let super::Config::Registry(registry) = &mut *config else {
                return Err(FetchFailure::Keys);
            };
            registry
                .install_jwk_set(kind, id, body, entry)
                .map_err(|e| e.fetch_failure())?;
        }
        self.keys_changed();
        Ok(())
    }
}

/// A new `jwks_uri` from a discovery document: its own JWK Set cache, from nothing.
fn set_jwks_uri(cache: &mut PartyCache, jwks_uri: String) {
    if cache.jwks_uri.as_deref() != Some(jwks_uri.as_str()) {
        cache.jwks = Document::default();
        cache.jwks_uri = Some(jwks_uri);
    }
}

fn registry_of(config: &super::Config) -> Option<&Registry> {
    match config {
        super::Config::Registry(registry) => Some(registry),
        super::Config::One(_) => None,
    }
}

/// The core record of a document, as text (a JWK Set or discovery document that passed the
/// core's checks is UTF-8 JSON).
/// The record a fetch that `stored` describes leaves for the shared `jwksCache`: only when its
/// document replaced the cached one and may be persisted.
fn record_to_share(
    stored: rfc7523::remote_keys::Stored,
    uri: &str,
    fetched_at: u64,
    freshness: Freshness,
    body: &[u8],
) -> Option<String> {
    match stored {
        rfc7523::remote_keys::Stored::Replaced { persist: true } => {
            record(uri, fetched_at, freshness.max_age(), body)
        }
        _ => None,
    }
}

fn record(uri: &str, fetched_at: u64, max_age: u64, body: &[u8]) -> Option<String> {
    let record = Record::new(uri, fetched_at, max_age, body).ok()?;
    let mut out = vec![0u8; record.encoded_len()];
    let bytes = record.write(&mut out).ok()?;
    String::from_utf8(bytes.to_vec()).ok()
}

/// The driver's response object judged by the core's rules: the body and its freshness, or
/// why the fetch failed.
fn read_response(
    kind: DocumentKind,
    response: &JsValue,
) -> Result<(Vec<u8>, Freshness), FetchFailure> {
    let text = |name: &str| {
        member(response, &name.into())
            .ok()
            .flatten()
            .and_then(|v| v.as_string())
    };
    match text("failure").as_deref() {
        Some("timeout") => return Err(FetchFailure::Timeout),
        Some(_) => return Err(FetchFailure::Network),
        None => {}
    }
    let status = member(response, &"status".into())
        .ok()
        .flatten()
        .and_then(|v| v.as_f64())
        .filter(|s| (0.0..=999.0).contains(s))
        .map_or(0, |s| s as u16);
    let redirected = member(response, &"redirected".into())
        .ok()
        .flatten()
        .is_some_and(|v| v.is_truthy());
    if redirected {
        return Err(FetchFailure::Redirect { status });
    }
    check_status(status)?;
    // An announced length past the bound refuses before the body counts.
    if let Some(len) = text("contentLength").and_then(|v| v.trim().parse::<u64>().ok()) {
        check_len(len).map_err(FetchFailure::Document)?;
    }
    check_content_type(kind, text("contentType").as_deref()).map_err(FetchFailure::ContentType)?;
    let body = member(response, &"body".into())
        .ok()
        .flatten()
        .and_then(|v| v.dyn_into::<Uint8Array>().ok())
        .ok_or(FetchFailure::Network)?;
    // The driver read at most one byte past the bound.
    check_len(u64::from(body.length())).map_err(FetchFailure::Document)?;
    let body = body.to_vec();
    let cache_control = text("cacheControl");
    let age = text("age");
    let freshness = Freshness::from_headers(cache_control.as_deref(), age.as_deref());
    Ok((body, freshness))
}
