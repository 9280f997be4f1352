// starts: a process (the AssemblyScript compiler)
// The committed kernels.wasm must be what assembly/kernels.ts compiles to (`npm run build:wasm` rebuilds it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('src/tensor/kernels/kernels.wasm is up to date with assembly/kernels.ts', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const r = spawnSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr || r.stdout);
});
