//! The mutating actions: CreateClusterNodes and Start/Stop/DeleteClusterNodes.
//!
//! Each is a `validate_*` over `&World` that checks every rule and returns a plan, and an
//! `apply_*` that carries the plan out. Nothing is changed until every check has passed,
//! so a rejected request leaves the world exactly as it was.

use crate::cck::types::{
    Action, CreateClusterNodesRequest, NodeIdsRequest, NodeStatus, NodeType, check_instance_shape,
    format_beijing_time,
};
use crate::sim::error::ApiError;
use crate::sim::faults::Fate;
use crate::sim::placement::{alloc_private_ips, blank_node, set_snat};
use crate::sim::queries::SnatPicker;
use crate::sim::validate::{
    check_command, check_disks, check_node_ids, check_password, clip, non_empty,
};
use crate::sim::world::{SimNode, World};
use jiff::Timestamp;
use std::collections::HashMap;

/// Where the new nodes get their outbound connectivity.
#[derive(Clone, Debug, PartialEq)]
enum Placement {
    /// A public IP (`PublicId`), no gateway.
    Public(String),
    /// The least used of these gateways, node by node (all of the cluster's for SnatType 0).
    Snats(Vec<String>),
}

/// A validated CreateClusterNodes.
#[derive(Clone, Debug)]
pub struct CreatePlan {
    cluster: usize,
    num: usize,
    cpu: u32,
    memory: u32,
    placement: Placement,
}

impl CreatePlan {
    pub fn num(&self) -> usize {
        self.num
    }
}

/// A validated Start/Stop/DeleteClusterNodes: node indices in request order.
#[derive(Clone, Debug)]
pub struct NodeOpPlan {
    action: Action,
    cluster: usize,
    nodes: Vec<usize>,
}

impl NodeOpPlan {
    pub fn num(&self) -> usize {
        self.nodes.len()
    }
}

fn busy(s: &NodeStatus) -> bool {
    matches!(
        s,
        NodeStatus::Creating | NodeStatus::Updating | NodeStatus::Pending
    )
}

impl World {
    pub fn validate_create(&self, req: &CreateClusterNodesRequest) -> Result<CreatePlan, ApiError> {
        let cluster_id =
            non_empty(Some(&req.cluster_id)).ok_or_else(|| ApiError::missing("ClusterId"))?;
        let ci = self.cluster_index(cluster_id)?;
        let c = &self.state.clusters[ci];
        match req.node_type.as_str() {
            "" => return Err(ApiError::missing("Type")),
            "Worker" => {}
            other => {
                return Err(ApiError::invalid(format!(
                    "Type {:?} cannot be created; CreateClusterNodes only creates Worker nodes",
                    clip(other)
                )));
            }
        }
        if req.instance_type.is_empty() {
            return Err(ApiError::missing("InstanceType"));
        }
        check_instance_shape(&req.instance_type, req.cpu, req.memory).map_err(ApiError::invalid)?;
        check_disks(&req.attach_disks)?;
        let max = self.settings.limits.max_create_num;
        if req.num == 0 || req.num > max {
            return Err(ApiError::invalid(format!(
                "Num {} is out of range; create 1 to {max} nodes per call",
                req.num
            )));
        }
        check_password(req.password.expose())?;
        if let Some(lsb) = non_empty(req.lsb.as_deref())
            && lsb != "Ubuntu"
        {
            return Err(ApiError::invalid(format!(
                "Lsb {:?} is not offered; the only operating system is Ubuntu (the default)",
                clip(lsb)
            )));
        }
        check_command(req.command.as_deref())?;
        let public_id = non_empty(req.public_id.as_deref());
        let placement = match (req.snat_type.unwrap_or(1), public_id) {
            (_, Some(_)) if !req.snat_ids.is_empty() => {
                return Err(ApiError::invalid(
                    "PublicId and SnatIds are mutually exclusive; give one of them",
                ));
            }
            (0 | 1, Some(p)) => Placement::Public(p.to_owned()),
            (0, None) if !req.snat_ids.is_empty() => {
                return Err(ApiError::invalid(
                    "SnatIds must be empty with SnatType 0 (the cloud picks the gateway); use SnatType 1 to choose gateways",
                ));
            }
            (0, None) => {
                if c.snats.is_empty() {
                    return Err(ApiError::operation(format!(
                        "cluster {} has no SNAT gateway to pick with SnatType 0; give a PublicId",
                        c.id
                    )));
                }
                Placement::Snats(c.snats.iter().map(|s| s.id.clone()).collect())
            }
            (1, None) if req.snat_ids.is_empty() => {
                return Err(ApiError::missing_msg(
                    "SnatIds is required with SnatType 1 (the default) unless PublicId is given; list gateway ids from DescribeClusterNats, or use SnatType 0",
                ));
            }
            (1, None) => {
                for id in &req.snat_ids {
                    if !c.snats.iter().any(|s| &s.id == id) {
                        return Err(ApiError::invalid(format!(
                            "SnatIds: gateway {} does not exist in cluster {}; DescribeClusterNats lists its gateways",
                            clip(id),
                            c.id
                        )));
                    }
                }
                Placement::Snats(req.snat_ids.clone())
            }
            (t, _) => {
                return Err(ApiError::invalid(format!(
                    "SnatType {t} is not allowed; use 1 (SnatIds, the default) or 0 (the cloud picks the least used gateway)"
                )));
            }
        };
        if c.status != crate::cck::types::ClusterStatus::Ok {
            return Err(ApiError::operation(format!(
                "cluster {} is {}; nodes can only be created while the cluster is Ok",
                c.id, c.status
            )));
        }
        Ok(CreatePlan {
            cluster: ci,
            num: req.num as usize,
            cpu: req.cpu,
            memory: req.memory,
            placement,
        })
    }

    /// Adds the nodes (status `Creating`) and their task; `fate` is asked only once
    /// nothing can fail any more, so a one-shot fault is not wasted on a rejection.
    pub fn apply_create(
        &mut self,
        plan: CreatePlan,
        now: Timestamp,
        fate: impl FnOnce(usize) -> Fate,
    ) -> Result<String, ApiError> {
        let n = plan.num;
        let ips = alloc_private_ips(&mut self.state.clusters[plan.cluster], n);
        if ips.len() < n {
            return Err(ApiError::operation(format!(
                "cluster {} has no free private addresses for {n} more nodes; delete nodes first",
                self.state.clusters[plan.cluster].id
            )));
        }
        let ids: Vec<String> = (0..n).map(|_| self.new_id()).collect();
        let task_id = self.new_id();
        let public_ips: Vec<String> = match plan.placement {
            Placement::Public(_) => (0..n).map(|_| self.next_public_ip()).collect(),
            Placement::Snats(_) => Vec::new(),
        };
        let fate = fate(n);
        let stamp = format_beijing_time(now);
        let c = &mut self.state.clusters[plan.cluster];
        let mut picker = SnatPicker::new(c);
        for (i, (id, ip)) in ids.iter().zip(ips).enumerate() {
            let mut node = blank_node(c, NodeType::Worker, id.clone(), now);
            node.cpu = plan.cpu;
            node.memory = plan.memory;
            node.status = NodeStatus::Creating;
            node.private_ip = ip;
            match &plan.placement {
                Placement::Public(public_id) => {
                    node.public_id = public_id.clone();
                    node.public_ip = public_ips.get(i).cloned().unwrap_or_default();
                }
                Placement::Snats(candidates) => {
                    let pick = picker.pick(c, Some(candidates));
                    set_snat(c, &mut node, pick.as_deref());
                    if let Some(s) = c.snats.iter_mut().find(|s| Some(&s.id) == pick.as_ref()) {
                        s.update_time.clone_from(&stamp);
                    }
                }
            }
            c.nodes.push(SimNode {
                node,
                task: Some(task_id.clone()),
                prev_status: None,
            });
        }
        let cluster_id = c.id.clone();
        self.submit_task(
            Action::CreateClusterNodes,
            &cluster_id,
            task_id.clone(),
            ids,
            fate,
            now,
        );
        Ok(task_id)
    }

    pub fn validate_node_op(
        &self,
        action: Action,
        req: &NodeIdsRequest,
    ) -> Result<NodeOpPlan, ApiError> {
        let cluster_id =
            non_empty(Some(&req.cluster_id)).ok_or_else(|| ApiError::missing("ClusterId"))?;
        let ci = self.cluster_index(cluster_id)?;
        check_node_ids(&req.node_ids, self.settings.limits.max_node_ids_per_call)?;
        let c = &self.state.clusters[ci];
        let index: HashMap<&str, usize> = c
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.node.node_id.as_str(), i))
            .collect();
        let mut nodes = Vec::with_capacity(req.node_ids.len());
        for id in &req.node_ids {
            let Some(&i) = index.get(id.as_str()) else {
                return Err(ApiError::invalid(format!(
                    "NodeId {} does not exist in cluster {}; DescribeClusterNodes lists its nodes",
                    clip(id),
                    c.id
                )));
            };
            nodes.push(i);
        }
        if c.status != crate::cck::types::ClusterStatus::Ok {
            return Err(ApiError::operation(format!(
                "cluster {} is {}; nodes can only be changed while the cluster is Ok",
                c.id, c.status
            )));
        }
        let stopped = &self.settings.stopped;
        let verb = match action {
            Action::StartClusterNodes => "started",
            Action::StopClusterNodes => "stopped",
            _ => "deleted",
        };
        for &i in &nodes {
            let n = &c.nodes[i].node;
            let who = format!("node {} ({})", n.node_name, n.node_id);
            if n.node_type == NodeType::Master {
                return Err(ApiError::operation(format!(
                    "{who} is a Master node; only Worker nodes can be {verb}"
                )));
            }
            if busy(&n.status) {
                return Err(ApiError::operation(format!(
                    "{who} is {}: an operation is in progress; wait for its task to finish",
                    n.status
                )));
            }
            let allowed = match action {
                Action::StartClusterNodes => n.status == *stopped,
                Action::StopClusterNodes => n.status == NodeStatus::Ok,
                _ => {
                    n.status == NodeStatus::Ok
                        || n.status == *stopped
                        || n.status == NodeStatus::Error
                }
            };
            if !allowed {
                let need = match action {
                    Action::StartClusterNodes => stopped.to_string(),
                    Action::StopClusterNodes => "Ok".to_owned(),
                    _ => format!("Ok, {stopped} or Error"),
                };
                return Err(ApiError::operation(format!(
                    "{who} is {}; only nodes that are {need} can be {verb}",
                    n.status
                )));
            }
        }
        Ok(NodeOpPlan {
            action,
            cluster: ci,
            nodes,
        })
    }

    /// Puts the nodes in `Updating` and records their task.
    pub fn apply_node_op(&mut self, plan: NodeOpPlan, now: Timestamp, fate: Fate) -> String {
        let task_id = self.new_id();
        let c = &mut self.state.clusters[plan.cluster];
        let mut ids = Vec::with_capacity(plan.nodes.len());
        for &i in &plan.nodes {
            let n = &mut c.nodes[i];
            n.prev_status = Some(std::mem::replace(&mut n.node.status, NodeStatus::Updating));
            n.task = Some(task_id.clone());
            ids.push(n.node.node_id.clone());
        }
        let cluster_id = c.id.clone();
        self.submit_task(plan.action, &cluster_id, task_id.clone(), ids, fate, now);
        task_id
    }
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
