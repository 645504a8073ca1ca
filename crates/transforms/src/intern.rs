//! Names and constants from the configuration, leaked once and shared, so
//! that a transform writes a field name or a static string into a record
//! without allocating per record. Bounded by the configuration's size:
//! record data is never interned.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// The `&'static` copy of `s`.
pub(crate) fn intern(s: &str) -> &'static str {
    static SET: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = SET
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(x) = set.get(s) {
        return x;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}
