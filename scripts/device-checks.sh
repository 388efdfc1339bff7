#!/usr/bin/env bash
# One prepared run on a GPU machine (16 cores + one CUDA device): build against the machine's
# PyTorch LibTorch, run the device checks on CUDA, time NPE on two_moons CPU vs CUDA, and spend
# the spare cores on the NPE accuracy sweep (one process per task and observation, 1 thread
# each). Everything it measures lands in $OUT (at most 8 files come back from the device tool).
#
#   scripts/prepare-device-carry.sh            # here, once: headers + reference data in .device/
#   OUT=... scripts/device-checks.sh [SECONDS]  # there; SECONDS bounds the whole run (default 500)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/device}
BUDGET=${1:-500}
START=$(date +%s)
left() { echo $((BUDGET - ($(date +%s) - START))); }
pin() { if command -v taskset >/dev/null; then taskset -c "$@"; else shift; "$@"; fi; }  # CORES COMMAND...
mkdir -p "$OUT" /tmp/sweep

{
    nvidia-smi -L
    g++ --version | head -1
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
    echo "cores: $(nproc)"
} >"$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

JOBS=$(nproc) bash scripts/device-build.sh build-device .device/include >"$OUT/build.log" 2>&1 ||
    { tail -50 "$OUT/build.log"; exit 1; }
tail -2 "$OUT/build.log"
BIN=build-device/bin
DATA=.device/data

# Accuracy sweep on the CPU cores not used below; cheapest tasks first so most finish.
SWEEP_TASKS=${SWEEP_TASKS:-"two_moons gaussian_mixture sir slcp lotka_volterra slcp_distractors gaussian_linear gaussian_linear_uniform bernoulli_glm bernoulli_glm_raw"}
for task in $SWEEP_TASKS; do for obs in 1 2 3 4 5; do echo "$task $obs"; done; done >/tmp/sweep/jobs
sweep_one() {
    pin 4-15 "$BIN/bench_npe" --data "$DATA" --device cpu --threads 1 --observations "$2" \
        --csv "/tmp/sweep/$1_$2.csv" "$1" >/dev/null 2>>/tmp/sweep/log
}
export -f sweep_one pin
export BIN DATA
timeout $(($(left) - 20)) bash -c "xargs -P 12 -L 1 bash -c 'sweep_one \$0 \$1' </tmp/sweep/jobs" &
SWEEP=$!

# Device checks (core 0), then CPU-vs-CUDA timings pinned to cores 1-3.
(pin 0 "$BIN/device_check" --device cuda >"$OUT/device_check.txt" 2>&1; echo "exit $?" >>"$OUT/device_check.txt") &
CHECK=$!
timing() {  # estimator device core
    pin "$3" timeout $(($(left) - 20)) "$BIN/bench_npe" --data "$DATA" --estimator "$1" --device "$2" \
        --threads 1 --observations 1 --csv "/tmp/sweep/timing_$1_$2.csv" two_moons >/dev/null 2>>/tmp/sweep/timing.log
}
(timing nsf cpu 1; timing maf cpu 1) &
(timing nsf cuda 2; timing maf cuda 2;
 pin 3 timeout $(($(left) - 20)) "$BIN/bench_npe" --data "$DATA" --device cuda --threads 1 \
     --observations 1 --csv /tmp/sweep/timing_gw_cuda.csv gw_chirp >/dev/null 2>>/tmp/sweep/timing.log) &
wait $CHECK
cat "$OUT/device_check.txt"
wait
{ head -1 -q /tmp/sweep/*.csv 2>/dev/null | head -1; tail -q -n +2 /tmp/sweep/timing_*.csv 2>/dev/null; } >"$OUT/timing.csv"
{ head -1 -q /tmp/sweep/*.csv 2>/dev/null | head -1; for f in /tmp/sweep/*_[1-5].csv; do tail -n +2 "$f"; done; } >"$OUT/sweep.csv"
cat /tmp/sweep/log /tmp/sweep/timing.log >"$OUT/progress.log" 2>/dev/null
echo "timings:"; cat "$OUT/timing.csv"
echo "sweep rows: $(($(wc -l <"$OUT/sweep.csv") - 1))"
