//! `rfc7523 token-request`: judge one `application/x-www-form-urlencoded` token request body.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use rfc7523::form::{FormError, TokenParams};
use rfc7523::limits::MAX_FORM_BODY_LEN;
use rfc7523::registry::PartyKind;
use rfc7523::remote_keys::{Need, Unavailable};
use rfc7523::token_request::RequestProblem;
use rfc7523::{
    ClientAuthProfile, Error, GrantProfile, KeyLookup, OtherClientAuthentication, Party,
    ReplayEntry, ReplayError, ReplayStore, TokenBuffers, TokenEndpoint, TokenError, TokenOutcome,
    ValidatedAssertion,
};

use crate::input::{read_bounded, Body};
use crate::output::{compat_names, empty_object, json_or_string, write_line, Accepted, Refused};
use crate::remote::{self, Ensured, Shared};
use crate::{
    keys, now, Fatal, OneParty, PolicyArgs, Source, EXIT_INVALID, EXIT_UNAVAILABLE, EXIT_VALID,
};

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
  {\"ok\":false,\"status\":503,\"error\":\"temporarily_unavailable\",...,\"reason\":\"keys_unavailable\",\"retry_after\":30}
\"claims\": the grant's, else the client assertion's (absent when no assertion was judged).
\"client_authentication\": none, client_assertion, or (with --other-client-auth
verified-by-caller) client_secret or authorization_header, which the caller must verify.
\"client_claims\": the client assertion's claims, when there was one.
\"reason\": when an assertion was judged, and unsupported_client_authentication.

Parties: --registry FILE (any number of clients and issuers), or --keys for exactly one:
one --issuer (and --subject) accepts its jwt-bearer grants, or one --client-id (and
--require-typ) its client assertions. Defaults: jti required, lifetime at most 3600 s.
Remote key sets (jwks_uri, discovery) of the request's parties are fetched first.
Exit status: 0 accepted, 1 refused, 2 usage or configuration error, 3 refused
keys_unavailable (503: a party's keys could not be fetched; retry after retry_after).")]
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
            return respond_registry(&Shared::new(registry), other_client_auth, args);
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

/// The request body (argument, or standard input up to the bound), without a final line
/// ending; `None` when it is longer than the bound.
fn read_body(args: &TokenRequestArgs) -> Result<Option<Vec<u8>>, Fatal> {
    let body = match &args.body {
        Some(body) => Body::Complete(body.clone().into_bytes()),
        // Room for a final CRLF after a body at the limit.
        None => {
            read_bounded(io::stdin().lock(), MAX_FORM_BODY_LEN + 2).map_err(|e| Fatal::input(&e))?
        }
    };
    Ok(match body {
        Body::Complete(mut bytes) => {
            let end = bytes
                .iter()
                .rposition(|b| !matches!(b, b'\n' | b'\r'))
                .map_or(0, |last| last + 1);
            bytes.truncate(end);
            Some(bytes)
        }
        Body::TooLong => None,
    })
}

const BODY_TOO_LONG: TokenError =
    TokenError::InvalidRequest(RequestProblem::Form(FormError::BodyTooLong));

/// Reads the body, judges it with `endpoint` and prints the one line.
fn respond<G: KeyLookup + ?Sized, C: KeyLookup + ?Sized>(
    endpoint: &TokenEndpoint<'_, G, C>,
    args: &TokenRequestArgs,
) -> Result<ExitCode, Fatal> {
    let policy = &args.policy;
    // Opened first: a store that cannot be used stops the run before the input is read. A
    // request holds at most two assertions.
    let mut replay = policy.replay_store(2)?;
    let body = read_body(args)?;
    judge_and_print(endpoint, args, body, now(policy.now), &mut replay, |e| e)
}

/// Judges `body` with `endpoint` (`word` adds what the core cannot know to a refusal) and
/// prints the one line.
fn judge_and_print<G: KeyLookup + ?Sized, C: KeyLookup + ?Sized, R: ReplayStore + ?Sized>(
    endpoint: &TokenEndpoint<'_, G, C>,
    args: &TokenRequestArgs,
    body: Option<Vec<u8>>,
    now: u64,
    replay: &mut R,
    word: impl FnOnce(TokenError) -> TokenError,
) -> Result<ExitCode, Fatal> {
    // The body is percent-decoded in place and the assertions decoded into `buffers`: the
    // outcome borrows both.
    let mut buffers = Box::new(TokenBuffers::new());
    let mut body = body;
    let result = match &mut body {
        Some(bytes) => endpoint
            .handle_request(bytes, args.authorization_header, now, replay, &mut buffers)
            .map_err(word),
        None => Err(BODY_TOO_LONG),
    };
    let mut out = io::stdout().lock();
    let written = match &result {
        Ok(outcome) => write_line(&mut out, &accepted(outcome)),
        Err(e) => write_line(&mut out, &Refused::new(e)),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Fatal::output(&e))?;
    Ok(ExitCode::from(match &result {
        Ok(_) => EXIT_VALID,
        Err(e) if e.reason() == rfc7523::Reason::KeysUnavailable => EXIT_UNAVAILABLE,
        Err(_) => EXIT_INVALID,
    }))
}

/// A registry's token endpoint, the remote key sets of the request's two parties made ready
/// first: fetched when absent or stale; refetched once when an assertion's `kid` names none of
/// its party's keys (found by a trial run with a store that records nothing, so that the
/// request is judged, replay included, exactly once and as the core judges it).
fn respond_registry(
    shared: &Shared,
    other_client_auth: OtherClientAuthentication,
    args: &TokenRequestArgs,
) -> Result<ExitCode, Fatal> {
    let mut replay = args.policy.replay_store(2)?;
    let body = read_body(args)?;
    let now = now(args.policy.now);
    let targets = body
        .as_deref()
        .map(|b| targets(shared, b))
        .unwrap_or_default();
    let mut unavailable: [Option<Unavailable>; 2] = [None, None];
    for (slot, target) in targets.iter().enumerate() {
        if let Some((kind, id)) = target {
            if let Ensured::Unavailable(u) = shared.ensure(*kind, id, now, Need::Keys) {
                unavailable[slot] = Some(u);
            }
        }
    }
    if let (Some(bytes), true) = (&body, targets.iter().any(Option::is_some)) {
        // Each party refetched at most once.
        let mut refetched = [false, false];
        loop {
            let trial = shared
                .read()
                .with_token_endpoint(other_client_auth, |endpoint| {
                    let mut copy = bytes.clone();
                    let mut buffers = Box::new(TokenBuffers::new());
                    endpoint
                        .handle_request(
                            &mut copy,
                            args.authorization_header,
                            now,
                            &mut TrialStore,
                            &mut buffers,
                        )
                        .err()
                });
            let slot = match trial {
                Some(TokenError::Client(Error::UnknownRemoteKey)) => 0,
                Some(TokenError::Grant(Error::UnknownRemoteKey)) => 1,
                _ => break,
            };
            let (Some(Some((kind, id))), false) = (targets.get(slot), refetched[slot]) else {
                break;
            };
            refetched[slot] = true;
            if let Ensured::Unavailable(u) = shared.ensure(*kind, id, now, Need::UnknownKey) {
                unavailable[slot] = Some(u);
            }
        }
    }
    let registry = shared.read();
    registry.with_token_endpoint(other_client_auth, |endpoint| {
        judge_and_print(endpoint, args, body, now, &mut replay, |e| match e {
            TokenError::Client(e) => {
                TokenError::Client(remote::with_retry_after(e, unavailable[0]))
            }
            TokenError::Grant(e) => TokenError::Grant(remote::with_retry_after(e, unavailable[1])),
            e => e,
        })
    })
}

/// The remote parties a request's assertions name: the client assertion's `iss` among the
/// clients, the grant's among the issuers (read from a copy: the body is decoded in place).
fn targets(shared: &Shared, body: &[u8]) -> [Option<(PartyKind, String)>; 2] {
    let mut copy = body.to_vec();
    let Ok(params) = TokenParams::parse(&mut copy) else {
        return [None, None];
    };
    let of = |kind: PartyKind, token: Option<&str>| {
        token
            .and_then(|token| shared.target(kind, token))
            .map(|id| (kind, id))
    };
    [
        of(PartyKind::Client, params.client_assertion),
        of(PartyKind::Issuer, params.assertion),
    ]
}

/// A replay store for trial runs: accepts every entry and keeps none.
struct TrialStore;

impl ReplayStore for TrialStore {
    fn check_and_insert(&mut self, _: ReplayEntry, _: u64) -> Result<(), ReplayError> {
        Ok(())
    }
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
