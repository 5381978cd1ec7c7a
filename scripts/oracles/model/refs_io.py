"""Provenance and compact JSON output shared by the reference generators."""
import hashlib
import importlib.metadata
import json
import platform
import subprocess

import numpy as np


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_versions(names):
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            out[n] = None
    return out


def git_commit(repo_dir):
    try:
        return subprocess.run(["git", "-C", repo_dir, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def logits_list(a, digits=5):
    """Rounded to `digits` decimals: a 5e-6 error, far below any tolerance the tests use, while
    keeping the files small."""
    return [round(float(x), digits) for x in np.asarray(a, dtype=np.float64).ravel()]


def top_k(logits, k):
    """Indices of the k largest logits, largest first; ties broken by the lower id."""
    logits = np.asarray(logits, dtype=np.float64)
    order = np.lexsort((np.arange(len(logits)), -logits))
    return order[:k]


def top_gap(logits):
    a, b = top_k(logits, 2)
    return float(logits[a] - logits[b])


def _encode(obj, indent):
    """JSON with nested objects indented but lists of scalars kept on one line: readable diffs
    without one line per number."""
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad} {json.dumps(k)}: {_encode(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        items = [pad + " " + _encode(v, indent + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def dump(path, obj):
    text = _encode(obj, 0) + "\n"
    json.loads(text)  # the writer is hand-rolled: make sure it produced valid JSON
    with open(path, "w") as f:
        f.write(text)
