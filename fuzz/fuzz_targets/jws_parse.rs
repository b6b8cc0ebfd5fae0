//! JWS compact serialization and protected header (RFC 7515 §7.1, §4.1): any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc7523::limits::{MAX_HEADER_LEN, MAX_PAYLOAD_LEN, MAX_TOKEN_LEN};
use rfc7523::{DecodeBuffer, UnverifiedAssertion};

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let (mut buffer, mut other) = (DecodeBuffer::new(), DecodeBuffer::new());
    let full = UnverifiedAssertion::parse(token, &mut buffer);
    // A smaller limit never accepts what the default refuses.
    let limited = UnverifiedAssertion::parse_with_limit(token, 512, &mut other);
    if limited.is_ok() {
        assert!(full.is_ok());
        assert!(token.len() <= 512);
    }
    match full {
        Ok(parsed) => {
            assert!(token.len() <= MAX_TOKEN_LEN);
            // One of the algorithms this crate verifies, named exactly.
            let alg = parsed.header().algorithm();
            assert_eq!(parsed.header().alg(), alg.as_str());
            assert_eq!(rfc7523::Algorithm::from_header(alg.as_str()), Some(alg));
            assert!(parsed.header_json().len() <= MAX_HEADER_LEN);
            assert!(parsed.unverified_payload().len() <= MAX_PAYLOAD_LEN);
            // The header was read as a JSON object, so it is UTF-8.
            assert!(std::str::from_utf8(parsed.header_json()).is_ok());
            match parsed.issuer_hint() {
                Ok(iss) => assert!(!iss.is_empty()),
                Err(e) => rfc7523_fuzz::check_error(&e),
            }
        }
        Err(e) => rfc7523_fuzz::check_error(&e),
    }
});
