#!/bin/sh
# Runs the fuzz targets one after another, each for $FUZZ_SECONDS seconds (default 600),
# starting from the seed corpus in fuzz/seeds/ (a crash stops it, and is kept in
# fuzz/artifacts/). Usage: fuzz/run.sh [TARGET...]  (default: all four targets).
set -eu
cd "$(dirname "$0")"
[ $# -gt 0 ] || set -- idx model_file checkpoint png
for target in "$@"; do
    mkdir -p "corpus/$target"
    cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="${FUZZ_SECONDS:-600}"
done
