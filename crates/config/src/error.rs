//! [`ConfigError`], [`Problem`] and [`Source`]: what is wrong, and where the
//! value came from.

use std::fmt;
use std::path::PathBuf;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Not set anywhere: the built-in default.
    Default,
    /// A configuration file (`--config FILE`).
    File {
        /// The path as given.
        path: PathBuf,
    },
    /// An environment variable (`KBRIDGE_…` or a plain alias such as `KAFKA_BROKERS`).
    Env {
        /// The variable's name.
        var: String,
    },
    /// A command-line override `--set key=value`.
    Cli {
        /// The key part of the override (the value is not kept: it may be secret).
        key: String,
    },
    /// Set by a program on a [`crate::Config`] value it built.
    Program,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("built-in default"),
            Source::File { path } => write!(f, "file {}", path.display()),
            Source::Env { var } => write!(f, "env {var}"),
            Source::Cli { key } => write!(f, "--set {key}"),
            Source::Program => f.write_str("the program"),
        }
    }
}

/// One thing wrong with the configuration.
///
/// Rendered as `key: message (set by SOURCE)`, for example
/// `kafka.security_protocol: unknown value … (set by env KAFKA_SECURITY_PROTOCOL)`,
/// or `message (set by SOURCE)` when no single key is at fault (a file that
/// does not parse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key (`kafka.sasl.username`); empty when the problem is not
    /// about one key. Map keys containing dots are quoted
    /// (`consumer.librdkafka."fetch.min.bytes"`).
    pub key: String,
    /// Where the offending value came from.
    pub source: Source,
    /// What is wrong (lower-case, no trailing period).
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)?;
        match &self.source {
            Source::Default => f.write_str(" (built-in default)"),
            source => write!(f, " (set by {source})"),
        }
    }
}

/// Every problem found, in the order found: file and override syntax,
/// unknown keys, invalid values, then cross-key (semantic) checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No problem.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} configuration problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.0 {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Loading or validating found problems; all of them are listed, one per line.
    #[error("{0}")]
    Validate(Problems),
    /// Rendering the effective configuration failed.
    #[error("cannot render the configuration as {format}: {message}")]
    Render {
        /// `toml` or `json`.
        format: &'static str,
        /// The serializer's message.
        message: String,
    },
}

impl ConfigError {
    /// The problems, for [`ConfigError::Validate`]; empty otherwise.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Validate(problems) => &problems.0,
            ConfigError::Render { .. } => &[],
        }
    }
}
