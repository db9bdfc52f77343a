#!/usr/bin/env bash
# The config round trip of `ctsync` on a temporary state dir: set, show, compare,
# commit --dry-run, commit (files rendered into a temp dir), a rejected value, a rejected
# commit, delete. Uses the loopback interface so it runs anywhere without root.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CTSYNC_STATE_DIR="$tmp/state" CTSYNC_RUN_DIR="$tmp/run" CTSYNC_KEEPALIVED_DIR="$tmp/keepalived"

ctsync() {
  printf '\n$ ctsync %s\n' "$*"
  node bin/ctsync.js "$@"
}

ctsync set service conntrack-sync accept-protocol tcp
ctsync set service conntrack-sync accept-protocol udp
ctsync set service conntrack-sync accept-protocol icmp
ctsync set service conntrack-sync interface lo
ctsync set service conntrack-sync failover-mechanism vrrp sync-group syncgrp
ctsync set high-availability vrrp group internal interface lo
ctsync set high-availability vrrp group internal vrid 10
ctsync set high-availability vrrp group internal address 127.0.0.10/8
ctsync set high-availability vrrp sync-group syncgrp member internal
ctsync show
ctsync show --commands
ctsync compare
ctsync commit --dry-run
ctsync commit
printf '\n--- %s\n' "$CTSYNC_KEEPALIVED_DIR/keepalived.conf"
cat "$CTSYNC_KEEPALIVED_DIR/keepalived.conf"
echo
ctsync set service conntrack-sync interface lo port 70000 || echo "(exit $?)"
ctsync set service conntrack-sync interface ctdemo0
ctsync commit || echo "(exit $?: running config and rendered files unchanged)"
ctsync discard
ctsync help service conntrack-sync
ctsync delete service conntrack-sync
ctsync commit
printf '\nrendered files left in %s: %s\n' "$CTSYNC_RUN_DIR" "$(ls -A "$CTSYNC_RUN_DIR" | tr '\n' ' ')"
