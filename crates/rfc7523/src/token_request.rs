//! Token requests that carry JWT assertions (RFC 7521 §4.1–4.2, RFC 7523 §2.1–2.2), answered
//! with RFC 6749 §5.2 errors.
//!
//! [`TokenEndpoint::handle`] reads an `application/x-www-form-urlencoded` body
//! ([`form`](crate::form)), decides which use each assertion has, and validates it with the
//! matching profile:
//! - `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` with
//!   `client_assertion`: client authentication, beside any grant. Checked first (RFC 6749
//!   §3.2.1: the client is authenticated before its grant is looked at). Failures are
//!   `invalid_client` (401).
//! - `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with `assertion`: the grant.
//!   Failures are `invalid_grant` (400).
//!
//! Another grant type is returned to the caller when the client authenticated (the caller
//! handles that grant); without client authentication it is `unsupported_grant_type`.
//! Repeated parameters (except RFC 8707's `resource`), bad encodings, missing parameters and
//! two client authentication methods in one request are `invalid_request` (RFC 6749 §2.3).
//!
//! Other client authentication methods: a `client_secret` in the body, or an HTTP
//! `Authorization` header (which the caller reports through [`TokenEndpoint::handle_request`]),
//! are refused with `invalid_client` ([`TokenError::UnsupportedClientAuthentication`]), never
//! silently served as a public client, unless the endpoint says the caller verifies them
//! itself ([`OtherClientAuthentication::VerifiedByCaller`]): then the outcome says which method
//! the caller must verify ([`TokenOutcome::client_authentication`]).

use core::fmt;

use crate::error::{Error, ErrorResponse, OAuthError, Reason, Use};
use crate::form::{FormError, TokenParams};
use crate::jws::DecodeBuffer;
use crate::party::{KeyLookup, Party};
use crate::profile::{ClientAuthProfile, GrantProfile, ValidatedAssertion};
use crate::replay::ReplayStore;

/// `grant_type` of the JWT bearer authorization grant (RFC 7523 §2.1).
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// `client_assertion_type` of JWT client authentication (RFC 7523 §2.2).
pub const JWT_BEARER_CLIENT_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What is wrong with a request (`invalid_request`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestProblem {
    /// The body could not be read.
    Form(FormError),
    /// No `grant_type` (RFC 6749 §4.1.3, §4.4.2).
    MissingGrantType,
    /// The jwt-bearer grant without `assertion` (RFC 7521 §4.1).
    MissingAssertion,
    /// `client_assertion_type` without `client_assertion`, or the reverse (RFC 7521 §4.2).
    IncompleteClientAssertion,
    /// Two client authentication methods in one request: a `client_assertion`, a
    /// `client_secret`, an HTTP `Authorization` header (RFC 6749 §2.3).
    MultipleClientCredentials,
}

impl fmt::Display for RequestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestProblem::Form(e) => f.write_str(match e {
                FormError::BodyTooLong => "the request body is too long",
                FormError::TooManyParameters => "the request has too many parameters",
                FormError::ValueTooLong => "a request parameter is too long",
                FormError::BadEncoding => "the request body is not valid form encoding",
                FormError::RepeatedParameter => "a request parameter is repeated",
                FormError::EmptyName => "the request has a parameter without a name",
            }),
            RequestProblem::MissingGrantType => f.write_str("the grant_type parameter is missing"),
            RequestProblem::MissingAssertion => f.write_str("the assertion parameter is missing"),
            RequestProblem::IncompleteClientAssertion => {
                f.write_str("client_assertion and client_assertion_type must be sent together")
            }
            RequestProblem::MultipleClientCredentials => {
                f.write_str("more than one client authentication method was used")
            }
        }
    }
}

/// Why a token request was refused. [`TokenError::oauth_error`] gives the RFC 6749 §5.2 code.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenError {
    /// `invalid_request` (400).
    InvalidRequest(RequestProblem),
    /// `unsupported_grant_type` (400).
    UnsupportedGrantType,
    /// A client assertion of another type, or one this endpoint does not accept:
    /// `invalid_client` (401, RFC 6749 §5.2: "unsupported authentication method").
    UnsupportedAssertionType,
    /// A `client_secret` or an HTTP `Authorization` header, which this endpoint does not
    /// verify ([`OtherClientAuthentication::Refuse`]): `invalid_client` (401).
    UnsupportedClientAuthentication,
    /// The client assertion was refused: `invalid_client` (401), or `temporarily_unavailable`
    /// (503) when the client's keys cannot be had (`keys_unavailable`).
    Client(Error),
    /// The grant assertion was refused: `invalid_grant` (400), or `temporarily_unavailable`
    /// (503) when the issuer's keys cannot be had (`keys_unavailable`).
    Grant(Error),
}

impl TokenError {
    /// The OAuth error.
    pub const fn oauth_error(&self) -> OAuthError {
        match self {
            TokenError::InvalidRequest(_) => OAuthError::InvalidRequest,
            TokenError::UnsupportedGrantType => OAuthError::UnsupportedGrantType,
            TokenError::UnsupportedAssertionType | TokenError::UnsupportedClientAuthentication => {
                OAuthError::InvalidClient
            }
            TokenError::Client(e) => e.oauth_error(Use::ClientAuthentication),
            TokenError::Grant(e) => e.oauth_error(Use::AuthorizationGrant),
        }
    }

    /// The HTTP status.
    pub const fn status(&self) -> u16 {
        self.oauth_error().status()
    }

    /// The stable reason code.
    pub const fn reason(&self) -> Reason {
        match self {
            TokenError::InvalidRequest(_) => Reason::InvalidRequest,
            TokenError::UnsupportedGrantType => Reason::UnsupportedGrantType,
            TokenError::UnsupportedAssertionType => Reason::UnsupportedAssertionType,
            TokenError::UnsupportedClientAuthentication => Reason::UnsupportedClientAuthentication,
            TokenError::Client(e) | TokenError::Grant(e) => e.reason(),
        }
    }

    /// The assertion error, when an assertion was judged.
    pub const fn assertion_error(&self) -> Option<&Error> {
        match self {
            TokenError::Client(e) | TokenError::Grant(e) => Some(e),
            _ => None,
        }
    }

    /// Seconds until the keys of the assertion's party are fetched again, for
    /// `keys_unavailable` when the layer said ([`Error::with_retry_after`]): the HTTP
    /// `Retry-After`.
    pub const fn retry_after(&self) -> Option<u64> {
        match self {
            TokenError::Client(e) | TokenError::Grant(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The RFC 6749 §5.2 response (with its `Retry-After`, if any).
    pub fn response(&self) -> ErrorResponse {
        ErrorResponse::new(self.oauth_error(), self).with_retry_after(self.retry_after())
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::InvalidRequest(p) => p.fmt(f),
            TokenError::UnsupportedGrantType => f.write_str("the grant type is not supported"),
            TokenError::UnsupportedAssertionType => {
                f.write_str("the client assertion type is not supported")
            }
            TokenError::UnsupportedClientAuthentication => f.write_str(
                "the client authentication method is not supported; authenticate with a client \
                 assertion",
            ),
            TokenError::Client(e) => write!(f, "client assertion: {e}"),
            TokenError::Grant(e) => write!(f, "grant assertion: {e}"),
        }
    }
}

impl core::error::Error for TokenError {}

/// How the client authenticated in a request that passed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientAuthentication {
    /// It did not: a jwt-bearer grant from a public client (RFC 7523 §3.1 makes client
    /// authentication optional for the grant).
    None,
    /// With a client assertion, validated ([`TokenOutcome::client`]).
    Assertion,
    /// With a `client_secret` in the body: **the caller must verify it**
    /// ([`OtherClientAuthentication::VerifiedByCaller`]).
    ClientSecretByCaller,
    /// With an HTTP `Authorization` header: **the caller must verify it**
    /// ([`OtherClientAuthentication::VerifiedByCaller`]).
    AuthorizationHeaderByCaller,
}

impl ClientAuthentication {
    /// `none`, `client_assertion`, `client_secret` or `authorization_header`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientAuthentication::None => "none",
            ClientAuthentication::Assertion => "client_assertion",
            ClientAuthentication::ClientSecretByCaller => "client_secret",
            ClientAuthentication::AuthorizationHeaderByCaller => "authorization_header",
        }
    }
}

/// What an endpoint does with client authentication methods other than a client assertion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OtherClientAuthentication {
    /// Refuse them: [`TokenError::UnsupportedClientAuthentication`] (`invalid_client`). The
    /// default: a secret this endpoint does not check must not pass for no authentication.
    #[default]
    Refuse,
    /// The caller verifies them itself: the request goes on, and
    /// [`TokenOutcome::client_authentication`] says which one to verify.
    VerifiedByCaller,
}

/// Where a token request's two assertions are decoded ([`DecodeBuffer`], RFC 7521 §4.1 and
/// §4.2): the client assertion's and the grant's. A [`TokenOutcome`] borrows it.
///
/// 2 × [`DECODE_BUFFER_LEN`](crate::jws::DECODE_BUFFER_LEN) bytes (12 KiB): the caller
/// chooses where it lives (a local, a `static` of a firmware, a `Box`), and can reuse it for
/// the next request once the outcome is dropped.
#[derive(Clone, Debug, Default)]
pub struct TokenBuffers {
    client: DecodeBuffer,
    grant: DecodeBuffer,
}

impl TokenBuffers {
    /// Buffers for one request.
    pub const fn new() -> Self {
        Self {
            client: DecodeBuffer::new(),
            grant: DecodeBuffer::new(),
        }
    }
}

/// A token request whose assertions passed. It borrows the request body (`grant_type`,
/// `client_id`) and the [`TokenBuffers`] the assertions were decoded into (`'r`).
#[derive(Clone, Debug)]
pub struct TokenOutcome<'r> {
    grant_type: &'r str,
    grant: Option<ValidatedAssertion<'r>>,
    client: Option<ValidatedAssertion<'r>>,
    client_authentication: ClientAuthentication,
    client_id: Option<&'r str>,
    resources: usize,
}

impl<'r> TokenOutcome<'r> {
    /// How the client authenticated; for the two `…ByCaller` methods the caller must verify
    /// the credential before it answers.
    pub fn client_authentication(&self) -> ClientAuthentication {
        self.client_authentication
    }

    /// The request's `client_id` parameter, when it had one.
    pub fn client_id(&self) -> Option<&'r str> {
        self.client_id
    }

    /// How many RFC 8707 `resource` parameters the request had.
    pub fn resources(&self) -> usize {
        self.resources
    }

    /// The `grant_type` parameter.
    pub fn grant_type(&self) -> &'r str {
        self.grant_type
    }

    /// The validated jwt-bearer grant, when the request was one.
    pub fn grant(&self) -> Option<&ValidatedAssertion<'r>> {
        self.grant.as_ref()
    }

    /// The validated client assertion, when the client authenticated with one.
    pub fn client(&self) -> Option<&ValidatedAssertion<'r>> {
        self.client.as_ref()
    }

    /// [`Use::AuthorizationGrant`] when the request was a jwt-bearer grant (with or without
    /// client authentication), else [`Use::ClientAuthentication`] (another grant type, the
    /// client authenticated).
    pub fn use_(&self) -> Use {
        if self.grant.is_some() {
            Use::AuthorizationGrant
        } else {
            Use::ClientAuthentication
        }
    }

    /// The assertion of [`use_`](Self::use_): `None` only for another grant type whose client
    /// authenticated by a method the caller verifies.
    pub fn primary(&self) -> Option<&ValidatedAssertion<'r>> {
        self.grant.as_ref().or(self.client.as_ref())
    }
}

/// A token endpoint's assertion handling: either profile may be absent.
#[derive(Debug)]
pub struct TokenEndpoint<
    'a,
    G: KeyLookup + ?Sized = [Party<'a>],
    C: KeyLookup + ?Sized = [Party<'a>],
> {
    /// The jwt-bearer grant, when this endpoint accepts it.
    pub grant: Option<GrantProfile<'a, G>>,
    /// Client authentication by assertion, when this endpoint accepts it.
    pub client_auth: Option<ClientAuthProfile<'a, C>>,
    /// What to do with a `client_secret` or an `Authorization` header.
    pub other_client_auth: OtherClientAuthentication,
}

impl<G: KeyLookup + ?Sized, C: KeyLookup + ?Sized> Clone for TokenEndpoint<'_, G, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<G: KeyLookup + ?Sized, C: KeyLookup + ?Sized> Copy for TokenEndpoint<'_, G, C> {}

impl<G: KeyLookup + ?Sized, C: KeyLookup + ?Sized> TokenEndpoint<'_, G, C> {
    /// Handles a token request body at time `now` (Unix seconds), sent without an HTTP
    /// `Authorization` header. Both assertions, when present, share `replay`.
    ///
    /// The body is percent-decoded in place ([`TokenParams::parse`]) and the assertions are
    /// decoded into `buffers`: the outcome borrows both, and nothing is copied.
    pub fn handle<'r, R: ReplayStore + ?Sized>(
        &self,
        body: &'r mut [u8],
        now: u64,
        replay: &mut R,
        buffers: &'r mut TokenBuffers,
    ) -> Result<TokenOutcome<'r>, TokenError> {
        self.handle_request(body, false, now, replay, buffers)
    }

    /// Handles a token request: its body, and whether it carried an HTTP `Authorization`
    /// header (whose value this crate never needs: it is one more client authentication
    /// method, RFC 6749 §2.3.1). As [`handle`](Self::handle) otherwise.
    pub fn handle_request<'r, R: ReplayStore + ?Sized>(
        &self,
        body: &'r mut [u8],
        authorization_header: bool,
        now: u64,
        replay: &mut R,
        buffers: &'r mut TokenBuffers,
    ) -> Result<TokenOutcome<'r>, TokenError> {
        let params = TokenParams::parse(body)
            .map_err(|e| TokenError::InvalidRequest(RequestProblem::Form(e)))?;
        // Everything that can be judged without an assertion is judged first, so that a
        // malformed request never uses up a client assertion's `jti`.
        let client_assertion = match (params.client_assertion_type, params.client_assertion) {
            (None, None) => None,
            (Some(kind), Some(assertion)) => Some((kind, assertion)),
            _ => {
                return Err(TokenError::InvalidRequest(
                    RequestProblem::IncompleteClientAssertion,
                ))
            }
        };
        let methods = usize::from(client_assertion.is_some())
            + usize::from(params.client_secret_present)
            + usize::from(authorization_header);
        if methods > 1 {
            return Err(TokenError::InvalidRequest(
                RequestProblem::MultipleClientCredentials,
            ));
        }
        let client_authentication = if client_assertion.is_some() {
            ClientAuthentication::Assertion
        } else if params.client_secret_present {
            ClientAuthentication::ClientSecretByCaller
        } else if authorization_header {
            ClientAuthentication::AuthorizationHeaderByCaller
        } else {
            ClientAuthentication::None
        };
        let by_caller = matches!(
            client_authentication,
            ClientAuthentication::ClientSecretByCaller
                | ClientAuthentication::AuthorizationHeaderByCaller
        );
        if by_caller && self.other_client_auth == OtherClientAuthentication::Refuse {
            return Err(TokenError::UnsupportedClientAuthentication);
        }
        let grant_type = params
            .grant_type
            .ok_or(TokenError::InvalidRequest(RequestProblem::MissingGrantType))?;
        let grant = if grant_type == JWT_BEARER_GRANT_TYPE {
            let profile = self
                .grant
                .as_ref()
                .ok_or(TokenError::UnsupportedGrantType)?;
            let assertion = params
                .assertion
                .ok_or(TokenError::InvalidRequest(RequestProblem::MissingAssertion))?;
            Some((profile, assertion))
        } else if client_authentication == ClientAuthentication::None {
            return Err(TokenError::UnsupportedGrantType);
        } else {
            None
        };
        let client = match client_assertion {
            None => None,
            Some((kind, assertion)) => {
                let profile = match &self.client_auth {
                    Some(profile) if kind == JWT_BEARER_CLIENT_ASSERTION_TYPE => profile,
                    _ => return Err(TokenError::UnsupportedAssertionType),
                };
                Some(
                    profile
                        .validate(
                            assertion,
                            params.client_id,
                            now,
                            replay,
                            &mut buffers.client,
                        )
                        .map_err(TokenError::Client)?,
                )
            }
        };
        let grant = match grant {
            None => None,
            Some((profile, assertion)) => Some(
                profile
                    .validate(assertion, now, replay, &mut buffers.grant)
                    .map_err(TokenError::Grant)?,
            ),
        };
        Ok(TokenOutcome {
            grant_type,
            grant,
            client,
            client_authentication,
            client_id: params.client_id,
            resources: params.resources,
        })
    }
}
