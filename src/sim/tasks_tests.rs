//! Tests of task progression with explicit times: create → Creating → Ok, stop →
//! Updating → stopped, delete → gone, and failed or partially failed tasks.

use crate::cck::types::{Action, NodeStatus, NodeType};
use crate::sim::faults::Fate;
use crate::sim::test_support::*;
use crate::sim::world::World;

#[test]
fn create_then_the_task_makes_the_nodes_ok() {
    let mut w = world();
    let task = w.try_create(&create_req(2), t0(), Fate::Succeed).unwrap();
    let ids = w.worker_ids();
    assert_eq!(ids.len(), 2);
    let nodes = w.describe_nodes(CLUSTER, 20, 1).unwrap().nodes;
    let new: Vec<_> = nodes
        .iter()
        .filter(|n| n.node_type == NodeType::Worker)
        .collect();
    assert_eq!(new[0].node_name, "cck-demo-worker001");
    assert_eq!(new[1].node_name, "cck-demo-worker002");
    assert!(
        new.iter()
            .all(|n| n.status == NodeStatus::Creating && !n.schedulable)
    );
    assert!(
        new.iter()
            .all(|n| (n.cpu, n.memory) == (8, 64) && n.snat_id == SNAT)
    );
    assert_ne!(new[0].private_ip, new[1].private_ip);
    assert_eq!(w.describe_clusters(&Default::default())[0].node_num, 5);
    assert_eq!(w.describe_nats(CLUSTER).unwrap()[0].used_num, 5);
    assert_eq!(w.task_status(&task), "Doing");
    w.advance(at(4999));
    assert_eq!(w.status_of(&ids[0]), Some(NodeStatus::Creating));
    w.advance(at(5000));
    assert_eq!(w.task_status(&task), "Finish");
    let nodes = w.describe_nodes(CLUSTER, 20, 1).unwrap().nodes;
    assert!(
        nodes[3..]
            .iter()
            .all(|n| n.status == NodeStatus::Ok && n.schedulable)
    );
}

#[test]
fn stop_start_delete_lifecycle_and_names_are_never_reused() {
    let mut w = world();
    let ids = with_workers(&mut w, 2);
    let stop = w
        .try_node_op(Action::StopClusterNodes, &ids, at(6000), Fate::Succeed)
        .unwrap();
    assert!(
        ids.iter()
            .all(|id| w.status_of(id) == Some(NodeStatus::Updating))
    );
    w.advance(at(8999));
    assert_eq!(w.task_status(&stop), "Doing");
    w.advance(at(9000));
    assert_eq!(w.task_status(&stop), "Finish");
    assert!(
        ids.iter()
            .all(|id| w.status_of(id) == Some(NodeStatus::Stopped))
    );
    let start = w
        .try_node_op(
            Action::StartClusterNodes,
            &ids[..1],
            at(10_000),
            Fate::Succeed,
        )
        .unwrap();
    w.advance(at(13_000));
    assert_eq!(w.task_status(&start), "Finish");
    assert_eq!(w.status_of(&ids[0]), Some(NodeStatus::Ok));
    // Delete one Ok and one Stopped node.
    let del = w
        .try_node_op(Action::DeleteClusterNodes, &ids, at(14_000), Fate::Succeed)
        .unwrap();
    assert_eq!(w.worker_ids().len(), 2, "still listed while Updating");
    w.advance(at(17_000));
    assert_eq!(w.task_status(&del), "Finish");
    assert!(w.worker_ids().is_empty());
    assert_eq!(w.describe_nats(CLUSTER).unwrap()[0].used_num, 3);
    w.try_create(&create_req(1), at(18_000), Fate::Succeed)
        .unwrap();
    let names: Vec<_> = w
        .describe_nodes(CLUSTER, 20, 1)
        .unwrap()
        .nodes
        .into_iter()
        .map(|n| n.node_name)
        .collect();
    assert_eq!(names.last().map(String::as_str), Some("cck-demo-worker003"));
}

#[test]
fn a_configured_stopped_string_is_used_and_required_for_start() {
    let mut c = config();
    c.status_strings.stopped = "Shutoff".into();
    let mut w = World::new(&c, t0());
    let ids = with_workers(&mut w, 1);
    w.try_node_op(Action::StopClusterNodes, &ids, at(6000), Fate::Succeed)
        .unwrap();
    w.advance(at(9000));
    assert_eq!(
        w.status_of(&ids[0]),
        Some(NodeStatus::Other("Shutoff".into()))
    );
    w.try_node_op(Action::StartClusterNodes, &ids, at(10_000), Fate::Succeed)
        .unwrap();
}

#[test]
fn failed_tasks_move_nodes_to_error_or_back() {
    let mut w = world();
    let task = w.try_create(&create_req(2), t0(), Fate::Fail).unwrap();
    w.advance(at(5000));
    let info = w.describe_task(&task).unwrap();
    assert_eq!(info.status.to_string(), "Error");
    assert!(info.err_msg.unwrap().contains("could not be created"));
    let ids = w.worker_ids();
    assert!(
        ids.iter()
            .all(|id| w.status_of(id) == Some(NodeStatus::Error))
    );
    // Error nodes can be deleted; a failed delete puts them back to Error.
    let del = w
        .try_node_op(Action::DeleteClusterNodes, &ids, at(6000), Fate::Fail)
        .unwrap();
    w.advance(at(9000));
    assert_eq!(w.task_status(&del), "Error");
    assert!(
        ids.iter()
            .all(|id| w.status_of(id) == Some(NodeStatus::Error))
    );
}

#[test]
fn partial_failures_name_the_failed_nodes() {
    let mut w = world();
    let ids = with_workers(&mut w, 3);
    let fate = Fate::Partial(vec![false, true, false]);
    let stop = w
        .try_node_op(Action::StopClusterNodes, &ids, at(6000), fate)
        .unwrap();
    w.advance(at(9000));
    let info = w.describe_task(&stop).unwrap();
    assert_eq!(info.status.to_string(), "part_fail");
    let msg = info.err_msg.unwrap();
    assert!(
        msg.contains("1 of 3") && msg.contains(&ids[1]) && !msg.contains(&ids[0]),
        "{msg}"
    );
    assert_eq!(w.status_of(&ids[0]), Some(NodeStatus::Stopped));
    assert_eq!(
        w.status_of(&ids[1]),
        Some(NodeStatus::Ok),
        "back to its previous status"
    );
    let task = w
        .try_create(&create_req(2), at(10_000), Fate::Partial(vec![true, false]))
        .unwrap();
    w.advance(at(15_000));
    assert_eq!(w.task_status(&task), "part_fail");
    let new = &w.worker_ids()[3..];
    assert_eq!(w.status_of(&new[0]), Some(NodeStatus::Error));
    assert_eq!(w.status_of(&new[1]), Some(NodeStatus::Ok));
}
