//! Errors of the simulator: [`SimError`] for the process (config, state file, socket) and
//! [`ApiError`] for one rejected API or admin request, which becomes an error envelope.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the simulator could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read config file {path}: {source}", path = path.display())]
    ConfigRead {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid YAML/JSON for the schema; `location` is the key path
    /// (e.g. `clusters[0].snats[1].name`) and `message` the parser's error.
    #[error("invalid config file {path}: at `{location}`: {message}", path = path.display())]
    ConfigParse {
        path: PathBuf,
        location: String,
        message: String,
    },
    /// The config parsed but breaks a rule (duplicate ids, rates outside 0..1, ...).
    #[error("invalid config ({origin}): {message}")]
    ConfigInvalid { origin: String, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("simulator server failed: {0}")]
    Serve(std::io::Error),
    #[error("cannot read state file {path}: {source}", path = path.display())]
    StateRead {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A state file exists but cannot be used; the simulator refuses to start empty.
    #[error(
        "state file {path} is corrupt or incompatible (at `{location}`: {message}); fix it, or delete it to start from the config",
        path = path.display()
    )]
    StateCorrupt {
        path: PathBuf,
        location: String,
        message: String,
    },
    #[error("cannot write state file {path}: {source}", path = path.display())]
    StateWrite {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A serde key path for messages; the root (or an unknown position, as at a premature
/// end of file) is shown as "top level".
pub(crate) fn key_path(path: &serde_path_to_error::Path) -> String {
    let s = path.to_string();
    if s == "." || s == "?" {
        "top level".to_owned()
    } else {
        s
    }
}

/// One rejected request: HTTP status, API error code and a message that says what is
/// wrong and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub msg: String,
}

impl ApiError {
    pub fn new(status: u16, code: impl Into<String>, msg: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            msg: msg.into(),
        }
    }
    pub fn param_parse(msg: impl Into<String>) -> Self {
        Self::new(400, "ParamParseError", msg)
    }
    pub fn missing(name: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!("the required parameter {name} is missing or empty"),
        )
    }
    pub fn missing_msg(msg: impl Into<String>) -> Self {
        Self::new(400, "MissingParameter", msg)
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::new(400, "InvalidParameter", msg)
    }
    pub fn operation(msg: impl Into<String>) -> Self {
        Self::new(403, "InvalidOperation", msg)
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(404, "NotFound", msg)
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(500, "InternalError", msg)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.msg)
    }
}
