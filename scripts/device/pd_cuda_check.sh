#!/usr/bin/env bash
# Issue #6 (PD transfer with device KV caches) on one GPU: a prefill worker and a decode worker,
# both `--device cuda` on the same GPU, behind `tandem gateway --prefill ... --decode ...`, against
# one mixed `--device cuda` worker on the same checkpoint: greedy /generate output ids for a few
# prompts must be equal (the decode worker starts from KV rows the prefill worker gathered on its
# GPU and the decode worker scattered into its own). Also times one 4K-token prompt's transfer
# (the workers' transfer statistics). Usage: pd_cuda_check.sh BIN_DIR CHECKPOINT OUT_DIR
# (serving_bench.sh calls it last, on its checkpoint).
set -uo pipefail
bin=$1 ck=$2 OUT=$3
w=(--model "$ck" --device "${PD_DEVICE:-cuda}" --kv-slots 65536 --log-level info)
"$bin/tandem" worker "${w[@]}" --role prefill --port 31101 --bootstrap-port 31201 > "$OUT/pd_prefill.log" 2>&1 &
"$bin/tandem" worker "${w[@]}" --role decode --port 31102 > "$OUT/pd_decode.log" 2>&1 &
"$bin/tandem" worker "${w[@]}" --port 31103 > "$OUT/pd_mixed.log" 2>&1 &
ready() { for _ in $(seq 1 240); do [[ $(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$1/readiness") == 200 ]] && return 0; sleep 1; done; return 1; }
listening() { for _ in $(seq 1 240); do grep -q "listening on" "$1" && return 0; sleep 1; done; return 1; }
listening "$OUT/pd_prefill.log" && listening "$OUT/pd_decode.log" && listening "$OUT/pd_mixed.log" ||
  { echo "pd_cuda_check: a worker did not start"; tail -5 "$OUT"/pd_*.log; }
"$bin/tandem" gateway --port 32101 --prefill 127.0.0.1:31101,31201 --decode 127.0.0.1:31102 \
  > "$OUT/pd_gateway.log" 2>&1 &
"$bin/tandem" gateway --port 32102 --worker-urls 127.0.0.1:31103 > "$OUT/pd_gateway_mixed.log" 2>&1 &
ready 32101 && ready 32102 || { echo "pd_cuda_check: a gateway is not ready"; tail -5 "$OUT"/pd_gateway*.log; }
gen() {  # gen PORT IDS N
  curl -s -m 120 "http://127.0.0.1:$1/generate" -H 'content-type: application/json' \
    -d "{\"input_ids\":$2,\"sampling_params\":{\"max_new_tokens\":$3,\"temperature\":0,\"ignore_eos\":true}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("output_ids"))'
}
same=0 total=0
for ids in "[128000,791,6864,315,9822,374]" "[128000,$(seq -s, 1000 1 1300)]" "[42,43,44]" \
           "[128000,$(seq -s, 2000 1 6095)]"; do
  a=$(gen 32101 "$ids" 24); b=$(gen 32102 "$ids" 24)
  total=$((total + 1)); [[ $a == "$b" && $a != None ]] && same=$((same + 1))
  echo "prompt of $(echo "$ids" | tr ',' '\n' | wc -l) ids: PD == mixed: $([[ $a == "$b" && $a != None ]] && echo yes || echo no)"
  echo "  pd    $a"; echo "  mixed $b"
done | tee "$OUT/pd_compare.txt"
echo "PD (prefill + decode on cuda) == mixed cuda: $(grep -c 'mixed: yes' "$OUT/pd_compare.txt") of $(grep -c 'PD == mixed' "$OUT/pd_compare.txt") prompts"
curl -s -m 5 http://127.0.0.1:32101/metrics | grep -iE "kv_transfer|transfer" | head -8
grep -hiE "transfer|GB/s" "$OUT/pd_prefill.log" "$OUT/pd_decode.log" | tail -4
pkill -TERM -f "tandem gateway --port 3210"
pkill -TERM -f "tandem worker --model $ck"
sleep 5
pgrep -fa "tandem worker --model $ck" && pkill -9 -f "tandem worker --model $ck"
exit 0
