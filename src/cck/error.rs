//! Errors of the CCK client, classified by what they mean for the caller: whether the
//! request can have taken effect, and whether repeating it is safe.
//!
//! The distinction matters because mutating actions have no idempotency token: a create
//! whose response was lost may have created nodes, so it is reported as
//! [`CckError::UnknownOutcome`], never as a failure.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CckError {
    /// The request could not be built; nothing was sent.
    #[error("{action}: invalid request: {reason}")]
    InvalidRequest { action: String, reason: String },

    /// The transport failed before the request left this process (connection refused,
    /// DNS, TLS handshake): the server cannot have seen it.
    #[error("{action}: could not connect to {endpoint}: {detail}")]
    NotSent {
        action: String,
        endpoint: String,
        detail: String,
    },

    /// The request may have reached the server but no complete answer came back
    /// (timeout, connection reset, truncated body, gateway error page).
    #[error(
        "{action}: outcome unknown: the request may have reached {endpoint} but no complete response arrived ({detail}); if the action changes state, check whether it took effect before repeating it"
    )]
    UnknownOutcome {
        action: String,
        endpoint: String,
        detail: String,
    },

    /// The API refused the request because of its rate limit; it did not take effect.
    #[error(
        "{action}: throttled by the API (HTTP {status}, Code {code}, RequestId {request_id}): {msg}; lower the request rate"
    )]
    Throttled {
        action: String,
        status: u16,
        code: String,
        msg: String,
        request_id: String,
    },

    /// The API answered with an error envelope; the request did not take effect.
    #[error("{action} failed: HTTP {status}, Code {code}: {msg} (RequestId {request_id})")]
    Api {
        action: String,
        status: u16,
        code: String,
        msg: String,
        request_id: String,
    },

    /// The response arrived but is not a CCK envelope we can read.
    #[error("{action}: undecodable response (HTTP {status}): {reason}; body begins {snippet:?}")]
    Decode {
        action: String,
        status: u16,
        reason: String,
        snippet: String,
    },
}

impl CckError {
    /// The action the error belongs to.
    pub fn action(&self) -> &str {
        match self {
            CckError::InvalidRequest { action, .. }
            | CckError::NotSent { action, .. }
            | CckError::UnknownOutcome { action, .. }
            | CckError::Throttled { action, .. }
            | CckError::Api { action, .. }
            | CckError::Decode { action, .. } => action,
        }
    }

    /// The API's error code, when the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            CckError::Throttled { code, .. } | CckError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The server's RequestId, when there was one (quote it to the vendor's support).
    pub fn request_id(&self) -> Option<&str> {
        match self {
            CckError::Throttled { request_id, .. } | CckError::Api { request_id, .. } => {
                Some(request_id)
            }
            _ => None,
        }
    }

    /// True when the request may have changed cloud state even though it reported an
    /// error: only an unknown outcome (a decode failure of a 2xx body counts too, since
    /// the server accepted the request).
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            CckError::UnknownOutcome { .. } => true,
            CckError::Decode { status, .. } => (200..300).contains(status),
            _ => false,
        }
    }

    /// True for errors a read may retry: transport trouble, throttling and server errors.
    pub fn is_transient(&self) -> bool {
        match self {
            CckError::NotSent { .. } | CckError::UnknownOutcome { .. } => true,
            CckError::Throttled { .. } => true,
            CckError::Api { status, .. } => *status >= 500,
            CckError::InvalidRequest { .. } | CckError::Decode { .. } => false,
        }
    }

    /// The error without its RequestId, for conditions: the same failure gives the
    /// same text, so repeating it does not rewrite the object's status.
    pub fn summary(&self) -> String {
        match self {
            CckError::Api {
                action,
                status,
                code,
                msg,
                ..
            }
            | CckError::Throttled {
                action,
                status,
                code,
                msg,
                ..
            } => format!("{action} failed: HTTP {status}, Code {code}: {msg}"),
            other => other.to_string(),
        }
    }

    /// A short, stable label for metrics and conditions.
    pub fn kind(&self) -> &'static str {
        match self {
            CckError::InvalidRequest { .. } => "invalid_request",
            CckError::NotSent { .. } => "not_sent",
            CckError::UnknownOutcome { .. } => "unknown_outcome",
            CckError::Throttled { .. } => "throttled",
            CckError::Api { .. } => "api_error",
            CckError::Decode { .. } => "decode_error",
        }
    }
}
