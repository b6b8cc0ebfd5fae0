//! `rfc7523 sign`: build and sign an RS256 assertion (client side) with the core's
//! [`AssertionSigner`](rfc7523::sign::AssertionSigner).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use rfc7523::sign::{AssertionRequest, DEFAULT_LIFETIME};

use crate::{keys, now, Fatal, EXIT_VALID};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # A client assertion (private_key_jwt): typ client-authentication+jwt, sub = iss:
  rfc7523 sign --key client-private.pem --issuer s6BhdRkqt3 \\
      --audience https://as.example --client-auth

  # An authorization grant for alice, valid 2 minutes, with a kid:
  rfc7523 sign --key issuer-private.pem --issuer https://issuer.example --subject alice \\
      --audience https://as.example/token --lifetime 120 --kid 2024-05

Prints the compact JWT and a newline. Claims: iss, sub, aud, exp (now + lifetime), iat
(now), jti. Exit status: 0 signed, 2 usage error or unusable key.

Security: the rsa crate's private-key operation is not constant-time (RUSTSEC-2023-0071);
sign where an attacker cannot time many signatures.")]
pub struct SignArgs {
    /// The private key: a PKCS#8 (PRIVATE KEY) or PKCS#1 (RSA PRIVATE KEY) PEM, 2048 to 8192
    /// bits.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// iss: the issuer, or the client id for client authentication.
    #[arg(long, value_name = "ISS")]
    issuer: String,
    /// sub: the subject [default with --client-auth: the issuer].
    #[arg(long, value_name = "SUB")]
    subject: Option<String>,
    /// aud: the authorization server's issuer identifier (or, for grants, its token endpoint).
    #[arg(long, value_name = "AUD")]
    audience: String,
    /// Seconds from iat to exp.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_LIFETIME)]
    lifetime: u64,
    /// The kid header parameter.
    #[arg(long, value_name = "KID")]
    kid: Option<String>,
    /// Client authentication: sets typ client-authentication+jwt and requires iss == sub.
    #[arg(long = "client-auth")]
    client_auth: bool,
    /// jti [default: 128 random bits, base64url].
    #[arg(long, value_name = "JTI")]
    jti: Option<String>,
    /// iat, in Unix seconds [default: the system clock].
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<u64>,
}

pub fn run(args: &SignArgs) -> Result<ExitCode, Fatal> {
    let subject = match (&args.subject, args.client_auth) {
        (Some(subject), _) => subject.as_str(),
        (None, true) => args.issuer.as_str(),
        (None, false) => {
            return Err(Fatal::usage(
                "--subject is required (it defaults to --issuer only with --client-auth)",
            ))
        }
    };
    let signer = keys::load_private(&args.key)?;
    let request = AssertionRequest {
        issuer: &args.issuer,
        subject,
        audience: &args.audience,
        lifetime: Some(args.lifetime),
        jti: args.jti.as_deref(),
        kid: args.kid.as_deref(),
        client_authentication: args.client_auth,
    };
    let token = signer.sign(&request, now(args.now)).map_err(Fatal::usage)?;
    let mut out = io::stdout().lock();
    writeln!(out, "{token}")
        .and_then(|()| out.flush())
        .map_err(|e| Fatal::output(&e))?;
    Ok(ExitCode::from(EXIT_VALID))
}
