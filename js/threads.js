// The threaded core (dist/torchfunc-mt.wasm): its imports, and the workers
// that run GEMM and convolution tasks on the shared memory (NOTE: [threads]
// in src/threads.c). Used by loader.js when SharedArrayBuffer is available:
// always in Node, in browsers when the page is cross-origin isolated.
import { TorchError } from './errors.js';
import { heap } from './runtime.js';

const WASM_PAGE = 65536;
const MAX_BYTES = 4 * 1024 * 1024 * 1024 - WASM_PAGE; // -sMAXIMUM_MEMORY=4GB
const WORKER_STACK = 256 * 1024;

/** True when this engine can run the threaded core at all. */
export function canUseThreads() {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode && (globalThis.crossOriginIsolated !== true || typeof Worker !== 'function')) return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

/** Logical cores, or 1 when the engine does not say. */
export async function coreCount() {
  if (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) return navigator.hardwareConcurrency;
  if (typeof process !== 'undefined' && process.versions?.node) {
    const os = 'node:os';
    const { availableParallelism, cpus } = await import(/* webpackIgnore: true */ /* @vite-ignore */ os);
    return availableParallelism ? availableParallelism() : cpus().length;
  }
  return 1;
}

/** A fresh shared memory for the threaded core (16 MB, as -sINITIAL_MEMORY). */
export function sharedMemory() {
  return new WebAssembly.Memory({ initial: 256, maximum: MAX_BYTES / WASM_PAGE + 1, shared: true });
}

/**
 * The imports of the threaded core, for the main thread and workers alike.
 * It is an ordinary Emscripten -pthread program whose JS side we replace:
 * pthread_create and the proxying calls are never used (our workers are
 * started by startWorkers), so those imports only report misuse.
 */
export function threadImports(memory, getExports) {
  const never = (name) => () => {
    throw new TorchError(`internal: the threaded core called ${name}, which this loader does not support`);
  };
  const env = {
    memory,
    emscripten_get_now: () => performance.now(),
    emscripten_memcpy_big: (dest, src, n) => {
      new Uint8Array(memory.buffer).copyWithin(dest, src, src + n);
    },
    // Emscripten's growth policy: +20% (at most +96 MB), whole pages.
    emscripten_resize_heap: (requested) => {
      const old = memory.buffer.byteLength;
      requested >>>= 0;
      if (requested > MAX_BYTES) return 0;
      let target = Math.max(requested, Math.min(old + (old / 5), old + 96 * 1024 * 1024));
      target = Math.min(MAX_BYTES, Math.ceil(target / WASM_PAGE) * WASM_PAGE);
      try {
        memory.grow((target - old) / WASM_PAGE);
        heap.grown = true;
        return 1;
      } catch {
        return 0;
      }
    },
    __emscripten_init_main_thread_js: (tb) => {
      const canBlock = typeof process !== 'undefined' && !!process.versions?.node ? 1 : 0;
      getExports()._emscripten_thread_init(tb, 1, 1, canBlock, 0);
    },
    _emscripten_notify_thread_queue: () => {},
    __emscripten_thread_cleanup: () => {},
    exit: (code) => {
      throw new TorchError(`the WebAssembly core exited with code ${code}`);
    },
  };
  for (const name of ['__pthread_create_js', 'emscripten_receive_on_main_thread_js', 'emscripten_unwind_to_js_event_loop',
    'emscripten_webgl_create_context', 'emscripten_set_canvas_element_size']) env[name] = never(name);
  return { env, wasi_snapshot_preview1: {} };
}

/**
 * Starts `n` workers on the instance's shared memory and resolves once each
 * is inside the core's worker loop. Workers never keep a Node process alive.
 */
export async function startWorkers(module, memory, exports, n) {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  const url = new URL('./thread_worker.js', import.meta.url);
  let NodeWorker = null;
  if (isNode) {
    const wt = 'node:worker_threads';
    NodeWorker = (await import(/* webpackIgnore: true */ /* @vite-ignore */ wt)).Worker;
  }
  const started = [];
  for (let id = 1; id <= n; id++) {
    const tb = exports.ft_api_thread_block(WORKER_STACK);
    if (!tb) throw new TorchError('threads: out of memory for a worker stack');
    const stackMax = tb + exports.ft_api_thread_block_header();
    const data = { module, memory, id, tb, stackMax, stackTop: stackMax + WORKER_STACK };
    started.push(new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m?.ready === id) {
          // Only now: while starting, the worker must keep Node's event loop alive.
          if (NodeWorker) worker.unref();
          resolve(worker);
        }
        else if (m?.error) reject(new TorchError(`threads: worker ${id} failed to start: ${m.error}`));
      };
      let worker;
      if (NodeWorker) {
        // No inherited flags: some (--input-type, --test, --inspect) break or misroute a worker.
        worker = new NodeWorker(url, { workerData: data, execArgv: [] });
        worker.on('message', onMessage);
        worker.on('error', (e) => reject(new TorchError(`threads: worker ${id} failed to start: ${e.message}`)));
      } else {
        worker = new Worker(url, { type: 'module', name: `torchfunc-${id}` });
        worker.onmessage = (e) => onMessage(e.data);
        worker.onerror = (e) => reject(new TorchError(`threads: worker ${id} failed to start: ${e.message}`));
        worker.postMessage(data);
      }
    }));
  }
  return Promise.all(started);
}
