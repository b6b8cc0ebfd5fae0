// The demo page: the `web` builds of the npm package (served under /pkg/ by
// `cargo xtask demo`): `rfc7523/web` verifies, `rfc7523/sign/web` signs the samples. A
// checklist of the core's verdict, samples signed in the page with the chosen algorithm
// (RS256, PS256, ES256, EdDSA), and one-click mutations. Every verdict comes from the
// package; this file only renders it.
import init, { AssertionError, AssertionVerifier } from './pkg/web/rfc7523.js';
import initSign, { signAssertion } from './pkg/sign/web/rfc7523_sign.js';
import { ALGORITHMS, checklist, knownAlgorithm } from './checklist.js';
import { EXAMPLE_KEYS } from './demo-key.js';

const $ = (id) => document.getElementById(id);

const state = {
  /** The signing key of the samples: { source, alg, label, privatePem, jwk }. */
  key: null,
  /** The current sample: the parameters it was signed with, and the token. */
  sample: null,
  /** One verifier per configuration, kept across clicks: each has its own replay store. */
  verifiers: new Map(),
  /** The last token the page put in the text area (a sample or a mutation). */
  shown: null,
};

// ---------------------------------------------------------------------------------------
// Configuration

function list(text) {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function profile() {
  return document.querySelector('input[name="profile"]:checked').value;
}

function setProfile(value) {
  document.querySelector(`input[name="profile"][value="${value}"]`).checked = true;
  showProfileFields();
}

function showProfileFields() {
  const current = profile();
  for (const fields of document.querySelectorAll('.fields[data-profile]')) {
    fields.hidden = fields.dataset.profile !== current;
  }
}

/** The "now" of the checks: the override, or this device's clock. */
function now() {
  const text = $('now').value.trim();
  if (!text) return { date: new Date(), override: false };
  const date = /^\d+(\.\d+)?$/.test(text) ? new Date(Number(text) * 1000) : new Date(text);
  if (Number.isNaN(date.getTime())) throw new TypeError(`“Now” is neither Unix seconds nor an ISO 8601 date: ${text}`);
  return { date, override: true };
}

function numberField(id) {
  const text = $(id).value.trim();
  return text === '' ? undefined : Number(text);
}

/** The algorithm the samples are signed with (the select's value: RS256, PS256, ES256, EdDSA). */
function sampleAlgorithm() {
  return $('alg').value;
}

/** The verifier options of the form (what `new AssertionVerifier()` gets). */
function verifierOptions() {
  const common = {
    keys: $('keys').value.trim(),
    clockTolerance: numberField('leeway') ?? 30,
    maxLifetime: numberField('max-lifetime'),
    requireJti: $('require-jti').checked,
  };
  if (profile() === 'grant') {
    return {
      ...common,
      issuer: list($('issuers').value),
      audience: list($('audiences').value),
      subject: $('subject').value.trim() || undefined,
    };
  }
  return {
    ...common,
    clientId: $('client-id').value.trim(),
    audience: $('as-issuer').value.trim(),
    requireTyp: $('require-typ').checked,
  };
}

/** The page's verifier for these options; the same object while they stay the same. */
function verifierFor(options) {
  const id = JSON.stringify(options);
  let verifier = state.verifiers.get(id);
  if (!verifier) {
    verifier = new AssertionVerifier(options);
    state.verifiers.set(id, verifier);
  }
  return verifier;
}

// ---------------------------------------------------------------------------------------
// Validation and rendering

/** Validates the assertion in the text area with the page's verifier and shows the result. */
function validate(note = '') {
  const token = $('assertion').value.trim();
  showAnatomy(token);
  const current = profile();
  let options;
  let when;
  let verifier;
  try {
    when = now();
    options = verifierOptions();
    verifier = verifierFor(options);
  } catch (err) {
    return showConfigurationError(err);
  }
  if (!token) {
    return showConfigurationError(new TypeError('Paste an assertion, or press “Generate sample”.'));
  }
  let result = null;
  let error = null;
  try {
    result = verifier.verify(token, { currentDate: when.date });
  } catch (err) {
    if (!(err instanceof AssertionError)) return showConfigurationError(err);
    error = err;
  }
  render({ profile: current, token, options, when, result, error, note });
  return error ? error.reason : 'valid';
}

function render({ profile: current, token, options, when, result, error, note }) {
  const passed = error ? {} : describeValid(current, result, options, when.date);
  const decoded = result ?? decodeUnverified(token);
  // What the rows name: the (verified, or else claimed) alg, and the trusted keys' types.
  const context = { alg: decoded.header?.alg, keys: describeKeys(options.keys) };
  const rows = checklist(current, error, passed, context);

  const verdict = $('verdict');
  verdict.dataset.state = error ? 'invalid' : 'valid';
  verdict.dataset.reason = error ? error.reason : '';
  const use = current === 'grant' ? 'authorization grant' : 'client assertion';
  verdict.querySelector('.verdict-title').textContent = error
    ? `✗ Refused: ${error.reason}`
    : `✓ Valid ${use}`;
  verdict.querySelector('.verdict-sub').textContent = error
    ? `${capitalize(error.message)}.`
    : `Every rule of the ${current === 'grant' ? 'authorization grant' : 'client authentication'} profile passed.`;
  verdict.querySelector('.verdict-note').textContent = [
    note,
    `Checked at ${iso(when.date)}${when.override ? ' (the “now” override)' : ''}.`,
  ]
    .filter(Boolean)
    .join(' ');

  const list = $('checklist');
  list.replaceChildren(
    ...rows.map((row) => {
      const li = el('li', { class: `row ${row.status}` });
      li.dataset.rule = row.rule;
      li.dataset.status = row.status;
      if (row.reason) li.dataset.reason = row.reason;
      const mark = { pass: '✓', fail: '✗', skip: '—' }[row.status];
      li.append(
        el('span', { class: `mark ${row.status}`, 'aria-label': row.status }, mark),
        el('span', { class: 'label' }, row.label),
        el(
          'div',
          { class: 'body' },
          el('div', { class: 'what' }, row.what),
          row.detail ? el('div', { class: 'detail' }, row.reason ? el('code', { class: 'reason' }, row.reason) : '', row.detail) : '',
        ),
      );
      return li;
    }),
  );

  $('response').textContent = error ? errorResponse(error) : tokenResponse();
  $('response').dataset.status = error ? String(error.status) : '200';

  $('decoded-label').textContent = result ? 'verified' : 'decoded, unverified';
  $('decoded-label').dataset.verified = result ? 'true' : 'false';
  $('header').textContent = pretty(decoded.header);
  $('claims').textContent = pretty(decoded.claims, true);
}

/** The per-row text of an accepted assertion, from its verified header and claims. */
function describeValid(current, result, options, date) {
  const { header, claims } = result;
  const nowSeconds = Math.floor(date.getTime() / 1000);
  const leeway = options.clockTolerance;
  // The verified header's alg: the one algorithm of the key that verified it.
  const alg = knownAlgorithm(header.alg);
  const details = {
    structure: 'three segments, canonical base64url, JSON objects',
    algorithm: alg ? `${alg}: the one algorithm of the ${ALGORITHMS[alg].keyType} key that verified it` : String(header.alg),
    header: `alg ${header.alg}${header.kid ? `, kid ${header.kid}` : ''}`,
    key: header.kid ? `the configured key with kid ${header.kid}` : 'a configured key',
    signature: alg ? `verified: ${ALGORITHMS[alg].name}` : 'verified',
    typ: header.typ ? `typ ${header.typ}` : 'absent',
    iss: claims.iss,
    sub: claims.sub,
    aud: Array.isArray(claims.aud) ? claims.aud.join(', ') : claims.aud,
    exp: `${iso(claims.exp)}: ${relative(claims.exp - nowSeconds)} (leeway ${leeway} s)`,
    nbf: claims.nbf === undefined ? 'absent (optional)' : `${iso(claims.nbf)}: ${relative(claims.nbf - nowSeconds)}`,
    iat: claims.iat === undefined ? 'absent (optional)' : `${iso(claims.iat)}: ${relative(claims.iat - nowSeconds)}`,
  };
  const skipped = {};
  const lifetime = claims.exp - (claims.iat ?? nowSeconds);
  details.lifetime = `${lifetime} s ≤ ${options.maxLifetime ?? '3600 (the default)'} s`;
  if (claims.jti === undefined) {
    skipped.replay = 'no jti: this assertion cannot be replay-checked (tick “Require jti”)';
  } else {
    details.replay = `first use of jti ${claims.jti}: recorded by this page's verifier until exp + leeway`;
  }
  return { details, skipped };
}

/**
 * The trusted keys as the checklist names them beside a refused algorithm: each key's type and
 * JWK alg (e.g. "RSA (alg RS256)"), read from the "Trusted keys" text for display only; the
 * core reads the keys itself. Null when the text is not JSON (a PEM says its type itself).
 */
function describeKeys(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return /BEGIN (RSA )?PUBLIC KEY/.test(text) ? 'a PEM public key' : null;
  }
  const keys = Array.isArray(value?.keys) ? value.keys : [value];
  const types = { RSA: 'RSA', EC: 'EC', OKP: 'OKP' };
  const names = keys.slice(0, 4).map((key) => {
    const type = types[key?.kty] ?? 'a key of another type';
    const curve = ['P-256', 'Ed25519'].includes(key?.crv) ? ` ${key.crv}` : '';
    const alg = knownAlgorithm(key?.alg);
    return `${type}${curve}${alg ? ` (alg ${alg})` : ' (no alg)'}`;
  });
  return names.join(', ') + (keys.length > 4 ? ', …' : '');
}

function errorResponse(error) {
  const text = error.status === 401 ? 'Unauthorized' : 'Bad Request';
  return [
    `HTTP/1.1 ${error.status} ${text}`,
    'Content-Type: application/json',
    'Cache-Control: no-store',
    '',
    error.body,
  ].join('\n');
}

function tokenResponse() {
  const token = base64url(crypto.getRandomValues(new Uint8Array(24)));
  return [
    'HTTP/1.1 200 OK',
    'Content-Type: application/json',
    'Cache-Control: no-store',
    '',
    JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }),
    '',
    '(an example: the assertion passed, so a server would now issue its tokens)',
  ].join('\n');
}

function showConfigurationError(err) {
  const verdict = $('verdict');
  verdict.dataset.state = 'error';
  verdict.dataset.reason = '';
  verdict.querySelector('.verdict-title').textContent = 'Cannot validate';
  verdict.querySelector('.verdict-sub').textContent = err.message;
  verdict.querySelector('.verdict-note').textContent = '';
  $('checklist').replaceChildren();
  $('response').textContent = '';
  $('header').textContent = '';
  $('claims').textContent = '';
  $('decoded-label').textContent = '';
  return 'error';
}

/** Header and claims decoded without any check, for display only. */
function decodeUnverified(token) {
  const [header, payload] = token.split('.');
  const decode = (segment) => {
    try {
      const bytes = Uint8Array.from(atob(segment.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      try {
        return JSON.parse(text);
      } catch {
        return `(not JSON) ${text.slice(0, 200)}`;
      }
    } catch {
      return '(cannot be decoded)';
    }
  };
  return { header: header ? decode(header) : '(missing)', claims: payload ? decode(payload) : '(missing)' };
}

function showAnatomy(token) {
  const parts = token.split('.');
  const out = $('anatomy');
  if (!token) return out.replaceChildren();
  const names = ['header', 'payload', 'signature'];
  out.replaceChildren(
    `${token.length} bytes, ${parts.length} segment${parts.length === 1 ? '' : 's'}: `,
    ...parts.slice(0, 3).flatMap((part, i) => [
      i ? ' . ' : '',
      el('span', { class: `seg-${names[i]}` }, `${names[i]} ${part.length}`),
    ]),
  );
}

// ---------------------------------------------------------------------------------------
// Samples and mutations

async function ensureKey() {
  const choice = $('key-source')?.value ?? 'generated';
  const alg = sampleAlgorithm();
  if (state.key && state.key.source === choice && state.key.alg === alg) return state.key;
  if (choice === 'generated' && globalThis.crypto?.subtle) {
    try {
      state.key = await generateKey(alg);
      return state.key;
    } catch (err) {
      console.warn(`WebCrypto cannot generate a key pair for ${alg}; using the embedded example key`, err);
    }
  }
  state.key = EXAMPLE_KEYS[alg];
  return state.key;
}

/** How WebCrypto makes a key pair for each algorithm of the samples, and the public JWK's
 *  members it keeps. */
const KEY_PAIRS = {
  RS256: {
    params: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    type: 'RSA-2048',
    members: ['kty', 'n', 'e'],
  },
  PS256: {
    params: { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    type: 'RSA-2048',
    members: ['kty', 'n', 'e'],
  },
  ES256: { params: { name: 'ECDSA', namedCurve: 'P-256' }, type: 'P-256', members: ['kty', 'crv', 'x', 'y'] },
  EdDSA: { params: { name: 'Ed25519' }, type: 'Ed25519', members: ['kty', 'crv', 'x'] },
};

/** A fresh key pair for `alg` (WebCrypto), exported as PKCS#8 PEM (what `signAssertion`
 *  reads) and a public JWK whose `alg` pins the key to that one algorithm. */
async function generateKey(alg) {
  const { params, type, members } = KEY_PAIRS[alg];
  const pair = await crypto.subtle.generateKey(params, true, ['sign', 'verify']);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
  const exported = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const kid = `demo-${base64url(crypto.getRandomValues(new Uint8Array(6)))}`;
  const jwk = { kty: exported.kty, kid, use: 'sig', alg };
  for (const name of members) jwk[name] = exported[name];
  return {
    source: 'generated',
    alg,
    label: `${type} key pair generated in this page for ${alg} (kid ${kid})`,
    privatePem: pem('PRIVATE KEY', pkcs8),
    jwk,
  };
}

/** The sample's parameters for the chosen profile, from the form (filling in blanks). */
function sampleParameters(current, { date }) {
  const lifetime = Math.min(numberField('max-lifetime') ?? 300, 300);
  if (current === 'grant') {
    const issuer = list($('issuers').value)[0] ?? 'https://idp.example';
    const audience = list($('audiences').value)[0] ?? 'https://as.example';
    if (!list($('issuers').value).length) $('issuers').value = issuer;
    if (!list($('audiences').value).length) $('audiences').value = audience;
    return { profile: current, issuer, subject: $('subject').value.trim() || 'alice', audience, lifetime, date };
  }
  const client = $('client-id').value.trim() || 's6BhdRkqt3';
  const audience = $('as-issuer').value.trim() || 'https://as.example';
  $('client-id').value = client;
  $('as-issuer').value = audience;
  return { profile: current, issuer: client, subject: client, audience, lifetime, date, clientAuth: true };
}

function sign(params, overrides = {}) {
  const p = { ...params, ...overrides };
  return signAssertion({
    privateKey: state.key.privatePem,
    // The key's one algorithm (its JWK alg): PS256 is not an RSA key's default.
    alg: state.key.alg,
    kid: state.key.jwk.kid,
    issuer: p.issuer,
    subject: p.subject,
    audience: p.audience,
    lifetime: p.lifetime,
    clientAuth: Boolean(p.clientAuth),
    currentDate: p.date,
  });
}

/** Signs a valid assertion for the chosen profile, trusts its key, and validates it. */
async function generateSample({ quiet = false } = {}) {
  let when;
  try {
    when = now();
  } catch (err) {
    return showConfigurationError(err);
  }
  await ensureKey();
  const params = sampleParameters(profile(), when);
  const token = sign(params);
  state.sample = { params, token };
  $('keys').value = JSON.stringify({ keys: [state.key.jwk] }, null, 2);
  $('assertion').value = token;
  state.shown = token;
  $('key-note').textContent = `Sample signed with the ${state.key.label}; its public key is in “Trusted keys”.`;
  $('key-note').dataset.source = state.key.source;
  if (quiet) return 'generated';
  return validate('A fresh sample, signed in this page.');
}

const MUTATIONS = {
  /** exp long past: signed as if an hour (plus lifetime and leeway) ago. */
  expire({ params }) {
    const leeway = numberField('leeway') ?? 30;
    const date = new Date(params.date.getTime() - (3600 + params.lifetime + leeway) * 1000);
    return { token: sign(params, { date }), note: 'Re-signed with exp an hour in the past.' };
  },
  'wrong-audience'({ params }) {
    return { token: sign(params, { audience: 'https://attacker.example' }), note: 'Re-signed for aud https://attacker.example.' };
  },
  /** RFC 10070: a client assertion's aud is the issuer identifier, not the token endpoint. */
  async 'token-endpoint-audience'() {
    if (profile() !== 'client' || state.sample.params.profile !== 'client') {
      setProfile('client');
      await generateSample({ quiet: true });
    }
    const { params } = state.sample;
    const endpoint = `${params.audience.replace(/\/+$/, '')}/token`;
    return {
      token: sign(params, { audience: endpoint }),
      note: `Re-signed for aud ${endpoint}, the token endpoint URL (client authentication).`,
    };
  },
  /** A claim changed after signing: exp a day later, the signature kept. */
  tamper({ token }) {
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(new TextDecoder().decode(fromBase64url(payload)));
    claims.exp += 86400;
    const forged = base64url(new TextEncoder().encode(JSON.stringify(claims)));
    return { token: `${header}.${forged}.${signature}`, note: 'Payload edited (exp one day later), signature kept.' };
  },
  'alg-none'({ token }) {
    const [header, payload] = token.split('.');
    return { token: `${withAlg(header, 'none')}.${payload}.`, note: 'Header alg set to none, signature removed.' };
  },
  /** The header names an algorithm of another key type; the signature is kept. One algorithm
   *  per key: the key never verifies it, whatever the signature (RFC 8725 §3.1). */
  'alg-mismatch'({ token }) {
    const [header, payload, signature] = token.split('.');
    const from = JSON.parse(new TextDecoder().decode(fromBase64url(header))).alg;
    const to = ALGORITHMS[from]?.keyType === 'RSA' ? 'ES256' : 'RS256';
    return {
      token: `${withAlg(header, to)}.${payload}.${signature}`,
      note: `Header alg ${from} re-labelled ${to} (an algorithm of another key type), signature kept.`,
    };
  },
  /** The classic confusion: HS256 keyed with the public key's text as the HMAC secret. */
  async 'alg-hs256'({ token }) {
    const [header, payload] = token.split('.');
    const input = `${withAlg(header, 'HS256')}.${payload}`;
    let mac = new Uint8Array(32);
    if (globalThis.crypto?.subtle) {
      const secret = await crypto.subtle.importKey('raw', new TextEncoder().encode($('keys').value), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      mac = new Uint8Array(await crypto.subtle.sign('HMAC', secret, new TextEncoder().encode(input)));
    }
    return { token: `${input}.${base64url(mac)}`, note: 'Header alg set to HS256, signed with HMAC-SHA-256 keyed with the trusted public key’s text.' };
  },
  /** The same assertion again: the page's verifier has recorded its jti. */
  replay({ token }) {
    return { token, note: 'The sample submitted again.', replay: true };
  },
};

async function mutate(name) {
  if (!state.sample || state.sample.params.profile !== profile()) {
    await generateSample({ quiet: true });
  }
  const mutation = await MUTATIONS[name](state.sample);
  $('assertion').value = mutation.token;
  state.shown = mutation.token;
  if (mutation.replay) {
    // The sample is accepted once by these settings' verifier (if it has not been yet);
    // the next submission is the replay.
    const first = validate();
    if (first === 'valid') return validate('The sample was accepted once, then submitted again.');
    if (first !== 'replayed') return first;
  }
  return validate(mutation.note);
}

// ---------------------------------------------------------------------------------------
// Helpers

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children.filter((child) => child !== ''));
  return node;
}

function pretty(value, dates = false) {
  if (typeof value === 'string') return value;
  const text = JSON.stringify(value, null, 2);
  if (!dates || !value || typeof value !== 'object') return text;
  // NumericDates get their calendar date as a comment.
  return text.replace(/^(\s*"(exp|nbf|iat)": )(\d+)(,?)$/gm, (line, start, _name, seconds, comma) => `${start}${seconds}${comma}  // ${iso(Number(seconds))}`);
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function iso(value) {
  const date = value instanceof Date ? value : new Date(value * 1000);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function relative(seconds) {
  const abs = Math.abs(Math.round(seconds));
  const text = abs >= 3600 ? `${Math.floor(abs / 3600)} h ${Math.floor((abs % 3600) / 60)} min` : abs >= 60 ? `${Math.floor(abs / 60)} min ${abs % 60} s` : `${abs} s`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

function base64url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A header segment with `alg` replaced (other members kept, in their order). */
function withAlg(segment, alg) {
  const parsed = JSON.parse(new TextDecoder().decode(fromBase64url(segment)));
  return base64url(new TextEncoder().encode(JSON.stringify({ ...parsed, alg })));
}

function fromBase64url(text) {
  return Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
}

function pem(label, der) {
  const body = base64url(der).replace(/-/g, '+').replace(/_/g, '/');
  const padded = body + '='.repeat((4 - (body.length % 4)) % 4);
  return `-----BEGIN ${label}-----\n${padded.match(/.{1,64}/g).join('\n')}\n-----END ${label}-----\n`;
}

/** Runs an action from a click; a bug shows in the page instead of vanishing. */
function action(fn) {
  return async (event) => {
    event?.preventDefault();
    document.body.dataset.busy = 'true';
    try {
      await fn(event);
      // One column (phones): bring the verdict into view.
      if (matchMedia('(max-width: 900px)').matches) $('verdict').scrollIntoView({ block: 'start' });
    } catch (err) {
      showConfigurationError(err);
    } finally {
      delete document.body.dataset.busy;
    }
  };
}

// ---------------------------------------------------------------------------------------
// Start

async function start() {
  // Two modules, fetched and compiled in parallel: the verifier and the signer of the samples.
  await Promise.all([init(), initSign()]);
  for (const radio of document.querySelectorAll('input[name="profile"]')) {
    radio.addEventListener('change', action(async () => {
      showProfileFields();
      // A token the page made is replaced by a sample for the new profile; one the user
      // pasted or edited is kept and judged under it.
      if ($('assertion').value.trim() === state.shown) await generateSample();
      else validate();
    }));
  }
  $('form').addEventListener('submit', action(() => validate()));
  $('generate').addEventListener('click', action(() => generateSample()));
  $('key-source').addEventListener('change', action(() => generateSample()));
  $('alg').addEventListener('change', action(() => generateSample()));
  for (const button of document.querySelectorAll('[data-mutation]')) {
    button.addEventListener('click', action(() => mutate(button.dataset.mutation)));
  }
  showProfileFields();
  if (!globalThis.crypto?.subtle) {
    $('key-source').value = 'embedded';
    $('key-source').disabled = true;
    $('key-note').textContent = 'This browser context has no WebCrypto: samples use the embedded public example key.';
  }
  // Works on first load: a valid sample, already checked.
  await generateSample();
  document.documentElement.dataset.ready = 'true';
}

start().catch((err) => {
  showConfigurationError(err);
  console.error(err);
});
