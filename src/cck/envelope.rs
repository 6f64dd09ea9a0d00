//! Decoding of the response envelope `{Code, Msg, Data, RequestId}` into data or a
//! classified [`CckError`]. Pure: it sees only the HTTP status and the body bytes.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::CckError;
use super::types::Action;

/// A successful response: the `Data` and the envelope around it.
#[derive(Clone, Debug, PartialEq)]
pub struct Success<T> {
    pub data: T,
    pub request_id: String,
    pub msg: String,
    /// The whole response body, for callers that need fields outside `Data`
    /// (DescribeClusterNodes repeats `PageSize`, `PageNumber` and `Total` at top level).
    pub raw: Value,
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(rename = "Code")]
    code: Option<Value>,
    #[serde(rename = "Msg")]
    msg: Option<Value>,
    #[serde(rename = "Message")]
    message: Option<Value>,
    #[serde(rename = "Desc")]
    desc: Option<Value>,
    #[serde(rename = "RequestId")]
    request_id: Option<Value>,
}

/// A server-supplied string field, on one line: control characters (newlines, escape
/// sequences) become spaces, so an error built from it stays one line in a terminal or
/// a log and cannot forge further lines.
fn text(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(
            s.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        ),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    s.chars().take(200).collect()
}

/// Codes that mean "slow down" (none are documented for CCK; these are the common ones).
fn is_throttling_code(code: &str) -> bool {
    let c = code.to_ascii_lowercase();
    c.contains("throttl") || c.contains("ratelimit") || c.contains("limitexceeded")
}

/// Turns an HTTP status and body into the action's data or a classified error.
pub fn decode<T: DeserializeOwned>(
    action: &str,
    endpoint: &str,
    status: u16,
    body: &[u8],
) -> Result<Success<T>, CckError> {
    let raw: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        other => {
            let reason = match other {
                Ok(_) => "the body is JSON but not an object".to_owned(),
                Err(e) => format!("the body is not JSON ({e})"),
            };
            return Err(non_envelope(action, endpoint, status, reason, body));
        }
    };
    let env: RawEnvelope = serde_json::from_value(raw.clone()).map_err(|e| CckError::Decode {
        action: action.into(),
        status,
        reason: e.to_string(),
        snippet: snippet(body),
    })?;
    let Some(code) = text(&env.code) else {
        return Err(non_envelope(
            action,
            endpoint,
            status,
            "the body has no Code field".into(),
            body,
        ));
    };
    let msg = text(&env.msg)
        .or_else(|| text(&env.message))
        .or_else(|| text(&env.desc))
        .unwrap_or_default();
    let request_id = text(&env.request_id).unwrap_or_else(|| "-".into());
    if code == "Success" && (200..300).contains(&status) {
        let mut data_value = raw.get("Data").cloned().unwrap_or(Value::Null);
        tolerate_quirks(&mut data_value);
        let data = serde_path_to_error::deserialize(data_value).map_err(|e| CckError::Decode {
            action: action.into(),
            status,
            reason: format!("Data does not match the documented shape at {}", e),
            snippet: snippet(body),
        })?;
        return Ok(Success {
            data,
            request_id,
            msg,
            raw,
        });
    }
    let msg = if msg.is_empty() {
        "(no message)".into()
    } else {
        msg
    };
    let mutating = Action::from_name(action).is_some_and(Action::is_mutating);
    if mutating && matches!(status, 502..=504) {
        // A gateway in front of the API answered: the call may have been applied.
        return Err(CckError::UnknownOutcome {
            action: action.into(),
            endpoint: endpoint.into(),
            detail: format!("HTTP {status} {code}: {msg} (RequestId {request_id})"),
        });
    }
    if status == 429 || is_throttling_code(&code) {
        return Err(CckError::Throttled {
            action: action.into(),
            status,
            code,
            msg,
            request_id,
        });
    }
    Err(CckError::Api {
        action: action.into(),
        status,
        code,
        msg,
        request_id,
    })
}

/// Makes `Data` readable despite what real backends do: a `null` field means "absent"
/// (so the field's default applies), and a cluster that carries both spellings of
/// `K8sVersion` keeps the documented one.
fn tolerate_quirks(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            if map.contains_key("K8SVersion") && map.contains_key("K8sVersion") {
                map.remove("K8SVersion");
            }
            map.values_mut().for_each(tolerate_quirks);
        }
        Value::Array(items) => items.iter_mut().for_each(tolerate_quirks),
        _ => {}
    }
}

/// A body that is not an envelope. Gateways answer 502/503/504 with HTML pages: the
/// request may or may not have reached the API behind them, so the outcome is unknown.
fn non_envelope(
    action: &str,
    endpoint: &str,
    status: u16,
    reason: String,
    body: &[u8],
) -> CckError {
    if status >= 500 {
        CckError::UnknownOutcome {
            action: action.into(),
            endpoint: endpoint.into(),
            detail: format!("HTTP {status} without a CCK envelope: {reason}"),
        }
    } else if status == 429 {
        CckError::Throttled {
            action: action.into(),
            status,
            code: "HTTP429".into(),
            msg: reason,
            request_id: "-".into(),
        }
    } else {
        CckError::Decode {
            action: action.into(),
            status,
            reason,
            snippet: snippet(body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cck::types::{NodePage, TaskInfo, TaskStatus};

    const EP: &str = "http://127.0.0.1:1/cck/v1";

    #[test]
    fn vendor_success_example_decodes() {
        let body =
            br#"{"Code":"Success","Msg":"ok","Data":{"Status":"Finish"},"RequestId":"2acc"}"#;
        let ok: Success<TaskInfo> = decode("DescribeTask", EP, 200, body).unwrap();
        assert_eq!(ok.data.status, TaskStatus::Finish);
        assert_eq!(ok.request_id, "2acc");
    }

    #[test]
    fn error_envelope_keeps_code_msg_and_request_id() {
        let body =
            br#"{"Code":"InvalidParameter","Msg":"ClusterId x does not exist","RequestId":"r1"}"#;
        let err = decode::<Value>("DescribeClusterNodes", EP, 400, body).unwrap_err();
        match &err {
            CckError::Api {
                status,
                code,
                msg,
                request_id,
                ..
            } => {
                assert_eq!(
                    (*status, code.as_str(), request_id.as_str()),
                    (400, "InvalidParameter", "r1")
                );
                assert!(msg.contains("does not exist"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!err.is_transient());
        assert!(err.to_string().contains("RequestId r1"));
    }

    #[test]
    fn message_may_be_in_msg_message_or_desc() {
        for field in ["Msg", "Message", "Desc"] {
            let body = format!(r#"{{"Code":"InternalError","{field}":"boom","RequestId":"r"}}"#);
            let err = decode::<Value>("DescribeTask", EP, 500, body.as_bytes()).unwrap_err();
            assert!(err.to_string().contains("boom"), "{field}");
            assert!(err.is_transient());
        }
    }

    #[test]
    fn success_code_with_error_status_is_an_error() {
        let body = br#"{"Code":"Success","Data":null,"RequestId":"r"}"#;
        assert!(decode::<Value>("DescribeTask", EP, 500, body).is_err());
    }

    #[test]
    fn throttling_is_recognised_by_status_or_code() {
        let body = br#"{"Code":"Throttling","Msg":"slow down","RequestId":"r"}"#;
        let e = decode::<Value>("DescribeTask", EP, 429, body).unwrap_err();
        assert!(matches!(e, CckError::Throttled { .. }));
        let body = br#"{"Code":"RequestLimitExceeded","Msg":"slow","RequestId":"r"}"#;
        let e = decode::<Value>("DescribeTask", EP, 400, body).unwrap_err();
        assert!(matches!(e, CckError::Throttled { .. }));
        let e = decode::<Value>("DescribeTask", EP, 429, b"Too Many Requests").unwrap_err();
        assert!(matches!(e, CckError::Throttled { .. }));
    }

    #[test]
    fn gateway_pages_are_unknown_outcomes_and_other_garbage_is_a_decode_error() {
        let e = decode::<Value>("CreateClusterNodes", EP, 502, b"<html>Bad Gateway</html>")
            .unwrap_err();
        assert!(e.may_have_taken_effect());
        let e = decode::<Value>("DescribeTask", EP, 200, b"<html>").unwrap_err();
        assert!(matches!(e, CckError::Decode { .. }));
        assert!(
            e.may_have_taken_effect(),
            "a 2xx was accepted by the server"
        );
        let e = decode::<Value>("DescribeTask", EP, 400, b"[1,2]").unwrap_err();
        assert!(matches!(e, CckError::Decode { .. }));
        let e = decode::<Value>("DescribeTask", EP, 200, br#"{"Msg":"x"}"#).unwrap_err();
        assert!(e.to_string().contains("no Code"));
    }

    #[test]
    fn data_of_the_wrong_shape_names_the_path() {
        let body =
            br#"{"Code":"Success","Data":{"Nodes":[{"Cpu":"eight"}],"Total":1},"RequestId":"r"}"#;
        let e = decode::<NodePage>("DescribeClusterNodes", EP, 200, body).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("Nodes[0].Cpu"), "{s}");
    }

    #[test]
    fn server_text_cannot_break_the_error_onto_several_lines() {
        let body = br#"{"Code":"Invalid\nParameter","Msg":"first line\r\nsecond line\u001b[31m","RequestId":"r\n1"}"#;
        let e = decode::<Value>("DescribeTask", EP, 400, body).unwrap_err();
        let s = e.to_string();
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert!(s.contains("first line") && s.contains("second line"), "{s}");
        let body =
            br#"{"Code":"Success","Msg":"a\nb","Data":{"Status":"Finish"},"RequestId":"r\n2"}"#;
        let ok: Success<TaskInfo> = decode("DescribeTask", EP, 200, body).unwrap();
        assert!(!ok.request_id.contains('\n'));
    }

    #[test]
    fn nulls_and_both_version_spellings_are_tolerated() {
        let body = br#"{"Code":"Success","RequestId":"r","Data":[{"ClusterId":"c","NodeNum":null,
            "K8SVersion":"1.19.3","K8sVersion":"1.20.1","Snats":null,"Status":null}]}"#;
        let ok: Success<Vec<crate::cck::types::Cluster>> =
            decode("DescribeClusters", EP, 200, body).unwrap();
        assert_eq!(ok.data[0].k8s_version, "1.20.1");
        assert_eq!(ok.data[0].node_num, 0);
        assert!(ok.data[0].snats.is_empty());
        let body = br#"{"Code":"Success","RequestId":"r","Data":{"Nodes":[{"NodeId":"n","PublicIp":null,"Status":null}],"Total":1}}"#;
        let ok: Success<NodePage> = decode("DescribeClusterNodes", EP, 200, body).unwrap();
        assert_eq!(ok.data.nodes[0].node_id, "n");
    }

    #[test]
    fn gateway_errors_on_mutations_are_unknown_outcomes_even_with_an_envelope() {
        let body = br#"{"Code":"GatewayTimeout","Msg":"upstream timed out","RequestId":"r"}"#;
        let e = decode::<Value>("CreateClusterNodes", EP, 504, body).unwrap_err();
        assert!(matches!(e, CckError::UnknownOutcome { .. }), "{e}");
        assert!(e.may_have_taken_effect());
        let e = decode::<Value>("DescribeTask", EP, 504, body).unwrap_err();
        assert!(matches!(e, CckError::Api { .. }) && e.is_transient());
        let body = br#"{"Code":"InternalError","Msg":"boom","RequestId":"r"}"#;
        let e = decode::<Value>("DeleteClusterNodes", EP, 500, body).unwrap_err();
        assert!(!e.may_have_taken_effect(), "the API itself said it failed");
    }

    #[test]
    fn long_bodies_are_cut_in_error_messages() {
        let body = vec![b'x'; 10_000];
        let e = decode::<Value>("DescribeTask", EP, 400, &body).unwrap_err();
        assert!(e.to_string().len() < 600);
    }
}
