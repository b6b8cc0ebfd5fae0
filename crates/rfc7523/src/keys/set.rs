//! Key storage sized to the keys: a party's keys packed one after another in a byte array the
//! caller owns ([`KeyStore`], its size a const generic, so that a firmware can keep it in a
//! `static` and choose how much RAM its keys take), read in place ([`Keys`], [`KeyRef`]).
//!
//! A record is a 6-byte head (key type, the JWK's `alg`, flags, `kid` length, record length),
//! the `kid`, the thumbprints when present, the certificate's validity when the key came from
//! one (two 8-byte Unix times), then the key: for RSA `e`, the Montgomery constant,
//! `n` and `R² mod n` (2k + 16 bytes for a k-byte modulus), for P-256 `x || y` (64 bytes), for
//! Ed25519 its encoding (32 bytes). Records are written only by this module, from keys that
//! passed every load-time check; reading them is still bounds-checked everywhere.

use super::source::{Meta, Modulus, Source};
#[cfg(feature = "x509")]
use super::Validity;
use super::{
    rsa, KeyError, KeyRef, KeyTextError, MaterialRef, RsaKey, VerifyingKey, MAX_JWKS_KEYS,
    MAX_KEY_TEXT_LEN, X5T_LEN, X5T_S256_LEN,
};
use crate::alg::Algorithm;
use crate::json::{self, Value};
use crate::jws::MAX_HEADER_STRING_LEN;

const HEAD_LEN: usize = 6;
const KIND_RSA: u8 = 0;
const KIND_P256: u8 = 1;
const KIND_ED25519: u8 = 2;
const NO_ALG: u8 = 0xff;
const FLAG_ANY_KID: u8 = 1;
const FLAG_X5T_S256: u8 = 2;
const FLAG_X5T: u8 = 4;
const FLAG_KID: u8 = 8;
const FLAG_VALIDITY: u8 = 16;
/// A certificate's validity in a record: `not_before` and `not_after`, 8 bytes each.
const VALIDITY_LEN: usize = 16;
/// RSA's fixed part: `e` and the Montgomery constant, 8 bytes each.
const RSA_FIXED_LEN: usize = 16;

/// The most bytes one key takes in a [`KeySet`]: an 8192-bit RSA key with a `kid` of
/// [`MAX_HEADER_STRING_LEN`] bytes, both thumbprints and a certificate's validity.
pub const MAX_KEY_RECORD_LEN: usize = HEAD_LEN
    + MAX_HEADER_STRING_LEN
    + X5T_S256_LEN
    + X5T_LEN
    + VALIDITY_LEN
    + RSA_FIXED_LEN
    + 2 * super::rsa::MAX_MODULUS_LEN;

/// Bytes of the default [`KeySet`] (a [`KeyStore`]): room for [`MAX_JWKS_KEYS`] keys of any size (about 36 KB,
/// what the std layers use). A firmware picks its own: `KeyStore<600>` holds one 2048-bit RSA
/// key with a short `kid`; `KeyStore<256>` three P-256 or Ed25519 keys.
pub const DEFAULT_KEY_SET_BYTES: usize = MAX_JWKS_KEYS * MAX_KEY_RECORD_LEN;

// A record's length fits its 16-bit field.
const _: () = assert!(MAX_KEY_RECORD_LEN <= u16::MAX as usize);

/// Most members of an X.509 map (each is one key of the party: [`MAX_JWKS_KEYS`]). A map with
/// more is refused whole ([`KeyError::TooManyKeys`]) before any certificate is read.
pub const MAX_X509_MAP_MEMBERS: usize = MAX_JWKS_KEYS;

/// The keys of one party in the default size, [`DEFAULT_KEY_SET_BYTES`] (what the std layers
/// use): room for [`MAX_JWKS_KEYS`] keys of any size.
pub type KeySet = KeyStore<DEFAULT_KEY_SET_BYTES>;

/// The trusted keys of one party: at most [`MAX_JWKS_KEYS`], packed into `N` bytes kept in
/// place (no heap). Load keys into it where it lives ([`load_text`](Self::load_text),
/// [`push`](Self::push)): a firmware keeps it in a `static`, and nothing large is returned by
/// value.
#[derive(Clone)]
pub struct KeyStore<const N: usize> {
    bytes: [u8; N],
    used: usize,
    count: usize,
}

impl<const N: usize> Default for KeyStore<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> PartialEq for KeyStore<N> {
    fn eq(&self, other: &Self) -> bool {
        self.keys() == other.keys()
    }
}

impl<const N: usize> Eq for KeyStore<N> {}

impl<const N: usize> core::fmt::Debug for KeyStore<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.keys().iter()).finish()
    }
}

impl<const N: usize> KeyStore<N> {
    /// An empty set.
    pub const fn new() -> Self {
        Self {
            bytes: [0; N],
            used: 0,
            count: 0,
        }
    }

    /// Adds a key; [`KeyError::TooManyKeys`] past [`MAX_JWKS_KEYS`], [`KeyError::StorageFull`]
    /// when its record does not fit the `N` bytes.
    pub fn push(&mut self, key: &VerifyingKey) -> Result<(), KeyError> {
        self.push_source(key.meta(), key.material().as_source())
    }

    /// Writes a key read from text into the free bytes, in place.
    fn push_source(&mut self, meta: &Meta, source: Source<'_>) -> Result<(), KeyError> {
        if self.count >= MAX_JWKS_KEYS {
            return Err(KeyError::TooManyKeys);
        }
        let free = self.bytes.get_mut(self.used..).unwrap_or_default();
        let written = write_record(meta, source, free)?;
        self.used += written;
        self.count += 1;
        Ok(())
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.used = 0;
        self.count = 0;
    }

    /// Adds the keys of `text`, detected from its content: a JWK Set (an object with `keys`),
    /// a single JWK (an object with `kty`), an X.509 map (feature `x509`: an object of `kid` →
    /// PEM certificate, some member a PEM `CERTIFICATE`), or a PEM block (`PUBLIC KEY`, `RSA
    /// PUBLIC KEY`, or with `x509` a `CERTIFICATE`). All or nothing: on an error the set is as
    /// it was.
    ///
    /// In a JWK Set, keys not meant for verifying signatures with a supported algorithm are
    /// skipped; an unsafe key of a supported type (too small, bad exponent, off the curve)
    /// fails the whole set, so that a configuration mistake is seen at start-up rather than as
    /// rejected logins. An X.509 map follows the same rules (a certificate of another key type
    /// or curve is skipped), and every member must be a PEM certificate. A key given on its
    /// own without a `kid` (PEM, lone JWK) serves any header `kid`; a key of a JWK Set or an
    /// X.509 map only its own.
    ///
    /// [`load_text_detailed`](Self::load_text_detailed) also names the X.509 map member at
    /// fault.
    pub fn load_text(&mut self, text: &str) -> Result<(), KeyError> {
        let (used, count) = (self.used, self.count);
        let result = self.load_text_inner(text);
        if result.is_err() {
            self.used = used;
            self.count = count;
        }
        result
    }

    /// [`load_text`](Self::load_text), and when an X.509 map is refused for one of its members,
    /// that member's name (its `kid`) in the error.
    // The error carries a `kid` (168 bytes): loaded once at start-up by the std layers; a
    // firmware's `load_text` returns the small `KeyError`.
    #[allow(clippy::result_large_err)]
    pub fn load_text_detailed(&mut self, text: &str) -> Result<(), KeyTextError> {
        #[cfg(feature = "x509")]
        if text.len() <= MAX_KEY_TEXT_LEN && text.trim_start().starts_with('{') {
            if let JsonKind::X509Map = json_kind(text)? {
                return self.load_x509_map(text);
            }
        }
        self.load_text(text).map_err(KeyTextError::from)
    }

    fn load_text_inner(&mut self, text: &str) -> Result<(), KeyError> {
        if text.len() > MAX_KEY_TEXT_LEN {
            return Err(KeyError::TooLarge);
        }
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            self.load_json(text)
        } else if crate::pem::find(trimmed, "-----BEGIN ").is_some() {
            self.load_pem(text)
        } else {
            Err(KeyError::Malformed)
        }
    }

    /// A JWK Set, a lone JWK or an X.509 map. Not inlined (nor is
    /// [`load_pem`](Self::load_pem)): one frame holds the JSON reader's members, the other the
    /// PEM buffer, never both.
    #[inline(never)]
    fn load_json(&mut self, text: &str) -> Result<(), KeyError> {
        match json_kind(text)? {
            JsonKind::Set(Value::Array(keys)) => {
                let mut usable = 0usize;
                for element in keys.elements() {
                    let Value::Object(jwk) = element.map_err(|_| KeyError::Malformed)? else {
                        return Err(KeyError::InvalidMember("keys"));
                    };
                    if self.load_member(jwk)? {
                        usable += 1;
                    }
                }
                if usable == 0 {
                    return Err(KeyError::NoUsableKeys);
                }
                Ok(())
            }
            JsonKind::Set(_) => Err(KeyError::InvalidMember("keys")),
            #[cfg(feature = "x509")]
            JsonKind::Jwk => self.load_lone_jwk(text),
            // An X.509 map read as a JWK: no `kty`, and a PEM certificate in it.
            #[cfg(not(feature = "x509"))]
            JsonKind::Jwk => match self.load_lone_jwk(text) {
                Err(KeyError::MissingMember("kty"))
                    if crate::pem::find(text, "-----BEGIN CERTIFICATE-----").is_some() =>
                {
                    Err(KeyError::CertificatesNotBuiltIn)
                }
                other => other,
            },
            #[cfg(feature = "x509")]
            JsonKind::X509Map => self.load_x509_map(text).map_err(|e| e.error),
            #[cfg(not(feature = "x509"))]
            JsonKind::X509Map => Err(KeyError::CertificatesNotBuiltIn),
        }
    }

    /// Adds the keys of an X.509 map (feature `x509`): a JSON object whose members are `kid` →
    /// PEM certificate (RFC 7468 `CERTIFICATE`, line breaks escaped in the JSON string), as
    /// Google publishes a service account's keys at
    /// `https://www.googleapis.com/service_accounts/v1/metadata/x509/EMAIL`. Each certificate's
    /// public key is stored with its member's name as `kid` and the certificate's
    /// [`Validity`]; nothing else of the certificate is read or trusted.
    ///
    /// Strict, and all or nothing: at most [`MAX_X509_MAP_MEMBERS`] members; a member that is
    /// not a PEM certificate ([`KeyError::NotACertificate`]), a certificate that does not read
    /// or is longer than [`MAX_CERTIFICATE_LEN`](super::MAX_CERTIFICATE_LEN), a `kid` longer
    /// than [`MAX_HEADER_STRING_LEN`], or an unsafe key refuse the whole map, the error naming
    /// the member. As in a JWK Set, a certificate of another key type or curve (RSA-PSS,
    /// P-384, Ed448, …) is skipped, and at least one key must be usable.
    #[cfg(feature = "x509")]
    // The error carries a `kid` (168 bytes): loaded once at start-up by the std layers; a
    // firmware's `load_text` returns the small `KeyError`.
    #[allow(clippy::result_large_err)]
    pub fn load_x509_map(&mut self, json: &str) -> Result<(), KeyTextError> {
        let (used, count) = (self.used, self.count);
        let result = self.load_x509_map_inner(json);
        if result.is_err() {
            self.used = used;
            self.count = count;
        }
        result
    }

    #[cfg(feature = "x509")]
    // The error carries a `kid` (168 bytes): loaded once at start-up by the std layers; a
    // firmware's `load_text` returns the small `KeyError`.
    #[allow(clippy::result_large_err)]
    fn load_x509_map_inner(&mut self, json: &str) -> Result<(), KeyTextError> {
        if json.len() > MAX_KEY_TEXT_LEN {
            return Err(KeyError::TooLarge.into());
        }
        let object = json::parse_object(json.as_bytes()).map_err(|_| KeyError::Malformed)?;
        if object.members().count() > MAX_X509_MAP_MEMBERS {
            return Err(KeyError::TooManyKeys.into());
        }
        if object.members().next().is_none() {
            return Err(KeyError::NoUsableKeys.into());
        }
        let mut usable = 0usize;
        for (name, value) in object.members() {
            let kid: super::Kid = name.decoded().map_err(|()| KeyError::KidTooLong)?;
            let at = |error: KeyError| KeyTextError {
                error,
                kid: Some(kid.clone()),
            };
            let Value::String(pem) = value else {
                return Err(at(KeyError::NotACertificate));
            };
            let pem = super::certificate::json_text(pem);
            let certificate = super::certificate::from_pem(&pem).map_err(at)?;
            let source = match certificate.source() {
                Ok(source) => source,
                // As in a JWK Set: another key type or curve, or one this build leaves out.
                Err(
                    KeyError::UnsupportedKeyType
                    | KeyError::UnsupportedCurve
                    | KeyError::NotBuiltIn(_),
                ) => continue,
                Err(error) => return Err(at(error)),
            };
            let mut meta = Meta::new();
            meta.kid = Some(kid.clone());
            meta.any_kid = false;
            meta.validity = Some(certificate.validity);
            self.push_source(&meta, source).map_err(at)?;
            usable += 1;
        }
        if usable == 0 {
            return Err(KeyError::NoUsableKeys.into());
        }
        Ok(())
    }

    /// A lone JWK: without a `kid` it serves any header `kid`.
    #[inline(never)]
    fn load_lone_jwk(&mut self, text: &str) -> Result<(), KeyError> {
        let object = json::parse_object(text.as_bytes()).map_err(|_| KeyError::Malformed)?;
        let (mut meta, source) = super::jwk::read(&object)??;
        meta.any_kid = meta.kid.is_none();
        self.push_source(&meta, source)
    }

    /// One JWK of a set: stored when usable (true), skipped when not for a supported signature
    /// algorithm (false). Its own frame, beside the set's.
    #[inline(never)]
    fn load_member(&mut self, jwk: &[u8]) -> Result<bool, KeyError> {
        let jwk = json::parse_object(jwk).map_err(|_| KeyError::Malformed)?;
        match super::jwk::read(&jwk)? {
            Ok((mut meta, source)) => {
                // In a set, a `kid` in the header must name the key.
                meta.any_kid = false;
                self.push_source(&meta, source)?;
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    /// A PEM block.
    #[inline(never)]
    fn load_pem(&mut self, text: &str) -> Result<(), KeyError> {
        let mut buf = [0u8; crate::pem::MAX_DER];
        match super::source::pem(text, &mut buf)? {
            super::source::Pem::Key(source) => self.push_source(&Meta::new(), source),
            super::source::Pem::Certificate(body) => self.load_certificate(body),
        }
    }

    /// A PEM `CERTIFICATE`'s body (feature `x509`): its key, serving any `kid` like a `PUBLIC
    /// KEY`, with the certificate's validity. Its own frame: the certificate is read on the
    /// heap, beside none of the PEM key's buffers.
    #[cfg(feature = "x509")]
    #[inline(never)]
    fn load_certificate(&mut self, body: &str) -> Result<(), KeyError> {
        let certificate = super::certificate::from_pem_body(body)?;
        let mut meta = Meta::new();
        meta.validity = Some(certificate.validity);
        self.push_source(&meta, certificate.source()?)
    }

    #[cfg(not(feature = "x509"))]
    fn load_certificate(&mut self, _body: &str) -> Result<(), KeyError> {
        Err(KeyError::CertificatesNotBuiltIn)
    }

    /// A set of the keys of `text` ([`load_text`](Self::load_text)), by value: for std code.
    /// A firmware loads into a set where it lives instead.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let mut set = Self::new();
        set.load_text(text)?;
        Ok(set)
    }

    /// Adds the keys of a JWK Set (RFC 7517 §5): [`load_text`](Self::load_text) of a document
    /// that must be a JWK Set.
    pub fn load_jwks(&mut self, json: &str) -> Result<(), KeyError> {
        if json.len() > MAX_KEY_TEXT_LEN {
            return Err(KeyError::TooLarge);
        }
        let object = json::parse_object(json.as_bytes()).map_err(|_| KeyError::Malformed)?;
        match object.get("keys") {
            Some(Value::Array(_)) => self.load_text(json),
            Some(_) => Err(KeyError::InvalidMember("keys")),
            None => Err(KeyError::MissingMember("keys")),
        }
    }

    /// A set of the keys of a JWK Set (RFC 7517 §5).
    pub fn from_jwks(json: &str) -> Result<Self, KeyError> {
        let mut set = Self::new();
        set.load_jwks(json)?;
        Ok(set)
    }

    /// A set holding one JWK.
    pub fn from_jwk(json: &str) -> Result<Self, KeyError> {
        Self::from_key(&VerifyingKey::from_jwk(json)?)
    }

    /// A set holding one PEM key.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_key(&VerifyingKey::from_pem(pem)?)
    }

    /// A set holding `key`.
    pub fn from_key(key: &VerifyingKey) -> Result<Self, KeyError> {
        let mut set = Self::new();
        set.push(key)?;
        Ok(set)
    }

    /// Number of keys.
    pub const fn len(&self) -> usize {
        self.count
    }

    /// True when the set has no key.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the keys take (of `N`).
    pub const fn bytes_used(&self) -> usize {
        self.used
    }

    /// The keys, read in place (what a [`Party`](crate::Party) holds).
    pub fn keys(&self) -> Keys<'_> {
        Keys {
            bytes: self.bytes.get(..self.used).unwrap_or_default(),
            count: self.count,
        }
    }

    /// The keys, in load order.
    pub fn iter(&self) -> impl Iterator<Item = KeyRef<'_>> {
        self.keys().into_iter()
    }
}

/// The keys of one party, read in place from a [`KeySet`] (or an [`OwnedKeys`]).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Keys<'a> {
    bytes: &'a [u8],
    count: usize,
}

impl core::fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> Keys<'a> {
    /// No keys.
    pub const EMPTY: Keys<'static> = Keys {
        bytes: &[],
        count: 0,
    };

    /// Number of keys.
    pub const fn len(&self) -> usize {
        self.count
    }

    /// True when there is no key.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The keys, in load order.
    pub fn iter(&self) -> KeyIter<'a> {
        KeyIter { rest: self.bytes }
    }
}

impl<'a> IntoIterator for Keys<'a> {
    type Item = KeyRef<'a>;
    type IntoIter = KeyIter<'a>;

    fn into_iter(self) -> KeyIter<'a> {
        self.iter()
    }
}

/// The keys of a [`Keys`], one [`KeyRef`] at a time.
#[derive(Clone, Debug)]
pub struct KeyIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for KeyIter<'a> {
    type Item = KeyRef<'a>;

    fn next(&mut self) -> Option<KeyRef<'a>> {
        let rest = self.rest;
        let len = usize::from(u16::from_le_bytes([*rest.get(4)?, *rest.get(5)?]));
        let (record, rest) = rest.split_at_checked(len)?;
        self.rest = rest;
        let key = read_record(record);
        if key.is_none() {
            // Never written by this module: stop rather than guess.
            self.rest = &[];
        }
        key
    }
}

/// Keys with their storage on the heap, sized exactly (feature `alloc`): what a
/// [`Registry`](crate::Registry) keeps for each party.
#[cfg(feature = "alloc")]
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OwnedKeys {
    bytes: alloc::vec::Vec<u8>,
    count: usize,
}

#[cfg(feature = "alloc")]
impl core::fmt::Debug for OwnedKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.keys().fmt(f)
    }
}

#[cfg(feature = "alloc")]
impl OwnedKeys {
    /// The keys of `set`, copied to the heap.
    pub fn from_set<const N: usize>(set: &KeyStore<N>) -> Self {
        let keys = set.keys();
        Self {
            bytes: keys.bytes.to_vec(),
            count: keys.count,
        }
    }

    /// Adds a key ([`KeyError::TooManyKeys`] past [`MAX_JWKS_KEYS`]).
    pub fn push(&mut self, key: &VerifyingKey) -> Result<(), KeyError> {
        if self.count >= MAX_JWKS_KEYS {
            return Err(KeyError::TooManyKeys);
        }
        let mut record = [0u8; MAX_KEY_RECORD_LEN];
        let written = write_record(key.meta(), key.material().as_source(), &mut record)?;
        self.bytes
            .extend_from_slice(record.get(..written).unwrap_or_default());
        self.count += 1;
        Ok(())
    }

    /// The keys, read in place.
    pub fn keys(&self) -> Keys<'_> {
        Keys {
            bytes: &self.bytes,
            count: self.count,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when there is no key.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// What a JSON key text is.
enum JsonKind<'a> {
    /// A JWK Set: its `keys` member.
    Set(Value<'a>),
    /// A lone JWK (also what an object that is none of the others is read as).
    Jwk,
    /// An X.509 map: neither `keys` nor `kty`, and some member a string holding a PEM
    /// `CERTIFICATE` block.
    X509Map,
}

/// What the JSON object `text` is. Its own frame: the object's members are gone before the
/// keys are read, one by one.
#[inline(never)]
fn json_kind(text: &str) -> Result<JsonKind<'_>, KeyError> {
    let object = json::parse_object(text.as_bytes()).map_err(|_| KeyError::Malformed)?;
    if let Some(keys) = object.get("keys") {
        return Ok(JsonKind::Set(keys));
    }
    let certificate = |value: &Value<'_>| match value {
        Value::String(text) => text.contains_raw(b"-----BEGIN CERTIFICATE-----"),
        _ => false,
    };
    // Without `x509` a map is told from a broken JWK only when it fails as one (`load_json`).
    if cfg!(feature = "x509")
        && object.get("kty").is_none()
        && object.members().any(|(_, value)| certificate(value))
    {
        return Ok(JsonKind::X509Map);
    }
    Ok(JsonKind::Jwk)
}

/// Writes the record of a key at the start of `out`, in place (an RSA modulus decoded into
/// its slot, `R² mod n` computed into the next), and returns its length;
/// [`KeyError::StorageFull`] with the bytes it needs when `out` is too short.
fn write_record(meta: &Meta, source: Source<'_>, out: &mut [u8]) -> Result<usize, KeyError> {
    let kid = meta.kid.as_deref().unwrap_or_default().as_bytes();
    let head = HEAD_LEN
        + kid.len()
        + meta.x5t_s256.map_or(0, |t| t.len())
        + meta.x5t.map_or(0, |t| t.len())
        + validity_len(meta);
    let left = out.len();
    let full = |needed: usize| KeyError::StorageFull { needed, left };
    let (kind, len) = match source {
        Source::Rsa { n, e } => {
            // [e][n0][n: k bytes][R² mod n: k bytes]
            let numbers_at = head + RSA_FIXED_LEN;
            let room = out.get_mut(numbers_at..).unwrap_or_default();
            let (k, n0) = match n {
                Modulus::Precomputed { n, rr, n0 } => {
                    let k = n.len();
                    let slot = room
                        .get_mut(..2 * k)
                        .ok_or_else(|| full(numbers_at + 2 * k))?;
                    let (n_slot, rr_slot) = slot.split_at_mut(k);
                    n_slot.copy_from_slice(n);
                    rr_slot.copy_from_slice(rr.get(..k).ok_or(KeyError::InvalidModulus)?);
                    (k, n0)
                }
                Modulus::Bytes(n) => {
                    let n = rsa::check_modulus(n)?;
                    let k = n.len();
                    let slot = room
                        .get_mut(..2 * k)
                        .ok_or_else(|| full(numbers_at + 2 * k))?;
                    let (n_slot, rr_slot) = slot.split_at_mut(k);
                    n_slot.copy_from_slice(n);
                    (k, precompute(n_slot, e, rr_slot)?)
                }
                Modulus::Base64(text) => {
                    // Decoded where it is kept; leading zeros (non-canonical, but seen) moved out.
                    let decoded = crate::base64url::decoded_len(text.len());
                    if decoded > rsa::MAX_MODULUS_LEN + 1 {
                        return Err(KeyError::ModulusTooLarge { bits: decoded * 8 });
                    }
                    let slot = room
                        .get_mut(..2 * decoded)
                        .ok_or_else(|| full(numbers_at + 2 * decoded))?;
                    let n = super::jwk::decode_modulus(text, slot)?;
                    let stripped = rsa::check_modulus(n)?.len();
                    let zeros = n.len() - stripped;
                    slot.copy_within(zeros..zeros + stripped, 0);
                    let (n_slot, rest) = slot.split_at_mut(stripped);
                    let rr_slot = rest.get_mut(..stripped).ok_or(KeyError::InvalidModulus)?;
                    (stripped, precompute(n_slot, e, rr_slot)?)
                }
            };
            let fixed = out
                .get_mut(head..numbers_at)
                .ok_or_else(|| full(numbers_at + 2 * k))?;
            let (e_slot, n0_slot) = fixed.split_at_mut(8);
            e_slot.copy_from_slice(&e.to_le_bytes());
            n0_slot.copy_from_slice(&n0.to_le_bytes());
            (KIND_RSA, numbers_at + 2 * k)
        }
        #[cfg(feature = "es256")]
        Source::P256(point) => (
            KIND_P256,
            put_after(out, head, &point).ok_or_else(|| full(head + point.len()))?,
        ),
        #[cfg(feature = "eddsa")]
        Source::Ed25519(bytes) => (
            KIND_ED25519,
            put_after(out, head, &bytes).ok_or_else(|| full(head + bytes.len()))?,
        ),
    };
    let len16 = u16::try_from(len).map_err(|_| KeyError::InvalidModulus)?;
    let kid_len = u8::try_from(kid.len()).map_err(|_| KeyError::KidTooLong)?;
    let mut flags = 0;
    if meta.any_kid {
        flags |= FLAG_ANY_KID;
    }
    if meta.kid.is_some() {
        flags |= FLAG_KID;
    }
    if meta.x5t_s256.is_some() {
        flags |= FLAG_X5T_S256;
    }
    if meta.x5t.is_some() {
        flags |= FLAG_X5T;
    }
    if validity_len(meta) != 0 {
        flags |= FLAG_VALIDITY;
    }
    let alg = meta.alg.map_or(NO_ALG, algorithm_code);
    let mut writer = Writer {
        out: out.get_mut(..head).ok_or_else(|| full(len))?,
        at: 0,
    };
    writer.put(&[kind, alg, flags, kid_len]);
    writer.put(&len16.to_le_bytes());
    writer.put(kid);
    if let Some(t) = &meta.x5t_s256 {
        writer.put(t);
    }
    if let Some(t) = &meta.x5t {
        writer.put(t);
    }
    #[cfg(feature = "x509")]
    if let Some(validity) = &meta.validity {
        writer.put(&validity.not_before.to_le_bytes());
        writer.put(&validity.not_after.to_le_bytes());
    }
    if writer.at == head {
        Ok(len)
    } else {
        Err(full(len))
    }
}

/// The bytes of a certificate's validity in the record of `meta`: 16 for a key from a
/// certificate (feature `x509`), else none.
const fn validity_len(meta: &Meta) -> usize {
    #[cfg(feature = "x509")]
    if meta.validity.is_some() {
        return VALIDITY_LEN;
    }
    let _ = meta;
    0
}

/// Copies `bytes` into `out` at `at`; the end of the copy, or `None` when `out` is too short.
#[cfg(any(feature = "es256", feature = "eddsa"))]
fn put_after(out: &mut [u8], at: usize, bytes: &[u8]) -> Option<usize> {
    let end = at + bytes.len();
    out.get_mut(at..end)?.copy_from_slice(bytes);
    Some(end)
}

/// `R² mod n` into `rr`, and the Montgomery constant, for a checked modulus.
fn precompute(n: &[u8], e: u64, rr: &mut [u8]) -> Result<u64, KeyError> {
    rfc7523_rsavp1::precompute(n, e, rr)
        .map(|constants| constants.n0)
        .ok_or(KeyError::InvalidModulus)
}

struct Writer<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if let Some(slot) = self.out.get_mut(self.at..self.at + bytes.len()) {
            slot.copy_from_slice(bytes);
            self.at += bytes.len();
        }
    }
}

fn algorithm_code(alg: Algorithm) -> u8 {
    Algorithm::ALL
        .iter()
        .position(|&a| a == alg)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(NO_ALG)
}

fn read_record(record: &[u8]) -> Option<KeyRef<'_>> {
    let (head, rest) = record.split_at_checked(HEAD_LEN)?;
    let (kind, alg, flags, kid_len) = (*head.first()?, *head.get(1)?, *head.get(2)?, *head.get(3)?);
    let (kid, rest) = rest.split_at_checked(usize::from(kid_len))?;
    let kid = if flags & FLAG_KID != 0 {
        Some(core::str::from_utf8(kid).ok()?)
    } else {
        None
    };
    let (x5t_s256, rest) = if flags & FLAG_X5T_S256 != 0 {
        let (t, rest) = rest.split_at_checked(X5T_S256_LEN)?;
        (Some(<&[u8; X5T_S256_LEN]>::try_from(t).ok()?), rest)
    } else {
        (None, rest)
    };
    let (x5t, rest) = if flags & FLAG_X5T != 0 {
        let (t, rest) = rest.split_at_checked(X5T_LEN)?;
        (Some(<&[u8; X5T_LEN]>::try_from(t).ok()?), rest)
    } else {
        (None, rest)
    };
    #[cfg(feature = "x509")]
    let (validity, rest) = if flags & FLAG_VALIDITY != 0 {
        let (v, rest) = rest.split_at_checked(VALIDITY_LEN)?;
        let (not_before, not_after) = v.split_at_checked(8)?;
        let validity = Validity {
            not_before: u64::from_le_bytes(not_before.try_into().ok()?),
            not_after: u64::from_le_bytes(not_after.try_into().ok()?),
        };
        (Some(validity), rest)
    } else {
        (None, rest)
    };
    // Only keys from certificates have one: never written without `x509`.
    #[cfg(not(feature = "x509"))]
    if flags & FLAG_VALIDITY != 0 {
        return None;
    }
    let material = match kind {
        KIND_RSA => {
            let (fixed, numbers) = rest.split_at_checked(RSA_FIXED_LEN)?;
            let (e, n0) = fixed.split_at_checked(8)?;
            let e = u64::from_le_bytes(e.try_into().ok()?);
            let n0 = u64::from_le_bytes(n0.try_into().ok()?);
            let (n, rr) = numbers.split_at_checked(numbers.len() / 2)?;
            MaterialRef::Rsa(RsaKey::from_parts(n, rr, n0, e))
        }
        KIND_P256 => MaterialRef::P256(rest.try_into().ok()?),
        KIND_ED25519 => MaterialRef::Ed25519(rest.try_into().ok()?),
        _ => return None,
    };
    let alg = match alg {
        NO_ALG => None,
        code => Some(*Algorithm::ALL.get(usize::from(code))?),
    };
    Some(KeyRef {
        material,
        alg,
        kid,
        x5t_s256,
        x5t,
        #[cfg(feature = "x509")]
        validity,
        any_kid: flags & FLAG_ANY_KID != 0,
    })
}
