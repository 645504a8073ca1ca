//! `kbridge registry serve`: the embedded Confluent-compatible Schema
//! Registry, in memory or on a compacted Kafka topic.

use crate::global::GlobalArgs;
use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use kbridge_registry_server::{KafkaStoreConfig, Registry, StoreConfig, serve};
use std::process::ExitCode;
use std::sync::Arc;

/// `kbridge registry …`
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Serve a Confluent-compatible Schema Registry until Ctrl-C / SIGTERM
    Serve {
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: String,
        /// Where schemas are kept: `memory` (lost on exit) or `kafka` (a compacted topic)
        #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
        store: StoreKind,
        /// Kafka bootstrap servers for the kafka store (default: `kafka.brokers`
        /// from the configuration, whose security settings are used too)
        #[arg(long, value_name = "HOST:PORT")]
        kafka_bootstrap: Option<String>,
        /// Topic of the kafka store
        #[arg(long, default_value = "_schemas")]
        topic: String,
        /// Replication factor if the topic has to be created
        #[arg(long, default_value_t = 1)]
        replication_factor: i32,
    },
}

/// Store kinds of `registry serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    Memory,
    Kafka,
}

/// Runs one `registry` subcommand.
pub fn run(global: &GlobalArgs, command: RegistryCommand) -> anyhow::Result<ExitCode> {
    let config = global.setup()?;
    let RegistryCommand::Serve {
        listen,
        store,
        kafka_bootstrap,
        topic,
        replication_factor,
    } = command;
    let store = match store {
        StoreKind::Memory => StoreConfig::Memory,
        StoreKind::Kafka => {
            let mut properties = std::collections::BTreeMap::new();
            for (k, v) in config.client_config_for_admin().iter() {
                properties.insert(k.to_string(), v.to_string());
            }
            let bootstrap = kafka_bootstrap
                .or_else(|| properties.remove("bootstrap.servers"))
                .filter(|b| !b.is_empty())
                .context(
                    "the kafka store needs --kafka-bootstrap or kafka.brokers in the configuration",
                )?;
            properties.remove("bootstrap.servers");
            let mut kafka = KafkaStoreConfig::new(bootstrap).topic(topic);
            kafka.replication_factor = replication_factor;
            kafka.properties = properties;
            StoreConfig::Kafka(kafka)
        }
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?
        .block_on(async move {
            let registry = Arc::new(Registry::open(&store).await?);
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("listen on {listen}"))?;
            let addr = listener.local_addr()?;
            println!("schema registry listening on http://{addr}");
            serve(listener, registry, shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        })
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
