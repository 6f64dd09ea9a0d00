//! A real Kubernetes API server for the integration tests.
//!
//! Which cluster the tests use:
//! * `KUBECONFIG` set (and not empty): that cluster — a person's own, or the
//!   local control plane that `tests/run.sh` started. kubectl is `CCK_KUBECTL`
//!   if set, else `kubectl` from `PATH`.
//! * otherwise: `tests/cluster/local-control-plane.sh up`, which builds (first
//!   use only), starts, or just reports the local control plane. It is
//!   idempotent and takes a lock, so many test processes (cargo-nextest runs one
//!   per test) share one plane. Its kubectl, of the server's version, is used.
//!
//! A test that cannot get a cluster fails with the reason; it never passes
//! without one.
//!
//! Every [`TestContext`] owns a fresh namespace with a random suffix, deleted
//! when the context is dropped, also when the test panics (set
//! `CCK_TEST_KEEP_NAMESPACES=1` to keep them for a post-mortem).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ::kube::api::{Api, DeleteParams, PostParams};
use ::kube::config::{KubeConfigOptions, Kubeconfig};
use ::kube::{Client, Config, Resource};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tokio::io::AsyncWriteExt;

/// Label put on every test namespace.
pub const TEST_NAMESPACE_LABEL: &str = "test.cck.capitalonline.net/owner";

/// The field manager the tests use for server-side apply of shared
/// (cluster-scoped) objects: applying the same object from parallel tests with
/// one manager is a no-op, never a conflict.
pub const FIELD_MANAGER: &str = "cck-operator-tests";

/// The cluster the tests run against, found once per test process.
#[derive(Debug)]
pub struct ControlPlane {
    /// The merged kubeconfig.
    pub kubeconfig: Kubeconfig,
    /// The value to give kubectl as `KUBECONFIG`.
    pub kubeconfig_env: OsString,
    /// The kubectl to run.
    pub kubectl: PathBuf,
    /// Where it came from, for messages.
    pub origin: String,
}

static CONTROL_PLANE: OnceLock<Result<ControlPlane, String>> = OnceLock::new();

/// The cluster for this test process. Panics (fails the test) with the reason
/// if there is none.
pub fn control_plane() -> &'static ControlPlane {
    match CONTROL_PLANE.get_or_init(find_control_plane) {
        Ok(plane) => plane,
        Err(reason) => panic!(
            "this test needs a Kubernetes API server and could not get one: {reason}\n\
             Run the tests with `bash tests/run.sh`, or start the local control plane with \
             `eval \"$(tests/cluster/local-control-plane.sh up)\"`, or set KUBECONFIG to a \
             cluster of your own."
        ),
    }
}

/// The repository's root directory.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file under `tests/data/`.
pub fn test_data(name: &str) -> PathBuf {
    repo_root().join("tests").join("data").join(name)
}

fn find_control_plane() -> Result<ControlPlane, String> {
    if let Some(value) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let kubeconfig = Kubeconfig::from_env()
            .map_err(|e| format!("cannot read KUBECONFIG={}: {e}", value.to_string_lossy()))?
            .ok_or_else(|| "KUBECONFIG is set but names no file".to_string())?;
        let kubectl = std::env::var_os("CCK_KUBECTL")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("kubectl"));
        return Ok(ControlPlane {
            kubeconfig,
            origin: format!("KUBECONFIG={}", value.to_string_lossy()),
            kubeconfig_env: value,
            kubectl,
        });
    }

    let script = repo_root().join("tests/cluster/local-control-plane.sh");
    eprintln!("KUBECONFIG is not set: running `{} up`", script.display());
    let output = std::process::Command::new("bash")
        .arg(&script)
        .arg("up")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "`{} up` failed ({}); its messages are above",
            script.display(),
            output.status
        ));
    }
    let exports = parse_exports(&String::from_utf8_lossy(&output.stdout));
    let path = exports
        .get("KUBECONFIG")
        .ok_or_else(|| format!("`{} up` printed no KUBECONFIG", script.display()))?;
    let kubeconfig =
        Kubeconfig::read_from(path).map_err(|e| format!("cannot read kubeconfig {path}: {e}"))?;
    let kubectl = exports
        .get("CCK_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kubectl"));
    Ok(ControlPlane {
        kubeconfig,
        kubeconfig_env: OsString::from(path),
        kubectl,
        origin: format!("local control plane ({path})"),
    })
}

/// Parse `export NAME=VALUE` lines as printed by bash's `printf %q`.
pub fn parse_exports(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("export "))
        .filter_map(|assignment| assignment.split_once('='))
        .map(|(name, value)| (name.to_string(), unquote_shell(value)))
        .collect()
}

fn unquote_shell(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return inner.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// A test's view of the cluster: a client and a namespace of its own.
pub struct TestContext {
    /// Client authenticated as the kubeconfig's user (cluster admin on the
    /// local control plane).
    pub client: Client,
    /// The test's own namespace, deleted on drop.
    pub namespace: String,
    config: Config,
    plane: &'static ControlPlane,
    kubectl_cache: tempfile::TempDir,
}

impl TestContext {
    /// Connect and create a namespace `cck-<test>-<random>` for the test.
    pub async fn new(test: &str) -> Self {
        let plane = control_plane();
        let config =
            Config::from_custom_kubeconfig(plane.kubeconfig.clone(), &KubeConfigOptions::default())
                .await
                .unwrap_or_else(|e| panic!("invalid kubeconfig of {}: {e}", plane.origin));
        let client = Client::try_from(config.clone())
            .unwrap_or_else(|e| panic!("cannot build a client for {}: {e}", plane.origin));
        let namespace = namespace_name(test);
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(namespace.clone()),
                labels: Some(BTreeMap::from([(
                    TEST_NAMESPACE_LABEL.to_string(),
                    "cck-operator-tests".to_string(),
                )])),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot create test namespace {namespace} on {}: {e}",
                    plane.origin
                )
            });
        let kubectl_cache = tempfile::Builder::new()
            .prefix("cck-kubectl-cache-")
            .tempdir()
            .expect("create a kubectl cache dir");
        TestContext {
            client,
            namespace,
            config,
            plane,
            kubectl_cache,
        }
    }

    /// The cluster this context talks to.
    pub fn plane(&self) -> &'static ControlPlane {
        self.plane
    }

    /// A namespaced API in the test's namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// A client that impersonates `user` (and `groups`), e.g.
    /// `system:serviceaccount:NS:NAME` with the groups `system:serviceaccounts`
    /// and `system:serviceaccounts:NS`: it has exactly the rights RBAC gives
    /// that identity.
    pub fn client_as(&self, user: &str, groups: &[&str]) -> Client {
        let mut config = self.config.clone();
        config.auth_info.impersonate = Some(user.to_string());
        config.auth_info.impersonate_groups = if groups.is_empty() {
            None
        } else {
            Some(groups.iter().map(|g| g.to_string()).collect())
        };
        Client::try_from(config).expect("build an impersonating client")
    }

    /// A client that impersonates the service account `name` in the test's
    /// namespace.
    pub fn client_as_service_account(&self, name: &str) -> Client {
        let ns = &self.namespace;
        self.client_as(
            &format!("system:serviceaccount:{ns}:{name}"),
            &[
                "system:serviceaccounts",
                &format!("system:serviceaccounts:{ns}"),
                "system:authenticated",
            ],
        )
    }

    /// Run kubectl with `args` (and `stdin`), against this cluster; no
    /// namespace is added. Returns the output whatever the exit status.
    pub async fn kubectl_output(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = tokio::process::Command::new(&self.plane.kubectl);
        cmd.env("KUBECONFIG", &self.plane.kubeconfig_env)
            .arg("--cache-dir")
            .arg(self.kubectl_cache.path())
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run {} (set CCK_KUBECTL or put kubectl on PATH): {e}",
                self.plane.kubectl.display()
            )
        });
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("kubectl stdin");
            pipe.write_all(input.as_bytes())
                .await
                .expect("write kubectl stdin");
            drop(pipe);
        }
        tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish in 120s"))
            .expect("wait for kubectl")
    }

    /// Run kubectl and return its stdout; fails the test if kubectl fails.
    pub async fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.kubectl_output(args, stdin).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for TestContext {
    fn drop(&mut self) {
        if std::env::var_os("CCK_TEST_KEEP_NAMESPACES").is_some_and(|v| v == "1") {
            eprintln!("keeping test namespace {}", self.namespace);
            return;
        }
        // Drop may run inside the test's runtime (even while it unwinds): use a
        // runtime and client of our own on another thread.
        let config = self.config.clone();
        let namespace = self.namespace.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let client = Client::try_from(config).map_err(|e| e.to_string())?;
                let namespaces = Api::<Namespace>::all(client);
                let params = DeleteParams::background();
                let delete = namespaces.delete(&namespace, &params);
                match tokio::time::timeout(Duration::from_secs(15), delete).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(format!("delete namespace {namespace}: {e}")),
                    Err(_) => Err(format!("delete namespace {namespace}: timed out")),
                }
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: test cleanup: {e}"),
            Err(_) => eprintln!("warning: test cleanup panicked"),
        }
    }
}

/// `cck-<test name as a DNS label>-<8 random hex digits>`, at most 63 chars.
pub fn namespace_name(test: &str) -> String {
    let mut stem: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    stem.truncate(40);
    let stem = stem.trim_matches('-');
    format!("cck-{stem}-{:08x}", rand::random::<u32>())
}

/// Poll `check` until it returns `Some`, at most `timeout`; fails the test
/// with `what` otherwise. For the waits that a control loop makes unavoidable.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    let mut interval = Duration::from_millis(50);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_millis(500));
    }
}
