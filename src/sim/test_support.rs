//! Helpers for the simulator's unit tests: a demo world at a fixed time and request
//! builders.

use crate::cck::types::{
    Action, AttachDisk, CreateClusterNodesRequest, NodeIdsRequest, NodeStatus, Sensitive,
};
use crate::sim::config::{SimConfig, TaskDurations};
use crate::sim::error::ApiError;
use crate::sim::faults::Fate;
use crate::sim::world::World;
use jiff::{SignedDuration, Timestamp};

pub const CLUSTER: &str = "96fd21ae-fb8d-11ed-b833-060b6f41d883";
pub const SNAT: &str = "96fda1b0-fb8d-11ed-b833-060b6f41d883";

pub fn t0() -> Timestamp {
    "2024-05-26T06:00:00Z".parse().expect("valid time")
}

/// `t0` plus `ms` milliseconds.
pub fn at(ms: i64) -> Timestamp {
    t0() + SignedDuration::from_millis(ms)
}

pub fn config() -> SimConfig {
    let mut c = SimConfig::demo();
    c.seed = Some(7);
    c.task_durations = TaskDurations {
        create_ms: 5000,
        start_ms: 3000,
        stop_ms: 3000,
        delete_ms: 3000,
    };
    c
}

pub fn world() -> World {
    World::new(&config(), t0())
}

/// The vendor's example body, with SnatType 0.
pub fn create_req(num: u32) -> CreateClusterNodesRequest {
    CreateClusterNodesRequest {
        cluster_id: CLUSTER.into(),
        node_type: "Worker".into(),
        instance_type: "CCK.Memory".into(),
        cpu: 8,
        memory: 64,
        attach_disks: vec![AttachDisk {
            disk_type: "HighDisk".into(),
            disk_size: Some(100),
            iops: Some(3000),
        }],
        num,
        password: Sensitive::new("cck@passHonkong1"),
        lsb: Some("Ubuntu".into()),
        snat_type: Some(0),
        snat_ids: vec![],
        public_id: Some(String::new()),
        command: Some("ZWNobyAiMTIzIiA+IC9yb290LzEudHh0".into()),
    }
}

pub fn ids_req(ids: &[String]) -> NodeIdsRequest {
    NodeIdsRequest {
        cluster_id: CLUSTER.into(),
        node_ids: ids.to_vec(),
    }
}

impl World {
    /// Validates and applies a create, as the HTTP layer does.
    pub fn try_create(
        &mut self,
        req: &CreateClusterNodesRequest,
        now: Timestamp,
        fate: Fate,
    ) -> Result<String, ApiError> {
        let plan = self.validate_create(req)?;
        self.apply_create(plan, now, |_| fate)
    }

    pub fn try_node_op(
        &mut self,
        action: Action,
        ids: &[String],
        now: Timestamp,
        fate: Fate,
    ) -> Result<String, ApiError> {
        let plan = self.validate_node_op(action, &ids_req(ids))?;
        Ok(self.apply_node_op(plan, now, fate))
    }

    /// Ids of the workers, in creation order.
    pub fn worker_ids(&self) -> Vec<String> {
        self.state.clusters[0]
            .nodes
            .iter()
            .filter(|n| n.node.node_type == crate::cck::types::NodeType::Worker)
            .map(|n| n.node.node_id.clone())
            .collect()
    }

    pub fn status_of(&self, id: &str) -> Option<NodeStatus> {
        self.state.clusters[0]
            .nodes
            .iter()
            .find(|n| n.node.node_id == id)
            .map(|n| n.node.status.clone())
    }

    pub fn task_status(&self, id: &str) -> String {
        self.describe_task(id)
            .map(|t| t.status.to_string())
            .unwrap_or_default()
    }
}

/// Creates `n` workers and lets their task finish; returns their ids.
pub fn with_workers(w: &mut World, n: u32) -> Vec<String> {
    w.try_create(&create_req(n), t0(), Fate::Succeed)
        .expect("create accepted");
    w.advance(at(5000));
    w.worker_ids()
}
