//! Fault injection: per-action error, latency, task-failure, partial-failure and
//! lost-response rates, a per-access-key throttle, and deterministic one-shot faults
//! that tests queue through the admin API.
//!
//! Every random decision comes from one `StdRng`, seeded from the config's `seed` when
//! given, so a scripted run sees the same faults every time. Rates of 0 draw nothing,
//! so enabling a fault for one action does not shift the others' sequences.

use crate::cck::types::Action;
use crate::sim::error::ApiError;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

/// The fault configuration (config file `faults`, admin `GET/PUT /_sim/v1/faults`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Per-access-key request rate limit; exceeding it gives 429 `Throttling`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleConfig>,
    /// Faults for every action that has no entry in `actions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<ActionFaults>,
    /// Faults per action name (an entry replaces `default` for that action).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub actions: BTreeMap<Action, ActionFaults>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThrottleConfig {
    pub requests_per_second: u32,
    /// Requests allowed at once before the rate applies (default: `requestsPerSecond`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

/// Faults of one action. Rates are probabilities in 0..=1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ActionFaults {
    /// Reject with 500 `InternalError` (or `errorStatus`/`errorCode`), changing nothing.
    pub error_rate: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_status: Option<u16>,
    /// Added after the request is processed and before the response is sent, so a
    /// client that times out does not know whether a mutation happened.
    pub latency_ms: u64,
    /// The accepted task ends in `Error`.
    pub task_failure_rate: f64,
    /// With more than one node, some nodes fail and the task ends in `part_fail`.
    pub partial_failure_rate: f64,
    /// The action is applied but the client gets a broken connection instead of a response.
    pub lost_response_rate: f64,
}

/// What a one-shot fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnceKind {
    LostResponse,
    Error,
    TaskFailure,
    PartialFailure,
    Throttle,
}

/// A fault consumed by the next `count` matching requests (admin `POST /_sim/v1/faults/once`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnceFault {
    /// The action it applies to; absent means any action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    pub fault: OnceKind,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// How an accepted task will end, decided when it is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Fate {
    Succeed,
    Fail,
    /// `true` marks a node (in request order) that fails.
    Partial(Vec<bool>),
}

impl FaultConfig {
    /// Checks ranges; the message names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(t) = &self.throttle {
            if t.requests_per_second == 0 {
                return Err("faults.throttle.requestsPerSecond must be at least 1".into());
            }
            if t.burst == Some(0) {
                return Err("faults.throttle.burst must be at least 1".into());
            }
        }
        let entries = self
            .default
            .iter()
            .map(|f| ("default".to_owned(), f))
            .chain(
                self.actions
                    .iter()
                    .map(|(a, f)| (format!("actions.{a}"), f)),
            );
        for (name, f) in entries {
            for (key, rate) in [
                ("errorRate", f.error_rate),
                ("taskFailureRate", f.task_failure_rate),
                ("partialFailureRate", f.partial_failure_rate),
                ("lostResponseRate", f.lost_response_rate),
            ] {
                if !(0.0..=1.0).contains(&rate) {
                    return Err(format!(
                        "faults.{name}.{key} is {rate}; a rate must be between 0 and 1"
                    ));
                }
            }
            if let Some(s) = f.error_status
                && !(400..=599).contains(&s)
            {
                return Err(format!(
                    "faults.{name}.errorStatus is {s}; use an HTTP error status 400..599"
                ));
            }
            if f.error_code.as_deref() == Some("") {
                return Err(format!("faults.{name}.errorCode must not be empty"));
            }
        }
        Ok(())
    }

    fn for_action(&self, action: Action) -> Option<&ActionFaults> {
        self.actions.get(&action).or(self.default.as_ref())
    }
}

/// Live fault state: the config, queued one-shot faults, the RNG and the throttle.
pub struct FaultState {
    config: FaultConfig,
    once: Vec<OnceFault>,
    rng: StdRng,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl FaultState {
    pub fn new(config: FaultConfig, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        let limiter = build_limiter(&config);
        Self {
            config,
            once: Vec::new(),
            rng,
            limiter,
        }
    }

    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Replaces the config (already validated); throttle buckets start afresh.
    pub fn replace(&mut self, config: FaultConfig) {
        self.limiter = build_limiter(&config);
        self.config = config;
    }

    pub fn add_once(&mut self, fault: OnceFault) {
        if fault.count > 0 {
            self.once.push(fault);
        }
    }

    pub fn clear_once(&mut self) {
        self.once.clear();
    }

    pub fn pending_once(&self) -> &[OnceFault] {
        &self.once
    }

    /// Takes one unit of the first queued fault of one of `kinds` matching `action`.
    fn take_once(&mut self, action: Action, kinds: &[OnceKind]) -> Option<OnceKind> {
        let idx = self
            .once
            .iter()
            .position(|f| kinds.contains(&f.fault) && f.action.is_none_or(|a| a == action))?;
        let kind = self.once[idx].fault;
        self.once[idx].count -= 1;
        if self.once[idx].count == 0 {
            self.once.remove(idx);
        }
        Some(kind)
    }

    fn roll(&mut self, p: f64) -> bool {
        p > 0.0 && (p >= 1.0 || self.rng.random::<f64>() < p)
    }

    /// 429 `Throttling` if the key is over its rate or a one-shot throttle is queued.
    pub fn throttle(&mut self, action: Action, access_key_id: &str) -> Result<(), ApiError> {
        if self.take_once(action, &[OnceKind::Throttle]).is_some() {
            return Err(throttled("a one-shot throttle fault was queued"));
        }
        if let (Some(limiter), Some(t)) = (&self.limiter, &self.config.throttle)
            && limiter.check_key(&access_key_id.to_owned()).is_err()
        {
            return Err(throttled(&format!(
                "access key {access_key_id} exceeded {} requests per second",
                t.requests_per_second
            )));
        }
        Ok(())
    }

    /// An injected error response for this request, if any; nothing is changed.
    pub fn injected_error(&mut self, action: Action) -> Option<ApiError> {
        if self.take_once(action, &[OnceKind::Error]).is_some() {
            return Some(ApiError::internal(
                "simulated internal error (one-shot fault); nothing was changed, retry",
            ));
        }
        let f = self.config.for_action(action)?.clone();
        if !self.roll(f.error_rate) {
            return None;
        }
        Some(ApiError::new(
            f.error_status.unwrap_or(500),
            f.error_code.unwrap_or_else(|| "InternalError".into()),
            "simulated error (fault injection); nothing was changed, retry",
        ))
    }

    /// How the task of an accepted mutating request over `n` nodes will end.
    pub fn fate(&mut self, action: Action, n: usize) -> Fate {
        let kinds = [OnceKind::TaskFailure, OnceKind::PartialFailure];
        let chosen = match self.take_once(action, &kinds) {
            Some(k) => Some(k),
            None => {
                let f = self.config.for_action(action).cloned().unwrap_or_default();
                if self.roll(f.task_failure_rate) {
                    Some(OnceKind::TaskFailure)
                } else if n > 1 && self.roll(f.partial_failure_rate) {
                    Some(OnceKind::PartialFailure)
                } else {
                    None
                }
            }
        };
        match chosen {
            // A single node cannot fail partially: the whole task fails.
            Some(OnceKind::PartialFailure) if n > 1 => {
                let k = self.rng.random_range(1..n);
                let mut mask = vec![false; n];
                for i in rand::seq::index::sample(&mut self.rng, n, k) {
                    mask[i] = true;
                }
                Fate::Partial(mask)
            }
            Some(_) => Fate::Fail,
            None => Fate::Succeed,
        }
    }

    /// Whether the response of this accepted request is lost (the change stays).
    pub fn lost_response(&mut self, action: Action) -> bool {
        if self.take_once(action, &[OnceKind::LostResponse]).is_some() {
            return true;
        }
        let rate = self
            .config
            .for_action(action)
            .map_or(0.0, |f| f.lost_response_rate);
        self.roll(rate)
    }

    pub fn latency(&self, action: Action) -> Duration {
        Duration::from_millis(self.config.for_action(action).map_or(0, |f| f.latency_ms))
    }
}

fn throttled(why: &str) -> ApiError {
    ApiError::new(
        429,
        "Throttling",
        format!("request was throttled: {why}; slow down and retry later"),
    )
}

fn build_limiter(config: &FaultConfig) -> Option<DefaultKeyedRateLimiter<String>> {
    let t = config.throttle.as_ref()?;
    let rps = NonZeroU32::new(t.requests_per_second)?;
    let burst = t.burst.and_then(NonZeroU32::new).unwrap_or(rps);
    Some(RateLimiter::keyed(
        Quota::per_second(rps).allow_burst(burst),
    ))
}

#[cfg(test)]
#[path = "faults_tests.rs"]
mod tests;
