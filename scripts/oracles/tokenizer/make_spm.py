#!/usr/bin/env python3
"""Build the committed SentencePiece-BPE test tokenizer (Llama-2/Mistral-v0.1 style).

    python scripts/oracles/tokenizer/make_spm.py        # dev-time; outputs are committed

Trains a tiny BPE model with the `sentencepiece` package (byte_fallback on, one user-defined
symbol) on generated text, then writes to tests/data/tokenizer/spm/:
  spm.gguf                 metadata-only GGUF (tokenizer.ggml.model "llama": tokens, scores,
                           token types, bos/eos/unk ids, add_bos_token) -- what llama.cpp reads
  legacy/tokenizer.json    the original Llama-2 shape: Prepend("▁") + Replace(" ", "▁") normalizer,
                           decoder Replace/ByteFallback/Fuse/Strip, "<s> $A" post-processor,
                           merges written as "a b" strings (the older format)
  metaspace/tokenizer.json transformers 5's LlamaTokenizer shape: Metaspace(prepend_scheme
                           "first") pre-tokenizer, merges as [a, b] pairs
  */tokenizer_config.json  bos/eos/unk, add_bos_token, chat_template
Merges are derived from the scores with transformers' generate_merges (what its converters do).
Expected ids are written separately by make_expected.py.
"""

import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "tests/data/tokenizer/spm"
VOCAB_SIZE = 1200
CHAT_TEMPLATE = "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"

WORDS = ("the of and to in is was that for on with as by at from his her they be this have an not are "
         "but had which one all were when we there can been has more if no out do so what up time about "
         "into than them only other new some could these two may first then its also after any over how "
         "people year work world state school between never under while last might great since against "
         "tokenizer model merge byte piece sentence server request stream token vocabulary language "
         "running jumped quickly slowly happily beautiful wonderful international national").split()
EXTRA_LINES = ["Привет мир, как дела?", "Bonjour à tous, ça va très bien.", "Grüße aus München!",
               "日本語もすこし。", "numbers 12 345 6789 and 3.14", "code: x = f(y) + 1;  // comment",
               "  indented line", "tabs\tand\ttabs", "Ünïcödé äccents éèê"]


def training_text(rng: random.Random) -> str:
    lines = []
    for _ in range(3000):
        n = rng.randint(3, 16)
        words = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.3:
            words[0] = words[0].capitalize()
        lines.append(" ".join(words) + rng.choice([".", ",", "!", "?", ""]))
    lines.extend(EXTRA_LINES * 20)
    lines.extend(text for _, text in corpus.cases() if text.strip() and "\x00" not in text)
    rng.shuffle(lines)
    return "\n".join(line.replace("\n", " ") for line in lines) + "\n"


def train(workdir: Path):
    import sentencepiece as spm

    rng = random.Random(7)
    text_path = workdir / "train.txt"
    text_path.write_text(training_text(rng))
    prefix = workdir / "spm"
    spm.SentencePieceTrainer.train(
        input=str(text_path), model_prefix=str(prefix), model_type="bpe", vocab_size=VOCAB_SIZE,
        byte_fallback=True, character_coverage=0.995, user_defined_symbols=["<tool>"],
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, add_dummy_prefix=True,
        remove_extra_whitespaces=False, normalization_rule_name="identity", split_digits=False,
        minloglevel=2)
    return spm.SentencePieceProcessor(model_file=str(prefix) + ".model")


def vocab_of(sp):
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(2)
        elif sp.is_control(i):
            types.append(3)
        elif sp.is_byte(i):
            types.append(6)
        elif sp.is_unused(i):
            types.append(5)
        elif tokens[-1] == "<tool>":
            types.append(4)  # user-defined
        else:
            types.append(1)
    return tokens, scores, types


def write_gguf(path: Path, tokens, scores, types) -> None:
    import gguf

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)
    w.add_chat_template(CHAT_TEMPLATE)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def build_hf(tokens, scores, types, legacy: bool):
    from tokenizers import AddedToken, decoders, normalizers, pre_tokenizers, processors
    from transformers import LlamaTokenizer
    from transformers.tokenization_utils_base import generate_merges

    vocab = {t: i for i, t in enumerate(tokens)}
    merges = generate_merges(vocab, dict(zip(tokens, scores)))
    tok = LlamaTokenizer(vocab=vocab, merges=merges).backend_tokenizer
    specials = [AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty in (2, 3)]
    tok.add_special_tokens(specials)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t, ty in zip(tokens, types) if ty == 4])
    if legacy:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.pre_tokenizer = None
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(content=" ", left=1, right=0)])
    else:
        assert isinstance(tok.pre_tokenizer, pre_tokenizers.Metaspace)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B:1",
                                                       special_tokens=[("<s>", 1)])
    j = json.loads(tok.to_str())
    if legacy:
        j["model"]["merges"] = [" ".join(m) for m in j["model"]["merges"]]
    return j


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        sp = train(Path(tmp))
    tokens, scores, types = vocab_of(sp)
    write_gguf(OUT / "spm.gguf", tokens, scores, types)
    cfg = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
           "add_eos_token": False, "chat_template": CHAT_TEMPLATE, "tokenizer_class": "LlamaTokenizer"}
    for name, legacy in (("legacy", True), ("metaspace", False)):
        d = OUT / name
        d.mkdir(exist_ok=True)
        (d / "tokenizer.json").write_text(json.dumps(build_hf(tokens, scores, types, legacy), ensure_ascii=False,
                                                     indent=1) + "\n")
        (d / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")

    # Sanity: sentencepiece itself against the legacy tokenizer.json on the corpus (informative only;
    # the C++ tests compare against tokenizers, which is what serving stacks use).
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(OUT / "legacy/tokenizer.json"))
    cases = [(n, t) for n, t in corpus.cases() if "<" not in t]
    diff = [n for n, t in cases if sp.encode(t) != hf.encode(t, add_special_tokens=False).ids]
    print(f"vocab {len(tokens)} ({types.count(6)} byte tokens); sentencepiece vs tokenizers (legacy): "
          f"{len(cases) - len(diff)}/{len(cases)} cases agree" + (f"; differ: {diff}" if diff else ""))


if __name__ == "__main__":
    main()
