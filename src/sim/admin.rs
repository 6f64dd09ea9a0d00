//! The admin API under `/_sim/v1/`: inspect the whole state, read and replace the fault
//! config, queue one-shot faults, read and reset request counters, and change the world
//! behind the API's back. JSON in and out; errors are `{"error": "...", "code": "..."}`.
//!
//! It has no authentication: it is meant for a simulator listening on loopback only
//! (`run` warns when it is not).

use crate::sim::envelope::json_response;
use crate::sim::error::ApiError;
use crate::sim::faults::{FaultConfig, OnceFault};
use crate::sim::http::{Core, Shared};
use crate::sim::stats::Stats;
use crate::sim::world_admin::{AddNodes, PatchCluster, PatchNode};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, patch, post};
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

type S = State<Arc<Shared>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/health", get(health))
        .route("/state", get(state))
        .route("/faults", get(get_faults).put(put_faults))
        .route(
            "/faults/once",
            get(list_once).post(add_once).delete(clear_once),
        )
        .route("/stats", get(stats))
        .route("/stats/reset", post(reset_stats))
        .route("/clusters/{id}", patch(patch_cluster))
        .route("/clusters/{id}/nodes", post(add_nodes))
        .route("/nodes/{id}", patch(patch_node).delete(delete_node))
        .method_not_allowed_fallback(method_not_allowed)
}

fn ok<T: Serialize>(status: u16, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json_response(status, body),
        Err(e) => fail(&ApiError::internal(format!(
            "cannot encode the response: {e}"
        ))),
    }
}

fn fail(e: &ApiError) -> Response {
    #[derive(Serialize)]
    struct Body<'a> {
        error: &'a str,
        code: &'a str,
    }
    let body = serde_json::to_vec(&Body {
        error: &e.msg,
        code: &e.code,
    })
    .unwrap_or_default();
    json_response(e.status, body)
}

/// Decodes an admin body strictly, naming the bad field.
fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let mut de = serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        ApiError::invalid(format!(
            "invalid JSON body at `{}`: {}",
            e.path(),
            e.inner()
        ))
    })
}

async fn method_not_allowed() -> Response {
    fail(&ApiError::new(
        405,
        "MethodNotAllowed",
        "this admin endpoint does not support that HTTP method",
    ))
}

async fn health() -> Response {
    ok(200, &serde_json::json!({"ok": true}))
}

async fn state(State(s): S) -> Response {
    let mut core = s.lock();
    core.world.advance(Timestamp::now());
    ok(200, &core.world.view())
}

async fn get_faults(State(s): S) -> Response {
    ok(200, s.lock().faults.config())
}

async fn put_faults(State(s): S, bytes: Bytes) -> Response {
    let config: FaultConfig = match body(&bytes) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if let Err(msg) = config.validate() {
        return fail(&ApiError::invalid(msg));
    }
    tracing::info!(?config, "fault config replaced");
    let mut core = s.lock();
    core.faults.replace(config);
    ok(200, core.faults.config())
}

#[derive(Serialize)]
struct Pending<'a> {
    pending: &'a [OnceFault],
}

async fn list_once(State(s): S) -> Response {
    let core = s.lock();
    ok(
        200,
        &Pending {
            pending: core.faults.pending_once(),
        },
    )
}

async fn add_once(State(s): S, bytes: Bytes) -> Response {
    let fault: OnceFault = match body(&bytes) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    if fault.count == 0 {
        return fail(&ApiError::invalid("count must be at least 1"));
    }
    let mut core = s.lock();
    core.faults.add_once(fault);
    ok(
        200,
        &Pending {
            pending: core.faults.pending_once(),
        },
    )
}

async fn clear_once(State(s): S) -> Response {
    let mut core = s.lock();
    core.faults.clear_once();
    ok(
        200,
        &Pending {
            pending: core.faults.pending_once(),
        },
    )
}

async fn stats(State(s): S) -> Response {
    ok(200, &s.lock().stats)
}

async fn reset_stats(State(s): S) -> Response {
    let mut core = s.lock();
    core.stats = Stats::default();
    ok(200, &core.stats)
}

/// Runs a state change under the lock, then saves the state file.
async fn change<T: Serialize>(
    s: &Shared,
    status: u16,
    f: impl FnOnce(&mut Core, Timestamp) -> Result<T, ApiError>,
) -> Response {
    let now = Timestamp::now();
    let (result, snapshot) = {
        let mut core = s.lock();
        core.world.advance(now);
        match f(&mut core, now) {
            Ok(v) => {
                let snap = s.snapshot(&mut core, now);
                (Ok(v), snap)
            }
            Err(e) => (Err(e), None),
        }
    };
    s.save(snapshot).await;
    match result {
        Ok(v) => ok(status, &v),
        Err(e) => fail(&e),
    }
}

#[derive(Serialize)]
struct Nodes {
    nodes: Vec<crate::cck::types::Node>,
}

async fn add_nodes(State(s): S, Path(id): Path<String>, bytes: Bytes) -> Response {
    let spec: AddNodes = match body(&bytes) {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    change(&s, 201, |core, now| {
        core.world
            .admin_add_nodes(&id, &spec, now)
            .map(|nodes| Nodes { nodes })
    })
    .await
}

async fn patch_node(State(s): S, Path(id): Path<String>, bytes: Bytes) -> Response {
    let p: PatchNode = match body(&bytes) {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    change(&s, 200, |core, _| core.world.admin_patch_node(&id, &p)).await
}

async fn delete_node(State(s): S, Path(id): Path<String>) -> Response {
    change(&s, 200, |core, _| core.world.admin_delete_node(&id)).await
}

async fn patch_cluster(State(s): S, Path(id): Path<String>, bytes: Bytes) -> Response {
    let p: PatchCluster = match body(&bytes) {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    change(&s, 200, |core, _| core.world.admin_patch_cluster(&id, &p)).await
}
