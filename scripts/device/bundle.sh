#!/usr/bin/env bash
# Prepares the GPU check of BENCHMARKS.md for the lent device machine (no Rust toolchain, no
# Vulkan loader there): builds the release binary and the GPU test binaries here, and fetches
# the Vulkan/EGL loader packages, into the git-ignored .device/ and .gl/ that `run` carries.
# Then, with the device tool: run(command="bash scripts/device/check.sh", carry=[".device",
# ".gl"], timeout_s=540).
set -euo pipefail
cd "$(dirname "$0")/../.."

grep -qx '/.device/' .git/info/exclude || echo /.device/ >>.git/info/exclude
grep -qx '/.gl/' .git/info/exclude || echo /.gl/ >>.git/info/exclude
rm -rf .device && mkdir -p .device/tests
cargo build --release
cp target/release/gpu-cnn .device/
pwd >.device/built_in
# The test binaries that train and compare with the CPU references on the real adapter
# (selftest covers every kernel; the working tree, these and the loaders must fit in 64 MiB).
tests=(train_steps presets conv2d)
cargo test --release --no-run "${tests[@]/#/--test=}" --message-format=json |
  python3 -c 'import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable") \
            and message["target"]["kind"] == ["test"]:
        print(message["executable"])' |
  while read -r executable; do cp "$executable" .device/tests/; done
strip .device/gpu-cnn .device/tests/*

if ! ls .gl/*.deb >/dev/null 2>&1; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .device .gl
