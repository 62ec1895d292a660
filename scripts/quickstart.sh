#!/usr/bin/env bash
# The main job on the bundled examples: set-up, then Parallel-Distill-Refine (small N) on tasks of
# all three formats. With ANTHROPIC_API_KEY set it uses Claude; without it, the bundled scripted
# local model stands in, and the run says so in its first line and in its report.
# Extra arguments go to `agentscale run` (e.g. --run-id ID to continue a run).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
if [ -z "${ANTHROPIC_API_KEY:-}" ]; then
  log="$root/.agentscale/logs/scripted-model.log"
  url_file=$(mktemp)
  # One node process (no npx or tsx wrapper in between), so the trap's kill reaches the server
  # itself. Its output goes to files and its stdin is closed: a server holding our stdout would
  # hang callers. The model key is not passed on: the scripted model needs none.
  (cd "$root" && exec env -u ANTHROPIC_API_KEY -u ANTHROPIC_AUTH_TOKEN -u OPENAI_API_KEY node --import tsx/esm scripted-model/main.ts \
    >"$url_file" 2>"$log" </dev/null) &
  model_pid=$!
  trap 'kill $model_pid 2>/dev/null; wait $model_pid 2>/dev/null; rm -f "$url_file"' EXIT
  for _ in $(seq 1 100); do [ -s "$url_file" ] && break; sleep 0.1; done
  [ -s "$url_file" ] || { cat "$log" >&2; echo "the scripted local model did not start" >&2; exit 1; }
  export ANTHROPIC_BASE_URL=$(head -1 "$url_file") ANTHROPIC_API_KEY=scripted-local-model AGENTSCALE_SCRIPTED_MODEL=1
fi
"$root/bin/agentscale" run --strategy pdr -n 4 --iterations 2 -k 2 -G 2 -V 2 "$@" \
  "$root/examples/harbor" "$root/examples/terminal-bench" "$root/examples/swebench/instances.jsonl"
