#!/usr/bin/env node
// Builds the libFuzzer harnesses (tests/fuzz, clang + ASan + UBSan) in
// build/fuzz and runs each target: first every committed crash reproducer
// (tests/fuzz/crashes/<target>/) and every committed seed
// (tests/fuzz/corpus/<target>/) as regression inputs, then the fuzzer
// itself. A crash, a leak or a broken status contract fails the target;
// libFuzzer writes the reproducer into build/fuzz/artifacts/<target>/
// (commit it under tests/fuzz/crashes/<target>/ with the fix).
//
// Two ways to fuzz:
//   --seconds N  explores for N seconds from the seeds and a working corpus
//                in build/fuzz/corpus/<target>/ that grows across runs: what
//                finds new bugs, so what it finds differs run to run.
//   --runs N     N inputs made from the committed seeds by a seeded random
//                mutator (mutate.mjs-style: bit flips, byte writes, inserts,
//                deletes, repeats, splices), each run once: the same inputs
//                on every machine for the same --seed, so a gate that passes
//                here passes in CI. `npm test` runs this. (libFuzzer's own
//                -seed is not enough: its choices follow coverage, and the
//                core's address hashes make coverage vary from run to run;
//                a gate that fails at random on bugs nobody introduced
//                would teach people to ignore it.)
//
//   node scripts/fuzz.mjs [--seconds N | --runs N [--seed S]] [--jobs N] [target...]
//     --seconds N  fuzzing time per target (default 20)
//     --runs N     fuzz N executions per target instead, deterministically
//     --seed S     libFuzzer's seed for --runs (default 1)
//     --jobs N     libFuzzer worker processes per target (default 1)
//     --merge      afterwards, add the working corpus's inputs that cover new
//                  edges to the committed seeds (tests/fuzz/corpus/<target>/)
//     --clean      rebuild build/fuzz from scratch (and forget its working corpora)
//     target       fuzz_ops, fuzz_transforms, fuzz_nn_chain, fuzz_safetensors, fuzz_compile
//                  (default: all of tests/fuzz/fuzz_*.c)
//
// Prints one line per target and a summary "fuzz: N passed, N failed" (the
// format scripts/test.mjs counts).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** xorshift32: a reproducible stream of uint32 from `seed`. */
function prng(seed) {
  let x = (seed * 2654435761) >>> 0 || 1;
  return (n) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return n ? x % n : x;
  };
}

/** Writes `count` inputs derived from the seed files into `dir`, reproducibly for `seed`. */
function mutants(seedDir, dir, count, seed) {
  const names = existsSync(seedDir) ? readdirSync(seedDir).sort() : [];
  const seeds = names.map((n) => readFileSync(join(seedDir, n)));
  if (!seeds.length) seeds.push(Buffer.alloc(0));
  const r = prng(seed);
  for (let k = 0; k < count; k++) {
    let b = Array.from(seeds[r(seeds.length)]);
    for (let m = 1 + r(4); m > 0; m--) {
      const at = r(b.length + 1);
      switch (r(6)) {
        case 0: if (b.length) b[at % b.length] ^= 1 << r(8); break;
        case 1: if (b.length) b[at % b.length] = r(256); break;
        case 2: b.splice(at, 0, r(256)); break;
        case 3: b.splice(at, 1 + r(4)); break;
        case 4: b.splice(at, 0, ...b.slice(at, at + 1 + r(8))); break;
        default: { const o = seeds[r(seeds.length)]; const from = r(o.length + 1); b.splice(at, r(8), ...o.subarray(from, from + 1 + r(16))); }
      }
    }
    writeFileSync(join(dir, String(k).padStart(6, '0')), Uint8Array.from(b.slice(0, 4096)));
  }
}

/** Runs one libFuzzer binary; returns { ok, out }. */
function libfuzzer(bin, args, timeoutS) {
  const r = spawnSync(bin, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20, timeout: timeoutS * 1000 });
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  if (r.error) return { ok: false, out: `${out}\ncould not run ${bin}: ${r.error.message}` };
  return { ok: r.status === 0, out };
}

/** The reproducers and seeds, then the fuzzing (`secs`, or `runs` with `seed`); returns a verdict. */
export function fuzzTarget(target, { secs = 20, runs = 0, seed = 1, jobs = 1, merge = false } = {}) {
  const bin = join(BUILD, target);
  if (!existsSync(bin)) throw new ScriptError(`${bin} is missing: the fuzz build has no target ${target}`);
  const seeds = join(FUZZ_DIR, 'corpus', target);
  const crashes = join(FUZZ_DIR, 'crashes', target);
  const artifacts = join(BUILD, 'artifacts', target);
  mkdirSync(artifacts, { recursive: true });
  const dict = join(FUZZ_DIR, `${target}.dict`);
  const common = ['-timeout=25', `-artifact_prefix=${artifacts}/`, ...(existsSync(dict) ? [`-dict=${dict}`] : [])];
  const seedCount = () => (existsSync(seeds) ? readdirSync(seeds).length : 0);

  // 1. every committed reproducer must now run clean
  const repros = existsSync(crashes) ? readdirSync(crashes).filter((f) => !f.startsWith('.')).map((f) => join(crashes, f)) : [];
  if (repros.length) {
    const r = libfuzzer(bin, [...common, ...repros], 120);
    if (!r.ok) {
      process.stdout.write(r.out.slice(-6000));
      return { ok: false, line: `${target}: a committed reproducer fails again (tests/fuzz/crashes/${target}/)` };
    }
  }
  // 2. so must every committed seed (each runs once)
  if (seedCount()) {
    const r = libfuzzer(bin, [...common, '-runs=0', seeds], 300);
    if (!r.ok) {
      process.stdout.write(r.out.slice(-6000));
      return { ok: false, line: `${target}: a committed seed input fails (tests/fuzz/corpus/${target}/)` };
    }
  }
  // 3. fuzz: deterministically from nothing, or for a time from the corpora
  let work, dirs, budget, timeout;
  if (runs) {
    work = mkdtempSync(join(tmpdir(), `${target}-`));
    mutants(seeds, work, runs, seed);
    dirs = [work];
    budget = ['-runs=0', '-max_len=4096'];
    timeout = 900;
  } else {
    work = join(BUILD, 'corpus', target);
    mkdirSync(work, { recursive: true });
    dirs = [work, ...(seedCount() ? [seeds] : [])];
    budget = [`-max_total_time=${secs}`];
    timeout = secs + 120;
  }
  const par = jobs > 1 ? [`-jobs=${jobs}`, `-workers=${jobs}`] : [];
  const t0 = performance.now();
  const r = libfuzzer(bin, [...common, ...budget, '-print_final_stats=1', ...par, ...dirs], timeout);
  const took = (performance.now() - t0) / 1000;
  const execs = /stat::number_of_executed_units:\s*(\d+)/.exec(r.out)?.[1];
  const corpus = readdirSync(work).length;
  if (runs) rmSync(work, { recursive: true, force: true }); // a failing input is in artifacts/
  if (!r.ok) {
    process.stdout.write(r.out.slice(-8000));
    const again = runs ? ` (rerun: node scripts/fuzz.mjs --runs ${runs} --seed ${seed} ${target}; the input is the one libFuzzer names)` : '';
    return { ok: false, line: `${target}: FAILED (reproducer in ${artifacts}/)${again}` };
  }
  if (merge && !runs) {
    mkdirSync(seeds, { recursive: true });
    // edges only (no hit-count buckets): a seed corpus of hundreds of files, not thousands
    const m = libfuzzer(bin, ['-merge=1', '-use_counters=0', seeds, work], 600);
    if (!m.ok) warn(`${target}: corpus merge failed`);
  }
  const how = runs ? `mutants of the seeds, seed ${seed}` : `working corpus ${corpus}`;
  return {
    ok: true,
    line: `${target}: ok, ${execs ?? '?'} executions in ${took.toFixed(0)} s (${how}), ${repros.length} reproducer(s), ` +
      `${seedCount()} seed(s) replayed`,
  };
}

/** Builds and runs the targets; prints "fuzz: N passed, N failed"; returns the failure count. */
export function runFuzz(targets, opts) {
  buildFuzz();
  let passed = 0, failed = 0;
  for (const t of targets) {
    log(`fuzz: ${t} (${opts.runs ? `${opts.runs} runs, seed ${opts.seed}` : `${opts.secs} s`})`);
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
  const opts = { secs: 20, runs: 0, seed: 1, jobs: 1, merge: false };
  const targets = [];
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--help' || a === '-h') {
        console.log('usage: node scripts/fuzz.mjs [--seconds N | --runs N [--seed S]] [--jobs N] [--merge] [--clean] [target...]');
        process.exit(0);
      } else if (['--seconds', '--jobs', '--runs', '--seed'].includes(a)) {
        const v = Number(argv[++i]);
        if (!Number.isInteger(v) || v < 1) throw new ScriptError(`${a} needs a positive integer`);
        opts[{ '--seconds': 'secs', '--jobs': 'jobs', '--runs': 'runs', '--seed': 'seed' }[a]] = v;
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
