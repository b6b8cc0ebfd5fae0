//! `rfc7523 token-request`: judge one `application/x-www-form-urlencoded` token request body.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Args;
use rfc7523::form::FormError;
use rfc7523::limits::MAX_FORM_BODY_LEN;
use rfc7523::token_request::RequestProblem;
use rfc7523::{
    ClientAuthProfile, GrantProfile, TokenEndpoint, TokenError, TokenOutcome, TrustedIssuer,
    TypRule,
};

use crate::input::{read_bounded, Body};
use crate::output::{empty_object, json_or_string, write_line, Accepted, Refused};
use crate::{keys, now, Fatal, PolicyArgs, EXIT_INVALID, EXIT_VALID};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # A jwt-bearer grant (RFC 7523 section 2.1):
  rfc7523 token-request --keys issuer.pem --issuer https://issuer.example \\
      --audience https://as.example \\
      'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=eyJ...'

  # Client assertions (private_key_jwt) beside any grant, the body on standard input:
  rfc7523 token-request --keys client-jwks.json --client-id s6BhdRkqt3 \\
      --audience https://as.example < body.txt

Output, one line:
  {\"ok\":true,\"use\":\"grant\",\"grant_type\":\"...\",\"claims\":{...}}
  {\"ok\":false,\"status\":401,\"error\":\"invalid_client\",\"error_description\":\"...\",\"reason\":\"expired\"}
(\"reason\" only when an assertion was judged.)

Profiles: --issuer (and --subject) accepts jwt-bearer grants, --client-id (and --require-typ)
accepts client assertions; give either or both.
Exit status: 0 accepted, 1 refused, 2 usage or configuration error.")]
pub struct TokenRequestArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// The request body. Without it, standard input is read (a final line ending is
    /// ignored).
    #[arg(value_name = "BODY")]
    body: Option<String>,
}

pub fn run(args: &TokenRequestArgs) -> Result<ExitCode, Fatal> {
    let policy = &args.policy;
    if policy.issuers.is_empty() && policy.client_id.is_none() {
        return Err(Fatal::usage(
            "--issuer (jwt-bearer grants) and/or --client-id (client assertions) is required",
        ));
    }
    if policy.subject.is_some() && policy.issuers.is_empty() {
        return Err(Fatal::usage(
            "--subject applies to grants: give --issuer too",
        ));
    }
    if policy.require_typ && policy.client_id.is_none() {
        return Err(Fatal::usage(
            "--require-typ applies to client authentication (--client-id)",
        ));
    }
    let client_audience = match policy.client_id {
        Some(_) => Some(policy.client_audience()?),
        None => None,
    };
    let keys = keys::load_public(&policy.keys)?;
    let issuers: Vec<TrustedIssuer<'_>> = policy
        .issuers
        .iter()
        .map(|issuer| TrustedIssuer {
            issuer,
            keys: &keys,
        })
        .collect();
    let clients: Vec<TrustedIssuer<'_>> = policy
        .client_id
        .iter()
        .map(|id| TrustedIssuer {
            issuer: id,
            keys: &keys,
        })
        .collect();
    let audiences: Vec<&str> = policy.audiences.iter().map(String::as_str).collect();
    let checks = policy.checks();
    let endpoint: TokenEndpoint<'_> = TokenEndpoint {
        grant: (!issuers.is_empty()).then_some(GrantProfile {
            issuers: &issuers[..],
            audiences: &audiences,
            subject: policy.subject.as_deref(),
            checks,
        }),
        client_auth: client_audience.map(|issuer| ClientAuthProfile {
            clients: &clients[..],
            issuer,
            typ: if policy.require_typ {
                TypRule::RequireExplicit
            } else {
                TypRule::NotAnotherType
            },
            checks,
        }),
    };

    let body = match &args.body {
        Some(body) => Body::Complete(body.clone().into_bytes()),
        // Room for a final CRLF after a body at the limit.
        None => {
            read_bounded(io::stdin().lock(), MAX_FORM_BODY_LEN + 2).map_err(|e| Fatal::input(&e))?
        }
    };
    let mut replay = policy.replay_cache();
    let result = match body {
        Body::Complete(bytes) => {
            let end = bytes
                .iter()
                .rposition(|b| !matches!(b, b'\n' | b'\r'))
                .map_or(0, |last| last + 1);
            endpoint.handle(
                bytes.get(..end).unwrap_or_default(),
                now(policy.now),
                &mut replay,
            )
        }
        Body::TooLong => Err(TokenError::InvalidRequest(RequestProblem::Form(
            FormError::BodyTooLong,
        ))),
    };

    let mut out = io::stdout().lock();
    let written = match &result {
        Ok(outcome) => write_line(&mut out, &accepted(outcome)),
        Err(e) => write_line(&mut out, &Refused::new(e)),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Fatal::output(&e))?;
    Ok(ExitCode::from(if result.is_ok() {
        EXIT_VALID
    } else {
        EXIT_INVALID
    }))
}

fn accepted(outcome: &TokenOutcome) -> Accepted<'_> {
    Accepted {
        ok: true,
        use_: outcome.use_().as_str(),
        grant_type: outcome.grant_type(),
        claims: outcome
            .primary()
            .and_then(|valid| valid.assertion().payload_json())
            .map_or_else(empty_object, json_or_string),
    }
}
