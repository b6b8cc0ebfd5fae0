//! The two DER structures of public keys, read in place: `SubjectPublicKeyInfo` (RFC 5280
//! §4.1.2.7) and PKCS#1 `RSAPublicKey` (RFC 8017 Appendix A.1.1).
//!
//! Ours rather than the `spki` and `pkcs1` crates' generic decoders for code size (the npm
//! package's RS256-only module has a 64 KiB budget, and those decoders were about 15 KB of its
//! WebAssembly): the same acceptance, byte for byte, as `spki::SubjectPublicKeyInfoRef::from_der`
//! and `pkcs1::RsaPublicKey::from_der` of `der` 0.7, which the tests check differentially on
//! every key fixture and every single-byte change, truncation and extension of them. What
//! `der` checks and this keeps: definite, minimally encoded lengths (short form below 128;
//! one to four length octets, no leading zero octet), the exact tags, nested contents read to
//! their end with nothing left over, nothing after the outer `SEQUENCE`; the algorithm
//! parameters, when present, one element of any tag `der` knows ([`spki::der::Tag`]); the `BIT
//! STRING`'s unused-bit count at most 7 and 0 when it is empty; the `OBJECT IDENTIFIER`
//! validated by `const-oid` (as `der` does); the `INTEGER`s positive and minimally encoded.

use spki::ObjectIdentifier;

/// A `SubjectPublicKeyInfo`, borrowed from its DER.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spki<'a> {
    /// The algorithm's object identifier.
    pub(crate) oid: ObjectIdentifier,
    /// The subject public key, when the `BIT STRING` has no unused bits (what every key type
    /// here needs; `BitStringRef::as_bytes` of `der`).
    pub(crate) key: Option<&'a [u8]>,
}

/// An `RSAPublicKey`: the modulus and the public exponent, big-endian, positive (a leading zero
/// octet of the encoding removed).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RsaPublicKey<'a> {
    pub(crate) modulus: &'a [u8],
    pub(crate) exponent: &'a [u8],
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OBJECT_IDENTIFIER: u8 = 0x06;

/// Reads a DER `SubjectPublicKeyInfo` (its whole input).
pub(crate) fn spki(der: &[u8]) -> Option<Spki<'_>> {
    let mut outer = Reader(der);
    let mut info = Reader(outer.element(SEQUENCE)?);
    outer.end()?;
    let mut algorithm = Reader(info.element(SEQUENCE)?);
    let oid = ObjectIdentifier::from_bytes(algorithm.element(OBJECT_IDENTIFIER)?).ok()?;
    // The parameters: optional, any tag `der` can decode.
    if let Some(&tag) = algorithm.0.first() {
        spki::der::Tag::try_from(tag).ok()?;
        algorithm.element(tag)?;
    }
    algorithm.end()?;
    let bits = info.element(BIT_STRING)?;
    info.end()?;
    let (&unused, bytes) = bits.split_first()?;
    if unused > 7 || (unused != 0 && bytes.is_empty()) {
        return None;
    }
    Some(Spki {
        oid,
        key: (unused == 0).then_some(bytes),
    })
}

/// Reads a DER `RSAPublicKey` (its whole input).
pub(crate) fn rsa_public_key(der: &[u8]) -> Option<RsaPublicKey<'_>> {
    let mut outer = Reader(der);
    let mut key = Reader(outer.element(SEQUENCE)?);
    outer.end()?;
    let modulus = unsigned(key.element(INTEGER)?)?;
    let exponent = unsigned(key.element(INTEGER)?)?;
    key.end()?;
    Some(RsaPublicKey { modulus, exponent })
}

/// The magnitude of a DER `INTEGER` that must be positive and minimally encoded.
fn unsigned(bytes: &[u8]) -> Option<&[u8]> {
    match bytes {
        [] => None,
        [0] => Some(bytes),
        [0, next, ..] if *next < 0x80 => None,
        [0, rest @ ..] => Some(rest),
        [first, ..] if *first >= 0x80 => None,
        _ => Some(bytes),
    }
}

/// What is left of a DER input.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The contents of the next element, which must have the tag `tag`.
    fn element(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&first, rest) = self.0.split_first()?;
        if first != tag {
            return None;
        }
        let (&initial, mut rest) = rest.split_first()?;
        let len = match initial {
            short @ 0..=0x7f => usize::from(short),
            0x81..=0x84 => {
                let octets = usize::from(initial - 0x80);
                let (bytes, after) = rest.split_at_checked(octets)?;
                rest = after;
                let len = bytes
                    .iter()
                    .fold(0usize, |len, &byte| (len << 8) | usize::from(byte));
                // `der`'s largest length, and the minimal number of octets for it.
                let minimal = match len {
                    0..=0x7f => 0,
                    0x80..=0xff => 1,
                    0x100..=0xffff => 2,
                    0x1_0000..=0xff_ffff => 3,
                    0x100_0000..=0x0fff_ffff => 4,
                    _ => return None,
                };
                if minimal != octets {
                    return None;
                }
                len
            }
            // Indefinite (0x80) or longer than `der` reads.
            _ => return None,
        };
        let (contents, rest) = rest.split_at_checked(len)?;
        self.0 = rest;
        Some(contents)
    }

    /// Nothing is left.
    fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

#[cfg(test)]
mod tests {
    use pkcs1::der::Decode;

    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    /// `publicKeyDer` (and `publicKeyAsn`, PKCS#1, when present) of each group of a Wycheproof
    /// file.
    fn wycheproof_keys(json: &str) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let doc: serde_json::Value = serde_json::from_str(json).unwrap();
        let (mut spkis, mut pkcs1s) = (Vec::new(), Vec::new());
        for group in doc["testGroups"].as_array().unwrap() {
            spkis.push(hex(group["publicKeyDer"].as_str().unwrap()));
            if let Some(asn) = group["publicKeyAsn"].as_str() {
                pkcs1s.push(hex(asn));
            }
        }
        (spkis, pkcs1s)
    }

    /// Every single-byte change (to a few values that matter to DER), every truncation, and
    /// one byte more, of `seed`.
    fn mutations(seed: &[u8]) -> Vec<Vec<u8>> {
        let mut out = vec![seed.to_vec()];
        for i in 0..seed.len() {
            let b = seed[i];
            for value in [
                0x00,
                0x01,
                0x02,
                0x03,
                0x05,
                0x06,
                0x1f,
                0x30,
                0x7f,
                0x80,
                0x81,
                0x82,
                0x84,
                0x85,
                0xa0,
                0xff,
                b ^ 1,
                b.wrapping_add(1),
                b.wrapping_sub(1),
            ] {
                let mut changed = seed.to_vec();
                changed[i] = value;
                out.push(changed);
            }
            out.push(seed[..i].to_vec());
        }
        for extra in [0x00, 0x30] {
            let mut longer = seed.to_vec();
            longer.push(extra);
            out.push(longer);
        }
        out
    }

    fn check_spki(input: &[u8]) {
        let theirs = spki::SubjectPublicKeyInfoRef::from_der(input);
        let ours = spki(input);
        match (&theirs, &ours) {
            (Ok(theirs), Some(ours)) => {
                assert_eq!(theirs.algorithm.oid, ours.oid, "{input:02x?}");
                assert_eq!(
                    theirs.subject_public_key.as_bytes(),
                    ours.key,
                    "{input:02x?}"
                );
                if let Some(key) = ours.key {
                    check_pkcs1(key);
                }
            }
            (Err(_), None) => {}
            _ => panic!("spki {theirs:?} vs ours {ours:?}: {input:02x?}"),
        }
    }

    fn check_pkcs1(input: &[u8]) {
        let theirs = pkcs1::RsaPublicKey::from_der(input);
        let ours = rsa_public_key(input);
        match (&theirs, &ours) {
            (Ok(theirs), Some(ours)) => {
                assert_eq!(theirs.modulus.as_bytes(), ours.modulus, "{input:02x?}");
                assert_eq!(
                    theirs.public_exponent.as_bytes(),
                    ours.exponent,
                    "{input:02x?}"
                );
            }
            (Err(_), None) => {}
            _ => panic!("pkcs1 {theirs:?} vs ours {ours:?}: {input:02x?}"),
        }
    }

    /// The same acceptance as the `spki` and `pkcs1` crates (`der` 0.7) on the key fixtures of
    /// every type and on every mutation of them.
    #[test]
    fn same_verdicts_as_the_der_crates() {
        let mut spkis = Vec::new();
        let mut pkcs1s = Vec::new();
        for json in [
            include_str!(
                "../../../../tests/vectors/wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json"
            ),
            include_str!(
                "../../../../tests/vectors/wycheproof/rsa_signature_4096_sha256_test.json"
            ),
            include_str!(
                "../../../../tests/vectors/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json"
            ),
            include_str!("../../../../tests/vectors/wycheproof/ed25519_test.json"),
        ] {
            let (s, p) = wycheproof_keys(json);
            spkis.extend(s.into_iter().take(3));
            pkcs1s.extend(p.into_iter().take(3));
        }
        // Hand-made shapes: parameters absent, a context-specific or constructed element, a
        // long-form length where the short form would do, an empty BIT STRING, unused bits.
        let rsa_oid = "06092a864886f70d010101";
        let key = "3006020100020103";
        for (algorithm, bits) in [
            (format!("300b{rsa_oid}"), format!("0309 00{key}")),
            (format!("300d{rsa_oid}0500"), format!("0309 00{key}")),
            (format!("300f{rsa_oid}a0020500"), format!("0309 00{key}")),
            (format!("3010{rsa_oid}300300 0100"), format!("0309 00{key}")),
            (format!("300e{rsa_oid}058100"), format!("0309 00{key}")),
            (format!("300d{rsa_oid}0500"), "0300".to_owned()),
            (format!("300d{rsa_oid}0500"), "030100".to_owned()),
            (format!("300d{rsa_oid}0500"), "030101".to_owned()),
            (format!("300d{rsa_oid}0500"), "03020780".to_owned()),
            (format!("300d{rsa_oid}0500"), "03020880".to_owned()),
        ] {
            let body = format!("{algorithm}{bits}").replace(' ', "");
            let len = body.len() / 2;
            spkis.push(hex(&format!("30{len:02x}{body}")));
            spkis.push(hex(&format!("3081{len:02x}{body}")));
        }
        for key in [
            "3006020100020103",
            "300602010102017f",
            "30070202008002017f",
            "3008020300ff000201ff",
        ] {
            pkcs1s.push(hex(key));
        }
        let mut cases = 0;
        for seed in &spkis {
            for input in mutations(seed) {
                check_spki(&input);
                cases += 1;
            }
        }
        for seed in &pkcs1s {
            for input in mutations(seed) {
                check_pkcs1(&input);
                cases += 1;
            }
        }
        assert!(cases > 50_000, "{cases}");
    }
}
