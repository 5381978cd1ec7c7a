import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tandem_bin():
    build = pathlib.Path(os.environ.get("TANDEM_BUILD_DIR", ROOT / "build"))
    path = build / "cli" / "tandem"
    assert path.exists(), f"{path} missing: build first (bash scripts/build.sh)"
    return str(path)


@pytest.fixture(scope="session")
def default_model():
    home = os.environ.get("TANDEM_HOME", os.path.expanduser("~/.cache/tandem"))
    model_dir = os.environ.get("TANDEM_MODEL_DIR", os.path.join(home, "models"))
    path = os.path.join(model_dir, "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert os.path.exists(path), f"{path} missing: run scripts/setup.sh"
    return path


class Served:
    """A running `tandem serve` (gateway + worker processes) on an ephemeral port."""

    def __init__(self, proc, port, log):
        self.proc, self.port, self.log = proc, port, log
        self.base = f"http://127.0.0.1:{port}"

    def client(self, **kw):
        from openai import OpenAI
        return OpenAI(base_url=self.base + "/v1", api_key=kw.pop("api_key", "none"), **kw)


class Proc:
    """A started `tandem` process that printed its "listening on" line: `address` is host:port."""

    def __init__(self, proc, address, log):
        self.proc, self.address, self.log = proc, address, log
        self.port = int(address.rsplit(":", 1)[1])
        self.base = f"http://{address}"

    def client(self, **kw):
        from openai import OpenAI
        return OpenAI(base_url=self.base + "/v1", api_key=kw.pop("api_key", "none"), **kw)


def start_listening(cmd, pattern, timeout=120):
    """Runs cmd and waits for a stdout line matching `pattern` (one group: host:port); keeps
    collecting its output (stdout + stderr) in Proc.log."""
    import re
    import subprocess
    import threading
    import time

    # errors="replace": a process that logs non-UTF-8 bytes must not kill the reader (and then block
    # on a full pipe).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace")
    address, lines, deadline = None, [], time.time() + timeout
    while address is None and time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(pattern, line)
        if m:
            address = m.group(1)
    if not address:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{cmd[1]} did not start:\n" + "".join(lines))
    threading.Thread(target=lambda: [lines.append(l) for l in proc.stdout], daemon=True).start()
    return Proc(proc, address, lines)


def wait_ready(p, timeout=120, want=200):
    """Polls GET /readiness until it answers `want`."""
    import time
    import urllib.error
    import urllib.request
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(p.base + "/readiness", timeout=2) as r:
                if r.status == want:
                    return p
        except urllib.error.HTTPError as e:
            if e.code == want:
                return p
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{p.base}/readiness never answered {want}:\n" + "".join(p.log))


def start_worker(tandem_bin, model, *extra):
    """`tandem worker --port 0` (2 threads, a small KV cache); Proc.address is its gRPC address."""
    return start_listening([tandem_bin, "worker", "--model", model, "--port", "0", "--threads", "2",
                            "--kv-slots", "4096", "--log-level", "warn", *extra],
                           r"tandem worker listening on (\S+:\d+)")


def start_gateway(tandem_bin, worker_urls, *extra, ready=True):
    """`tandem gateway --port 0 --worker-urls ...`, waited on until ready (unless ready=False)."""
    p = start_listening([tandem_bin, "gateway", "--port", "0", "--host", "127.0.0.1",
                         "--worker-urls", ",".join(worker_urls), "--log-level", "warn", *extra],
                        r"tandem gateway listening on http://(\S+:\d+)")
    return wait_ready(p) if ready else p


def stop_proc(p, sig=None, timeout=60):
    """SIGTERM (or `sig`) and wait; returns the exit code."""
    import signal
    import subprocess
    if p.proc.poll() is None:
        p.proc.send_signal(sig or signal.SIGTERM)
    try:
        return p.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.proc.kill()
        return p.proc.wait()


def start_serve(tandem_bin, model, *extra, timeout=120):
    p = start_listening([tandem_bin, "serve", "--model", model, "--port", "0", "--threads", "2",
                         "--log-level", "warn", *extra],
                        r"tandem serve listening on http://(\S+:\d+)", timeout=timeout)
    served = Served(p.proc, p.port, p.log)
    try:
        return wait_ready(served, timeout=timeout)
    except AssertionError:
        p.proc.kill()
        raise


def stop_serve(served):
    import signal
    served.proc.send_signal(signal.SIGTERM)
    rc = served.proc.wait(timeout=60)
    assert rc == 0, "tandem serve exited with %d:\n%s" % (rc, "".join(served.log))


@pytest.fixture(scope="module")
def served(tandem_bin, default_model):
    s = start_serve(tandem_bin, default_model)
    yield s
    stop_serve(s)


# ---- Prefill/decode disaggregation ---------------------------------------------------------------

def start_worker_threads(tandem_bin, model, threads, *extra):
    """start_worker with `threads` compute threads (several workers share this machine's cores)."""
    return start_listening([tandem_bin, "worker", "--model", model, "--port", "0", "--threads",
                            str(threads), "--kv-slots", "4096", "--log-level", "warn", *extra],
                           r"tandem worker listening on (\S+:\d+)")


def start_pd_worker(tandem_bin, model, role, *extra, threads=1):
    """`tandem worker --role prefill|decode` (prefill: an ephemeral bootstrap port unless `extra`
    names one). Proc.role is the role; Proc.bootstrap_port the prefill worker's bootstrap port, from
    its "listening on HOST:PORT (grpc), bootstrap HOST:BPORT" line (None for decode)."""
    import re
    args = ["--role", role]
    if role == "prefill" and "--bootstrap-port" not in extra:
        args += ["--bootstrap-port", "0"]
    p = start_worker_threads(tandem_bin, model, threads, *args, *extra)
    p.role = role
    m = re.search(r"bootstrap (\S+):(\d+)", "".join(p.log))
    p.bootstrap_port = int(m.group(2)) if m else None
    if role == "prefill":
        assert p.bootstrap_port, "prefill worker printed no bootstrap port:\n" + "".join(p.log)
    return p


def start_pd_gateway(tandem_bin, prefills, decodes, *extra, ready=True):
    """`tandem gateway --prefill URL,BPORT ... --decode URL ...` over started PD workers."""
    cmd = [tandem_bin, "gateway", "--port", "0", "--host", "127.0.0.1", "--log-level", "warn"]
    for p in prefills:
        cmd += ["--prefill", f"{p.address},{p.bootstrap_port}" if p.bootstrap_port else p.address]
    for d in decodes:
        cmd += ["--decode", d.address]
    p = start_listening(cmd + list(extra), r"tandem gateway listening on http://(\S+:\d+)")
    return wait_ready(p) if ready else p


# ---- Tensor parallel (mpirun) --------------------------------------------------------------------

def mpirun_cmd(np, *extra):
    """mpirun for this machine: N ranks on few cores (--oversubscribe, ranks yield while waiting),
    as root in CI (--allow-run-as-root)."""
    import shutil
    mpirun = shutil.which("mpirun")
    if not mpirun:
        pytest.skip("mpirun is not installed (scripts/setup.sh installs openmpi-bin)")
    return [mpirun, "--oversubscribe", "--allow-run-as-root", "--mca", "mpi_yield_when_idle", "1",
            "-np", str(np), *extra]


def start_tp_worker(tandem_bin, model, tp, *extra, threads=1):
    """`mpirun -np tp tandem worker --tp tp --port 0`; Proc.address is rank 0's gRPC address."""
    return start_listening(mpirun_cmd(tp) + [tandem_bin, "worker", "--model", model, "--tp", str(tp),
                                             "--port", "0", "--threads", str(threads), "--kv-slots", "4096",
                                             "--log-level", "warn", *extra],
                           r"tandem worker listening on (\S+:\d+)")


def rank_pids(mpirun_proc):
    """{rank: pid} of the worker processes an mpirun started on this host."""
    import os
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != mpirun_proc.pid:
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
            if b"OMPI_COMM_WORLD_RANK" in env:
                out[int(env[b"OMPI_COMM_WORLD_RANK"])] = int(entry)
        except (OSError, ValueError, IndexError):
            continue
    return out


def stop_tp_worker(p, timeout=60):
    """Graceful stop of an mpirun TP worker: SIGTERM to rank 0, which drains, releases the other
    ranks and exits 0, and so does mpirun. (SIGTERM to mpirun itself also stops every rank, but
    mpirun then exits 1 whatever the ranks did.) Returns mpirun's exit code."""
    import os
    import signal
    import subprocess
    pid = rank_pids(p.proc).get(0)
    if pid and p.proc.poll() is None:
        os.kill(pid, signal.SIGTERM)
    try:
        return p.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.proc.kill()
        return p.proc.wait()
