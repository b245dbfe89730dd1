"""The seed's usage example, on the project's trained tiny model: documents as chunks,
a question after them, and the right answer back."""

from conftest import DOCUMENTS, SYSTEM, TRAINED_MODEL

from cascade import LLM, Chunk, SamplingParams, document

QUESTIONS = {
    "Where is Crystalton located?": "Nebulonia",
    "What is the capital of Nebulonia?": "Crystalton",
    "Where was Ilsa Marwen born?": "Crystalford",
    "What is Maren Surnton's favourite colour?": "amber",
}


def composed(question):
    return {
        "chunks": [Chunk.system(SYSTEM)] + [document(d) for d in DOCUMENTS],
        "prompt": "Question: " + question,
    }


def test_seed_usage_example_answers_from_the_documents():
    llm = LLM(
        TRAINED_MODEL,
        enable_cascade_attention=True,
        chunk_page_ratio=0.5,
        max_cascade_levels=3,
        chunk_registry_size=1000,
        max_num_seqs=4,
        num_threads=1,
    )
    params = SamplingParams(temperature=0, max_tokens=48)
    outputs = llm.generate([composed(q) for q in QUESTIONS], params)

    assert len(outputs) == len(QUESTIONS)
    for (question, answer), out in zip(QUESTIONS.items(), outputs):
        assert set(out) >= {"text", "token_ids", "reasoning_content", "content", "finish_reason"}
        assert answer in out["content"], (question, out["text"])
        assert out["finish_reason"] == "stop"
    # Four requests over the same documents: each document's KV was computed once.
    stats = llm.stats()
    assert stats["chunk_hits"] > 0
    assert stats["chunk_entries"] >= len(DOCUMENTS)


def test_answer_and_reasoning_are_split():
    llm = LLM(TRAINED_MODEL, num_threads=1)
    out = llm.generate([composed("Where is Crystalton located?")],
                       SamplingParams(temperature=0, max_tokens=48))[0]
    # The model thinks first ("A document describes <entity>."), then answers.
    assert "Crystalton" in out["reasoning_content"]
    assert "<think>" not in out["content"] and "</think>" not in out["content"]
    assert "Nebulonia" in out["content"]
    assert out["reasoning_content"] in out["text"] and out["content"] in out["text"]
