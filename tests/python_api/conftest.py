"""Shared fixtures: the project's models and the documents the trained model was made for."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRAINED_MODEL = str(ROOT / "models" / "cascade-tiny-qwen3")
RANDOM_MODEL = str(ROOT / "tests" / "fixtures" / "models" / "qwen3-tiny")

# The framing the trained model reads (tools/worldgen.py): a system turn, documents, and
# "Question: ..." in the user turn.
SYSTEM = "You answer questions using only the documents."
DOCUMENTS = [
    line
    for line in (ROOT / "examples" / "demo" / "documents.txt").read_text().splitlines()
    if line
]

# The build puts the package in <build>/python; ctest sets PYTHONPATH to it.
if "CASCADE_PYTHONPATH" in os.environ:
    sys.path.insert(0, os.environ["CASCADE_PYTHONPATH"])


def document_chunk(text):
    import cascade

    return cascade.document(text)


@pytest.fixture(scope="module")
def trained_llm():
    from cascade import LLM

    return LLM(TRAINED_MODEL, max_num_seqs=4, num_threads=1)


@pytest.fixture(scope="module")
def random_llm():
    from cascade import LLM

    return LLM(RANDOM_MODEL, num_threads=1)
