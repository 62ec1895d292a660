#!/usr/bin/env bash
# Offline base image for SWE-bench instances whose official image uses Python 3.9 (most of Lite
# and Verified: pytest, sympy, pylint, flask 2.0, Django 4.1/4.2; Django 3.x runs there too):
# Debian bullseye from Debian's archive with mmdebstrap, the repositories' dependencies as Debian
# packages, `python` for runtests.py and bin/test. Idempotent: the package list is the image's
# identity (label agentscale.recipe), so an unchanged list is never rebuilt. Prints the image name.
#
#   bash scripts/swebench-base-image.sh [IMAGE [EXTRA_PACKAGES]]
#     e.g. agentscale/swebench-py39-pytest:bullseye python3-pytest,python3-urllib3,python3-idna
#     (a repository tested with Debian's pytest; not for pytest-dev/pytest, which tests its own)
#   AGENTSCALE_DATA   data folder for logs (default: .agentscale in the project)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
logs=${AGENTSCALE_DATA:-$root/.agentscale}/logs
mkdir -p "$logs"
IMAGE=${1:-agentscale/swebench-py39:bullseye}
# Python 3.9 and the test dependencies of pytest (4.x-6.x), sympy (mpmath), Django (asgiref,
# sqlparse, pytz), pylint/astroid-era tools; git and patch for the eval script.
PACKAGES=${2:+$2,}bash,coreutils,git,patch,procps,ca-certificates,locales,python3,python-is-python3,python3-setuptools,python3-pkg-resources,python3-pluggy,python3-py,python3-attr,python3-more-itertools,python3-six,python3-wcwidth,python3-atomicwrites,python3-iniconfig,python3-toml,python3-packaging,python3-mpmath,python3-asgiref,python3-sqlparse,python3-tz
recipe=$(printf '%s' "$PACKAGES" | sha256sum | cut -c1-12)
have=$(docker image inspect --format '{{index .Config.Labels "agentscale.recipe"}}' "$IMAGE" 2>/dev/null || true)
if [ "$have" != "$recipe" ]; then
  command -v mmdebstrap >/dev/null || { apt-get update -qq >/dev/null 2>&1; apt-get install -y -qq mmdebstrap >/dev/null 2>&1; }
  tmp=$(mktemp -d)
  # bullseye's main suite only: its security suite lists files the archive no longer serves.
  if ! mmdebstrap --variant=minbase --include="$PACKAGES" bullseye "$tmp/rootfs.tar" \
    "deb http://deb.debian.org/debian bullseye main" >"$logs/mmdebstrap-bullseye.log" 2>&1; then
    tail -20 "$logs/mmdebstrap-bullseye.log" >&2
    rm -rf "$tmp"
    echo "[swebench-base-image] mmdebstrap failed (log: $logs/mmdebstrap-bullseye.log)" >&2
    exit 1
  fi
  docker import \
    --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL agentscale.recipe=$recipe" \
    "$tmp/rootfs.tar" "$IMAGE" >/dev/null
  rm -rf "$tmp"
fi
echo "$IMAGE"
