//! `rfc7523`: the RFC 7523 validator for operators and gateways, with a stable JSON contract.
//!
//! - `verify`: judge assertions (an argument, or one per line on standard input), one JSON
//!   line per token.
//! - `token-request`: judge an `application/x-www-form-urlencoded` token request body.
//! - `sign`: sign an assertion (client side).
//! - `inspect`: decode a token without verifying it.
//! - `keys`: what key files hold, one JSON line per key (certificate validity included).
//!
//! Exit status: 0 when everything judged is valid, 1 when something is invalid, 2 for usage
//! or configuration errors (one line on standard error, `rfc7523: <message>`), 3 when nothing
//! was invalid but something could not be judged because its party's fetched keys could not
//! be had (`keys_unavailable`: an outage; retry later).

mod input;
mod inspect;
mod keys;
mod keys_command;
mod output;
mod parallel;
mod registry;
mod remote;
mod replay;
mod sign;
mod token_request;
mod verify;

use std::fmt;
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::error::ErrorKind as ClapErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use rfc7523::limits::{MAX_LEEWAY_SETTING, MAX_LIFETIME_SETTING};
use rfc7523::profile::{DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME};
use rfc7523::{
    Algorithm, Algorithms, Checks, ClaimConditions, Compat, Policy, Registry, Subjects, TypRule,
};

use crate::replay::DEFAULT_REPLAY_CAPACITY;

/// Every token (or the request) was valid.
const EXIT_VALID: u8 = 0;
/// At least one token (or the request) was invalid.
const EXIT_INVALID: u8 = 1;
/// Usage or configuration error: bad flags, an unusable key file, no input.
const EXIT_USAGE: u8 = 2;
/// Nothing was invalid, but at least one token (or the request) could not be judged: its
/// party's keys are fetched and none could be had (`keys_unavailable`). An outage, not a bad
/// assertion: worth retrying after the `retry_after` of its line.
const EXIT_UNAVAILABLE: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "rfc7523",
    version,
    about = "Validate RFC 7523 JWT bearer assertions (RS256): authorization grants and \
             private_key_jwt client authentication",
    after_help = "\
Examples:
  rfc7523 verify --registry registry.json --use grant \"$ASSERTION\"
  rfc7523 token-request --registry registry.json < body.txt
  rfc7523 verify --keys issuer-jwks.json --issuer https://issuer.example \\
      --audience https://as.example \"$ASSERTION\"
  rfc7523 sign --key private.pem --issuer s6BhdRkqt3 --audience https://as.example --client-auth
  rfc7523 sign --apple --key AuthKey_ABC123DEFG.p8 --kid ABC123DEFG --issuer TEAMID \\
      --subject com.example.web --lifetime 15552000
  rfc7523 inspect \"$ASSERTION\"

Parties: a registry file (--registry) names this server's issuer identifier, its clients and
its trusted issuers, each with its own keys and policy (inline, or fetched from a jwks_uri or
through an issuer's discovery document); --keys serves exactly one party.
Exit status: 0 valid, 1 invalid, 2 usage or configuration error (one line on standard error),
3 keys_unavailable (a party's fetched keys could not be had; nothing invalid)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify assertions: the TOKEN argument, or one token per line on standard input.
    Verify(verify::VerifyArgs),
    /// Judge an application/x-www-form-urlencoded token request body (argument or standard
    /// input).
    TokenRequest(token_request::TokenRequestArgs),
    /// Sign an RFC 7523 assertion or a plain JWT (RS256, PS256, ES256, EdDSA; client side)
    /// and print the compact JWT.
    Sign(sign::SignArgs),
    /// Decode a token's header and claims WITHOUT verifying anything (debugging only).
    Inspect(inspect::InspectArgs),
    /// List the keys of key files (JWK Set, JWK, X.509 map, PEM) as the verifier reads them,
    /// one JSON line per key, with certificate validity.
    Keys(keys_command::KeysArgs),
}

/// The parties and their policy, shared by `verify` and `token-request`: a registry, or the
/// single-party flags.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The registry: this server's issuer identifier, its clients and its trusted issuers,
    /// each with its own keys and policy (a JSON object: issuer, token_endpoint, clients,
    /// issuers). Replaces the single-party flags.
    #[arg(long, value_name = "FILE")]
    registry: Option<PathBuf>,
    /// The time of the checks, in Unix seconds [default: the system clock, read per token].
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<u64>,
    /// Most (iss, jti) pairs remembered at once in this run, in memory (56 bytes each: 3.5 MiB
    /// at the default); when that many are live, further assertions with a jti are refused
    /// (replay_store_full).
    #[arg(
        long = "replay-capacity",
        value_name = "N",
        default_value_t = DEFAULT_REPLAY_CAPACITY,
        value_parser = clap::value_parser!(u64).range(1..),
    )]
    replay_capacity: u64,
    /// Remember (iss, jti) pairs in this SQLite file instead, shared by every run and process
    /// given it (created when missing; any other file that is not a replay store is refused).
    /// A store error refuses the assertion (replay_store_full) and is reported on standard
    /// error.
    #[arg(
        long = "replay-db",
        value_name = "FILE",
        conflicts_with = "replay_capacity"
    )]
    replay_db: Option<PathBuf>,
    /// The single-party flags given on the command line (filled in by `main` from clap's
    /// matches: flags with defaults cannot be told apart otherwise).
    #[arg(skip)]
    party_flags_given: Vec<String>,
    // Last: its help heading applies to every flag that follows it.
    #[command(flatten)]
    party: PartyArgs,
}

/// One party, its keys and its policy, from flags: without `--registry`. Every flag here is
/// set per party in a registry, and refused beside `--registry`.
#[derive(Debug, Args)]
#[command(next_help_heading = "One party, without --registry")]
pub struct PartyArgs {
    /// The party's public keys (RSA, P-256, Ed25519): a JWK Set, a JWK, an SPKI PEM (PUBLIC
    /// KEY) or a PKCS#1 PEM (RSA PUBLIC KEY), detected from the content. Repeatable; all files
    /// form one set of at most 16 keys, trusted for exactly one party (one --issuer or one
    /// --client-id).
    #[arg(long = "keys", value_name = "FILE")]
    keys: Vec<PathBuf>,
    /// An algorithm the party may sign with (repeatable; default: RS256, PS256, ES256, EdDSA,
    /// Ed25519). Each key still verifies one algorithm: its JWK alg, else the one algorithm of
    /// its type given here, else RS256 (RSA), ES256 (P-256) or EdDSA/Ed25519 (Ed25519).
    #[arg(long = "alg", value_name = "ALG", value_parser = parse_algorithm)]
    algs: Vec<Algorithm>,
    /// An accepted audience value (repeatable, at least one). Client authentication: exactly
    /// one, the server's issuer identifier, which must be the assertion's sole aud value.
    #[arg(long = "audience", value_name = "AUD")]
    audiences: Vec<String>,
    /// Authorization grants: the trusted issuer whose grants --keys verifies.
    #[arg(long = "issuer", value_name = "ISS")]
    issuers: Vec<String>,
    /// Authorization grants: the expected subject.
    #[arg(long, value_name = "SUB")]
    subject: Option<String>,
    /// Client authentication: the client id, which must be both iss and sub.
    #[arg(long = "client-id", value_name = "ID")]
    client_id: Option<String>,
    /// Client authentication: require the header typ client-authentication+jwt.
    #[arg(long = "require-typ")]
    require_typ: bool,
    /// Allowed clock skew, in seconds (at most 600).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = DEFAULT_LEEWAY,
        value_parser = clap::value_parser!(u64).range(..=MAX_LEEWAY_SETTING),
    )]
    leeway: u64,
    /// Longest accepted lifetime (exp - iat, or exp - now without iat), in seconds, 1 to 86400.
    #[arg(
        long = "max-lifetime",
        value_name = "SECONDS",
        default_value_t = DEFAULT_MAX_LIFETIME,
        value_parser = clap::value_parser!(u64).range(1..=MAX_LIFETIME_SETTING),
    )]
    max_lifetime: u64,
    /// Oldest accepted iat, in seconds before now, 1 to 86400 (makes iat required).
    #[arg(
        long = "max-age",
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..=MAX_LIFETIME_SETTING),
    )]
    max_age: Option<u64>,
    /// Refuse assertions without jti: the default, kept for scripts that pass it.
    #[arg(long = "require-jti")]
    require_jti: bool,
    /// Accept assertions without jti (then there is no replay protection, only the lifetime).
    #[arg(long = "jti-optional", conflicts_with = "require_jti")]
    jti_optional: bool,
    /// Refuse assertions without iat.
    #[arg(long = "require-iat")]
    require_iat: bool,
}

impl PolicyArgs {
    /// The replay store of one run: the `--replay-db` file, or an in-memory store of
    /// `--replay-capacity` entries, or fewer when the run cannot insert more than `most`
    /// (the answers are the same: a store that never fills is never full).
    fn replay_store(&self, most: usize) -> Result<replay::Replay, Fatal> {
        match &self.replay_db {
            Some(path) => replay::Replay::sqlite(path),
            None => replay::Replay::memory(
                usize::try_from(self.replay_capacity)
                    .unwrap_or(usize::MAX)
                    .min(most),
            ),
        }
    }

    /// Records which single-party flags `matches` (of this command) has from the command line.
    fn note_party_flags(&mut self, matches: &ArgMatches) {
        self.party_flags_given = party_flags_given(matches);
    }

    /// Where the parties come from: the registry (loaded, with no single-party flag beside
    /// it), or the flags of one party.
    fn source(&self) -> Result<Source<'_>, Fatal> {
        let Some(path) = &self.registry else {
            return Ok(Source::Flags(&self.party));
        };
        if !self.party_flags_given.is_empty() {
            return Err(Fatal::usage(format_args!(
                "{} cannot be combined with --registry: keys, audiences and policy are set per \
                 party in the registry",
                self.party_flags_given.join(", ")
            )));
        }
        Ok(Source::Registry(registry::load(path)?))
    }
}

/// Where `verify` and `token-request` find their parties.
enum Source<'a> {
    /// `--registry`.
    Registry(Registry),
    /// The single-party flags.
    Flags(&'a PartyArgs),
}

/// The single party of [`PartyArgs`]: a trusted issuer of grants or a client.
enum OneParty<'a> {
    Issuer(&'a str),
    Client(&'a str),
}

impl PartyArgs {
    /// The one party `--keys` serves: one `--issuer` or one `--client-id`, never more, since
    /// one key set trusted for two parties lets each sign as the other (RFC 8725 §3.8).
    fn one_party(&self) -> Result<OneParty<'_>, Fatal> {
        let party = match (self.issuers.as_slice(), &self.client_id) {
            ([], None) => {
                return Err(Fatal::usage(
                    "--issuer is required (authorization grants), or --client-id (client \
                     authentication); for more than one party use --registry",
                ))
            }
            ([issuer], None) => OneParty::Issuer(issuer),
            ([], Some(id)) => OneParty::Client(id),
            (issuers, client) => {
                let given = match client {
                    Some(_) => format!("{} --issuer and a --client-id", issuers.len()),
                    None => format!("{} --issuer", issuers.len()),
                };
                return Err(Fatal::usage(format_args!(
                    "--keys serves exactly one party, but {given} were given: one key set would \
                     be trusted for every party, so each could sign as the others; give every \
                     party its own keys in a --registry file"
                )));
            }
        };
        if self.keys.is_empty() {
            return Err(Fatal::usage(
                "--keys is required: the public keys of the --issuer or --client-id (or use \
                 --registry)",
            ));
        }
        if self.audiences.is_empty() {
            return Err(Fatal::usage(
                "--audience is required: the authorization server's issuer identifier (for \
                 grants also its token endpoint URL)",
            ));
        }
        match party {
            OneParty::Issuer(_) if self.require_typ => Err(Fatal::usage(
                "--require-typ applies to client authentication (--client-id)",
            )),
            OneParty::Client(_) if self.subject.is_some() => Err(Fatal::usage(
                "--subject applies to grants (--issuer); a client's subject is its --client-id",
            )),
            OneParty::Client(_) if self.audiences.len() != 1 => Err(Fatal::usage(
                "--client-id needs exactly one --audience: the authorization server's issuer \
                 identifier, the assertion's sole aud value",
            )),
            party => Ok(party),
        }
    }

    /// The party's policy; `subjects` holds the `--subject`, when given.
    fn policy<'a>(&self, subjects: &'a [&'a str]) -> Policy<'a> {
        Policy {
            checks: Checks {
                leeway: self.leeway,
                max_lifetime: Some(self.max_lifetime),
                max_age: self.max_age,
                require_jti: !self.jti_optional,
                require_iat: self.require_iat,
                ..Checks::default()
            },
            typ: if self.require_typ {
                TypRule::RequireExplicit
            } else {
                TypRule::NotAnotherType
            },
            subjects: if subjects.is_empty() {
                Subjects::Any
            } else {
                Subjects::OneOf(subjects)
            },
            algorithms: self.algorithms(),
            // Compatibility relaxations and claim conditions are per party, in a registry
            // (`compat`, an issuer's `claims`).
            compat: Compat::default(),
            claims: ClaimConditions::NONE,
        }
    }

    /// The `--alg` allow-list (every algorithm without one).
    fn algorithms(&self) -> Algorithms {
        match self.algs.as_slice() {
            [] => Algorithms::ALL,
            algs => algs
                .iter()
                .fold(Algorithms::NONE, |set, &alg| set.with(alg)),
        }
    }

    /// The `--audience` values.
    fn audiences(&self) -> Vec<&str> {
        self.audiences.iter().map(String::as_str).collect()
    }
}

/// An `--alg` value (`verify`, `token-request`, `sign`): a registered name, exactly (RFC 7518
/// §3.1, RFC 9864 §2.2), of the algorithms the core verifies and signs.
fn parse_algorithm(value: &str) -> Result<Algorithm, String> {
    Algorithm::from_header(value)
        .ok_or_else(|| "expected RS256, PS256, ES256, EdDSA or Ed25519 (exact case)".to_owned())
}

/// The `--long` names of the [`PartyArgs`] flags that `matches` has from the command line.
fn party_flags_given(matches: &ArgMatches) -> Vec<String> {
    PartyArgs::augment_args(clap::Command::new("party"))
        .get_arguments()
        .filter(|arg| matches.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine))
        .map(|arg| format!("--{}", arg.get_long().unwrap_or(arg.get_id().as_str())))
        .collect()
}

/// The time of a check: `--now`, else the system clock.
fn now(fixed: Option<u64>) -> u64 {
    fixed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    })
}

/// A usage or configuration error: exit status 2 with one line on standard error.
#[derive(Debug)]
pub enum Fatal {
    /// `rfc7523: <message>`.
    Message(String),
    /// Standard output was closed by its reader (`| head`): nothing more to say.
    BrokenPipe,
}

impl Fatal {
    /// A usage error.
    pub fn usage(message: impl fmt::Display) -> Self {
        Fatal::Message(one_line(&message.to_string()))
    }

    /// An error about a file: `<file>: <error>`.
    pub fn file(path: &Path, error: impl fmt::Display) -> Self {
        Self::usage(format_args!("{}: {error}", path.display()))
    }

    /// An input or output error.
    pub fn io(what: &str, error: &io::Error) -> Self {
        if error.kind() == ErrorKind::BrokenPipe {
            Fatal::BrokenPipe
        } else {
            Self::usage(format_args!("{what}: {error}"))
        }
    }

    /// A write to standard output failed.
    pub fn output(error: &io::Error) -> Self {
        Self::io("cannot write to standard output", error)
    }

    /// A read from standard input failed.
    pub fn input(error: &io::Error) -> Self {
        Self::io("cannot read standard input", error)
    }
}

/// `text` on one line: control characters (a newline in a file name, say) become `?`, runs of
/// white space one space.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split([' ', '\t', '\n', '\r'])
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().map(|c| if c.is_control() { '?' } else { c }));
    }
    out
}

/// Turns clap's message into the one-line form: the lines before the usage block, without
/// the `error:` prefix, joined.
fn clap_message(rendered: &str) -> String {
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .collect();
    let joined = one_line(&message.join(" "));
    let joined = joined.strip_prefix("error: ").unwrap_or(&joined);
    format!("{joined} (see --help)")
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion => {
                    // Help and version go to standard output with status 0.
                    let _ = e.print();
                    ExitCode::from(EXIT_VALID)
                }
                ClapErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => report(&Fatal::usage(
                    "a command is required: verify, token-request, sign, inspect or keys (see --help)",
                )),
                _ => report(&Fatal::usage(clap_message(&e.render().to_string()))),
            };
        }
    };
    let result = match &cli.command {
        Command::Verify(args) => verify::run(args),
        Command::TokenRequest(args) => token_request::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Keys(args) => keys_command::run(args),
    };
    match result {
        Ok(code) => code,
        Err(fatal) => report(&fatal),
    }
}

/// The command line, with the single-party flags given noted beside `--registry`'s commands.
fn parse() -> Result<Cli, clap::Error> {
    let matches = Cli::command().try_get_matches()?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let Some((_, sub)) = matches.subcommand() {
        match &mut cli.command {
            Command::Verify(args) => args.policy.note_party_flags(sub),
            Command::TokenRequest(args) => args.policy.note_party_flags(sub),
            Command::Sign(_) | Command::Inspect(_) | Command::Keys(_) => {}
        }
    }
    Ok(cli)
}

/// Prints the error line and gives exit status 2.
fn report(fatal: &Fatal) -> ExitCode {
    if let Fatal::Message(message) = fatal {
        // Nothing better to do when standard error itself fails.
        let _ = writeln!(io::stderr(), "rfc7523: {message}");
    }
    ExitCode::from(EXIT_USAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every single-party flag is refused beside `--registry`: the list comes from
    /// [`PartyArgs`] itself, so a flag added there is covered.
    #[test]
    fn party_flags_are_found_from_the_command_line_only() {
        let matches = Cli::command()
            .try_get_matches_from([
                "rfc7523",
                "verify",
                "--registry",
                "r.json",
                "--leeway",
                "30",
                "--require-jti",
                "--now",
                "1",
            ])
            .unwrap();
        let (_, sub) = matches.subcommand().unwrap();
        assert_eq!(party_flags_given(sub), ["--leeway", "--require-jti"]);
        let all: Vec<String> = PartyArgs::augment_args(clap::Command::new("party"))
            .get_arguments()
            .map(|arg| format!("--{}", arg.get_long().unwrap()))
            .collect();
        assert_eq!(
            all,
            [
                "--keys",
                "--alg",
                "--audience",
                "--issuer",
                "--subject",
                "--client-id",
                "--require-typ",
                "--leeway",
                "--max-lifetime",
                "--max-age",
                "--require-jti",
                "--jti-optional",
                "--require-iat"
            ]
        );
    }

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\n  b\tc\u{7}d"), "a b c?d");
        assert_eq!(
            clap_message(
                "error: the following required arguments were not provided:\n  --audience \
                 <AUD>\n\nUsage: rfc7523 verify --audience <AUD>\n\nFor more information, try \
                 '--help'.\n"
            ),
            "the following required arguments were not provided: --audience <AUD> (see --help)"
        );
    }
}
