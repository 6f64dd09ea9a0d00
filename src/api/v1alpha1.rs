//! `CckNodePool` (group `cck.capitalonline.net`, version `v1alpha1`): the desired number
//! of CCK worker nodes of one cluster and their template, and what the operator observed
//! and did about it.
//!
//! Rules the schema can state statically are in it (ranges, enums, required fields);
//! cross-field rules are CEL (`x-kubernetes-validations`), which API servers before 1.25
//! ignore, so [`super::validation`] re-checks every rule at run time, and a unit test
//! holds the two in agreement.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// The CEL rule for the instance-type table; `validation.rs` tests it against
/// [`crate::cck::INSTANCE_TYPES`] so the two cannot drift apart.
pub const INSTANCE_SHAPE_RULE: &str = "(self.instanceType + '/' + string(self.cpu) + '/' + string(self.memory)) in ['CCK.CpuHigh/8/8', 'CCK.CpuHigh/16/16', 'CCK.CpuHigh/32/32', 'CCK.CpuHigh/64/64', 'CCK.Cpu/8/16', 'CCK.Cpu/16/32', 'CCK.Cpu/32/64', 'CCK.Cpu/64/128', 'CCK.Standard/8/32', 'CCK.Standard/16/64', 'CCK.Standard/32/128', 'CCK.Memory/8/64', 'CCK.Memory/16/128']";

/// A pool of CCK worker nodes in one cluster, kept at `replicas` by the operator.
// clippy reads the repeated `printcolumn(type_ = ..)` keys as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "cck.capitalonline.net",
    version = "v1alpha1",
    kind = "CckNodePool",
    plural = "ccknodepools",
    shortname = "cnp",
    category = "cck",
    namespaced,
    cel,
    status = "CckNodePoolStatus",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas"
    ),
    printcolumn(
        name = "Cluster",
        type_ = "string",
        json_path = ".spec.clusterId",
        priority = "1"
    ),
    printcolumn(name = "Desired", type_ = "integer", json_path = ".spec.replicas"),
    printcolumn(name = "Current", type_ = "integer", json_path = ".status.replicas"),
    printcolumn(name = "Ready", type_ = "integer", json_path = ".status.readyReplicas"),
    printcolumn(
        name = "Stopped",
        type_ = "integer",
        json_path = ".status.stoppedReplicas"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "A pool of Capital Online CCK worker nodes that the operator keeps at spec.replicas"
)]
#[serde(rename_all = "camelCase")]
pub struct CckNodePoolSpec {
    /// The CCK cluster (ClusterId of DescribeClusters) whose worker nodes this pool manages.
    /// It cannot be changed once set: create another pool instead.
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("clusterId is immutable; create a new pool for another cluster"))]
    #[schemars(length(min = 1, max = 64))]
    pub cluster_id: String,

    /// Desired number of running worker nodes (scale subresource: `kubectl scale cnp/NAME --replicas=N`).
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: i32,

    /// What each node of the pool looks like.
    pub template: NodeTemplate,

    /// Secret in the pool's namespace with the keys `accessKeyId` and `accessKeySecret`.
    /// Without it, the operator's own credentials are used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_ref: Option<LocalObjectRef>,

    /// How nodes are chosen when the pool shrinks.
    #[serde(default)]
    pub scale_down: ScaleDownPolicy,

    /// What happens to the pool's nodes when the pool is deleted: `Delete` releases them in
    /// the cloud, `Retain` leaves them running and forgets them.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Stops every cloud mutation (create, start, stop, delete) while status keeps being
    /// observed. The annotation `cck.capitalonline.net/paused: "true"` has the same effect.
    #[serde(default)]
    pub paused: bool,

    /// Existing worker NodeIds that this pool should take over. A node is adopted only if it
    /// is a Worker of the pool's cluster that no other pool owns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    pub adopt_node_ids: Vec<String>,
}

/// The template of the pool's nodes, as CreateClusterNodes takes it.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = kube::core::Rule::new(INSTANCE_SHAPE_RULE).message("cpu/memory must be a pair offered by instanceType: CCK.CpuHigh 8/8 16/16 32/32 64/64; CCK.Cpu 8/16 16/32 32/64 64/128; CCK.Standard 8/32 16/64 32/128; CCK.Memory 8/64 16/128"),
    validation = kube::core::Rule::new("!(has(self.publicId) && size(self.publicId) > 0 && has(self.snatIds) && size(self.snatIds) > 0)").message("publicId and snatIds are alternatives: set one of them"),
    validation = kube::core::Rule::new("!has(self.snatType) || self.snatType != 'Specified' || (has(self.snatIds) && size(self.snatIds) > 0)").message("snatType Specified needs at least one entry in snatIds"),
    validation = kube::core::Rule::new("!has(self.snatType) || self.snatType != 'Auto' || !has(self.snatIds) || size(self.snatIds) == 0").message("snatType Auto lets the cloud pick a gateway: leave snatIds empty"),
)]
pub struct NodeTemplate {
    /// Instance family: CCK.CpuHigh, CCK.Cpu, CCK.Standard or CCK.Memory.
    pub instance_type: InstanceType,
    /// vCPUs; with memory, one of the pairs the instance type offers.
    pub cpu: u32,
    /// Memory in GB; with cpu, one of the pairs the instance type offers.
    pub memory: u32,
    /// Data disks, at least one.
    #[schemars(length(min = 1, max = 16))]
    pub data_disks: Vec<DataDisk>,
    /// Secret key holding the root password of the nodes (8-30 characters with upper and lower
    /// case letters, a digit and a special character). Never inline.
    pub password_secret_ref: SecretKeyRef,
    /// `Specified` uses the gateways in snatIds; `Auto` lets the cloud pick its least used
    /// default gateway. Defaults to `Specified` when snatIds is set, else `Auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snat_type: Option<SnatType>,
    /// SNAT gateway ids of the cluster (DescribeClusterNats).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub snat_ids: Vec<String>,
    /// A public-IP id, the alternative to snatIds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_id: Option<String>,
    /// Operating system; Ubuntu is the only one offered.
    #[serde(default)]
    pub os: Os,
    /// A script run at first boot, sent base64-encoded as `Command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_script: Option<BootScript>,
}

#[derive(schemars::JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstanceType {
    #[serde(rename = "CCK.CpuHigh")]
    CpuHigh,
    #[serde(rename = "CCK.Cpu")]
    Cpu,
    #[serde(rename = "CCK.Standard")]
    Standard,
    #[serde(rename = "CCK.Memory")]
    Memory,
}

impl InstanceType {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceType::CpuHigh => "CCK.CpuHigh",
            InstanceType::Cpu => "CCK.Cpu",
            InstanceType::Standard => "CCK.Standard",
            InstanceType::Memory => "CCK.Memory",
        }
    }
}

/// A data disk.
#[derive(schemars::JsonSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataDisk {
    /// Disk type; HighDisk (performance) is the only one offered.
    #[serde(default, rename = "type")]
    pub disk_type: DiskType,
    /// Size in GB: 100 to 4000 in steps of 100.
    #[serde(default = "default_disk_size")]
    #[schemars(range(min = 100, max = 4000), extend("multipleOf" = 100))]
    pub size_gb: u32,
    /// IOPS; 3000 is the only value offered.
    #[serde(default = "default_iops")]
    #[schemars(range(min = 3000, max = 3000))]
    pub iops: u32,
}

fn default_disk_size() -> u32 {
    100
}

fn default_iops() -> u32 {
    3000
}

#[derive(
    schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize,
)]
pub enum DiskType {
    #[default]
    HighDisk,
}

#[derive(
    schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize,
)]
pub enum Os {
    #[default]
    Ubuntu,
}

#[derive(schemars::JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnatType {
    /// Use the gateways listed in snatIds (SnatType 1).
    Specified,
    /// Let the cloud pick the least used default gateway (SnatType 0).
    Auto,
}

/// The boot script: exactly one of inline, configMapKeyRef or secretKeyRef.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("(has(self.inline) ? 1 : 0) + (has(self.configMapKeyRef) ? 1 : 0) + (has(self.secretKeyRef) ? 1 : 0) == 1").message("bootScript needs exactly one of inline, configMapKeyRef or secretKeyRef"))]
pub struct BootScript {
    /// The script itself (plain text; the operator base64-encodes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16384))]
    pub inline: Option<String>,
    /// A key of a ConfigMap in the pool's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ObjectKeyRef>,
    /// A key of a Secret in the pool's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<ObjectKeyRef>,
}

/// A key of a Secret in the pool's namespace.
#[derive(schemars::JsonSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret.
    #[serde(default = "default_password_key")]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

fn default_password_key() -> String {
    "password".into()
}

/// A key of a ConfigMap or Secret in the pool's namespace.
#[derive(schemars::JsonSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectKeyRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// An object in the pool's namespace, by name.
#[derive(schemars::JsonSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// How the pool shrinks. Nodes in Error are always replaced; stopped nodes the pool does
/// not need are deleted; of the running nodes, those named in `removeFirst` go first,
/// then the rest in `order`. Nodes with an operation in progress or in a status the
/// operator does not know are never chosen.
#[derive(schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleDownPolicy {
    /// Which healthy nodes go first: `Newest` (default) or `Oldest` by creation time.
    #[serde(default)]
    pub order: ScaleDownOrder,
    /// NodeIds or NodeNames to remove first on the next scale-down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    pub remove_first: Vec<String>,
}

#[derive(
    schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize,
)]
pub enum ScaleDownOrder {
    #[default]
    Newest,
    Oldest,
}

#[derive(
    schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize,
)]
pub enum DeletionPolicy {
    /// Release the pool's nodes (DeleteClusterNodes) before the pool goes away.
    #[default]
    Delete,
    /// Leave the nodes running and forget them.
    Retain,
}

pub use super::status::*;
