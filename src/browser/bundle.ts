/**
 * Bundles Tessera's TypeScript for a browser with esbuild: one ESM file per entry (load it with
 * `new Worker(url, { type: 'module' })`), `.wasm` imports as their bytes, and a module `X.ts` with an `X.browser.ts`
 * beside it replaced by that one (how src/tensor/platform.ts keeps node:fs, node:os and node:worker_threads out of
 * the engine). Node built-ins left are either a build error naming the importer (`builtins: 'forbid'`, for code that
 * must need none: the engine) or (`'shim'`, the miner) replaced by the shims in ./shims (an in-memory file system,
 * hashes from @noble/hashes, crc32, posix paths) or, for built-ins no browser path reaches (child_process, net,
 * http …), by a module whose every function throws saying so; `Buffer` and `process` are then injected where code
 * uses them as globals.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
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

/** X.ts → X.browser.ts where that exists (the project's own modules, not packages); goes in front of other plugins. */
export const browserVariantsPlugin: Plugin = {
  name: 'browser-variants',
  setup(b) {
    b.onResolve({ filter: /^(\.\.?)?\/.*\.ts$/ }, (args) => {
      const variant = resolve(args.resolveDir, args.path).replace(/\.ts$/, '.browser.ts');
      return existsSync(variant) ? { path: variant } : undefined;
    });
  },
};

/** Fails the build on any `node:` import, naming the module that has it. */
export const noNodeBuiltinsPlugin: Plugin = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({
      errors: [{ text: `${args.path} is a Node built-in, imported by ${args.importer}: give that module a .browser.ts variant, or keep it out of the browser bundle` }],
    }));
  },
};

export interface BrowserBundleOptions {
  /** Default true. */
  readonly minify?: boolean;
  /** 'shim' (default): Node built-ins replaced by ./shims; 'forbid': any is a build error. */
  readonly builtins?: 'shim' | 'forbid';
  /** Inline source map (default false). */
  readonly sourcemap?: boolean;
  /** esbuild `target` (default es2022). */
  readonly target?: string | string[];
  /** Extra compile-time constants (esbuild `define`). */
  readonly define?: Record<string, string>;
}

export interface BrowserBundle {
  readonly js: string;
  readonly bytes: number;
  /** esbuild's record of every input and import, for checks. */
  readonly metafile: Metafile;
}

export async function bundleForBrowser(entry: string, o: BrowserBundleOptions = {}): Promise<BrowserBundle> {
  const shim = (o.builtins ?? 'shim') === 'shim';
  try {
    const r = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: o.target ?? 'es2022',
      write: false,
      metafile: true,
      minify: o.minify ?? true,
      sourcemap: o.sourcemap === true ? 'inline' : false,
      legalComments: 'none',
      logLevel: 'silent',
      loader: { '.wasm': 'binary' },
      ...(shim ? { inject: [`${SHIMS}globals.ts`] } : {}),
      define: { ...(shim ? { global: 'globalThis' } : {}), ...o.define },
      plugins: [browserVariantsPlugin, shim ? nodeBuiltins() : noNodeBuiltinsPlugin],
    });
    return { js: r.outputFiles[0].text, bytes: r.outputFiles[0].contents.length, metafile: r.metafile };
  } catch (err) {
    throw new BundleError('BundleFailed', `bundling ${entry} for the browser failed: ${(err as Error).message}`, { cause: err });
  }
}
