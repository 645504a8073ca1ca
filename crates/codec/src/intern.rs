//! Process-wide interning of schema names (field names, enum symbols,
//! record names) so decoded values can carry them as `&'static str` without
//! allocating or reference counting per record.
//!
//! Memory grows with the number of *distinct* names across all schemas a
//! process compiles (each name is stored once, whatever the number of
//! schemas or records), which the schema registry bounds.

use std::collections::HashSet;
use std::sync::OnceLock;

use parking_lot::Mutex;

static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();

/// Returns the one `'static` copy of `name`.
pub fn intern(name: &str) -> &'static str {
    let mut set = NAMES.get_or_init(|| Mutex::new(HashSet::new())).lock();
    if let Some(s) = set.get(name) {
        return s;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}
