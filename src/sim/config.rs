//! The simulator's configuration: credentials, auth and limit settings, task durations,
//! the clusters to start with and the faults to inject. Read from YAML or JSON
//! (camelCase keys, unknown keys rejected with their path) or built by [`SimConfig::demo`].
//! `src/sim/example-config.yaml` is a complete, annotated example.

use crate::cck::types::{ClusterStatus, NodeStatus, Sensitive, parse_beijing_time};
pub use crate::sim::config_nodes::{GroupSpec, NodeConfig, NodeGroup};
use crate::sim::error::{SimError, key_path};
use crate::sim::faults::FaultConfig;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

/// Everything the simulator needs to start.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimConfig {
    /// Access keys the simulator accepts; the first is printed at startup.
    #[serde(default)]
    pub credentials: Vec<CredentialConfig>,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub status_strings: StatusStrings,
    #[serde(default)]
    pub task_durations: TaskDurations,
    /// Seeds every random choice (faults, ids), for reproducible runs.
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub clusters: Vec<ClusterConfig>,
    #[serde(default)]
    pub faults: FaultConfig,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialConfig {
    pub access_key_id: String,
    pub access_key_secret: Sensitive,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How far a request's `Timestamp` may be from the simulator's clock; nonces are
    /// remembered for as long.
    pub timestamp_skew_seconds: u64,
    /// Also accept signatures made the vendor Go SDK's way (spaces signed as `+`).
    pub lenient_signatures: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            timestamp_skew_seconds: 900,
            lenient_signatures: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_page_size: u32,
    pub max_create_num: u32,
    pub max_node_ids_per_call: u32,
    /// Finished tasks kept for DescribeTask; older ones are forgotten ("does not exist").
    pub max_finished_tasks: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_page_size: 100,
            max_create_num: 100,
            max_node_ids_per_call: 100,
            max_finished_tasks: 10_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct StatusStrings {
    /// The status a stopped node reports (undocumented by the vendor; change it to test
    /// how a client copes with a status it does not know).
    pub stopped: String,
}

impl Default for StatusStrings {
    fn default() -> Self {
        Self {
            stopped: "Stopped".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct TaskDurations {
    pub create_ms: u64,
    pub start_ms: u64,
    pub stop_ms: u64,
    pub delete_ms: u64,
}

impl Default for TaskDurations {
    fn default() -> Self {
        Self {
            create_ms: 5000,
            start_ms: 3000,
            stop_ms: 3000,
            delete_ms: 3000,
        }
    }
}

/// A cluster that exists when the simulator starts. Only `id` and `name` are required.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ClusterConfig {
    pub id: String,
    pub name: String,
    pub region_id: Option<String>,
    pub vdc_id: Option<String>,
    pub vdc_name: Option<String>,
    pub k8s_version: Option<String>,
    pub status: Option<ClusterStatus>,
    pub haproxy_ip: Option<String>,
    pub domain: Option<String>,
    pub error_msg: Option<String>,
    pub create_time: Option<String>,
    pub snats: Vec<SnatConfig>,
    pub masters: NodeGroup,
    pub workers: NodeGroup,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SnatConfig {
    pub id: String,
    pub name: Option<String>,
    pub public_ip: Option<String>,
    pub private_ip: Option<String>,
    pub vm_id: Option<String>,
    pub create_time: Option<String>,
}

impl SimConfig {
    /// The built-in demo: key `sim-demo-key` / `sim-demo-secret` and one cluster
    /// `cck-demo` with three masters, no workers and one gateway.
    pub fn demo() -> SimConfig {
        SimConfig {
            credentials: vec![CredentialConfig {
                access_key_id: "sim-demo-key".into(),
                access_key_secret: Sensitive::new("sim-demo-secret"),
            }],
            clusters: vec![ClusterConfig {
                id: "96fd21ae-fb8d-11ed-b833-060b6f41d883".into(),
                name: "cck-demo".into(),
                region_id: Some("CN_Hongkong_B".into()),
                vdc_id: Some("e8dc80d9-f790-4038-b3a7-42b2689113be".into()),
                vdc_name: Some("vdc-Hongkong".into()),
                k8s_version: Some("1.19.3".into()),
                status: Some(ClusterStatus::Ok),
                haproxy_ip: Some("223.255.250.82".into()),
                domain: Some("dashboard-demo.yun-paas.com".into()),
                snats: vec![SnatConfig {
                    id: "96fda1b0-fb8d-11ed-b833-060b6f41d883".into(),
                    name: Some("default".into()),
                    public_ip: Some("223.255.250.16".into()),
                    private_ip: Some("10.241.178.10".into()),
                    ..SnatConfig::default()
                }],
                masters: NodeGroup::Group(GroupSpec {
                    count: 3,
                    cpu: Some(8),
                    memory: Some(32),
                    status: Some(NodeStatus::Ok),
                    schedulable: Some(false),
                }),
                ..ClusterConfig::default()
            }],
            ..SimConfig::default()
        }
    }

    /// Reads a YAML or JSON file (`.json` is parsed as JSON, anything else as YAML)
    /// and validates it.
    pub fn load(path: &Path) -> Result<SimConfig, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed = if is_json {
            Self::from_json(&text)
        } else {
            Self::from_yaml(&text)
        };
        let config = parsed.map_err(|(location, message)| SimError::ConfigParse {
            path: path.to_owned(),
            location,
            message,
        })?;
        config
            .validate()
            .map_err(|message| SimError::ConfigInvalid {
                origin: path.display().to_string(),
                message,
            })?;
        Ok(config)
    }

    /// Parses YAML; the error is (key path, message with line and column).
    pub fn from_yaml(text: &str) -> Result<SimConfig, (String, String)> {
        serde_path_to_error::deserialize(serde_norway::Deserializer::from_str(text))
            .map_err(|e| (key_path(e.path()), e.inner().to_string()))
    }

    /// Parses JSON; the error is (key path, message with line and column).
    pub fn from_json(text: &str) -> Result<SimConfig, (String, String)> {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de)
            .map_err(|e| (key_path(e.path()), e.inner().to_string()))
    }

    /// Checks the rules serde cannot: unique ids, at least one credential, ranges.
    pub fn validate(&self) -> Result<(), String> {
        if self.credentials.is_empty() {
            return Err("at least one entry in `credentials` is required".into());
        }
        let mut keys = HashSet::new();
        for (i, c) in self.credentials.iter().enumerate() {
            if c.access_key_id.is_empty() || c.access_key_secret.is_empty() {
                return Err(format!(
                    "credentials[{i}]: accessKeyId and accessKeySecret must not be empty"
                ));
            }
            if !keys.insert(c.access_key_id.as_str()) {
                return Err(format!(
                    "credentials[{i}]: accessKeyId {} is listed twice",
                    c.access_key_id
                ));
            }
        }
        if self.auth.timestamp_skew_seconds == 0 {
            return Err("auth.timestampSkewSeconds must be at least 1".into());
        }
        let l = &self.limits;
        for (key, v) in [
            ("maxPageSize", l.max_page_size),
            ("maxCreateNum", l.max_create_num),
            ("maxNodeIdsPerCall", l.max_node_ids_per_call),
        ] {
            if v == 0 {
                return Err(format!("limits.{key} must be at least 1"));
            }
        }
        let stopped = NodeStatus::from(self.status_strings.stopped.as_str());
        if self.status_strings.stopped.is_empty()
            || !matches!(stopped, NodeStatus::Stopped | NodeStatus::Other(_))
        {
            return Err(format!(
                "statusStrings.stopped {:?} must be non-empty and differ from Ok, Error, Pending, Updating and Creating",
                self.status_strings.stopped
            ));
        }
        self.validate_clusters()?;
        self.faults.validate()
    }

    fn validate_clusters(&self) -> Result<(), String> {
        let mut ids = HashSet::new();
        for (i, c) in self.clusters.iter().enumerate() {
            let at = format!("clusters[{i}]");
            if c.id.is_empty() || c.name.is_empty() {
                return Err(format!("{at}: id and name are required"));
            }
            if !ids.insert(c.id.clone()) {
                return Err(format!("{at}: id {} is used twice", c.id));
            }
            check_time(&at, c.create_time.as_deref())?;
            let mut snats = HashSet::new();
            for (j, s) in c.snats.iter().enumerate() {
                let at = format!("{at}.snats[{j}]");
                if s.id.is_empty() {
                    return Err(format!("{at}: id is required"));
                }
                if !ids.insert(s.id.clone()) {
                    return Err(format!("{at}: id {} is used twice", s.id));
                }
                snats.insert(s.id.as_str());
                check_time(&at, s.create_time.as_deref())?;
            }
            if c.masters.len() + c.workers.len() > 60_000 {
                return Err(format!("{at}: at most 60000 nodes per cluster"));
            }
            for (role, group) in [("masters", &c.masters), ("workers", &c.workers)] {
                for (k, n) in group.expand().iter().enumerate() {
                    let at = format!("{at}.{role}[{k}]");
                    if let Some(id) = &n.id
                        && (id.is_empty() || !ids.insert(id.clone()))
                    {
                        return Err(format!("{at}: id {id:?} is empty or used twice"));
                    }
                    if let Some(s) = &n.snat_id
                        && !snats.contains(s.as_str())
                    {
                        return Err(format!("{at}: snatId {s} is not a gateway of this cluster"));
                    }
                    check_time(&at, n.create_time.as_deref())?;
                }
            }
        }
        Ok(())
    }
}

fn check_time(at: &str, t: Option<&str>) -> Result<(), String> {
    match t {
        Some(s) if parse_beijing_time(s).is_none() => Err(format!(
            "{at}: createTime {s:?} must look like 2023-05-26 14:21:46 (Beijing time)"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
