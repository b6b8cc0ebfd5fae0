//! `rfc7523 verify`: one JSON line per token, in input order.

use std::io::{self, BufWriter, Write};
use std::num::NonZeroUsize;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use rfc7523::limits::MAX_TOKEN_LEN;
use rfc7523::{
    ClientAuthProfile, DecodeBuffer, Error, GrantProfile, KeyLookup, Limit, Party, ReplayEntry,
    ReplayError, ReplayStore, Use, ValidatedAssertion,
};

use crate::input::{token_text, Line, LineReader};
use crate::output::{compat_names, json_or_string, write_line, Invalid, Valid};
use crate::parallel::{self, Item};
use crate::{keys, now, Fatal, OneParty, PolicyArgs, Source, EXIT_INVALID, EXIT_VALID};

/// The most `--jobs`.
const MAX_JOBS: u64 = 256;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Grants from the trusted issuers of a registry (each issuer with its own keys and policy):
  rfc7523 verify --registry registry.json --use grant \"$ASSERTION\"

  # A batch of client assertions (private_key_jwt) from the registered clients, one per line;
  # one replay store for all, on every core:
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
    /// Verify the tokens of standard input on N threads [default: the number of cores]. The
    /// output is the same as with one thread, byte for byte: lines in input order, and each
    /// token's replay check made after the previous token's.
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..=MAX_JOBS),
    )]
    jobs: Option<u64>,
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

    /// Validates `token`, decoded into `buffer` (which the result borrows).
    fn validate<'b>(
        &self,
        token: &str,
        now: u64,
        replay: &mut impl ReplayStore,
        buffer: &'b mut DecodeBuffer,
    ) -> Result<ValidatedAssertion<'b>, Error> {
        match self {
            Verifier::Grant(profile) => profile.validate(token, now, replay, buffer),
            Verifier::Client(profile) => profile.validate(token, None, now, replay, buffer),
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
                token_endpoint: None,
            });
            judge_all(&verifier, args)
        }
    }
}

/// Judges the TOKEN argument, or every line of standard input, with `verifier`.
fn judge_all<L: KeyLookup + Sync + ?Sized>(
    verifier: &Verifier<'_, L>,
    args: &VerifyArgs,
) -> Result<ExitCode, Fatal> {
    let policy = &args.policy;
    let mut replay = policy.replay_store(if args.token.is_some() { 1 } else { usize::MAX })?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut tally = Tally::default();
    match &args.token {
        Some(token) => {
            let mut buffer = DecodeBuffer::new();
            let result = verifier.validate(token, now(policy.now), &mut replay, &mut buffer);
            tally.write(&mut out, &answer(verifier, result))?;
        }
        None => match args.jobs() {
            1 => judge_lines(verifier, policy.now, &mut replay, &mut out, &mut tally)?,
            jobs => {
                let work = |item| judge_deferred(verifier, item, policy.now);
                let mut sink = InOrder {
                    use_: verifier.use_(),
                    replay: &mut replay,
                    out: &mut out,
                    tally: &mut tally,
                };
                parallel::run(jobs, &work, &mut sink)?;
            }
        },
    }
    out.flush().map_err(|e| Fatal::output(&e))?;
    if tally.judged == 0 {
        // Nothing was verified: never report that as success.
        return Err(Fatal::usage(
            "no token: give a TOKEN argument or one token per line on standard input",
        ));
    }
    Ok(ExitCode::from(if tally.all_valid {
        EXIT_VALID
    } else {
        EXIT_INVALID
    }))
}

impl VerifyArgs {
    /// `--jobs`, or the number of cores.
    fn jobs(&self) -> usize {
        match self.jobs {
            Some(jobs) => usize::try_from(jobs).unwrap_or(1),
            None => std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        }
    }
}

/// One thread: each line of standard input validated with the replay store, in turn.
fn judge_lines<L: KeyLookup + ?Sized>(
    verifier: &Verifier<'_, L>,
    fixed_now: Option<u64>,
    replay: &mut impl ReplayStore,
    out: &mut impl Write,
    tally: &mut Tally,
) -> Result<(), Fatal> {
    // One byte more than a token may have, for the `\r` of a CRLF line.
    let mut lines = LineReader::new(io::stdin().lock(), MAX_TOKEN_LEN + 1);
    // One buffer for every line: each result is written out before the next line is read.
    let mut buffer = DecodeBuffer::new();
    loop {
        if lines.would_block() {
            out.flush().map_err(|e| Fatal::output(&e))?;
        }
        let result = match lines.next_line().map_err(|e| Fatal::input(&e))? {
            None => return Ok(()),
            Some(Line::Blank) => continue,
            Some(Line::Text(bytes)) => {
                verifier.validate(&token_text(bytes), now(fixed_now), replay, &mut buffer)
            }
            Some(Line::TooLong) => Err(Error::TooLarge(Limit::TokenLength)),
        };
        tally.write(out, &answer(verifier, result))?;
    }
}

/// The lines written and whether all were valid.
#[derive(Debug)]
struct Tally {
    judged: usize,
    all_valid: bool,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            judged: 0,
            all_valid: true,
        }
    }
}

impl Tally {
    fn write(&mut self, out: &mut impl Write, line: &Answer) -> Result<(), Fatal> {
        self.judged += 1;
        self.all_valid &= line.valid;
        out.write_all(&line.json).map_err(|e| Fatal::output(&e))
    }
}

/// One output line and its verdict.
#[derive(Debug)]
struct Answer {
    valid: bool,
    /// The JSON object and its newline.
    json: Vec<u8>,
}

/// The output line of `result`.
fn answer<L: KeyLookup + ?Sized>(
    verifier: &Verifier<'_, L>,
    result: Result<ValidatedAssertion<'_>, Error>,
) -> Answer {
    let mut json = Vec::new();
    // Writing to a `Vec` fails only if serialising fails, which these types never do.
    let _ = match &result {
        Ok(valid) => write_line(&mut json, &valid_object(valid)),
        Err(e) => write_line(&mut json, &Invalid::new(e, verifier.use_())),
    };
    Answer {
        valid: result.is_ok(),
        json,
    }
}

/// A line judged by a worker, but for its replay check.
#[derive(Debug)]
struct Judged {
    /// The answer if the replay check passes (or is not needed).
    answer: Answer,
    /// The replay entry to check and insert, and the time of the validation.
    pending: Option<(ReplayEntry, u64)>,
}

impl Judged {
    /// The replay check (in input order), then the line: the answer, or the refusal the core
    /// gives for the store's answer.
    fn finish(self, use_: Use, replay: &mut impl ReplayStore) -> Answer {
        let Some((entry, now)) = self.pending else {
            return self.answer;
        };
        match replay.check_and_insert(entry, now) {
            Ok(()) => self.answer,
            Err(refusal) => {
                let mut json = Vec::new();
                let _ = write_line(&mut json, &Invalid::new(&replay_error(refusal), use_));
                Answer { valid: false, json }
            }
        }
    }
}

/// The main thread's part of `--jobs`: the replay checks and the output, in input order.
struct InOrder<'a, R, W> {
    use_: Use,
    replay: &'a mut R,
    out: &'a mut W,
    tally: &'a mut Tally,
}

impl<R: ReplayStore, W: Write> parallel::Finish<Judged> for InOrder<'_, R, W> {
    fn finish(&mut self, judged: Judged) -> Result<(), Fatal> {
        let line = judged.finish(self.use_, self.replay);
        self.tally.write(self.out, &line)
    }

    fn idle(&mut self) -> Result<(), Fatal> {
        self.out.flush().map_err(|e| Fatal::output(&e))
    }
}

/// A worker's part: the whole validation, with the replay entry noted instead of checked (the
/// replay check is the core's last step: nothing of the validation depends on its answer).
fn judge_deferred<L: KeyLookup + ?Sized>(
    verifier: &Verifier<'_, L>,
    item: Item,
    fixed_now: Option<u64>,
) -> Judged {
    let now = now(fixed_now);
    let mut noted = NoteEntry(None);
    let mut buffer = DecodeBuffer::new();
    let result = match &item {
        Item::Text(bytes) => verifier.validate(&token_text(bytes), now, &mut noted, &mut buffer),
        Item::TooLong => Err(Error::TooLarge(Limit::TokenLength)),
    };
    let pending = match &result {
        Ok(_) => noted.0.map(|entry| (entry, now)),
        Err(_) => None,
    };
    Judged {
        answer: answer(verifier, result),
        pending,
    }
}

/// A store that accepts every entry and keeps the last one offered.
struct NoteEntry(Option<ReplayEntry>);

impl ReplayStore for NoteEntry {
    fn check_and_insert(&mut self, entry: ReplayEntry, _now: u64) -> Result<(), ReplayError> {
        self.0 = Some(entry);
        Ok(())
    }
}

/// The core's refusal for a store's answer (`profile.rs`; the test below holds them equal).
fn replay_error(refusal: ReplayError) -> Error {
    match refusal {
        ReplayError::Replayed => Error::Replayed,
        ReplayError::Full => Error::ReplayStoreFull,
    }
}

/// The valid object: the verified header and claims, re-emitted.
fn valid_object(valid: &ValidatedAssertion<'_>) -> Valid {
    let assertion = valid.assertion();
    Valid {
        valid: true,
        header: json_or_string(assertion.header_json()),
        claims: json_or_string(assertion.payload_json().unwrap_or("{}")),
        compat: compat_names(valid.compat()),
    }
}

#[cfg(test)]
mod tests {
    use rfc7523::sign::{AssertionRequest, AssertionSigner};
    use rfc7523::KeySet;

    use super::*;

    const NOW: u64 = 1_700_000_000;

    /// A store that gives one answer.
    struct Answers(ReplayError);

    impl ReplayStore for Answers {
        fn check_and_insert(&mut self, _: ReplayEntry, _: u64) -> Result<(), ReplayError> {
            Err(self.0)
        }
    }

    /// `--jobs` words a store's refusal itself (after the workers' validation): the line is
    /// the one the core gives when its own replay check gets that answer.
    #[test]
    fn a_deferred_replay_refusal_is_the_core_refusal() {
        let groups = rfc7523_conformance::sig_gen_2048_sha256_groups();
        let group = &groups[0];
        let signer = AssertionSigner::from_pem(group["privateKeyPem"].as_str().unwrap()).unwrap();
        let keys = KeySet::from_pem(group["keyPem"].as_str().unwrap()).unwrap();
        let request = AssertionRequest {
            issuer: "https://issuer.example",
            subject: "alice",
            audience: "https://as.example",
            lifetime: Some(300),
            jti: Some("j-1"),
            kid: None,
            client_authentication: false,
        };
        let token = signer.sign(&request, NOW).unwrap().to_string();
        let issuers = [Party::new("https://issuer.example", &keys)];
        let verifier = Verifier::Grant(GrantProfile {
            issuers: &issuers[..],
            audiences: &["https://as.example"],
        });
        for refusal in [ReplayError::Replayed, ReplayError::Full] {
            let core = answer(
                &verifier,
                verifier.validate(&token, NOW, &mut Answers(refusal), &mut DecodeBuffer::new()),
            );
            let judged = judge_deferred(&verifier, Item::Text(token.clone().into()), Some(NOW));
            assert!(judged.answer.valid && judged.pending.is_some());
            let ours = judged.finish(verifier.use_(), &mut Answers(refusal));
            assert!(!core.valid && !ours.valid);
            assert_eq!(
                String::from_utf8(ours.json).unwrap(),
                String::from_utf8(core.json).unwrap()
            );
        }
    }
}
