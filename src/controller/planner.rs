//! The planner: from (desired replicas, the pool's refreshed ledger, its tasks in
//! flight, whether a create is unresolved, pause and backoff) to the cloud mutations to
//! make now. A plain function with no I/O; the reconcile shell carries the plan out.
//!
//! Rules, in order:
//! - nothing is mutated while paused, in backoff, or while the spec is invalid (the shell
//!   does not call the planner then);
//! - a node with a task of ours in flight, or in a transitional or unknown cloud state,
//!   is never chosen for another action;
//! - deleting pool, policy `Delete`: delete every node that can be deleted; `Retain`:
//!   nothing;
//! - unhealthy nodes (`Error`) are deleted and replaced;
//! - too many nodes: delete victims (named ones first, then by `order`), never nodes
//!   that are still provisioning; stopped nodes the pool does not need are deleted too;
//! - too few: start stopped nodes first, then create the rest in one call, but only when
//!   no create of any pool in the cluster is unresolved.

use std::collections::HashMap;

use crate::api::status::{CloudTask, PoolNode, TaskState};
use crate::api::v1alpha1::{DeletionPolicy, ScaleDownOrder, ScaleDownPolicy};
use crate::cck::{Action, NodeStatus, parse_beijing_time};

/// How the planner sees one owned node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeClass {
    /// Status Ok.
    Ready,
    /// Being created, or being started by one of our tasks.
    Provisioning,
    /// Updating, or a status we do not know: leave it alone, count it as present.
    Busy,
    Stopped,
    /// Error: to be deleted and replaced.
    Unhealthy,
    /// Being deleted or stopped by one of our tasks.
    Leaving,
}

/// One cloud mutation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Delete(Vec<String>),
    Start(Vec<String>),
    Create(i32),
}

/// The planner's input.
#[derive(Clone, Debug)]
pub struct PlanInput<'a> {
    pub replicas: i32,
    pub scale_down: &'a ScaleDownPolicy,
    pub ledger: &'a [PoolNode],
    pub tasks: &'a [CloudTask],
    /// This pool has a create whose nodes are not all attributed yet.
    pub own_intent_open: bool,
    /// Another pool has an unresolved create in the same cluster.
    pub cluster_create_blocked: bool,
    /// `Some` while the pool is being deleted.
    pub deleting: Option<DeletionPolicy>,
    /// Most node ids in one Start/Stop/Delete call, and most nodes in one create.
    pub max_per_call: usize,
}

/// Counts for status and conditions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub owned: i32,
    pub ready: i32,
    pub provisioning: i32,
    pub busy: i32,
    pub stopped: i32,
    pub unhealthy: i32,
    pub leaving: i32,
}

impl Counts {
    /// Nodes that count toward `replicas`.
    pub fn active(&self) -> i32 {
        self.ready + self.provisioning + self.busy
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Why the pool is not converged and no step addresses it (for conditions).
    pub waiting: Vec<String>,
    pub counts: Counts,
    /// Deleting pool: everything is released (or retained) and the finalizer may go.
    pub deletion_complete: bool,
}

fn running_task_actions(tasks: &[CloudTask]) -> HashMap<&str, &str> {
    let mut by_node = HashMap::new();
    for t in tasks.iter().filter(|t| t.state == TaskState::Running) {
        for id in &t.node_ids {
            by_node.insert(id.as_str(), t.action.as_str());
        }
    }
    by_node
}

/// Classifies an owned node from its cloud status and our tasks in flight.
pub fn classify(node: &PoolNode, task_action: Option<&str>) -> NodeClass {
    match task_action {
        Some(a)
            if a == Action::DeleteClusterNodes.name() || a == Action::StopClusterNodes.name() =>
        {
            return NodeClass::Leaving;
        }
        Some(a) if a == Action::StartClusterNodes.name() => return NodeClass::Provisioning,
        _ => {}
    }
    match NodeStatus::from(node.status.as_str()) {
        NodeStatus::Ok => NodeClass::Ready,
        NodeStatus::Creating | NodeStatus::Pending => NodeClass::Provisioning,
        NodeStatus::Stopped => NodeClass::Stopped,
        NodeStatus::Error => NodeClass::Unhealthy,
        NodeStatus::Updating | NodeStatus::Other(_) => NodeClass::Busy,
    }
}

fn created_key(n: &PoolNode) -> (Option<jiff::Timestamp>, &str) {
    (parse_beijing_time(&n.created), n.name.as_str())
}

/// Picks `count` scale-down victims among `candidates` (Ready nodes with no task):
/// nodes named in `removeFirst` (by id or name) first, then by `order`.
pub fn choose_victims(
    candidates: &[&PoolNode],
    policy: &ScaleDownPolicy,
    count: usize,
) -> Vec<String> {
    let named = |n: &PoolNode| {
        policy
            .remove_first
            .iter()
            .any(|r| r == &n.node_id || (!n.name.is_empty() && r == &n.name))
    };
    let mut ordered: Vec<&PoolNode> = candidates.to_vec();
    ordered.sort_by(|a, b| {
        let by_age = created_key(a).cmp(&created_key(b));
        let by_age = match policy.order {
            ScaleDownOrder::Oldest => by_age,
            ScaleDownOrder::Newest => by_age.reverse(),
        };
        named(b)
            .cmp(&named(a))
            .then(by_age)
            .then(a.node_id.cmp(&b.node_id))
    });
    ordered
        .into_iter()
        .take(count)
        .map(|n| n.node_id.clone())
        .collect()
}

/// Counts the ledger's nodes by class.
pub fn count(ledger: &[PoolNode], tasks: &[CloudTask]) -> Counts {
    let by_task = running_task_actions(tasks);
    tally(
        ledger
            .iter()
            .map(|n| classify(n, by_task.get(n.node_id.as_str()).copied())),
        ledger.len(),
    )
}

fn tally(classes: impl Iterator<Item = NodeClass>, owned: usize) -> Counts {
    let mut counts = Counts {
        owned: owned as i32,
        ..Counts::default()
    };
    for c in classes {
        match c {
            NodeClass::Ready => counts.ready += 1,
            NodeClass::Provisioning => counts.provisioning += 1,
            NodeClass::Busy => counts.busy += 1,
            NodeClass::Stopped => counts.stopped += 1,
            NodeClass::Unhealthy => counts.unhealthy += 1,
            NodeClass::Leaving => counts.leaving += 1,
        }
    }
    counts
}

pub fn plan(input: &PlanInput<'_>) -> Plan {
    let by_task = running_task_actions(input.tasks);
    let classes: Vec<(&PoolNode, NodeClass)> = input
        .ledger
        .iter()
        .map(|n| (n, classify(n, by_task.get(n.node_id.as_str()).copied())))
        .collect();
    let counts = tally(classes.iter().map(|(_, c)| *c), input.ledger.len());
    let mut out = Plan {
        counts,
        ..Plan::default()
    };
    let max = input.max_per_call.max(1);
    let free = |want: NodeClass| -> Vec<&PoolNode> {
        classes
            .iter()
            .filter(|(n, c)| *c == want && !by_task.contains_key(n.node_id.as_str()))
            .map(|(n, _)| *n)
            .collect()
    };

    if let Some(policy) = input.deleting {
        if policy == DeletionPolicy::Retain {
            out.deletion_complete = !input.own_intent_open;
            if input.own_intent_open {
                out.waiting.push(
                    "waiting for the create in flight to resolve before forgetting the nodes"
                        .into(),
                );
            }
            return out;
        }
        let deletable: Vec<String> = classes
            .iter()
            .filter(|(n, c)| {
                matches!(
                    c,
                    NodeClass::Ready | NodeClass::Stopped | NodeClass::Unhealthy
                ) && !by_task.contains_key(n.node_id.as_str())
            })
            .map(|(n, _)| n.node_id.clone())
            .take(max)
            .collect();
        if !deletable.is_empty() {
            out.steps.push(Step::Delete(deletable));
        }
        out.deletion_complete = input.ledger.is_empty() && !input.own_intent_open;
        if !out.deletion_complete {
            out.waiting.push(format!(
                "releasing {} node(s) before the pool goes away",
                input.ledger.len()
            ));
        }
        return out;
    }

    let mut deletes: Vec<String> = free(NodeClass::Unhealthy)
        .iter()
        .map(|n| n.node_id.clone())
        .collect();
    let active = counts.active();
    let desired = input.replicas.max(0);
    if active > desired {
        let excess = (active - desired) as usize;
        let candidates = free(NodeClass::Ready);
        let victims = choose_victims(&candidates, input.scale_down, excess);
        if victims.len() < excess {
            out.waiting.push(format!(
                "{} more node(s) to remove once their operations finish",
                excess - victims.len()
            ));
        }
        deletes.extend(victims);
    }
    if active >= desired {
        // Stopped nodes the pool does not need are surplus.
        deletes.extend(free(NodeClass::Stopped).iter().map(|n| n.node_id.clone()));
    }
    deletes.truncate(max);
    if !deletes.is_empty() {
        out.steps.push(Step::Delete(deletes));
    }

    if active < desired {
        let mut missing = (desired - active) as usize;
        let stopped = free(NodeClass::Stopped);
        let start: Vec<String> = stopped
            .iter()
            .take(missing.min(max))
            .map(|n| n.node_id.clone())
            .collect();
        missing -= start.len();
        if !start.is_empty() {
            out.steps.push(Step::Start(start));
        }
        if missing > 0 {
            if input.own_intent_open {
                out.waiting
                    .push("waiting for the create in flight to show its nodes".into());
            } else if input.cluster_create_blocked {
                out.waiting.push(
                    "waiting for another pool's create in the same cluster (creates are serialized per cluster)".into(),
                );
            } else {
                out.steps.push(Step::Create(missing.min(max) as i32));
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "planner_tests.rs"]
mod tests;
