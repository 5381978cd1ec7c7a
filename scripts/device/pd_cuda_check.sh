#!/usr/bin/env bash
# Prefill/decode disaggregation with device KV caches on one GPU (issue #6's PD scope):
#  1. tandem_cuda_ops_test --gtest_filter='CudaSlotCopy.*' (gather_slots / scatter_slots vs host copies);
#  2. tandem_bench_kv_rows_device --device cuda: a 4K-token prompt's KV out of / into a device cache
#     through worker/pd's staging vs plain device<->host copies (pinned and pageable); and
#     tandem_bench_kv_transfer (the ZeroMQ transport alone, host memory) at the workers' shape;
#  3. a prefill worker and a decode worker (both --device cuda, --kv-slots caps so both fit), the
#     gateway in PD mode, and a mixed --device cuda worker behind its own gateway; the same greedy
#     /generate requests through both must give the same ids; then a 4K-token prompt through both
#     (latency) and the workers' transfer speed as the PD gateway's /workers reports it.
# Model: a random-weight Llama (16 layers, hidden 2048, 16 heads / 8 KV heads of 128, bf16, vocab
# 32768) made here with torch, tokenizer from gen_moe_checkpoint.py --tokenizer-only: the default
# GGUF model is too large for one carry, and the check is PD == mixed, not text quality.
# Prepare (from a CUDA build of this tree):
#   d=/work/main/.devcarry-pdcuda; rm -rf $d; mkdir -p $d; t=$(mktemp -d)
#   deploy/bundle.sh BUILD $t/bundle tandem tandem_cuda_ops_test tandem_bench_kv_rows_device \
#     tandem_bench_kv_transfer
#   tar -czf $d/bundle.tar.gz -C $t bundle; cp scripts/device/pd_cuda_check.sh scripts/gen_moe_checkpoint.py $d/
# Run: run(command="bash .devcarry-pdcuda/pd_cuda_check.sh", carry=[".devcarry-pdcuda"], kind="nvidia-h200")
set -uo pipefail
OUT=${OUT:-/tmp/tandem-out}
mkdir -p "$OUT"
carry=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stash=/tmp/tandem-pd-bundle
rm -rf "$stash" && mkdir -p "$stash" && tar -xzf "$carry/bundle.tar.gz" -C "$stash"
bin=$stash/bundle/bin
export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi -L | tee "$OUT/gpus.txt"
summary=()

timeout 60 "$bin/tandem_cuda_ops_test" --gtest_filter='CudaSlotCopy.*' > "$OUT/ops_test.log" 2>&1
summary+=("CudaSlotCopy tests: rc $? ($(grep -E '^\[  (PASSED|FAILED)' "$OUT/ops_test.log" | tr '\n' ' '))")

for shape in "--layers 16" "--layers 32"; do
  # shellcheck disable=SC2086
  timeout 60 "$bin/tandem_bench_kv_rows_device" --device cuda --tokens 4096 $shape --kv-heads 8 --head-dim 128 \
    --dtype bf16 --iterations 5 2>&1 | grep -v "^\[" | tee -a "$OUT/bench_kv_rows.log"
done

# The ZeroMQ transport alone (host memory, tcp loopback), same 4K-token shape as the workers' model.
timeout 60 "$bin/tandem_bench_kv_transfer" --iterations 3 --tokens 4096 --layers 16 > "$OUT/bench_zmq.log" 2>&1
grep -i "tcp\|memcpy" "$OUT/bench_zmq.log" | head -4

ck=/tmp/pd-llama
python3 - "$ck" > "$OUT/gen_model.log" 2>&1 <<'PY'
import json, os, sys
import torch
from safetensors.torch import save_file
out = sys.argv[1]
h, ff, heads, kv, L, vocab = 2048, 5632, 16, 8, 16, 32768
hd = h // heads
os.makedirs(out, exist_ok=True)
json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": h,
           "intermediate_size": ff, "num_hidden_layers": L, "num_attention_heads": heads,
           "num_key_value_heads": kv, "vocab_size": vocab, "max_position_embeddings": 8192,
           "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
           "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": 2},
          open(os.path.join(out, "config.json"), "w"), indent=1)
g = torch.Generator(device="cuda").manual_seed(0)
def rnd(*s):
    return (torch.randn(*s, generator=g, device="cuda") * 0.02).to(torch.bfloat16).cpu()
one = lambda n: torch.ones(n, dtype=torch.bfloat16)
t = {"model.embed_tokens.weight": rnd(vocab, h), "lm_head.weight": rnd(vocab, h), "model.norm.weight": one(h)}
for i in range(L):
    p = f"model.layers.{i}."
    t.update({p + "input_layernorm.weight": one(h), p + "post_attention_layernorm.weight": one(h),
              p + "self_attn.q_proj.weight": rnd(heads * hd, h), p + "self_attn.k_proj.weight": rnd(kv * hd, h),
              p + "self_attn.v_proj.weight": rnd(kv * hd, h), p + "self_attn.o_proj.weight": rnd(h, heads * hd),
              p + "mlp.gate_proj.weight": rnd(ff, h), p + "mlp.up_proj.weight": rnd(ff, h),
              p + "mlp.down_proj.weight": rnd(h, ff)})
save_file(t, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
print("wrote", out, sum(x.numel() for x in t.values()) / 1e9, "B parameters")
PY
python3 "$carry/gen_moe_checkpoint.py" "$ck" --tokenizer-only 32768 >> "$OUT/gen_model.log" 2>&1
tail -1 "$OUT/gen_model.log"

pids=()
common=(--model "$ck" --device cuda --kv-slots 16384 --log-level info)
"$bin/tandem" worker "${common[@]}" --role prefill --port 31001 --bootstrap-port 31101 > "$OUT/prefill.log" 2>&1 &
pids+=($!)
"$bin/tandem" worker "${common[@]}" --role decode --port 31002 > "$OUT/decode.log" 2>&1 &
pids+=($!)
"$bin/tandem" worker "${common[@]}" --port 31003 > "$OUT/mixed.log" 2>&1 &
pids+=($!)
ready() { for _ in $(seq 1 120); do [[ $(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$1/readiness") == 200 ]] && return 0; sleep 1; done; return 1; }
listening() { for _ in $(seq 1 120); do grep -q "listening on" "$1" && return 0; sleep 1; done; return 1; }
listening "$OUT/prefill.log" && listening "$OUT/decode.log" && listening "$OUT/mixed.log" ||
  { summary+=("workers not listening"); tail -5 "$OUT"/*.log; }
"$bin/tandem" gateway --port 32001 --prefill 127.0.0.1:31001,31101 --decode 127.0.0.1:31002 \
  > "$OUT/gw_pd.log" 2>&1 &
pids+=($!)
"$bin/tandem" gateway --port 32002 --worker-urls grpc://127.0.0.1:31003 > "$OUT/gw_mixed.log" 2>&1 &
pids+=($!)
ready 32001 && ready 32002 || { summary+=("gateways not ready"); tail -5 "$OUT"/gw_*.log; }

gen() {  # gen PORT IDS MAX_NEW -> output_ids
  curl -s -m 120 "http://127.0.0.1:$1/generate" -H 'content-type: application/json' \
    -d "{\"input_ids\":$2,\"sampling_params\":{\"max_new_tokens\":$3,\"temperature\":0,\"ignore_eos\":true}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("output_ids"))' 2>&1
}
equal=0; total=0
for ids in "[1,791,6864,315,9822,374]" "[1,$(seq -s, 1000 1 1300)]" "[42,43,44]" "[5,$(seq -s, 20000 7 27000)]"; do
  a=$(gen 32001 "$ids" 32); b=$(gen 32002 "$ids" 32)
  total=$((total + 1)); [[ $a == "$b" && $a == \[* ]] && equal=$((equal + 1))
  echo "prompt of $(echo "$ids" | tr ',' '\n' | wc -l) ids: pd == mixed: $([[ $a == "$b" ]] && echo yes || echo no)"
  echo "  pd    $a"; echo "  mixed $b"
done | tee "$OUT/compare.txt"
summary+=("greedy ids PD == mixed: $(grep -c 'mixed: yes' "$OUT/compare.txt") of $(grep -c 'pd == mixed' "$OUT/compare.txt") prompts")

# A 4K-token prompt, 8 new tokens, 3 times through each path (first one warms the capture).
long="[1,$(python3 -c 'print(",".join(str(3 + (i * 7919) % 32000) for i in range(4095)))')]"
for port in 32001 32002; do
  for i in 1 2 3; do
    t0=$(date +%s.%N); a=$(gen $port "$long" 8); t1=$(date +%s.%N)
    echo "4K prompt via $([[ $port == 32001 ]] && echo pd || echo mixed) run $i: $(python3 -c "print(f'{($t1-$t0)*1e3:.0f} ms')") ids ${a:0:40}"
  done
done | tee "$OUT/long.txt"
summary+=("4K prompt pd vs mixed ids equal: $(awk '/run 3/{print $NF}' "$OUT/long.txt" | sort -u | wc -l | sed 's/^1$/yes/;s/^2$/no/')")
curl -s -m 5 http://127.0.0.1:32001/workers > "$OUT/workers_pd.json"
python3 - "$OUT/workers_pd.json" <<'PY' | tee "$OUT/transfer.txt"
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("workers: unreadable", e); sys.exit()
for w in d.get("workers", d if isinstance(d, list) else []):
    if isinstance(w, dict) and "disaggregation" in w:
        x = w["disaggregation"]
        print(f"{w.get('role', w.get('url'))}: kv_transfer_speed {x['kv_transfer_speed_gb_s']:.2f} GB/s, "
              f"latency {x['kv_transfer_latency_ms']:.1f} ms")
PY
grep -hi "error\|fail\|abort" "$OUT/prefill.log" "$OUT/decode.log" | head -5

kill -TERM "${pids[@]}" 2>/dev/null
alive() { for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
for _ in $(seq 1 10); do alive || break; sleep 1; done
alive && { echo "some processes ignored SIGTERM"; for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; }
echo "=== summary"
printf '%s\n' "${summary[@]}"
cat "$OUT/transfer.txt" 2>/dev/null
grep -h "GB/s\|kv rows on" "$OUT/bench_kv_rows.log"
grep -i "tcp\|memcpy" "$OUT/bench_zmq.log" | head -4
