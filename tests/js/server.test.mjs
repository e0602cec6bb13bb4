// The demo server (scripts/serve.mjs): serves web/ at / and dist/ at /dist/,
// nothing else, on 127.0.0.1 only, with the headers that make the page
// cross-origin isolated. Hostile requests are written on raw sockets (fetch
// would normalise the path first): traversal in every spelling, encoded NUL,
// double encoding, absolute-form targets, overlong and malformed URLs, other
// methods, and a symlink out of the served folder. None may answer anything
// but an error status, and no body may hold a byte of a file outside.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../scripts/serve.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECRET = 'ft-serve-test-secret-7c1e'; // written only outside the served folders

/**
 * Writes `raw` on a fresh socket and reads until the server closes it.
 * Resolves to { status, headers (lower-case names), body (string), raw }, or
 * { status: 0 } when the server closed without answering.
 */
function rawRequest(port, raw, { host = '127.0.0.1', timeout = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer within ${timeout} ms to ${JSON.stringify(raw.slice(0, 80))}`)); }, timeout);
    sock.on('connect', () => sock.write(raw)); // no half-close: Node's server drops a request whose socket ended before it answered
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e) => { clearTimeout(timer); if (e.code === 'ECONNRESET' || e.code === 'EPIPE') done(); else reject(e); });
    sock.on('close', () => done());
    let finished = false;
    function done() {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = text.match(/^HTTP\/1\.[01] (\d{3})/);
      if (!m) { resolve({ status: 0, headers: {}, body: text, raw: text }); return; }
      const split = text.indexOf('\r\n\r\n');
      const head = split >= 0 ? text.slice(0, split) : text, body = split >= 0 ? text.slice(split + 4) : '';
      const headers = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(m[1]), headers, body, raw: text });
    }
  });
}

/** One request with Connection: close; `headers` are extra header lines, each ending in CRLF. */
const get = (port, target, method = 'GET', { headers = '', body = '' } = {}) =>
  rawRequest(port, `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${headers}\r\n${body}`);

/** What no response may contain: pieces of files outside web/ and dist/. */
const OUTSIDE = [
  ['the repository package.json', '"devDependencies"'],
  ['the repository package.json', '"name": "torchfunc-wasm"'],
  ['/etc/passwd', 'root:x:0:0'],
  ['/etc/passwd', 'root:'],
  ['a file beside the served folder', SECRET],
];

function assertNothingLeaked(r, what) {
  for (const [name, needle] of OUTSIDE) {
    assert.ok(!r.raw.includes(needle), `${what}: the response holds ${name} (${needle})`);
  }
}

describe('the demo server (scripts/serve.mjs)', () => {
  let srv, tmp, tmpSrv;

  before(async () => {
    srv = await startServer({ port: 0 });
    // a copy of the layout with symlinks pointing out of the served folders
    tmp = mkdtempSync(join(tmpdir(), 'ft-serve-'));
    mkdirSync(join(tmp, 'web', 'sub'), { recursive: true });
    mkdirSync(join(tmp, 'dist'));
    mkdirSync(join(tmp, 'outside'));
    writeFileSync(join(tmp, 'secret.txt'), `${SECRET}\n`);
    writeFileSync(join(tmp, 'outside', 'index.html'), `<p>${SECRET}</p>\n`);
    writeFileSync(join(tmp, 'outside', 'x.js'), `// ${SECRET}\n`);
    writeFileSync(join(tmp, 'web', 'index.html'), '<p>ok</p>\n');
    writeFileSync(join(tmp, 'web', 'sub', 'inside.txt'), 'inside\n');
    writeFileSync(join(tmp, 'dist', 'index.js'), 'export {};\n');
    symlinkSync(join(tmp, 'secret.txt'), join(tmp, 'web', 'leak.txt'));
    symlinkSync('../secret.txt', join(tmp, 'web', 'rel-leak.txt'));
    symlinkSync('/etc/passwd', join(tmp, 'web', 'passwd'));
    symlinkSync(join(tmp, 'outside'), join(tmp, 'web', 'outdir'));
    symlinkSync(join(tmp, 'outside'), join(tmp, 'dist', 'outdir'));
    symlinkSync(join(tmp, 'web'), join(tmp, 'dist', 'web')); // the other served folder is still outside this mount
    symlinkSync(join(tmp, 'web', 'sub', 'inside.txt'), join(tmp, 'web', 'alias.txt')); // inside: allowed
    tmpSrv = await startServer({ port: 0, webDir: join(tmp, 'web'), distDir: join(tmp, 'dist') });
  });

  after(async () => {
    await srv?.close();
    await tmpSrv?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('listens on 127.0.0.1 only, on the ephemeral port asked for', async (t) => {
    const addr = srv.server.address();
    assert.equal(addr.address, '127.0.0.1');
    assert.equal(addr.family, 'IPv4');
    assert.ok(addr.port > 0 && addr.port === srv.port);
    assert.equal(srv.url, `http://127.0.0.1:${srv.port}/`);
    // every other address of this machine refuses the connection
    const others = ['127.0.0.2', '::1'];
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (!a.internal && !a.address.startsWith('fe80')) others.push(a.address);
    }
    const refused = [];
    for (const host of others) {
      const r = await new Promise((resolve) => {
        const s = connect({ host, port: srv.port });
        s.setTimeout(2000, () => { s.destroy(); resolve('timeout'); });
        s.on('connect', () => { s.destroy(); resolve('connected'); });
        s.on('error', (e) => resolve(e.code));
      });
      assert.notEqual(r, 'connected', `the server answers on ${host}`);
      refused.push(`${host}: ${r}`);
    }
    t.diagnostic(`other addresses: ${refused.join(', ')}`);
  });

  test('serves web/ at / and dist/ at /dist/ with the right types and COOP/COEP', async () => {
    const cases = [
      ['/', 'text/html', join(ROOT, 'web', 'index.html')],
      ['/index.html', 'text/html', join(ROOT, 'web', 'index.html')],
      ['/main.js', 'text/javascript', join(ROOT, 'web', 'main.js')],
      ['/dist/index.js', 'text/javascript', join(ROOT, 'dist', 'index.js')],
      ['/dist/torchfunc.wasm', 'application/wasm', join(ROOT, 'dist', 'torchfunc.wasm')],
      ['/index.html?x=/../../package.json#frag', 'text/html', join(ROOT, 'web', 'index.html')],
    ];
    for (const [target, type, file] of cases) {
      const r = await get(srv.port, target);
      assert.equal(r.status, 200, target);
      assert.equal(r.headers['content-type'].split(';')[0], type, `${target}: content-type ${r.headers['content-type']}`);
      assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin', target);
      assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp', target);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', target);
      const want = readFileSync(file);
      assert.equal(Number(r.headers['content-length']), want.length, target);
      assert.ok(Buffer.from(r.body, 'latin1').equals(want), `${target}: body differs from ${file}`);
    }
    // HEAD: the same headers, no body
    const h = await get(srv.port, '/dist/torchfunc.wasm', 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-type'], 'application/wasm');
    assert.equal(h.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.equal(h.body, '');
    // error answers carry the isolation headers too
    const e = await get(srv.port, '/no-such-file.js');
    assert.equal(e.status, 404);
    assert.equal(e.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(e.headers['cross-origin-embedder-policy'], 'require-corp');
  });

  test('path traversal in every spelling is refused and leaks nothing', async (t) => {
    const targets = [
      '/../package.json',
      '/../../../../etc/passwd',
      '/%2e%2e/package.json',
      '/%2E%2E/package.json',
      '/.%2e/package.json',
      '/%2e%2e%2fpackage.json',
      '/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/dist/../package.json',
      '/dist/../../etc/passwd',
      '/dist/%2e%2e/%2e%2e/etc/passwd',
      '/dist%2f..%2f..%2fpackage.json',
      '/web/..%5c..%5cpackage.json',
      '/..%5cpackage.json',
      '/..\\package.json',
      '/%5c..%5cpackage.json',
      '/./../package.json',
      '/dist/./../package.json',
      '/%252e%252e/package.json',
      '/%252e%252e%252fpackage.json',
      '/dist/%252e%252e/%252e%252e/etc/passwd',
      '/%c0%ae%c0%ae/package.json', // overlong UTF-8 for '.'
      '/%e0%80%ae%e0%80%ae/package.json',
      '//etc/passwd',
      '//127.0.0.1/package.json',
      '/dist//../package.json',
      '/package.json',
      '/scripts/serve.mjs',
      '/dist/../scripts/serve.mjs',
      '/.git/config',
      '/node_modules/playwright-core/package.json',
      '/index.html/', // a file is not a folder
      '/dist/torchfunc.wasm/',
      '/index.html/..',
    ];
    const seen = {};
    for (const target of targets) {
      const r = await get(srv.port, target);
      assert.ok([400, 403, 404].includes(r.status), `${target}: status ${r.status}`);
      assertNothingLeaked(r, target);
      seen[r.status] = (seen[r.status] ?? 0) + 1;
    }
    t.diagnostic(`${targets.length} traversal targets: ${JSON.stringify(seen)}`);
  });

  test('NUL bytes, bad percent-encoding, absolute-form and other odd targets get 400/403/404', async () => {
    const targets = [
      '/index.html%00',
      '/index.html%00.png',
      '/%00/../package.json',
      '/dist/index.js%00.wasm',
      '/%zz',
      '/%',
      '/%2',
      '/index%zz.html',
      '/%ff%fe',
      'http://evil/',
      'http://evil/../package.json',
      'http://127.0.0.1/../package.json',
      'https://evil/index.html',
      'file:///etc/passwd',
      '*',
      'index.html',
      '../package.json',
      '%2e%2e/package.json',
    ];
    for (const target of targets) {
      const r = await get(srv.port, target);
      assert.ok([400, 403, 404].includes(r.status), `${target}: status ${r.status}`);
      assertNothingLeaked(r, target);
    }
    // a raw NUL or a raw space in the request line never reaches a file
    for (const raw of ['GET /index.html\0 HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /../ package.json HTTP/1.1\r\nHost: x\r\n\r\n', 'garbage\r\n\r\n']) {
      const r = await rawRequest(srv.port, raw);
      assert.ok(r.status === 0 || r.status === 400, `${JSON.stringify(raw)}: status ${r.status}`);
      assertNothingLeaked(r, JSON.stringify(raw));
    }
  });

  test('overlong URLs are refused without harm, and the server keeps serving', async () => {
    for (const n of [4_000, 12_000, 70_000]) {
      const target = `/${'../'.repeat(Math.floor(n / 3))}package.json`;
      const r = await get(srv.port, target);
      // 403 (traversal), or Node's own 414/431 when the request line exceeds its header limit
      assert.ok([400, 403, 404, 414, 431].includes(r.status), `${n}-char traversal: status ${r.status}`);
      assertNothingLeaked(r, `${n}-char traversal`);
      const long = await get(srv.port, `/${'a'.repeat(n)}.js`);
      assert.ok([400, 404, 414, 431].includes(long.status), `${n}-char name: status ${long.status}`);
    }
    assert.equal((await get(srv.port, '/index.html')).status, 200);
  });

  test('methods other than GET and HEAD get 405 (or 400), and nothing is written', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL']) {
      for (const target of ['/index.html', '/dist/evil.js', '/../package.json']) {
        const body = 'export const pwned = 1;\n';
        const r = await get(srv.port, target, method, { headers: `Content-Length: ${body.length}\r\n`, body });
        assert.ok([400, 405].includes(r.status), `${method} ${target}: status ${r.status}`);
        if (r.status === 405) assert.equal(r.headers.allow, 'GET, HEAD');
        assertNothingLeaked(r, `${method} ${target}`);
      }
    }
    assert.equal((await get(srv.port, '/dist/evil.js')).status, 404, 'a PUT created a file');
    // a method the HTTP parser does not know at all
    const r = await rawRequest(srv.port, 'BREW /index.html HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.ok(r.status === 0 || r.status === 400 || r.status === 405, `BREW: status ${r.status}`);
  });

  test('a symlink inside a served folder that points outside it is refused (403), one inside is served', async () => {
    const p = tmpSrv.port;
    for (const target of ['/leak.txt', '/rel-leak.txt', '/passwd', '/outdir/', '/outdir/index.html', '/outdir/x.js', '/outdir',
      '/dist/outdir/x.js', '/dist/outdir/', '/dist/web/index.html', '/dist/web/leak.txt', '/dist/../secret.txt', '/%2e%2e/secret.txt']) {
      const r = await get(p, target);
      assert.ok([403, 404].includes(r.status), `${target}: status ${r.status}`);
      assertNothingLeaked(r, target);
      const h = await get(p, target, 'HEAD');
      assert.ok([403, 404].includes(h.status), `HEAD ${target}: status ${h.status}`);
    }
    assert.equal((await get(p, '/leak.txt')).status, 403);
    const ok = await get(p, '/alias.txt');
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'inside\n');
    assert.equal((await get(p, '/')).body, '<p>ok</p>\n');
    assert.equal((await get(p, '/dist/index.js')).body, 'export {};\n');
  });

  test('`node scripts/serve.mjs` with PORT=0 starts on 127.0.0.1 and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'serve.mjs')], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 10_000);
        child.stdout.on('data', (c) => {
          out += c;
          const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
          if (m) { clearTimeout(timer); resolve(m[0]); }
        });
        child.stderr.on('data', (c) => { out += c; });
        child.on('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      const port = Number(new URL(url).port);
      assert.ok(port > 0);
      const r = await get(port, '/dist/torchfunc.wasm', 'HEAD');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/wasm');
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });
});
