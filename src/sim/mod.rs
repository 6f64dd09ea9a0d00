//! `cck-operator sim`: a local, stateful stand-in for the CCK API (in the spirit of
//! LocalStack), for tests, benchmarks, demos and CI.
//!
//! It serves the eight CCK actions at `/cck/v1` (and `/`) with the vendor's signing,
//! envelope and validation rules, runs tasks asynchronously against the real clock,
//! injects faults (errors, latency, throttling, failed or partially failed tasks, lost
//! responses) and exposes an unauthenticated admin API under `/_sim/v1/`.
//!
//! Layout: [`config`] (what to start with); [`world`], [`ops`], [`queries`], `tasks`,
//! `placement` and [`world_admin`] (the pure state machine, time passed in);
//! [`validate`] and [`auth`] (request checks); [`faults`] and [`stats`]; `http`,
//! `envelope` and `admin` (the axum front); [`persist`] (the `--state` file).

pub mod auth;
pub mod config;
mod config_nodes;
pub mod error;
pub mod faults;
pub mod ops;
pub mod persist;
mod placement;
pub mod queries;
pub mod stats;
pub mod validate;
pub mod world;
pub mod world_admin;

mod admin;
mod envelope;
mod http;
mod tasks;
#[cfg(test)]
mod test_support;

pub use config::SimConfig;
pub use error::{ApiError, SimError};

use crate::sim::auth::NonceCache;
use crate::sim::faults::FaultState;
use crate::sim::http::{Core, Shared};
use crate::sim::persist::Persister;
use crate::sim::stats::Stats;
use crate::sim::world::World;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Nonces remembered at most (a replay older than this many requests can slip through).
const NONCE_CAPACITY: usize = 1_000_000;

/// Arguments of `cck-operator sim`.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Address to listen on. The admin API has no authentication: keep it on loopback.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// Config file (YAML, or JSON if it ends in .json); default: the built-in demo.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// State file: loaded at start if it exists, rewritten atomically after every change.
    #[arg(long)]
    pub state: Option<PathBuf>,
}

/// A running simulator.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    shutdown: tokio::sync::oneshot::Sender<()>,
    join: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SimHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL, e.g. `http://127.0.0.1:8787/cck/v1` (a wildcard listen address
    /// is shown as loopback, which is what a local client should use).
    pub fn endpoint(&self) -> String {
        format!("http://{}/cck/v1", self.client_addr())
    }

    /// The admin API base URL, e.g. `http://127.0.0.1:8787/_sim/v1`.
    pub fn admin_url(&self) -> String {
        format!("http://{}/_sim/v1", self.client_addr())
    }

    fn client_addr(&self) -> SocketAddr {
        let ip = match self.addr.ip() {
            IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        SocketAddr::new(ip, self.addr.port())
    }

    /// Stops accepting requests and waits (up to 10 s) for open ones to finish.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        match tokio::time::timeout(Duration::from_secs(10), self.join).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "simulator server stopped with an error"),
            Ok(Err(e)) => tracing::warn!(error = %e, "simulator server task failed"),
            Err(_) => {
                tracing::warn!("simulator did not stop within 10 s; abandoning open connections")
            }
        }
    }
}

/// Starts serving `config` on `listener` in the background.
///
/// With `state_file`, the world is restored from it if it exists (the config's clusters
/// are then ignored; credentials, limits, durations and faults still come from the
/// config), otherwise it is created from the config and written there at once.
pub async fn serve(
    config: SimConfig,
    listener: tokio::net::TcpListener,
    state_file: Option<PathBuf>,
) -> Result<SimHandle, SimError> {
    config
        .validate()
        .map_err(|message| SimError::ConfigInvalid {
            origin: "config".into(),
            message,
        })?;
    let now = jiff::Timestamp::now();
    let restored = match &state_file {
        Some(p) => persist::load(p)?,
        None => None,
    };
    let persister = state_file.map(|p| Arc::new(Persister::new(p)));
    let world = match restored {
        Some(state) => {
            if let Some(p) = &persister {
                tracing::info!(path = %p.path().display(), "state restored; the config's clusters are ignored");
            }
            World::restore(state, &config)
        }
        None => {
            let world = World::new(&config, now);
            if let Some(p) = &persister {
                let bytes =
                    persist::encode(world.state(), now).map_err(|e| SimError::StateWrite {
                        path: p.path().to_owned(),
                        source: std::io::Error::other(e),
                    })?;
                p.save(1, &bytes)?;
            }
            world
        }
    };
    let shared = Arc::new(Shared {
        credentials: config
            .credentials
            .iter()
            .map(|c| (c.access_key_id.clone(), c.access_key_secret.clone()))
            .collect(),
        auth: config.auth.clone(),
        limits: config.limits.clone(),
        core: Mutex::new(Core {
            world,
            faults: FaultState::new(config.faults.clone(), config.seed),
            stats: Stats::default(),
            nonces: NonceCache::new(NONCE_CAPACITY),
            version: 1,
        }),
        persist: persister,
    });
    let addr = listener.local_addr().map_err(SimError::Serve)?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = http::router(shared);
    let join = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(SimHandle {
        addr,
        shutdown: tx,
        join,
    })
}

/// `cck-operator sim`: serves until Ctrl-C or SIGTERM.
///
/// Prints `export CCK_ENDPOINT=...`, `CCK_ACCESS_KEY_ID` and `CCK_ACCESS_KEY_SECRET`
/// (the first configured credential) to stdout, ready to paste or `eval`. That secret is
/// the simulator's own credential, so printing it is deliberate; logs go to stderr.
pub async fn run(args: SimArgs) -> Result<(), SimError> {
    let config = match &args.config {
        Some(p) => SimConfig::load(p)?,
        None => SimConfig::demo(),
    };
    let credential = config.credentials.first().cloned();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: args.listen,
            source,
        })?;
    let handle = serve(config, listener, args.state.clone()).await?;
    let addr = handle.local_addr();
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the admin API (/_sim/v1) has no authentication and is reachable from the network; listen on 127.0.0.1 unless that is intended");
    }
    println!("export CCK_ENDPOINT={}", shell_quote(&handle.endpoint()));
    if let Some(c) = credential {
        println!("export CCK_ACCESS_KEY_ID={}", shell_quote(&c.access_key_id));
        println!(
            "export CCK_ACCESS_KEY_SECRET={}",
            shell_quote(c.access_key_secret.expose())
        );
    }
    tracing::info!(endpoint = %handle.endpoint(), admin = %handle.admin_url(), "CCK simulator ready");
    wait_for_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Quotes a value for a POSIX shell unless it is plainly safe.
fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("sim-demo-secret"), "sim-demo-secret");
        assert_eq!(
            shell_quote("http://127.0.0.1:8787/cck/v1"),
            "http://127.0.0.1:8787/cck/v1"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
