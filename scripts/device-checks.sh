#!/usr/bin/env bash
# One prepared run on a GPU machine (16 cores + one CUDA device): build against the machine's
# PyTorch LibTorch, run the device checks on CUDA, run the GPU jobs (bench_npe on CUDA, one core
# each), and spend the remaining cores on an accuracy sweep (bench_npe, one process per method,
# task and observation, 1 thread each). Everything it measures lands in $OUT (at most 8 files
# come back from the device tool); sweep rows are flushed per run, so a sweep cut off by the
# time budget still returns what finished.
#
#   scripts/prepare-device-carry.sh            # here, once: headers + reference data in .device/
#   OUT=... scripts/device-checks.sh [SECONDS]  # there; SECONDS bounds the whole run (default 500)
#
# Job lists (optional files, one job per line; defaults in brackets):
#   .device/gpu_jobs    bench_npe arguments run with --device cuda  [gw_chirp obs 1-5, default CNN]
#   .device/sweep_jobs  "METHOD TASK OBSERVATION" run on the CPU    [npe on every task, obs 1-5]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/device}
BUDGET=${1:-500}
START=$(date +%s)
left() { echo $((BUDGET - ($(date +%s) - START))); }
pin() { if command -v taskset >/dev/null; then taskset -c "$@"; else shift; "$@"; fi; }  # CORES COMMAND...
mkdir -p "$OUT" /tmp/sweep /tmp/gpu

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
echo "built after $(($(date +%s) - START)) s"
BIN=build-device/bin
DATA=.device/data
CORES=$(nproc)

# GPU jobs: one process each on cores 1..G, all sharing the one device.
if [ -f .device/gpu_jobs ]; then grep . .device/gpu_jobs >/tmp/gpu/jobs
else for obs in 1 2 3 4 5; do echo "--observations $obs gw_chirp"; done >/tmp/gpu/jobs; fi
GPU_COUNT=$(wc -l </tmp/gpu/jobs)
core=1
while read -r args; do
    # shellcheck disable=SC2086
    pin "$core" timeout $(($(left) - 20)) "$BIN/bench_npe" --data "$DATA" --device cuda --threads 1 \
        --c2st-threads 1 --csv "/tmp/gpu/run_$core.csv" $args >/dev/null 2>>/tmp/gpu/log &
    core=$((core + 1))
done </tmp/gpu/jobs

# Accuracy sweep on the cores after those, cheapest tasks first so that most finish.
FIRST_SWEEP_CORE=$((GPU_COUNT + 1))
if [ -f .device/sweep_jobs ]; then cp .device/sweep_jobs /tmp/sweep/jobs
else
    for task in two_moons gaussian_mixture sir slcp lotka_volterra slcp_distractors gaussian_linear \
        gaussian_linear_uniform bernoulli_glm bernoulli_glm_raw; do
        for obs in 1 2 3 4 5; do echo "npe $task $obs"; done
    done >/tmp/sweep/jobs
fi
sweep_one() {  # METHOD TASK OBSERVATION
    pin "$FIRST_SWEEP_CORE-$((CORES - 1))" "$BIN/bench_npe" --method "$1" --data "$DATA" --device cpu --threads 1 \
        --c2st-threads 1 --observations "$3" --csv "/tmp/sweep/$1_$2_$3.csv" "$2" >/dev/null 2>>/tmp/sweep/log
}
export -f sweep_one pin
export BIN DATA FIRST_SWEEP_CORE CORES
timeout $(($(left) - 20)) bash -c \
    "xargs -P $((CORES - FIRST_SWEEP_CORE)) -L 1 bash -c 'sweep_one \$0 \$1 \$2' </tmp/sweep/jobs" &

# Device checks on core 0 (DEVICE_CHECK=0 skips them, for a run that only sweeps).
if [ "${DEVICE_CHECK:-1}" != 0 ]; then
    pin 0 timeout $(($(left) - 20)) "$BIN/device_check" --device cuda >"$OUT/device_check.txt" 2>&1
    echo "exit $?" >>"$OUT/device_check.txt"
    cat "$OUT/device_check.txt"
fi
wait
header() { head -1 -q "$@" 2>/dev/null | head -1; }
{ header /tmp/gpu/*.csv; for f in /tmp/gpu/*.csv; do tail -n +2 "$f"; done; } >"$OUT/gpu.csv" 2>/dev/null
{ header /tmp/sweep/*.csv; for f in /tmp/sweep/*.csv; do tail -n +2 "$f"; done; } >"$OUT/sweep.csv" 2>/dev/null
cat /tmp/gpu/log /tmp/sweep/log >"$OUT/progress.log" 2>/dev/null
echo "gpu:"; cat "$OUT/gpu.csv"
echo "sweep rows: $(($(wc -l <"$OUT/sweep.csv") - 1)) of $(wc -l </tmp/sweep/jobs) jobs; after $(($(date +%s) - START)) s"
