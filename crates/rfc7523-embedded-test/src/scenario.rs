//! The calls, their verdicts and their figures.
//!
//! Keys and the replay store are statics; the calls' own state is on the stack (that is what
//! is measured). Everything runs twice, each time with a fresh replay store, and both passes
//! print their verdicts: the **sample** pass (SysTick sampling the stack pointer, overflow
//! detection) and the **paint** pass (painted stack, instructions counted). The paint pass
//! then prints one `measure` line per call with all its figures.

use core::fmt;

use cortex_m_semihosting::hprintln;
use rfc7523::{
    ClientAuthProfile, DecodeBuffer, Error, GrantProfile, KeyStore, MaterialRef, MemoryReplayStore,
    OtherClientAuthentication, Party, Policy, Reason, TokenBuffers, TokenEndpoint, TokenError,
    TokenOutcome, ValidatedAssertion,
};

use crate::monitor::{self, Monitor, Painted, Sampled, Sizes, CALIBRATION_ITERATIONS};
use crate::statics::{Exclusive, Once};
use crate::text::Text;

/// The firmware's clock (Unix seconds): `data/` was signed around it.
const NOW: u64 = 1_800_000_000;
/// The authorization server's issuer identifier, and its token endpoint.
const AS_ISSUER: &str = "https://as.example";
const AUDIENCES: [&str; 2] = [AS_ISSUER, "https://as.example/token"];
/// The one client and the one trusted issuer of grants.
const CLIENT_ID: &str = "gateway-7";
const GRANT_ISSUER: &str = "https://idp.example";

// Test data, signed by `rfc7523 sign` (`cargo xtask embedded --generate`, see data/README.md).
const CLIENT_JWK: &str = include_str!("../data/client.jwk.json");
const CLIENT_JWKS: &str = include_str!("../data/client.jwks.json");
const ISSUER_PEM: &str = include_str!("../data/issuer.pem");
const VALID: &str = include_str!("../data/client-valid.jwt");
const TAMPERED: &str = include_str!("../data/client-tampered.jwt");
const EXPIRED: &str = include_str!("../data/client-expired.jwt");
const TOKEN_REQUEST: &str = include_str!("../data/token-request.form");
/// The token request body without its final newline: the firmware copies it into its receive
/// buffer ([`REQUEST`]), where `TokenEndpoint::handle` decodes it in place.
const TOKEN_REQUEST_LEN: usize = TOKEN_REQUEST.trim_ascii_end().len();

/// Stack budget of `ClientAuthProfile::validate` (issue 18), asserted: its `DecodeBuffer`
/// (6 KiB) in the call's own frame and RSAVP1 included. `cargo xtask embedded` asserts the
/// same figure.
const VALIDATE_STACK_BUDGET: u64 = 16 * 1024;
/// Stack budget of `TokenEndpoint::handle` (issue 18), asserted: its `TokenBuffers` (12 KiB)
/// in the call's own frame, the body in the receive buffer ([`REQUEST`], a static).
const TOKEN_REQUEST_STACK_BUDGET: u64 = 24 * 1024;

/// Stack budget of loading a key in place (issue 18), asserted: `KeyStore::load_text` of a JWK,
/// a PEM or a one-key JWK Set. `cargo xtask embedded` asserts the same figure.
const KEY_LOAD_STACK_BUDGET: u64 = 8 * 1024;

/// The budgeted calls: a peak above its budget fails the run.
const BUDGETS: [(&str, u64); 8] = [
    ("key_from_jwk", KEY_LOAD_STACK_BUDGET),
    ("key_from_pem", KEY_LOAD_STACK_BUDGET),
    ("keys_from_jwks", KEY_LOAD_STACK_BUDGET),
    ("client_assertion_valid", VALIDATE_STACK_BUDGET),
    ("client_assertion_tampered", VALIDATE_STACK_BUDGET),
    ("client_assertion_expired", VALIDATE_STACK_BUDGET),
    ("client_assertion_replayed", VALIDATE_STACK_BUDGET),
    ("token_request", TOKEN_REQUEST_STACK_BUDGET),
];
const TEST_DATA_LEN: usize = CLIENT_JWK.len()
    + CLIENT_JWKS.len()
    + ISSUER_PEM.len()
    + VALID.len()
    + TAMPERED.len()
    + EXPIRED.len()
    + TOKEN_REQUEST.len();

/// Bytes of a party's key storage: one 2048-bit RSA key (534 bytes) with a short `kid`.
const KEY_BYTES: usize = 576;
/// The keys of the two parties, loaded once at start, in place.
static CLIENT_KEYS: Once<KeyStore<KEY_BYTES>> = Once::new(KeyStore::new());
static ISSUER_KEYS: Once<KeyStore<KEY_BYTES>> = Once::new(KeyStore::new());
/// Where the measured key loads put their keys, in place.
static LOADED_KEYS: Exclusive<KeyStore<KEY_BYTES>> = Exclusive::new(KeyStore::new());
/// The replay store: room for 16 live `jti`s (24 + 56 × 16 bytes, in `.bss`).
static REPLAY: Exclusive<MemoryReplayStore<16>> = Exclusive::new(MemoryReplayStore::new());
/// The receive buffer of the token request (a firmware's network buffer), in `.bss`.
static REQUEST: Exclusive<[u8; TOKEN_REQUEST_LEN]> = Exclusive::new([0; TOKEN_REQUEST_LEN]);

/// The measured calls, in order (the names of the output lines).
const CALLS: [&str; 9] = [
    "key_from_jwk",
    "key_from_pem",
    "rsavp1",
    "keys_from_jwks",
    "client_assertion_valid",
    "client_assertion_tampered",
    "client_assertion_expired",
    "client_assertion_replayed",
    "token_request",
];

/// The two passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// SysTick samples the stack pointer (and stops the firmware on an overflow).
    Sample,
    /// The stack is painted around each call, whose instructions are counted.
    Paint,
}

impl Pass {
    fn as_str(self) -> &'static str {
        match self {
            Pass::Sample => "sample",
            Pass::Paint => "paint",
        }
    }
}

/// What a call returned, small enough to live outside the measured frame (strings copied).
#[derive(Debug)]
enum Verdict {
    Key { bits: usize, kid: Option<Text<32>> },
    KeySet { keys: usize },
    Rsavp1 { pkcs1_sha256: bool },
    Assertion(Result<[Text<48>; 3], Reason>),
    Token(Result<([Text<48>; 3], &'static str), Reason>),
    KeyError(rfc7523::KeyError),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Key { bits, kid: None } => write!(f, "ok bits={bits}"),
            Verdict::Key {
                bits,
                kid: Some(kid),
            } => write!(f, "ok bits={bits} kid={kid}"),
            Verdict::KeySet { keys } => write!(f, "ok keys={keys}"),
            Verdict::Rsavp1 { pkcs1_sha256: true } => f.write_str("ok em=emsa-pkcs1-v1_5-sha256"),
            Verdict::Rsavp1 {
                pkcs1_sha256: false,
            } => f.write_str("err em=not-emsa-pkcs1-v1_5-sha256"),
            Verdict::Assertion(Ok([iss, sub, jti])) => {
                write!(f, "ok iss={iss} sub={sub} jti={jti}")
            }
            Verdict::Token(Ok(([grant_iss, grant_sub, client], auth))) => write!(
                f,
                "ok grant_iss={grant_iss} grant_sub={grant_sub} client={client} auth={auth}"
            ),
            Verdict::Assertion(Err(reason)) | Verdict::Token(Err(reason)) => {
                write!(f, "err {}", reason.as_str())
            }
            Verdict::KeyError(err) => write!(f, "err key {err:?}"),
        }
    }
}

/// Loads `text` in place into the measured store (emptied first) and reports its first key.
fn load_verdict(text: &str) -> Verdict {
    LOADED_KEYS.with(|store| {
        store.clear();
        match store.load_text(text) {
            Ok(()) => match store.iter().next() {
                Some(key) => Verdict::Key {
                    bits: match key.material() {
                        MaterialRef::Rsa(rsa) => rsa.bits(),
                        _ => 0,
                    },
                    kid: key.kid().map(Text::new),
                },
                None => Verdict::KeySet { keys: 0 },
            },
            Err(err) => Verdict::KeyError(err),
        }
    })
}

fn assertion_verdict(result: Result<ValidatedAssertion, Error>) -> Verdict {
    Verdict::Assertion(
        result
            .map(|a| {
                [
                    Text::display(a.issuer()),
                    Text::display(a.subject()),
                    a.claims().jti().map_or(Text::new("-"), Text::display),
                ]
            })
            .map_err(|e| e.reason()),
    )
}

fn token_verdict(result: Result<TokenOutcome<'_>, TokenError>) -> Verdict {
    Verdict::Token(
        result
            .map(|outcome| {
                let grant = outcome.grant();
                let client = outcome.client();
                (
                    [
                        grant.map_or(Text::new("-"), |g| Text::display(g.issuer())),
                        grant.map_or(Text::new("-"), |g| Text::display(g.subject())),
                        client.map_or(Text::new("-"), |c| Text::display(c.issuer())),
                    ],
                    outcome.client_authentication().as_str(),
                )
            })
            .map_err(|e| e.reason()),
    )
}

/// The figures of one call, both passes.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    sampled: Sampled,
    painted: Painted,
}

/// The firmware: moves to the process stack, prints the image's sizes and the calibration,
/// runs both passes, prints the figures, and exits (QEMU's exit status: 0, or 1 after a panic,
/// a fault or an overflow).
pub fn run(machine: &'static &'static str) -> ! {
    monitor::on_process_stack(start, machine as *const &str as usize)
}

extern "C" fn start(machine: usize) -> ! {
    // SAFETY: `run` passes the address of a `&'static &'static str`.
    let machine: &str = unsafe { *(machine as *const &'static str) };
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        monitor::emergency(format_args!("fail peripherals taken twice"));
    };
    let mut monitor = Monitor::new(peripherals.SYST);
    let sizes = Sizes::read();
    hprintln!(
        "rfc7523-embedded machine={machine} stack_region={} now={NOW}",
        sizes.stack
    );
    hprintln!(
        "size flash={} vectors={} text={} rodata={} data={} bss={} uninit={} static_ram={} test_data={TEST_DATA_LEN}",
        sizes.flash(),
        sizes.vectors,
        sizes.text,
        sizes.rodata,
        sizes.data,
        sizes.bss,
        sizes.uninit,
        sizes.static_ram(),
    );
    let ticks = monitor.calibrate();
    hprintln!(
        "calibration loop_instructions={} ticks={ticks}",
        2 * CALIBRATION_ITERATIONS
    );

    // The parties' keys, once, where they live (not measured: the same loads are measured
    // below).
    let client_keys = match CLIENT_KEYS.init(|keys| keys.load_text(CLIENT_JWK)) {
        Ok(keys) => keys,
        Err(err) => monitor::emergency(format_args!("fail client key: {err:?}")),
    };
    let issuer_keys = match ISSUER_KEYS.init(|keys| keys.load_text(ISSUER_PEM)) {
        Ok(keys) => keys,
        Err(err) => monitor::emergency(format_args!("fail issuer key: {err:?}")),
    };
    let client_key = match client_keys.iter().next().map(|key| key.material()) {
        Some(MaterialRef::Rsa(key)) => key,
        _ => monitor::emergency(format_args!("fail client key: not RSA")),
    };
    // The valid assertion's signature, for RSAVP1 alone.
    let mut signature = [0u8; 256];
    let signature_len = VALID
        .rsplit('.')
        .next()
        .and_then(|s| base64url_decode(s.trim(), &mut signature))
        .unwrap_or(0);
    let signature = &signature[..signature_len];

    let clients = [Party::new(CLIENT_ID, client_keys).with_policy(Policy::default())];
    let issuers = [Party::new(GRANT_ISSUER, issuer_keys).with_policy(Policy::default())];
    let client_auth = ClientAuthProfile {
        clients: &clients[..],
        issuer: AS_ISSUER,
        token_endpoint: None,
    };
    let endpoint = TokenEndpoint {
        grant: Some(GrantProfile {
            issuers: &issuers[..],
            audiences: &AUDIENCES,
        }),
        client_auth: Some(client_auth),
        other_client_auth: OtherClientAuthentication::Refuse,
    };

    let mut figures = [Figures::default(); CALLS.len()];
    for pass in [Pass::Sample, Pass::Paint] {
        REPLAY.with(|replay| {
            *replay = MemoryReplayStore::new();
            let mut m = |index: usize, f: &mut dyn FnMut() -> Verdict| {
                measure(&mut monitor, pass, index, &mut figures[index], f);
            };
            m(0, &mut || load_verdict(CLIENT_JWK));
            m(1, &mut || load_verdict(ISSUER_PEM));
            m(2, &mut || {
                let mut em = [0u8; 256];
                let pkcs1_sha256 = client_key.rsavp1(signature, &mut em).is_some()
                    && is_emsa_pkcs1_v1_5_sha256(&em);
                Verdict::Rsavp1 { pkcs1_sha256 }
            });
            m(3, &mut || {
                LOADED_KEYS.with(|store| {
                    store.clear();
                    match store.load_text(CLIENT_JWKS) {
                        Ok(()) => Verdict::KeySet { keys: store.len() },
                        Err(err) => Verdict::KeyError(err),
                    }
                })
            });
            // The validations decode into a buffer in their own frame, so the figures include
            // it: what a firmware that keeps it on its stack needs.
            m(4, &mut || {
                let mut buffer = DecodeBuffer::new();
                assertion_verdict(client_auth.validate(
                    VALID.trim(),
                    None,
                    NOW,
                    replay,
                    &mut buffer,
                ))
            });
            m(5, &mut || {
                let mut buffer = DecodeBuffer::new();
                assertion_verdict(client_auth.validate(
                    TAMPERED.trim(),
                    None,
                    NOW,
                    replay,
                    &mut buffer,
                ))
            });
            m(6, &mut || {
                let mut buffer = DecodeBuffer::new();
                assertion_verdict(client_auth.validate(
                    EXPIRED.trim(),
                    None,
                    NOW,
                    replay,
                    &mut buffer,
                ))
            });
            m(7, &mut || {
                let mut buffer = DecodeBuffer::new();
                assertion_verdict(client_auth.validate(
                    VALID.trim(),
                    None,
                    NOW,
                    replay,
                    &mut buffer,
                ))
            });
            // The request as received (decoded in place by `handle`); both assertions' buffers
            // in the call's frame.
            REQUEST.with(|body| body.copy_from_slice(TOKEN_REQUEST.trim_ascii_end().as_bytes()));
            m(8, &mut || {
                REQUEST.with(|body| {
                    let mut buffers = TokenBuffers::new();
                    token_verdict(endpoint.handle(body, NOW, replay, &mut buffers))
                })
            });
        });
    }
    for (name, f) in CALLS.iter().zip(&figures) {
        let instructions = f.painted.ticks * u64::from(2 * CALIBRATION_ITERATIONS) / ticks.max(1);
        hprintln!(
            "measure call={name} painted={} sampled={} peak={} samples={} window_full={} instructions={instructions} ticks={}",
            f.painted.depth,
            f.sampled.depth,
            f.painted.depth.max(f.sampled.depth),
            f.sampled.samples,
            u8::from(f.painted.window_full),
            f.painted.ticks,
        );
    }
    // The budgets: every budgeted call's peak (the larger of painted and sampled) within it.
    let mut within = true;
    for (name, limit) in BUDGETS {
        let Some(index) = CALLS.iter().position(|call| *call == name) else {
            continue;
        };
        let f = figures[index];
        let peak = u64::from(f.painted.depth.max(f.sampled.depth));
        let verdict = if peak <= limit { "ok" } else { "over" };
        within &= peak <= limit;
        hprintln!("budget call={name} peak={peak} limit={limit} {verdict}");
    }
    if !within {
        hprintln!("fail stack over budget");
        monitor::exit(false)
    }
    hprintln!("done");
    monitor::exit(true)
}

/// Runs call `index` in `pass`, prints its verdict (and, in the sample pass, its deepest
/// sample: all that an overflowing run leaves).
fn measure(
    monitor: &mut Monitor,
    pass: Pass,
    index: usize,
    figures: &mut Figures,
    f: &mut dyn FnMut() -> Verdict,
) {
    let name = CALLS[index];
    monitor::set_current(&CALLS, index);
    let verdict = match pass {
        Pass::Sample => {
            let (verdict, sampled) = monitor.sampled(f);
            figures.sampled = sampled;
            verdict
        }
        Pass::Paint => {
            let (verdict, painted) = monitor.painted(f);
            figures.painted = painted;
            verdict
        }
    };
    hprintln!("verdict pass={} call={name} {verdict}", pass.as_str());
    if pass == Pass::Sample {
        let s = figures.sampled;
        hprintln!(
            "sampled call={name} depth={} samples={}",
            s.depth,
            s.samples
        );
    }
}

/// RFC 8017 §9.2: `00 01 FF…FF 00 || DigestInfo(SHA-256) || H` (the digest itself is not
/// checked here; the validations check it).
fn is_emsa_pkcs1_v1_5_sha256(em: &[u8]) -> bool {
    const DIGEST_INFO: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let Some(padding_end) = em.len().checked_sub(32 + DIGEST_INFO.len() + 1) else {
        return false;
    };
    em.starts_with(&[0x00, 0x01])
        && em[2..padding_end].iter().all(|&b| b == 0xff)
        && em[padding_end] == 0
        && em[padding_end + 1..em.len() - 32] == DIGEST_INFO
}

/// Unpadded base64url into `out`; the length written, or `None`.
fn base64url_decode(text: &str, out: &mut [u8]) -> Option<usize> {
    let mut acc = 0u32;
    let mut bits = 0;
    let mut len = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(len)? = (acc >> bits) as u8;
            len += 1;
            acc &= (1 << bits) - 1;
        }
    }
    Some(len)
}
