//! Wiring of the kube-runtime `Controller`: watch pools (and the Secrets they reference,
//! so a fixed credential or password is picked up without a restart), reconcile with
//! bounded concurrency, requeue failures with backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action as Requeue, Config as ControllerConfig, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, ResourceExt};

use crate::api::v1alpha1::CckNodePool;
use crate::cck::{ClientConfig, Credentials};

use super::cloud::{Clients, ClusterViews};
use super::context::{Context, PAUSED_ANNOTATION, ReconcileError, Settings};
use super::reconcile::reconcile;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the CckNodePool CRD is not installed or not readable ({0}); install it with: cck-operator crd | kubectl apply --server-side -f - (API servers before 1.25: cck-operator crd --without-cel)"
    )]
    CrdMissing(#[source] kube::Error),
}

/// Options of one controller process.
pub struct RunOptions {
    pub client_config: ClientConfig,
    pub default_credentials: Option<Credentials>,
    /// Watch one namespace only (None: all).
    pub namespace: Option<String>,
    pub settings: Settings,
    pub concurrency: u16,
    /// Where to serve /metrics and /healthz (None: not served).
    pub metrics_addr: Option<std::net::SocketAddr>,
}

fn error_policy(pool: Arc<CckNodePool>, error: &ReconcileError, ctx: Arc<Context>) -> Requeue {
    ctx.metrics
        .reconcile_errors
        .get_or_create(&super::metrics::ErrorLabels {
            kind: error.metric_label().into(),
        })
        .inc();
    tracing::warn!(pool = %pool.name_any(), kind = error.metric_label(), %error, "reconcile failed; retrying");
    Requeue::requeue(Duration::from_secs(5))
}

/// What a person can change that needs a reconcile at once.
fn trigger_hash(pool: &CckNodePool) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pool.metadata.generation.hash(&mut h);
    pool.metadata.deletion_timestamp.is_some().hash(&mut h);
    pool.finalizers().hash(&mut h);
    pool.annotations().get(PAUSED_ANNOTATION).hash(&mut h);
    Some(h.finish())
}

/// Pools that reference the Secret `namespace/name`.
fn pools_using(
    namespace: Option<&str>,
    name: &str,
    pools: &[Arc<CckNodePool>],
) -> Vec<ObjectRef<CckNodePool>> {
    pools
        .iter()
        .filter(|p| p.namespace().as_deref() == namespace)
        .filter(|p| {
            let t = &p.spec.template;
            p.spec
                .credentials_secret_ref
                .as_ref()
                .is_some_and(|r| r.name == name)
                || t.password_secret_ref.name == name
                || t.boot_script
                    .as_ref()
                    .and_then(|b| b.secret_key_ref.as_ref())
                    .is_some_and(|r| r.name == name)
        })
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

pub async fn run(kube: kube::Client, options: RunOptions) -> Result<(), RunError> {
    let pools: Api<CckNodePool> = match &options.namespace {
        Some(ns) => Api::namespaced(kube.clone(), ns),
        None => Api::all(kube.clone()),
    };
    pools
        .list(&kube::api::ListParams::default().limit(1))
        .await
        .map_err(RunError::CrdMissing)?;
    let secrets: Api<PartialObjectMeta<Secret>> = match &options.namespace {
        Some(ns) => Api::namespaced(kube.clone(), ns),
        None => Api::all(kube.clone()),
    };
    let (store, writer) = reflector::store();
    // Reconcile on what a person changes (spec, deletion, finalizers, the pause
    // annotation), not on the controller's own status writes, which would otherwise
    // trigger a reconcile each; the cloud is re-observed by requeues.
    let trigger = watcher(pools, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(trigger_hash, Default::default());
    let controller = Controller::for_stream(trigger, store.clone())
        .with_config(ControllerConfig::default().concurrency(options.concurrency));
    let mapper_store = store.clone();
    let reporter = Reporter {
        controller: "cck-operator".into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    let metrics = Arc::new(super::metrics::Metrics::default());
    if let Some(addr) = options.metrics_addr {
        let bound = super::metrics::serve(metrics.clone(), addr)
            .await
            .map_err(|source| RunError::Metrics { addr, source })?;
        tracing::info!(%bound, "serving /metrics and /healthz");
    }
    let ctx = Arc::new(Context {
        metrics,
        recorder: Recorder::new(kube.clone(), reporter),
        clients: Clients::new(options.client_config),
        views: ClusterViews::default(),
        default_credentials: options.default_credentials,
        store,
        settings: options.settings,
        open_intents: Mutex::new(HashMap::new()),
        kube,
    });
    tracing::info!(
        endpoint = ctx.clients.endpoint(),
        "cck-operator controller started"
    );
    controller
        // Only the Secrets' metadata is watched: the operator never holds other
        // Secrets' data, and reads a referenced Secret when it reconciles.
        .watches(secrets, watcher::Config::default(), move |s| {
            pools_using(
                s.metadata.namespace.as_deref(),
                &s.metadata.name.unwrap_or_default(),
                &mapper_store.state(),
            )
        })
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((obj, _)) => tracing::debug!(pool = %obj.name, "reconciled"),
                Err(e) => tracing::debug!(error = %e, "reconcile error"),
            }
        })
        .await;
    tracing::info!("cck-operator controller stopped");
    Ok(())
}
