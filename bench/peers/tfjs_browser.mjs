// TensorFlow.js's WebAssembly backend with its threads on: tfjs.mjs's
// workloads run unchanged in a cross-origin-isolated Chromium page, where
// tfjs picks its threaded SIMD build (under Node it hard-codes threads off,
// tfjs#3830). Debian's Chromium through playwright-core, as the browser
// tests; the page's JSON lines are printed here, so compare.mjs reads them
// as from any peer.
// tfjs sizes XNNPACK's pool itself: logical cores / 2 (at least 1), so on a
// 2-core machine it runs 1 thread whatever setThreadsCount asks (tfjs#8513);
// the info row reports what it took.
// Usage: node tfjs_browser.mjs [threads] [--threads N] [--filter REGEX] [--budget MS]
// (FT_DEBUG=1 prints the page's other console output and failed requests)
import { mkdirSync, copyFileSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const OUT = join(ROOT, 'build', 'bench-browser');
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const threads = Number(opt('--threads', 2));
const pass = ['wasm', '--filter', opt('--filter', '.'), '--budget', opt('--budget', '3000')];

// 1. the page: tfjs.mjs bundled for the browser, after a shim that gives it process.argv
mkdirSync(OUT, { recursive: true });
// (a banner, so it runs before every bundled module)
const shim = `globalThis.process = { argv: ['', '', ...${JSON.stringify(pass)}], env: {} };\n` +
  `globalThis.__tfjsWasm = { paths: new URL('./', location.href).href, threads: ${threads} };`;
writeFileSync(join(OUT, 'entry.mjs'), `import ${JSON.stringify(join(HERE, 'tfjs.mjs'))};\nglobalThis.__done = true;\n`);
const esbuild = await import('esbuild');
await esbuild.build({
  entryPoints: [join(OUT, 'entry.mjs')], bundle: true, format: 'esm', platform: 'browser', outfile: join(OUT, 'tfjs.js'),
  nodePaths: [join(HERE, 'node_modules')], logLevel: 'error', minify: false, banner: { js: shim },
});
const wasmDir = join(HERE, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
for (const f of readdirSync(wasmDir).filter((n) => n.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join(OUT, f));
writeFileSync(join(OUT, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="tfjs.js"></script>\n');

// 2. serve it with COOP/COEP (the demo server) and run it in Chromium
const { startServer } = await import('../../scripts/serve.mjs');
const { chromium } = await import('playwright-core');
const server = await startServer({ port: 0, webDir: OUT, quiet: true });
const browser = await chromium.launch({
  executablePath: process.env.FT_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  page.on('console', (m) => {
    const t = m.text();
    if (process.env.FT_DEBUG && !t.startsWith('{')) console.error('page:', m.type(), t.slice(0, 300));
    if (t.startsWith('{')) {
      // tag the rows as the threaded browser run
      try { const r = JSON.parse(t); console.log(JSON.stringify({ ...r, backend: `wasm, Chromium ${browser.version()}` })); } catch { console.log(t); }
    }
  });
  if (process.env.FT_DEBUG) page.on('response', (r) => { if (r.status() >= 400) console.error('HTTP', r.status(), r.url()); });
  page.on('pageerror', (e) => { console.log(JSON.stringify({ peer: 'tfjs', workload: 'info', status: 'error', error: String(e.message).slice(0, 300) })); if (process.env.FT_DEBUG) console.error(e.stack); });
  await page.goto(`${server.url}index.html`);
  const isolated = await page.evaluate(() => globalThis.crossOriginIsolated);
  if (process.env.FT_DEBUG) console.error('cores', await page.evaluate(() => navigator.hardwareConcurrency));
  if (!isolated) throw new Error('the page is not cross-origin isolated: tfjs would run single-threaded');
  await page.waitForFunction(() => globalThis.__done === true, null, { timeout: 20 * 60 * 1000, polling: 500 });
} finally {
  await browser.close();
  await server.close();
}
