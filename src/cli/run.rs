//! `cck-operator run`: the controller, and `cck-operator crd`: the CRD it serves.

use std::process::ExitCode;
use std::time::Duration;

use crate::cck::{ClientConfig, Credentials, DEFAULT_ENDPOINT};
use crate::controller::context::Settings;
use crate::controller::runner::{self, RunOptions};

#[derive(clap::Args, Debug)]
// A flag given twice takes its last value (wrappers can append overrides).
#[command(args_override_self = true)]
pub struct RunArgs {
    /// Base URL of the CCK API (or a simulator's).
    #[arg(long, env = "CCK_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "CCK_WATCH_NAMESPACE")]
    pub namespace: Option<String>,
    /// Sustained CCK API requests per second, per credential.
    #[arg(long, default_value_t = 10.0)]
    pub requests_per_second: f64,
    /// How long a create whose response was lost may take to show its nodes before it
    /// is considered never applied and is made again.
    #[arg(long, default_value_t = 120)]
    pub create_grace_seconds: u64,
    /// Requeue interval while cloud tasks are in flight, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    pub poll_interval_ms: u64,
    /// Re-observation interval of a converged pool, in seconds.
    #[arg(long, default_value_t = 60)]
    pub resync_seconds: u64,
    /// First backoff after a failed cloud mutation, in milliseconds (doubles up to 5 min).
    #[arg(long, default_value_t = 10_000)]
    pub backoff_base_ms: u64,
    /// Pools reconciled at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u16,
    /// Address of the /metrics and /healthz endpoint ("none" to disable).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub metrics_addr: String,
}

pub async fn run(args: RunArgs) -> ExitCode {
    // The operator's own credentials are optional: pools may bring their own Secret.
    let id = std::env::var("CCK_ACCESS_KEY_ID").unwrap_or_default();
    let secret = std::env::var("CCK_ACCESS_KEY_SECRET").unwrap_or_default();
    let default_credentials =
        (!id.is_empty() && !secret.is_empty()).then(|| Credentials::new(id, secret));
    let kube = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot reach Kubernetes ({e}); set KUBECONFIG or run in a cluster");
            return ExitCode::FAILURE;
        }
    };
    let mut settings = Settings {
        create_grace: Duration::from_secs(args.create_grace_seconds),
        poll_interval: Duration::from_millis(args.poll_interval_ms.max(100)),
        resync_interval: Duration::from_secs(args.resync_seconds.max(1)),
        ..Settings::default()
    };
    settings.timing.backoff_base = Duration::from_millis(args.backoff_base_ms.max(1));
    let metrics_addr = match args.metrics_addr.as_str() {
        "none" | "" => None,
        a => match a.parse() {
            Ok(addr) => Some(addr),
            Err(e) => {
                eprintln!("error: --metrics-addr {a:?} is not an address like 0.0.0.0:9464 ({e})");
                return ExitCode::from(2);
            }
        },
    };
    let options = RunOptions {
        metrics_addr,
        client_config: ClientConfig {
            endpoint: args.endpoint,
            requests_per_second: args.requests_per_second,
            ..ClientConfig::default()
        },
        default_credentials,
        namespace: args.namespace,
        settings,
        concurrency: args.concurrency.max(1),
    };
    match runner::run(kube, options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct CrdArgs {
    /// Leave out the CEL rules (x-kubernetes-validations), for API servers before 1.25,
    /// which reject them on server-side apply. The controller re-checks every rule anyway.
    #[arg(long)]
    pub without_cel: bool,
}

/// The CRD as YAML (what `crds/ccknodepool.yaml` holds).
pub fn crd_yaml(without_cel: bool) -> String {
    serde_norway::to_string(&crate::api::crd(!without_cel)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_checked_in_crd_is_the_generated_one() {
        let checked_in = include_str!("../../crds/ccknodepool.yaml");
        assert_eq!(
            checked_in,
            super::crd_yaml(false),
            "crds/ccknodepool.yaml is stale: run `cargo run -q -- crd > crds/ccknodepool.yaml`"
        );
        assert!(!super::crd_yaml(true).contains("x-kubernetes-validations"));
        assert!(super::crd_yaml(true).contains("multipleOf"));
    }
}
