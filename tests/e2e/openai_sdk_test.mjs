// End-to-end: the official `openai` npm SDK against a live infergrid server.
// Run by run_openai_sdk.sh, which starts the server and sets IG_BASE_URL,
// IG_MODEL, IG_MODEL_PATH, IG_BINARY, IG_API_KEY (from `tenants add-key`),
// IG_LIMITED_KEY (a tenant with requests_per_minute = 1), IG_METERED_KEY (a
// tenant with a 20-token quota) and NODE_PATH (the SDK's install dir).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const require = createRequire(path.join(process.env.NODE_PATH, 'noop.js'));
const OpenAI = require('openai');

const client = new OpenAI({ baseURL: process.env.IG_BASE_URL, apiKey: process.env.IG_API_KEY,
  maxRetries: 0 });
const model = process.env.IG_MODEL;

// Prompt length as our own tokenizer counts it (BOS included), via the CLI.
function promptTokens(text) {
  const r = spawnSync(process.env.IG_BINARY,
    ['generate', '-m', process.env.IG_MODEL_PATH, '-p', text, '-n', '1', '--ids', '-t', '1'],
    { encoding: 'utf8' });
  const line = r.stderr.split('\n').find((l) => l.startsWith('prompt ids:'));
  return line.slice('prompt ids:'.length).trim().split(/\s+/).length;
}

async function collect(stream, chat) {
  const texts = [];
  const finish = [];
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      texts[c.index] = (texts[c.index] ?? '') + (chat ? (c.delta.content ?? '') : c.text);
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
  }
  return { texts, finish, usage };
}

const prompt = 'Once upon a time';
const messages = [{ role: 'system', content: 'You tell stories.' },
  { role: 'user', content: 'Tell me a story' }];
const chatText = 'system: You tell stories.\nuser: Tell me a story\nassistant:';

test('models.list names the served model', async () => {
  const list = await client.models.list();
  assert.ok(list.data.some((m) => m.id === model));
});

test('completions: non-streaming, usage equals our tokenizer count', async () => {
  const r = await client.completions.create({ model, prompt, max_tokens: 16, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices.length, 1);
  assert.ok(r.choices[0].text.length > 0);
  assert.ok(['length', 'stop'].includes(r.choices[0].finish_reason));
  assert.equal(r.usage.prompt_tokens, promptTokens(prompt));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  if (r.choices[0].finish_reason === 'length') assert.equal(r.usage.completion_tokens, 16);
});

test('completions: streaming equals non-streaming, include_usage', async () => {
  const full = await client.completions.create({ model, prompt, max_tokens: 16, temperature: 0 });
  const s = await collect(await client.completions.create({
    model, prompt, max_tokens: 16, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  }), false);
  assert.equal(s.texts[0], full.choices[0].text);
  assert.equal(s.finish[0], full.choices[0].finish_reason);
  assert.deepEqual(s.usage.completion_tokens, full.usage.completion_tokens);
  assert.equal(s.usage.prompt_tokens, promptTokens(prompt));
});

test('chat: non-streaming and streaming agree; usage equals our tokenizer count', async () => {
  const full = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
  assert.equal(full.object, 'chat.completion');
  assert.equal(full.choices[0].message.role, 'assistant');
  assert.equal(full.usage.prompt_tokens, promptTokens(chatText));
  const s = await collect(await client.chat.completions.create({
    model, messages, max_tokens: 12, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  }), true);
  assert.equal(s.texts[0], full.choices[0].message.content);
  assert.equal(s.finish[0], full.choices[0].finish_reason);
  assert.equal(s.usage.total_tokens, full.usage.total_tokens);
});

test('n=2 gives two indexed choices (chat and completions, streaming too)', async () => {
  const c = await client.completions.create({ model, prompt, max_tokens: 8, n: 2, seed: 3 });
  assert.deepEqual(c.choices.map((x) => x.index), [0, 1]);
  const m = await client.chat.completions.create({ model, messages, max_tokens: 8, n: 2, seed: 3 });
  assert.deepEqual(m.choices.map((x) => x.index), [0, 1]);
  const s = await collect(await client.chat.completions.create({
    model, messages, max_tokens: 8, n: 2, seed: 3, stream: true }), true);
  assert.equal(s.finish.filter(Boolean).length, 2);
});

test('stop strings end the text before the match', async () => {
  const full = await client.completions.create({ model, prompt, max_tokens: 32, temperature: 0 });
  const text = full.choices[0].text;
  assert.ok(text.length >= 8, text);
  const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 3);
  const r = await client.completions.create({ model, prompt, max_tokens: 32, temperature: 0, stop: [stop] });
  assert.equal(r.choices[0].text, text.slice(0, text.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const s = await collect(await client.completions.create({
    model, prompt, max_tokens: 32, temperature: 0, stop, stream: true }), false);
  assert.equal(s.texts[0], text.slice(0, text.indexOf(stop)));
});

test('the same seed gives the same sample', async () => {
  const req = { model, prompt, max_tokens: 24, temperature: 1.0, seed: 1234 };
  const a = await client.completions.create(req);
  const b = await client.completions.create(req);
  assert.equal(a.choices[0].text, b.choices[0].text);
  const creq = { model, messages, max_tokens: 24, temperature: 1.0, seed: 99 };
  const x = await client.chat.completions.create(creq);
  const y = await client.chat.completions.create(creq);
  assert.equal(x.choices[0].message.content, y.choices[0].message.content);
});

test('chat logprobs in OpenAI shape', async () => {
  const r = await client.chat.completions.create({
    model, messages, max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 3 });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  for (const e of content) {
    assert.equal(typeof e.token, 'string');
    assert.ok(e.logprob <= 0);
    assert.equal(e.top_logprobs.length, 3);
  }
});

test('errors surface as the SDK error classes', async () => {
  await assert.rejects(client.completions.create({ model, prompt, max_tokens: -1 }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'max_tokens');
  await assert.rejects(client.completions.create({ model: 'nope', prompt }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
  await assert.rejects(client.completions.create({ model, prompt, max_tokens: 100000 }),
    (e) => e.status === 400 && e.code === 'context_length_exceeded');
});

test('a wrong API key is an AuthenticationError', async () => {
  const intruder = new OpenAI({ baseURL: process.env.IG_BASE_URL, apiKey: 'ig-wrong', maxRetries: 0 });
  await assert.rejects(intruder.completions.create({ model, prompt, max_tokens: 2 }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401 &&
      e.code === 'invalid_api_key' && !e.message.includes('ig-wrong'));
  await assert.rejects(intruder.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
});

test('a tenant over its rate limit gets a RateLimitError with Retry-After', async () => {
  const limited = new OpenAI({ baseURL: process.env.IG_BASE_URL, apiKey: process.env.IG_LIMITED_KEY,
    maxRetries: 0 });
  const ok = await limited.completions.create({ model, prompt, max_tokens: 2 });
  assert.equal(ok.object, 'text_completion');
  await assert.rejects(limited.completions.create({ model, prompt, max_tokens: 2 }),
    (e) => e instanceof OpenAI.RateLimitError && e.status === 429 &&
      e.code === 'rate_limit_exceeded' && e.message.includes('requests_per_minute') &&
      Number(e.headers['retry-after']) >= 1 && e.headers['x-ratelimit-limit-requests'] === '1' &&
      e.headers['x-ratelimit-remaining-requests'] === '0');
});

test('a tenant over its quota gets a RateLimitError insufficient_quota', async () => {
  const metered = new OpenAI({ baseURL: process.env.IG_BASE_URL, apiKey: process.env.IG_METERED_KEY,
    maxRetries: 0 });
  let error = null;
  for (let i = 0; i < 5 && !error; ++i) {
    try {
      await metered.completions.create({ model, prompt, max_tokens: 4 });
    } catch (e) {
      error = e;
    }
  }
  assert.ok(error instanceof OpenAI.RateLimitError, String(error));
  assert.equal(error.status, 429);
  assert.equal(error.code, 'insufficient_quota');
  assert.equal(error.type, 'insufficient_quota');
  assert.match(error.message, /quota/);
});

test('fields not implemented are refused, never ignored', async () => {
  const refused = [
    { functions: [{ name: 'get_weather', parameters: { type: 'object' } }] },
    { reasoning_effort: 'low' },
    { guided_decoding_backend: 'xgrammar' },
    { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', not: {} } } } },
    { tool_choice: 'auto' },
  ];
  for (const extra of refused) {
    const field = Object.keys(extra)[0];
    await assert.rejects(
      client.chat.completions.create({ model, messages, max_tokens: 4, ...extra }),
      (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param.startsWith(field),
      field);
  }
  await assert.rejects(client.completions.create({ model, prompt, max_tokens: 4, guided_regex: '(a+' }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'guided_regex');
});

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};
const timeTool = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string', maxLength: 8 } }, required: ['zone'], additionalProperties: false } },
};

test('tool_choice required: the SDK reads our tool calls, streamed and not, identically', async () => {
  const req = { model, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool, timeTool],
    tool_choice: 'required', parallel_tool_calls: false, temperature: 0, max_tokens: 200 };
  const r = await client.chat.completions.create(req);
  const choice = r.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.content, null);
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.match(call.id, /^call_/);
  assert.ok(['get_weather', 'get_time'].includes(call.function.name));
  const args = JSON.parse(call.function.arguments);
  if (call.function.name === 'get_weather') {
    assert.equal(typeof args.city, 'string');
    assert.ok(['celsius', 'fahrenheit'].includes(args.unit));
  } else {
    assert.equal(typeof args.zone, 'string');
  }
  // The SDK's streaming helper assembles the same call from our deltas.
  const stream = client.beta.chat.completions.stream(req);
  const final = await stream.finalChatCompletion();
  const s = final.choices[0];
  assert.equal(s.finish_reason, 'tool_calls');
  assert.equal(s.message.tool_calls.length, 1);
  assert.equal(s.message.tool_calls[0].function.name, call.function.name);
  assert.equal(s.message.tool_calls[0].function.arguments, call.function.arguments);
});

test('a named tool_choice calls that function with valid arguments', async () => {
  const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'What time is it?' }],
    tools: [weatherTool, timeTool], tool_choice: { type: 'function', function: { name: 'get_time' } }, parallel_tool_calls: false,
    temperature: 0.8, seed: 3, max_tokens: 200 });
  const calls = r.choices[0].message.tool_calls;
  assert.equal(calls.length, 1);
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  for (const c of calls) {
    assert.equal(c.function.name, 'get_time');
    assert.equal(typeof JSON.parse(c.function.arguments).zone, 'string');
  }
});

test('response_format json_schema: the SDK parse helper gets a valid object', async () => {
  const r = await client.beta.chat.completions.parse({ model, messages: [{ role: 'user', content: 'A person' }],
    response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: {
      type: 'object', properties: { name: { type: 'string', maxLength: 10 }, age: { type: 'integer', minimum: 0, maximum: 120 } },
      required: ['name', 'age'], additionalProperties: false } } },
    temperature: 1.0, seed: 5, max_tokens: 300 });
  const p = r.choices[0].message.parsed;
  assert.equal(typeof p.name, 'string');
  assert.ok(Number.isInteger(p.age) && p.age >= 0 && p.age <= 120);
  assert.deepEqual(Object.keys(p), ['name', 'age']);  // properties in schema order
});
