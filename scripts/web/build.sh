#!/usr/bin/env bash
# Builds the web page into target/web/: the wasm library (crate web/, package gpu-cnn-web) for
# wasm32 + WebGPU, its JS glue (wasm-bindgen --target web), the page (web/static/) and the
# bundled MNIST (assets/mnist/*.gz, which the page downloads and inflates in wasm).
#
# Needs: rustup target add wasm32-unknown-unknown
#        cargo install wasm-bindgen-cli --version 0.2.130   (the wasm-bindgen crate's version)
set -euo pipefail
cd "$(dirname "$0")/../.."

target_dir="${CARGO_TARGET_DIR:-target}"
site="target/web"
wasm="$target_dir/wasm32-unknown-unknown/release/gpu_cnn_web.wasm"

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "error: the wasm32-unknown-unknown target is not installed: rustup target add wasm32-unknown-unknown" >&2
  exit 1
fi
# wasm-bindgen-cli must be the version of the wasm-bindgen crate in Cargo.lock.
want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
if ! command -v wasm-bindgen >/dev/null; then
  echo "error: wasm-bindgen is not installed: cargo install wasm-bindgen-cli --version ${want:-0.2.130}" >&2
  exit 1
fi
have="$(wasm-bindgen --version | awk '{ print $2 }')"
if [[ -n "$want" && "$have" != "$want" ]]; then
  echo "error: wasm-bindgen $have is installed but Cargo.lock has wasm-bindgen $want: cargo install wasm-bindgen-cli --version $want" >&2
  exit 1
fi

cargo build --release -p gpu-cnn-web --target wasm32-unknown-unknown

mkdir -p "$site/pkg" "$site/mnist"
# wasm-bindgen only when the wasm is newer than its output (a second run copies the page only).
if [[ ! -f "$site/pkg/gpu_cnn_web_bg.wasm" || "$wasm" -nt "$site/pkg/gpu_cnn_web_bg.wasm" ]]; then
  wasm-bindgen --target web --out-dir "$site/pkg" "$wasm"
fi
cp -R web/static/. "$site/"
cp assets/mnist/*.gz "$site/mnist/"

size() { du -h "$1" | cut -f1; }
echo
echo "Built the page in $site/ (wasm $(size "$site/pkg/gpu_cnn_web_bg.wasm"), MNIST $(du -ch "$site"/mnist/*.gz | tail -1 | cut -f1))."
echo "Serve it with any static server, then open http://localhost:8080/ in a browser with WebGPU:"
echo "  python3 -m http.server --directory $site 8080"
