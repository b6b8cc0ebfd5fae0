//! How long a fetched document stays fresh: `Cache-Control` (RFC 9111 §5.2) and `Age`
//! (RFC 9111 §5.1) read into a [`Freshness`], clamped to
//! [[`MIN_MAX_AGE`], [`MAX_MAX_AGE`]].
//!
//! The verifier is the final consumer of the document, not an HTTP cache that serves it to
//! others, so it takes from the response only what bears on how long the keys may be trusted:
//!
//! | response | freshness lifetime | may be persisted |
//! |---|---|---|
//! | `max-age=N` | N − `Age`, clamped | yes |
//! | no `max-age` | [`DEFAULT_MAX_AGE`] − `Age`, clamped | yes |
//! | `no-cache` (unqualified) | [`MIN_MAX_AGE`] | yes |
//! | `no-store` | [`MIN_MAX_AGE`] | **no** |
//! | `max-age` twice with different values, or not `1*DIGIT` | [`MIN_MAX_AGE`] | yes |
//! | an unparsable `Cache-Control` or `Age` | [`MIN_MAX_AGE`] | **no** |
//!
//! - `no-cache` (§5.2.2.4) forbids reuse without revalidation and `no-store` (§5.2.2.5)
//!   forbids storing. Taken literally, both would mean one fetch per assertion: a load the
//!   issuer never meant to invite and an outage amplifier. They get the shortest lifetime
//!   the clamp allows instead; `no-store` also tells the layer not to write the document to a
//!   shared or persistent cache ([`Freshness::persist`]). A `no-cache` with field names
//!   (`no-cache="Set-Cookie"`) restricts only those header fields and is ignored.
//! - Conflicting or invalid `max-age`: RFC 9111 §4.2.1 lets a cache "consider the response to
//!   be stale"; stale here is the shortest lifetime. Whatever cannot be read (a malformed
//!   header) is treated the same way and, to be safe, not persisted.
//! - `Age` (set by CDNs in front of key servers) is subtracted, as RFC 9111 §4.2.3 computes a
//!   response's current age; a value too large saturates at [`MAX_DELTA_SECONDS`]
//!   (RFC 9111 §1.2.2).
//! - Ignored: `s-maxage`, `public`, `private` (about shared caches serving other users),
//!   `must-revalidate` and `proxy-revalidate` (about serving stale responses to clients; the
//!   stale grace of [`KeyCache`](super::KeyCache) is the verifier's own bounded rule — Google's
//!   key endpoint sends `must-revalidate`, and honouring it would remove the grace for it),
//!   `immutable`, `stale-while-revalidate`, `stale-if-error`, extensions, and `Expires` (its
//!   HTTP-date is not read: without `max-age` the default applies).

use super::document::Cursor;

/// Shortest freshness lifetime, in seconds: a `max-age` below it is raised to it (issue 14:
/// "clamped to [1 min, 24 h]"). It also bounds the fetches of one URI made by expiry alone to
/// one a minute.
pub const MIN_MAX_AGE: u64 = 60;

/// Longest freshness lifetime, in seconds (24 h): a longer `max-age` is lowered to it, so a
/// revoked key leaves the cache within a day at most (plus [`STALE_GRACE`](super::STALE_GRACE)
/// if every refresh fails).
pub const MAX_MAX_AGE: u64 = 24 * 60 * 60;

/// Freshness lifetime of a response without `max-age`, in seconds (10 min, as jose's
/// `cacheMaxAge`).
pub const DEFAULT_MAX_AGE: u64 = 10 * 60;

/// Largest delta-seconds value read (2^31, RFC 9111 §1.2.2: a larger value "MUST" be taken
/// as 2^31).
pub const MAX_DELTA_SECONDS: u64 = 1 << 31;

const _: () = assert!(MIN_MAX_AGE <= DEFAULT_MAX_AGE && DEFAULT_MAX_AGE <= MAX_MAX_AGE);

/// How long a fetched document may be used as fresh, and whether it may be stored where
/// other verifier instances read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freshness {
    max_age: u64,
    persist: bool,
}

impl Freshness {
    /// A response without `Cache-Control` or `Age`.
    pub const DEFAULT: Freshness = Freshness {
        max_age: DEFAULT_MAX_AGE,
        persist: true,
    };

    /// The shortest lifetime, not to be persisted.
    const UNREADABLE: Freshness = Freshness {
        max_age: MIN_MAX_AGE,
        persist: false,
    };

    /// Reads a response's `Cache-Control` field lines (all of them, in order: RFC 9110 §5.3
    /// combines them into one list) and its `Age` field value (`None` when absent).
    pub fn from_headers<'a>(
        cache_control: impl IntoIterator<Item = &'a str>,
        age: Option<&str>,
    ) -> Freshness {
        let mut directives = Directives::default();
        for line in cache_control {
            if directives.read_line(line).is_none() {
                return Freshness::UNREADABLE;
            }
        }
        let age = match age {
            None => 0,
            Some(text) => {
                let mut c = Cursor::new(text);
                c.skip_ows();
                let value = c.token().and_then(delta_seconds);
                c.skip_ows();
                match value {
                    Some(v) if c.at_end() => v,
                    _ => return Freshness::UNREADABLE,
                }
            }
        };
        let persist = !directives.no_store;
        let base = if directives.no_store || directives.no_cache {
            0
        } else {
            match directives.max_age {
                MaxAge::Absent => DEFAULT_MAX_AGE,
                MaxAge::Value(v) => v,
                MaxAge::Stale => 0,
            }
        };
        Freshness {
            max_age: clamp_max_age(base.saturating_sub(age)),
            persist,
        }
    }

    /// The freshness lifetime in seconds, within [[`MIN_MAX_AGE`], [`MAX_MAX_AGE`]].
    pub fn max_age(&self) -> u64 {
        self.max_age
    }

    /// False when the response said `no-store` (or could not be read): keep the document in
    /// this instance's memory only, never in a shared or persistent cache.
    pub fn persist(&self) -> bool {
        self.persist
    }

    /// A lifetime already known (a persisted record's), clamped; persisted.
    pub fn with_max_age(max_age: u64) -> Freshness {
        Freshness {
            max_age: clamp_max_age(max_age),
            persist: true,
        }
    }
}

/// `max_age` clamped to [[`MIN_MAX_AGE`], [`MAX_MAX_AGE`]].
pub fn clamp_max_age(max_age: u64) -> u64 {
    max_age.clamp(MIN_MAX_AGE, MAX_MAX_AGE)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum MaxAge {
    #[default]
    Absent,
    Value(u64),
    /// Invalid, or given twice with different values.
    Stale,
}

#[derive(Debug, Default)]
struct Directives {
    max_age: MaxAge,
    no_cache: bool,
    no_store: bool,
}

impl Directives {
    /// `Cache-Control = #cache-directive`, `cache-directive = token [ "=" ( token /
    /// quoted-string ) ]` (RFC 9111 §5.2), empty list elements allowed (RFC 9110 §5.6.1).
    /// `None` when the line does not parse.
    fn read_line(&mut self, line: &str) -> Option<()> {
        let mut c = Cursor::new(line);
        loop {
            c.skip_ows();
            if c.at_end() {
                return Some(());
            }
            if c.eat(b',') {
                continue;
            }
            let name = c.token()?;
            let argument = if c.eat(b'=') {
                Some(c.argument()?)
            } else {
                None
            };
            c.skip_ows();
            if !c.at_end() && !c.eat(b',') {
                return None;
            }
            if name.eq_ignore_ascii_case("max-age") {
                let value = argument.and_then(|a| a.delta_seconds());
                self.max_age = match (self.max_age, value) {
                    (_, None) | (MaxAge::Stale, _) => MaxAge::Stale,
                    (MaxAge::Absent, Some(v)) => MaxAge::Value(v),
                    (MaxAge::Value(old), Some(v)) if old == v => MaxAge::Value(v),
                    (MaxAge::Value(_), Some(_)) => MaxAge::Stale,
                };
            } else if name.eq_ignore_ascii_case("no-store") {
                self.no_store = true;
            } else if name.eq_ignore_ascii_case("no-cache") && argument.is_none() {
                self.no_cache = true;
            }
        }
    }
}

/// `1*DIGIT`, saturated at [`MAX_DELTA_SECONDS`].
fn delta_seconds(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |v, b| {
        v.saturating_mul(10)
            .saturating_add(u64::from(b - b'0'))
            .min(MAX_DELTA_SECONDS)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(cc: &[&str], age: Option<&str>) -> (u64, bool) {
        let fr = Freshness::from_headers(cc.iter().copied(), age);
        (fr.max_age(), fr.persist())
    }

    #[test]
    fn table() {
        const MIN: u64 = MIN_MAX_AGE;
        const MAX: u64 = MAX_MAX_AGE;
        const DEF: u64 = DEFAULT_MAX_AGE;
        type Row<'a> = (&'a [&'a str], Option<&'a str>, (u64, bool));
        let table: &[Row<'_>] = &[
            (&[], None, (DEF, true)),
            (&[""], None, (DEF, true)),
            (&[" , ,"], None, (DEF, true)),
            (&["public"], None, (DEF, true)),
            (&["max-age=3600"], None, (3600, true)),
            (&["MAX-AGE=3600"], None, (3600, true)),
            (&["max-age=\"3600\""], None, (3600, true)),
            (
                &["public, max-age=21152, must-revalidate, no-transform"],
                None,
                (21152, true),
            ),
            (&["max-age=0"], None, (MIN, true)),
            (&["max-age=59"], None, (MIN, true)),
            (&["max-age=60"], None, (60, true)),
            (&["max-age=61"], None, (61, true)),
            (&["max-age=86399"], None, (86399, true)),
            (&["max-age=86400"], None, (MAX, true)),
            (&["max-age=86401"], None, (MAX, true)),
            (&["max-age=99999999999999999999999999"], None, (MAX, true)),
            (&["max-age=0000600"], None, (600, true)),
            // Age is subtracted, then the result clamped.
            (&["max-age=3600"], Some("600"), (3000, true)),
            (&["max-age=3600"], Some(" 600 "), (3000, true)),
            (&["max-age=3600"], Some("3590"), (MIN, true)),
            (&["max-age=3600"], Some("99999999999999999999"), (MIN, true)),
            (&[], Some("300"), (300, true)),
            (&["max-age=3600"], Some("0"), (3600, true)),
            // Several lines are one list; repeated equal values are fine.
            (&["public", "max-age=120"], None, (120, true)),
            (&["max-age=120", "max-age=120"], None, (120, true)),
            // Conflicting or invalid max-age: stale.
            (&["max-age=120, max-age=300"], None, (MIN, true)),
            (&["max-age=120", "max-age=300"], None, (MIN, true)),
            (&["max-age=-1"], None, (MIN, true)),
            (&["max-age"], None, (MIN, true)),
            (&["max-age=1.5"], None, (MIN, true)),
            (&["max-age=abc"], None, (MIN, true)),
            (&["max-age=\"\""], None, (MIN, true)),
            (&["max-age=abc, max-age=300"], None, (MIN, true)),
            // no-cache / no-store.
            (&["no-cache"], None, (MIN, true)),
            (&["No-Cache, max-age=3600"], None, (MIN, true)),
            (
                &["no-cache=\"Set-Cookie\", max-age=3600"],
                None,
                (3600, true),
            ),
            (&["no-store"], None, (MIN, false)),
            (&["max-age=3600, no-store"], None, (MIN, false)),
            (&["private, max-age=300", "no-store"], None, (MIN, false)),
            // Ignored directives.
            (&["s-maxage=10, max-age=300"], None, (300, true)),
            (&["private, max-age=300"], None, (300, true)),
            (
                &["immutable, stale-if-error=86400, max-age=300, x-ext=\"a,b\""],
                None,
                (300, true),
            ),
            // Unreadable: shortest lifetime, not persisted.
            (&["max-age=300;"], None, (MIN, false)),
            (&["max-age 300"], None, (MIN, false)),
            (&["max-age=300 x"], None, (MIN, false)),
            (&["max-age=\"300"], None, (MIN, false)),
            (&["=300"], None, (MIN, false)),
            (&["max-age=300", "bad header"], None, (MIN, false)),
            (&["max-age=3600"], Some(""), (MIN, false)),
            (&["max-age=3600"], Some("-1"), (MIN, false)),
            (&["max-age=3600"], Some("1, 2"), (MIN, false)),
            (&["max-age=3600"], Some("1.0"), (MIN, false)),
        ];
        for &(cc, age, expected) in table {
            assert_eq!(f(cc, age), expected, "{cc:?} age {age:?}");
        }
    }

    #[test]
    fn delta_seconds_saturate() {
        assert_eq!(delta_seconds("2147483648"), Some(MAX_DELTA_SECONDS));
        assert_eq!(delta_seconds("2147483647"), Some(MAX_DELTA_SECONDS - 1));
        assert_eq!(delta_seconds("2147483649"), Some(MAX_DELTA_SECONDS));
        assert_eq!(delta_seconds(&"9".repeat(100)), Some(MAX_DELTA_SECONDS));
        assert_eq!(delta_seconds(""), None);
        assert_eq!(delta_seconds("+1"), None);
    }

    #[test]
    fn clamp_bounds_are_exact() {
        assert_eq!(clamp_max_age(0), MIN_MAX_AGE);
        assert_eq!(clamp_max_age(MIN_MAX_AGE - 1), MIN_MAX_AGE);
        assert_eq!(clamp_max_age(MIN_MAX_AGE), MIN_MAX_AGE);
        assert_eq!(clamp_max_age(MIN_MAX_AGE + 1), MIN_MAX_AGE + 1);
        assert_eq!(clamp_max_age(MAX_MAX_AGE - 1), MAX_MAX_AGE - 1);
        assert_eq!(clamp_max_age(MAX_MAX_AGE), MAX_MAX_AGE);
        assert_eq!(clamp_max_age(MAX_MAX_AGE + 1), MAX_MAX_AGE);
        assert_eq!(clamp_max_age(u64::MAX), MAX_MAX_AGE);
        assert_eq!(Freshness::DEFAULT.max_age(), DEFAULT_MAX_AGE);
        assert_eq!(Freshness::with_max_age(1).max_age(), MIN_MAX_AGE);
        assert_eq!(
            (MIN_MAX_AGE, MAX_MAX_AGE, DEFAULT_MAX_AGE),
            (60, 86_400, 600)
        );
    }
}
