//! The reconcile shell: dereference → validate → observe → update the ledger → plan →
//! execute → write status. Decisions are made by the pure modules; this file only moves
//! data between them, the Kubernetes API and the cloud.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use crate::api::status::{CckNodePoolStatus, TaskState};
use crate::api::v1alpha1::CckNodePool;
use crate::api::validation::validate_spec;
use crate::cck::{Action, CckClient, Node, NodeType};

use super::conditions::{self, Summary};
use super::context::{Context, FINALIZER, PAUSED_ANNOTATION, ReconcileError};
use super::ledger::{self, IntentVerdict, LedgerChanges};
use super::planner::{self, PlanInput, Step};
use super::{inputs, progress};

/// One reconcile of one pool.
pub(super) struct Run {
    pub pool: Arc<CckNodePool>,
    pub ctx: Arc<Context>,
    pub api: Api<CckNodePool>,
    /// `namespace/name`, the pool's key in per-cluster bookkeeping.
    pub key: String,
    pub status: CckNodePoolStatus,
    pub summary: Summary,
    pub now: Timestamp,
}

pub async fn reconcile(
    pool: Arc<CckNodePool>,
    ctx: Arc<Context>,
) -> Result<Requeue, ReconcileError> {
    let ns = pool.namespace().ok_or(ReconcileError::NoNamespace)?;
    let api: Api<CckNodePool> = Api::namespaced(ctx.kube.clone(), &ns);
    // Decide on the object as the API server has it now, never on the informer's copy,
    // which may not show this controller's own last status write yet (a stale ledger
    // would create nodes twice and lose the first ones).
    let Some(pool) = api.get_opt(&pool.name_any()).await?.map(Arc::new) else {
        ctx.forget_pool(&format!("{ns}/{}", pool.name_any()));
        return Ok(Requeue::await_change());
    };
    let deleting = pool.meta().deletion_timestamp.is_some();
    let has_finalizer = pool.finalizers().iter().any(|f| f == FINALIZER);
    if !has_finalizer {
        if !deleting {
            add_finalizer(&api, &pool).await?;
        }
        // The finalizer's write triggers the next reconcile.
        return Ok(Requeue::await_change());
    }
    let mut run = Run {
        key: format!("{ns}/{}", pool.name_any()),
        status: pool.status.clone().unwrap_or_default(),
        summary: Summary {
            replicas: pool.spec.replicas,
            deleting,
            paused: pool.spec.paused
                || pool
                    .annotations()
                    .get(PAUSED_ANNOTATION)
                    .is_some_and(|v| v == "true"),
            ..Summary::default()
        },
        now: Timestamp::now(),
        pool,
        ctx,
        api,
    };
    run.converge().await
}

async fn add_finalizer(api: &Api<CckNodePool>, pool: &CckNodePool) -> Result<(), ReconcileError> {
    let mut finalizers = pool.finalizers().to_vec();
    finalizers.push(FINALIZER.to_owned());
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": pool.resource_version()}});
    api.patch(
        &pool.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

impl Run {
    /// The cluster the ledger is about: the one recorded in status, else the spec's.
    fn cluster(&self) -> &str {
        self.status
            .cluster_id
            .as_deref()
            .unwrap_or(&self.pool.spec.cluster_id)
    }

    async fn converge(&mut self) -> Result<Requeue, ReconcileError> {
        let settings = self.ctx.settings.clone();
        let mut errors = validate_spec(&self.pool.spec);
        // Without CEL (API servers before 1.25) nothing stops a clusterId edit: the
        // ledger would then name nodes of another cluster.
        if let Some(recorded) = &self.status.cluster_id
            && recorded != &self.pool.spec.cluster_id
            && (!self.status.nodes.is_empty() || self.status.create_intent.is_some())
        {
            errors.push(crate::api::validation::SpecError {
                field: "spec.clusterId".into(),
                message: format!(
                    "is immutable: the pool owns nodes in cluster {recorded}; set it back, or create another pool"
                ),
            });
        }
        if !errors.is_empty() {
            let msg = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            let already = self
                .status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.reason == "InvalidSpec" && c.message == msg);
            self.summary.invalid = Some(msg.clone());
            if !already {
                self.event(EventType::Warning, "InvalidSpec", "Validate", msg)
                    .await;
            }
            let cluster_known =
                self.status.cluster_id.is_some() || !self.pool.spec.cluster_id.trim().is_empty();
            let in_flight = self.status.create_intent.is_some()
                || self
                    .status
                    .tasks
                    .iter()
                    .any(|t| t.state == TaskState::Running);
            if !self.summary.deleting && !in_flight {
                // Nothing to follow up on: no cloud call until the spec is fixed.
                self.write_status().await?;
                return Ok(Requeue::await_change());
            }
            if !cluster_known {
                if self.summary.deleting {
                    // Nothing was ever created: let the pool go.
                    return self.remove_finalizer().await;
                }
                self.write_status().await?;
                return Ok(Requeue::await_change());
            }
            // Go on observing (tasks, the open create) without mutating anything.
        }
        if self.status.cluster_id.is_none() && !self.pool.spec.cluster_id.trim().is_empty() {
            self.status.cluster_id = Some(self.pool.spec.cluster_id.clone());
        }
        // Retain forgets the nodes: no cloud call is needed unless a create is open.
        if self.summary.deleting
            && self.pool.spec.deletion_policy == crate::api::v1alpha1::DeletionPolicy::Retain
            && self.status.create_intent.is_none()
        {
            return self.remove_finalizer().await;
        }

        let ns = self.pool.namespace().unwrap_or_default();
        let creds = match inputs::credentials(
            &self.ctx.kube,
            &ns,
            &self.pool.spec,
            self.ctx.default_credentials.as_ref(),
        )
        .await
        {
            Ok(c) => c,
            // While the pool is deleted its Secret may already be gone (namespace
            // deletion): release the nodes with the operator's own credentials.
            Err(e) => match (self.summary.deleting, self.ctx.default_credentials.clone()) {
                (true, Some(own)) => own,
                _ => {
                    return self
                        .blocked(e.reason(), e.to_string(), settings.resync_interval)
                        .await;
                }
            },
        };
        let client = match self.ctx.clients.client(&creds) {
            Ok(c) => c,
            Err(e) => {
                return self
                    .blocked(
                        "CredentialsInvalid",
                        e.to_string(),
                        settings.resync_interval,
                    )
                    .await;
            }
        };

        let Some(mut nodes) = self.observe(&client, settings.listing_max_age).await? else {
            let cluster_gone = self
                .summary
                .blocked
                .as_ref()
                .is_some_and(|(reason, _)| reason == "ClusterNotFound");
            if self.summary.deleting && cluster_gone {
                // The cluster is gone, and its nodes with it.
                return self.remove_finalizer().await;
            }
            return Ok(Requeue::requeue(
                settings.poll_interval.max(Duration::from_secs(10)),
            ));
        };
        if self.poll_tasks(&client).await {
            self.ctx.views.invalidate(self.cluster()).await;
            match self.observe(&client, Duration::ZERO).await? {
                Some(fresh) => nodes = fresh,
                None => return Ok(Requeue::requeue(settings.poll_interval)),
            }
        }

        let (owned_by_others, others_open) = self.others_in_cluster().await;
        let mut changes = LedgerChanges::default();
        self.update_ledger(&nodes, &owned_by_others, &mut changes);
        self.publish_ledger_changes(&changes).await;
        self.ctx.set_intent_open(
            self.cluster(),
            &self.key,
            self.status.create_intent.is_some(),
        );

        let plan = planner::plan(&PlanInput {
            replicas: self.pool.spec.replicas,
            scale_down: &self.pool.spec.scale_down,
            ledger: &self.status.nodes,
            tasks: &self.status.tasks,
            own_intent_open: self.status.create_intent.is_some(),
            cluster_create_blocked: others_open
                || self.ctx.other_intent_open(self.cluster(), &self.key),
            deleting: self
                .summary
                .deleting
                .then_some(self.pool.spec.deletion_policy),
            max_per_call: settings.max_per_call,
        });
        self.summary.waiting = plan.waiting.clone();
        let backoff = progress::backoff_remaining(self.status.retry.as_ref(), self.now);
        let mut backoff_left = None;
        if self.summary.deleting && plan.deletion_complete {
            return self.remove_finalizer().await;
        }
        if self.summary.paused {
            // Observe only.
        } else if let Some(left) = backoff {
            let last = self
                .status
                .retry
                .as_ref()
                .map(|r| r.last_error.clone())
                .unwrap_or_default();
            let until = self
                .status
                .retry
                .as_ref()
                .map(|r| r.not_before.clone())
                .unwrap_or_default();
            self.summary.backoff = Some((until, last));
            backoff_left = Some(left);
        } else if self.summary.invalid.is_none() || self.summary.deleting {
            if plan.counts.unhealthy > 0 && !self.summary.deleting {
                // Replacing nodes that broke is a failure too: if the cloud keeps
                // breaking them, replacements slow down instead of churning paid VMs.
                let note = format!("{} node(s) in Error replaced", plan.counts.unhealthy);
                self.status.retry = Some(progress::backoff(
                    self.status.retry.as_ref(),
                    &note,
                    self.now,
                    &self.ctx.settings.timing,
                ));
            }
            for step in plan.steps {
                match step {
                    Step::Delete(ids) => {
                        self.submit(&client, Action::DeleteClusterNodes, ids).await
                    }
                    Step::Start(ids) => self.submit(&client, Action::StartClusterNodes, ids).await,
                    Step::Create(n) => self.create(&client, n).await?,
                }
            }
        }

        let owned_here: HashSet<&str> = self
            .status
            .nodes
            .iter()
            .map(|n| n.node_id.as_str())
            .collect();
        let unowned = nodes
            .iter()
            .filter(|n| n.node_type == NodeType::Worker)
            .filter(|n| {
                !owned_here.contains(n.node_id.as_str()) && !owned_by_others.contains(&n.node_id)
            })
            .count();
        self.ctx
            .metrics
            .unowned_workers
            .get_or_create(&super::metrics::ClusterLabels {
                cluster: self.cluster().to_owned(),
            })
            .set(unowned as i64);
        if unowned > 0 {
            tracing::info!(
                cluster = self.cluster(),
                unowned,
                "worker nodes that no pool owns are left alone"
            );
        }

        self.write_status().await?;
        let in_flight = self.summary.in_flight > 0;
        Ok(if let Some(left) = backoff_left {
            Requeue::requeue(left.max(Duration::from_millis(100)))
        } else if in_flight || !self.summary.waiting.is_empty() || self.summary.deleting {
            Requeue::requeue(progress::poll_delay(
                &self.status.tasks,
                self.now,
                settings.poll_interval,
            ))
        } else {
            Requeue::requeue(settings.resync_interval)
        })
    }

    /// Reads the cluster's nodes; on failure records the condition and returns None.
    async fn observe(
        &mut self,
        client: &CckClient,
        max_age: Duration,
    ) -> Result<Option<Arc<Vec<Node>>>, ReconcileError> {
        match self.ctx.views.nodes(client, self.cluster(), max_age).await {
            Ok(n) => Ok(Some(n)),
            Err(e) => {
                let reason = if e.code().is_some_and(|c| c.contains("InvalidParameter"))
                    && e.to_string().contains("not exist")
                {
                    "ClusterNotFound"
                } else {
                    "CloudUnavailable"
                };
                self.summary.blocked = Some((reason.into(), e.summary()));
                self.event(EventType::Warning, reason, "Observe", e.to_string())
                    .await;
                self.write_status().await?;
                Ok(None)
            }
        }
    }

    /// Polls every running task; returns true when one finished.
    async fn poll_tasks(&mut self, client: &CckClient) -> bool {
        let timing = self.ctx.settings.timing.clone();
        let mut finished = Vec::new();
        for i in 0..self.status.tasks.len() {
            if self.status.tasks[i].state != TaskState::Running {
                continue;
            }
            let polled = client.describe_task(&self.status.tasks[i].task_id).await;
            let task = &mut self.status.tasks[i];
            if progress::observe_task(task, polled.as_ref(), self.now, &timing) {
                finished.push(task.clone());
            }
        }
        for t in &finished {
            if t.state == TaskState::Succeeded {
                let note = format!("{} task {} finished", t.action, t.task_id);
                self.event(
                    EventType::Normal,
                    "TaskSucceeded",
                    &format!("{}/{}", t.action, t.task_id),
                    note,
                )
                .await;
            } else {
                let note = format!(
                    "{} task {} {:?}: {}",
                    t.action, t.task_id, t.state, t.message
                );
                self.status.retry = Some(progress::backoff(
                    self.status.retry.as_ref(),
                    &note,
                    self.now,
                    &timing,
                ));
                self.event(
                    EventType::Warning,
                    "TaskFailed",
                    &format!("{}/{}", t.action, t.task_id),
                    note,
                )
                .await;
            }
        }
        let protected = self
            .status
            .create_intent
            .as_ref()
            .and_then(|i| i.task_id.clone());
        progress::trim_history(
            &mut self.status.tasks,
            self.ctx.settings.task_history,
            protected.as_deref(),
        );
        !finished.is_empty()
    }

    /// Other pools of the same cluster: the nodes they own and whether one of them has
    /// an unresolved create.
    pub(super) async fn others_in_cluster(&self) -> (HashSet<String>, bool) {
        let _ = self.ctx.store.wait_until_ready().await;
        let mut owned = HashSet::new();
        let mut open = false;
        for other in self.ctx.store.state() {
            let key = format!(
                "{}/{}",
                other.namespace().unwrap_or_default(),
                other.name_any()
            );
            if key == self.key || other.spec.cluster_id != self.pool.spec.cluster_id {
                continue;
            }
            if let Some(s) = &other.status {
                owned.extend(s.nodes.iter().map(|n| n.node_id.clone()));
                if let Some(i) = &s.create_intent {
                    open = true;
                    owned.extend(i.attributed_node_ids.iter().cloned());
                }
            }
        }
        (owned, open)
    }

    fn update_ledger(
        &mut self,
        nodes: &[Node],
        owned_by_others: &HashSet<String>,
        changes: &mut LedgerChanges,
    ) {
        let deleting_ids: HashSet<String> = self
            .status
            .tasks
            .iter()
            .filter(|t| {
                t.action == Action::DeleteClusterNodes.name() && t.state != TaskState::Failed
            })
            .flat_map(|t| t.node_ids.iter().cloned())
            .collect();
        let mut ledger = ledger::refresh(
            &self.status.nodes,
            nodes,
            &deleting_ids,
            self.now,
            self.ctx.settings.vanish_after,
            changes,
        );
        if !self.summary.deleting {
            ledger::adopt(
                &mut ledger,
                &self.pool.spec.adopt_node_ids,
                nodes,
                owned_by_others,
                changes,
            );
        }
        if let Some(mut intent) = self.status.create_intent.take() {
            let mut owned_anywhere = owned_by_others.clone();
            owned_anywhere.extend(ledger.iter().map(|n| n.node_id.clone()));
            let found = ledger::attribute(&intent, nodes, &owned_anywhere);
            ledger::record_attribution(&mut ledger, &mut intent, &found, changes);
            let task = intent
                .task_id
                .as_ref()
                .and_then(|id| self.status.tasks.iter_mut().find(|t| &t.task_id == id));
            let task_state = task.as_ref().map(|t| t.state);
            if let Some(t) = task {
                t.node_ids = intent.attributed_node_ids.clone();
            }
            match ledger::judge_intent(
                &intent,
                task_state,
                self.now,
                self.ctx.settings.create_grace,
            ) {
                IntentVerdict::Keep => self.status.create_intent = Some(intent),
                IntentVerdict::Resolved { missing: 0 } => {}
                IntentVerdict::Resolved { missing } => {
                    let note = format!(
                        "{missing} of {} requested node(s) never appeared",
                        intent.count
                    );
                    self.status.retry = Some(progress::backoff(
                        self.status.retry.as_ref(),
                        &note,
                        self.now,
                        &self.ctx.settings.timing,
                    ));
                    changes.warnings.push(("CreateIncomplete", note));
                }
                IntentVerdict::NeverApplied => {
                    changes.warnings.push((
                        "CreateNotApplied",
                        format!(
                            "the create recorded at {} shows no node after {}s: it was not applied and will be made again",
                            intent.recorded_at,
                            self.ctx.settings.create_grace.as_secs()
                        ),
                    ));
                }
            }
        }
        self.status.nodes = ledger;
    }

    async fn publish_ledger_changes(&self, c: &LedgerChanges) {
        if !c.attributed.is_empty() {
            let note = format!(
                "attributed {} new node(s) to this pool: {}",
                c.attributed.len(),
                c.attributed.join(", ")
            );
            self.event(EventType::Normal, "NodesAttributed", "Attribute", note)
                .await;
        }
        if !c.adopted.is_empty() {
            let note = format!("adopted node(s) {}", c.adopted.join(", "));
            self.event(EventType::Normal, "NodesAdopted", "Adopt", note)
                .await;
        }
        if !c.vanished.is_empty() {
            let note = format!(
                "owned node(s) {} disappeared from the cloud without a delete of ours",
                c.vanished.join(", ")
            );
            self.event(EventType::Warning, "NodesVanished", "Observe", note)
                .await;
        }
        for (id, why) in &c.adoption_rejected {
            let note = format!("node {id} not adopted: {why}");
            self.event(EventType::Warning, "AdoptionRejected", "Adopt", note)
                .await;
        }
        for (reason, note) in &c.warnings {
            self.event(EventType::Warning, reason, "Attribute", note.clone())
                .await;
        }
    }

    /// Records a blocking problem (missing Secret, unreachable cloud) and requeues.
    pub(super) async fn blocked(
        &mut self,
        reason: &str,
        message: String,
        after: Duration,
    ) -> Result<Requeue, ReconcileError> {
        let same = self
            .status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.reason == reason && c.message == message);
        if !same {
            self.event(EventType::Warning, reason, "Dereference", message.clone())
                .await;
        }
        self.summary.blocked = Some((reason.to_owned(), message));
        self.write_status().await?;
        Ok(Requeue::requeue(after))
    }

    pub(super) async fn event(&self, type_: EventType, reason: &str, action: &str, note: String) {
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(note.chars().take(1000).collect()),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self
            .ctx
            .recorder
            .publish(&ev, &self.pool.object_ref(&()))
            .await
        {
            tracing::warn!(pool = %self.key, error = %e, "cannot publish event");
        }
    }

    /// Writes the status, with counts and conditions computed from this run.
    pub(super) async fn write_status(&mut self) -> Result<(), ReconcileError> {
        let counts = planner::count(&self.status.nodes, &self.status.tasks);
        self.summary.counts = counts;
        self.summary.in_flight = self
            .status
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Running)
            .count()
            + usize::from(self.status.create_intent.is_some());
        let (phase, wanted) = conditions::evaluate(&self.summary);
        let generation = self.pool.meta().generation;
        conditions::apply(&mut self.status.conditions, wanted, self.now, generation);
        self.status.phase = Some(phase.into());
        self.status.observed_generation = generation;
        let converged = counts.ready == self.pool.spec.replicas
            && counts.owned == self.pool.spec.replicas
            && self.status.create_intent.is_none();
        if converged {
            self.status.retry = None;
        }
        self.status.replicas = counts.owned;
        self.status.ready_replicas = counts.ready;
        self.status.stopped_replicas = counts.stopped;
        if self.pool.status.as_ref() == Some(&self.status) {
            return Ok(());
        }
        let name = self.pool.name_any();
        let mut object = (*self.pool).clone();
        object.status = Some(self.status.clone());
        // A PUT with the resourceVersion we read: a concurrent writer makes it fail (409)
        // instead of being overwritten, and no stale field survives as in a merge patch.
        let written = match self
            .api
            .replace_status(&name, &PostParams::default(), &object)
            .await
        {
            Err(kube::Error::Api(e)) if e.code == 409 => {
                // Most often a spec edit (kubectl scale) since we read: the status is
                // ours alone, so write it over the newer object once.
                let Some(fresh) = self.api.get_opt(&name).await? else {
                    return Ok(());
                };
                object.metadata = fresh.metadata;
                self.api
                    .replace_status(&name, &PostParams::default(), &object)
                    .await?
            }
            other => other?,
        };
        self.pool = Arc::new(written);
        Ok(())
    }

    async fn remove_finalizer(&mut self) -> Result<Requeue, ReconcileError> {
        self.ctx.set_intent_open(self.cluster(), &self.key, false);
        let finalizers: Vec<String> = self
            .pool
            .finalizers()
            .iter()
            .filter(|f| *f != FINALIZER)
            .cloned()
            .collect();
        let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": self.pool.resource_version()}});
        let note = match self.pool.spec.deletion_policy {
            crate::api::v1alpha1::DeletionPolicy::Delete => {
                "every node of the pool is released".to_owned()
            }
            crate::api::v1alpha1::DeletionPolicy::Retain => {
                format!("{} node(s) retained and forgotten", self.status.nodes.len())
            }
        };
        self.event(EventType::Normal, "Released", "Finalize", note)
            .await;
        self.api
            .patch(
                &self.pool.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        Ok(Requeue::await_change())
    }
}
