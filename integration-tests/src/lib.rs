//! Shared helpers for the integration tests: endpoints from the environment
//! (`KAFKA_BOOTSTRAP_SERVERS`, `SCHEMA_REGISTRY_URL`, or the file that
//! `cargo xtask stack up` writes) and random topic / group / transactional ids
//! so tests run in parallel.
