//! The operator's shared view of the cloud: one CCK client per credential (sharing that
//! credential's rate limiter), one coalesced, briefly cached DescribeClusterNodes per
//! cluster, and one create lock per cluster.
//!
//! Concurrent reconciles of pools in the same cluster share a single listing: the first
//! caller fetches while the others wait on the same lock and then read its result, so
//! cloud reads grow with clusters, not with pools.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cck::{CckClient, CckError, ClientConfig, Credentials, Node, RateLimiters};

/// Builds and caches clients, one per access key (rebuilt when the secret changes).
pub struct Clients {
    base: ClientConfig,
    limiters: RateLimiters,
    by_key: Mutex<HashMap<String, (String, CckClient)>>,
}

impl Clients {
    pub fn new(base: ClientConfig) -> Self {
        Self {
            base,
            limiters: RateLimiters::default(),
            by_key: Mutex::new(HashMap::new()),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.base.endpoint
    }

    pub fn client(&self, creds: &Credentials) -> Result<CckClient, CckError> {
        let mut map = self.by_key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((secret, client)) = map.get(&creds.access_key_id)
            && secret == creds.access_key_secret.expose()
        {
            return Ok(client.clone());
        }
        let limiter = self
            .limiters
            .get(
                &creds.access_key_id,
                self.base.requests_per_second,
                self.base.burst,
            )
            .map_err(|reason| CckError::InvalidRequest {
                action: "-".into(),
                reason,
            })?;
        let client = CckClient::with_limiter(creds.clone(), self.base.clone(), limiter)?;
        map.insert(
            creds.access_key_id.clone(),
            (creds.access_key_secret.expose().to_owned(), client.clone()),
        );
        Ok(client)
    }
}

#[derive(Default)]
struct ClusterEntry {
    listing: tokio::sync::Mutex<Option<(Instant, Arc<Vec<Node>>)>>,
    create: Arc<tokio::sync::Mutex<()>>,
}

/// Per-cluster node listings and create locks.
#[derive(Default)]
pub struct ClusterViews {
    entries: Mutex<HashMap<String, Arc<ClusterEntry>>>,
}

impl ClusterViews {
    fn entry(&self, cluster_id: &str) -> Arc<ClusterEntry> {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(cluster_id.to_owned()).or_default().clone()
    }

    /// The cluster's nodes, at most `max_age` old; a zero `max_age` forces a fresh read.
    pub async fn nodes(
        &self,
        client: &CckClient,
        cluster_id: &str,
        max_age: Duration,
    ) -> Result<Arc<Vec<Node>>, CckError> {
        let entry = self.entry(cluster_id);
        let asked_at = Instant::now();
        let mut slot = entry.listing.lock().await;
        if let Some((at, nodes)) = slot.as_ref() {
            // Fresh enough, or fetched by another caller while this one waited.
            if at.elapsed() <= max_age || (*at >= asked_at && !max_age.is_zero()) {
                return Ok(nodes.clone());
            }
        }
        let nodes = Arc::new(client.list_cluster_nodes(cluster_id).await?);
        *slot = Some((Instant::now(), nodes.clone()));
        Ok(nodes)
    }

    /// Forgets the cached listing (after a mutation).
    pub async fn invalidate(&self, cluster_id: &str) {
        *self.entry(cluster_id).listing.lock().await = None;
    }

    /// Serializes creates in one cluster across all pools of this process.
    pub async fn lock_creates(&self, cluster_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let create = self.entry(cluster_id).create.clone();
        create.lock_owned().await
    }
}
