//! The CCK OpenAPI client.
//!
//! - [`sign`]: the pure request-signing algorithm (HMAC-SHA1 over a canonical query);
//! - [`types`]: the actions and their request/response bodies, as the API spells them;
//! - [`error`]: what can go wrong, classified by whether the request may have taken effect;
//! - [`client`]: the HTTP client with rate limiting, retries of reads, timeouts and tracing.

pub mod client;
pub mod envelope;
pub mod error;
pub mod sign;
pub mod types;

pub use client::{
    CckClient, ClientConfig, DEFAULT_ENDPOINT, RateLimiters, RawResponse, SharedLimiter,
};
pub use error::CckError;
pub use types::*;
