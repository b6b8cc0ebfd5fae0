//! Whole signature checks by the platform, as the binding's
//! [`KeyLookup::verify_signature`](rfc7523::KeyLookup::verify_signature): `node:crypto`'s
//! `verify`, found as [`platform_rsa`](crate::platform_rsa) finds `publicDecrypt`
//! (`process.getBuiltinModule`: Node, Workers with `nodejs_compat`).
//!
//! - **Synchronous** (`verify`, `verifyTokenRequest`): ES256 and Ed25519 (option `ec`), where
//!   the wasm arithmetic (`p256`, `ed25519-dalek`) is 5 to 15 times slower than OpenSSL's. RSA
//!   stays on RSAVP1 ([`platform_rsa`](crate::platform_rsa)), whose result the core still
//!   compares with the one valid encoding.
//! - **Asynchronous** (`verifyAsync`, `verifyTokenRequestAsync`): every algorithm, through
//!   `verify` with a callback, which runs on libuv's threadpool (see `verify.rs`: the
//!   verification is asked for in one round of the core and answered in the next).
//!
//! The core checks each signature's form first (length; ES256 r and s in 1..n − 1; Ed25519
//! S < L and R not of small order: `alg/form.rs`), so the platform never judges a signature
//! the core refuses for its form. Its verdict on the rest is trusted, which is why it is
//! checked before use, the discipline of the RSA path:
//! - **Known answers, per algorithm:** when a verifier is built, for each algorithm its keys
//!   serve, a fixed signature (RFC 7515 A.2 and A.3, RFC 8037 A.4; PS256 signed once with RFC
//!   7515 A.2.1's key) must verify and the same with one bit flipped must not: synchronously
//!   for ES256 and Ed25519, and started for the asynchronous `verify` of every algorithm (the
//!   asynchronous methods wait for it; where it fails or takes over 5 s, they do what the
//!   synchronous ones do).
//! - **Keys:** each key is imported once (a `KeyObject` from its JWK) and exported back, which
//!   must give the same JWK.
//! - Any failure and the whole family (P-256, Ed25519, RSA) is verified as without the
//!   platform, for every key: the wasm arithmetic (RSA: the synchronous RSAVP1 path). A call
//!   that throws or answers anything but a boolean after construction falls back the same way
//!   for that call; `false` refuses.
//!
//! The `web` build (browsers) has none of this: there [`PlatformSignatures::load`] is always
//! `None`.

#[cfg(feature = "platform-rsa")]
pub(crate) use enabled::PlatformSignatures;

#[cfg(not(feature = "platform-rsa"))]
pub(crate) use disabled::PlatformSignatures;

use rfc7523::Algorithm;
#[cfg(feature = "platform-rsa")]
use rfc7523::MaterialRef;

/// The signing input of RFC 7515 A.2 and A.3 after its header.
macro_rules! a2_payload {
    () => {
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    };
}

/// RFC 7515 A.2.1's RSA public key.
macro_rules! a2_rsa_jwk {
    () => {
        r#"{"kty":"RSA","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}"#
    };
}

/// The known answers, `(alg, JWK, JWS signing input, signature)`: RFC 7515 A.2 (RS256) and
/// A.3 (ES256), RFC 8037 A.4 (EdDSA); PS256: A.2's signing input signed once by
/// `node:crypto` with RFC 7515 A.2.1's private key (salt 32). Each verifies under the core's
/// own implementations, and not with the last bit of its signature flipped (the tests below).
#[cfg_attr(not(feature = "platform-rsa"), allow(dead_code))]
pub(crate) const KNOWN_ANSWERS: [(Algorithm, &str, &str, &str); 4] = [
    (
        Algorithm::Rs256,
        a2_rsa_jwk!(),
        concat!("eyJhbGciOiJSUzI1NiJ9.", a2_payload!()),
        "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
    ),
    (
        Algorithm::Ps256,
        a2_rsa_jwk!(),
        concat!("eyJhbGciOiJSUzI1NiJ9.", a2_payload!()),
        "Rb4mwUTw8oL4C9z5F39OA7R8OAz6rOn7-igmIUJn6rjE4ng-X8usR5HXe6dJpRk6mMPuCiXvE4wkwID-5txVDCWw63iOArWl6w-uHerlLTLt5PZUsHUy0CjYFlfxv6n0RZivJW9PSIrTwcuyRuJdofMRlTwHfZaX85bLeygyQjTw8QNLnW91BCnrzuJCVhK4Ko4S3t-7N3iMOKRUeUudV161Xtt0IKGSz2BI6OF07d6kZX3dqAL_2PssQKO6RcUbI0QTE_6k-5aNeQmxkW1RrY-j_davGZRXpIjKmGQucsKhU6GBtECX_T89CoJHd5RitDG0PB-f7oYFu3vNHClrYA",
    ),
    (
        Algorithm::Es256,
        r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#,
        concat!("eyJhbGciOiJFUzI1NiJ9.", a2_payload!()),
        "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
    ),
    (
        Algorithm::EdDsa,
        r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
    ),
];

/// Where a key's public material is stored: its identity among a verifier's keys, which do
/// not move once loaded.
#[cfg(feature = "platform-rsa")]
pub(crate) fn key_address(material: MaterialRef<'_>) -> usize {
    match material {
        MaterialRef::Rsa(key) => key.modulus().as_ptr().addr(),
        MaterialRef::P256(point) => point.as_ptr().addr(),
        MaterialRef::Ed25519(bytes) => bytes.as_ptr().addr(),
    }
}

#[cfg(feature = "platform-rsa")]
mod enabled {
    use js_sys::{Array, Promise, Uint8Array};
    use rfc7523::{Algorithm, KeyRef, KeyType, MaterialRef, SignatureCheck};
    use wasm_bindgen::prelude::*;

    use super::key_address;
    use crate::base64url;

    #[wasm_bindgen(inline_js = "
// How long the asynchronous known answers may take before the asynchronous methods stop
// waiting for them (and do without the platform's asynchronous verify).
const KNOWN_ANSWER_TIMEOUT_MS = 5000;
const bytes = (b64u) => Uint8Array.from(atob(b64u.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const text = (s) => new TextEncoder().encode(s);
export function platformSignatures() {
  const process = globalThis.process;
  if (typeof process?.getBuiltinModule !== 'function') return undefined;
  let crypto;
  try { crypto = process.getBuiltinModule('node:crypto'); } catch { return undefined; }
  if (typeof crypto?.verify !== 'function' || typeof crypto.createPublicKey !== 'function') return undefined;
  const constants = crypto.constants ?? {};
  // The algorithms whose verify takes the key as a JWK rather than a KeyObject in its options
  // (workerd's), found when the KeyObject is refused with a TypeError.
  const asJwk = {};
  // verify's (algorithm, key) arguments for a key [KeyObject, JWK] and a JWS alg.
  const args = ([object, jwk], alg) => {
    const key = asJwk[alg] ? jwk : object;
    const format = asJwk[alg] ? 'jwk' : undefined;
    switch (alg) {
      case 'RS256': return ['sha256', { key, format, padding: constants.RSA_PKCS1_PADDING }];
      case 'PS256': return ['sha256', { key, format, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }];
      case 'ES256': return ['sha256', { key, format, dsaEncoding: 'ieee-p1363' }];
      default: return [null, asJwk[alg] ? { key, format } : key]; // EdDSA, Ed25519
    }
  };
  // f(...args(key, alg)), again with the key as a JWK where the KeyObject is refused.
  const withKey = (key, alg, f) => {
    try {
      return f(...args(key, alg));
    } catch (err) {
      if (asJwk[alg] || !(err instanceof TypeError)) throw err;
      asJwk[alg] = true;
      return f(...args(key, alg));
    }
  };
  // [KeyObject, JWK] for the JWK: the KeyObject must export as the same JWK.
  const importKey = (jwk) => {
    const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
    const back = key.export({ format: 'jwk' });
    for (const name of ['kty', 'crv', 'x', 'y', 'n', 'e']) {
      if (back[name] !== jwk[name]) throw new Error(`the imported key's ${name} differs`);
    }
    return [key, jwk];
  };
  const verify = (key, alg, message, signature) => {
    const ok = withKey(key, alg, (digest, options) => crypto.verify(digest, message, options, signature));
    if (typeof ok !== 'boolean') throw new TypeError('verify answered no boolean');
    return ok;
  };
  // On libuv's threadpool, then done(verdict) once: null where it fails (the package then
  // verifies as the synchronous methods do).
  const verifyLater = (key, alg, message, signature, callback) => {
    let called = false;
    const done = (verdict) => {
      if (!called) {
        called = true;
        callback(verdict);
      }
    };
    try {
      withKey(key, alg, (digest, options) =>
        crypto.verify(digest, message, options, signature, (err, ok) => done(err || typeof ok !== 'boolean' ? null : ok)));
    } catch {
      done(null);
    }
  };
  const promised = (key, alg, message, signature) =>
    new Promise((resolve) => verifyLater(key, alg, message, signature, resolve));
  // A known answer [alg, JWK, signing input, signature] as [key, message, the signature, the
  // signature with its last bit flipped].
  const known = ([, jwk, input, signature]) => {
    const good = bytes(signature);
    const bad = good.slice();
    bad[bad.length - 1] ^= 1;
    return [importKey(JSON.parse(jwk)), text(input), good, bad];
  };
  // Which algorithms' asynchronous known answers passed: `passed` once startAsync's checks
  // settled, `ready` its promise.
  let passed = {};
  let ready = Promise.resolve(passed);
  return {
    importKey(jwk) { return importKey(JSON.parse(jwk)); },
    verify,
    knownAnswer(answer) {
      try {
        const alg = answer[0];
        const [key, message, good, bad] = known(answer);
        return verify(key, alg, message, good) === true && verify(key, alg, message, bad) === false;
      } catch {
        return false;
      }
    },
    startAsync(answers) {
      passed = undefined;
      const checks = answers.map((answer) => {
        const alg = answer[0];
        let cases;
        try { cases = known(answer); } catch { return [alg, false]; }
        const [key, message, good, bad] = cases;
        return Promise.all([promised(key, alg, message, good), promised(key, alg, message, bad)])
          .then(([a, b]) => [alg, a === true && b === false]);
      });
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve([]), KNOWN_ANSWER_TIMEOUT_MS);
        timer?.unref?.();
      });
      ready = Promise.race([Promise.all(checks), timeout]).then((results) => {
        clearTimeout(timer);
        passed = Object.fromEntries(results);
        return passed;
      });
    },
    // Each request [key, alg, message, signature]: true, false, or null (not by the
    // asynchronous platform: as the synchronous methods do).
    verifyAll(requests) {
      if (passed === undefined) return ready.then(() => this.verifyAll(requests));
      return Promise.all(requests.map((request) => new Promise((resolve) => {
        const alg = request[1];
        if (passed[alg === 'Ed25519' ? 'EdDSA' : alg] !== true) return resolve(null);
        const [key, , message, signature] = request;
        queue.push([(done) => verifyLater(key, alg, message, signature, done), resolve]);
        pump();
      })));
    },
  };
}
// The asynchronous verifications of every verifier of this module: at most as many on the
// threadpool at once as it has threads; while more wait, the main thread takes them one at a
// time between events (its answer null: the package verifies that signature synchronously,
// as `verify` does), so that calls in flight use the threadpool and the main thread both.
const queue = [];
const POOL = Math.max(1, Math.min(1024, Math.trunc(Number(globalThis.process?.env?.UV_THREADPOOL_SIZE)) || 4));
let inPool = 0;
let helping = false;
const later = globalThis.setImmediate ?? ((f) => setTimeout(f, 0));
function pump() {
  while (inPool < POOL && queue.length > 0) {
    const [run, resolve] = queue.shift();
    inPool++;
    run((ok) => {
      inPool--;
      resolve(ok);
      pump();
    });
  }
  if (queue.length > 0 && !helping) {
    helping = true;
    later(help);
  }
}
function help() {
  helping = false;
  queue.shift()?.[1](null);
  if (queue.length > 0) {
    helping = true;
    later(help);
  }
}
// An asynchronous call: `out` is a round's answer, the result, or [requests, next] where
// next(verdicts) runs the next round.
export function drive(out, platform) {
  return (async () => {
    while (Array.isArray(out)) out = out[1](await platform.verifyAll(out[0]));
    return out;
  })();
}
")]
    extern "C" {
        /// `node:crypto`'s `verify` for one verifier (see the snippet), or `undefined` where the
        /// runtime has no `process.getBuiltinModule('node:crypto')` with `verify` and
        /// `createPublicKey`.
        type Platform;
        #[wasm_bindgen(js_name = platformSignatures)]
        fn platform_signatures() -> Option<Platform>;
        /// A `KeyObject` for a JWK (JSON text), checked by exporting it back.
        #[wasm_bindgen(method, catch, js_name = importKey)]
        fn import_key(this: &Platform, jwk: &str) -> Result<JsValue, JsValue>;
        /// `verify`, synchronous: throws when the platform fails or answers no boolean.
        #[wasm_bindgen(method, catch)]
        fn verify(
            this: &Platform,
            key: &JsValue,
            alg: &str,
            message: &[u8],
            signature: &[u8],
        ) -> Result<bool, JsValue>;
        /// The synchronous check of a known answer (`[alg, jwk, input, signature]`, see
        /// [`KNOWN_ANSWERS`]): passed or not.
        #[wasm_bindgen(method, js_name = knownAnswer)]
        fn known_answer(this: &Platform, answer: &Array) -> bool;
        /// Starts the asynchronous checks of these known answers.
        #[wasm_bindgen(method, js_name = startAsync)]
        fn start_async(this: &Platform, answers: Array);
        /// Runs an asynchronous call to its end from its first round's answer.
        #[wasm_bindgen(js_name = drive)]
        fn drive(out: JsValue, platform: &Platform) -> Promise;
    }

    impl core::fmt::Debug for Platform {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("Platform")
        }
    }

    /// The platform's `verify` for the keys of one verifier: a `KeyObject` per key of each
    /// family in use, and which families are.
    #[derive(Debug)]
    pub(crate) struct PlatformSignatures {
        js: Platform,
        /// `(key_address, KeyObject)`, sorted by address.
        keys: Vec<(usize, JsValue)>,
        /// ES256 and Ed25519 by the platform (synchronous and asynchronous).
        es256: bool,
        ed25519: bool,
        /// RS256 and PS256 by the platform's asynchronous `verify`.
        rsa: bool,
    }

    impl PlatformSignatures {
        /// The platform for `keys`: ES256 and Ed25519 when `ec` (option `ec: "platform"`),
        /// the asynchronous RSA when `rsa` (node:crypto's RSAVP1 passed its checks), each
        /// family only where the verifier has keys of it, its known answer passed and every
        /// one of its keys imported. `None` when the runtime has no such platform.
        pub(crate) fn load<'k, I: Iterator<Item = KeyRef<'k>>>(
            keys: impl Fn() -> I,
            ec: bool,
            rsa: bool,
        ) -> Option<Self> {
            if !ec && !rsa {
                return None;
            }
            let js = platform_signatures()?;
            let has = |key_type| keys().any(|k| k.material().key_type() == key_type);
            let mut out = Self {
                es256: ec && has(KeyType::P256) && js.known_answer(&known_answer(Algorithm::Es256)),
                ed25519: ec
                    && has(KeyType::Ed25519)
                    && js.known_answer(&known_answer(Algorithm::EdDsa)),
                rsa: rsa && has(KeyType::Rsa),
                keys: Vec::new(),
                js,
            };
            for key in keys() {
                let material = key.material();
                let (on, jwk) = match material {
                    MaterialRef::Rsa(rsa) => {
                        let e = rsa.exponent().to_be_bytes();
                        let first = e.iter().position(|&b| b != 0).unwrap_or(e.len() - 1);
                        let e = e.get(first..).unwrap_or_default();
                        (
                            &mut out.rsa,
                            format!(
                                r#"{{"kty":"RSA","n":"{}","e":"{}"}}"#,
                                base64url(rsa.modulus()),
                                base64url(e)
                            ),
                        )
                    }
                    MaterialRef::P256(point) => {
                        let (x, y) = point.split_at(32);
                        (
                            &mut out.es256,
                            format!(
                                r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}"#,
                                base64url(x),
                                base64url(y)
                            ),
                        )
                    }
                    MaterialRef::Ed25519(bytes) => (
                        &mut out.ed25519,
                        format!(
                            r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#,
                            base64url(bytes)
                        ),
                    ),
                };
                if !*on {
                    continue;
                }
                match out.js.import_key(&jwk) {
                    Ok(handle) => out.keys.push((key_address(material), handle)),
                    // One key the platform does not take as given: none of its family.
                    Err(_) => *on = false,
                }
            }
            out.keys.sort_unstable_by_key(|&(address, _)| address);
            let answers = Array::new();
            for (on, alg) in [
                (out.rsa, Algorithm::Rs256),
                (out.rsa, Algorithm::Ps256),
                (out.es256, Algorithm::Es256),
                (out.ed25519, Algorithm::EdDsa),
            ] {
                if on {
                    answers.push(&known_answer(alg));
                }
            }
            out.js.start_async(answers);
            Some(out)
        }

        /// Whether the platform verifies keys of `key_type` (synchronously: P-256 and Ed25519).
        pub(crate) fn verifies(&self, key_type: KeyType) -> bool {
            match key_type {
                KeyType::Rsa => false,
                KeyType::P256 => self.es256,
                KeyType::Ed25519 => self.ed25519,
            }
        }

        /// The `KeyObject` of `key`, when its family is by the platform (`asynchronous`: the
        /// asynchronous methods' families, RSA included).
        fn handle(&self, key: &KeyRef<'_>, asynchronous: bool) -> Option<&JsValue> {
            let material = key.material();
            let on = match material.key_type() {
                KeyType::Rsa => asynchronous && self.rsa,
                key_type => self.verifies(key_type),
            };
            if !on {
                return None;
            }
            let address = key_address(material);
            let index = self.keys.binary_search_by_key(&address, |&(a, _)| a).ok()?;
            self.keys.get(index).map(|(_, handle)| handle)
        }

        /// The synchronous verdict on `check` (ES256 and Ed25519), `None` where the platform
        /// does not verify it or fails (then the wasm arithmetic does).
        pub(crate) fn verify(&self, check: &SignatureCheck<'_>) -> Option<bool> {
            let handle = self.handle(check.key(), false)?;
            self.js
                .verify(
                    handle,
                    check.alg().as_str(),
                    check.message(),
                    check.signature(),
                )
                .ok()
        }

        /// `[KeyObject, alg, message, signature]` for the platform's asynchronous `verify`,
        /// when it verifies `check`'s family.
        pub(crate) fn request(&self, check: &SignatureCheck<'_>) -> Option<JsValue> {
            let handle = self.handle(check.key(), true)?;
            let request = Array::new();
            request.push(handle);
            request.push(&check.alg().as_str().into());
            request.push(&Uint8Array::from(check.message()));
            request.push(&Uint8Array::from(check.signature()));
            Some(request.into())
        }

        /// The promise of an asynchronous call whose first round answered `out`.
        pub(crate) fn drive(&self, out: JsValue) -> Promise {
            drive(out, &self.js)
        }
    }

    /// `[alg, jwk, input, signature]`: the known answer of `alg` as the snippet takes it.
    fn known_answer(alg: Algorithm) -> Array {
        let out = Array::new();
        if let Some(&(alg, jwk, input, signature)) =
            super::KNOWN_ANSWERS.iter().find(|&&(a, ..)| a == alg)
        {
            for text in [alg.as_str(), jwk, input, signature] {
                out.push(&text.into());
            }
        }
        out
    }
}

#[cfg(not(feature = "platform-rsa"))]
mod disabled {
    use rfc7523::{KeyRef, KeyType, SignatureCheck};

    /// No platform signatures in this build: a type with no values.
    #[derive(Debug)]
    pub(crate) enum PlatformSignatures {}

    impl PlatformSignatures {
        pub(crate) fn load<'k, I: Iterator<Item = KeyRef<'k>>>(
            _keys: impl Fn() -> I,
            _ec: bool,
            _rsa: bool,
        ) -> Option<Self> {
            None
        }

        pub(crate) fn verifies(&self, _key_type: KeyType) -> bool {
            match *self {}
        }

        pub(crate) fn verify(&self, _check: &SignatureCheck<'_>) -> Option<bool> {
            match *self {}
        }
    }
}

#[cfg(all(test, feature = "all-algorithms"))]
mod tests {
    use rfc7523::alg::eddsa::Ed25519VerifyingKey;
    use rfc7523::alg::es256::P256VerifyingKey;
    use rfc7523::alg::ps256;
    use rfc7523::{Algorithm, RsaVerifyingKey};

    fn decode(text: &str) -> Vec<u8> {
        <base64ct::Base64UrlUnpadded as base64ct::Encoding>::decode_vec(text).unwrap_or_default()
    }

    /// Each known answer verifies under the core's own implementation, and fails with the last
    /// bit of its signature flipped (what the snippet checks of the platform).
    #[test]
    fn known_answers_are_right_by_the_core() {
        for (alg, jwk, input, signature) in super::KNOWN_ANSWERS {
            let good = decode(signature);
            assert!(!good.is_empty());
            let mut bad = good.clone();
            if let Some(last) = bad.last_mut() {
                *last ^= 1;
            }
            let verify = |signature: &[u8]| match alg {
                Algorithm::Rs256 => RsaVerifyingKey::from_jwk(jwk)
                    .is_ok_and(|key| key.verify_rs256(input.as_bytes(), signature)),
                Algorithm::Ps256 => RsaVerifyingKey::from_jwk(jwk)
                    .is_ok_and(|key| ps256::verify_message(&key, input.as_bytes(), signature)),
                Algorithm::Es256 => P256VerifyingKey::from_jwk(jwk)
                    .is_ok_and(|key| key.verify_message(input.as_bytes(), signature)),
                Algorithm::EdDsa | Algorithm::Ed25519 => Ed25519VerifyingKey::from_jwk(jwk)
                    .is_ok_and(|key| key.verify_message(input.as_bytes(), signature)),
            };
            assert!(verify(&good), "{alg}");
            assert!(!verify(&bad), "{alg}: flipped");
        }
    }
}
