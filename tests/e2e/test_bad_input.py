"""Bad input over raw HTTP never crashes the gateway: every error is a 4xx with an OpenAI-shaped
body {"error": {"message", "type", "param", "code"}}, and after each case /health and a tiny chat
request still succeed (ACCEPTANCE 23, 24)."""
import json
import socket
import urllib.error
import urllib.request

import pytest

from conftest import start_serve, stop_serve

MAX_BODY = 16384
CONTEXT = 256
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def srv(tandem_bin, default_model):
    s = start_serve(tandem_bin, default_model, "--max-body-bytes", str(MAX_BODY),
                    "--context-length", str(CONTEXT))
    yield s
    stop_serve(s)


def request(srv, method, path, raw=None, headers=None):
    req = urllib.request.Request(srv.base + path, data=raw, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def chat_raw(srv, raw):
    return request(srv, "POST", "/v1/chat/completions", raw)


def chat(srv, **body):
    return chat_raw(srv, json.dumps(body).encode())


def assert_openai_error(status, raw, want_status=None, code=None, param=None):
    assert 400 <= status < 500, (status, raw)
    if want_status:
        assert status == want_status, (status, raw)
    err = json.loads(raw)["error"]
    assert set(err) >= {"message", "type", "param", "code"}, err
    assert isinstance(err["message"], str) and err["message"], err
    if code:
        assert err["code"] == code, err
    if param:
        assert err["param"] == param, err
    return err


def assert_still_serving(srv):
    status, _ = request(srv, "GET", "/health")
    assert status == 200
    status, raw = chat(srv, messages=HI, max_tokens=1)
    assert status == 200, raw
    assert srv.proc.poll() is None


LONG = "word " * 400  # well over CONTEXT tokens


@pytest.mark.parametrize("raw,param", [
    (b"{not json", None),
    (b"", None),
    (b"[1, 2, 3]", None),
    (b'{"messages": [{"role": "user", "content": "Hi"}]', None),  # truncated
    (b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}', None),  # invalid UTF-8
    (b'\xc3\x28{"messages": []}', None),
])
def test_malformed_bodies(srv, raw, param):
    status, body = chat_raw(srv, raw)
    assert_openai_error(status, body, 400, param=param)
    assert_still_serving(srv)


@pytest.mark.parametrize("body,param", [
    ({"messages": "hi"}, "messages"),
    ({"messages": [{"role": "user", "content": 5}]}, None),
    ({"messages": [{"role": 3, "content": "x"}]}, None),
    ({"messages": HI, "max_tokens": "ten"}, "max_tokens"),
    ({"messages": HI, "temperature": "hot"}, "temperature"),
    ({"messages": HI, "stream": "yes"}, "stream"),
    ({"messages": HI, "n": 1.5}, "n"),
    ({"messages": HI, "stop": 7}, "stop"),
])
def test_wrong_types(srv, body, param):
    status, raw = chat(srv, **body)
    assert_openai_error(status, raw, 400, param=param)
    assert_still_serving(srv)


@pytest.mark.parametrize("field,value", [
    ("temperature", -0.5), ("temperature", 5), ("top_p", 0), ("top_p", 1.5), ("n", 0),
    ("n", 1000), ("max_tokens", -1), ("top_logprobs", 100), ("frequency_penalty", 3),
    ("presence_penalty", -3),
])
def test_out_of_range_values(srv, field, value):
    body = {"messages": HI, field: value}
    if field == "top_logprobs":
        body["logprobs"] = True
    status, raw = chat(srv, **body)
    assert_openai_error(status, raw, 400, param=field)
    assert_still_serving(srv)


def test_completion_logprobs_out_of_range(srv):
    status, raw = request(srv, "POST", "/v1/completions",
                          json.dumps({"prompt": "Hi", "logprobs": 99}).encode())
    assert_openai_error(status, raw, 400, param="logprobs")
    assert_still_serving(srv)


def test_prompt_over_the_context_length(srv):
    status, raw = chat(srv, messages=[{"role": "user", "content": LONG}], max_tokens=1)
    err = assert_openai_error(status, raw, 400)
    assert str(CONTEXT) in err["message"], err
    status, raw = request(srv, "POST", "/v1/completions",
                          json.dumps({"prompt": LONG, "max_tokens": 1}).encode())
    assert_openai_error(status, raw, 400)
    assert_still_serving(srv)


def test_body_over_the_limit_is_413(srv):
    big = json.dumps({"messages": [{"role": "user", "content": "x" * (MAX_BODY * 2)}]}).encode()
    status, raw = chat_raw(srv, big)
    assert_openai_error(status, raw, 413)
    assert_still_serving(srv)


def test_unknown_route_and_method(srv):
    status, raw = request(srv, "GET", "/v1/nothing/here")
    assert_openai_error(status, raw, 404)
    status, raw = request(srv, "POST", "/v2/chat/completions", json.dumps({"messages": HI}).encode())
    assert_openai_error(status, raw, 404)
    status, raw = request(srv, "GET", "/v1/chat/completions")
    assert_openai_error(status, raw, 405)
    status, raw = request(srv, "PUT", "/v1/completions", b"{}")
    assert_openai_error(status, raw, 405)
    assert_still_serving(srv)


def test_unknown_model_is_404(srv):
    status, raw = chat(srv, model="no-such-model", messages=HI)
    assert_openai_error(status, raw, 404, code="model_not_found", param="model")
    assert_still_serving(srv)


def test_empty_messages(srv):
    status, raw = chat(srv, messages=[])
    assert_openai_error(status, raw, 400, param="messages")
    status, raw = chat(srv)
    assert_openai_error(status, raw, 400, param="messages")
    assert_still_serving(srv)


def test_raw_garbage_on_the_socket(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
    reply = s.recv(4096)
    s.close()
    assert reply == b"" or reply.split(b" ")[1][:1] == b"4", reply
    assert_still_serving(srv)


def test_content_null_is_accepted(srv):
    messages = [{"role": "system", "content": None}, {"role": "user", "content": "Say hi."}]
    status, raw = chat(srv, messages=messages, max_tokens=2, temperature=0)
    assert status == 200, raw
    messages = [{"role": "user", "content": "Say hi."},
                {"role": "assistant", "content": None},
                {"role": "user", "content": "Again."}]
    status, raw = chat(srv, messages=messages, max_tokens=2, temperature=0)
    assert status == 200, raw


def test_continue_final_message_continues_the_assistant_text(srv):
    start = "The capital of France is"
    messages = [{"role": "user", "content": "Tell me about France."},
                {"role": "assistant", "content": start}]
    status, raw = chat(srv, messages=messages, max_tokens=8, temperature=0,
                       continue_final_message=True, add_generation_prompt=False)
    assert status == 200, raw
    cont = json.loads(raw)["choices"][0]["message"]["content"]
    # The same text as a raw completion of the conversation templated by hand up to the open
    # assistant text (SmolLM2's ChatML, with its default system prompt): no end-of-turn after
    # the assistant text and no new assistant header.
    manual = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
              "Face<|im_end|>\n<|im_start|>user\nTell me about France.<|im_end|>\n"
              "<|im_start|>assistant\n" + start)
    status, raw2 = request(srv, "POST", "/v1/completions",
                           json.dumps({"prompt": manual, "max_tokens": 8, "temperature": 0}).encode())
    assert status == 200, raw2
    assert cont == json.loads(raw2)["choices"][0]["text"], (cont, raw2)
    assert json.loads(raw)["usage"]["prompt_tokens"] == json.loads(raw2)["usage"]["prompt_tokens"]
    # Without the flag the conversation is templated as usual: a new assistant turn follows.
    status, raw3 = chat(srv, messages=messages, max_tokens=1, temperature=0)
    assert status == 200, raw3
    assert json.loads(raw3)["usage"]["prompt_tokens"] > json.loads(raw)["usage"]["prompt_tokens"]
