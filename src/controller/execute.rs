//! Carrying out the planner's steps: Start/Stop/Delete as single calls whose TaskIds go
//! into status, and the create protocol (docs/ownership.md) under the per-cluster lock:
//! runtime checks → fresh baseline → intent written → CreateClusterNodes → TaskId and
//! attribution written.

use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::events::EventType;

use crate::api::status::{CloudTask, CreateIntent, IntentState, TaskState};
use crate::api::v1alpha1::SnatType;
use crate::cck::{
    Action, AttachDisk, CckClient, CckError, ClusterStatus, CreateClusterNodesRequest,
    DescribeClustersQuery,
};

use super::context::ReconcileError;
use super::ledger::{self, IntentVerdict, LedgerChanges};
use super::reconcile::Run;
use super::{inputs, progress};

/// The metric label of a mutation's result.
fn outcome_label<T>(result: &Result<T, CckError>) -> &'static str {
    match result {
        Ok(_) => "accepted",
        Err(e) if e.may_have_taken_effect() => "unknown",
        Err(_) => "failed",
    }
}

impl Run {
    fn failed(&mut self, e: &CckError, what: &str) {
        let note = format!("{what}: {e}");
        self.status.retry = Some(progress::backoff(
            self.status.retry.as_ref(),
            &note,
            self.now,
            &self.ctx.settings.timing,
        ));
    }

    /// One Start/Stop/Delete call for `ids`.
    pub(super) async fn submit(&mut self, client: &CckClient, action: Action, ids: Vec<String>) {
        let cluster = self.pool.spec.cluster_id.clone();
        let result = match action {
            Action::DeleteClusterNodes => client.delete_cluster_nodes(&cluster, &ids).await,
            Action::StartClusterNodes => client.start_cluster_nodes(&cluster, &ids).await,
            Action::StopClusterNodes => client.stop_cluster_nodes(&cluster, &ids).await,
            _ => return,
        };
        self.ctx.views.invalidate(&cluster).await;
        let names: Vec<String> = ids
            .iter()
            .map(|id| {
                self.status
                    .nodes
                    .iter()
                    .find(|n| &n.node_id == id)
                    .map_or_else(|| id.clone(), |n| n.name.clone())
            })
            .collect();
        self.ctx
            .metrics
            .mutation(action.name(), outcome_label(&result));
        match result {
            Ok(task) => {
                let note = format!(
                    "{action} task {} for {} node(s): {}",
                    task.task_id,
                    ids.len(),
                    names.join(", ")
                );
                // The recorder folds Events with the same action into one series that
                // keeps the first note: naming the task keeps each task's Event apart.
                let event_action = format!("{action}/{}", task.task_id);
                self.status.tasks.push(CloudTask {
                    task_id: task.task_id,
                    action: action.name().into(),
                    node_ids: ids,
                    count: None,
                    submitted_at: self.now.to_string(),
                    state: TaskState::Running,
                    ..CloudTask::default()
                });
                let reason = match action {
                    Action::DeleteClusterNodes => "DeletingNodes",
                    Action::StartClusterNodes => "StartingNodes",
                    _ => "StoppingNodes",
                };
                self.event(EventType::Normal, reason, &event_action, note)
                    .await;
            }
            Err(e) if e.may_have_taken_effect() => {
                // The nodes will show Updating (or be gone) if it took effect; the next
                // observation decides. No backoff: nothing failed for sure.
                let note = format!("{e} (nodes: {})", names.join(", "));
                self.event(EventType::Warning, "OutcomeUnknown", action.name(), note)
                    .await;
                self.summary
                    .waiting
                    .push(format!("{action}: outcome unknown, re-observing"));
            }
            Err(e) => {
                self.failed(&e, action.name());
                self.event(
                    EventType::Warning,
                    "CloudCallFailed",
                    action.name(),
                    e.to_string(),
                )
                .await;
            }
        }
    }

    /// Checks what only the cloud can tell: the cluster exists and is Ok, and the
    /// template's SNAT gateways belong to it.
    async fn runtime_checks(&mut self, client: &CckClient) -> Result<(), (String, String)> {
        let spec = &self.pool.spec;
        let query = DescribeClustersQuery {
            cluster_id: Some(spec.cluster_id.clone()),
            ..DescribeClustersQuery::default()
        };
        let clusters = client
            .describe_clusters(&query)
            .await
            .map_err(|e| ("CloudUnavailable".to_owned(), e.summary()))?;
        let Some(cluster) = clusters.iter().find(|c| c.cluster_id == spec.cluster_id) else {
            return Err((
                "ClusterNotFound".into(),
                format!(
                    "cluster {} does not exist for these credentials (cck-operator api DescribeClusters lists them)",
                    spec.cluster_id
                ),
            ));
        };
        if cluster.status != ClusterStatus::Ok {
            return Err((
                "ClusterNotReady".into(),
                format!(
                    "cluster {} is {} ({}); nodes are created only in an Ok cluster",
                    spec.cluster_id, cluster.status, cluster.error_msg
                ),
            ));
        }
        if !spec.template.snat_ids.is_empty() {
            let nats = client
                .describe_cluster_nats(&spec.cluster_id)
                .await
                .map_err(|e| ("CloudUnavailable".to_owned(), e.summary()))?;
            let missing: Vec<&String> = spec
                .template
                .snat_ids
                .iter()
                .filter(|id| !nats.iter().any(|n| &n.id == *id))
                .collect();
            if !missing.is_empty() {
                let known: Vec<&str> = nats.iter().map(|n| n.id.as_str()).collect();
                return Err((
                    "SnatNotFound".into(),
                    format!(
                        "SNAT gateway(s) {missing:?} are not gateways of cluster {}; it has {known:?}",
                        spec.cluster_id
                    ),
                ));
            }
        }
        Ok(())
    }

    fn create_request(
        &self,
        count: i32,
        password: crate::cck::Sensitive,
        command: Option<String>,
    ) -> CreateClusterNodesRequest {
        let t = &self.pool.spec.template;
        let public_id = t.public_id.clone().filter(|p| !p.is_empty());
        let snat_type = match (t.snat_type, t.snat_ids.is_empty(), public_id.is_some()) {
            (Some(SnatType::Specified), _, _) => Some(1),
            (Some(SnatType::Auto), _, _) => Some(0),
            (None, false, _) => Some(1),
            (None, true, true) => None,
            (None, true, false) => Some(0),
        };
        CreateClusterNodesRequest {
            cluster_id: self.pool.spec.cluster_id.clone(),
            node_type: "Worker".into(),
            instance_type: t.instance_type.as_str().into(),
            cpu: t.cpu,
            memory: t.memory,
            attach_disks: t
                .data_disks
                .iter()
                .map(|d| AttachDisk {
                    disk_type: "HighDisk".into(),
                    disk_size: Some(d.size_gb),
                    iops: Some(d.iops),
                })
                .collect(),
            num: count.max(1) as u32,
            password,
            lsb: Some("Ubuntu".into()),
            snat_type,
            snat_ids: t.snat_ids.clone(),
            public_id,
            command,
        }
    }

    /// The create protocol. Errors only when the intent cannot be recorded or the final
    /// status cannot be written (the intent then still guards against a second create).
    pub(super) async fn create(
        &mut self,
        client: &CckClient,
        count: i32,
    ) -> Result<(), ReconcileError> {
        if let Err((reason, message)) = self.runtime_checks(client).await {
            self.event(EventType::Warning, &reason, "Create", message.clone())
                .await;
            self.summary.blocked = Some((reason, message));
            return Ok(());
        }
        let ns = self.pool.namespace().unwrap_or_default();
        let password = match inputs::password(
            &self.ctx.kube,
            &ns,
            &self.pool.spec.template.password_secret_ref,
        )
        .await
        {
            Ok(p) => p,
            Err(e) => {
                self.event(EventType::Warning, e.reason(), "Create", e.to_string())
                    .await;
                self.summary.blocked = Some((e.reason().into(), e.to_string()));
                return Ok(());
            }
        };
        let command = match inputs::boot_script(
            &self.ctx.kube,
            &ns,
            self.pool.spec.template.boot_script.as_ref(),
        )
        .await
        {
            Ok(c) => c,
            Err(e) => {
                self.event(EventType::Warning, e.reason(), "Create", e.to_string())
                    .await;
                self.summary.blocked = Some((e.reason().into(), e.to_string()));
                return Ok(());
            }
        };
        let cluster = self.pool.spec.cluster_id.clone();
        let _guard = self.ctx.views.lock_creates(&cluster).await;
        if self.ctx.other_intent_open(&cluster, &self.key) {
            self.summary
                .waiting
                .push("waiting for another pool's create in the same cluster".into());
            return Ok(());
        }
        let baseline = match self.ctx.views.nodes(client, &cluster, Duration::ZERO).await {
            Ok(n) => n,
            Err(e) => {
                self.summary.blocked = Some(("CloudUnavailable".into(), e.summary()));
                return Ok(());
            }
        };
        let t = &self.pool.spec.template;
        let intent = CreateIntent {
            id: uuid::Uuid::new_v4().to_string(),
            count,
            cpu: t.cpu,
            memory: t.memory,
            recorded_at: self.now.to_string(),
            baseline_node_ids: baseline.iter().map(|n| n.node_id.clone()).collect(),
            state: IntentState::Pending,
            task_id: None,
            attributed_node_ids: Vec::new(),
        };
        self.status.create_intent = Some(intent);
        self.ctx.set_intent_open(&cluster, &self.key, true);
        // The intent must be durable before the call: a crash after the cloud accepted
        // the create is then resolved from what the cloud shows, never by a second create.
        if let Err(e) = self.write_status().await {
            self.status.create_intent = None;
            self.ctx.set_intent_open(&cluster, &self.key, false);
            return Err(e);
        }
        let request = self.create_request(count, password, command);
        let result = client.create_cluster_nodes(&request).await;
        self.ctx.views.invalidate(&cluster).await;
        self.ctx
            .metrics
            .mutation(Action::CreateClusterNodes.name(), outcome_label(&result));
        match result {
            Ok(task) => {
                if let Some(i) = self.status.create_intent.as_mut() {
                    i.state = IntentState::Submitted;
                    i.task_id = Some(task.task_id.clone());
                }
                self.status.tasks.push(CloudTask {
                    task_id: task.task_id.clone(),
                    action: Action::CreateClusterNodes.name().into(),
                    count: Some(count),
                    submitted_at: self.now.to_string(),
                    state: TaskState::Running,
                    ..CloudTask::default()
                });
                let note = format!(
                    "CreateClusterNodes task {} for {count} node(s)",
                    task.task_id
                );
                let event_action = format!("CreateClusterNodes/{}", task.task_id);
                self.event(EventType::Normal, "CreatingNodes", &event_action, note)
                    .await;
            }
            Err(e) if e.may_have_taken_effect() => {
                if let Some(i) = self.status.create_intent.as_mut() {
                    i.state = IntentState::Unknown;
                }
                let note = format!(
                    "{e}; new nodes will be attributed to this pool if they appear, else the create is made again after {}s",
                    self.ctx.settings.create_grace.as_secs()
                );
                self.event(
                    EventType::Warning,
                    "CreateOutcomeUnknown",
                    "CreateClusterNodes",
                    note,
                )
                .await;
            }
            Err(e) => {
                self.status.create_intent = None;
                self.ctx.set_intent_open(&cluster, &self.key, false);
                self.failed(&e, "CreateClusterNodes");
                self.event(
                    EventType::Warning,
                    "CreateFailed",
                    "CreateClusterNodes",
                    e.to_string(),
                )
                .await;
            }
        }
        self.attribute_now(client).await;
        self.write_status().await
    }

    /// Attributes the nodes of the create just made (they appear at once as Creating).
    async fn attribute_now(&mut self, client: &CckClient) {
        let Some(mut intent) = self.status.create_intent.take() else {
            return;
        };
        let cluster = self.pool.spec.cluster_id.clone();
        if let Ok(nodes) = self.ctx.views.nodes(client, &cluster, Duration::ZERO).await {
            let (mut owned, _) = self.others_in_cluster().await;
            owned.extend(self.status.nodes.iter().map(|n| n.node_id.clone()));
            let found = ledger::attribute(&intent, &nodes, &owned);
            let mut changes = LedgerChanges::default();
            ledger::record_attribution(&mut self.status.nodes, &mut intent, &found, &mut changes);
            if let Some(t) = intent
                .task_id
                .as_ref()
                .and_then(|id| self.status.tasks.iter_mut().find(|t| &t.task_id == id))
            {
                t.node_ids = intent.attributed_node_ids.clone();
            }
            if !changes.attributed.is_empty() {
                let note = format!(
                    "attributed {} new node(s) to this pool: {}",
                    changes.attributed.len(),
                    changes.attributed.join(", ")
                );
                self.event(EventType::Normal, "NodesAttributed", "Attribute", note)
                    .await;
            }
        }
        let verdict = ledger::judge_intent(
            &intent,
            Some(TaskState::Running),
            self.now,
            self.ctx.settings.create_grace,
        );
        if verdict == (IntentVerdict::Resolved { missing: 0 }) {
            self.ctx.set_intent_open(&cluster, &self.key, false);
        } else {
            self.status.create_intent = Some(intent);
        }
    }
}
