// npm run bench -- --compare [--peers tfjs-wasm,tfjs-cpu,tfjs-wasm-threads,jax-wasm,jax-jit,torch-native]
//                            [--budget MS] [--rounds N] [--out FILE.jsonl]
//                            [--threads N] [--torch-threads N] [--python PATH]
//
// Runs the workloads this library shares with its peers (bench/workloads/
// nn.mjs and func.mjs against bench/peers/*.mjs) on the same seeded inputs,
// each configuration in its own Node process, one after another, and prints
// a table of medians, ratios and check sums. Our workloads are timed here
// (`node compare.mjs --ours`) with the peers' own timing function
// (bench/peers/common.mjs `time`: up to 3 warm-ups, then reps until the
// budget is spent, 5 to 100 reps, medians), so both sides follow the same
// rules. With --rounds N the whole sequence runs N times and each cell is the
// lowest of its N medians (a busy machine only ever slows a run down). The
// peers are benchmark-only dependencies, installed into
// bench/peers/node_modules (npm ci) the first time.
//
// A second table compares us with native PyTorch eager on the same machine
// (`torch-native`): bench/peers/torch_native.py, run after the JS peers with
// Debian's /usr/bin/python3 (torch 1.13 + functorch from `apt-get install
// python3-torch`; --python or $TORCH_PYTHON picks another interpreter), on
// the same seeded inputs with the same timing rules and
// torch.set_num_threads matched to ours (1; --torch-threads N overrides it,
// and the table then says the counts differ). Where that interpreter cannot
// `import torch`, the table is replaced by one line saying why.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const HERE = dirname(fileURLToPath(import.meta.url));
const PEERS_DIR = join(HERE, 'peers');

/**
 * The table's rows. `ours`: our workload (the one the ratios use); `alt`:
 * another variant of ours, shown beside it; `peer`: the peers' workload
 * names, in order of preference (a peer's first one that ran is used, so
 * jax-js's broken jacrev falls back to its vmap(vjp) workaround); `target`:
 * the row counts towards the issue-3 target below.
 */
const ROWS = [
  { label: 'W1 matmul 256³', ours: 'matmul_256_readback', alt: ['matmul_256', 'left in wasm'], peer: ['W1_matmul_256'] },
  { label: 'W1 matmul 1024³', ours: 'matmul_1024_readback', alt: ['matmul_1024', 'left in wasm'], peer: ['W1_matmul_1024'] },
  { label: 'W2 MLP forward B=64', ours: 'mlp_forward_b64', alt: ['mlp_forward_b64_typed', 'typed-array params'], peer: ['W2_mlp_forward'], target: true },
  { label: 'W3 MLP loss+grad B=64', ours: 'mlp_grad_b64', alt: ['mlp_grad_b64_typed', 'typed-array params'], peer: ['W3_mlp_grad'], target: true },
  { label: 'W4 per-sample grads B=64, read back', ours: 'persample_grad_b64_readback', alt: ['persample_grad_b64', 'left in wasm'], peer: ['W4_per_sample_grads'] },
  { label: 'W5 Jacobian 10×784, reverse', ours: 'jacrev_mlp_784', peer: ['W5_jacobian_10x784', 'W5c_vmap_vjp_10x784'] },
  { label: 'W5b Jacobian 10×784, forward', ours: 'jacfwd_mlp_784', peer: ['W5b_jacfwd_10x784'] },
  { label: 'W6 CNN grad B=32', ours: 'cnn_grad_b32', alt: ['cnn_grad_b32_typed', 'typed-array params'], peer: ['W6_cnn_grad'], target: true },
  { label: 'Hessian 100×100', ours: 'hessian_100', peer: ['hessian_100'] },
  { label: 'Ensemble 8 MLPs B=64, vmap', ours: 'ensemble8_forward_b64', peer: ['ensemble8_forward_b64'] },
  { label: 'Ensemble 8 MLPs B=64, loop', ours: 'ensemble8_forward_b64_loop', peer: ['ensemble8_forward_b64_loop', 'ensemble8_forward_b64'] },
  { label: 'W7 1000 adds on 16 floats (ms = µs/op)', ours: 'dispatch_add_chain_16', alt: ['dispatch_add_chain_16_compiled', 'func.compile'], peer: ['W7_dispatch_1000_adds'] },
];
const PEERS = {
  'tfjs-wasm': ['tfjs.mjs', 'wasm'],
  'tfjs-cpu': ['tfjs.mjs', 'cpu'],
  // its threaded build, which it uses only in a cross-origin-isolated page
  'tfjs-wasm-threads': ['tfjs_browser.mjs', 'threads'],
  'jax-wasm': ['jaxjs.mjs', 'eager'],
  'jax-jit': ['jaxjs.mjs', 'jit'],
};
/** The native PyTorch table (bench/peers/torch_native.py, which names its workloads as ours do). */
const NATIVE = 'torch-native';
const NATIVE_SCRIPT = join(PEERS_DIR, 'torch_native.py');
/** Our worker count: the wasm build runs on one thread. */
/** Our thread count: 1 (the issue's single-threaded targets) unless --threads N. */
let OUR_THREADS = 1;
/**
 * `torch`: the script's workload (named as ours). `ref(oursBy)`: where our
 * workload reports no check sum, { value, why }: the sum to hold torch's
 * against.
 */
const NATIVE_ROWS = [
  { label: 'matmul 256³', ours: 'matmul_256_readback', alt: ['matmul_256', 'left in wasm'], torch: 'matmul_256' },
  { label: 'matmul 1024³', ours: 'matmul_1024_readback', alt: ['matmul_1024', 'left in wasm'], torch: 'matmul_1024' },
  { label: 'W2 MLP forward B=64', ours: 'mlp_forward_b64', alt: ['mlp_forward_b64_typed', 'typed-array params'], torch: 'mlp_forward_b64' },
  { label: 'W3 MLP loss+grad B=64', ours: 'mlp_grad_b64', alt: ['mlp_grad_b64_typed', 'typed-array params'], torch: 'mlp_grad_b64' },
  {
    label: 'W4 per-sample grads B=64, results left in the library', ours: 'persample_grad_b64', torch: 'persample_grad_b64',
    ref: (oursBy) => ({ value: oursBy.persample_grad_b64_readback?.check, why: 'ours left in wasm reports no check sum; the reference is the same gradients read back' }),
  },
  { label: 'W4 per-sample grads B=64, read back into new arrays', ours: 'persample_grad_b64_readback', torch: 'persample_grad_b64_copy' },
  {
    label: 'W4 per-sample grads B=64, loop of 64 grads', ours: 'persample_grad_b64_loop', torch: 'persample_grad_b64_loop',
    ref: (oursBy) => ({ value: oursBy.persample_grad_b64_readback?.check, why: 'ours reports no check sum for the loop; the reference is our vmap(grad) one (the same gradients)' }),
  },
  { label: 'W5 Jacobian 10×784, reverse', ours: 'jacrev_mlp_784', torch: 'jacrev_mlp_784' },
  { label: 'W5b Jacobian 10×784, forward', ours: 'jacfwd_mlp_784', torch: 'jacfwd_mlp_784' },
  { label: 'W6 CNN grad B=32', ours: 'cnn_grad_b32', alt: ['cnn_grad_b32_typed', 'typed-array params'], torch: 'cnn_grad_b32' },
  { label: 'Hessian 100×100', ours: 'hessian_100', torch: 'hessian_100' },
  { label: 'Ensemble 8 MLPs B=64, vmap', ours: 'ensemble8_forward_b64', torch: 'ensemble8_forward_b64' },
  { label: 'Ensemble 8 MLPs B=64, loop', ours: 'ensemble8_forward_b64_loop', torch: 'ensemble8_forward_b64_loop' },
  { label: 'W7 1000 adds on 16 floats (ms = µs/op)', ours: 'dispatch_add_chain_16', alt: ['dispatch_add_chain_16_compiled', 'func.compile'], torch: 'dispatch_add_chain_16' },
];

/**
 * Whether `python` can import torch: { ok, version } or { ok: false, why }.
 */
function probeTorch(python) {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120000 });
  if (r.error) return { ok: false, why: `${python} could not be run (${r.error.code ?? r.error.message})` };
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').pop() || `exit ${r.status}`;
    return { ok: false, why: `\`${python} -c 'import torch'\` failed: ${last}` };
  }
  return { ok: true, version: r.stdout.trim() };
}

/** Runs bench/peers/torch_native.py, returns its JSON lines. */
function runPython(python, args) {
  const r = spawnSync(python, [NATIVE_SCRIPT, ...args], { cwd: PEERS_DIR, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.stderr) process.stderr.write(r.stderr);
  const rows = [];
  for (const line of (r.stdout || '').split('\n')) {
    if (!line.startsWith('{')) continue;
    try { rows.push(JSON.parse(line)); } catch { /* not ours */ }
  }
  if (r.status !== 0 && !rows.some((x) => x.workload && x.workload !== 'info'))
    rows.push({ workload: 'info', status: 'error', error: `exit ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').pop()}` });
  return rows;
}

/** The issue's target: each shared workload at least this much faster than tfjs-wasm. */
const TARGET = { peer: 'tfjs-wasm', ratio: 1.5 };
/** Check sums (6 significant digits, float32 sums) agree when within this relative difference. */
const CHECK_RTOL = 5e-4;

function ensurePeers() {
  const need = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs', '@jax-js/jax'];
  if (need.every((p) => existsSync(join(PEERS_DIR, 'node_modules', p, 'package.json')))) return;
  console.error('[compare] installing the peers into bench/peers (npm ci) ...');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--prefix', PEERS_DIR, '--ignore-scripts', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm ci --prefix bench/peers failed (exit ${r.status})`);
}

/** Runs a Node script, returns its JSON lines (other output goes to stderr). */
function runNode(script, args, cwd) {
  const r = spawnSync(process.execPath, [script, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.stderr) process.stderr.write(r.stderr.split('\n').filter((l) => l && !/^=+$|tfjs-node|Hi, looks like/.test(l)).map((l) => l + '\n').join(''));
  const rows = [];
  for (const line of (r.stdout || '').split('\n')) {
    if (!line.startsWith('{')) continue;
    try { rows.push(JSON.parse(line)); } catch { /* not ours */ }
  }
  if (r.status !== 0 && rows.length === 0) rows.push({ status: 'error', error: `exit ${r.status}: ${(r.stderr || '').trim().split('\n').pop()}` });
  return rows;
}

/**
 * `node compare.mjs --ours [--filter REGEX] [--budget MS]`: our workloads,
 * timed by the peers' `time` (bench/peers/common.mjs), one JSON line each.
 */
async function ours(args) {
  const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
  const filter = new RegExp(opt('--filter', '.')), budgetMs = Number(opt('--budget', 3000));
  const torch = await import('../dist/index.js');
  torch.setNumThreads(Number(opt('--threads', 1)));
  const { time } = await import('./peers/common.mjs');
  const dir = join(HERE, 'workloads');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.mjs')).sort()) {
    const make = (await import(pathToFileURL(join(dir, f)).href)).default;
    for (const w of make(torch)) {
      if (!filter.test(w.name)) continue;
      const base = { library: 'torchfunc-wasm', workload: w.name };
      if (w.skip) { console.log(JSON.stringify({ ...base, status: 'skipped', median_ms: null, reps: 0, note: w.skip })); continue; }
      try {
        const t = await time(w.run, { budgetMs });
        const m = w.metric ? w.metric(t.median_ms) : {};
        console.log(JSON.stringify({
          ...base, status: 'ok', ...t, ...(w.check ? { check: +w.check().toPrecision(6) } : {}), ...(m.note ? { note: m.note } : {}),
        }));
      } catch (e) {
        console.log(JSON.stringify({ ...base, status: 'error', median_ms: null, reps: 0, error: String(e?.message ?? e).split('\n')[0].slice(0, 300) }));
      }
    }
  }
}

const fmt = (v) => (v == null ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const agree = (a, b) => Math.abs(a - b) <= CHECK_RTOL * Math.max(Math.abs(a), Math.abs(b), 1e-12);

/** Entry point, called by bench/run.mjs when --compare is given. */
export async function main(args) {
  const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
  const budget = opt('--budget', '3000');
  OUR_THREADS = Math.max(1, Number(opt('--threads', 1)));
  const selected = opt('--peers', [...Object.keys(PEERS), NATIVE].join(',')).split(',').filter(Boolean);
  for (const p of selected) if (!PEERS[p] && p !== NATIVE) throw new Error(`unknown peer '${p}' (known: ${[...Object.keys(PEERS), NATIVE].join(', ')})`);
  const peers = selected.filter((p) => p !== NATIVE);
  if (peers.length) ensurePeers();
  // The native table: only when selected and the interpreter has torch.
  const python = opt('--python', process.env.TORCH_PYTHON || '/usr/bin/python3');
  const torchThreads = Math.max(1, Number(opt('--torch-threads', OUR_THREADS)));
  const native = selected.includes(NATIVE) ? probeTorch(python) : { ok: false, why: `not selected (--peers without ${NATIVE})` };

  const rounds = Math.max(1, Number(opt('--rounds', 1)));
  const all = [];
  // best[config][workload]: the row with the lowest median over the rounds
  const best = {};
  const keep = (config, rows) => {
    const b = (best[config] ??= {});
    for (const r of rows) {
      if (!r.workload) continue;
      const old = b[r.workload];
      if (!old || (r.median_ms != null && (old.median_ms == null || r.median_ms < old.median_ms))) b[r.workload] = r;
    }
  };
  const oursRows = native.ok ? [...ROWS, ...NATIVE_ROWS] : ROWS;
  const oursNames = oursRows.flatMap((r) => [r.ours, ...(r.alt ? [r.alt[0]] : [])]);
  const oursRe = `^(${[...new Set(oursNames)].join('|')})$`;
  const peerRe = `^(${[...new Set(ROWS.flatMap((r) => r.peer))].join('|')})$`;
  const t0 = Date.now();
  for (let round = 1; round <= rounds; round++) {
    const tag = rounds > 1 ? ` (round ${round}/${rounds})` : '';
    console.error(`[compare] torchfunc-wasm${tag} ...`);
    const o = runNode(fileURLToPath(import.meta.url), ['--ours', '--filter', oursRe, '--budget', budget, '--threads', String(OUR_THREADS)], join(HERE, '..'));
    all.push(...o.map((r) => ({ ...r, config: 'torchfunc-wasm', round })));
    keep('torchfunc-wasm', o);
    for (const p of peers) {
      console.error(`[compare] ${p}${tag} ...`);
      const [script, mode] = PEERS[p];
      const rows = runNode(join(PEERS_DIR, script), [mode, '--filter', peerRe, '--budget', budget], PEERS_DIR);
      all.push(...rows.map((r) => ({ ...r, config: p, round })));
      keep(p, rows);
    }
    if (native.ok) {
      console.error(`[compare] ${NATIVE} (${python}, torch ${native.version}, ${torchThreads} thread(s))${tag} ...`);
      const torchRe = `^(${[...new Set(NATIVE_ROWS.map((r) => r.torch))].join('|')})$`;
      const rows = runPython(python, ['--threads', String(torchThreads), '--filter', torchRe, '--budget', budget]);
      all.push(...rows.map((r) => ({ ...r, config: NATIVE, round })));
      keep(NATIVE, rows);
    }
  }
  const out = opt('--out', null);
  if (out) writeFileSync(out, all.map((r) => JSON.stringify(r)).join('\n') + '\n');

  const oursBy = best['torchfunc-wasm'] ?? {};
  const version = (pkg) => { try { return JSON.parse(readFileSync(join(PEERS_DIR, 'node_modules', pkg, 'package.json'), 'utf8')).version; } catch { return '?'; } };
  const tfInfo = best['tfjs-wasm']?.info, tfThreadsInfo = best['tfjs-wasm-threads']?.info;
  const lines = [];
  lines.push(`Median ms per rep (lower is better); ratio = peer ÷ torchfunc-wasm (above 1: we are faster); check = sum of |results|.`);
  lines.push(`Node ${process.version}, ${process.platform} ${process.arch}; ours on ${OUR_THREADS} thread(s), the Node peers on one (tfjs hard-codes it under Node, jax-js starts no workers there); budget ${budget} ms per workload, ` +
    `the peers' timing rules for all (≤3 warm-ups, 5–100 reps, results read back into JS every rep)` +
    (rounds > 1 ? `; lowest median of ${rounds} rounds.` : '.'));
  lines.push(`Peers: @tensorflow/tfjs ${version('@tensorflow/tfjs-core')}` + (tfInfo ? ` (wasm: simd ${tfInfo.simd}, threads ${tfInfo.threads})` : '') +
    (tfThreadsInfo ? `; tfjs-wasm-threads: its threaded SIMD build in ${tfThreadsInfo.backend} (cross-origin isolated), multithread ${tfThreadsInfo.multithread}, ${tfThreadsInfo.threads} XNNPACK thread(s) (tfjs takes logical cores / 2)` : '') +
    `, @jax-js/jax ${version('@jax-js/jax')} (wasm device, eager and jit). Run took ${Math.round((Date.now() - t0) / 1000)} s.`);
  lines.push('');
  const head = ['workload', 'torchfunc-wasm', 'ours, variant', 'check'];
  for (const p of peers) head.push(p, 'ratio', 'check');
  head.push('checks agree');
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${head.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`);

  // Footnotes: one number per distinct text (how a peer did it, or why it could not).
  const notes = [];
  const mark = (text) => {
    let i = notes.findIndex((n) => n.text === text);
    if (i < 0) { notes.push({ text, who: [] }); i = notes.length - 1; }
    return i + 1;
  };
  const verdicts = [], mismatches = [];
  for (const row of ROWS) {
    const o = oursBy[row.ours], alt = row.alt ? oursBy[row.alt[0]] : null;
    const oOk = o?.status === 'ok';
    const cells = [row.label,
      oOk ? fmt(o.median_ms) : o ? `✗ [${mark(`torchfunc-wasm ${row.ours}: ${o.error ?? o.note ?? o.status}`)}]` : 'not run',
      alt?.status === 'ok' ? `${fmt(alt.median_ms)} (${row.alt[1]})` : '—',
      oOk && o.check != null ? o.check : '—'];
    const checks = oOk && o.check != null ? [['torchfunc-wasm', o.check]] : [];
    for (const p of peers) {
      const got = row.peer.map((w) => best[p]?.[w]).filter(Boolean);
      const used = got.find((r) => r.status === 'ok');
      if (!used) {
        const r = got[0];
        if (!r) { cells.push('not run', '—', '—'); continue; }
        const why = r.status === 'unsupported' ? `${row.label}, ${r.peer}: ${r.note}` : `${row.label}, ${r.peer}${r.note ? ` ${r.note}` : ''}: ✗ ${r.error ?? r.status}`;
        const n = mark(why);
        cells.push(`${r.status === 'unsupported' ? '—' : '✗'} [${n}]`, '—', '—');
        if (row.target && p === TARGET.peer) verdicts.push(`${row.ours}: no ratio vs ${p}, which cannot run it [${n}]`);
        continue;
      }
      const failed = got.filter((r) => r !== used && r.status !== 'ok' && row.peer.indexOf(r.workload) < row.peer.indexOf(used.workload));
      let how = used.note ?? '';
      if (failed.length) how = `${how}; used because ${failed.map((r) => `${r.note ?? r.workload} fails: ${r.error ?? r.note}`).join('; ')}`;
      const ratio = oOk ? used.median_ms / o.median_ms : null;
      cells.push(`${fmt(used.median_ms)}${how ? ` [${mark(`${row.label}, ${used.peer}: ${how}`)}]` : ''}`, ratio ? `${ratio.toFixed(2)}×` : '—', used.check ?? '—');
      if (used.check != null) checks.push([p, used.check]);
      if (row.target && p === TARGET.peer && ratio)
        verdicts.push(`${row.ours}: ${ratio.toFixed(2)}× vs ${p} (target ${TARGET.ratio}×: ${ratio >= TARGET.ratio ? 'met' : 'NOT met'})`);
    }
    const ok = checks.length < 2 || checks.every(([, c]) => agree(c, checks[0][1]));
    if (!ok) mismatches.push(`${row.label}: ${checks.map(([p, c]) => `${p} ${c}`).join(', ')}`);
    cells.push(checks.length < 2 ? '—' : ok ? `yes (${checks.length})` : 'NO');
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (notes.length) lines.push('', ...notes.map((n, i) => `[${i + 1}] ${n.text}`));
  if (mismatches.length) lines.push('', 'Check sums that disagree:', ...mismatches.map((m) => `  ${m}`));
  if (verdicts.length) lines.push('', ...verdicts);
  lines.push('', ...nativeTable({ native, python, torchThreads, budget, rounds, oursBy, best: best[NATIVE] ?? {} }));
  console.log(lines.join('\n'));
}

/** The second table: us against native PyTorch eager (or one line saying why it is missing). */
function nativeTable({ native, python, torchThreads, budget, rounds, oursBy, best }) {
  if (!native.ok) return [`vs native PyTorch: skipped, ${native.why}.`];
  const info = best.info ?? {};
  if (info.status === 'error' && !NATIVE_ROWS.some((r) => best[r.torch])) return [`vs native PyTorch ${native.version}: skipped, torch_native.py failed: ${info.error}.`];
  const threads = info.threads ?? torchThreads;
  const lines = [];
  lines.push(`vs native PyTorch ${info.torch ?? native.version} eager (${threads} thread${threads === 1 ? '' : 's'})`);
  lines.push('');
  lines.push(`Median ms per rep (lower is better); ratio = torch ÷ torchfunc-wasm (above 1: we are faster); check = sum of |results|.`);
  lines.push(`${python} bench/peers/torch_native.py --threads ${torchThreads}: torch.set_num_threads(${torchThreads})` +
    (threads === OUR_THREADS ? ` (ours: ${OUR_THREADS}, matched)` : `, ours ${OUR_THREADS}: NOT matched`) +
    `, functorch ${info.functorch ?? '?'}, Python ${info.python ?? '?'}; the same seeded inputs and timing rules (budget ${budget} ms` +
    (rounds > 1 ? `, lowest median of ${rounds} rounds` : '') + `); torch's results are host tensors, so its reps end with a no-copy .numpy() (the W4 read-back row copies, as ours does).`);
  if (info.blas?.length) lines.push(`Its BLAS/LAPACK: ${info.blas.join(', ')}${info.blas.some((b) => /\/blas\/libblas/.test(b)) ? ' (Debian\'s default alternative: the netlib reference BLAS, which its matmuls use)' : ''}.`);
  lines.push('');
  const head = ['workload', 'torchfunc-wasm', 'ours, variant', 'check', `torch ${info.torch ?? native.version}`, 'ratio', 'check', 'checks agree'];
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${head.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  const notes = [];
  const mark = (text) => {
    let i = notes.indexOf(text);
    if (i < 0) { notes.push(text); i = notes.length - 1; }
    return i + 1;
  };
  const mismatches = [];
  for (const row of NATIVE_ROWS) {
    const o = oursBy[row.ours], alt = row.alt ? oursBy[row.alt[0]] : null, t = best[row.torch];
    const oOk = o?.status === 'ok';
    const oCheck = oOk && o.check != null ? o.check : null;
    const r = oCheck == null && row.ref ? row.ref(oursBy) : null, ref = r?.value ?? null;
    const cells = [row.label,
      oOk ? fmt(o.median_ms) : o ? `✗ [${mark(`torchfunc-wasm ${row.ours}: ${o.error ?? o.note ?? o.status}`)}]` : 'not run',
      alt?.status === 'ok' ? `${fmt(alt.median_ms)} (${row.alt[1]})` : '—',
      oCheck ?? (ref != null ? `${ref} [${mark(r.why)}]` : '—')];
    if (!t) cells.push('not run', '—', '—');
    else if (t.status !== 'ok') {
      const n = mark(`${row.label}, torch: ${t.status === 'unsupported' ? t.note : `✗ ${t.error ?? t.status}`}`);
      cells.push(`${t.status === 'unsupported' ? '—' : '✗'} [${n}]`, '—', '—');
    } else {
      const ratio = oOk ? t.median_ms / o.median_ms : null;
      cells.push(`${fmt(t.median_ms)}${t.note ? ` [${mark(`${row.label}, torch: ${t.note}`)}]` : ''}`, ratio ? `${ratio.toFixed(2)}×` : '—', t.check ?? '—');
    }
    const checks = [[oCheck != null ? 'torchfunc-wasm' : 'reference', oCheck ?? ref], ['torch', t?.status === 'ok' ? t.check : null]].filter(([, c]) => c != null);
    const ok = checks.length < 2 || agree(checks[0][1], checks[1][1]);
    if (!ok) mismatches.push(`${row.label}: ${checks.map(([p, c]) => `${p} ${c}`).join(', ')}`);
    cells.push(checks.length < 2 ? '—' : ok ? 'yes' : 'NO');
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (notes.length) lines.push('', ...notes.map((n, i) => `[${i + 1}] ${n}`));
  if (mismatches.length) lines.push('', 'Check sums that disagree:', ...mismatches.map((m) => `  ${m}`));
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  if (args.includes('--ours')) await ours(args);
  else await main(args);
}
