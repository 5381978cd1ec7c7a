"""`tandem serve` through the official openai client and raw HTTP: chat and completions,
streaming, n, stop strings, logprobs, errors, health/metrics, disconnects and concurrency."""
import concurrent.futures
import json
import socket
import time
import urllib.error
import urllib.request

import openai
import pytest

CAPITAL = [{"role": "user", "content": "What is the capital of France?"}]


def post(served, path, body, headers=None, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(served.base + path, data=data, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def get(served, path):
    try:
        with urllib.request.urlopen(served.base + path, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def worker_state(served):
    status, body = get(served, "/workers")
    assert status == 200, body
    return json.loads(body)["workers"][0]


def test_chat_answers_paris(served):
    r = served.client().chat.completions.create(model="default", messages=CAPITAL, max_tokens=30,
                                                temperature=0)
    assert "Paris" in r.choices[0].message.content
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_streaming_equals_non_streaming_and_reports_usage(served):
    c = served.client()
    whole = c.chat.completions.create(model="default", messages=CAPITAL, max_tokens=24, temperature=0)
    chunks = list(c.chat.completions.create(model="default", messages=CAPITAL, max_tokens=24,
                                            temperature=0, stream=True,
                                            stream_options={"include_usage": True}))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == whole.choices[0].message.content
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == [whole.choices[0].finish_reason]
    assert chunks[-1].usage is not None and not chunks[-1].choices
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_completions_n_stop_and_logprobs(served):
    c = served.client()
    r = c.completions.create(model="default", prompt="The capital of France is", max_tokens=12,
                             temperature=0, n=2, logprobs=2)
    assert len(r.choices) == 2 and r.choices[0].text == r.choices[1].text
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == r.usage.completion_tokens // 2
    assert all(len(t) == 2 for t in lp.top_logprobs)
    stopped = c.completions.create(model="default", prompt="The capital of France is", max_tokens=12,
                                   temperature=0, stop=["."])
    assert stopped.choices[0].finish_reason == "stop"
    assert "." not in stopped.choices[0].text
    assert stopped.choices[0].text == r.choices[0].text.split(".")[0]


def test_completion_echo(served):
    r = served.client().completions.create(model="default", prompt="The capital of France is",
                                           max_tokens=4, temperature=0, echo=True)
    assert r.choices[0].text.startswith("The capital of France is")
    assert len(r.choices[0].text) > len("The capital of France is")


BATCH = ["The capital of France is", "Once upon a time", "1, 2, 3, 4,"]


def test_completions_batch_of_prompts_is_prompt_major_with_summed_usage(served):
    """prompt=[...] answers len(prompts) * n choices, index = prompt_i * n + j, each equal to the
    same prompt sent alone; usage counts each prompt once and every generated token."""
    c = served.client()
    kw = dict(model="default", max_tokens=6, temperature=0)
    alone = [c.completions.create(prompt=p, **kw) for p in BATCH]
    r = c.completions.create(prompt=BATCH, n=2, **kw)
    assert [ch.index for ch in r.choices] == list(range(6))
    for i, single in enumerate(alone):
        for j in range(2):
            assert r.choices[i * 2 + j].text == single.choices[0].text, (i, j)
    assert r.usage.prompt_tokens == sum(a.usage.prompt_tokens for a in alone)
    assert r.usage.completion_tokens == 2 * sum(a.usage.completion_tokens for a in alone)
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    # A batch of token-id prompts answers like each prompt alone.
    token_batch = c.completions.create(prompt=[[1, 504, 3575], [1, 9763]], **kw)
    assert len(token_batch.choices) == 2
    assert token_batch.choices[0].text == c.completions.create(prompt=[1, 504, 3575], **kw).choices[0].text
    assert token_batch.choices[1].text == c.completions.create(prompt=[1, 9763], **kw).choices[0].text


def test_completions_batch_streaming_matches_non_streaming(served):
    c = served.client()
    kw = dict(model="default", prompt=BATCH, max_tokens=6, temperature=0, echo=True)
    whole = c.completions.create(**kw)
    texts, usage = {}, None
    for chunk in c.completions.create(stream=True, stream_options={"include_usage": True}, **kw):
        for ch in chunk.choices:
            texts[ch.index] = texts.get(ch.index, "") + ch.text
        if chunk.usage:
            usage = chunk.usage
    assert texts == {ch.index: ch.text for ch in whole.choices}
    assert all(texts[i].startswith(BATCH[i]) for i in range(len(BATCH)))  # echo per prompt
    assert usage.prompt_tokens == whole.usage.prompt_tokens
    assert usage.completion_tokens == whole.usage.completion_tokens


def test_completions_batch_limits_are_a_clear_400(served):
    status, err = post(served, "/v1/completions", {"prompt": ["x"] * 65, "max_tokens": 1})
    assert status == 400 and err["error"]["param"] == "prompt", err
    status, err = post(served, "/v1/completions", {"prompt": ["x"] * 9, "n": 16, "max_tokens": 1})
    assert status == 400 and err["error"]["param"] == "n", err
    status, err = post(served, "/v1/completions", {"prompt": ["ok", [1, 2]], "max_tokens": 1})
    assert status == 400 and err["error"]["param"] == "prompt[1]", err
    status, err = post(served, "/v1/completions", {"prompt": [[1, 2], [99999999]], "max_tokens": 1})
    assert status == 400 and err["error"]["param"] == "prompt[1]", err


def test_chat_logprobs_one_per_token(served):
    r = served.client().chat.completions.create(model="default", messages=CAPITAL, max_tokens=10,
                                                temperature=0, logprobs=True, top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    for entry in content:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 3
        assert entry.top_logprobs[0].logprob >= entry.logprob - 1e-6


def test_seeded_sampling_repeats(served):
    c = served.client()
    kw = dict(model="default", messages=CAPITAL, max_tokens=16, temperature=1.0, seed=7)
    a = c.chat.completions.create(**kw).choices[0].message.content
    b = c.chat.completions.create(**kw).choices[0].message.content
    assert a == b


@pytest.mark.parametrize("body,code,param", [
    ({"messages": "hi"}, "invalid_type", "messages"),
    ({"messages": CAPITAL, "temperature": 5}, "invalid_value", "temperature"),
    ({"messages": CAPITAL, "max_tokens": "ten"}, "invalid_type", "max_tokens"),
    ({"messages": CAPITAL, "response_format": {"type": "json_object"}}, "unsupported_parameter",
     "response_format"),
    ({"messages": CAPITAL, "max_tokens": 100000}, "context_length_exceeded", None),
])
def test_bad_input_is_a_clear_400(served, body, code, param):
    status, err = post(served, "/v1/chat/completions", body)
    assert status == 400, err
    assert err["error"]["code"] == code
    if param:
        assert err["error"]["param"] == param


def test_malformed_json_unknown_model_and_unknown_path(served):
    status, err = post(served, "/v1/chat/completions", None, raw=b"{not json")
    assert status == 400 and err["error"]["code"] == "invalid_json"
    status, err = post(served, "/v1/chat/completions", {"model": "gpt-9", "messages": CAPITAL})
    assert status == 404 and err["error"]["code"] == "model_not_found"
    status, body = get(served, "/v2/nothing")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    status, err = post(served, "/v1/completions", None, raw=b"\xff\xfe{")
    assert status == 400


def test_native_generate(served):
    status, body = post(served, "/generate", {"text": "The capital of France is",
                                              "sampling_params": {"max_new_tokens": 8, "temperature": 0}})
    assert status == 200, body
    assert "Paris" in body["text"]
    assert body["meta_info"]["completion_tokens"] == len(body["output_ids"])


def test_health_readiness_metrics(served):
    assert get(served, "/health")[0] == 200
    status, body = get(served, "/readiness")
    assert status == 200 and json.loads(body)["ready"]
    status, text = get(served, "/metrics")
    assert status == 200
    assert "tandem_gateway_requests_total" in text
    assert "tandem_gateway_time_to_first_token_seconds_bucket" in text
    assert 'tandem_worker_healthy{worker="' in text


def test_client_disconnect_frees_the_worker(served):
    body = json.dumps({"messages": CAPITAL, "max_tokens": 2000, "temperature": 0, "stream": True,
                       "ignore_eos": True}).encode()
    s = socket.create_connection(("127.0.0.1", served.port))
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    got = b""
    while got.count(b"data:") < 5:
        got += s.recv(65536)
    s.close()  # mid-stream
    deadline = time.time() + 30
    while time.time() < deadline:
        w = worker_state(served)
        if w["running"] == 0 and w["in_flight"] == 0:
            break
        time.sleep(0.2)
    assert w["running"] == 0 and w["in_flight"] == 0, w


def test_concurrent_greedy_requests_match_sequential(served):
    c = served.client()
    prompts = [f"Count from {i} to {i + 5}:" for i in range(8)]
    one = lambda p: c.completions.create(model="default", prompt=p, max_tokens=12,
                                         temperature=0).choices[0].text
    sequential = [one(p) for p in prompts]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        concurrent_out = list(pool.map(one, prompts))
    assert concurrent_out == sequential
