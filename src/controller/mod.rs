//! The `CckNodePool` controller: the pure ownership [`ledger`] rules and planner, and the
//! reconcile shell around them.

pub mod ledger;
pub mod planner;
