//! Tests of the mutating actions: every validation rule (and that a rejection changes
//! nothing), and task progression with explicit times.

use super::*;
use crate::cck::types::{ClusterStatus, CreateClusterNodesRequest};
use crate::sim::test_support::*;
use crate::sim::world_admin::{AddNodes, PatchCluster};

/// Asserts the request is rejected with `code`, that the message contains `needle`, and
/// that the world did not change.
fn rejected_create(w: &mut World, req: &CreateClusterNodesRequest, code: &str, needle: &str) {
    let before = w.state().clone();
    let e = w.try_create(req, at(1), Fate::Succeed).unwrap_err();
    assert_eq!(e.code, code, "{}", e.msg);
    assert!(e.msg.contains(needle), "{:?} lacks {needle:?}", e.msg);
    assert_eq!(w.state(), &before, "a rejected request changed the state");
}

type Edit = Box<dyn Fn(&mut CreateClusterNodesRequest)>;

#[test]
fn create_validation_rules() {
    let mut w = world();
    let cases: Vec<(Edit, &str, &str)> = vec![
        (
            Box::new(|r| r.cluster_id.clear()),
            "MissingParameter",
            "ClusterId",
        ),
        (
            Box::new(|r| r.cluster_id = "nope".into()),
            "InvalidParameter",
            "does not exist",
        ),
        (
            Box::new(|r| r.node_type = "Master".into()),
            "InvalidParameter",
            "only creates Worker",
        ),
        (
            Box::new(|r| r.node_type.clear()),
            "MissingParameter",
            "Type",
        ),
        (
            Box::new(|r| r.instance_type = "CCK.Gpu".into()),
            "InvalidParameter",
            "CCK.CpuHigh",
        ),
        (
            Box::new(|r| r.memory = 16),
            "InvalidParameter",
            "8/64, 16/128",
        ),
        (
            Box::new(|r| r.attach_disks.clear()),
            "InvalidParameter",
            "at least one",
        ),
        (
            Box::new(|r| r.attach_disks[0].disk_size = Some(150)),
            "InvalidParameter",
            "steps of 100",
        ),
        (Box::new(|r| r.num = 0), "InvalidParameter", "1 to 100"),
        (Box::new(|r| r.num = 101), "InvalidParameter", "1 to 100"),
        (
            Box::new(|r| r.password = "short".into()),
            "InvalidParameter",
            "8 to 30",
        ),
        (
            Box::new(|r| r.password = "".into()),
            "MissingParameter",
            "Password",
        ),
        (
            Box::new(|r| r.lsb = Some("CentOS".into())),
            "InvalidParameter",
            "Ubuntu",
        ),
        (
            Box::new(|r| r.command = Some("not base64!".into())),
            "InvalidParameter",
            "base64",
        ),
        (
            Box::new(|r| r.snat_ids = vec![SNAT.into()]),
            "InvalidParameter",
            "SnatType 0",
        ),
        (
            Box::new(|r| r.snat_type = Some(2)),
            "InvalidParameter",
            "SnatType 2",
        ),
        (
            Box::new(|r| {
                r.snat_type = Some(1);
            }),
            "MissingParameter",
            "SnatIds",
        ),
        (
            Box::new(|r| {
                r.snat_type = None;
                r.snat_ids = vec!["gw-x".into()];
            }),
            "InvalidParameter",
            "gateway gw-x does not exist",
        ),
        (
            Box::new(|r| {
                r.public_id = Some("pub".into());
                r.snat_type = Some(1);
                r.snat_ids = vec![SNAT.into()];
            }),
            "InvalidParameter",
            "mutually exclusive",
        ),
    ];
    for (edit, code, needle) in cases {
        let mut req = create_req(1);
        edit(&mut req);
        rejected_create(&mut w, &req, code, needle);
    }
    // The password never appears in any message.
    let mut req = create_req(1);
    req.password = "nopunct1Aaaaa".into();
    let e = w.try_create(&req, at(1), Fate::Succeed).unwrap_err();
    assert!(!e.msg.contains("nopunct1Aaaaa"));
    // A cluster that is not Ok refuses changes.
    let patch = PatchCluster {
        status: Some(ClusterStatus::Updating),
        error_msg: None,
    };
    w.admin_patch_cluster(CLUSTER, &patch).unwrap();
    rejected_create(&mut w, &create_req(1), "InvalidOperation", "Updating");
}

#[test]
fn snat_and_public_ip_placement() {
    let mut c = config();
    c.clusters[0].snats.push(crate::sim::config::SnatConfig {
        id: "gw-2".into(),
        ..Default::default()
    });
    let mut w = World::new(&c, t0());
    // SnatType 0 balances over the least used gateways: gw-2 has none yet.
    w.try_create(&create_req(4), t0(), Fate::Succeed).unwrap();
    let nats = w.describe_nats(CLUSTER).unwrap();
    assert_eq!((nats[0].used_num, nats[1].used_num), (4, 3));
    let mut req = create_req(1);
    req.snat_type = None;
    req.snat_ids = vec!["gw-2".into()];
    w.try_create(&req, t0(), Fate::Succeed).unwrap();
    assert_eq!(w.describe_nats(CLUSTER).unwrap()[1].used_num, 4);
    let mut req = create_req(1);
    req.snat_type = Some(1);
    req.public_id = Some("pub-9".into());
    w.try_create(&req, t0(), Fate::Succeed).unwrap();
    let last = w
        .describe_nodes(CLUSTER, 100, 1)
        .unwrap()
        .nodes
        .pop()
        .unwrap();
    assert_eq!(last.public_id, "pub-9");
    assert!(last.snat_id.is_empty() && !last.public_ip.is_empty());
}

#[test]
fn node_op_validation_rules() {
    let mut w = world();
    let ids = with_workers(&mut w, 2);
    let masters: Vec<String> = w.state.clusters[0].nodes[..3]
        .iter()
        .map(|n| n.node.node_id.clone())
        .collect();
    let check = |w: &mut World, action: Action, ids: &[String], code: &str, needle: &str| {
        let before = w.state().clone();
        let e = w
            .try_node_op(action, ids, at(6000), Fate::Succeed)
            .unwrap_err();
        assert_eq!(e.code, code, "{}", e.msg);
        assert!(e.msg.contains(needle), "{:?} lacks {needle:?}", e.msg);
        assert_eq!(w.state(), &before);
    };
    check(
        &mut w,
        Action::StopClusterNodes,
        &[],
        "InvalidParameter",
        "at least one",
    );
    let dup = vec![ids[0].clone(), ids[0].clone()];
    check(
        &mut w,
        Action::StopClusterNodes,
        &dup,
        "InvalidParameter",
        "more than once",
    );
    let unknown = vec![ids[0].clone(), "ghost".into()];
    check(
        &mut w,
        Action::DeleteClusterNodes,
        &unknown,
        "InvalidParameter",
        "ghost does not exist",
    );
    check(
        &mut w,
        Action::DeleteClusterNodes,
        &masters[..1],
        "InvalidOperation",
        "Master",
    );
    check(
        &mut w,
        Action::StartClusterNodes,
        &ids,
        "InvalidOperation",
        "only nodes that are Stopped",
    );
    let many: Vec<String> = (0..101).map(|i| format!("n{i}")).collect();
    check(
        &mut w,
        Action::StopClusterNodes,
        &many,
        "InvalidParameter",
        "at most 100",
    );
    // Busy nodes: a running stop blocks everything else on that node.
    w.try_node_op(Action::StopClusterNodes, &ids[..1], at(6000), Fate::Succeed)
        .unwrap();
    check(
        &mut w,
        Action::DeleteClusterNodes,
        &ids,
        "InvalidOperation",
        "is Updating",
    );
    let spec = AddNodes {
        count: 1,
        cpu: None,
        memory: None,
        status: Some(NodeStatus::Creating),
        node_type: None,
        schedulable: None,
        snat_id: None,
    };
    let creating = w.admin_add_nodes(CLUSTER, &spec, at(6000)).unwrap();
    check(
        &mut w,
        Action::StopClusterNodes,
        &[creating[0].node_id.clone()],
        "InvalidOperation",
        "Creating",
    );
    let patch = PatchCluster {
        status: Some(ClusterStatus::Error),
        error_msg: None,
    };
    w.admin_patch_cluster(CLUSTER, &patch).unwrap();
    check(
        &mut w,
        Action::StopClusterNodes,
        &ids[1..],
        "InvalidOperation",
        "while the cluster is Ok",
    );
    let mut req = ids_req(&ids[1..]);
    req.cluster_id.clear();
    assert_eq!(
        w.validate_node_op(Action::StopClusterNodes, &req)
            .unwrap_err()
            .code,
        "MissingParameter"
    );
}
