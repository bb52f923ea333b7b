#!/usr/bin/env bash
# The browser tests: builds the page (scripts/web/build.sh) and, where it is missing, the command
# line (target/release/gpu-cnn), installs playwright-core (npm ci in web/), then runs web/tests/
# with Node's test runner, one file at a time, in headless Chromium with WebGPU (SwiftShader
# when there is no GPU). docs/web-page.png is rewritten by the end-to-end test.
#
#   bash scripts/web/test.sh                 # all of web/tests/
#   bash scripts/web/test.sh e2e checkpoint  # only web/tests/e2e.test.mjs and checkpoint.test.mjs
#
# Environment: CHROMIUM (default /usr/bin/chromium; never downloaded), CHROMIUM_ARGS (extra
# flags), GPU_CNN_BIN (default target/release/gpu-cnn), GPU_CNN_WEB_NO_BUILD=1 (use target/web
# as it is).
set -euo pipefail
cd "$(dirname "$0")/../.."

secs() { echo $(( $(date +%s) - $1 ))s; }

t=$(date +%s)
if [[ "${GPU_CNN_WEB_NO_BUILD:-}" == 1 && -f target/web/pkg/gpu_cnn_web_bg.wasm ]]; then
  echo "Using target/web as it is (GPU_CNN_WEB_NO_BUILD=1)."
else
  bash scripts/web/build.sh
fi
echo "scripts/web/test.sh: page built in $(secs "$t")"

bin="${GPU_CNN_BIN:-target/release/gpu-cnn}"
if [[ ! -x "$bin" ]]; then
  t=$(date +%s)
  cargo build --release --bin gpu-cnn
  echo "scripts/web/test.sh: command line built in $(secs "$t")"
fi

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "error: no Chromium at $chromium: apt-get install chromium (or set CHROMIUM)" >&2
  exit 1
fi

t=$(date +%s)
(cd web && npm ci --no-audit --no-fund --loglevel=error)
echo "scripts/web/test.sh: npm ci in $(secs "$t")"

# Mesa's window-system probing (the command line on lavapipe) complains when this is unset.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

files=()
if (( $# )); then
  for name in "$@"; do files+=("web/tests/${name%.test.mjs}.test.mjs"); done
else
  files=(web/tests/*.test.mjs)
fi
# One file at a time: each drives a software GPU (SwiftShader, lavapipe) that uses every core.
t=$(date +%s)
if node --help | grep -q -- '--test-concurrency'; then
  node --test --test-reporter=spec --test-concurrency=1 "${files[@]}"
else
  status=0
  for f in "${files[@]}"; do node --test --test-reporter=spec "$f" || status=1; done
  (( status == 0 ))
fi
echo "scripts/web/test.sh: browser tests passed in $(secs "$t")"
