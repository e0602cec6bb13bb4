#!/usr/bin/env node
// npm start: a tiny static server for the demo. Serves web/ at / and dist/ at
// /dist/, nothing else, on 127.0.0.1 (PORT or 8080; the next free port if busy).
// Sends COOP/COEP so the page is cross-origin isolated (SharedArrayBuffer,
// threads later).
//
//   import { startServer } from './scripts/serve.mjs';
//   const { url, port, close } = await startServer({ port: 0 });
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './util.mjs';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.bin': 'application/octet-stream',
};

const SECURITY_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

function send(res, status, text, extra = {}) {
  const body = `${status} ${text}\n`;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * Maps a request target to [mount root, relative segments], or an HTTP status
 * (number) when the target is malformed or tries to leave its folder.
 */
function route(target, mounts) {
  if (typeof target !== 'string' || !target.startsWith('/') || target.startsWith('//')) return 400;
  const rawPath = target.split(/[?#]/, 1)[0];
  if (/%00|\0|\\|%5c/i.test(rawPath)) return 400;
  let decoded;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return 400;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return 400;
  const segments = decoded.split('/').slice(1);
  if (segments.some((s) => s === '..' || s === '.')) return 403;
  if (segments.slice(0, -1).some((s) => s === '')) return 404; // "//" inside the path
  if (segments[0] === 'dist') return [mounts.dist, segments.slice(1)];
  return [mounts.web, segments];
}

async function resolveFile(rootReal, segments) {
  let file = resolve(rootReal, ...segments.filter(Boolean));
  if (file !== rootReal && !file.startsWith(rootReal + sep)) return 403;
  let real;
  try {
    real = await realpath(file);
  } catch {
    return 404;
  }
  if (real !== rootReal && !real.startsWith(rootReal + sep)) return 403; // symlink escaping
  let st = await stat(real);
  if (!st.isDirectory() && segments.length > 0 && segments[segments.length - 1] === '') return 404; // "/file.js/"
  if (st.isDirectory()) {
    file = join(real, 'index.html');
    try {
      real = await realpath(file);
    } catch {
      return 404;
    }
    if (!real.startsWith(rootReal + sep)) return 403;
    st = await stat(real);
  }
  if (!st.isFile()) return 404;
  return { path: real, size: st.size, mtime: st.mtime };
}

/**
 * Starts the server. Options: port (default PORT env or 8080; 0 = any free
 * port), host (default 127.0.0.1), tries (extra ports to try when busy,
 * default 10), webDir / distDir (default <repo>/web and <repo>/dist), quiet.
 * Resolves to { server, port, host, url, close() }.
 */
export async function startServer({
  port = Number(process.env.PORT ?? 8080),
  host = '127.0.0.1',
  tries = 10,
  webDir = join(ROOT, 'web'),
  distDir = join(ROOT, 'dist'),
} = {}) {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port ${port}`);
  const realOrSelf = async (p) => { try { return await realpath(p); } catch { return resolve(p); } };
  const mounts = { web: await realOrSelf(webDir), dist: await realOrSelf(distDir) };

  const server = createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
        return;
      }
      const r = route(req.url, mounts);
      if (typeof r === 'number') {
        send(res, r, r === 400 ? 'Bad Request' : r === 403 ? 'Forbidden' : 'Not Found');
        return;
      }
      const f = await resolveFile(r[0], r[1]);
      if (typeof f === 'number') {
        send(res, f, f === 403 ? 'Forbidden' : 'Not Found');
        return;
      }
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': MIME[extname(f.path).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': f.size,
        'Last-Modified': f.mtime.toUTCString(),
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const stream = createReadStream(f.path);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    } catch (e) {
      if (!res.headersSent) send(res, 500, 'Internal Server Error');
      else res.destroy();
      if (process.env.FT_SERVE_DEBUG) console.error(e);
    }
  });

  const listen = (p) => new Promise((ok, fail) => {
    const onError = (e) => { server.off('listening', onListening); fail(e); };
    const onListening = () => { server.off('error', onError); ok(); };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(p, host);
  });

  let lastError;
  for (let i = 0; i <= (port === 0 ? 0 : tries); i++) {
    const p = port === 0 ? 0 : port + i;
    if (p > 65535) break;
    try {
      await listen(p);
      lastError = null;
      break;
    } catch (e) {
      lastError = e;
      if (e.code !== 'EADDRINUSE') break;
    }
  }
  if (lastError) throw lastError;

  const actual = server.address().port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${actual}/`;
  const close = () => new Promise((ok) => {
    server.close(() => ok());
    server.closeAllConnections?.();
  });
  return { server, port: actual, host, url, close };
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  try {
    const { url, close } = await startServer();
    console.log(`torchfunc-wasm demo: ${url}`);
    const stop = async () => { await close(); process.exit(0); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (e) {
    console.error(`[torchfunc] error: could not start the server: ${e.message}`);
    process.exit(1);
  }
}
