"""cascade: LLM inference with compositional context caching (docs/PYTHON.md).

    from cascade import LLM, SamplingParams
    llm = LLM("models/cascade-tiny-qwen3", enable_cascade_attention=True, max_num_seqs=4)
    outputs = llm.generate(["Hello"], SamplingParams(temperature=0, max_tokens=32))
    print(outputs[0]["text"])
"""

from cascade._cascade import LLM, Chunk, Error, Prompt, SamplingParams, document

__all__ = ["LLM", "Chunk", "Error", "Prompt", "SamplingParams", "document"]
