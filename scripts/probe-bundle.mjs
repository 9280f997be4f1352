import { build } from 'esbuild';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const r = await build({
  entryPoints: [process.argv[2] ?? 'src/miner/miner.ts'], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'error',
  plugins: [{ name: 'nodeshim', setup(b) {
    b.onResolve({ filter: /^hyparquet$/ }, () => ({ path: require.resolve('hyparquet').replace(/index\.js$/, 'node.js') }));
    b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'ns' }));
    b.onResolve({ filter: /^(fs|path|os|crypto|url|child_process|worker_threads|http|https|net|zlib|stream|util|events|tty|assert|module|buffer|string_decoder|fs\/promises|timers\/promises)$/ }, (a) => ({ path: 'node:' + a.path, namespace: 'ns' }));
    b.onLoad({ filter: /.*/, namespace: 'ns' }, (a) => ({ contents: `module.exports = {};`, loader: 'js' }));
  }}],
});
const inputs = Object.entries(r.metafile.inputs).map(([k, v]) => [k, v.bytes]).sort((a, b) => b[1] - a[1]);
console.log('out bytes', r.outputFiles[0].contents.length);
const bypkg = {};
for (const [k, v] of inputs) { const m = k.match(/node_modules\/((@[^/]+\/)?[^/]+)/); const p = m ? m[1] : k.split('/').slice(0,2).join('/'); bypkg[p] = (bypkg[p] ?? 0) + v; }
console.log(Object.entries(bypkg).sort((a,b)=>b[1]-a[1]).slice(0,25));
const ns = inputs.filter(([k]) => k.startsWith('ns:')).map(([k]) => k); console.log(ns.join(' '));
