// starts: the tessera CLI (`net host` with bad arguments, which exits before opening a chain or starting a node)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/tessera.mjs', import.meta.url));

const host = (...args: string[]) => spawnSync(process.execPath, [BIN, 'net', 'host', ...args], { encoding: 'utf8', timeout: 60_000 });

test('net host names what is wrong with its run directory, nodes and latencies in one line, before starting a node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-net-host-cli-'));
  try {
    let r = host('--run-dir', dir, '--nodes', 'miner-0');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^tessera: RunFileError \(Malformed\): .*nodes\.json is missing\n$/);

    writeFileSync(join(dir, 'nodes.json'), JSON.stringify({ nodes: [{ name: 'validator-0', role: 'validator' }, { name: 'miner-0', role: 'miner' }] }));
    r = host('--run-dir', dir, '--nodes', 'miner-0,miner-7');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--nodes: miner-7 is not a node of .*nodes\.json/);

    r = host('--run-dir', dir, '--nodes', 'miner-0', '--store-latency', 'miner-0:500');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--store-latency takes <node>=<ms>, got "miner-0:500"/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
