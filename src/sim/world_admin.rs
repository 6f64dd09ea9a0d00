//! Changes made "behind the API's back" through the admin API, as another tool or a
//! failing machine would: adding nodes directly, breaking or removing a node, changing a
//! cluster's status; plus the full-state view for `GET /_sim/v1/state`.

use crate::cck::types::{Cluster, ClusterStatus, Nat, Node, NodeStatus, NodeType};
use crate::sim::error::ApiError;
use crate::sim::placement::{alloc_private_ips, blank_node, set_snat};
use crate::sim::queries::{SnatPicker, cluster_view};
use crate::sim::world::{SimNode, SimTask, World};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Body of `POST /_sim/v1/clusters/{id}/nodes`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddNodes {
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub cpu: Option<u32>,
    #[serde(default)]
    pub memory: Option<u32>,
    /// Any string; an unknown one tests how a client copes with it.
    #[serde(default)]
    pub status: Option<NodeStatus>,
    #[serde(default, rename = "type")]
    pub node_type: Option<NodeType>,
    #[serde(default)]
    pub schedulable: Option<bool>,
    /// A gateway of the cluster (default: the least used one).
    #[serde(default)]
    pub snat_id: Option<String>,
}

fn one() -> u32 {
    1
}

/// Body of `PATCH /_sim/v1/nodes/{id}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchNode {
    #[serde(default)]
    pub status: Option<NodeStatus>,
    #[serde(default)]
    pub schedulable: Option<bool>,
}

/// Body of `PATCH /_sim/v1/clusters/{id}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchCluster {
    #[serde(default)]
    pub status: Option<ClusterStatus>,
    #[serde(default)]
    pub error_msg: Option<String>,
}

/// `GET /_sim/v1/state`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateView<'a> {
    pub clusters: Vec<ClusterView>,
    /// Oldest first.
    pub tasks: Vec<&'a SimTask>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    pub region_id: String,
    /// As DescribeClusters shows it.
    pub cluster: Cluster,
    /// As DescribeClusterNats shows them.
    pub nats: Vec<Nat>,
    /// As DescribeClusterNodes shows them, in order.
    pub nodes: Vec<Node>,
}

const MAX_ADD: u32 = 1000;

fn no_node(id: &str) -> ApiError {
    ApiError::not_found(format!("node {id} does not exist"))
}

fn no_cluster(id: &str) -> ApiError {
    ApiError::not_found(format!("cluster {id} does not exist"))
}

impl World {
    pub fn view(&self) -> StateView<'_> {
        let clusters = self
            .state
            .clusters
            .iter()
            .map(|c| ClusterView {
                region_id: c.region_id.clone(),
                cluster: cluster_view(c),
                nats: self.describe_nats(&c.id).unwrap_or_default(),
                nodes: c.nodes.iter().map(|n| n.node.clone()).collect(),
            })
            .collect();
        let mut tasks: Vec<&SimTask> = self.state.tasks.values().collect();
        tasks.sort_by_key(|t| t.seq);
        StateView { clusters, tasks }
    }

    pub fn admin_add_nodes(
        &mut self,
        cluster_id: &str,
        spec: &AddNodes,
        now: Timestamp,
    ) -> Result<Vec<Node>, ApiError> {
        let ci = self
            .state
            .clusters
            .iter()
            .position(|c| c.id == cluster_id)
            .ok_or_else(|| no_cluster(cluster_id))?;
        if spec.count == 0 || spec.count > MAX_ADD {
            return Err(ApiError::invalid(format!("count must be 1 to {MAX_ADD}")));
        }
        if let Some(s) = &spec.snat_id
            && !self.state.clusters[ci].snats.iter().any(|g| &g.id == s)
        {
            return Err(ApiError::invalid(format!(
                "snatId {s} is not a gateway of cluster {cluster_id}"
            )));
        }
        let n = spec.count as usize;
        let ips = alloc_private_ips(&mut self.state.clusters[ci], n);
        if ips.len() < n {
            return Err(ApiError::invalid(format!(
                "cluster {cluster_id} has no free private addresses for {n} more nodes"
            )));
        }
        let ids: Vec<String> = (0..n).map(|_| self.new_id()).collect();
        let role = spec.node_type.clone().unwrap_or(NodeType::Worker);
        let status = spec.status.clone().unwrap_or(NodeStatus::Ok);
        let schedulable = spec
            .schedulable
            .unwrap_or(role == NodeType::Worker && status == NodeStatus::Ok);
        let c = &mut self.state.clusters[ci];
        let mut out = Vec::with_capacity(n);
        let mut picker = SnatPicker::new(c);
        for (id, ip) in ids.into_iter().zip(ips) {
            let mut node = blank_node(c, role.clone(), id, now);
            node.cpu = spec.cpu.unwrap_or(8);
            node.memory = spec.memory.unwrap_or(32);
            node.status = status.clone();
            node.schedulable = schedulable;
            node.private_ip = ip;
            let snat = match &spec.snat_id {
                Some(s) => Some(s.clone()),
                None => picker.pick(c, None),
            };
            set_snat(c, &mut node, snat.as_deref());
            out.push(node.clone());
            c.nodes.push(SimNode {
                node,
                task: None,
                prev_status: None,
            });
        }
        Ok(out)
    }

    fn find_node(&mut self, node_id: &str) -> Option<(usize, usize)> {
        self.state.clusters.iter().enumerate().find_map(|(ci, c)| {
            c.nodes
                .iter()
                .position(|n| n.node.node_id == node_id)
                .map(|ni| (ci, ni))
        })
    }

    /// Sets a node's status and/or schedulability; the node leaves any running task.
    pub fn admin_patch_node(&mut self, node_id: &str, patch: &PatchNode) -> Result<Node, ApiError> {
        let (ci, ni) = self.find_node(node_id).ok_or_else(|| no_node(node_id))?;
        let n = &mut self.state.clusters[ci].nodes[ni];
        if let Some(s) = &patch.status {
            n.node.status = s.clone();
            n.task = None;
            n.prev_status = None;
        }
        if let Some(b) = patch.schedulable {
            n.node.schedulable = b;
        }
        Ok(n.node.clone())
    }

    pub fn admin_delete_node(&mut self, node_id: &str) -> Result<Node, ApiError> {
        let (ci, ni) = self.find_node(node_id).ok_or_else(|| no_node(node_id))?;
        Ok(self.state.clusters[ci].nodes.remove(ni).node)
    }

    pub fn admin_patch_cluster(
        &mut self,
        cluster_id: &str,
        patch: &PatchCluster,
    ) -> Result<Cluster, ApiError> {
        let c = self
            .state
            .clusters
            .iter_mut()
            .find(|c| c.id == cluster_id)
            .ok_or_else(|| no_cluster(cluster_id))?;
        if let Some(s) = &patch.status {
            c.status = s.clone();
        }
        if let Some(m) = &patch.error_msg {
            c.error_msg.clone_from(m);
        }
        Ok(cluster_view(c))
    }
}
