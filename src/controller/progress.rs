//! Tracking of cloud tasks and backoff, as pure functions of (record, observation, now):
//! DescribeTask results move a task to Succeeded, Failed or, past its action's deadline,
//! TimedOut; an unknown status is "still running" until then. Failures push the next
//! mutation back exponentially, and the backoff lives in status so restarts keep it.

use std::time::Duration;

use jiff::Timestamp;

use crate::api::status::{CloudTask, RetryState, TaskState};
use crate::cck::{Action, CckError, TaskInfo, TaskPhase};

/// Deadlines and backoff bounds.
#[derive(Clone, Debug)]
pub struct Timing {
    pub create_deadline: Duration,
    pub other_deadline: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            create_deadline: Duration::from_secs(30 * 60),
            other_deadline: Duration::from_secs(20 * 60),
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(5 * 60),
        }
    }
}

pub fn deadline(action: &str, timing: &Timing) -> Duration {
    if action == Action::CreateClusterNodes.name() {
        timing.create_deadline
    } else {
        timing.other_deadline
    }
}

fn ts(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

/// Applies one DescribeTask outcome to a running task. Returns true when the task
/// reached a final state.
pub fn observe_task(
    task: &mut CloudTask,
    polled: Result<&TaskInfo, &CckError>,
    now: Timestamp,
    timing: &Timing,
) -> bool {
    if task.state != TaskState::Running {
        return false;
    }
    match polled {
        Ok(info) => {
            task.cloud_status = info.status.as_str().to_owned();
            match info.status.phase() {
                TaskPhase::Succeeded => {
                    task.state = TaskState::Succeeded;
                    task.message.clear();
                }
                TaskPhase::Failed => {
                    task.state = TaskState::Failed;
                    task.message = info
                        .err_msg
                        .clone()
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| format!("the cloud reported {}", info.status));
                }
                TaskPhase::Running => {}
            }
        }
        Err(e) => task.message = format!("last poll failed: {}", e.summary()),
    }
    if task.state == TaskState::Running {
        let submitted = ts(&task.submitted_at).unwrap_or(now);
        let limit = deadline(&task.action, timing);
        // A submission time in the future (a clock stepped back) is no age at all.
        let age = now.duration_since(submitted);
        if !age.is_negative() && age.unsigned_abs() >= limit {
            task.state = TaskState::TimedOut;
            task.message = format!(
                "no final status after {} min (last status {:?})",
                limit.as_secs() / 60,
                task.cloud_status
            );
        }
    }
    if task.state != TaskState::Running {
        task.finished_at = Some(now.to_string());
        return true;
    }
    false
}

/// Keeps every running task, the task an open create refers to (`protect`), and the
/// `keep` most recent finished ones.
pub fn trim_history(tasks: &mut Vec<CloudTask>, keep: usize, protect: Option<&str>) {
    let removable =
        |t: &CloudTask| t.state != TaskState::Running && Some(t.task_id.as_str()) != protect;
    let finished = tasks.iter().filter(|t| removable(t)).count();
    let mut drop = finished.saturating_sub(keep);
    tasks.retain(|t| {
        if drop > 0 && removable(t) {
            drop -= 1;
            false
        } else {
            true
        }
    });
}

/// The backoff after one more failure.
pub fn backoff(
    previous: Option<&RetryState>,
    error: &str,
    now: Timestamp,
    timing: &Timing,
) -> RetryState {
    let failures = previous.map_or(0, |r| r.consecutive_failures) + 1;
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    let delay = timing
        .backoff_base
        .saturating_mul(factor)
        .min(timing.backoff_max);
    let not_before = now
        .checked_add(jiff::SignedDuration::try_from(delay).unwrap_or(jiff::SignedDuration::ZERO))
        .unwrap_or(now);
    RetryState {
        consecutive_failures: failures,
        not_before: not_before.to_string(),
        last_error: error.chars().take(1000).collect(),
    }
}

/// How long mutations must still wait, if at all.
pub fn backoff_remaining(retry: Option<&RetryState>, now: Timestamp) -> Option<Duration> {
    let until = ts(&retry?.not_before)?;
    let left = until.duration_since(now);
    (left.is_positive()).then(|| left.unsigned_abs())
}

/// When to poll running tasks again: `base` while they are young, then a tenth of the
/// youngest running task's age (a create that has run 5 minutes is polled every 30 s),
/// never more than 30 s apart.
pub fn poll_delay(tasks: &[CloudTask], now: Timestamp, base: Duration) -> Duration {
    let youngest = tasks
        .iter()
        .filter(|t| t.state == TaskState::Running)
        .filter_map(|t| ts(&t.submitted_at))
        .map(|s| now.duration_since(s).unsigned_abs())
        .min();
    match youngest {
        Some(age) => (age / 10).clamp(base, Duration::from_secs(30).max(base)),
        None => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cck::TaskStatus;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn running(action: Action) -> CloudTask {
        CloudTask {
            task_id: "t".into(),
            action: action.name().into(),
            submitted_at: "2026-12-03T00:00:00Z".into(),
            state: TaskState::Running,
            ..CloudTask::default()
        }
    }

    fn info(status: &str, err: Option<&str>) -> TaskInfo {
        TaskInfo {
            status: TaskStatus::from(status),
            err_msg: err.map(str::to_owned),
        }
    }

    #[test]
    fn final_statuses_finish_the_task() {
        let timing = Timing::default();
        let now = t("2026-12-03T00:01:00Z");
        let mut task = running(Action::DeleteClusterNodes);
        assert!(observe_task(
            &mut task,
            Ok(&info("Finish", None)),
            now,
            &timing
        ));
        assert_eq!(task.state, TaskState::Succeeded);
        assert_eq!(task.finished_at.as_deref(), Some("2026-12-03T00:01:00Z"));
        let mut task = running(Action::CreateClusterNodes);
        assert!(observe_task(
            &mut task,
            Ok(&info("part_fail", Some("node x failed"))),
            now,
            &timing
        ));
        assert_eq!(task.state, TaskState::Failed);
        assert_eq!(task.message, "node x failed");
        assert!(
            !observe_task(&mut task, Ok(&info("Finish", None)), now, &timing),
            "final stays final"
        );
    }

    #[test]
    fn unknown_statuses_run_until_the_deadline() {
        let timing = Timing::default();
        let mut task = running(Action::StopClusterNodes);
        assert!(!observe_task(
            &mut task,
            Ok(&info("queued", None)),
            t("2026-12-03T00:19:59Z"),
            &timing
        ));
        assert_eq!(task.cloud_status, "queued");
        assert!(observe_task(
            &mut task,
            Ok(&info("queued", None)),
            t("2026-12-03T00:20:00Z"),
            &timing
        ));
        assert_eq!(task.state, TaskState::TimedOut);
        let mut create = running(Action::CreateClusterNodes);
        assert!(!observe_task(
            &mut create,
            Ok(&info("Doing", None)),
            t("2026-12-03T00:25:00Z"),
            &timing
        ));
    }

    #[test]
    fn poll_errors_are_remembered_but_do_not_finish_the_task() {
        let timing = Timing::default();
        let mut task = running(Action::StartClusterNodes);
        let e = CckError::NotSent {
            action: "DescribeTask".into(),
            endpoint: "x".into(),
            detail: "refused".into(),
        };
        assert!(!observe_task(
            &mut task,
            Err(&e),
            t("2026-12-03T00:01:00Z"),
            &timing
        ));
        assert!(task.message.contains("refused"));
    }

    #[test]
    fn history_keeps_running_tasks_and_the_newest_finished() {
        let mut tasks: Vec<CloudTask> = (0..6)
            .map(|i| CloudTask {
                task_id: format!("t{i}"),
                state: if i == 1 {
                    TaskState::Running
                } else {
                    TaskState::Succeeded
                },
                ..CloudTask::default()
            })
            .collect();
        let mut protected = tasks.clone();
        trim_history(&mut tasks, 2, None);
        let ids: Vec<_> = tasks.iter().map(|t| t.task_id.as_str()).collect();
        assert_eq!(ids, ["t1", "t4", "t5"]);
        trim_history(&mut protected, 2, Some("t0"));
        let ids: Vec<_> = protected.iter().map(|t| t.task_id.as_str()).collect();
        assert_eq!(
            ids,
            ["t0", "t1", "t4", "t5"],
            "an open create's task is kept"
        );
    }

    #[test]
    fn polling_slows_down_as_tasks_age() {
        let base = Duration::from_secs(3);
        let mut task = running(Action::CreateClusterNodes);
        let at = |task: &CloudTask, s: &str| poll_delay(std::slice::from_ref(task), t(s), base);
        assert_eq!(at(&task, "2026-12-03T00:00:05Z"), base);
        assert_eq!(at(&task, "2026-12-03T00:02:00Z"), Duration::from_secs(12));
        assert_eq!(at(&task, "2026-12-03T01:00:00Z"), Duration::from_secs(30));
        task.state = TaskState::Succeeded;
        assert_eq!(at(&task, "2026-12-03T01:00:00Z"), base);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let timing = Timing::default();
        let now = t("2026-12-03T00:00:00Z");
        let r1 = backoff(None, "boom", now, &timing);
        assert_eq!(r1.not_before, "2026-12-03T00:00:10Z");
        let r2 = backoff(Some(&r1), "boom", now, &timing);
        assert_eq!(r2.not_before, "2026-12-03T00:00:20Z");
        let mut r = r2;
        for _ in 0..20 {
            r = backoff(Some(&r), "boom", now, &timing);
        }
        assert_eq!(r.not_before, "2026-12-03T00:05:00Z");
        assert_eq!(
            backoff_remaining(Some(&r), now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(backoff_remaining(Some(&r), t("2026-12-03T00:06:00Z")), None);
        assert_eq!(backoff_remaining(None, now), None);
    }
}
