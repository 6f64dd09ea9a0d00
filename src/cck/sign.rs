//! Request signing for the CCK OpenAPI (HMAC-SHA1, signature version 1.0).
//!
//! Everything here is pure: the caller supplies the nonce and the timestamp, so the
//! byte-exact vectors in `shared/cck/signature-vectors.json` can be checked, and the
//! simulator reuses the same functions to verify what clients send.
//!
//! ```text
//! params (common + business, minus Signature)
//!   -> sort by name, RFC 3986-encode names and values, join "k=v" with '&'   (canonical query)
//!   -> METHOD + "&%2F&" + encode(canonical query)                          (string to sign)
//!   -> base64(HMAC-SHA1(secret, string to sign))                           (Signature)
//! ```

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;

/// `SignatureMethod` sent on every request.
pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";
/// `SignatureVersion` sent on every request.
pub const SIGNATURE_VERSION: &str = "1.0";
/// `Version` (API version) sent on every request.
pub const API_VERSION: &str = "2019-08-08";

/// The common query parameters: set by the signer, never by the caller.
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

/// Everything but the RFC 3986 unreserved characters `A-Z a-z 0-9 - _ . ~` is encoded.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// How spaces are encoded in the canonical query.
///
/// `Rfc3986` is the documented algorithm. `GoSdk` reproduces the vendor's Go SDK, which
/// signs a space as `+`; the simulator accepts it only in its lenient mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Rfc3986,
    GoSdk,
}

/// Percent-encodes `s` with RFC 3986 rules: unreserved characters stay, every other
/// byte of the UTF-8 encoding becomes `%XY` with uppercase hex (a space is `%20`).
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

fn encode_with(s: &str, encoding: Encoding) -> String {
    match encoding {
        Encoding::Rfc3986 => percent_encode(s),
        Encoding::GoSdk => percent_encode(s).replace("%20", "+"),
    }
}

/// Builds the canonical query string from every parameter except `Signature`.
///
/// Parameters are sorted by name in byte order (and by value for equal names, so the
/// result never depends on input order).
pub fn canonical_query<K, V>(params: &[(K, V)], encoding: Encoding) -> String
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, _)| *k != "Signature")
        .collect();
    pairs.sort_unstable();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&encode_with(k, encoding));
        out.push('=');
        out.push_str(&encode_with(v, encoding));
    }
    out
}

/// `METHOD&%2F&percent_encode(canonical_query)`.
pub fn string_to_sign(method: &str, canonical_query: &str) -> String {
    format!(
        "{}&%2F&{}",
        method.to_ascii_uppercase(),
        percent_encode(canonical_query)
    )
}

fn mac(secret: &str) -> Hmac<Sha1> {
    // HMAC accepts keys of any length, so this cannot fail.
    <Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA1 accepts keys of any length")
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`; the key is the bare secret.
pub fn signature(secret: &str, string_to_sign: &str) -> String {
    let mut m = mac(secret);
    m.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
}

/// Checks `candidate` against the expected signature in constant time.
pub fn verify_signature(secret: &str, string_to_sign: &str, candidate: &str) -> bool {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(candidate.trim()) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(string_to_sign.as_bytes());
    m.verify_slice(&raw).is_ok()
}

/// Formats a timestamp the way the API expects it: UTC, `yyyy-MM-ddTHH:mm:ssZ`.
pub fn format_timestamp(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a `Timestamp` parameter (`yyyy-MM-ddTHH:mm:ssZ`).
pub fn parse_timestamp(s: &str) -> Option<jiff::Timestamp> {
    if s.len() != 20 || s.as_bytes()[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let civil = jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%SZ", s).ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// What one signed request needs besides its business parameters.
#[derive(Clone, Copy)]
pub struct SigningInput<'a> {
    pub method: &'a str,
    pub action: &'a str,
    pub access_key_id: &'a str,
    pub access_key_secret: &'a str,
    pub nonce: &'a str,
    pub timestamp: &'a str,
}

impl std::fmt::Debug for SigningInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningInput")
            .field("method", &self.method)
            .field("action", &self.action)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field("nonce", &self.nonce)
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

/// Returns every query parameter to send: common ones, the non-empty business ones and
/// `Signature` last. Empty business values are left out, as the API asks.
pub fn signed_query(
    input: SigningInput<'_>,
    business: &[(String, String)],
) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = vec![
        ("Action".into(), input.action.into()),
        ("AccessKeyId".into(), input.access_key_id.into()),
        ("SignatureMethod".into(), SIGNATURE_METHOD.into()),
        ("SignatureVersion".into(), SIGNATURE_VERSION.into()),
        ("SignatureNonce".into(), input.nonce.into()),
        ("Timestamp".into(), input.timestamp.into()),
        ("Version".into(), API_VERSION.into()),
    ];
    params.extend(
        business
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    let canonical = canonical_query(&params, Encoding::Rfc3986);
    let sig = signature(
        input.access_key_secret,
        &string_to_sign(input.method, &canonical),
    );
    params.push(("Signature".into(), sig));
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    struct Vectors {
        access_key_id: String,
        access_key_secret: String,
        signature_nonce: String,
        timestamp: String,
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        method: String,
        action: String,
        params: BTreeMap<String, String>,
        canonical_query: String,
        string_to_sign: String,
        signature: String,
    }

    fn vectors() -> Vectors {
        let raw = include_str!("../../tests/data/signature-vectors.json");
        serde_json::from_str(raw).expect("signature vectors parse")
    }

    #[test]
    fn every_published_vector_matches_byte_for_byte() {
        let v = vectors();
        assert!(v.cases.len() >= 6);
        for case in &v.cases {
            let business: Vec<(String, String)> = case.params.clone().into_iter().collect();
            let input = SigningInput {
                method: &case.method,
                action: &case.action,
                access_key_id: &v.access_key_id,
                access_key_secret: &v.access_key_secret,
                nonce: &v.signature_nonce,
                timestamp: &v.timestamp,
            };
            let sent = signed_query(input, &business);
            let canonical = canonical_query(&sent, Encoding::Rfc3986);
            assert_eq!(canonical, case.canonical_query, "{}", case.action);
            let sts = string_to_sign(&case.method, &canonical);
            assert_eq!(sts, case.string_to_sign, "{}", case.action);
            assert_eq!(signature(&v.access_key_secret, &sts), case.signature);
            let (_, sig) = sent.last().unwrap();
            assert_eq!(sig, &case.signature);
            assert!(verify_signature(
                &v.access_key_secret,
                &sts,
                &case.signature
            ));
        }
    }

    #[test]
    fn a_signature_off_by_one_character_is_rejected() {
        let v = vectors();
        let case = &v.cases[0];
        let mut bad: Vec<char> = case.signature.chars().collect();
        bad[3] = if bad[3] == 'A' { 'B' } else { 'A' };
        let bad: String = bad.into_iter().collect();
        assert!(!verify_signature(
            &v.access_key_secret,
            &case.string_to_sign,
            &bad
        ));
        assert!(!verify_signature(
            "wrong",
            &case.string_to_sign,
            &case.signature
        ));
        assert!(!verify_signature(
            &v.access_key_secret,
            &case.string_to_sign,
            "%%%"
        ));
    }

    #[test]
    fn rfc3986_encoding_edge_cases() {
        assert_eq!(percent_encode("a b"), "a%20b");
        assert_eq!(percent_encode("a+b"), "a%2Bb");
        assert_eq!(percent_encode("*"), "%2A");
        assert_eq!(percent_encode("~-_."), "~-_.");
        assert_eq!(percent_encode("/"), "%2F");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode("首云"), "%E9%A6%96%E4%BA%91");
        assert_eq!(percent_encode("="), "%3D");
        assert_eq!(percent_encode("&"), "%26");
        assert_eq!(percent_encode(""), "");
        // Lowercase hex never appears.
        assert_eq!(percent_encode("\u{00ff}"), "%C3%BF");
    }

    #[test]
    fn canonical_query_is_independent_of_input_order_and_drops_signature() {
        let a = [("b", "2"), ("a", "1"), ("Signature", "x"), ("B", "3")];
        let b = [("B", "3"), ("Signature", "y"), ("a", "1"), ("b", "2")];
        let ca = canonical_query(&a, Encoding::Rfc3986);
        assert_eq!(ca, canonical_query(&b, Encoding::Rfc3986));
        // Byte order: uppercase sorts before lowercase.
        assert_eq!(ca, "B=3&a=1&b=2");
    }

    #[test]
    fn go_sdk_variant_signs_spaces_as_plus() {
        let p = [("ClusterName", "a b")];
        assert_eq!(canonical_query(&p, Encoding::Rfc3986), "ClusterName=a%20b");
        assert_eq!(canonical_query(&p, Encoding::GoSdk), "ClusterName=a+b");
    }

    #[test]
    fn empty_business_values_are_not_sent_or_signed() {
        let input = SigningInput {
            method: "GET",
            action: "DescribeClusters",
            access_key_id: "id",
            access_key_secret: "secret",
            nonce: "n",
            timestamp: "2024-01-01T00:00:00Z",
        };
        let with_empty = signed_query(input, &[("ClusterName".into(), String::new())]);
        let without = signed_query(input, &[]);
        assert_eq!(with_empty, without);
    }

    #[test]
    fn timestamps_round_trip_and_reject_other_shapes() {
        let t: jiff::Timestamp = "2023-05-26T06:21:46Z".parse().unwrap();
        assert_eq!(format_timestamp(t), "2023-05-26T06:21:46Z");
        assert_eq!(parse_timestamp("2023-05-26T06:21:46Z"), Some(t));
        assert_eq!(parse_timestamp("2023-05-26T06:21:46+08:00"), None);
        assert_eq!(parse_timestamp("2023-05-26 06:21:46Z"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let input = SigningInput {
            method: "GET",
            action: "DescribeClusters",
            access_key_id: "id",
            access_key_secret: "very-secret-value",
            nonce: "n",
            timestamp: "t",
        };
        assert!(!format!("{input:?}").contains("very-secret-value"));
    }
}
