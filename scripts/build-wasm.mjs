#!/usr/bin/env node
// Compiles assembly/kernels.ts (AssemblyScript) into src/tensor/kernels/kernels.wasm, which is committed so a
// fresh clone needs nothing but `npm ci`. `--check` compiles in memory and fails if the committed file is stale.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import asc from 'assemblyscript/asc';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'src/tensor/kernels/kernels.wasm');
export const ASC_FLAGS = [
  'assembly/kernels.ts', '--outFile', 'kernels.wasm',
  '--runtime', 'stub', '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536',
  '--enable', 'simd,threads', '-O3', '--noAssert', '--use', 'abort=',
];

const outputs = {};
const { error, stderr } = await asc.main(ASC_FLAGS, {
  readFile: (name, baseDir) => {
    try { return readFileSync(join(baseDir, name), 'utf8'); } catch { return null; }
  },
  writeFile: (name, contents) => { outputs[name] = contents; },
  listFiles: () => [],
  baseDir: root,
});
if (error) {
  console.error(stderr.toString());
  console.error(error.message);
  process.exit(1);
}
const wasm = outputs['kernels.wasm'];
if (!wasm) { console.error('asc produced no kernels.wasm'); process.exit(1); }
if (process.argv.includes('--check')) {
  const current = readFileSync(out);
  if (Buffer.compare(current, Buffer.from(wasm)) !== 0) {
    console.error('src/tensor/kernels/kernels.wasm is stale: run `npm run build:wasm`');
    process.exit(1);
  }
  console.log('kernels.wasm is up to date');
} else {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, wasm);
  console.log(`wrote ${out} (${wasm.length} bytes)`);
}
