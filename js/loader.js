// Loads and instantiates the WebAssembly core in Node (>= 20) and browsers.
// Two builds: torchfunc.wasm (-sSTANDALONE_WASM, single-threaded; it imports
// only a few WASI functions, provided here instead of Emscripten's generated
// loader, which breaks under Node 20's ES modules) and torchfunc-mt.wasm
// (threads on shared memory, see threads.js), chosen here at load time.
import { TorchError } from './errors.js';
import { canUseThreads, coreCount, sharedMemory, startWorkers, threadImports } from './threads.js';

const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/** True when the engine validates a module using a v128 instruction. */
export function hasSimd() {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

async function readBytes(url) {
  if (typeof process !== 'undefined' && process.versions?.node && url.protocol === 'file:') {
    // A specifier in a variable, so that bundlers targeting browsers leave it alone.
    const fsp = 'node:fs/promises';
    const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ fsp);
    return readFile(url);
  }
  const res = await fetch(url);
  if (!res.ok) throw new TorchError(`could not load ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Stubs for whatever the module imports; only fd_write prints, to stderr. */
function makeImports(module, memoryRef) {
  const imports = {};
  const decoder = new TextDecoder();
  for (const { module: mod, name, kind } of WebAssembly.Module.imports(module)) {
    if (kind !== 'function') continue;
    imports[mod] ??= {};
    let fn = () => 0;
    if (name === 'fd_write') {
      fn = (fd, iovs, iovsLen, nwrittenPtr) => {
        const view = new DataView(memoryRef.memory.buffer);
        let n = 0, text = '';
        for (let i = 0; i < iovsLen; i++) {
          const ptr = view.getUint32(iovs + 8 * i, true), len = view.getUint32(iovs + 8 * i + 4, true);
          text += decoder.decode(new Uint8Array(memoryRef.memory.buffer, ptr, len));
          n += len;
        }
        if (text.trim()) console.error(text.trimEnd());
        view.setUint32(nwrittenPtr, n, true);
        return 0;
      };
    } else if (name === 'proc_exit') {
      fn = (code) => { throw new TorchError(`the WebAssembly core exited with code ${code}`); };
    } else if (name === 'abort' || name.startsWith('__cxa') || name === '_abort_js') {
      fn = () => { throw new TorchError('the WebAssembly core aborted'); };
    } else if (name === 'clock_time_get') {
      fn = (id, precision, ptr) => {
        new DataView(memoryRef.memory.buffer).setBigUint64(ptr, BigInt(Math.round(performance.now() * 1e6)), true);
        return 0;
      };
    }
    imports[mod][name] = fn;
  }
  return imports;
}

/** Threads the environment asks for: TORCHFUNC_NUM_THREADS in Node, else all cores. */
async function wantedThreads() {
  const env = typeof process !== 'undefined' ? process.env?.TORCHFUNC_NUM_THREADS : undefined;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) {
      throw new TorchError(`TORCHFUNC_NUM_THREADS must be a positive integer, got '${env}'`);
    }
    return Math.min(n, MAX_THREADS);
  }
  return Math.min(await coreCount(), MAX_THREADS);
}
const MAX_THREADS = 16; // src/threads.h FT_MAX_THREADS

async function compileFrom(source) {
  if (source instanceof WebAssembly.Module) return source;
  return WebAssembly.compile(source instanceof URL || typeof source === 'string' ? await readBytes(new URL(source)) : source);
}

/** The threaded core with n - 1 workers started, or null if they could not start. */
async function loadThreaded(url, n) {
  const module = await compileFrom(url);
  const memory = sharedMemory();
  let instance = null;
  instance = await WebAssembly.instantiate(module, threadImports(memory, () => instance.exports));
  const exports = instance.exports;
  exports.__wasm_call_ctors();
  try {
    await startWorkers(module, memory, exports, n - 1);
  } catch (e) {
    console.warn(`torchfunc-wasm: ${e.message}; running single-threaded`);
    return null;
  }
  if (exports.ft_api_set_num_threads(Math.min(n, exports.ft_api_threads_available())) !== 0) return null;
  return { exports, memory, threaded: true };
}

/**
 * Instantiates the core. `source` may be a URL, bytes, or a compiled module of
 * the single-threaded build; with no `source`, the threaded build is used
 * where SharedArrayBuffer and more than one core are available.
 * @returns {Promise<{exports: any, memory: WebAssembly.Memory, threaded: boolean}>}
 */
export async function loadWasm(source) {
  if (!hasSimd()) {
    throw new TorchError(
      'torchfunc-wasm needs WebAssembly SIMD (128-bit), which this engine does not support. ' +
        'Use Node >= 16.4 or an evergreen browser.',
    );
  }
  if (source === undefined) {
    const n = await wantedThreads();
    if (n > 1 && canUseThreads()) {
      const mt = await loadThreaded(new URL('./torchfunc-mt.wasm', import.meta.url), n);
      if (mt) return mt;
    }
    source = new URL('./torchfunc.wasm', import.meta.url);
  }
  const module = await compileFrom(source);
  const ref = { memory: null };
  const instance = await WebAssembly.instantiate(module, makeImports(module, ref));
  const exports = instance.exports;
  ref.memory = exports.memory;
  if (exports._initialize) exports._initialize();
  return { exports, memory: exports.memory, threaded: false };
}
