//! Placing new nodes: their names (per-cluster counters that never reuse a number),
//! unique private addresses from the cluster's range, and their gateway fields.

use crate::cck::types::{Node, NodeType, format_beijing_time};
use crate::sim::world::SimCluster;
use jiff::Timestamp;
use std::collections::HashSet;

/// Private addresses per cluster: `<prefix>.X.Y` with X in 0..=255 and Y in 1..=254.
pub(crate) const IP_SPACE: u32 = 256 * 254;

/// A node record with the next name of its role, not yet placed or added.
pub(crate) fn blank_node(c: &mut SimCluster, role: NodeType, id: String, now: Timestamp) -> Node {
    let name = match role {
        NodeType::Master => {
            c.next_master += 1;
            format!("{}-master{:03}", c.name, c.next_master - 1)
        }
        _ => {
            c.next_worker += 1;
            format!("{}-worker{:03}", c.name, c.next_worker - 1)
        }
    };
    Node {
        vdc_id: c.vdc_id.clone(),
        vdc_name: c.vdc_name.clone(),
        node_id: id,
        node_name: name,
        node_type: role,
        create_time: format_beijing_time(now),
        ..Node::default()
    }
}

pub(crate) fn set_snat(c: &SimCluster, node: &mut Node, snat_id: Option<&str>) {
    let snat = snat_id.and_then(|id| c.snats.iter().find(|s| s.id == id));
    node.snat_id = snat.map(|s| s.id.clone()).unwrap_or_default();
    node.snat_name = snat.map(|s| s.name.clone()).unwrap_or_default();
}

/// `n` unused private addresses of the cluster, or fewer if the range is full.
pub(crate) fn alloc_private_ips(c: &mut SimCluster, n: usize) -> Vec<String> {
    let used: HashSet<&str> = c
        .nodes
        .iter()
        .map(|n| n.node.private_ip.as_str())
        .chain(c.snats.iter().map(|s| s.private_ip.as_str()))
        .collect();
    // `n` comes from a request (Num), bounded only by `limits.maxCreateNum`: never size
    // an allocation by it beyond what the address space can hold.
    let mut out = Vec::with_capacity(n.min(IP_SPACE as usize));
    let mut cursor = c.next_ip;
    for _ in 0..IP_SPACE {
        if out.len() == n {
            break;
        }
        let i = cursor % IP_SPACE;
        cursor = cursor.wrapping_add(1);
        let ip = format!("{}.{}.{}", c.ip_prefix, i / 254, i % 254 + 1);
        if !used.contains(ip.as_str()) {
            out.push(ip);
        }
    }
    // Leave the cursor alone when the request cannot be satisfied (nothing is applied).
    if out.len() == n {
        c.next_ip = cursor % IP_SPACE;
    }
    out
}
