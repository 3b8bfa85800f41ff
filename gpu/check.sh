#!/usr/bin/env bash
# The prepared GPU check, for a machine with an NVIDIA GPU and the CUDA toolkit (no Postgres
# needed): builds ai_scale_gpu.so and its harness, checks every model kind against the CPU
# formulas on fresh random inputs (poisoned outputs, every CUDA status checked), then times
# kernel alone / copy + kernel / end to end on 1M-100M rows next to the PCIe and HBM bounds.
# Usage: bash gpu/check.sh [--sizes 1000000,10000000,100000000] [--reps 3]
# Writes the log to $OUT/gpu_check.log when OUT is set (the device runner's output folder).
# Exit status: 0 all checks passed, 1 a check failed, 2 no device found.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${AI_SCALE_GPU_BUILD:-build-gpu-check}
log=${OUT:+$OUT/gpu_check.log}
log=${log:-/dev/null}
nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}

{
    echo "== $(date -u +%FT%TZ) $(uname -n)"
    nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,pcie.link.gen.current,pcie.link.width.current \
        --format=csv 2>&1 || echo "nvidia-smi not available"
    "$nvcc" --version | tail -n 2
    start=$(date +%s)
    build_cmake() {
        command -v cmake >/dev/null &&
            CUDACXX=$nvcc cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAI_SCALE_GPU_ONLY=ON >/dev/null &&
            cmake --build "$build" -j"$(nproc)" --target ai_scale_gpu ai_scale_gpu_check &&
            [ -x "$build/gpu/ai_scale_gpu_check" ]
    }
    build_nvcc() {
        # No (recent enough) CMake: the same build by hand.
        mkdir -p "$build/gpu"
        "$nvcc" -O3 -std=c++17 -shared -Xcompiler -fPIC,-fvisibility=hidden,-ffp-contract=off \
            -fmad=false --expt-relaxed-constexpr --cudart static -Xlinker --version-script=gpu/exports.map \
            -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
            -Isrc -Igpu gpu/device.cu gpu/score.cu -o "$build/gpu/ai_scale_gpu.so"
        g++ -O3 -std=c++17 -ffp-contract=off -Isrc -Igpu gpu/bench_check.cpp src/scoring/model.cpp \
            src/scoring/json.cpp -o "$build/gpu/ai_scale_gpu_check" \
            -L"$build/gpu" -l:ai_scale_gpu.so -Wl,-rpath,"$(realpath "$build/gpu")" -pthread
    }
    if ! build_cmake; then
        echo "== CMake build unavailable or failed; building with nvcc directly"
        build_nvcc
    fi
    harness=$build/gpu/ai_scale_gpu_check
    echo "== built in $(($(date +%s) - start)) s"
    "$harness" --require-device "$@"
} 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
