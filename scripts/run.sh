#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on the default example project
# (projects/two_moons.sbiw, or the project given as the first argument).
# Today the main job is what the engine can do headless: validate the project, simulate from its
# prior, and train a neural posterior estimator (NPE, the project's settings) that writes
# posterior samples at the project's default observation. The GUI joins it when it lands.
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
"$CLI" train "$PROJECT" --method npe --out "$OUT_DIR/posterior_samples.csv" \
  --save-posterior "$OUT_DIR/posterior.pt" --db "$OUT_DIR/history.sqlite" | tee "$OUT_DIR/training.log"
echo
echo "Results in $(cd "$OUT_DIR" && pwd):"
echo "  simulations.csv        10^5 draws from the prior (parameters, then data_1..data_D)"
echo "  posterior_samples.csv  NPE posterior samples at the default observation"
echo "  posterior.pt           the trained posterior (reload with NeuralPosterior::load)"
echo "  training.log           one line per epoch"
echo "  history.sqlite         the run history ('$CLI history list --db $OUT_DIR/history.sqlite')"
