//! Input checks that need no state: decoding JSON bodies into the wire types (with the
//! failing field named), passwords, disks, boot scripts, node id lists and paging.
//! Messages say what is wrong and what is allowed; they never echo a password or script.

use crate::cck::types::AttachDisk;
use crate::sim::error::ApiError;
use base64::Engine as _;
use serde::de::DeserializeOwned;

/// Largest accepted `Command` (base64 text).
pub const MAX_COMMAND_LEN: usize = 16 * 1024;

/// Decodes a POST body strictly into `T`, mapping serde's errors to API errors:
/// missing field → `MissingParameter`, unknown field → `InvalidParameter`, anything
/// else (bad JSON, wrong type) → `ParamParseError`, always naming the field.
pub fn parse_body<T: DeserializeOwned>(action: &str, body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::param_parse(format!(
            "the request body is empty; {action} takes its parameters as a JSON object in the body (Content-Type: application/json)"
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| body_error(action, &e))?;
    // Trailing garbage after the object is as undecodable as a broken object.
    de.end()
        .map_err(|e| ApiError::param_parse(format!("the request body is not valid JSON: {e}")))?;
    Ok(value)
}

fn body_error(action: &str, e: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = e.inner();
    if !inner.is_data() {
        return ApiError::param_parse(format!("the request body is not valid JSON: {inner}"));
    }
    let msg = inner.to_string();
    let path = e.path().to_string();
    let prefix = if path == "." {
        String::new()
    } else {
        format!("{path}.")
    };
    if let Some(field) = backticked(&msg, "missing field `") {
        return ApiError::missing_msg(format!(
            "the required parameter {prefix}{field} is missing from the {action} body"
        ));
    }
    if msg.starts_with("unknown field `") {
        return ApiError::invalid(format!("{action} body: {msg} (at {path})"));
    }
    if path == "Password" {
        // serde quotes the offending value, which here could be the password itself.
        return ApiError::param_parse(format!("{action}: parameter Password must be a string"));
    }
    let at = if path == "." {
        "the body".to_owned()
    } else {
        format!("parameter {path}")
    };
    ApiError::param_parse(format!("{action}: {at} has the wrong type or value: {msg}"))
}

fn backticked<'a>(msg: &'a str, lead: &str) -> Option<&'a str> {
    let rest = msg.strip_prefix(lead)?;
    rest.split('`').next()
}

/// Treats an empty string as absent (the vendor's examples send `"PublicId": ""`).
pub fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|v| !v.is_empty())
}

pub const PASSWORD_RULE: &str = "8 to 30 characters from letters, digits and ASCII special characters (such as !@#$%^&*), with at least one uppercase letter, one lowercase letter, one digit and one special character";

/// The node password rule (undocumented by the vendor; its example satisfies this).
pub fn check_password(p: &str) -> Result<(), ApiError> {
    if p.is_empty() {
        return Err(ApiError::missing("Password"));
    }
    let len = p.chars().count();
    let ok = (8..=30).contains(&len)
        && p.chars().all(|c| c.is_ascii_graphic())
        && p.chars().any(|c| c.is_ascii_uppercase())
        && p.chars().any(|c| c.is_ascii_lowercase())
        && p.chars().any(|c| c.is_ascii_digit())
        && p.chars().any(|c| c.is_ascii_punctuation());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Password does not meet the rules: {PASSWORD_RULE}"
        )))
    }
}

pub fn check_disks(disks: &[AttachDisk]) -> Result<(), ApiError> {
    if disks.is_empty() {
        return Err(ApiError::invalid(
            "AttachDisks must list at least one data disk, e.g. [{\"DiskType\":\"HighDisk\",\"DiskSize\":100,\"Iops\":3000}]",
        ));
    }
    for (i, d) in disks.iter().enumerate() {
        if d.disk_type != "HighDisk" {
            return Err(ApiError::invalid(format!(
                "AttachDisks[{i}].DiskType {:?} is not offered; the only type is HighDisk",
                clip(&d.disk_type)
            )));
        }
        if let Some(s) = d.disk_size
            && !((100..=4000).contains(&s) && s % 100 == 0)
        {
            return Err(ApiError::invalid(format!(
                "AttachDisks[{i}].DiskSize {s} is not allowed; use 100 to 4000 GB in steps of 100 (default 100)"
            )));
        }
        if let Some(iops) = d.iops
            && iops != 3000
        {
            return Err(ApiError::invalid(format!(
                "AttachDisks[{i}].Iops {iops} is not allowed; the only value is 3000 (the default)"
            )));
        }
    }
    Ok(())
}

/// `Command` is a base64 boot script; its content is never echoed.
pub fn check_command(command: Option<&str>) -> Result<(), ApiError> {
    let Some(c) = non_empty(command) else {
        return Ok(());
    };
    if c.len() > MAX_COMMAND_LEN {
        return Err(ApiError::invalid(format!(
            "Command is {} bytes; at most {MAX_COMMAND_LEN} bytes of base64 are accepted",
            c.len()
        )));
    }
    base64::engine::general_purpose::STANDARD
        .decode(c)
        .map(|_| ())
        .map_err(|_| {
            ApiError::invalid(
                "Command must be base64 (standard alphabet with = padding), e.g. ZWNobyBoaQ== for `echo hi`",
            )
        })
}

/// NodeIds: at least one, at most `max`, no empty or repeated ids.
pub fn check_node_ids(ids: &[String], max: u32) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Err(ApiError::invalid(
            "NodeIds is empty; list at least one node id",
        ));
    }
    if ids.len() > max as usize {
        return Err(ApiError::invalid(format!(
            "NodeIds lists {} nodes; at most {max} are allowed per call, split the request",
            ids.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if id.is_empty() {
            return Err(ApiError::invalid("NodeIds contains an empty id"));
        }
        if !seen.insert(id.as_str()) {
            return Err(ApiError::invalid(format!(
                "NodeIds lists {} more than once; list each node once",
                clip(id)
            )));
        }
    }
    Ok(())
}

/// A positive integer paging parameter with a default and an optional maximum.
pub fn page_param(
    name: &str,
    value: Option<&str>,
    default: u64,
    max: Option<u64>,
) -> Result<u64, ApiError> {
    let Some(v) = non_empty(value) else {
        return Ok(default);
    };
    let n = v.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
        ApiError::invalid(format!(
            "{name} must be a positive integer, got {:?}",
            clip(v)
        ))
    })?;
    match max {
        Some(m) if n > m => Err(ApiError::invalid(format!(
            "{name} {n} is too large; the maximum is {m}"
        ))),
        _ => Ok(n),
    }
}

/// Shortens a caller-supplied value before it goes into a message.
pub fn clip(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
