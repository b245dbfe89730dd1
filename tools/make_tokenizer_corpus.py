#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/corpus.jsonl: a deterministic corpus of varied strings
(one JSON string per line) on which cascade's tokenizer must match HF tokenizers.

Run: python3 tools/make_tokenizer_corpus.py [out_path]. Needs only the standard library.
"""
import json
import random
import sys

SEED = 20261129
N_RANDOM = 1700

PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "It's a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
    "She said: \"I'll be there at 5 o'clock\" -- and she WASN'T.",
    "We've got 3 apples, you're hungry, they'd eaten, I'm done, he'll go, it's fine.",
    "Crystalton is located in the northern province of Nebulonia, beside the Silver Lake.",
    "In 1969, Apollo 11 landed on the Moon; 600 million people watched.",
    "Dr. Smith's report (pp. 12-14) cites e.g. Fig. 3a & Table 2b.",
    "THE END. The End. the end.",
    "Hello, world!",
    "hello",
    " leading space",
    "trailing space ",
    "multiple   spaces   between   words",
]
CODE = [
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "int main(int argc, char** argv) {\n\treturn argc > 1 ? 0 : 1;\n}\n",
    "for (size_t i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
    "const x = {a: 1, 'b': [2, 3], \"c\": null};  // comment",
    "#include <vector>\n#include \"cascade/llm.h\"\n",
    "$ ls -la /usr/local/bin | grep -v '^d' && echo $?",
    "x = np.zeros((3, 4), dtype=np.float32)\ny = x @ x.T\n",
    "{\"role\": \"user\", \"content\": \"What is 2+2?\"}",
    "<div class=\"a\"><p>Text &amp; more</p></div>",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "    indented with four spaces\n\tand a tab\n",
    "a\r\nb\r\n\r\nc",
    "// TODO(owner): fix off-by-one in tokenizer.cpp:123",
]
NUMBERS = ["0", "7", "42", "1234567890", "3.14159265358979", "-0.5e-10", "1,000,000", "2026-11-29",
           "12:34:56", "+1 (555) 010-9999", "0xDEADBEEF", "1e100", "99.9%", "$1,299.99", "v1.2.3-rc4"]
SCRIPTS = [
    "中文测试：今天天气很好，我们去公园散步吧。",
    "日本語のテキスト、ひらがなとカタカナと漢字。",
    "한국어 문장입니다. 안녕하세요!",
    "Привет, мир! Как дела?",
    "Γειά σου Κόσμε",
    "مرحبا بالعالم، كيف حالك؟",
    "שלום עולם",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "สวัสดีชาวโลก",
    "Tiếng Việt có dấu: Điều này rất tuyệt vời.",
    "Ça va? Déjà vu, naïve café, Ångström, Straße, Øresund.",
    "Zürich → München ⇒ Wien ≈ 3½ hours",
    "mixed 中文 and English 和 数字 123 together",
    "emoji 😀😃😄 and flags 🇩🇪🇯🇵 and family 👨‍👩‍👧‍👦 and skin 👍🏽",
    "math: ∀x∈ℝ, ∃y: x²+y²=1; ∑ᵢ aᵢ ≤ ∞",
    "box drawing ┌─┬─┐ │ │ │ └─┴─┘",
    "e\u0301 (decomposed) vs \u00e9 (composed); A\u030a vs \u00c5",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "nbsp\u00a0here and thin\u2009space and ideographic\u3000space",
    "tab\tseparated\tvalues\n1\t2\t3",
]
SPECIAL = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>",
           "</tool_call>", "<|vision_start|>", "<|fim_prefix|>"]
WHITESPACE = [" ", "  ", "   ", "\n", "\n\n", "\n\n\n", "\t", " \n", "\n ", " \t \n", "\r\n", "\r",
              "        ", "\n    \n", " \u00a0 ", "\u3000"]
RANGES = [
    (0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
    (0xE00, 0xE7F), (0x1100, 0x11FF), (0x2000, 0x206F), (0x2190, 0x22FF), (0x3040, 0x30FF),
    (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xFF00, 0xFFEF), (0x1F300, 0x1F64F), (0x1F900, 0x1F9FF),
    (0x10000, 0x1007F), (0x1D400, 0x1D7FF),
]


def random_codepoints(rng, n):
    out = []
    for _ in range(n):
        lo, hi = rng.choice(RANGES)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def random_word(rng):
    kind = rng.random()
    if kind < 0.5:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 12)))
    if kind < 0.6:
        return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(1, 8)))
    if kind < 0.7:
        return str(rng.randint(0, 10 ** rng.randint(1, 15)))
    if kind < 0.8:
        return rng.choice(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "n't"])
    if kind < 0.9:
        return random_codepoints(rng, rng.randint(1, 6))
    return rng.choice("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") * rng.randint(1, 4)


def random_string(rng):
    pieces = []
    for _ in range(rng.randint(1, 25)):
        r = rng.random()
        if r < 0.55:
            pieces.append(random_word(rng))
        elif r < 0.85:
            pieces.append(rng.choice(WHITESPACE))
        elif r < 0.9:
            pieces.append(rng.choice(SPECIAL))
        elif r < 0.95:
            pieces.append(rng.choice(PROSE + CODE + SCRIPTS + NUMBERS))
        else:
            pieces.append(rng.choice(SCRIPTS)[: rng.randint(1, 10)])
    return "".join(pieces)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/tokenizer/corpus.jsonl"
    rng = random.Random(SEED)
    corpus = []
    corpus += PROSE + CODE + NUMBERS + SCRIPTS + SPECIAL + WHITESPACE
    corpus += [f"<|im_start|>user\n{p}<|im_end|>\n<|im_start|>assistant\n" for p in PROSE]
    corpus += [f"<think>\n{p}\n</think>\n\n{q}" for p, q in zip(PROSE, SCRIPTS)]
    corpus += ["x<|im_end|>y", "<|im_start|><|im_end|>", "<|im_start", "im_start|>", "< think>",
               "<think >", "<|endoftext|><|endoftext|>", "text<|endoftext|>", "<|im_end|> ",
               " <|im_end|>", "\n<|im_end|>\n"]
    corpus += [a + b for a in SCRIPTS[:10] for b in CODE[:10]]
    corpus += [" " * n + "x" + "\n" * m for n in range(0, 9) for m in range(0, 4)]
    corpus += ["a" * n for n in (1, 2, 3, 10, 100, 1000)]
    corpus += ["1" * n for n in (1, 2, 3, 4, 5, 17, 64)]
    corpus += ["😀" * n for n in (1, 2, 7)]
    corpus += ["".join(chr(c) for c in range(lo, min(hi, lo + 64))) for lo, hi in RANGES]
    while len(corpus) < N_RANDOM + 400:
        corpus.append(random_string(rng))
    seen = set()
    unique = [s for s in corpus if not (s in seen or seen.add(s))]
    with open(out_path, "w", encoding="utf-8") as f:
        for s in unique:
            f.write(json.dumps(s, ensure_ascii=True) + "\n")
    print(f"{out_path}: {len(unique)} strings")


if __name__ == "__main__":
    main()
