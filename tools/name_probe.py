"""Probe how well the bundled model copies person names it never saw in training.

Draws held-out person names (the suite's half of the name split, tools/worldgen.py), puts
each in two documents, asks two questions that must repeat the name, and counts exact
answers. Needs the Python package (bash scripts/install-python.sh, or a build's python/).

    python3 tools/name_probe.py [--names 40] [--extra "Maren Oskeld"] [--package build/python]
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import worldgen  # noqa: E402

SYSTEM = "You answer questions using only the documents."


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/cascade-tiny-qwen3")
    ap.add_argument("--names", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--extra", action="append", default=[], help="a name to add (repeatable)")
    ap.add_argument("--package", default="", help="folder holding the cascade package")
    args = ap.parse_args()
    if args.package:
        sys.path.insert(0, args.package)
    from cascade import LLM, Chunk, SamplingParams

    rng = random.Random(args.seed)
    names = []
    while len(names) < args.names:
        spec = worldgen.random_name(rng, "person")
        if worldgen.name_split(spec.core) == "suite" and spec.full not in names:
            names.append(spec.full)
    names += args.extra
    prompts, expected = [], []
    for n in names:
        docs = ["The capital of Nebulonia is Crystalton. Nebulonia became independent in 1766.",
                "Crystalford lies in Zantoria. Crystalford was founded by %s." % n,
                "The birth year of %s is 1351. %s's favourite colour is amber." % (n, n)]
        chunks = [Chunk.system(SYSTEM)] + [Chunk.context(worldgen.render_chunk(d)) for d in docs]
        for question, answer in (("Who founded Crystalford?", "Crystalford was founded by %s." % n),
                                 ("What is %s's favourite colour?" % n,
                                  "%s's favourite colour is amber." % n)):
            prompts.append({"chunks": chunks, "prompt": "Question: " + question})
            expected.append(answer)
    llm = LLM(args.model, enable_cascade_attention=True)
    outputs = llm.generate(prompts, SamplingParams(temperature=0, max_tokens=40))
    correct = 0
    for want, out in zip(expected, outputs):
        if out["content"].strip() == want:
            correct += 1
        else:
            print("miss: expected %r, got %r" % (want, out["content"]))
    print("%d / %d answers exact (%d held-out names + %d extra)" % (
        correct, len(expected), args.names, len(args.extra)))


if __name__ == "__main__":
    main()
