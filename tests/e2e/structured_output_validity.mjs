// Structured output under sampling, end to end: for our own schemas and the
// JSON-Schema-Test-Suite's (npm `json-schema-test-suite`, draft 4) that the
// server compiles, samples at temperature 1.0 from a random-weight model
// (which left alone writes garbage) must all be JSON that ajv accepts
// against the schema. Also: greedy output under a schema is the same alone
// and in a batch of 16 mixed constrained and unconstrained requests.
// Env: IG_BASE_URL (http://host:port/v1), IG_MODEL, IG_SUITE_DIR (the npm
// package's tests/ folder), IG_SAMPLES (default 50).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

// ESM ignores NODE_PATH: resolve the packages from the install dir.
const require = createRequire(path.join(process.env.NODE_PATH, "noop.js"));
const Ajv = require("ajv");
const Ajv2020 = require("ajv/dist/2020");
const addFormats = require("ajv-formats");

const base = process.env.IG_BASE_URL;
const model = process.env.IG_MODEL;
const samples = Number(process.env.IG_SAMPLES || 50);
const perRequest = 10;  // n: choices per request
// Our schemas are draft 2020-12 (prefixItems, $defs); the suite's are draft 4,
// closest to ajv's default draft 7 (tuple `items`).
const ajv2020 = new Ajv2020({ strict: false, validateFormats: true });
const ajv07 = new Ajv({ strict: false, validateFormats: true });
addFormats(ajv2020);
addFormats(ajv07);

async function complete(body) {
  const r = await fetch(`${base}/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model, prompt: "Answer in JSON:", ...body }),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* reported below */ }
  return { status: r.status, json, text };
}

const own = [
  { type: "object", properties: { name: { type: "string", maxLength: 20 }, age: { type: "integer", minimum: 0, maximum: 150 } }, required: ["name", "age"], additionalProperties: false },
  { type: "array", items: { type: "integer", minimum: -50, maximum: 50 }, minItems: 1, maxItems: 6 },
  { type: "object", properties: { id: { type: "string", format: "uuid" }, when: { type: "string", format: "date" }, email: { type: "string", format: "email" } }, required: ["id", "when", "email"], additionalProperties: false },
  { enum: ["red", "green", "blue", 42, null, true] },
  { type: "object", properties: { kind: { const: "point" }, x: { type: "number" }, y: { type: "number" } }, required: ["kind", "x", "y"], additionalProperties: false },
  { anyOf: [{ type: "string", maxLength: 8 }, { type: "integer", minimum: 1000, maximum: 1010 }, { type: "boolean" }] },
  { type: "object", properties: { tags: { type: "array", items: { type: "string", pattern: "^[a-z]{1,6}$" }, maxItems: 4 } }, required: ["tags"], additionalProperties: false },
  { type: "string", pattern: "^[A-Z]{2}-[0-9]{3,5}$" },
  { $defs: { node: { type: "object", properties: { v: { type: "integer", minimum: 0, maximum: 9 }, kids: { type: "array", items: { $ref: "#/$defs/node" }, maxItems: 2 } }, required: ["v"], additionalProperties: false } }, $ref: "#/$defs/node" },
  { type: "object", properties: { a: { type: ["string", "null"], maxLength: 5 }, b: { type: "boolean" }, c: { type: "integer", exclusiveMinimum: 10, exclusiveMaximum: 20 } }, required: ["a", "b", "c"], additionalProperties: false },
  { type: "object", properties: { q: { type: "string", maxLength: 10 }, opt1: { type: "integer", minimum: 0, maximum: 3 }, opt2: { type: "boolean" } }, required: ["q"], additionalProperties: false },
  { type: "object", properties: { when: { type: "string", format: "date-time" }, at: { type: "string", format: "time" } }, required: ["when", "at"], additionalProperties: false },
  { type: "array", prefixItems: [{ type: "string", maxLength: 4 }, { type: "integer", minimum: 0, maximum: 99 }], items: false },
  { type: "object", properties: { matrix: { type: "array", items: { type: "array", items: { type: "integer", minimum: 0, maximum: 9 }, minItems: 2, maxItems: 2 }, minItems: 2, maxItems: 3 } }, required: ["matrix"], additionalProperties: false },
  { oneOf: [{ type: "object", properties: { cat: { type: "string", maxLength: 6 } }, required: ["cat"], additionalProperties: false }, { type: "object", properties: { dog: { type: "integer", minimum: 0, maximum: 5 } }, required: ["dog"], additionalProperties: false }] },
  { type: "object", properties: { user: { type: "object", properties: { first: { type: "string", maxLength: 8 }, last: { type: "string", maxLength: 8 }, address: { type: "object", properties: { zip: { type: "string", pattern: "^[0-9]{5}$" }, country: { enum: ["DE", "FR", "US"] } }, required: ["zip", "country"], additionalProperties: false } }, required: ["first", "last", "address"], additionalProperties: false } }, required: ["user"], additionalProperties: false },
  { type: "integer", minimum: -1000000, maximum: 1000000 },
  { type: "number", minimum: 0 },
  { type: "string", minLength: 3, maxLength: 6 },
  { type: "object", additionalProperties: { type: "integer", minimum: 0, maximum: 9 } },
].map((s) => JSON.parse(JSON.stringify(s)));

function suiteSchemas(dir) {
  const out = [];
  if (!dir || !fs.existsSync(dir)) return out;
  const skipFiles = new Set(["refRemote.json", "definitions.json"]);
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith(".json") || skipFiles.has(f)) continue;
    const groups = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
    for (const g of groups) out.push({ name: `${f}: ${g.description}`, schema: g.schema });
  }
  return out;
}

let failures = 0;
function fail(msg) { failures++; console.error("FAIL:", msg); }

async function sampleSchema(name, schema, draft) {
  const ajv = draft === "2020" ? ajv2020 : ajv07;
  let validate;
  try { validate = ajv.compile(schema); } catch (e) { return { skipped: `ajv: ${e.message}` }; }
  const probe = await complete({ max_tokens: 1, response_format: { type: "json_schema", json_schema: { name: "s", schema } } });
  if (probe.status === 400) return { skipped: probe.json?.error?.message ?? probe.text };
  if (probe.status !== 200) { fail(`${name}: probe status ${probe.status}: ${probe.text}`); return {}; }
  let valid = 0, tokens = 0;
  const reqs = [];
  for (let k = 0; k < samples / perRequest; k++)
    reqs.push(complete({ n: perRequest, temperature: 1.0, seed: 1000 + k, max_tokens: 6000,
                         response_format: { type: "json_schema", json_schema: { name: "s", schema } } }));
  for (const r of await Promise.all(reqs)) {
    if (r.status !== 200) { fail(`${name}: status ${r.status}: ${r.text}`); continue; }
    tokens += r.json.usage.completion_tokens;
    for (const c of r.json.choices) {
      let v;
      try { v = JSON.parse(c.text); } catch (e) { fail(`${name}: not JSON (${c.finish_reason}): ${JSON.stringify(c.text).slice(0, 300)}`); continue; }
      if (c.finish_reason !== "stop") { fail(`${name}: finish_reason ${c.finish_reason}`); continue; }
      if (!validate(v)) { fail(`${name}: ajv rejects ${JSON.stringify(c.text).slice(0, 300)}: ${ajv.errorsText(validate.errors)}`); continue; }
      valid++;
    }
  }
  return { valid, tokens };
}

const all = [...own.map((s, i) => ({ name: `own[${i}]`, schema: s, draft: "2020" })),
             ...suiteSchemas(process.env.IG_SUITE_DIR).map((s) => ({ ...s, draft: "07" }))];
let covered = 0, skipped = 0, sampled = 0, totalTokens = 0;
const t0 = Date.now();
// A few schemas at a time, so the engine batches their choices.
for (let i = 0; i < all.length; i += 4) {
  const batch = all.slice(i, i + 4);
  const results = await Promise.all(batch.map((b) => sampleSchema(b.name, b.schema, b.draft)));
  results.forEach((r, k) => {
    if (r.skipped !== undefined) { skipped++; console.log(`skip ${batch[k].name}: ${String(r.skipped).slice(0, 160)}`); return; }
    if (r.valid === undefined) return;
    covered++;
    sampled += samples;
    totalTokens += r.tokens;
    console.log(`ok   ${batch[k].name}: ${r.valid}/${samples} valid, ${r.tokens} tokens`);
  });
}
console.log(`schemas sampled: ${covered} (skipped ${skipped}); samples: ${sampled}; tokens: ${totalTokens}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
if (covered < 30) fail(`only ${covered} schemas compiled; want 30 or more`);

// Greedy: alone, then in a batch of 16 mixed constrained and unconstrained requests.
const schema = own[0];
const greedyBody = { temperature: 0, max_tokens: 400, response_format: { type: "json_schema", json_schema: { name: "p", schema } } };
const alone = await complete(greedyBody);
const mixed = await Promise.all(Array.from({ length: 16 }, (_, i) =>
  i % 2 ? complete({ prompt: `Something else ${i}:`, temperature: 0.7, seed: i, max_tokens: 200 }) : complete(greedyBody)));
for (let i = 0; i < 16; i += 2) {
  if (mixed[i].json?.choices?.[0]?.text !== alone.json?.choices?.[0]?.text)
    fail(`greedy under a schema differs in a batch: ${JSON.stringify(mixed[i].json?.choices?.[0]?.text)} vs ${JSON.stringify(alone.json?.choices?.[0]?.text)}`);
}
if (failures) { console.error(`${failures} failures`); process.exit(1); }
console.log("structured output validity: all samples valid");
