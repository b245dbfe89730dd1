#!/usr/bin/env python3
"""Hugging Face transformers references in bf16, for the CUDA backend's tests.

Run on the GPU machine (torch with CUDA, transformers 5.x, safetensors):
    python3 tools/make_bf16_references.py --fixtures tests/fixtures --out OUT_DIR
Writes
  OUT_DIR/<tiny>-bf16-logits.safetensors    logits.<i>: [len(prompt i), vocab] f32, the
      tiny fixture models run in bf16 on the GPU over their golden prompts (committed
      under tests/fixtures/golden/)
  OUT_DIR/<geometry>/config.json, model.safetensors, prompts.json, bf16-logits.safetensors
      random weights in the geometry of Qwen3-0.6B and Qwen2.5-0.5B (saved in bf16 by
      transformers) and their logits at every position of seeded random prompts (1.2 GB
      each: made at test time by scripts/gpu-check.sh, not committed)
tests/cuda/cuda_bf16_reference_test.cpp compares the CUDA backend's logits with these.
Everything is seeded; attention is transformers' eager implementation.
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import (AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config,
                          Qwen3ForCausalLM)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import scale_init  # noqa: E402  (same weight scales as the fixtures)

TINY = ["qwen3-tiny", "qwen2-tiny"]
PROMPT_LENGTHS = [70, 5, 300]

GEOMETRIES = {
    "qwen3-0.6b": (Qwen3ForCausalLM, dict(
        vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
        num_attention_heads=16, num_key_value_heads=8, head_dim=128,
        max_position_embeddings=40960, rope_theta=1000000.0, rms_norm_eps=1e-6,
        tie_word_embeddings=True, attention_bias=False), Qwen3Config),
    "qwen2.5-0.5b": (Qwen2ForCausalLM, dict(
        vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
        num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
        rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True), Qwen2Config),
}


def bf16_logits(model, prompts):
    with torch.no_grad():
        return {f"logits.{i}": model(torch.tensor([p], device="cuda"), use_cache=False)
                .logits[0].float().cpu().contiguous() for i, p in enumerate(prompts)}


def load_bf16(model_dir):
    return AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.bfloat16, attn_implementation="eager").to("cuda").eval()


def tiny_references(fixtures, out):
    for name in TINY:
        with open(os.path.join(fixtures, "golden", f"{name}.json")) as f:
            prompts = json.load(f)["prompts"]
        model = load_bf16(os.path.join(fixtures, "models", name))
        save_file(bf16_logits(model, prompts), os.path.join(out, f"{name}-bf16-logits.safetensors"))
        print(f"{name}: {len(prompts)} prompts")


def geometry_references(out, seed):
    for name, (cls, fields, config_cls) in GEOMETRIES.items():
        model_dir = os.path.join(out, name)
        os.makedirs(model_dir, exist_ok=True)
        generator = torch.Generator().manual_seed(seed)
        model = cls(config_cls(**fields)).eval()
        scale_init(model, generator)
        model.to(torch.bfloat16).save_pretrained(model_dir, safe_serialization=True)
        del model
        rng = torch.Generator().manual_seed(seed + 1)
        prompts = [torch.randint(0, fields["vocab_size"], (n,), generator=rng).tolist()
                   for n in PROMPT_LENGTHS]
        with open(os.path.join(model_dir, "prompts.json"), "w") as f:
            json.dump({"prompts": prompts, "transformers": __import__("transformers").__version__,
                       "torch": torch.__version__}, f)
        model = load_bf16(model_dir)
        save_file(bf16_logits(model, prompts), os.path.join(model_dir, "bf16-logits.safetensors"))
        del model
        print(f"{name}: prompts of {PROMPT_LENGTHS} tokens")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixtures", required=True, help="tests/fixtures")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--tiny-only", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    tiny_references(args.fixtures, args.out)
    if not args.tiny_only:
        geometry_references(args.out, args.seed)


if __name__ == "__main__":
    main()
