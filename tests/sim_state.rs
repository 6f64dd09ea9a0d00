//! The `--state` file: a simulator restarted on the same file continues where the
//! previous one stopped, running tasks included; a corrupt file refuses to start.

mod sim_support;

use cck_operator::sim::{SimError, serve};
use serde_json::{Value, json};
use sim_support::*;

#[tokio::test]
async fn a_restart_continues_from_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim-state.json");
    let mut config = fast_config();
    config.task_durations.create_ms = 400;

    let sim = start_with_state(config.clone(), Some(path.clone())).await;
    assert!(path.exists(), "written at start");
    let (s, v) = sim.post("CreateClusterNodes", create_body(2)).await;
    assert_eq!(s, 200, "{v}");
    let task = v["Data"]["TaskId"].as_str().unwrap().to_owned();
    let id = sim
        .admin(
            "POST",
            &format!("/clusters/{CLUSTER}/nodes"),
            Some(json!({"count": 1, "status": "Error"})),
        )
        .await
        .1["nodes"][0]["NodeId"]
        .clone();
    let before: Vec<Value> = sim.nodes().await;
    sim.handle.shutdown().await;

    // Same file, new process-equivalent: the nodes and the running task are back.
    let sim = start_with_state(config, Some(path.clone())).await;
    let after = sim.nodes().await;
    let names = |v: &[Value]| v.iter().map(|n| n["NodeName"].clone()).collect::<Vec<_>>();
    assert_eq!(names(&after), names(&before));
    assert!(
        after
            .iter()
            .any(|n| n["NodeId"] == id && n["Status"] == "Error")
    );
    assert_eq!(sim.wait_task(&task).await["Status"], "Finish");
    let workers: Vec<Value> = sim
        .nodes()
        .await
        .into_iter()
        .filter(|n| n["NodeName"] == "cck-demo-worker001" || n["NodeName"] == "cck-demo-worker002")
        .collect();
    assert!(workers.iter().all(|n| n["Status"] == "Ok"), "{workers:?}");
    // Name counters survived: the next worker is 004 (003 was the admin-added one).
    let (_, v) = sim.post("CreateClusterNodes", create_body(1)).await;
    sim.wait_task(v["Data"]["TaskId"].as_str().unwrap()).await;
    let last = sim.nodes().await.pop().unwrap();
    assert_eq!(last["NodeName"], "cck-demo-worker004");
    sim.handle.shutdown().await;

    // No temporary files are left next to the state file.
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
}

#[tokio::test]
async fn a_corrupt_state_file_is_an_error_not_an_empty_world() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, b"{\"format\": 1, \"world\": ").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = serve(fast_config(), listener, Some(path.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, SimError::StateCorrupt { .. }), "{err}");
    assert!(err.to_string().contains("state.json"), "{err}");
    // The file is left as it was for the user to inspect.
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{\"format\": 1, \"world\": "
    );
}

#[tokio::test]
async fn an_invalid_config_is_refused_by_serve() {
    let mut config = fast_config();
    config.credentials.clear();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = serve(config, listener, None).await.unwrap_err();
    assert!(err.to_string().contains("credentials"), "{err}");
}
