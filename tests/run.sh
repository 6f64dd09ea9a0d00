#!/usr/bin/env bash
# The project's single test command:  bash tests/run.sh
#
#  1. the local Kubernetes control plane (tests/cluster/local-control-plane.sh:
#     installs its Debian packages and builds Kubernetes on first use, then
#     starts in seconds), unless KUBECONFIG already names a cluster; it is torn
#     down at exit only if this script started it;
#  2. cargo fmt --all -- --check;
#  3. cargo clippy --all-targets -- -D warnings;
#  4. the tests: cargo nextest run --no-fail-fast (plus the doctests, which
#     nextest does not run) if cargo-nextest is installed, else cargo test.
#
# Every step runs even if an earlier one failed; the exit status is non-zero if
# any failed, and the failed steps are listed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly CONTROL_PLANE=tests/cluster/local-control-plane.sh
failed=()
started_plane=0

say() { printf '==> %s\n' "$*" >&2; }

# run_step NAME COMMAND...: run, time and record a step.
run_step() {
  local name="$1" start=$SECONDS rc=0
  shift
  say "$name: $*"
  "$@" || rc=$?
  if [[ "$rc" -eq 0 ]]; then
    say "$name: ok ($((SECONDS - start))s)"
  else
    say "$name: FAILED (exit $rc, $((SECONDS - start))s)"
    failed+=("$name")
  fi
  return 0
}

cleanup() {
  if [[ "$started_plane" -eq 1 ]]; then
    say "stopping the local control plane this run started"
    bash "$CONTROL_PLANE" down || say "warning: $CONTROL_PLANE down failed"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. The cluster.
bring_up_control_plane() {
  local exports
  if [[ -n "${KUBECONFIG:-}" ]]; then
    say "using the cluster of KUBECONFIG=$KUBECONFIG (the local control plane is not started)"
    return 0
  fi
  if exports="$(bash "$CONTROL_PLANE" env 2>/dev/null)"; then
    say "reusing the local control plane that is already running (left running at exit)"
  else
    started_plane=1
    exports="$(bash "$CONTROL_PLANE" up </dev/null)" || return 1
  fi
  eval "$exports"
  export KUBECONFIG CCK_KUBECTL
  say "KUBECONFIG=$KUBECONFIG CCK_KUBECTL=$CCK_KUBECTL"
}
run_step "control plane" bring_up_control_plane
if [[ -z "${KUBECONFIG:-}" ]]; then
  # The tests that need a cluster then fail at once, naming this file,
  # instead of each trying to build one.
  export KUBECONFIG=/nonexistent/local-control-plane-failed-to-start
  say "no control plane: the tests that need one will fail"
fi

# 2. and 3. Formatting and lints.
run_step "cargo fmt" cargo fmt --all -- --check
run_step "cargo clippy" cargo clippy --all-targets -- -D warnings

# 4. The tests.
if cargo nextest --version >/dev/null 2>&1; then
  # doctests first, so that nextest's summary closes the output
  run_step "doctests" cargo test --doc
  run_step "tests (cargo nextest)" cargo nextest run --no-fail-fast
else
  say "cargo-nextest is not installed: using cargo test"
  run_step "tests (cargo test)" cargo test --no-fail-fast
fi

if [[ ${#failed[@]} -gt 0 ]]; then
  say "FAILED steps: $(printf '%s; ' "${failed[@]}")"
  exit 1
fi
say "all steps passed"
