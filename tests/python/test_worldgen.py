"""Tests of tools/worldgen.py (stdlib only): python3 -m unittest discover -s tests/python"""
import json
import os
import re
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import worldgen  # noqa: E402

SUITE_PATH = os.path.join(ROOT, worldgen.DEFAULT_SUITE_PATH)
# Qwen3's split regex with \p{L} / \p{N} spelled for ASCII text (all our text is ASCII).
ASCII_SPLIT = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]|"
                         r" ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
ADDED_TOKENS = re.compile(r"<\|im_start\|>|<\|im_end\|>|<\|endoftext\|>|<think>|</think>")
NAME_WORDS = set(worldgen.FIRST_NAMES) | set(worldgen.COMPANY_WORDS) | {"River", "Mount"}


def pretoken_boundaries(text):
    """Offsets where a token may start or end: added tokens, then regex pre-tokens."""
    cuts, pos = {0, len(text)}, 0
    for m in list(ADDED_TOKENS.finditer(text)) + [None]:
        end = m.start() if m else len(text)
        segment = text[pos:end]
        covered = "".join(p.group(0) for p in ASCII_SPLIT.finditer(segment))
        assert covered == segment, "regex does not cover %r" % segment
        for p in ASCII_SPLIT.finditer(segment):
            cuts.update((pos + p.start(), pos + p.end()))
        if m:
            cuts.update((m.start(), m.end()))
            pos = m.end()
    return cuts


def near_miss(a, b):
    """Names that differ in one word, by one letter or by the ending after a shared stem."""
    wa, wb = a.split(), b.split()
    diff = [(x, y) for x, y in zip(wa, wb) if x != y]
    if len(wa) != len(wb) or len(diff) != 1:
        return False
    x, y = diff[0]
    if len(x) == len(y) and sum(c != d for c, d in zip(x, y)) == 1:
        return True
    stem = 0
    while stem < min(len(x), len(y)) and x[stem] == y[stem]:
        stem += 1
    return stem >= 2


def distinctive_words(name):
    return [w for w in name.split() if w not in NAME_WORDS]


class SuiteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rows = worldgen.build_suite()
        cls.records = [r for r, _ in cls.rows]

    def test_committed_suite_is_the_generators_output(self):
        with open(SUITE_PATH, encoding="utf-8") as f:
            committed = [json.loads(line) for line in f]
        self.assertEqual(committed, self.records)

    def test_deterministic_for_a_seed(self):
        again = [r for r, _ in worldgen.build_suite()]
        self.assertEqual(json.dumps(again), json.dumps(self.records))
        other = [r for r, _ in worldgen.build_suite(seed=7)]
        self.assertNotEqual(json.dumps(other), json.dumps(self.records))

    def test_counts_and_categories(self):
        self.assertGreaterEqual(len(self.records), 300)
        self.assertGreaterEqual(len({c for r in self.records for c in r["chunks"]}), 60)
        self.assertEqual({r["category"] for r in self.records}, set(worldgen.CATEGORIES))
        self.assertEqual(len({r["id"] for r in self.records}), len(self.records))
        for r in self.records:
            self.assertEqual(r["system"], worldgen.SYSTEM_PREFIX)
            self.assertTrue(1 <= len(r["chunks"]) <= 8, r["id"])
            if r["category"] == "single_doc":
                self.assertEqual(len(r["chunks"]), 1)
            last = len(r["chunks"]) - 1
            want = {"answer_first": 0, "answer_last": last, "answer_middle": last + 1 >> 1}
            if r["category"] in want:
                self.assertEqual(r["answer_chunk"], want[r["category"]], r["id"])
                self.assertGreaterEqual(len(r["chunks"]), 6)

    def test_answer_stated_in_exactly_one_chunk(self):
        for r, meta in self.rows:
            fact = (r["entity"], r["attribute"])
            holders = [i for i, facts in enumerate(meta["facts"]) if fact in facts]
            self.assertEqual(holders, [r["answer_chunk"]], r["id"])
            chunk = r["chunks"][r["answer_chunk"]]
            self.assertIn(r["expected_value"], chunk, r["id"])
            self.assertIn(r["entity"], chunk, r["id"])
            self.assertIn(r["entity"], r["question"])
            self.assertIn(r["expected_value"], r["expected_answer"])
            self.assertTrue(r["expected_answer"].endswith("."))
            # no other entity of the prompt has the same name
            for i, facts in enumerate(meta["facts"]):
                if i != r["answer_chunk"]:
                    self.assertNotIn(r["entity"], [n for n, _ in facts])

    def test_distractors_have_near_miss_names(self):
        for r, meta in self.rows:
            if r["category"] != "distractor":
                continue
            twin = meta["twin"]
            others = [n for i, facts in enumerate(meta["facts"]) if i != r["answer_chunk"]
                      for n, _ in facts]
            self.assertIn(twin, others, r["id"])
            self.assertTrue(near_miss(twin, r["entity"]), (twin, r["entity"]))

    def test_shared_batches(self):
        batches = {}
        for r in self.records:
            if r["category"] == "shared_batch":
                batches.setdefault(r["batch"], []).append(r)
        self.assertGreaterEqual(len(batches), 1)
        for rows in batches.values():
            self.assertEqual(len(rows), 16)
            self.assertEqual(len({json.dumps(r["chunks"]) for r in rows}), 1)
            self.assertEqual(len({(r["entity"], r["attribute"]) for r in rows}), 16)

    def test_seed_case(self):
        seed = [r for r in self.records if r["category"] == "seed_case"]
        self.assertTrue(seed)
        for r in seed:
            self.assertEqual(r["question"], "Where is Crystalton located?")
            self.assertEqual(r["expected_answer"], "Crystalton is located in Nebulonia.")
            self.assertEqual(r["expected_value"], "Nebulonia")
            self.assertIn("Crystalton is located in Nebulonia.", r["chunks"][r["answer_chunk"]])
        self.assertTrue(any("Crystalford" in c for r in seed for c in r["chunks"]))

    def test_suite_names_never_in_training(self):
        suite_words = {w for _, meta in self.rows for n in meta["names"]
                       for w in distinctive_words(n)}
        self.assertIn("Crystalton", suite_words)
        train_words, train_names = set(), set()
        for w in worldgen.training_worlds(0, 300):
            train_names.update(w["names"])
            for text in w["chunks"] + [t for _, q, a in w["examples"] for t in (q, a)]:
                train_words.update(re.findall(r"[A-Za-z]+", text))
        self.assertEqual(suite_words & train_words, set())
        self.assertEqual({n for _, m in self.rows for n in m["names"]} & train_names, set())


class FramingTest(unittest.TestCase):
    def test_exact_strings(self):
        prompt = worldgen.compose_prompt([worldgen.render_chunk("Ab is in Cd.")],
                                         worldgen.render_question_part("Where is Ab located?"))
        self.assertEqual(prompt,
                         "<|im_start|>system\nYou answer questions using only the documents."
                         "<|im_end|>\n<|im_start|>user\nDocument: Ab is in Cd.\n\n"
                         "Question: Where is Ab located?<|im_end|>\n<|im_start|>assistant\n")
        self.assertEqual(worldgen.render_assistant(worldgen.render_reasoning("Ab"),
                                                   "Ab is located in Cd."),
                         "<think>\nA document describes Ab.\n</think>\n\n"
                         "Ab is located in Cd.<|im_end|>")

    def test_pieces_end_on_pretoken_boundaries(self):
        examples = worldgen.training_examples(3, 200)
        cases = [(r["system"], r["chunks"], r["question_part"], "")
                 for r, _ in worldgen.build_suite()]
        cases += [(worldgen.SYSTEM_PREFIX, e["chunks"], e["question_part"], e["assistant"])
                  for e in examples]
        for system, chunks, question_part, assistant in cases:
            pieces = [system] + chunks + [question_part, assistant]
            text = "".join(pieces)
            self.assertTrue(text.isascii())
            cuts = pretoken_boundaries(text)
            offset = 0
            for piece in pieces:
                offset += len(piece)
                self.assertIn(offset, cuts, repr(piece[-20:]))
            for chunk in chunks:
                self.assertTrue(chunk.startswith("Document: ") and chunk.endswith(".\n\n"))
                self.assertEqual(chunk.count("\n"), 2)

    def test_training_stream_deterministic_and_varied(self):
        a = worldgen.training_examples(11, 120)
        self.assertEqual(a, worldgen.training_examples(11, 120))
        self.assertNotEqual(a, worldgen.training_examples(12, 120))
        counts = {len(e["chunks"]) for e in a}
        self.assertEqual(min(counts), 1)
        self.assertEqual(max(counts), 8)
        for e in a:
            think, answer = e["assistant"].split("\n</think>\n\n")
            self.assertTrue(think.startswith("<think>\nA document describes "))
            self.assertTrue(answer.endswith(".<|im_end|>"))

    def test_training_stream_is_harder_than_the_suite(self):
        worlds = worldgen.training_worlds(5, 100)
        words = {w for world in worlds for n in world["names"] for w in n.split()}
        # English stems with suffixes the suite never uses: names that tokenize in pieces
        split_english = {w for w in words for stem in worldgen.ENGLISH_STEMS
                         if w.startswith(stem) and w[len(stem):] in worldgen.EXTRA_SUFFIXES["city"]}
        self.assertGreater(len(split_english), 50)
        examples = [docs for world in worlds for docs, _, _ in world["examples"]]
        many = sum(len(docs) >= 5 for docs in examples)
        self.assertGreater(many / len(examples), 0.6)


if __name__ == "__main__":
    unittest.main()
