//! HTTP transport: base URLs with failover, timeouts, retries with jittered
//! exponential backoff, authentication and TLS.

use crate::{RegistryClient, RegistryError, Secret};
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tracing::{debug, warn};
use url::Url;

/// Content type of Confluent's API, sent on every request body.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";
const ACCEPT: &str =
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json";

/// Future returned by [`TokenProvider::token`].
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<Secret, String>> + Send + 'a>>;

/// Source of bearer tokens (OAuth, a file a sidecar rotates, ...).
///
/// The client asks for a token before each request with `refresh = false`
/// (implementations cache it), and once more with `refresh = true` when the
/// registry answered 401, then retries the request once with the new token.
pub trait TokenProvider: Send + Sync + 'static {
    fn token(&self, refresh: bool) -> TokenFuture<'_>;
}

/// A fixed bearer token.
#[derive(Debug, Clone)]
pub struct StaticToken(pub Secret);

impl TokenProvider for StaticToken {
    fn token(&self, _refresh: bool) -> TokenFuture<'_> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// How the client authenticates.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    /// HTTP basic auth (`basic.auth.user.info` in Confluent's clients).
    Basic { username: String, password: Secret },
    /// `Authorization: Bearer <token>` from a provider.
    Bearer(Arc<dyn TokenProvider>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// TLS settings beyond the system trust store.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// PEM bundle of extra CA certificates to trust.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM certificate chain of the client certificate.
    pub client_cert_pem: Option<Vec<u8>>,
    /// PEM PKCS#8 private key of the client certificate.
    pub client_key_pem: Option<Secret>,
    /// Skip the check that the certificate matches the host name.
    pub accept_invalid_hostnames: bool,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca_pem", &self.ca_pem.as_ref().map(|c| c.len()))
            .field(
                "client_cert_pem",
                &self.client_cert_pem.as_ref().map(|c| c.len()),
            )
            .field(
                "client_key_pem",
                &self.client_key_pem.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// Retry policy for connection errors, timeouts, 5xx and 429.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Rounds over all base URLs after the first one (0 = no retry).
    pub max_retries: u32,
    /// Backoff before the first retry; doubles each round.
    pub initial_backoff: Duration,
    /// Cap of the backoff.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Backoff after round `attempt` (0-based): exponential, capped, with
    /// "equal jitter" (uniform in [d/2, d]) so clients do not stampede.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(30));
        let full = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let half = full / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::rng().random_range(0..=jitter_ms))
    }
}

/// Builder of a [`RegistryClient`].
#[derive(Debug, Clone)]
pub struct RegistryClientBuilder {
    urls: Vec<String>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    auth: Auth,
    tls: TlsOptions,
    latest_ttl: Duration,
}

impl RegistryClientBuilder {
    pub(crate) fn new<I, S>(urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        RegistryClientBuilder {
            urls: urls
                .into_iter()
                .flat_map(|u| {
                    u.as_ref()
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                })
                .collect(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            auth: Auth::None,
            tls: TlsOptions::default(),
            latest_ttl: Duration::from_secs(60),
        }
    }

    /// Whole-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retry policy (default: 3 retries, 100 ms doubling to at most 5 s).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Authentication (default none; `user:password@` in a URL means basic auth).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Basic auth shorthand.
    pub fn basic_auth(self, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.auth(Auth::Basic {
            username: username.into(),
            password: password.into(),
        })
    }

    /// Bearer token shorthand.
    pub fn bearer(self, provider: impl TokenProvider) -> Self {
        self.auth(Auth::Bearer(Arc::new(provider)))
    }

    /// Custom CA and client certificate.
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// How long `latest_version` answers from its cache (default 60 s).
    pub fn latest_ttl(mut self, ttl: Duration) -> Self {
        self.latest_ttl = ttl;
        self
    }

    /// Builds the client (no request is made: see
    /// [`RegistryClient::check_reachable`]).
    pub fn build(self) -> Result<RegistryClient, RegistryError> {
        let build_err = |reason: String, source: Option<reqwest::Error>| {
            RegistryError::BuildClient { reason, source }
        };
        if self.urls.is_empty() {
            return Err(build_err("no schema registry url given".to_string(), None));
        }
        let mut auth = self.auth;
        let mut bases = Vec::with_capacity(self.urls.len());
        for raw in &self.urls {
            let mut url = Url::parse(raw).map_err(|e| {
                build_err(
                    format!("invalid schema registry url {:?}: {e}", redact_url(raw)),
                    None,
                )
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(build_err(
                    format!(
                        "schema registry url {} must be http or https",
                        redact_url(raw)
                    ),
                    None,
                ));
            }
            if !url.username().is_empty() {
                let username = percent_encoding::percent_decode_str(url.username())
                    .decode_utf8_lossy()
                    .into_owned();
                let password = url
                    .password()
                    .map(|p| {
                        percent_encoding::percent_decode_str(p)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                    .unwrap_or_default();
                if matches!(auth, Auth::None) {
                    auth = Auth::Basic {
                        username,
                        password: Secret::new(password),
                    };
                }
                // Credentials never stay in a URL that errors and logs print.
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            let text = url.as_str().trim_end_matches('/').to_string();
            bases.push(text);
        }

        let mut http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .tls_backend_native()
            .user_agent(concat!("kbridge-registry/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &self.tls.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(ca).map_err(|e| {
                build_err("read the schema registry CA bundle".to_string(), Some(e))
            })?;
            for cert in certs {
                http = http.add_root_certificate(cert);
            }
        }
        if self.tls.accept_invalid_hostnames {
            http = http.tls_danger_accept_invalid_hostnames(true);
        }
        match (&self.tls.client_cert_pem, &self.tls.client_key_pem) {
            (Some(cert), Some(key)) => {
                let identity = reqwest::Identity::from_pkcs8_pem(cert, key.expose().as_bytes())
                    .map_err(|e| {
                        build_err(
                            "read the schema registry client certificate and key (PEM, PKCS#8)"
                                .to_string(),
                            Some(e),
                        )
                    })?;
                http = http.identity(identity);
            }
            (None, None) => {}
            _ => {
                return Err(build_err(
                    "a client certificate needs both the certificate and the private key"
                        .to_string(),
                    None,
                ));
            }
        }
        let http = http
            .build()
            .map_err(|e| build_err("create the http client".to_string(), Some(e)))?;
        let transport = Transport {
            http,
            bases,
            auth,
            retry: self.retry,
            preferred: AtomicUsize::new(0),
        };
        Ok(RegistryClient::from_parts(transport, self.latest_ttl))
    }
}

/// `scheme://***@host/...` for a URL that may carry credentials.
pub(crate) fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            if !url.username().is_empty() || url.password().is_some() {
                let _ = url.set_username("***");
                let _ = url.set_password(None);
            }
            url.to_string()
        }
        Err(_) => "<unparsable url>".to_string(),
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error_code: Option<i32>,
    message: Option<String>,
}

/// Outcome of one attempt against one base URL.
enum Attempt {
    Retry(RegistryError),
    Stop(RegistryError),
}

pub(crate) struct Transport {
    http: reqwest::Client,
    bases: Vec<String>,
    auth: Auth,
    retry: RetryPolicy,
    preferred: AtomicUsize,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("bases", &self.bases)
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .finish()
    }
}

/// One API request: `path` is already percent-encoded and may carry a query.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub path: String,
    pub body: Option<Vec<u8>>,
    pub operation: &'a str,
}

impl Transport {
    pub(crate) fn bases(&self) -> &[String] {
        &self.bases
    }

    /// Sends `call` with failover and retries; returns the URL that answered
    /// and the body of a 2xx answer.
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<(String, Vec<u8>), RegistryError> {
        let n = self.bases.len();
        let start = self.preferred.load(Ordering::Relaxed) % n;
        let mut last = None;
        for round in 0..=self.retry.max_retries {
            for k in 0..n {
                let idx = (start + k) % n;
                match self.attempt(idx, call).await {
                    Ok(ok) => {
                        if idx != start {
                            self.preferred.store(idx, Ordering::Relaxed);
                        }
                        return Ok(ok);
                    }
                    Err(Attempt::Stop(e)) => return Err(e),
                    Err(Attempt::Retry(e)) => {
                        debug!(url = %self.bases[idx], round, error = %e, "schema registry request failed, trying next");
                        last = Some(e);
                    }
                }
            }
            if round < self.retry.max_retries {
                let wait = self.retry.backoff(round);
                warn!(
                    operation = call.operation,
                    round,
                    wait_ms = wait.as_millis() as u64,
                    "schema registry unavailable, backing off"
                );
                tokio::time::sleep(wait).await;
            }
        }
        Err(last.unwrap_or_else(|| RegistryError::Unreachable {
            details: "no base url".to_string(),
        }))
    }

    /// One attempt against base `idx`, no retry (start-up check).
    pub(crate) async fn probe(&self, idx: usize, call: &Call<'_>) -> Result<(), RegistryError> {
        match self.attempt(idx, call).await {
            Ok(_) => Ok(()),
            Err(Attempt::Retry(e) | Attempt::Stop(e)) => Err(e),
        }
    }

    /// Sends to base `idx` only, once (plus one retry after a 401 with a
    /// refreshed bearer token).
    async fn attempt(&self, idx: usize, call: &Call<'_>) -> Result<(String, Vec<u8>), Attempt> {
        let url = format!("{}{}", self.bases[idx], call.path);
        let mut refreshed = false;
        loop {
            let mut req = self
                .http
                .request(call.method.clone(), &url)
                .header(reqwest::header::ACCEPT, ACCEPT);
            if let Some(body) = &call.body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                    .body(body.clone());
            }
            match &self.auth {
                Auth::None => {}
                Auth::Basic { username, password } => {
                    req = req.basic_auth(username, Some(password.expose()));
                }
                Auth::Bearer(provider) => {
                    let token = provider
                        .token(refreshed)
                        .await
                        .map_err(|reason| Attempt::Retry(RegistryError::FetchToken { reason }))?;
                    req = req.bearer_auth(token.expose());
                }
            }
            let response = match req.send().await {
                Ok(r) => r,
                Err(source) => {
                    return Err(Attempt::Retry(RegistryError::Request {
                        operation: call.operation.to_string(),
                        url: url.clone(),
                        source: source.without_url(),
                    }));
                }
            };
            let status = response.status();
            let body = match response.bytes().await {
                Ok(b) => b.to_vec(),
                Err(source) => {
                    return Err(Attempt::Retry(RegistryError::Request {
                        operation: call.operation.to_string(),
                        url: url.clone(),
                        source: source.without_url(),
                    }));
                }
            };
            if status.is_success() {
                return Ok((url, body));
            }
            if status == StatusCode::UNAUTHORIZED
                && matches!(self.auth, Auth::Bearer(_))
                && !refreshed
            {
                refreshed = true;
                continue;
            }
            let err = registry_error(call.operation, status, &body);
            return Err(
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                    Attempt::Retry(err)
                } else {
                    Attempt::Stop(err)
                },
            );
        }
    }
}

fn registry_error(operation: &str, status: StatusCode, body: &[u8]) -> RegistryError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (code, message) = match parsed {
        Some(ErrorBody {
            error_code,
            message,
        }) => (error_code, message),
        None => (None, None),
    };
    let message = message.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string()
        } else {
            text.chars().take(300).collect()
        }
    });
    RegistryError::Registry {
        operation: operation.to_string(),
        status: status.as_u16(),
        error_code: code.unwrap_or(i32::from(status.as_u16())),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let b0 = p.backoff(0);
            assert!(
                b0 >= Duration::from_millis(50) && b0 <= Duration::from_millis(100),
                "{b0:?}"
            );
            let b2 = p.backoff(2);
            assert!(
                b2 >= Duration::from_millis(200) && b2 <= Duration::from_millis(400),
                "{b2:?}"
            );
            let b9 = p.backoff(9);
            assert!(
                b9 >= Duration::from_millis(500) && b9 <= Duration::from_millis(1000),
                "{b9:?}"
            );
        }
    }

    #[test]
    fn credentials_in_url_become_basic_auth_and_leave_the_url() {
        let client = RegistryClient::builder(["http://alice:s%3Dcret@127.0.0.1:1/base/"])
            .build()
            .unwrap();
        let dbg = format!("{client:?}");
        assert!(
            !dbg.contains("s=cret") && !dbg.contains("s%3Dcret"),
            "{dbg}"
        );
        assert!(dbg.contains("http://127.0.0.1:1/base"), "{dbg}");
        assert!(dbg.contains("alice"), "{dbg}");
        assert_eq!(redact_url("http://a:b@h:1/"), "http://***@h:1/");
    }

    #[test]
    fn error_body_is_parsed_or_summarised() {
        let e = registry_error(
            "get x",
            StatusCode::NOT_FOUND,
            br#"{"error_code":40401,"message":"Subject 'x' not found."}"#,
        );
        assert_eq!(e.error_code(), Some(40401));
        assert_eq!(
            e.to_string(),
            "get x: schema registry answered http 404, error code 40401: Subject 'x' not found."
        );
        let e = registry_error(
            "get x",
            StatusCode::BAD_GATEWAY,
            b"<html>bad gateway</html>",
        );
        assert_eq!(e.error_code(), Some(502));
        assert_eq!(e.registry_message(), Some("<html>bad gateway</html>"));
    }

    #[test]
    fn a_client_needs_a_url_and_both_halves_of_a_certificate() {
        let none: [&str; 0] = [];
        assert!(RegistryClient::builder(none).build().is_err());
        let err = RegistryClient::builder(["http://127.0.0.1:1"])
            .tls(TlsOptions {
                client_cert_pem: Some(b"x".to_vec()),
                ..TlsOptions::default()
            })
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("needs both"), "{err}");
        let err = RegistryClient::builder(["ftp://h"]).build().unwrap_err();
        assert!(err.to_string().contains("must be http or https"), "{err}");
    }
}
