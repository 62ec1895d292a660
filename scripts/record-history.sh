#!/usr/bin/env bash
# Saves a workflow's history as JSON for the replay tests (tests/replay.test.ts):
#   scripts/record-history.sh <workflow-id> <out.json> [address]
# Record from a finished run whenever workflow code changes in a way in-flight runs would replay.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 <workflow-id> <out.json> [address]" >&2; exit 2; }
cli=${TEMPORAL_CLI_PATH:-$(command -v temporal || echo "$root/.agentscale/tools/temporal")}
"$cli" workflow show --workflow-id "$1" --address "${3:-${TEMPORAL_ADDRESS:-127.0.0.1:7233}}" --output json >"$2"
echo "$2: $(grep -c '"eventId"' "$2") events"
echo "if the workflow reads its own id (scheduledRun does), add \"$(basename "$2")\": \"$1\" to tests/histories/workflow-ids.json"
