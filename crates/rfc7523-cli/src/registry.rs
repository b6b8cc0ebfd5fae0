//! `--registry FILE`: the registry document (the core's
//! [`Registry::from_json`](rfc7523::Registry::from_json)), read with its size bound.

use std::path::Path;

use rfc7523::limits::MAX_REGISTRY_LEN;
use rfc7523::Registry;

use crate::{keys, Fatal};

/// Reads and checks the registry at `path`; a refusal names the file, then the field and the
/// party (`<file>: clients[1] "s6BhdRkqt3".max_lifetime: …`).
pub fn load(path: &Path) -> Result<Registry, Fatal> {
    let text = keys::read_text(path, MAX_REGISTRY_LEN)?;
    Registry::from_json(&text).map_err(|e| Fatal::file(path, e))
}
