#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine (as root, with Node.js 20+) to run webgpu-transfer. Idempotent.
#   ./setup.sh            npm dependencies, and a Vulkan driver if no WebGPU adapter is usable
#   ./setup.sh --browser  the same, plus Chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")"

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    *) echo "setup.sh: unknown option $arg (known: --browser)" >&2; exit 2 ;;
  esac
done

log() { printf '[setup] %s\n' "$*"; }
need_root() { [ "$(id -u)" = 0 ] || { echo "setup.sh: installing system packages needs root (run as root or with sudo)" >&2; exit 1; }; }

apt_updated=0
apt_update() { [ "$apt_updated" = 1 ] || { apt-get update -q >/dev/null; apt_updated=1; }; }

debian_mirror() {
  local uri=""
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 ~ /debian/ && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
  fi
  printf '%s' "$uri"
}

ensure_backports() {
  if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then return; fi
  local uri; uri=$(debian_mirror)
  [ -n "$uri" ] || { echo "setup.sh: cannot find the Debian mirror in /etc/apt/sources.list(.d)" >&2; exit 1; }
  log "adding bookworm-backports from $uri"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
    > /etc/apt/sources.list.d/webgpu-transfer-backports.sources
  apt_updated=0
}

# 1. npm dependencies from the lockfile (their install scripts are not needed: webgpu and sharp ship binaries).
if [ ! -d node_modules/webgpu ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 2. A Vulkan driver, only when no WebGPU adapter is usable.
if node scripts/probe-adapter.mjs 2>/dev/null; then
  log "a WebGPU adapter is usable"
else
  need_root
  log "no usable WebGPU adapter: installing Mesa's lavapipe (software Vulkan) from bookworm-backports"
  ensure_backports
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers >/dev/null
  node scripts/probe-adapter.mjs || { echo "setup.sh: still no WebGPU adapter after installing Mesa" >&2; exit 1; }
fi

# 3. Chromium for the browser tests.
if [ "$want_browser" = 1 ] && ! command -v chromium >/dev/null; then
  need_root
  log "installing Chromium"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi
log "ready"
