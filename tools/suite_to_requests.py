#!/usr/bin/env python3
"""Turns the coherence suite into a `cascade generate --requests` file (raw framing:
the suite's system prefix and question part are already framed), and scores the
`--json` output against it.

  python3 tools/suite_to_requests.py requests SUITE > requests.jsonl
  python3 tools/suite_to_requests.py score SUITE OUTPUT.jsonl
"""
import json
import sys


def requests(suite):
    for line in open(suite):
        q = json.loads(line)
        print(json.dumps({"system": q["system"], "chunks": q["chunks"],
                          "prompt": q["question_part"], "max_tokens": 64}))


def score(suite, output):
    expected = [json.loads(line)["expected_answer"] for line in open(suite)]
    got = [json.loads(line)["content"] for line in open(output)]
    assert len(got) == len(expected), f"{len(got)} outputs for {len(expected)} questions"
    correct = sum(g == e for g, e in zip(got, expected))
    print(f"{correct} / {len(expected)} correct ({100.0 * correct / len(expected):.2f} %)")


if __name__ == "__main__":
    {"requests": lambda: requests(sys.argv[2]), "score": lambda: score(sys.argv[2], sys.argv[3])}[sys.argv[1]]()
