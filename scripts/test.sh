#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test. The README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The data generator and the training layout of the tiny trained model (stdlib only).
python3 -m unittest discover -s tests/python
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
