//! The simulator's admin API: state, direct node changes, stats, one-shot fault queue.

mod sim_support;

use serde_json::json;
use sim_support::*;

#[tokio::test]
async fn state_and_direct_node_changes() {
    let sim = start(fast_config()).await;
    let (s, state) = sim.admin("GET", "/state", None).await;
    assert_eq!(s, 200);
    assert_eq!(state["clusters"][0]["cluster"]["ClusterId"], CLUSTER);
    assert_eq!(state["clusters"][0]["regionId"], "CN_Hongkong_B");
    assert_eq!(state["clusters"][0]["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(state["clusters"][0]["nats"][0]["UsedNum"], 3);

    // Add nodes behind the API's back, as another tool would.
    let (s, v) = sim
        .admin(
            "POST",
            &format!("/clusters/{CLUSTER}/nodes"),
            Some(json!({"count": 2, "cpu": 16, "memory": 64, "status": "Ok", "type": "Worker"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let added = v["nodes"].as_array().unwrap().clone();
    assert_eq!(added.len(), 2);
    assert_eq!(added[0]["NodeName"], "cck-demo-worker001");
    assert_eq!(added[1]["Cpu"], 16);
    assert_eq!(sim.nodes().await.len(), 5);

    // Break one node, remove the other.
    let id0 = added[0]["NodeId"].as_str().unwrap();
    let id1 = added[1]["NodeId"].as_str().unwrap();
    let (s, v) = sim
        .admin(
            "PATCH",
            &format!("/nodes/{id0}"),
            Some(json!({"status": "Error"})),
        )
        .await;
    assert_eq!((s, v["Status"].as_str()), (200, Some("Error")));
    let (s, _) = sim.admin("DELETE", &format!("/nodes/{id1}"), None).await;
    assert_eq!(s, 200);
    let nodes = sim.nodes().await;
    assert_eq!(nodes.len(), 4);
    assert_eq!(nodes[3]["Status"], "Error");

    // Clear admin errors.
    let (s, v) = sim.admin("DELETE", &format!("/nodes/{id1}"), None).await;
    assert_eq!(s, 404);
    assert!(
        v["error"].as_str().unwrap().contains("does not exist"),
        "{v}"
    );
    let (s, v) = sim
        .admin(
            "PATCH",
            &format!("/nodes/{id0}"),
            Some(json!({"stat": "Ok"})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `stat`"),
        "{v}"
    );
    let (s, _) = sim
        .admin("POST", "/clusters/nope/nodes", Some(json!({"count": 1})))
        .await;
    assert_eq!(s, 404);
    let (s, v) = sim.admin("GET", "/nodes/x", None).await;
    assert_eq!(s, 405, "{v}");

    // A cluster that is not Ok refuses changes through the API.
    let (s, _) = sim
        .admin(
            "PATCH",
            &format!("/clusters/{CLUSTER}"),
            Some(json!({"status": "Updating"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = sim.post("CreateClusterNodes", create_body(1)).await;
    assert_eq!((s, v["Code"].as_str()), (403, Some("InvalidOperation")));
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn stats_show_what_reached_the_cloud_and_reset() {
    let sim = start(fast_config()).await;
    sim.get("DescribeClusters", &[]).await;
    sim.post("CreateClusterNodes", json!({"ClusterId": CLUSTER}))
        .await;
    let (_, stats) = sim.admin("GET", "/stats", None).await;
    assert_eq!(stats["total"]["received"], 2);
    assert_eq!(stats["actions"]["DescribeClusters"]["accepted"], 1);
    assert_eq!(stats["actions"]["CreateClusterNodes"]["accepted"], 0);
    assert_eq!(
        stats["actions"]["CreateClusterNodes"]["rejected"]["MissingParameter"],
        1
    );
    let (s, v) = sim.admin("POST", "/stats/reset", None).await;
    assert_eq!((s, v["total"]["received"].as_u64()), (200, Some(0)));
    let (_, stats) = sim.admin("GET", "/stats", None).await;
    assert!(stats["actions"].as_object().unwrap().is_empty());
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn the_one_shot_queue_can_be_listed_and_cleared() {
    let sim = start(fast_config()).await;
    let (s, v) = sim
        .admin(
            "POST",
            "/faults/once",
            Some(json!({"action": "StopClusterNodes", "fault": "error", "count": 3})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["pending"][0]["count"], 3);
    let (s, v) = sim
        .admin(
            "POST",
            "/faults/once",
            Some(json!({"action": "Reboot", "fault": "error"})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(v["error"].as_str().unwrap().contains("action"), "{v}");
    let (s, v) = sim
        .admin("POST", "/faults/once", Some(json!({"fault": "meteor"})))
        .await;
    assert_eq!(s, 400);
    assert!(
        v["error"].as_str().unwrap().contains("lostResponse"),
        "lists the kinds: {v}"
    );
    let (_, v) = sim.admin("DELETE", "/faults/once", None).await;
    assert!(v["pending"].as_array().unwrap().is_empty());
    let (s, v) = sim.admin("GET", "/health", None).await;
    assert_eq!((s, v["ok"].as_bool()), (200, Some(true)));
    sim.handle.shutdown().await;
}
