#!/usr/bin/env bash
# Structured output validity under sampling (structured_output_validity.mjs)
# against a live `infergrid serve` on a random-weight synth model. Installs
# ajv, ajv-formats and json-schema-test-suite once into a git-ignored cache
# (build/e2e-deps, or $IG_E2E_DEPS); exits 77 (ctest: skipped) when node/npm
# or the registry is not reachable.
# Usage: tests/e2e/run_structured_output.sh [path/to/infergrid]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/build/release/infergrid}"
deps="${IG_E2E_DEPS:-$root/build/e2e-deps}"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not installed (scripts/setup installs nodejs npm)"; exit 77
fi
need=()
[ -f "$deps/node_modules/ajv/package.json" ] || need+=("ajv@^8")
[ -f "$deps/node_modules/ajv-formats/package.json" ] || need+=("ajv-formats@^3")
[ -d "$deps/node_modules/json-schema-test-suite/tests/draft4" ] || need+=("json-schema-test-suite@0.0.10")
if [ ${#need[@]} -gt 0 ]; then
  mkdir -p "$deps"
  [ -f "$deps/package.json" ] || echo '{"name":"infergrid-e2e","private":true}' > "$deps/package.json"
  if ! (cd "$deps" && timeout 180 npm install --no-audit --no-fund --silent "${need[@]}" >/dev/null 2>&1); then
    echo "SKIP: could not install ${need[*]} (registry unreachable?)"; exit 77
  fi
fi

work="$(mktemp -d)"
model="$work/random.gguf"
"$bin" synth --preset tiny-llama3 --type f32 --out "$model" >/dev/null 2>&1
log="$work/serve.log"
"$bin" serve --model "$model" --served-model-name random --port 0 --threads 2 \
  --kv-budget-mb 64 --log-level warn >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
url=""
for _ in $(seq 1 200); do
  url="$(grep -o 'http://[0-9.:]*' "$log" | head -1 || true)"
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; echo "server did not start"; exit 1; }
  sleep 0.05
done
[ -n "$url" ] || { cat "$log"; echo "server did not print its URL"; exit 1; }

NODE_PATH="$deps/node_modules" IG_BASE_URL="$url/v1" IG_MODEL=random \
  IG_SUITE_DIR="$deps/node_modules/json-schema-test-suite/tests/draft4" \
  node "$here/structured_output_validity.mjs"
kill -TERM $pid
wait $pid
