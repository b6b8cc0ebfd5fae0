//! `rfc7523 sign`: build and sign an RFC 7523 assertion, or a plain JWT (`--jwt`, `--apple`),
//! client side, with the core's [`AssertionSigner`](rfc7523::sign::AssertionSigner). The
//! algorithm comes from the key (RS256, ES256, EdDSA) or `--alg` (PS256, Ed25519). With
//! `--service-account`, the grant Google's client libraries sign with a service account's key
//! file ([`ServiceAccount`](rfc7523::sign::ServiceAccount)), or its token request (`--form`).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use rfc7523::sign::{
    grant_request_body, split_scopes, Algorithm, AssertionRequest, ExtraClaimProblem, JwtRequest,
    KeyType, ServiceAccount, ServiceAccountRequest, SignError, APPLE_AUDIENCE, DEFAULT_LIFETIME,
    MAX_EXTRA_CLAIMS, MAX_JWT_LIFETIME, MAX_SERVICE_ACCOUNT_LEN,
};

use crate::{keys, now, Fatal, EXIT_VALID};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # A client assertion (private_key_jwt): typ client-authentication+jwt, sub = iss:
  rfc7523 sign --key client-private.pem --issuer s6BhdRkqt3 \\
      --audience https://as.example --client-auth

  # An authorization grant for alice, valid 2 minutes, with a kid, RSASSA-PSS:
  rfc7523 sign --key issuer-private.pem --issuer https://issuer.example --subject alice \\
      --audience https://as.example/token --lifetime 120 --kid 2024-05 --alg PS256

  # ES256 or EdDSA: a P-256 or Ed25519 key (PKCS#8 PRIVATE KEY) signs with it:
  rfc7523 sign --key client-p256.pem --issuer s6BhdRkqt3 --audience https://as.example \\
      --client-auth

  # A local rehearsal of a GitHub Actions OIDC token (typ JWT, a random jti, 5 minutes):
  rfc7523 sign --key ci-issuer.pem --kid ci-1 --issuer http://127.0.0.1:8000 \\
      --subject repo:octo-org/octo-repo:ref:refs/heads/main --audience https://as.example \\
      --claim repository=octo-org/octo-repo --claim ref=refs/heads/main

  # Sign in with Apple's client secret (iss the team id, sub the Services ID, kid the key
  # id, aud https://appleid.apple.com, ES256), valid 180 days:
  rfc7523 sign --apple --key AuthKey_ABC123DEFG.p8 --kid ABC123DEFG \\
      --issuer DEF123GHIJ --subject com.example.web --lifetime 15552000

  # A Google service account's grant, as google-auth signs it (kid private_key_id, iss
  # client_email, aud token_uri, scope, one hour, no jti), as a token request body:
  rfc7523 sign --service-account key.json \\
      --scope https://www.googleapis.com/auth/cloud-platform --form \\
    | curl --data @- https://oauth2.googleapis.com/token

Prints the compact JWT and a newline. Claims: iss, sub, aud, exp (now + lifetime), iat
(now), jti (always in an assertion; with --jwt or --apple only when --jti is given).
--claim NAME=VALUE adds a top-level string claim after those (repeatable, in order; the value
is everything after the first =, may be empty and is JSON-escaped; not the claims above nor nbf,
not twice; at most 32, names of 1 to 64 bytes, values of at most 256 bytes), with assertions
and --jwt alike; not with --apple or --service-account, whose claims are the ones Apple and
Google define. Lifetimes: any for an assertion; 1 to 15777000 s (six months, Apple's limit) with --jwt or
--apple. With --service-account: the header and claims google-auth signs, in its JSON form
(no jti, exp = iat + 3600), or with --form the token request body. Exit status: 0 signed, 2
usage error or unusable key (or key file).

Security: the rsa crate's private-key operation is not constant-time (RUSTSEC-2023-0071);
sign with RSA keys where an attacker cannot time many signatures.")]
pub struct SignArgs {
    /// The private key: a PKCS#8 PEM (PRIVATE KEY: RSA 2048 to 8192 bits, P-256, such as
    /// Apple's .p8 files, or Ed25519) or a PKCS#1 PEM (RSA PRIVATE KEY); not encrypted.
    #[arg(long, value_name = "FILE", required_unless_present = "service_account")]
    key: Option<PathBuf>,
    /// The algorithm [default: the key's: RS256 for RSA, ES256 for P-256, EdDSA for Ed25519].
    /// PS256 with an RSA key; Ed25519 (RFC 9864) with an Ed25519 key.
    #[arg(long, value_name = "ALG", value_parser = crate::parse_algorithm)]
    alg: Option<Algorithm>,
    /// iss: the issuer, the client id for client authentication, or Apple's team id.
    #[arg(long, value_name = "ISS", required_unless_present = "service_account")]
    issuer: Option<String>,
    /// sub: the subject [default with --client-auth: the issuer]; Apple's Services ID; with
    /// --service-account, the user a domain-wide delegation acts for (no sub without it).
    #[arg(long, value_name = "SUB")]
    subject: Option<String>,
    /// aud: the authorization server's issuer identifier (or, for grants, its token endpoint).
    #[arg(
        long,
        value_name = "AUD",
        required_unless_present_any = ["apple", "service_account"],
        conflicts_with = "apple"
    )]
    audience: Option<String>,
    /// Seconds from iat to exp; with --jwt or --apple at most 15777000 (six months).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_LIFETIME)]
    lifetime: u64,
    /// The kid header parameter (required with --apple: the key id).
    #[arg(long, value_name = "KID")]
    kid: Option<String>,
    /// Client authentication: sets typ client-authentication+jwt and requires iss == sub.
    #[arg(long = "client-auth", conflicts_with_all = ["jwt", "apple"])]
    client_auth: bool,
    /// A plain JWT (RFC 7519), not an RFC 7523 assertion: iss and sub independent, no typ,
    /// no jti unless --jti, a lifetime of 1 to 15777000 s.
    #[arg(long, conflicts_with = "apple")]
    jwt: bool,
    /// Sign in with Apple's client secret: --jwt with aud `https://appleid.apple.com`, an
    /// ES256 key (Apple's .p8), --kid its key id, --issuer the team id, --subject the client
    /// id (Services ID).
    #[arg(long, requires = "kid")]
    apple: bool,
    /// jti [default: 128 random bits, base64url; none with --jwt or --apple].
    #[arg(long, value_name = "JTI")]
    jti: Option<String>,
    /// An extra top-level claim with a string value (repeatable; written in order after the
    /// standard claims): NAME is not iss, sub, aud, exp, nbf, iat or jti and not given twice;
    /// VALUE is everything after the first `=`, possibly empty.
    #[arg(
        long = "claim",
        value_name = "NAME=VALUE",
        value_parser = parse_claim,
        conflicts_with = "apple"
    )]
    claims: Vec<(String, String)>,
    /// iat, in Unix seconds [default: the system clock].
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<u64>,
    /// A Google service account's JSON key file: sign the grant google-auth signs with it
    /// (RS256; header kid = private_key_id; iss = client_email, aud = token_uri, scope, exp =
    /// iat + 3600, sub only with --subject, no jti). Needs --scope.
    #[arg(
        long = "service-account",
        value_name = "KEY.json",
        requires = "scopes",
        conflicts_with_all = [
            "key", "issuer", "audience", "client_auth", "apple", "jwt", "alg", "kid", "jti",
            "lifetime", "claims",
        ],
    )]
    service_account: Option<PathBuf>,
    /// With --service-account: a scope to ask for (repeatable; a value with spaces is several
    /// scopes); scope is them all, joined by spaces.
    #[arg(long = "scope", value_name = "SCOPE", requires = "service_account")]
    scopes: Vec<String>,
    /// With --service-account: print the token request body instead of the assertion
    /// (assertion=…&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer, as
    /// google-auth posts it to token_uri).
    #[arg(long, requires = "service_account")]
    form: bool,
}

pub fn run(args: &SignArgs) -> Result<ExitCode, Fatal> {
    if let Some(path) = &args.service_account {
        return service_account(args, path);
    }
    // clap's `requires` lets --scope through when a flag that conflicts with
    // --service-account is given too.
    if !args.scopes.is_empty() || args.form {
        return Err(Fatal::usage(format!(
            "--{} applies to --service-account only",
            if args.form { "form" } else { "scope" }
        )));
    }
    // clap requires both without --service-account.
    let (Some(key), Some(issuer)) = (&args.key, &args.issuer) else {
        return Err(Fatal::usage("--key and --issuer are required"));
    };
    let subject = match (&args.subject, args.client_auth) {
        (Some(subject), _) => subject.as_str(),
        (None, true) => issuer.as_str(),
        (None, false) => {
            return Err(Fatal::usage(
                "--subject is required (it defaults to --issuer only with --client-auth)",
            ))
        }
    };
    let mut signer = keys::load_private(key)?;
    if let Some(alg) = args.alg {
        signer = signer
            .with_algorithm(alg)
            .map_err(|e| Fatal::usage(format_args!("--alg {alg}: {e} ({})", key.display())))?;
    }
    if args.apple && signer.algorithm() != Algorithm::Es256 {
        return Err(Fatal::usage(match args.alg {
            Some(alg) => format!("--alg {alg}: --apple signs ES256 only"),
            None => format!(
                "--key {}: --apple needs a P-256 key (ES256, Apple's .p8 file), not {} key",
                key.display(),
                match signer.key_type() {
                    KeyType::Rsa => "an RSA",
                    KeyType::P256 => "a P-256",
                    KeyType::Ed25519 => "an Ed25519",
                }
            ),
        }));
    }
    let audience = match (&args.audience, args.apple) {
        (_, true) => APPLE_AUDIENCE,
        (Some(audience), false) => audience.as_str(),
        // clap requires --audience without --apple.
        (None, false) => return Err(Fatal::usage("--audience is required")),
    };
    let now = now(args.now);
    let extra: Vec<(&str, &str)> = args
        .claims
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let token = if args.jwt || args.apple {
        let request = JwtRequest {
            issuer,
            subject,
            audience,
            lifetime: Some(args.lifetime),
            jti: args.jti.as_deref(),
            kid: args.kid.as_deref(),
        };
        signer.sign_jwt_with_claims(&request, &extra, now)
    } else {
        let request = AssertionRequest {
            issuer,
            subject,
            audience,
            lifetime: Some(args.lifetime),
            jti: args.jti.as_deref(),
            kid: args.kid.as_deref(),
            client_authentication: args.client_auth,
        };
        signer.sign_with_claims(&request, &extra, now)
    }
    .map_err(|e| sign_error(&e, args))?;
    let mut out = io::stdout().lock();
    writeln!(out, "{token}")
        .and_then(|()| out.flush())
        .map_err(|e| Fatal::output(&e))?;
    Ok(ExitCode::from(EXIT_VALID))
}

/// `--service-account`: the grant of the key file, or its token request body (`--form`).
fn service_account(args: &SignArgs, path: &std::path::Path) -> Result<ExitCode, Fatal> {
    let text = keys::read_text(path, MAX_SERVICE_ACCOUNT_LEN)?;
    let account = ServiceAccount::from_json(&text).map_err(|e| Fatal::file(path, e))?;
    let scopes: Vec<&str> = args.scopes.iter().flat_map(|s| split_scopes(s)).collect();
    let request = ServiceAccountRequest {
        scopes: &scopes,
        subject: args.subject.as_deref(),
    };
    let token = account.sign(&request, now(args.now)).map_err(|e| match e {
        SignError::NoScope | SignError::InvalidScope { .. } | SignError::ScopeTooLong { .. } => {
            Fatal::usage(format_args!("--scope: {e}"))
        }
        SignError::InvalidValue("subject") => Fatal::usage(format_args!("--subject: {e}")),
        e => Fatal::file(path, e),
    })?;
    let mut out = io::stdout().lock();
    let written = if args.form {
        writeln!(out, "{}", grant_request_body(&token))
    } else {
        writeln!(out, "{token}")
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Fatal::output(&e))?;
    Ok(ExitCode::from(EXIT_VALID))
}

/// `--claim NAME=VALUE`: split at the first `=` (the core judges the name and value).
fn parse_claim(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| "expected NAME=VALUE".to_owned())
}

/// The flag that sets a governed claim, for the message refusing it as a `--claim`.
fn governing_flag(name: &str) -> &'static str {
    match name {
        "iss" => " (use --issuer)",
        "sub" => " (use --subject)",
        "aud" => " (use --audience)",
        "exp" => " (use --lifetime)",
        "iat" => " (use --now)",
        "jti" => " (use --jti)",
        _ => "",
    }
}

/// The core's refusal, led by the flag at fault.
fn sign_error(error: &SignError, args: &SignArgs) -> Fatal {
    match *error {
        // The claim's name, never its value.
        SignError::ExtraClaim { index, problem } => {
            let name = args.claims.get(index).map_or("", |(name, _)| name.as_str());
            let hint = match problem {
                ExtraClaimProblem::Governed => governing_flag(name),
                _ => "",
            };
            let sep = if name.is_empty() { "" } else { " " };
            Fatal::usage(format_args!("--claim{sep}{name}: {problem}{hint}"))
        }
        SignError::TooManyClaims { count } => Fatal::usage(format_args!(
            "--claim: given {count} times, at most {MAX_EXTRA_CLAIMS}"
        )),
        SignError::TooLarge => Fatal::usage(format_args!("--claim: {error}")),
        SignError::InvalidValue(name @ ("issuer" | "subject" | "audience" | "jti" | "kid")) => {
            Fatal::usage(format_args!("--{name}: {error}"))
        }
        SignError::IssuerIsNotSubject => Fatal::usage(format_args!("--subject: {error}")),
        SignError::LifetimeOutOfRange { .. } => Fatal::usage(format_args!(
            "--lifetime: {error} (the limit of --{}: {MAX_JWT_LIFETIME} s, six months)",
            if args.apple { "apple" } else { "jwt" }
        )),
        _ => Fatal::usage(error),
    }
}
