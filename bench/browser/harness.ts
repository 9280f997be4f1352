/**
 * Runs engine tasks (protocol.ts) in a Web Worker of a cross-origin isolated page in headless Chromium: bundles
 * worker.ts for the browser, serves it from a local HTTP server with COOP same-origin + COEP require-corp (so the
 * page has SharedArrayBuffer), and drives the page through playwright-core. Used by bench:browser and the tests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { bundleForBrowser } from '../../src/browser/bundle.ts';
import { CHROMIUM } from './chromium.ts';
import type { WorkerReply, WorkerTask } from './protocol.ts';

export { CHROMIUM, chromiumMissing } from './chromium.ts';

/**
 * WebGPU in headless Chromium on Linux: the unsafe-WebGPU switch (Linux is not on Chromium's list yet), Vulkan, and
 * the developer features that let adapter.info name the adapter. Without a GPU, headless Chromium's Dawn offers only
 * its own SwiftShader fallback adapter: it lists Mesa's lavapipe among the Vulkan devices but does not expose it
 * (getting lavapipe takes a headful browser on a display, e.g. under Xvfb).
 */
export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=vulkan', '--ignore-gpu-blocklist', '--enable-webgpu-developer-features'];

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>tessera engine in a worker</title>
<script type="module">
const worker = new Worker('/worker.js', { type: 'module', name: 'tessera-engine' });
let pending = null;
worker.onmessage = (e) => { const p = pending; pending = null; p?.resolve(e.data); };
worker.onerror = (e) => { const p = pending; pending = null; p?.resolve({ kind: 'error', message: 'worker error: ' + (e.message || 'failed to load') }); };
window.runTask = (task) => new Promise((resolve) => { pending = { resolve }; worker.postMessage(task); });
window.pageReady = true;
</script>
`;

export interface EngineHarness {
  /** Chromium's version string. */
  readonly browserVersion: string;
  readonly url: string;
  run(task: WorkerTask): Promise<WorkerReply>;
  close(): Promise<void>;
}

export interface EngineHarnessOptions {
  /** Launch Chromium with WebGPU on (default: GPU off). */
  webgpu?: boolean;
  /** Serve the page cross-origin isolated (default true; false shows what the engine does without SharedArrayBuffer). */
  isolated?: boolean;
  /** Bundles the worker entry (default bundleForBrowser). */
  bundle?: (entry: string) => Promise<{ js: string }>;
}

export async function startEngineHarness(opts: EngineHarnessOptions = {}): Promise<EngineHarness> {
  const { js } = await (opts.bundle ?? ((entry: string) => bundleForBrowser(entry, { builtins: 'forbid', minify: false })))(fileURLToPath(new URL('./worker.ts', import.meta.url)));
  const files: Record<string, { type: string; body: string }> = {
    '/': { type: 'text/html; charset=utf-8', body: PAGE },
    '/worker.js': { type: 'text/javascript; charset=utf-8', body: js },
  };
  const server = createServer((req, res) => {
    const f = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (opts.isolated !== false) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    }
    res.setHeader('Cache-Control', 'no-store');
    if (f === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': f.type }).end(f.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-background-networking', ...(opts.webgpu === true ? WEBGPU_FLAGS : ['--disable-gpu'])],
    });
    const page: Page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction('window.pageReady === true', undefined, { timeout: 10_000 });
    const b = browser;
    return {
      browserVersion: b.version(),
      url,
      run: async (task) => {
        const reply = (await page.evaluate((t) => (globalThis as unknown as { runTask(t: WorkerTask): Promise<WorkerReply> }).runTask(t), task));
        if (errors.length > 0) return { kind: 'error', message: `page error: ${errors.join('; ')}` };
        return reply;
      },
      close: async () => {
        await b.close();
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
  } catch (e) {
    await browser?.close();
    server.close();
    throw e;
  }
}
