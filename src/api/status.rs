//! The status of a `CckNodePool`: what the operator observed in the cloud, the ledger of
//! nodes the pool owns, the create intent that makes creates crash-safe, the cloud tasks
//! in flight, and Kubernetes-style conditions.
//!
//! The pool's `nodes` list is the ownership ledger: CCK nodes carry no tags, so this list
//! (together with `createIntent` while a create is unresolved) is the only record of which
//! nodes belong to the pool. `docs/ownership.md` describes the protocol around it.
//!
//! Empty strings are left out rather than written: Kubernetes 1.20 API servers reject
//! `""` in custom-resource status fields as "null".

use serde::{Deserialize, Serialize};

#[derive(schemars::JsonSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CckNodePoolStatus {
    /// The cluster the ledger's nodes belong to (spec.clusterId when first reconciled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Nodes the pool owns that exist in the cloud, in any state.
    #[serde(default)]
    pub replicas: i32,
    /// Owned nodes whose status is Ok.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Owned nodes that are stopped.
    #[serde(default)]
    pub stopped_replicas: i32,
    /// One word for `kubectl get`: Ready, Scaling, Degraded, Paused, Invalid or Deleting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The nodes this pool owns (the ownership ledger).
    #[serde(default)]
    pub nodes: Vec<PoolNode>,
    /// Cloud tasks in flight and the most recent finished ones.
    #[serde(default)]
    pub tasks: Vec<CloudTask>,
    /// A create that was decided and may have been sent, whose nodes are not all
    /// attributed yet. While it is set, no pool in the same cluster creates nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_intent: Option<CreateIntent>,
    /// Backoff after failed cloud mutations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryState>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// A node the pool owns.
#[derive(schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolNode {
    pub node_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The cloud's status string (Ok, Creating, Updating, Stopped, Error, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub private_ip: String,
    /// CreateTime as the cloud reports it (Beijing time).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created: String,
    /// How the pool came to own it: Created (by one of its creates) or Adopted.
    #[serde(default)]
    pub origin: NodeOrigin,
    /// RFC 3339: when a listing first lacked this node. One missing observation is not
    /// enough to forget a node (a listing can be incomplete); see docs/ownership.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_since: Option<String>,
}

#[derive(
    schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize,
)]
pub enum NodeOrigin {
    #[default]
    Created,
    Adopted,
}

/// A cloud task the operator started.
#[derive(schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudTask {
    pub task_id: String,
    /// CreateClusterNodes, StartClusterNodes, StopClusterNodes or DeleteClusterNodes.
    pub action: String,
    /// The nodes it acts on (for a create: the nodes attributed to it so far).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_ids: Vec<String>,
    /// Nodes requested, for a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// RFC 3339.
    pub submitted_at: String,
    pub state: TaskState,
    /// The cloud's last status string for the task.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cloud_status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

#[derive(
    schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize,
)]
pub enum TaskState {
    #[default]
    Running,
    Succeeded,
    Failed,
    /// No final status before the action's deadline.
    TimedOut,
}

/// Where a create stands between the decision and the attribution of its nodes.
#[derive(
    schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize,
)]
pub enum IntentState {
    /// Recorded, not (known to be) sent yet. After a crash the call may or may not have
    /// been made.
    #[default]
    Pending,
    /// The cloud accepted it and returned a TaskId.
    Submitted,
    /// Sent, but the response was lost: the cloud may have accepted it.
    Unknown,
}

/// A create in progress. Written before CreateClusterNodes is called, resolved by
/// attributing the new nodes it produced (see docs/ownership.md).
#[derive(schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateIntent {
    /// Unique per intent.
    pub id: String,
    /// Nodes requested (Num).
    pub count: i32,
    pub cpu: u32,
    pub memory: u32,
    /// RFC 3339, when the intent was recorded.
    pub recorded_at: String,
    /// Every NodeId the cluster had just before the call: a node not in this list that
    /// appears afterwards, matches the template and is unowned may be one of ours.
    #[serde(default)]
    pub baseline_node_ids: Vec<String>,
    pub state: IntentState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Nodes attributed to this create so far (also in `nodes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributed_node_ids: Vec<String>,
}

/// Backoff after failures, kept in status so it survives restarts.
#[derive(schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryState {
    pub consecutive_failures: u32,
    /// RFC 3339; no new mutation before it.
    pub not_before: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_error: String,
}

/// A condition in the Kubernetes style.
#[derive(schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Ready, Progressing or Degraded.
    #[serde(rename = "type")]
    pub type_: String,
    /// True, False or Unknown.
    pub status: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// RFC 3339.
    pub last_transition_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
