//! Tests of config parsing and validation.

use super::*;
use crate::cck::types::Action;

const EXAMPLE: &str = include_str!("example-config.yaml");

fn err_of(yaml: &str) -> (String, String) {
    SimConfig::from_yaml(yaml).unwrap_err()
}

#[test]
fn the_demo_is_valid_and_matches_the_brief() {
    let d = SimConfig::demo();
    d.validate().unwrap();
    assert_eq!(d.credentials[0].access_key_id, "sim-demo-key");
    assert_eq!(
        d.credentials[0].access_key_secret.expose(),
        "sim-demo-secret"
    );
    let c = &d.clusters[0];
    assert_eq!(c.id, "96fd21ae-fb8d-11ed-b833-060b6f41d883");
    assert_eq!(c.masters.len(), 3);
    assert!(c.workers.is_empty());
    assert_eq!(c.snats[0].id, "96fda1b0-fb8d-11ed-b833-060b6f41d883");
    assert_eq!(d.task_durations.create_ms, 5000);
    assert_eq!(d.task_durations.delete_ms, 3000);
    assert_eq!(d.auth.timestamp_skew_seconds, 900);
}

#[test]
fn the_example_file_parses_and_validates() {
    let c = SimConfig::from_yaml(EXAMPLE).unwrap();
    c.validate().unwrap();
    assert_eq!(c.credentials.len(), 2);
    assert_eq!(c.seed, Some(42));
    assert_eq!(c.clusters.len(), 2);
    assert_eq!(c.clusters[0].workers.len(), 2);
    assert_eq!(c.clusters[1].workers.expand()[1].cpu, Some(16));
    let f = &c.faults.actions[&Action::CreateClusterNodes];
    assert_eq!(f.lost_response_rate, 0.02);
    assert_eq!(c.faults.throttle.as_ref().unwrap().burst, Some(100));
}

#[test]
fn json_works_too() {
    let c = SimConfig::from_json(
        r#"{"credentials":[{"accessKeyId":"k","accessKeySecret":"s"}],
            "clusters":[{"id":"c1","name":"one","masters":1,"workers":{"count":2}}]}"#,
    )
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.clusters[0].workers.len(), 2);
}

#[test]
fn unknown_keys_and_wrong_types_are_located() {
    let (loc, msg) = err_of(
        "credentials: [{accessKeyId: k, accessKeySecret: s}]\nclusters:\n  - id: c\n    name: n\n    snats:\n      - id: g\n        nmae: x\n",
    );
    assert_eq!(loc, "clusters[0].snats[0].nmae");
    assert!(msg.contains("unknown field `nmae`"), "{msg}");
    assert!(msg.contains("line 7"), "{msg}");
    let (loc, msg) = err_of("limits:\n  maxPageSize: lots\n");
    assert_eq!(loc, "limits.maxPageSize");
    assert!(msg.contains("invalid type"), "{msg}");
    let (loc, _) = err_of("clusters:\n  - id: c\n    name: n\n    workers: {count: 1, cpus: 2}\n");
    assert!(loc.starts_with("clusters[0].workers"), "{loc}");
    let (loc, msg) = err_of("faults:\n  actions:\n    CreateNodes: {errorRate: 0.1}\n");
    assert!(loc.starts_with("faults.actions"), "{loc}");
    assert!(
        msg.contains("CreateClusterNodes"),
        "lists the known actions: {msg}"
    );
}

fn invalid(yaml: &str) -> String {
    let base = "credentials: [{accessKeyId: k, accessKeySecret: s}]\n";
    let c = SimConfig::from_yaml(&format!("{base}{yaml}")).unwrap();
    c.validate().unwrap_err()
}

#[test]
fn rules_serde_cannot_check_are_validated() {
    let e = SimConfig::from_yaml("seed: 1")
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(e.contains("credentials"), "{e}");
    let e = SimConfig::from_yaml(
        "credentials: [{accessKeyId: k, accessKeySecret: s}, {accessKeyId: k, accessKeySecret: t}]",
    )
    .unwrap()
    .validate()
    .unwrap_err();
    assert!(e.contains("listed twice"), "{e}");
    let e = invalid("clusters: [{id: a, name: x}, {id: a, name: y}]");
    assert!(e.contains("clusters[1]") && e.contains("twice"), "{e}");
    let e = invalid("clusters: [{id: a, name: x, snats: [{id: a}]}]");
    assert!(e.contains("snats[0]"), "{e}");
    let e = invalid("clusters: [{id: a, name: x, workers: [{snatId: nope}]}]");
    assert!(e.contains("snatId nope"), "{e}");
    let e = invalid("clusters: [{id: a, name: x, createTime: yesterday}]");
    assert!(e.contains("2023-05-26 14:21:46"), "{e}");
    let e = invalid("clusters: [{name: x}]");
    assert!(e.contains("id and name"), "{e}");
    let e = invalid("faults: {default: {taskFailureRate: -0.1}}");
    assert!(e.contains("faults.default.taskFailureRate"), "{e}");
    let e = invalid("faults: {throttle: {requestsPerSecond: 0}}");
    assert!(e.contains("requestsPerSecond"), "{e}");
    let e = invalid("statusStrings: {stopped: ok}");
    assert!(e.contains("statusStrings.stopped"), "{e}");
    let e = invalid("limits: {maxCreateNum: 0}");
    assert!(e.contains("limits.maxCreateNum"), "{e}");
    let e = invalid("auth: {timestampSkewSeconds: 0}");
    assert!(e.contains("timestampSkewSeconds"), "{e}");
}

#[test]
fn load_reports_the_file_and_the_location() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml");
    assert!(matches!(
        SimConfig::load(&missing),
        Err(SimError::ConfigRead { .. })
    ));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"credentials": [], "auth": {"skew": 1}}"#).unwrap();
    let e = SimConfig::load(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.json") && e.contains("auth.skew"), "{e}");
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "clusters: []\n").unwrap();
    let e = SimConfig::load(&empty).unwrap_err().to_string();
    assert!(e.contains("empty.yaml") && e.contains("credentials"), "{e}");
    let good = dir.path().join("good.yml");
    std::fs::write(&good, EXAMPLE).unwrap();
    assert_eq!(SimConfig::load(&good).unwrap().clusters.len(), 2);
}

#[test]
fn secrets_are_not_debug_printed() {
    let d = SimConfig::demo();
    assert!(!format!("{d:?}").contains("sim-demo-secret"));
}
