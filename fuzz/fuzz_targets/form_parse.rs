//! Token request bodies (application/x-www-form-urlencoded, RFC 6749 Appendix B) and the
//! whole token endpoint (RFC 7521 §4.1–4.2) with both profiles over the fixed key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc7523::form::TokenParams;
use rfc7523::token_request::RequestProblem;
use rfc7523::{MemoryReplayStore, TokenBuffers, TokenEndpoint, TokenError};

fuzz_target!(|data: &[u8]| {
    let fixture = rfc7523_fuzz::fixture();
    // Each parse decodes its own copy of the body in place.
    let mut parsed_body = data.to_vec();
    let parsed = TokenParams::parse(&mut parsed_body);
    let issuers = fixture.issuers(0);
    let clients = fixture.clients(0);
    let endpoint = TokenEndpoint {
        grant: Some(rfc7523_fuzz::grant_profile(&issuers)),
        client_auth: Some(rfc7523_fuzz::client_profile(&clients)),
        other_client_auth: Default::default(),
    };
    let mut replay = MemoryReplayStore::<4>::new();
    let mut body = data.to_vec();
    let mut buffers = Box::new(TokenBuffers::new());
    let outcome = endpoint.handle(&mut body, rfc7523_fuzz::NOW, &mut replay, &mut buffers);
    match (&parsed, &outcome) {
        // The endpoint reports exactly the form error the parser found.
        (Err(form), Err(TokenError::InvalidRequest(RequestProblem::Form(seen)))) => {
            assert_eq!(form, seen)
        }
        (Err(form), other) => panic!("form error {form:?} but endpoint said {other:?}"),
        (Ok(_), Err(TokenError::InvalidRequest(RequestProblem::Form(e)))) => {
            panic!("form parsed but endpoint reported {e:?}")
        }
        _ => {}
    }
    if let Ok(params) = &parsed {
        for value in [
            &params.grant_type,
            &params.client_assertion_type,
            &params.client_id,
            &params.scope,
        ]
        .into_iter()
        .flatten()
        {
            assert!(!value.is_empty());
        }
    }
    match outcome {
        Ok(outcome) => {
            assert!(outcome.primary().is_some());
            // The same body again is a replay when an assertion had a jti.
            let (mut body, mut buffers) = (data.to_vec(), Box::new(TokenBuffers::new()));
            let again = endpoint.handle(&mut body, rfc7523_fuzz::NOW, &mut replay, &mut buffers);
            let had_jti = [outcome.grant(), outcome.client()]
                .into_iter()
                .flatten()
                .any(|a| a.claims().jti().is_some());
            if had_jti {
                assert!(again.is_err());
            }
        }
        Err(e) => {
            rfc7523_fuzz::check_response(&e.response());
            if let Some(inner) = e.assertion_error() {
                rfc7523_fuzz::check_error(inner);
            }
        }
    }
});
