#!/usr/bin/env node
// Builds the libFuzzer harnesses (tests/fuzz, clang + ASan + UBSan) in
// build/fuzz and runs each target: first every committed crash reproducer
// (tests/fuzz/crashes/<target>/) as a regression input, then the fuzzer
// itself for a fixed time, starting from the committed seed corpus
// (tests/fuzz/corpus/<target>/, read-only) and growing a working corpus in
// build/fuzz/corpus/<target>/ that later runs start from. A crash, a leak
// or a broken status contract fails the target; libFuzzer writes the
// reproducer into build/fuzz/artifacts/<target>/ (commit it under
// tests/fuzz/crashes/<target>/ with the fix).
//
//   node scripts/fuzz.mjs [--seconds N] [--jobs N] [target...]
//     --seconds N  fuzzing time per target (default 20)
//     --jobs N     libFuzzer worker processes per target (default 1)
//     --merge      afterwards, minimise the working corpus into the committed
//                  seed corpus (tests/fuzz/corpus/<target>/)
//     target       fuzz_ops, fuzz_transforms, fuzz_nn_chain, fuzz_safetensors
//                  (default: all of tests/fuzz/fuzz_*.c)
//
// Prints one line per target and a summary "fuzz: N passed, N failed" (the
// format scripts/test.mjs counts).
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, ScriptError, die, listFiles, log, run, seconds, warn, which } from './util.mjs';

const FUZZ_DIR = join(ROOT, 'tests/fuzz');
const BUILD = join(ROOT, 'build/fuzz');

export function fuzzTargets() {
  return listFiles(FUZZ_DIR, (n, rel) => rel === n && /^fuzz_\w+\.c$/.test(n)).map((f) => f.slice(0, -2));
}

/** Configures (once) and builds build/fuzz with clang. */
export function buildFuzz() {
  if (!which('clang')) throw new ScriptError("'clang' is not installed (run: node scripts/setup.mjs --test)");
  const t0 = performance.now();
  if (!existsSync(join(BUILD, 'CMakeCache.txt'))) {
    log(`fuzz: configuring ${BUILD}`);
    run('cmake', ['-S', ROOT, '-B', BUILD, '-DFT_FUZZ=ON', '-DCMAKE_BUILD_TYPE=RelWithDebInfo'],
      { env: { ...process.env, CC: 'clang' } });
  }
  log(`fuzz: building ${BUILD}`);
  run('cmake', ['--build', BUILD, '-j2']);
  log(`fuzz: built in ${seconds(t0)}`);
}

/** Runs one libFuzzer binary; returns { ok, out }. */
function libfuzzer(bin, args, timeoutS) {
  const r = spawnSync(bin, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20, timeout: timeoutS * 1000 });
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  if (r.error) return { ok: false, out: `${out}\ncould not run ${bin}: ${r.error.message}` };
  return { ok: r.status === 0, out };
}

/** The reproducers, then `secs` of fuzzing; returns a one-line verdict. */
export function fuzzTarget(target, { secs = 20, jobs = 1, merge = false } = {}) {
  const bin = join(BUILD, target);
  if (!existsSync(bin)) throw new ScriptError(`${bin} is missing: the fuzz build has no target ${target}`);
  const seeds = join(FUZZ_DIR, 'corpus', target);
  const crashes = join(FUZZ_DIR, 'crashes', target);
  const work = join(BUILD, 'corpus', target);
  const artifacts = join(BUILD, 'artifacts', target);
  for (const d of [work, artifacts]) mkdirSync(d, { recursive: true });
  const dict = join(FUZZ_DIR, `${target}.dict`);
  const common = ['-timeout=10', `-artifact_prefix=${artifacts}/`, ...(existsSync(dict) ? [`-dict=${dict}`] : [])];

  // 1. every committed reproducer must now run clean
  const repros = existsSync(crashes) ? readdirSync(crashes).filter((f) => !f.startsWith('.')).map((f) => join(crashes, f)) : [];
  if (repros.length) {
    const r = libfuzzer(bin, [...common, ...repros], 120);
    if (!r.ok) {
      process.stdout.write(r.out.slice(-6000));
      return { ok: false, line: `${target}: a committed reproducer fails again (tests/fuzz/crashes/${target}/)` };
    }
  }
  // 2. fuzz from the working corpus and the seeds
  const dirs = [work, ...(existsSync(seeds) ? [seeds] : [])];
  const par = jobs > 1 ? [`-jobs=${jobs}`, `-workers=${jobs}`] : [];
  const r = libfuzzer(bin, [...common, `-max_total_time=${secs}`, '-print_final_stats=1', ...par, ...dirs],
    secs + 120);
  const execs = /stat::number_of_executed_units:\s*(\d+)/.exec(r.out)?.[1];
  const corpus = readdirSync(work).length;
  if (!r.ok) {
    process.stdout.write(r.out.slice(-8000));
    return { ok: false, line: `${target}: FAILED (reproducer in ${artifacts}/)` };
  }
  if (merge) {
    mkdirSync(seeds, { recursive: true });
    const m = libfuzzer(bin, ['-merge=1', seeds, work], 600);
    if (!m.ok) warn(`${target}: corpus merge failed`);
  }
  const seedCount = existsSync(seeds) ? readdirSync(seeds).length : 0;
  return {
    ok: true,
    line: `${target}: ok, ${execs ?? '?'} executions in ${secs} s, ${repros.length} reproducer(s), ` +
      `corpus ${corpus} (seeds ${seedCount})`,
  };
}

/** Builds and runs the targets; prints "fuzz: N passed, N failed"; returns the failure count. */
export function runFuzz(targets, opts) {
  buildFuzz();
  let passed = 0, failed = 0;
  for (const t of targets) {
    log(`fuzz: ${t} (${opts.secs} s)`);
    const v = fuzzTarget(t, opts);
    console.log(v.line);
    if (v.ok) passed++;
    else failed++;
  }
  console.log(`fuzz: ${passed} passed, ${failed} failed`);
  return failed;
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const argv = process.argv.slice(2);
  const opts = { secs: 20, jobs: 1, merge: false };
  const targets = [];
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--help' || a === '-h') {
        console.log('usage: node scripts/fuzz.mjs [--seconds N] [--jobs N] [--merge] [--clean] [target...]');
        process.exit(0);
      } else if (a === '--seconds' || a === '--jobs') {
        const v = Number(argv[++i]);
        if (!Number.isInteger(v) || v < 1) throw new ScriptError(`${a} needs a positive integer`);
        opts[a === '--seconds' ? 'secs' : 'jobs'] = v;
      } else if (a === '--merge') opts.merge = true;
      else if (a === '--clean') rmSync(BUILD, { recursive: true, force: true });
      else if (a.startsWith('-')) throw new ScriptError(`unknown option ${a} (try --help)`);
      else targets.push(a.replace(/\.c$/, ''));
    }
    const all = fuzzTargets();
    for (const t of targets) if (!all.includes(t)) throw new ScriptError(`unknown target ${t} (known: ${all.join(', ')})`);
    process.exit(runFuzz(targets.length ? targets : all, opts) ? 1 : 0);
  } catch (e) {
    die(e);
  }
}
