//! Request counters per action, served by `GET /_sim/v1/stats`, so a test can assert
//! what reached the "cloud" (e.g. that a dry run made no CreateClusterNodes call).

use serde::Serialize;
use std::collections::BTreeMap;

/// Counters of one action (or of all actions together).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counter {
    pub received: u64,
    pub accepted: u64,
    /// Rejections by error code.
    pub rejected: BTreeMap<String, u64>,
    /// Accepted requests whose response was dropped on purpose (also counted in `accepted`).
    pub lost_responses: u64,
}

impl Counter {
    fn record(&mut self, outcome: Result<(), &str>, lost: bool) {
        self.received += 1;
        match outcome {
            Ok(()) => self.accepted += 1,
            Err(code) => *self.rejected.entry(code.to_owned()).or_default() += 1,
        }
        if lost {
            self.lost_responses += 1;
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub total: Counter,
    /// Keyed by action name; requests without a valid action count as `(none)` or
    /// `(unsupported)`.
    pub actions: BTreeMap<String, Counter>,
}

impl Stats {
    pub fn record(&mut self, action: &str, outcome: Result<(), &str>, lost: bool) {
        self.total.record(outcome, lost);
        match self.actions.get_mut(action) {
            Some(c) => c.record(outcome, lost),
            None => {
                let mut c = Counter::default();
                c.record(outcome, lost);
                self.actions.insert(action.to_owned(), c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_action_and_in_total() {
        let mut s = Stats::default();
        s.record("CreateClusterNodes", Ok(()), true);
        s.record("CreateClusterNodes", Err("InvalidParameter"), false);
        s.record("DescribeTask", Ok(()), false);
        let c = &s.actions["CreateClusterNodes"];
        assert_eq!((c.received, c.accepted, c.lost_responses), (2, 1, 1));
        assert_eq!(c.rejected["InvalidParameter"], 1);
        assert_eq!((s.total.received, s.total.accepted), (3, 2));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["actions"]["DescribeTask"]["accepted"], 1);
        assert_eq!(json["total"]["lostResponses"], 1);
    }
}
