//! Tests of fault decisions: one-shot queue, rates, throttle, validation.

use super::*;

fn rates(f: ActionFaults) -> FaultConfig {
    FaultConfig {
        actions: [(Action::CreateClusterNodes, f)].into_iter().collect(),
        ..FaultConfig::default()
    }
}

#[test]
fn one_shot_faults_are_consumed_in_order_and_only_by_matching_actions() {
    let mut s = FaultState::new(FaultConfig::default(), Some(1));
    s.add_once(OnceFault {
        action: Some(Action::CreateClusterNodes),
        fault: OnceKind::Error,
        count: 2,
    });
    assert!(s.injected_error(Action::DescribeTask).is_none());
    assert_eq!(
        s.injected_error(Action::CreateClusterNodes).unwrap().status,
        500
    );
    assert!(s.injected_error(Action::CreateClusterNodes).is_some());
    assert!(s.injected_error(Action::CreateClusterNodes).is_none());
    s.add_once(OnceFault {
        action: None,
        fault: OnceKind::PartialFailure,
        count: 1,
    });
    // A partial failure over one node is a full failure.
    assert_eq!(s.fate(Action::StopClusterNodes, 1), Fate::Fail);
    assert_eq!(s.fate(Action::StopClusterNodes, 3), Fate::Succeed);
}

#[test]
fn partial_failure_fails_some_but_not_all_nodes() {
    let mut s = FaultState::new(
        rates(ActionFaults {
            partial_failure_rate: 1.0,
            ..ActionFaults::default()
        }),
        Some(7),
    );
    for n in 2..10 {
        let Fate::Partial(mask) = s.fate(Action::CreateClusterNodes, n) else {
            panic!("expected a partial failure");
        };
        let failed = mask.iter().filter(|b| **b).count();
        assert!(failed >= 1 && failed < n, "{mask:?}");
    }
}

#[test]
fn seeded_rates_are_reproducible() {
    let cfg = rates(ActionFaults {
        error_rate: 0.5,
        ..ActionFaults::default()
    });
    let run = |seed| {
        let mut s = FaultState::new(cfg.clone(), Some(seed));
        (0..64)
            .map(|_| s.injected_error(Action::CreateClusterNodes).is_some())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(42), run(42));
    let hits = run(42).iter().filter(|b| **b).count();
    assert!(hits > 10 && hits < 54, "{hits}");
}

#[test]
fn throttle_limits_each_key_separately() {
    let mut s = FaultState::new(
        FaultConfig {
            throttle: Some(ThrottleConfig {
                requests_per_second: 1,
                burst: Some(2),
            }),
            ..FaultConfig::default()
        },
        None,
    );
    let a = Action::DescribeTask;
    assert!(s.throttle(a, "k1").is_ok());
    assert!(s.throttle(a, "k1").is_ok());
    let err = s.throttle(a, "k1").unwrap_err();
    assert_eq!((err.status, err.code.as_str()), (429, "Throttling"));
    assert!(s.throttle(a, "k2").is_ok());
}

#[test]
fn validation_names_the_bad_key() {
    let bad = rates(ActionFaults {
        lost_response_rate: 1.5,
        ..ActionFaults::default()
    });
    let msg = bad.validate().unwrap_err();
    assert!(
        msg.contains("actions.CreateClusterNodes.lostResponseRate"),
        "{msg}"
    );
    let bad = rates(ActionFaults {
        error_status: Some(200),
        ..ActionFaults::default()
    });
    assert!(bad.validate().unwrap_err().contains("errorStatus"));
}
