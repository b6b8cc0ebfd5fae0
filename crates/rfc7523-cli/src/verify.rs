//! `rfc7523 verify`: one JSON line per token, in input order.

use std::io::{self, BufWriter, Write};
use std::num::NonZeroUsize;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use rfc7523::limits::MAX_TOKEN_LEN;
use rfc7523::registry::{PartyKind, Registry};
use rfc7523::remote_keys::Need;
use rfc7523::{
    ClientAuthProfile, DecodeBuffer, Error, GrantProfile, KeyLookup, Limit, Party, ReplayEntry,
    ReplayError, ReplayStore, Use, ValidatedAssertion,
};

use crate::input::{token_text, Line, LineReader};
use crate::output::{compat_names, json_or_string, write_line, Invalid, Valid};
use crate::parallel::{self, Item};
use crate::remote::{self, Ensured, Shared};
use crate::{
    keys, now, Fatal, OneParty, PolicyArgs, Source, EXIT_INVALID, EXIT_UNAVAILABLE, EXIT_VALID,
};

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
  {\"valid\":false,\"reason\":\"keys_unavailable\",\"error\":\"temporarily_unavailable\",...,\"retry_after\":30}

Parties: --registry FILE (any number of clients and issuers), or --keys for exactly one:
one --issuer (and --subject) for grants, or one --client-id (and --require-typ) for client
authentication. With --registry, --use says which use; it may be left out when the
registry has only issuers or only clients. Defaults: jti required, lifetime at most 3600 s.
Remote key sets (a registry's jwks_uri, an issuer's discovery) are fetched when a token
names their party, at most once per 30 s per URL, cached for the run; a fetch that fails is
one line on standard error, and the party's tokens are keys_unavailable until keys are had.
Exit status: 0 every token valid, 1 any token invalid, 2 usage or configuration error,
3 none invalid but some keys_unavailable (an outage: retry after retry_after).")]
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
    fn validate<'b, R: ReplayStore + ?Sized>(
        &self,
        token: &str,
        now: u64,
        replay: &mut R,
        buffer: &'b mut DecodeBuffer,
    ) -> Result<ValidatedAssertion<'b>, Error> {
        match self {
            Verifier::Grant(profile) => profile.validate(token, now, replay, buffer),
            Verifier::Client(profile) => profile.validate(token, None, now, replay, buffer),
        }
    }
}

/// What judges one token: a profile over fixed parties, or a registry whose remote key sets
/// are fetched as its tokens need them.
trait Judge: Sync {
    /// The use every token of the run is judged as.
    fn use_(&self) -> Use;

    /// `token` validated at `now` with `replay`, as its output line.
    fn judge<R: ReplayStore + ?Sized>(
        &self,
        token: &str,
        now: u64,
        replay: &mut R,
        buffer: &mut DecodeBuffer,
    ) -> Answer;
}

impl<L: KeyLookup + Sync + ?Sized> Judge for Verifier<'_, L> {
    fn use_(&self) -> Use {
        Verifier::use_(self)
    }

    fn judge<R: ReplayStore + ?Sized>(
        &self,
        token: &str,
        now: u64,
        replay: &mut R,
        buffer: &mut DecodeBuffer,
    ) -> Answer {
        answer(self.use_(), self.validate(token, now, replay, buffer))
    }
}

/// A registry's parties of one use, their remote key sets made ready before each validation:
/// fetched when absent or stale, refetched once (within the cooldown) when a `kid` names none
/// of them (the core's `UnknownRemoteKey`), and `keys_unavailable` given its `Retry-After`.
struct RegistryJudge<'a> {
    shared: &'a Shared,
    use_: Use,
}

/// What one validation against the registry asks for.
enum Outcome {
    Answer(Answer),
    /// `UnknownRemoteKey`: refetch, then validate again.
    Refetch,
}

impl Judge for RegistryJudge<'_> {
    fn use_(&self) -> Use {
        self.use_
    }

    fn judge<R: ReplayStore + ?Sized>(
        &self,
        token: &str,
        now: u64,
        replay: &mut R,
        buffer: &mut DecodeBuffer,
    ) -> Answer {
        let kind = PartyKind::of_use(self.use_);
        let target = self.shared.target(kind, token);
        let mut unavailable = None;
        if let Some(id) = &target {
            if let Ensured::Unavailable(u) = self.shared.ensure(kind, id, now, Need::Keys) {
                unavailable = Some(u);
            }
        }
        let mut refetched = false;
        loop {
            // The read lock is released before any fetch (`ensure` installs under the write
            // lock).
            let outcome = self.validate(token, now, replay, buffer, |e| match e {
                Error::UnknownRemoteKey if !refetched && target.is_some() => None,
                e => Some(remote::with_retry_after(e, unavailable)),
            });
            match (outcome, &target) {
                (Outcome::Refetch, Some(id)) => {
                    refetched = true;
                    if let Ensured::Unavailable(u) =
                        self.shared.ensure(kind, id, now, Need::UnknownKey)
                    {
                        unavailable = Some(u);
                    }
                }
                (Outcome::Refetch, None) => {
                    return answer_error(self.use_, Error::UnknownRemoteKey)
                }
                (Outcome::Answer(answer), _) => return answer,
            }
        }
    }
}

impl RegistryJudge<'_> {
    /// One validation under the registry's read lock; `refused` words a refusal, or asks for
    /// a refetch (`None`).
    fn validate<R: ReplayStore + ?Sized>(
        &self,
        token: &str,
        now: u64,
        replay: &mut R,
        buffer: &mut DecodeBuffer,
        refused: impl FnOnce(Error) -> Option<Error>,
    ) -> Outcome {
        let registry = self.shared.read();
        registry.with_profiles(|grant, client| {
            let verifier = match (self.use_, grant, client) {
                (Use::AuthorizationGrant, Some(grant), _) => Verifier::Grant(grant),
                (Use::ClientAuthentication, _, Some(client)) => Verifier::Client(client),
                // `run` chose a use the registry has parties for.
                _ => return Outcome::Answer(answer_error(self.use_, Error::IssuerMismatch)),
            };
            match verifier.validate(token, now, replay, buffer) {
                Ok(valid) => Outcome::Answer(answer(self.use_, Ok(valid))),
                Err(e) => match refused(e) {
                    Some(e) => Outcome::Answer(answer_error(self.use_, e)),
                    None => Outcome::Refetch,
                },
            }
        })
    }
}

/// The use `--use` chooses among the registry's (or the only one it has).
fn registry_use(registry: &Registry, use_: Option<UseArg>) -> Result<Use, Fatal> {
    let grants = !registry.issuers().is_empty();
    let clients = !registry.clients().is_empty();
    match (use_, grants, clients) {
        (None, true, true) => Err(Fatal::usage(
            "--use is required: the registry has both clients and issuers (--use grant or \
             --use client_authentication)",
        )),
        (Some(UseArg::Grant) | None, true, _) => Ok(Use::AuthorizationGrant),
        (Some(UseArg::ClientAuthentication) | None, _, true) => Ok(Use::ClientAuthentication),
        (Some(UseArg::Grant), false, _) => {
            Err(Fatal::usage("--use grant: the registry has no issuers"))
        }
        (Some(UseArg::ClientAuthentication) | None, _, false) => Err(Fatal::usage(
            "--use client_authentication: the registry has no clients",
        )),
    }
}

pub fn run(args: &VerifyArgs) -> Result<ExitCode, Fatal> {
    let source = args.policy.source()?;
    let flags = match source {
        Source::Registry(registry) => {
            let use_ = registry_use(&registry, args.use_)?;
            let shared = Shared::new(registry);
            return judge_all(
                &RegistryJudge {
                    shared: &shared,
                    use_,
                },
                args,
            );
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
fn judge_all<J: Judge>(verifier: &J, args: &VerifyArgs) -> Result<ExitCode, Fatal> {
    let policy = &args.policy;
    let mut replay = policy.replay_store(if args.token.is_some() { 1 } else { usize::MAX })?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut tally = Tally::default();
    match &args.token {
        Some(token) => {
            let mut buffer = DecodeBuffer::new();
            let line = verifier.judge(token, now(policy.now), &mut replay, &mut buffer);
            tally.write(&mut out, &line)?;
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
    Ok(ExitCode::from(tally.exit_status()))
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
fn judge_lines<J: Judge>(
    verifier: &J,
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
        let line = match lines.next_line().map_err(|e| Fatal::input(&e))? {
            None => return Ok(()),
            Some(Line::Blank) => continue,
            Some(Line::Text(bytes)) => {
                verifier.judge(&token_text(bytes), now(fixed_now), replay, &mut buffer)
            }
            Some(Line::TooLong) => {
                answer_error(verifier.use_(), Error::TooLarge(Limit::TokenLength))
            }
        };
        tally.write(out, &line)?;
    }
}

/// The lines written and their verdicts.
#[derive(Debug, Default)]
struct Tally {
    judged: usize,
    /// Lines refused for a reason other than `keys_unavailable`.
    invalid: usize,
    /// Lines refused `keys_unavailable`.
    unavailable: usize,
}

impl Tally {
    fn write(&mut self, out: &mut impl Write, line: &Answer) -> Result<(), Fatal> {
        self.judged += 1;
        match line.verdict {
            Verdict::Valid => {}
            Verdict::Invalid => self.invalid += 1,
            Verdict::Unavailable => self.unavailable += 1,
        }
        out.write_all(&line.json).map_err(|e| Fatal::output(&e))
    }

    /// 0 when every token was valid; 1 when any was invalid; otherwise 3 when some could not
    /// be judged because their party's keys could not be had (`keys_unavailable`: an outage,
    /// worth retrying later).
    fn exit_status(&self) -> u8 {
        if self.invalid > 0 {
            EXIT_INVALID
        } else if self.unavailable > 0 {
            EXIT_UNAVAILABLE
        } else {
            EXIT_VALID
        }
    }
}

/// A line's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Valid,
    Invalid,
    /// `keys_unavailable`: not judged.
    Unavailable,
}

/// One output line and its verdict.
#[derive(Debug)]
struct Answer {
    verdict: Verdict,
    /// The JSON object and its newline.
    json: Vec<u8>,
}

impl Answer {
    fn valid(&self) -> bool {
        self.verdict == Verdict::Valid
    }
}

/// The output line of `result`, judged as `use_`.
fn answer(use_: Use, result: Result<ValidatedAssertion<'_>, Error>) -> Answer {
    match &result {
        Ok(valid) => {
            let mut json = Vec::new();
            // Writing to a `Vec` fails only if serialising fails, which these types never do.
            let _ = write_line(&mut json, &valid_object(valid));
            Answer {
                verdict: Verdict::Valid,
                json,
            }
        }
        Err(e) => answer_error(use_, *e),
    }
}

/// The output line of a refusal.
fn answer_error(use_: Use, error: Error) -> Answer {
    let mut json = Vec::new();
    let _ = write_line(&mut json, &Invalid::new(&error, use_));
    Answer {
        verdict: match error {
            Error::KeysUnavailable { .. } => Verdict::Unavailable,
            _ => Verdict::Invalid,
        },
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
            Err(refusal) => answer_error(use_, replay_error(refusal)),
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
fn judge_deferred<J: Judge>(verifier: &J, item: Item, fixed_now: Option<u64>) -> Judged {
    let now = now(fixed_now);
    let mut noted = NoteEntry(None);
    let mut buffer = DecodeBuffer::new();
    let answer = match &item {
        Item::Text(bytes) => verifier.judge(&token_text(bytes), now, &mut noted, &mut buffer),
        Item::TooLong => answer_error(verifier.use_(), Error::TooLarge(Limit::TokenLength)),
    };
    let pending = if answer.valid() {
        noted.0.map(|entry| (entry, now))
    } else {
        None
    };
    Judged { answer, pending }
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
                verifier.use_(),
                verifier.validate(&token, NOW, &mut Answers(refusal), &mut DecodeBuffer::new()),
            );
            let judged = judge_deferred(&verifier, Item::Text(token.clone().into()), Some(NOW));
            assert!(judged.answer.valid() && judged.pending.is_some());
            let ours = judged.finish(verifier.use_(), &mut Answers(refusal));
            assert!(!core.valid() && !ours.valid());
            assert_eq!(
                String::from_utf8(ours.json).unwrap(),
                String::from_utf8(core.json).unwrap()
            );
        }
    }
}
