"""The engine's sampling-where-the-logits-are path (Backend::sample_rows; the one a CUDA worker
uses), forced on the CPU with TANDEM_DEVICE_SAMPLING=1, against the host samplers of a normal
`tandem serve`: greedy answers, penalties and logit bias, logprobs equal; top_logprobs (served by
the host fallback) equal; seeded sampling repeats, alone or beside other requests."""
import concurrent.futures
import os

import pytest

from conftest import start_serve, stop_serve

CAPITAL = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def rows_served(tandem_bin, default_model):
    old = os.environ.get("TANDEM_DEVICE_SAMPLING")
    os.environ["TANDEM_DEVICE_SAMPLING"] = "1"
    try:
        s = start_serve(tandem_bin, default_model)
    finally:
        if old is None:
            del os.environ["TANDEM_DEVICE_SAMPLING"]
        else:
            os.environ["TANDEM_DEVICE_SAMPLING"] = old
    yield s
    stop_serve(s)


def completion(served, **kw):
    return served.client().completions.create(model="default", prompt="The quick brown fox", **kw)


@pytest.mark.parametrize("extra", [
    {},
    {"frequency_penalty": 0.8, "presence_penalty": 0.5},
    {"logit_bias": {"13": 5.0, "30": -100}},
    {"extra_body": {"repetition_penalty": 1.4, "min_tokens": 4}},
])
def test_greedy_tokens_and_logprobs_equal_the_host_samplers(served, rows_served, extra):
    kw = dict(max_tokens=24, temperature=0, logprobs=0, **extra)
    a, b = completion(served, **kw), completion(rows_served, **kw)
    assert a.choices[0].text == b.choices[0].text
    la, lb = a.choices[0].logprobs.token_logprobs, b.choices[0].logprobs.token_logprobs
    assert len(la) == len(lb) == a.usage.completion_tokens
    assert max(abs(x - y) for x, y in zip(la, lb)) < 1e-4


def test_top_logprobs_take_the_host_path_and_agree(served, rows_served):
    kw = dict(model="default", messages=CAPITAL, max_tokens=8, temperature=0, logprobs=True, top_logprobs=3)
    a = served.client().chat.completions.create(**kw).choices[0].logprobs.content
    b = rows_served.client().chat.completions.create(**kw).choices[0].logprobs.content
    assert [e.token for e in a] == [e.token for e in b]
    assert [[t.token for t in e.top_logprobs] for e in a] == [[t.token for t in e.top_logprobs] for e in b]


def test_seeded_sampling_repeats_alone_and_in_a_batch(rows_served):
    kw = dict(max_tokens=16, temperature=1.0, top_p=0.9, seed=11)
    alone = completion(rows_served, **kw).choices[0].text
    assert completion(rows_served, **kw).choices[0].text == alone
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        others = [pool.submit(completion, rows_served, max_tokens=16, temperature=0.8, seed=100 + i) for i in range(3)]
        mine = pool.submit(completion, rows_served, **kw)
        assert mine.result().choices[0].text == alone
        [f.result() for f in others]


def test_sampled_text_varies_with_the_seed(rows_served):
    texts = {completion(rows_served, max_tokens=12, temperature=1.2, seed=s).choices[0].text for s in range(5)}
    assert len(texts) > 1
