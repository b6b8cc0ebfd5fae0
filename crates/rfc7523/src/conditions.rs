//! Claim conditions: a party's short, fixed list of top-level claims that its assertions must
//! carry as JSON strings with exactly the configured values (issue 14, workload identity
//! federation).
//!
//! One issuer such as GitHub Actions (`https://token.actions.githubusercontent.com`) signs
//! tokens for every repository, branch and environment it runs; which of its workloads may be
//! granted anything is said by claims beside `sub` (`repository`, `repository_owner`, `ref`,
//! `environment`). A condition is a claim name and a required value:
//!
//! - the claim must be present in the verified claims set, a JSON string, and equal to the
//!   value exactly (case-sensitive, RFC 7519 §4) after its JSON escapes are decoded
//!   (RFC 8259 §7: `"refs\/heads\/main"` is `refs/heads/main`); a missing claim, a number, a
//!   boolean, `null`, an object or an array fails it;
//! - conditions are checked after the signature (nothing of an unverified token is judged: no
//!   oracle) and after the standard claims and time rules, before the replay check (so that a
//!   refused assertion takes no replay entry): [`Error::ClaimMismatch`], reason
//!   `claim_mismatch`, naming the claim ([`Error::claim`]) and never the token's value;
//! - conditions cannot name the registered claims the profiles already govern
//!   ([`GOVERNED_CLAIMS`]: `iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`); `sub` has the
//!   party's [`Subjects`](crate::Subjects);
//! - at most [`MAX_CLAIM_CONDITIONS`] per party, names of at most [`MAX_CONDITION_NAME_LEN`]
//!   bytes, values of at most [`MAX_CLAIM_STRING_LEN`] bytes, all distinct and non-empty.
//!
//! The list is borrowed by the party's [`Policy`](crate::Policy) (a slice of the caller's, or
//! the [`Registry`](crate::registry::Registry)'s strings): checking it allocates nothing, and
//! a party without conditions does no work for them.

use crate::claims::MAX_CLAIM_STRING_LEN;
use crate::error::{Claim, ClaimName, ConditionProblem, Error, Part};
use crate::json::{self, Value};
use crate::jws::json_error;

/// Most claim conditions one party may have.
pub const MAX_CLAIM_CONDITIONS: usize = 8;

/// Longest claim name a condition may name, in bytes: the longest that keeps [`Error`] at 32
/// bytes (it carries the name, [`ClaimName`], and every result on the verify path carries an
/// `Error`). The longest claim names of GitHub's and GitLab's OIDC tokens have 21 bytes
/// (`repository_visibility`, `environment_protected`).
pub const MAX_CONDITION_NAME_LEN: usize = 29;

/// The registered claims the profiles check themselves (RFC 7519 §4.1), which no condition may
/// name: `sub` is constrained with [`Subjects`](crate::Subjects), the others by the profiles'
/// rules.
pub const GOVERNED_CLAIMS: [Claim; 7] = crate::error::REGISTERED_CLAIMS;

/// One condition: the top-level claim `claim` must be a JSON string equal to `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClaimCondition<'a> {
    /// The claim name (exact, case-sensitive).
    pub claim: &'a str,
    /// The required value, compared with the claim's decoded string exactly.
    pub value: &'a str,
}

/// Why a list of claim conditions cannot be used (found by [`ClaimConditions::new`] and by the
/// registry loader).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionError {
    /// More than [`MAX_CLAIM_CONDITIONS`].
    TooMany,
    /// A claim name is empty.
    EmptyName,
    /// A claim name is longer than [`MAX_CONDITION_NAME_LEN`] bytes.
    NameTooLong,
    /// A claim the profiles govern ([`GOVERNED_CLAIMS`]).
    Governed(Claim),
    /// A required value is empty.
    EmptyValue,
    /// A required value is longer than [`MAX_CLAIM_STRING_LEN`] bytes.
    ValueTooLong,
    /// The same claim named twice.
    Duplicate,
}

impl core::fmt::Display for ConditionError {
    // Fixed words (the limits written out, checked against the constants in the tests): the
    // npm modules carry this, and formatting numbers costs bytes there.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if let ConditionError::Governed(claim) = self {
            f.write_str(claim.as_str())?;
        }
        f.write_str(match self {
            ConditionError::TooMany => "more than 8 conditions",
            ConditionError::EmptyName => "an empty claim name",
            ConditionError::NameTooLong => "a claim name longer than 29 bytes",
            ConditionError::Governed(_) => " is checked by the profile (sub: use subjects)",
            ConditionError::EmptyValue => "an empty value",
            ConditionError::ValueTooLong => "a value longer than 256 bytes",
            ConditionError::Duplicate => "the same claim twice",
        })
    }
}

/// A party's claim conditions ([`Policy::claims`](crate::Policy::claims)); none by default.
/// Only [`ClaimConditions::new`] (and the registry) make a list, so every list passed its rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClaimConditions<'a> {
    list: List<'a>,
}

#[derive(Clone, Copy, Debug, Default)]
enum List<'a> {
    #[default]
    None,
    Borrowed(&'a [ClaimCondition<'a>]),
    /// `(claim, value)` pairs, as a [`Registry`](crate::registry::Registry) keeps them.
    #[cfg(feature = "alloc")]
    Owned(&'a [(alloc::string::String, alloc::string::String)]),
}

impl<'a> ClaimConditions<'a> {
    /// No condition.
    pub const NONE: Self = Self { list: List::None };

    /// The conditions `list`, once it passed the rules of the [module](self): at most
    /// [`MAX_CLAIM_CONDITIONS`], distinct non-empty names of at most
    /// [`MAX_CONDITION_NAME_LEN`] bytes, none of [`GOVERNED_CLAIMS`], non-empty values of at
    /// most [`MAX_CLAIM_STRING_LEN`] bytes.
    ///
    /// A party built in code (no heap: a firmware's parties are a slice), accepting GitHub
    /// Actions jobs of one repository's `main` branch:
    ///
    /// ```
    /// use rfc7523::{ClaimCondition, ClaimConditions, Policy, Subjects};
    ///
    /// static CONDITIONS: [ClaimCondition<'static>; 2] = [
    ///     ClaimCondition { claim: "repository", value: "octo-org/octo-repo" },
    ///     ClaimCondition { claim: "ref", value: "refs/heads/main" },
    /// ];
    /// let policy = Policy {
    ///     subjects: Subjects::OneOf(&["repo:octo-org/octo-repo:ref:refs/heads/main"]),
    ///     claims: ClaimConditions::new(&CONDITIONS)?,
    ///     ..Policy::default()
    /// };
    /// assert_eq!(policy.claims.len(), 2);
    /// // A condition on a claim the profile checks itself is refused.
    /// let sub = [ClaimCondition { claim: "sub", value: "x" }];
    /// assert!(ClaimConditions::new(&sub).is_err());
    /// # Ok::<(), rfc7523::ConditionError>(())
    /// ```
    pub fn new(list: &'a [ClaimCondition<'a>]) -> Result<Self, ConditionError> {
        Self {
            list: List::Borrowed(list),
        }
        .checked()
    }

    /// The registry's list (its strings), which it [`checked`](Self::checked) at load.
    #[cfg(feature = "alloc")]
    pub(crate) fn owned(list: &'a [(alloc::string::String, alloc::string::String)]) -> Self {
        Self {
            list: List::Owned(list),
        }
    }

    /// The list, when it passes the rules of [`new`](Self::new). One function for both kinds
    /// of list, so that the npm modules carry it once.
    pub(crate) fn checked(self) -> Result<Self, ConditionError> {
        if self.len() > MAX_CLAIM_CONDITIONS {
            return Err(ConditionError::TooMany);
        }
        for (i, condition) in self.iter().enumerate() {
            check_name(condition.claim)?;
            if condition.value.is_empty() {
                return Err(ConditionError::EmptyValue);
            }
            if condition.value.len() > MAX_CLAIM_STRING_LEN {
                return Err(ConditionError::ValueTooLong);
            }
            if self.iter().take(i).any(|e| e.claim == condition.claim) {
                return Err(ConditionError::Duplicate);
            }
        }
        Ok(self)
    }

    /// How many conditions.
    pub fn len(&self) -> usize {
        match self.list {
            List::None => 0,
            List::Borrowed(list) => list.len(),
            #[cfg(feature = "alloc")]
            List::Owned(list) => list.len(),
        }
    }

    /// True without conditions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The conditions, in order.
    pub fn iter(&self) -> ConditionIter<'a> {
        ConditionIter {
            list: self.list,
            next: 0,
        }
    }

    /// Checks the verified claims set `payload` (already read by
    /// [`Claims`](crate::Claims), so valid JSON) against every condition, in order: the first
    /// that fails is the error. Without conditions nothing is read.
    pub(crate) fn check(&self, payload: &[u8]) -> Result<(), Error> {
        if self.is_empty() {
            return Ok(());
        }
        self.check_each(payload)
    }

    // Its own frame (the payload's members, about 3 KB), taken only by parties with
    // conditions, and after the signature's frames have returned.
    #[inline(never)]
    fn check_each(&self, payload: &[u8]) -> Result<(), Error> {
        let object = json::parse_object(payload).map_err(|e| json_error(e, Part::Payload))?;
        for condition in self.iter() {
            let problem = match object.get(condition.claim) {
                None => ConditionProblem::Missing,
                Some(Value::String(s)) if s.eq_str(condition.value) => continue,
                Some(Value::String(_)) => ConditionProblem::Different,
                Some(_) => ConditionProblem::NotAString,
            };
            return Err(Error::ClaimMismatch {
                claim: ClaimName::new(condition.claim),
                problem,
            });
        }
        Ok(())
    }
}

/// The conditions of a [`ClaimConditions`], in order.
#[derive(Clone, Debug)]
pub struct ConditionIter<'a> {
    list: List<'a>,
    next: usize,
}

impl<'a> Iterator for ConditionIter<'a> {
    type Item = ClaimCondition<'a>;

    fn next(&mut self) -> Option<ClaimCondition<'a>> {
        let condition = match self.list {
            List::None => None,
            List::Borrowed(list) => list.get(self.next).copied(),
            #[cfg(feature = "alloc")]
            List::Owned(list) => list.get(self.next).map(|(claim, value)| ClaimCondition {
                claim: claim.as_str(),
                value: value.as_str(),
            }),
        }?;
        self.next += 1;
        Some(condition)
    }
}

/// The rules of one claim name: non-empty, at most [`MAX_CONDITION_NAME_LEN`] bytes, none of
/// [`GOVERNED_CLAIMS`].
fn check_name(claim: &str) -> Result<(), ConditionError> {
    if claim.is_empty() {
        return Err(ConditionError::EmptyName);
    }
    if claim.len() > MAX_CONDITION_NAME_LEN {
        return Err(ConditionError::NameTooLong);
    }
    if let Some(governed) = GOVERNED_CLAIMS.iter().find(|g| g.as_str() == claim) {
        return Err(ConditionError::Governed(*governed));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn c<'a>(claim: &'a str, value: &'a str) -> ClaimCondition<'a> {
        ClaimCondition { claim, value }
    }

    #[test]
    fn list_rules() {
        let long_name = "n".repeat(MAX_CONDITION_NAME_LEN);
        let too_long_name = "n".repeat(MAX_CONDITION_NAME_LEN + 1);
        let long_value = "v".repeat(MAX_CLAIM_STRING_LEN);
        let too_long_value = "v".repeat(MAX_CLAIM_STRING_LEN + 1);
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        let many: Vec<ClaimCondition<'_>> = names.iter().map(|n| c(n, "x")).collect();
        let at_max = many.get(..MAX_CLAIM_CONDITIONS).unwrap();
        for (list, expected) in [
            (&[][..], Ok(0)),
            (&[c("repository", "o/r")][..], Ok(1)),
            (at_max, Ok(MAX_CLAIM_CONDITIONS)),
            (&many[..], Err(ConditionError::TooMany)),
            (&[c("", "x")], Err(ConditionError::EmptyName)),
            (&[c(&long_name, "x")], Ok(1)),
            (&[c(&too_long_name, "x")], Err(ConditionError::NameTooLong)),
            (&[c("ref", "")], Err(ConditionError::EmptyValue)),
            (&[c("ref", &long_value)], Ok(1)),
            (
                &[c("ref", &too_long_value)],
                Err(ConditionError::ValueTooLong),
            ),
            (
                &[c("ref", "a"), c("sha", "b"), c("ref", "a")],
                Err(ConditionError::Duplicate),
            ),
            // Names are case-sensitive: `ISS` is not `iss`.
            (&[c("ISS", "x")], Ok(1)),
        ] {
            assert_eq!(
                ClaimConditions::new(list).map(|l| l.len()),
                expected,
                "{list:?}"
            );
        }
        for claim in GOVERNED_CLAIMS {
            assert_eq!(
                ClaimConditions::new(&[c(claim.as_str(), "x")]).map(|l| l.len()),
                Err(ConditionError::Governed(claim))
            );
        }
    }

    /// The words of the refusals say the limits as they are.
    #[test]
    fn refusals_name_the_limits() {
        let words = |e: ConditionError| e.to_string();
        assert!(words(ConditionError::TooMany).contains(&MAX_CLAIM_CONDITIONS.to_string()));
        assert!(words(ConditionError::NameTooLong).contains(&MAX_CONDITION_NAME_LEN.to_string()));
        assert!(words(ConditionError::ValueTooLong).contains(&MAX_CLAIM_STRING_LEN.to_string()));
        assert_eq!(
            words(ConditionError::Governed(Claim::Jti)),
            "jti is checked by the profile (sub: use subjects)"
        );
    }

    #[test]
    fn outcomes() {
        let list = [c("ref", "refs/heads/main"), c("repository", "o/r")];
        let conditions = ClaimConditions::new(&list).unwrap();
        let mismatch = |claim: &str, problem| {
            Err(Error::ClaimMismatch {
                claim: ClaimName::new(claim),
                problem,
            })
        };
        for (payload, expected) in [
            (r#"{"ref":"refs/heads/main","repository":"o/r"}"#, Ok(())),
            (
                r#"{"ref":"refs\/heads\/main","repository":"o\u002fr"}"#,
                Ok(()),
            ),
            (
                r#"{"ref":"refs/heads/dev","repository":"o/r"}"#,
                mismatch("ref", ConditionProblem::Different),
            ),
            (
                r#"{"ref":"refs/heads/main"}"#,
                mismatch("repository", ConditionProblem::Missing),
            ),
            (
                r#"{"ref":"refs/heads/main","repository":null}"#,
                mismatch("repository", ConditionProblem::NotAString),
            ),
            (
                r#"{"ref":"Refs/heads/main","repository":"x"}"#,
                mismatch("ref", ConditionProblem::Different),
            ),
        ] {
            assert_eq!(conditions.check(payload.as_bytes()), expected, "{payload}");
        }
        // Without conditions the payload is not read at all.
        assert_eq!(ClaimConditions::NONE.check(b"not json"), Ok(()));
    }
}
