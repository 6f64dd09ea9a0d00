//! The `masters` / `workers` entries of a cluster in the config: a bare count (`3`), a
//! group (`{count: 2, cpu: 16, memory: 64, status: Stopped}`) or a list of nodes.
//!
//! A hand-written visitor rather than `#[serde(untagged)]`, so a typo inside a group or a
//! node still gets serde's "unknown field `x`, expected one of ..." with its key path.

use crate::cck::types::NodeStatus;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// Nodes of one role in a configured cluster.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeGroup {
    Group(GroupSpec),
    List(Vec<NodeConfig>),
}

impl NodeGroup {
    pub fn count(n: u32) -> Self {
        NodeGroup::Group(GroupSpec {
            count: n,
            ..GroupSpec::default()
        })
    }

    /// The nodes this entry describes, one spec each.
    pub fn expand(&self) -> Vec<NodeConfig> {
        match self {
            NodeGroup::List(nodes) => nodes.clone(),
            NodeGroup::Group(g) => (0..g.count)
                .map(|_| NodeConfig {
                    cpu: g.cpu,
                    memory: g.memory,
                    status: g.status.clone(),
                    schedulable: g.schedulable,
                    ..NodeConfig::default()
                })
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            NodeGroup::List(nodes) => nodes.len(),
            NodeGroup::Group(g) => g.count as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for NodeGroup {
    fn default() -> Self {
        NodeGroup::count(0)
    }
}

/// `count` identical nodes.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupSpec {
    pub count: u32,
    #[serde(default)]
    pub cpu: Option<u32>,
    #[serde(default)]
    pub memory: Option<u32>,
    #[serde(default)]
    pub status: Option<NodeStatus>,
    #[serde(default)]
    pub schedulable: Option<bool>,
}

/// One configured node; everything is optional and gets a plausible default
/// (name `<cluster>-worker001`, 8 cpu / 32 GB, `Ok`, the least used gateway, ...).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NodeConfig {
    pub id: Option<String>,
    pub name: Option<String>,
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    pub status: Option<NodeStatus>,
    /// Default: true for a worker that is `Ok`, false otherwise.
    pub schedulable: Option<bool>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub public_id: Option<String>,
    /// A gateway id of this cluster (default: the least used one).
    pub snat_id: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS`, Beijing time (default: the cluster's `createTime`).
    pub create_time: Option<String>,
}

impl<'de> Deserialize<'de> for NodeGroup {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NodeGroup;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a node count, a group {count, cpu, memory, status, schedulable} or a list of nodes",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeGroup, E> {
                u32::try_from(v)
                    .map(NodeGroup::count)
                    .map_err(|_| E::custom(format!("node count {v} is too large")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeGroup, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("node count {v} must not be negative")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<NodeGroup, A::Error> {
                GroupSpec::deserialize(MapAccessDeserializer::new(map)).map(NodeGroup::Group)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<NodeGroup, A::Error> {
                Vec::<NodeConfig>::deserialize(SeqAccessDeserializer::new(seq)).map(NodeGroup::List)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_shapes_parse() {
        let n: NodeGroup = serde_json::from_str("3").unwrap();
        assert_eq!(n.len(), 3);
        let g: NodeGroup =
            serde_norway::from_str("{count: 2, cpu: 16, memory: 64, status: Stopped}").unwrap();
        let nodes = g.expand();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1].cpu, Some(16));
        assert_eq!(nodes[1].status, Some(NodeStatus::Stopped));
        let l: NodeGroup = serde_norway::from_str("- {name: a}\n- {cpu: 8, memory: 64}\n").unwrap();
        assert_eq!(l.expand()[0].name.as_deref(), Some("a"));
    }

    #[test]
    fn typos_and_bad_shapes_are_reported() {
        let e = serde_norway::from_str::<NodeGroup>("{count: 2, cpus: 4}").unwrap_err();
        assert!(e.to_string().contains("unknown field `cpus`"), "{e}");
        let e = serde_json::from_str::<NodeGroup>("-1").unwrap_err();
        assert!(e.to_string().contains("negative"), "{e}");
        let e = serde_json::from_str::<NodeGroup>("\"three\"").unwrap_err();
        assert!(e.to_string().contains("a node count"), "{e}");
    }
}
