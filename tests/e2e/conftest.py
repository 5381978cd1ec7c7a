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


def start_serve(tandem_bin, model, *extra, timeout=120):
    import re
    import subprocess
    import time
    import urllib.request

    proc = subprocess.Popen([tandem_bin, "serve", "--model", model, "--port", "0", "--threads", "2",
                             "--log-level", "warn", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port, lines, deadline = None, [], time.time() + timeout
    while port is None and time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"tandem serve listening on http://[^:]+:(\d+)", line)
        if m:
            port = int(m.group(1))
    assert port, "tandem serve did not start:\n" + "".join(lines)
    import threading
    threading.Thread(target=lambda: [lines.append(l) for l in proc.stdout], daemon=True).start()
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readiness", timeout=2) as r:
                if r.status == 200:
                    return Served(proc, port, lines)
        except Exception:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("tandem serve never became ready:\n" + "".join(lines))


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
