// The server driven by the official `openai` npm client: completions, chat, streaming,
// documents and registered chunks, on the project's trained tiny model.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { DOCUMENTS, MODEL, SYSTEM, metrics, openaiClient, startServer } from './server_process.mjs';

let server;
let client;
before(async () => {
  server = await startServer();
  client = openaiClient(server.url);
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

const question = (q) => [
  { role: 'system', content: SYSTEM },
  { role: 'user', content: `Question: ${q}` },
];

test('models lists the served model', async () => {
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  assert.deepEqual(models, [MODEL]);
  assert.equal((await client.models.retrieve(MODEL)).id, MODEL);
  await assert.rejects(client.models.retrieve('gpt-4o'), (e) => e.status === 404);
});

test('chat with documents answers from them, reasoning apart', async () => {
  const res = await client.chat.completions.create({
    model: MODEL,
    messages: question('Where is Crystalton located?'),
    documents: DOCUMENTS,
    temperature: 0,
    max_tokens: 48,
  });
  const choice = res.choices[0];
  assert.equal(res.object, 'chat.completion');
  assert.equal(choice.finish_reason, 'stop');
  assert.match(choice.message.content, /Nebulonia/);
  assert.match(choice.message.reasoning_content, /Crystalton/);
  assert.doesNotMatch(choice.message.content, /<think>|<\/think>/);
  assert.ok(res.usage.prompt_tokens > 60);
  assert.ok(res.usage.completion_tokens > 0);
  assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);
});

test('streamed chat adds up to the same answer, usage last', async () => {
  const body = {
    model: MODEL,
    messages: question('What is the capital of Nebulonia?'),
    documents: DOCUMENTS,
    temperature: 0,
    max_tokens: 48,
  };
  const whole = await client.chat.completions.create(body);
  const stream = await client.chat.completions.create({
    ...body, stream: true, stream_options: { include_usage: true },
  });
  let content = '';
  let reasoning = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      content += c.delta.content ?? '';
      reasoning += c.delta.reasoning_content ?? '';
      finish = c.finish_reason ?? finish;
    }
  }
  assert.ok(chunks > 3, `only ${chunks} chunks`);
  assert.equal(content, whole.choices[0].message.content);
  assert.equal(reasoning, whole.choices[0].message.reasoning_content);
  assert.match(content, /Crystalton/);
  assert.equal(finish, 'stop');
  // The same counts (how much of the prompt came from caches differs: the second time more).
  assert.equal(usage.prompt_tokens, whole.usage.prompt_tokens);
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
  assert.ok(usage.prompt_tokens_details.cached_tokens >= whole.usage.prompt_tokens_details.cached_tokens);
});

test('completions: text, stop strings, max_tokens, seeds', async () => {
  const prompt = `<|im_start|>system\n${SYSTEM}<|im_end|>\n<|im_start|>user\n` +
    `Document: ${DOCUMENTS[1]}\n\nQuestion: Where is Crystalton located?<|im_end|>\n` +
    '<|im_start|>assistant\n';
  const full = await client.completions.create({ model: MODEL, prompt, temperature: 0, max_tokens: 48 });
  assert.equal(full.object, 'text_completion');
  assert.match(full.choices[0].text, /Nebulonia/);

  const stopped = await client.completions.create({
    model: MODEL, prompt, temperature: 0, max_tokens: 48, stop: ['Nebulonia'],
  });
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  assert.equal(stopped.choices[0].text, full.choices[0].text.split('Nebulonia')[0]);

  const short = await client.completions.create({ model: MODEL, prompt, temperature: 0, max_tokens: 3 });
  assert.equal(short.choices[0].finish_reason, 'length');
  assert.equal(short.usage.completion_tokens, 3);

  const sampled = { model: MODEL, prompt: 'Document: ', temperature: 1, top_p: 0.95, seed: 42, max_tokens: 16 };
  const a = await client.completions.create(sampled);
  const b = await client.completions.create(sampled);
  assert.equal(a.choices[0].text, b.choices[0].text);
});

test('streamed completion adds up to the whole one', async () => {
  const body = { model: MODEL, prompt: 'Document: Crystalton', temperature: 0, max_tokens: 20 };
  const whole = await client.completions.create(body);
  let text = '';
  for await (const chunk of await client.completions.create({ ...body, stream: true })) {
    text += chunk.choices[0]?.text ?? '';
  }
  assert.equal(text, whole.choices[0].text);
});

test('registered chunks: ids, use in documents, listing, release', async () => {
  const added = await client.post('/chunks', { body: { text: DOCUMENTS[1], system: SYSTEM } });
  assert.match(added.id, /^[0-9a-f]{64}$/);
  assert.ok(added.num_tokens > 5);
  const again = await client.post('/chunks', { body: { text: DOCUMENTS[1], system: SYSTEM } });
  assert.equal(again.id, added.id);

  const ask = (documents) => client.chat.completions.create({
    model: MODEL, messages: question('Where is Crystalton located?'), documents, temperature: 0, max_tokens: 48,
  });
  const byId = await ask([DOCUMENTS[0], { id: added.id }]);
  const byText = await ask([DOCUMENTS[0], DOCUMENTS[1]]);
  assert.equal(byId.choices[0].message.content, byText.choices[0].message.content);
  assert.match(byId.choices[0].message.content, /Nebulonia/);

  const listed = await client.get('/chunks');
  const entry = listed.data.find((c) => c.id === added.id);
  assert.ok(entry && entry.uses >= 1, JSON.stringify(listed));
  assert.ok(listed.stats.chunk_registry.hits > 0, JSON.stringify(listed.stats));

  const deleted = await client.delete(`/chunks/${added.id}`);
  assert.equal(deleted.deleted, true);
  await assert.rejects(client.delete(`/chunks/${added.id}`), (e) => e.status === 404);
  await assert.rejects(ask([{ id: added.id }]), (e) => e.status === 400 && /unknown chunk id/.test(e.message));
});

test('concurrent clients share the engine\'s batch', async () => {
  const questions = {
    'Where is Crystalton located?': /Nebulonia/,
    'What is the capital of Nebulonia?': /Crystalton/,
    'Where was Ilsa Marwen born?': /Crystalford/,
    "What is Maren Surnton's favourite colour?": /amber/,
  };
  const before = await metrics(server.url);
  const answers = await Promise.all(Object.keys(questions).map((q) => client.chat.completions.create({
    model: MODEL, messages: question(q), documents: DOCUMENTS, temperature: 0, max_tokens: 48,
  })));
  const after = await metrics(server.url);
  Object.values(questions).forEach((answer, i) => assert.match(answers[i].choices[0].message.content, answer));
  // One engine step advances every running request: far fewer steps than tokens.
  const tokens = answers.reduce((n, a) => n + a.usage.completion_tokens, 0);
  const steps = after.engine_steps_total - before.engine_steps_total;
  assert.ok(steps < 0.6 * tokens, `${steps} steps for ${tokens} tokens`);
});
