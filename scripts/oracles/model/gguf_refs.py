"""Reference outputs for the default GGUF model from two independent implementations.

transformers dequantizes the Q4_1/Q8_0 weights to float32 and computes in float32; llama.cpp keeps
the weights quantized and quantizes activations to 8 bits inside its matmuls, as our engine does.
Their disagreement is therefore a fair measure of how far a correct quantized engine may sit from
the float reference, and it is recorded next to the data (see tests/data/refs/README.md).
"""
import os
import sys

import numpy as np
import torch

import gguf_prompts
import refs_io

TOP_K = 100
GREEDY_STEPS = 32
N_CTX = 1024


class TransformersRunner:
    def __init__(self, model_path):
        from transformers import AutoModelForCausalLM, AutoTokenizer
        d, f = os.path.split(model_path)
        self.tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
        self.model = AutoModelForCausalLM.from_pretrained(
            d, gguf_file=f, dtype=torch.float32, attn_implementation="eager").eval()

    def encode(self, kind, content):
        """(rendered text, token ids) with the tokenizer's defaults for special tokens."""
        if kind == "chat":
            msgs = [{"role": "user", "content": content}]
            text = self.tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
            return text, self.tok(text, add_special_tokens=False)["input_ids"]
        return content, self.tok(content)["input_ids"]

    def run(self, ids, steps):
        """Last-prompt-position logits and greedy continuation with per-step logits (KV cache)."""
        with torch.no_grad():
            out = self.model(torch.tensor([ids]), use_cache=True)
            step_logits, tokens = [], []
            for _ in range(steps):
                last = out.logits[0, -1].double().numpy()
                step_logits.append(last)
                tokens.append(int(refs_io.top_k(last, 1)[0]))
                out = self.model(torch.tensor([[tokens[-1]]]),
                                 past_key_values=out.past_key_values, use_cache=True)
        return tokens, step_logits


class LlamaCppRunner:
    def __init__(self, model_path, threads):
        import llama_cpp
        self.llm = llama_cpp.Llama(model_path=model_path, n_ctx=N_CTX, n_batch=512,
                                   n_threads=threads, n_threads_batch=threads, logits_all=True,
                                   seed=0, verbose=False)
        self.n_batch = 512

    def tokenize(self, text):
        return self.llm.tokenize(text.encode("utf-8"), add_bos=self.llm.metadata.get(
            "tokenizer.ggml.add_bos_token", "false") == "true", special=True)

    def _eval_all(self, ids):
        self.llm.reset()
        self.llm.eval(ids)
        return np.array(self.llm.scores[:len(ids)], dtype=np.float64)

    def run(self, ids, steps):
        """Same as TransformersRunner.run: prompt in one eval, then one token per eval."""
        last = self._eval_all(ids)[-1]
        step_logits, tokens = [], []
        for _ in range(steps):
            step_logits.append(last)
            tokens.append(int(refs_io.top_k(last, 1)[0]))
            self.llm.eval([tokens[-1]])
            last = np.array(self.llm.scores[self.llm.n_tokens - 1], dtype=np.float64)
        return tokens, step_logits

    def teacher_forced(self, ids, tokens):
        """Logits for every continuation step when fed the other implementation's tokens."""
        rows = self._eval_all(ids + tokens[:-1])
        return rows[len(ids) - 1:]


def side_record(tokens, step_logits):
    top = refs_io.top_k(step_logits[0], TOP_K)
    gaps = [refs_io.top_gap(s) for s in step_logits]
    return {
        "top100_ids": [int(i) for i in top],
        "top100_logits": refs_io.logits_list(step_logits[0][top]),
        "greedy_tokens": tokens,
        "greedy_top1_logits": refs_io.logits_list([s[t] for s, t in zip(step_logits, tokens)]),
        "greedy_top5_ids": [[int(i) for i in refs_io.top_k(s, 5)] for s in step_logits],
        "greedy_top5_logits": [refs_io.logits_list(s[refs_io.top_k(s, 5)]) for s in step_logits],
        "greedy_gaps": refs_io.logits_list(gaps),
        "min_greedy_gap": round(min(gaps), 5),
        "min_gap_step": int(np.argmin(gaps)),
        "last_position_gap": round(gaps[0], 5),
    }


def top_diffs(a, b):
    """|a - b| over the union of both vectors' top-100 ids."""
    ids = np.union1d(refs_io.top_k(a, TOP_K), refs_io.top_k(b, TOP_K))
    return np.abs(a[ids] - b[ids])


def max_top_diff(a, b):
    return float(top_diffs(a, b).max())


def rms_top_diff(pairs):
    d = np.concatenate([top_diffs(a, b) for a, b in pairs])
    return float(np.sqrt(np.mean(d * d)))


def agreement(hf, cpp, hf_steps, cpp_steps, forced_steps, cpp_prefill_steps):
    common = 0
    while common < len(hf) and hf[common] == cpp[common]:
        common += 1
    forced_argmax = [int(refs_io.top_k(s, 1)[0]) for s in forced_steps]
    return {
        "last_max_abs_dlogit_top100": round(max_top_diff(hf_steps[0], cpp_steps[0]), 5),
        "last_rms_dlogit_top100": round(rms_top_diff([(hf_steps[0], cpp_steps[0])]), 5),
        "last_top1_same": hf[0] == cpp[0],
        "last_top10_overlap": len(set(refs_io.top_k(hf_steps[0], 10).tolist())
                                  & set(refs_io.top_k(cpp_steps[0], 10).tolist())),
        "greedy_agree_len": common,
        "teacher_forced_argmax_agree": sum(int(a == b) for a, b in zip(forced_argmax, hf)),
        "teacher_forced_max_abs_dlogit_top100": round(
            max(max_top_diff(h, c) for h, c in zip(hf_steps, forced_steps)), 5),
        "teacher_forced_rms_dlogit_top100": round(rms_top_diff(zip(hf_steps, forced_steps)), 5),
        # llama.cpp against itself: its own greedy path decoded one token at a time versus the
        # same tokens in one prefill batch (different matmul kernels). A floor for any tolerance.
        "llama_cpp_prefill_vs_decode_max_abs_dlogit_top100": round(
            max(max_top_diff(d, p) for d, p in zip(cpp_steps, cpp_prefill_steps)), 5),
        "llama_cpp_prefill_vs_decode_argmax_agree": sum(
            int(refs_io.top_k(p, 1)[0] == t) for p, t in zip(cpp_prefill_steps, cpp)),
    }


def make(model_path, out_dir, threads):
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    hf = TransformersRunner(model_path)
    cpp = LlamaCppRunner(model_path, threads)
    prompts = []
    for name, kind, content in gguf_prompts.PROMPTS:
        text, ids = hf.encode(kind, content)
        cpp_ids = cpp.tokenize(text)
        hf_tokens, hf_steps = hf.run(ids, GREEDY_STEPS)
        cpp_tokens, cpp_steps = cpp.run(ids, GREEDY_STEPS)
        forced = cpp.teacher_forced(ids, hf_tokens)
        cpp_prefill = cpp.teacher_forced(ids, cpp_tokens)
        rec = {
            "name": name,
            "kind": kind,
            "text": text,
            "token_ids": ids,
            "llama_cpp_tokenization_matches": list(cpp_ids) == list(ids),
            "transformers": side_record(hf_tokens, hf_steps),
            "llama_cpp": side_record(cpp_tokens, cpp_steps),
            "agreement": agreement(hf_tokens, cpp_tokens, hf_steps, cpp_steps, forced,
                                   cpp_prefill),
        }
        print(f"{name}: {len(ids)} tokens, agreement {rec['agreement']}", file=sys.stderr)
        prompts.append(rec)
    import llama_cpp
    ag = [p["agreement"] for p in prompts]
    doc = {
        "schema": "tandem.refs.gguf_model/1",
        "generator": {
            "script": "scripts/oracles/model/make_refs.py",
            "versions": refs_io.package_versions(
                ["torch", "transformers", "gguf", "numpy", "tokenizers", "llama_cpp_python"]),
            "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode().strip(),
            "transformers_compute": "float32, CPU, eager attention, weights dequantized by gguf",
            "llama_cpp_compute": f"CPU, n_threads={threads}, n_ctx={N_CTX}, n_batch=512, "
                                 "prompt in one llama_decode, then one token per decode",
        },
        "model": {"file": os.path.basename(model_path), "sha256": refs_io.sha256_file(model_path)},
        "greedy_steps": GREEDY_STEPS,
        "greedy_ignores_eos": True,
        "summary": {
            "max_last_abs_dlogit_top100": max(a["last_max_abs_dlogit_top100"] for a in ag),
            "max_teacher_forced_abs_dlogit_top100":
                max(a["teacher_forced_max_abs_dlogit_top100"] for a in ag),
            "min_greedy_agree_len": min(a["greedy_agree_len"] for a in ag),
            "min_teacher_forced_argmax_agree": min(a["teacher_forced_argmax_agree"] for a in ag),
            "max_last_rms_dlogit_top100": max(a["last_rms_dlogit_top100"] for a in ag),
            "max_teacher_forced_rms_dlogit_top100":
                max(a["teacher_forced_rms_dlogit_top100"] for a in ag),
            "max_llama_cpp_prefill_vs_decode_abs_dlogit_top100": max(
                a["llama_cpp_prefill_vs_decode_max_abs_dlogit_top100"] for a in ag),
            "min_greedy_gap_transformers": min(p["transformers"]["min_greedy_gap"] for p in prompts),
            "min_greedy_gap_llama_cpp": min(p["llama_cpp"]["min_greedy_gap"] for p in prompts),
        },
        "prompts": prompts,
    }
    path = os.path.join(out_dir, "smollm2_135m_q4_1.json")
    refs_io.dump(path, doc)
    print(f"{path}: summary {doc['summary']}", file=sys.stderr)
    return doc
