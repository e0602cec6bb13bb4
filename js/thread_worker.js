// The body of one GEMM worker thread (a Web Worker, or a Node worker_thread):
// instantiates the threaded core on the shared memory it is sent, gives
// itself its own stack, reports ready, and then lives inside the core's
// worker loop for good (NOTE: [threads] in src/threads.c).
import { threadImports } from './threads.js';

async function run(data, post) {
  const instance = await WebAssembly.instantiate(data.module, threadImports(data.memory, () => instance.exports));
  const ex = instance.exports;
  // No __wasm_call_ctors here: constructors ran once, on the main thread,
  // and the start function (the shared data segments) guards itself.
  ex._emscripten_thread_init(data.tb, 0, 0, 1, 0);
  ex.emscripten_stack_set_limits(data.stackTop, data.stackMax);
  ex.stackRestore(data.stackTop);
  ex.emscripten_tls_init();
  ex.ft_api_thread_attach();
  post({ ready: data.id });
  ex.ft_api_thread_worker(data.id); // never returns
}

function fail(post, e) {
  post({ error: String(e?.stack ?? e) });
}

if (typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope) {
  const post = (m) => globalThis.postMessage(m);
  globalThis.onmessage = (e) => run(e.data, post).catch((err) => fail(post, err));
} else {
  // A specifier in a variable, so that bundlers targeting browsers leave it alone.
  const wt = 'node:worker_threads';
  const { parentPort, workerData } = await import(/* webpackIgnore: true */ /* @vite-ignore */ wt);
  const post = (m) => parentPort.postMessage(m);
  run(workerData, post).catch((e) => fail(post, e));
}
