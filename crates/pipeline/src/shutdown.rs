//! [`Shutdown`]: asks a running pipeline to stop in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A cloneable stop switch. Any clone may call [`Shutdown::request`] (a
/// signal handler, another thread); the pipeline notices within one poll
/// interval (≤ 100 ms), stops reading, finishes or aborts its open
/// transaction (exactly-once) or waits for outstanding deliveries
/// (at-least-once), commits what is durable and returns its summary.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    requested: Arc<AtomicBool>,
}

impl Shutdown {
    /// A switch that is not yet requested.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the pipeline to stop.
    pub fn request(&self) {
        self.requested.store(true, Ordering::Release);
    }

    /// Whether a stop was asked for.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clone_sees_the_request() {
        let a = Shutdown::new();
        let b = a.clone();
        assert!(!b.is_requested());
        a.request();
        assert!(b.is_requested());
    }
}
