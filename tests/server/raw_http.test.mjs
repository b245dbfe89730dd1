// Bad requests over raw HTTP: each is a 4xx with an OpenAI-style JSON error while other
// requests go on; limits (body size, requests in flight); a client that disconnects
// mid-stream gives its KV pages back.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { MODEL, metrics, startServer, waitForMetrics } from './server_process.mjs';

const MAX_BODY = 65536;
let server;
before(async () => {
  server = await startServer(['--max-body-bytes', String(MAX_BODY), '--max-concurrent-requests', '2']);
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

async function post(path, body, headers = { 'Content-Type': 'application/json' }) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
}

function assertError(res, status, { param, code } = {}) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.type, /application\/json/);
  const e = res.body.error;
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  assert.equal(typeof e.type, 'string');
  assert.ok('param' in e && 'code' in e);
  if (param !== undefined) assert.equal(e.param, param);
  if (code !== undefined) assert.equal(e.code, code);
}

const chat = (extra = {}) => ({
  model: MODEL, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4, ...extra,
});

// A streaming completion that runs until it ends or the test destroys it: `events` fills
// as server-sent events arrive; waitFor(n) resolves once n have (or the stream ended).
function openStream(body) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}/v1/completions`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
    }, (res) => {
      const stream = { req, events: [], ended: false };
      let buffer = '';
      let wake = () => {};
      res.setEncoding('utf8');
      res.on('data', (piece) => {
        buffer += piece;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          stream.events.push(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        wake();
      });
      res.on('end', () => { stream.ended = true; wake(); });
      res.on('error', () => { stream.ended = true; wake(); });
      stream.waitFor = async (n) => {
        while (stream.events.length < n && !stream.ended) await new Promise((r) => { wake = r; });
        return stream.events;
      };
      resolve(stream);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ stream: true, ...body }));
  });
}

test('health', async () => {
  const res = await fetch(`${server.url}/health`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'ok' });
});

test('malformed JSON', async () => {
  assertError(await post('/v1/chat/completions', '{"model": "x", '), 400, { code: 'invalid_json' });
  assertError(await post('/v1/completions', '[1, 2]'), 400, { code: 'invalid_json' });
});

test('unknown model', async () => {
  assertError(await post('/v1/chat/completions', chat({ model: 'gpt-4o' })), 404, {
    param: 'model', code: 'model_not_found',
  });
  assertError(await post('/v1/chat/completions', { messages: [] }), 400, { param: 'model' });
});

test('bad parameters name the parameter', async () => {
  const cases = [
    [{ temperature: -1 }, 'temperature'],
    [{ temperature: 'hot' }, 'temperature'],
    [{ top_p: 1.5 }, 'top_p'],
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ max_tokens: 2.5 }, 'max_tokens'],
    [{ n: 2 }, 'n'],
    [{ stop: [1] }, 'stop'],
    [{ presence_penalty: 0.5 }, 'presence_penalty'],
    [{ logprobs: true }, 'logprobs'],
    [{ stream_options: { include_usage: true } }, 'stream_options'],
    [{ temprature: 0 }, 'temprature'],
    [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages'],
    [{ messages: 'Hello' }, 'messages'],
    [{ documents: 'one text' }, 'documents'],
    [{ documents: [{ id: 'not-an-id' }] }, 'documents[0]'],
  ];
  for (const [extra, param] of cases) {
    assertError(await post('/v1/chat/completions', chat(extra)), 400, { param });
  }
  assertError(await post('/v1/completions', { model: MODEL, prompt: ['a', 'b'] }), 400, { param: 'prompt' });
  assertError(await post('/v1/completions', { model: MODEL, prompt: 5 }), 400, { param: 'prompt' });
  assertError(await post('/v1/completions', { model: MODEL, prompt: [999999999] }), 400);
});

test('a prompt longer than the context is refused', async () => {
  const prompt = 'Document: '.repeat(5000);  // far more tokens than max_model_len (2048)
  assertError(await post('/v1/completions', { model: MODEL, prompt }), 400);
});

test('unknown routes and chunks', async () => {
  const res = await fetch(`${server.url}/v1/nothing`);
  assert.equal(res.status, 404);
  assert.equal(typeof (await res.json()).error.message, 'string');
  const del = await fetch(`${server.url}/v1/chunks/${'0'.repeat(64)}`, { method: 'DELETE' });
  assert.equal(del.status, 404);
  assert.equal((await del.json()).error.code, 'chunk_not_found');
  assertError(await post('/v1/chunks', { txt: 'x' }), 400, { param: 'txt' });
});

test('oversize body: 413 while a stream goes on', async () => {
  const stream = await openStream({ model: MODEL, prompt: 'Document: ', max_tokens: 40, ignore_eos: true, temperature: 0 });
  await stream.waitFor(1);
  const big = JSON.stringify({ model: MODEL, prompt: 'x'.repeat(MAX_BODY) });
  assertError(await post('/v1/completions', big), 413, { code: 'request_too_large' });
  const events = await stream.waitFor(Infinity);
  assert.ok(stream.ended);
  assert.equal(events.at(-1), 'data: [DONE]');
  const last = JSON.parse(events.at(-2).slice('data: '.length));
  assert.equal(last.choices[0].finish_reason, 'length');
});

test('requests over the concurrency limit get 429, the others finish', async () => {
  const body = { model: MODEL, prompt: 'Document: ', max_tokens: 1500, ignore_eos: true };
  const a = await openStream(body);
  const b = await openStream(body);
  await a.waitFor(1);
  await b.waitFor(1);
  assertError(await post('/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 1 }), 429, {
    code: 'too_many_requests',
  });
  a.req.destroy();
  b.req.destroy();
  await waitForMetrics(server.url, (m) => m.requests_running === 0);
  const ok = await post('/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 1 });
  assert.equal(ok.status, 200);
});

test('a client that disconnects mid-stream gives its pages back', async () => {
  const before = await waitForMetrics(server.url, (m) => m.requests_running === 0);
  const maxTokens = 1500;
  const stream = await openStream({
    model: MODEL, prompt: 'Document: Crystalton', max_tokens: maxTokens, ignore_eos: true,
  });
  await stream.waitFor(3);
  const during = await metrics(server.url);
  assert.equal(during.requests_running, 1);
  assert.ok(during.kv_pages_used > before.kv_pages_used, JSON.stringify(during));
  stream.req.destroy();
  const afterwards = await waitForMetrics(
    server.url, (m) => m.requests_running === 0 && m.requests_aborted_total === before.requests_aborted_total + 1);
  // The sequence's pages are free again, long before its max_tokens could have run out.
  assert.equal(afterwards.kv_pages_used, before.kv_pages_used);
  const generated = afterwards.engine_decode_tokens_total - before.engine_decode_tokens_total;
  assert.ok(generated < maxTokens / 2, `${generated} tokens generated after the client left`);
});
