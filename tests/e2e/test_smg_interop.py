"""SMG (the SGLang model gateway, `pip install smg`) in gRPC mode in front of a real `tandem worker`.

The worker's GetTokenizer bundle carries HF tokenizer files made from the GGUF (tokenizer.json,
tokenizer_config.json, special_tokens_map.json, generation_config.json) beside tokenizer.gguf;
SMG loads those. Checked here:
  - the exported tokenizer.json, loaded by HF's `tokenizers`, encodes and decodes the tokenizer
    corpus (tests/data/tokenizer) exactly as SmolLM2's HF tokenizer does, and counts prompt tokens
    like Tandem's gateway; the exported directory loads in transformers with the chat template;
  - SMG routes a chat completion to the worker (openai client), with usage;
  - greedy output through SMG equals the same request through Tandem's gateway on that worker.
Skipped only when the smg package / executable is missing (scripts/requirements.txt installs it).
"""
import hashlib
import io
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import pytest

from conftest import start_gateway, start_worker, stop_proc

TEXTS = [
    "Hello world! The capital of France is Paris.",
    "def f(x):\n    return x ** 2  # square\n\n\tindent\ttabs",
    "numbers 1234567 and 3.14159, 2024-01-01, x1y22z333",
    "日本語のテキストと中文字符，还有한국어.",
    "emoji 🤖👍🏽 and 🇫🇷 flags",
    "   leading and   inner   runs of spaces   \n\n\n",
    "<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n",
    "contractions: it's, we'll, they're, I'd, you've",
]
CHAT = [{"role": "user", "content": "What is the capital of France?"}]


def smg_executable():
    """The `smg` console script: $TANDEM_SMG, beside this Python, or on PATH."""
    for cand in (os.environ.get("TANDEM_SMG"), str(pathlib.Path(sys.executable).parent / "smg"),
                 shutil.which("smg")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


@pytest.fixture(scope="module")
def worker(tandem_bin, default_model):
    w = start_worker(tandem_bin, default_model)
    yield w
    stop_proc(w)


def get_tokenizer_bundle(address):
    """GetTokenizer over gRPC without generated stubs: every chunk's data, the last chunk's sha256."""
    grpc = pytest.importorskip("grpc", reason="grpcio (installed with smg) is needed to call GetTokenizer")

    def fields(buf):  # protobuf wire format: GetTokenizerChunk{bytes data = 1; string sha256 = 2}
        out, i = {}, 0
        while i < len(buf):
            key, i = varint(buf, i)
            assert key & 7 == 2, "only length-delimited fields expected"
            n, i = varint(buf, i)
            out[key >> 3] = buf[i:i + n]
            i += n
        return out

    def varint(buf, i):
        v, shift = 0, 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v, i

    with grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 64 << 20)]) as ch:
        call = ch.unary_stream("/sglang.grpc.scheduler.SglangScheduler/GetTokenizer",
                               request_serializer=lambda _: b"", response_deserializer=fields)
        data, sha = b"", ""
        for chunk in call(None, timeout=60):
            data += chunk.get(1, b"")
            sha = chunk.get(2, b"").decode() or sha
    assert hashlib.sha256(data).hexdigest() == sha
    return zipfile.ZipFile(io.BytesIO(data))


@pytest.fixture(scope="module")
def tandem_gateway(worker, tandem_bin):
    """Tandem's own gateway over the same worker (the reference for SMG's answers)."""
    gw = start_gateway(tandem_bin, [worker.address])
    yield gw
    stop_proc(gw)


@pytest.fixture(scope="module")
def exported(worker, tmp_path_factory):
    z = get_tokenizer_bundle(worker.address)
    assert z.namelist() == ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                            "generation_config.json", "tokenizer.gguf"]
    d = tmp_path_factory.mktemp("bundle")
    z.extractall(d)
    return d


def jsonl(name):
    path = pathlib.Path(__file__).resolve().parents[1] / "data" / "tokenizer" / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_exported_tokenizer_json_matches_hf_reference_ids(exported):
    """HF's `tokenizers` on the exported tokenizer.json gives the ids SmolLM2's own HF tokenizer
    gives (tests/data/tokenizer: ASCII, code, CJK, emoji, whitespace runs, special tokens, ...),
    the same ids Tandem's tokenizer is held to by tests/unit/tokenizer."""
    tokenizers = pytest.importorskip("tokenizers")
    ours = tokenizers.Tokenizer.from_file(str(exported / "tokenizer.json"))
    corpus = {c["name"]: c["text"] for c in jsonl("corpus.jsonl")}
    expected = jsonl("expected_smollm2.jsonl")
    assert len(expected) > 100
    for e in expected:
        text = corpus[e["name"]]
        assert ours.encode(text, add_special_tokens=False).ids == e["ids"], e["name"]
        assert ours.encode(text, add_special_tokens=True).ids == e["ids_special"], e["name"]
        if e["roundtrip"]:
            assert ours.decode(e["ids"], skip_special_tokens=False) == text, e["name"]
    for d in jsonl("decode_smollm2.jsonl"):
        assert ours.decode(d["ids"], skip_special_tokens=False) == d["text"]
        assert ours.decode(d["ids"], skip_special_tokens=True) == d["text_skip"]
    assert ours.get_vocab_size() == 49152
    assert ours.token_to_id("<|im_end|>") == 2


def test_exported_directory_loads_in_transformers_with_the_chat_template(exported):
    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(str(exported))
    assert (tok.bos_token, tok.eos_token, tok.pad_token, tok.unk_token) == (
        "<|im_start|>", "<|im_end|>", "<|im_end|>", "<|endoftext|>")
    rendered = tok.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
    assert rendered == ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
                        "Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?"
                        "<|im_end|>\n<|im_start|>assistant\n")
    assert tok.encode("2024", add_special_tokens=True) == [34, 32, 34, 36]  # digits one by one, no BOS
    assert json.loads((exported / "generation_config.json").read_text())["eos_token_id"] == 2


def test_exported_tokenizer_counts_prompts_like_tandem(exported, tandem_gateway):
    tokenizers = pytest.importorskip("tokenizers")
    ours = tokenizers.Tokenizer.from_file(str(exported / "tokenizer.json"))
    c = tandem_gateway.client()
    for text in TEXTS:
        r = c.completions.create(model="default", prompt=text, max_tokens=1, temperature=0)
        assert r.usage.prompt_tokens == len(ours.encode(text).ids), text


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_smg_model(base, proc, log, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError("smg exited:\n" + log.read_text())
        try:
            with urllib.request.urlopen(base + "/v1/models", timeout=2) as r:
                data = json.loads(r.read()).get("data") or []
                if data:
                    return data[0]["id"]
        except Exception:
            pass
        time.sleep(0.2)
    raise AssertionError("smg listed no model:\n" + log.read_text())


@pytest.fixture(scope="module")
def smg(worker, tmp_path_factory):
    exe = smg_executable()
    if exe is None:
        pytest.skip("the smg executable is missing (pip install smg==1.13.0, scripts/requirements.txt)")
    port = free_port()
    log = tmp_path_factory.mktemp("smg") / "smg.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([exe, "launch", "--host", "127.0.0.1", "--port", str(port),
                                 "--worker-urls", f"grpc://{worker.address}", "--log-level", "info"],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        model = wait_smg_model(base, proc, log)
        from openai import OpenAI
        client = OpenAI(base_url=base + "/v1", api_key="none", max_retries=0)
        # The tokenizer is registered in the background (fetched from the worker): wait for it.
        deadline, last = time.time() + 120, None
        while time.time() < deadline:
            try:
                client.chat.completions.create(model=model, messages=CHAT, max_tokens=1)
                break
            except Exception as e:  # noqa: BLE001 - any failure until ready
                last = e
                time.sleep(0.5)
        else:
            raise AssertionError(f"smg never answered a chat request ({last}):\n" + log.read_text())
        yield client, model, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_smg_routes_a_chat_request_to_the_tandem_worker(smg):
    client, model, log = smg
    r = client.chat.completions.create(model=model, messages=CHAT, max_tokens=16, temperature=0)
    answer = r.choices[0].message.content
    assert answer and answer.strip(), log.read_text()
    assert r.usage.prompt_tokens > 0 and 0 < r.usage.completion_tokens <= 16
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert "Fetching tokenizer from worker" in log.read_text() or "Tokenizer extracted" in log.read_text()


def test_greedy_output_through_smg_equals_tandem_gateway(smg, tandem_gateway):
    client, model, _ = smg
    for messages in (CHAT, [{"role": "system", "content": "Answer in one word."},
                            {"role": "user", "content": "Name a color."}]):
        kw = dict(messages=messages, max_tokens=24, temperature=0)
        via_smg = client.chat.completions.create(model=model, **kw)
        via_tandem = tandem_gateway.client().chat.completions.create(model="default", **kw)
        # Same chat template and tokenizer on both sides: the same prompt tokens, so the
        # same greedy continuation.
        assert via_smg.usage.prompt_tokens == via_tandem.usage.prompt_tokens
        assert via_smg.choices[0].message.content == via_tandem.choices[0].message.content
        assert via_smg.usage.completion_tokens == via_tandem.usage.completion_tokens
        assert via_smg.choices[0].finish_reason == via_tandem.choices[0].finish_reason
