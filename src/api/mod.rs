//! The Kubernetes API of the operator: the `CckNodePool` custom resource
//! ([`v1alpha1`], with its [`status`]) and the run-time re-check of its validation
//! rules ([`validation`]).

pub mod status;
pub mod v1alpha1;
pub mod validation;

pub use v1alpha1::*;
