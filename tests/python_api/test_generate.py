"""LLM.generate as nano-vllm's: prompts in, dicts with text and token_ids out."""

import pytest
from conftest import RANDOM_MODEL

from cascade import LLM, Prompt, SamplingParams

GREEDY = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)


def test_outputs_are_dicts_in_input_order(random_llm):
    prompts = ["Hello", "The capital of", "1 2 3"]
    outputs = random_llm.generate(prompts, GREEDY)
    assert [len(o["token_ids"]) for o in outputs] == [8, 8, 8]
    for prompt, out in zip(prompts, outputs):
        assert out["text"] == random_llm.decode(out["token_ids"], skip_special_tokens=True)
        # The same prompt alone gives the same tokens: order and batch do not matter.
        assert random_llm.generate([prompt], GREEDY)[0]["token_ids"] == out["token_ids"]
        assert out["num_prompt_tokens"] == len(random_llm.encode(prompt))
        assert out["finish_reason"] == "length"


def test_text_token_ids_and_prompt_objects_are_the_same_prompt(random_llm):
    ids = random_llm.encode("Tell me a story")
    by_text = random_llm.generate(["Tell me a story"], GREEDY)[0]
    by_ids = random_llm.generate([ids], GREEDY)[0]
    by_object = random_llm.generate([Prompt(text="Tell me a story")], GREEDY)[0]
    by_dict = random_llm.generate([{"prompt_token_ids": ids}], GREEDY)[0]
    assert by_text["token_ids"] == by_ids["token_ids"] == by_object["token_ids"]
    assert by_dict["token_ids"] == by_text["token_ids"]


def test_one_sampling_params_per_prompt(random_llm):
    outs = random_llm.generate(
        ["a", "b"],
        [SamplingParams(temperature=0, max_tokens=3, ignore_eos=True),
         SamplingParams(temperature=0, max_tokens=5, ignore_eos=True)],
    )
    assert [len(o["token_ids"]) for o in outs] == [3, 5]
    with pytest.raises(ValueError, match="2 sampling params for 3 prompts"):
        random_llm.generate(["a", "b", "c"], [GREEDY, GREEDY])


def test_seeded_sampling_repeats(random_llm):
    params = SamplingParams(temperature=1.0, top_p=0.9, seed=1234, max_tokens=12, ignore_eos=True)
    first = random_llm.generate(["Once upon a time"], params)[0]
    second = random_llm.generate(["Once upon a time"], params)[0]
    assert first["token_ids"] == second["token_ids"]


def test_stop_string_ends_the_text(random_llm):
    out = random_llm.generate(["Hello"], SamplingParams(temperature=0, max_tokens=16, ignore_eos=True))[0]
    stop = out["text"][3:6]
    assert len(stop) == 3
    cut = random_llm.generate(["Hello"], SamplingParams(temperature=0, max_tokens=16,
                                                        ignore_eos=True, stop=stop))[0]
    assert cut["finish_reason"] == "stop"
    assert cut["text"] == out["text"][: out["text"].index(stop)]


def test_enforce_eager_gives_the_same_tokens(random_llm):
    # Eager steps are what the CPU always runs; on a GPU it turns off recorded decode steps.
    eager = LLM(RANDOM_MODEL, enforce_eager=True)
    prompts = ["Hello", "The capital of"]
    assert [o["token_ids"] for o in eager.generate(prompts, GREEDY)] == [
        o["token_ids"] for o in random_llm.generate(prompts, GREEDY)
    ]
    with pytest.raises(TypeError, match="'enforce_eager' must be a bool"):
        LLM(RANDOM_MODEL, enforce_eager="yes")


def test_waiting_for_each_step_gives_the_same_tokens(random_llm):
    # By default step N+1 is queued before step N's tokens reach the host; off, each step
    # is waited for. The tokens may not depend on it.
    waited = LLM(RANDOM_MODEL, async_scheduling=False)
    prompts = ["Hello", "The capital of", "A"]
    params = [GREEDY, SamplingParams(temperature=0.8, top_p=0.9, seed=7, max_tokens=12,
                                     ignore_eos=True), SamplingParams(temperature=0,
                                                                      max_tokens=1)]
    assert [o["token_ids"] for o in waited.generate(prompts, params)] == [
        o["token_ids"] for o in random_llm.generate(prompts, params)
    ]
    with pytest.raises(TypeError, match="'async_scheduling' must be a bool"):
        LLM(RANDOM_MODEL, async_scheduling="no")


def test_unknown_keywords_are_errors():
    with pytest.raises(TypeError, match="unexpected keyword argument 'enforce_eagr'"):
        LLM(RANDOM_MODEL, enforce_eagr=True)
    with pytest.raises(TypeError, match="'max_num_seqs' must be an int"):
        LLM(RANDOM_MODEL, max_num_seqs="4")
    with pytest.raises(TypeError, match="unexpected keyword argument 'temprature'"):
        SamplingParams(temprature=0.5)


def test_bad_values_name_the_field():
    import cascade

    with pytest.raises(cascade.Error, match="chunk_page_ratio"):
        LLM(RANDOM_MODEL, chunk_page_ratio=1.5)
    with pytest.raises(ValueError, match="top_p"):
        SamplingParams(top_p=0)
    with pytest.raises(ValueError, match="chunk_mode"):
        LLM(RANDOM_MODEL, chunk_mode="sometimes")


def test_every_engine_config_field_is_a_keyword():
    llm = LLM(
        RANDOM_MODEL,
        max_num_seqs=2, max_num_batched_tokens=256, max_model_len=512,
        enable_chunked_prefill=True, page_size=16, num_kv_pages=64,
        kv_cache_memory_bytes=0, enable_prefix_caching=True, device="cpu", num_threads=1,
        gpu_memory_utilization=0.5, enable_cascade_attention=True, chunk_page_ratio=0.25,
        max_cascade_levels=2, chunk_registry_size=10, chunk_mode="exact",
    )
    assert llm.stats()["num_kv_pages"] == 64
    assert llm.stats()["page_size"] == 16


def test_sampling_params_fields_read_back():
    p = SamplingParams(temperature=0.5, top_k=3, stop="END", seed=7)
    assert (p.temperature, p.top_k, p.stop, p.seed, p.max_tokens) == (0.5, 3, ["END"], 7, 64)
    p.max_tokens = 10
    assert p.max_tokens == 10
