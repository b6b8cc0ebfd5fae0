//! `rfc7523 verify`: one JSON line per token, in input order.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use rfc7523::limits::MAX_TOKEN_LEN;
use rfc7523::{
    ClientAuthProfile, Error, GrantProfile, KeyLookup, Limit, Party, ReplayStore, Use,
    ValidatedAssertion,
};

use crate::input::{token_text, Line, LineReader};
use crate::output::{json_or_string, write_line, Invalid, Valid};
use crate::{keys, now, Fatal, OneParty, PolicyArgs, Source, EXIT_INVALID, EXIT_VALID};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Grants from the trusted issuers of a registry (each issuer with its own keys and policy):
  rfc7523 verify --registry registry.json --use grant \"$ASSERTION\"

  # A batch of client assertions (private_key_jwt) from the registered clients, one per line;
  # one replay store for all:
  rfc7523 verify --registry registry.json --use client_authentication < assertions.txt

  # The same, with a replay store that later runs and other processes share:
  rfc7523 verify --registry registry.json --use client_authentication \\
      --replay-db /var/lib/rfc7523/replay.db < assertions.txt

  # One party, without a registry: grants from one trusted issuer and its keys:
  rfc7523 verify --keys issuer-jwks.json --issuer https://issuer.example \\
      --audience https://as.example \"$ASSERTION\"

Output, one line per token:
  {\"valid\":true,\"header\":{...},\"claims\":{...}}
  {\"valid\":false,\"reason\":\"expired\",\"error\":\"invalid_grant\",\"description\":\"...\"}

Parties: --registry FILE (any number of clients and issuers), or --keys for exactly one:
one --issuer (and --subject) for grants, or one --client-id (and --require-typ) for client
authentication. With --registry, --use says which use; it may be left out when the
registry has only issuers or only clients. Defaults: jti required, lifetime at most 3600 s.
Exit status: 0 every token valid, 1 any token invalid, 2 usage or configuration error.")]
pub struct VerifyArgs {
    /// With --registry: judge the tokens as grants (its issuers) or as client assertions (its
    /// clients). Required when the registry has both.
    #[arg(long = "use", value_name = "USE", value_enum)]
    use_: Option<UseArg>,
    /// The assertion (compact JWS). Without it, standard input is read: one token per line,
    /// blank lines ignored.
    #[arg(value_name = "TOKEN")]
    token: Option<String>,
    // Last: the single-party flags' help heading applies to every argument after them.
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

/// `--use`: the two uses, by the names of the JSON `use` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum UseArg {
    /// Authorization grants (RFC 7523 section 2.1).
    #[value(name = "grant")]
    Grant,
    /// Client authentication (RFC 7523 section 2.2).
    #[value(name = "client_authentication")]
    ClientAuthentication,
}

/// The profile a run validates with.
enum Verifier<'a, L: KeyLookup + ?Sized> {
    Grant(GrantProfile<'a, L>),
    Client(ClientAuthProfile<'a, L>),
}

impl<L: KeyLookup + ?Sized> Verifier<'_, L> {
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
    let source = args.policy.source()?;
    let flags = match source {
        Source::Registry(registry) => {
            return registry.with_profiles(|grant, client| {
                let verifier = match (args.use_, grant, client) {
                    (None, Some(_), Some(_)) => {
                        return Err(Fatal::usage(
                            "--use is required: the registry has both clients and issuers \
                             (--use grant or --use client_authentication)",
                        ))
                    }
                    (Some(UseArg::Grant) | None, Some(grant), _) => Verifier::Grant(grant),
                    (Some(UseArg::ClientAuthentication) | None, _, Some(client)) => {
                        Verifier::Client(client)
                    }
                    (Some(UseArg::Grant), None, _) => {
                        return Err(Fatal::usage("--use grant: the registry has no issuers"))
                    }
                    (Some(UseArg::ClientAuthentication) | None, _, None) => {
                        return Err(Fatal::usage(
                            "--use client_authentication: the registry has no clients",
                        ))
                    }
                };
                judge_all(&verifier, args)
            });
        }
        Source::Flags(flags) => flags,
    };
    if args.use_.is_some() {
        return Err(Fatal::usage(
            "--use goes with --registry; without it, --issuer or --client-id says the use",
        ));
    }
    let party = flags.one_party()?;
    let keys = keys::load_public(&flags.keys)?;
    let subjects: Vec<&str> = flags.subject.iter().map(String::as_str).collect();
    let audiences = flags.audiences();
    let policy = flags.policy(&subjects);
    match party {
        OneParty::Issuer(issuer) => {
            let issuers = [Party::new(issuer, &keys).with_policy(policy)];
            let verifier = Verifier::Grant(GrantProfile {
                issuers: &issuers[..],
                audiences: &audiences,
            });
            judge_all(&verifier, args)
        }
        OneParty::Client(id) => {
            let clients = [Party::new(id, &keys).with_policy(policy)];
            let verifier = Verifier::Client(ClientAuthProfile {
                clients: &clients[..],
                issuer: audiences.first().copied().unwrap_or_default(),
            });
            judge_all(&verifier, args)
        }
    }
}

/// Judges the TOKEN argument, or every line of standard input, with `verifier`.
fn judge_all<L: KeyLookup + ?Sized>(
    verifier: &Verifier<'_, L>,
    args: &VerifyArgs,
) -> Result<ExitCode, Fatal> {
    let policy = &args.policy;
    let mut replay = policy.replay_store(if args.token.is_some() { 1 } else { usize::MAX })?;
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
