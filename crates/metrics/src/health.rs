//! Readiness flags behind `/readyz`.
//!
//! A component that must be ready before the process serves traffic
//! registers a check with [`Readiness::require`] (it starts *not ready*)
//! and flips the returned [`ReadyFlag`]. `/readyz` answers 200 when every
//! registered check is ready and shutdown has not begun, else 503 with the
//! list of what is not ready. Register every expected check before the
//! server starts so an early probe cannot see a half-registered process as
//! ready.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;

/// What must be true for the process to be ready.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ReadinessCheck {
    /// The source's consumer has joined its group and holds an assignment.
    PartitionsAssigned,
    /// The schema registry answered.
    RegistryReachable,
    /// The sink's producer is initialised (transactions initialised under
    /// exactly-once).
    ProducerReady,
    /// Any other named condition.
    Named(Cow<'static, str>),
}

impl ReadinessCheck {
    /// The name shown in `/readyz` (`partitions_assigned`,
    /// `registry_reachable`, `producer_ready`, or the given name).
    pub fn name(&self) -> &str {
        match self {
            ReadinessCheck::PartitionsAssigned => "partitions_assigned",
            ReadinessCheck::RegistryReachable => "registry_reachable",
            ReadinessCheck::ProducerReady => "producer_ready",
            ReadinessCheck::Named(name) => name,
        }
    }
}

#[derive(Debug, Clone)]
struct CheckState {
    ready: bool,
    reason: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    checks: BTreeMap<String, CheckState>,
    shutting_down: bool,
}

/// The set of readiness checks of one process; shared through
/// [`crate::Metrics::readiness`].
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    state: Arc<Mutex<State>>,
}

/// One registered check; cheap to clone, flip it from any thread.
#[derive(Debug, Clone)]
pub struct ReadyFlag {
    state: Arc<Mutex<State>>,
    name: String,
}

impl ReadyFlag {
    /// Marks the check ready.
    pub fn set_ready(&self) {
        self.set(true, None);
    }

    /// Marks the check not ready, with a reason shown in `/readyz`
    /// (no secrets: it is served over HTTP).
    pub fn set_not_ready(&self, reason: impl Into<String>) {
        self.set(false, Some(reason.into()));
    }

    fn set(&self, ready: bool, reason: Option<String>) {
        self.state
            .lock()
            .checks
            .insert(self.name.clone(), CheckState { ready, reason });
    }
}

/// One entry of a [`ReadinessReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckStatus {
    /// Check name.
    pub check: String,
    /// Whether it is satisfied.
    pub ready: bool,
    /// Why not, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The state `/readyz` serves as JSON:
/// `{"status":"ready"|"not_ready","not_ready":[...],"checks":[...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReadinessReport {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// The checks that fail (and `shutting_down` once shutdown began).
    pub not_ready: Vec<CheckStatus>,
    /// Every registered check, by name.
    pub checks: Vec<CheckStatus>,
}

impl ReadinessReport {
    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.not_ready.is_empty()
    }
}

impl Readiness {
    /// No checks, not shutting down: ready.
    pub fn new() -> Self {
        Readiness::default()
    }

    /// Registers `check` (not ready, reason "not reported yet") unless it is
    /// already registered, and returns its flag. Requiring the same check
    /// twice returns flags to the same state.
    pub fn require(&self, check: ReadinessCheck) -> ReadyFlag {
        let name = check.name().to_owned();
        self.state
            .lock()
            .checks
            .entry(name.clone())
            .or_insert_with(|| CheckState {
                ready: false,
                reason: Some("not reported yet".to_owned()),
            });
        ReadyFlag {
            state: Arc::clone(&self.state),
            name,
        }
    }

    /// From now on the process reports not ready (`shutting_down`), so a
    /// load balancer stops routing to it while it drains.
    pub fn begin_shutdown(&self) {
        self.state.lock().shutting_down = true;
    }

    /// The current state of every check.
    pub fn report(&self) -> ReadinessReport {
        let state = self.state.lock();
        let checks: Vec<CheckStatus> = state
            .checks
            .iter()
            .map(|(name, s)| CheckStatus {
                check: name.clone(),
                ready: s.ready,
                reason: if s.ready { None } else { s.reason.clone() },
            })
            .collect();
        let mut not_ready: Vec<CheckStatus> = checks.iter().filter(|c| !c.ready).cloned().collect();
        if state.shutting_down {
            not_ready.push(CheckStatus {
                check: "shutting_down".to_owned(),
                ready: false,
                reason: Some("shutdown in progress".to_owned()),
            });
        }
        ReadinessReport {
            status: if not_ready.is_empty() {
                "ready"
            } else {
                "not_ready"
            },
            not_ready,
            checks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_check_must_be_ready() {
        let readiness = Readiness::new();
        assert!(readiness.report().is_ready(), "nothing required");
        let producer = readiness.require(ReadinessCheck::ProducerReady);
        let registry = readiness.require(ReadinessCheck::RegistryReachable);
        let report = readiness.report();
        assert_eq!(report.status, "not_ready");
        assert_eq!(report.not_ready.len(), 2);
        producer.set_ready();
        registry.set_not_ready("GET /subjects: connection refused");
        let report = readiness.report();
        assert_eq!(
            report.not_ready,
            vec![CheckStatus {
                check: "registry_reachable".into(),
                ready: false,
                reason: Some("GET /subjects: connection refused".into()),
            }]
        );
        registry.set_ready();
        assert!(readiness.report().is_ready());
        // requiring again keeps the state
        let _again = readiness.require(ReadinessCheck::ProducerReady);
        assert!(readiness.report().is_ready());
        readiness.begin_shutdown();
        let report = readiness.report();
        assert_eq!(report.not_ready.len(), 1);
        assert_eq!(report.not_ready[0].check, "shutting_down");
    }
}
