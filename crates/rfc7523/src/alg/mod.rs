//! The signature algorithms (RFC 7518 §3, RFC 8037 §3.1, RFC 9864 §2.2) and the one table of
//! which key type may serve which `alg`.
//!
//! Each algorithm is its own module, named after the JWS `alg` it verifies, with the RFC
//! section it implements:
//! - [`rs256`] — RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3, RFC 8017 §8.2.2);
//! - [`ps256`] — RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 7518 §3.5,
//!   RFC 8017 §8.1.2 and §9.1.2), on the same RSAVP1 hook as RS256;
//! - [`es256`] — ECDSA on P-256 with SHA-256, the 64-byte `R || S` signature (RFC 7518 §3.4);
//! - [`eddsa`] — Ed25519 (RFC 8032 §5.1.7, strict), for `EdDSA` with an OKP `Ed25519` key
//!   (RFC 8037 §3.1) and the fully-specified `Ed25519` (RFC 9864 §2.2).
//!
//! Which key verifies which `alg` is the [`keys`](crate::keys) module's rule (one algorithm
//! per key); which algorithms a party accepts is its [`Policy`](crate::Policy)'s
//! [`Algorithms`].
//!
//! Nothing here uses the heap: RSA works in a buffer of [`MAX_SIGNATURE_LEN`] bytes, P-256 and
//! Ed25519 keys are fixed-size values (RustCrypto `p256`, `ed25519-dalek`, both without `std`
//! or `alloc`).
//!
//! [`MAX_SIGNATURE_LEN`]: crate::jws::MAX_SIGNATURE_LEN

use core::fmt;

#[cfg(feature = "eddsa")]
pub mod eddsa;
#[cfg(feature = "es256")]
pub mod es256;
pub(crate) mod form;
#[cfg(feature = "ps256")]
pub mod ps256;
pub mod rs256;

/// Length of an ES256 signature, `R || S` (RFC 7518 §3.4), and of an Ed25519 signature
/// (RFC 8032 §5.1.6).
pub const EC_SIGNATURE_LEN: usize = 64;

/// `id-ecPublicKey` (RFC 5480 §2.1.1).
pub(crate) const ID_EC_PUBLIC_KEY: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// `id-Ed25519` (RFC 8410 §3).
pub(crate) const ID_ED25519: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.3.101.112");

/// True when this build verifies `alg`: RS256 always; PS256, ES256 and EdDSA/Ed25519 with
/// the crate features `ps256`, `es256` and `eddsa` (all default; a firmware or the npm
/// package's RS256-only module leaves them out).
pub const fn is_built_in(alg: Algorithm) -> bool {
    match alg {
        Algorithm::Rs256 => true,
        Algorithm::Ps256 => cfg!(feature = "ps256"),
        Algorithm::Es256 => cfg!(feature = "es256"),
        Algorithm::EdDsa | Algorithm::Ed25519 => cfg!(feature = "eddsa"),
    }
}

/// A JWS `alg` this crate knows how to verify (RFC 7515 §4.1.1). Whether a party accepts it is
/// its policy; which key may verify it is [`Algorithm::key_type`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `RS256`: RSASSA-PKCS1-v1_5 using SHA-256 (RFC 7518 §3.3).
    Rs256,
    /// `PS256`: RSASSA-PSS using SHA-256, MGF1 with SHA-256, salt of 32 bytes (RFC 7518 §3.5).
    Ps256,
    /// `ES256`: ECDSA using P-256 and SHA-256 (RFC 7518 §3.4).
    Es256,
    /// `EdDSA` with an OKP key whose `crv` is `Ed25519` (RFC 8037 §3.1; deprecated by
    /// RFC 9864 §4.1.2 but what most issuers still send). Ed448 is not supported.
    EdDsa,
    /// `Ed25519`: the fully-specified Ed25519 algorithm (RFC 9864 §2.2).
    Ed25519,
}

/// The kind of public key an [`Algorithm`] verifies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// An RSA key (`kty` `RSA`; SPKI `rsaEncryption`; PKCS#1).
    Rsa,
    /// A P-256 key (`kty` `EC`, `crv` `P-256`; SPKI `id-ecPublicKey` with `prime256v1`).
    P256,
    /// An Ed25519 key (`kty` `OKP`, `crv` `Ed25519`; SPKI `id-Ed25519`).
    Ed25519,
}

impl Algorithm {
    /// Every algorithm, in the order of this enum.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Rs256,
        Algorithm::Ps256,
        Algorithm::Es256,
        Algorithm::EdDsa,
        Algorithm::Ed25519,
    ];

    /// The algorithm a JWS header's `alg` names: exact, case-sensitive bytes (RFC 7515
    /// §4.1.1 refers to RFC 7518's registry, whose names are case-sensitive). `none`, `HS*`,
    /// `RS384`, `ES512`, `ED25519`, `eddsa`, … and everything else: `None`.
    pub fn from_header(alg: &str) -> Option<Self> {
        match alg {
            "RS256" => Some(Algorithm::Rs256),
            "PS256" => Some(Algorithm::Ps256),
            "ES256" => Some(Algorithm::Es256),
            "EdDSA" => Some(Algorithm::EdDsa),
            "Ed25519" => Some(Algorithm::Ed25519),
            _ => None,
        }
    }

    /// The registered name, as a header carries it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Ps256 => "PS256",
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Ed25519 => "Ed25519",
        }
    }

    /// The only key type that may verify this algorithm: an RSA key never verifies ES256, a
    /// P-256 key never verifies EdDSA (RFC 8725 §3.1). Checked before any cryptography runs.
    pub const fn key_type(self) -> KeyType {
        match self {
            Algorithm::Rs256 | Algorithm::Ps256 => KeyType::Rsa,
            Algorithm::Es256 => KeyType::P256,
            Algorithm::EdDsa | Algorithm::Ed25519 => KeyType::Ed25519,
        }
    }

    /// The signature length this algorithm requires, when fixed by the algorithm rather than
    /// by the key: 64 bytes for ES256 (RFC 7518 §3.4) and Ed25519 (RFC 8032 §5.1.6); `None`
    /// for RSA, where it is the modulus length.
    pub const fn signature_len(self) -> Option<usize> {
        match self.key_type() {
            KeyType::Rsa => None,
            KeyType::P256 | KeyType::Ed25519 => Some(EC_SIGNATURE_LEN),
        }
    }
}

impl KeyType {
    /// The algorithm a key of this type serves when nothing names one: RS256 for RSA (RFC
    /// 7523 §5's mandatory algorithm), ES256 for P-256, EdDSA for Ed25519.
    pub const fn default_algorithm(self) -> Algorithm {
        match self {
            KeyType::Rsa => Algorithm::Rs256,
            KeyType::P256 => Algorithm::Es256,
            KeyType::Ed25519 => Algorithm::EdDsa,
        }
    }

    /// The name used in messages: `RSA`, `P-256`, `Ed25519`.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "RSA",
            KeyType::P256 => "P-256",
            KeyType::Ed25519 => "Ed25519",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Algorithm`]s: a party's allow-list ([`Policy::algorithms`](crate::Policy)).
/// The default allows every algorithm; each key still verifies only its one algorithm.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Algorithms(u8);

impl Default for Algorithms {
    fn default() -> Self {
        Self::ALL
    }
}

impl fmt::Debug for Algorithms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Algorithms {
    /// Every algorithm this crate verifies.
    pub const ALL: Algorithms = Algorithms((1 << Algorithm::ALL.len()) - 1);

    /// No algorithm.
    pub const NONE: Algorithms = Algorithms(0);

    /// Only `alg`.
    pub const fn only(alg: Algorithm) -> Self {
        Algorithms(1 << alg as u8)
    }

    /// This set with `alg` added.
    #[must_use]
    pub const fn with(self, alg: Algorithm) -> Self {
        Algorithms(self.0 | 1 << alg as u8)
    }

    /// True when `alg` is in the set.
    pub const fn contains(self, alg: Algorithm) -> bool {
        self.0 & (1 << alg as u8) != 0
    }

    /// True when the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms, in the order of [`Algorithm::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |&a| self.contains(a))
    }

    /// The algorithm of `key_type` in the set when there is exactly one (for Ed25519, `EdDSA`
    /// and `Ed25519` count as one).
    pub fn only_one_of(self, key_type: KeyType) -> Option<Algorithm> {
        let mut of_type = self.iter().filter(|a| a.key_type() == key_type);
        let first = of_type.next()?;
        match of_type.next() {
            None => Some(first),
            Some(_) if key_type == KeyType::Ed25519 => Some(first),
            Some(_) => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a signature failed, for every algorithm. The public error is deliberately opaque;
/// this only tells the caller whether the length was at fault, which reveals nothing about
/// the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyFailure {
    /// The signature is not exactly as long as the algorithm and key require: the modulus
    /// length for RSA (RFC 8017 §8.1.2 and §8.2.2 step 1), 64 bytes for ES256 (RFC 7518 §3.4)
    /// and Ed25519 (RFC 8032 §5.1.7).
    Length,
    /// Anything else.
    Invalid,
}

/// Why a P-256 or Ed25519 public key could not be read. Crate-internal until the key API
/// gains these key types; each variant then maps onto one of [`KeyError`](crate::KeyError).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyMaterialError {
    /// Not a JWK or SPKI structure that could be read (JSON, DER, or the bit string).
    Malformed,
    /// A JWK member that must be present is absent.
    MissingMember(&'static str),
    /// A JWK member has the wrong type, is not canonical base64url, or has the wrong length.
    InvalidMember(&'static str),
    /// Another key type: a JWK `kty`, or an SPKI algorithm identifier.
    WrongKeyType,
    /// Another curve: a JWK `crv`, or the SPKI's named curve (or no named curve).
    WrongCurve,
    /// The JWK carries private key material (`d`).
    PrivateKeyMaterial,
    /// The point is not on the curve, is the identity or of small order, is not canonically
    /// encoded, or (SPKI) is not in the uncompressed form.
    InvalidPoint,
}

impl fmt::Display for KeyMaterialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            KeyMaterialError::Malformed => f.write_str("not a readable JWK or SPKI key"),
            KeyMaterialError::MissingMember(m) => write!(f, "the JWK member {m} is missing"),
            KeyMaterialError::InvalidMember(m) => write!(f, "the JWK member {m} is invalid"),
            KeyMaterialError::WrongKeyType => f.write_str("another key type"),
            KeyMaterialError::WrongCurve => f.write_str("another curve"),
            KeyMaterialError::PrivateKeyMaterial => {
                f.write_str("the key carries private key material; configure public keys only")
            }
            KeyMaterialError::InvalidPoint => f.write_str("the public key is not a valid point"),
        }
    }
}

/// RSAVP1's input check (RFC 8017 §5.2.2 step 1) for a signature of the modulus length: its
/// integer is below `n`. Equal lengths, big-endian: the byte order is the numeric order.
pub(crate) fn is_signature_representative(n: &[u8], signature: &[u8]) -> bool {
    signature.len() == n.len() && signature < n
}

/// Reads the one JWK member `name` as a string, refusing other JSON types.
#[cfg(any(feature = "es256", feature = "eddsa"))]
fn jwk_string<'a>(
    jwk: &crate::json::Object<'a>,
    name: &'static str,
) -> Result<crate::json::JsonStr<'a>, KeyMaterialError> {
    match jwk.get(name) {
        Some(crate::json::Value::String(s)) => Ok(s),
        Some(_) => Err(KeyMaterialError::InvalidMember(name)),
        None => Err(KeyMaterialError::MissingMember(name)),
    }
}

/// Reads a JWK's key members common to EC and OKP keys: the private `d` refused, `kty` and
/// `crv` as required. Other members (`kid`, `alg`, `use`, `key_ops`) are the key layer's.
#[cfg(any(feature = "es256", feature = "eddsa"))]
fn jwk_kty_crv(
    jwk: &crate::json::Object<'_>,
    kty: &str,
    crv: &str,
) -> Result<(), KeyMaterialError> {
    if jwk.get("d").is_some() {
        return Err(KeyMaterialError::PrivateKeyMaterial);
    }
    if !jwk_string(jwk, "kty")?.eq_str(kty) {
        return Err(KeyMaterialError::WrongKeyType);
    }
    if !jwk_string(jwk, "crv")?.eq_str(crv) {
        return Err(KeyMaterialError::WrongCurve);
    }
    Ok(())
}

/// Decodes the base64url member `name` of a JWK, which must be exactly `N` bytes (RFC 7518
/// §6.2.1.2: "the full size of a coordinate"; RFC 8037 §2: the key's length). Canonical
/// unpadded base64url only, no JSON escapes.
#[cfg(any(feature = "es256", feature = "eddsa"))]
fn jwk_fixed<const N: usize>(
    jwk: &crate::json::Object<'_>,
    name: &'static str,
) -> Result<[u8; N], KeyMaterialError> {
    let text = jwk_string(jwk, name)?
        .unescaped_str()
        .ok_or(KeyMaterialError::InvalidMember(name))?;
    let mut out = [0u8; N];
    let decoded = crate::base64url::decode(text.as_bytes(), &mut out)
        .map_err(|_| KeyMaterialError::InvalidMember(name))?
        .len();
    if decoded != N {
        return Err(KeyMaterialError::InvalidMember(name));
    }
    Ok(out)
}

/// Parses `json` as one JWK object.
#[cfg(any(feature = "es256", feature = "eddsa"))]
fn parse_jwk(json: &str) -> Result<crate::json::Object<'_>, KeyMaterialError> {
    if json.len() > crate::keys::MAX_KEY_TEXT_LEN {
        return Err(KeyMaterialError::Malformed);
    }
    crate::json::parse_object(json.as_bytes()).map_err(|_| KeyMaterialError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_exact() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_header(alg.as_str()), Some(alg));
        }
        for other in [
            "none", "None", "HS256", "RS384", "RS512", "PS384", "PS512", "ES384", "ES512",
            "ES256K", "ED25519", "ed25519", "EDDSA", "eddsa", "Ed448", "rs256", "RS256 ", " RS256",
            "RS256\0", "",
        ] {
            assert_eq!(Algorithm::from_header(other), None, "{other:?}");
        }
    }

    #[test]
    fn key_type_table() {
        use Algorithm::*;
        let table = [
            (Rs256, KeyType::Rsa, None),
            (Ps256, KeyType::Rsa, None),
            (Es256, KeyType::P256, Some(64)),
            (EdDsa, KeyType::Ed25519, Some(64)),
            (Ed25519, KeyType::Ed25519, Some(64)),
        ];
        assert_eq!(table.len(), Algorithm::ALL.len());
        for (alg, key_type, len) in table {
            assert_eq!(alg.key_type(), key_type, "{alg}");
            assert_eq!(alg.signature_len(), len, "{alg}");
        }
    }
}
