//! Task progression: a task is `Doing` until its due time, then ends as its fate says
//! (`Finish`, `Error` or `part_fail`) and moves its nodes on. Driven by [`World::advance`]
//! with the caller's clock, never by a background timer.

use crate::cck::types::{Action, NodeStatus, TaskStatus, format_beijing_time};
use crate::sim::faults::Fate;
use crate::sim::world::World;
use jiff::Timestamp;
use std::collections::{HashMap, HashSet};

impl World {
    /// Completes every task due at or before `now`, oldest due first.
    pub fn advance(&mut self, now: Timestamp) {
        let now_ms = now.as_millisecond();
        while self
            .pending
            .first()
            .is_some_and(|(due, _, _)| *due <= now_ms)
        {
            if let Some((_, _, id)) = self.pending.pop_first() {
                self.complete(&id, now);
            }
        }
    }

    fn complete(&mut self, task_id: &str, now: Timestamp) {
        let Some(task) = self.state.tasks.get(task_id) else {
            return;
        };
        let (action, fate, cluster_id) = (task.action, task.fate.clone(), task.cluster_id.clone());
        let node_ids = task.node_ids.clone();
        let fails = |i: usize| match &fate {
            Fate::Succeed => false,
            Fate::Fail => true,
            Fate::Partial(mask) => mask.get(i).copied().unwrap_or(false),
        };
        let failed_ids: HashSet<&str> = node_ids
            .iter()
            .enumerate()
            .filter(|(i, _)| fails(*i))
            .map(|(_, id)| id.as_str())
            .collect();
        let wanted: HashSet<&str> = node_ids.iter().map(String::as_str).collect();
        let stopped = self.settings.stopped.clone();
        let mut names: HashMap<String, String> = HashMap::new();
        if let Some(c) = self.state.clusters.iter_mut().find(|c| c.id == cluster_id) {
            let mut removed_from_snats = HashSet::new();
            let mut to_remove: HashSet<String> = HashSet::new();
            for n in c.nodes.iter_mut() {
                let id = n.node.node_id.as_str();
                // Only nodes this task still owns: an admin change in between wins.
                if !wanted.contains(id) || n.task.as_deref() != Some(task_id) {
                    continue;
                }
                names.insert(id.to_owned(), n.node.node_name.clone());
                let prev = n.prev_status.take().unwrap_or(NodeStatus::Ok);
                n.task = None;
                let node = &mut n.node;
                match (action, failed_ids.contains(node.node_id.as_str())) {
                    (Action::CreateClusterNodes, false) | (Action::StartClusterNodes, false) => {
                        node.status = NodeStatus::Ok;
                        node.schedulable = true;
                    }
                    (Action::CreateClusterNodes, true) => {
                        node.status = NodeStatus::Error;
                        node.schedulable = false;
                    }
                    (Action::StopClusterNodes, false) => {
                        node.status = stopped.clone();
                        node.schedulable = false;
                    }
                    (Action::DeleteClusterNodes, false) => {
                        to_remove.insert(node.node_id.clone());
                        removed_from_snats.insert(node.snat_id.clone());
                    }
                    (_, true) => node.status = prev,
                    _ => {}
                }
            }
            if !to_remove.is_empty() {
                c.nodes.retain(|n| !to_remove.contains(&n.node.node_id));
                let stamp = format_beijing_time(now);
                for s in c
                    .snats
                    .iter_mut()
                    .filter(|s| removed_from_snats.contains(&s.id))
                {
                    s.update_time.clone_from(&stamp);
                }
            }
        }
        let describe = |ids: &HashSet<&str>| {
            let mut list: Vec<String> = node_ids
                .iter()
                .filter(|id| ids.contains(id.as_str()))
                .map(|id| match names.get(id) {
                    Some(name) => format!("{name} ({id})"),
                    None => id.clone(),
                })
                .collect();
            list.dedup();
            list.join(", ")
        };
        let verb = match action {
            Action::CreateClusterNodes => "created",
            Action::StartClusterNodes => "started",
            Action::StopClusterNodes => "stopped",
            _ => "deleted",
        };
        let (status, err_msg) = match fate {
            Fate::Succeed => (TaskStatus::Finish, None),
            Fate::Fail => (
                TaskStatus::Error,
                Some(format!(
                    "simulated task failure (fault injection): {} node(s) could not be {verb}: {}",
                    node_ids.len(),
                    describe(&failed_ids)
                )),
            ),
            Fate::Partial(_) => (
                TaskStatus::PartFail,
                Some(format!(
                    "simulated partial failure (fault injection): {} of {} node(s) could not be {verb}: {}",
                    failed_ids.len(),
                    node_ids.len(),
                    describe(&failed_ids)
                )),
            ),
        };
        if let Some(t) = self.state.tasks.get_mut(task_id) {
            t.status = status;
            t.err_msg = err_msg;
        }
        self.state.finished.push_back(task_id.to_owned());
        while self.state.finished.len() > self.settings.limits.max_finished_tasks {
            if let Some(old) = self.state.finished.pop_front() {
                self.state.tasks.remove(&old);
            }
        }
    }
}

#[cfg(test)]
#[path = "tasks_tests.rs"]
mod tests;
