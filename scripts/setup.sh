#!/usr/bin/env bash
# Installs everything ctsync needs on a fresh Debian machine that has only Node, npm and the
# compilers: the Debian packages (kernel tools, the reference conntrackd and keepalived, the
# headers the native addon builds against), the npm dependencies, the native addon and the
# TypeScript build. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(conntrack conntrackd keepalived iproute2 nftables dbus libmnl-dev
      libnetfilter-conntrack-dev tcpdump iperf3 pkg-config)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  apt-get update -qq
  # policy-rc.d keeps the packaged conntrackd/keepalived services from starting.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

npm ci --no-audit --no-fund
