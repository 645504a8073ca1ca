//! `kbridge schema list|versions|get|register|check|delete|config`: a
//! Confluent-compatible Schema Registry from the command line.
//!
//! The registry URL comes from `--registry-url` (or `SCHEMA_REGISTRY_URL`),
//! else from the configuration's `[schema_registry]` section, which also
//! gives credentials, TLS, timeouts and retries. Failures exit 1 with the
//! registry's `error_code` and message; `check` exits 1 when incompatible.

use crate::global::GlobalArgs;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use kbridge_config::SchemaRegistryConfig;
use kbridge_registry::compat::{self, CompatibilityLevel, Incompatibility, SchemaWithReferences};
use kbridge_registry::{
    RegistryClient, RetryPolicy, SchemaDefinition, SchemaReference, SchemaType, Secret,
    StaticToken, TlsOptions, VersionSelector,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// `kbridge schema …`
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Registry base URL (repeatable, or comma-separated); overrides
    /// `schema_registry.url` from the configuration
    #[arg(
        long = "registry-url",
        env = "SCHEMA_REGISTRY_URL",
        value_name = "URL",
        global = true
    )]
    registry_url: Vec<String>,
    /// Print JSON instead of text
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: SchemaCommand,
}

#[derive(Debug, Subcommand)]
enum SchemaCommand {
    /// List subjects
    List {
        /// Include soft-deleted subjects
        #[arg(long)]
        deleted: bool,
        /// Only subjects starting with this prefix
        #[arg(long)]
        prefix: Option<String>,
    },
    /// List the versions of a subject
    Versions {
        subject: String,
        /// Include soft-deleted versions
        #[arg(long)]
        deleted: bool,
    },
    /// Show a subject version (default latest), or a schema by id
    Get {
        /// Subject (omit with --id)
        #[arg(required_unless_present = "id")]
        subject: Option<String>,
        /// Version number or `latest`
        #[arg(default_value = "latest")]
        version: String,
        /// Fetch the schema with this id instead
        #[arg(long, conflicts_with = "subject")]
        id: Option<u32>,
        /// Include soft-deleted versions
        #[arg(long)]
        deleted: bool,
    },
    /// Register a schema file under a subject; prints its id
    Register {
        subject: String,
        file: PathBuf,
        /// AVRO, JSON or PROTOBUF
        #[arg(long = "type", default_value = "AVRO")]
        schema_type: SchemaType,
        /// A reference NAME=SUBJECT:VERSION (repeatable)
        #[arg(long = "reference", value_name = "NAME=SUBJECT:VERSION")]
        references: Vec<String>,
        /// Ask the registry to normalize the schema
        #[arg(long)]
        normalize: bool,
    },
    /// Check compatibility: offline `check --against old.avsc [--against …]
    /// --level BACKWARD new.avsc`, or online `check SUBJECT new.avsc`
    Check {
        /// `new.avsc` (offline) or `SUBJECT new.avsc` (online)
        #[arg(num_args = 1..=2, value_name = "SUBJECT|FILE")]
        args: Vec<String>,
        /// Previous schema files, oldest first (offline check)
        #[arg(long = "against", value_name = "FILE")]
        against: Vec<PathBuf>,
        /// Compatibility level; online default: the subject's level in the registry,
        /// offline default: BACKWARD
        #[arg(long)]
        level: Option<CompatibilityLevel>,
        /// Online: references of the new schema, NAME=SUBJECT:VERSION (repeatable)
        #[arg(long = "reference", value_name = "NAME=SUBJECT:VERSION")]
        references: Vec<String>,
        /// Online: ask the registry (its compatibility endpoint, verbose) instead of
        /// checking locally against the subject's versions
        #[arg(long)]
        server_side: bool,
    },
    /// Delete a subject, or one version (soft unless --permanent, which needs a soft delete first)
    Delete {
        subject: String,
        /// Only this version (number or `latest`)
        #[arg(long)]
        version: Option<String>,
        #[arg(long)]
        permanent: bool,
    },
    /// Show, set or delete the compatibility level (global without SUBJECT)
    Config {
        subject: Option<String>,
        /// Set this level
        #[arg(long, conflicts_with = "delete")]
        level: Option<CompatibilityLevel>,
        /// Remove the level (a subject then follows the global one)
        #[arg(long)]
        delete: bool,
    },
}

/// Runs one `schema` subcommand.
pub fn run(global: &GlobalArgs, args: SchemaArgs) -> anyhow::Result<ExitCode> {
    // The offline check needs neither configuration nor network.
    if let SchemaCommand::Check { against, .. } = &args.command
        && !against.is_empty()
    {
        return check_offline(&args);
    }
    let config = global.setup()?;
    let client = client(&config.schema_registry, &args.registry_url)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?
        .block_on(run_online(&client, &args))
}

/// A client from `[schema_registry]`, with `urls` (when given) replacing its URLs.
pub fn client(config: &SchemaRegistryConfig, urls: &[String]) -> anyhow::Result<RegistryClient> {
    let urls = if urls.is_empty() { &config.url } else { urls };
    let mut builder = RegistryClient::builder(urls)
        .timeout(config.request_timeout)
        .retry(RetryPolicy {
            max_retries: config.retries,
            initial_backoff: config.retry_backoff,
            max_backoff: Duration::from_secs(10),
        })
        .latest_ttl(config.latest_cache_ttl);
    if let Some(token) = &config.bearer_token {
        builder = builder.bearer(StaticToken(Secret::new(token.expose())));
    } else if let Some(user) = &config.username {
        let password = config
            .password
            .as_ref()
            .map(|p| p.expose())
            .unwrap_or_default();
        builder = builder.basic_auth(user.clone(), Secret::new(password));
    }
    let ssl = &config.ssl;
    if ssl.key_password.is_some() {
        bail!(
            "schema_registry.ssl.key_password: encrypted client keys are not supported for the schema registry; use an unencrypted PKCS#8 PEM key"
        );
    }
    let read = |path: &Option<PathBuf>, what: &str| -> anyhow::Result<Option<Vec<u8>>> {
        path.as_ref()
            .map(|p| {
                std::fs::read(p)
                    .with_context(|| format!("read schema registry {what} {}", p.display()))
            })
            .transpose()
    };
    builder = builder.tls(TlsOptions {
        ca_pem: read(&ssl.ca_location, "CA bundle")?,
        client_cert_pem: read(&ssl.certificate_location, "client certificate")?,
        client_key_pem: read(&ssl.key_location, "client key")?
            .map(|k| Secret::new(String::from_utf8_lossy(&k).into_owned())),
        accept_invalid_hostnames: !ssl.endpoint_identification,
    });
    Ok(builder.build()?)
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `NAME=SUBJECT:VERSION` (the subject may itself contain `:`).
fn parse_reference(raw: &str) -> anyhow::Result<SchemaReference> {
    let parse = || {
        let (name, rest) = raw.split_once('=')?;
        let (subject, version) = rest.rsplit_once(':')?;
        Some(SchemaReference {
            name: name.to_string(),
            subject: subject.to_string(),
            version: version.parse().ok()?,
        })
    };
    parse().with_context(|| format!("reference {raw:?} is not NAME=SUBJECT:VERSION"))
}

fn read_schema(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("read schema file {}", path.display()))
}

fn version(raw: &str) -> anyhow::Result<VersionSelector> {
    raw.parse::<VersionSelector>().map_err(anyhow::Error::msg)
}

fn report(
    json: bool,
    level: CompatibilityLevel,
    found: &[Incompatibility],
    against: &[String],
) -> anyhow::Result<ExitCode> {
    if json {
        print_json(&json!({
            "is_compatible": found.is_empty(),
            "level": level,
            "incompatibilities": found,
        }))?;
    } else if found.is_empty() {
        println!("compatible ({level}) with {}", against.join(", "));
    } else {
        println!("incompatible ({level}):");
        for i in found {
            let with = i
                .previous_index
                .and_then(|n| against.get(n))
                .map(|s| format!(" [against {s}]"))
                .unwrap_or_default();
            println!("  {i}{with}");
        }
    }
    Ok(if found.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn check_offline(args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    let SchemaCommand::Check {
        args: positional,
        against,
        level,
        ..
    } = &args.command
    else {
        bail!("not a check command");
    };
    let [file] = positional.as_slice() else {
        bail!(
            "the offline check takes one new schema file: kbridge schema check --against old.avsc new.avsc"
        );
    };
    let level = level.unwrap_or(CompatibilityLevel::Backward);
    let found = compat::check_files(level, Path::new(file), against)?;
    let names: Vec<String> = against.iter().map(|p| p.display().to_string()).collect();
    report(args.json, level, &found, &names)
}

async fn run_online(client: &RegistryClient, args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    match &args.command {
        SchemaCommand::List { deleted, prefix } => {
            let mut subjects = client.subjects(*deleted).await?;
            if let Some(p) = prefix {
                subjects.retain(|s| s.starts_with(p.as_str()));
            }
            if json {
                print_json(&subjects)?;
            } else {
                subjects.iter().for_each(|s| println!("{s}"));
            }
        }
        SchemaCommand::Versions { subject, deleted } => {
            let versions = client.versions(subject, *deleted).await?;
            if json {
                print_json(&versions)?;
            } else {
                versions.iter().for_each(|v| println!("{v}"));
            }
        }
        SchemaCommand::Get {
            subject,
            version: v,
            id,
            deleted,
        } => match (id, subject) {
            (Some(id), _) => {
                let def = client.schema_by_id(*id, None).await?;
                if json {
                    print_json(
                        &json!({"id": id, "schemaType": def.schema_type, "references": def.references, "schema": def.schema}),
                    )?;
                } else {
                    println!("id {id} type {}", def.schema_type);
                    println!("{}", pretty(&def.schema));
                }
            }
            (None, Some(subject)) => {
                let found = client.version(subject, version(v)?, *deleted).await?;
                if json {
                    print_json(&found)?;
                } else {
                    println!(
                        "subject {} version {} id {} type {}",
                        found.subject, found.version, found.id, found.schema_type
                    );
                    for r in &found.references {
                        println!("reference {}={}:{}", r.name, r.subject, r.version);
                    }
                    println!("{}", pretty(&found.schema));
                }
            }
            (None, None) => bail!("give a SUBJECT or --id"),
        },
        SchemaCommand::Register {
            subject,
            file,
            schema_type,
            references,
            normalize,
        } => {
            let refs = references
                .iter()
                .map(|r| parse_reference(r))
                .collect::<Result<Vec<_>, _>>()?;
            let def = SchemaDefinition::new(*schema_type, read_schema(file)?).with_references(refs);
            let id = client.register(subject, &def, *normalize).await?;
            if json {
                print_json(&json!({"id": id}))?;
            } else {
                println!("{id}");
            }
        }
        SchemaCommand::Check {
            args: positional,
            level,
            references,
            server_side,
            ..
        } => {
            let [subject, file] = positional.as_slice() else {
                bail!(
                    "the online check takes SUBJECT and FILE: kbridge schema check orders-value new.avsc (or use --against for an offline check)"
                );
            };
            let refs = references
                .iter()
                .map(|r| parse_reference(r))
                .collect::<Result<Vec<_>, _>>()?;
            let def = SchemaDefinition::avro(read_schema(Path::new(file))?).with_references(refs);
            return check_online(client, subject, &def, *level, *server_side, json).await;
        }
        SchemaCommand::Delete {
            subject,
            version: v,
            permanent,
        } => {
            let deleted = match v {
                Some(v) => vec![
                    client
                        .delete_version(subject, version(v)?, *permanent)
                        .await?,
                ],
                None => client.delete_subject(subject, *permanent).await?,
            };
            if json {
                print_json(&deleted)?;
            } else {
                let kind = if *permanent {
                    "permanently deleted"
                } else {
                    "soft-deleted"
                };
                let list: Vec<String> = deleted.iter().map(u32::to_string).collect();
                println!("{kind} {subject} version(s) {}", list.join(", "));
            }
        }
        SchemaCommand::Config {
            subject,
            level,
            delete,
        } => {
            let subject = subject.as_deref();
            let shown = if *delete {
                client.delete_config(subject).await?
            } else if let Some(level) = level {
                client.set_config(subject, *level).await?
            } else {
                client.config(subject, true).await?
            };
            if json {
                print_json(&json!({"compatibilityLevel": shown}))?;
            } else if *delete {
                println!("removed {shown}");
            } else {
                println!("{shown}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn check_online(
    client: &RegistryClient,
    subject: &str,
    def: &SchemaDefinition,
    level: Option<CompatibilityLevel>,
    server_side: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if server_side {
        let result = client.test_compatibility(subject, None, def, true).await?;
        if json {
            print_json(&result)?;
        } else {
            println!(
                "{}",
                if result.is_compatible {
                    "compatible"
                } else {
                    "incompatible"
                }
            );
            result.messages.iter().for_each(|m| println!("  {m}"));
        }
        return Ok(if result.is_compatible {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let level = match level {
        Some(l) => l,
        None => client.config(Some(subject), true).await?,
    };
    let new = client.resolve_avro(def, "new schema").await?;
    let versions = match client.versions(subject, false).await {
        Ok(v) => v,
        Err(e) if e.error_code() == Some(kbridge_registry::error_code::SUBJECT_NOT_FOUND) => {
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    let mut previous = Vec::with_capacity(versions.len());
    let mut names = Vec::with_capacity(versions.len());
    for v in versions {
        let registered = client
            .version(subject, VersionSelector::Number(v), false)
            .await?;
        let what = format!("subject '{subject}' version {v}");
        previous.push(client.resolve_avro(&registered.definition(), &what).await?);
        names.push(format!("{subject} v{v}"));
    }
    let previous_refs: Vec<SchemaWithReferences<'_>> = previous
        .iter()
        .map(|a| SchemaWithReferences {
            schema: a.schema(),
            references: a.referenced(),
        })
        .collect();
    let found = compat::check_with_references(
        level,
        SchemaWithReferences {
            schema: new.schema(),
            references: new.referenced(),
        },
        &previous_refs,
    );
    report(json, level, &found, &names)
}

fn pretty(schema: &str) -> String {
    serde_json::from_str::<serde_json::Value>(schema)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| schema.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_with_colons_in_subjects() {
        let r = parse_reference("acme.Address=team:addresses-value:3").unwrap();
        assert_eq!(
            (r.name.as_str(), r.subject.as_str(), r.version),
            ("acme.Address", "team:addresses-value", 3)
        );
        assert!(parse_reference("nope").is_err());
        assert!(parse_reference("a=b:x").is_err());
    }
}
