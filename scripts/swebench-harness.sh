#!/usr/bin/env bash
# The official SWE-bench harness, pinned, for the differential tests (tests/harness.test.ts): a
# Python virtual environment with swebench 5.0.2 (grading, log parsers, report) and, beside it,
# swebench 4.1.0 unpacked (per-repository specs and eval scripts, which 5.x no longer has). Only
# their pure parts run; the Docker, Hugging Face and Modal modules they import are stubbed by
# tests/harness/bridge.py, so nothing but the two wheels and unidiff is installed. Idempotent: a
# second run checks one marker file. Prints the venv's python.
#
#   AGENTSCALE_DATA   data folder (default: .agentscale in the project)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${AGENTSCALE_DATA:-$root/.agentscale}
dir=$data/tools/swebench-harness
want="swebench==5.0.2 swebench==4.1.0 unidiff==0.7.5"
if [ "$(cat "$dir/.installed" 2>/dev/null || true)" != "$want" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  log=$dir/install.log
  {
    python3 -m venv "$dir/venv"
    "$dir/venv/bin/pip" install --quiet --no-deps --disable-pip-version-check swebench==5.0.2 unidiff==0.7.5
    "$dir/venv/bin/pip" install --quiet --no-deps --disable-pip-version-check --target "$dir/v4" swebench==4.1.0
  } >"$log" 2>&1 || { tail -20 "$log" >&2; echo "[swebench-harness] install failed (log: $log)" >&2; exit 1; }
  echo "$want" >"$dir/.installed"
fi
echo "$dir/venv/bin/python"
