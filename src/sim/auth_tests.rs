//! Tests of request authentication and nonce replay protection.

use super::*;
use crate::cck::sign::{SigningInput, format_timestamp, signature, signed_query};

const KEY: &str = "sim-key";
const SECRET: &str = "sim-secret";

fn creds() -> HashMap<String, Sensitive> {
    [(KEY.to_owned(), Sensitive::new(SECRET))]
        .into_iter()
        .collect()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn signed(
    method: &str,
    action: &str,
    business: &[(&str, &str)],
    at: Timestamp,
) -> Vec<(String, String)> {
    let b: Vec<(String, String)> = business
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    signed_query(
        SigningInput {
            method,
            action,
            access_key_id: KEY,
            access_key_secret: SECRET,
            nonce: "nonce-1",
            timestamp: &format_timestamp(at),
        },
        &b,
    )
}

fn auth(
    params: &[(String, String)],
    method: &str,
    now: Timestamp,
    lenient: bool,
) -> Result<Verified, ApiError> {
    let cfg = AuthConfig {
        timestamp_skew_seconds: 900,
        lenient_signatures: lenient,
    };
    authenticate(params, method, &creds(), &cfg, now)
}

fn set(params: &mut [(String, String)], name: &str, value: &str) {
    if let Some(p) = params.iter_mut().find(|(k, _)| k == name) {
        p.1 = value.to_owned();
    }
}

#[test]
fn query_decoding_treats_plus_and_percent20_alike_and_rejects_repeats() {
    let p = parse_query("ClusterName=a+b&Other=a%20b&Sig=x%2By").unwrap();
    assert_eq!(param(&p, "ClusterName"), Some("a b"));
    assert_eq!(param(&p, "Other"), Some("a b"));
    assert_eq!(param(&p, "Sig"), Some("x+y"));
    let e = parse_query("Action=A&Action=B").unwrap_err();
    assert_eq!(e.code, "InvalidParameter");
    assert!(e.msg.contains("Action"), "{}", e.msg);
}

#[test]
fn a_correctly_signed_request_passes_and_any_change_fails() {
    let now = t("2024-05-26T06:00:00Z");
    let p = signed(
        "GET",
        "DescribeClusters",
        &[("ClusterName", "a b*~/é")],
        now,
    );
    let v = auth(&p, "GET", now, false).unwrap();
    assert_eq!(
        (v.access_key_id.as_str(), v.nonce.as_str()),
        (KEY, "nonce-1")
    );
    // The signature off by one character.
    let mut bad = p.clone();
    let sig = param(&p, "Signature").unwrap();
    let mut chars: Vec<char> = sig.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    set(
        &mut bad,
        "Signature",
        &chars.into_iter().collect::<String>(),
    );
    let e = auth(&bad, "GET", now, false).unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "SignatureDoesNotMatch"));
    assert!(
        e.msg.contains("GET&%2F&"),
        "shows the string to sign: {}",
        e.msg
    );
    // A business parameter changed after signing; or the method.
    let mut tampered = p.clone();
    set(&mut tampered, "ClusterName", "other");
    assert_eq!(
        auth(&tampered, "GET", now, false).unwrap_err().code,
        "SignatureDoesNotMatch"
    );
    assert_eq!(
        auth(&p, "POST", now, false).unwrap_err().code,
        "SignatureDoesNotMatch"
    );
}

#[test]
fn the_published_vectors_verify() {
    let raw = include_str!("../../tests/data/signature-vectors.json");
    let v: serde_json::Value = serde_json::from_str(raw).unwrap();
    let id = v["access_key_id"].as_str().unwrap();
    let secret = v["access_key_secret"].as_str().unwrap();
    let creds: HashMap<String, Sensitive> = [(id.to_owned(), Sensitive::new(secret))]
        .into_iter()
        .collect();
    let now = t(v["timestamp"].as_str().unwrap());
    for case in v["cases"].as_array().unwrap() {
        let method = case["method"].as_str().unwrap();
        let mut params = vec![
            (
                "Action".to_owned(),
                case["action"].as_str().unwrap().to_owned(),
            ),
            ("AccessKeyId".into(), id.into()),
            ("SignatureMethod".into(), "HMAC-SHA1".into()),
            ("SignatureVersion".into(), "1.0".into()),
            (
                "SignatureNonce".into(),
                v["signature_nonce"].as_str().unwrap().into(),
            ),
            ("Timestamp".into(), v["timestamp"].as_str().unwrap().into()),
            ("Version".into(), "2019-08-08".into()),
            (
                "Signature".into(),
                case["signature"].as_str().unwrap().into(),
            ),
        ];
        for (k, val) in case["params"].as_object().unwrap() {
            params.push((k.clone(), val.as_str().unwrap().to_owned()));
        }
        let r = authenticate(&params, method, &creds, &AuthConfig::default(), now);
        assert!(r.is_ok(), "{}: {r:?}", case["action"]);
    }
}

#[test]
fn unknown_keys_bad_timestamps_and_missing_parameters() {
    let now = t("2024-05-26T06:00:00Z");
    let mut p = signed("GET", "DescribeTask", &[("TaskId", "x")], now);
    set(&mut p, "AccessKeyId", "nobody");
    let e = auth(&p, "GET", now, false).unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "InvalidAccessKeyId"));

    let old = signed(
        "GET",
        "DescribeTask",
        &[("TaskId", "x")],
        t("2024-05-26T05:44:59Z"),
    );
    let e = auth(&old, "GET", now, false).unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "InvalidTimestamp"));
    assert!(e.msg.contains("901 s"), "{}", e.msg);
    let edge = signed(
        "GET",
        "DescribeTask",
        &[("TaskId", "x")],
        t("2024-05-26T06:15:00Z"),
    );
    assert!(
        auth(&edge, "GET", now, false).is_ok(),
        "exactly at the window edge"
    );

    let mut malformed = signed("GET", "DescribeTask", &[], now);
    set(&mut malformed, "Timestamp", "2024-05-26 06:00:00");
    let e = auth(&malformed, "GET", now, false).unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (400, "InvalidParameter"));
    assert!(e.msg.contains("yyyy-MM-ddTHH:mm:ssZ"), "{}", e.msg);

    for name in [
        "AccessKeyId",
        "SignatureNonce",
        "Timestamp",
        "Signature",
        "Version",
    ] {
        let p: Vec<_> = signed("GET", "DescribeTask", &[], now)
            .into_iter()
            .filter(|(k, _)| k != name)
            .collect();
        let e = auth(&p, "GET", now, false).unwrap_err();
        assert_eq!(e.code, "MissingParameter", "{name}");
        assert!(e.msg.contains(name), "{}", e.msg);
    }
    let mut p = signed("GET", "DescribeTask", &[], now);
    set(&mut p, "SignatureMethod", "HMAC-SHA256");
    let e = auth(&p, "GET", now, false).unwrap_err();
    assert!(e.msg.contains("use HMAC-SHA1"), "{}", e.msg);
}

#[test]
fn go_sdk_signatures_pass_only_in_lenient_mode() {
    let now = t("2024-05-26T06:00:00Z");
    let mut p = signed(
        "GET",
        "DescribeClusters",
        &[("ClusterName", "cck demo")],
        now,
    );
    // Re-sign the way the vendor's Go SDK does: spaces as '+'.
    let go = canonical_query(&p, Encoding::GoSdk);
    let sig = signature(SECRET, &string_to_sign("GET", &go));
    set(&mut p, "Signature", &sig);
    assert_eq!(
        auth(&p, "GET", now, false).unwrap_err().code,
        "SignatureDoesNotMatch"
    );
    assert!(auth(&p, "GET", now, true).is_ok());
}

fn verified(key: &str, nonce: &str, at: Timestamp) -> Verified {
    Verified {
        access_key_id: key.into(),
        nonce: nonce.into(),
        timestamp: at,
    }
}

#[test]
fn nonces_are_single_use_within_the_window_and_memory_is_bounded() {
    let t0 = t("2024-05-26T06:00:00Z");
    let mut cache = NonceCache::new(1000);
    cache
        .check_and_record(&verified("k", "n1", t0), 900, t0)
        .unwrap();
    let e = cache
        .check_and_record(&verified("k", "n1", t0), 900, t0)
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "SignatureNonceUsed"));
    // Another key may use the same nonce.
    cache
        .check_and_record(&verified("k2", "n1", t0), 900, t0)
        .unwrap();
    // Once the original timestamp is out of the window, the entry is forgotten
    // (a replay would now fail the timestamp check instead).
    let later = t("2024-05-26T06:15:01Z");
    cache
        .check_and_record(&verified("k", "other", later), 900, later)
        .unwrap();
    assert_eq!(cache.len(), 1);
    cache
        .check_and_record(&verified("k", "n1", later), 900, later)
        .unwrap();

    let mut small = NonceCache::new(3);
    for i in 0..10 {
        small
            .check_and_record(&verified("k", &format!("n{i}"), t0), 900, t0)
            .unwrap();
    }
    assert_eq!(small.len(), 3);
}

#[test]
fn a_replay_in_the_last_second_of_the_window_is_still_rejected() {
    // The timestamp check accepts |now - Timestamp| <= skew, so at exactly
    // Timestamp + skew a replay passes it; the nonce must still be remembered then.
    let t0 = t("2024-05-26T06:00:00Z");
    let edge = t("2024-05-26T06:15:00Z");
    let p = signed("GET", "DescribeTask", &[("TaskId", "x")], t0);
    let v = auth(&p, "GET", t0, false).unwrap();
    let mut cache = NonceCache::new(1000);
    cache.check_and_record(&v, 900, t0).unwrap();
    let replay = auth(&p, "GET", edge, false).expect("still inside the timestamp window");
    let e = cache.check_and_record(&replay, 900, edge).unwrap_err();
    assert_eq!(e.code, "SignatureNonceUsed");
    // One second later the timestamp check rejects it, and the entry may go.
    let later = t("2024-05-26T06:15:01Z");
    assert_eq!(
        auth(&p, "GET", later, false).unwrap_err().code,
        "InvalidTimestamp"
    );
}

#[test]
fn entries_expire_by_their_own_deadline_not_by_arrival_order() {
    // A request stamped in the future (within the skew) is remembered longer; it must
    // not keep entries that arrived after it, and expired already, alive.
    let t0 = t("2024-05-26T06:00:00Z");
    let mut cache = NonceCache::new(1000);
    let future = t("2024-05-26T06:10:00Z");
    cache
        .check_and_record(&verified("k", "early-future", future), 900, t0)
        .unwrap();
    for i in 0..100 {
        cache
            .check_and_record(&verified("k", &format!("n{i}"), t0), 900, t0)
            .unwrap();
    }
    let later = t("2024-05-26T06:15:01Z");
    cache
        .check_and_record(&verified("k", "fresh", later), 900, later)
        .unwrap();
    assert_eq!(
        cache.len(),
        2,
        "only the future-stamped entry and the fresh one"
    );
}

#[test]
fn at_capacity_the_entry_closest_to_expiry_is_dropped_first() {
    let t0 = t("2024-05-26T06:00:00Z");
    let mut cache = NonceCache::new(2);
    let long = t("2024-05-26T06:10:00Z");
    cache
        .check_and_record(&verified("k", "long", long), 900, t0)
        .unwrap();
    cache
        .check_and_record(&verified("k", "short", t0), 900, t0)
        .unwrap();
    cache
        .check_and_record(&verified("k", "third", t0), 900, t0)
        .unwrap();
    assert_eq!(cache.len(), 2);
    // The longest-lived entry survived eviction.
    assert!(
        cache
            .check_and_record(&verified("k", "long", long), 900, t0)
            .is_err()
    );
}
