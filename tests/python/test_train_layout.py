"""Tests of the torch-free parts of tools/train_tiny_qwen3.py (layout, masks, positions,
parsing, batching). Importing the module here also proves it needs no torch to import."""
import math
import os
import random
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import train_tiny_qwen3 as t  # noqa: E402
import worldgen  # noqa: E402


def rope(vec, pos, theta=10000.0):
    """Qwen3's rotate-half RoPE of one head vector at position pos (pure Python)."""
    d = len(vec)
    half = d // 2
    out = [0.0] * d
    for i in range(half):
        angle = pos / theta ** (2 * i / d)
        c, s = math.cos(angle), math.sin(angle)
        out[i] = vec[i] * c - vec[i + half] * s
        out[i + half] = vec[i + half] * c + vec[i] * s
    return out


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


class LayoutTest(unittest.TestCase):
    # system 3 tokens, chunks of 4 and 2 tokens, question + answer 3 tokens
    seg, logical, canonical = t.layout(3, [4, 2], 3)

    def test_positions(self):
        self.assertEqual(self.seg, [0, 0, 0, 1, 1, 1, 1, 2, 2, -1, -1, -1])
        self.assertEqual(self.logical, list(range(12)))
        # both chunks start at canonical position S = 3
        self.assertEqual(self.canonical, [0, 1, 2, 3, 4, 5, 6, 3, 4, 9, 10, 11])

    def test_compositional_mask(self):
        allowed = [[c for c in range(12) if t.allowed(self.seg, r, c, True)] for r in range(12)]
        self.assertEqual(allowed[1], [0, 1])                          # system: causal
        self.assertEqual(allowed[5], [0, 1, 2, 3, 4, 5])              # chunk 1: system + own
        self.assertEqual(allowed[8], [0, 1, 2, 7, 8])                 # chunk 2: not chunk 1
        self.assertEqual(allowed[9], list(range(10)))                 # question: everything
        self.assertEqual(allowed[11], list(range(12)))

    def test_full_mask_is_causal(self):
        for r in range(12):
            self.assertEqual([c for c in range(12) if t.allowed(self.seg, r, c, False)],
                             list(range(r + 1)))

    def test_rope_positions(self):
        comp = [t.rope_position(self.seg, self.logical, self.canonical, r, True)
                for r in range(12)]
        self.assertEqual(comp, self.canonical)
        full = [t.rope_position(self.seg, self.logical, self.canonical, r, False)
                for r in range(12)]
        self.assertEqual(full, self.logical)

    def test_engine_query_shift_equals_logical_rotation(self):
        # The engine keeps chunk keys rotated at canonical positions and rotates a later
        # query at m - (p_j - c_j); training rotates both at logical positions. Same score.
        rng = random.Random(1)
        q = [rng.uniform(-1, 1) for _ in range(8)]
        k = [rng.uniform(-1, 1) for _ in range(8)]
        m = 10  # a question row
        for key in (4, 7, 8):  # keys in chunk 1 and chunk 2
            delta = self.logical[key] - self.canonical[key]
            training = dot(rope(q, m), rope(k, self.logical[key]))
            engine = dot(rope(q, m - delta), rope(k, self.canonical[key]))
            self.assertAlmostEqual(training, engine, places=12)
        # and chunk 2 really is shifted (delta 4), so a wrong delta would be seen
        wrong = dot(rope(q, m), rope(k, self.canonical[8]))
        self.assertNotAlmostEqual(wrong, dot(rope(q, m), rope(k, self.logical[8])), places=3)

    def test_prompt_arrays_pad_as_tail(self):
        ids, seg, can, n = t.prompt_arrays([[5, 6], [7, 8, 9], [10], [11, 12]], 11)
        self.assertEqual(n, 8)
        self.assertEqual(ids, [5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0])
        self.assertEqual(seg, [0, 0, 1, 1, 1, 2, -1, -1, -1, -1, -1])
        self.assertEqual(can, [0, 1, 2, 3, 4, 2, 6, 7, 8, 9, 10])


class SuitePiecesTest(unittest.TestCase):
    def test_pieces_compose_the_prompt(self):
        for record, _ in worldgen.build_suite()[:40]:
            pieces = t.suite_pieces(record)
            self.assertEqual("".join(pieces),
                             worldgen.compose_prompt(record["chunks"], record["question_part"]))
            self.assertEqual(len(pieces), len(record["chunks"]) + 2)

    def test_golden_ids_exist(self):
        ids = {r["id"] for r, _ in worldgen.build_suite()}
        for rid in t.GOLDEN_IDS:
            self.assertIn(rid, ids)


class ParseTest(unittest.TestCase):
    def test_well_formed(self):
        self.assertEqual(t.parse_assistant("<think>\nA document describes Ab.\n</think>\n\n"
                                           "Ab is located in Cd.<|im_end|>"),
                         (True, "A document describes Ab.", "Ab is located in Cd."))

    def test_malformed(self):
        for text in ("Ab is located in Cd.<|im_end|>",
                     "<think>\nA document describes Ab.\n</think>\n\nAb is located in Cd.",
                     "<think>\n\n</think>\n\nAb is located in Cd.<|im_end|>",
                     "<think>\nx\n</think>\nAb is located in Cd.<|im_end|>"):
            self.assertFalse(t.parse_assistant(text)[0], repr(text))
        self.assertEqual(t.parse_assistant("<think>\nx\n</think>\n\nAb is in Cd.")[2],
                         "Ab is in Cd.")


class ScheduleTest(unittest.TestCase):
    def test_warmup_then_cosine(self):
        self.assertAlmostEqual(t.lr_at(0, 0.0, 300, 1.0), 0.01)
        self.assertAlmostEqual(t.lr_at(99, 0.0, 300, 1.0), 1.0)
        self.assertAlmostEqual(t.lr_at(5000, 300.0, 300, 1.0), 0.05)
        self.assertAlmostEqual(t.lr_at(5000, 150.0, 300, 1.0), 0.525)
        values = [t.lr_at(200, e, 300, 1.0) for e in range(0, 301, 10)]
        self.assertEqual(values, sorted(values, reverse=True))


class BatchTest(unittest.TestCase):
    def test_plan_covers_each_example_once_within_budget(self):
        rng = random.Random(0)
        lengths = [rng.randint(50, 900) for _ in range(20000)]
        batches = t.plan_batches(lengths, 8192, random.Random(3), block=4096)
        flat = sorted(i for b in batches for i in b)
        self.assertEqual(flat, list(range(len(lengths))))
        for b in batches:
            width = max(-(-lengths[i] // 16) * 16 for i in b)
            self.assertLessEqual(width * len(b), 8192)
        self.assertEqual(batches, t.plan_batches(lengths, 8192, random.Random(3), block=4096))


if __name__ == "__main__":
    unittest.main()
