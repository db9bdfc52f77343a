#!/usr/bin/env bash
# Quick start, command 1: set everything up, then run the main job on an embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
npm run --silent demo
