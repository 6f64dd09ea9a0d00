//! The CCK client against the simulator on a loopback port: every action, pagination,
//! and every error class (API error, throttling, lost response, refused connection,
//! timeout, bad credentials), with retries only where they are safe.

use std::time::Duration;

use cck_operator::cck::{
    AttachDisk, CckClient, CckError, ClientConfig, CreateClusterNodesRequest, Credentials,
    DescribeClustersQuery, NodeStatus, NodeType, RateLimiters, Sensitive, TaskPhase,
};
use cck_operator::sim::{self, SimConfig, SimHandle};
use serde_json::{Value, json};

const CLUSTER: &str = "96fd21ae-fb8d-11ed-b833-060b6f41d883";
const SNAT: &str = "96fda1b0-fb8d-11ed-b833-060b6f41d883";

async fn start(tweak: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut config = SimConfig::demo();
    config.task_durations.create_ms = 150;
    config.task_durations.start_ms = 100;
    config.task_durations.stop_ms = 100;
    config.task_durations.delete_ms = 100;
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sim::serve(config, listener, None)
        .await
        .expect("simulator starts")
}

fn client_config(sim: &SimHandle) -> ClientConfig {
    ClientConfig {
        endpoint: sim.endpoint(),
        requests_per_second: 1000.0,
        burst: 1000,
        timeout: Duration::from_secs(5),
        retry_min_delay: Duration::from_millis(10),
        retry_max_delay: Duration::from_millis(50),
        ..ClientConfig::default()
    }
}

fn client(sim: &SimHandle) -> CckClient {
    CckClient::new(
        Credentials::new("sim-demo-key", "sim-demo-secret"),
        client_config(sim),
    )
    .unwrap()
}

fn create_request(num: u32) -> CreateClusterNodesRequest {
    CreateClusterNodesRequest {
        cluster_id: CLUSTER.into(),
        node_type: "Worker".into(),
        instance_type: "CCK.Standard".into(),
        cpu: 8,
        memory: 32,
        attach_disks: vec![AttachDisk {
            disk_type: "HighDisk".into(),
            disk_size: Some(200),
            iops: Some(3000),
        }],
        num,
        password: Sensitive::new("Cck@pass2024"),
        lsb: Some("Ubuntu".into()),
        snat_type: Some(1),
        snat_ids: vec![SNAT.into()],
        public_id: None,
        command: None,
    }
}

async fn admin(sim: &SimHandle, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    cck_operator::install_crypto_provider();
    let http = reqwest::Client::new();
    let mut req = http.request(method, format!("{}{}", sim.admin_url(), path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("admin API answers");
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "admin {path}: {status} {v}");
    v
}

async fn inject_once(sim: &SimHandle, action: &str, fault: &str) {
    admin(
        sim,
        reqwest::Method::POST,
        "/faults/once",
        Some(json!({"action": action, "fault": fault, "count": 1})),
    )
    .await;
}

/// Requests the simulator received for `action` (accepted or not).
async fn received(sim: &SimHandle, action: &str) -> u64 {
    let stats = admin(sim, reqwest::Method::GET, "/stats", None).await;
    stats["actions"][action]["received"].as_u64().unwrap_or(0)
}

async fn wait_task(client: &CckClient, task_id: &str) -> TaskPhase {
    for _ in 0..200 {
        let t = client.describe_task(task_id).await.unwrap();
        if t.status.phase() != TaskPhase::Running {
            return t.status.phase();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {task_id} did not finish");
}

fn workers(nodes: &[cck_operator::cck::Node]) -> Vec<&cck_operator::cck::Node> {
    nodes
        .iter()
        .filter(|n| n.node_type == NodeType::Worker)
        .collect()
}

#[tokio::test]
async fn describe_clusters_shows_the_demo_cluster() {
    let sim = start(|_| {}).await;
    let c = client(&sim);
    let clusters = c
        .describe_clusters(&DescribeClustersQuery::default())
        .await
        .unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].cluster_id, CLUSTER);
    assert_eq!(clusters[0].node_num, 3);
    assert_eq!(clusters[0].snats[0].id, SNAT);
    let by_name = c
        .describe_clusters(&DescribeClustersQuery {
            cluster_name: Some("demo".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_name.len(), 1, "ClusterName is a substring match");
    let none = c
        .describe_clusters(&DescribeClustersQuery {
            cluster_name: Some("no such cluster".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let nats = c.describe_cluster_nats(CLUSTER).await.unwrap();
    assert_eq!(nats[0].id, SNAT);
    assert_eq!(nats[0].cluster_id, CLUSTER);
    sim.shutdown().await;
}

#[tokio::test]
async fn create_start_stop_delete_round_trip() {
    let sim = start(|_| {}).await;
    let c = client(&sim);

    let task = c.create_cluster_nodes(&create_request(2)).await.unwrap();
    let nodes = c.list_cluster_nodes(CLUSTER).await.unwrap();
    let new: Vec<_> = workers(&nodes);
    assert_eq!(new.len(), 2);
    assert!(
        new.iter().all(|n| n.status == NodeStatus::Creating),
        "{new:?}"
    );
    let mut names: Vec<_> = new.iter().map(|n| n.node_name.clone()).collect();
    names.sort();
    assert_eq!(names, ["cck-demo-worker001", "cck-demo-worker002"]);
    assert_eq!(wait_task(&c, &task.task_id).await, TaskPhase::Succeeded);

    let nodes = c.list_cluster_nodes(CLUSTER).await.unwrap();
    let ids: Vec<String> = workers(&nodes).iter().map(|n| n.node_id.clone()).collect();
    assert!(
        workers(&nodes)
            .iter()
            .all(|n| n.status == NodeStatus::Ok && n.cpu == 8 && n.memory == 32)
    );
    let cluster = &c
        .describe_clusters(&DescribeClustersQuery::default())
        .await
        .unwrap()[0];
    assert_eq!(cluster.node_num, 5);
    assert_eq!(cluster.snats[0].used_num, 5);

    let stop = c.stop_cluster_nodes(CLUSTER, &ids[..1]).await.unwrap();
    let n = c.list_cluster_nodes(CLUSTER).await.unwrap();
    assert_eq!(
        n.iter().find(|n| n.node_id == ids[0]).unwrap().status,
        NodeStatus::Updating
    );
    assert_eq!(wait_task(&c, &stop.task_id).await, TaskPhase::Succeeded);
    let n = c.list_cluster_nodes(CLUSTER).await.unwrap();
    assert_eq!(
        n.iter().find(|n| n.node_id == ids[0]).unwrap().status,
        NodeStatus::Stopped
    );

    let start_task = c.start_cluster_nodes(CLUSTER, &ids[..1]).await.unwrap();
    assert_eq!(
        wait_task(&c, &start_task.task_id).await,
        TaskPhase::Succeeded
    );
    let n = c.list_cluster_nodes(CLUSTER).await.unwrap();
    assert_eq!(
        n.iter().find(|n| n.node_id == ids[0]).unwrap().status,
        NodeStatus::Ok
    );

    let del = c.delete_cluster_nodes(CLUSTER, &ids).await.unwrap();
    assert_eq!(wait_task(&c, &del.task_id).await, TaskPhase::Succeeded);
    let n = c.list_cluster_nodes(CLUSTER).await.unwrap();
    assert!(workers(&n).is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn listing_walks_every_page() {
    let sim = start(|_| {}).await;
    let seed = client(&sim);
    let t = seed.create_cluster_nodes(&create_request(7)).await.unwrap();
    wait_task(&seed, &t.task_id).await;
    let small_pages = CckClient::new(
        Credentials::new("sim-demo-key", "sim-demo-secret"),
        ClientConfig {
            page_size: 3,
            ..client_config(&sim)
        },
    )
    .unwrap();
    let before = received(&sim, "DescribeClusterNodes").await;
    let all = small_pages.list_cluster_nodes(CLUSTER).await.unwrap();
    assert_eq!(all.len(), 10);
    let mut ids: Vec<_> = all.iter().map(|n| &n.node_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10);
    assert_eq!(received(&sim, "DescribeClusterNodes").await - before, 4);
    let page = seed.describe_cluster_nodes(CLUSTER, 20, 9).await.unwrap();
    assert!(page.nodes.is_empty());
    assert_eq!(page.total, 10);
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_input_is_an_api_error_with_code_and_request_id() {
    let sim = start(|_| {}).await;
    let c = client(&sim);
    let mut bad = create_request(1);
    bad.memory = 16;
    let e = c.create_cluster_nodes(&bad).await.unwrap_err();
    match &e {
        CckError::Api {
            status,
            code,
            msg,
            request_id,
            ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(code, "InvalidParameter");
            assert!(
                msg.contains("8/32"),
                "the message lists what is allowed: {msg}"
            );
            assert!(!request_id.is_empty() && request_id != "-");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!e.is_transient() && !e.may_have_taken_effect());
    assert!(!e.to_string().contains("Cck@pass2024"));

    let e = c
        .describe_cluster_nodes("no-such-cluster", 20, 1)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert_eq!(
        received(&sim, "DescribeClusterNodes").await,
        1,
        "4xx reads are not retried"
    );

    let nodes = c.list_cluster_nodes(CLUSTER).await.unwrap();
    let master = nodes
        .iter()
        .find(|n| n.node_type == NodeType::Master)
        .unwrap();
    let e = c
        .delete_cluster_nodes(CLUSTER, std::slice::from_ref(&master.node_id))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidOperation"), "{e}");
    assert_eq!(c.list_cluster_nodes(CLUSTER).await.unwrap().len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_are_rejected() {
    let sim = start(|_| {}).await;
    let wrong_secret = CckClient::new(
        Credentials::new("sim-demo-key", "not-the-secret"),
        client_config(&sim),
    )
    .unwrap();
    let e = wrong_secret
        .describe_clusters(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"), "{e}");
    assert!(!e.to_string().contains("not-the-secret"));
    let unknown = CckClient::new(Credentials::new("nobody", "x"), client_config(&sim)).unwrap();
    let e = unknown
        .describe_clusters(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidAccessKeyId"), "{e}");
    sim.shutdown().await;
}

#[tokio::test]
async fn reads_retry_server_errors_and_throttling_but_mutations_never_retry() {
    let sim = start(|_| {}).await;
    let c = client(&sim);
    inject_once(&sim, "DescribeClusters", "error").await;
    inject_once(&sim, "DescribeClusterNats", "throttle").await;
    assert_eq!(
        c.describe_clusters(&Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(received(&sim, "DescribeClusters").await, 2);
    assert_eq!(c.describe_cluster_nats(CLUSTER).await.unwrap().len(), 1);
    assert_eq!(received(&sim, "DescribeClusterNats").await, 2);

    inject_once(&sim, "CreateClusterNodes", "error").await;
    let e = c
        .create_cluster_nodes(&create_request(1))
        .await
        .unwrap_err();
    assert!(matches!(e, CckError::Api { status: 500, .. }), "{e}");
    assert!(!e.may_have_taken_effect());
    inject_once(&sim, "CreateClusterNodes", "throttle").await;
    let e = c
        .create_cluster_nodes(&create_request(1))
        .await
        .unwrap_err();
    assert!(matches!(e, CckError::Throttled { .. }), "{e}");
    assert_eq!(
        received(&sim, "CreateClusterNodes").await,
        2,
        "one attempt per call"
    );
    assert!(workers(&c.list_cluster_nodes(CLUSTER).await.unwrap()).is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_lost_create_response_is_an_unknown_outcome_and_the_nodes_exist() {
    let sim = start(|_| {}).await;
    let c = client(&sim);
    inject_once(&sim, "CreateClusterNodes", "lostResponse").await;
    let e = c
        .create_cluster_nodes(&create_request(2))
        .await
        .unwrap_err();
    assert!(matches!(e, CckError::UnknownOutcome { .. }), "{e}");
    assert!(e.may_have_taken_effect());
    assert!(e.to_string().contains("outcome unknown"));
    assert_eq!(
        received(&sim, "CreateClusterNodes").await,
        1,
        "never retried"
    );
    assert_eq!(
        workers(&c.list_cluster_nodes(CLUSTER).await.unwrap()).len(),
        2
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_refused_connection_is_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = CckClient::new(
        Credentials::new("k", "s"),
        ClientConfig {
            endpoint: format!("http://{addr}/cck/v1"),
            read_attempts: 2,
            retry_min_delay: Duration::from_millis(1),
            retry_max_delay: Duration::from_millis(2),
            ..ClientConfig::default()
        },
    )
    .unwrap();
    let e = c
        .create_cluster_nodes(&create_request(1))
        .await
        .unwrap_err();
    assert!(matches!(e, CckError::NotSent { .. }), "{e}");
    assert!(!e.may_have_taken_effect());
    let e = c.describe_task("t").await.unwrap_err();
    assert!(matches!(e, CckError::NotSent { .. }), "{e}");
    assert!(
        !e.to_string().contains("Signature="),
        "no signed URL in messages: {e}"
    );
}

#[tokio::test]
async fn a_slow_mutation_times_out_as_unknown_outcome() {
    let sim = start(|_| {}).await;
    admin(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        Some(json!({"actions": {"StopClusterNodes": {"latencyMs": 2000}}})),
    )
    .await;
    let impatient = CckClient::new(
        Credentials::new("sim-demo-key", "sim-demo-secret"),
        ClientConfig {
            timeout: Duration::from_millis(300),
            ..client_config(&sim)
        },
    )
    .unwrap();
    let t = impatient
        .create_cluster_nodes(&create_request(1))
        .await
        .unwrap();
    wait_task(&impatient, &t.task_id).await;
    let id = workers(&impatient.list_cluster_nodes(CLUSTER).await.unwrap())[0]
        .node_id
        .clone();
    let e = impatient
        .stop_cluster_nodes(CLUSTER, &[id])
        .await
        .unwrap_err();
    assert!(matches!(e, CckError::UnknownOutcome { .. }), "{e}");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_stopped_status_is_kept_as_its_own_value() {
    let sim = start(|c| c.status_strings.stopped = "PowerOff".into()).await;
    let c = client(&sim);
    let t = c.create_cluster_nodes(&create_request(1)).await.unwrap();
    wait_task(&c, &t.task_id).await;
    let id = workers(&c.list_cluster_nodes(CLUSTER).await.unwrap())[0]
        .node_id
        .clone();
    let t = c
        .stop_cluster_nodes(CLUSTER, std::slice::from_ref(&id))
        .await
        .unwrap();
    wait_task(&c, &t.task_id).await;
    let nodes = c.list_cluster_nodes(CLUSTER).await.unwrap();
    let status = &nodes.iter().find(|n| n.node_id == id).unwrap().status;
    assert_eq!(status, &NodeStatus::Other("PowerOff".into()));
    assert!(status.is_busy(), "unknown states are never treated as Ok");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_task_reports_its_error() {
    let sim = start(|_| {}).await;
    let c = client(&sim);
    inject_once(&sim, "CreateClusterNodes", "taskFailure").await;
    let t = c.create_cluster_nodes(&create_request(1)).await.unwrap();
    assert_eq!(wait_task(&c, &t.task_id).await, TaskPhase::Failed);
    let info = c.describe_task(&t.task_id).await.unwrap();
    assert!(info.err_msg.is_some_and(|m| !m.is_empty()));
    let nodes = c.list_cluster_nodes(CLUSTER).await.unwrap();
    assert_eq!(workers(&nodes)[0].status, NodeStatus::Error);
    sim.shutdown().await;
}

#[test]
fn clients_of_one_credential_share_a_limiter() {
    let limiters = RateLimiters::default();
    let a = limiters.get("key-a", 5.0, 5).unwrap();
    let b = limiters.get("key-a", 5.0, 5).unwrap();
    let other = limiters.get("key-b", 5.0, 5).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    assert!(!std::sync::Arc::ptr_eq(&a, &other));
    assert!(limiters.get("key-c", 0.0, 5).is_err());
    assert!(limiters.get("key-d", f64::NAN, 5).is_err());
}

#[test]
fn bad_client_settings_are_explained() {
    let e = CckClient::new(Credentials::new("", "s"), ClientConfig::default()).unwrap_err();
    assert!(e.to_string().contains("CCK_ACCESS_KEY_ID"), "{e}");
    let e = CckClient::new(
        Credentials::new("k", "s"),
        ClientConfig {
            endpoint: "api.capitalonline.net".into(),
            ..ClientConfig::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("not a URL"), "{e}");
}
