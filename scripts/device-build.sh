#!/usr/bin/env bash
# Builds the engine (no Qt), the device checks and the benchmarks against the LibTorch inside
# this machine's PyTorch — for GPU machines that have PyTorch and a compiler but neither Qt nor
# the Debian -dev packages. Plain g++ in parallel, no CMake, so nothing has to be installed.
#
#   scripts/device-build.sh [BUILD_DIR] [THIRD_PARTY_INCLUDE_DIR]
#
# THIRD_PARTY_INCLUDE_DIR holds eigen3/, boost/, Random123/ and nlohmann/ (default: /usr/include;
# scripts/prepare-device-carry.sh copies just the headers the engine uses into .device/include).
# Programs land in BUILD_DIR/bin: device_check, bench_npe, bench_simulation.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-device}
DEPS=${2:-/usr/include}
JOBS=${JOBS:-$(nproc)}

TORCH_DIR=${TORCH_DIR:-$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')}
if [ -z "${TORCH_VERSION:-}" ]; then
    read -r TORCH_VERSION ABI <<<"$(python3 -c 'import torch; print(torch.__version__.split("+")[0], int(torch._C._GLIBCXX_USE_CXX11_ABI))')"
fi
ABI=${ABI:-1}
# LibTorch 2.13 and later require C++20 in their headers; the engine compiles as either.
STD=c++17
if [ "$(printf '%s\n2.13\n' "$TORCH_VERSION" | sort -V | head -1)" = "2.13" ]; then STD=c++20; fi
echo "LibTorch $TORCH_VERSION from $TORCH_DIR (C++11 ABI: $ABI), -std=$STD, $JOBS jobs"

FLAGS="-std=$STD -O3 -DNDEBUG -fPIC -pthread -D_GLIBCXX_USE_CXX11_ABI=$ABI -DSBIW_VERSION=\"0.1.0\" -Itests
 -Iengine -isystem $DEPS/eigen3 -isystem $DEPS -isystem $TORCH_DIR/include
 -isystem $TORCH_DIR/include/torch/csrc/api/include -Wno-deprecated-declarations"
export FLAGS BUILD_DIR

SOURCES=$(ls engine/{core,priors,simulators,simulators/tasks,project,diagnostics,sampling,abc,neural,inference}/*.cpp \
  tests/device/device_check.cpp bench/npe_benchmark.cpp bench/simulation_throughput.cpp 2>/dev/null)
mkdir -p "$BUILD_DIR/obj" "$BUILD_DIR/bin"
compile() {
    local object="$BUILD_DIR/obj/${1//\//_}.o"
    if [ ! -f "$object" ] || [ "$1" -nt "$object" ]; then
        # shellcheck disable=SC2086
        g++ $FLAGS -DSBIW_SOURCE_DIR="\"$PWD\"" -c "$1" -o "$object" || { echo "FAILED: $1"; return 1; }
    fi
}
export -f compile
printf '%s\n' $SOURCES | xargs -P "$JOBS" -I{} bash -c 'compile {}'

ENGINE_OBJECTS=$(ls "$BUILD_DIR"/obj/engine_*.o)
# --no-as-needed: nothing references libtorch_cuda directly, but loading it is what registers
# the CUDA backend; without it torch::cuda::is_available() is false.
TORCH_LIBS="-L$TORCH_DIR/lib -Wl,-rpath,$TORCH_DIR/lib -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10"
for cuda_lib in torch_cuda c10_cuda; do
    [ -e "$TORCH_DIR/lib/lib$cuda_lib.so" ] && TORCH_LIBS="$TORCH_LIBS -l$cuda_lib"
done
TORCH_LIBS="$TORCH_LIBS -Wl,--as-needed"
link() {
    # shellcheck disable=SC2086
    g++ -pthread -o "$BUILD_DIR/bin/$1" "$BUILD_DIR/obj/$2.o" $ENGINE_OBJECTS $TORCH_LIBS
}
link device_check tests_device_device_check.cpp
link bench_npe bench_npe_benchmark.cpp
link bench_simulation bench_simulation_throughput.cpp
echo "built: $(ls "$BUILD_DIR/bin" | tr '\n' ' ')"
