//! Authentication of API requests, exactly as the CCK gateway documents it: the common
//! query parameters, the HMAC-SHA1 signature over the canonical query (computed with the
//! client's own [`crate::cck::sign`] functions), the timestamp window and nonce replay
//! protection. POST bodies are not signed, only the query is.

use crate::cck::sign::{
    API_VERSION, Encoding, SIGNATURE_METHOD, SIGNATURE_VERSION, canonical_query, parse_timestamp,
    string_to_sign, verify_signature,
};
use crate::cck::types::Sensitive;
use crate::sim::config::AuthConfig;
use crate::sim::error::ApiError;
use crate::sim::validate::clip;
use jiff::Timestamp;
use std::collections::{HashMap, HashSet, VecDeque};

/// The parameters every request carries besides its business parameters.
pub const COMMON_PARAMS: [&str; 8] = [
    "Action",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "Version",
    "Signature",
];

const MAX_NONCE_LEN: usize = 128;

/// Decodes the raw query (`+` and `%20` are both a space); a repeated name is rejected
/// because the signature would be ambiguous.
pub fn parse_query(raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if !seen.insert(k.clone()) {
            return Err(ApiError::invalid(format!(
                "query parameter {} appears more than once; send each parameter once",
                clip(&k)
            )));
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

/// The value of `name`, if present.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A request whose signature checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
    pub nonce: String,
    pub timestamp: Timestamp,
}

/// Checks the common parameters, the access key, the timestamp and the signature.
/// The nonce is checked separately ([`NonceCache`]) since that needs shared state.
pub fn authenticate(
    params: &[(String, String)],
    method: &str,
    credentials: &HashMap<String, Sensitive>,
    auth: &AuthConfig,
    now: Timestamp,
) -> Result<Verified, ApiError> {
    for name in &COMMON_PARAMS[1..] {
        if param(params, name).is_none_or(str::is_empty) {
            return Err(ApiError::missing(name));
        }
    }
    let get = |n| param(params, n).unwrap_or_default();
    for (name, want) in [
        ("SignatureMethod", SIGNATURE_METHOD),
        ("SignatureVersion", SIGNATURE_VERSION),
        ("Version", API_VERSION),
    ] {
        if get(name) != want {
            return Err(ApiError::invalid(format!(
                "{name} {:?} is not supported; use {want}",
                clip(get(name))
            )));
        }
    }
    let nonce = get("SignatureNonce");
    if nonce.len() > MAX_NONCE_LEN {
        return Err(ApiError::invalid(format!(
            "SignatureNonce is longer than {MAX_NONCE_LEN} characters; use a random UUID"
        )));
    }
    let key = get("AccessKeyId");
    let Some(secret) = credentials.get(key) else {
        return Err(ApiError::new(
            403,
            "InvalidAccessKeyId",
            format!(
                "AccessKeyId {} is not known; use a credential from the simulator's config (printed at startup)",
                clip(key)
            ),
        ));
    };
    let ts_text = get("Timestamp");
    let Some(timestamp) = parse_timestamp(ts_text) else {
        return Err(ApiError::invalid(format!(
            "Timestamp {:?} is malformed; use UTC in the form yyyy-MM-ddTHH:mm:ssZ, e.g. 2024-05-26T06:21:46Z",
            clip(ts_text)
        )));
    };
    let candidate = get("Signature");
    let sts = string_to_sign(method, &canonical_query(params, Encoding::Rfc3986));
    let mut ok = verify_signature(secret.expose(), &sts, candidate);
    if !ok && auth.lenient_signatures {
        let go = string_to_sign(method, &canonical_query(params, Encoding::GoSdk));
        ok = verify_signature(secret.expose(), &go, candidate);
    }
    if !ok {
        return Err(ApiError::new(
            403,
            "SignatureDoesNotMatch",
            format!(
                "the signature does not match; the server's string to sign is {sts:?}. Sign every query parameter except Signature, sorted by name and RFC 3986-encoded, with HMAC-SHA1 keyed by the access key secret"
            ),
        ));
    }
    let skew = auth.timestamp_skew_seconds;
    let off = (now.as_second() - timestamp.as_second()).unsigned_abs();
    if off > skew {
        return Err(ApiError::new(
            403,
            "InvalidTimestamp",
            format!(
                "Timestamp {ts_text} is {off} s away from the server time {}; at most {skew} s are allowed, check the client's clock",
                crate::cck::sign::format_timestamp(now)
            ),
        ));
    }
    Ok(Verified {
        access_key_id: key.to_owned(),
        nonce: nonce.to_owned(),
        timestamp,
    })
}

/// Nonces accepted recently, per access key. An entry lives until its request's
/// timestamp leaves the skew window (after that the timestamp check rejects a replay),
/// so memory is bounded by the request rate; `cap` bounds it absolutely.
pub struct NonceCache {
    seen: HashMap<(String, String), i64>,
    order: VecDeque<(i64, (String, String))>,
    cap: usize,
}

impl NonceCache {
    pub fn new(cap: usize) -> Self {
        Self {
            seen: HashMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Rejects a nonce seen within its window, otherwise remembers it.
    pub fn check_and_record(
        &mut self,
        v: &Verified,
        skew_seconds: u64,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let now_s = now.as_second();
        while let Some((exp, _)) = self.order.front() {
            if *exp > now_s {
                break;
            }
            if let Some((exp, key)) = self.order.pop_front()
                && self.seen.get(&key) == Some(&exp)
            {
                self.seen.remove(&key);
            }
        }
        let key = (v.access_key_id.clone(), v.nonce.clone());
        if self.seen.get(&key).is_some_and(|exp| *exp > now_s) {
            return Err(ApiError::new(
                403,
                "SignatureNonceUsed",
                format!(
                    "SignatureNonce {} was already used; send a fresh random nonce (a UUID) with every request, retries included",
                    clip(&v.nonce)
                ),
            ));
        }
        let exp = v
            .timestamp
            .as_second()
            .saturating_add(i64::try_from(skew_seconds).unwrap_or(i64::MAX))
            .max(now_s + 1);
        self.seen.insert(key.clone(), exp);
        self.order.push_back((exp, key));
        while self.seen.len() > self.cap {
            match self.order.pop_front() {
                Some((exp, key)) => {
                    if self.seen.get(&key) == Some(&exp) {
                        self.seen.remove(&key);
                    }
                }
                None => break,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
