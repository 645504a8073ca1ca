//! `kbridge-kafka-client` — librdkafka client settings shared by
//! `kbridge-source` and `kbridge-sink` (peers that must not depend on each
//! other): security (TLS, SASL), secrets that never reach `Debug`, the
//! librdkafka passthrough with its conflict rule, and the bridge from
//! librdkafka logs to `tracing`.
//!
//! It depends on `kbridge-config` (for [`Secret`]) and rdkafka only; it knows
//! nothing of records, codecs or pipelines.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use rdkafka::config::{ClientConfig, RDKafkaLogLevel};

pub use kbridge_config::Secret;

/// `security.protocol`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityProtocol {
    /// No TLS, no SASL.
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// The librdkafka value.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// TLS settings (`ssl.*`). Files are PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls {
    /// CA bundle that signs the broker certificates (`ssl.ca.location`);
    /// `None` uses the system store.
    pub ca_location: Option<PathBuf>,
    /// Client certificate for mutual TLS (`ssl.certificate.location`).
    pub certificate_location: Option<PathBuf>,
    /// Client private key for mutual TLS (`ssl.key.location`).
    pub key_location: Option<PathBuf>,
    /// Passphrase of the private key (`ssl.key.password`).
    pub key_password: Option<Secret>,
    /// Check that the broker certificate names the host
    /// (`ssl.endpoint.identification.algorithm` `https` or `none`); default true.
    pub verify_hostname: bool,
}

impl Default for Tls {
    fn default() -> Self {
        Tls {
            ca_location: None,
            certificate_location: None,
            key_location: None,
            key_password: None,
            verify_hostname: true,
        }
    }
}

/// `sasl.mechanism`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaslMechanism {
    /// `PLAIN`.
    Plain,
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl SaslMechanism {
    /// The librdkafka value.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// SASL username/password authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sasl {
    /// The mechanism.
    pub mechanism: SaslMechanism,
    /// `sasl.username`.
    pub username: String,
    /// `sasl.password`.
    pub password: Secret,
}

/// How the client connects: protocol plus TLS and SASL settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Security {
    /// `security.protocol`.
    pub protocol: SecurityProtocol,
    /// Needed for `Ssl`/`SaslSsl` only when a CA, a client certificate or
    /// hostname checks differ from the defaults.
    pub tls: Option<Tls>,
    /// Required for `SaslPlaintext`/`SaslSsl`.
    pub sasl: Option<Sasl>,
}

impl Security {
    /// TLS with the given settings.
    pub fn ssl(tls: Tls) -> Self {
        Security {
            protocol: SecurityProtocol::Ssl,
            tls: Some(tls),
            sasl: None,
        }
    }

    /// SASL without TLS.
    pub fn sasl_plaintext(sasl: Sasl) -> Self {
        Security {
            protocol: SecurityProtocol::SaslPlaintext,
            tls: None,
            sasl: Some(sasl),
        }
    }

    /// SASL over TLS.
    pub fn sasl_ssl(sasl: Sasl, tls: Tls) -> Self {
        Security {
            protocol: SecurityProtocol::SaslSsl,
            tls: Some(tls),
            sasl: Some(sasl),
        }
    }

    /// The librdkafka settings, exactly as configured; an error names a
    /// contradiction (SASL settings with a non-SASL protocol, ...).
    pub fn to_pairs(&self) -> Result<Vec<(&'static str, String)>, String> {
        let p = self.protocol;
        let mut out = vec![("security.protocol", p.as_str().to_owned())];
        if let Some(tls) = &self.tls {
            if !p.uses_tls() {
                return Err(format!(
                    "TLS settings given but security.protocol is {}",
                    p.as_str()
                ));
            }
            let path = |key: &'static str, v: &PathBuf| -> Result<(&'static str, String), String> {
                v.to_str()
                    .map(|s| (key, s.to_owned()))
                    .ok_or_else(|| format!("{key}: path {} is not valid UTF-8", v.display()))
            };
            if let Some(v) = &tls.ca_location {
                out.push(path("ssl.ca.location", v)?);
            }
            if let Some(v) = &tls.certificate_location {
                out.push(path("ssl.certificate.location", v)?);
            }
            if let Some(v) = &tls.key_location {
                out.push(path("ssl.key.location", v)?);
            }
            if tls.certificate_location.is_some() != tls.key_location.is_some() {
                return Err("mutual TLS needs both a client certificate and its key".into());
            }
            if let Some(v) = &tls.key_password {
                out.push(("ssl.key.password", v.expose().to_owned()));
            }
            let algo = if tls.verify_hostname { "https" } else { "none" };
            out.push(("ssl.endpoint.identification.algorithm", algo.to_owned()));
        }
        match (&self.sasl, p.uses_sasl()) {
            (Some(sasl), true) => {
                out.push(("sasl.mechanism", sasl.mechanism.as_str().to_owned()));
                out.push(("sasl.username", sasl.username.clone()));
                out.push(("sasl.password", sasl.password.expose().to_owned()));
            }
            (Some(_), false) => {
                return Err(format!(
                    "SASL settings given but security.protocol is {}",
                    p.as_str()
                ));
            }
            (None, true) => {
                return Err(format!(
                    "security.protocol {} needs SASL settings",
                    p.as_str()
                ));
            }
            (None, false) => {}
        }
        Ok(out)
    }
}

/// librdkafka aliases folded onto one name for the conflict check.
fn canonical(key: &str) -> &str {
    match key {
        "metadata.broker.list" => "bootstrap.servers",
        "request.required.acks" => "acks",
        "queue.buffering.max.ms" => "linger.ms",
        "compression.codec" => "compression.type",
        "batch.size" => "batch.size",
        "enable.auto.commit" | "auto.commit.enable" => "enable.auto.commit",
        "auto.offset.reset" | "topic.auto.offset.reset" => "auto.offset.reset",
        "message.timeout.ms" | "delivery.timeout.ms" => "message.timeout.ms",
        "sasl.mechanisms" => "sasl.mechanism",
        other => other,
    }
}

/// Whether a value set under this key should be hidden in `Debug` output.
pub fn is_sensitive(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "sasl.oauthbearer.config",
        ".pem",
        "keystore",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// Builds the client config: `defaults`, then the typed settings, then the
/// passthrough. A passthrough key that a typed setting also sets (aliases
/// included) is rejected: typed fields win and say so loudly.
pub fn merge(
    defaults: &[(&str, &str)],
    typed: &[(&str, String)],
    passthrough: &[(String, String)],
) -> Result<BTreeMap<String, String>, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in defaults {
        out.insert((*k).to_owned(), (*v).to_owned());
    }
    for (k, v) in typed {
        out.insert((*k).to_owned(), v.clone());
    }
    for (k, v) in passthrough {
        let key = k.trim();
        if key.is_empty() {
            return Err("librdkafka option with an empty key".into());
        }
        if let Some((typed_key, _)) = typed.iter().find(|(t, _)| canonical(t) == canonical(key)) {
            return Err(format!(
                "librdkafka option {key:?} conflicts with {typed_key:?}, which a typed setting controls; \
                 use the typed setting instead"
            ));
        }
        out.insert(key.to_owned(), v.clone());
    }
    Ok(out)
}

/// A `ClientConfig` from merged settings.
pub fn client_config(settings: &BTreeMap<String, String>) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in settings {
        c.set(k, v);
    }
    if settings.get("debug").is_some_and(|v| !v.is_empty()) {
        c.set_log_level(RDKafkaLogLevel::Debug);
    }
    c
}

/// `Debug` for a passthrough list, secrets hidden.
pub struct RedactedOptions<'a>(pub &'a [(String, String)]);

impl fmt::Debug for RedactedOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.0 {
            if is_sensitive(k) {
                m.entry(k, &"***");
            } else {
                m.entry(k, v);
            }
        }
        m.finish()
    }
}

/// Forwards a librdkafka log line to `tracing` (target `librdkafka`).
pub fn log_to_tracing(client: &str, level: RDKafkaLogLevel, fac: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => {
            tracing::error!(target: "librdkafka", client, facility = fac, "{message}")
        }
        RDKafkaLogLevel::Warning => {
            tracing::warn!(target: "librdkafka", client, facility = fac, "{message}")
        }
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", client, facility = fac, "{message}")
        }
        RDKafkaLogLevel::Debug => {
            tracing::debug!(target: "librdkafka", client, facility = fac, "{message}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl() -> Sasl {
        Sasl {
            mechanism: SaslMechanism::ScramSha512,
            username: "svc-bridge".into(),
            password: "p@ss w0rd".into(),
        }
    }

    #[test]
    fn sasl_ssl_keys_are_exactly_as_configured() {
        let tls = Tls {
            ca_location: Some("/etc/kafka/ca.pem".into()),
            certificate_location: Some("/etc/kafka/client.pem".into()),
            key_location: Some("/etc/kafka/client.key".into()),
            key_password: Some("kp".into()),
            verify_hostname: false,
        };
        let pairs = Security::sasl_ssl(sasl(), tls).to_pairs().unwrap();
        let got: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("security.protocol", "sasl_ssl"),
                ("ssl.ca.location", "/etc/kafka/ca.pem"),
                ("ssl.certificate.location", "/etc/kafka/client.pem"),
                ("ssl.key.location", "/etc/kafka/client.key"),
                ("ssl.key.password", "kp"),
                ("ssl.endpoint.identification.algorithm", "none"),
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.username", "svc-bridge"),
                ("sasl.password", "p@ss w0rd"),
            ]
        );
    }

    #[test]
    fn sasl_plaintext_plain_mechanism() {
        let s = Sasl {
            mechanism: SaslMechanism::Plain,
            username: "u".into(),
            password: "pw".into(),
        };
        let pairs = Security::sasl_plaintext(s).to_pairs().unwrap();
        assert!(pairs.contains(&("security.protocol", "sasl_plaintext".into())));
        assert!(pairs.contains(&("sasl.mechanism", "PLAIN".into())));
        assert!(pairs.contains(&("sasl.password", "pw".into())));
        assert!(!pairs.iter().any(|(k, _)| k.starts_with("ssl.")));
    }

    #[test]
    fn contradictions_are_rejected() {
        let e = Security {
            protocol: SecurityProtocol::Plaintext,
            tls: None,
            sasl: Some(sasl()),
        }
        .to_pairs()
        .unwrap_err();
        assert_eq!(e, "SASL settings given but security.protocol is plaintext");
        let e = Security {
            protocol: SecurityProtocol::SaslSsl,
            tls: None,
            sasl: None,
        }
        .to_pairs()
        .unwrap_err();
        assert_eq!(e, "security.protocol sasl_ssl needs SASL settings");
        let e = Security {
            protocol: SecurityProtocol::Plaintext,
            tls: Some(Tls::default()),
            sasl: None,
        }
        .to_pairs()
        .unwrap_err();
        assert_eq!(e, "TLS settings given but security.protocol is plaintext");
        let half = Tls {
            certificate_location: Some("/c.pem".into()),
            ..Tls::default()
        };
        assert_eq!(
            Security::ssl(half).to_pairs().unwrap_err(),
            "mutual TLS needs both a client certificate and its key"
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let tls = Tls {
            key_password: Some("tls-secret".into()),
            ..Tls::default()
        };
        let text = format!("{:?}", Security::sasl_ssl(sasl(), tls));
        assert!(
            !text.contains("p@ss w0rd") && !text.contains("tls-secret"),
            "{text}"
        );
        assert!(text.contains("svc-bridge"));
        let opts = vec![
            ("sasl.password".to_owned(), "hunter2".to_owned()),
            ("sasl.oauthbearer.client.secret".to_owned(), "s3".to_owned()),
            ("linger.ms".to_owned(), "7".to_owned()),
        ];
        let text = format!("{:?}", RedactedOptions(&opts));
        assert!(
            !text.contains("hunter2") && !text.contains("s3\""),
            "{text}"
        );
        assert!(text.contains("\"linger.ms\": \"7\""), "{text}");
    }

    #[test]
    fn passthrough_overrides_defaults_but_not_typed_settings() {
        let typed = vec![
            ("bootstrap.servers", "b:9092".to_owned()),
            ("acks", "all".to_owned()),
        ];
        let ok = merge(
            &[("fetch.queue.backoff.ms", "10")],
            &typed,
            &[
                ("fetch.queue.backoff.ms".into(), "50".into()),
                ("debug".into(), "cgrp".into()),
            ],
        )
        .unwrap();
        assert_eq!(ok["fetch.queue.backoff.ms"], "50");
        assert_eq!(ok["bootstrap.servers"], "b:9092");
        assert_eq!(ok["debug"], "cgrp");

        let e = merge(&[], &typed, &[("bootstrap.servers".into(), "x:1".into())]).unwrap_err();
        assert!(
            e.contains("\"bootstrap.servers\" conflicts with \"bootstrap.servers\""),
            "{e}"
        );
        // aliases count as the same key
        let e = merge(&[], &typed, &[("request.required.acks".into(), "1".into())]).unwrap_err();
        assert!(
            e.contains("\"request.required.acks\" conflicts with \"acks\""),
            "{e}"
        );
        let e = merge(&[], &typed, &[(" ".into(), "1".into())]).unwrap_err();
        assert_eq!(e, "librdkafka option with an empty key");
    }
}
