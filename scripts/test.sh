#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (CI runs exactly this).
# Extra arguments go to ctest, e.g. scripts/test.sh -L fast  or  -LE slow.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd "${SBIW_BUILD_DIR:-build}"
QT_QPA_PLATFORM=offscreen ctest --output-on-failure -j 2 "$@"
