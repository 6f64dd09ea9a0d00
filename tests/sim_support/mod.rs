//! Helpers shared by the simulator's integration tests (`tests/sim_*.rs`): start a
//! simulator on an ephemeral loopback port and talk to it with hand-signed requests
//! (the crate's pure signing functions + reqwest, deliberately not the crate's client).
#![allow(dead_code)]

use cck_operator::cck::sign::{SigningInput, format_timestamp, signed_query};
use cck_operator::sim::config::TaskDurations;
use cck_operator::sim::{SimConfig, SimHandle, serve};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const CLUSTER: &str = "96fd21ae-fb8d-11ed-b833-060b6f41d883";
pub const SNAT: &str = "96fda1b0-fb8d-11ed-b833-060b6f41d883";

/// The demo with task durations short enough to poll.
pub fn fast_config() -> SimConfig {
    let mut c = SimConfig::demo();
    c.task_durations = TaskDurations {
        create_ms: 150,
        start_ms: 80,
        stop_ms: 80,
        delete_ms: 80,
    };
    c
}

/// The vendor's Python example body (empty strings and lists meaning "absent").
pub fn create_body(num: u32) -> Value {
    json!({
        "ClusterId": CLUSTER, "Cpu": 8, "Memory": 64,
        "AttachDisks": [{"DiskType": "HighDisk", "DiskSize": 100, "Iops": 3000}],
        "Num": num, "Password": "cck@passHonkong1", "Type": "Worker",
        "InstanceType": "CCK.Memory", "Command": "ZWNobyAiMTIzIiA+IC9yb290LzEudHh0",
        "PublicId": "", "SnatIds": [], "SnatType": 0, "Lsb": "Ubuntu"
    })
}

pub struct Sim {
    pub handle: SimHandle,
    pub http: reqwest::Client,
    pub key: String,
    pub secret: String,
}

pub async fn start(config: SimConfig) -> Sim {
    start_with_state(config, None).await
}

pub async fn start_with_state(config: SimConfig, state: Option<PathBuf>) -> Sim {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cred = config.credentials[0].clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = serve(config, listener, state)
        .await
        .expect("simulator starts");
    Sim {
        handle,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        key: cred.access_key_id,
        secret: cred.access_key_secret.expose().to_owned(),
    }
}

impl Sim {
    /// Signed query parameters for one request, with a fresh nonce and the current time.
    pub fn signed(
        &self,
        method: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        self.signed_as(
            method,
            action,
            params,
            &self.key,
            &self.secret,
            jiff::Timestamp::now(),
        )
    }

    /// Like [`Sim::signed`] with any credential and timestamp.
    pub fn signed_as(
        &self,
        method: &str,
        action: &str,
        params: &[(&str, &str)],
        key: &str,
        secret: &str,
        at: jiff::Timestamp,
    ) -> Vec<(String, String)> {
        let nonce = uuid::Uuid::new_v4().to_string();
        let ts = format_timestamp(at);
        let business: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        signed_query(
            SigningInput {
                method,
                action,
                access_key_id: key,
                access_key_secret: secret,
                nonce: &nonce,
                timestamp: &ts,
            },
            &business,
        )
    }

    pub fn url(&self, query: &[(String, String)]) -> String {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        format!("{}?{q}", self.handle.endpoint())
    }

    pub async fn send(
        &self,
        method: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> reqwest::Result<(u16, Value)> {
        let url = self.url(query);
        let req = if method == "POST" {
            self.http.post(url).json(body.unwrap_or(&Value::Null))
        } else {
            self.http.get(url)
        };
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await?))
    }

    pub async fn get(&self, action: &str, params: &[(&str, &str)]) -> (u16, Value) {
        let q = self.signed("GET", action, params);
        self.send("GET", &q, None).await.expect("response")
    }

    pub async fn post(&self, action: &str, body: Value) -> (u16, Value) {
        let q = self.signed("POST", action, &[]);
        self.send("POST", &q, Some(&body)).await.expect("response")
    }

    pub async fn nodes(&self) -> Vec<Value> {
        let (s, v) = self
            .get(
                "DescribeClusterNodes",
                &[("ClusterId", CLUSTER), ("PageSize", "100")],
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["Data"]["Nodes"].as_array().cloned().unwrap_or_default()
    }

    /// Polls DescribeTask until the task leaves `Doing`.
    pub async fn wait_task(&self, task_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (s, v) = self.get("DescribeTask", &[("TaskId", task_id)]).await;
            assert_eq!(s, 200, "{v}");
            if v["Data"]["Status"] != "Doing" {
                return v["Data"].clone();
            }
            assert!(Instant::now() < deadline, "task {task_id} still running");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.handle.admin_url());
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("admin response");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("admin JSON"))
    }
}
