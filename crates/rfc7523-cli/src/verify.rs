//! `rfc7523 verify`: one JSON line per token, in input order.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Args;
use rfc7523::limits::MAX_TOKEN_LEN;
use rfc7523::{
    ClientAuthProfile, Error, GrantProfile, Limit, ReplayStore, TrustedIssuer, TypRule, Use,
    ValidatedAssertion,
};

use crate::input::{token_text, Line, LineReader};
use crate::output::{json_or_string, write_line, Invalid, Valid};
use crate::{keys, now, Fatal, PolicyArgs, EXIT_INVALID, EXIT_VALID};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # An authorization grant (RFC 7523 section 2.1) from a trusted issuer:
  rfc7523 verify --keys issuer-jwks.json --issuer https://issuer.example \\
      --audience https://as.example --require-jti \"$ASSERTION\"

  # A batch of client assertions (private_key_jwt), one per line; one replay cache for all:
  rfc7523 verify --keys client.pem --client-id s6BhdRkqt3 \\
      --audience https://as.example --require-typ < assertions.txt

Output, one line per token:
  {\"valid\":true,\"header\":{...},\"claims\":{...}}
  {\"valid\":false,\"reason\":\"expired\",\"error\":\"invalid_grant\",\"description\":\"...\"}

Profiles: --issuer (and --subject) for grants, --client-id (and --require-typ) for client
authentication; not both.
Exit status: 0 every token valid, 1 any token invalid, 2 usage or configuration error.")]
pub struct VerifyArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// The assertion (compact JWS). Without it, standard input is read: one token per line,
    /// blank lines ignored.
    #[arg(value_name = "TOKEN")]
    token: Option<String>,
}

/// The profile a run validates with.
enum Verifier<'a> {
    Grant(GrantProfile<'a>),
    Client(ClientAuthProfile<'a>),
}

impl Verifier<'_> {
    fn use_(&self) -> Use {
        match self {
            Verifier::Grant(_) => Use::AuthorizationGrant,
            Verifier::Client(_) => Use::ClientAuthentication,
        }
    }

    fn validate(
        &self,
        token: &str,
        now: u64,
        replay: &mut impl ReplayStore,
    ) -> Result<ValidatedAssertion, Error> {
        match self {
            Verifier::Grant(profile) => profile.validate(token, now, replay),
            Verifier::Client(profile) => profile.validate(token, None, now, replay),
        }
    }
}

pub fn run(args: &VerifyArgs) -> Result<ExitCode, Fatal> {
    let policy = &args.policy;
    let client_audience = match &policy.client_id {
        Some(_) if !policy.issuers.is_empty() || policy.subject.is_some() => {
            return Err(Fatal::usage(
                "--client-id (client authentication) cannot be combined with --issuer or \
                 --subject (authorization grants)",
            ))
        }
        Some(_) => Some(policy.client_audience()?),
        None if policy.issuers.is_empty() => {
            return Err(Fatal::usage(
                "--issuer is required (authorization grants), or --client-id (client \
                 authentication)",
            ))
        }
        None if policy.require_typ => {
            return Err(Fatal::usage(
                "--require-typ applies to client authentication (--client-id)",
            ))
        }
        None => None,
    };
    let keys = keys::load_public(&policy.keys)?;
    let trusted: Vec<TrustedIssuer<'_>> = match &policy.client_id {
        Some(id) => vec![TrustedIssuer {
            issuer: id,
            keys: &keys,
        }],
        None => policy
            .issuers
            .iter()
            .map(|issuer| TrustedIssuer {
                issuer,
                keys: &keys,
            })
            .collect(),
    };
    let audiences: Vec<&str> = policy.audiences.iter().map(String::as_str).collect();
    let checks = policy.checks();
    let verifier = match client_audience {
        Some(issuer) => Verifier::Client(ClientAuthProfile {
            clients: &trusted[..],
            issuer,
            typ: if policy.require_typ {
                TypRule::RequireExplicit
            } else {
                TypRule::NotAnotherType
            },
            checks,
        }),
        None => Verifier::Grant(GrantProfile {
            issuers: &trusted[..],
            audiences: &audiences,
            subject: policy.subject.as_deref(),
            checks,
        }),
    };

    let mut replay = policy.replay_cache();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut judged = 0usize;
    let mut all_valid = true;
    let mut judge = |token: Result<&str, Error>, out: &mut BufWriter<_>| -> Result<(), Fatal> {
        let result = token.and_then(|t| verifier.validate(t, now(policy.now), &mut replay));
        judged += 1;
        all_valid &= result.is_ok();
        let written = match result {
            Ok(valid) => write_line(out, &valid_object(&valid)),
            Err(e) => write_line(out, &Invalid::new(&e, verifier.use_())),
        };
        written.map_err(|e| Fatal::output(&e))
    };

    match &args.token {
        Some(token) => judge(Ok(token), &mut out)?,
        None => {
            // One byte more than a token may have, for the `\r` of a CRLF line.
            let mut lines = LineReader::new(io::stdin().lock(), MAX_TOKEN_LEN + 1);
            loop {
                if lines.would_block() {
                    out.flush().map_err(|e| Fatal::output(&e))?;
                }
                match lines.next_line().map_err(|e| Fatal::input(&e))? {
                    None => break,
                    Some(Line::Blank) => {}
                    Some(Line::Text(bytes)) => judge(Ok(&token_text(bytes)), &mut out)?,
                    Some(Line::TooLong) => {
                        judge(Err(Error::TooLarge(Limit::TokenLength)), &mut out)?;
                    }
                }
            }
        }
    }
    out.flush().map_err(|e| Fatal::output(&e))?;
    if judged == 0 {
        // Nothing was verified: never report that as success.
        return Err(Fatal::usage(
            "no token: give a TOKEN argument or one token per line on standard input",
        ));
    }
    Ok(ExitCode::from(if all_valid {
        EXIT_VALID
    } else {
        EXIT_INVALID
    }))
}

/// The valid object: the verified header and claims, re-emitted.
fn valid_object(valid: &ValidatedAssertion) -> Valid {
    let assertion = valid.assertion();
    Valid {
        valid: true,
        header: json_or_string(assertion.header_json()),
        claims: json_or_string(assertion.payload_json().unwrap_or("{}")),
    }
}
