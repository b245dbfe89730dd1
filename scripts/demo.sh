#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs the demo on the bundled tiny
# model (CPU here; the GPU when one is present and the build has CUDA).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
model=tests/fixtures/models/qwen3-tiny
echo "== model"
build/cascade info --model "$model"
echo
echo "== generate: a batch of chat prompts, twice (the second run hits the prefix cache)"
printf '%s\n' "Where is Crystalton located?" "Who founded Nebulonia?" "What is the Silver Lake?" > build/demo_prompts.txt
build/cascade demo --model "$model" --prompts-file build/demo_prompts.txt --max-tokens 24
