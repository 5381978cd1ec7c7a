"""Tensor parallelism under mpirun end to end (issue #7; ACCEPTANCE 25-27): `mpirun -np 2 tandem
worker --tp 2` behind `tandem gateway`, against a single-process worker on the same prompts (greedy
tokens must be identical on CPU), plus the launch errors and a rank dying mid-service."""
import concurrent.futures
import os
import signal
import subprocess
import time

import pytest

from conftest import (mpirun_cmd, rank_pids, start_gateway, start_pd_gateway, start_pd_worker, start_tp_worker,
                      start_worker_threads, stop_proc, stop_tp_worker)

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "List three prime numbers.",
    "Explain what a tensor is in one sentence.",
    "Translate 'good morning' into Spanish.",
]


@pytest.fixture(scope="module")
def pair(tandem_bin, default_model):
    """(gateway over a TP=2 worker, gateway over a TP=1 worker)."""
    tp2 = start_tp_worker(tandem_bin, default_model, 2)
    tp1 = start_worker_threads(tandem_bin, default_model, 1)
    g2 = start_gateway(tandem_bin, [f"grpc://{tp2.address}"])
    g1 = start_gateway(tandem_bin, [tp1.address])
    yield g2, g1, tp2
    for p in (g2, g1, tp1):
        stop_proc(p)
    assert stop_tp_worker(tp2) == 0, "".join(tp2.log)


def chat(gw, prompt, max_tokens=32):
    r = gw.client().chat.completions.create(model="default", messages=[{"role": "user", "content": prompt}],
                                            max_tokens=max_tokens, temperature=0)
    return r.choices[0].message.content, r.usage.completion_tokens, r.choices[0].finish_reason


def completion_tokens(gw, prompt, max_tokens=24):
    r = gw.client().completions.create(model="default", prompt=prompt, max_tokens=max_tokens, temperature=0,
                                       logprobs=1)
    return r.choices[0].logprobs.tokens, r.choices[0].text


def test_tp2_greedy_equals_tp1(pair):
    g2, g1, _ = pair
    # Concurrently, so TP=2 steps hold several sequences (mixed prefill + decode batches).
    with concurrent.futures.ThreadPoolExecutor(len(PROMPTS)) as pool:
        tp2 = list(pool.map(lambda p: chat(g2, p), PROMPTS))
    tp1 = [chat(g1, p) for p in PROMPTS]
    assert tp2 == tp1
    assert all(text for text, _, _ in tp2)
    for p in PROMPTS[:2]:
        assert completion_tokens(g2, p) == completion_tokens(g1, p)


def test_two_tp_workers_on_one_host(tandem_bin, default_model, pair):
    """A second TP=2 job beside the first: no port collisions (MPI and the worker use none fixed)."""
    g2, _, _ = pair
    other = start_tp_worker(tandem_bin, default_model, 2)
    try:
        g = start_gateway(tandem_bin, [other.address])
        try:
            assert chat(g, PROMPTS[0]) == chat(g2, PROMPTS[0])
        finally:
            stop_proc(g)
    finally:
        assert stop_tp_worker(other) == 0, "".join(other.log)


def run_quick(cmd, timeout=60):
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr, time.time() - t0


def test_bad_init_address_fails_fast(tandem_bin, default_model):
    rc, out, took = run_quick(mpirun_cmd(2) + [tandem_bin, "worker", "--model", default_model, "--tp", "2",
                                               "--port", "0", "--dist-init-addr", "node0-no-port"])
    assert rc != 0
    assert "distributed init address 'node0-no-port' is not HOST:PORT" in out
    assert took < 30


def test_tp_without_mpirun_says_how_to_launch(tandem_bin, default_model):
    rc, out, _ = run_quick([tandem_bin, "worker", "--model", default_model, "--tp", "2", "--port", "0"])
    assert rc == 1
    assert "mpirun -np 2 tandem worker --tp 2" in out


def test_rank_count_mismatch(tandem_bin, default_model):
    rc, out, _ = run_quick(mpirun_cmd(2) + [tandem_bin, "worker", "--model", default_model, "--port", "0"])
    assert rc != 0
    assert "mpirun started 2 ranks but --tp is 1" in out


def test_rank_death_ends_the_request_with_an_error(tandem_bin, default_model):
    """kill -9 of rank 1: the job ends (mpirun takes rank 0 down), the client gets an error, not a hang."""
    w = start_tp_worker(tandem_bin, default_model, 2)
    g = start_gateway(tandem_bin, [w.address])
    try:
        assert chat(g, PROMPTS[0])[0]
        pids = rank_pids(w.proc)
        assert set(pids) == {0, 1}, pids

        import os
        # Streamed, so rank 1 dies mid-request for sure (a sleep before the kill raced a fast answer).
        stream = g.client(max_retries=0, timeout=60).chat.completions.create(
            model="default", messages=[{"role": "user", "content": "Count from 1 to 500."}], max_tokens=400,
            temperature=0, stream=True)
        chunks, finish = 0, None
        with pytest.raises(Exception) as err:
            for chunk in stream:
                chunks += 1
                if chunks == 3:
                    os.kill(pids[1], signal.SIGKILL)
                if chunk.choices and chunk.choices[0].finish_reason:
                    finish = chunk.choices[0].finish_reason
            raise AssertionError(f"the stream ended normally after {chunks} chunks, finish_reason {finish}")
        assert chunks >= 3, repr(err.value)
        assert "Error" in type(err.value).__name__ and not isinstance(err.value, AssertionError), repr(err.value)
        w.proc.wait(timeout=30)  # the whole job ended
        assert w.proc.returncode != 0
    finally:
        stop_proc(g)
        stop_proc(w)


def start_tp_pd_worker(tandem_bin, model, role, tp):
    """A prefill or decode worker: TP=tp under mpirun when tp > 1, else a plain process."""
    import re
    chunks = ["--chunked-prefill-size", "64"]  # a long prompt's rows leave in several gathers
    if tp == 1:
        return start_pd_worker(tandem_bin, model, role, *chunks)
    args = ["--role", role] + (["--bootstrap-port", "0"] if role == "prefill" else []) + chunks
    p = start_tp_worker(tandem_bin, model, tp, *args)
    m = re.search(r"bootstrap (\S+):(\d+)", "".join(p.log))
    p.bootstrap_port = int(m.group(2)) if m else None
    return p


@pytest.mark.parametrize("prefill_tp,decode_tp", [(2, 1), (1, 2)])
def test_pd_across_tp_layouts_equals_mixed(tandem_bin, default_model, pair, prefill_tp, decode_tp):
    """A TP=2 prefill feeding a TP=1 decode (and the reverse): the rows travel with every KV head,
    gathered from / scattered to the TP side's ranks by head; greedy output equals mixed mode."""
    _, g1, _ = pair
    prefill = start_tp_pd_worker(tandem_bin, default_model, "prefill", prefill_tp)
    decode = start_tp_pd_worker(tandem_bin, default_model, "decode", decode_tp)
    gw = start_pd_gateway(tandem_bin, [prefill], [decode])
    try:
        # A long prompt spans several prefill chunks (each chunk's rows are gathered separately).
        long = "Summarize: " + "The mill stands at the second bridge and the market opens at dawn. " * 20
        for prompt in (PROMPTS[0], long):
            assert chat(gw, prompt, max_tokens=16) == chat(g1, prompt, max_tokens=16)
    finally:
        stop_proc(gw)
        for w, tp in ((prefill, prefill_tp), (decode, decode_tp)):
            assert (stop_tp_worker(w) if tp > 1 else stop_proc(w)) == 0, "".join(w.log)


def child_pids(pid):
    import os
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return out


def test_serve_tp_launches_the_worker_through_mpirun(tandem_bin, default_model, pair):
    """`tandem serve --tp 2`: its worker child is mpirun with two ranks; greedy output equals TP=1."""
    import types
    from conftest import Served, start_listening, stop_serve, wait_ready
    mpirun_cmd(2)  # skips when mpirun is missing
    _, g1, _ = pair
    p = start_listening([tandem_bin, "serve", "--model", default_model, "--port", "0", "--threads", "1",
                         "--kv-slots", "4096", "--tp", "2", "--log-level", "warn"],
                        r"tandem serve listening on http://(\S+:\d+)")
    served = wait_ready(Served(p.proc, p.port, p.log))
    try:
        ranks = {}
        for child in child_pids(served.proc.pid):
            ranks.update(rank_pids(types.SimpleNamespace(pid=child)))
        assert set(ranks) == {0, 1}, "".join(served.log)
        assert chat(served, PROMPTS[1]) == chat(g1, PROMPTS[1])
    finally:
        stop_serve(served)


def test_serve_tp_without_mpirun_is_a_clear_error(tandem_bin, default_model):
    rc, out, took = run_quick([tandem_bin, "serve", "--model", default_model, "--port", "0", "--tp", "2",
                               "--mpirun", "/nonexistent/mpirun"])
    assert rc == 2
    assert "'/nonexistent/mpirun' is not an executable on PATH" in out
    assert took < 30


def test_up_starts_a_tp_prefill_worker_from_yaml(tandem_bin, default_model, pair, tmp_path):
    """deploy/local-pd-tp.yaml's shape: `tp: 2` on a worker makes `tandem up` start it through
    mpirun; the TP=2 prefill / TP=1 decode pair answers like a mixed worker."""
    from conftest import start_listening, wait_ready
    _, g1, _ = pair
    text = open(os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "local-pd-tp.yaml")).read()
    cfg = tmp_path / "pd-tp.yaml"
    cfg.write_text(text.replace("~/.cache/tandem/models/SmolLM2-135M-Instruct.Q4_1.gguf", default_model))
    up = start_listening([tandem_bin, "up", "-c", str(cfg), "--port", "0"], r"tandem up listening on http://(\S+:\d+)")
    try:
        wait_ready(up)
        assert chat(up, PROMPTS[0], max_tokens=16) == chat(g1, PROMPTS[0], max_tokens=16)
        assert rank_pids_of_children(up.proc), "the prefill worker is not an mpirun job of 2 ranks"
    finally:
        assert stop_proc(up) == 0, "".join(up.log)


def rank_pids_of_children(proc):
    """True when some child of `proc` is an mpirun with two ranks under it."""
    import os as _os
    for entry in _os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if ppid == proc.pid and b"mpirun" in cmd:
            class P:
                pid = int(entry)
            return len(rank_pids(P)) == 2
    return False
