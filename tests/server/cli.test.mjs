// `cascade chat` on standard input and `cascade chunks`, on the trained tiny model.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

import { DOCUMENTS, MODEL_DIR, ROOT, SYSTEM, startServer } from './server_process.mjs';

const CLI = process.env.CASCADE_CLI ?? path.join(ROOT, 'build', 'cascade');
const DOCUMENTS_FILE = path.join(ROOT, 'examples', 'demo', 'documents.txt');

function run(args, input = '') {
  const r = spawnSync(CLI, [...args, '--threads', '1'], { input, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

test('chat answers each line, keeps the conversation, /reset forgets it', () => {
  const input = [
    'Question: Where is Crystalton located?',
    '/reset',
    'Question: What is the capital of Nebulonia?',
    'Question: Where was Ilsa Marwen born?',
    '/quit',
    'Question: never asked',
  ].join('\n');
  const r = run(['chat', '--model', MODEL_DIR, '--system', SYSTEM, '--documents', DOCUMENTS_FILE,
    '--temperature', '0', '--show-reasoning'], input);
  assert.deepEqual(r.stdout.trimEnd().split('\n'), [
    'Crystalton is located in Nebulonia.',
    'The capital of Nebulonia is Crystalton.',
    'Ilsa Marwen was born in Crystalford.',
  ]);
  assert.deepEqual(r.stderr.trimEnd().split('\n'), [
    'A document describes Crystalton.',
    'A document describes Nebulonia.',
    'A document describes Ilsa Marwen.',
  ]);
});

test('chunks prints the ids the server gives the same documents', async () => {
  const r = run(['chunks', '--model', MODEL_DIR, '--per-line', '--system', SYSTEM, DOCUMENTS_FILE]);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, DOCUMENTS.length + 1);
  const ids = lines.slice(0, -1).map((line) => line.split(/\s+/)[0]);
  for (const id of ids) assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(new Set(ids).size, ids.length);
  assert.match(lines.at(-1), new RegExp(`^${DOCUMENTS.length} chunks registered`));

  const server = await startServer();
  try {
    const res = await fetch(`${server.url}/v1/chunks`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: DOCUMENTS[2], system: SYSTEM }),
    });
    assert.equal((await res.json()).id, ids[2]);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('bad input is one line on stderr and a non-zero status', () => {
  const r = spawnSync(CLI, ['chat', '--model', MODEL_DIR, '--documents', '/nonexistent'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'cascade: error: /nonexistent: cannot open documents file\n');
});
