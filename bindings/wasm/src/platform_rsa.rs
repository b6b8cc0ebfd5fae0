//! The platform's RSA public-key operation for [`KeyLookup::rsavp1`](rfc7523::KeyLookup):
//! Node's `node:crypto` (`publicDecrypt` without padding is RSAVP1, RFC 8017 §5.2.2), native
//! code about three times faster than this package's wasm arithmetic. The core still checks
//! the signature's length and range and compares the result with the one valid encoding;
//! this module only computes `s^e mod n`.
//!
//! Compiled into the `nodejs`, `bundler` and `workers` builds (feature `platform-rsa`): Node,
//! and Workers with the `nodejs_compat` flag (workerd's `publicDecrypt` takes the key as a JWK,
//! not a `KeyObject`). The `web` build (browsers) has no `node:crypto` to use and carries none
//! of this: there [`PlatformKeys::load`] is always `None`.

#[cfg(feature = "platform-rsa")]
pub(crate) use enabled::PlatformKeys;

#[cfg(not(feature = "platform-rsa"))]
pub(crate) use disabled::PlatformKeys;

#[cfg(feature = "platform-rsa")]
mod enabled {
    use rfc7523::limits::MAX_SIGNATURE_LEN;
    use rfc7523::RsaKey;
    use wasm_bindgen::prelude::*;

    use crate::base64url;

    #[wasm_bindgen(inline_js = "
export function platformRsa() {
  const process = globalThis.process;
  if (typeof process?.getBuiltinModule !== 'function') return undefined;
  let crypto;
  try { crypto = process.getBuiltinModule('node:crypto'); } catch { return undefined; }
  const padding = crypto?.constants?.RSA_NO_PADDING;
  if (typeof crypto?.publicDecrypt !== 'function' || typeof crypto.createPublicKey !== 'function'
      || padding === undefined) return undefined;
  return {
    // The publicDecrypt options for a key: a KeyObject (Node), or, where publicDecrypt takes
    // no KeyObject (workerd), the JWK itself; with RSAVP1 of probe by them written to out.
    importKey(n, e, probe, out) {
      const jwk = { kty: 'RSA', n, e };
      const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
      let options = { key, padding };
      let m;
      try {
        m = crypto.publicDecrypt(options, probe);
      } catch {
        options = { key: jwk, format: 'jwk', padding };
        m = crypto.publicDecrypt(options, probe);
      }
      if (m.length !== out.length) throw new RangeError('RSAVP1: not k bytes');
      out.set(m);
      return options;
    },
    rsavp1(options, signature, out) {
      const m = crypto.publicDecrypt(options, signature);
      if (m.length !== out.length) return false;
      out.set(m);
      return true;
    },
  };
}
")]
    extern "C" {
        /// `node:crypto`'s RSA as `{ importKey(n, e, probe, out), rsavp1(options, signature, out) }`, or
        /// `undefined` where the runtime has no `process.getBuiltinModule('node:crypto')`
        /// with `publicDecrypt` (browsers; Node before 20.16).
        type PlatformRsa;
        #[wasm_bindgen(js_name = platformRsa)]
        fn platform_rsa() -> Option<PlatformRsa>;
        /// The `publicDecrypt` options for the key with base64url `n` and `e` (a JWK,
        /// RFC 7518 §6.3.1): a `KeyObject` where `publicDecrypt` of `probe` takes one, else
        /// the JWK; RSAVP1 of `probe` with them in `out` (k bytes). Throws when it fails or
        /// is not k bytes long.
        #[wasm_bindgen(method, catch, js_name = importKey)]
        fn import_key(
            this: &PlatformRsa,
            n: &str,
            e: &str,
            probe: &[u8],
            out: &mut [u8],
        ) -> Result<JsValue, JsValue>;
        /// `publicDecrypt` without padding: `signature^e mod n` into `out` (k bytes); false
        /// when the result is not k bytes long.
        #[wasm_bindgen(method, catch)]
        fn rsavp1(
            this: &PlatformRsa,
            options: &JsValue,
            signature: &[u8],
            out: &mut [u8],
        ) -> Result<bool, JsValue>;
    }

    impl core::fmt::Debug for PlatformRsa {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("PlatformRsa")
        }
    }

    /// The platform's RSA and its handle (the `publicDecrypt` options) for each key of a
    /// verifier, in the verifier's flat order of keys (every key of every party, in registry
    /// order: see `Config::rsa_keys` in `verify.rs`).
    #[derive(Debug)]
    pub(crate) struct PlatformKeys {
        rsa: PlatformRsa,
        handles: Vec<JsValue>,
    }

    impl PlatformKeys {
        /// The platform's RSA with a handle for every key of `keys`; `None` when there is no
        /// platform RSA, when it refuses a key, or when its RSAVP1 of a known value differs
        /// from ours for any key: then the package's arithmetic serves all of them.
        pub(crate) fn load<'k>(keys: impl Iterator<Item = RsaKey<'k>>) -> Option<Self> {
            let rsa = platform_rsa()?;
            let mut handles = Vec::new();
            for key in keys {
                let n = key.modulus();
                let e = key.exponent().to_be_bytes();
                let e = e.get(e.iter().position(|&b| b != 0)?..)?;
                // The known answer: RSAVP1 of 2 (exactly k bytes), by both implementations.
                let mut two = [0u8; MAX_SIGNATURE_LEN];
                let two = two.get_mut(..n.len())?;
                *two.last_mut()? = 2;
                let mut theirs = [0u8; MAX_SIGNATURE_LEN];
                let theirs = theirs.get_mut(..n.len())?;
                let handle = rsa
                    .import_key(&base64url(n), &base64url(e), two, theirs)
                    .ok()?;
                let mut ours = [0u8; MAX_SIGNATURE_LEN];
                let ours = ours.get_mut(..n.len())?;
                key.rsavp1(two, ours)?;
                if ours != theirs {
                    return None;
                }
                handles.push(handle);
            }
            Some(Self { rsa, handles })
        }

        /// RSAVP1 under key number `index` (of the order given to [`load`](Self::load)) into
        /// `out` (exactly k bytes); `None` when the platform throws or answers anything but k
        /// bytes.
        pub(crate) fn rsavp1(&self, index: usize, signature: &[u8], out: &mut [u8]) -> Option<()> {
            let handle = self.handles.get(index)?;
            self.rsa.rsavp1(handle, signature, out).ok()?.then_some(())
        }
    }
}

#[cfg(not(feature = "platform-rsa"))]
mod disabled {
    use rfc7523::RsaKey;

    /// No platform RSA in this build: a type with no values.
    #[derive(Debug)]
    pub(crate) enum PlatformKeys {}

    impl PlatformKeys {
        pub(crate) fn load<'k>(_keys: impl Iterator<Item = RsaKey<'k>>) -> Option<Self> {
            None
        }

        pub(crate) fn rsavp1(
            &self,
            _index: usize,
            _signature: &[u8],
            _out: &mut [u8],
        ) -> Option<()> {
            match *self {}
        }
    }
}
