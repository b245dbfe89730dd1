"""add_request / step / abort: the deltas of each step add up to the final output."""

from cascade import SamplingParams


def test_deltas_add_up_to_the_generate_output(random_llm):
    params = SamplingParams(temperature=0, max_tokens=10, ignore_eos=True)
    expected = random_llm.generate(["Streaming works"], params)[0]

    request_id = random_llm.add_request("Streaming works", params)
    text, ids, last = "", [], None
    while random_llm.has_unfinished():
        for out in random_llm.step():
            assert out["request_id"] == request_id
            text += out["text_delta"]
            ids += out["token_ids_delta"]
            last = out
    assert last["finish_reason"] == "length"
    assert ids == expected["token_ids"] == last["token_ids"]
    assert text == expected["text"]


def test_abort_frees_the_request(random_llm):
    free_before = random_llm.stats()["num_free_kv_pages"]
    request_id = random_llm.add_request("x " * 40, SamplingParams(max_tokens=500, ignore_eos=True))
    random_llm.step()
    random_llm.step()
    assert random_llm.stats()["num_free_kv_pages"] < free_before
    assert random_llm.abort(request_id)
    assert not random_llm.has_unfinished()
    assert random_llm.stats()["num_free_kv_pages"] == free_before
    assert not random_llm.abort(request_id)
