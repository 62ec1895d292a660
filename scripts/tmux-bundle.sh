#!/usr/bin/env bash
# The tmux the terminal agent brings into containers whose image has none (containers are
# offline): Debian bookworm's tmux and every library it loads, glibc's loader included, unpacked
# from the .deb files under <tools>/tmux. runtime/tmux.ts copies the folder into such a container
# and starts tmux through the bundled loader (`ld.so --library-path`), so the image's own
# libraries, and the programs the agent runs in the terminal, are untouched. Idempotent: a bundle
# made from the same package list is kept. Prints the bundle's folder.
#
#   AGENTSCALE_DATA  data folder (default: .agentscale in the project)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${AGENTSCALE_DATA:-$root/.agentscale}
dest=$data/tools/tmux
logs=$data/logs
mkdir -p "$data/tools" "$logs"

PACKAGES="tmux libevent-core-2.1-7 libutempter0 libtinfo6 libc6"
recipe=$(printf '%s %s' "$PACKAGES" "$(uname -m)" | sha256sum | cut -c1-12)
if [ -x "$dest/tmux" ] && [ "$(cat "$dest/recipe" 2>/dev/null)" = "$recipe" ]; then
  echo "$dest"
  exit 0
fi

say() { printf '[tmux-bundle] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say "fetching $PACKAGES with apt-get download"
if ! (cd "$tmp" && apt-get download $PACKAGES >"$logs/tmux-bundle.log" 2>&1); then
  # A fresh machine may have no package lists yet.
  as_root apt-get update -qq >>"$logs/tmux-bundle.log" 2>&1 || true
  (cd "$tmp" && apt-get download $PACKAGES >>"$logs/tmux-bundle.log" 2>&1) \
    || { tail -5 "$logs/tmux-bundle.log" >&2; echo "[tmux-bundle] error: apt-get download failed (log: $logs/tmux-bundle.log)" >&2; exit 1; }
fi
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done

out=$tmp/bundle
mkdir -p "$out/lib"
cp "$tmp/root/usr/bin/tmux" "$out/tmux"
# The libraries tmux names (readelf), found in the unpacked packages, plus the loader.
libdirs=("$tmp/root/lib/x86_64-linux-gnu" "$tmp/root/usr/lib/x86_64-linux-gnu" "$tmp/root/lib/aarch64-linux-gnu" "$tmp/root/usr/lib/aarch64-linux-gnu")
for lib in $(readelf -d "$out/tmux" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  found=
  for d in "${libdirs[@]}"; do
    if [ -e "$d/$lib" ]; then cp -L "$d/$lib" "$out/lib/$lib"; found=1; break; fi
  done
  [ -n "$found" ] || { echo "[tmux-bundle] error: $lib not found in $PACKAGES" >&2; exit 1; }
done
interp=$(readelf -l "$out/tmux" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
cp -L "$tmp/root$(dirname "$interp")/$(basename "$interp")" "$out/lib/ld.so" 2>/dev/null \
  || cp -L "$tmp/root/usr$interp" "$out/lib/ld.so" \
  || cp -L "$(find "$tmp/root" -name "$(basename "$interp")" | head -1)" "$out/lib/ld.so"
chmod 755 "$out/tmux" "$out/lib/ld.so"
# It must run here through its own loader before it is used anywhere.
"$out/lib/ld.so" --library-path "$out/lib" "$out/tmux" -V >/dev/null
echo "$recipe" >"$out/recipe"
rm -rf "$dest"
mv "$out" "$dest"
say "bundled $("$dest/lib/ld.so" --library-path "$dest/lib" "$dest/tmux" -V) in $dest"
echo "$dest"
