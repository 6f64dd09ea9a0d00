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
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

/// The parameters every request carries besides its business parameters (`Action`
/// first).
pub use crate::cck::sign::COMMON_PARAMS;

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

/// Nonces accepted recently, per access key.
///
/// An entry lives as long as a replay of its request could still pass the timestamp
/// check, i.e. through the second `Timestamp + skew`; after that the timestamp check
/// rejects a replay on its own. Entries expire by their own deadline (a min-heap), not
/// by arrival order, so one request stamped in the future cannot keep expired entries
/// alive behind it. Memory is bounded by the request rate times the window, and by
/// `cap` absolutely; at the cap the entry closest to expiry is dropped first.
///
/// Each entry is a keyed 128-bit digest of (access key id, nonce) and its deadline,
/// about 70 bytes whatever the nonce length, instead of two copies of both strings.
pub struct NonceCache {
    seen: HashMap<u128, i64>,
    expiry: BinaryHeap<Reverse<(i64, u128)>>,
    cap: usize,
    hashers: (RandomState, RandomState),
}

impl NonceCache {
    pub fn new(cap: usize) -> Self {
        Self {
            seen: HashMap::new(),
            expiry: BinaryHeap::new(),
            cap,
            hashers: (RandomState::new(), RandomState::new()),
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn digest(&self, access_key_id: &str, nonce: &str) -> u128 {
        // `str` hashes with a terminator, so the pair is unambiguous; two independent
        // random SipHash keys make collisions impossible to aim for.
        let hi = self.hashers.0.hash_one((access_key_id, nonce));
        let lo = self.hashers.1.hash_one((access_key_id, nonce));
        (u128::from(hi) << 64) | u128::from(lo)
    }

    fn pop_soonest(&mut self) -> bool {
        match self.expiry.pop() {
            Some(Reverse((exp, key))) => {
                if self.seen.get(&key) == Some(&exp) {
                    self.seen.remove(&key);
                }
                true
            }
            None => false,
        }
    }

    /// Rejects a nonce seen within its window, otherwise remembers it.
    pub fn check_and_record(
        &mut self,
        v: &Verified,
        skew_seconds: u64,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let now_s = now.as_second();
        while self
            .expiry
            .peek()
            .is_some_and(|Reverse((exp, _))| *exp <= now_s)
        {
            self.pop_soonest();
        }
        let key = self.digest(&v.access_key_id, &v.nonce);
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
        // The timestamp check still accepts a replay at `Timestamp + skew` exactly, so
        // the entry must outlive that second.
        let exp = v
            .timestamp
            .as_second()
            .saturating_add(i64::try_from(skew_seconds).unwrap_or(i64::MAX))
            .saturating_add(1)
            .max(now_s.saturating_add(1));
        self.seen.insert(key, exp);
        self.expiry.push(Reverse((exp, key)));
        while self.seen.len() > self.cap {
            if !self.pop_soonest() {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
