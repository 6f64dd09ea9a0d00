//! The CCK response envelope (`Code`, `Msg`, `Data`, `RequestId`, plus the paging
//! fields of DescribeClusterNodes), JSON responses, and the deliberately broken
//! "lost response".

use crate::sim::error::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;

pub(crate) async fn not_found(req: Request) -> Response {
    let e = ApiError::not_found(format!(
        "no such path {}; the API is served at /cck/v1 (and /), the simulator's admin API under /_sim/v1/",
        crate::sim::validate::clip(req.uri().path())
    ));
    json_response(e.status, error_body(&e, &new_request_id()))
}

/// The JSON envelope of every API response.
#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    #[serde(rename = "Code")]
    code: &'a str,
    #[serde(rename = "Msg")]
    msg: &'a str,
    #[serde(rename = "Data")]
    data: T,
    #[serde(rename = "PageSize", skip_serializing_if = "Option::is_none")]
    page_size: Option<u64>,
    #[serde(rename = "PageNumber", skip_serializing_if = "Option::is_none")]
    page_number: Option<u64>,
    #[serde(rename = "Total", skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
    #[serde(rename = "RequestId")]
    request_id: &'a str,
}

pub(crate) fn success<T: Serialize>(
    msg: &str,
    data: T,
    page: Option<(u64, u64, u64)>,
    request_id: &str,
) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(&Envelope {
        code: "Success",
        msg,
        data,
        page_size: page.map(|p| p.0),
        page_number: page.map(|p| p.1),
        total: page.map(|p| p.2),
        request_id,
    })
    .map_err(|e| ApiError::internal(format!("cannot encode the response: {e}")))
}

pub(crate) fn error_body(e: &ApiError, request_id: &str) -> Vec<u8> {
    let env = Envelope {
        code: &e.code,
        msg: &e.msg,
        data: (),
        page_size: None,
        page_number: None,
        total: None,
        request_id,
    };
    serde_json::to_vec(&env).unwrap_or_else(|_| b"{\"Code\":\"InternalError\"}".to_vec())
}

pub(crate) fn json_response(status: u16, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// "Accepted but the response is lost": the body stream fails at once, so hyper drops
/// the connection and the client sees a transport error, never a valid envelope.
pub(crate) fn lost_response() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("simulated lost response"))
    });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

pub(crate) fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
