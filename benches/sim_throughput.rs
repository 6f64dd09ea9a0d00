//! Throughput of the simulator on loopback, measured through the real client (signing,
//! HTTP, signature verification, nonce check, JSON both ways).
//!
//! `cargo bench --bench sim_throughput` (optionally `-- REQUESTS CONCURRENCY`, default
//! 20000 and 32). Every request is a DescribeClusterNodes or DescribeTask against a
//! cluster with 50 workers. Bounded: it stops after REQUESTS requests.

use std::time::{Duration, Instant};

use cck_operator::cck::{
    AttachDisk, CckClient, ClientConfig, CreateClusterNodesRequest, Credentials, Sensitive,
};
use cck_operator::sim::{self, SimConfig};

const CLUSTER: &str = "96fd21ae-fb8d-11ed-b833-060b6f41d883";

#[tokio::main]
async fn main() {
    cck_operator::install_crypto_provider();
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);

    let mut config = SimConfig::demo();
    config.task_durations.create_ms = 0;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = sim::serve(config, listener, None).await.unwrap();
    let client = CckClient::new(
        Credentials::new("sim-demo-key", "sim-demo-secret"),
        ClientConfig {
            endpoint: handle.endpoint(),
            requests_per_second: 1e9,
            burst: 1_000_000,
            timeout: Duration::from_secs(10),
            ..ClientConfig::default()
        },
    )
    .unwrap();
    let task = client
        .create_cluster_nodes(&CreateClusterNodesRequest {
            cluster_id: CLUSTER.into(),
            node_type: "Worker".into(),
            instance_type: "CCK.Standard".into(),
            cpu: 8,
            memory: 32,
            attach_disks: vec![AttachDisk {
                disk_type: "HighDisk".into(),
                disk_size: None,
                iops: None,
            }],
            num: 50,
            password: Sensitive::new("Bench@pass2024"),
            lsb: None,
            snat_type: Some(0),
            snat_ids: vec![],
            public_id: None,
            command: None,
        })
        .await
        .unwrap();

    let started = Instant::now();
    let per_worker = total / concurrency;
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let client = client.clone();
        let task_id = task.task_id.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker);
            for i in 0..per_worker {
                let t = Instant::now();
                if (i + w) % 2 == 0 {
                    client
                        .describe_cluster_nodes(CLUSTER, 100, 1)
                        .await
                        .unwrap();
                } else {
                    client.describe_task(&task_id).await.unwrap();
                }
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "sim_throughput: {} requests, concurrency {}, {:.2} s, {:.0} req/s, latency p50 {:?} p99 {:?} max {:?}",
        latencies.len(),
        concurrency,
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        latencies.last().unwrap()
    );
    handle.shutdown().await;
}
