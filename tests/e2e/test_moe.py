"""Mixture-of-experts end to end (issue #7; ACCEPTANCE 26): random Qwen3-MoE and Qwen2-MoE (shared
expert) checkpoints from scripts/gen_moe_checkpoint.py, served by Tandem (unsharded, experts tensor
parallel, expert parallel under mpirun) against a numpy forward of the same weights
(tests/support/moe_reference.py, which matches transformers' Qwen3Moe/Qwen2Moe to 4e-6 on these
checkpoints — checked when it was written, with torch outside CI)."""
import json
import os
import subprocess
import sys
import urllib.request

import pytest

from conftest import start_gateway, start_tp_worker, start_worker_threads, stop_proc, stop_tp_worker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

PROMPTS = ["Hello world", "The quick brown fox jumps", "1, 2, 3, 4,", "Mixture of experts!"]
STEPS = 8


@pytest.fixture(scope="module", params=["qwen3_moe", "qwen2_moe_shared"])
def checkpoint(request, tmp_path_factory):
    out = str(tmp_path_factory.mktemp(request.param))
    extra = ["--shared-expert", "--seed", "1"] if request.param.endswith("shared") else []
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_moe_checkpoint.py"), out, *extra], check=True,
                   capture_output=True)
    return out


@pytest.fixture(scope="module")
def reference(checkpoint):
    from moe_reference import MoeReference
    ref = MoeReference(checkpoint)
    ids = [list(p.encode()) for p in PROMPTS]  # byte-level vocabulary: token id = byte
    return ids, [ref.greedy(i, STEPS) for i in ids]


def generate(gw, ids):
    body = json.dumps({"input_ids": ids, "sampling_params": {"max_new_tokens": STEPS, "temperature": 0,
                                                             "ignore_eos": True}}).encode()
    req = urllib.request.Request(gw.base + "/generate", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())["output_ids"]


def check_against_reference(gw, reference):
    ids, expected = reference
    for prompt, (want, margins) in zip(ids, expected):
        got = generate(gw, prompt)
        assert len(got) == STEPS
        for step, (g, w, m) in enumerate(zip(got, want, margins)):
            if g != w:
                # float32 vs float64: only a near-tie may flip (and then the continuations differ).
                assert m < 1e-3, f"prompt {prompt}: step {step} token {g} != reference {w} (top-2 margin {m})"
                break


def test_unsharded_matches_reference(tandem_bin, checkpoint, reference):
    w = start_worker_threads(tandem_bin, checkpoint, 1)
    g = start_gateway(tandem_bin, [w.address])
    try:
        check_against_reference(g, reference)
    finally:
        stop_proc(g)
        assert stop_proc(w) == 0


@pytest.mark.parametrize("mode", ["tp2", "ep2"])
def test_sharded_matches_reference(tandem_bin, checkpoint, reference, mode):
    """Experts tensor parallel (--tp 2) and expert parallel (--tp 2 --ep 2: experts partitioned,
    tokens exchanged all-to-all) give the unsharded tokens."""
    extra = ["--ep", "2"] if mode == "ep2" else []
    w = start_tp_worker(tandem_bin, checkpoint, 2, *extra)
    g = start_gateway(tandem_bin, [w.address])
    try:
        check_against_reference(g, reference)
    finally:
        stop_proc(g)
        assert stop_tp_worker(w) == 0, "".join(w.log)


def test_ep_on_a_dense_model_is_refused(tandem_bin, default_model):
    from conftest import mpirun_cmd
    r = subprocess.run(mpirun_cmd(2) + [tandem_bin, "worker", "--model", default_model, "--tp", "2", "--ep", "2",
                                        "--port", "0"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "expert parallelism needs a mixture-of-experts model" in r.stdout + r.stderr


def test_expert_load_is_reported(tandem_bin, checkpoint, reference):
    """On shutdown the worker prints, per MoE layer, how many tokens the router sent to each expert:
    every token goes to top-k = 2 experts, so each layer's total is 2 x the tokens computed."""
    import re
    w = start_worker_threads(tandem_bin, checkpoint, 1, "--disable-radix-cache")
    g = start_gateway(tandem_bin, [w.address])
    try:
        ids, _ = reference
        generate(g, ids[0])
    finally:
        stop_proc(g)
        assert stop_proc(w) == 0
    lines = [l for l in w.log if l.startswith("expert load layer")]
    assert len(lines) == 4, "".join(w.log)
    computed = len(ids[0]) + STEPS - 1  # the prompt, then one token per step after the first
    for line in lines:
        counts = [int(x) for x in re.search(r"\[(.*)\]", line).group(1).split(", ")]
        assert len(counts) == 8 and sum(counts) == 2 * computed, line
