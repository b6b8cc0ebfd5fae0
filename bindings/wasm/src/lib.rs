//! JavaScript bindings for `rfc7523` (wasm-bindgen), packaged for npm as `rfc7523`.
//!
//! Thin on purpose: each export converts its arguments, calls the core, and converts the
//! result. The rules live in the core (`crates/rfc7523`); this crate only maps JS options onto
//! the core's parties (a registry document, loaded by the core, or the one `Party` of the
//! `keys` form) and profiles, JS dates onto Unix seconds, and core errors onto
//! `AssertionError` objects with jose-style codes.
//!
//! Two modules come from this crate (`cargo xtask wasm`): the default features (`verify`) give
//! the package's main module, verification only; `--no-default-features --features sign`
//! gives the `rfc7523/sign` module, `signAssertion` only. Both features together (the
//! `wasm-bindgen-test` tests) export everything.
#![forbid(unsafe_code)]

#[cfg(not(any(feature = "verify", feature = "sign")))]
compile_error!("rfc7523-wasm: enable `verify` (the default), `sign`, or both");

#[cfg(feature = "verify")]
mod platform_rsa;
#[cfg(feature = "verify")]
mod platform_sig;
#[cfg(feature = "sign")]
mod sign;
#[cfg(feature = "verify")]
mod verify;

#[cfg(feature = "sign")]
pub use sign::{sign_assertion, SignOptions};
#[cfg(feature = "verify")]
pub use verify::{
    error_class, AssertionErrorClass, AssertionVerifier, TokenRequestResult, VerifierOptions,
    VerifyOptions, VerifyResult, DEFAULT_REPLAY_CAPACITY,
};

use js_sys::Reflect;
#[cfg(feature = "sign")]
use js_sys::{Date, Object};
use wasm_bindgen::prelude::*;
#[cfg(feature = "sign")]
use wasm_bindgen::JsCast;

/// Unpadded base64url (RFC 4648 §5) of `bytes`: replay keys and RSA key components. Ours,
/// not a crate's: encoding is a few lines, and the module has a size budget.
#[cfg(feature = "verify")]
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        // The chunk's bytes as the top 24 bits' worth of a u32, then one symbol per 6 bits:
        // 2, 3 or 4 of them for 1, 2 or 3 bytes.
        let bits = chunk
            .iter()
            .zip([16, 8, 0])
            .fold(0u32, |bits, (&byte, shift)| bits | u32::from(byte) << shift);
        for shift in [18, 12, 6, 0].into_iter().take(chunk.len() + 1) {
            out.push(char::from(ALPHABET[(bits >> shift & 63) as usize]));
        }
    }
    out
}

fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// `options` must be a plain object whose own keys are all in `allowed`: an unknown name is
/// most likely a typo of a check (`requireJTI`), and ignoring it would weaken the policy.
/// (The sign module's; the main module does the same in one JavaScript call, `checkOptions`
/// in verify.rs.)
#[cfg(feature = "sign")]
fn check_options(options: &JsValue, allowed: &[&str], what: &str) -> Result<(), JsValue> {
    if !options.is_object() || options.is_function() {
        return Err(type_error(&format!("{what} must be an object")));
    }
    for key in Object::keys(options.unchecked_ref::<Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !allowed.contains(&key.as_str()) {
            // Written out rather than with `{:?}` and `join`: both pull their own code into
            // the size-budgeted module.
            let mut message = format!("{what}: unknown option \"{key}\" (known:");
            for (i, name) in allowed.iter().enumerate() {
                message.push_str(if i == 0 { " " } else { ", " });
                message.push_str(name);
            }
            message.push(')');
            return Err(type_error(&message));
        }
    }
    Ok(())
}

/// The member `key`, or `None` when absent, `undefined` or `null`.
fn optional(object: &JsValue, key: &str) -> Result<Option<JsValue>, JsValue> {
    member(object, &key.into())
}

/// [`optional`] with the name already a JavaScript string (made once, not per call).
fn member(object: &JsValue, key: &JsValue) -> Result<Option<JsValue>, JsValue> {
    let value = Reflect::get(object, key)?;
    Ok((!value.is_null_or_undefined()).then_some(value))
}

fn string(object: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    optional(object, key)?
        .map(|v| {
            v.as_string()
                .ok_or_else(|| type_error(&format!("{key} must be a string")))
        })
        .transpose()
}

/// A finite, non-negative number of seconds (jose also refuses NaN and infinities).
fn seconds(object: &JsValue, key: &str) -> Result<Option<u64>, JsValue> {
    let Some(value) = optional(object, key)? else {
        return Ok(None);
    };
    match value.as_f64() {
        Some(n) if (0.0..=9_007_199_254_740_991.0).contains(&n) => Ok(Some(n as u64)),
        _ => Err(type_error(&format!(
            "{key} must be a finite, non-negative number of seconds"
        ))),
    }
}

/// A boolean, or `default` when absent.
fn boolean(object: &JsValue, key: &str, default: bool) -> Result<bool, JsValue> {
    match optional(object, key)? {
        None => Ok(default),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| type_error(&format!("{key} must be a boolean"))),
    }
}

/// `currentDate` of an options object (a valid `Date`), else the current time. `allowed`
/// lists the option names of the calling function (checked here when the options come only
/// for the date). (The sign module's; the main module's is `currentMillis` in verify.rs.)
// Not inlined: inlined into `signAssertion`, it made the sign module 0.3 KB larger (gzip -9).
#[cfg(feature = "sign")]
#[inline(never)]
fn current_time(options: &JsValue, allowed: &[&str]) -> Result<u64, JsValue> {
    let millis = if options.is_null_or_undefined() {
        Date::now()
    } else {
        check_options(options, allowed, "options")?;
        match Reflect::get(options, &"currentDate".into())? {
            v if v.is_undefined() => Date::now(),
            v => match v.dyn_ref::<Date>() {
                Some(date) if date.get_time().is_finite() => date.get_time(),
                // Never fall back to the clock on a bad date (jose, claim_scenarios K2).
                _ => return Err(type_error("currentDate must be a valid Date")),
            },
        }
    };
    unix_seconds(millis)
}

/// Unix seconds of a time in milliseconds (a `Date`'s), which must not be before 1970.
fn unix_seconds(millis: f64) -> Result<u64, JsValue> {
    if millis < 0.0 {
        return Err(type_error("currentDate must not be before 1970"));
    }
    Ok((millis / 1000.0).floor() as u64)
}

#[cfg(all(test, feature = "verify"))]
mod tests {
    #[test]
    fn base64url_rfc4648_vectors_and_the_url_alphabet() {
        for (input, expected) in [
            (&b""[..], ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff, 0xbf], "-_-_"),
            (&[0, 0, 0, 0xff], "AAAA_w"),
        ] {
            assert_eq!(super::base64url(input), expected, "{input:?}");
        }
        // Every byte value, against the reference encoder.
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            let slice = &all[len..];
            assert_eq!(
                super::base64url(slice),
                <base64ct::Base64UrlUnpadded as base64ct::Encoding>::encode_string(slice)
            );
        }
    }
}
