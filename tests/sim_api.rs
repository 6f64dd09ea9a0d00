//! The simulator's CCK API over HTTP: routes, envelopes, authentication and a full
//! node lifecycle with real (short) task durations.

mod sim_support;

use serde_json::{Value, json};
use sim_support::*;

fn assert_envelope(v: &Value) {
    assert!(v["Code"].is_string() && v["Msg"].is_string(), "{v}");
    assert!(v.get("Data").is_some(), "{v}");
    let rid = v["RequestId"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(rid).unwrap().get_version_num(), 4);
}

#[tokio::test]
async fn describe_actions_return_vendor_shaped_envelopes() {
    let sim = start(fast_config()).await;
    let (s, v) = sim
        .get("DescribeClusters", &[("ClusterName", "demo")])
        .await;
    assert_eq!(s, 200);
    assert_envelope(&v);
    assert_eq!(v["Code"], "Success");
    assert_eq!(v["Data"][0]["ClusterId"], CLUSTER);
    assert_eq!(v["Data"][0]["NodeNum"], 3);
    assert_eq!(v["Data"][0]["K8SVersion"], "1.19.3");
    assert_eq!(v["Data"][0]["Snats"][0]["UsedNum"], 3);
    let (s, v) = sim
        .get(
            "DescribeClusterNodes",
            &[("ClusterId", CLUSTER), ("PageSize", "2")],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["PageSize"].as_u64(),
            v["PageNumber"].as_u64(),
            v["Total"].as_u64()
        ),
        (Some(2), Some(1), Some(3))
    );
    assert_eq!(v["Data"]["Total"], 3);
    assert_eq!(v["Data"]["Nodes"].as_array().unwrap().len(), 2);
    assert_eq!(v["Data"]["Nodes"][0]["NodeName"], "cck-demo-master001");
    let (s, v) = sim
        .get("DescribeClusterNats", &[("ClusterId", CLUSTER)])
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["Data"][0]["Id"], SNAT);
    assert_eq!(v["Data"][0]["ClusterId"], CLUSTER);
    // The typed client structs decode what the simulator sends.
    let page: cck_operator::cck::types::NodePage = serde_json::from_value(
        sim.get("DescribeClusterNodes", &[("ClusterId", CLUSTER)])
            .await
            .1["Data"]
            .clone(),
    )
    .unwrap();
    assert_eq!(page.total, 3);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn every_documented_path_form_works_and_others_are_404_envelopes() {
    let sim = start(fast_config()).await;
    let base = format!("http://{}", sim.handle.local_addr());
    for path in ["/", "/cck/v1", "/cck/v1/"] {
        let q = sim.signed("GET", "DescribeClusters", &[]);
        let qs = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&q)
            .finish();
        let resp = sim
            .http
            .get(format!("{base}{path}?{qs}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    let resp = sim.http.get(format!("{base}/cck/v2")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let v: Value = resp.json().await.unwrap();
    assert_envelope(&v);
    assert_eq!(v["Code"], "NotFound");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn request_level_errors_have_the_right_codes() {
    let sim = start(fast_config()).await;
    let code = |r: (u16, Value)| {
        (
            r.0,
            r.1["Code"].as_str().unwrap_or_default().to_owned(),
            r.1["Msg"].as_str().unwrap_or_default().to_owned(),
        )
    };

    let (s, c, m) = code(sim.get("DescribeEverything", &[]).await);
    assert_eq!((s, c.as_str()), (400, "UnsupportedAction"));
    assert!(m.contains("DescribeClusterNodes"), "{m}");
    let q = sim.signed("POST", "DescribeClusters", &[]);
    let (s, c, m) = code(sim.send("POST", &q, Some(&json!({}))).await.unwrap());
    assert_eq!((s, c.as_str()), (400, "UnsupportedHTTPMethod"));
    assert!(m.contains("GET"), "{m}");
    let (s, c, m) = code(sim.get("DescribeClusterNodes", &[]).await);
    assert_eq!((s, c.as_str()), (400, "MissingParameter"));
    assert!(m.contains("ClusterId"), "{m}");
    let (s, c, m) = code(
        sim.get(
            "DescribeClusterNodes",
            &[("ClusterId", CLUSTER), ("PageSize", "500")],
        )
        .await,
    );
    assert_eq!((s, c.as_str()), (400, "InvalidParameter"));
    assert!(m.contains("maximum is 100"), "{m}");
    let (s, c, m) = code(
        sim.get(
            "DescribeClusterNodes",
            &[("ClusterId", CLUSTER), ("PageNo", "2")],
        )
        .await,
    );
    assert_eq!((s, c.as_str()), (400, "InvalidParameter"));
    assert!(m.contains("PageNo") && m.contains("PageNumber"), "{m}");
    let (s, c, m) = code(sim.get("DescribeTask", &[("TaskId", "missing")]).await);
    assert_eq!((s, c.as_str()), (400, "InvalidParameter"));
    assert!(m.contains("does not exist"), "{m}");

    // Signature problems: one character off, an unknown key, an old timestamp.
    let mut q = sim.signed("GET", "DescribeClusters", &[]);
    let sig = &mut q.last_mut().unwrap().1;
    let swapped = if sig.starts_with('A') { "B" } else { "A" };
    sig.replace_range(0..1, swapped);
    let (s, c, m) = code(sim.send("GET", &q, None).await.unwrap());
    assert_eq!((s, c.as_str()), (403, "SignatureDoesNotMatch"), "{m}");
    let q = sim.signed_as(
        "GET",
        "DescribeClusters",
        &[],
        "other-key",
        "x",
        jiff::Timestamp::now(),
    );
    let (s, c, _) = code(sim.send("GET", &q, None).await.unwrap());
    assert_eq!((s, c.as_str()), (403, "InvalidAccessKeyId"));
    let old = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(3600);
    let q = sim.signed_as("GET", "DescribeClusters", &[], &sim.key, &sim.secret, old);
    let (s, c, _) = code(sim.send("GET", &q, None).await.unwrap());
    assert_eq!((s, c.as_str()), (403, "InvalidTimestamp"));
    let q = sim.signed("GET", "DescribeClusters", &[]);
    assert_eq!(sim.send("GET", &q, None).await.unwrap().0, 200);
    let (s, c, m) = code(sim.send("GET", &q, None).await.unwrap());
    assert_eq!((s, c.as_str()), (403, "SignatureNonceUsed"), "{m}");
    let mut q = sim.signed("GET", "DescribeClusters", &[]);
    q.push(("Action".into(), "DescribeTask".into()));
    let (s, c, _) = code(sim.send("GET", &q, None).await.unwrap());
    assert_eq!((s, c.as_str()), (400, "InvalidParameter"));

    let (_, stats) = sim.admin("GET", "/stats", None).await;
    assert_eq!(
        stats["actions"]["(unsupported)"]["rejected"]["UnsupportedAction"],
        1
    );
    assert_eq!(
        stats["actions"]["DescribeClusters"]["rejected"]["SignatureNonceUsed"],
        1
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_space_in_a_signed_value_works_as_plus_or_percent20() {
    let sim = start(fast_config()).await;
    let q = sim.signed("GET", "DescribeClusters", &[("ClusterName", "cck demo")]);
    // form_urlencoded sends the space as '+'.
    let (s, v) = sim.send("GET", &q, None).await.unwrap();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["Data"].as_array().unwrap().len(), 0);
    let q = sim.signed("GET", "DescribeClusters", &[("ClusterName", "cck demo")]);
    let qs: Vec<String> = q
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                cck_operator::cck::sign::percent_encode(k),
                cck_operator::cck::sign::percent_encode(v)
            )
        })
        .collect();
    let url = format!("{}?{}", sim.handle.endpoint(), qs.join("&"));
    assert!(url.contains("cck%20demo"));
    assert_eq!(sim.http.get(url).send().await.unwrap().status(), 200);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn body_errors_over_http() {
    let sim = start(fast_config()).await;
    let mut body = create_body(1);
    body["Cpu"] = json!("eight");
    let (s, v) = sim.post("CreateClusterNodes", body).await;
    assert_eq!((s, v["Code"].as_str()), (400, Some("ParamParseError")));
    assert!(v["Msg"].as_str().unwrap().contains("Cpu"), "{v}");
    let mut body = create_body(1);
    body.as_object_mut().unwrap().remove("Password");
    let (s, v) = sim.post("CreateClusterNodes", body).await;
    assert_eq!((s, v["Code"].as_str()), (400, Some("MissingParameter")));
    let q = sim.signed("POST", "StopClusterNodes", &[]);
    let resp = sim
        .http
        .post(sim.url(&q))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["Code"], "ParamParseError");
    let (_, stats) = sim.admin("GET", "/stats", None).await;
    assert_eq!(stats["actions"]["CreateClusterNodes"]["accepted"], 0);
    assert_eq!(sim.nodes().await.len(), 3);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn full_worker_lifecycle() {
    let sim = start(fast_config()).await;
    let (s, v) = sim.post("CreateClusterNodes", create_body(2)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["Msg"], "节点扩容任务已下发，请等待完成！");
    let task = v["Data"]["TaskId"].as_str().unwrap().to_owned();
    let workers: Vec<Value> = sim
        .nodes()
        .await
        .into_iter()
        .filter(|n| n["Type"] == "Worker")
        .collect();
    assert_eq!(workers.len(), 2);
    assert!(
        workers
            .iter()
            .all(|n| n["Status"] == "Creating" && n["Schedulable"] == false)
    );
    let (_, t) = sim.get("DescribeTask", &[("TaskId", &task)]).await;
    assert_eq!(t["Data"]["Status"], "Doing");
    assert_eq!(sim.wait_task(&task).await["Status"], "Finish");
    let ids: Vec<Value> = workers.iter().map(|n| n["NodeId"].clone()).collect();
    let nodes = sim.nodes().await;
    assert!(
        nodes[3..]
            .iter()
            .all(|n| n["Status"] == "Ok" && n["Schedulable"] == true)
    );

    // Stopping a busy or master node is refused; stopping the workers works.
    let master = nodes[0]["NodeId"].clone();
    let (s, v) = sim
        .post(
            "StopClusterNodes",
            json!({"ClusterId": CLUSTER, "NodeIds": [master]}),
        )
        .await;
    assert_eq!((s, v["Code"].as_str()), (403, Some("InvalidOperation")));
    for (action, expect) in [
        ("StopClusterNodes", Some("Stopped")),
        ("StartClusterNodes", Some("Ok")),
        ("DeleteClusterNodes", None),
    ] {
        let (s, v) = sim
            .post(action, json!({"ClusterId": CLUSTER, "NodeIds": ids}))
            .await;
        assert_eq!(s, 200, "{action}: {v}");
        let task = v["Data"]["TaskId"].as_str().unwrap().to_owned();
        let workers: Vec<Value> = sim
            .nodes()
            .await
            .into_iter()
            .filter(|n| n["Type"] == "Worker")
            .collect();
        assert!(
            workers.iter().all(|n| n["Status"] == "Updating"),
            "{action}"
        );
        let (s, v) = sim
            .post(action, json!({"ClusterId": CLUSTER, "NodeIds": ids}))
            .await;
        assert_eq!(
            (s, v["Code"].as_str()),
            (403, Some("InvalidOperation")),
            "busy: {v}"
        );
        assert_eq!(sim.wait_task(&task).await["Status"], "Finish");
        let workers: Vec<Value> = sim
            .nodes()
            .await
            .into_iter()
            .filter(|n| n["Type"] == "Worker")
            .collect();
        match expect {
            Some(status) => assert!(
                workers.iter().all(|n| n["Status"] == status),
                "{action}: {workers:?}"
            ),
            None => assert!(workers.is_empty()),
        }
    }
    let (_, stats) = sim.admin("GET", "/stats", None).await;
    assert_eq!(stats["actions"]["CreateClusterNodes"]["accepted"], 1);
    assert_eq!(
        stats["actions"]["StopClusterNodes"]["rejected"]["InvalidOperation"],
        2
    );
    sim.handle.shutdown().await;
}
