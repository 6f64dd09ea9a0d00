//! The `cck-operator` command line: one binary with a subcommand per job.
//!
//! - `api`: call any CCK action with signed requests, for debugging credentials and the API;
//! - `sim`: run the local CCK simulator;
//! - `run`: the controller; `crd`: print the CRD.

pub mod api;
pub mod run;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "cck-operator",
    version,
    about = "Kubernetes operator for Capital Online CCK worker nodes"
)]
pub struct Cli {
    /// Log as JSON lines instead of text (logs go to stderr).
    #[arg(long, global = true, env = "CCK_LOG_JSON")]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Call one CCK OpenAPI action and print the response JSON.
    Api(api::ApiArgs),
    /// Run a local, stateful CCK API simulator.
    Sim(crate::sim::SimArgs),
    /// Run the CckNodePool controller against the cluster of KUBECONFIG.
    Run(run::RunArgs),
    /// Print the CckNodePool CustomResourceDefinition as YAML.
    Crd(run::CrdArgs),
}
