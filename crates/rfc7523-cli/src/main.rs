//! `rfc7523`: the RFC 7523 validator for operators and gateways, with a stable JSON contract.
//!
//! - `verify`: judge assertions (an argument, or one per line on standard input), one JSON
//!   line per token.
//! - `token-request`: judge an `application/x-www-form-urlencoded` token request body.
//! - `sign`: sign an assertion (client side).
//! - `inspect`: decode a token without verifying it.
//!
//! Exit status: 0 when everything judged is valid, 1 when something is invalid, 2 for usage
//! or configuration errors (one line on standard error, `rfc7523: <message>`).

mod input;
mod inspect;
mod keys;
mod output;
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
use clap::{Args, Parser, Subcommand};
use rfc7523::profile::DEFAULT_LEEWAY;
use rfc7523::Checks;

use crate::replay::DEFAULT_REPLAY_CAPACITY;

/// Every token (or the request) was valid.
const EXIT_VALID: u8 = 0;
/// At least one token (or the request) was invalid.
const EXIT_INVALID: u8 = 1;
/// Usage or configuration error: bad flags, an unusable key file, no input.
const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "rfc7523",
    version,
    about = "Validate RFC 7523 JWT bearer assertions (RS256): authorization grants and \
             private_key_jwt client authentication",
    after_help = "\
Examples:
  rfc7523 verify --keys jwks.json --issuer https://issuer.example \\
      --audience https://as.example --require-jti \"$ASSERTION\"
  rfc7523 token-request --keys client.pem --client-id s6BhdRkqt3 \\
      --audience https://as.example < body.txt
  rfc7523 sign --key private.pem --issuer s6BhdRkqt3 --audience https://as.example --client-auth
  rfc7523 inspect \"$ASSERTION\"

Exit status: 0 valid, 1 invalid, 2 usage or configuration error (one line on standard error)."
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
    /// Sign an RS256 assertion (client side) and print the compact JWT.
    Sign(sign::SignArgs),
    /// Decode a token's header and claims WITHOUT verifying anything (debugging only).
    Inspect(inspect::InspectArgs),
}

/// The trusted keys and the policy, shared by `verify` and `token-request`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Trusted public keys: a JWK Set, a JWK, an SPKI PEM (PUBLIC KEY) or a PKCS#1 PEM (RSA
    /// PUBLIC KEY), detected from the content. Repeatable; all files form one set of at most
    /// 16 keys.
    #[arg(long = "keys", value_name = "FILE", required = true)]
    keys: Vec<PathBuf>,
    /// An accepted audience value (repeatable, at least one). Client authentication: exactly
    /// one, the server's issuer identifier, which must be the assertion's sole aud value.
    #[arg(long = "audience", value_name = "AUD", required = true)]
    audiences: Vec<String>,
    /// Authorization grants: a trusted issuer (repeatable); all trust the --keys.
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
    /// Allowed clock skew, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_LEEWAY)]
    leeway: u64,
    /// Longest accepted lifetime (exp - iat, or exp - now without iat), in seconds.
    #[arg(long = "max-lifetime", value_name = "SECONDS")]
    max_lifetime: Option<u64>,
    /// Oldest accepted iat, in seconds before now (makes iat required).
    #[arg(long = "max-age", value_name = "SECONDS")]
    max_age: Option<u64>,
    /// Refuse assertions without jti (without it there is no replay protection).
    #[arg(long = "require-jti")]
    require_jti: bool,
    /// Refuse assertions without iat.
    #[arg(long = "require-iat")]
    require_iat: bool,
    /// The time of the checks, in Unix seconds [default: the system clock, read per token].
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<u64>,
    /// Most (iss, jti) pairs remembered at once in this run; when that many are live, further
    /// assertions with a jti are refused (replay_store_full).
    #[arg(
        long = "replay-capacity",
        value_name = "N",
        default_value_t = DEFAULT_REPLAY_CAPACITY,
        value_parser = clap::value_parser!(u64).range(1..),
    )]
    replay_capacity: u64,
}

impl PolicyArgs {
    /// The rules both profiles share.
    fn checks(&self) -> Checks {
        Checks {
            leeway: self.leeway,
            max_lifetime: self.max_lifetime,
            max_age: self.max_age,
            require_jti: self.require_jti,
            require_iat: self.require_iat,
            ..Checks::default()
        }
    }

    /// The replay cache of one run.
    fn replay_cache(&self) -> replay::ReplayCache {
        replay::ReplayCache::new(usize::try_from(self.replay_capacity).unwrap_or(usize::MAX))
    }

    /// The client profile's issuer identifier: the single `--audience`.
    fn client_audience(&self) -> Result<&str, Fatal> {
        match self.audiences.as_slice() {
            [one] => Ok(one),
            _ => Err(Fatal::usage(
                "--client-id needs exactly one --audience: the authorization server's issuer \
                 identifier, the assertion's sole aud value",
            )),
        }
    }
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion => {
                    // Help and version go to standard output with status 0.
                    let _ = e.print();
                    ExitCode::from(EXIT_VALID)
                }
                ClapErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => report(&Fatal::usage(
                    "a command is required: verify, token-request, sign or inspect (see --help)",
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
    };
    match result {
        Ok(code) => code,
        Err(fatal) => report(&fatal),
    }
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
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
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
