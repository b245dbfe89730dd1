#!/usr/bin/env bash
# The main job: installs dependencies, builds, and answers questions about a few
# documents with the bundled tiny model (models/cascade-tiny-qwen3), printing cache
# statistics. CPU here; the GPU once the CUDA backend lands.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
model=models/cascade-tiny-qwen3
build/cascade info --model "$model"
echo
build/cascade demo --model "$model" --documents examples/demo/documents.txt \
  --questions examples/demo/questions.txt
