//! The simulated cloud's state: clusters, their gateways and nodes, and tasks.
//!
//! Pure and synchronous: every function that depends on time takes `now`, so tests drive
//! it with explicit times and a restored state continues where it stopped. The HTTP
//! layer calls [`World::advance`] before serving each request; there is no background
//! ticking. Validation and mutation are split (`validate_*` then `apply_*`, in
//! [`crate::sim::ops`]) so a rejected request never changes anything.

use crate::cck::types::{
    Action, ClusterStatus, Node, NodeStatus, NodeType, TaskStatus, format_beijing_time,
};
use crate::sim::config::{ClusterConfig, LimitsConfig, SimConfig, TaskDurations};
use crate::sim::error::ApiError;
use crate::sim::faults::Fate;
use crate::sim::placement::{IP_SPACE, alloc_private_ips, blank_node, set_snat};
use crate::sim::queries::SnatPicker;
use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, VecDeque};

/// Everything that is persisted in the state file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorldState {
    pub clusters: Vec<SimCluster>,
    pub tasks: HashMap<String, SimTask>,
    /// Finished task ids, oldest first, so the oldest are forgotten first.
    pub finished: VecDeque<String>,
    pub next_task_seq: u64,
    pub public_ip_counter: u32,
    /// Bumped on every restore so a seeded id generator never repeats earlier ids.
    pub generation: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimCluster {
    pub id: String,
    pub name: String,
    pub region_id: String,
    pub vdc_id: String,
    pub vdc_name: String,
    pub k8s_version: String,
    pub status: ClusterStatus,
    pub haproxy_ip: String,
    pub domain: String,
    pub error_msg: String,
    pub create_time: String,
    /// First two octets of the node addresses, e.g. `10.241`.
    pub ip_prefix: String,
    pub snats: Vec<SimSnat>,
    /// In creation order, which is the order DescribeClusterNodes pages through.
    pub nodes: Vec<SimNode>,
    /// Name counters; numbers are never reused, even after a delete.
    pub next_worker: u32,
    pub next_master: u32,
    /// Where the search for a free private address starts.
    pub next_ip: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimSnat {
    pub id: String,
    pub name: String,
    pub public_ip: String,
    pub private_ip: String,
    pub vm_id: String,
    pub create_time: String,
    pub update_time: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimNode {
    /// The node exactly as the API shows it.
    pub node: Node,
    /// The running task that owns this node; completion only touches owned nodes, so an
    /// admin change in the meantime wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Status to return to if a start/stop/delete fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_status: Option<NodeStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimTask {
    pub id: String,
    pub seq: u64,
    pub action: Action,
    pub cluster_id: String,
    pub node_ids: Vec<String>,
    pub submitted_at: Timestamp,
    pub due_at: Timestamp,
    pub fate: Fate,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_msg: Option<String>,
}

/// The parts of the config the world needs while running.
#[derive(Clone, Debug)]
pub struct WorldSettings {
    pub limits: LimitsConfig,
    pub durations: TaskDurations,
    /// The status a stopped node gets (config `statusStrings.stopped`).
    pub stopped: NodeStatus,
}

impl WorldSettings {
    pub fn from_config(c: &SimConfig) -> Self {
        Self {
            limits: c.limits.clone(),
            durations: c.task_durations.clone(),
            stopped: NodeStatus::from(c.status_strings.stopped.as_str()),
        }
    }
}

/// Filters of DescribeClusters.
#[derive(Clone, Debug, Default)]
pub struct ClusterFilter {
    pub region_id: Option<String>,
    pub vdc_id: Option<String>,
    pub cluster_name: Option<String>,
    pub cluster_id: Option<String>,
}

pub struct World {
    pub(crate) state: WorldState,
    pub(crate) settings: WorldSettings,
    rng: StdRng,
    /// Running tasks by (due time in ms, submission order).
    pub(crate) pending: BTreeSet<(i64, u64, String)>,
}

fn rng_for(seed: Option<u64>, generation: u64) -> StdRng {
    match seed {
        Some(s) => StdRng::seed_from_u64(s ^ 0x5EED_C10D_0000_0001 ^ generation.rotate_left(32)),
        None => StdRng::from_os_rng(),
    }
}

impl World {
    /// A fresh world holding the configured clusters.
    pub fn new(config: &SimConfig, now: Timestamp) -> World {
        let mut w = World {
            state: WorldState::default(),
            settings: WorldSettings::from_config(config),
            rng: rng_for(config.seed, 0),
            pending: BTreeSet::new(),
        };
        for (k, c) in config.clusters.iter().enumerate() {
            let cluster = w.configured_cluster(k, c, now);
            w.state.clusters.push(cluster);
        }
        w
    }

    /// A world continuing from a saved state; running tasks keep their due times.
    pub fn restore(mut state: WorldState, config: &SimConfig) -> World {
        state.generation += 1;
        let pending = state
            .tasks
            .values()
            .filter(|t| t.status == TaskStatus::Doing)
            .map(|t| (t.due_at.as_millisecond(), t.seq, t.id.clone()))
            .collect();
        World {
            rng: rng_for(config.seed, state.generation),
            settings: WorldSettings::from_config(config),
            state,
            pending,
        }
    }

    pub fn state(&self) -> &WorldState {
        &self.state
    }

    pub(crate) fn new_id(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    pub(crate) fn next_public_ip(&mut self) -> String {
        let c = self.state.public_ip_counter % IP_SPACE;
        self.state.public_ip_counter = self.state.public_ip_counter.wrapping_add(1);
        format!("198.18.{}.{}", c / 254, c % 254 + 1)
    }

    fn configured_cluster(&mut self, k: usize, c: &ClusterConfig, now: Timestamp) -> SimCluster {
        let create_time = c
            .create_time
            .clone()
            .unwrap_or_else(|| format_beijing_time(now));
        let ip_prefix = format!("10.{}", (241 + k) % 256);
        let mut snats = Vec::new();
        for (j, s) in c.snats.iter().enumerate() {
            let default_name = if j == 0 {
                "default".into()
            } else {
                format!("snat-{j}")
            };
            snats.push(SimSnat {
                id: s.id.clone(),
                name: s.name.clone().unwrap_or(default_name),
                public_ip: s.public_ip.clone().unwrap_or_else(|| self.next_public_ip()),
                private_ip: s
                    .private_ip
                    .clone()
                    .unwrap_or_else(|| format!("{ip_prefix}.255.{}", j % 254 + 1)),
                vm_id: s.vm_id.clone().unwrap_or_else(|| self.new_id()),
                create_time: s.create_time.clone().unwrap_or_else(|| create_time.clone()),
                update_time: s.create_time.clone().unwrap_or_else(|| create_time.clone()),
            });
        }
        let mut cluster = SimCluster {
            id: c.id.clone(),
            name: c.name.clone(),
            region_id: c
                .region_id
                .clone()
                .unwrap_or_else(|| "CN_Hongkong_B".into()),
            vdc_id: c.vdc_id.clone().unwrap_or_else(|| self.new_id()),
            vdc_name: c
                .vdc_name
                .clone()
                .unwrap_or_else(|| format!("{}-vdc", c.name)),
            k8s_version: c.k8s_version.clone().unwrap_or_else(|| "1.19.3".into()),
            status: c.status.clone().unwrap_or(ClusterStatus::Ok),
            haproxy_ip: c.haproxy_ip.clone().unwrap_or_default(),
            domain: c.domain.clone().unwrap_or_default(),
            error_msg: c.error_msg.clone().unwrap_or_default(),
            create_time: create_time.clone(),
            ip_prefix,
            snats,
            nodes: Vec::new(),
            next_worker: 1,
            next_master: 1,
            next_ip: 10,
        };
        let mut auto_snat = Vec::new();
        for (role, group) in [
            (NodeType::Master, &c.masters),
            (NodeType::Worker, &c.workers),
        ] {
            for n in group.expand() {
                let status = n.status.clone().unwrap_or(NodeStatus::Ok);
                let schedulable = n
                    .schedulable
                    .unwrap_or(role == NodeType::Worker && status == NodeStatus::Ok);
                let id = self.new_id();
                let mut node = blank_node(&mut cluster, role.clone(), id, now);
                if let Some(name) = n.name {
                    node.node_name = name;
                }
                if let Some(id) = n.id {
                    node.node_id = id;
                }
                node.cpu = n.cpu.unwrap_or(8);
                node.memory = n.memory.unwrap_or(32);
                node.status = status;
                node.schedulable = schedulable;
                node.create_time = n.create_time.unwrap_or_else(|| create_time.clone());
                // Addresses and gateways left open are filled in below, in one pass.
                node.private_ip = n.private_ip.unwrap_or_default();
                if let Some(public_id) = n.public_id {
                    node.public_id = public_id;
                    node.public_ip = n.public_ip.unwrap_or_else(|| self.next_public_ip());
                } else {
                    node.public_ip = n.public_ip.unwrap_or_default();
                    match n.snat_id {
                        Some(s) => set_snat(&cluster, &mut node, Some(&s)),
                        None => auto_snat.push(cluster.nodes.len()),
                    }
                }
                cluster.nodes.push(SimNode {
                    node,
                    task: None,
                    prev_status: None,
                });
            }
        }
        let need: Vec<usize> = (0..cluster.nodes.len())
            .filter(|i| cluster.nodes[*i].node.private_ip.is_empty())
            .collect();
        let ips = alloc_private_ips(&mut cluster, need.len());
        for (i, ip) in need.into_iter().zip(ips) {
            cluster.nodes[i].node.private_ip = ip;
        }
        let mut picker = SnatPicker::new(&cluster);
        for i in auto_snat {
            let pick = picker.pick(&cluster, None);
            let mut node = std::mem::take(&mut cluster.nodes[i].node);
            set_snat(&cluster, &mut node, pick.as_deref());
            cluster.nodes[i].node = node;
        }
        cluster
    }
}

impl World {
    pub(crate) fn cluster_index(&self, id: &str) -> Result<usize, ApiError> {
        self.state
            .clusters
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "ClusterId {id} does not exist; DescribeClusters lists the existing clusters"
                ))
            })
    }

    /// Records a task over `node_ids` due after the action's configured duration.
    pub(crate) fn submit_task(
        &mut self,
        action: Action,
        cluster_id: &str,
        id: String,
        node_ids: Vec<String>,
        fate: Fate,
        now: Timestamp,
    ) {
        let d = &self.settings.durations;
        let ms = match action {
            Action::CreateClusterNodes => d.create_ms,
            Action::StartClusterNodes => d.start_ms,
            Action::StopClusterNodes => d.stop_ms,
            _ => d.delete_ms,
        };
        let span = jiff::SignedDuration::from_millis(i64::try_from(ms).unwrap_or(i64::MAX));
        let due_at = now.checked_add(span).unwrap_or(Timestamp::MAX);
        let seq = self.state.next_task_seq;
        self.state.next_task_seq += 1;
        self.pending
            .insert((due_at.as_millisecond(), seq, id.clone()));
        self.state.tasks.insert(
            id.clone(),
            SimTask {
                id,
                seq,
                action,
                cluster_id: cluster_id.to_owned(),
                node_ids,
                submitted_at: now,
                due_at,
                fate,
                status: TaskStatus::Doing,
                err_msg: None,
            },
        );
    }
}

#[cfg(test)]
#[path = "world_tests.rs"]
mod tests;
