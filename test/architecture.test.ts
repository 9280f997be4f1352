import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const TEST = join(ROOT, 'test');

/** Each src/ folder's place in the one-way data flow: a folder imports only folders of a lower rank. */
const RANK: Record<string, number> = {
  core: 0,
  tensor: 1,
  model: 2,
  data: 3,
  optim: 4,
  codec: 5,
  pipeline: 5,
  storage: 6,
  chain: 6,
  protocol: 7,
  obs: 7,
  node: 8,
  eval: 8,
  experiment: 8,
  miner: 9,
  validator: 9,
  evaluator: 9,
  net: 10,
  dashboard: 10,
  browser: 10,
  cli: 11,
};

function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...filesUnder(full, suffix));
    else if (entry.endsWith(suffix)) out.push(full);
  }
  return out;
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((s) => resolve(dirname(file), s));
}

const topFolder = (path: string, base: string) => relative(base, path).split('/')[0];

test('every src/ folder has a place in the layer order', () => {
  const folders = readdirSync(SRC).filter((e) => statSync(join(SRC, e)).isDirectory());
  assert.deepEqual(folders.filter((f) => RANK[f] === undefined), []);
});

test('data flows one way: no src/ module imports a folder of its own rank or above', () => {
  const upward: string[] = [];
  for (const file of filesUnder(SRC, '.ts')) {
    const from = topFolder(file, SRC);
    for (const target of relativeImports(file)) {
      const to = topFolder(target, SRC);
      if (to === from || to.startsWith('..')) continue;
      if (!(RANK[to] < RANK[from])) upward.push(`${relative(ROOT, file)} imports ${relative(ROOT, target)}`);
    }
  }
  assert.deepEqual(upward, []);
});

test('test/ mirrors src/: every test folder is named after a src folder', () => {
  const folders = readdirSync(TEST).filter((e) => statSync(join(TEST, e)).isDirectory() && e !== 'fixtures');
  assert.deepEqual(folders.filter((f) => RANK[f] === undefined), []);
});

/** What makes a test file start a process or a server (it must then say so: `// starts: …` in its first lines). */
const STARTS = /\b(spawn|spawnSync|execFile|execFileSync|fork|startNetwork|startLocalRgw|startEmbeddedChain|serveMetrics|startDashboard|createServer|chromium)\b|\bnet\.start\(\)/;

test('every test file that starts a process or a server is marked, so `npm run test:unit` leaves it out', () => {
  const unmarked: string[] = [];
  const helpers = filesUnder(TEST, '.ts').filter((f) => !f.endsWith('.test.ts'));
  const startingHelpers = new Set(helpers.filter((f) => STARTS.test(readFileSync(f, 'utf8'))));
  for (const file of filesUnder(TEST, '.test.ts')) {
    if (file === fileURLToPath(import.meta.url)) continue;
    const text = readFileSync(file, 'utf8');
    const marked = /^\/\/ starts: /m.test(text.split('\n').slice(0, 5).join('\n'));
    const starts = STARTS.test(text) || relativeImports(file).some((t) => startingHelpers.has(t));
    if (starts && !marked) unmarked.push(relative(ROOT, file));
  }
  assert.deepEqual(unmarked, []);
});
