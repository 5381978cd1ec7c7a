"""`tandem serve` with API keys (inference key vs admin key), tool calling through the chat
template and the tool-call parser, and graceful shutdown on SIGTERM (ACCEPTANCE 21, 22)."""
import http.client
import json
import signal
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import start_serve, stop_serve

KEY, ADMIN = "sk-test-inference", "sk-test-admin"
HI = [{"role": "user", "content": "Hi"}]
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}


@pytest.fixture(scope="module")
def keyed(tandem_bin, default_model):
    s = start_serve(tandem_bin, default_model, "--api-key", KEY, "--admin-key", ADMIN)
    yield s
    stop_serve(s)


def call(srv, method, path, body=None, key=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(srv.base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_inference_needs_the_api_key(keyed):
    body = {"messages": HI, "max_tokens": 1}
    for key in (None, "wrong", ADMIN[:-1], KEY + "x"):
        status, err = call(keyed, "POST", "/v1/chat/completions", body, key)
        assert status == 401, (key, err)
        assert set(err["error"]) >= {"message", "type", "param", "code"}
    status, r = call(keyed, "POST", "/v1/chat/completions", body, KEY)
    assert status == 200, r
    assert call(keyed, "GET", "/v1/models")[0] == 401
    assert call(keyed, "GET", "/v1/models", key=KEY)[0] == 200
    # The official client sends the key the same way.
    c = keyed.client(api_key=KEY)
    assert c.chat.completions.create(model="default", messages=HI, max_tokens=1).choices
    # Probes stay open: orchestrators call them without credentials.
    assert call(keyed, "GET", "/health")[0] == 200


def test_admin_endpoints_need_the_admin_key(keyed):
    assert call(keyed, "GET", "/workers")[0] == 401
    assert call(keyed, "GET", "/workers", key=KEY)[0] == 401
    status, body = call(keyed, "GET", "/workers", key=ADMIN)
    assert status == 200 and len(body["workers"]) == 1, body
    assert call(keyed, "POST", "/flush_cache", {}, KEY)[0] == 401
    # The admin key is not an inference key.
    assert call(keyed, "POST", "/v1/chat/completions", {"messages": HI, "max_tokens": 1},
                ADMIN)[0] == 401


def test_tools_are_accepted_and_rendered_into_the_prompt(keyed):
    base = {"messages": [{"role": "user", "content": "What is the weather in Paris?"}],
            "max_tokens": 1, "temperature": 0}
    status, plain = call(keyed, "POST", "/v1/chat/completions", base, KEY)
    assert status == 200, plain
    status, tooled = call(keyed, "POST", "/v1/chat/completions", {**base, "tools": [WEATHER_TOOL]},
                          KEY)
    assert status == 200, tooled
    # The tool's description reached the model: the prompt is longer by its JSON at least.
    assert tooled["usage"]["prompt_tokens"] > plain["usage"]["prompt_tokens"] + 20, (plain, tooled)
    status, none = call(keyed, "POST", "/v1/chat/completions",
                        {**base, "tools": [WEATHER_TOOL], "tool_choice": "none"}, KEY)
    assert status == 200 and none["usage"]["prompt_tokens"] == plain["usage"]["prompt_tokens"]


def few_shot(city):
    # SmolLM2-135M does not call tools from the instructions alone (checked greedily over several
    # prompts); one worked example in the conversation makes it write the block every time.
    return [{"role": "user", "content": "What is the weather in London?"},
            {"role": "assistant", "content": '<tool_call>\n{"name": "get_weather", "arguments": '
                                             '{"city": "London"}}\n</tool_call>'},
            {"role": "user", "content": f"What is the weather in {city}?"}]


@pytest.mark.parametrize("city", ["Paris", "Tokyo"])
def test_a_tool_call_the_model_writes_is_parsed(keyed, city):
    status, r = call(keyed, "POST", "/v1/chat/completions",
                     {"messages": few_shot(city), "tools": [WEATHER_TOOL], "max_tokens": 40,
                      "temperature": 0}, KEY)
    assert status == 200, r
    choice = r["choices"][0]
    calls = choice["message"].get("tool_calls") or []
    assert len(calls) == 1, choice
    assert calls[0]["type"] == "function" and calls[0]["id"]
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": city}
    assert choice["finish_reason"] == "tool_calls"
    assert "<tool_call>" not in (choice["message"].get("content") or "")


def test_streamed_tool_call_matches_the_whole_one(keyed):
    c = keyed.client(api_key=KEY)
    kw = dict(model="default", messages=few_shot("Paris"), tools=[WEATHER_TOOL], max_tokens=40,
              temperature=0)
    whole = c.chat.completions.create(**kw).choices[0].message.tool_calls
    names, args, ids, text = [], "", set(), ""
    finish = None
    for ch in c.chat.completions.create(stream=True, **kw):
        if not ch.choices:
            continue
        d = ch.choices[0].delta
        text += d.content or ""
        for tc in d.tool_calls or []:
            assert tc.index == 0
            if tc.id:
                ids.add(tc.id)
            if tc.function and tc.function.name:
                names.append(tc.function.name)
            if tc.function and tc.function.arguments:
                args += tc.function.arguments
        finish = ch.choices[0].finish_reason or finish
    assert names == ["get_weather"] and len(ids) == 1  # the name once, then argument deltas
    assert json.loads(args) == json.loads(whole[0].function.arguments)
    assert "<tool_call>" not in text
    assert finish == "tool_calls"


def test_sigterm_lets_the_running_stream_finish_and_refuses_new_work(tandem_bin, default_model):
    srv = start_serve(tandem_bin, default_model, "--shutdown-grace", "30")
    events, done = [], threading.Event()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    conn.request("POST", "/v1/chat/completions",
                 json.dumps({"messages": [{"role": "user", "content": "Tell me a story."}],
                             "max_tokens": 64, "ignore_eos": True, "temperature": 0,
                             "stream": True}), {"Content-Type": "application/json"})

    def read():
        for raw in conn.getresponse():
            line = raw.decode().strip()
            if line.startswith("data:"):
                events.append(line[5:].strip())
        done.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.time() + 60
    while len(events) < 3 and time.time() < deadline:
        time.sleep(0.02)
    assert len(events) >= 3 and not done.is_set(), events
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    refused = None
    try:
        with urllib.request.urlopen(urllib.request.Request(
                srv.base + "/v1/chat/completions", method="POST",
                data=json.dumps({"messages": HI, "max_tokens": 1}).encode(),
                headers={"Content-Type": "application/json"}), timeout=10) as r:
            refused = r.status
    except urllib.error.HTTPError as e:
        refused = e.code
    except (ConnectionError, urllib.error.URLError, http.client.HTTPException):
        refused = "connection refused"
    assert refused in (503, "connection refused"), refused
    assert done.wait(60), events
    assert events[-1] == "[DONE]"
    payloads = [json.loads(e) for e in events[:-1]]
    assert not any("error" in p for p in payloads), payloads[-2:]
    finishes = [p["choices"][0]["finish_reason"] for p in payloads
                if p.get("choices") and p["choices"][0].get("finish_reason")]
    assert finishes == ["length"], payloads[-2:]
    assert srv.proc.wait(timeout=60) == 0, "".join(srv.log)
