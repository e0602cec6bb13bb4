#!/usr/bin/env node
// Runs every test suite in order, stopping at the first failure:
//   1. native   C tests under ctest (build/native, built by `build.mjs --native`)
//   2. asan     the same C tests with AddressSanitizer + UBSan (build/asan);
//               skipped when FT_TEST_QUICK=1
//   2b. fuzz    each libFuzzer target of tests/fuzz: its crash reproducers
//               and seeds, then 40,000 executions with a fixed seed, the same
//               inputs on every machine (scripts/fuzz.mjs, build/fuzz,
//               clang); skipped when FT_TEST_QUICK=1
//   3. node     node --test over tests/js/**/*.test.mjs (with --expose-gc)
//   4. browser  node --test over tests/browser/**/*.test.mjs, if there are any
// `npm test` builds first (setup + build --native), then runs this.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildNative } from './build.mjs';
import { findChromium } from './setup.mjs';
import { ROOT, ScriptError, die, listFiles, log, run, seconds, warn } from './util.mjs';

const quick = process.env.FT_TEST_QUICK === '1';
const results = [];
/** Check counts gathered from every suite's own summary lines. */
const counts = { passed: 0, failed: 0 };

/** Runs a command, echoing its output, and adds the counts its summary lines report. */
function runCounted(cmd, args, opts = {}) {
  log(`$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 256 << 20 });
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  process.stdout.write(out);
  if (opts.node) {
    const pass = out.match(/^ℹ pass (\d+)$/m), fail = out.match(/^ℹ fail (\d+)$/m);
    if (pass) counts.passed += Number(pass[1]);
    if (fail) counts.failed += Number(fail[1]);
  } else {
    for (const m of out.matchAll(/(\d+) passed, (\d+) failed/g)) { counts.passed += Number(m[1]); counts.failed += Number(m[2]); }
  }
  if (r.error) throw new ScriptError(`could not run '${cmd}': ${r.error.message}`);
  if (r.status !== 0) throw new ScriptError(`'${[cmd, ...args].join(' ')}' failed (exit code ${r.status})`);
}

function step(name, fn) {
  const t0 = performance.now();
  log(`=== ${name} ===`);
  try {
    const r = fn();
    results.push(`${name} ${r === 'skipped' ? 'skipped' : `ok (${seconds(t0)})`}`);
  } catch (e) {
    results.push(`${name} FAILED`);
    summary(false);
    die(e);
  }
}

function summary(ok) {
  const line = `torchfunc-wasm tests: ${results.join(', ')} => ${ok ? 'ALL PASSED' : 'FAILED'}`;
  console.log(`\n${line}`);
  // the plain closing line CI reads: every check of every suite
  console.log(`tests: ${counts.passed} passed, ${counts.failed + (ok ? 0 : counts.failed ? 0 : 1)} failed`);
}

function ctest(dir) {
  const buildDir = join(ROOT, dir);
  if (!existsSync(join(buildDir, 'CTestTestfile.cmake'))) {
    throw new ScriptError(`${dir} is not built: run 'npm test' (or node scripts/build.mjs --native)`);
  }
  runCounted('ctest', ['--test-dir', buildDir, '-V', '--no-tests=error', '-j2']);
}

const testFiles = (dir) =>
  listFiles(join(ROOT, dir), (n) => /\.test\.m?js$/.test(n)).map((f) => join(dir, f));

function nodeTests(dir, extraEnv = {}) {
  const files = testFiles(dir);
  if (files.length === 0) {
    warn(`no *.test.mjs files under ${dir}/`);
    return 'skipped';
  }
  runCounted(process.execPath, ['--expose-gc', '--test', '--test-reporter=spec', ...files], {
    env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1', ...extraEnv },
    node: true,
  });
}

step('native', () => ctest('build/native'));

step('asan', () => {
  if (quick) {
    log('FT_TEST_QUICK=1: skipping the sanitizer build');
    return 'skipped';
  }
  buildNative({
    dir: 'build/asan',
    name: 'asan',
    defs: { CMAKE_BUILD_TYPE: 'Debug', FT_SANITIZE: 'ON' },
  });
  ctest('build/asan');
});

step('fuzz', () => {
  if (quick) {
    log('FT_TEST_QUICK=1: skipping the fuzz targets');
    return 'skipped';
  }
  // prints "fuzz: N passed, N failed", one check per target
  runCounted(process.execPath, [join(ROOT, 'scripts', 'fuzz.mjs'), '--runs', '40000', '--seed', '1']);
});

step('node', () => {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
    throw new ScriptError('dist/index.js is missing: run node scripts/build.mjs first');
  }
  return nodeTests('tests/js');
});

step('browser', () => {
  if (testFiles('tests/browser').length === 0) return 'skipped';
  const chromium = findChromium();
  if (!chromium) throw new ScriptError('chromium is not installed (run: node scripts/setup.mjs --test)');
  return nodeTests('tests/browser', { FT_CHROMIUM: chromium });
});

summary(true);
