#!/usr/bin/env bash
# The demo: Redis, the Antom simulator, the switch and a terminal doing real transactions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/ensure-deps.sh
echo "demo: the switch is not wired yet; building the workspace" >&2
cargo build --workspace --release
