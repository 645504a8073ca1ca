//! One module per `kbridge` subcommand.

pub mod config;
