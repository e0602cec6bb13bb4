/* func.compile: tracing a function into a program of ops, and replaying it.
 *
 * NOTE: [tracing]
 * What is recorded. A trace is opened by js/func/compile.js around one eager
 * call of the user's function. The trace's *boundary* is the first level id
 * pushed after it opened: levels from there up (the transforms the function
 * applies itself, e.g. compile(vmap(grad(f)))) belong to the trace; levels
 * below it (eager autograd, or the transforms compile is called under, e.g.
 * grad(compile(f))) do not. The dispatcher calls ft_trace_record for every
 * op at the point where it leaves the trace's levels: when the innermost
 * live level among its inputs is below the boundary. So a function that
 * applies transforms is recorded fully lowered (its vmap, grad and jvp levels
 * turned into plain ops, as jax.jit of a transformed function), and ops that
 * an enclosing transform must see are recorded at that transform's level.
 * While a recorded op runs (through the enclosing levels, down to its eval),
 * recording is off: nested dispatches belong to it. In-place writes are
 * recorded the same way (ft_assign_ -> ft_trace_assign, an ASSIGN
 * instruction). Composite ops are never recorded, their primitives are.
 *
 * Slots. Every tensor the program touches is a slot: an input (registered by
 * JavaScript: Tensor arguments, and tensors made from typed-array arguments),
 * an instruction's result, or a constant: any other tensor an op reads (a
 * parameter closed over, a number made into a 0-d tensor, the ones seeding a
 * backward pass). Constants are held by reference, so a parameter updated in
 * place between calls is seen updated. Slots are keyed by the tensor's
 * address at the boundary (wrappers of the trace's own levels peeled); the
 * trace holds a reference to every tensor it keyed, so no address is reused
 * while it runs. ft_wrap_in_place (an in-place write lifting a value to a
 * level) moves a value to a new struct: ft_trace_rewrapped keys it too.
 * A constant the function made itself, outside ops (torch.zeros(n) as an
 * accumulator, a tensor it returns), is different: each eager call makes a
 * new one. Storages made while the trace runs are remembered
 * (ft_trace_new_storage); if the program writes such a constant in place or
 * returns it, its contents before the first write are kept, and every
 * replay makes a new tensor from them (a "snapshot"); read-only ones are
 * shared by all replays.
 *
 * What cannot be replayed makes the trace fail, and JavaScript falls back to
 * eager for that input signature: a value read into JavaScript that does not
 * come straight back as an output (data-dependent control flow; decided in
 * compile.js from ft_trace_read), an op that raised an error the function
 * caught, and side effects outside ops (eager backward, .grad, requiresGrad_,
 * reseeding the generator; src/api/wasm_api.c). Random ops are instructions
 * like any other, so each replay draws fresh numbers from the generator,
 * exactly as eager calls would.
 *
 * The memory plan. When the trace closes, instructions whose results nobody
 * uses are dropped (never random ones or writes), and each result slot's last
 * use is found once: a replay releases every intermediate right after the
 * instruction that last reads it, so a program's peak memory is what its live
 * values need, and the size-class pool (pool.c) turns each allocation after
 * the first replay into a free-list pop. No arena: evals allocate their own
 * outputs, and the pool already makes that free.
 *
 * Replay. ft_program_run binds the inputs (dtype and shape checked against
 * the trace) and runs each instruction as it ran in the trace: one that no
 * live level saw (its inputs plain, or wrapped at levels noGrad disabled)
 * calls its eval directly on the plain values, with no dispatch; the others
 * go through ft_dispatch, so the levels compile was called under see them
 * (grad(compile(f)) records its tape, vmap(compile(f)) batches). That is
 * only right if every input and constant sits where it sat in the trace:
 * JavaScript keys programs by signature (compile.js), including where the
 * inputs sit on the level stack (ft_trace_level_sig); a constant that has
 * since been wrapped or unwrapped (requiresGrad_ on a captured parameter)
 * makes the program stale, and compile.js traces again.
 *
 * Chains of elementwise instructions are fused into one instruction when
 * the program is built (NOTE: [fusion] in trace_fuse.c).
 */
#include "trace_impl.h"
#include "../ops/ops.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int ft_trace_recording;
int32_t ft_trace_boundary = INT32_MAX;
int ft_trace_on;

ft_trace_state ft_tr;

static bool grow(void **p, int32_t *cap, int32_t need, size_t elem) {
  if (need <= *cap) return true;
  int32_t c = *cap ? *cap : 16;
  while (c < need) c *= 2;
  void *q = realloc(*p, (size_t)c * elem);
  if (!q) return false;
  *p = q;
  *cap = c;
  return true;
}
#define GROW(arr, n, cap, extra) grow((void **)&(arr), &(cap), (n) + (extra), sizeof *(arr))

static void update_recording(void) { ft_trace_recording = ft_trace_on && ft_tr.depth == 0 && !ft_tr.failed; }

void ft_trace_fail(const char *why) {
  if (!ft_trace_on || ft_tr.failed) return;
  ft_tr.failed = true;
  snprintf(ft_tr.failure, sizeof ft_tr.failure, "%s", why);
  update_recording();
}

const char *ft_trace_failure(void) { return ft_tr.failed ? ft_tr.failure : NULL; }

/* ---- the address -> slot map ----------------------------------------------- */

static uint32_t hash_ptr(const void *p) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 29;
  return (uint32_t)x;
}

static int32_t map_get(const ft_tensor *k) {
  if (!ft_tr.cmap) return -1;
  for (uint32_t i = hash_ptr(k) & (uint32_t)(ft_tr.cmap - 1);; i = (i + 1) & (uint32_t)(ft_tr.cmap - 1)) {
    if (!ft_tr.map[i].key) return -1;
    if (ft_tr.map[i].key == k) return ft_tr.map[i].slot;
  }
}

static bool map_put(ft_tensor *k, int32_t slot) {
  if ((ft_tr.nmap + 1) * 2 > ft_tr.cmap) {
    int32_t nc = ft_tr.cmap ? ft_tr.cmap * 2 : 256;
    tent *nm = calloc((size_t)nc, sizeof *nm);
    if (!nm) return false;
    for (int32_t i = 0; i < ft_tr.cmap; i++) {
      if (!ft_tr.map[i].key) continue;
      uint32_t j = hash_ptr(ft_tr.map[i].key) & (uint32_t)(nc - 1);
      while (nm[j].key) j = (j + 1) & (uint32_t)(nc - 1);
      nm[j] = ft_tr.map[i];
    }
    free(ft_tr.map);
    ft_tr.map = nm;
    ft_tr.cmap = nc;
  }
  for (uint32_t i = hash_ptr(k) & (uint32_t)(ft_tr.cmap - 1);; i = (i + 1) & (uint32_t)(ft_tr.cmap - 1)) {
    if (!ft_tr.map[i].key) { ft_tr.map[i].key = k; ft_tr.map[i].slot = slot; ft_tr.nmap++; return true; }
    if (ft_tr.map[i].key == k) { ft_tr.map[i].slot = slot; return true; }
  }
}

static bool is_fresh(const ft_storage *s) {
  if (!ft_tr.cfresh) return false;
  for (uint32_t i = hash_ptr(s) & (uint32_t)(ft_tr.cfresh - 1);; i = (i + 1) & (uint32_t)(ft_tr.cfresh - 1)) {
    if (!ft_tr.fresh[i]) return false;
    if (ft_tr.fresh[i] == s) return true;
  }
}

void ft_trace_new_storage(ft_storage *s) {
  if (!ft_trace_on || ft_tr.depth > 0 || ft_tr.failed) return;
  if ((ft_tr.nfresh + 1) * 2 > ft_tr.cfresh) {
    int32_t nc = ft_tr.cfresh ? ft_tr.cfresh * 2 : 256;
    ft_storage **nf = calloc((size_t)nc, sizeof *nf);
    if (!nf) { ft_trace_fail("out of memory while tracing"); return; }
    for (int32_t i = 0; i < ft_tr.cfresh; i++) {
      if (!ft_tr.fresh[i]) continue;
      uint32_t j = hash_ptr(ft_tr.fresh[i]) & (uint32_t)(nc - 1);
      while (nf[j]) j = (j + 1) & (uint32_t)(nc - 1);
      nf[j] = ft_tr.fresh[i];
    }
    free(ft_tr.fresh);
    ft_tr.fresh = nf;
    ft_tr.cfresh = nc;
  }
  uint32_t i = hash_ptr(s) & (uint32_t)(ft_tr.cfresh - 1);
  while (ft_tr.fresh[i] && ft_tr.fresh[i] != s) i = (i + 1) & (uint32_t)(ft_tr.cfresh - 1);
  if (!ft_tr.fresh[i]) { ft_tr.fresh[i] = s; ft_tr.nfresh++; }
}

int32_t ft_trace_snap_of(const ft_storage *s) {
  for (int32_t k = 0; k < ft_tr.nsnaps; k++)
    if (ft_tr.snaps[k].s == s) return k;
  return -1;
}

/* Keeps a copy of fresh storage s's current contents (once). */
static void snapshot(ft_storage *s) {
  if (ft_trace_snap_of(s) >= 0) return;
  void *c = malloc(s->nbytes ? s->nbytes : 1);
  if (!c || !GROW(ft_tr.snaps, ft_tr.nsnaps, ft_tr.csnaps, 1)) { free(c); ft_trace_fail("out of memory while tracing"); return; }
  memcpy(c, s->data, s->nbytes);
  ft_tr.snaps[ft_tr.nsnaps++] = (tsnap){.s = s, .copy = c, .nbytes = s->nbytes};
}

/* ---- slots ------------------------------------------------------------------ */

static ft_tensor *at_boundary(ft_tensor *t) {
  while (t->level >= ft_trace_boundary) t = t->inner;
  return t;
}

static bool hold(ft_tensor *t) {
  if (!GROW(ft_tr.held, ft_tr.nheld, ft_tr.cheld, 1)) return false;
  ft_retain(t);
  ft_tr.held[ft_tr.nheld++] = t;
  return true;
}

/* A new slot, keyed by t (NULL: a slot no tensor holds yet). -1 when out of memory. */
static int32_t new_slot(ft_tensor *t, int kind, int32_t ref, bool dynamic) {
  if (!GROW(ft_tr.slots, ft_tr.nslots, ft_tr.cslots, 1)) return -1;
  if (t && (!hold(t) || !map_put(t, ft_tr.nslots))) return -1;
  ft_tr.slots[ft_tr.nslots] = (tslot){.kind = (uint8_t)kind, .dynamic = dynamic, .ref = ref, .t = t};
  return ft_tr.nslots++;
}

/* t's slot; a tensor never seen becomes a constant. -1 when out of memory. */
static int32_t slot_of(ft_tensor *t) {
  t = at_boundary(t);
  int32_t s = map_get(t);
  if (s >= 0) return s;
  if (!GROW(ft_tr.consts, ft_tr.nconsts, ft_tr.cconsts, 1) || !GROW(ft_tr.const_slot, ft_tr.nconsts, ft_tr.cconst_slot, 1)) return -1;
  s = new_slot(t, SLOT_CONST, ft_tr.nconsts, false);
  if (s >= 0) {
    ft_tr.consts[ft_tr.nconsts] = t;
    ft_tr.const_slot[ft_tr.nconsts++] = s;
  }
  return s;
}

static int32_t push_instr(int32_t op, int nin, int nout, const ft_attrs *at, int32_t top) {
  if (!GROW(ft_tr.ins, ft_tr.nins, ft_tr.cins, 1) || !GROW(ft_tr.args, ft_tr.nargs, ft_tr.cargs, nin + nout)) return -1;
  int32_t attr = -1;
  if (at && (at->ni || at->nf)) {
    if (!GROW(ft_tr.attrs, ft_tr.nattrs, ft_tr.cattrs, 1)) return -1;
    ft_tr.attrs[ft_tr.nattrs] = *at;
    attr = ft_tr.nattrs++;
  }
  ft_tr.ins[ft_tr.nins] = (tinstr){.op = op, .nin = nin, .nout = nout, .args = ft_tr.nargs, .attr = attr, .base = top == 0};
  ft_tr.nargs += nin + nout;
  return ft_tr.nins++;
}

/* ---- the hooks ---------------------------------------------------------------- */

ft_status ft_trace_record(ft_op op, int32_t top, int nin, ft_tensor *const *in, const ft_attrs *at,
                          ft_tensor **out) {
  const ft_op_def *d = ft_ops[op];
  int32_t sl[nin > 0 ? nin : 1];
  bool oom = false;
  for (int i = 0; i < nin && !oom; i++) oom = (sl[i] = slot_of(in[i])) < 0;
  ft_tr.depth++;
  update_recording();
  ft_status st = ft_dispatch_at(op, top, nin, in, at, out);
  ft_tr.depth--;
  update_recording();
  if (st) {
    char msg[300];
    snprintf(msg, sizeof msg, "%s raised an error while tracing (caught by the function): %s", d->name, ft_last_error());
    ft_trace_fail(msg);
    return st;
  }
  int32_t k = oom ? -1 : push_instr(op, nin, d->nout, at, top);
  if (k < 0) { ft_trace_fail("out of memory while tracing"); return FT_OK; }
  int32_t *a = ft_tr.args + ft_tr.ins[k].args;
  for (int i = 0; i < nin; i++) a[i] = sl[i];
  for (int j = 0; j < d->nout; j++) {
    int32_t s = new_slot(out[j], SLOT_VALUE, k, true);
    if (s < 0) { ft_trace_fail("out of memory while tracing"); return FT_OK; }
    ft_tr.args[ft_tr.ins[k].args + nin + j] = s;
  }
  return FT_OK;
}

ft_status ft_trace_assign(ft_tensor *dst, ft_tensor *src) {
  int32_t top = ft_top_level(dst), ts = ft_top_level(src);
  if (ts > top) top = ts;
  if (top >= ft_trace_boundary) return ft_assign_impl(dst, src); /* still inside the trace's levels */
  int32_t sd = slot_of(dst), ss = slot_of(src);
  /* a tensor f made (outside ops) is written: replays start from its contents now */
  ft_storage *ds = ft_base_value(dst)->storage;
  if (is_fresh(ds))
    for (int32_t c = 0; c < ft_tr.nconsts; c++)
      if (ft_base_value(ft_tr.consts[c])->storage == ds) { snapshot(ds); break; }
  ft_tr.depth++;
  update_recording();
  ft_status st = ft_assign_impl(dst, src);
  ft_tr.depth--;
  update_recording();
  if (st) {
    char msg[300];
    snprintf(msg, sizeof msg, "an in-place write raised an error while tracing (caught by the function): %s",
             ft_last_error());
    ft_trace_fail(msg);
    return st;
  }
  int32_t k = sd < 0 || ss < 0 ? -1 : push_instr(OP_ASSIGN, 2, 0, NULL, top);
  if (k < 0) { ft_trace_fail("out of memory while tracing"); return FT_OK; }
  ft_tr.args[ft_tr.ins[k].args] = sd;
  ft_tr.args[ft_tr.ins[k].args + 1] = ss;
  /* the written value, and constants sharing its storage, now depend on the inputs */
  ft_tr.slots[sd].dynamic = 1;
  const ft_storage *s = ft_base_value(dst)->storage;
  for (int32_t c = 0; c < ft_tr.nconsts; c++)
    if (ft_base_value(ft_tr.consts[c])->storage == s) ft_tr.slots[ft_tr.const_slot[c]].dynamic = 1;
  return FT_OK;
}

void ft_trace_rewrapped(ft_tensor *t, ft_tensor *inner) {
  if (!ft_trace_on) return;
  int32_t s = map_get(t);
  if (s >= 0 && (!hold(inner) || !map_put(inner, s))) ft_trace_fail("out of memory while tracing");
}

/* ---- opening and closing ---------------------------------------------------- */

ft_status ft_trace_begin(void) {
  if (ft_trace_on) return ft_error(FT_ERR_RUNTIME, "compile: a trace is already recording");
  /* Level ids only grow: the next one pushed is the first of the trace's own. */
  int32_t id;
  FT_TRY(ft_level_push(FT_LV_GRAD, 0, 0, &id));
  FT_TRY(ft_level_pop(id));
  ft_tr.depth = 0;
  ft_tr.failed = false;
  ft_tr.failure[0] = 0;
  ft_tr.nslots = ft_tr.nheld = ft_tr.ninputs = ft_tr.nconsts = ft_tr.nins = ft_tr.nargs = ft_tr.nattrs = ft_tr.nouts = 0;
  if (ft_tr.cmap) memset(ft_tr.map, 0, sizeof *ft_tr.map * (size_t)ft_tr.cmap);
  ft_tr.nmap = 0;
  if (ft_tr.cfresh) memset(ft_tr.fresh, 0, sizeof *ft_tr.fresh * (size_t)ft_tr.cfresh);
  ft_tr.nfresh = 0;
  ft_tr.nsnaps = 0;
  ft_trace_boundary = id;
  ft_trace_on = 1;
  update_recording();
  return FT_OK;
}

ft_status ft_trace_input(ft_tensor *t, int32_t *index) {
  if (!ft_trace_on) return ft_error(FT_ERR_RUNTIME, "compile: no trace is recording");
  if (!GROW(ft_tr.inputs, ft_tr.ninputs, ft_tr.cinputs, 1) || !GROW(ft_tr.in_live, ft_tr.ninputs, ft_tr.cin_live, 1) ||
      !GROW(ft_tr.in_meta, ft_tr.ninputs, ft_tr.cin_meta, 1) || !hold(t))
    return ft_error(FT_ERR_OOM, "out of memory while tracing");
  /* An input already seen (the same tensor passed twice) keeps its first slot;
   * this input is still bound on replay, and unused. */
  ft_tensor *b = at_boundary(t);
  int32_t s = map_get(b);
  if (s < 0 || ft_tr.slots[s].kind != SLOT_INPUT) {
    s = new_slot(b, SLOT_INPUT, ft_tr.ninputs, true);
    if (s < 0) return ft_error(FT_ERR_OOM, "out of memory while tracing");
  }
  ft_tr.inputs[ft_tr.ninputs] = s;
  ft_tr.in_meta[ft_tr.ninputs] = t;
  ft_tr.in_live[ft_tr.ninputs] = ft_top_level(t) != 0;
  *index = ft_tr.ninputs++;
  return FT_OK;
}

int32_t ft_trace_holds(const ft_tensor *t) {
  int32_t n = 0;
  for (int32_t i = 0; ft_trace_on && i < ft_tr.nheld; i++) n += ft_tr.held[i] == t;
  return n;
}

int32_t ft_trace_read(ft_tensor *t) {
  if (!ft_trace_on) return -1;
  int32_t s = map_get(at_boundary(t));
  if (s < 0 || !ft_tr.slots[s].dynamic) return -1;
  /* the value as read now: a later in-place write must not change what the
   * replay returns for it (dead, and dropped, unless returned) */
  int32_t k = push_instr(FT_OP_CLONE, 1, 1, NULL, 0);
  int32_t c = k < 0 ? -1 : new_slot(NULL, SLOT_VALUE, k, true);
  if (c < 0) { ft_trace_fail("out of memory while tracing"); return s; }
  ft_tr.args[ft_tr.ins[k].args] = s;
  ft_tr.args[ft_tr.ins[k].args + 1] = c;
  return c;
}

ft_status ft_trace_output_slot(int32_t slot, int32_t *index) {
  if (!ft_trace_on) return ft_error(FT_ERR_RUNTIME, "compile: no trace is recording");
  if (slot < 0 || slot >= ft_tr.nslots) return ft_error(FT_ERR_VALUE, "compile: bad slot %d", (int)slot);
  if (!GROW(ft_tr.outs, ft_tr.nouts, ft_tr.couts, 1)) return ft_error(FT_ERR_OOM, "out of memory while tracing");
  ft_tr.outs[ft_tr.nouts] = slot;
  *index = ft_tr.nouts++;
  return FT_OK;
}

ft_status ft_trace_output(ft_tensor *t, int32_t *index) {
  if (!ft_trace_on) return ft_error(FT_ERR_RUNTIME, "compile: no trace is recording");
  if (t->level >= ft_trace_boundary)
    ft_trace_fail("the function returned a value of a transform it applied (a tensor that escaped its transform)");
  int32_t s = slot_of(t);
  if (s < 0) return ft_error(FT_ERR_OOM, "out of memory while tracing");
  /* made during the trace outside any op (torch.zeros in f): each replay
   * returns a new one, as each eager call does */
  ft_storage *st = ft_base_value(t)->storage;
  if (is_fresh(st)) snapshot(st);
  return ft_trace_output_slot(s, index);
}

ft_status ft_trace_end(bool keep, bool fuse, ft_program **out) {
  *out = NULL;
  if (!ft_trace_on) return ft_error(FT_ERR_RUNTIME, "compile: no trace is recording");
  ft_status st = FT_OK;
  if (keep && ft_tr.failed) st = ft_error(FT_ERR_RUNTIME, "compile: %s", ft_tr.failure);
  else if (keep) st = ft_trace_build(fuse, out);
  for (int32_t i = 0; i < ft_tr.nheld; i++) ft_release(ft_tr.held[i]);
  ft_tr.nheld = 0;
  for (int32_t k = 0; k < ft_tr.nsnaps; k++) free(ft_tr.snaps[k].copy); /* build() took those it uses (NULLed) */
  ft_tr.nsnaps = 0;
  ft_trace_on = 0;
  ft_trace_boundary = INT32_MAX;
  ft_tr.depth = 0;
  update_recording();
  return st;
}

/* ---- signatures --------------------------------------------------------------- */

static uint32_t mix(uint32_t h, uint32_t v) {
  h ^= v + 0x9e3779b9u + (h << 6) + (h >> 2);
  return h;
}

uint32_t ft_trace_level_sig(ft_tensor *const *ts, int n, uint32_t seed) {
  uint32_t h = mix(seed, 0x51ed270bu);
  int depth = ft_level_depth();
  ft_level *base = ft_level_at(0);
  h = mix(h, (uint32_t)depth);
  for (int k = 0; k < depth; k++) {
    const ft_level *lv = ft_level_at(k);
    h = mix(h, (uint32_t)lv->kind * 16u + (lv->disabled > 0 ? 8u : 0u) + (uint32_t)lv->randomness);
  }
  for (int i = 0; i < n; i++) {
    ft_tensor *t = ts[i];
    h = mix(h, 0xa5a5u);
    for (; t->level > 0; t = t->inner) {
      ft_level *lv = ft_level_get(t->level);
      if (lv && !lv->disabled) h = mix(h, (uint32_t)(lv - base) + 1u);
    }
    /* A composite decomposes by its input's strides (reshape is a view or a
     * copy, contiguous() a no-op or a clone): a non-contiguous input's
     * strides are part of what the program was traced for. */
    if (ft_is_contiguous(t)) {
      h = mix(h, 1u);
    } else {
      h = mix(h, 2u);
      for (int d = 0; d < t->ndim; d++) h = mix(mix(h, (uint32_t)t->strides[d]), (uint32_t)(t->strides[d] >> 32));
    }
  }
  return h;
}
