"""Prefill/decode disaggregation end to end (issue #5; ACCEPTANCE 1, 4, 11-14, 16-18): real
`tandem worker --role prefill|decode` processes behind `tandem gateway --prefill/--decode` and
`tandem serve --pd`, talked to over HTTP and with the openai client. Also cache_aware's kv_events
mode (exact radix-cache events) on two mixed workers.

Every wait has a timeout; a leak check reads each worker's KV pool through the gateway's /workers
(GetLoads used_tokens) after flushing the radix caches: 0 used tokens = every slot came back."""
import concurrent.futures
import http.client
import json
import os
import random
import re
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import (start_gateway, start_listening, start_pd_gateway, start_pd_worker, start_serve,
                      start_worker_threads,
                      stop_proc, stop_serve, wait_ready)

CHUNK = "32"  # small chunked prefill: a long prompt takes many chunks (and many KV transfers)

BACKGROUND = ("The river runs north through three valleys; the old mill stands at the second "
              "bridge, and the market opens at dawn. Merchants bring salt, wool and copper. ")


def long_prompt(n, tag=""):
    """About n*30 tokens of text, distinct per tag."""
    return f"[{tag}] " + BACKGROUND * n + " Summarize the text above in one sentence."


def get(base, path, timeout=10):
    try:
        with urllib.request.urlopen(base + path, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def post(base, path, body, timeout=120):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def generate_ids(base, text, max_tokens):
    status, body = post(base, "/generate", {"text": text, "sampling_params": {
        "max_new_tokens": max_tokens, "temperature": 0}})
    assert status == 200, body
    return body["output_ids"]


def chat_stream_text(base, content, max_tokens, timeout=120):
    """Streams a greedy chat completion; returns (text, error event or None)."""
    body = {"messages": [{"role": "user", "content": content}], "max_tokens": max_tokens,
            "temperature": 0, "stream": True}
    host, port = base.replace("http://", "").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    conn.request("POST", "/v1/chat/completions", json.dumps(body),
                 {"Content-Type": "application/json"})
    r = conn.getresponse()
    assert r.status == 200, r.read()
    text, error = "", None
    for raw in r:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        ev = json.loads(line[6:])
        if "error" in ev:
            error = ev["error"]
            continue
        for ch in ev.get("choices", []):
            text += ch.get("delta", {}).get("content") or ""
    conn.close()
    return text, error


def workers_of(base):
    status, body = get(base, "/workers")
    assert status == 200, body
    return json.loads(body)["workers"]


def metric_sum(base, name, label_filter=""):
    text = get(base, "/metrics")[1]
    total = 0.0
    for m in re.finditer(rf"^{name}(\{{[^}}]*\}})? (\S+)$", text, re.M):
        if label_filter in (m.group(1) or ""):
            total += float(m.group(2))
    return total


def wait_pools_full(base, timeout=45):
    """Flushes every worker's radix cache and waits until each reports 0 used KV tokens (GetLoads
    through /workers, refreshed every health interval). Fails naming the workers that leak."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        post(base, "/flush_cache", {}, timeout=10)  # refused while a worker is busy: try again
        ws = workers_of(base)
        last = {w["url"]: (w["role"], w["used_tokens"], w["total_tokens"], w["running"], w["waiting"])
                for w in ws}
        if all(w["healthy"] and w["used_tokens"] == 0 and w["total_tokens"] > 0 and
               w["running"] == 0 and w["waiting"] == 0 for w in ws):
            return last
        time.sleep(0.5)
    raise AssertionError(f"KV pools did not come back: {last}")


def wait_survivors_freed(base, addresses, timeout=30):
    """Flushes the radix caches and waits until each worker in `addresses` (the survivors of a
    failure) is healthy with 0 used KV tokens; returns their /workers entries by url."""
    deadline = time.time() + timeout
    while True:
        ws = {w["url"]: w for w in workers_of(base)}
        post(base, "/flush_cache", {})
        if all(ws[a]["healthy"] and ws[a]["used_tokens"] == 0 for a in addresses) or time.time() > deadline:
            return ws
        time.sleep(0.5)


# ---- tandem serve --pd ---------------------------------------------------------------------------

def test_serve_pd_answers_the_readme_chat_request(tandem_bin, default_model):
    # The README body sets no max_tokens and samples at temperature 1: a short context bounds how
    # long a rambling answer can run (the body itself stays unchanged).
    s = start_serve(tandem_bin, default_model, "--pd", "--context-length", "256", timeout=240)
    try:
        # The README's curl body, unchanged.
        status, body = post(s.base, "/v1/chat/completions", {
            "model": "default",
            "messages": [{"role": "user", "content": "What is the capital of France?"}]})
        assert status == 200, body
        assert body["choices"][0]["message"]["content"].strip()
        reply = s.client().chat.completions.create(
            model="default", messages=[{"role": "user", "content": "Say hello."}], max_tokens=8,
            temperature=0)
        assert reply.choices[0].message.content
        roles = sorted(w["role"] for w in workers_of(s.base))
        assert roles == ["decode", "prefill"]
        status, ready = get(s.base, "/readiness")
        assert status == 200 and json.loads(ready)["mode"] == "pd"
        assert metric_sum(s.base, "tandem_gateway_pd_pairs_total") >= 2
    finally:
        stop_serve(s)


def test_pd_gateway_takes_workers_with_roles_through_the_admin_api(tandem_bin, default_model):
    procs = []
    try:
        p = start_pd_worker(tandem_bin, default_model, "prefill")
        d = start_pd_worker(tandem_bin, default_model, "decode")
        procs += [p, d]
        g = start_listening([tandem_bin, "gateway", "--pd", "--port", "0", "--host", "127.0.0.1",
                             "--log-level", "warn"], r"tandem gateway listening on http://(\S+:\d+)")
        procs.append(g)
        status, body = get(g.base, "/readiness")
        assert status == 503 and json.loads(body)["mode"] == "pd"
        status, body = post(g.base, "/workers", {"url": d.address})
        assert status == 400 and body["error"]["param"] == "role", body
        status, body = post(g.base, "/workers", {"url": p.address, "role": "prefill",
                                                 "bootstrap_port": p.bootstrap_port})
        assert status == 200, body
        time.sleep(1)
        assert get(g.base, "/readiness")[0] == 503, "prefill alone is no pair"
        status, body = post(g.base, "/workers", {"url": d.address, "role": "decode"})
        assert status == 200, body
        wait_ready(g, timeout=60)
        ws = {w["url"]: w for w in workers_of(g.base)}
        assert ws[p.address]["role"] == "prefill" and ws[p.address]["bootstrap_port"] == p.bootstrap_port
        assert ws[d.address]["role"] == "decode"
        status, body = post(g.base, "/v1/chat/completions", {
            "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 4})
        assert status == 200, body
        text = get(g.base, "/metrics")[1]
        assert f'tandem_gateway_pd_pairs_total{{prefill="{p.address}",decode="{d.address}"}} 1' in text
        assert 'tandem_gateway_workers{role="prefill",state="healthy"} 1' in text
    finally:
        for proc in reversed(procs):
            stop_proc(proc)


def test_up_starts_a_pd_topology_from_yaml(tandem_bin, default_model, tmp_path):
    cfg = tmp_path / "pd.yaml"
    cfg.write_text(f"""
workers:
  - {{role: prefill, model: {default_model}, threads: 1, chunked_prefill_size: 64}}
  - {{role: decode, model: {default_model}, threads: 1}}
gateway:
  host: 127.0.0.1
  port: 0
  decode_policy: round_robin
  log_level: warn
""")
    up = start_listening([tandem_bin, "up", "-c", str(cfg)], r"tandem up listening on http://(\S+:\d+)",
                         timeout=240)
    try:
        wait_ready(up, timeout=120)
        roles = sorted(w["role"] for w in workers_of(up.base))
        assert roles == ["decode", "prefill"]
        reply = up.client().chat.completions.create(
            model="default", messages=[{"role": "user", "content": long_prompt(3, "up")}],
            max_tokens=6, temperature=0)
        assert reply.choices[0].message.content
    finally:
        assert stop_proc(up) == 0, "".join(up.log)


# ---- PD output equals mixed output ---------------------------------------------------------------

@pytest.fixture(scope="module")
def mixed_and_pd(tandem_bin, default_model):
    procs = []
    try:
        m = start_worker_threads(tandem_bin, default_model, 1, "--chunked-prefill-size", CHUNK)
        procs.append(m)
        gm = start_gateway(tandem_bin, [m.address])
        procs.append(gm)
        p = start_pd_worker(tandem_bin, default_model, "prefill", "--chunked-prefill-size", CHUNK)
        procs.append(p)
        d = start_pd_worker(tandem_bin, default_model, "decode", "--chunked-prefill-size", CHUNK)
        procs.append(d)
        gp = start_pd_gateway(tandem_bin, [p], [d])
        procs.append(gp)
        yield gm, gp
    finally:
        for proc in reversed(procs):
            stop_proc(proc)


PROMPTS = ([("short-%d" % i, "Write a short line about the number %d." % i) for i in range(5)] +
           [("long-%d" % i, long_prompt(6 + 3 * i, "long-%d" % i)) for i in range(4)])


def test_pd_greedy_output_equals_mixed_token_for_token(mixed_and_pd):
    gm, gp = mixed_and_pd
    want = {tag: generate_ids(gm.base, text, 24) for tag, text in PROMPTS}
    # All at once through the pair: long prompts take many chunks while others decode.
    with concurrent.futures.ThreadPoolExecutor(len(PROMPTS)) as pool:
        got = dict(zip([t for t, _ in PROMPTS],
                       pool.map(lambda tp: generate_ids(gp.base, tp[1], 24), PROMPTS)))
    for tag, _ in PROMPTS:
        assert got[tag] == want[tag], f"{tag}: PD {got[tag]} != mixed {want[tag]}"
    assert len(PROMPTS) >= 8


def test_pd_streamed_chat_equals_mixed(mixed_and_pd):
    gm, gp = mixed_and_pd
    want = {tag: chat_stream_text(gm.base, text, 20)[0] for tag, text in PROMPTS}
    with concurrent.futures.ThreadPoolExecutor(len(PROMPTS)) as pool:
        got = list(pool.map(lambda tp: chat_stream_text(gp.base, tp[1], 20), PROMPTS))
    for (tag, _), (text, error) in zip(PROMPTS, got):
        assert error is None, f"{tag}: {error}"
        assert text == want[tag], f"{tag}: PD {text!r} != mixed {want[tag]!r}"
    wait_pools_full(gp.base)


# ---- aborts under load ---------------------------------------------------------------------------

def abort_storm(base, n, seed):
    """n concurrent streamed chats; about half are closed by the client at a random moment."""
    rng = random.Random(seed)

    def one(i):
        body = {"messages": [{"role": "user", "content": long_prompt(rng.randint(1, 8), f"a{i}")}],
                "max_tokens": rng.randint(4, 40), "temperature": 0, "stream": True}
        host, port = base.replace("http://", "").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        conn.request("POST", "/v1/chat/completions", json.dumps(body),
                     {"Content-Type": "application/json"})
        if i % 2 == 0:
            time.sleep(rng.uniform(0.0, 1.5))  # maybe queued, prefilling, transferring or decoding
            conn.sock.shutdown(socket.SHUT_RDWR)
            conn.close()
            return "aborted"
        r = conn.getresponse()
        data = r.read().decode()
        conn.close()
        if '"error"' in data:
            return "error: " + data[-300:]
        return "done" if "[DONE]" in data else "cut"

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.parametrize("pairs", [1, 2])
def test_aborts_under_load_leave_every_pool_full(tandem_bin, default_model, pairs):
    procs = []
    try:
        prefills = [start_pd_worker(tandem_bin, default_model, "prefill", "--chunked-prefill-size", CHUNK) for _ in range(pairs)]
        decodes = [start_pd_worker(tandem_bin, default_model, "decode", "--chunked-prefill-size", CHUNK) for _ in range(pairs)]
        procs += prefills + decodes
        g = start_pd_gateway(tandem_bin, prefills, decodes, "--prefill-policy", "round_robin",
                             "--decode-policy", "round_robin")
        procs.append(g)
        results = abort_storm(g.base, 12, seed=pairs)
        assert results.count("done") == 6, results
        pools = wait_pools_full(g.base)
        assert len(pools) == 2 * pairs
        # Still serving afterwards.
        status, body = post(g.base, "/v1/chat/completions", {
            "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4})
        assert status == 200, body
    finally:
        for p in reversed(procs):
            stop_proc(p)


# ---- fault injection -----------------------------------------------------------------------------

def send_in_background(base, body, path="/v1/chat/completions", timeout=180):
    out = {}

    def run():
        try:
            out["result"] = post(base, path, body, timeout=timeout)
        except Exception as e:  # a hang shows up as a timeout here, never as a stuck test
            out["result"] = ("exception", repr(e))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def wait_dispatched(base, before, timeout=30):
    """Waits until the gateway sent another request to a pair; returns the new pair counts."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = get(base, "/metrics")[1]
        pairs = {(m.group(1), m.group(2)): float(m.group(3)) for m in re.finditer(
            r'^tandem_gateway_pd_pairs_total\{prefill="([^"]+)",decode="([^"]+)"\} (\S+)$', text, re.M)}
        if sum(pairs.values()) > before:
            return pairs
        time.sleep(0.02)
    raise AssertionError("the request was never dispatched")


def test_prefill_killed_mid_transfer_is_retried_on_the_other_pair(tandem_bin, default_model):
    procs = []
    try:
        prefills = [start_pd_worker(tandem_bin, default_model, "prefill", "--chunked-prefill-size", "16") for _ in range(2)]
        decodes = [start_pd_worker(tandem_bin, default_model, "decode")
                   for _ in range(2)]
        procs += prefills + decodes
        g = start_pd_gateway(tandem_bin, prefills, decodes)
        procs.append(g)
        t, out = send_in_background(g.base, {
            "messages": [{"role": "user", "content": long_prompt(40, "kill-prefill")}],
            "max_tokens": 8, "temperature": 0})
        pairs = wait_dispatched(g.base, 0)
        (prefill_url, _), = [k for k, v in pairs.items() if v > 0]
        victim = next(p for p in prefills if p.address == prefill_url)
        time.sleep(0.2)  # inside the prefill of a ~1,200-token prompt in 16-token chunks
        victim.proc.send_signal(signal.SIGKILL)
        t.join(200)
        assert not t.is_alive(), "the client hung"
        status, body = out["result"]
        assert status == 200, body
        assert body["choices"][0]["message"]["content"]
        assert metric_sum(g.base, "tandem_gateway_retries_total") >= 1
        # The surviving pair is healthy and leaks nothing.
        survivors = [p for p in procs[:-1] if p is not victim]
        deadline = time.time() + 30
        while time.time() < deadline:
            ws = {w["url"]: w for w in workers_of(g.base)}
            if not ws[victim.address]["healthy"]:
                break
            time.sleep(0.5)
        assert not ws[victim.address]["healthy"]
        post(g.base, "/flush_cache", {})
        ws = wait_survivors_freed(g.base, [s.address for s in survivors])
        assert all(ws[s.address]["used_tokens"] == 0 for s in survivors), ws
    finally:
        for p in reversed(procs):
            stop_proc(p)


def test_prefill_killed_with_one_pair_gives_a_clear_error(tandem_bin, default_model):
    procs = []
    try:
        p = start_pd_worker(tandem_bin, default_model, "prefill",
                            "--chunked-prefill-size", "16")
        d = start_pd_worker(tandem_bin, default_model, "decode")
        procs += [p, d]
        g = start_pd_gateway(tandem_bin, [p], [d])
        procs.append(g)
        t, out = send_in_background(g.base, {
            "messages": [{"role": "user", "content": long_prompt(40, "one-pair")}],
            "max_tokens": 8, "temperature": 0})
        wait_dispatched(g.base, 0)
        time.sleep(0.2)
        p.proc.send_signal(signal.SIGKILL)
        t.join(200)
        assert not t.is_alive(), "the client hung"
        status, body = out["result"]
        assert status >= 500, body
        assert body["error"]["message"] and body["error"]["code"], body
        # The decode worker freed whatever it had reserved for the dead peer.
        dw = wait_survivors_freed(g.base, [d.address], timeout=40)[d.address]
        assert dw["healthy"] and dw["used_tokens"] == 0, dw
    finally:
        for proc in reversed(procs):
            stop_proc(proc)


def test_decode_killed_mid_stream_ends_the_stream_with_an_error_event(tandem_bin, default_model):
    procs = []
    try:
        p = start_pd_worker(tandem_bin, default_model, "prefill")
        d = start_pd_worker(tandem_bin, default_model, "decode")
        procs += [p, d]
        g = start_pd_gateway(tandem_bin, [p], [d])
        procs.append(g)
        body = {"messages": [{"role": "user", "content": "Tell me a long story about a fox."}],
                "max_tokens": 400, "temperature": 0, "stream": True,
                "ignore_eos": True}
        host, port = g.base.replace("http://", "").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        conn.request("POST", "/v1/chat/completions", json.dumps(body),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        assert r.status == 200
        seen, events = 0, []
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: "):
                continue
            events.append(line[6:])
            seen += 1
            if seen == 5:
                d.proc.send_signal(signal.SIGKILL)
        conn.close()
        assert events[-1] == "[DONE]", events[-3:]
        err = json.loads(events[-2])
        assert "error" in err, events[-3:]
        assert err["error"]["message"]
        # The prefill worker (the survivor) leaks nothing.
        pw = wait_survivors_freed(g.base, [p.address])[p.address]
        assert pw["healthy"] and pw["used_tokens"] == 0, pw
    finally:
        for proc in reversed(procs):
            stop_proc(proc)


def test_stopped_prefill_peer_is_detected_and_decode_frees(tandem_bin, default_model):
    procs = []
    try:
        p = start_pd_worker(tandem_bin, default_model, "prefill",
                            "--chunked-prefill-size", "16")
        d = start_pd_worker(tandem_bin, default_model, "decode")
        procs += [p, d]
        g = start_pd_gateway(tandem_bin, [p], [d], "--request-timeout", "120")
        procs.append(g)
        t, out = send_in_background(g.base, {
            "messages": [{"role": "user", "content": long_prompt(40, "sigstop")}],
            "max_tokens": 8, "temperature": 0})
        wait_dispatched(g.base, 0)
        time.sleep(0.3)
        p.proc.send_signal(signal.SIGSTOP)
        try:
            # Heartbeats: a peer silent for 2 × 5 s is dead; the decode side frees its
            # reservation (and the request fails) well before the request timeout.
            t.join(60)
            assert not t.is_alive(), "the client hung behind a stopped prefill worker"
            status, body = out["result"]
            assert status >= 500, body
            deadline = time.time() + 30
            while time.time() < deadline:
                dw = next(w for w in workers_of(g.base) if w["url"] == d.address)
                if dw["used_tokens"] == 0 and dw["running"] == 0 and dw["waiting"] == 0:
                    break
                time.sleep(0.5)
            assert dw["used_tokens"] == 0, dw
        finally:
            p.proc.send_signal(signal.SIGCONT)
        # The pair recovers once the prefill worker runs again.
        wait_ready(g, timeout=60)
        deadline = time.time() + 60
        status = None
        while time.time() < deadline and status != 200:
            status, body = post(g.base, "/v1/chat/completions", {
                "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4})
            if status != 200:
                time.sleep(1)
        assert status == 200, body
        wait_pools_full(g.base)
    finally:
        for proc in reversed(procs):
            stop_proc(proc)


def test_garbage_frames_to_the_bootstrap_socket_are_dropped(tandem_bin, default_model):
    zmq = pytest.importorskip("zmq")
    procs = []
    try:
        p = start_pd_worker(tandem_bin, default_model, "prefill")
        d = start_pd_worker(tandem_bin, default_model, "decode")
        procs += [p, d]
        g = start_pd_gateway(tandem_bin, [p], [d])
        procs.append(g)
        ctx = zmq.Context()
        try:
            for kind in (zmq.DEALER, zmq.PUSH, zmq.REQ):
                s = ctx.socket(kind)
                s.setsockopt(zmq.LINGER, 200)
                s.connect(f"tcp://127.0.0.1:{p.bootstrap_port}")
                for frames in ([b"garbage"], [b"", b"\xff" * 64], [b"x"] * 7, [os.urandom(4096)],
                               [b"", b"\x08\x96\x01", b"\x00"]):
                    s.send_multipart(frames)
                    if kind == zmq.REQ:
                        break  # REQ sends one message and waits; nothing answers garbage
                time.sleep(0.2)
                s.close()
        finally:
            ctx.term()
        assert p.proc.poll() is None, "the prefill worker died on garbage:\n" + "".join(p.log)
        deadline = time.time() + 10
        while "dropped" not in "".join(p.log) and time.time() < deadline:
            time.sleep(0.1)
        assert "dropped" in "".join(p.log), "garbage was not logged:\n" + "".join(p.log)
        for i in range(3):
            status, body = post(g.base, "/v1/chat/completions", {
                "messages": [{"role": "user", "content": f"Count to {i + 3}."}], "max_tokens": 6})
            assert status == 200, body
        wait_pools_full(g.base)
    finally:
        for proc in reversed(procs):
            stop_proc(proc)


# ---- cache_aware kv_events mode -------------------------------------------------------------------

def served_by(base, before):
    now = {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^tandem_gateway_worker_requests_total\{worker="([^"]+)"\} (\S+)$', get(base, "/metrics")[1],
        re.M)}
    changed = [w for w, v in now.items() if v > before.get(w, 0)]
    assert len(changed) == 1, (before, now)
    return changed[0], now


def wait_kv_blocks(base, url, minimum, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        w = next(w for w in workers_of(base) if w["url"] == url)
        if w.get("kv_event_blocks", 0) >= minimum:
            return w["kv_event_blocks"]
        time.sleep(0.1)
    raise AssertionError(f"no KV events from {url}: {workers_of(base)}")


def test_kv_events_mode_routes_a_shared_prefix_to_the_worker_that_cached_it(tandem_bin, default_model):
    procs = []
    try:
        w = [start_worker_threads(tandem_bin, default_model, 1) for _ in range(2)]
        procs += w
        g = start_gateway(tandem_bin, [x.address for x in w], "--cache-aware-mode", "kv_events")
        procs.append(g)
        counts = {}
        a, b = long_prompt(8, "alpha"), long_prompt(8, "beta")
        status, body = post(g.base, "/generate", {"text": a, "sampling_params": {"max_new_tokens": 2}})
        assert status == 200, body
        wa, counts = served_by(g.base, counts)
        wait_kv_blocks(g.base, wa, 8)
        # An unrelated prompt goes to the worker holding fewer blocks: the other one.
        status, body = post(g.base, "/generate", {"text": b, "sampling_params": {"max_new_tokens": 2}})
        assert status == 200, body
        wb, counts = served_by(g.base, counts)
        assert wb != wa
        wait_kv_blocks(g.base, wb, 8)
        # Follow-ups sharing each prefix go where the events say it is cached.
        for text, want in ((a + " And then?", wa), (b + " Why?", wb), (a + " Again.", wa)):
            status, body = post(g.base, "/generate", {"text": text, "sampling_params": {"max_new_tokens": 2}})
            assert status == 200, body
            got, counts = served_by(g.base, counts)
            assert got == want, f"{text[:20]}... went to {got}, cached on {want}"
        assert metric_sum(g.base, "tandem_worker_kv_event_blocks") >= 16
    finally:
        for proc in reversed(procs):
            stop_proc(proc)
