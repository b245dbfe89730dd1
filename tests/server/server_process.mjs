// Starts `cascade serve` on a free loopback port for a test file and stops it after.
// CASCADE_CLI names the executable (ctest sets it), CASCADE_NPM the folder with the npm
// packages (.deps/npm, installed by scripts/install-deps.sh).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MODEL_DIR = path.join(ROOT, 'models', 'cascade-tiny-qwen3');
export const MODEL = 'cascade-tiny-qwen3';
export const SYSTEM = 'You answer questions using only the documents.';
export const DOCUMENTS = readFileSync(path.join(ROOT, 'examples', 'demo', 'documents.txt'), 'utf8')
  .split('\n')
  .filter((line) => line.length > 0);

export function openaiClient(url) {
  const npm = process.env.CASCADE_NPM ?? path.join(ROOT, '.deps', 'npm');
  const require = createRequire(path.join(npm, 'package.json'));
  const { OpenAI } = require('openai');
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
}

export async function startServer(extraArgs = []) {
  const cli = process.env.CASCADE_CLI ?? path.join(ROOT, 'build', 'cascade');
  const args = ['serve', '--model', MODEL_DIR, '--port', '0', '--threads', '1', ...extraArgs];
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`no start within 60 s: ${stderr}`)), 60_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = stdout.match(/on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${stderr}`)); });
  });
  return {
    url,
    stderr: () => stderr,
    // SIGTERM stops the server cleanly: exit status 0.
    async stop() {
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      return code;
    },
  };
}

export async function metrics(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const values = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^cascade_(\w+) (\S+)$/);
    if (m) values[m[1]] = Number(m[2]);
  }
  return values;
}

// Polls until check(metrics) holds; returns the metrics, or throws after `ms`.
export async function waitForMetrics(url, check, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = await metrics(url);
    if (check(m)) return m;
    if (Date.now() > deadline) throw new Error(`metrics never matched: ${JSON.stringify(m)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
