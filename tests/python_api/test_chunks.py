"""The chunk API: registered chunks, composed prompts, registry statistics."""

import re

import pytest
from conftest import DOCUMENTS, SYSTEM, TRAINED_MODEL

from cascade import LLM, Chunk, Prompt, SamplingParams, document

GREEDY = SamplingParams(temperature=0, max_tokens=48)
QUESTION = "Question: Where is Crystalton located?"


def test_registered_chunk_ids_are_content_addresses(trained_llm):
    first = trained_llm.add_chunk(document(DOCUMENTS[0]), prefix=[Chunk.system(SYSTEM)])
    again = trained_llm.add_chunk(document(DOCUMENTS[0]), prefix=[Chunk.system(SYSTEM)])
    other = trained_llm.add_chunk(document(DOCUMENTS[1]), prefix=[Chunk.system(SYSTEM)])
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert first == again != other
    listed = {c["id"]: c for c in trained_llm.list_chunks()}
    assert listed[first]["kind"] == "context"
    assert listed[first]["num_tokens"] == len(trained_llm.encode(document(DOCUMENTS[0]).text))


def test_a_reference_is_the_same_as_its_text(trained_llm):
    ids = [trained_llm.add_chunk(document(d), prefix=[Chunk.system(SYSTEM)]) for d in DOCUMENTS]
    inline = Prompt(chunks=[Chunk.system(SYSTEM)] + [document(d) for d in DOCUMENTS], text=QUESTION)
    by_ref = Prompt(chunks=[Chunk.system(SYSTEM)] + [Chunk.ref(i) for i in ids], text=QUESTION)
    hits_before = trained_llm.stats()["chunk_hits"]
    a, b = trained_llm.generate([inline, by_ref], GREEDY)
    assert a["token_ids"] == b["token_ids"]
    assert "Nebulonia" in a["content"]
    assert trained_llm.stats()["chunk_hits"] >= hits_before + len(DOCUMENTS)
    assert all(c["uses"] >= 1 for c in trained_llm.list_chunks() if c["id"] in ids)


def test_release_chunk(trained_llm):
    chunk_id = trained_llm.add_chunk("Document: Zorvath is a moon of Quellis.\n\n")
    assert trained_llm.release_chunk(chunk_id)
    assert chunk_id not in [c["id"] for c in trained_llm.list_chunks()]
    assert not trained_llm.release_chunk(chunk_id)
    with pytest.raises(ValueError, match="unknown chunk id"):
        trained_llm.generate([Prompt(chunks=[Chunk.ref(chunk_id)], text=QUESTION)], GREEDY)


def test_exact_mode_equals_the_plain_prompt():
    """In exact mode a composed prompt is prefix caching at chunk granularity: the same
    tokens as the whole prompt written out."""
    llm = LLM(TRAINED_MODEL, chunk_mode="exact", num_threads=1)
    composed = Prompt(chunks=[Chunk.system(SYSTEM)] + [document(d) for d in DOCUMENTS[:3]],
                      text=QUESTION)
    plain = ("<|im_start|>system\n" + SYSTEM + "<|im_end|>\n<|im_start|>user\n"
             + "".join(document(d).text for d in DOCUMENTS[:3])
             + QUESTION + "<|im_end|>\n<|im_start|>assistant\n")
    a, b = llm.generate([composed, plain], GREEDY)
    assert a["token_ids"] == b["token_ids"]
    assert a["num_prompt_tokens"] == b["num_prompt_tokens"]


def test_dict_prompts_and_bad_chunks():
    llm = LLM(TRAINED_MODEL, num_threads=1)
    out = llm.generate({"chunks": [Chunk.system(SYSTEM), document(DOCUMENTS[1])],
                        "prompt": QUESTION}, GREEDY)[0]
    assert "Nebulonia" in out["content"]
    with pytest.raises(TypeError, match="unknown key 'documents'"):
        llm.generate({"documents": [], "prompt": QUESTION}, GREEDY)
    with pytest.raises(TypeError, match=r"chunks'\]\[0\] must be a str or a Chunk"):
        llm.generate({"chunks": [3], "prompt": QUESTION}, GREEDY)
    with pytest.raises(ValueError, match="system chunk must come before"):
        llm.generate({"chunks": ["Document: x\n\n", Chunk.system(SYSTEM)], "prompt": "q"}, GREEDY)
