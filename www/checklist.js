// The checklist of the demo page, built from the core's verdict. No rule is judged here: the
// core (through the npm package) either accepts the assertion or throws one AssertionError for
// the first rule that failed. This module only places that error in the core's order of
// checks (crates/rfc7523/src/profile.rs), so that the rules the core ran before it show ✓,
// the failing one ✗ with the core's reason and description, and the rest "not checked".

/** The algorithms the core verifies (RFC 7518 §3.3–3.5, RFC 8037, RFC 9864), by `alg`: what
 *  each is and which key type serves it. Used only to name the algorithm a token's header or a
 *  key gives; the core decides which one is accepted. */
export const ALGORITHMS = {
  RS256: { name: 'RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3)', keyType: 'RSA' },
  PS256: { name: 'RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 7518 §3.5)', keyType: 'RSA' },
  ES256: { name: 'ECDSA on P-256 with SHA-256, the 64-byte R || S (RFC 7518 §3.4)', keyType: 'EC P-256' },
  EdDSA: { name: 'Ed25519 (RFC 8037 §3.1)', keyType: 'OKP Ed25519' },
  Ed25519: { name: 'Ed25519 (RFC 9864 §2.2)', keyType: 'OKP Ed25519' },
};

/** `alg` when it is one of ALGORITHMS' names (exactly), else null: nothing else is shown. */
export function knownAlgorithm(alg) {
  return typeof alg === 'string' && Object.hasOwn(ALGORITHMS, alg) ? alg : null;
}

/** The rows: what each rule demands (per profile where the two differ). */
export const RULES = {
  structure: {
    label: 'Structure',
    what: 'compact JWS: three canonical base64url segments, JSON objects, within the size limits',
  },
  algorithm: {
    label: 'Algorithm',
    what: ({ alg }) =>
      `${alg ? `alg ${alg}: ` : 'alg '}exactly one of RS256, PS256, ES256, EdDSA, Ed25519, and the one its key serves ` +
      '(its JWK alg, else RSA: RS256, P-256: ES256, Ed25519: EdDSA); none, HS256, RS384, … are refused',
  },
  header: {
    label: 'Header',
    what: 'no crit, b64, zip or nested JWT; keys are never taken from jku, x5u, jwk or x5c',
  },
  key: { label: 'Key', what: "a key of this issuer or client, never another party's (chosen by kid when present)" },
  signature: {
    label: 'Signature',
    what: ({ alg }) => (alg ? `${alg} (${ALGORITHMS[alg].name}) verifies with the key` : 'verifies with the key, under its one algorithm'),
  },
  typ: {
    label: 'typ',
    what: {
      grant: 'absent or JWT: not another kind of JWT (RFC 8725 §3.11)',
      client: 'absent, JWT or client-authentication+jwt (or required explicitly)',
    },
  },
  iss: {
    label: 'iss',
    what: {
      grant: 'a trusted issuer (read first, to choose its keys; compared again once verified)',
      client: 'a registered client (read first, to choose its keys; compared again once verified)',
    },
  },
  sub: {
    label: 'sub',
    what: { grant: 'present (and the expected subject, when one is set)', client: 'the client id' },
  },
  aud: {
    label: 'aud',
    what: {
      grant: 'contains one of the accepted audiences',
      client: "the server's issuer identifier, as its sole value (RFC 10070)",
    },
  },
  exp: { label: 'exp', what: 'present and not passed (leeway included)' },
  nbf: { label: 'nbf', what: 'when present, not in the future (leeway included)' },
  iat: { label: 'iat', what: 'when present, not in the future (leeway included)' },
  lifetime: { label: 'Lifetime', what: 'exp − iat (or exp − now) within the maximum (default 3600 s)' },
  replay: { label: 'jti replay', what: '(iss, jti) not seen before; recorded until exp + leeway' },
};

// Position of each rule in the core's order of checks, per profile. Both profiles read the
// (unverified) iss first, only to find the party and choose its keys, so an untrusted issuer
// or an unknown client fails before the key and the signature.
const ORDER = {
  structure: 0, algorithm: 1, header: 2, iss: 3, key: 4, signature: 5, typ: 6,
  sub: 8, aud: 9, exp: 10, nbf: 11, iat: 12, lifetime: 13, replay: 15,
};
const STAGES = { grant: ORDER, client: ORDER };

/** The rows in the order the core checks them, for `profile` ("grant" or "client"). */
export function rowOrder(profile) {
  const stages = STAGES[profile];
  return Object.keys(stages).sort((a, b) => stages[a] - stages[b]);
}

/**
 * Where an AssertionError happened: the row it concerns and the stage at which the core
 * stopped. Where the reason alone cannot tell two stages apart (a JSON limit in the header
 * or in the claims), the earlier stage is taken, so that no later rule is shown as passed.
 */
export function locate(error, profile) {
  const s = STAGES[profile];
  const afterSignature = s.signature + 0.5; // the claims set is parsed
  const requiredClaims = s.typ + 0.5; // iss, sub, aud, exp (and jti, iat when required)
  const decodedSegments = s.header + 0.5; // payload and signature are decoded after the header
  const claimRow = (claim) => (claim === 'jti' ? 'replay' : claim);
  const message = String(error.message);
  switch (error.reason) {
    case 'malformed':
      if (/signature length differs/.test(message)) return { row: 'signature', stage: s.signature };
      if (/^the payload (is not valid|is not a JSON|has a duplicate)/.test(message)) {
        // The payload is parsed for iss before the signature.
        return { row: 'structure', stage: s.iss };
      }
      if (/^the header has no alg|^the alg header parameter/.test(message)) {
        return { row: 'algorithm', stage: s.algorithm };
      }
      if (/header parameter has the wrong type/.test(message)) return { row: 'header', stage: s.header };
      if (/^the (payload|signature) segment/.test(message)) return { row: 'structure', stage: decodedSegments };
      return { row: 'structure', stage: s.structure };
    case 'too_large':
      if (/decoded payload length|the signature length limit/.test(message)) {
        return { row: 'structure', stage: decodedSegments };
      }
      if (/number of aud values/.test(message)) return { row: 'aud', stage: afterSignature };
      return { row: 'structure', stage: s.structure };
    case 'unsupported_algorithm':
      return { row: 'algorithm', stage: s.algorithm };
    case 'unsupported_header':
      return { row: 'header', stage: s.header };
    case 'unknown_key':
      return { row: 'key', stage: s.key };
    case 'invalid_signature':
      return { row: 'signature', stage: s.signature };
    case 'invalid_claim':
      return {
        row: claimRow(error.claim),
        stage: error.claim === 'iss' ? s.iss : afterSignature,
      };
    case 'missing_claim':
      return {
        row: claimRow(error.claim),
        stage: error.claim === 'iss' ? s.iss : requiredClaims,
      };
    case 'invalid_type':
      return { row: 'typ', stage: s.typ };
    case 'issuer_mismatch':
      return { row: 'iss', stage: s.iss };
    case 'subject_mismatch':
      return { row: 'sub', stage: s.sub };
    case 'audience_mismatch':
      return { row: 'aud', stage: s.aud };
    case 'expired':
      return { row: 'exp', stage: s.exp };
    case 'not_yet_valid':
      return { row: 'nbf', stage: s.nbf };
    case 'issued_in_future':
      return { row: 'iat', stage: s.iat };
    case 'lifetime_too_long':
      return { row: 'lifetime', stage: s.lifetime };
    case 'too_old':
      return { row: 'iat', stage: s.lifetime + 1 };
    case 'replayed':
    case 'replay_store_full':
      return { row: 'replay', stage: s.replay };
    default:
      return null;
  }
}

/**
 * The checklist rows for one verdict.
 * - `error`: the AssertionError, or null when the assertion passed.
 * - `passed`: for a valid assertion, per-row details (rule → text) and the rows the policy
 *   left unchecked (rule → text), from `describeValid`.
 * - `context`: what the rows name, never what they judge: `alg`, the header's algorithm (the
 *   verified header's, or the unverified one's when refused; only one of ALGORITHMS' names),
 *   and `keys`, a description of the trusted keys, shown beside a refused algorithm.
 * Returns [{ rule, label, what, status: "pass" | "fail" | "skip", detail, reason? }].
 */
export function checklist(profile, error, passed = {}, context = {}) {
  const where = error ? locate(error, profile) : null;
  const stages = STAGES[profile];
  const names = { alg: knownAlgorithm(context.alg) };
  return rowOrder(profile).map((rule) => {
    const { label } = RULES[rule];
    const what = ruleText(rule, profile, names);
    const row = { rule, label, what };
    if (where && rule === where.row) {
      // Beside a refused algorithm, what was compared: the header's alg and the keys' types.
      const compared =
        rule === 'algorithm' && context.keys
          ? ` (the header's alg: ${typeof context.alg === 'string' ? JSON.stringify(context.alg.slice(0, 32)) : 'none'}; the trusted keys: ${context.keys})`
          : '';
      return { ...row, status: 'fail', detail: `${error.message}${compared}`, reason: error.reason };
    }
    if (!error && passed.skipped?.[rule]) {
      return { ...row, status: 'skip', detail: passed.skipped[rule] };
    }
    if (!error || (where && stages[rule] < where.stage)) {
      return { ...row, status: 'pass', detail: error ? '' : (passed.details?.[rule] ?? '') };
    }
    return { ...row, status: 'skip', detail: 'not checked' };
  });
}

/** What `rule` demands under `profile`; `names.alg` names the algorithm where a row has one. */
export function ruleText(rule, profile, names = {}) {
  const { what } = RULES[rule];
  if (typeof what === 'function') return what({ alg: knownAlgorithm(names.alg) });
  return typeof what === 'string' ? what : what[profile];
}
