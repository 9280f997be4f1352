// The browser bundle's stand-ins for Node built-ins must agree with Node where the miner relies on them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash as nodeHash, createHmac as nodeHmac } from 'node:crypto';
import { posix } from 'node:path';
import { crc32 as nodeCrc32 } from 'node:zlib';
import * as path from '../../src/browser/shims/path.ts';
import * as crypto from '../../src/browser/shims/crypto.ts';
import * as zlib from '../../src/browser/shims/zlib.ts';
import * as fs from '../../src/browser/shims/fs.ts';
import { Buffer as ShimBuffer } from '../../src/browser/shims/buffer.ts';

test('path: join, resolve, dirname, basename, extname and relative agree with node:path (posix)', () => {
  const cases = ['/a/b/../c', 'a//b/./c/', '/', '.', '..', '../x/y', '/tessera/browser-1/ef.bin', '/a/.b.tmp', 'x.tar.gz'];
  for (const c of cases) {
    assert.equal(path.normalize(c), posix.normalize(c).replace(/\/$/, '') || (c.startsWith('/') ? '/' : '.'), `normalize ${c}`);
    assert.equal(path.dirname(c), posix.dirname(c), `dirname ${c}`);
    assert.equal(path.basename(c), posix.basename(c), `basename ${c}`);
    assert.equal(path.extname(c), posix.extname(c), `extname ${c}`);
  }
  assert.equal(path.join('/tessera', 'browser-x', 'ef.bin'), posix.join('/tessera', 'browser-x', 'ef.bin'));
  assert.equal(path.join('a', '', 'b'), posix.join('a', '', 'b'));
  assert.equal(path.resolve('/a/b', '../c', 'd'), posix.resolve('/a/b', '../c', 'd'));
  assert.equal(path.relative('/a/b/c', '/a/d'), posix.relative('/a/b/c', '/a/d'));
});

test('crypto: SHA-256/SHA-512/SHA-1, HMAC, timingSafeEqual and random bytes as node:crypto', () => {
  const data = new Uint8Array(100_000).map((_, i) => (i * 7919) % 251);
  for (const alg of ['sha256', 'sha512', 'sha1']) {
    assert.equal(crypto.createHash(alg).update(data).update('tail').digest('hex'), nodeHash(alg).update(data).update('tail').digest('hex'), alg);
  }
  assert.ok(crypto.createHash('sha256').update('x').digest().equals(nodeHash('sha256').update('x').digest()));
  assert.equal(crypto.createHmac('sha256', 'key').update(data).digest('hex'), nodeHmac('sha256', 'key').update(data).digest('hex'));
  assert.throws(() => crypto.createHash('md5'), /md5 is not available in the browser/);
  assert.equal(crypto.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  assert.equal(crypto.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  assert.throws(() => crypto.timingSafeEqual(new Uint8Array(1), new Uint8Array(2)), RangeError);
  const r = crypto.randomBytes(70_000);
  assert.equal(r.length, 70_000);
  assert.ok(new Set(r.subarray(65_536)).size > 100, 'bytes past the first 64 KiB getRandomValues chunk are random too');
});

test('zlib: crc32 as node:zlib (the codec frames\' checksums)', () => {
  for (const s of ['', 'a', 'tessera', 'x'.repeat(10_000)]) assert.equal(zlib.crc32(s), nodeCrc32(s), JSON.stringify(s.slice(0, 10)));
  const b = new Uint8Array(4096).map((_, i) => i & 0xff);
  assert.equal(zlib.crc32(b), nodeCrc32(b));
  assert.equal(zlib.crc32(b.subarray(100), zlib.crc32(b.subarray(0, 100))), nodeCrc32(b), 'incremental');
});

test('buffer: equals accepts plain Uint8Arrays, as Node\'s does', () => {
  const plain = (xs: number[]) => new Uint8Array(xs) as unknown as InstanceType<typeof ShimBuffer>;
  assert.ok(ShimBuffer.from([1, 2, 3]).equals(plain([1, 2, 3])));
  assert.ok(!ShimBuffer.from([1, 2, 3]).equals(plain([1, 2])));
});

test('fs: the in-memory file system does what durable-write does (temp file, write, fsync, rename, dir fsync)', () => {
  const dir = `/t-${process.pid}/node`;
  assert.throws(() => fs.openSync(`${dir}/a.tmp`, 'wx'), /ENOENT/);
  fs.mkdirSync(dir, { recursive: true });
  const fd = fs.openSync(`${dir}/.a.tmp`, 'wx', 0o600);
  assert.throws(() => fs.openSync(`${dir}/.a.tmp`, 'wx'), /EEXIST/);
  fs.writeSync(fd, new Uint8Array([1, 2, 3, 4]), 1, 2);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(`${dir}/.a.tmp`, `${dir}/a`);
  fs.closeSync(fs.openSync(dir, 'r'));
  assert.deepEqual([...(fs.readFileSync(`${dir}/a`) as Uint8Array)], [2, 3]);
  assert.equal(fs.existsSync(`${dir}/.a.tmp`), false);
  assert.deepEqual(fs.readdirSync(dir), ['a']);
  fs.appendFileSync(`${dir}/log`, 'x\n');
  fs.appendFileSync(`${dir}/log`, 'y\n');
  assert.equal(fs.readFileSync(`${dir}/log`, 'utf8'), 'x\ny\n');
  assert.equal(fs.statSync(`${dir}/log`)!.size, 4);
  assert.equal(fs.statSync(`${dir}/missing`, { throwIfNoEntry: false }), undefined);
  assert.throws(() => fs.readFileSync(`${dir}/missing`), /ENOENT/);
  fs.rmSync(`/t-${process.pid}`, { recursive: true });
  assert.equal(fs.existsSync(`${dir}/a`), false);
});
