#!/usr/bin/env bash
# Installs the Debian 12 packages SBI Workbench needs, skipping what is already there.
# Run as root (or with sudo available). Safe to run again.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  qt6-base-dev libqt6sql6-sqlite qt6-declarative-dev qt6-svg-dev libqcustomplot-dev
  libtorch-dev libeigen3-dev libsqlite3-dev libopenblas0-pthread
  libboost-dev librandom123-dev nlohmann-json3-dev
  python3  # the example Python simulator (projects/custom) and its tests
  xvfb xauth
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}"
