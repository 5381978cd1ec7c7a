#!/usr/bin/env bash
# Gateway overhead (issue #4): the same cheap workload (random 32-token prompts, max_tokens 1)
# through the Tandem gateway (openai-completions over HTTP) and straight to the worker (grpc
# backend: the same GenerateRequest the gateway would send), and through SMG when it is installed
# — all against one `tandem serve` in one run. Prints a markdown table (docs/benchmarks.md).
#
# Env: TANDEM_BUILD_DIR (default build), MODEL (default: the bundled SmolLM2 GGUF), THREADS (2),
# NUM_PROMPTS (300), CONCURRENCY ("1 16"), SMG (path to the `smg` executable; empty: skip SMG),
# CACHE (hot | cold, see below), OUT (results dir). SMG loads the tokenizer from the worker's
# GetTokenizer bundle (HF files exported from the GGUF).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${TANDEM_BUILD_DIR:-$ROOT/build}
TANDEM=$BUILD/cli/tandem
MODEL=${MODEL:-${TANDEM_MODEL_DIR:-$HOME/.cache/tandem/models}/SmolLM2-135M-Instruct.Q4_1.gguf}
THREADS=${THREADS:-2}
NUM_PROMPTS=${NUM_PROMPTS:-300}
CONCURRENCY=${CONCURRENCY:-"1 16"}
SMG=${SMG:-}
OUT=${OUT:-$(mktemp -d /tmp/gateway-overhead.XXXXXX)}
mkdir -p "$OUT"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# tandem serve on an ephemeral port; wait for its "listening" line and /readiness.
"$TANDEM" serve --model "$MODEL" --port 0 --threads "$THREADS" --log-level warn >"$OUT/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do
  PORT=$(sed -n 's/.*tandem serve listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$OUT/serve.log" | head -1)
  [ -n "$PORT" ] && curl -sf "http://127.0.0.1:$PORT/readiness" >/dev/null && break
  sleep 0.2
done
[ -n "${PORT:-}" ] || { echo "tandem serve did not start:"; cat "$OUT/serve.log"; exit 1; }
WORKER=$(curl -sf "http://127.0.0.1:$PORT/workers" | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["workers"][0]["url"].split("://")[-1])')
echo "gateway http://127.0.0.1:$PORT  worker $WORKER  results $OUT" >&2

# tandem-gateway sends token ids (the same GenerateRequest as worker-direct, plus HTTP, JSON and
# routing); tandem-gateway-text sends the decoded text (adds tokenization), as SMG needs.
targets=("worker-direct:grpc:--worker $WORKER"
         "tandem-gateway:openai-completions:--base-url http://127.0.0.1:$PORT"
         "tandem-gateway-text:openai-completions:--text-prompt --base-url http://127.0.0.1:$PORT")
if [ -n "$SMG" ]; then
  SMG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$SMG" launch --host 127.0.0.1 --port "$SMG_PORT" --worker-urls "grpc://$WORKER" --log-level warn \
    >"$OUT/smg.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do
    SMG_MODEL=$(curl -sf "http://127.0.0.1:$SMG_PORT/v1/models" | python3 -c \
      'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])' 2>/dev/null || true)
    [ -n "$SMG_MODEL" ] && break
    sleep 0.2
  done
  [ -n "${SMG_MODEL:-}" ] || { echo "smg did not start:"; cat "$OUT/smg.log"; exit 1; }
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$SMG_PORT/v1/completions" -H 'content-type: application/json' \
      -d "{\"model\": \"$SMG_MODEL\", \"prompt\": \"hi\", \"max_tokens\": 1}" >/dev/null && break
    sleep 0.2
  done
  # SMG's /v1/completions takes no token-id prompts: text, as for tandem-gateway-text.
  targets+=("smg:openai-completions:--text-prompt --base-url http://127.0.0.1:$SMG_PORT")
fi

# CACHE=hot (default): each target first sends its prompt set once unmeasured, so the measured
# pass hits the worker's prefix cache and the worker's share of each request is one decode step —
# the serving path's own cost is then a large, measurable part of E2E. CACHE=cold: fresh prompts
# (a distinct seed per run), every request prefills 32 tokens.
CACHE=${CACHE:-hot}
ROUNDS=${ROUNDS:-3}  # every target once per round, rounds interleaved; the table takes medians
seed=0
for r in $(seq "$ROUNDS"); do
for c in $CONCURRENCY; do
  for t in "${targets[@]}"; do
    IFS=: read -r name backend where <<<"$t"
    seed=$((seed + 1))
    common=(--tokenizer "$MODEL" --dataset-name random --num-prompts "$NUM_PROMPTS" --random-input-len 32
            --random-output-len 1 --random-range-ratio 1 --max-concurrency "$c" --seed "$seed"
            --disable-progress)
    if [ "$CACHE" = hot ]; then
      # shellcheck disable=SC2086
      "$TANDEM" bench serving --backend "$backend" $where "${common[@]}" >/dev/null
    fi
    # shellcheck disable=SC2086
    "$TANDEM" bench serving --backend "$backend" $where "${common[@]}" \
      --output-file "$OUT/$name-c$c-r$r.json" >"$OUT/$name-c$c-r$r.txt"
  done
done
done

python3 - "$OUT" "$CONCURRENCY" "$ROUNDS" <<'PY'
import json, os, statistics, sys
out, concs, rounds = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
names = [n for n in ("worker-direct", "tandem-gateway", "tandem-gateway-text", "smg")
         if os.path.exists(f"{out}/{n}-c{concs[0]}-r1.json")]
def med(n, c, key):
    return statistics.median(json.load(open(f"{out}/{n}-c{c}-r{r}.json"))[key] for r in range(1, rounds + 1))
def failed(n, c):
    return sum(json.load(open(f"{out}/{n}-c{c}-r{r}.json"))["failed"] for r in range(1, rounds + 1))
print(f"| concurrency | path | req/s | p50 E2E ms | p99 E2E ms | added p50 ms | added p99 ms | failed |")
print("|---|---|---|---|---|---|---|---|")
for c in concs:
    b50, b99 = med("worker-direct", c, "median_e2e_latency_ms"), med("worker-direct", c, "p99_e2e_latency_ms")
    for n in names:
        p50, p99 = med(n, c, "median_e2e_latency_ms"), med(n, c, "p99_e2e_latency_ms")
        added = ("—", "—") if n == "worker-direct" else (f"{p50 - b50:+.2f}", f"{p99 - b99:+.2f}")
        print(f"| {c} | {n} | {med(n, c, 'request_throughput'):.1f} | {p50:.2f} | {p99:.2f} | "
              f"{added[0]} | {added[1]} | {failed(n, c)} |")
PY
