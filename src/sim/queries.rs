//! The read-only actions (DescribeTask, DescribeClusters, DescribeClusterNodes,
//! DescribeClusterNats) and the gateway bookkeeping they share with the mutations.

use crate::cck::types::{Cluster, ClusterSnat, Nat, NodePage, TaskInfo};
use crate::sim::error::ApiError;
use crate::sim::world::{ClusterFilter, SimCluster, World};
use std::collections::HashMap;

impl World {
    pub fn describe_task(&self, id: &str) -> Result<TaskInfo, ApiError> {
        let t = self.state.tasks.get(id).ok_or_else(|| {
            ApiError::invalid(format!(
                "TaskId {id} does not exist (unknown, or finished long ago and forgotten)"
            ))
        })?;
        Ok(TaskInfo {
            status: t.status.clone(),
            err_msg: t.err_msg.clone(),
        })
    }

    pub fn describe_clusters(&self, f: &ClusterFilter) -> Vec<Cluster> {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        self.state
            .clusters
            .iter()
            .filter(|c| eq(&f.region_id, &c.region_id) && eq(&f.vdc_id, &c.vdc_id))
            .filter(|c| eq(&f.cluster_id, &c.id))
            .filter(|c| f.cluster_name.as_deref().is_none_or(|n| c.name.contains(n)))
            .map(cluster_view)
            .collect()
    }

    /// One page, in creation order; a page past the end is empty with the right total.
    pub fn describe_nodes(
        &self,
        cluster_id: &str,
        size: u64,
        number: u64,
    ) -> Result<NodePage, ApiError> {
        let c = &self.state.clusters[self.cluster_index(cluster_id)?];
        let start = number.saturating_sub(1).saturating_mul(size);
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        Ok(NodePage {
            nodes: c
                .nodes
                .iter()
                .skip(start)
                .take(size)
                .map(|n| n.node.clone())
                .collect(),
            total: c.nodes.len() as u64,
        })
    }

    pub fn describe_nats(&self, cluster_id: &str) -> Result<Vec<Nat>, ApiError> {
        let c = &self.state.clusters[self.cluster_index(cluster_id)?];
        let used = snat_usage(c);
        Ok(c.snats
            .iter()
            .map(|s| Nat {
                id: s.id.clone(),
                name: s.name.clone(),
                cluster_id: c.id.clone(),
                vm_id: s.vm_id.clone(),
                public_ip: s.public_ip.clone(),
                private_ip: s.private_ip.clone(),
                used_num: used.get(s.id.as_str()).copied().unwrap_or(0),
                create_time: s.create_time.clone(),
                update_time: s.update_time.clone(),
            })
            .collect())
    }
}

/// A cluster as DescribeClusters shows it.
pub fn cluster_view(c: &SimCluster) -> Cluster {
    let used = snat_usage(c);
    Cluster {
        vdc_id: c.vdc_id.clone(),
        vdc_name: c.vdc_name.clone(),
        cluster_id: c.id.clone(),
        cluster_name: c.name.clone(),
        node_num: c.nodes.len() as u64,
        k8s_version: c.k8s_version.clone(),
        haproxy_ip: c.haproxy_ip.clone(),
        status: c.status.clone(),
        domain: c.domain.clone(),
        snats: c
            .snats
            .iter()
            .map(|s| ClusterSnat {
                id: s.id.clone(),
                name: s.name.clone(),
                public_ip: s.public_ip.clone(),
                private_ip: s.private_ip.clone(),
                used_num: used.get(s.id.as_str()).copied().unwrap_or(0),
                create_time: s.create_time.clone(),
            })
            .collect(),
        error_msg: c.error_msg.clone(),
        create_time: c.create_time.clone(),
    }
}

/// Nodes per gateway id.
pub(crate) fn snat_usage(c: &SimCluster) -> HashMap<&str, u64> {
    let mut used: HashMap<&str, u64> = HashMap::new();
    for n in &c.nodes {
        if !n.node.snat_id.is_empty() {
            *used.entry(n.node.snat_id.as_str()).or_default() += 1;
        }
    }
    used
}

/// Picks gateways node by node: the least used among the candidates (all of the
/// cluster's when `None`), first in the cluster's order on ties, counting its own picks.
/// Counting once up front keeps a large batch linear in the cluster size.
pub(crate) struct SnatPicker {
    used: HashMap<String, u64>,
}

impl SnatPicker {
    pub fn new(c: &SimCluster) -> Self {
        let used = snat_usage(c)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        Self { used }
    }

    pub fn pick(&mut self, c: &SimCluster, candidates: Option<&[String]>) -> Option<String> {
        let id = c
            .snats
            .iter()
            .filter(|s| candidates.is_none_or(|ids| ids.contains(&s.id)))
            .min_by_key(|s| self.used.get(&s.id).copied().unwrap_or(0))
            .map(|s| s.id.clone())?;
        *self.used.entry(id.clone()).or_default() += 1;
        Some(id)
    }
}
