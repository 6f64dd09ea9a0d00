//! Tests of the world's construction, queries, task bookkeeping and restore.

use super::*;
use crate::sim::config::{NodeConfig, NodeGroup};
use crate::sim::test_support::*;
use crate::sim::world_admin::{AddNodes, PatchNode};

#[test]
fn the_demo_world_looks_like_the_vendor_example() {
    let w = world();
    let clusters = w.describe_clusters(&ClusterFilter::default());
    assert_eq!(clusters.len(), 1);
    let c = &clusters[0];
    assert_eq!((c.cluster_name.as_str(), c.node_num), ("cck-demo", 3));
    assert_eq!(c.status, ClusterStatus::Ok);
    assert_eq!(c.snats[0].used_num, 3);
    let page = w.describe_nodes(CLUSTER, 20, 1).unwrap();
    let names: Vec<_> = page.nodes.iter().map(|n| n.node_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cck-demo-master001",
            "cck-demo-master002",
            "cck-demo-master003"
        ]
    );
    for n in &page.nodes {
        assert_eq!(
            (n.node_type.clone(), n.cpu, n.memory),
            (NodeType::Master, 8, 32)
        );
        assert!(!n.schedulable);
        assert_eq!(n.status, NodeStatus::Ok);
        assert_eq!(n.snat_id, SNAT);
        assert_eq!(n.snat_name, "default");
        assert_eq!(n.vdc_name, "vdc-Hongkong");
        assert_eq!(n.create_time, "2024-05-26 14:00:00", "Beijing time");
        assert!(uuid::Uuid::parse_str(&n.node_id).is_ok());
    }
    let nats = w.describe_nats(CLUSTER).unwrap();
    assert_eq!(
        (nats[0].cluster_id.as_str(), nats[0].used_num),
        (CLUSTER, 3)
    );
    assert!(!nats[0].vm_id.is_empty());
}

#[test]
fn cluster_filters() {
    let w = world();
    let f = |region: Option<&str>, name: Option<&str>, id: Option<&str>| {
        w.describe_clusters(&ClusterFilter {
            region_id: region.map(Into::into),
            vdc_id: None,
            cluster_name: name.map(Into::into),
            cluster_id: id.map(Into::into),
        })
        .len()
    };
    assert_eq!(f(Some("CN_Hongkong_B"), Some("demo"), Some(CLUSTER)), 1);
    assert_eq!(f(Some("US_East"), None, None), 0);
    assert_eq!(f(None, Some("prod"), None), 0);
    assert_eq!(f(None, None, Some("nope")), 0);
}

#[test]
fn pagination_is_stable_with_a_correct_total() {
    let mut w = world();
    let spec = AddNodes {
        count: 45,
        cpu: None,
        memory: None,
        status: None,
        node_type: None,
        schedulable: None,
        snat_id: None,
    };
    w.admin_add_nodes(CLUSTER, &spec, t0()).unwrap();
    let sizes: Vec<usize> = (1..=4)
        .map(|p| w.describe_nodes(CLUSTER, 20, p).unwrap().nodes.len())
        .collect();
    assert_eq!(sizes, [20, 20, 8, 0]);
    assert_eq!(w.describe_nodes(CLUSTER, 20, 4).unwrap().total, 48);
    let all: Vec<String> = (1..=3)
        .flat_map(|p| w.describe_nodes(CLUSTER, 20, p).unwrap().nodes)
        .map(|n| n.node_id)
        .collect();
    let direct: Vec<String> = w.state.clusters[0]
        .nodes
        .iter()
        .map(|n| n.node.node_id.clone())
        .collect();
    assert_eq!(all, direct);
    assert_eq!(
        w.describe_nodes(CLUSTER, 100, u64::MAX)
            .unwrap()
            .nodes
            .len(),
        0
    );
    let e = w.describe_nodes("nope", 20, 1).unwrap_err();
    assert!(e.msg.contains("does not exist"), "{}", e.msg);
    // Private addresses are unique within the cluster.
    let mut ips: Vec<_> = w.state.clusters[0]
        .nodes
        .iter()
        .map(|n| n.node.private_ip.clone())
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 48);
}

#[test]
fn configured_nodes_get_defaults_and_explicit_values() {
    let mut c = config();
    c.clusters[0].workers = NodeGroup::List(vec![
        NodeConfig {
            name: Some("special".into()),
            status: Some(NodeStatus::Stopped),
            ..NodeConfig::default()
        },
        NodeConfig {
            public_id: Some("pub-1".into()),
            ..NodeConfig::default()
        },
    ]);
    let w = World::new(&c, t0());
    let nodes = &w.state.clusters[0].nodes;
    assert_eq!(nodes[3].node.node_name, "special");
    assert!(
        !nodes[3].node.schedulable,
        "a stopped worker is not schedulable"
    );
    assert_eq!(
        nodes[4].node.node_name, "cck-demo-worker002",
        "numbers are not reused"
    );
    assert!(nodes[4].node.schedulable);
    assert_eq!(nodes[4].node.public_id, "pub-1");
    assert!(nodes[4].node.snat_id.is_empty());
    assert!(nodes[4].node.public_ip.starts_with("198.18."));
}

#[test]
fn seeded_worlds_are_reproducible_and_restores_do_not_repeat_ids() {
    let a = world();
    let b = world();
    assert_eq!(a.state(), b.state());
    // A restored world must not draw the ids its first life already handed out.
    let existing = serde_json::to_string(a.state()).unwrap();
    let mut restored = World::restore(a.state().clone(), &config());
    restored
        .try_create(&create_req(3), t0(), Fate::Succeed)
        .unwrap();
    for id in restored.worker_ids() {
        assert!(!existing.contains(&id), "{id} repeated");
    }
}

#[test]
fn restored_worlds_finish_running_tasks_on_time() {
    let mut w = world();
    let task = w.try_create(&create_req(2), t0(), Fate::Succeed).unwrap();
    let json = serde_json::to_vec(w.state()).unwrap();
    let state: WorldState = serde_json::from_slice(&json).unwrap();
    let mut back = World::restore(state, &config());
    back.advance(at(4999));
    assert_eq!(back.task_status(&task), "Doing");
    back.advance(at(5000));
    assert_eq!(back.task_status(&task), "Finish");
    assert!(
        back.worker_ids()
            .iter()
            .all(|id| back.status_of(id) == Some(NodeStatus::Ok))
    );
}

#[test]
fn old_finished_tasks_are_forgotten() {
    let mut c = config();
    c.limits.max_finished_tasks = 2;
    let mut w = World::new(&c, t0());
    let tasks: Vec<String> = (0..3)
        .map(|i| {
            let t = w
                .try_create(&create_req(1), at(i * 10_000), Fate::Succeed)
                .unwrap();
            w.advance(at(i * 10_000 + 5000));
            t
        })
        .collect();
    assert!(
        w.describe_task(&tasks[0])
            .unwrap_err()
            .msg
            .contains("does not exist")
    );
    assert_eq!(w.task_status(&tasks[1]), "Finish");
    assert_eq!(w.task_status(&tasks[2]), "Finish");
    assert_eq!(w.state.tasks.len(), 2);
}

#[test]
fn an_admin_change_during_a_task_wins() {
    let mut w = world();
    let ids = with_workers(&mut w, 2);
    let task = w
        .try_node_op(Action::StopClusterNodes, &ids, at(6000), Fate::Succeed)
        .unwrap();
    let patch = PatchNode {
        status: Some(NodeStatus::Error),
        schedulable: None,
    };
    w.admin_patch_node(&ids[0], &patch).unwrap();
    w.admin_delete_node(&ids[1]).unwrap();
    w.advance(at(9000));
    assert_eq!(w.task_status(&task), "Finish");
    assert_eq!(w.status_of(&ids[0]), Some(NodeStatus::Error));
    assert_eq!(w.worker_ids().len(), 1);
    assert!(
        w.admin_delete_node(&ids[1])
            .unwrap_err()
            .msg
            .contains("does not exist")
    );
}

#[test]
fn an_impossible_address_request_is_refused_without_a_giant_allocation() {
    // `limits.maxCreateNum` is not bounded by the address space, so Num can be huge.
    let mut w = world();
    let before = w.state().clone();
    let c = &mut w.state.clusters[0];
    let ips = crate::sim::placement::alloc_private_ips(c, usize::MAX / 2);
    assert!(
        ips.len() < 70_000,
        "fewer than asked, at most the address space"
    );
    assert_eq!(w.state(), &before, "the cursor is left alone");
}
