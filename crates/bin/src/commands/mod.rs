//! One module per `kbridge` subcommand.

pub mod check;
pub mod config;
pub mod consume;
pub mod dlq;
pub mod lag;
pub mod output;
pub mod produce;
pub mod registry;
pub mod run;
pub mod schema;
pub mod test;
pub mod topics;
