// SIGTERM while an answer streams: the server ends the stream with an error event and
// exits with status 0 instead of waiting for the request to run out.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';

import { MODEL, startServer } from './server_process.mjs';

test('SIGTERM ends running streams and exits cleanly', async () => {
  const server = await startServer();
  const received = [];
  const ended = new Promise((resolve, reject) => {
    const req = http.request(`${server.url}/v1/completions`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
    }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (piece) => received.push(piece));
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(JSON.stringify({
      model: MODEL, prompt: 'Document: ', max_tokens: 1900, ignore_eos: true, stream: true,
    }));
  });
  while (received.join('').split('\n\n').length < 3) await new Promise((r) => setTimeout(r, 20));
  const started = Date.now();
  assert.equal(await server.stop(), 0);
  await ended;
  assert.ok(Date.now() - started < 5000, `stopping took ${Date.now() - started} ms`);
  const events = received.join('').trimEnd().split('\n\n');
  const last = JSON.parse(events.at(-1).slice('data: '.length));
  assert.match(last.error.message, /shutting down/);
});
