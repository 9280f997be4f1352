#!/usr/bin/env node
// Runs every test file under test/ with Node's own test runner through tsx.
// Usage: npm test [-- <substring filter> ...]
//        npm run test:unit [-- <substring filter> ...]   (--unit: only files that start no process and no server,
//        i.e. without a `// starts: …` line at their top; test/architecture.test.ts keeps those lines honest)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (entry.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => a !== '--unit');
const startsSomething = (file) => /^\/\/ starts: /m.test(readFileSync(join(root, file), 'utf8').split('\n').slice(0, 5).join('\n'));
const files = findTests(join(root, 'test'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .filter((f) => !unitOnly || !startsSomething(f))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The S3 tests need Ceph RGW and the dashboard test Chromium: install them first when they are missing (a no-op
// when present; as root with apt). Without them those tests report why, and the rest still runs.
const deps = unitOnly ? { status: 0 } : spawnSync('bash', [join(root, 'scripts', 'install-system-deps.sh')], { cwd: root, stdio: 'inherit' });
if (deps.status !== 0) console.error('run-tests: system packages missing (see above); the S3 and dashboard tests cannot run');

// Files that start no process run two at a time (their per-file start-up, ~1 s of tsx each, overlaps); files that
// start a network or a server run one at a time, as their windows are timed for a machine they have to themselves.
const run = (list, concurrency) =>
  list.length === 0
    ? 0
    : (spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, ...list], { cwd: root, stdio: 'inherit' }).status ?? 1);
const unitStatus = run(files.filter((f) => !startsSomething(f)), 2);
const processStatus = run(files.filter((f) => startsSomething(f)), 1);
process.exit(unitStatus !== 0 ? unitStatus : processStatus);
