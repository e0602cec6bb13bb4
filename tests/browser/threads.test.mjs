// The threaded core in Chromium: the demo server sends COOP/COEP, so the page
// is cross-origin isolated and the library starts Web Workers on a shared
// memory; matmul results are the same bits for 1 and all threads. A page
// served without those headers gets the single-threaded core.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, launch, startServer, watch } from './browser.mjs';

const PROBE = async () => {
  const torch = await import('/dist/index.js');
  const out = { isolated: globalThis.crossOriginIsolated, cores: navigator.hardwareConcurrency, threads: torch.threads, n: torch.getNumThreads() };
  const a = torch.randn([300, 500]), b = torch.randn([500, 260]);
  const run = (n) => { torch.setNumThreads(n); return a.matmul(b).toTypedArray(); };
  const one = run(1), many = run(out.n);
  out.same = one.every((v, i) => Object.is(v, many[i]));
  out.sum = one.reduce((s, v) => s + v, 0);
  torch.setNumThreads(out.n);
  return out;
};

describe('threads in Chromium', () => {
  let browser, server;
  before(async () => {
    server = await startServer({ port: 0 });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('a cross-origin isolated page runs the threaded core, with results independent of the thread count', async () => {
    const page = await browser.newPage();
    const problems = watch(page);
    await page.goto(server.url);
    const r = await page.evaluate(PROBE);
    assert.equal(r.isolated, true, 'the demo server makes the page cross-origin isolated');
    assert.equal(r.threads, r.cores > 1);
    assert.equal(r.n, r.cores > 1 ? Math.min(r.cores, 16) : 1);
    assert.ok(r.same, 'the same bits with 1 and all threads');
    assert.ok(Number.isFinite(r.sum));
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('without COOP/COEP the page gets the single-threaded core', async () => {
    // A bare server over the same folders, without the isolation headers.
    const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
    const bare = createServer(async (req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      const file = path === '/' ? join(ROOT, 'web', 'index.html')
        : path.startsWith('/dist/') ? join(ROOT, path) : join(ROOT, 'web', path);
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'Content-Type': types[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise((r) => bare.listen(0, '127.0.0.1', r));
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${bare.address().port}/`);
      const r = await page.evaluate(PROBE);
      assert.equal(r.isolated, false);
      assert.equal(r.threads, false);
      assert.equal(r.n, 1);
      assert.ok(r.same);
      await page.close();
    } finally {
      await new Promise((r) => bare.close(r));
    }
  });
});
