//! One module per `kbridge` subcommand.

pub mod config;
pub mod registry;
pub mod schema;
