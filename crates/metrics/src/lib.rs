//! `kbridge-metrics` — the instrument catalogue and its exporters.
//!
//! Will own: the OpenTelemetry meter provider, the Prometheus `/metrics`
//! endpoint and optional OTLP export, the one catalogue that declares every
//! instrument (name, unit, description), and `/healthz` / `/readyz`.
//! Other crates record through the small functions this crate exposes.
//!
//! Must not depend on any other kbridge crate.
