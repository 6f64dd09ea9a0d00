//! Fault injection over HTTP: lost responses, throttling, injected errors, failed and
//! partially failed tasks, latency.

mod sim_support;

use cck_operator::sim::faults::{ActionFaults, FaultConfig, ThrottleConfig};
use serde_json::json;
use sim_support::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_lost_response_is_a_transport_error_but_the_nodes_exist() {
    let sim = start(fast_config()).await;
    let (s, _) = sim
        .admin(
            "POST",
            "/faults/once",
            Some(json!({"action": "CreateClusterNodes", "fault": "lostResponse", "count": 1})),
        )
        .await;
    assert_eq!(s, 200);
    let q = sim.signed("POST", "CreateClusterNodes", &[]);
    let err = sim
        .send("POST", &q, Some(&create_body(2)))
        .await
        .expect_err("the client must not get a valid envelope");
    assert!(!err.is_timeout(), "{err}");
    // The action was applied: two new workers exist and their task runs to completion.
    let workers: Vec<_> = sim
        .nodes()
        .await
        .into_iter()
        .filter(|n| n["Type"] == "Worker")
        .collect();
    assert_eq!(workers.len(), 2);
    assert!(workers.iter().all(|n| n["Status"] == "Creating"));
    let (_, stats) = sim.admin("GET", "/stats", None).await;
    let c = &stats["actions"]["CreateClusterNodes"];
    assert_eq!(
        (c["accepted"].as_u64(), c["lostResponses"].as_u64()),
        (Some(1), Some(1))
    );
    // The one-shot fault is used up: the next create gets its response.
    let (s, v) = sim.post("CreateClusterNodes", create_body(1)).await;
    assert_eq!(s, 200, "{v}");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn lost_response_rate_one_drops_every_read_too() {
    let mut config = fast_config();
    config.faults.actions.insert(
        cck_operator::cck::types::Action::DescribeClusters,
        ActionFaults {
            lost_response_rate: 1.0,
            ..ActionFaults::default()
        },
    );
    let sim = start(config).await;
    let q = sim.signed("GET", "DescribeClusters", &[]);
    assert!(sim.send("GET", &q, None).await.is_err());
    let (s, _) = sim
        .get("DescribeClusterNats", &[("ClusterId", CLUSTER)])
        .await;
    assert_eq!(s, 200);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn throttling_per_access_key() {
    let mut config = fast_config();
    config.faults.throttle = Some(ThrottleConfig {
        requests_per_second: 1,
        burst: Some(3),
    });
    let sim = start(config).await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        let (s, v) = sim.get("DescribeClusters", &[]).await;
        codes.push((s, v["Code"].as_str().unwrap_or_default().to_owned()));
    }
    assert_eq!(
        codes[..3].iter().filter(|(s, _)| *s == 200).count(),
        3,
        "{codes:?}"
    );
    assert!(
        codes[3..]
            .iter()
            .all(|(s, c)| *s == 429 && c == "Throttling"),
        "{codes:?}"
    );
    let (_, stats) = sim.admin("GET", "/stats", None).await;
    assert_eq!(
        stats["actions"]["DescribeClusters"]["rejected"]["Throttling"],
        2
    );
    // Turning the throttle off at run time takes effect at once.
    let (s, _) = sim.admin("PUT", "/faults", Some(json!({}))).await;
    assert_eq!(s, 200);
    assert_eq!(sim.get("DescribeClusters", &[]).await.0, 200);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn one_shot_error_and_throttle_change_nothing() {
    let sim = start(fast_config()).await;
    for fault in ["error", "throttle"] {
        sim.admin(
            "POST",
            "/faults/once",
            Some(json!({"action": "CreateClusterNodes", "fault": fault})),
        )
        .await;
    }
    let (s, v) = sim.post("CreateClusterNodes", create_body(1)).await;
    assert_eq!((s, v["Code"].as_str()), (429, Some("Throttling")), "{v}");
    let (s, v) = sim.post("CreateClusterNodes", create_body(1)).await;
    assert_eq!((s, v["Code"].as_str()), (500, Some("InternalError")), "{v}");
    assert_eq!(sim.nodes().await.len(), 3, "only the masters");
    let (s, _) = sim.post("CreateClusterNodes", create_body(1)).await;
    assert_eq!(s, 200);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn failed_and_partially_failed_tasks() {
    let sim = start(fast_config()).await;
    sim.admin(
        "POST",
        "/faults/once",
        Some(json!({"fault": "taskFailure"})),
    )
    .await;
    let (_, v) = sim.post("CreateClusterNodes", create_body(2)).await;
    let task = sim.wait_task(v["Data"]["TaskId"].as_str().unwrap()).await;
    assert_eq!(task["Status"], "Error");
    assert!(
        task["ErrMsg"]
            .as_str()
            .unwrap()
            .contains("cck-demo-worker001"),
        "{task}"
    );
    let errored: Vec<_> = sim
        .nodes()
        .await
        .into_iter()
        .filter(|n| n["Status"] == "Error")
        .collect();
    assert_eq!(errored.len(), 2);

    // Delete the broken nodes with a partial failure: some go, the rest come back as Error.
    let ids: Vec<_> = errored.iter().map(|n| n["NodeId"].clone()).collect();
    sim.admin(
        "POST",
        "/faults/once",
        Some(json!({"action": "DeleteClusterNodes", "fault": "partialFailure"})),
    )
    .await;
    let (s, v) = sim
        .post(
            "DeleteClusterNodes",
            json!({"ClusterId": CLUSTER, "NodeIds": ids}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let task = sim.wait_task(v["Data"]["TaskId"].as_str().unwrap()).await;
    assert_eq!(task["Status"], "part_fail");
    assert!(
        task["ErrMsg"].as_str().unwrap().contains("1 of 2"),
        "{task}"
    );
    let workers: Vec<_> = sim
        .nodes()
        .await
        .into_iter()
        .filter(|n| n["Type"] == "Worker")
        .collect();
    assert_eq!(workers.len(), 1);
    assert_eq!(workers[0]["Status"], "Error");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn latency_is_added_and_faults_can_be_read_back() {
    let sim = start(fast_config()).await;
    let faults = FaultConfig {
        actions: [(
            cck_operator::cck::types::Action::DescribeClusterNats,
            ActionFaults {
                latency_ms: 300,
                ..ActionFaults::default()
            },
        )]
        .into_iter()
        .collect(),
        ..FaultConfig::default()
    };
    let (s, v) = sim
        .admin(
            "PUT",
            "/faults",
            Some(serde_json::to_value(&faults).unwrap()),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, back) = sim.admin("GET", "/faults", None).await;
    assert_eq!(back["actions"]["DescribeClusterNats"]["latencyMs"], 300);
    let t = Instant::now();
    assert_eq!(
        sim.get("DescribeClusterNats", &[("ClusterId", CLUSTER)])
            .await
            .0,
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(300));
    let (s, v) = sim
        .admin("PUT", "/faults", Some(json!({"default": {"errorRate": 2}})))
        .await;
    assert_eq!(s, 400);
    assert!(
        v["error"].as_str().unwrap().contains("default.errorRate"),
        "{v}"
    );
    sim.handle.shutdown().await;
}
