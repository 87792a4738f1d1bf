#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, and every unit, property, integration and
# end-to-end test against real redis-server, real TCP and real HTTP.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/ensure-deps.sh
export ASW_PYTHON="$PWD/target/pyenv/bin/python"
# Deployment files the Rust tests do not load (deploy/cluster, deploy/k8s): static checks, < 1 s.
"$ASW_PYTHON" scripts/check-deploy.py
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# ASW_LONG=1 adds the chaos runs on a Redis Cluster and on a Sentinel group, 30 and 300 s each
# (two switch instances, master kills and failovers on top of the usual fault mix).
if [[ "${ASW_LONG:-0}" == 1 ]]; then
  cargo test -p asw-e2e --test chaos_short -- --ignored --test-threads 1
fi
