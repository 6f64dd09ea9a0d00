//! End-to-end: the operator binary against the real local Kubernetes API server and the
//! CCK simulator. Each test has its own namespace, simulator and operator process.

mod operator;
mod support;

use std::time::Duration;

use cck_operator::api::status::TaskState;
use operator::*;
use serde_json::json;
use support::kube::{TestContext, wait_for};

async fn setup(test: &str) -> (TestContext, cck_operator::sim::SimHandle) {
    let ctx = TestContext::new(test).await;
    install_crd(&ctx).await;
    create_password(&ctx).await;
    (ctx, start_sim().await)
}

#[tokio::test]
async fn a_pool_reaches_ready_with_its_task_ids_in_status() {
    let (ctx, sim) = setup("ready").await;
    let _op = Operator::start(&ctx, &sim);
    apply(&ctx, &pool_yaml("workers", 3, "")).await;
    let p = wait_ready(&ctx, "workers", 3).await;
    let status = p.status.unwrap();
    let create = status
        .tasks
        .iter()
        .find(|t| t.action == "CreateClusterNodes")
        .expect("the create task is in status");
    assert!(!create.task_id.is_empty());
    assert_eq!(create.state, TaskState::Succeeded);
    assert_eq!(create.node_ids.len(), 3);
    assert_eq!(sim_workers(&sim).await.len(), 3);
    assert_eq!(
        accepted(&sim, "CreateClusterNodes").await,
        1,
        "one create for all three"
    );
    let reasons = event_reasons(&ctx).await;
    assert!(reasons.iter().any(|r| r == "CreatingNodes"), "{reasons:?}");
    let out = ctx
        .kubectl(&["-n", &ctx.namespace, "get", "cnp", "workers"], None)
        .await;
    assert!(out.contains("Ready"), "{out}");
    let out = ctx
        .kubectl(&["-n", &ctx.namespace, "describe", "cnp", "workers"], None)
        .await;
    assert!(
        out.contains(&create.task_id),
        "describe shows the TaskId:\n{out}"
    );
}

#[tokio::test]
async fn kubectl_scale_grows_and_shrinks_the_pool() {
    let (ctx, sim) = setup("scale").await;
    let _op = Operator::start(&ctx, &sim);
    apply(&ctx, &pool_yaml("workers", 2, "")).await;
    let before = wait_ready(&ctx, "workers", 2).await.status.unwrap();
    ctx.kubectl(
        &["-n", &ctx.namespace, "scale", "cnp/workers", "--replicas=4"],
        None,
    )
    .await;
    wait_ready(&ctx, "workers", 4).await;
    ctx.kubectl(
        &["-n", &ctx.namespace, "scale", "cnp/workers", "--replicas=1"],
        None,
    )
    .await;
    let after = wait_ready(&ctx, "workers", 1).await.status.unwrap();
    wait_for("the simulator to have one worker", TIMEOUT, || async {
        (sim_workers(&sim).await.len() == 1).then_some(())
    })
    .await;
    // Newest first: the survivor is one of the two original nodes.
    let original: Vec<_> = before.nodes.iter().map(|n| n.node_id.clone()).collect();
    assert!(original.contains(&after.nodes[0].node_id));
    assert!(after.tasks.iter().any(|t| t.action == "DeleteClusterNodes"));
}

#[tokio::test]
async fn two_pools_in_one_cluster_scale_at_the_same_time_without_sharing_nodes() {
    let (ctx, sim) = setup("twopools").await;
    let _op = Operator::start(&ctx, &sim);
    apply(
        &ctx,
        &format!("{}---\n{}", pool_yaml("a", 3, ""), pool_yaml("b", 2, "")),
    )
    .await;
    wait_ready(&ctx, "a", 3).await;
    wait_ready(&ctx, "b", 2).await;
    ctx.kubectl(
        &[
            "-n",
            &ctx.namespace,
            "scale",
            "cnp/a",
            "cnp/b",
            "--replicas=4",
        ],
        None,
    )
    .await;
    let a = wait_ready(&ctx, "a", 4).await.status.unwrap();
    let b = wait_ready(&ctx, "b", 4).await.status.unwrap();
    let mut ids: Vec<_> = a
        .nodes
        .iter()
        .chain(&b.nodes)
        .map(|n| n.node_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8, "no node is owned by both pools");
    assert_eq!(
        sim_workers(&sim).await.len(),
        8,
        "no node was created twice"
    );
    assert_eq!(
        accepted(&sim, "CreateClusterNodes").await,
        4,
        "one create per pool per shortfall"
    );
}

#[tokio::test]
async fn a_failed_create_task_is_retried_and_its_broken_nodes_replaced() {
    let (ctx, sim) = setup("taskfail").await;
    inject_once(&sim, "CreateClusterNodes", "taskFailure").await;
    let _op = Operator::start(&ctx, &sim);
    apply(&ctx, &pool_yaml("workers", 2, "")).await;
    let p = wait_ready(&ctx, "workers", 2).await.status.unwrap();
    wait_for("the failed nodes to be deleted", TIMEOUT, || async {
        (sim_workers(&sim).await.len() == 2).then_some(())
    })
    .await;
    let reasons = event_reasons(&ctx).await;
    assert!(reasons.iter().any(|r| r == "TaskFailed"), "{reasons:?}");
    assert!(
        p.tasks
            .iter()
            .any(|t| t.action == "CreateClusterNodes" && t.state == TaskState::Failed)
    );
    assert_eq!(accepted(&sim, "CreateClusterNodes").await, 2);
}

#[tokio::test]
async fn a_lost_create_response_creates_no_duplicates() {
    let (ctx, sim) = setup("lostresp").await;
    inject_once(&sim, "CreateClusterNodes", "lostResponse").await;
    let _op = Operator::start(&ctx, &sim);
    apply(&ctx, &pool_yaml("workers", 3, "")).await;
    wait_ready(&ctx, "workers", 3).await;
    assert_eq!(accepted(&sim, "CreateClusterNodes").await, 1);
    assert_eq!(sim_workers(&sim).await.len(), 3);
    let reasons = event_reasons(&ctx).await;
    assert!(
        reasons.iter().any(|r| r == "CreateOutcomeUnknown"),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn an_operator_killed_after_the_cloud_accepted_a_create_does_not_create_twice() {
    let (ctx, sim) = setup("sigkill").await;
    // The create is applied at once but answered after 5 s: the operator dies in between.
    admin(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        Some(json!({"actions": {"CreateClusterNodes": {"latencyMs": 5000}}})),
    )
    .await;
    let op = Operator::start(&ctx, &sim);
    apply(&ctx, &pool_yaml("workers", 3, "")).await;
    wait_for("the cloud to accept the create", TIMEOUT, || async {
        (accepted(&sim, "CreateClusterNodes").await == 1).then_some(())
    })
    .await;
    op.kill().await;
    let p = pool(&ctx, "workers").await.unwrap();
    let intent = p
        .status
        .and_then(|s| s.create_intent)
        .expect("the intent was recorded before the call");
    assert!(
        intent.task_id.is_none(),
        "the TaskId never reached the status"
    );
    admin(&sim, reqwest::Method::PUT, "/faults", Some(json!({}))).await;
    let _op = Operator::start(&ctx, &sim);
    wait_ready(&ctx, "workers", 3).await;
    assert_eq!(
        accepted(&sim, "CreateClusterNodes").await,
        1,
        "no second create"
    );
    assert_eq!(sim_workers(&sim).await.len(), 3);
}

#[tokio::test]
async fn a_paused_pool_is_observed_but_not_changed() {
    let (ctx, sim) = setup("pause").await;
    let _op = Operator::start(&ctx, &sim);
    apply(&ctx, &pool_yaml("workers", 2, "  paused: true\n")).await;
    wait_for("phase Paused", TIMEOUT, || async {
        let p = pool(&ctx, "workers").await?;
        (p.status?.phase.as_deref() == Some("Paused")).then_some(())
    })
    .await;
    // Several reconciles observe the cloud while paused, and none mutates it.
    wait_for("a few observations while paused", TIMEOUT, || async {
        (received(&sim, "DescribeClusterNodes").await >= 3).then_some(())
    })
    .await;
    let p = pool(&ctx, "workers").await.unwrap().status.unwrap();
    assert!(p.create_intent.is_none() && p.tasks.is_empty(), "{p:?}");
    assert_eq!(accepted(&sim, "CreateClusterNodes").await, 0);
    apply(&ctx, &pool_yaml("workers", 2, "  paused: false\n")).await;
    wait_ready(&ctx, "workers", 2).await;
}

#[tokio::test]
async fn deletion_policy_delete_releases_and_retain_keeps_the_nodes() {
    let (ctx, sim) = setup("deletion").await;
    let _op = Operator::start(&ctx, &sim);
    apply(
        &ctx,
        &format!(
            "{}---\n{}",
            pool_yaml("gone", 2, ""),
            pool_yaml("kept", 1, "  deletionPolicy: Retain\n")
        ),
    )
    .await;
    wait_ready(&ctx, "gone", 2).await;
    let kept = wait_ready(&ctx, "kept", 1).await.status.unwrap();
    ctx.kubectl(
        &[
            "-n",
            &ctx.namespace,
            "delete",
            "cnp",
            "gone",
            "kept",
            "--timeout=60s",
        ],
        None,
    )
    .await;
    let workers = wait_for("only the retained node to remain", TIMEOUT, || async {
        let w = sim_workers(&sim).await;
        (w.len() == 1).then_some(w)
    })
    .await;
    assert_eq!(workers[0].0, kept.nodes[0].node_id);
    assert!(pool(&ctx, "gone").await.is_none() && pool(&ctx, "kept").await.is_none());
}

#[tokio::test]
async fn a_fixed_secret_is_picked_up_without_a_restart() {
    let (ctx, sim) = setup("secretfix").await;
    ctx.kubectl(
        &[
            "-n",
            &ctx.namespace,
            "create",
            "secret",
            "generic",
            "cck-creds",
            "--from-literal=accessKeyId=sim-demo-key",
            "--from-literal=accessKeySecret=wrong",
        ],
        None,
    )
    .await;
    // Requeues are a minute apart: only the Secret watch can explain a quick recovery.
    let _op = Operator::start_with(
        &ctx,
        &sim,
        &["--poll-interval-ms", "60000", "--resync-seconds", "300"],
    );
    apply(
        &ctx,
        &pool_yaml("workers", 1, "  credentialsSecretRef: {name: cck-creds}\n"),
    )
    .await;
    let (_, reason, message) = wait_for(
        "a condition naming the credential problem",
        TIMEOUT,
        || async {
            ready_condition(&ctx, "workers")
                .await
                .filter(|(s, _, _)| s == "False")
                .filter(|(_, r, _)| r == "CloudUnavailable")
        },
    )
    .await;
    assert!(
        message.contains("SignatureDoesNotMatch"),
        "{reason}: {message}"
    );
    assert!(
        !message.contains("wrong"),
        "the secret never appears: {message}"
    );
    ctx.kubectl(
        &[
            "-n",
            &ctx.namespace,
            "patch",
            "secret",
            "cck-creds",
            "-p",
            r#"{"stringData":{"accessKeySecret":"sim-demo-secret"}}"#,
        ],
        None,
    )
    .await;
    wait_for(
        "the create made right after the Secret was fixed",
        Duration::from_secs(20),
        || async { (accepted(&sim, "CreateClusterNodes").await == 1).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn an_invalid_spec_is_reported_without_any_cloud_call() {
    let (ctx, sim) = setup("invalid").await;
    let _op = Operator::start(&ctx, &sim);
    // 8 cpu / 16 GB is not a CCK.Standard shape (the 1.20 API server has no CEL to stop it).
    let yaml = pool_yaml("workers", 2, "").replace("memory: 32", "memory: 16");
    apply(&ctx, &yaml).await;
    let (_, reason, message) = wait_for("the InvalidSpec condition", TIMEOUT, || async {
        ready_condition(&ctx, "workers")
            .await
            .filter(|(_, r, _)| r == "InvalidSpec")
    })
    .await;
    assert!(message.contains("8/32"), "{reason}: {message}");
    assert_eq!(total_requests(&sim).await, 0, "no cloud call at all");
    let reasons = event_reasons(&ctx).await;
    assert!(reasons.iter().any(|r| r == "InvalidSpec"), "{reasons:?}");
}

#[tokio::test]
async fn unowned_nodes_are_never_touched_and_can_be_adopted() {
    let (ctx, sim) = setup("unowned").await;
    let added = admin(
        &sim,
        reqwest::Method::POST,
        &format!("/clusters/{CLUSTER}/nodes"),
        Some(json!({"count": 2, "cpu": 8, "memory": 32, "status": "Ok", "type": "Worker"})),
    )
    .await;
    let foreign: Vec<String> = added["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["NodeId"].as_str().unwrap().to_owned())
        .collect();
    let op = Operator::start(&ctx, &sim);
    apply(&ctx, &pool_yaml("workers", 1, "")).await;
    wait_ready(&ctx, "workers", 1).await;
    let gauge = format!("cck_unowned_worker_nodes{{cluster=\"{CLUSTER}\"}} 2");
    wait_for(
        "the unowned nodes to be reported as a metric",
        TIMEOUT,
        || async { op.metrics().await.contains(&gauge).then_some(()) },
    )
    .await;
    ctx.kubectl(
        &["-n", &ctx.namespace, "scale", "cnp/workers", "--replicas=0"],
        None,
    )
    .await;
    wait_for("the pool to be empty", TIMEOUT, || async {
        let p = pool(&ctx, "workers").await?;
        (p.status?.replicas == 0).then_some(())
    })
    .await;
    let workers = wait_for("the pool's own node to be deleted", TIMEOUT, || async {
        let w = sim_workers(&sim).await;
        (w.len() == 2).then_some(w)
    })
    .await;
    assert!(
        workers.iter().all(|(id, _)| foreign.contains(id)),
        "only the foreign nodes remain"
    );
    // Adopt one of them and scale to two: one new node is created.
    let adopt = format!("  adoptNodeIds: [{}]\n", foreign[0]);
    apply(&ctx, &pool_yaml("workers", 2, &adopt)).await;
    let p = wait_ready(&ctx, "workers", 2).await.status.unwrap();
    assert!(p.nodes.iter().any(|n| n.node_id == foreign[0]));
    assert!(!p.nodes.iter().any(|n| n.node_id == foreign[1]));
    assert_eq!(sim_workers(&sim).await.len(), 3);
}

#[tokio::test]
async fn a_node_in_error_is_replaced() {
    let (ctx, sim) = setup("errornode").await;
    let _op = Operator::start(&ctx, &sim);
    apply(&ctx, &pool_yaml("workers", 2, "")).await;
    let p = wait_ready(&ctx, "workers", 2).await.status.unwrap();
    let broken = p.nodes[0].node_id.clone();
    admin(
        &sim,
        reqwest::Method::PATCH,
        &format!("/nodes/{broken}"),
        Some(json!({"status": "Error"})),
    )
    .await;
    wait_for(
        "the broken node to be replaced",
        Duration::from_secs(60),
        || async {
            let p = pool(&ctx, "workers").await?.status?;
            let healthy = p.ready_replicas == 2 && !p.nodes.iter().any(|n| n.node_id == broken);
            healthy.then_some(())
        },
    )
    .await;
    wait_for(
        "the broken node to be gone from the cloud",
        TIMEOUT,
        || async {
            let w = sim_workers(&sim).await;
            (w.len() == 2 && !w.iter().any(|(id, _)| id == &broken)).then_some(())
        },
    )
    .await;
}
