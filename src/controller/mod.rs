//! The `CckNodePool` controller.
//!
//! ```text
//!  watch CckNodePool, Secrets ──► reconcile (shell, reconcile.rs)
//!        │ dereference (inputs.rs) ─ observe (cloud.rs: shared listings, task polls)
//!        │ ledger.rs: refresh, adopt, attribute, judge the create intent     (pure)
//!        │ planner.rs: steps to take now                                      (pure)
//!        │ progress.rs / conditions.rs: tasks, backoff, conditions            (pure)
//!        └ execute steps (create protocol under the per-cluster lock) ─ patch status ─ Events
//! ```
//! `docs/ownership.md` describes the ownership protocol and its invariants.

pub mod cloud;
pub mod conditions;
pub mod context;
mod execute;
pub mod inputs;
pub mod ledger;
pub mod metrics;
pub mod planner;
pub mod progress;
pub mod reconcile;
pub mod runner;
