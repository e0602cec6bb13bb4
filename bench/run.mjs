// npm run bench [-- --filter REGEX] [-- --budget MS] [-- --threads N]: prints
// one JSON line per workload (median over repeats after warm-up) for this
// library, single-threaded unless --threads says otherwise.
// npm run bench -- --compare: the same workloads against the peers (bench/compare.mjs).
import * as torch from '../dist/index.js';
import { time } from './timing.mjs';
import { readdirSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const filter = new RegExp(opt('--filter', '.'));
const budgetMs = Number(opt('--budget', 2000));
const threads = Number(opt('--threads', 1));
if (args.includes('--compare')) {
  await (await import('./compare.mjs')).main(args.filter((a) => a !== '--compare'));
  process.exit();
}

torch.setNumThreads(threads);
const dir = new URL('./workloads/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
for (const f of files) {
  const make = (await import(new URL(f, dir))).default;
  for (const w of make(torch)) {
    if (!filter.test(w.name) || w.skip) continue;
    const t = time(w.run, { budgetMs });
    const m = w.metric ? w.metric(t.median) : {};
    console.log(JSON.stringify({
      library: 'torchfunc-wasm', workload: w.name, median_ms: +t.median.toFixed(4), p10_ms: +t.p10.toFixed(4),
      p90_ms: +t.p90.toFixed(4), reps: t.reps, ...(m.value !== undefined ? { value: +m.value.toFixed(3), unit: m.unit } : {}),
      ...(m.note ? { note: m.note } : {}), ...(w.check ? { check: +w.check().toPrecision(6) } : {}), threads: torch.getNumThreads(), node: process.version, date: new Date().toISOString().slice(0, 10),
    }));
  }
}
