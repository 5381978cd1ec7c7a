#!/usr/bin/env python3
"""Write the expected token ids (HF `tokenizers` as the oracle) that the C++ tokenizer tests compare to.

    python scripts/oracles/tokenizer/make_expected.py [--gen DIR] [--check]

Reads the corpus (corpus.py), the generated SmolLM2 variants (gen_smollm2_tokenizers.py; DIR as
there) and the committed SentencePiece tokenizers (make_spm.py), and writes to tests/data/tokenizer/:
  corpus.jsonl               {"name", "text"}
  expected_<variant>.jsonl   {"name", "ids", "ids_special", "roundtrip"[, "needs_nfc"]}
      ids: encode(text, add_special_tokens=False); ids_special: with add_special_tokens=True;
      roundtrip: decode(ids, skip_special_tokens=False) == text; needs_nfc: the variant's NFC
      normalizer changes the result (Tandem treats NFC as identity, so the test skips those).
  decode_<family>.jsonl      {"ids", "text", "text_skip"}: decode of random id sequences and of
      encodings cut at random points (split multi-byte characters), without/with skipping specials.
--check compares instead of writing and exits 1 on any difference (oracle drift).
"""

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402
from gen_smollm2_tokenizers import default_out_dir  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests/data/tokenizer"
GEN_VARIANTS = ["smollm2", "smollm2_gpt2", "smollm2_llama3", "smollm2_qwen2", "smollm2_flags"]
SPM_VARIANTS = {"spm_legacy": DATA / "spm/legacy", "spm_metaspace": DATA / "spm/metaspace"}
DECODE_FAMILIES = {"smollm2": "smollm2", "spm_legacy": "spm_legacy", "spm_metaspace": "spm_metaspace"}


def dumps(obj) -> str:
    # Readable UTF-8, but with the characters some tools treat as line breaks escaped, so that
    # every record stays on its own line for any reader.
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for ch in ("\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"):
        s = s.replace(ch, f"\\u{ord(ch):04x}")
    return s


def expected_lines(tok, cases) -> list[str]:
    from tokenizers import Tokenizer

    no_nfc = None
    if tok.normalizer is not None and "NFC" in json.dumps(json.loads(tok.to_str())["normalizer"]):
        no_nfc = Tokenizer.from_str(tok.to_str())
        no_nfc.normalizer = None
    lines = []
    for name, text in cases:
        ids = tok.encode(text, add_special_tokens=False).ids
        rec = {"name": name, "ids": ids, "ids_special": tok.encode(text, add_special_tokens=True).ids,
               "roundtrip": tok.decode(ids, skip_special_tokens=False) == text}
        if no_nfc is not None and no_nfc.encode(text, add_special_tokens=False).ids != ids:
            rec["needs_nfc"] = True
        lines.append(dumps(rec))
    return lines


def decode_lines(tok, cases, seed: int) -> list[str]:
    rng = random.Random(seed)
    n = tok.get_vocab_size(with_added_tokens=True)
    specials = [i for i in range(min(n, 300)) if tok.id_to_token(i) and tok.id_to_token(i).startswith("<")]
    seqs = []
    for _ in range(80):  # uniformly random ids, sprinkled with specials and low ids (bytes in SPM)
        seq = []
        for _ in range(rng.randint(1, 24)):
            r = rng.random()
            seq.append(rng.choice(specials) if r < 0.1 else rng.randrange(min(n, 300)) if r < 0.4 else rng.randrange(n))
        seqs.append(seq)
    texts = [t for _, t in cases if t]
    for _ in range(80):  # real encodings, cut anywhere (splits multi-byte characters between tokens)
        ids = tok.encode(rng.choice(texts), add_special_tokens=rng.random() < 0.3).ids
        a = rng.randrange(len(ids))
        seqs.append(ids[a:a + rng.randint(1, 12)])
    seqs.append([])
    return [dumps({"ids": s, "text": tok.decode(s, skip_special_tokens=False),
                   "text_skip": tok.decode(s, skip_special_tokens=True)}) for s in seqs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gen", type=Path, default=None, help="generated tokenizer dir (default as gen_smollm2)")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    gen = args.gen or default_out_dir()

    from tokenizers import Tokenizer

    cases = corpus.cases()
    outputs = {"corpus.jsonl": [dumps({"name": n, "text": t}) for n, t in cases]}
    sources = {v: gen / v for v in GEN_VARIANTS} | SPM_VARIANTS
    for variant, d in sources.items():
        path = d / "tokenizer.json"
        if not path.exists():
            sys.exit(f"missing {path}: run scripts/oracles/tokenizer/gen_smollm2_tokenizers.py first")
        tok = Tokenizer.from_file(str(path))
        outputs[f"expected_{variant}.jsonl"] = expected_lines(tok, cases)
        if variant in DECODE_FAMILIES:
            outputs[f"decode_{DECODE_FAMILIES[variant]}.jsonl"] = decode_lines(tok, cases, seed=len(variant))

    bad = 0
    for name, lines in outputs.items():
        path = DATA / name
        text = "\n".join(lines) + "\n"
        if args.check:
            if not path.exists() or path.read_text() != text:
                print(f"DIFFERS: {path}")
                bad += 1
        else:
            path.write_text(text)
    if args.check:
        print("oracle data up to date" if not bad else f"{bad} file(s) differ")
        sys.exit(1 if bad else 0)
    total = sum(len("\n".join(v)) for v in outputs.values())
    print(f"wrote {len(outputs)} files ({total / 1024:.0f} KiB) to {DATA}")


if __name__ == "__main__":
    main()
