#!/usr/bin/env bash
# The operator's main job on local defaults, in one command:
#
#   bash examples/demo.sh
#
# 1. starts the local Kubernetes control plane (tests/cluster/local-control-plane.sh;
#    the first run installs Debian packages and builds Kubernetes, about 8 minutes);
# 2. starts the CCK simulator with its demo cluster on 127.0.0.1:8787;
# 3. installs the CckNodePool CRD and applies examples/ccknodepool.yaml;
# 4. runs the operator in the foreground until Ctrl-C.
#
# In another shell:  eval "$(tests/cluster/local-control-plane.sh env)"
#                    "$CCK_KUBECTL" get cnp -w
#                    "$CCK_KUBECTL" describe cnp workers
#                    "$CCK_KUBECTL" scale cnp/workers --replicas=5
# At exit the simulator stops; the control plane keeps running if it was already up
# (stop it with tests/cluster/local-control-plane.sh down).
set -euo pipefail
cd "$(dirname "$0")/.."

readonly CONTROL_PLANE=tests/cluster/local-control-plane.sh
readonly SIM_ADDR="${CCK_DEMO_SIM_ADDR:-127.0.0.1:8787}"
say() { printf '==> %s\n' "$*" >&2; }

started_plane=0
sim_pid=""
cleanup() {
  if [[ -n "$sim_pid" ]]; then kill "$sim_pid" 2>/dev/null || true; fi
  if [[ "$started_plane" -eq 1 ]]; then
    say "stopping the local control plane this demo started"
    bash "$CONTROL_PLANE" down || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if exports="$(bash "$CONTROL_PLANE" env 2>/dev/null)"; then
  say "using the running local control plane"
else
  say "starting the local control plane (the first run builds Kubernetes: about 8 minutes)"
  exports="$(bash "$CONTROL_PLANE" up </dev/null)"
  started_plane=1
fi
eval "$exports"
export KUBECONFIG CCK_KUBECTL

say "building cck-operator"
cargo build --quiet
readonly BIN=target/debug/cck-operator

say "starting the CCK simulator on $SIM_ADDR"
sim_out="$(mktemp)"
"$BIN" sim --listen "$SIM_ADDR" >"$sim_out" 2>"${sim_out}.log" &
sim_pid=$!
for _ in $(seq 100); do
  grep -q CCK_ACCESS_KEY_SECRET "$sim_out" && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "${sim_out}.log" >&2; exit 1; }
  sleep 0.1
done
eval "$(cat "$sim_out")"
export CCK_ENDPOINT CCK_ACCESS_KEY_ID CCK_ACCESS_KEY_SECRET

say "installing the CRD and the example pool"
# The local API server is Kubernetes 1.20, which predates CEL validation rules.
"$BIN" crd --without-cel | "$CCK_KUBECTL" apply --server-side -f - >/dev/null
"$CCK_KUBECTL" wait --for=condition=Established --timeout=60s crd/ccknodepools.cck.capitalonline.net >/dev/null
"$CCK_KUBECTL" apply -f examples/ccknodepool.yaml

say "running the operator (Ctrl-C to stop); watch with: $CCK_KUBECTL get cnp -w"
"$BIN" run
