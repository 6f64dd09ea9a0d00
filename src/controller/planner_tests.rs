//! Unit and property tests of the planner.

use super::*;
use proptest::prelude::*;
use std::collections::HashSet;

fn node(id: &str, status: &str, created: &str) -> PoolNode {
    PoolNode {
        node_id: id.into(),
        name: format!("c-{id}"),
        status: status.into(),
        created: created.into(),
        ..PoolNode::default()
    }
}

fn ready(id: &str, minute: u32) -> PoolNode {
    node(id, "Ok", &format!("2026-12-03 10:{minute:02}:00"))
}

fn task(action: Action, ids: &[&str], state: TaskState) -> CloudTask {
    CloudTask {
        task_id: format!("t-{}", ids.join("-")),
        action: action.name().into(),
        node_ids: ids.iter().map(|s| s.to_string()).collect(),
        submitted_at: "2026-12-03T02:00:00Z".into(),
        state,
        ..CloudTask::default()
    }
}

struct Case {
    replicas: i32,
    policy: ScaleDownPolicy,
    ledger: Vec<PoolNode>,
    tasks: Vec<CloudTask>,
    own_intent_open: bool,
    cluster_create_blocked: bool,
    deleting: Option<DeletionPolicy>,
}

impl Case {
    fn new(replicas: i32, ledger: Vec<PoolNode>) -> Self {
        Case {
            replicas,
            policy: ScaleDownPolicy::default(),
            ledger,
            tasks: vec![],
            own_intent_open: false,
            cluster_create_blocked: false,
            deleting: None,
        }
    }

    fn plan(&self) -> Plan {
        plan(&PlanInput {
            replicas: self.replicas,
            scale_down: &self.policy,
            ledger: &self.ledger,
            tasks: &self.tasks,
            own_intent_open: self.own_intent_open,
            cluster_create_blocked: self.cluster_create_blocked,
            deleting: self.deleting,
            max_per_call: 100,
        })
    }
}

#[test]
fn an_empty_pool_creates_everything_in_one_call() {
    assert_eq!(Case::new(3, vec![]).plan().steps, [Step::Create(3)]);
}

#[test]
fn a_converged_pool_does_nothing() {
    let p = Case::new(2, vec![ready("a", 1), ready("b", 2)]).plan();
    assert!(p.steps.is_empty() && p.waiting.is_empty());
    assert_eq!(p.counts.ready, 2);
}

#[test]
fn provisioning_nodes_count_toward_replicas() {
    let p = Case::new(2, vec![ready("a", 1), node("b", "Creating", "")]).plan();
    assert!(p.steps.is_empty());
}

#[test]
fn scale_down_removes_the_newest_by_default_and_oldest_on_request() {
    let ledger = vec![ready("a", 1), ready("b", 3), ready("c", 2)];
    let mut case = Case::new(1, ledger);
    assert_eq!(
        case.plan().steps,
        [Step::Delete(vec!["b".into(), "c".into()])]
    );
    case.policy.order = ScaleDownOrder::Oldest;
    assert_eq!(
        case.plan().steps,
        [Step::Delete(vec!["a".into(), "c".into()])]
    );
}

#[test]
fn named_nodes_go_first_by_id_or_name() {
    let mut case = Case::new(2, vec![ready("a", 1), ready("b", 3), ready("c", 2)]);
    case.policy.remove_first = vec!["c-a".into()];
    assert_eq!(case.plan().steps, [Step::Delete(vec!["a".into()])]);
    case.policy.remove_first = vec!["c".into()];
    assert_eq!(case.plan().steps, [Step::Delete(vec!["c".into()])]);
}

#[test]
fn scale_down_never_picks_provisioning_or_busy_nodes() {
    let case = Case::new(
        0,
        vec![
            node("a", "Creating", ""),
            node("b", "Updating", ""),
            ready("c", 1),
        ],
    );
    let p = case.plan();
    assert_eq!(p.steps, [Step::Delete(vec!["c".into()])]);
    assert_eq!(p.waiting.len(), 1, "{:?}", p.waiting);
}

#[test]
fn error_nodes_are_deleted_and_replaced() {
    let p = Case::new(2, vec![ready("a", 1), node("b", "Error", "")]).plan();
    assert_eq!(p.steps, [Step::Delete(vec!["b".into()]), Step::Create(1)]);
}

#[test]
fn unknown_statuses_are_left_alone_and_count_as_present() {
    let p = Case::new(1, vec![node("a", "Hibernating", "")]).plan();
    assert!(p.steps.is_empty());
    assert_eq!(p.counts.busy, 1);
    assert_eq!(p.counts.ready, 0);
}

#[test]
fn stopped_nodes_are_started_before_anything_is_created() {
    let ledger = vec![node("s1", "Stopped", ""), node("s2", "Stopped", "")];
    assert_eq!(
        Case::new(3, ledger.clone()).plan().steps,
        [Step::Start(vec!["s1".into(), "s2".into()]), Step::Create(1)]
    );
    assert_eq!(
        Case::new(1, ledger).plan().steps,
        [Step::Start(vec!["s1".into()])]
    );
    let ledger = vec![ready("a", 1), node("s1", "Stopped", "")];
    assert_eq!(
        Case::new(1, ledger).plan().steps,
        [Step::Delete(vec!["s1".into()])],
        "a stopped node the pool does not need is surplus"
    );
}

#[test]
fn nodes_with_tasks_in_flight_are_not_acted_on_again() {
    let mut case = Case::new(0, vec![ready("a", 1), ready("b", 2)]);
    case.tasks = vec![task(
        Action::DeleteClusterNodes,
        &["a", "b"],
        TaskState::Running,
    )];
    let p = case.plan();
    assert!(p.steps.is_empty());
    assert_eq!(p.counts.leaving, 2);
    case.tasks[0].state = TaskState::Failed;
    assert_eq!(
        case.plan().steps.len(),
        1,
        "a finished task frees its nodes"
    );
}

#[test]
fn a_starting_node_counts_as_provisioning() {
    let mut case = Case::new(1, vec![node("s", "Stopped", "")]);
    case.tasks = vec![task(Action::StartClusterNodes, &["s"], TaskState::Running)];
    let p = case.plan();
    assert!(p.steps.is_empty());
    assert_eq!(p.counts.provisioning, 1);
}

#[test]
fn creates_wait_for_any_unresolved_create_in_the_cluster() {
    let mut case = Case::new(2, vec![]);
    case.own_intent_open = true;
    assert!(case.plan().steps.is_empty());
    case.own_intent_open = false;
    case.cluster_create_blocked = true;
    let p = case.plan();
    assert!(p.steps.is_empty());
    assert!(p.waiting[0].contains("another pool"));
}

#[test]
fn batches_respect_the_per_call_limit() {
    let ledger: Vec<PoolNode> = (0..250)
        .map(|i| ready(&format!("n{i:03}"), (i % 60) as u32))
        .collect();
    let p = plan(&PlanInput {
        replicas: 0,
        scale_down: &ScaleDownPolicy::default(),
        ledger: &ledger,
        tasks: &[],
        own_intent_open: false,
        cluster_create_blocked: false,
        deleting: None,
        max_per_call: 100,
    });
    assert!(matches!(&p.steps[..], [Step::Delete(v)] if v.len() == 100));
    let p = plan(&PlanInput {
        replicas: 250,
        scale_down: &ScaleDownPolicy::default(),
        ledger: &[],
        tasks: &[],
        own_intent_open: false,
        cluster_create_blocked: false,
        deleting: None,
        max_per_call: 100,
    });
    assert_eq!(p.steps, [Step::Create(100)]);
}

#[test]
fn deletion_with_delete_policy_releases_every_node() {
    let mut case = Case::new(
        3,
        vec![
            ready("a", 1),
            node("b", "Stopped", ""),
            node("c", "Creating", ""),
        ],
    );
    case.deleting = Some(DeletionPolicy::Delete);
    let p = case.plan();
    assert_eq!(p.steps, [Step::Delete(vec!["a".into(), "b".into()])]);
    assert!(!p.deletion_complete);
    case.ledger.clear();
    assert!(case.plan().deletion_complete);
    case.own_intent_open = true;
    assert!(
        !case.plan().deletion_complete,
        "an unresolved create could leak nodes"
    );
}

#[test]
fn deletion_with_retain_policy_touches_nothing() {
    let mut case = Case::new(3, vec![ready("a", 1)]);
    case.deleting = Some(DeletionPolicy::Retain);
    let p = case.plan();
    assert!(p.steps.is_empty());
    assert!(p.deletion_complete);
}

fn arb_node() -> impl Strategy<Value = PoolNode> {
    (
        0u32..1000,
        prop::sample::select(vec![
            "Ok", "Creating", "Updating", "Stopped", "Error", "Weird",
        ]),
        0u32..60,
    )
        .prop_map(|(i, s, m)| node(&format!("n{i}"), s, &format!("2026-12-03 10:{m:02}:00")))
}

proptest! {
    /// Whatever the state, the plan never touches a node that is busy or already has a
    /// task, never deletes and starts the same node, never creates while a create is
    /// unresolved, and never plans more deletions than are needed to reach `replicas`
    /// (besides unhealthy nodes).
    #[test]
    fn plans_are_safe(
        replicas in 0i32..20,
        nodes in prop::collection::vec(arb_node(), 0..20),
        busy_task in any::<bool>(),
        blocked in any::<bool>(),
        own_open in any::<bool>(),
    ) {
        let mut seen = HashSet::new();
        let ledger: Vec<PoolNode> = nodes.into_iter().filter(|n| seen.insert(n.node_id.clone())).collect();
        let tasks: Vec<CloudTask> = if busy_task && !ledger.is_empty() {
            vec![task(Action::DeleteClusterNodes, &[ledger[0].node_id.as_str()], TaskState::Running)]
        } else {
            vec![]
        };
        let p = plan(&PlanInput {
            replicas,
            scale_down: &ScaleDownPolicy::default(),
            ledger: &ledger,
            tasks: &tasks,
            own_intent_open: own_open,
            cluster_create_blocked: blocked,
            deleting: None,
            max_per_call: 100,
        });
        let status = |id: &str| ledger.iter().find(|n| n.node_id == id).unwrap().status.clone();
        let in_task: HashSet<&str> = tasks.iter().flat_map(|t| t.node_ids.iter().map(String::as_str)).collect();
        let mut touched = HashSet::new();
        let mut deleted_healthy = 0;
        for step in &p.steps {
            match step {
                Step::Delete(ids) => for id in ids {
                    prop_assert!(!in_task.contains(id.as_str()));
                    let s = status(id);
                    let surplus_stopped = s == "Stopped" && p.counts.active() >= replicas;
                    prop_assert!(s == "Ok" || s == "Error" || surplus_stopped, "deleted a {} node", s);
                    if s == "Ok" { deleted_healthy += 1; }
                    prop_assert!(touched.insert(id.clone()));
                },
                Step::Start(ids) => for id in ids {
                    prop_assert!(!in_task.contains(id.as_str()));
                    prop_assert_eq!(status(id), "Stopped");
                    prop_assert!(touched.insert(id.clone()));
                },
                Step::Create(n) => {
                    prop_assert!(!blocked && !own_open, "never creates while a create is unresolved");
                    prop_assert!(*n > 0);
                }
            }
        }
        prop_assert!(deleted_healthy <= (p.counts.active() - replicas).max(0));
        // Converging: after the plan, active nodes plus new ones never exceed the target
        // when the plan creates.
        if let Some(Step::Create(n)) = p.steps.iter().find(|s| matches!(s, Step::Create(_))) {
            let started = p.steps.iter().map(|s| if let Step::Start(v) = s { v.len() as i32 } else { 0 }).sum::<i32>();
            prop_assert_eq!(p.counts.active() + started + n, replicas);
        }
    }
}
