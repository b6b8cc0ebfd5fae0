// BENCH-ONLY, NOT SHIPPED: POST /?op=OP&n=N with a grant assertion as the body runs OP N times
// on it and answers {"ok": count}; workerd's CPU time for such a request, less that of `none`,
// over N, is OP's CPU time per verification inside the isolate (no HTTP, no Durable Object).
// Used by www/bench/worker-cpu.mjs. The registry is [vars] REGISTRY of www/worker/wrangler.toml;
// the assertion is one of its trusted issuer's (RS256).
import { AssertionVerifier } from 'rfc7523';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { constants, publicDecrypt } from 'node:crypto';

let state = null;

async function init(registry) {
  const issuer = registry.issuers[0];
  const { n, e } = issuer.jwks.keys[0];
  return {
    issuer: issuer.issuer,
    audience: [registry.issuer, registry.token_endpoint],
    // The example Worker's verifier (RSAVP1 by node:crypto in workerd), and all in wasm.
    package: new AssertionVerifier({ registry, replay: 'external' }),
    packageWasm: new AssertionVerifier({ registry, replay: 'external', rsa: 'wasm' }),
    // The jose copy's: the party's JWK Set, each key imported once.
    jwks: createLocalJWKSet(issuer.jwks),
    // The platform's RSA alone: WebCrypto with the key imported once, and node:crypto's
    // publicDecrypt as the package calls it in workerd (whose publicDecrypt takes no
    // KeyObject: the JWK, imported on every call).
    cryptoKey: await crypto.subtle.importKey('jwk', { kty: 'RSA', n, e }, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']),
    jwk: { kty: 'RSA', n, e },
  };
}

const OPS = {
  none: () => true,
  package: (s, token, now) => s.package.verify(token, { use: 'grant', currentDate: now }) !== undefined,
  'package-wasm': (s, token, now) => s.packageWasm.verify(token, { use: 'grant', currentDate: now }) !== undefined,
  jose: async (s, token, now) =>
    (await jwtVerify(token, s.jwks, { algorithms: ['RS256'], issuer: s.issuer, audience: s.audience, requiredClaims: ['sub', 'exp', 'jti'], clockTolerance: 30, currentDate: now })) !== undefined,
  webcrypto: (s, token, now, signature, input) => crypto.subtle.verify('RSASSA-PKCS1-v1_5', s.cryptoKey, signature, input),
  'node-publicdecrypt': (s, token, now, signature) => publicDecrypt({ key: s.jwk, format: 'jwk', padding: constants.RSA_NO_PADDING }, signature).length === 256,
};

export default {
  async fetch(request, env) {
    state ??= await init(typeof env.REGISTRY === 'string' ? JSON.parse(env.REGISTRY) : env.REGISTRY);
    const url = new URL(request.url);
    const op = OPS[url.searchParams.get('op')];
    const n = Number(url.searchParams.get('n'));
    if (!op || !Number.isInteger(n) || n < 1) return new Response('{"error":"op and n"}', { status: 400 });
    const token = await request.text();
    const [header, payload, sig] = token.split('.');
    const signature = Uint8Array.from(atob(sig.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const input = new TextEncoder().encode(`${header}.${payload}`);
    const now = new Date();
    let ok = 0;
    for (let i = 0; i < n; i++) if (await op(state, token, now, signature, input)) ok++;
    return new Response(JSON.stringify({ ok, rsa: state.package.rsaImplementation }), { headers: { 'Content-Type': 'application/json' } });
  },
};
