//! The HTTP front of the simulator: routes and the request pipeline (parse → action and
//! method → authenticate → throttle → nonce → injected faults → action → lost response?).
//!
//! All state sits behind one `std::sync::Mutex`, taken once per request for the fast
//! synchronous part and never held across an `.await`; the state file is written and
//! injected latency slept outside it.

use crate::cck::types::{Action, CreateClusterNodesRequest, NodeIdsRequest, Sensitive, TaskRef};
use crate::sim::auth::{COMMON_PARAMS, NonceCache, Verified, authenticate, param, parse_query};
use crate::sim::config::{AuthConfig, LimitsConfig};
use crate::sim::envelope::{
    self, error_body, json_response, lost_response, new_request_id, success,
};
use crate::sim::error::ApiError;
use crate::sim::faults::FaultState;
use crate::sim::persist::{self, Persister};
use crate::sim::stats::Stats;
use crate::sim::validate::{non_empty, page_param, parse_body};
use crate::sim::world::{ClusterFilter, World};
use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::any;
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Largest request body read (CreateClusterNodes with a 16 KiB script fits easily).
const MAX_BODY: usize = 1024 * 1024;

/// Shared by every request.
pub(crate) struct Shared {
    pub credentials: HashMap<String, Sensitive>,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub core: Mutex<Core>,
    pub persist: Option<Arc<Persister>>,
}

/// The mutable part, behind one lock.
pub(crate) struct Core {
    pub world: World,
    pub faults: FaultState,
    pub stats: Stats,
    pub nonces: NonceCache,
    /// Bumped on every state change, so an older snapshot never overwrites a newer one.
    pub version: u64,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Core> {
        // No code path panics while holding the lock; if one ever did, the state is
        // still consistent (validation precedes mutation), so keep serving.
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encodes the state for the state file after a change (under the lock).
    pub fn snapshot(&self, core: &mut Core, now: Timestamp) -> Option<(u64, Vec<u8>)> {
        self.persist.as_ref()?;
        core.version += 1;
        match persist::encode(core.world.state(), now) {
            Ok(bytes) => Some((core.version, bytes)),
            Err(e) => {
                tracing::error!(error = %e, "cannot encode the simulator state");
                None
            }
        }
    }

    /// Writes a snapshot to the state file off the async runtime.
    pub async fn save(&self, snapshot: Option<(u64, Vec<u8>)>) {
        let (Some(p), Some((version, bytes))) = (self.persist.clone(), snapshot) else {
            return;
        };
        let res = tokio::task::spawn_blocking(move || p.save(version, &bytes)).await;
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "state file not written"),
            Err(e) => tracing::error!(error = %e, "state file writer failed"),
        }
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", any(api))
        .route("/cck/v1", any(api))
        .route("/cck/v1/", any(api))
        .nest("/_sim/v1", crate::sim::admin::routes())
        .fallback(envelope::not_found)
        .with_state(shared)
}

/// What the synchronous part decided.
struct Processed {
    status: u16,
    body: Vec<u8>,
    latency: Duration,
    lost: bool,
    snapshot: Option<(u64, Vec<u8>)>,
}

async fn api(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let request_id = new_request_id();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let e = ApiError::param_parse(format!(
                "the request body could not be read; at most {MAX_BODY} bytes are accepted"
            ));
            shared.lock().stats.record("(none)", Err(&e.code), false);
            return json_response(e.status, error_body(&e, &request_id));
        }
    };
    let query = parts.uri.query().unwrap_or_default();
    let out = process(
        &shared,
        parts.method.as_str(),
        query,
        &body,
        Timestamp::now(),
        &request_id,
    );
    shared.save(out.snapshot).await;
    if !out.latency.is_zero() {
        tokio::time::sleep(out.latency).await;
    }
    if out.lost {
        return lost_response();
    }
    json_response(out.status, out.body)
}

type Pre = Result<(Action, Vec<(String, String)>, Verified), (&'static str, ApiError)>;

/// Everything that needs no shared state: parameters, action, method, signature.
fn precheck(shared: &Shared, method: &str, query: &str, now: Timestamp) -> Pre {
    let params = parse_query(query).map_err(|e| ("(none)", e))?;
    let Some(name) = non_empty(param(&params, "Action")) else {
        return Err(("(none)", ApiError::missing("Action")));
    };
    let Some(action) = Action::from_name(name) else {
        let known: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        return Err((
            "(unsupported)",
            ApiError::new(
                400,
                "UnsupportedAction",
                format!(
                    "Action {:?} is not supported; supported actions: {}",
                    crate::sim::validate::clip(name),
                    known.join(", ")
                ),
            ),
        ));
    };
    let want = action.method().as_str();
    if method != want {
        return Err((
            action.name(),
            ApiError::new(
                400,
                "UnsupportedHTTPMethod",
                format!("{action} must be called with {want}, not {method}"),
            ),
        ));
    }
    let verified = authenticate(&params, method, &shared.credentials, &shared.auth, now)
        .map_err(|e| (action.name(), e))?;
    Ok((action, params, verified))
}

fn process(
    shared: &Shared,
    method: &str,
    query: &str,
    body: &[u8],
    now: Timestamp,
    request_id: &str,
) -> Processed {
    let pre = precheck(shared, method, query, now);
    let mut out = Processed {
        status: 200,
        body: Vec::new(),
        latency: Duration::ZERO,
        lost: false,
        snapshot: None,
    };
    let mut core = shared.lock();
    let (key, result) = match pre {
        Err((key, e)) => (key, Err(e)),
        Ok((action, params, verified)) => {
            let r = handle(
                shared, &mut core, action, &params, &verified, body, now, request_id, &mut out,
            );
            (action.name(), r)
        }
    };
    match result {
        Ok(bytes) => {
            core.stats.record(key, Ok(()), out.lost);
            out.body = bytes;
        }
        Err(e) => {
            core.stats.record(key, Err(&e.code), false);
            tracing::debug!(action = key, code = %e.code, status = e.status, "request rejected");
            out.status = e.status;
            out.body = error_body(&e, request_id);
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn handle(
    shared: &Shared,
    core: &mut Core,
    action: Action,
    params: &[(String, String)],
    verified: &Verified,
    body: &[u8],
    now: Timestamp,
    request_id: &str,
    out: &mut Processed,
) -> Result<Vec<u8>, ApiError> {
    core.faults.throttle(action, &verified.access_key_id)?;
    core.nonces
        .check_and_record(verified, shared.auth.timestamp_skew_seconds, now)?;
    out.latency = core.faults.latency(action);
    if let Some(e) = core.faults.injected_error(action) {
        return Err(e);
    }
    core.world.advance(now);
    let get = |name| non_empty(param(params, name));
    let bytes = match action {
        Action::DescribeTask => {
            only_params(action, params, &["TaskId"])?;
            let id = get("TaskId").ok_or_else(|| ApiError::missing("TaskId"))?;
            success("查询成功", core.world.describe_task(id)?, None, request_id)?
        }
        Action::DescribeClusters => {
            only_params(
                action,
                params,
                &["RegionId", "VdcId", "ClusterName", "ClusterId"],
            )?;
            let f = ClusterFilter {
                region_id: get("RegionId").map(str::to_owned),
                vdc_id: get("VdcId").map(str::to_owned),
                cluster_name: get("ClusterName").map(str::to_owned),
                cluster_id: get("ClusterId").map(str::to_owned),
            };
            success(
                "查询成功！",
                core.world.describe_clusters(&f),
                None,
                request_id,
            )?
        }
        Action::DescribeClusterNodes => {
            only_params(action, params, &["ClusterId", "PageSize", "PageNumber"])?;
            let id = get("ClusterId").ok_or_else(|| ApiError::missing("ClusterId"))?;
            let max = u64::from(shared.limits.max_page_size);
            let size = page_param("PageSize", get("PageSize"), 20.min(max), Some(max))?;
            let number = page_param("PageNumber", get("PageNumber"), 1, None)?;
            let page = core.world.describe_nodes(id, size, number)?;
            let total = page.total;
            success("查询成功！", page, Some((size, number, total)), request_id)?
        }
        Action::DescribeClusterNats => {
            only_params(action, params, &["ClusterId"])?;
            let id = get("ClusterId").ok_or_else(|| ApiError::missing("ClusterId"))?;
            success(
                "查询成功！",
                core.world.describe_nats(id)?,
                None,
                request_id,
            )?
        }
        Action::CreateClusterNodes => {
            only_params(action, params, &[])?;
            let req: CreateClusterNodesRequest = parse_body(action.name(), body)?;
            let plan = core.world.validate_create(&req)?;
            let n = plan.num();
            let Core { world, faults, .. } = &mut *core;
            let task_id = world.apply_create(plan, now, |n| faults.fate(action, n))?;
            tracing::info!(action = %action, task_id, nodes = n, "accepted");
            out.snapshot = shared.snapshot(core, now);
            let msg = "节点扩容任务已下发，请等待完成！";
            success(msg, TaskRef { task_id }, None, request_id)?
        }
        Action::StartClusterNodes | Action::StopClusterNodes | Action::DeleteClusterNodes => {
            only_params(action, params, &[])?;
            let req: NodeIdsRequest = parse_body(action.name(), body)?;
            let plan = core.world.validate_node_op(action, &req)?;
            let n = plan.num();
            let fate = core.faults.fate(action, n);
            let task_id = core.world.apply_node_op(plan, now, fate);
            tracing::info!(action = %action, task_id, nodes = n, "accepted");
            out.snapshot = shared.snapshot(core, now);
            let msg = match action {
                Action::StartClusterNodes => "节点批量开机任务已下发，请等待执行！",
                Action::StopClusterNodes => "节点批量关机任务已下发，请等待执行！",
                _ => "节点批量回收任务已下发，请等待执行！",
            };
            success(msg, TaskRef { task_id }, None, request_id)?
        }
    };
    out.lost = core.faults.lost_response(action);
    if out.lost {
        tracing::info!(action = %action, "response dropped on purpose (lost-response fault)");
    }
    Ok(bytes)
}

/// Rejects query parameters the action does not take, so a client's typo is caught.
fn only_params(
    action: Action,
    params: &[(String, String)],
    allowed: &[&str],
) -> Result<(), ApiError> {
    for (k, _) in params {
        if COMMON_PARAMS.contains(&k.as_str()) || allowed.contains(&k.as_str()) {
            continue;
        }
        let accepts = if allowed.is_empty() {
            "no query parameters besides the common ones; its parameters go in the JSON body"
                .to_owned()
        } else {
            allowed.join(", ")
        };
        return Err(ApiError::invalid(format!(
            "{action} does not take the parameter {}; it accepts {accepts}",
            crate::sim::validate::clip(k)
        )));
    }
    Ok(())
}
