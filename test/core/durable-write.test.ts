import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMP_NAME_TARGET_CHARS, tempPathFor, tempTargetOf, writeFileAtomic, writeFileAtomicAsync } from '../../src/core/durable-write.ts';
import { basename } from 'node:path';

const root = mkdtempSync(join(tmpdir(), 'durable-write-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => {
  const dir = join(root, `d${n++}`);
  mkdirSync(dir);
  return dir;
};

/** Not bytes: the write itself throws after the temp file was created. */
const unwritable = { length: 3 } as unknown as Uint8Array;

type Write = (path: string, data: Uint8Array | string, options?: Parameters<typeof writeFileAtomic>[2]) => Promise<void>;
const variants: Array<[string, Write]> = [
  ['writeFileAtomic', async (path, data, options) => writeFileAtomic(path, data, options)],
  ['writeFileAtomicAsync', async (path, data, options) => void (await writeFileAtomicAsync(path, data, options))],
];

for (const [name, write] of variants) {
  describe(name, () => {
    test('writes the content, replaces an existing file and leaves no temp file', async () => {
      const dir = freshDir();
      const path = join(dir, 'state.json');
      await write(path, '{"a":1}\n');
      assert.equal(readFileSync(path, 'utf8'), '{"a":1}\n');
      await write(path, new Uint8Array([1, 2, 3]));
      assert.deepEqual(new Uint8Array(readFileSync(path)), new Uint8Array([1, 2, 3]));
      assert.deepEqual(readdirSync(dir), ['state.json']);
    });

    test('creates a missing directory unless told not to', async () => {
      const dir = join(freshDir(), 'a', 'b');
      await write(join(dir, 'x.bin'), 'x');
      assert.equal(readFileSync(join(dir, 'x.bin'), 'utf8'), 'x');
      const missing = join(freshDir(), 'gone');
      await assert.rejects(write(join(missing, 'x.bin'), 'x', { createDir: false }), { code: 'ENOENT' });
    });

    test('honours the mode exactly, whatever the umask', async () => {
      const dir = freshDir();
      const old = process.umask(0o077);
      try {
        await write(join(dir, 'secret.json'), 's', { mode: 0o600 });
        await write(join(dir, 'public.json'), 'p', 0o644);
        await write(join(dir, 'default.json'), 'd');
      } finally {
        process.umask(old);
      }
      assert.equal(statSync(join(dir, 'secret.json')).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'public.json')).mode & 0o777, 0o644);
      assert.equal(statSync(join(dir, 'default.json')).mode & 0o777, 0o644);
      // replacing a secret with a secret never widens it
      await write(join(dir, 'secret.json'), 's2', { mode: 0o600 });
      assert.equal(statSync(join(dir, 'secret.json')).mode & 0o777, 0o600);
    });

    test('a failed write leaves the existing file untouched and no temp file', async () => {
      const dir = freshDir();
      const path = join(dir, 'params.safetensors');
      writeFileSync(path, 'old');
      await assert.rejects(write(path, unwritable));
      assert.equal(readFileSync(path, 'utf8'), 'old');
      assert.deepEqual(readdirSync(dir), ['params.safetensors']);
    });

    test('a failed rename (the target is a directory) leaves it as it was and no temp file', async () => {
      const dir = freshDir();
      const path = join(dir, 'taken');
      mkdirSync(path);
      writeFileSync(join(path, 'inside'), 'kept');
      await assert.rejects(write(path, 'new'));
      assert.equal(readFileSync(join(path, 'inside'), 'utf8'), 'kept');
      assert.deepEqual(readdirSync(dir), ['taken']);
    });

    test('without syncs the write is still complete and atomic', async () => {
      const dir = freshDir();
      await write(join(dir, 'state.json'), 'fast', { sync: 'none' });
      await write(join(dir, 'state.json'), 'faster', { sync: 'file' });
      assert.equal(readFileSync(join(dir, 'state.json'), 'utf8'), 'faster');
      assert.deepEqual(readdirSync(dir), ['state.json']);
    });
  });
}

test('temp names are hidden, unique, in the same directory and bounded in length', () => {
  const path = join(root, 'x'.repeat(250));
  const a = tempPathFor(path);
  const b = tempPathFor(path);
  assert.notEqual(a, b);
  for (const t of [a, b]) {
    assert.equal(join(t, '..'), root);
    const base = t.slice(root.length + 1);
    assert.ok(base.startsWith('.') && base.endsWith('.tmp'), base);
    assert.ok(Buffer.byteLength(base) <= 255, `${base.length}`);
  }
});

test('a temp name tells the start of its target\'s name; other names are not temp names', () => {
  assert.equal(tempTargetOf(basename(tempPathFor(join(root, 'gradient-5-3-v0.1.0')))), 'gradient-5-3-v0.1.0');
  assert.equal(tempTargetOf(basename(tempPathFor(join(root, '.hidden.json')))), '.hidden.json');
  assert.equal(tempTargetOf(basename(tempPathFor(join(root, 'y'.repeat(200))))), 'y'.repeat(TEMP_NAME_TARGET_CHARS));
  for (const name of ['gradient-5-3-v0.1.0', '.bucket.json', '.x.12.abcdef.tmp', '.x.12.abcdefabcdef.tmp.1', 'x.12.abcdefabcdef.tmp']) {
    assert.equal(tempTargetOf(name), null, name);
  }
});

test('writeFileAtomicAsync returns the stats of what it wrote', async () => {
  const path = join(freshDir(), 'obj');
  const st = await writeFileAtomicAsync(path, new Uint8Array(1234));
  assert.equal(st.size, 1234n);
  assert.equal(statSync(path, { bigint: true }).ino, st.ino);
});
