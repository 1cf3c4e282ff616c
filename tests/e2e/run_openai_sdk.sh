#!/usr/bin/env bash
# End-to-end test with the official `openai` npm SDK against a live
# `infergrid serve` on 127.0.0.1. Installs the SDK once into a git-ignored
# cache (build/e2e-deps, or $IG_E2E_DEPS); exits 77 (ctest: skipped) when
# node/npm or the registry is not reachable.
# Usage: tests/e2e/run_openai_sdk.sh [path/to/infergrid] [model.gguf]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/build/release/infergrid}"
model="${2:-$root/../shared/models/stories260K.gguf}"
deps="${IG_E2E_DEPS:-$root/build/e2e-deps}"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not installed (scripts/setup installs nodejs npm)"; exit 77
fi
if [ ! -f "$deps/node_modules/openai/package.json" ]; then
  mkdir -p "$deps"
  [ -f "$deps/package.json" ] || echo '{"name":"infergrid-e2e","private":true}' > "$deps/package.json"
  if ! (cd "$deps" && timeout 180 npm install --no-audit --no-fund --silent openai@^4 >/dev/null 2>&1); then
    echo "SKIP: could not install the openai npm package (registry unreachable?)"; exit 77
  fi
fi
if [ ! -f "$model" ]; then
  model="$deps/tiny-llama.gguf"
  [ -f "$model" ] || "$bin" synth --preset tiny-llama --type f32 --out "$model" >/dev/null
fi

log="$(mktemp)"
tenants="$(mktemp -d)"
# API keys on, so every SDK call below also checks the Bearer path.
key="$("$bin" tenants add-key --tenants "$tenants/tenants.toml" --tenant e2e 2>/dev/null)"
# Two limited tenants: add-key writes each last in the file, so the limits
# table appended right after it is that tenant's.
limited_key="$("$bin" tenants add-key --tenants "$tenants/tenants.toml" --tenant limited 2>/dev/null)"
printf '[tenant.limits]\nrequests_per_minute = 1\n' >> "$tenants/tenants.toml"
metered_key="$("$bin" tenants add-key --tenants "$tenants/tenants.toml" --tenant metered 2>/dev/null)"
printf '[tenant.limits]\nquota_tokens = 20\nquota_period = "month"\n' >> "$tenants/tenants.toml"
"$bin" serve --model "$model" --served-model-name e2e-model --port 0 --threads 2 \
  --kv-budget-mb 32 --chat-template "$here/plain_chat.jinja" --tool-call-parser hermes --log-level warn \
  --tenants "$tenants/tenants.toml" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$log" "$tenants"' EXIT
url=""
for _ in $(seq 1 200); do
  url="$(grep -o 'http://[0-9.:]*' "$log" | head -1 || true)"
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; echo "server did not start"; exit 1; }
  sleep 0.05
done
[ -n "$url" ] || { cat "$log"; echo "server did not print its URL"; exit 1; }

NODE_PATH="$deps/node_modules" IG_BASE_URL="$url/v1" IG_MODEL=e2e-model IG_MODEL_PATH="$model" \
  IG_BINARY="$bin" IG_API_KEY="$key" IG_LIMITED_KEY="$limited_key" IG_METERED_KEY="$metered_key" \
  node "$here/openai_sdk_test.mjs"
kill -TERM $pid
wait $pid
