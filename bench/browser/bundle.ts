/**
 * Bundles TypeScript for a browser with esbuild (platform browser, ESM, one file): `.wasm` imports become their
 * bytes (binary loader), and a module `X.ts` with an `X.browser.ts` beside it is replaced by that one (how
 * src/tensor/platform.ts keeps node:fs, node:os and node:worker_threads out). Any `node:` import left is a build
 * error naming the file that made it, so no Node built-in reaches a browser unnoticed.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import type { Metafile, Plugin } from 'esbuild';

export interface BrowserBundleOptions {
  minify?: boolean;
  /** Inline source map (default false). */
  sourcemap?: boolean;
  /** Browsers the output must run in (esbuild `target`, default es2022). */
  target?: string | string[];
  /** Extra compile-time constants (esbuild `define`). */
  define?: Record<string, string>;
}

export interface BrowserBundle {
  /** The bundle, an ES module (load it with `new Worker(url, { type: 'module' })` or `<script type="module">`). */
  js: string;
  /** esbuild's record of every input and import, for checks. */
  metafile: Metafile;
}

/**
 * X.ts → X.browser.ts where that exists (relative or absolute paths: the project's own modules, not packages).
 * Any bundler config for a browser needs it for the engine: add it in front of other plugins.
 */
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

export async function bundleForBrowser(entry: string, opts: BrowserBundleOptions = {}): Promise<BrowserBundle> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: opts.target ?? 'es2022',
    minify: opts.minify ?? false,
    sourcemap: opts.sourcemap === true ? 'inline' : false,
    loader: { '.wasm': 'binary' },
    define: opts.define,
    metafile: true,
    logLevel: 'silent',
    plugins: [browserVariantsPlugin, noNodeBuiltinsPlugin],
  });
  return { js: r.outputFiles[0].text, metafile: r.metafile };
}
