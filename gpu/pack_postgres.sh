#!/usr/bin/env bash
# Packs what gpu/check_sql.sh needs on a GPU machine that has no Postgres and no package
# registry: a relocated copy of this machine's PostgreSQL 15 with this tree's ai_scale and
# ai_scale_gpu.so installed in it, plus the shared libraries its programs load (glibc's and the
# C++ runtime's left out), as .pgcarry/pg.tar.xz (about 25 MB). gpu/device_checks.sh unpacks it.
# Usage: bash gpu/pack_postgres.sh   (then carry .pgcarry to the machine)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/ai_scale_pack.XXXXXX)
trap 'rm -rf "$work"' EXIT
eval "$(bash scripts/private_pg.sh "$work/root")"
make -s -j"$(nproc)"
make -s install
nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
CUDACXX=$nvcc cmake -S . -B build-gpu-check -DCMAKE_BUILD_TYPE=Release -DAI_SCALE_GPU_ONLY=ON >/dev/null
cmake --build build-gpu-check -j"$(nproc)" --target ai_scale_gpu >/dev/null
pg=$work/root/usr/lib/postgresql/15
cp build-gpu-check/gpu/ai_scale_gpu.so "$pg/lib/"
# No JIT on the machine (and its bitcode is most of lib/); the headers are not needed there.
rm -rf "$pg/lib/bitcode" "$pg"/lib/llvmjit*.so "$work/root/usr/include"
mkdir -p "$work/root/libs"
for f in "$pg"/bin/* "$pg"/lib/*.so; do ldd "$f" 2>/dev/null || true; done |
    awk '/=> \//{print $3}' | sort -u |
    grep -v -E '/(libc|libm|libdl|libpthread|librt|libresolv|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so' |
    xargs -r -I{} cp -L {} "$work/root/libs/"
mkdir -p .pgcarry
tar -C "$work/root" -cJf .pgcarry/pg.tar.xz usr libs
echo "packed .pgcarry/pg.tar.xz ($(du -h .pgcarry/pg.tar.xz | cut -f1)); carry .pgcarry and run bash gpu/device_checks.sh"
