import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunFileError } from '../../src/obs/errors.ts';
import { readMetricsAddress, readRunManifest } from '../../src/obs/run-files.ts';
import { RunFolder } from '../../src/obs/run-snapshot.ts';

function inTempDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'run-files-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('nodes.json: the declared nodes, null while absent, a typed error naming the field when damaged', () => {
  inTempDir((dir) => {
    const path = join(dir, 'nodes.json');
    assert.equal(readRunManifest(path), null);
    writeFileSync(path, JSON.stringify({ nodes: [{ name: 'validator-0', role: 'validator' }, { name: 'miner-1', role: 'miner', adversary: 'copycat' }] }));
    assert.deepEqual(readRunManifest(path), [{ name: 'validator-0', role: 'validator' }, { name: 'miner-1', role: 'miner', adversary: 'copycat' }]);
    writeFileSync(path, JSON.stringify({ nodes: [{ name: 'miner-0', role: 'leader' }] }));
    assert.throws(() => readRunManifest(path), (err) => isRunFileError(err, 'Malformed') && /nodes\[0\]: role must be one of miner, validator/.test(err.message));
    writeFileSync(path, '{"nodes": [');
    assert.throws(() => readRunManifest(path), (err) => isRunFileError(err, 'Malformed') && /not valid JSON/.test(err.message));
  });
});

test('metrics.json: url and pid, null when the node serves no metrics', () => {
  inTempDir((dir) => {
    const path = join(dir, 'metrics.json');
    assert.equal(readMetricsAddress(path), null);
    writeFileSync(path, JSON.stringify({ url: 'http://127.0.0.1:9100/metrics', pid: 42 }));
    assert.deepEqual(readMetricsAddress(path), { url: 'http://127.0.0.1:9100/metrics', pid: 42 });
    writeFileSync(path, JSON.stringify({ url: 'http://127.0.0.1:9100/metrics' }));
    assert.throws(() => readMetricsAddress(path), (err) => isRunFileError(err, 'Malformed') && /pid/.test(err.message));
  });
});

test('an events line that is not a JSON object is skipped and counted', () => {
  const folder = new RunFolder('/run');
  assert.equal(folder.addLine('miner-0', '{"t": 1, "node": "miner-0", "kind": "registered", "uid": 1, "hotkey": "5Gh", "adversary": null}'), true);
  assert.equal(folder.addLine('miner-0', '{"t": 2, "kind": '), false);
  assert.equal(folder.addLine('miner-0', '[1]'), false);
  assert.equal(folder.snapshot().skipped.malformed, 2);
});
