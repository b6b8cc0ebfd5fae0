// Hostile HTTP against the Worker example (www/worker/) in workerd, one table: raw HTTP/1.1
// bytes on a socket of workerd's own HTTP server (Miniflare's direct socket: nothing of
// Miniflare's in front), each row with the status it must get and who answers it — the
// Worker (an RFC 6749-shaped JSON body with the error code of the row) or workerd itself,
// which refuses some framing before the Worker runs. Every row carries the marker MARK in
// text the client chose (header values, names, the body, the target); no response may carry
// it anywhere, and the Worker's responses have only the Worker's fixed headers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { assertion, bundleWorker, bundledWorker, grant, rawRequest, startMiniflare } from './worker-harness.mjs';

const MARK = 'zq7x';
const FORM = 'application/x-www-form-urlencoded';
/** A request whose body is fine as form encoding but not a token request (the core: 400). */
const BODY = `grant_type=${MARK}`;

/** The headers a response of the Worker may have, and their values where they are fixed. */
const WORKER_HEADERS = {
  'content-length': /^\d+$/,
  'content-type': /^application\/json$/,
  'cache-control': /^no-store$/,
  pragma: /^no-cache$/,
  'www-authenticate': /^Basic realm="token"$/,
  allow: /^POST$/,
  'retry-after': /^\d+$/,
};

/** An HTTP/1.1 request: the request line, `headers` (name, value pairs, latin1) and `body`. */
function http({ method = 'POST', target = '/token', version = 'HTTP/1.1', host = '127.0.0.1', headers = [], body = BODY, length = true } = {}) {
  const lines = [`${method} ${target} ${version}`];
  if (host !== null) lines.push(`Host: ${host}`);
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (length && body !== null) lines.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}
const form = (extra = [], init = {}) => http({ headers: [['Content-Type', FORM], ...extra], ...init });
/** A chunked request; `chunks` is the raw body after the head. */
const chunked = (chunks, extra = []) => http({ headers: [['Content-Type', FORM], ['Transfer-Encoding', 'chunked'], ...extra], body: chunks, length: false });
const chunk = (text) => `${Buffer.byteLength(text, 'latin1').toString(16)}\r\n${text}\r\n`;

// [what, request, status, answered by ('worker': with this error code, or 'token'), note]
const ROWS = [
  // Baseline: the table's requests reach the Worker.
  ['a valid grant (the baseline)', () => form([], { body: grant() }), 200, 'token'],
  ['a form body the core refuses', () => form(), 400, 'unsupported_grant_type'],
  // Client-supplied text in Authorization: never in WWW-Authenticate.
  ['Authorization with a made-up scheme', () => form([['Authorization', `${MARK} realm="${MARK}"`]]), 401, 'invalid_client'],
  ['Authorization folded over two lines (obs-fold)', () => form([['Authorization', `Basic\r\n ${MARK}`]]), 401, 'invalid_client'],
  ['Authorization with bytes that are not UTF-8', () => form([['Authorization', `Basic \xff\xfe${MARK}`]]), 401, 'invalid_client'],
  ['Authorization of 60 KiB', () => form([['Authorization', `Basic ${MARK}${'A'.repeat(60 * 1024)}`]]), 401, 'invalid_client'],
  // Oversize and malformed headers.
  ['a header of 200 KiB', () => form([[`X-${MARK}`, 'z'.repeat(200 * 1024)]]), 431, 'workerd'],
  ['2,000 header fields', () => form(Array.from({ length: 2000 }, (_, i) => [`X-${MARK}-${i}`, MARK])), 400, 'unsupported_grant_type'],
  ['NUL in a header value', () => form([['X-A', `${MARK}\x00`]]), 400, 'workerd'],
  ['a header name with a separator', () => form([[`X(${MARK})`, 'v']]), 400, 'workerd'],
  ['a header name with bytes that are not UTF-8', () => form([[`X-\xff${MARK}`, 'v']]), 400, 'unsupported_grant_type'],
  // Content-Type.
  ['Content-Type twice: form, then JSON', () => http({ headers: [['Content-Type', FORM], ['Content-Type', 'application/json']] }), 400, 'invalid_request'],
  ['Content-Type twice: form both times', () => http({ headers: [['Content-Type', FORM], ['Content-Type', FORM]] }), 400, 'invalid_request'],
  ['Content-Type twice, a parameter swallowing the join', () => http({ headers: [['Content-Type', `${FORM};x=`], ['Content-Type', 'application/json']] }), 400, 'invalid_request'],
  ['Content-Type with a quoted comma', () => http({ headers: [['Content-Type', `${FORM};x=", a/b"`]] }), 400, 'invalid_request'],
  ['Content-Type with bytes that are not UTF-8', () => http({ headers: [['Content-Type', `${FORM}\xff${MARK}`]] }), 400, 'invalid_request'],
  ['Content-Type of 60 KiB', () => http({ headers: [['Content-Type', `${FORM}; ${MARK}=${'a'.repeat(60 * 1024)}`]] }), 400, 'unsupported_grant_type'],
  ['Content-Type with a charset, any case', () => http({ headers: [['Content-Type', 'Application/X-WWW-Form-URLEncoded; Charset="UTF-8"']] }), 400, 'unsupported_grant_type'],
  ['Content-Type missing', () => http(), 400, 'invalid_request'],
  ['Content-Encoding: gzip', () => form([['Content-Encoding', 'gzip']]), 415, 'invalid_request'],
  // Bodies.
  ['a body that is not UTF-8', () => form([], { body: `grant_type=\xff${MARK}` }), 400, 'invalid_request'],
  ['a body with an encoded NUL', () => form([], { body: `grant_type=%00${MARK}` }), 400, 'unsupported_grant_type'],
  ['Content-Length over 20 KiB (read and dropped)', () => form([], { body: `${BODY}&${'a'.repeat(21 * 1024)}` }), 400, 'invalid_request'],
  ['Content-Length over 64 KiB (refused unread)', () => form([], { body: `${BODY}&${'a'.repeat(65 * 1024)}` }), 400, 'invalid_request'],
  ['a chunked body over 20 KiB', () => chunked(`${chunk(`${BODY}&`)}${chunk('a'.repeat(21 * 1024))}0\r\n\r\n`), 400, 'invalid_request'],
  ['a chunked body over 64 KiB', () => chunked(`${chunk(`${BODY}&`)}${chunk('a'.repeat(65 * 1024))}0\r\n\r\n`), 400, 'invalid_request'],
  // Transfer-Encoding: what workerd passes on, and what it refuses itself.
  ['Transfer-Encoding: chunked (well-formed)', () => chunked(`${chunk(BODY)}0\r\n\r\n`), 400, 'unsupported_grant_type'],
  ['Transfer-Encoding: Chunked (case)', () => http({ headers: [['Content-Type', FORM], ['Transfer-Encoding', 'Chunked']], body: `${chunk(BODY)}0\r\n\r\n`, length: false }), 400, 'unsupported_grant_type'],
  ['Transfer-Encoding beside Content-Length', () => chunked(`${chunk(BODY)}0\r\n\r\n`, [['Content-Length', String(BODY.length)]]), 400, 'invalid_request'],
  ['Transfer-Encoding: chunked twice', () => chunked(`${chunk(BODY)}0\r\n\r\n`, [['Transfer-Encoding', 'chunked']]), 400, 'invalid_request'],
  ['a chunk extension', () => chunked(`${BODY.length.toString(16)};${MARK}=1\r\n${BODY}\r\n0\r\n\r\n`), 400, 'invalid_request'],
  ['a chunk size that overflows 64 bits', () => chunked(`ffffffffffffffffff\r\n${BODY}\r\n0\r\n\r\n`), 400, 'invalid_request'],
  ['a chunk size that is not hexadecimal', () => chunked(`${MARK}\r\n${BODY}\r\n0\r\n\r\n`), 400, 'invalid_request'],
  ['Transfer-Encoding: gzip, chunked', () => http({ headers: [['Content-Type', FORM], ['Transfer-Encoding', 'gzip, chunked']], body: `${chunk(BODY)}0\r\n\r\n`, length: false }), 500, 'workerd'],
  ['Transfer-Encoding: identity', () => form([['Transfer-Encoding', 'identity']]), 500, 'workerd'],
  [`Transfer-Encoding: ${MARK}`, () => http({ headers: [['Content-Type', FORM], ['Transfer-Encoding', MARK]], body: `${chunk(BODY)}0\r\n\r\n`, length: false }), 500, 'workerd'],
  ['Content-Length twice, different', () => form([['Content-Length', '1']]), 500, 'workerd'],
  ['Content-Length negative', () => http({ headers: [['Content-Type', FORM], ['Content-Length', '-1']], length: false }), 500, 'workerd'],
  // The request line and the target.
  ['GET', () => http({ method: 'GET', body: null }), 405, 'invalid_request'],
  ['PUT', () => form([], { method: 'PUT' }), 405, 'invalid_request'],
  [`a method ${MARK}`, () => form([], { method: MARK.toUpperCase() }), 501, 'workerd'],
  ['a query string', () => form([], { target: `/token?${MARK}=1` }), 400, 'unsupported_grant_type'],
  ['a path with bytes that are not UTF-8', () => form([], { target: `/token/\xff${MARK}` }), 404, 'not_found'],
  ['an absolute-form target', () => form([], { target: `http://${MARK}.example/token` }), 500, 'workerd'],
  ['no Host', () => form([], { host: null }), 400, 'workerd'],
  [`Host: ${MARK}`, () => form([], { host: MARK }), 400, 'unsupported_grant_type'],
  ['HTTP/1.0 with Host', () => form([], { version: 'HTTP/1.0' }), 400, 'unsupported_grant_type'],
  ['Expect: 100-continue', () => form([['Expect', '100-continue']]), 400, 'unsupported_grant_type'],
];

describe('Worker example against hostile HTTP (workerd, raw sockets)', () => {
  let mf;
  let bundle;
  let port;

  before(async () => {
    bundle = bundleWorker();
    mf = await startMiniflare([bundledWorker(bundle, 'token', { directSocket: true })]);
    port = Number((await mf.unsafeGetDirectURL('token')).port);
  });

  after(async () => {
    await mf?.dispose();
    bundle?.remove();
  });

  test('every row: its status, from the Worker or from workerd; no client text in any response', async () => {
    const failures = [];
    for (const [what, request, status, by] of ROWS) {
      const response = await rawRequest(port, request());
      const problems = [];
      if (response.status !== status) problems.push(`status ${response.status}, expected ${status}`);
      if (response.raw.toLowerCase().includes(MARK)) problems.push('the response carries client text');
      const headers = Object.fromEntries(response.headers);
      if (by === 'workerd') {
        // workerd's own answer: the Worker did not run.
        if (headers['content-type'] === 'application/json') problems.push('answered by the Worker');
      } else {
        for (const [name, value] of response.headers) {
          if (!WORKER_HEADERS[name]?.test(value)) problems.push(`header ${name}: ${value}`);
        }
        if (headers['cache-control'] !== 'no-store') problems.push('no Cache-Control: no-store');
        let body;
        try {
          body = JSON.parse(response.body);
        } catch {
          problems.push(`body not JSON: ${response.body.slice(0, 80)}`);
        }
        if (body && by === 'token') {
          if (body.token_type !== 'Bearer') problems.push(`not a token response: ${response.body}`);
        } else if (body) {
          if (body.error !== by) problems.push(`error ${body.error}, expected ${by}`);
          if (!Object.keys(body).every((key) => ['error', 'error_description'].includes(key))) problems.push(`members: ${Object.keys(body)}`);
          if (typeof body.error_description !== 'string') problems.push('no error_description');
        }
      }
      if (status === 401 && headers['www-authenticate'] !== 'Basic realm="token"') problems.push('401 without the fixed WWW-Authenticate');
      if (status === 405 && headers.allow !== 'POST') problems.push('405 without Allow: POST');
      if (problems.length) failures.push(`${what}: ${problems.join('; ')}\n    ${JSON.stringify(response.raw.slice(0, 300))}`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${ROWS.length} rows:\n  ${failures.join('\n  ')}`);
    console.log(`hostile HTTP: ${ROWS.length} rows, ${ROWS.filter((row) => row[3] === 'workerd').length} answered by workerd itself`);
  });

  test('a body over 20 KiB is dropped and the connection kept; over 64 KiB, refused unread and the connection closed', async () => {
    const next = form();
    const within = await rawRequest(port, form([], { body: `${BODY}&${'a'.repeat(30 * 1024)}` }) + next, { untilClose: true, timeoutMs: 1500 });
    // (Status lines found anywhere: a JSON body does not end with CRLF.)
    assert.deepEqual(within.raw.match(/HTTP\/1\.1 \d+/g), ['HTTP/1.1 400', 'HTTP/1.1 400']);
    assert.match(within.raw, /too long[^]*unsupported_grant_type/);
    assert.equal(within.closed, false, 'the connection stays open');
    const beyond = await rawRequest(port, form([], { body: `${BODY}&${'a'.repeat(65 * 1024)}` }) + next, { untilClose: true, timeoutMs: 1500 });
    assert.deepEqual(beyond.raw.match(/HTTP\/1\.1 \d+/g), ['HTTP/1.1 400']);
    assert.equal(beyond.closed, true, 'the connection is closed');
  });

  test('the marker never reaches a response even inside a valid client assertion request', async () => {
    // A valid grant whose subject carries the marker: the token response has no claim in it.
    const response = await rawRequest(port, form([], { body: grant(assertion({ subject: MARK })) }));
    assert.equal(response.status, 200, response.raw);
    assert.ok(!response.raw.includes(MARK));
  });
});
