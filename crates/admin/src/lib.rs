//! `kbridge-admin` — the operator's toolbox as library functions, behind
//! `kbridge check | lag | topics | produce | consume | dlq`.
//!
//! Owns:
//! - [`Cluster`]: the admin / consumer / producer properties of a
//!   [`kbridge_config::Config`] (brokers, TLS, SASL, passthrough) and the
//!   time limit of each request;
//! - [`check`]: one [`check::CheckResult`] per question (broker, cluster,
//!   topics, group join, registry and subjects, transactional id) with fix
//!   hints;
//! - [`topics`]: list, describe (leaders, replicas, ISR, configs), create
//!   with [`topics::Preset`]s, delete, alter configs;
//! - [`lag`]: committed offsets, log start/end and lag per partition;
//! - [`consume`]: [`consume::TopicReader`] (start positions, group commits,
//!   end detection from partition EOF events plus an idle timeout) and
//!   [`consume::RecordDecoder`] (records to JSON);
//! - [`produce`]: JSON lines to Avro / JSON / text records with errors
//!   naming the line and field path, rate limiting, delivery counting;
//! - [`dlq`]: **the dead-letter header contract** (`__connect.errors.*` and
//!   `kbridge.error.*` names, [`dlq::ErrorContext`] to write and read them),
//!   inspection grouped by stage and class, and filtered replay;
//! - [`RegistryResolver`]: the codec's blocking schema resolver over the
//!   async registry client.
//!
//! The library prints nothing and draws no progress bars: long operations
//! take a callback, the CLI renders. Every function is bounded by
//! [`Cluster::timeout`] per request. Errors are one [`AdminError`].
//!
//! Depends on `kbridge-config`, `kbridge-registry` and `kbridge-codec`
//! (and rdkafka); must not depend on the pipeline, the source, the sink or
//! the CLI — the pipeline imports [`dlq`]'s header names from here.
//! No feature flags.
//!
//! ```no_run
//! use kbridge_admin::{Cluster, lag};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = kbridge_config::Config::default();
//! let cluster = Cluster::from_config(&config);
//! let report = lag::group_lag(&cluster, "orders-pipeline", Some("orders"))?;
//! println!("total lag {}", report.total_lag);
//! # Ok(()) }
//! ```

pub mod check;
mod client;
pub mod consume;
pub mod dlq;
mod error;
mod incremental;
pub mod lag;
pub mod produce;
mod resolver;
pub mod topics;

pub use client::{Cluster, DEFAULT_TIMEOUT};
pub use error::AdminError;
pub use resolver::{RegistryResolver, resolved_from_parsed};
