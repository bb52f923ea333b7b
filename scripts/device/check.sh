#!/usr/bin/env bash
# The GPU check, run on the lent device machine from the repository root with .device/ and
# .gl/ carried (see bundle.sh): the adapter, selftest, the GPU test binaries, `gpu-cnn bench`
# on the lecture's models and the lecture's CNN trained for 5 epochs at batch 64. Each step's
# stdout and stderr go to a file; all of them come back as $OUT/results.tar.gz (the device tool
# returns at most 8 files); each step's exit status and time are printed as it ends.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/device-out}"
WORK=$(mktemp -d)
mkdir -p "$OUT"

# The device machine has the NVIDIA driver but no Vulkan loader: unpack the carried one (only
# where none is installed, so this never overwrites a system's own).
if ! ldconfig -p | grep -q libvulkan.so.1 && ls .gl/*.deb >/dev/null 2>&1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}" XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# The binaries look for the bundled MNIST (and the tests for their fixtures) where they were
# built.
built_in=$(cat .device/built_in)
if [ ! -e "$built_in/assets/mnist" ]; then
  mkdir -p "$(dirname "$built_in")" && ln -sfn "$PWD" "$built_in"
fi
bin=.device/gpu-cnn
# All steps together stay inside one device call (600 s at most): CHECK_SECONDS in all.
deadline=$((SECONDS + ${CHECK_SECONDS:-530}))

step() { # name, time limit in seconds, command...: stdout to NAME.txt, stderr to NAME.log
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - SECONDS)) start=$SECONDS
  if [ "$left" -le 0 ]; then
    echo "$name: skipped, no time left" | tee -a "$WORK/summary.txt"
    return
  fi
  [ "$limit" -le "$left" ] || limit=$left
  timeout "$limit" "$@" >"$WORK/$name.txt" 2>"$WORK/$name.log"
  echo "$name: exit $? in $((SECONDS - start)) s" | tee -a "$WORK/summary.txt"
}

step devices 60 "$bin" devices --json
step selftest 120 "$bin" selftest
for test in .device/tests/*; do
  step "test-$(basename "$test" | cut -d- -f1)" 120 "$test" --test-threads 4
done
step bench 180 "$bin" bench --model cnn@64 --model dense@32 --samples 54000 --json
step train 180 "$bin" train --epochs 5 --batch-size 64 --json --verbose 2
tar czf "$OUT/results.tar.gz" -C "$WORK" .
