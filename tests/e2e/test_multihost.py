"""A tensor-parallel worker spanning two "hosts" (issue #7): network namespaces tnd-h1 / tnd-h2 /
tnd-h3 joined by veth links to a bridge (scripts/netns/cluster.sh), mpirun starting one rank in each
of h1 and h2 through scripts/netns/netns_rsh (its ssh stand-in) with MPI's traffic on the veth
subnet, the gateway in h3, and the client in the root namespace. The answer must equal a single-
process worker's (greedy). Needs root, iproute2 and Open MPI; skips with the reason otherwise."""
import os
import shutil
import subprocess

import pytest

from conftest import start_gateway, start_listening, start_worker_threads, stop_proc, wait_ready

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, "scripts", "netns", "cluster.sh")
RSH = os.path.join(ROOT, "scripts", "netns", "netns_rsh")
SUBNET = "10.77.0.0/24"


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if not shutil.which("ip") or not shutil.which("mpirun"):
        pytest.skip("needs iproute2 (ip) and Open MPI (mpirun); scripts/setup.sh installs both")
    up = subprocess.run(["bash", CLUSTER, "up", "3"], capture_output=True, text=True)
    if up.returncode != 0:
        subprocess.run(["bash", CLUSTER, "down"], capture_output=True)
        pytest.skip(f"cannot create network namespaces here: {up.stderr.strip()[-300:]}")
    yield
    subprocess.run(["bash", CLUSTER, "down"], check=True, capture_output=True)


def chat(gw, prompt):
    r = gw.client().chat.completions.create(model="default", messages=[{"role": "user", "content": prompt}],
                                            max_tokens=24, temperature=0)
    return r.choices[0].message.content, r.usage.completion_tokens


def test_tp_worker_across_two_hosts_behind_a_gateway_on_a_third(cluster, tandem_bin, default_model):
    worker = start_listening(
        ["mpirun", "--allow-run-as-root", "--host", "10.77.0.1,10.77.0.2", "-np", "2", "--bind-to", "none",
         "--mca", "plm_rsh_agent", RSH, "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", SUBNET,
         "--mca", "oob_tcp_if_include", SUBNET,
         tandem_bin, "worker", "--tp", "2", "--threads", "1", "--model", default_model, "--host", "0.0.0.0",
         "--port", "30001", "--kv-slots", "4096", "--log-level", "info"],
        r"tandem worker listening on (\S+:\d+)")
    gateway = single = single_gw = None
    try:
        # The two ranks really are in different namespaces ("hosts").
        log = "".join(worker.log)
        assert "[worker-tp0]" in log and "[worker-tp1]" in log, log
        gateway = wait_ready(start_listening(
            ["ip", "netns", "exec", "tnd-h3", tandem_bin, "gateway", "--host", "10.77.0.3", "--port", "30000",
             "--worker-urls", "grpc://10.77.0.1:30001", "--log-level", "warn"],
            r"tandem gateway listening on http://(\S+:\d+)"))
        single = start_worker_threads(tandem_bin, default_model, 1)
        single_gw = start_gateway(tandem_bin, [single.address])
        for prompt in ("What is the capital of France?", "Name three colors."):
            assert chat(gateway, prompt) == chat(single_gw, prompt)
    finally:
        for p in (single_gw, single, gateway):
            if p:
                stop_proc(p)
        stop_proc(worker)
