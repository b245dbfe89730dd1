// A bounded load test of `cascade serve` on loopback: REQUESTS requests from CONCURRENCY
// clients at once, mixed (plain and streaming, completions and chat, with and without
// documents, streams cancelled mid-way, malformed bodies). It fails unless there is no
// 5xx, every well-formed request is answered in full, every malformed one gets a 4xx JSON
// error, and afterwards no request is running and no KV page is held except by cached
// chunks. Prints a JSON summary (latency p50/p99, throughput) on stdout, or writes it to
// the file named by --json.
//   node tests/server/load/load_test.mjs [--requests 2000] [--concurrency 64] [--json FILE]
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

import { DOCUMENTS, MODEL, SYSTEM, metrics, startServer, waitForMetrics } from '../server_process.mjs';

const { values: opts } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' },
    json: { type: 'string' },
  },
});
const REQUESTS = Number(opts.requests);
const CONCURRENCY = Number(opts.concurrency);

const QUESTIONS = ['Where is Crystalton located?', 'What is the capital of Nebulonia?',
  'Where was Ilsa Marwen born?', 'Who founded Crystalford?'];

// Malformed bodies, each with the status it must get.
const MALFORMED = [
  { body: '{"model": ', status: 400 },
  { body: JSON.stringify({ model: MODEL, prompt: 'x', temperature: -1 }), status: 400 },
  { body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 'many' }), status: 400 },
  { body: JSON.stringify({ model: MODEL, prompt: 'x', no_such_field: 1 }), status: 400 },
  { body: JSON.stringify({ model: 'other-model', prompt: 'x' }), status: 404 },
  { body: JSON.stringify({ model: MODEL, documents: [''], prompt: 'x' }), status: 400 },
  { body: JSON.stringify([1, 2, 3]), status: 400 },
];

// The i-th request of the mix (deterministic, so runs are comparable).
function job(i) {
  const question = `Question: ${QUESTIONS[i % QUESTIONS.length]}`;
  const documents = i % 3 === 0 ? undefined : DOCUMENTS.slice(0, 1 + (i % DOCUMENTS.length));
  const chat = i % 2 === 0;
  const path = chat ? '/v1/chat/completions' : '/v1/completions';
  const body = chat
    ? { model: MODEL, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: question }] }
    : { model: MODEL, prompt: question };
  Object.assign(body, { max_tokens: 8 + (i % 17), temperature: i % 4 === 0 ? 0.8 : 0, seed: i });
  if (documents) body.documents = documents;
  switch (i % 10) {
    case 0: return { kind: 'malformed', path: '/v1/completions', ...MALFORMED[(i / 10) % MALFORMED.length] };
    case 1: return { kind: 'cancelled', path, body: { ...body, stream: true, max_tokens: 400, ignore_eos: true } };
    case 2: case 3: case 4: return { kind: 'stream', path, body: { ...body, stream: true } };
    default: return { kind: 'plain', path, body };
  }
}

// One request; resolves to {status, events (streams), json (plain)}. `cancelAfter`: the
// number of events after which the client disconnects.
function send(url, path, body, cancelAfter) {
  return new Promise((resolve, reject) => {
    const data = typeof body === 'string' ? body : JSON.stringify(body);
    const req = http.request(`${url}${path}`, {
      method: 'POST', agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
    }, (res) => {
      let text = '';
      const events = [];
      res.setEncoding('utf8');
      res.on('data', (piece) => {
        text += piece;
        if (!res.headers['content-type']?.startsWith('text/event-stream')) return;
        let end;
        while ((end = text.indexOf('\n\n')) >= 0) {
          events.push(text.slice(0, end));
          text = text.slice(end + 2);
        }
        if (cancelAfter !== undefined && events.length >= cancelAfter) {
          req.destroy();
          resolve({ status: res.statusCode, events, cancelled: true });
        }
      });
      res.on('end', () => {
        const json = res.headers['content-type']?.startsWith('application/json') ? JSON.parse(text) : undefined;
        resolve({ status: res.statusCode, events, json });
      });
      res.on('error', () => {});
    });
    req.on('error', (e) => (cancelAfter !== undefined ? resolve({ cancelled: true }) : reject(e)));
    req.end(data);
  });
}

function check(j, res) {
  if (j.kind === 'malformed') {
    assert.equal(res.status, j.status, `${j.body} -> ${res.status}`);
    assert.equal(typeof res.json?.error?.message, 'string');
    return;
  }
  assert.equal(res.status, 200, JSON.stringify(res.json ?? res.events.slice(0, 2)));
  if (j.kind === 'cancelled') return;
  if (j.kind === 'stream') {
    assert.equal(res.events.at(-1), 'data: [DONE]', 'a stream must end with [DONE]');
    const last = JSON.parse(res.events.at(-2).slice(6));
    assert.ok(['stop', 'length'].includes(last.choices[0].finish_reason));
    return;
  }
  const choice = res.json.choices[0];
  assert.ok(['stop', 'length'].includes(choice.finish_reason));
  assert.ok(res.json.usage.completion_tokens > 0);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const server = await startServer(['--max-concurrent-requests', String(CONCURRENCY + 16)]);
try {
  const before = await metrics(server.url);
  const latencies = { plain: [], stream: [] };
  const counts = { plain: 0, stream: 0, cancelled: 0, malformed: 0 };
  let next = 0;
  const t0 = performance.now();
  async function client() {
    while (next < REQUESTS) {
      const j = job(next++);
      const start = performance.now();
      const res = await send(server.url, j.path, j.body, j.kind === 'cancelled' ? 2 : undefined);
      check(j, res);
      counts[j.kind] += 1;
      if (latencies[j.kind]) latencies[j.kind].push(performance.now() - start);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  const seconds = (performance.now() - t0) / 1000;

  const after = await waitForMetrics(server.url, (m) => m.requests_running === 0 &&
    m.kv_pages_used === m.chunk_pages, 30_000);
  assert.equal(after.http_server_errors_total, 0, 'no 5xx');
  assert.equal(after.http_client_errors_total - before.http_client_errors_total, counts.malformed);
  // Cancelled streams ask for 400 tokens: the server sees their clients leave long before.
  const finished = after.requests_finished_stop_total + after.requests_finished_length_total;
  assert.equal(finished, counts.plain + counts.stream, 'every well-formed request finished');
  assert.equal(after.requests_aborted_total, counts.cancelled, 'every cancelled stream aborted');
  const generated = after.engine_decode_tokens_total - before.engine_decode_tokens_total;

  const ms = (list) => {
    const s = [...list].sort((a, b) => a - b);
    return { p50: +percentile(s, 50).toFixed(1), p99: +percentile(s, 99).toFixed(1), n: s.length };
  };
  const summary = {
    requests: REQUESTS, concurrency: CONCURRENCY, seconds: +seconds.toFixed(2),
    requests_per_second: +(REQUESTS / seconds).toFixed(1),
    generated_tokens_per_second: +(after.generation_tokens_total / seconds).toFixed(1),
    counts, latency_ms: { plain: ms(latencies.plain), stream: ms(latencies.stream) },
    server: {
      http_5xx: after.http_server_errors_total, aborted: after.requests_aborted_total,
      kv_pages_used_after: after.kv_pages_used, chunk_pages_after: after.chunk_pages,
      preemptions: after.preemptions_total, engine_steps: after.engine_steps_total,
      decode_tokens: generated,
    },
  };
  const text = JSON.stringify(summary, null, 2);
  if (opts.json) writeFileSync(opts.json, text + '\n');
  console.log(text);
} finally {
  assert.equal(await server.stop(), 0, server.stderr());
}
