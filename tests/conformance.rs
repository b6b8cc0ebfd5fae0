//! Conformance of `rfc7523` against independent vectors (Wycheproof, RFC examples, public
//! fixtures) and against the RFC 7523 claim scenarios; see `vectors/README.md`.
#[path = "conformance/adversarial.rs"]
mod adversarial;
#[path = "conformance/algorithm_profiles.rs"]
mod algorithm_profiles;
#[path = "conformance/algorithms.rs"]
mod algorithms;
#[path = "conformance/claim_conditions.rs"]
mod claim_conditions;
#[path = "conformance/parties.rs"]
mod parties;
#[path = "conformance/registry.rs"]
mod registry;
#[path = "conformance/remote.rs"]
mod remote;
#[path = "conformance/rsavp1.rs"]
mod rsavp1;
#[path = "conformance/scenarios.rs"]
mod scenarios;
#[path = "conformance/signatures.rs"]
mod signatures;
#[path = "conformance/x509.rs"]
mod x509;
