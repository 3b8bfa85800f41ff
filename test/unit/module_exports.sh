#!/usr/bin/env bash
# Checks that a shared library exports (defines in its dynamic symbol table) only names that
# start with PREFIX, and at least one such name. Run by ctest for ai_scale_gpu.so (gpu/exports.map).
# Usage: module_exports.sh LIBRARY PREFIX
set -euo pipefail
library=$1 prefix=$2
symbols=$(nm -D --defined-only "$library" | awk '{ print $NF }')
others=$(grep -v "^$prefix" <<<"$symbols" || true)
if [ -n "$others" ]; then
    echo "$library exports symbols outside its ABI:" >&2
    echo "$others" >&2
    exit 1
fi
grep -q "^$prefix" <<<"$symbols" || { echo "$library exports nothing named $prefix*" >&2; exit 1; }
echo "$library exports $(wc -l <<<"$symbols") symbols, all $prefix*"
