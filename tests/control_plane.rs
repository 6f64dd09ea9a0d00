//! The API machinery the operator relies on, against a real Kubernetes API
//! server: the local control plane of `tests/cluster/local-control-plane.sh`
//! or the cluster that `KUBECONFIG` names (see `tests/support/kube.rs`).
//!
//! Each test works in a namespace of its own; the only cluster-scoped object,
//! the test CRD, is applied server-side with one field manager, so the tests
//! can run in parallel, in one process or many.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::watcher;
use serde_json::{Value, json};
use support::kube::{
    FIELD_MANAGER, TestContext, namespace_name, parse_exports, test_data, wait_for,
};

/// Upper bound for the waits that a control loop makes unavoidable.
const TIMEOUT: Duration = Duration::from_secs(60);

const WIDGET_CRD: &str = "widgets.test.cck.capitalonline.net";

fn config_map(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..ObjectMeta::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..ConfigMap::default()
    }
}

fn data_of(cm: &ConfigMap, key: &str) -> Option<String> {
    cm.data.as_ref()?.get(key).cloned()
}

fn api_status(err: kube::Error) -> Box<kube::core::Status> {
    match err {
        kube::Error::Api(status) => status,
        other => panic!("expected an API error status, got {other:?}"),
    }
}

/// The next watch event that is not a bookmark, within [`TIMEOUT`].
async fn next_event<S>(events: &mut S) -> WatchEvent<ConfigMap>
where
    S: Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Unpin,
{
    loop {
        let event = tokio::time::timeout(TIMEOUT, events.try_next())
            .await
            .expect("no watch event within the timeout")
            .expect("watch stream failed")
            .expect("watch stream ended");
        if !matches!(event, WatchEvent::Bookmark(_)) {
            return event;
        }
    }
}

/// The next runtime-watcher event, within [`TIMEOUT`].
async fn next_watcher_event<S>(events: &mut S) -> watcher::Event<ConfigMap>
where
    S: Stream<Item = Result<watcher::Event<ConfigMap>, watcher::Error>> + Unpin,
{
    tokio::time::timeout(TIMEOUT, events.try_next())
        .await
        .expect("no watcher event within the timeout")
        .expect("watcher failed")
        .expect("watcher ended")
}

#[test]
fn harness_parses_the_scripts_export_lines() {
    let exports = parse_exports(
        "export KUBECONFIG=/tmp/cck-operator-cp-0/kubeconfig\n\
         export CCK_KUBECTL=/home/a\\ b/bin/kubectl\n\
         not an export\n",
    );
    assert_eq!(exports["KUBECONFIG"], "/tmp/cck-operator-cp-0/kubeconfig");
    assert_eq!(exports["CCK_KUBECTL"], "/home/a b/bin/kubectl");
}

#[test]
fn harness_namespace_names_are_dns_labels() {
    let name = namespace_name("Watch_sees::create update and delete, of a very long test name");
    assert!(name.len() <= 63, "{name}");
    assert!(name.starts_with("cck-watch-sees--create"), "{name}");
    assert!(
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "{name}"
    );
    assert_ne!(
        name,
        namespace_name("Watch_sees::create update and delete, of a very long test name")
    );
}

#[tokio::test]
async fn config_map_round_trip() {
    let ctx = TestContext::new("config_map_round_trip").await;
    let api: Api<ConfigMap> = ctx.api();

    let created = api
        .create(
            &PostParams::default(),
            &config_map("round-trip", &[("greeting", "hello")]),
        )
        .await
        .expect("create");
    assert_eq!(
        created.metadata.namespace.as_deref(),
        Some(ctx.namespace.as_str())
    );
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.resource_version.is_some());

    let fetched = api.get("round-trip").await.expect("get");
    assert_eq!(fetched.metadata.uid, created.metadata.uid);
    assert_eq!(data_of(&fetched, "greeting").as_deref(), Some("hello"));

    let listed = api.list(&ListParams::default()).await.expect("list");
    assert!(
        listed
            .items
            .iter()
            .any(|cm| cm.metadata.name.as_deref() == Some("round-trip"))
    );

    api.delete("round-trip", &DeleteParams::default())
        .await
        .expect("delete");
    assert!(
        api.get_opt("round-trip")
            .await
            .expect("get after delete")
            .is_none()
    );
}

/// Apply the shared test CRD (idempotent, parallel-safe) and wait until it is
/// served.
async fn apply_widget_crd(ctx: &TestContext) {
    let crd = test_data("test-crd.yaml");
    ctx.kubectl(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            FIELD_MANAGER,
            "-f",
            crd.to_str().expect("utf-8 path"),
        ],
        None,
    )
    .await;
    ctx.kubectl(
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            &format!("crd/{WIDGET_CRD}"),
        ],
        None,
    )
    .await;
}

fn widget_api(ctx: &TestContext) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("test.cck.capitalonline.net", "v1", "Widget");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "widgets");
    Api::namespaced_with(ctx.client.clone(), &ctx.namespace, &resource)
}

#[tokio::test]
async fn crd_server_side_apply_status_and_scale() {
    let ctx = TestContext::new("crd_server_side_apply").await;
    apply_widget_crd(&ctx).await;

    // The custom object, server-side applied by kubectl. Right after the CRD
    // is established kubectl's discovery may not know the kind yet: retry.
    let widget = test_data("test-widget.yaml");
    let widget = widget.to_str().expect("utf-8 path");
    wait_for("kubectl to apply a Widget", TIMEOUT, || async {
        let out = ctx
            .kubectl_output(
                &[
                    "apply",
                    "--server-side",
                    "--field-manager",
                    FIELD_MANAGER,
                    "-n",
                    &ctx.namespace,
                    "-f",
                    widget,
                ],
                None,
            )
            .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            Some(())
        } else if stderr.contains("no matches for kind")
            || stderr.contains("could not find the requested resource")
        {
            None
        } else {
            panic!(
                "kubectl apply of the Widget failed ({}): {stderr}",
                out.status
            )
        }
    })
    .await;

    // kubectl get, as JSON: the schema's default is applied.
    let json = ctx
        .kubectl(
            &[
                "get",
                &format!("{WIDGET_CRD}/sprocket"),
                "-n",
                &ctx.namespace,
                "-o",
                "json",
            ],
            None,
        )
        .await;
    let object: Value = serde_json::from_str(&json).expect("kubectl get -o json");
    assert_eq!(object["kind"], "Widget");
    assert_eq!(object["spec"]["size"], "small");
    assert_eq!(
        object["spec"]["replicas"], 1,
        "default from the schema: {object}"
    );
    // and as a table, with the printer columns
    let table = ctx
        .kubectl(&["get", "widgets", "-n", &ctx.namespace], None)
        .await;
    assert!(
        table.contains("sprocket") && table.contains("small"),
        "{table}"
    );

    // The schema is enforced.
    let out = ctx
        .kubectl_output(
            &[
                "apply",
                "--server-side",
                "--field-manager",
                FIELD_MANAGER,
                "-n",
                &ctx.namespace,
                "-f",
                "-",
            ],
            Some(
                "apiVersion: test.cck.capitalonline.net/v1\nkind: Widget\n\
                 metadata: {name: invalid}\nspec: {size: enormous}\n",
            ),
        )
        .await;
    assert!(
        !out.status.success(),
        "a Widget of size 'enormous' was accepted"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unsupported value"));

    // The scale subresource, through kubectl and through kube-rs.
    ctx.kubectl(
        &[
            "scale",
            &format!("{WIDGET_CRD}/sprocket"),
            "--replicas=3",
            "-n",
            &ctx.namespace,
        ],
        None,
    )
    .await;
    let api = widget_api(&ctx);
    let scaled = api.get("sprocket").await.expect("get widget");
    assert_eq!(scaled.data["spec"]["replicas"], 3);
    let scale = api.get_scale("sprocket").await.expect("get scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(3));
    api.patch_scale(
        "sprocket",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 5}})),
    )
    .await
    .expect("patch scale");
    let scaled = api.get("sprocket").await.expect("get widget");
    assert_eq!(scaled.data["spec"]["replicas"], 5);

    // The status subresource: written through /status only.
    api.patch_status(
        "sprocket",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"replicas": 5, "selector": "app=sprocket"}})),
    )
    .await
    .expect("patch status");
    api.patch(
        "sprocket",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"replicas": 99}})),
    )
    .await
    .expect("patch main resource");
    let widget = api.get("sprocket").await.expect("get widget");
    assert_eq!(
        widget.data["status"]["replicas"], 5,
        "status changed through the main resource"
    );
    let scale = api.get_scale("sprocket").await.expect("get scale");
    let status = scale.status.expect("scale status");
    assert_eq!(status.replicas, 5);
    assert_eq!(status.selector.as_deref(), Some("app=sprocket"));
}

#[tokio::test]
async fn watch_sees_create_update_and_delete() {
    let ctx = TestContext::new("watch_sees_create_update_delete").await;
    let api: Api<ConfigMap> = ctx.api();
    let version = api
        .list_metadata(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("list resourceVersion");
    let mut events = api
        .watch(
            &WatchParams::default()
                .fields("metadata.name=watched")
                .timeout(120),
            &version,
        )
        .await
        .expect("watch")
        .boxed();

    api.create(
        &PostParams::default(),
        &config_map("watched", &[("v", "1")]),
    )
    .await
    .expect("create");
    match next_event(&mut events).await {
        WatchEvent::Added(cm) => assert_eq!(data_of(&cm, "v").as_deref(), Some("1")),
        other => panic!("expected Added, got {other:?}"),
    }

    api.patch(
        "watched",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .expect("update");
    match next_event(&mut events).await {
        WatchEvent::Modified(cm) => assert_eq!(data_of(&cm, "v").as_deref(), Some("2")),
        other => panic!("expected Modified, got {other:?}"),
    }

    api.delete("watched", &DeleteParams::default())
        .await
        .expect("delete");
    match next_event(&mut events).await {
        WatchEvent::Deleted(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("watched")),
        other => panic!("expected Deleted, got {other:?}"),
    }
}

#[tokio::test]
async fn runtime_watcher_sees_create_update_and_delete() {
    let ctx = TestContext::new("runtime_watcher").await;
    let api: Api<ConfigMap> = ctx.api();
    let mut events = watcher(
        api.clone(),
        watcher::Config::default().fields("metadata.name=watched"),
    )
    .boxed();

    // The initial list: empty.
    loop {
        match next_watcher_event(&mut events).await {
            watcher::Event::Init => {}
            watcher::Event::InitDone => break,
            other => panic!("unexpected event during the initial list: {other:?}"),
        }
    }

    api.create(
        &PostParams::default(),
        &config_map("watched", &[("v", "1")]),
    )
    .await
    .expect("create");
    match next_watcher_event(&mut events).await {
        watcher::Event::Apply(cm) => assert_eq!(data_of(&cm, "v").as_deref(), Some("1")),
        other => panic!("expected Apply (create), got {other:?}"),
    }

    api.patch(
        "watched",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .expect("update");
    match next_watcher_event(&mut events).await {
        watcher::Event::Apply(cm) => assert_eq!(data_of(&cm, "v").as_deref(), Some("2")),
        other => panic!("expected Apply (update), got {other:?}"),
    }

    api.delete("watched", &DeleteParams::default())
        .await
        .expect("delete");
    match next_watcher_event(&mut events).await {
        watcher::Event::Delete(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("watched")),
        other => panic!("expected Delete, got {other:?}"),
    }
}

#[tokio::test]
async fn update_with_a_stale_resource_version_is_a_conflict() {
    let ctx = TestContext::new("stale_update_conflict").await;
    let api: Api<ConfigMap> = ctx.api();
    let original = api
        .create(
            &PostParams::default(),
            &config_map("contested", &[("owner", "nobody")]),
        )
        .await
        .expect("create");

    let mut first = original.clone();
    first.data = config_map("contested", &[("owner", "first")]).data;
    let updated = api
        .replace("contested", &PostParams::default(), &first)
        .await
        .expect("first update");
    assert_ne!(
        updated.metadata.resource_version,
        original.metadata.resource_version
    );

    let mut stale = original;
    stale.data = config_map("contested", &[("owner", "second")]).data;
    let status = api_status(
        api.replace("contested", &PostParams::default(), &stale)
            .await
            .expect_err("an update with a stale resourceVersion succeeded"),
    );
    assert_eq!(status.code, 409, "{status:?}");
    assert_eq!(status.reason, "Conflict", "{status:?}");

    let current = api.get("contested").await.expect("get");
    assert_eq!(data_of(&current, "owner").as_deref(), Some("first"));
}

#[tokio::test]
async fn finalizer_holds_an_object_in_deletion_until_removed() {
    const FINALIZER: &str = "test.cck.capitalonline.net/hold";
    let ctx = TestContext::new("finalizer_holds_deletion").await;
    let api: Api<ConfigMap> = ctx.api();
    let mut held = config_map("held", &[("k", "v")]);
    held.metadata.finalizers = Some(vec![FINALIZER.to_string()]);
    api.create(&PostParams::default(), &held)
        .await
        .expect("create");

    let deleted = api
        .delete("held", &DeleteParams::default())
        .await
        .expect("delete");
    let pending = deleted.left().expect("deletion is pending, not done");
    assert!(pending.metadata.deletion_timestamp.is_some());

    // Still there, marked for deletion, finalizer in place.
    let still_there = api.get("held").await.expect("object held by its finalizer");
    assert!(still_there.metadata.deletion_timestamp.is_some());
    assert_eq!(
        still_there.metadata.finalizers,
        Some(vec![FINALIZER.to_string()])
    );
    // Other updates are still possible, but no new finalizers may be added.
    let status = api_status(
        api.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"finalizers": [FINALIZER, "test.cck.capitalonline.net/late"]}}),
            ),
        )
        .await
        .expect_err("a finalizer was added to an object in deletion"),
    );
    assert_eq!(status.code, 422, "{status:?}");

    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove the finalizer");
    wait_for("the object to be gone", TIMEOUT, || async {
        api.get_opt("held")
            .await
            .expect("get")
            .is_none()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn garbage_collector_deletes_dependents() {
    let ctx = TestContext::new("garbage_collector").await;
    let api: Api<ConfigMap> = ctx.api();
    let owner = api
        .create(&PostParams::default(), &config_map("owner", &[]))
        .await
        .expect("create owner");
    let mut dependent = config_map("dependent", &[]);
    dependent.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".to_string(),
        kind: "ConfigMap".to_string(),
        name: "owner".to_string(),
        uid: owner.metadata.uid.clone().expect("owner uid"),
        ..OwnerReference::default()
    }]);
    api.create(&PostParams::default(), &dependent)
        .await
        .expect("create dependent");

    api.delete("owner", &DeleteParams::background())
        .await
        .expect("delete owner");
    wait_for(
        "the garbage collector to delete the dependent",
        TIMEOUT,
        || async {
            api.get_opt("dependent")
                .await
                .expect("get")
                .is_none()
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn namespace_deletion_completes() {
    let ctx = TestContext::new("namespace_deletion").await;
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    let name = namespace_name("doomed");
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    let cms: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &name);
    cms.create(
        &PostParams::default(),
        &config_map("content", &[("k", "v")]),
    )
    .await
    .expect("create content");

    namespaces
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete namespace");
    wait_for(
        "the namespace controller to finish the namespace",
        TIMEOUT,
        || async {
            namespaces
                .get_opt(&name)
                .await
                .expect("get namespace")
                .is_none()
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn impersonated_service_account_has_only_its_rbac_rights() {
    let ctx = TestContext::new("impersonation_rbac").await;
    let ns = ctx.namespace.clone();
    let accounts: Api<ServiceAccount> = ctx.api();
    accounts
        .create(
            &PostParams::default(),
            &ServiceAccount {
                metadata: ObjectMeta {
                    name: Some("limited".to_string()),
                    ..ObjectMeta::default()
                },
                ..ServiceAccount::default()
            },
        )
        .await
        .expect("create service account");

    let limited = ctx.client_as_service_account("limited");
    let limited_cms: Api<ConfigMap> = Api::namespaced(limited.clone(), &ns);
    let limited_secrets: Api<Secret> = Api::namespaced(limited, &ns);
    match limited_cms.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) if status.code == 403 => {}
        Ok(_) => panic!(
            "a service account without any RoleBinding may list ConfigMaps: the cluster does not \
             enforce RBAC (local control plane started with CCK_CP_AUTHZ=AlwaysAllow?)"
        ),
        Err(e) => panic!("unexpected error: {e}"),
    }

    let roles: Api<Role> = ctx.api();
    roles
        .create(
            &PostParams::default(),
            &Role {
                metadata: ObjectMeta {
                    name: Some("configmap-reader".to_string()),
                    ..ObjectMeta::default()
                },
                rules: Some(vec![PolicyRule {
                    api_groups: Some(vec![String::new()]),
                    resources: Some(vec!["configmaps".to_string()]),
                    verbs: vec!["get".to_string(), "list".to_string(), "watch".to_string()],
                    ..PolicyRule::default()
                }]),
            },
        )
        .await
        .expect("create role");
    let bindings: Api<RoleBinding> = ctx.api();
    bindings
        .create(
            &PostParams::default(),
            &RoleBinding {
                metadata: ObjectMeta {
                    name: Some("configmap-reader".to_string()),
                    ..ObjectMeta::default()
                },
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".to_string(),
                    kind: "Role".to_string(),
                    name: "configmap-reader".to_string(),
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".to_string(),
                    name: "limited".to_string(),
                    namespace: Some(ns.clone()),
                    ..Subject::default()
                }]),
            },
        )
        .await
        .expect("create role binding");

    // The authorizer learns about the binding through a watch: poll.
    wait_for("the RoleBinding to take effect", TIMEOUT, || async {
        limited_cms
            .list(&ListParams::default())
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    let status = api_status(
        limited_secrets
            .list(&ListParams::default())
            .await
            .expect_err("the service account may list Secrets"),
    );
    assert_eq!(status.code, 403, "{status:?}");

    // kubectl --as does the same.
    let as_sa = format!("system:serviceaccount:{ns}:limited");
    ctx.kubectl(&["get", "configmaps", "-n", &ns, "--as", &as_sa], None)
        .await;
    let out = ctx
        .kubectl_output(&["get", "secrets", "-n", &ns, "--as", &as_sa], None)
        .await;
    assert!(!out.status.success(), "kubectl --as listed Secrets");
    assert!(String::from_utf8_lossy(&out.stderr).contains("forbidden"));
}

/// The test CRD applied by two callers at once (as parallel tests do) is
/// neither a conflict nor an error.
#[tokio::test]
async fn shared_crd_apply_is_idempotent_under_concurrency() {
    let ctx = TestContext::new("shared_crd_apply").await;
    tokio::join!(apply_widget_crd(&ctx), apply_widget_crd(&ctx));
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(ctx.client.clone());
    let crd = crds.get(WIDGET_CRD).await.expect("get CRD");
    let managers: BTreeMap<_, _> = crd
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| Some((m.manager?, m.operation)))
        .collect();
    assert!(managers.contains_key(FIELD_MANAGER), "{managers:?}");
}
