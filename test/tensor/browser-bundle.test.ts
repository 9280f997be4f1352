// starts: a process (esbuild's build service)
// The engine bundles for a browser: every module of src/tensor, src/model and src/optim (but the two that read and
// write checkpoint files) in one esbuild bundle with platform browser, no Node built-in anywhere in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForBrowser } from '../../src/browser/bundle.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Node-only on purpose: they read and write checkpoint files. */
const NODE_ONLY = new Set(['src/model/checkpoint.ts', 'src/model/safetensors.ts']);

function modulesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const full = join(dir, e);
    if (statSync(full).isDirectory()) out.push(...modulesUnder(full));
    else if (e.endsWith('.ts') && !e.endsWith('.d.ts') && !e.endsWith('.browser.ts')) out.push(full);
  }
  return out;
}

test('src/tensor + src/model + src/optim bundle for the browser without a Node built-in', async () => {
  const modules = ['tensor', 'model', 'optim']
    .flatMap((d) => modulesUnder(join(ROOT, 'src', d)))
    .filter((f) => !NODE_ONLY.has(relative(ROOT, f)));
  assert.ok(modules.length > 40, `found ${modules.length} modules`);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bundle-'));
  try {
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, modules.map((f, i) => `export * as m${i} from ${JSON.stringify(f)};`).join('\n'));
    const { js, metafile } = await bundleForBrowser(entry, { builtins: 'forbid', minify: false });
    const inputs = Object.keys(metafile.inputs);
    const imports = Object.values(metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
    assert.deepEqual(imports.filter((p) => p.startsWith('node:')), []);
    assert.ok(inputs.some((p) => p.endsWith('src/tensor/platform.browser.ts')), 'the browser platform is in');
    assert.ok(!inputs.some((p) => p.endsWith('src/tensor/platform.ts')), 'the Node platform is out');
    assert.ok(inputs.some((p) => p.endsWith('kernels.wasm')), 'the kernels are embedded');
    assert.doesNotMatch(js, /\b(?:require|import)\s*\(\s*["'](?:node:)?(?:fs|os|worker_threads|path|crypto|child_process)["']/);
    assert.doesNotMatch(js, /\bfrom\s*["']node:/);
    assert.doesNotMatch(js, /["']node:[a-z_/]+["']/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Node built-in in a browser bundle fails the build, naming the module that imports it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bundle-'));
  try {
    const entry = join(dir, 'uses-os.ts');
    writeFileSync(entry, `import { cpus } from 'node:os';\nexport const n = cpus().length;\n`);
    await assert.rejects(bundleForBrowser(entry, { builtins: 'forbid' }), /node:os is a Node built-in, imported by .*uses-os\.ts/);
    await assert.rejects(bundleForBrowser(join(ROOT, 'src/model/checkpoint.ts'), { builtins: 'forbid' }), /is a Node built-in/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
