//! The pool's conditions (`Ready`, `Progressing`, `Degraded`) and phase, computed from a
//! summary of one reconcile. Pure; `lastTransitionTime` changes only when a condition's
//! status does.

use jiff::Timestamp;

use crate::api::status::Condition;

use super::planner::Counts;

/// What one reconcile found, for the conditions.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub replicas: i32,
    pub counts: Counts,
    pub paused: bool,
    pub deleting: bool,
    /// A spec rule is broken (message lists them).
    pub invalid: Option<String>,
    /// A referenced object, the cloud or a runtime check failed: (reason, message).
    pub blocked: Option<(String, String)>,
    /// Mutations are held back until the backoff ends: (until, RFC 3339; last error).
    pub backoff: Option<(String, String)>,
    /// Tasks in flight plus an unresolved create.
    pub in_flight: usize,
    pub waiting: Vec<String>,
}

/// A condition to set: (type, status, reason, message).
pub type Wanted = (&'static str, &'static str, String, String);

pub fn evaluate(s: &Summary) -> (&'static str, Vec<Wanted>) {
    let c = &s.counts;
    let converged = c.ready == s.replicas && c.owned == s.replicas;
    let counts_msg = format!(
        "{} of {} nodes ready ({} owned, {} provisioning, {} stopped, {} unhealthy, {} leaving)",
        c.ready, s.replicas, c.owned, c.provisioning, c.stopped, c.unhealthy, c.leaving
    );
    let (ready_status, ready_reason, ready_msg) = if let Some(m) = &s.invalid {
        ("False", "InvalidSpec".to_owned(), m.clone())
    } else if let Some((r, m)) = &s.blocked {
        ("False", r.clone(), m.clone())
    } else if converged {
        ("True", "AllNodesReady".to_owned(), counts_msg.clone())
    } else if c.active() < s.replicas {
        ("False", "ScalingUp".to_owned(), counts_msg.clone())
    } else if c.active() > s.replicas {
        ("False", "ScalingDown".to_owned(), counts_msg.clone())
    } else {
        ("False", "NodesNotReady".to_owned(), counts_msg.clone())
    };
    let (prog_status, prog_reason, prog_msg) = if s.paused {
        ("False", "Paused".to_owned(), "cloud mutations are paused (spec.paused or the cck.capitalonline.net/paused annotation)".to_owned())
    } else if s.in_flight > 0
        || !s.waiting.is_empty()
        || (!converged && s.invalid.is_none() && s.blocked.is_none())
    {
        let mut m = format!("{} cloud operation(s) in flight", s.in_flight);
        for w in &s.waiting {
            m.push_str("; ");
            m.push_str(w);
        }
        ("True", "Converging".to_owned(), m)
    } else {
        ("False", "Converged".to_owned(), counts_msg.clone())
    };
    let (deg_status, deg_reason, deg_msg) = if let Some(m) = &s.invalid {
        ("True", "InvalidSpec".to_owned(), m.clone())
    } else if let Some((r, m)) = &s.blocked {
        ("True", r.clone(), m.clone())
    } else if let Some((until, e)) = &s.backoff {
        (
            "True",
            "BackingOff".to_owned(),
            format!("no cloud mutation before {until}; last error: {e}"),
        )
    } else if c.unhealthy > 0 {
        (
            "True",
            "UnhealthyNodes".to_owned(),
            format!("{} node(s) in Error are being replaced", c.unhealthy),
        )
    } else {
        ("False", "AsExpected".to_owned(), String::new())
    };
    let phase = if s.deleting {
        "Deleting"
    } else if s.invalid.is_some() {
        "Invalid"
    } else if s.paused {
        "Paused"
    } else if deg_status == "True" {
        "Degraded"
    } else if converged {
        "Ready"
    } else {
        "Scaling"
    };
    (
        phase,
        vec![
            ("Ready", ready_status, ready_reason, ready_msg),
            ("Progressing", prog_status, prog_reason, prog_msg),
            ("Degraded", deg_status, deg_reason, deg_msg),
        ],
    )
}

/// Sets conditions, keeping `lastTransitionTime` when the status did not change.
pub fn apply(
    conditions: &mut Vec<Condition>,
    wanted: Vec<Wanted>,
    now: Timestamp,
    generation: Option<i64>,
) {
    for (type_, status, reason, message) in wanted {
        let message: String = message.chars().take(2000).collect();
        match conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(c) => {
                if c.status != status {
                    c.last_transition_time = now.to_string();
                }
                c.status = status.into();
                c.reason = reason;
                c.message = message;
                c.observed_generation = generation;
            }
            None => conditions.push(Condition {
                type_: type_.into(),
                status: status.into(),
                reason,
                message,
                last_transition_time: now.to_string(),
                observed_generation: generation,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(ready: i32, owned: i32) -> Counts {
        Counts {
            owned,
            ready,
            provisioning: owned - ready,
            ..Counts::default()
        }
    }

    #[test]
    fn converged_pool_is_ready() {
        let (phase, w) = evaluate(&Summary {
            replicas: 2,
            counts: counts(2, 2),
            ..Summary::default()
        });
        assert_eq!(phase, "Ready");
        assert_eq!((w[0].1, w[1].1, w[2].1), ("True", "False", "False"));
    }

    #[test]
    fn scaling_and_invalid_and_blocked() {
        let (phase, w) = evaluate(&Summary {
            replicas: 3,
            counts: counts(1, 2),
            in_flight: 1,
            ..Summary::default()
        });
        assert_eq!(phase, "Scaling");
        assert_eq!(w[0].2, "ScalingUp");
        assert_eq!(w[1].1, "True");
        let (phase, w) = evaluate(&Summary {
            replicas: 3,
            invalid: Some("spec.template: bad".into()),
            ..Summary::default()
        });
        assert_eq!(phase, "Invalid");
        assert_eq!((w[0].2.as_str(), w[2].1), ("InvalidSpec", "True"));
        let (phase, w) = evaluate(&Summary {
            replicas: 3,
            blocked: Some(("ReferenceInvalid".into(), "Secret x missing".into())),
            ..Summary::default()
        });
        assert_eq!(phase, "Degraded");
        assert_eq!(w[0].3, "Secret x missing");
    }

    #[test]
    fn transition_time_moves_only_on_status_change() {
        let t1: Timestamp = "2026-12-03T00:00:00Z".parse().unwrap();
        let t2: Timestamp = "2026-12-03T00:01:00Z".parse().unwrap();
        let mut conds = Vec::new();
        apply(
            &mut conds,
            vec![("Ready", "False", "ScalingUp".into(), "a".into())],
            t1,
            Some(1),
        );
        apply(
            &mut conds,
            vec![("Ready", "False", "ScalingUp".into(), "b".into())],
            t2,
            Some(2),
        );
        assert_eq!(conds[0].last_transition_time, t1.to_string());
        assert_eq!(conds[0].message, "b");
        apply(
            &mut conds,
            vec![("Ready", "True", "AllNodesReady".into(), "c".into())],
            t2,
            Some(2),
        );
        assert_eq!(conds[0].last_transition_time, t2.to_string());
    }
}
