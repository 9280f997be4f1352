// starts: the tessera CLI (`net up` with a bad --preset, which exits before starting a chain or a node)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/tessera.mjs', import.meta.url));

test('net up --preset is validated by name before anything starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-preset-cli-'));
  try {
    const r = spawnSync(process.execPath, [BIN, 'net', 'up', '--preset', 'mainnet', '--run-dir', join(dir, 'run'), '--no-dashboard'], { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--preset must be one of local, templar, got "mainnet"/);
    assert.deepEqual(readdirSync(dir), [], 'no run directory was created');
  } finally {
    rmSync(dir, { recursive: true });
  }
});
