#!/usr/bin/env node
// npm run build: builds dist/ (torchfunc.wasm + the JS API), and with --native
// the native library and C tests in build/native. Idempotent and incremental:
// CMake is configured once per build folder and rebuilds only what changed;
// JS files are copied only when their content differs.
//
//   node scripts/build.mjs            wasm + JS into dist/
//   node scripts/build.mjs --native   also build/native (library + C tests)
//   node scripts/build.mjs --js       only mirror js/ into dist/ (no compiler)
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, ScriptError, die, emscriptenEnv, listFiles, log, run, seconds, warn, which } from './util.mjs';

const JOBS = '-j2';
const DIST = join(ROOT, 'dist');

function need(tool, pkg) {
  if (!which(tool)) {
    throw new ScriptError(`'${tool}' is not installed. Run 'node scripts/setup.mjs' ` +
      `(or: apt-get install -y --no-install-recommends ${pkg})`);
  }
}

/** Reads CMAKE_HOME_DIRECTORY etc. from an existing cache, or null. */
function cmakeCache(buildDir) {
  const f = join(buildDir, 'CMakeCache.txt');
  if (!existsSync(f)) return null;
  const vars = {};
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    const m = /^([A-Za-z_0-9]+):[A-Z]+=(.*)$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

/** Configures buildDir unless it already holds a usable configuration. */
function configure(name, buildDir, { emscripten = false, defs = {}, env } = {}) {
  const cache = cmakeCache(buildDir);
  const generated = existsSync(join(buildDir, 'Makefile')) || existsSync(join(buildDir, 'build.ninja'));
  let ok = cache && generated && cache.CMAKE_HOME_DIRECTORY === ROOT;
  if (ok && emscripten !== /Emscripten\.cmake$/.test(cache.CMAKE_TOOLCHAIN_FILE ?? '')) ok = false;
  if (ok) {
    for (const [k, v] of Object.entries(defs)) if (cache[k] !== v) ok = false;
  }
  if (ok) return; // cmake --build re-runs CMake itself when CMakeLists.txt or the globs change
  if (cache) {
    log(`${name}: stale configuration in ${buildDir}, reconfiguring from scratch`);
    rmSync(buildDir, { recursive: true, force: true });
  }
  const cmakeArgs = ['-S', ROOT, '-B', buildDir, ...Object.entries(defs).map(([k, v]) => `-D${k}=${v}`)];
  log(`${name}: configuring ${buildDir}`);
  if (emscripten) run('emcmake', ['cmake', ...cmakeArgs], { env });
  else run('cmake', cmakeArgs, { env });
}

export function buildNative({ dir = 'build/native', defs = { CMAKE_BUILD_TYPE: 'Release' }, name = 'native' } = {}) {
  need('cmake', 'cmake');
  need('cc', 'build-essential');
  need('make', 'build-essential');
  const t0 = performance.now();
  const buildDir = join(ROOT, dir);
  configure(name, buildDir, { defs });
  log(`${name}: building ${buildDir}`);
  run('cmake', ['--build', buildDir, JOBS]);
  log(`${name}: done in ${seconds(t0)}`);
}

export function buildWasm() {
  need('cmake', 'cmake');
  need('emcc', 'emscripten');
  need('emcmake', 'emscripten');
  need('make', 'build-essential');
  const t0 = performance.now();
  const env = emscriptenEnv();
  const buildDir = join(ROOT, 'build/wasm');
  configure('wasm', buildDir, { emscripten: true, defs: { CMAKE_BUILD_TYPE: 'Release' }, env });
  log(`wasm: building ${buildDir} (emcc -O3 -msimd128)`);
  run('cmake', ['--build', buildDir, JOBS], { env });
  if (!existsSync(join(DIST, 'torchfunc.wasm'))) {
    throw new ScriptError('wasm: the build finished but dist/torchfunc.wasm is missing');
  }
  log(`wasm: dist/torchfunc.wasm ready in ${seconds(t0)}`);
}

/** Mirrors js/**\/*.{js,mjs,d.ts} into dist/, removing files it copied before that are gone. */
export function copyJs() {
  const src = join(ROOT, 'js');
  const manifestFile = join(ROOT, 'build', 'js-manifest.json');
  const files = listFiles(src, (n) => n.endsWith('.js') || n.endsWith('.mjs') || n.endsWith('.d.ts'));
  if (files.length === 0) {
    warn('js/ has no .js/.d.ts files yet: dist/index.js will be missing');
  }
  let previous = [];
  try { previous = JSON.parse(readFileSync(manifestFile, 'utf8')); } catch { /* first run */ }
  let copied = 0;
  for (const rel of files) {
    const from = join(src, rel);
    const to = join(DIST, rel);
    const data = readFileSync(from);
    if (existsSync(to) && readFileSync(to).equals(data)) continue;
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
    copied++;
  }
  let removed = 0;
  const now = new Set(files);
  for (const rel of previous) {
    if (!now.has(rel) && existsSync(join(DIST, rel))) { unlinkSync(join(DIST, rel)); removed++; }
  }
  mkdirSync(dirname(manifestFile), { recursive: true });
  writeFileSync(manifestFile, JSON.stringify(files, null, 1));
  log(`js: ${files.length} file(s) in dist/ (${copied} updated${removed ? `, ${removed} removed` : ''})`);
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const args = new Set(process.argv.slice(2));
  if (args.has('--help') || args.has('-h')) {
    console.log('usage: node scripts/build.mjs [--native | --js]');
    process.exit(0);
  }
  for (const a of args) if (a !== '--native' && a !== '--js') die(new ScriptError(`unknown option ${a} (try --help)`));
  try {
    const t0 = performance.now();
    if (args.has('--native')) buildNative();
    if (!args.has('--js')) buildWasm();
    copyJs();
    log(`build complete in ${seconds(t0)}`);
  } catch (e) {
    die(e);
  }
}
