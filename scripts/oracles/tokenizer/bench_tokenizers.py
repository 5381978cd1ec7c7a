#!/usr/bin/env python3
"""Peer numbers for bench/micro/tokenizer_bench.cc: the same workloads through HF `tokenizers`.

    python scripts/oracles/tokenizer/bench_tokenizers.py [--dir DIR] [--seconds 2]

DIR holds tokenizer.json (default: the generated SmolLM2 one, see gen_smollm2_tokenizers.py).
Single thread, CPU time (process_time), like the C++ benchmark's CPU column:
  encode_corpus_cases  each corpus text encoded on its own (MB/s; includes Python call overhead)
  encode_document      the corpus texts joined and repeated to ~1 MiB, encoded at once (MB/s)
  encode_prose         only the everyday-text cases (prose, code, JSON, ...), repeated to ~1 MiB
  decode               that document's ids decoded at once (M tokens/s)
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_smollm2_tokenizers import default_out_dir  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
ORDINARY = {"prose", "python_code", "cpp_code", "json", "markdown", "contractions", "url_email", "numbers_mixed",
            "chinese", "cyrillic", "accented_latin", "chat_markers"}


def timed(fn, seconds: float) -> float:
    """CPU seconds per call, repeating fn for about `seconds`."""
    fn()  # warm the word cache, as the C++ benchmark's repetitions do
    n, start = 0, time.process_time()
    while True:
        fn()
        n += 1
        spent = time.process_time() - start
        if spent >= seconds:
            return spent / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    from tokenizers import Tokenizer

    d = args.dir or default_out_dir() / "smollm2"
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    records = [json.loads(line) for line in (REPO / "tests/data/tokenizer/corpus.jsonl").read_text().split("\n") if line]
    cases = [r["text"] for r in records]
    ordinary = "".join(r["text"] + "\n" for r in records if r["name"] in ORDINARY)
    prose = ordinary
    while len(prose.encode()) < (1 << 20):
        prose += ordinary
    case_bytes = sum(len(c.encode()) for c in cases)
    joined = "".join(c + "\n" for c in cases)
    document = joined
    while len(document.encode()) < (1 << 20):
        document += joined
    doc_bytes = len(document.encode())
    ids = tok.encode(document, add_special_tokens=False).ids

    t = timed(lambda: [tok.encode(c, add_special_tokens=False) for c in cases], args.seconds)
    print(f"encode_corpus_cases  {case_bytes / t / 2**20:8.2f} MiB/s")
    t = timed(lambda: tok.encode(document, add_special_tokens=False), args.seconds)
    print(f"encode_document      {doc_bytes / t / 2**20:8.2f} MiB/s")
    t = timed(lambda: tok.encode(prose, add_special_tokens=False), args.seconds)
    print(f"encode_prose         {len(prose.encode()) / t / 2**20:8.2f} MiB/s")
    t = timed(lambda: tok.decode(ids, skip_special_tokens=False), args.seconds)
    print(f"decode               {len(ids) / t / 1e6:8.2f} M tokens/s")


if __name__ == "__main__":
    main()
