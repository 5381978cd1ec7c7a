#!/usr/bin/env bash
# Mixed vs prefill/decode disaggregation (issue #5) on one machine, same run: `tandem serve`
# (one mixed worker, THREADS compute threads) against `tandem serve --pd` (a prefill and a decode
# worker, THREADS/2 threads each, so both use the same cores), under a workload that mixes long
# prompts with ongoing decodes: random prompts of up to INPUT_LEN tokens (range ratio 0.1, so
# lengths spread from ~INPUT_LEN/10 to INPUT_LEN), OUTPUT_LEN tokens each, Poisson arrivals at RATE
# req/s. Reports TTFT and ITL p50/p99 and throughput as a markdown table (docs/benchmarks.md).
#
# Both modes get the same prompts and arrival times (the same seed per round); each run starts a
# fresh `tandem serve`, so no prefix cache carries over.
#
# Env: TANDEM_BUILD_DIR (default build), MODEL (default: the bundled SmolLM2 GGUF), THREADS (2),
# CHUNK (chunked prefill size, 128), NUM_PROMPTS (24), INPUT_LEN (512), OUTPUT_LEN (64),
# RATE (0.25 req/s: under what 2 vCPUs prefill, so queues stay short), ROUNDS (2, interleaved;
# the table takes medians), OUT (results dir).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${TANDEM_BUILD_DIR:-$ROOT/build}
TANDEM=$BUILD/cli/tandem
MODEL=${MODEL:-${TANDEM_MODEL_DIR:-$HOME/.cache/tandem/models}/SmolLM2-135M-Instruct.Q4_1.gguf}
THREADS=${THREADS:-2}
CHUNK=${CHUNK:-128}
NUM_PROMPTS=${NUM_PROMPTS:-24}
INPUT_LEN=${INPUT_LEN:-512}
OUTPUT_LEN=${OUTPUT_LEN:-64}
RATE=${RATE:-0.25}
ROUNDS=${ROUNDS:-2}
OUT=${OUT:-$(mktemp -d /tmp/pd-compare.XXXXXX)}
mkdir -p "$OUT"

pid=
stop() { if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap stop EXIT

# Starts `tandem serve $@` on an ephemeral port; sets PORT once /readiness answers.
start() {
  local log=$1; shift
  "$TANDEM" serve --model "$MODEL" --port 0 --chunked-prefill-size "$CHUNK" --log-level warn "$@" >"$log" 2>&1 &
  pid=$!
  PORT=
  for _ in $(seq 1500); do
    PORT=$(sed -n 's/.*tandem serve listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$PORT" ] && curl -sf "http://127.0.0.1:$PORT/readiness" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "tandem serve $* did not start:"; cat "$log"; exit 1
}

half=$(( THREADS / 2 > 0 ? THREADS / 2 : 1 ))
for r in $(seq "$ROUNDS"); do
  for mode in mixed pd; do
    if [ "$mode" = mixed ]; then start "$OUT/serve-$mode-r$r.log" --threads "$THREADS"
    else start "$OUT/serve-$mode-r$r.log" --pd --threads "$half"; fi
    seed=$r  # the same workload for both modes in a round
    "$TANDEM" bench serving --backend openai-completions --base-url "http://127.0.0.1:$PORT" \
      --tokenizer "$MODEL" --dataset-name random --num-prompts "$NUM_PROMPTS" \
      --random-input-len "$INPUT_LEN" --random-output-len "$OUTPUT_LEN" --random-range-ratio 0.1 \
      --request-rate "$RATE" --seed "$seed" --warmup-requests 2 --disable-progress \
      --output-file "$OUT/$mode-r$r.json" >"$OUT/$mode-r$r.txt"
    stop
  done
done

python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def med(mode, key):
    return statistics.median(json.load(open(f"{out}/{mode}-r{r}.json"))[key] for r in range(1, rounds + 1))
def failed(mode):
    return sum(json.load(open(f"{out}/{mode}-r{r}.json"))["failed"] for r in range(1, rounds + 1))
print("| mode | req/s | out tok/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms | failed |")
print("|---|---|---|---|---|---|---|---|")
for mode in ("mixed", "pd"):
    print(f"| {mode} | {med(mode, 'request_throughput'):.2f} | {med(mode, 'output_throughput'):.1f} | "
          f"{med(mode, 'median_ttft_ms'):.0f} | {med(mode, 'p99_ttft_ms'):.0f} | "
          f"{med(mode, 'median_itl_ms'):.1f} | {med(mode, 'p99_itl_ms'):.1f} | {failed(mode)} |")
PY
