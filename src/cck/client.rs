//! The HTTP client of the CCK OpenAPI.
//!
//! Every attempt is signed afresh (new nonce and timestamp), waits for the rate limiter
//! shared by all clients of one credential, runs under a tracing span with the action,
//! RequestId, latency and outcome, and is classified by [`CckError`]. Reads are retried
//! with exponential backoff and jitter on transient errors; mutating actions are sent
//! exactly once, since the API has no idempotency token.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;

use super::envelope::{self, Success};
use super::error::CckError;
use super::sign::{self, SigningInput};
use super::types::*;

/// Pages [`CckClient::list_cluster_nodes`] reads at most before giving up.
pub const MAX_LIST_PAGES: u32 = 10_000;

/// The production endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://api.capitalonline.net/cck/v1";

/// Tunables of a [`CckClient`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URL, e.g. [`DEFAULT_ENDPOINT`] or a simulator's `http://127.0.0.1:8787/cck/v1`.
    pub endpoint: String,
    /// Sustained request rate per credential (shared by every client of that credential
    /// created from the same [`RateLimiters`]).
    pub requests_per_second: f64,
    /// Requests allowed at once before the sustained rate applies.
    pub burst: u32,
    /// Limit for one whole attempt (connect, send, receive).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts of a read action, the first included.
    pub read_attempts: usize,
    pub retry_min_delay: Duration,
    pub retry_max_delay: Duration,
    /// Page size used by [`CckClient::list_cluster_nodes`] (the largest the server accepts).
    pub page_size: u32,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.into(),
            requests_per_second: 10.0,
            burst: 20,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            read_attempts: 5,
            retry_min_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(10),
            page_size: 100,
        }
    }
}

/// A rate limiter shared by the clients of one credential.
pub type SharedLimiter = Arc<DefaultDirectRateLimiter>;

fn limiter(rps: f64, burst: u32) -> Result<SharedLimiter, String> {
    if !(rps.is_finite() && rps > 0.0) {
        return Err(format!(
            "requests per second must be a positive number, got {rps}"
        ));
    }
    // A rate so low that the period overflows a Duration is an error, not a panic.
    let period = Duration::try_from_secs_f64(1.0 / rps)
        .map_err(|_| format!("requests per second {rps} is too low"))?;
    let quota = Quota::with_period(period)
        .ok_or_else(|| format!("requests per second {rps} is too high"))?
        .allow_burst(NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN));
    Ok(Arc::new(RateLimiter::direct(quota)))
}

/// Hands out one limiter per access key id, so every client of a credential shares it.
#[derive(Default)]
pub struct RateLimiters {
    by_key: Mutex<HashMap<String, SharedLimiter>>,
}

impl RateLimiters {
    pub fn get(&self, access_key_id: &str, rps: f64, burst: u32) -> Result<SharedLimiter, String> {
        let mut map = self.by_key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = map.get(access_key_id) {
            return Ok(l.clone());
        }
        let l = limiter(rps, burst)?;
        map.insert(access_key_id.to_owned(), l.clone());
        Ok(l)
    }
}

/// A cheap-to-clone handle to the CCK API for one credential.
#[derive(Clone)]
pub struct CckClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    credentials: Credentials,
    limiter: SharedLimiter,
    config: ClientConfig,
}

impl std::fmt::Debug for CckClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CckClient")
            .field("endpoint", &self.inner.config.endpoint)
            .field("access_key_id", &self.inner.credentials.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The raw outcome of one attempt, for the `api` command: the HTTP status and the body.
#[derive(Clone, Debug)]
pub struct RawResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

impl CckClient {
    /// A client with a rate limiter of its own.
    pub fn new(credentials: Credentials, config: ClientConfig) -> Result<Self, CckError> {
        let l = limiter(config.requests_per_second, config.burst).map_err(|reason| {
            CckError::InvalidRequest {
                action: "-".into(),
                reason,
            }
        })?;
        Self::with_limiter(credentials, config, l)
    }

    /// A client that shares `limiter` with other clients of the same credential.
    pub fn with_limiter(
        credentials: Credentials,
        config: ClientConfig,
        limiter: SharedLimiter,
    ) -> Result<Self, CckError> {
        let invalid = |reason: String| CckError::InvalidRequest {
            action: "-".into(),
            reason,
        };
        if credentials.access_key_id.is_empty() || credentials.access_key_secret.is_empty() {
            return Err(invalid(
                "the access key id and secret must both be set (CCK_ACCESS_KEY_ID, CCK_ACCESS_KEY_SECRET)".into(),
            ));
        }
        let endpoint = reqwest::Url::parse(&config.endpoint).map_err(|e| {
            invalid(format!(
                "endpoint {:?} is not a URL ({e}); expected e.g. {DEFAULT_ENDPOINT}",
                config.endpoint
            ))
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.query().is_some() {
            return Err(invalid(format!(
                "endpoint {:?} must be an http(s) URL without a query, e.g. {DEFAULT_ENDPOINT}",
                config.endpoint
            )));
        }
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("cck-operator/", env!("CARGO_PKG_VERSION")))
            // A redirect would resend the signed query elsewhere and turn POST into GET.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                endpoint,
                credentials,
                limiter,
                config,
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub fn endpoint(&self) -> &str {
        &self.inner.config.endpoint
    }

    /// Sends one signed attempt of any action (known or not) and returns the HTTP status
    /// and body. `query` is signed; `body` (POST only) is sent as JSON and not signed.
    pub async fn send_raw(
        &self,
        action: &str,
        method: Method,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<RawResponse, CckError> {
        let endpoint = self.inner.config.endpoint.as_str();
        // A business parameter named like a common one would be sent twice (and
        // `Signature` would not even be signed): refuse it before anything is sent.
        if let Some((name, _)) = query
            .iter()
            .find(|(k, _)| sign::COMMON_PARAMS.contains(&k.as_str()))
        {
            return Err(CckError::InvalidRequest {
                action: action.into(),
                reason: format!(
                    "{name} is a common parameter that the client sets itself; it cannot be passed as a business parameter"
                ),
            });
        }
        self.inner.limiter.until_ready().await;
        let nonce = uuid::Uuid::new_v4().to_string();
        let timestamp = sign::format_timestamp(jiff::Timestamp::now());
        let signed = sign::signed_query(
            SigningInput {
                method: method.as_str(),
                action,
                access_key_id: &self.inner.credentials.access_key_id,
                access_key_secret: self.inner.credentials.access_key_secret.expose(),
                nonce: &nonce,
                timestamp: &timestamp,
            },
            query,
        );
        let mut url = self.inner.endpoint.clone();
        let encoded: Vec<String> = signed
            .iter()
            .map(|(k, v)| format!("{}={}", sign::percent_encode(k), sign::percent_encode(v)))
            .collect();
        url.set_query(Some(&encoded.join("&")));
        let mut req = match method {
            Method::Get => self.inner.http.get(url),
            Method::Post => self.inner.http.post(url),
        };
        if let Some(b) = body {
            let bytes = serde_json::to_vec(b).map_err(|e| CckError::InvalidRequest {
                action: action.into(),
                reason: format!("body is not serializable: {e}"),
            })?;
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(action, endpoint, e, false))?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| transport_error(action, endpoint, e, true))?;
        Ok(RawResponse {
            status,
            body: body.to_vec(),
        })
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        action: Action,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Success<T>, CckError> {
        let span = tracing::debug_span!(
            "cck_call",
            action = action.name(),
            request_id = tracing::field::Empty,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = async {
            let raw = self
                .send_raw(action.name(), action.method(), query, body)
                .await?;
            tracing::Span::current().record("status", raw.status);
            envelope::decode::<T>(action.name(), self.endpoint(), raw.status, &raw.body)
        }
        .instrument(span.clone())
        .await;
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(ok) => {
                span.record("request_id", ok.request_id.as_str());
                span.record("outcome", "success");
                span.in_scope(|| tracing::debug!("cck call succeeded"));
            }
            Err(e) => {
                if let Some(id) = e.request_id() {
                    span.record("request_id", id);
                }
                span.record("outcome", e.kind());
                span.in_scope(|| tracing::debug!(error = %e, "cck call failed"));
            }
        }
        result
    }

    /// Runs an action: reads with retries on transient errors, mutations exactly once.
    async fn call<T: DeserializeOwned>(
        &self,
        action: Action,
        query: Vec<(String, String)>,
        body: Option<Value>,
    ) -> Result<Success<T>, CckError> {
        if action.is_mutating() {
            return self.attempt(action, &query, body.as_ref()).await;
        }
        let cfg = &self.inner.config;
        let policy = ExponentialBuilder::default()
            .with_min_delay(cfg.retry_min_delay)
            .with_max_delay(cfg.retry_max_delay)
            .with_max_times(cfg.read_attempts.saturating_sub(1))
            .with_jitter();
        (|| self.attempt::<T>(action, &query, body.as_ref()))
            .retry(policy)
            .when(CckError::is_transient)
            .notify(|e, delay| {
                tracing::warn!(action = action.name(), error = %e, retry_in_ms = delay.as_millis() as u64, "retrying cck read");
            })
            .await
    }

    pub async fn describe_task(&self, task_id: &str) -> Result<TaskInfo, CckError> {
        let q = vec![("TaskId".to_owned(), task_id.to_owned())];
        Ok(self.call(Action::DescribeTask, q, None).await?.data)
    }

    pub async fn describe_clusters(
        &self,
        query: &DescribeClustersQuery,
    ) -> Result<Vec<Cluster>, CckError> {
        let data: Option<Vec<Cluster>> = self
            .call(Action::DescribeClusters, query.to_params(), None)
            .await?
            .data;
        Ok(data.unwrap_or_default())
    }

    /// One page of a cluster's nodes (pages start at 1).
    pub async fn describe_cluster_nodes(
        &self,
        cluster_id: &str,
        page_size: u32,
        page_number: u32,
    ) -> Result<NodePage, CckError> {
        let q = vec![
            ("ClusterId".to_owned(), cluster_id.to_owned()),
            ("PageSize".to_owned(), page_size.to_string()),
            ("PageNumber".to_owned(), page_number.to_string()),
        ];
        let ok: Success<Option<NodePage>> =
            self.call(Action::DescribeClusterNodes, q, None).await?;
        // A success without Data would read as "the cluster has no nodes".
        let Some(mut page) = ok.data else {
            return Err(CckError::Decode {
                action: Action::DescribeClusterNodes.name().into(),
                status: 200,
                reason: "Code Success but no Data".into(),
                snippet: ok.raw.to_string().chars().take(200).collect(),
            });
        };
        // Total is documented both inside Data and at top level; trust the larger.
        if let Some(top) = ok.raw.get("Total").and_then(Value::as_u64) {
            page.total = page.total.max(top);
        }
        Ok(page)
    }

    /// Every node of a cluster, across pages of [`ClientConfig::page_size`].
    ///
    /// Nodes that move between pages while they are read (a node deleted meanwhile
    /// shifts the rest) are de-duplicated by NodeId. The walk ends at the first short
    /// page, or on a full page once exactly `Total` distinct nodes have been seen. A
    /// missing or understated `Total` therefore cannot truncate the list; a server whose
    /// full page brings no new node (it ignores PageNumber) or whose pages never end
    /// (more than [`MAX_LIST_PAGES`]) is reported as [`CckError::Decode`] rather than
    /// returning a partial list as if it were complete.
    pub async fn list_cluster_nodes(&self, cluster_id: &str) -> Result<Vec<Node>, CckError> {
        let size = self.inner.config.page_size.max(1);
        let mut seen = std::collections::HashSet::new();
        let mut nodes = Vec::new();
        let broken = |reason: String| CckError::Decode {
            action: Action::DescribeClusterNodes.name().into(),
            status: 200,
            reason,
            snippet: String::new(),
        };
        for page_number in 1..=MAX_LIST_PAGES {
            let page = self
                .describe_cluster_nodes(cluster_id, size, page_number)
                .await?;
            let got = page.nodes.len();
            let mut new = 0usize;
            for n in page.nodes {
                if seen.insert(n.node_id.clone()) {
                    nodes.push(n);
                    new += 1;
                }
            }
            // A short page ends the list unless Total says there is more (a server may
            // cap PageSize below what was asked); a full page ends it only when exactly
            // Total nodes have been seen (an understated Total must not truncate it).
            let seen_all = page.total > 0 && nodes.len() as u64 >= page.total;
            let complete = if got < size as usize {
                page.total == 0 || seen_all
            } else {
                page.total > 0 && nodes.len() as u64 == page.total
            };
            if got == 0 || complete {
                return Ok(nodes);
            }
            if new == 0 {
                return Err(broken(format!(
                    "page {page_number} of cluster {cluster_id} repeats nodes already listed (Total {}, {} seen); the server's paging is inconsistent",
                    page.total,
                    nodes.len()
                )));
            }
        }
        Err(broken(format!(
            "the node list of cluster {cluster_id} did not end after {MAX_LIST_PAGES} pages of {size}"
        )))
    }

    pub async fn describe_cluster_nats(&self, cluster_id: &str) -> Result<Vec<Nat>, CckError> {
        let q = vec![("ClusterId".to_owned(), cluster_id.to_owned())];
        let data: Option<Vec<Nat>> = self.call(Action::DescribeClusterNats, q, None).await?.data;
        Ok(data.unwrap_or_default())
    }

    /// Submits a create. Sent once; an [`CckError::UnknownOutcome`] means nodes may exist.
    pub async fn create_cluster_nodes(
        &self,
        request: &CreateClusterNodesRequest,
    ) -> Result<TaskRef, CckError> {
        let body = serde_json::to_value(request).map_err(|e| CckError::InvalidRequest {
            action: Action::CreateClusterNodes.name().into(),
            reason: e.to_string(),
        })?;
        self.mutate(Action::CreateClusterNodes, body).await
    }

    pub async fn start_cluster_nodes(
        &self,
        cluster_id: &str,
        node_ids: &[String],
    ) -> Result<TaskRef, CckError> {
        self.node_ids_action(Action::StartClusterNodes, cluster_id, node_ids)
            .await
    }

    pub async fn stop_cluster_nodes(
        &self,
        cluster_id: &str,
        node_ids: &[String],
    ) -> Result<TaskRef, CckError> {
        self.node_ids_action(Action::StopClusterNodes, cluster_id, node_ids)
            .await
    }

    pub async fn delete_cluster_nodes(
        &self,
        cluster_id: &str,
        node_ids: &[String],
    ) -> Result<TaskRef, CckError> {
        self.node_ids_action(Action::DeleteClusterNodes, cluster_id, node_ids)
            .await
    }

    async fn node_ids_action(
        &self,
        action: Action,
        cluster_id: &str,
        node_ids: &[String],
    ) -> Result<TaskRef, CckError> {
        let req = NodeIdsRequest {
            cluster_id: cluster_id.to_owned(),
            node_ids: node_ids.to_vec(),
        };
        let body = serde_json::to_value(&req).map_err(|e| CckError::InvalidRequest {
            action: action.name().into(),
            reason: e.to_string(),
        })?;
        self.mutate(action, body).await
    }

    async fn mutate(&self, action: Action, body: Value) -> Result<TaskRef, CckError> {
        let ok: Success<TaskRef> = self.call(action, Vec::new(), Some(body)).await?;
        if ok.data.task_id.is_empty() {
            // Accepted (Code Success) but without a TaskId: the work may be under way.
            return Err(CckError::Decode {
                action: action.name().into(),
                status: 200,
                reason: "the response has no TaskId".into(),
                snippet: ok.raw.to_string().chars().take(200).collect(),
            });
        }
        tracing::info!(action = action.name(), task_id = %ok.data.task_id, request_id = %ok.request_id, "cck task submitted");
        Ok(ok.data)
    }
}

/// Classifies a reqwest failure. `after_headers` marks failures while reading the body.
fn transport_error(
    action: &str,
    endpoint: &str,
    e: reqwest::Error,
    after_headers: bool,
) -> CckError {
    // The URL carries the signed query; keep it out of messages.
    let e = e.without_url();
    let detail = error_chain(&e);
    if e.is_builder() {
        return CckError::InvalidRequest {
            action: action.into(),
            reason: detail,
        };
    }
    if e.is_connect() && !after_headers {
        return CckError::NotSent {
            action: action.into(),
            endpoint: endpoint.into(),
            detail,
        };
    }
    CckError::UnknownOutcome {
        action: action.into(),
        endpoint: endpoint.into(),
        detail,
    }
}

/// The error and its sources on one line ("timed out" stated plainly).
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    if e.is_timeout() {
        parts.push("timed out".into());
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn absurd_rates_are_errors_not_panics() {
        // 1 / rps seconds does not fit a Duration: from_secs_f64 would panic.
        assert!(limiter(1e-30, 1).is_err());
        assert!(limiter(f64::MIN_POSITIVE, 1).is_err());
        assert!(limiter(1e12, 1).is_err());
        assert!(limiter(f64::INFINITY, 1).is_err());
        assert!(limiter(-1.0, 1).is_err());
        assert!(limiter(0.5, 1).is_ok());
        assert!(RateLimiters::default().get("k", 1e-30, 1).is_err());
    }

    fn node(i: usize) -> Value {
        serde_json::json!({"NodeId": format!("n{i}"), "NodeName": format!("c-worker{i:03}")})
    }

    /// How a fake DescribeClusterNodes server pages.
    #[derive(Clone, Copy)]
    enum Paging {
        /// No `Total` anywhere.
        NoTotal,
        /// `Total` smaller than the real count.
        TotalTooSmall(u64),
        /// Always the first page, whatever PageNumber says, with this Total.
        IgnoresPageNumber(u64),
        /// Pages of at most this many nodes whatever PageSize says, true Total.
        CapsPageSize(usize),
    }

    async fn fake_server(nodes: usize, paging: Paging) -> (String, Arc<AtomicUsize>) {
        use axum::extract::RawQuery;
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let app = axum::Router::new().route(
            "/cck/v1",
            axum::routing::get(move |RawQuery(q): RawQuery| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let q = q.unwrap_or_default();
                    let get = |name: &str| {
                        form_urlencoded::parse(q.as_bytes())
                            .find(|(k, _)| k == name)
                            .and_then(|(_, v)| v.parse::<usize>().ok())
                    };
                    let size = match paging {
                        Paging::CapsPageSize(cap) => get("PageSize").unwrap_or(20).min(cap),
                        _ => get("PageSize").unwrap_or(20),
                    };
                    let number = match paging {
                        Paging::IgnoresPageNumber(_) => 1,
                        _ => get("PageNumber").unwrap_or(1),
                    };
                    let page: Vec<Value> = (0..nodes)
                        .skip((number - 1) * size)
                        .take(size)
                        .map(node)
                        .collect();
                    let mut data = serde_json::json!({"Nodes": page});
                    let mut env = serde_json::json!({"Code": "Success", "RequestId": "r"});
                    match paging {
                        Paging::NoTotal => {}
                        Paging::TotalTooSmall(t) | Paging::IgnoresPageNumber(t) => {
                            data["Total"] = t.into();
                            env["Total"] = t.into();
                        }
                        Paging::CapsPageSize(_) => {
                            data["Total"] = nodes.into();
                            env["Total"] = nodes.into();
                        }
                    }
                    env["Data"] = data;
                    axum::Json(env)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (format!("http://{addr}/cck/v1"), calls)
    }

    fn client(endpoint: String, page_size: u32) -> CckClient {
        CckClient::new(
            Credentials::new("k", "s"),
            ClientConfig {
                endpoint,
                page_size,
                requests_per_second: 1000.0,
                burst: 1000,
                read_attempts: 1,
                ..ClientConfig::default()
            },
        )
        .unwrap()
    }

    #[tokio::test]
    async fn listing_without_a_total_reads_until_a_short_page() {
        let (ep, calls) = fake_server(7, Paging::NoTotal).await;
        let nodes = client(ep, 3).list_cluster_nodes("c").await.unwrap();
        assert_eq!(nodes.len(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_server_that_caps_the_page_size_is_read_to_the_end() {
        let (ep, _) = fake_server(250, Paging::CapsPageSize(50)).await;
        let nodes = client(ep, 100).list_cluster_nodes("c").await.unwrap();
        // Pages are offset by the server's size: 0-49, 50-99, ... all 250 are reached.
        assert_eq!(nodes.len(), 250);
    }

    #[tokio::test]
    async fn an_understated_total_does_not_truncate_the_list() {
        let (ep, _) = fake_server(7, Paging::TotalTooSmall(2)).await;
        let nodes = client(ep, 3).list_cluster_nodes("c").await.unwrap();
        assert_eq!(nodes.len(), 7);
    }

    #[tokio::test]
    async fn a_server_that_repeats_one_page_is_an_error_not_a_short_list() {
        let (ep, calls) = fake_server(50, Paging::IgnoresPageNumber(50)).await;
        let e = client(ep, 3).list_cluster_nodes("c").await.unwrap_err();
        assert!(matches!(e, CckError::Decode { .. }), "{e}");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "stops at the first repeat");
    }

    #[tokio::test]
    async fn a_huge_total_with_page_size_one_does_not_overflow() {
        let (ep, _) = fake_server(1, Paging::IgnoresPageNumber(u64::MAX)).await;
        let e = client(ep, 1).list_cluster_nodes("c").await.unwrap_err();
        assert!(matches!(e, CckError::Decode { .. }), "{e}");
    }

    #[tokio::test]
    async fn common_parameter_names_cannot_be_passed_as_business_parameters() {
        // Nothing listens on port 1; the request must be refused before sending.
        let c = client("http://127.0.0.1:1/cck/v1".into(), 100);
        for name in [
            "Action",
            "Signature",
            "SignatureNonce",
            "AccessKeyId",
            "Timestamp",
        ] {
            let q = vec![(name.to_owned(), "x".to_owned())];
            let e = c
                .send_raw("DescribeClusters", Method::Get, &q, None)
                .await
                .unwrap_err();
            assert!(matches!(e, CckError::InvalidRequest { .. }), "{name}: {e}");
            assert!(e.to_string().contains(name), "{e}");
        }
    }
}
