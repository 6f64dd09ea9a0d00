//! Entry point of the `cck-operator` binary; see [`cck_operator::cli`].

use std::process::ExitCode;

use cck_operator::cli::{Cli, Command};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    cck_operator::telemetry::init(cli.log_json);
    cck_operator::install_crypto_provider();
    match cli.command {
        Command::Api(args) => cck_operator::cli::api::run(args).await,
        Command::Run(args) => cck_operator::cli::run::run(args).await,
        Command::Crd(args) => {
            print!("{}", cck_operator::cli::run::crd_yaml(args.without_cel));
            ExitCode::SUCCESS
        }
        Command::Sim(args) => match cck_operator::sim::run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
