//! The `cck-operator api` and `cck-operator sim` commands as a person uses them: the
//! simulator binary prints its export lines, `api` calls it, and an independent client
//! written in Python from API.md alone is accepted by the simulator.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cck-operator");
const CLUSTER: &str = "96fd21ae-fb8d-11ed-b833-060b6f41d883";

/// A `cck-operator sim` child process and the variables it printed.
struct SimProcess {
    child: Child,
    env: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(extra_config: &str) -> SimProcess {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.yaml");
    std::fs::write(
        &config,
        format!(
            "credentials:\n  - accessKeyId: cli-key\n    accessKeySecret: cli-secret\n\
             taskDurations: {{createMs: 200, startMs: 100, stopMs: 100, deleteMs: 100}}\n\
             clusters:\n  - id: {CLUSTER}\n    name: cck-demo\n    masters: 3\n    snats:\n      - id: snat-1\n        name: default\n{extra_config}"
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["sim", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cck-operator sim starts");
    let stdout = child.stdout.take().unwrap();
    let mut env = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("sim stdout");
        if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            env.push((k.to_owned(), v.trim_matches(['\'', '"']).to_owned()));
        }
        if env.len() == 3 {
            break;
        }
    }
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["CCK_ENDPOINT", "CCK_ACCESS_KEY_ID", "CCK_ACCESS_KEY_SECRET"],
        "the sim prints the three export lines"
    );
    SimProcess {
        child,
        env,
        _dir: dir,
    }
}

fn api(sim: &SimProcess, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("api")
        .args(args)
        .envs(sim.env.iter().map(|(k, v)| (k, v)))
        .env_remove("RUST_LOG")
        .output()
        .expect("cck-operator api runs")
}

fn json_out(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn wait_for_task(sim: &SimProcess, task: &str) -> String {
    for _ in 0..200 {
        let out = api(sim, &["DescribeTask", "--query", &format!("TaskId={task}")]);
        assert!(out.status.success());
        let status = json_out(&out)["Data"]["Status"]
            .as_str()
            .unwrap()
            .to_owned();
        if status != "Doing" {
            return status;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("task {task} never finished");
}

#[test]
fn api_round_trip_against_the_sim_binary() {
    let sim = start_sim("");
    let out = api(&sim, &["DescribeClusters"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_out(&out);
    assert_eq!(v["Code"], "Success");
    assert_eq!(v["Data"][0]["ClusterId"], CLUSTER);

    let body = format!(
        r#"{{"ClusterId":"{CLUSTER}","Type":"Worker","InstanceType":"CCK.Cpu","Cpu":8,"Memory":16,
            "AttachDisks":[{{"DiskType":"HighDisk","DiskSize":100}}],"Num":2,"Password":"Cck@pass2024",
            "SnatType":1,"SnatIds":["snat-1"]}}"#
    );
    let out = api(&sim, &["CreateClusterNodes", "--body", &body]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let task = json_out(&out)["Data"]["TaskId"]
        .as_str()
        .unwrap()
        .to_owned();

    let nodes_query = format!("ClusterId={CLUSTER}");
    let out = api(
        &sim,
        &[
            "DescribeClusterNodes",
            "--query",
            &nodes_query,
            "--query",
            "PageSize=100",
        ],
    );
    let v = json_out(&out);
    let statuses: Vec<&str> = v["Data"]["Nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["Type"] == "Worker")
        .map(|n| n["Status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["Creating", "Creating"]);

    assert_eq!(wait_for_task(&sim, &task), "Finish");
    let out = api(&sim, &["DescribeClusterNodes", "--query", &nodes_query]);
    let v = json_out(&out);
    assert!(
        v["Data"]["Nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["Type"] == "Worker")
            .all(|n| n["Status"] == "Ok")
    );
    assert_eq!(v["Total"], 5);
}

#[test]
fn api_errors_are_one_line_with_code_msg_and_request_id() {
    let sim = start_sim("");
    let body = format!(r#"{{"ClusterId":"{CLUSTER}","NodeIds":["no-such-node"]}}"#);
    let out = api(&sim, &["DeleteClusterNodes", "--body", &body]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("InvalidParameter") && stderr.contains("RequestId"),
        "{stderr}"
    );
    assert!(stderr.contains("no-such-node"), "{stderr}");
    assert_eq!(json_out(&out)["Code"], "InvalidParameter");

    let out = api(&sim, &["DescribeTask", "--body", "{}"]);
    assert_eq!(out.status.code(), Some(2));
    let out = api(&sim, &["NoSuchAction"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DescribeClusterNodes"));

    let out = Command::new(BIN)
        .args(["api", "DescribeClusters"])
        .env("CCK_ENDPOINT", &sim.env[0].1)
        .env("CCK_ACCESS_KEY_ID", "cli-key")
        .env("CCK_ACCESS_KEY_SECRET", "cli-secreT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SignatureDoesNotMatch"), "{stderr}");
    assert!(
        !stderr.contains("cli-secre"),
        "the secret never appears: {stderr}"
    );

    let out = Command::new(BIN)
        .args(["api", "DescribeClusters"])
        .env("CCK_ENDPOINT", &sim.env[0].1)
        .env_remove("CCK_ACCESS_KEY_ID")
        .env_remove("CCK_ACCESS_KEY_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CCK_ACCESS_KEY_ID"));
}

#[test]
fn api_reports_a_lost_response_as_unknown_outcome() {
    let sim =
        start_sim("faults:\n  actions:\n    StopClusterNodes:\n      lostResponseRate: 1.0\n");
    let body = format!(
        r#"{{"ClusterId":"{CLUSTER}","Type":"Worker","InstanceType":"CCK.Cpu","Cpu":8,"Memory":16,
            "AttachDisks":[{{"DiskType":"HighDisk"}}],"Num":1,"Password":"Cck@pass2024","SnatType":0}}"#
    );
    let out = api(&sim, &["CreateClusterNodes", "--body", &body]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let task = json_out(&out)["Data"]["TaskId"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for_task(&sim, &task);
    let out = api(
        &sim,
        &[
            "DescribeClusterNodes",
            "--query",
            &format!("ClusterId={CLUSTER}"),
        ],
    );
    let v = json_out(&out);
    let worker = v["Data"]["Nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["Type"] == "Worker")
        .unwrap()["NodeId"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = format!(r#"{{"ClusterId":"{CLUSTER}","NodeIds":["{worker}"]}}"#);
    let out = api(&sim, &["StopClusterNodes", "--body", &body]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outcome unknown"));
    // The stop was applied all the same.
    let out = api(
        &sim,
        &[
            "DescribeClusterNodes",
            "--query",
            &format!("ClusterId={CLUSTER}"),
        ],
    );
    let v = json_out(&out);
    let status = v["Data"]["Nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["NodeId"] == worker.as_str())
        .unwrap()["Status"]
        .clone();
    assert!(status == "Updating" || status == "Stopped", "{status}");
}

#[test]
fn an_independent_python_client_is_accepted() {
    let sim = start_sim("");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/foreign/cck_client.py");
    let out = Command::new("python3")
        .arg(script)
        .envs(sim.env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("python3 is installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("0 failed"), "{stdout}");
}
