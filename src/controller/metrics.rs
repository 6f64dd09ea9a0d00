//! Prometheus metrics of the controller, served with `/healthz` on `--metrics-addr`:
//! worker nodes that no pool owns (per cluster), cloud mutations by action and outcome,
//! and reconcile errors by kind.

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabels {
    pub cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MutationLabels {
    pub action: String,
    /// accepted, failed or unknown.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub kind: String,
}

pub struct Metrics {
    registry: Registry,
    pub unowned_workers: Family<ClusterLabels, Gauge>,
    pub mutations: Family<MutationLabels, Counter>,
    pub reconcile_errors: Family<ErrorLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("cck");
        let unowned_workers = Family::<ClusterLabels, Gauge>::default();
        let mutations = Family::<MutationLabels, Counter>::default();
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "unowned_worker_nodes",
            "Worker nodes of a cluster that no CckNodePool owns (never touched by the operator)",
            unowned_workers.clone(),
        );
        registry.register(
            "cloud_mutations",
            "Create/Start/Stop/Delete calls by action and outcome (accepted, failed, unknown)",
            mutations.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by kind",
            reconcile_errors.clone(),
        );
        Self {
            registry,
            unowned_workers,
            mutations,
            reconcile_errors,
        }
    }
}

impl Metrics {
    pub fn mutation(&self, action: &str, outcome: &str) {
        self.mutations
            .get_or_create(&MutationLabels {
                action: action.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Serves `/metrics` and `/healthz` until the process ends; returns the bound address.
pub async fn serve(metrics: Arc<Metrics>, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    use axum::http::header::CONTENT_TYPE;
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = metrics.clone();
                async move {
                    (
                        [(
                            CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        m.render(),
                    )
                }
            }),
        )
        .route("/healthz", get(|| async { "ok" }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_with_labels() {
        let m = Metrics::default();
        m.unowned_workers
            .get_or_create(&ClusterLabels {
                cluster: "c1".into(),
            })
            .set(2);
        m.mutation("CreateClusterNodes", "accepted");
        let text = m.render();
        assert!(
            text.contains("cck_unowned_worker_nodes{cluster=\"c1\"} 2"),
            "{text}"
        );
        assert!(
            text.contains(
                "cck_cloud_mutations_total{action=\"CreateClusterNodes\",outcome=\"accepted\"} 1"
            ),
            "{text}"
        );
    }
}
