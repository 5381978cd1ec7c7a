"""`tandem bench serving` against a real `tandem serve`: chat and completions through the gateway in
open and closed loop, the grpc backend straight to the worker, the JSON result file, and clear
failures (no hang) when the target is wrong."""
import json
import math
import subprocess
import urllib.request

import pytest

SUMMARY_KEYS = ["duration", "completed", "failed", "total_input_tokens", "total_output_tokens",
                "request_throughput", "input_throughput", "output_throughput", "total_throughput",
                "concurrency"]
DIST_KEYS = [f"{stat}_{what}_ms" for what in ("ttft", "tpot", "itl", "e2e_latency")
             for stat in ("mean", "median", "std", "p99")]


def worker_address(served):
    with urllib.request.urlopen(served.base + "/workers", timeout=30) as r:
        url = json.loads(r.read())["workers"][0]["url"]
    return url.split("://", 1)[-1]


def bench(tandem_bin, default_model, tmp_path, *args, timeout=300):
    out = tmp_path / "result.json"
    cmd = [tandem_bin, "bench", "serving", "--tokenizer", default_model, "--dataset-name", "random",
           "--num-prompts", "8", "--random-input-len", "32", "--random-output-len", "8",
           "--random-range-ratio", "1", "--disable-progress", "--output-file", str(out), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{cmd}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    assert "Serving Benchmark Result" in p.stdout
    return json.loads(out.read_text()), p


def check_result(r, backend, streamed=True):
    for k in SUMMARY_KEYS + DIST_KEYS:
        assert k in r, k
        assert isinstance(r[k], (int, float)) and not math.isnan(r[k]), (k, r[k])
    assert r["backend"] == backend
    assert r["completed"] == 8 and r["failed"] == 0, r["errors"]
    # ignore_eos + exact max_tokens: every request generates exactly 8 tokens.
    assert r["total_output_tokens"] == 64
    assert r["request_throughput"] > 0 and r["duration"] > 0
    assert 0 < r["mean_ttft_ms"] <= r["mean_e2e_latency_ms"]
    assert r["p99_e2e_latency_ms"] >= r["median_e2e_latency_ms"] > 0
    if streamed:
        assert r["mean_tpot_ms"] > 0 and r["mean_itl_ms"] > 0
    assert r["concurrency"] > 0


@pytest.mark.parametrize("backend", ["openai-chat", "openai-completions"])
@pytest.mark.parametrize("loop", ["open", "closed"])
def test_http_backends(served, tandem_bin, default_model, tmp_path, backend, loop):
    load = ["--request-rate", "20"] if loop == "open" else ["--max-concurrency", "2"]
    r, _ = bench(tandem_bin, default_model, tmp_path, "--backend", backend, "--base-url", served.base,
                 *load, "--output-details")
    check_result(r, backend)
    assert r["max_concurrency"] == (2 if loop == "closed" else None)
    assert r["request_rate"] == (20 if loop == "open" else "inf")
    assert len(r["ttfts"]) == 8 and len(r["itls"]) == 8 and all(n == 8 for n in r["output_lens"])
    if backend == "openai-completions":
        # Token-id prompts: the server counts exactly the 32 tokens sent.
        assert r["total_input_tokens"] == 8 * 32
    else:
        assert r["total_input_tokens"] > 8 * 32  # chat template tokens on top
    assert all(isinstance(t, str) and t for t in r["generated_texts"])


@pytest.mark.parametrize("loop", ["open", "closed"])
def test_grpc_backend_straight_to_the_worker(served, tandem_bin, default_model, tmp_path, loop):
    load = ["--request-rate", "20"] if loop == "open" else ["--max-concurrency", "4"]
    r, _ = bench(tandem_bin, default_model, tmp_path, "--backend", "grpc", "--worker",
                 worker_address(served), *load)
    check_result(r, "grpc")
    assert r["total_input_tokens"] == 8 * 32


def test_non_streaming_ttft_equals_e2e(served, tandem_bin, default_model, tmp_path):
    r, _ = bench(tandem_bin, default_model, tmp_path, "--backend", "openai-completions", "--base-url",
                 served.base, "--disable-stream", "--max-concurrency", "4")
    check_result(r, "openai-completions", streamed=False)
    assert r["mean_ttft_ms"] == pytest.approx(r["mean_e2e_latency_ms"])
    assert r["mean_itl_ms"] == 0


def test_unreachable_target_fails_fast_with_a_clear_error(tandem_bin, default_model, tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    p = subprocess.run([tandem_bin, "bench", "serving", "--tokenizer", default_model, "--backend",
                        "openai-completions", "--base-url", f"http://127.0.0.1:{port}", "--model", "m",
                        "--num-prompts", "4", "--random-input-len", "8", "--random-output-len", "2",
                        "--disable-progress"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "warm-up request" in p.stderr and str(port) in p.stderr, p.stderr


def test_bad_sharegpt_file_is_a_clear_error(tandem_bin, default_model, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"conversations": []}')
    p = subprocess.run([tandem_bin, "bench", "serving", "--tokenizer", default_model, "--backend", "grpc",
                        "--worker", "127.0.0.1:1", "--dataset-name", "sharegpt", "--dataset-path", str(bad),
                        "--disable-progress"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "bad.json" in p.stderr and "list" in p.stderr, p.stderr
