#!/usr/bin/env bash
# Gathers what a bare GPU machine lacks into .device/ (git-ignored; name it in the device tool's
# `carry`): the third-party headers the engine includes (Eigen, Boost's odeint/math closure,
# Random123, nlohmann-json — found from the dependency lists of an existing ./build) and the
# sbibm/gw_chirp reference data from ../shared/data. Run after scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .device && mkdir -p .device/include .device/data
ninja -C "${SBIW_BUILD_DIR:-build}" -t deps |
    sed -n 's#^ *\(/usr/include/\)\(eigen3\|boost\|Random123\|nlohmann\)/#\2/#p' | sort -u |
    (cd /usr/include && xargs cp --parents -t "$OLDPWD/.device/include")
cp -r ../shared/data/sbibm ../shared/data/gw_chirp .device/data/
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >>.git/info/exclude
du -sh .device
