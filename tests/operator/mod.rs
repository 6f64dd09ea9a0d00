//! Shared set-up of the operator's end-to-end tests: a simulator per test (in this
//! process), the operator as a child process watching only the test's namespace, and
//! helpers to read pools and the simulator's state.

use std::process::Stdio;
use std::time::Duration;

use cck_operator::api::v1alpha1::CckNodePool;
use cck_operator::sim::{self, SimConfig, SimHandle};
use serde_json::{Value, json};

use crate::support::kube::{FIELD_MANAGER, TestContext, wait_for};

pub const CLUSTER: &str = "96fd21ae-fb8d-11ed-b833-060b6f41d883";
pub const SNAT: &str = "96fda1b0-fb8d-11ed-b833-060b6f41d883";
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A simulator with fast tasks.
pub async fn start_sim() -> SimHandle {
    let mut config = SimConfig::demo();
    config.task_durations.create_ms = 600;
    config.task_durations.start_ms = 300;
    config.task_durations.stop_ms = 300;
    config.task_durations.delete_ms = 300;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sim::serve(config, listener, None)
        .await
        .expect("simulator starts")
}

/// Installs the CRD (without CEL: the local API server is 1.20) and waits for it.
pub async fn install_crd(ctx: &TestContext) {
    let yaml = cck_operator::cli::run::crd_yaml(true);
    ctx.kubectl(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            FIELD_MANAGER,
            "-f",
            "-",
        ],
        Some(&yaml),
    )
    .await;
    ctx.kubectl(
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/ccknodepools.cck.capitalonline.net",
        ],
        None,
    )
    .await;
}

/// The operator binary, watching the test's namespace, killed on drop.
pub struct Operator {
    child: tokio::process::Child,
    /// `http://127.0.0.1:PORT/metrics`.
    pub metrics_url: String,
}

impl Operator {
    pub fn start(ctx: &TestContext, sim: &SimHandle) -> Self {
        Self::start_with(ctx, sim, &[])
    }

    pub fn start_with(ctx: &TestContext, sim: &SimHandle, extra: &[&str]) -> Self {
        let log = std::env::temp_dir().join(format!("{}-operator.log", ctx.namespace));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("operator log file");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let metrics_addr = format!("127.0.0.1:{port}");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cck-operator"))
            .args([
                "run",
                "--namespace",
                &ctx.namespace,
                "--endpoint",
                &sim.endpoint(),
                "--poll-interval-ms",
                "200",
                "--resync-seconds",
                "2",
                "--create-grace-seconds",
                "3",
                "--backoff-base-ms",
                "500",
                "--requests-per-second",
                "500",
                "--metrics-addr",
                &metrics_addr,
            ])
            .args(extra)
            .env("KUBECONFIG", &ctx.plane().kubeconfig_env)
            .env("CCK_ACCESS_KEY_ID", "sim-demo-key")
            .env("CCK_ACCESS_KEY_SECRET", "sim-demo-secret")
            .env("RUST_LOG", "info,cck_operator=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("cck-operator run starts");
        Operator {
            child,
            metrics_url: format!("http://{metrics_addr}/metrics"),
        }
    }

    /// The operator's metrics text (empty while it is not serving yet).
    pub async fn metrics(&self) -> String {
        cck_operator::install_crypto_provider();
        match reqwest::get(&self.metrics_url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// SIGKILL, as a crash would.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill the operator");
    }
}

/// A pool manifest in the test's namespace.
pub fn pool_yaml(name: &str, replicas: i32, extra_spec: &str) -> String {
    format!(
        "apiVersion: cck.capitalonline.net/v1alpha1\nkind: CckNodePool\nmetadata:\n  name: {name}\nspec:\n  clusterId: {CLUSTER}\n  replicas: {replicas}\n  template:\n    instanceType: CCK.Standard\n    cpu: 8\n    memory: 32\n    dataDisks: [{{sizeGb: 100}}]\n    passwordSecretRef: {{name: node-password}}\n    snatIds: [{SNAT}]\n{extra_spec}"
    )
}

pub async fn create_password(ctx: &TestContext) {
    ctx.kubectl(
        &[
            "-n",
            &ctx.namespace,
            "create",
            "secret",
            "generic",
            "node-password",
            "--from-literal=password=Cck@pass2024",
        ],
        None,
    )
    .await;
}

pub async fn apply(ctx: &TestContext, yaml: &str) {
    ctx.kubectl(&["-n", &ctx.namespace, "apply", "-f", "-"], Some(yaml))
        .await;
}

pub async fn pool(ctx: &TestContext, name: &str) -> Option<CckNodePool> {
    ctx.api::<CckNodePool>()
        .get_opt(name)
        .await
        .expect("read the pool")
}

/// Waits until the pool is Ready with `n` ready nodes and returns it.
pub async fn wait_ready(ctx: &TestContext, name: &str, n: i32) -> CckNodePool {
    wait_for(
        &format!("pool {name} Ready with {n} nodes"),
        TIMEOUT,
        || async {
            let p = pool(ctx, name).await?;
            let s = p.status.as_ref()?;
            let ready = s
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            (ready && s.ready_replicas == n && s.replicas == n && s.create_intent.is_none())
                .then_some(p)
        },
    )
    .await
}

/// The Ready condition's (status, reason, message).
pub async fn ready_condition(ctx: &TestContext, name: &str) -> Option<(String, String, String)> {
    let p = pool(ctx, name).await?;
    let c = p
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")?;
    Some((c.status, c.reason, c.message))
}

pub async fn admin(
    sim: &SimHandle,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    cck_operator::install_crypto_provider();
    let mut req = reqwest::Client::new().request(method, format!("{}{}", sim.admin_url(), path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("admin API answers");
    assert!(
        resp.status().is_success(),
        "admin {path}: {}",
        resp.status()
    );
    resp.json().await.unwrap_or(Value::Null)
}

pub async fn inject_once(sim: &SimHandle, action: &str, fault: &str) {
    admin(
        sim,
        reqwest::Method::POST,
        "/faults/once",
        Some(json!({"action": action, "fault": fault, "count": 1})),
    )
    .await;
}

/// Worker nodes in the simulated cluster: (NodeId, Status).
pub async fn sim_workers(sim: &SimHandle) -> Vec<(String, String)> {
    let state = admin(sim, reqwest::Method::GET, "/state", None).await;
    state["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["nodes"].as_array().cloned().unwrap_or_default())
        .filter(|n| n["Type"] == "Worker")
        .map(|n| {
            (
                n["NodeId"].as_str().unwrap_or_default().to_owned(),
                n["Status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Requests of `action` the simulator accepted.
pub async fn accepted(sim: &SimHandle, action: &str) -> u64 {
    let stats = admin(sim, reqwest::Method::GET, "/stats", None).await;
    stats["actions"][action]["accepted"].as_u64().unwrap_or(0)
}

/// Requests of `action` the simulator received (accepted or not).
pub async fn received(sim: &SimHandle, action: &str) -> u64 {
    let stats = admin(sim, reqwest::Method::GET, "/stats", None).await;
    stats["actions"][action]["received"].as_u64().unwrap_or(0)
}

/// Requests of any action the simulator received.
pub async fn total_requests(sim: &SimHandle) -> u64 {
    let stats = admin(sim, reqwest::Method::GET, "/stats", None).await;
    stats["total"]["received"].as_u64().unwrap_or(0)
}

/// Event reasons recorded for the pool.
pub async fn event_reasons(ctx: &TestContext) -> Vec<String> {
    let out = ctx
        .kubectl(
            &[
                "-n",
                &ctx.namespace,
                "get",
                "events.events.k8s.io",
                "-o",
                "jsonpath={range .items[*]}{.reason}{\"\\n\"}{end}",
            ],
            None,
        )
        .await;
    out.lines().map(str::to_owned).collect()
}
