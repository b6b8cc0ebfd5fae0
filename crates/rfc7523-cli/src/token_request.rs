//! `rfc7523 token-request`: judge one `application/x-www-form-urlencoded` token request body.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use rfc7523::form::FormError;
use rfc7523::limits::MAX_FORM_BODY_LEN;
use rfc7523::token_request::RequestProblem;
use rfc7523::{
    ClientAuthProfile, GrantProfile, KeyLookup, OtherClientAuthentication, Party, TokenBuffers,
    TokenEndpoint, TokenError, TokenOutcome, ValidatedAssertion,
};

use crate::input::{read_bounded, Body};
use crate::output::{compat_names, empty_object, json_or_string, write_line, Accepted, Refused};
use crate::{keys, now, Fatal, OneParty, PolicyArgs, Source, EXIT_INVALID, EXIT_VALID};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # A token endpoint with its registry: jwt-bearer grants from its trusted issuers, client
  # assertions (private_key_jwt) from its clients, each party with its own keys:
  rfc7523 token-request --registry registry.json < body.txt

  # The same, where the web server verifies client secrets and Basic authentication itself:
  rfc7523 token-request --registry registry.json --other-client-auth verified-by-caller \\
      --authorization-header < body.txt

  # One party, without a registry: jwt-bearer grants from one trusted issuer:
  rfc7523 token-request --keys issuer.pem --issuer https://issuer.example \\
      --audience https://as.example \\
      'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=eyJ...'

Output, one line:
  {\"ok\":true,\"use\":\"grant\",\"grant_type\":\"...\",\"claims\":{...},\"client_authentication\":\"client_assertion\",\"client_claims\":{...}}
  {\"ok\":false,\"status\":401,\"error\":\"invalid_client\",\"error_description\":\"...\",\"reason\":\"expired\"}
\"claims\": the grant's, else the client assertion's (absent when no assertion was judged).
\"client_authentication\": none, client_assertion, or (with --other-client-auth
verified-by-caller) client_secret or authorization_header, which the caller must verify.
\"client_claims\": the client assertion's claims, when there was one.
\"reason\": when an assertion was judged, and unsupported_client_authentication.

Parties: --registry FILE (any number of clients and issuers), or --keys for exactly one:
one --issuer (and --subject) accepts its jwt-bearer grants, or one --client-id (and
--require-typ) its client assertions. Defaults: jti required, lifetime at most 3600 s.
Exit status: 0 accepted, 1 refused, 2 usage or configuration error.")]
pub struct TokenRequestArgs {
    /// The request carried an HTTP Authorization header (its value is not needed: it is
    /// another client authentication method, refused unless --other-client-auth
    /// verified-by-caller).
    #[arg(long = "authorization-header")]
    authorization_header: bool,
    /// What to do with a client_secret or an Authorization header: refuse them
    /// (invalid_client), or go on and report them for the caller to verify.
    #[arg(
        long = "other-client-auth",
        value_name = "WHAT",
        value_enum,
        default_value_t = OtherClientAuthArg::Refuse
    )]
    other_client_auth: OtherClientAuthArg,
    /// The request body. Without it, standard input is read (a final line ending is
    /// ignored).
    #[arg(value_name = "BODY")]
    body: Option<String>,
    // Last: the single-party flags' help heading applies to every argument after them.
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

/// `--other-client-auth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OtherClientAuthArg {
    /// Refuse them: 401 invalid_client, reason unsupported_client_authentication.
    Refuse,
    /// The caller verifies them: the output's client_authentication says which one.
    VerifiedByCaller,
}

pub fn run(args: &TokenRequestArgs) -> Result<ExitCode, Fatal> {
    let other_client_auth = match args.other_client_auth {
        OtherClientAuthArg::Refuse => OtherClientAuthentication::Refuse,
        OtherClientAuthArg::VerifiedByCaller => OtherClientAuthentication::VerifiedByCaller,
    };
    let flags = match args.policy.source()? {
        Source::Registry(registry) => {
            return registry
                .with_token_endpoint(other_client_auth, |endpoint| respond(endpoint, args))
        }
        Source::Flags(flags) => flags,
    };
    let party = flags.one_party()?;
    let keys = keys::load_public(&flags.keys)?;
    let subjects: Vec<&str> = flags.subject.iter().map(String::as_str).collect();
    let audiences = flags.audiences();
    let policy = flags.policy(&subjects);
    match party {
        OneParty::Issuer(issuer) => {
            let issuers = [Party::new(issuer, &keys).with_policy(policy)];
            let endpoint: TokenEndpoint<'_> = TokenEndpoint {
                grant: Some(GrantProfile {
                    issuers: &issuers[..],
                    audiences: &audiences,
                }),
                client_auth: None,
                other_client_auth,
            };
            respond(&endpoint, args)
        }
        OneParty::Client(id) => {
            let clients = [Party::new(id, &keys).with_policy(policy)];
            let endpoint: TokenEndpoint<'_> = TokenEndpoint {
                grant: None,
                client_auth: Some(ClientAuthProfile {
                    clients: &clients[..],
                    issuer: audiences.first().copied().unwrap_or_default(),
                    token_endpoint: None,
                }),
                other_client_auth,
            };
            respond(&endpoint, args)
        }
    }
}

/// Reads the body, judges it with `endpoint` and prints the one line.
fn respond<G: KeyLookup + ?Sized, C: KeyLookup + ?Sized>(
    endpoint: &TokenEndpoint<'_, G, C>,
    args: &TokenRequestArgs,
) -> Result<ExitCode, Fatal> {
    let policy = &args.policy;
    // Opened first: a store that cannot be used stops the run before the input is read. A
    // request holds at most two assertions.
    let mut replay = policy.replay_store(2)?;
    let mut body = match &args.body {
        Some(body) => Body::Complete(body.clone().into_bytes()),
        // Room for a final CRLF after a body at the limit.
        None => {
            read_bounded(io::stdin().lock(), MAX_FORM_BODY_LEN + 2).map_err(|e| Fatal::input(&e))?
        }
    };
    // The body is percent-decoded in place and the assertions decoded into `buffers`: the
    // outcome borrows both.
    let mut buffers = Box::new(TokenBuffers::new());
    let result = match &mut body {
        Body::Complete(bytes) => {
            let end = bytes
                .iter()
                .rposition(|b| !matches!(b, b'\n' | b'\r'))
                .map_or(0, |last| last + 1);
            endpoint.handle_request(
                bytes.get_mut(..end).unwrap_or_default(),
                args.authorization_header,
                now(policy.now),
                &mut replay,
                &mut buffers,
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

fn accepted<'r>(outcome: &TokenOutcome<'r>) -> Accepted<'r> {
    let claims_of = |valid: &ValidatedAssertion<'r>| {
        valid
            .assertion()
            .payload_json()
            .map_or_else(empty_object, json_or_string)
    };
    Accepted {
        ok: true,
        use_: outcome.use_().as_str(),
        grant_type: outcome.grant_type(),
        claims: outcome.primary().map(claims_of),
        compat: outcome
            .primary()
            .map_or_else(Vec::new, |valid| compat_names(valid.compat())),
        client_authentication: outcome.client_authentication().as_str(),
        client_claims: outcome.client().map(claims_of),
        client_compat: outcome
            .client()
            .map_or_else(Vec::new, |valid| compat_names(valid.compat())),
        client_id: outcome.client_id(),
    }
}
