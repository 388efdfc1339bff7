#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on the default example project
# (projects/two_moons.sbiw, or the project given as the first argument).
# Today the main job is what the engine can do headless: validate the project and simulate from
# its prior. Training and the GUI join it as they land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
PROJECT=${1:-projects/two_moons.sbiw}
OUT_DIR=${SBIW_OUT_DIR:-out/$(basename "$PROJECT" .sbiw)}
mkdir -p "$OUT_DIR"
CLI=${SBIW_BUILD_DIR:-build}/app/sbiw-cli
"$CLI" validate "$PROJECT"
"$CLI" simulate "$PROJECT" --count 100000 --out "$OUT_DIR/simulations.csv"
echo
echo "Results: $(cd "$OUT_DIR" && pwd)/simulations.csv (θ drawn from the prior, then data_1..data_D)"
