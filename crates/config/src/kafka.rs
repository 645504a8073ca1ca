//! `[kafka]`: the cluster connection shared by every client (brokers,
//! client id, timeouts, security).

use crate::Secret;
use crate::serde_util::{duration, list, string_enum};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `[kafka]`: how to reach and authenticate to the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port` (`bootstrap.servers`).
    #[serde(deserialize_with = "list::deserialize")]
    pub brokers: Vec<String>,
    /// `client.id`, visible in broker logs and quotas.
    pub client_id: String,
    /// `socket.timeout.ms`: network request timeout.
    #[serde(with = "duration")]
    pub socket_timeout: Duration,
    /// `socket.connection.setup.timeout.ms`.
    #[serde(with = "duration")]
    pub connection_setup_timeout: Duration,
    /// `metadata.max.age.ms`: how often cluster metadata is refreshed.
    #[serde(with = "duration")]
    pub metadata_max_age: Duration,
    /// `security.protocol`.
    pub security_protocol: SecurityProtocol,
    /// `[kafka.sasl]`, used when the protocol is `SASL_PLAINTEXT` or `SASL_SSL`.
    pub sasl: SaslConfig,
    /// `[kafka.ssl]`, used when the protocol is `SSL` or `SASL_SSL`.
    pub ssl: TlsConfig,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: vec!["localhost:9092".to_string()],
            client_id: "kbridge".to_string(),
            socket_timeout: Duration::from_secs(60),
            connection_setup_timeout: Duration::from_secs(30),
            metadata_max_age: Duration::from_secs(15 * 60),
            security_protocol: SecurityProtocol::default(),
            sasl: SaslConfig::default(),
            ssl: TlsConfig::default(),
        }
    }
}

string_enum! {
    /// `security.protocol`.
    pub enum SecurityProtocol {
        /// No TLS, no authentication.
        Plaintext = "PLAINTEXT",
        /// TLS (optionally with client certificates).
        Ssl = "SSL",
        /// SASL authentication without TLS.
        SaslPlaintext = "SASL_PLAINTEXT",
        /// SASL authentication over TLS.
        SaslSsl = "SASL_SSL",
    }
    default = Plaintext;
}

impl SecurityProtocol {
    /// The protocol authenticates with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }

    /// The protocol encrypts with TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// The librdkafka spelling (`sasl_ssl`).
    pub fn librdkafka_value(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }
}

string_enum! {
    /// `sasl.mechanisms`.
    pub enum SaslMechanism {
        /// Username and password in clear (use with `SASL_SSL`).
        Plain = "PLAIN",
        /// SCRAM with SHA-256.
        ScramSha256 = "SCRAM-SHA-256",
        /// SCRAM with SHA-512.
        ScramSha512 = "SCRAM-SHA-512",
        /// OAuth 2 bearer tokens.
        Oauthbearer = "OAUTHBEARER",
    }
    default = Plain;
}

string_enum! {
    /// `sasl.oauthbearer.method`.
    pub enum OauthbearerMethod {
        /// Tokens come from the application (or librdkafka's unsecured JWT
        /// builder for development).
        Default = "default",
        /// librdkafka fetches tokens from an OIDC token endpoint.
        Oidc = "oidc",
    }
    default = Default;
}

/// `[kafka.sasl]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SaslConfig {
    /// `sasl.mechanisms`.
    pub mechanism: SaslMechanism,
    /// `sasl.username` (PLAIN, SCRAM).
    pub username: Option<String>,
    /// `sasl.password` (PLAIN, SCRAM).
    pub password: Option<Secret>,
    /// `sasl.oauthbearer.method` (OAUTHBEARER).
    pub oauthbearer_method: OauthbearerMethod,
    /// `sasl.oauthbearer.client.id` (OAUTHBEARER with `oidc`).
    pub oauthbearer_client_id: Option<String>,
    /// `sasl.oauthbearer.client.secret` (OAUTHBEARER with `oidc`).
    pub oauthbearer_client_secret: Option<Secret>,
    /// `sasl.oauthbearer.token.endpoint.url` (OAUTHBEARER with `oidc`).
    pub oauthbearer_token_endpoint_url: Option<String>,
    /// `sasl.oauthbearer.scope` (OAUTHBEARER with `oidc`).
    pub oauthbearer_scope: Option<String>,
}

impl SaslConfig {
    /// Any credential or OAUTHBEARER setting is present.
    pub(crate) fn has_settings(&self) -> bool {
        self.username.is_some()
            || self.password.is_some()
            || self.oauthbearer_client_id.is_some()
            || self.oauthbearer_client_secret.is_some()
            || self.oauthbearer_token_endpoint_url.is_some()
            || self.oauthbearer_scope.is_some()
    }
}

/// TLS files: `[kafka.ssl]` and `[schema_registry.ssl]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// CA bundle (PEM) to verify the server (`ssl.ca.location`); unset uses
    /// the system trust store.
    pub ca_location: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS (`ssl.certificate.location`).
    pub certificate_location: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS (`ssl.key.location`).
    pub key_location: Option<PathBuf>,
    /// Password of an encrypted private key (`ssl.key.password`).
    pub key_password: Option<Secret>,
    /// Verify that the server certificate matches the host name
    /// (`ssl.endpoint.identification.algorithm` = `https` or `none`).
    pub endpoint_identification: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ca_location: None,
            certificate_location: None,
            key_location: None,
            key_password: None,
            endpoint_identification: true,
        }
    }
}

impl TlsConfig {
    /// Any TLS file or key password is set.
    pub(crate) fn has_settings(&self) -> bool {
        self.ca_location.is_some()
            || self.certificate_location.is_some()
            || self.key_location.is_some()
            || self.key_password.is_some()
    }
}
