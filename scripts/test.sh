#!/usr/bin/env bash
# The project's test command (README, .ci/run): set-up, type check, lint, then every test
# against the real Docker engine and a real Temporal server that the tests start themselves.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
# Harbor itself, for the differential tests (tests/harbor-parity.test.ts): about 45 s the first
# time, a second after. When it cannot be installed those tests skip and say why.
bash scripts/harbor-reference.sh >/dev/null || echo 'Harbor reference not installed; its parity tests will skip' >&2
npx tsc --noEmit
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --list-different .; echo 'format with: npx prettier --write .' >&2; exit 1; }
# Containers of ours that exist before the tests (a user's own runs) are not the tests' to judge.
managed() { docker ps -aq --no-trunc --filter label=agentscale.managed=true | sort; }
before=$(managed)
results=.agentscale/test-results.json
rm -f "$results"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# One plain closing line, whatever the reporter printed above it.
if [ -f "$results" ]; then
  node -e 'const r=require(process.argv[1]); console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""))' "$root/$results"
fi
# Nothing the tests made may outlive them.
left=$(comm -13 <(echo "$before") <(managed) | grep -c . || true)
if [ "$left" -ne 0 ]; then
  echo "tests left $left container(s) behind:" >&2
  docker ps -a --filter label=agentscale.managed=true >&2
  status=1
fi
exit $status
