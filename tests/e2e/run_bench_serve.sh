#!/usr/bin/env bash
# `infergrid bench serve` against a live `infergrid serve` (the binary, not
# in process): starts the server on a free port, runs the benchmark, checks
# that every request completed, prints the table and leaves the JSON.
# Usage: tests/e2e/run_bench_serve.sh [infergrid] [model.gguf] [out.json] [extra bench flags...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/build/release/infergrid}"
model="${2:-$root/../shared/models/stories260K.gguf}"
out="${3:-$(mktemp --suffix=.json)}"
shift $(( $# < 3 ? $# : 3 ))
if [ ! -f "$model" ]; then
  model="$(mktemp --suffix=.gguf)"
  "$bin" synth --preset tiny-llama --type f32 --out "$model" >/dev/null
fi
log="$(mktemp)"
"$bin" serve --model "$model" --served-model-name bench-model --port 0 --threads 2 \
  --log-level warn >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 600); do
  url="$(grep -o 'http://[0-9.:]*' "$log" | head -1 || true)"
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; echo "server did not start"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$log"; echo "server did not print its URL"; exit 1; }
if [ $# -eq 0 ]; then
  set -- --workload random --input-len 200 --output-len 64 --num-prompts 16 --max-concurrency 4
fi
"$bin" bench serve --base-url "$url" --model bench-model --json "$out" "$@"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["failed"] == 0 and j["completed"] > 0, j.get("errors")
print(f"ok: {j['completed']} requests, {j['output_throughput']:.2f} output tok/s, "
      f"mean TTFT {j['mean_ttft_ms']:.1f} ms -> {sys.argv[1]}")
PY
kill -TERM $pid
wait $pid
