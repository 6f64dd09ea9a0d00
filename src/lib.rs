//! cck-operator: a Kubernetes operator for the worker nodes of Capital Online CCK
//! clusters.
//!
//! The crate is organised by architectural layer:
//! - [`cck`]: the typed, signed CCK OpenAPI client (signing, wire types, errors, retries,
//!   rate limiting);
//! - [`sim`]: a stateful local stand-in for the CCK API, used by tests, benchmarks and demos;
//! - [`cli`]: the `cck-operator` command-line front end (`api`, `sim`).
#![forbid(unsafe_code)]

pub mod api;
pub mod cck;
pub mod cli;
pub mod controller;
pub mod sim;
pub mod telemetry;

/// Installs `ring` as the process-wide rustls crypto provider (idempotent). The binary
/// carries exactly one provider: kube uses ring, and reqwest is built without its own.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
