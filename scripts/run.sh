#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job: the workbench GUI with the default
# example project (projects/two_moons.sbiw, or the project given as the first argument).
# Without a display it runs the same project headless: the GUI's demo mode on the offscreen
# platform trains it, saves a picture of the window at every posterior refresh, records the run
# in a history, and the CLI exports the posterior samples; it says where all of that went.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
PROJECT=${1:-projects/two_moons.sbiw}
BUILD=${SBIW_BUILD_DIR:-build}
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$BUILD/app/sbiw" "$PROJECT"
fi

NAME=$(basename "$PROJECT" .sbiw)
OUT_DIR=${SBIW_OUT_DIR:-out/$NAME}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
# A copy of the project, so that its run history lands in OUT_DIR, not beside the example.
cp "$PROJECT" "$OUT_DIR/$NAME.sbiw"
rm -rf "$OUT_DIR/screenshots"
echo "No display: running $PROJECT headless (the GUI's demo mode on the offscreen platform)."
"$BUILD/app/sbiw" --demo "$OUT_DIR/$NAME.sbiw" --screenshots "$OUT_DIR/screenshots" --quit-when-done \
  2> >(grep -v "propagateSizeHints" >&2) | tee "$OUT_DIR/demo.log"
HISTORY="$OUT_DIR/$NAME.history.sqlite"
RUN=$("$BUILD/app/sbiw-cli" history list --db "$HISTORY" --format csv | awk -F, 'NR == 2 {print $1}')
"$BUILD/app/sbiw-cli" history export "$RUN" --db "$HISTORY" --samples "$OUT_DIR/posterior_samples.csv"
echo
echo "Results in $OUT_DIR:"
echo "  screenshots/           the window at every posterior refresh (frame-*.png), final.png, history.png"
echo "  posterior_samples.csv  posterior samples at the project's default observation"
echo "  $NAME.history.sqlite   the run history ('$BUILD/app/sbiw-cli history list --db $HISTORY')"
echo "  demo.log               the run's summary"
echo "With a display, the same command opens the workbench window on the project."
