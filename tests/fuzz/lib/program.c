/* The op-program interpreter (fz.h): each step reads an action from the
 * input and performs it through the exports, as some JS program could:
 * create tensors (dims 0..8, sizes 0..3, every dtype), run any op of the
 * op table with inputs from the slots and attributes from the input, take
 * views shaped to make sense for the tensor at hand, write in place, run
 * eager autograd, read data, and (FZ_F_LEVELS) push, use and pop grad, jvp,
 * vmap and functionalize levels in any nest. Calls that break a documented
 * precondition of js/ (a jvp tangent shaped unlike its primal, a vmap input
 * whose batch size differs from the level's) are made too: the C entry
 * points must refuse those with an error, not trust the caller. */
#include "fz.h"
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- ops by name (the op table is walked once) ------------------------------ */

enum {
  V_TRANSPOSE, V_SLICE, V_SELECT, V_EXPAND, V_PERMUTE, V_DIAGONAL, V_UNSQUEEZE, V_SQUEEZE,
  V_RESHAPE, V_VIEW, V_NARROW, V_FLIP, V_MOVEDIM, V_FLATTEN, V_CONTIGUOUS, V_COUNT,
  U_ADD = V_COUNT, U_MUL, U_NEG, U_EXP, U_RAND_LIKE, U_SUM, U_CLONE, U_COUNT
};
static const char *const k_names[U_COUNT] = {
    "transpose", "slice", "select", "expand", "permute", "diagonal", "unsqueeze", "squeeze",
    "reshape",   "view",  "narrow", "flip",   "movedim", "flatten",  "contiguous",
    "add",       "mul",   "neg",    "exp",    "rand_like", "sum",    "clone"};
static int g_op[U_COUNT];
static int g_ops_bound;

static void bind_ops(void) {
  if (g_ops_bound) return;
  int n = ft_api_op_count();
  for (int k = 0; k < U_COUNT; k++) {
    g_op[k] = -1;
    for (int op = 0; op < n; op++)
      if (!strcmp(ft_api_op_name(op), k_names[k])) g_op[k] = op;
  }
  g_ops_bound = 1;
}

/* ---- calls ------------------------------------------------------------------- */

/* Runs op on slots in[0..nin) with the attributes already in the scratch
 * block; takes the outputs into slots. Returns the first output's slot, or -1. */
static int call_op(fz_state *s, int op, const int *in, int nin, int ni, int nf) {
  /* Work bound: the two largest inputs' sizes multiplied stay under 2^32
   * (a 256x256 matmul passes). Sizes are physical: a slot's numel is its
   * logical size, and each vmap level on the stack may add its batch size.
   * An op of two million-element tensors spends the run in arithmetic, not
   * in the logic being fuzzed: a matmul of logical scalars under two vmaps
   * of 1008 was a 1008^3 int32 GEMM that took 21 s under ASan and timed a
   * CI run out. */
  const int64_t cap = (int64_t)1 << 32;
  int64_t batch = 1, big = 0, next = 0;
  for (int l = 0; l < s->nlevels; l++)
    if (s->level[l].kind == 3 && s->level[l].batch > 1) batch = batch > cap / s->level[l].batch ? cap : batch * s->level[l].batch;
  for (int k = 0; k < nin; k++) {
    int64_t n = s->slot[in[k]].numel;
    n = n > cap / batch ? cap : n * batch;
    if (n > big) next = big, big = n;
    else if (n > next) next = n;
  }
  if (next && big > cap / next) return -1;
  for (int k = 0; k < nin; k++) fz_s.in[k] = s->slot[in[k]].h;
  if (fz_trace > 0) {
    fprintf(stderr, "op %s(", ft_api_op_name(op));
    for (int k = 0; k < nin; k++) fprintf(stderr, "%s#%d=h%d", k ? ", " : "", in[k], s->slot[in[k]].h);
    fprintf(stderr, ") i=[");
    for (int k = 0; k < ni; k++) fprintf(stderr, "%s%d", k ? "," : "", fz_s.i[k]);
    fprintf(stderr, "] f=[");
    for (int k = 0; k < nf; k++) fprintf(stderr, "%s%g", k ? "," : "", fz_s.f[k]);
    fprintf(stderr, "]\n");
  }
  fz_clear_error();
  int st = fz_check(ft_api_op(op, nin, ni, nf), ft_api_op_name(op));
  if (st) return -1;
  int nout = ft_api_op_nout(op), first = -1;
  for (int j = 0; j < nout; j++)
    if (!fz_s.out[j]) fz_fail("%s succeeded without output %d", ft_api_op_name(op), j);
  for (int j = 0; j < nout; j++) { /* fz_take calls nothing that writes the scratch block */
    int k = fz_take(s, j);
    if (j == 0) first = k;
  }
  return first;
}

/* Takes out[0] after a call that makes one tensor (factories, wraps, unwraps). */
static int take_one(fz_state *s, int st, const char *what, int may_be_none) {
  if (fz_check(st, what)) return -1;
  if (!fz_s.out[0] && !may_be_none) fz_fail("%s succeeded without a tensor", what);
  return fz_take(s, 0);
}

/* ---- creation ---------------------------------------------------------------- */

static int read_shape(fz_in *in, int32_t *shape) {
  int ndim = (int)fz_below(in, 10); /* 9 is one too many: an error */
  int64_t numel = 1;
  for (int k = 0; k < ndim; k++) {
    unsigned b = fz_u8(in);
    int32_t d = (int32_t)(b % 4);
    if (b >= 250) d = b == 255 ? -1 : b == 254 ? 65536 : (int32_t)(b - 245); /* -1, huge, 5..8 */
    if (d > 0 && numel * d > 256 && b < 250) d = 1;                              /* keep it small */
    shape[k] = d;
    if (d > 0) numel = numel * d > 65536 ? 65536 : numel * d; /* saturates: only compared with 256 */
  }
  return ndim;
}

static void fill(fz_in *in, const fz_slot *t) {
  void *p = ft_api_data_ptr(t->h);
  if (!p) {
    if (t->numel) fz_fail("a new tensor of %lld elements has no data pointer", (long long)t->numel);
    return;
  }
  for (int64_t k = 0; k < t->numel; k++) {
    switch (t->dtype) {
      case 0: ((float *)p)[k] = (float)fz_double(in); break;
      case 1: ((double *)p)[k] = fz_double(in); break;
      case 2: ((int32_t *)p)[k] = fz_int(in); break;
      default: ((uint8_t *)p)[k] = (uint8_t)(fz_u8(in) & 1); break;
    }
    if (fz_done(in)) break;
  }
}

void fz_new_tensor(fz_state *s, fz_in *in) {
  unsigned kind = fz_below(in, 8);
  int dtype = (int)fz_below(in, 5); /* 4: an unknown dtype code */
  int ndim = read_shape(in, fz_s.shape);
  fz_clear_error();
  int st;
  const char *what;
  switch (kind) {
    case 0: case 1: case 2:
      st = ft_api_empty(dtype, ndim), what = "empty";
      if (!fz_check(st, what)) {
        int k = fz_take(s, 0);
        if (k >= 0) fill(in, &s->slot[k]);
      }
      return;
    case 3: st = ft_api_full(dtype, ndim, fz_double(in)), what = "full"; break;
    case 4: st = ft_api_random((int)fz_below(in, 2), dtype, ndim), what = "random"; break;
    case 5: {
      double lo = fz_int(in), hi = fz_int(in);
      st = ft_api_randint(lo, hi, ndim), what = "randint";
      break;
    }
    case 6: {
      double a = fz_int(in), b = fz_int(in), c = fz_double(in);
      if (fz_u8(in) & 1) st = ft_api_arange(a, b, c, dtype), what = "arange";
      else st = ft_api_linspace(a, b, fz_below(in, 9), dtype), what = "linspace";
      break;
    }
    default: st = ft_api_eye(fz_below(in, 5), (double)fz_below(in, 6) - 1, dtype), what = "eye"; break;
  }
  take_one(s, st, what, 0);
}

/* ---- ops from the table, with attributes from the input ------------------------- */

static void random_op(fz_state *s, fz_in *in) {
  int op = (int)fz_below(in, (unsigned)s->op_count);
  int nin = ft_api_op_nin(op);
  if (ft_api_op_flags(op) & (1 << 7)) nin = (int)fz_below(in, (unsigned)nin + 3); /* FT_F_VARIADIC */
  else if (fz_u8(in) == 0xA5) nin = (int)fz_below(in, 4);                       /* a wrong count */
  int ins[8];
  for (int k = 0; k < nin; k++) {
    ins[k] = fz_pick(s, in);
    if (ins[k] < 0) return;
  }
  int ni = (int)fz_below(in, 10);
  if (ni == 9) ni = (int)fz_below(in, (unsigned)fz_s.max_attr_i + 1);
  for (int k = 0; k < ni; k++) fz_s.i[k] = fz_int(in);
  int nf = (int)fz_below(in, 5);
  for (int k = 0; k < nf; k++) fz_s.f[k] = fz_double(in);
  call_op(s, op, ins, nin, ni, nf);
}

/* A dim of t (sometimes out of range, sometimes negative). */
static int32_t a_dim(fz_in *in, const fz_slot *t) {
  unsigned b = fz_u8(in);
  int32_t n = t->ndim ? t->ndim : 1;
  if (b >= 240) return fz_int(in);
  return (int32_t)(b % (unsigned)(2 * n)) - n;
}

/* A view of slot k with attributes made for its shape. */
static void view_op(fz_state *s, fz_in *in, int k) {
  const fz_slot *t = &s->slot[k];
  int v = (int)fz_below(in, V_COUNT), ni = 0;
  int32_t *a = fz_s.i;
  switch (v) {
    case V_TRANSPOSE: a[0] = a_dim(in, t), a[1] = a_dim(in, t), ni = 2; break;
    case V_SLICE: a[0] = a_dim(in, t), a[1] = fz_int(in), a[2] = fz_int(in), a[3] = fz_int(in), ni = 4; break;
    case V_SELECT: a[0] = a_dim(in, t), a[1] = fz_int(in), ni = 2; break;
    case V_NARROW: a[0] = a_dim(in, t), a[1] = fz_int(in), a[2] = (int32_t)fz_below(in, 4), ni = 3; break;
    case V_DIAGONAL: a[0] = fz_int(in), a[1] = a_dim(in, t), a[2] = a_dim(in, t), ni = 3; break;
    case V_UNSQUEEZE: a[0] = a_dim(in, t), ni = 1; break;
    case V_FLATTEN: a[0] = a_dim(in, t), a[1] = a_dim(in, t), ni = 2; break;
    case V_EXPAND: { /* new leading dims, -1 keeps, 1s broadcast */
      int lead = (int)fz_below(in, 3);
      for (int d = 0; d < lead; d++) a[ni++] = (int32_t)fz_below(in, 4);
      for (int d = 0; d < t->ndim && ni < 24; d++) {
        unsigned b = fz_below(in, 4);
        a[ni++] = b == 0 ? -1 : t->shape[d] == 1 && b == 3 ? (int32_t)fz_below(in, 4) : t->shape[d];
      }
      break;
    }
    case V_PERMUTE: case V_FLIP: case V_SQUEEZE: { /* a shuffled list of dims */
      int n = v == V_PERMUTE ? t->ndim : (int)fz_below(in, (unsigned)t->ndim + 1);
      for (int d = 0; d < t->ndim; d++) a[d] = d;
      for (int d = t->ndim - 1; d > 0; d--) {
        int j = (int)fz_below(in, (unsigned)d + 1);
        int32_t x = a[d]; a[d] = a[j]; a[j] = x;
      }
      if (fz_u8(in) == 0x5A && n > 0) a[0] = fz_int(in); /* now and then a bad one */
      ni = n;
      break;
    }
    case V_RESHAPE: case V_VIEW: { /* regroup the elements, one -1 allowed */
      int64_t left = t->numel;
      int nd = (int)fz_below(in, 5);
      for (int d = 0; d < nd; d++) {
        int32_t x = (int32_t)fz_below(in, 4);
        a[ni++] = (x == 0 && left) ? -1 : x;
      }
      if (fz_u8(in) & 1) a[ni++] = (int32_t)left;
      break;
    }
    case V_MOVEDIM: {
      int n = (int)fz_below(in, 3);
      a[ni++] = n;
      for (int d = 0; d < 2 * n; d++) a[ni++] = a_dim(in, t);
      break;
    }
    default: break; /* CONTIGUOUS: no attributes */
  }
  if (g_op[v] < 0) return;
  call_op(s, g_op[v], &k, 1, ni, 0);
}

/* x.op_(...) as js/ops does it: the out-of-place op, then assign. */
static void inplace_op(fz_state *s, fz_in *in) {
  int dst = fz_pick(s, in);
  if (dst < 0) return;
  int32_t dh = s->slot[dst].h;
  unsigned kind = fz_below(in, 6);
  int r = -1;
  if (kind == 0) { /* copy_(src): any other tensor, broadcast and cast */
    int src = fz_pick(s, in);
    if (src < 0) return;
    fz_clear_error();
    fz_check(ft_api_assign(dh, s->slot[src].h), "assign");
    return;
  }
  int ins[2] = {dst, fz_pick(s, in)};
  int u = kind == 1 ? U_ADD : kind == 2 ? U_MUL : kind == 3 ? U_NEG : kind == 4 ? U_EXP : U_RAND_LIKE;
  if (g_op[u] < 0) return;
  int nin = ft_api_op_nin(g_op[u]);
  if (nin == 2 && ins[1] < 0) return;
  int ni = 0;
  if (u == U_RAND_LIKE) fz_s.i[0] = 1, ni = 1; /* uniform_ */
  r = call_op(s, g_op[u], ins, nin, ni, 0);
  if (r < 0 || !s->slot[dst].h || s->slot[dst].h != dh) { /* evicted by the take */
    fz_drop(s, r);
    return;
  }
  fz_clear_error();
  if (fz_trace > 0) fprintf(stderr, "assign h%d <- h%d\n", dh, s->slot[r].h);
  fz_check(ft_api_assign(dh, s->slot[r].h), "assign");
  fz_drop(s, r);
}

/* Reads every element as JS's toTypedArray does (data_ptr, else materialize). */
static void read_data(fz_state *s, int k) {
  const fz_slot *t = &s->slot[k];
  int32_t tmp = 0, h = t->h;
  const uint8_t *p = ft_api_data_ptr(h);
  if (!p) {
    fz_clear_error();
    if (fz_check(ft_api_materialize(h), "materialize")) return;
    tmp = fz_s.out[0];
    p = ft_api_data_ptr(tmp);
    if (!p && t->numel) fz_fail("materialize gave a tensor without a data pointer");
  }
  static const int size[] = {4, 8, 4, 1};
  volatile uint8_t acc = 0;
  for (int64_t b = 0; b < t->numel * size[t->dtype]; b++) acc ^= p[b];
  (void)acc;
  if (tmp) ft_api_release(tmp);
}

/* ---- eager autograd -------------------------------------------------------------- */

static void autograd_action(fz_state *s, fz_in *in) {
  int k = fz_pick(s, in);
  if (k < 0) return;
  int32_t h = s->slot[k].h;
  fz_clear_error();
  switch (fz_below(in, 7)) {
    case 0: {
      int flag = (int)(fz_u8(in) & 1) ^ 1;
      if (fz_trace > 0) fprintf(stderr, "requiresGrad_ h%d %d\n", h, flag);
      fz_check(ft_api_requires_grad_(h, flag), "requiresGrad_");
      break;
    }
    case 1: { /* backward(gradient?) on one or two roots */
      int n = 1 + (int)fz_below(in, 2);
      for (int r = 0; r < n; r++) {
        int root = r == 0 ? k : fz_pick(s, in);
        int g = (fz_u8(in) & 1) ? fz_pick(s, in) : -1;
        fz_s.in[r] = s->slot[root].h;
        fz_s.in[n + r] = g >= 0 ? s->slot[g].h : 0;
      }
      unsigned f = fz_u8(in);
      if (fz_trace > 0)
        fprintf(stderr, "backward roots h%d h%d grads h%d h%d retain %u create %u\n", fz_s.in[0], n > 1 ? fz_s.in[1] : 0,
                fz_s.in[n], n > 1 ? fz_s.in[n + 1] : 0, f & 1, f >> 1 & 1);
      fz_check(ft_api_backward(n, (int)(f & 1), (int)(f >> 1 & 1)), "backward");
      break;
    }
    case 2: take_one(s, ft_api_get_grad(h), "grad", 1); break;
    case 3: { /* x.grad = g, on leaves (PyTorch warns on others) */
      int g = (fz_u8(in) & 1) ? fz_pick(s, in) : -1;
      if ((ft_api_grad_flags(h) & 5) == 5) fz_check(ft_api_set_grad(h, g >= 0 ? s->slot[g].h : 0), "set grad");
      break;
    }
    case 4: { /* the getters a Tensor's properties call */
      volatile int sink = ft_api_grad_flags(h) + ft_api_is_concrete(h) + (ft_api_version(h) >= 0);
      const char *name = ft_api_grad_fn_name(h);
      sink += (int)strlen(name);
      (void)sink;
      fz_check(ft_api_info(h), "info");
      break;
    }
    case 5: /* noGrad(() => ...): entered here, exited in LIFO order later or at the end */
      if (s->nnograd < FZ_MAX_NOGRAD) s->nograd[s->nnograd++] = ft_api_no_grad_enter();
      break;
    default:
      if (s->nnograd) ft_api_no_grad_exit(s->nograd[--s->nnograd]);
      break;
  }
}

/* A tensor shared by a second owner (module.js aliasing a parameter). */
static void alias(fz_state *s, fz_in *in) {
  int k = fz_pick(s, in);
  if (k < 0) return;
  fz_clear_error();
  if (fz_check(ft_api_retain(s->slot[k].h), "retain")) return;
  fz_s.out[0] = s->slot[k].h;
  fz_check(ft_api_info(s->slot[k].h), "info");
  fz_take(s, 0);
}

/* ---- levels ------------------------------------------------------------------------- */

static fz_level *top_level(fz_state *s) { return s->nlevels ? &s->level[s->nlevels - 1] : NULL; }

static void push_level(fz_state *s, fz_in *in) {
  if (s->nlevels == FZ_MAX_LEVELS) return;
  int kind = 1 + (int)fz_below(in, 4);
  if (fz_trace > 0) fprintf(stderr, "push kind %d\n", kind);
  int32_t batch = 0;
  fz_clear_error();
  int st;
  if (kind == 4) {
    st = fz_check(ft_api_func_push(), "func push");
  } else {
    if (kind == 3) { /* a batch size some slot can be mapped over */
      int k = fz_pick(s, in);
      batch = k >= 0 && s->slot[k].ndim ? s->slot[k].shape[fz_below(in, (unsigned)s->slot[k].ndim)]
                                        : (int32_t)fz_below(in, 4);
    }
    st = fz_check(ft_api_level_push(kind, batch, (int)fz_below(in, 3)), "level push");
  }
  if (st) return;
  fz_level *lv = &s->level[s->nlevels++];
  lv->id = fz_s.out[0];
  lv->kind = kind;
  lv->batch = batch;
}

static void pop_level(fz_state *s, fz_in *in) {
  if (!s->nlevels) return;
  int pick = (fz_u8(in) == 0x3C) ? (int)fz_below(in, (unsigned)s->nlevels) : s->nlevels - 1;
  fz_level *lv = &s->level[pick];
  fz_clear_error();
  int st = fz_check(lv->kind == 4 ? ft_api_func_pop(lv->id) : ft_api_level_pop(lv->id), "level pop");
  if (pick != s->nlevels - 1) {
    if (!st) fz_fail("popping level %d, which is not the innermost, succeeded", lv->id);
    return;
  }
  if (st) fz_fail("popping the innermost level %d failed: %s", lv->id, ft_api_last_error());
  s->nlevels--;
}

/* Wraps a slot at the innermost level, as a transform wraps its inputs. */
static void wrap(fz_state *s, fz_in *in) {
  fz_level *lv = top_level(s);
  int k = fz_pick(s, in);
  if (!lv || k < 0) return;
  const fz_slot *t = &s->slot[k];
  int broken = fz_u8(in) == 0xC3; /* break js/'s precondition */
  if (fz_trace > 0) fprintf(stderr, "wrap h%d at level %d (kind %d)\n", t->h, lv->id, lv->kind);
  fz_clear_error();
  switch (lv->kind) {
    case 1: take_one(s, ft_api_grad_wrap(lv->id, t->h), "grad wrap", 0); break;
    case 2: {
      int tg = broken ? fz_pick(s, in) : (fz_u8(in) & 1) ? fz_pick_like(s, in, k) : -1;
      take_one(s, ft_api_jvp_wrap(lv->id, t->h, tg >= 0 ? s->slot[tg].h : 0), "jvp wrap", 0);
      break;
    }
    case 3: {
      int bdim = -1;
      for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] == lv->batch) bdim = d;
      if (broken) bdim = (int)fz_below(in, (unsigned)t->ndim + 2) - 1;
      if (bdim < 0 && !broken) return;
      take_one(s, ft_api_vmap_wrap(lv->id, t->h, bdim), "vmap wrap", 0);
      break;
    }
    default: take_one(s, ft_api_func_wrap(lv->id, t->h), "func wrap", 0); break;
  }
}

static bool is_live(const fz_state *s, int id) {
  for (int k = 0; k < s->nlevels; k++)
    if (s->level[k].id == id) return true;
  return false;
}

static void pop_top(fz_state *s) {
  fz_level *lv = &s->level[s->nlevels - 1];
  fz_clear_error();
  if (fz_check(lv->kind == 4 ? ft_api_func_pop(lv->id) : ft_api_level_pop(lv->id), "level pop"))
    fz_fail("popping the innermost level %d failed: %s", lv->id, ft_api_last_error());
  s->nlevels--;
}

/* The calls a transform makes on its outputs. js/ reads them (unwrap,
 * tangent, batch dim, functionalize's sync) when the transform finishes,
 * right before it pops the level: the value under a wrapper of a live level
 * never reaches user code, which could otherwise write into a struct that a
 * live wrapper holds. So a read at the innermost live level ends with its
 * pop, and older ids are read only once their level is gone. Reverse passes
 * and leaf gradients come at any time, live or popped (vjp's vjpFn runs
 * after the pop). */
static void unwrap(fz_state *s, fz_in *in) {
  int k = fz_pick(s, in);
  if (k < 0) return;
  int32_t h = s->slot[k].h;
  fz_level *lv = top_level(s);
  int id, kind;
  int32_t batch = 0;
  if (lv && (fz_u8(in) & 3)) {
    id = lv->id, kind = lv->kind, batch = lv->batch;
  } else {
    id = 2 + (int)fz_below(in, 16), kind = 1 + (int)fz_below(in, 4), batch = (int32_t)fz_below(in, 4);
    if (is_live(s, id)) return;
    lv = NULL;
  }
  bool reads = true; /* a read of the value: the transform ends here */
  fz_clear_error();
  switch (kind * 4 + (int)fz_below(in, 4)) {
    case 4: case 8: case 9: case 14: case 15: take_one(s, ft_api_unwrap(id, h), "unwrap", 0); break;
    case 5: take_one(s, ft_api_leaf_grad(id, h), "leaf grad", 1), reads = false; break;
    case 6: take_one(s, ft_api_leaf_grad_take(id, h), "leaf grad take", 1), reads = false; break;
    case 7: { /* vjp: the reverse pass from this output, cotangent like it or ones */
      int c = (fz_u8(in) & 1) ? fz_pick_like(s, in, k) : -1;
      if (fz_u8(in) == 0x99) c = fz_pick(s, in); /* any cotangent */
      (void)ft_api_grad_tracked(id, h);
      if (fz_trace > 0) fprintf(stderr, "backward level %d root h%d cot h%d\n", id, h, c >= 0 ? s->slot[c].h : 0);
      fz_s.in[0] = h;
      fz_s.in[1] = c >= 0 ? s->slot[c].h : 0;
      fz_check(ft_api_backward_level(id, 1, (int)(fz_u8(in) & 1), 0), "backward level"); /* js/ never creates a graph here */
      reads = false;
      break;
    }
    case 10: case 11: take_one(s, ft_api_jvp_tangent(id, h), "jvp tangent", 1); break;
    case 12: case 13: {
      (void)ft_api_vmap_bdim(id, h);
      int out_dim = (int)fz_below(in, 4) - 1;
      take_one(s, ft_api_vmap_unwrap(id, h, out_dim, batch), "vmap unwrap", 0);
      break;
    }
    default: take_one(s, ft_api_func_sync_unwrap(id, h, (int)(fz_u8(in) & 1)), "func sync unwrap", 0); break;
  }
  if (reads && lv) pop_top(s);
}

/* functionalize's last step: the final value of an input wrapper into the
 * caller's tensor. */
static void propagate(fz_state *s, fz_in *in) {
  fz_level *lv = top_level(s);
  int w = fz_pick(s, in), x = fz_pick(s, in);
  if (!lv || lv->kind != 4 || w < 0 || x < 0) return;
  fz_clear_error();
  fz_check(ft_api_func_propagate(lv->id, s->slot[w].h, s->slot[x].h), "func propagate");
}

/* ---- one step ------------------------------------------------------------------------ */

void fz_step(fz_state *s, fz_in *in, unsigned features) {
  bind_ops();
  unsigned a = fz_u8(in);
  if (features & FZ_F_LEVELS) {
    switch (a % 16) {
      case 0: push_level(s, in); return;
      case 1: pop_level(s, in); return;
      case 2: case 3: wrap(s, in); return;
      case 4: case 5: unwrap(s, in); return;
      case 6: propagate(s, in); return;
      default: a = fz_u8(in); break; /* an op step, under whatever levels are live */
    }
  }
  if (!(features & FZ_F_OPS)) return;
  switch (a % 12) {
    case 0: case 1: fz_new_tensor(s, in); break;
    case 2: case 3: case 4: random_op(s, in); break;
    case 5: case 6: {
      int k = fz_pick(s, in);
      if (k >= 0) view_op(s, in, k);
      break;
    }
    case 7: inplace_op(s, in); break;
    case 8: autograd_action(s, in); break;
    case 9: {
      int k = fz_pick(s, in);
      if (k >= 0) read_data(s, k);
      break;
    }
    case 10: alias(s, in); break;
    default: fz_drop(s, fz_pick(s, in)); break;
  }
}
