/**
 * Bundles Tessera's TypeScript for a browser with esbuild: one ESM file per entry, node built-ins replaced by the
 * shims in ./shims (an in-memory file system, hashes from @noble/hashes, crc32, posix paths) or, for built-ins no
 * browser path reaches (child_process, net, http …), by a module whose every function throws saying so.
 * `Buffer` and `process` are injected where code uses them as globals.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { TesseraError } from '../core/errors.ts';

export class BundleError extends TesseraError<'BundleFailed'> {
  readonly name = 'BundleError';
}

const SHIMS = fileURLToPath(new URL('./shims/', import.meta.url));
const BUILTINS = /^(node:)?(assert|buffer|child_process|crypto|events|fs|fs\/promises|http|https|module|net|os|path|perf_hooks|stream|string_decoder|timers|timers\/promises|tty|url|util|worker_threads|zlib)$/;

/**
 * A CommonJS module (so any named import binds at run time): the shim's exports, if there is a shim, in front of a
 * prototype whose every other property is a function throwing that `name.property` is not available in a browser.
 */
function builtinModule(name: string, shim: string | null): string {
  const thrower = `new Proxy({}, { get(_t, key) {
  if (typeof key === 'symbol' || key === '__esModule' || key === 'then') return undefined;
  return function unavailable() { throw new Error(${JSON.stringify(name)} + '.' + String(key) + ' is not available in the browser'); };
} })`;
  return shim === null
    ? `module.exports = Object.create(${thrower});`
    : `module.exports = Object.assign(Object.create(${thrower}), require(${JSON.stringify(shim)}));`;
}

function nodeBuiltins(): Plugin {
  const require = createRequire(import.meta.url);
  return {
    name: 'tessera-node-builtins',
    setup(b) {
      // hyparquet's browser entry lacks the file readers src/data imports (never called in a browser)
      b.onResolve({ filter: /^hyparquet$/ }, () => ({ path: require.resolve('hyparquet').replace(/index\.js$/, 'node.js') }));
      // pretty-printing a terminal's log: never in a browser (sonic-boom needs node:util at import)
      b.onResolve({ filter: /^pino-pretty$/ }, () => ({ path: 'pino-pretty', namespace: 'node-builtin' }));
      b.onResolve({ filter: BUILTINS }, (a) => {
        const name = a.path.replace(/^node:/, '');
        return { path: name, namespace: 'node-builtin' };
      });
      b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (a) => {
        const shim = `${SHIMS}${a.path.replace('/', '-')}.ts`;
        const label = a.path === 'pino-pretty' ? a.path : `node:${a.path}`;
        return { contents: builtinModule(label, existsSync(shim) ? shim : null), loader: 'js', resolveDir: SHIMS };
      });
    },
  };
}

export interface BrowserBundle {
  readonly js: string;
  readonly bytes: number;
}

export async function bundleForBrowser(entry: string, o: { minify?: boolean } = {}): Promise<BrowserBundle> {
  try {
    const r = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      minify: o.minify ?? true,
      legalComments: 'none',
      logLevel: 'silent',
      inject: [`${SHIMS}globals.ts`],
      loader: { '.wasm': 'binary' },
      define: { global: 'globalThis' },
      plugins: [nodeBuiltins()],
    });
    const js = r.outputFiles[0].text;
    return { js, bytes: r.outputFiles[0].contents.length };
  } catch (err) {
    throw new BundleError('BundleFailed', `bundling ${entry} for the browser failed: ${(err as Error).message}`, { cause: err });
  }
}
