// starts: processes (two data-prepare workers at once)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ensureDataset } from '../../src/data/index.ts';

const tempRoot = () => mkdtempSync(join(tmpdir(), 'tessera-data-'));

test('two processes preparing the same fresh folder at once both succeed with identical shards', async () => {
  const root = tempRoot();
  const worker = fileURLToPath(new URL('./prepare-worker.ts', import.meta.url));
  const run = promisify(execFile);
  try {
    const outs = await Promise.all([0, 1].map(() => run(process.execPath, ['--import', 'tsx', worker, root], { timeout: 60_000 })));
    const [a, b] = outs.map((o) => JSON.parse(o.stdout) as { train: number; id: string });
    assert.deepEqual(a, b);
    const ds = ensureDataset({ root });
    assert.equal(ds.tokenCount('train'), a.train);
    assert.equal(ds.sampleId('train', 100, 64).toString(), a.id);
    assert.deepEqual(readdirSync(ds.dir).sort(), ['train.shard', 'validation.shard']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
