// starts: processes (the tessera CLI and an embedded chain)
/**
 * `tessera chain start` as a separate process: a client registers against it, SIGTERM saves and exits 0, and a
 * second process on the same directory continues the chain. Also `tessera keys new|list`.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { initKeys, listKeys, loadKey } from '../../../src/chain/keys.ts';
import { devAccount, EmbeddedChainClient } from '../../../src/chain/embedded/index.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'tessera.mjs');

interface Started {
  child: ChildProcess;
  url: string;
  head: number;
  exit: Promise<number | null>;
}

function startChain(dir: string): Promise<Started> {
  const child = spawn(process.execPath, [BIN, 'chain', 'start', '--dir', dir, '--port', '0', '--block-time-ms', '100', '--tempo', '5', '--validators', '1', '--miners', '1', '--seed', 'cli'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('chain did not start within 60 s')), 60_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (l) => {
      const ev = JSON.parse(l) as { event: string; url?: string; head?: { number: number } };
      if (ev.event === 'chain-started') {
        clearTimeout(timer);
        resolve({ child, url: ev.url!, head: ev.head!.number, exit });
      }
    });
    child.once('exit', (code) => reject(new Error(`chain exited early with ${code}`)));
  });
}

describe('tessera chain start (child process)', () => {
  let dir: string;
  before(async () => {
    await initKeys();
    dir = mkdtempSync(join(tmpdir(), 'tessera-chain-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('serves registrations; survives a crash (SIGKILL) with every acknowledged transaction; stops cleanly on SIGTERM', async () => {
    const first = await startChain(dir);
    const client = new EmbeddedChainClient({ url: first.url, netuid: 1, timeoutMs: 20_000 });
    const miner = devAccount('cli', 'miner-0');
    const uid = await client.register(miner.hotkey, miner.coldkey.address);
    assert.equal(uid, 2, 'after the owner (0) and the genesis validator (1)');
    const registeredAt = (await client.metagraph()).neurons[uid].registeredAtBlock;
    first.child.kill('SIGKILL'); // a crash: the state on disk is the last save, which includes every included transaction
    await first.exit;

    const second = await startChain(dir); // takes over the dead process's lock
    let headAtStop: number;
    try {
      assert.ok(second.head >= registeredAt, `resumed at ${second.head}, registration was in block ${registeredAt}`);
      const again = new EmbeddedChainClient({ url: second.url, netuid: 1, timeoutMs: 20_000 });
      assert.equal(await again.uidOf(miner.hotkey.address), uid);
      await again.setCommitment(miner.hotkey, 'after-restart');
      headAtStop = (await again.currentBlock()).number;
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exit, 0, 'SIGTERM saves and exits 0');
    }
    assert.ok(statSync(join(dir, 'state.json')).size > 0);
    const third = await startChain(dir);
    try {
      assert.ok(third.head >= headAtStop, 'a clean stop keeps every block');
      const c3 = new EmbeddedChainClient({ url: third.url, netuid: 1, timeoutMs: 20_000 });
      assert.equal((await c3.commitments()).get(miner.hotkey.address), 'after-restart');
    } finally {
      third.child.kill('SIGTERM');
      await third.exit;
    }
  });
});

describe('tessera keys (child process)', () => {
  before(initKeys);
  test('new writes a key file that lists and loads', () => {
    const root = mkdtempSync(join(tmpdir(), 'tessera-keys-cli-'));
    try {
      const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'keys', ...args, '--root', root], { cwd: ROOT, encoding: 'utf8' });
      const made = run('new', '--wallet', 'w1', '--hotkey', 'h1', '--json');
      assert.equal(made.status, 0, made.stderr);
      const info = JSON.parse(made.stdout) as { address: string; mnemonic: string };
      assert.equal(info.mnemonic.split(' ').length, 12);
      assert.deepEqual(listKeys(root).map((k) => [k.wallet, k.name, k.address]), [['w1', 'h1', info.address]]);
      assert.equal(loadKey({ root, wallet: 'w1', hotkey: 'h1' }).address, info.address);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
