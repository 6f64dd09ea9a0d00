//! The ownership ledger: which cloud nodes belong to a pool. Pure functions that refresh
//! the ledger from an observation of the cluster, attribute the nodes of a create to the
//! pool that asked for them, adopt nodes on request, and decide when a create intent is
//! resolved. `docs/ownership.md` explains the protocol; these functions are its rules.

use std::collections::HashSet;
use std::time::Duration;

use jiff::Timestamp;

use crate::api::status::{CreateIntent, IntentState, NodeOrigin, PoolNode, TaskState};
use crate::cck::{Node, NodeType};

/// What changed in the ledger, for Events and logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerChanges {
    /// Owned nodes that are no longer in the cloud and no task of ours removed.
    pub vanished: Vec<String>,
    /// Owned nodes that our own delete removed.
    pub released: Vec<String>,
    pub attributed: Vec<String>,
    pub adopted: Vec<String>,
    /// (node id, why it was not adopted).
    pub adoption_rejected: Vec<(String, String)>,
    /// How a create intent ended when it did not end well: (Event reason, message).
    pub warnings: Vec<(&'static str, String)>,
}

fn to_pool_node(n: &Node, origin: NodeOrigin) -> PoolNode {
    PoolNode {
        node_id: n.node_id.clone(),
        name: n.node_name.clone(),
        status: n.status.as_str().to_owned(),
        private_ip: n.private_ip.clone(),
        created: n.create_time.clone(),
        origin,
        missing_since: None,
    }
}

/// The status an owned node shows while listings lack it (not yet forgotten).
pub const MISSING: &str = "Missing";

/// Refreshes every owned node from the cloud's view. A node that disappeared was either
/// released by one of our delete tasks (`deleting`: forgotten at once) or vanished
/// (someone else removed it): a vanished node is kept as `Missing` until listings have
/// lacked it for `vanish_after`, so one incomplete listing cannot make the pool forget
/// (and leak) a node, then create a replacement.
pub fn refresh(
    ledger: &[PoolNode],
    cluster: &[Node],
    deleting: &HashSet<String>,
    now: Timestamp,
    vanish_after: Duration,
    changes: &mut LedgerChanges,
) -> Vec<PoolNode> {
    let mut out = Vec::with_capacity(ledger.len());
    for owned in ledger {
        match cluster.iter().find(|n| n.node_id == owned.node_id) {
            Some(n) => out.push(to_pool_node(n, owned.origin)),
            None if deleting.contains(&owned.node_id) => {
                changes.released.push(owned.node_id.clone())
            }
            None => {
                let since = owned
                    .missing_since
                    .as_deref()
                    .and_then(|s| s.parse::<Timestamp>().ok())
                    .unwrap_or(now);
                let gone_for = now.duration_since(since);
                if !gone_for.is_negative() && gone_for.unsigned_abs() >= vanish_after {
                    changes.vanished.push(owned.node_id.clone());
                } else {
                    out.push(PoolNode {
                        status: MISSING.into(),
                        missing_since: Some(since.to_string()),
                        ..owned.clone()
                    });
                }
            }
        }
    }
    out
}

/// The numeric suffix of `<cluster>-workerNNN`, for ordering nodes of one create.
fn name_number(name: &str) -> Option<u64> {
    let digits: String = name
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// Picks the nodes a create produced: Workers that were not in the cluster when the
/// intent was recorded, that no pool owns, and that match the requested shape; at most
/// as many as are still missing, lowest name number first (the cloud numbers the nodes of
/// one create consecutively).
pub fn attribute(
    intent: &CreateIntent,
    cluster: &[Node],
    owned_anywhere: &HashSet<String>,
) -> Vec<Node> {
    let remaining = (intent.count.max(0) as usize).saturating_sub(intent.attributed_node_ids.len());
    if remaining == 0 {
        return Vec::new();
    }
    let baseline: HashSet<&str> = intent
        .baseline_node_ids
        .iter()
        .map(String::as_str)
        .collect();
    let mut candidates: Vec<&Node> = cluster
        .iter()
        .filter(|n| n.node_type == NodeType::Worker)
        .filter(|n| !baseline.contains(n.node_id.as_str()))
        .filter(|n| !owned_anywhere.contains(&n.node_id))
        .filter(|n| !intent.attributed_node_ids.contains(&n.node_id))
        .filter(|n| n.cpu == intent.cpu && n.memory == intent.memory)
        .collect();
    candidates.sort_by(|a, b| {
        (name_number(&a.node_name), &a.create_time, &a.node_id).cmp(&(
            name_number(&b.node_name),
            &b.create_time,
            &b.node_id,
        ))
    });
    candidates.into_iter().take(remaining).cloned().collect()
}

/// Adds the attributed nodes to the ledger and the intent.
pub fn record_attribution(
    ledger: &mut Vec<PoolNode>,
    intent: &mut CreateIntent,
    nodes: &[Node],
    changes: &mut LedgerChanges,
) {
    for n in nodes {
        intent.attributed_node_ids.push(n.node_id.clone());
        ledger.push(to_pool_node(n, NodeOrigin::Created));
        changes.attributed.push(n.node_id.clone());
    }
}

/// Takes over the nodes a person listed in `spec.adoptNodeIds`, if they are unowned
/// Workers of the cluster. Nodes already in the ledger are skipped silently.
pub fn adopt(
    ledger: &mut Vec<PoolNode>,
    requested: &[String],
    cluster: &[Node],
    owned_by_others: &HashSet<String>,
    changes: &mut LedgerChanges,
) {
    for id in requested {
        if ledger.iter().any(|n| &n.node_id == id) {
            continue;
        }
        let reason = match cluster.iter().find(|n| &n.node_id == id) {
            None => Some("no such node in the cluster".to_owned()),
            Some(n) if n.node_type != NodeType::Worker => Some(format!(
                "it is a {} node; only Workers can be adopted",
                n.node_type
            )),
            Some(_) if owned_by_others.contains(id) => Some("another pool owns it".to_owned()),
            Some(n) => {
                ledger.push(to_pool_node(n, NodeOrigin::Adopted));
                changes.adopted.push(id.clone());
                None
            }
        };
        if let Some(r) = reason {
            changes.adoption_rejected.push((id.clone(), r));
        }
    }
}

/// What to do with a create intent after attribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntentVerdict {
    /// Not resolved yet: keep it and look again later.
    Keep,
    /// Resolved: every requested node is attributed, or the create's outcome is final.
    /// `missing` nodes never appeared (a failed or partly failed create).
    Resolved { missing: i32 },
    /// No node appeared within the grace period of a create whose sending is uncertain:
    /// the cloud never accepted it, so it may be made again.
    NeverApplied,
}

/// Decides whether an intent is resolved. `task` is the state of its create task when
/// it has one. `grace` bounds how long an unconfirmed create may take to show its nodes.
pub fn judge_intent(
    intent: &CreateIntent,
    task: Option<TaskState>,
    now: Timestamp,
    grace: Duration,
) -> IntentVerdict {
    let missing = (intent.count - intent.attributed_node_ids.len() as i32).max(0);
    if missing == 0 {
        return IntentVerdict::Resolved { missing: 0 };
    }
    match (intent.state, task) {
        (IntentState::Submitted, Some(TaskState::Running)) => return IntentVerdict::Keep,
        (IntentState::Submitted, Some(_)) => return IntentVerdict::Resolved { missing },
        // A submitted create whose task record is lost is judged by time, like an
        // unconfirmed one, so it cannot block the cluster for ever.
        _ => {}
    }
    let recorded: Timestamp = intent.recorded_at.parse().unwrap_or(now);
    let age = now.duration_since(recorded);
    if age.is_negative() || age.unsigned_abs() < grace {
        return IntentVerdict::Keep;
    }
    if intent.attributed_node_ids.is_empty() {
        IntentVerdict::NeverApplied
    } else {
        IntentVerdict::Resolved { missing }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cck::NodeStatus;

    fn node(id: &str, name: &str, ty: NodeType, cpu: u32, memory: u32) -> Node {
        Node {
            node_id: id.into(),
            node_name: name.into(),
            node_type: ty,
            cpu,
            memory,
            status: NodeStatus::Creating,
            create_time: "2026-12-03 10:00:00".into(),
            ..Node::default()
        }
    }

    fn worker(id: &str, n: u32) -> Node {
        node(id, &format!("c-worker{n:03}"), NodeType::Worker, 8, 32)
    }

    fn intent(count: i32, baseline: &[&str]) -> CreateIntent {
        CreateIntent {
            id: "i1".into(),
            count,
            cpu: 8,
            memory: 32,
            recorded_at: "2026-12-03T02:00:00Z".into(),
            baseline_node_ids: baseline.iter().map(|s| s.to_string()).collect(),
            state: IntentState::Pending,
            task_id: None,
            attributed_node_ids: vec![],
        }
    }

    fn set(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn attribution_takes_new_unowned_matching_workers_in_name_order() {
        let cluster = vec![
            node("m1", "c-master001", NodeType::Master, 8, 32),
            worker("old", 1),
            worker("theirs", 2),
            worker("n4", 4),
            worker("n3", 3),
            node("big", "c-worker005", NodeType::Worker, 16, 64),
            worker("n6", 6),
        ];
        let i = intent(2, &["m1", "old"]);
        let got = attribute(&i, &cluster, &set(&["theirs"]));
        let ids: Vec<_> = got.iter().map(|n| n.node_id.as_str()).collect();
        assert_eq!(
            ids,
            ["n3", "n4"],
            "baseline, owned, other shapes and extras excluded"
        );
    }

    #[test]
    fn attribution_never_exceeds_the_count_across_rounds() {
        let cluster = vec![worker("a", 1), worker("b", 2), worker("c", 3)];
        let mut i = intent(2, &[]);
        let mut ledger = Vec::new();
        let mut ch = LedgerChanges::default();
        let first = attribute(&i, &cluster[..1], &HashSet::new());
        record_attribution(&mut ledger, &mut i, &first, &mut ch);
        let owned: HashSet<String> = ledger.iter().map(|n| n.node_id.clone()).collect();
        let second = attribute(&i, &cluster, &owned);
        record_attribution(&mut ledger, &mut i, &second, &mut ch);
        assert_eq!(i.attributed_node_ids, ["a", "b"]);
        assert!(attribute(&i, &cluster, &owned).is_empty());
        assert_eq!(ch.attributed.len(), 2);
    }

    #[test]
    fn refresh_updates_statuses_and_tells_released_from_vanished() {
        let ledger = vec![
            PoolNode {
                node_id: "a".into(),
                ..Default::default()
            },
            PoolNode {
                node_id: "b".into(),
                ..Default::default()
            },
            PoolNode {
                node_id: "c".into(),
                origin: NodeOrigin::Adopted,
                ..Default::default()
            },
        ];
        let mut a = worker("a", 1);
        a.status = NodeStatus::Ok;
        let c = worker("c", 3);
        let t0: Timestamp = "2026-12-03T00:00:00Z".parse().unwrap();
        let wait = Duration::from_secs(30);
        let mut ch = LedgerChanges::default();
        let out = refresh(
            &ledger,
            &[a.clone(), c.clone()],
            &set(&[]),
            t0,
            wait,
            &mut ch,
        );
        assert_eq!(out.len(), 3, "one missing observation forgets nothing");
        assert_eq!(out[0].status, "Ok");
        assert_eq!(out[1].status, MISSING);
        assert_eq!(out[2].origin, NodeOrigin::Adopted);
        assert!(ch.vanished.is_empty());
        let t1: Timestamp = "2026-12-03T00:00:10Z".parse().unwrap();
        let again = refresh(&out, &[a.clone(), c.clone()], &set(&[]), t1, wait, &mut ch);
        assert_eq!(
            again[1].missing_since.as_deref(),
            Some("2026-12-03T00:00:00Z")
        );
        let back = refresh(
            &again,
            &[a.clone(), worker("b", 2), c.clone()],
            &set(&[]),
            t1,
            wait,
            &mut ch,
        );
        assert_eq!(
            back[1].missing_since, None,
            "a node that comes back is no longer missing"
        );
        let t2: Timestamp = "2026-12-03T00:00:31Z".parse().unwrap();
        let out = refresh(&again, &[a, c], &set(&[]), t2, wait, &mut ch);
        assert_eq!(out.len(), 2);
        assert_eq!(ch.vanished, ["b"]);
        let mut ch = LedgerChanges::default();
        refresh(&ledger, &[], &set(&["a", "b", "c"]), t0, wait, &mut ch);
        assert_eq!(ch.released.len(), 3);
        assert!(ch.vanished.is_empty());
    }

    #[test]
    fn adoption_checks_type_and_ownership() {
        let cluster = vec![
            worker("w1", 1),
            worker("w2", 2),
            node("m1", "c-master001", NodeType::Master, 8, 32),
        ];
        let mut ledger = vec![PoolNode {
            node_id: "w1".into(),
            ..Default::default()
        }];
        let mut ch = LedgerChanges::default();
        let req: Vec<String> = ["w1", "w2", "m1", "gone", "w3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut cluster2 = cluster.clone();
        cluster2.push(worker("w3", 3));
        adopt(&mut ledger, &req, &cluster2, &set(&["w3"]), &mut ch);
        assert_eq!(ch.adopted, ["w2"]);
        let rejected: Vec<_> = ch
            .adoption_rejected
            .iter()
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(rejected, ["m1", "gone", "w3"]);
        assert_eq!(ledger.len(), 2);
        assert_eq!(ledger[1].origin, NodeOrigin::Adopted);
    }

    #[test]
    fn intents_resolve_by_attribution_task_outcome_or_grace() {
        let now: Timestamp = "2026-12-03T02:01:00Z".parse().unwrap();
        let grace = Duration::from_secs(120);
        let mut i = intent(2, &[]);
        assert_eq!(judge_intent(&i, None, now, grace), IntentVerdict::Keep);
        let later: Timestamp = "2026-12-03T02:03:00Z".parse().unwrap();
        assert_eq!(
            judge_intent(&i, None, later, grace),
            IntentVerdict::NeverApplied
        );
        i.attributed_node_ids = vec!["a".into()];
        assert_eq!(
            judge_intent(&i, None, later, grace),
            IntentVerdict::Resolved { missing: 1 }
        );
        i.state = IntentState::Submitted;
        assert_eq!(
            judge_intent(&i, Some(TaskState::Running), later, grace),
            IntentVerdict::Keep,
            "a submitted create waits for its task, however long"
        );
        assert_eq!(
            judge_intent(&i, Some(TaskState::Failed), now, grace),
            IntentVerdict::Resolved { missing: 1 }
        );
        i.attributed_node_ids.push("b".into());
        assert_eq!(
            judge_intent(&i, None, now, grace),
            IntentVerdict::Resolved { missing: 0 }
        );
    }

    #[test]
    fn name_numbers() {
        assert_eq!(name_number("cck-demo-worker012"), Some(12));
        assert_eq!(name_number("weird"), None);
    }
}
