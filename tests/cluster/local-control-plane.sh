#!/usr/bin/env bash
# A real, local Kubernetes control plane for the cck-operator tests (issue #3).
#
#   tests/cluster/local-control-plane.sh build          build (once) and cache the binaries
#   tests/cluster/local-control-plane.sh build --force  rebuild even if the cache is complete
#   tests/cluster/local-control-plane.sh up             start etcd, kube-apiserver, kube-controller-manager
#   tests/cluster/local-control-plane.sh env            print the export lines of a running plane
#   tests/cluster/local-control-plane.sh status         say what is running
#   tests/cluster/local-control-plane.sh down           stop what `up` started and delete its data
#
# `up` and `env` print, on stdout and nothing else:
#   export KUBECONFIG=<state dir>/kubeconfig
#   export CCK_KUBECTL=<cache>/bin/kubectl          (a kubectl of the same version)
# so `eval "$(tests/cluster/local-control-plane.sh up)"` sets up a shell. All progress
# goes to stderr.
#
# What it is: Kubernetes v1.20.2 built from Debian bookworm's source package
# `kubernetes` (1.20.5+really1.20.2, complete upstream tree with vendored
# dependencies) with Debian's Go, and Debian's etcd. Nothing is downloaded but
# Debian packages. The first run installs the packages it needs (apt-get, as root
# or through sudo), downloads the source package through a private apt
# configuration that adds `deb-src` lines derived from the machine's own apt
# sources (the system apt configuration is not changed), builds kube-apiserver,
# kube-controller-manager and kubectl (8-9 minutes on 2 cores, ~2.5 GB of
# disk while building), caches the three binaries and deletes the build tree.
# Later runs start the plane in a few seconds.
#
# What it lacks, compared with a current cluster:
#   - no kubelets: Pods can be created but never run; no Node is ever Ready
#     unless a test writes its status itself;
#   - CRD validation rules in CEL (x-kubernetes-validations, Kubernetes 1.25+)
#     are not understood (the field is dropped, the rules are not enforced);
#   - policy/v1 PodDisruptionBudgets are not served (policy/v1beta1 is), nor any
#     other API that is newer than 1.20;
#   - only the garbage-collector, namespace, serviceaccount and
#     serviceaccount-token controllers run: no Deployments/ReplicaSets/Jobs
#     controllers, no scheduler, no node lifecycle controller.
#
# Authorization: CCK_CP_AUTHZ=RBAC (default) or AlwaysAllow. The kubeconfig's
# user is in group system:masters, so it may do everything in both modes. Under
# RBAC, impersonation gives a test exactly the rights of a service account, e.g.
# the Helm chart's:  kubectl --as=system:serviceaccount:NS:NAME ...  (kube-rs:
# Config.auth_info.impersonate).
#
# Settings (environment):
#   CCK_CP_CACHE          binary cache   (default ${XDG_CACHE_HOME:-$HOME/.cache}/cck-operator/k8s-1.20.2)
#   CCK_CP_STATE          state dir: certs, kubeconfig, pids, logs, etcd data
#                         (default /tmp/cck-operator-cp-$(id -u))
#   CCK_CP_ETCD_PORT      etcd client port                      (default 23790)
#   CCK_CP_ETCD_PEER_PORT etcd peer port                        (default 23800)
#   CCK_CP_API_PORT       kube-apiserver secure port            (default 16443)
#   CCK_CP_KCM_PORT       kube-controller-manager secure port   (default 10357, 0 disables it)
#   CCK_CP_AUTHZ          RBAC | AlwaysAllow                    (default RBAC)
#   CCK_CP_START_TIMEOUT  seconds to wait for each component    (default 180)
#   CCK_CP_LOCK_TIMEOUT   seconds to wait for another caller    (default 3600)
#
# Concurrency: `build` holds a lock on the cache, `up`/`down` a lock on the state
# dir, so parallel test processes that all call `up` wait for the first one and
# then reuse what it built and started.
set -euo pipefail

readonly K8S_VERSION="1.20.2"
readonly DEB_SOURCE_PACKAGE="kubernetes"
readonly REFLECT2_SRC="/usr/share/gocode/src/github.com/modern-go/reflect2"
readonly BINARIES=(kube-apiserver kube-controller-manager kubectl)
# Packages needed to run the plane, and in addition to build it.
readonly RUN_PACKAGES=(etcd-server openssl curl util-linux)
readonly BUILD_PACKAGES=(golang-go rsync make gcc libc6-dev dpkg-dev golang-github-modern-go-reflect2-dev)

CACHE_DIR="${CCK_CP_CACHE:-${XDG_CACHE_HOME:-${HOME:?set HOME or CCK_CP_CACHE}/.cache}/cck-operator/k8s-${K8S_VERSION}}"
STATE_DIR="${CCK_CP_STATE:-/tmp/cck-operator-cp-$(id -u)}"
ETCD_PORT="${CCK_CP_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${CCK_CP_ETCD_PEER_PORT:-23800}"
API_PORT="${CCK_CP_API_PORT:-16443}"
KCM_PORT="${CCK_CP_KCM_PORT:-10357}"
AUTHZ="${CCK_CP_AUTHZ:-RBAC}"
START_TIMEOUT="${CCK_CP_START_TIMEOUT:-180}"
LOCK_TIMEOUT="${CCK_CP_LOCK_TIMEOUT:-3600}"

BIN_DIR="$CACHE_DIR/bin"
MARKER="$CACHE_DIR/COMPLETE"
WORK_DIR="$CACHE_DIR/work"
CACHE_LOCK="$CACHE_DIR.lock"
STATE_LOCK="$STATE_DIR.lock"
KUBECONFIG_FILE="$STATE_DIR/kubeconfig"
LOG_DIR="$STATE_DIR/logs"
PID_DIR="$STATE_DIR/pids"
PKI_DIR="$STATE_DIR/pki"
ETCD_DATA="$STATE_DIR/etcd-data"
readonly COMPONENTS=(etcd kube-apiserver kube-controller-manager)

log() { printf '[local-control-plane] %s\n' "$*" >&2; }
die() {
  printf '[local-control-plane] ERROR: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

validate_settings() {
  local name value
  for name in ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT START_TIMEOUT LOCK_TIMEOUT; do
    value="${!name}"
    [[ "$value" =~ ^[0-9]+$ ]] || die "$name must be a number, got '$value'"
  done
  case "$AUTHZ" in
    RBAC | AlwaysAllow) ;;
    *) die "CCK_CP_AUTHZ must be RBAC or AlwaysAllow, got '$AUTHZ'" ;;
  esac
}

# ---------------------------------------------------------------- locking ---

# take_lock FD FILE WHAT: flock FILE on descriptor FD, waiting (with a message)
# for another caller that holds it. The components that `up` starts do not
# inherit the descriptor (see start_component): they would hold the lock
# forever. The build's make does, on purpose (see ensure_built).
take_lock() {
  local fd="$1" file="$2" what="$3"
  mkdir -p "$(dirname "$file")"
  eval "exec $fd>>\"\$file\""
  if ! flock -n "$fd"; then
    log "waiting (up to ${LOCK_TIMEOUT}s) for another caller holding the $what lock ($file)"
    flock -w "$LOCK_TIMEOUT" "$fd" || die "timed out waiting for the $what lock $file"
  fi
}

# ------------------------------------------------------------ apt packages ---

SUDO=()
APT_UPDATED=0

as_root_prefix() {
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install $* yourself"
    SUDO=(sudo)
  fi
}

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# ensure_packages PKG...: apt-get install the packages that are not installed.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  as_root_prefix "${missing[@]}"
  if [[ "$APT_UPDATED" -eq 0 ]]; then
    log "apt-get update (system)"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
      die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" </dev/null >&2 || die "apt-get install ${missing[*]} failed"
}

# ---------------------------------------------------- private apt sources ---

# Write deb-src entries for every deb entry of the machine's own apt sources.
write_private_sources() {
  local apt_dir="$1" f
  : >"$apt_dir/sources.list"
  if [[ -f /etc/apt/sources.list ]]; then
    sed -n -E 's/^[[:space:]]*deb[[:space:]]+/deb-src /p' /etc/apt/sources.list >>"$apt_dir/sources.list"
  fi
  for f in /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    sed -n -E 's/^[[:space:]]*deb[[:space:]]+/deb-src /p' "$f" >>"$apt_dir/sources.list"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    # deb822: a stanza whose Types has `deb` gets `Types: deb-src`; others
    # (deb-src only) are kept as they are.
    awk '
      BEGIN { IGNORECASE = 1 }
      /^[Tt]ypes:/ {
        n = split(substr($0, index($0, ":") + 1), t, /[[:space:]]+/)
        has = 0
        for (i = 1; i <= n; i++) if (t[i] == "deb" || t[i] == "deb-src") has = 1
        print (has ? "Types: deb-src" : $0)
        next
      }
      { print }
    ' "$f" >"$apt_dir/sources.list.d/$(basename "$f")"
  done
  if [[ ! -s "$apt_dir/sources.list" ]] && ! compgen -G "$apt_dir/sources.list.d/*.sources" >/dev/null; then
    die "found no apt sources in /etc/apt/sources.list or /etc/apt/sources.list.d to derive deb-src entries from"
  fi
}

# Download and unpack Debian's source package into $1/tree.
fetch_source() {
  local src_dir="$1" apt_dir="$WORK_DIR/apt" dsc
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources.list.d" "$src_dir"
  write_private_sources "$apt_dir"
  local apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=true"
  )
  log "apt-get update (private deb-src configuration in $apt_dir)"
  # Some third-party repositories have no deb-src; their errors are not fatal
  # as long as the source package is found below.
  apt-get "${apt_opts[@]}" update -q >&2 </dev/null ||
    log "apt-get update reported errors (ignored if the source package is still found)"
  log "apt-get source --download-only $DEB_SOURCE_PACKAGE"
  (cd "$src_dir" && apt-get "${apt_opts[@]}" source --download-only -q "$DEB_SOURCE_PACKAGE" >&2 </dev/null) ||
    die "could not download Debian's source package '$DEB_SOURCE_PACKAGE' (are the machine's apt sources Debian bookworm?)"
  dsc="$(find "$src_dir" -maxdepth 1 -name "${DEB_SOURCE_PACKAGE}_*.dsc" | sort | tail -n 1)"
  [[ -n "$dsc" ]] || die "no .dsc of $DEB_SOURCE_PACKAGE in $src_dir"
  case "$(basename "$dsc")" in
    *"really${K8S_VERSION}"* | *"_${K8S_VERSION}-"*) ;;
    *) die "$(basename "$dsc") is not Kubernetes $K8S_VERSION (the script is written for Debian bookworm's package)" ;;
  esac
  log "unpacking $(basename "$dsc")"
  rm -rf "$src_dir/tree"
  # apt already checked the files against the signed archive's Sources index.
  dpkg-source --no-check -x "$dsc" "$src_dir/tree" >&2 || die "dpkg-source -x $dsc failed"
}

# ------------------------------------------------------------------ build ---

cache_complete() {
  local b
  [[ -f "$MARKER" ]] || return 1
  for b in "${BINARIES[@]}"; do
    [[ -x "$BIN_DIR/$b" ]] || return 1
  done
}

cmd_build() {
  local force=0
  [[ "${1:-}" == "--force" ]] && force=1
  take_lock 8 "$CACHE_LOCK" cache
  ensure_built "$force"
}

# ensure_built FORCE: needs the cache lock.
ensure_built() {
  local force="${1:-0}"
  ensure_packages "${RUN_PACKAGES[@]}"
  if [[ "$force" -eq 0 ]] && cache_complete; then
    return 0
  fi
  local start=$SECONDS
  log "building Kubernetes $K8S_VERSION into $CACHE_DIR (first use only; about 9 minutes on 2 cores)"
  ensure_packages "${BUILD_PACKAGES[@]}"
  [[ -d "$REFLECT2_SRC" ]] || die "$REFLECT2_SRC is missing (package golang-github-modern-go-reflect2-dev)"

  # Whatever was there is not complete: the marker goes first.
  rm -f "$MARKER"
  rm -rf "$BIN_DIR" "$CACHE_DIR"/bin.tmp.*
  mkdir -p "$WORK_DIR"
  # A previous interrupted build may have left a tree: start it anew (the
  # downloaded source files and the Go build cache are reused).
  fetch_source "$WORK_DIR/src"
  local tree="$WORK_DIR/src/tree"

  # The vendored reflect2 v1.0.1 crashes the apiserver under Go >= 1.18 on the
  # first custom-resource create; Debian's 1.0.2 does not.
  [[ -d "$tree/vendor/github.com/modern-go/reflect2" ]] ||
    die "$tree/vendor/github.com/modern-go/reflect2 not found: unexpected source tree"
  rm -rf "$tree/vendor/github.com/modern-go/reflect2"
  cp -rL "$REFLECT2_SRC" "$tree/vendor/github.com/modern-go/reflect2"
  log "replaced vendor/github.com/modern-go/reflect2 with $REFLECT2_SRC"

  local what="" b
  for b in "${BINARIES[@]}"; do what+="cmd/$b "; done
  log "make WHAT='${what% }' (log: $WORK_DIR/build.log)"
  mkdir -p "$WORK_DIR/gocache" "$WORK_DIR/gopath"
  # make inherits the lock descriptor on purpose: if this script is killed
  # alone, the cache stays locked until the orphaned build has exited too.
  # Debian's Go (/usr/lib/go is golang-go's), whatever else is on PATH.
  if ! (cd "$tree" && env -u GOROOT -u GOBIN PATH="/usr/lib/go/bin:$PATH" \
    GOPROXY=off GOFLAGS=-mod=vendor GOTOOLCHAIN=local GOCACHE="$WORK_DIR/gocache" \
    GOPATH="$WORK_DIR/gopath" \
    make WHAT="${what% }" </dev/null >"$WORK_DIR/build.log" 2>&1); then
    tail -n 40 "$WORK_DIR/build.log" >&2
    die "make failed; full log in $WORK_DIR/build.log"
  fi

  local out tmp
  out="$tree/_output/bin"
  tmp="$(mktemp -d "$CACHE_DIR/bin.tmp.XXXXXX")"
  chmod 755 "$tmp"
  for b in "${BINARIES[@]}"; do
    [[ -x "$out/$b" ]] || die "make did not produce $out/$b"
    cp "$out/$b" "$tmp/$b"
  done
  "$tmp/kube-apiserver" --version >&2 || die "the built kube-apiserver does not run"
  "$tmp/kube-controller-manager" --version >&2 || die "the built kube-controller-manager does not run"
  "$tmp/kubectl" version --client >&2 || die "the built kubectl does not run"
  sync
  mv -T "$tmp" "$BIN_DIR"
  sync
  {
    echo "kubernetes=$K8S_VERSION"
    echo "source=$(basename "$(find "$WORK_DIR/src" -maxdepth 1 -name '*.dsc' | head -n 1)")"
    echo "go=$(/usr/lib/go/bin/go version 2>/dev/null || true)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$((SECONDS - start))"
  } >"$MARKER.tmp"
  mv -f "$MARKER.tmp" "$MARKER"
  sync
  log "built in $((SECONDS - start))s; deleting the build tree $WORK_DIR"
  rm -rf "$WORK_DIR"
}

# ------------------------------------------------------------- processes ---

# Exact path of the program a component runs.
component_exe() {
  case "$1" in
    etcd) command -v etcd || echo /usr/bin/etcd ;;
    *) echo "$BIN_DIR/$1" ;;
  esac
}

# component_pid NAME: print the recorded pid if that process is alive and is
# still the program this script started with this state dir; fail otherwise.
component_pid() {
  local name="$1" pidfile="$PID_DIR/$1.pid" pid exe argv0
  [[ -s "$pidfile" ]] || return 1
  pid="$(<"$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  [[ -s "$PID_DIR/$name.exe" ]] || return 1
  exe="$(<"$PID_DIR/$name.exe")"
  argv0="$(tr '\0' '\n' <"/proc/$pid/cmdline" | head -n 1)"
  [[ "$argv0" == "$exe" ]] || return 1
  # Our own command lines all name files in the state dir.
  tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF -- "$STATE_DIR/" || return 1
  echo "$pid"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_component NAME ARGS...: start detached (own session, no inherited
# stdio or lock descriptors) so it outlives this script and its caller.
start_component() {
  local name="$1" exe
  shift
  exe="$(component_exe "$name")"
  [[ -x "$exe" ]] || die "$exe not found"
  rm -f "$PID_DIR/$name.pid"
  echo "$exe" >"$PID_DIR/$name.exe"
  : >"$LOG_DIR/$name.log"
  # shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
  setsid -f bash -c 'echo $$ >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' \
    "$PID_DIR/$name.pid" "$exe" "$@" </dev/null >>"$LOG_DIR/$name.log" 2>&1 8>&- 9>&-
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s "$PID_DIR/$name.pid" ]] && return 0
    sleep 0.05
  done
  die "$name did not start (log: $LOG_DIR/$name.log)"
}

# wait_healthy NAME CHECK-COMMAND...: poll until the check succeeds; fail with
# the component's log tail if it dies or the timeout passes.
wait_healthy() {
  local name="$1" deadline=$((SECONDS + START_TIMEOUT))
  shift
  while ! "$@" >/dev/null 2>&1; do
    if ! component_pid "$name" >/dev/null; then
      # give the exec a moment: the pid file is written just before it
      sleep 0.2
      if ! component_pid "$name" >/dev/null; then
        log "$name exited; last lines of $LOG_DIR/$name.log:"
        tail -n 30 "$LOG_DIR/$name.log" >&2 || true
        die "$name died during start-up"
      fi
    fi
    if ((SECONDS >= deadline)); then
      log "$name not healthy after ${START_TIMEOUT}s; last lines of $LOG_DIR/$name.log:"
      tail -n 30 "$LOG_DIR/$name.log" >&2 || true
      die "$name did not become healthy within ${START_TIMEOUT}s (CCK_CP_START_TIMEOUT)"
    fi
    sleep 0.3
  done
}

admin_token() { cat "$PKI_DIR/admin.token"; }

etcd_healthy() {
  curl --noproxy '*' -fsS --max-time 3 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'
}

apiserver_ready() {
  [[ -f "$PKI_DIR/admin.token" ]] || return 1
  [[ "$(curl --noproxy '*' -fsS --max-time 5 --cacert "$PKI_DIR/ca.crt" \
    -H "Authorization: Bearer $(admin_token)" "https://127.0.0.1:$API_PORT/readyz")" == ok ]]
}

kcm_healthy() {
  [[ "$KCM_PORT" -eq 0 ]] && return 0
  [[ "$(curl --noproxy '*' -fsS --max-time 3 --insecure "https://127.0.0.1:$KCM_PORT/healthz")" == ok ]]
}

config_fingerprint() {
  echo "bin=$BIN_DIR etcd=$ETCD_PORT/$ETCD_PEER_PORT api=$API_PORT kcm=$KCM_PORT authz=$AUTHZ"
}

plane_healthy() {
  local c
  for c in "${COMPONENTS[@]}"; do
    component_pid "$c" >/dev/null || return 1
  done
  [[ -f "$STATE_DIR/config" && "$(<"$STATE_DIR/config")" == "$(config_fingerprint)" ]] || return 1
  [[ -f "$KUBECONFIG_FILE" ]] || return 1
  apiserver_ready
}

print_exports() {
  printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_FILE"
  printf 'export CCK_KUBECTL=%q\n' "$BIN_DIR/kubectl"
}

# --------------------------------------------------------------- pki ---

gen_pki() {
  rm -rf "$PKI_DIR"
  mkdir -p "$PKI_DIR"
  chmod 700 "$PKI_DIR"
  (
    cd "$PKI_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
      -keyout ca.key -out ca.crt -subj "/CN=cck-operator-local-ca" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout apiserver.key -out apiserver.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    cat >apiserver.ext <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -days 3650 -sha256 -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    # Static bearer tokens: "token,user,uid,groups".
    local admin kcm
    admin="$(openssl rand -hex 24)"
    kcm="$(openssl rand -hex 24)"
    printf '%s\n' "$admin" >admin.token
    printf '%s\n' "$kcm" >kcm.token
    printf '%s,cck-admin,cck-admin,"system:masters"\n' "$admin" >tokens.csv
    printf '%s,system:kube-controller-manager,kube-controller-manager,"system:masters"\n' "$kcm" >>tokens.csv
  ) || die "generating certificates with openssl failed"
}

# write_kubeconfig FILE TOKEN USER
write_kubeconfig() {
  local file="$1" token="$2" user="$3" ca
  ca="$(base64 -w0 <"$PKI_DIR/ca.crt")"
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cck-operator-local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $ca
users:
- name: $user
  user:
    token: $token
contexts:
- name: cck-operator-local
  context:
    cluster: cck-operator-local
    user: $user
current-context: cck-operator-local
EOF
  chmod 600 "$file.tmp"
  mv -f "$file.tmp" "$file"
}

# ------------------------------------------------------------------ up ---

stop_components() {
  local c pid i
  # reverse order: controller-manager, apiserver, etcd
  for c in kube-controller-manager kube-apiserver etcd; do
    if pid="$(component_pid "$c")"; then
      log "stopping $c (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        [[ -d "/proc/$pid" ]] || break
        # a zombie is gone for our purposes
        [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && break
        sleep 0.1
      done
      if [[ -d "/proc/$pid" ]] && component_pid "$c" >/dev/null; then
        log "$c did not stop in 10s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
          [[ -d "/proc/$pid" ]] || break
          sleep 0.1
        done
      fi
    fi
    rm -f "$PID_DIR/$c.pid" "$PID_DIR/$c.exe"
  done
}

up_failed_cleanup() {
  log "up failed: stopping what it started (logs stay in $LOG_DIR)"
  stop_components
}

cmd_up() {
  take_lock 9 "$STATE_LOCK" state
  if plane_healthy; then
    log "already up ($STATE_DIR)"
    print_exports
    return 0
  fi
  # Anything half-running from before (or started with other settings) goes.
  if [[ -d "$PID_DIR" ]]; then
    stop_components
  fi
  (
    take_lock 8 "$CACHE_LOCK" cache
    ensure_built 0
  )
  cache_complete || die "binary cache $CACHE_DIR is not complete"
  ensure_packages "${RUN_PACKAGES[@]}"

  local port var
  for var in ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT; do
    port="${!var}"
    [[ "$port" -eq 0 ]] && continue
    port_in_use "$port" && die "port $port is in use by another program; choose another with CCK_CP_$var"
  done

  local start=$SECONDS
  rm -rf "$ETCD_DATA" "$PID_DIR" "$STATE_DIR/kcm-certs"
  mkdir -p "$STATE_DIR" "$LOG_DIR" "$PID_DIR" "$ETCD_DATA" "$STATE_DIR/kcm-certs"
  chmod 700 "$STATE_DIR" "$ETCD_DATA"
  rm -f "$STATE_DIR/config"
  gen_pki
  write_kubeconfig "$KUBECONFIG_FILE" "$(admin_token)" cck-admin
  write_kubeconfig "$STATE_DIR/kcm.kubeconfig" "$(cat "$PKI_DIR/kcm.token")" kube-controller-manager

  # From here on, a failure stops whatever was started (the logs stay).
  trap up_failed_cleanup EXIT
  local etcd_extra=()
  if etcd --help 2>&1 | grep -q -- '--unsafe-no-fsync'; then
    etcd_extra+=(--unsafe-no-fsync) # throwaway data: skip fsync for speed
  fi
  log "starting etcd on 127.0.0.1:$ETCD_PORT"
  start_component etcd \
    --name cck-operator-local \
    --data-dir "$ETCD_DATA" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "cck-operator-local=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state new \
    --log-level warn \
    "${etcd_extra[@]}"
  wait_healthy etcd etcd_healthy

  log "starting kube-apiserver on https://127.0.0.1:$API_PORT (authorization $AUTHZ)"
  start_component kube-apiserver \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 \
    --advertise-address 127.0.0.1 \
    --secure-port "$API_PORT" \
    --cert-dir "$PKI_DIR" \
    --tls-cert-file "$PKI_DIR/apiserver.crt" \
    --tls-private-key-file "$PKI_DIR/apiserver.key" \
    --client-ca-file "$PKI_DIR/ca.crt" \
    --token-auth-file "$PKI_DIR/tokens.csv" \
    --service-account-key-file "$PKI_DIR/sa.pub" \
    --service-account-signing-key-file "$PKI_DIR/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --api-audiences https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range 10.0.0.0/24 \
    --endpoint-reconciler-type none \
    --authorization-mode "$AUTHZ" \
    --enable-admission-plugins NamespaceLifecycle,ServiceAccount,DefaultTolerationSeconds,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota \
    --allow-privileged=true \
    --profiling=false \
    --logtostderr=true \
    --v=0
  wait_healthy kube-apiserver apiserver_ready

  log "starting kube-controller-manager (garbagecollector, namespace, serviceaccount, serviceaccount-token)"
  local kcm_serving=(--secure-port "$KCM_PORT")
  if [[ "$KCM_PORT" -ne 0 ]]; then
    kcm_serving+=(
      --bind-address 127.0.0.1
      --cert-dir "$STATE_DIR/kcm-certs"
      --authentication-kubeconfig "$STATE_DIR/kcm.kubeconfig"
      --authorization-kubeconfig "$STATE_DIR/kcm.kubeconfig"
      --authentication-skip-lookup
    )
  fi
  start_component kube-controller-manager \
    --kubeconfig "$STATE_DIR/kcm.kubeconfig" \
    --controllers garbagecollector,namespace,serviceaccount,serviceaccount-token \
    --leader-elect=false \
    --port 0 \
    "${kcm_serving[@]}" \
    --service-account-private-key-file "$PKI_DIR/sa.key" \
    --root-ca-file "$PKI_DIR/ca.crt" \
    --profiling=false \
    --logtostderr=true \
    --v=0
  wait_healthy kube-controller-manager kcm_healthy

  config_fingerprint >"$STATE_DIR/config"
  trap - EXIT
  log "up in $((SECONDS - start))s; state in $STATE_DIR, logs in $LOG_DIR"
  print_exports
}

# ---------------------------------------------------------- down/env/status ---

cmd_down() {
  take_lock 9 "$STATE_LOCK" state
  if [[ -d "$PID_DIR" ]]; then
    stop_components
  else
    log "nothing recorded in $STATE_DIR"
  fi
  # Keep only the logs (useful after a failed run).
  rm -rf "$ETCD_DATA" "$PID_DIR" "$PKI_DIR" "$STATE_DIR/kcm-certs" "$KUBECONFIG_FILE" \
    "$STATE_DIR/kcm.kubeconfig" "$STATE_DIR/config"
  log "down"
}

cmd_env() {
  plane_healthy || die "the local control plane is not up (run: $0 up)"
  print_exports
}

cmd_status() {
  local c pid rc=0
  if cache_complete; then
    log "binaries: $BIN_DIR ($(tr '\n' ' ' <"$MARKER"))"
  else
    log "binaries: not built yet ($CACHE_DIR)"
  fi
  for c in "${COMPONENTS[@]}"; do
    if pid="$(component_pid "$c")"; then
      log "$c: running, pid $pid"
    else
      log "$c: not running"
      rc=1
    fi
  done
  if apiserver_ready 2>/dev/null; then
    log "kube-apiserver https://127.0.0.1:$API_PORT/readyz: ok; KUBECONFIG=$KUBECONFIG_FILE"
  else
    log "kube-apiserver https://127.0.0.1:$API_PORT/readyz: not ready"
    rc=1
  fi
  return "$rc"
}

main() {
  [[ $# -ge 1 ]] || usage
  local verb="$1"
  shift
  validate_settings
  case "$verb" in
    build) cmd_build "$@" ;;
    up) cmd_up ;;
    down) cmd_down ;;
    env) cmd_env ;;
    status) cmd_status ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
