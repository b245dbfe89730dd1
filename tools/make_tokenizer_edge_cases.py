#!/usr/bin/env python3
"""Writes HF reference ids for tokenizer edge cases that corpus.jsonl does not cover.

Run where Hugging Face `tokenizers` is installed (the GPU machine):
    python3 tools/make_tokenizer_edge_cases.py --qwen3-tokenizer DIR --out OUT_DIR
Writes OUT_DIR/edge_cases.jsonl and OUT_DIR/flags_tokenizer.json (copy both to
tests/fixtures/tokenizer/). Each line of edge_cases.jsonl is
  {"tokenizer": "qwen3" | "flags", "text": str, "ids": [...], "decoded": str,
   "decoded_skip_special": str}
"qwen3" is the real Qwen3 tokenizer; "flags" is the tiny test tokenizer plus added tokens
with every lstrip / rstrip / single_word / normalized combination (flags_tokenizer.json).
Deterministic: a rerun gives the same files.
"""
import argparse
import json
import os

from tokenizers import AddedToken, Tokenizer

QWEN3_TEXTS = [
    # whitespace that Unicode does or does not call White_Space
    "a\u180eb", "a\u0085b", "a\u001cb\u001db\u001eb\u001fb", "a\u000bb\u000cb", "x\u200by",
    "x\ufeffy", "x\u2028y\u2029z", "x\u00a0\u00a0y", "\u3000\u3000x", "a \u180e b",
    "tab\t\t\tend", "  \t\n\t  \n", "\r\n\r\n \r\n", "trailing\n\n  ", " \n \n", "\n",
    "a" + " " * 3000 + "b", " " * 5000, "\n" * 1000, "a" * 5000, "9" * 3000,
    # contractions under Unicode case folding
    "it's IT'S It'S", "we'LL they'Re", "'s'S's", "x'\u017f", "I'\u212a", "don\u2019t",
    # NUL and other controls
    "a\u0000b", "\u0000", "\u0001\u0002\u0003\u007f\u0080\u009f",
    # code points at the edges
    "\ue000\uf8ff", "\ufffe\uffff", "\U0010fffd", "\U0001fae8\U0001fae9", "\ufffd\ufffd",
    # NFC: Hangul jamo, reordering of marks, singletons, exclusions
    "\u1100\u1161\u11a8", "a\u0323\u0302", "a\u0302\u0323", "\u212b\u2126", "\u0958\u0959",
    "e\u0301\u0301", "\u0344\u0f73",
    # letters and numbers of every kind
    "\u01c5\u01c8 \u02b0\u02b1 \u30fc\u30fc", "\u0663\u0664\u0665 \u2460\u2461 \u216b\u2160",
    "\u00bd\u00bc 10\u00b2", " \u0301abc", "\u0301\u0301", "x\u0301y",
    "\U0001d400\U0001d401 \U0001f1e9\U0001f1ea", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    # added tokens at the edges of text
    "<|im_start|><|im_end|>", "<|im_start|>", " <|im_start|> ", "<|im_start|", "|im_start|>",
    "<<|im_end|>>", "<|endoftext|><|endoftext|>x", "<think></think>", "a<tool_call>b",
    "<|im_start|>\u0065\u0301<|im_end|>", "<|fim_prefix|>x<|fim_suffix|>y<|fim_middle|>",
]

FLAG_TOKENS = [
    AddedToken("<mask>", lstrip=True, special=True, normalized=False),
    AddedToken("[R]", rstrip=True, special=False, normalized=False),
    AddedToken("<both>", lstrip=True, rstrip=True, special=False, normalized=False),
    AddedToken("cat", single_word=True, special=False, normalized=False),
    AddedToken("\u00e9t\u00e9", single_word=True, special=False, normalized=True),
    AddedToken("\u00e9", special=False, normalized=True),
    AddedToken("A\u030a", special=False, normalized=True),  # matched as its NFC, Å
    AddedToken("<|ab|>", special=True, normalized=False),
    AddedToken("<|ab|>x", special=True, normalized=False),
    AddedToken("\u65e5\u672c", special=False, normalized=False),
    AddedToken("hello world", special=False, normalized=False),
    AddedToken("_w_", single_word=True, special=False, normalized=False),
]

FLAG_TEXTS = [
    "x <mask>", "x   <mask>y", "x\t\n <mask> y", "<mask>", "  <mask>", "a<mask><mask>b",
    "[R]  y", "[R]\n\ny", "[R]", "a [R] b [R]", "[R] <mask>", "x  <both>  y", "<both><both>",
    "cat", "a cat b", "concat", "cats", "cat_", "_cat", "(cat)", "cat!cat", "1cat", "cat1",
    "\u00e9cat", "cat\u00e9", "cat\u0301", "cat\u200d", "cat\u0660", "cat\u2160", "cat\u00b2",
    "cat catcat cat",
    "\u00e9t\u00e9", "e\u0301te\u0301", "un \u00e9t\u00e9 chaud", "l'\u00e9t\u00e9s",
    "\u00e9", "e\u0301", "caf\u00e9", "cafe\u0301", "\u00c5", "A\u030a", "\u212b",
    "<|ab|>", "<|ab|>x", "<|ab|>y", "<|ab|>xx", "<|ab|<|ab|>x",
    "\u65e5\u672c\u8a9e", "\u65e5\u672c", "hello world", "hello  world", "say hello world!",
    "_w_", "a _w_ b", "a_w_b", "x_w_", "\u00e9_w_",
    "<|im_start|>user\nhi<|im_end|>", "<think>x</think>",
]


def row(tok, name, text):
    ids = tok.encode(text, add_special_tokens=False).ids
    return {"tokenizer": name, "text": text, "ids": ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qwen3-tokenizer", required=True)
    ap.add_argument("--tiny", default="tests/fixtures/models/qwen3-tiny/tokenizer.json")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    qwen3 = Tokenizer.from_file(os.path.join(args.qwen3_tokenizer, "tokenizer.json"))
    flags = Tokenizer.from_file(args.tiny)
    flags.add_tokens(FLAG_TOKENS)
    flags_path = os.path.join(args.out, "flags_tokenizer.json")
    flags.save(flags_path)
    flags = Tokenizer.from_file(flags_path)  # what the C++ side will read

    rows = [row(qwen3, "qwen3", t) for t in QWEN3_TEXTS]
    rows += [row(flags, "flags", t) for t in FLAG_TEXTS]
    with open(os.path.join(args.out, "edge_cases.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=True) + "\n")
    print(f"{len(rows)} edge cases")


if __name__ == "__main__":
    main()
