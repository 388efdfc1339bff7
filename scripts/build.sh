#!/usr/bin/env bash
# Configures and builds SBI Workbench in ./build (Release, Ninja, 2 parallel jobs by default).
# Usage: scripts/build.sh [extra cmake arguments]; SBIW_JOBS and SBIW_BUILD_DIR override.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SBIW_BUILD_DIR:-build}
JOBS=${SBIW_JOBS:-2}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD_DIR" -j "$JOBS"
