#!/usr/bin/env node
// Installs what the build and the tests need on Debian 12, only if missing.
// Silent (and well under a second) when everything is already there.
//
//   node scripts/setup.mjs          compilers (emscripten, cmake, gcc, clang) + npm deps
//   node scripts/setup.mjs --test   also Chromium when tests/browser/ has tests, and
//                                   clang's libFuzzer runtime (tests/fuzz)
//
// As root it runs apt-get itself; otherwise it prints the command and fails.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, ScriptError, die, listFiles, log, run, which } from './util.mjs';

// tool on PATH -> Debian package that provides it
const TOOLS = [
  ['emcc', 'emscripten'],
  ['emcmake', 'emscripten'],
  ['cmake', 'cmake'],
  ['gcc', 'build-essential'],
  ['make', 'build-essential'],
  ['clang', 'clang'],
];

export function browserTestsPresent() {
  return listFiles(join(ROOT, 'tests/browser'), (n) => /\.test\.m?js$/.test(n)).length > 0;
}

export function findChromium() {
  if (process.env.FT_CHROMIUM && existsSync(process.env.FT_CHROMIUM)) return process.env.FT_CHROMIUM;
  return which('chromium') ?? which('chromium-browser');
}

/** Whether clang's libFuzzer runtime is installed (Debian: libclang-rt-<N>-dev). */
export function fuzzerRuntimePresent() {
  const base = '/usr/lib';
  for (const llvm of existsSync(base) ? readdirSync(base).filter((d) => /^llvm-\d+$/.test(d)) : []) {
    const clangDir = join(base, llvm, 'lib', 'clang');
    for (const v of existsSync(clangDir) ? readdirSync(clangDir) : []) {
      const libs = join(clangDir, v, 'lib', 'linux');
      if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('libclang_rt.fuzzer-'))) return true;
    }
  }
  return false;
}

function checkNode() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) throw new ScriptError(`Node >= 20 is required (this is ${process.version})`);
}

function installSystemPackages(wantBrowser, wantFuzz) {
  const missing = new Set();
  for (const [tool, pkg] of TOOLS) if (!which(tool)) missing.add(pkg);
  if (wantBrowser && !findChromium()) missing.add('chromium');
  // clang only recommends its runtimes, and apt-get runs with --no-install-recommends
  if (wantFuzz && !fuzzerRuntimePresent()) missing.add('libclang-rt-dev');
  if (missing.size === 0) return;

  const pkgs = [...missing].sort();
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    throw new ScriptError(`missing system packages: ${pkgs.join(', ')}\n` +
      `  install them as root, then run this again:\n    sudo sh -c '${cmd}'`);
  }
  if (!which('apt-get')) {
    throw new ScriptError(`missing: ${pkgs.join(', ')}, and apt-get is not available ` +
      '(this script knows Debian/Ubuntu only; install them with your package manager)');
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing system packages: ${pkgs.join(' ')}`);
  run('apt-get', ['update'], { env });
  run('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { env });
  for (const [tool, pkg] of TOOLS) {
    if (!which(tool)) throw new ScriptError(`'${tool}' is still missing after installing ${pkg}`);
  }
  if (wantBrowser && !findChromium()) throw new ScriptError('chromium is still missing after apt-get install');
  if (wantFuzz && !fuzzerRuntimePresent()) throw new ScriptError("clang's libFuzzer runtime is still missing after apt-get install");
}

function installNodeModules() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  if (Object.keys(deps).length === 0) return;
  const lockFile = join(ROOT, 'package-lock.json');
  const stampFile = join(ROOT, 'node_modules', '.torchfunc-setup-stamp');
  const lockHash = existsSync(lockFile)
    ? createHash('sha256').update(readFileSync(lockFile)).digest('hex')
    : 'no-lock';
  const stamp = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : null;
  if (existsSync(join(ROOT, 'node_modules')) && stamp === lockHash) return;

  if (!which('npm')) throw new ScriptError("'npm' is not on PATH (it comes with Node.js >= 20)");
  const env = { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' };
  const npmArgs = existsSync(lockFile)
    ? ['ci', '--no-audit', '--no-fund']
    : ['install', '--no-audit', '--no-fund'];
  log(`installing npm dependencies (npm ${npmArgs[0]})`);
  run('npm', npmArgs, { env });
  const newHash = existsSync(lockFile)
    ? createHash('sha256').update(readFileSync(lockFile)).digest('hex')
    : 'no-lock';
  writeFileSync(stampFile, `${newHash}\n`);
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const args = new Set(process.argv.slice(2));
  for (const a of args) if (a !== '--test') die(new ScriptError(`unknown option ${a} (known: --test)`));
  try {
    checkNode();
    installSystemPackages(args.has('--test') && browserTestsPresent(), args.has('--test'));
    installNodeModules();
  } catch (e) {
    die(e);
  }
}
