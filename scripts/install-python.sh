#!/usr/bin/env bash
# Builds the Python package `cascade` (python/, a pybind11 module over the C++ API) and
# installs it for Debian's python3: into the user's site-packages, or into the folder given.
#   bash scripts/install-python.sh            # then: python3 -c "from cascade import LLM"
#   bash scripts/install-python.sh DIR        # then: PYTHONPATH=DIR python3 ...
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${CASCADE_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target _cascade
python=/usr/bin/python3  # the interpreter Debian's pybind11 built the module for
target=${1:-$("$python" -c 'import site; print(site.getusersitepackages())')}
mkdir -p "$target"
rm -rf "$target/cascade"
cp -r "$build/python/cascade" "$target/"
PYTHONPATH="$target" "$python" -c 'import cascade; print("cascade installed in", cascade.__path__[0])'
