//! What every reconcile shares: clients, the shared cloud view, the pool store, the
//! event recorder and the settings; and the reconcile error type.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use kube::runtime::events::Recorder;
use kube::runtime::reflector::Store;

use crate::api::v1alpha1::CckNodePool;
use crate::cck::Credentials;

use super::cloud::{Clients, ClusterViews};
use super::metrics::Metrics;
use super::progress::Timing;

/// The finalizer that holds a pool until its nodes are released (or retained).
pub const FINALIZER: &str = "cck.capitalonline.net/release-nodes";
/// Annotation that pauses cloud mutations, like `spec.paused`.
pub const PAUSED_ANNOTATION: &str = "cck.capitalonline.net/paused";

/// Controller settings (flags of `cck-operator run`).
#[derive(Clone, Debug)]
pub struct Settings {
    pub timing: Timing,
    /// How long a create whose sending is uncertain may take to show its nodes before it
    /// is considered never applied (and may be made again).
    pub create_grace: Duration,
    /// How stale a shared cluster listing may be.
    pub listing_max_age: Duration,
    /// Requeue interval while tasks are in flight.
    pub poll_interval: Duration,
    /// Requeue interval of a converged pool (the cloud is not watched).
    pub resync_interval: Duration,
    /// Most nodes per Create and node ids per Start/Stop/Delete.
    pub max_per_call: usize,
    /// Finished tasks kept in status.
    pub task_history: usize,
    /// How long listings must lack an owned node before the pool forgets it.
    pub vanish_after: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            timing: Timing::default(),
            create_grace: Duration::from_secs(120),
            listing_max_age: Duration::from_secs(2),
            poll_interval: Duration::from_secs(3),
            resync_interval: Duration::from_secs(60),
            max_per_call: 100,
            task_history: 10,
            vanish_after: Duration::from_secs(30),
        }
    }
}

pub struct Context {
    pub kube: kube::Client,
    pub clients: Clients,
    pub views: ClusterViews,
    pub default_credentials: Option<Credentials>,
    pub recorder: Recorder,
    pub store: Store<CckNodePool>,
    pub settings: Settings,
    pub metrics: std::sync::Arc<Metrics>,
    /// Pools (namespace/name) with an unresolved create, per cluster, as this process
    /// knows it right now (the store may lag our own writes by a moment).
    pub open_intents: Mutex<HashMap<String, HashSet<String>>>,
}

impl Context {
    pub fn set_intent_open(&self, cluster: &str, pool: &str, open: bool) {
        let mut map = self.open_intents.lock().unwrap_or_else(|p| p.into_inner());
        let set = map.entry(cluster.to_owned()).or_default();
        if open {
            set.insert(pool.to_owned());
        } else {
            set.remove(pool);
        }
    }

    /// Forgets a pool that no longer exists (its finalizer may have been removed by hand).
    pub fn forget_pool(&self, pool: &str) {
        let mut map = self.open_intents.lock().unwrap_or_else(|p| p.into_inner());
        for set in map.values_mut() {
            set.remove(pool);
        }
    }

    pub fn other_intent_open(&self, cluster: &str, pool: &str) -> bool {
        let map = self.open_intents.lock().unwrap_or_else(|p| p.into_inner());
        map.get(cluster)
            .is_some_and(|s| s.iter().any(|p| p != pool))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("Kubernetes API error: {0}")]
    Kube(#[from] kube::Error),
    #[error("the pool has no namespace")]
    NoNamespace,
}

impl ReconcileError {
    pub fn metric_label(&self) -> &'static str {
        match self {
            ReconcileError::Kube(_) => "kube",
            ReconcileError::NoNamespace => "no_namespace",
        }
    }
}
