//! One module per `kbridge` subcommand.
