"""Several workers behind one gateway: every routing policy observed through the per-worker
request counter in /metrics, worker failures (killed mid-stream, killed before a request, down
at start), and `tandem up` starting a topology from a YAML file (ACCEPTANCE 16, 18, 20)."""
import http.client
import json
import os
import re
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import start_gateway, start_listening, start_worker, stop_proc, wait_ready

LONG_PREFIX = ("You are a meticulous assistant. Answer briefly. Here is some background that every "
               "question in this conversation shares: the river runs north through three valleys, "
               "the old mill stands at the second bridge, and the market opens at dawn. ") * 4


def get(base, path, timeout=10):
    try:
        with urllib.request.urlopen(base + path, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def chat(base, content, max_tokens=1, headers=None, **extra):
    body = {"messages": [{"role": "user", "content": content}], "max_tokens": max_tokens,
            "temperature": 0, **extra}
    req = urllib.request.Request(base + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def routed(base):
    """{worker address: requests the gateway sent it} from /metrics."""
    status, text = get(base, "/metrics")
    assert status == 200
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r'^tandem_gateway_worker_requests_total\{worker="([^"]+)"\} (\S+)$', text,
                        re.M)}


def metric(base, name):
    m = re.search(rf"^{name} (\S+)$", get(base, "/metrics")[1], re.M)
    return float(m.group(1)) if m else 0.0


def send_and_see(base, workers, content, **kw):
    """Sends one chat request; returns the worker that served it (per the /metrics counter)."""
    before = routed(base)
    status, body = chat(base, content, **kw)
    assert status == 200, body
    after = routed(base)
    moved = [w for w in workers if after.get(w, 0) != before.get(w, 0)]
    assert len(moved) == 1, (before, after)
    return moved[0]


class Stream:
    """A streaming chat request read on its own thread: `events` collects the SSE payloads."""

    def __init__(self, port, content, max_tokens):
        self.events, self.status, self.error = [], None, None
        body = json.dumps({"messages": [{"role": "user", "content": content}], "stream": True,
                           "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True})
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.conn.request("POST", "/v1/chat/completions", body,
                          {"Content-Type": "application/json"})
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            r = self.conn.getresponse()
            self.status = r.status
            for raw in r:
                line = raw.decode().strip()
                if line.startswith("data:"):
                    self.events.append(line[5:].strip())
        except Exception as e:  # noqa: BLE001 - recorded for the assertion message
            self.error = e

    def tokens(self):
        return sum(1 for e in self.events if e != "[DONE]" and "error" not in json.loads(e)
                   and json.loads(e)["choices"] and json.loads(e)["choices"][0]["delta"].get("content"))

    def wait_tokens(self, n, timeout=60):
        deadline = time.time() + timeout
        while self.tokens() < n and time.time() < deadline and self.thread.is_alive():
            time.sleep(0.05)
        assert self.tokens() >= n, (self.status, self.events, self.error)

    def join(self, timeout=120):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the stream never ended"

    def ended_with_error(self):
        payloads = [json.loads(e) for e in self.events if e != "[DONE]"]
        return bool(payloads) and "error" in payloads[-1]

    def finished(self):
        payloads = [json.loads(e) for e in self.events if e != "[DONE]"]
        return any(p.get("choices") and p["choices"][0].get("finish_reason") for p in payloads)


@pytest.fixture(scope="module")
def pair(tandem_bin, default_model):
    workers = [start_worker(tandem_bin, default_model) for _ in range(2)]
    yield [w.address for w in workers]
    for w in workers:
        assert stop_proc(w) == 0, "".join(w.log)


def with_gateway(tandem_bin, urls, *extra):
    g = start_gateway(tandem_bin, urls, *extra)
    deadline = time.time() + 30  # every worker checked healthy, not just the first one
    while time.time() < deadline and json.loads(get(g.base, "/readiness")[1])["healthy_workers"] < len(urls):
        time.sleep(0.1)
    return g


def test_round_robin_alternates(tandem_bin, pair):
    g = with_gateway(tandem_bin, pair, "--policy", "round_robin")
    try:
        seen = [send_and_see(g.base, pair, f"Say {i}.") for i in range(4)]
        assert seen[0] != seen[1] and seen[0] == seen[2] and seen[1] == seen[3], seen
    finally:
        assert stop_proc(g) == 0, "".join(g.log)


def test_random_reaches_both(tandem_bin, pair):
    g = with_gateway(tandem_bin, pair, "--policy", "random")
    try:
        seen = {send_and_see(g.base, pair, f"Say {i}.") for i in range(16)}
        assert seen == set(pair)  # all 16 on one worker: chance 2^-15
    finally:
        assert stop_proc(g) == 0, "".join(g.log)


def test_power_of_two_prefers_the_idle_worker(tandem_bin, pair):
    g = with_gateway(tandem_bin, pair, "--policy", "power_of_two")
    try:
        before = routed(g.base)
        long = Stream(g.port, "Tell me a very long story about a dragon.", max_tokens=400)
        long.wait_tokens(2)
        after = routed(g.base)
        busy = [w for w in pair if after.get(w, 0) != before.get(w, 0)]
        assert len(busy) == 1
        idle = [w for w in pair if w != busy[0]][0]
        # While the long generation runs, every short request goes to the other worker.
        seen = [send_and_see(g.base, pair, f"Say {i}.") for i in range(5)]
        assert long.thread.is_alive(), "the long generation ended too early to prove anything"
        assert seen == [idle] * 5, (busy, seen)
        long.conn.close()
        long.join()
    finally:
        assert stop_proc(g) == 0, "".join(g.log)


def test_cache_aware_keeps_a_shared_prefix_on_one_worker(tandem_bin, pair):
    g = with_gateway(tandem_bin, pair, "--policy", "cache_aware")
    try:
        first = [send_and_see(g.base, pair, LONG_PREFIX + f"Question {i}: what opens at dawn?")
                 for i in range(4)]
        other = "Completely different words about oceans, ships and harbour cranes. " * 8
        second = [send_and_see(g.base, pair, other + f"Question {i}?") for i in range(3)]
        assert len(set(first)) == 1, first
        assert len(set(second)) == 1, second
    finally:
        assert stop_proc(g) == 0, "".join(g.log)


def test_consistent_hash_sticks_a_session_to_one_worker(tandem_bin, pair):
    g = with_gateway(tandem_bin, pair, "--policy", "consistent_hash")
    try:
        alice = [send_and_see(g.base, pair, f"Say {i}.", headers={"x-session-id": "alice"})
                 for i in range(5)]
        assert len(set(alice)) == 1, alice
        # Many sessions spread over both workers, each one sticking to its own.
        spread = {send_and_see(g.base, pair, "Hi.", headers={"x-session-id": f"s{i}"})
                  for i in range(12)}
        assert spread == set(pair)
        again = send_and_see(g.base, pair, "Once more.", headers={"x-session-id": "alice"})
        assert again == alice[0]
    finally:
        assert stop_proc(g) == 0, "".join(g.log)


def test_starts_serving_with_one_worker_down(tandem_bin, pair):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = f"127.0.0.1:{s.getsockname()[1]}"
    s.close()  # nothing listens there now
    g = start_gateway(tandem_bin, [closed, pair[0]], "--policy", "round_robin")
    try:
        status, body = get(g.base, "/readiness")
        assert status == 200 and json.loads(body)["healthy_workers"] == 1, body
        for i in range(3):
            assert send_and_see(g.base, [closed, pair[0]], f"Say {i}.") == pair[0]
    finally:
        assert stop_proc(g) == 0, "".join(g.log)


def test_request_to_a_just_killed_worker_is_retried_on_the_other(tandem_bin, default_model):
    workers = [start_worker(tandem_bin, default_model) for _ in range(2)]
    urls = [w.address for w in workers]
    g = with_gateway(tandem_bin, urls, "--policy", "round_robin")
    try:
        stop_proc(workers[0], signal.SIGKILL)
        # The health checker needs several failed checks (seconds) to mark it down; these
        # requests come first, so round robin sends every other one to the dead worker.
        for i in range(4):
            status, body = chat(g.base, f"Say {i}.")
            assert status == 200, body
        counts = routed(g.base)
        assert counts.get(urls[0], 0) >= 1, counts  # the dead worker was tried...
        assert metric(g.base, "tandem_gateway_retries_total") >= 1  # ...and retried elsewhere
        assert counts.get(urls[1], 0) == 4, counts
    finally:
        assert stop_proc(g) == 0, "".join(g.log)
        for w in workers:
            stop_proc(w)


def test_worker_killed_mid_load(tandem_bin, default_model):
    workers = [start_worker(tandem_bin, default_model) for _ in range(2)]
    urls = [w.address for w in workers]
    g = with_gateway(tandem_bin, urls, "--policy", "round_robin")
    try:
        streams, owner = [], []
        for i in range(2):
            before = routed(g.base)
            st = Stream(g.port, f"Tell me a long story number {i}.", max_tokens=300)
            st.wait_tokens(2)
            after = routed(g.base)
            owner.append([u for u in urls if after.get(u, 0) != before.get(u, 0)][0])
            streams.append(st)
        assert sorted(owner) == sorted(urls)
        victim = workers[0]
        stop_proc(victim, signal.SIGKILL)
        for st in streams:
            st.join()
        for st, w in zip(streams, owner):
            assert st.status == 200
            if w == victim.address:
                assert st.ended_with_error(), st.events[-3:]
                assert st.events[-1] == "[DONE]"
            else:
                assert st.finished() and not st.ended_with_error(), st.events[-3:]
        # New requests reach the survivor (retried there until the victim is marked down).
        for i in range(3):
            status, body = chat(g.base, f"Say {i}.")
            assert status == 200, body
        deadline = time.time() + 30
        while time.time() < deadline and json.loads(get(g.base, "/readiness")[1])["healthy_workers"] != 1:
            time.sleep(0.2)
        status, body = get(g.base, "/readiness")
        assert status == 200 and json.loads(body)["healthy_workers"] == 1, body
        # The last worker goes: not ready, requests get an immediate 503, the gateway lives on.
        stop_proc(workers[1], signal.SIGKILL)
        wait_ready(g, timeout=30, want=503)
        t0 = time.time()
        status, body = chat(g.base, "Anyone there?")
        assert status == 503 and body["error"]["message"], body
        assert time.time() - t0 < 1.0  # not retried (ACCEPTANCE 18)
        assert g.proc.poll() is None
        assert get(g.base, "/health")[0] == 200
    finally:
        assert stop_proc(g) == 0, "".join(g.log)
        for w in workers:
            stop_proc(w)


def test_up_starts_workers_and_gateway_from_yaml(tandem_bin, default_model, tmp_path):
    cfg = tmp_path / "cluster.yaml"
    cfg.write_text(f"""
workers:
  - model: {default_model}
    threads: 1
    kv_slots: 2048
    replicas: 2
gateway:
  policy: round_robin
  port: 30000          # overridden by --port 0 on the command line
  log_level: warn
""")
    up = start_listening([tandem_bin, "up", "-c", str(cfg), "--port", "0"],
                         r"tandem up listening on http://(\S+:\d+)")
    try:
        wait_ready(up)
        deadline = time.time() + 30
        while time.time() < deadline:
            listed = json.loads(get(up.base, "/workers")[1])["workers"]
            if sum(1 for w in listed if w["healthy"]) == 2:
                break
            time.sleep(0.2)
        urls = [w["url"] for w in listed]
        assert len(urls) == 2 and all(w["healthy"] for w in listed), listed
        seen = [send_and_see(up.base, urls, f"Say {i}.") for i in range(2)]
        assert sorted(seen) == sorted(urls)
    finally:
        assert stop_proc(up) == 0, "".join(up.log)
    for u in urls:  # the workers went down with it
        host, port = u.rsplit(":", 1)
        with pytest.raises(OSError):
            socket.create_connection((host, int(port)), timeout=2).close()


def test_up_rejects_a_malformed_file(tandem_bin, tmp_path):
    import subprocess
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("workers: []\ngateway: {policy: round_robin}\n")
    r = subprocess.run([tandem_bin, "up", "-c", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "workers" in r.stderr, r.stderr
    cfg.write_text("workers: [{threads: 1}]\nrouters: {}\n")
    r = subprocess.run([tandem_bin, "up", "-c", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "routers" in r.stderr, r.stderr


def test_up_fails_cleanly_when_a_worker_cannot_start(tandem_bin, default_model, tmp_path):
    import subprocess
    cfg = tmp_path / "broken.yaml"
    cfg.write_text(f"workers:\n  - model: {default_model}\n    threads: 1\n"
                   f"  - model: {tmp_path}/missing.gguf\ngateway: {{port: 0}}\n")
    r = subprocess.run([tandem_bin, "up", "-c", str(cfg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "worker 1 exited with code 1 before listening" in r.stderr, r.stderr
    assert "missing.gguf" in r.stderr  # the worker's own message is shown too
