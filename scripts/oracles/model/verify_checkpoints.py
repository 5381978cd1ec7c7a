#!/usr/bin/env python3
"""Checks that scripts/gen_random_checkpoint.py still writes the exact files the committed refs
were made from (sha256 recorded in tests/data/refs/random_<arch>.json). numpy + stdlib only, so CI
can run it where torch is absent.

    verify_checkpoints.py [--refs tests/data/refs]        exit 0 when all match, 1 otherwise

A mismatch means the generator changed (or numpy broke its bit-exactness): regenerate the refs
with make_refs.py --only random, or the C++ tests compare against data for different weights.
"""
import argparse
import glob
import json
import os
import sys
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", ".."))
import gen_random_checkpoint  # noqa: E402
from refs_io import sha256_file  # noqa: E402  (stdlib-only functions; numpy import is cheap)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--refs",
                    default=os.path.join(_HERE, "..", "..", "..", "tests", "data", "refs"))
    args = ap.parse_args()
    paths = sorted(glob.glob(os.path.join(args.refs, "random_*.json")))
    if not paths:
        print(f"no random_*.json under {args.refs}", file=sys.stderr)
        return 1
    bad = 0
    for path in paths:
        with open(path) as f:
            ref = json.load(f)
        with tempfile.TemporaryDirectory() as tmp:
            gen_random_checkpoint.generate(ref["arch"], tmp, ref["seed"])
            for name, want in ref["files_sha256"].items():
                got = sha256_file(os.path.join(tmp, name))
                ok = got == want
                bad += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {ref['arch']}/{name} seed {ref['seed']}: "
                      f"{got}" + ("" if ok else f" (refs expect {want})"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
