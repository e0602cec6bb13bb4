/* Fuzz target: func.compile's tracer, program builder and replay
 * (src/interp/trace.c, trace_program.c, trace_fuse.c), driven through the
 * exports exactly as js/func/compile.js drives them.
 *
 * An input becomes a straight-line function f: 1..3 inputs (float32 or
 * float64, now and then int32; 0..4 dims of small sizes, shaped to
 * broadcast with each other; an input may be passed twice) and 0..2
 * tensors f closes over (captured constants), any of them requiring grad,
 * then up to MAX_STEPS steps: elementwise unary and binary ops (chains of
 * them, the fusion's prey), numbers made 0-d tensors, views (transpose,
 * slice, expand, unsqueeze, permute, reshape, select, diagonal, squeeze,
 * contiguous), matmul, reductions, softmax, clamp, casts, random ops and
 * factories, where, in-place writes as js/ops makes them (op, then assign,
 * then dispose) into intermediates, views, inputs and constants, tensors f
 * makes itself, disposes, and reads into JavaScript (returned, as compile
 * requires of a read). Some values are returned.
 *
 * f runs eagerly on inputs A, decoding the input as it goes (a step whose
 * op fails is dropped, so later runs must not fail), then inside a trace on
 * a copy of A; the program (fused or not, from the input) is replayed on a
 * copy of A, on fresh inputs B (which f also runs on eagerly), and (half
 * the time) on A again. Each input is laid out contiguous, at an offset, transposed or
 * strided, and B's layout may differ from A's within the same contiguity
 * (the signature keys contiguity), which exercises the fusion's one-by-one
 * fallback; f on B may then fail where it did not on A (a reshape that is a
 * view for one layout and a copy for another), and its replay must fail
 * alike. After each call the caller may run sum(first output).backward()
 * and read the leaves' .grad, then write into what the call returned.
 * Everything a call produced (returned values, values read, the inputs' and
 * constants' final contents, backward's status and the gradients) must be
 * bit-identical to the eager call's on the same inputs, NaNs by bit
 * pattern: fusion claims bit-identical results. Constants are reset and the
 * random generator reseeded before each call, so every call starts from
 * the same state. The work is bounded (tensors of at most MAX_NUMEL
 * elements, a matmul's operands multiply to at most 2^22); fz_end checks
 * that nothing leaked. */
#include "fz.h"
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The five bugs this target found are fixed (tests/fuzz/README.md), and
 * their guards (scribble_ok, lifts, reshapes_history, writable) let every
 * such program through; FZ_COMPILE_KNOWN_BUGS=1 is kept for the next one. FZ_COMPILE_MIX_CONTIGUITY=1 lets B's inputs change
 * contiguity against the trace's, which compile's signature never lets a
 * replay see (contiguous() of a non-contiguous input is traced as a clone,
 * which cannot alias a contiguous one). */
static int g_known_bugs = -1, g_mix_contiguity = -1;

static void read_env(void) {
  if (g_known_bugs >= 0) return;
  const char *a = getenv("FZ_COMPILE_KNOWN_BUGS"), *b = getenv("FZ_COMPILE_MIX_CONTIGUITY");
  g_known_bugs = a && a[0] == '1';
  g_mix_contiguity = b && b[0] == '1';
}

#define MAX_IN 3
#define MAX_CONST 2
#define MAX_STEPS 40 /* counting the steps an in-place op or a matmul adds */
#define MAX_VALS (MAX_IN + MAX_CONST + MAX_STEPS)
#define MAX_OUTS 6
#define MAX_READS 3
#define MAX_NUMEL 8192
#define MAXD 16

/* ---- ops by name ---------------------------------------------------------------- */

enum {
  O_NEG, O_EXP, O_LOG, O_LOG1P, O_EXPM1, O_SQRT, O_RSQRT, O_ABS, O_SIGN, O_SIN, O_COS, O_TANH, O_SIGMOID,
  O_RELU, O_SQUARE, O_RECIPROCAL, O_ERF, /* the fusible unary ops */
  O_ADD, O_SUB, O_MUL, O_DIV, O_MAXIMUM, O_MINIMUM, O_POW, /* binary (POW is not fusible) */
  O_TRANSPOSE, O_SLICE, O_EXPAND, O_UNSQUEEZE, O_PERMUTE, O_RESHAPE, O_SELECT, O_CONTIGUOUS, O_DIAGONAL, O_SQUEEZE,
  O_MATMUL, O_SUM, O_MEAN, O_SOFTMAX, O_CLAMP, O_POW_SCALAR, O_CAST, O_CLONE, O_DETACH, O_RAND_LIKE,
  O_RANDN_LIKE, O_GT, O_WHERE, O_COUNT
};
#define N_UNARY (O_ERF + 1)
static const char *const k_names[O_COUNT] = {
    "neg", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "abs", "sign", "sin", "cos", "tanh", "sigmoid",
    "relu", "square", "reciprocal", "erf", "add", "sub", "mul", "div", "maximum", "minimum", "pow",
    "transpose", "slice", "expand", "unsqueeze", "permute", "reshape", "select", "contiguous", "diagonal", "squeeze",
    "matmul", "sum", "mean", "softmax", "clamp", "pow_scalar", "cast", "clone", "detach", "rand_like",
    "randn_like", "gt", "where"};
static int g_op[O_COUNT];

static void bind_ops(void) {
  static bool bound;
  if (bound) return;
  int n = ft_api_op_count();
  for (int k = 0; k < O_COUNT; k++) {
    g_op[k] = -1;
    for (int op = 0; op < n; op++)
      if (!strcmp(ft_api_op_name(op), k_names[k])) g_op[k] = op;
    /* every step makes at most one value: a renamed op would silently shrink the search */
    if (g_op[k] < 0 || ft_api_op_nout(g_op[k]) != 1) fz_fail("op %s is missing or has several outputs", k_names[k]);
  }
  bound = true;
}

/* ---- the function: values and steps ----------------------------------------------- */

typedef struct vmeta {
  int32_t dtype, ndim;
  int32_t shape[MAXD];
  int64_t numel;
} vmeta;

enum { K_OP, K_ASSIGN, K_FULL, K_DATA, K_RANDOM, K_DROP, K_READ };

typedef struct step {
  uint8_t kind;
  int32_t op, nin, ni, nf;
  int32_t in[3]; /* values read: an op's inputs; K_ASSIGN: dst, src; K_DROP, K_READ: in[0] */
  int32_t i[MAXD + 2];
  double f[2];
  int32_t out;   /* the value made (K_OP, K_FULL, K_DATA, K_RANDOM), or the read's index (K_READ) */
  vmeta m;       /* K_FULL, K_DATA, K_RANDOM: the new tensor */
  double value;  /* K_FULL; K_RANDOM: 0 rand, 1 randn, 2 randint(f[0], f[1]) */
  uint32_t seed; /* K_DATA: its contents */
} step;

typedef struct cprog {
  int nin, nconst, nv, nsteps, nouts, nreads;
  vmeta v[MAX_VALS]; /* inputs, then constants, then what the steps make */
  step s[MAX_STEPS];
  int32_t family[MAX_VALS];   /* values that may share a storage have the same family (views, aliases) */
  bool family_read[MAX_VALS]; /* a value of the family was read into JavaScript */
  bool made_by_f[MAX_VALS];   /* made outside ops (full, a literal): compile snapshots or shares it */
  int32_t outs[MAX_OUTS];     /* values returned */
  uint8_t out_sel[MAX_OUTS];  /* which, chosen from the input's header */
  int32_t read_of[MAX_READS]; /* the value each read read */
  int32_t read_out[MAX_READS]; /* its program output (-1: a constant's data, not registered) */
  int8_t layout_a[MAX_IN], layout_b[MAX_IN], alias[MAX_IN]; /* alias: an earlier input passed again, or -1 */
  bool contig_a[MAX_IN];
  uint32_t seed_a, seed_b, seed_c;
  bool fuse;
  bool rg[MAX_IN + MAX_CONST]; /* requiresGrad_: ops on it are recorded at the eager grad level, replayed dispatched */
  bool backward;         /* after each call, sum(first output).backward(); the leaves' .grad are compared */
  bool scribble;         /* the caller writes into what each call returned */
  double scribble_value;
  int32_t hc[MAX_CONST]; /* the captured constants (made once, reset before each run) */
} cprog;

typedef struct blob {
  uint8_t *p;
  size_t n;
} blob;

/* What one run produced. */
typedef struct result {
  blob out[MAX_OUTS], read[MAX_READS], in[MAX_IN], cst[MAX_CONST];
  blob grad[MAX_IN + MAX_CONST]; /* .grad after the backward pass (n 0, p NULL: none) */
  int backward_status;
  int status; /* a tolerant run's: f (or the replay) failed with it */
  bool have_read[MAX_READS];
  int32_t read_slot[MAX_READS]; /* the trace's run: ft_api_trace_read */
} result;

static cprog g_p;

static const char *dtype_name(int dt) { return dt == 0 ? "f32" : dt == 1 ? "f64" : dt == 2 ? "i32" : "bool"; }
static size_t esize(int dt) { return dt == 1 ? 8 : dt == 3 ? 1 : 4; }

static void print_meta(const vmeta *m) {
  fprintf(stderr, "%s[", dtype_name(m->dtype));
  for (int d = 0; d < m->ndim; d++) fprintf(stderr, "%s%d", d ? "," : "", m->shape[d]);
  fprintf(stderr, "]");
}

static void print_step(const cprog *P, int k) {
  const step *S = &P->s[k];
  fprintf(stderr, "  #%d ", k);
  switch (S->kind) {
    case K_OP:
      fprintf(stderr, "v%d = %s(", S->out, k_names[S->op]);
      for (int j = 0; j < S->nin; j++) fprintf(stderr, "%sv%d", j ? ", " : "", S->in[j]);
      fprintf(stderr, ") i=[");
      for (int j = 0; j < S->ni; j++) fprintf(stderr, "%s%d", j ? "," : "", S->i[j]);
      fprintf(stderr, "] f=[");
      for (int j = 0; j < S->nf; j++) fprintf(stderr, "%s%g", j ? "," : "", S->f[j]);
      fprintf(stderr, "] -> ");
      print_meta(&P->v[S->out]);
      break;
    case K_ASSIGN: fprintf(stderr, "v%d.copy_(v%d)", S->in[0], S->in[1]); break;
    case K_FULL: fprintf(stderr, "v%d = full(%g) ", S->out, S->value), print_meta(&S->m); break;
    case K_DATA: fprintf(stderr, "v%d = tensor(data %08x) ", S->out, S->seed), print_meta(&S->m); break;
    case K_RANDOM:
      fprintf(stderr, "v%d = %s(%g, %g) ", S->out, S->value == 0 ? "rand" : S->value == 1 ? "randn" : "randint",
              S->f[0], S->f[1]);
      print_meta(&S->m);
      break;
    case K_DROP: fprintf(stderr, "v%d.dispose()", S->in[0]); break;
    default: fprintf(stderr, "read %d = v%d.toTypedArray()", S->out, S->in[0]); break;
  }
  fprintf(stderr, "\n");
}

static void print_program(const cprog *P) {
  fprintf(stderr, "function (fuse %d):", P->fuse);
  for (int k = 0; k < P->nin; k++) {
    fprintf(stderr, " v%d=", k);
    print_meta(&P->v[k]);
    if (P->rg[k]) fprintf(stderr, "(requires grad)");
    if (P->alias[k] >= 0) fprintf(stderr, "(=v%d)", P->alias[k]);
    fprintf(stderr, "{layout %d/%d}", P->layout_a[k], P->layout_b[k]);
  }
  for (int c = 0; c < P->nconst; c++) {
    fprintf(stderr, " const v%d=", P->nin + c);
    print_meta(&P->v[P->nin + c]);
    if (P->rg[P->nin + c]) fprintf(stderr, "(requires grad)");
  }
  if (P->backward) fprintf(stderr, " (then sum(output 0).backward())");
  if (P->scribble) fprintf(stderr, " (then output.fill_(%g))", P->scribble_value);
  fprintf(stderr, "\n");
  for (int k = 0; k < P->nsteps; k++) print_step(P, k);
  fprintf(stderr, "  return");
  for (int j = 0; j < P->nouts; j++) fprintf(stderr, " v%d", P->outs[j]);
  for (int j = 0; j < P->nreads; j++) fprintf(stderr, " read%d", j);
  fprintf(stderr, "\n");
}

/* ---- data ------------------------------------------------------------------------- */

static uint32_t xs(uint32_t *x) {
  uint32_t v = *x ? *x : 0x9e3779b9u;
  v ^= v << 13;
  v ^= v >> 17;
  v ^= v << 5;
  return *x = v;
}

/* Mostly ordinary numbers in [-4, 4) with a 24-bit fraction, now and then a
 * special one (zeros of both signs, NaNs of both signs, infinities, values
 * where exp overflows, float32 subnormals and float64 ones). */
static double a_value(uint32_t *x) {
  static const double special[] = {0.0, -0.0, 1.0, -1.0, NAN, -NAN, INFINITY, -INFINITY, 1e-40, 1e30, 88.8, -1e-310,
                                   0.5, 1e-8, 709.9, -88.8};
  uint32_t r = xs(x);
  if ((r & 15) == 0) return special[(r >> 4) % (sizeof special / sizeof special[0])];
  return (double)(r >> 8) / (double)(1u << 24) * 8.0 - 4.0;
}

static uint32_t mix_seed(uint32_t seed, uint32_t k) { return (seed ^ (k * 0x9e3779b9u)) | 1u; }

/* Writes numel values of m's dtype from `seed` into h's (contiguous) data. */
static void fill(int32_t h, const vmeta *m, uint32_t seed) {
  uint8_t *p = ft_api_data_ptr(h);
  if (!p) {
    if (m->numel) fz_fail("a new contiguous tensor of %lld elements has no data pointer", (long long)m->numel);
    return;
  }
  uint32_t x = seed;
  for (int64_t k = 0; k < m->numel; k++) {
    double v = a_value(&x);
    switch (m->dtype) {
      case 0: ((float *)p)[k] = (float)v; break;
      case 1: ((double *)p)[k] = v; break;
      case 2: ((int32_t *)p)[k] = fabs(v) <= 8 ? (int32_t)(v * 2) : -7; break; /* in range: the cast is defined */
      default: p[k] = (uint8_t)(v > 0); break;
    }
  }
}

/* out[0] of the last call, with its meta. */
static int32_t take(vmeta *m) {
  int32_t h = fz_s.out[0];
  if (!h) fz_fail("a call succeeded without a tensor");
  const int32_t *q = fz_s.meta;
  if (q[0] < 0 || q[0] > 3 || q[1] < 0 || q[1] > MAXD) fz_fail("bad meta: dtype %d, ndim %d", q[0], q[1]);
  memset(m, 0, sizeof *m);
  m->dtype = q[0];
  m->ndim = q[1];
  m->numel = 1;
  for (int d = 0; d < m->ndim; d++) {
    if (q[2 + d] < 0) fz_fail("a negative size %d in dim %d", q[2 + d], d);
    m->shape[d] = q[2 + d];
    m->numel *= q[2 + d];
  }
  return h;
}

static bool same_meta(const vmeta *a, const vmeta *b) {
  return a->dtype == b->dtype && a->ndim == b->ndim && !memcmp(a->shape, b->shape, sizeof(int32_t) * (size_t)a->ndim);
}

/* A new contiguous tensor of m with contents from seed. */
static int32_t new_tensor(const vmeta *m, uint32_t seed) {
  for (int d = 0; d < m->ndim; d++) fz_s.shape[d] = m->shape[d];
  fz_clear_error();
  if (fz_check(ft_api_empty(m->dtype, m->ndim), "empty")) fz_fail("empty failed: %s", ft_api_last_error());
  vmeta got;
  int32_t h = take(&got);
  if (!same_meta(&got, m)) fz_fail("empty made another shape");
  fill(h, m, seed);
  return h;
}

static int32_t op1(int o, int32_t h, const int32_t *attr, int ni) {
  fz_s.in[0] = h;
  for (int k = 0; k < ni; k++) fz_s.i[k] = attr[k];
  fz_clear_error();
  if (fz_check(ft_api_op(g_op[o], 1, ni, 0), k_names[o]))
    fz_fail("%s (making a layout) failed: %s", k_names[o], ft_api_last_error());
  vmeta m;
  return take(&m);
}

/* Input k's tensor for a run: the values from seed, laid out as `layout`
 * says: 0 contiguous, 1 contiguous at an offset (a slice of a bigger
 * tensor), 2 transposed (a permutation of a tensor of the reversed shape),
 * 3 strided (every other element of the last dim). The values are written
 * through the view with assign, outside any trace. */
static int32_t make_input(const vmeta *m, uint32_t seed, int layout) {
  int32_t c = new_tensor(m, seed);
  if (layout == 0 || m->ndim == 0 || (layout == 2 && m->ndim < 2)) return c;
  vmeta b = *m;
  int32_t attr[MAXD], ni = 0, o;
  if (layout == 1) {
    b.shape[0] += 1;
    attr[0] = 0, attr[1] = 1, attr[2] = b.shape[0], attr[3] = 1, ni = 4, o = O_SLICE;
  } else if (layout == 2) {
    for (int d = 0; d < m->ndim; d++) b.shape[d] = m->shape[m->ndim - 1 - d], attr[d] = m->ndim - 1 - d;
    ni = m->ndim, o = O_PERMUTE;
  } else {
    b.shape[m->ndim - 1] *= 2;
    attr[0] = m->ndim - 1, attr[1] = 0, attr[2] = b.shape[m->ndim - 1], attr[3] = 2, ni = 4, o = O_SLICE;
  }
  b.numel = 1;
  for (int d = 0; d < b.ndim; d++) b.numel *= b.shape[d];
  int32_t base = new_tensor(&b, seed ^ 0x5555u); /* garbage around the view */
  int32_t v = op1(o, base, attr, ni);
  ft_api_release(base);
  fz_clear_error();
  if (fz_check(ft_api_assign(v, c), "assign")) fz_fail("writing a layout failed: %s", ft_api_last_error());
  ft_api_release(c);
  fz_clear_error();
  if (fz_check(ft_api_info(v), "info")) fz_fail("info failed");
  vmeta got;
  fz_s.out[0] = v;
  take(&got);
  if (!same_meta(&got, m)) fz_fail("layout %d made another shape", layout);
  return v;
}

/* The logical contents of h (data_ptr, else materialize: what JS reads). */
static blob read_blob(int32_t h, const vmeta *expect) {
  fz_clear_error();
  if (fz_check(ft_api_info(h), "info")) fz_fail("info of a live tensor failed");
  vmeta m;
  fz_s.out[0] = h;
  take(&m);
  if (expect && !same_meta(&m, expect)) {
    print_program(&g_p);
    fprintf(stderr, "got ");
    print_meta(&m);
    fprintf(stderr, ", expected ");
    print_meta(expect);
    fz_fail("a value has another dtype or shape than in the eager run");
  }
  blob b = {NULL, (size_t)m.numel * esize(m.dtype)};
  b.p = malloc(b.n ? b.n : 1);
  if (!b.p) fz_fail("out of memory in the harness");
  const uint8_t *p = ft_api_data_ptr(h);
  int32_t tmp = 0;
  if (!p) {
    fz_clear_error();
    if (fz_check(ft_api_materialize(h), "materialize")) fz_fail("reading a value failed: %s", ft_api_last_error());
    tmp = fz_s.out[0];
    p = ft_api_data_ptr(tmp);
    if (!p && b.n) fz_fail("materialize gave a tensor without a data pointer");
  }
  if (b.n) memcpy(b.p, p, b.n);
  if (tmp) ft_api_release(tmp);
  return b;
}

static void free_result(result *r) {
  for (int j = 0; j < MAX_OUTS; j++) free(r->out[j].p);
  for (int j = 0; j < MAX_READS; j++) free(r->read[j].p);
  for (int j = 0; j < MAX_IN; j++) free(r->in[j].p);
  for (int j = 0; j < MAX_CONST; j++) free(r->cst[j].p);
  for (int j = 0; j < MAX_IN + MAX_CONST; j++) free(r->grad[j].p);
  memset(r, 0, sizeof *r);
}

/* ---- shapes ------------------------------------------------------------------------- */

/* The broadcast of a and b (false if they do not broadcast or it is too big). */
static bool broadcast(const vmeta *a, const vmeta *b, vmeta *o) {
  int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
  memset(o, 0, sizeof *o);
  o->dtype = a->dtype;
  o->ndim = nd;
  o->numel = 1;
  for (int d = 0; d < nd; d++) {
    int da = d - (nd - a->ndim), db = d - (nd - b->ndim);
    int32_t x = da >= 0 ? a->shape[da] : 1, y = db >= 0 ? b->shape[db] : 1;
    if (x != y && x != 1 && y != 1) return false;
    o->shape[d] = x == 1 ? y : x;
    o->numel *= o->shape[d];
  }
  return o->numel <= MAX_NUMEL;
}

static bool is_float(int dt) { return dt == 0 || dt == 1; }

/* ---- steps ----------------------------------------------------------------------------- */

/* Runs step S on the run's handles h. Returns 0, or non-zero: while
 * decoding (the first eager run), when the step is to be dropped (its op
 * failed or made a tensor over MAX_NUMEL); in a `tolerant` run (B's, whose
 * layouts may differ from A's), when it failed (its status: a reshape that
 * is a view for one layout and a copy for another makes an in-place write
 * into it legal or not). Any other failure aborts. */
static int exec_step(cprog *P, const step *S, int32_t *h, result *r, bool trace, bool decoding, bool tolerant) {
  int st = 0;
  vmeta m;
  int32_t made = 0;
  fz_clear_error();
  switch (S->kind) {
    case K_OP:
      for (int k = 0; k < S->nin; k++) fz_s.in[k] = h[S->in[k]];
      for (int k = 0; k < S->ni; k++) fz_s.i[k] = S->i[k];
      for (int k = 0; k < S->nf; k++) fz_s.f[k] = S->f[k];
      st = fz_check(ft_api_op(g_op[S->op], S->nin, S->ni, S->nf), k_names[S->op]);
      if (!st) made = take(&m);
      break;
    case K_ASSIGN: st = fz_check(ft_api_assign(h[S->in[0]], h[S->in[1]]), "assign"); break;
    case K_FULL:
      for (int d = 0; d < S->m.ndim; d++) fz_s.shape[d] = S->m.shape[d];
      st = fz_check(ft_api_full(S->m.dtype, S->m.ndim, S->value), "full");
      if (!st) made = take(&m);
      break;
    case K_DATA: made = new_tensor(&S->m, S->seed), m = S->m; break;
    case K_RANDOM: /* torch.rand(shape) in f: a draw each call (a random op while a trace records) */
      for (int d = 0; d < S->m.ndim; d++) fz_s.shape[d] = S->m.shape[d];
      if (S->value == 2) st = fz_check(ft_api_randint(S->f[0], S->f[1], S->m.ndim), "randint");
      else st = fz_check(ft_api_random((int)S->value, S->m.dtype, S->m.ndim), "random");
      if (!st) made = take(&m);
      break;
    case K_DROP:
      ft_api_release(h[S->in[0]]);
      h[S->in[0]] = 0;
      return 0;
    default: { /* toTypedArray: JS reads, and during a trace asks whether the data is the function's */
      int32_t v = h[S->in[0]];
      if (trace) r->read_slot[S->out] = ft_api_trace_read(v);
      r->read[S->out] = read_blob(v, decoding ? NULL : &P->v[S->in[0]]);
      r->have_read[S->out] = true;
      return 0;
    }
  }
  if (st) {
    if (decoding || tolerant) return st;
    print_program(P);
    fz_fail("step %d (%s) failed in a later run of the function: %s", (int)(S - P->s),
            S->kind == K_OP ? k_names[S->op] : "assign/full", ft_api_last_error());
  }
  if (!made) return 0;
  if (decoding) {
    if (m.numel > MAX_NUMEL) {
      ft_api_release(made);
      return -1;
    }
    P->v[S->out] = m;
  } else if (!same_meta(&m, &P->v[S->out])) {
    print_program(P);
    fz_fail("step %d made another dtype or shape than in the first run", (int)(S - P->s));
  }
  h[S->out] = made;
  return 0;
}

/* Appends step S (its value, if it makes one, is the next) and runs it in
 * the decoding run. Returns the new value (or 0 for a step without one), or
 * -1 when it is dropped or there is no room. */
static int emit(cprog *P, step *S, int32_t *h, result *r) {
  bool makes = S->kind == K_OP || S->kind == K_FULL || S->kind == K_DATA || S->kind == K_RANDOM;
  if (P->nsteps == MAX_STEPS || (makes && P->nv == MAX_VALS)) return -1;
  if (makes) S->out = P->nv;
  P->s[P->nsteps] = *S;
  if (exec_step(P, &P->s[P->nsteps], h, r, false, true, false)) return -1;
  if (fz_trace > 0) print_step(P, P->nsteps);
  const step *T = &P->s[P->nsteps++];
  if (T->kind == K_READ) P->family_read[P->family[T->in[0]]] = true;
  if (!makes) return 0;
  /* a view (or what may return its input: reshape, contiguous) shares its input's storage */
  static const uint8_t views[] = {O_TRANSPOSE, O_SLICE, O_EXPAND, O_UNSQUEEZE, O_PERMUTE, O_RESHAPE, O_SELECT,
                                  O_CONTIGUOUS, O_DIAGONAL, O_SQUEEZE, O_DETACH};
  P->family[P->nv] = P->nv;
  P->made_by_f[P->nv] = T->kind == K_FULL || T->kind == K_DATA;
  for (size_t k = 0; T->kind == K_OP && k < sizeof views; k++)
    if (T->op == views[k]) P->family[P->nv] = P->family[T->in[0]];
  return P->nv++;
}

static int emit_op(cprog *P, int32_t *h, result *r, int o, int nin, const int *in, int ni, const int32_t *i, int nf,
                   const double *f) {
  step S = {.kind = K_OP, .op = o, .nin = nin, .ni = ni, .nf = nf};
  for (int k = 0; k < nin; k++) S.in[k] = in[k];
  for (int k = 0; k < ni; k++) S.i[k] = i[k];
  for (int k = 0; k < nf; k++) S.f[k] = f[k];
  return emit(P, &S, h, r);
}

/* A live value, mostly one of the last few (chains), else any. */
static int pick(const cprog *P, fz_in *in, const int32_t *h) {
  unsigned b = fz_u8(in);
  int n = P->nv;
  int v = (b & 1) ? n - 1 - (int)((b >> 1) % (unsigned)(n < 4 ? n : 4)) : (int)((b >> 1) % (unsigned)n);
  for (int t = 0; t < n; t++, v = (v + n - 1) % n)
    if (h[v]) return v;
  return -1;
}

/* A number as js/ makes it: a 0-d tensor of the partner's float dtype
 * (asTensor), now and then of the other float dtype or int32. */
static int scalar(cprog *P, fz_in *in, int32_t *h, result *r, int dtype) {
  step S = {.kind = K_FULL, .value = fz_double(in)};
  unsigned b = fz_u8(in);
  S.m.dtype = b < 200 ? dtype : b < 240 ? (dtype == 0 ? 1 : 0) : 2;
  if (S.m.dtype == 2) S.value = (double)fz_int(in);
  S.m.numel = 1;
  return emit(P, &S, h, r);
}

/* A second operand for x: a live value that broadcasts with it, else a number. */
static int partner(cprog *P, fz_in *in, int32_t *h, result *r, int x, vmeta *bc) {
  unsigned b = fz_u8(in);
  if (b < 40) {
    int s = scalar(P, in, h, r, P->v[x].dtype);
    return s > 0 && broadcast(&P->v[x], &P->v[s], bc) ? s : -1;
  }
  int n = P->nv, v = b % 8 == 1 ? x : (int)(b % (unsigned)n);
  for (int t = 0; t < n; t++, v = (v + n - 1) % n)
    if (h[v] && broadcast(&P->v[x], &P->v[v], bc)) return v;
  return -1;
}

static void unary(cprog *P, fz_in *in, int32_t *h, result *r, int x) {
  int o = (int)fz_below(in, N_UNARY);
  emit_op(P, h, r, o, 1, &x, 0, NULL, 0, NULL);
}

static int binary(cprog *P, fz_in *in, int32_t *h, result *r, int x) {
  unsigned b = fz_u8(in);
  int o = b < 240 ? O_ADD + (int)(b % 6) : O_POW;
  vmeta bc;
  int y = partner(P, in, h, r, x, &bc);
  if (y < 0) return -1;
  int ins[2] = {x, y};
  if (fz_u8(in) & 1) ins[0] = y, ins[1] = x;
  return emit_op(P, h, r, o, 2, ins, 0, NULL, 0, NULL);
}

/* A dim of x (negative now and then, as js/ passes them). */
static int32_t a_dim(fz_in *in, const vmeta *m) {
  int n = m->ndim ? m->ndim : 1;
  int32_t d = (int32_t)fz_below(in, (unsigned)n);
  return (fz_u8(in) & 3) == 0 ? d - n : d;
}

static void view(cprog *P, fz_in *in, int32_t *h, result *r, int x) {
  const vmeta *m = &P->v[x];
  int32_t a[MAXD + 2];
  int ni = 0, o;
  switch (fz_below(in, 10)) {
    case 0: o = O_TRANSPOSE, a[0] = a_dim(in, m), a[1] = a_dim(in, m), ni = 2; break;
    case 1: { /* x[..., start:end:step] */
      o = O_SLICE;
      a[0] = a_dim(in, m);
      int32_t size = m->ndim ? m->shape[a[0] < 0 ? a[0] + m->ndim : a[0]] : 1;
      a[1] = (int32_t)fz_below(in, (unsigned)size + 1) - ((fz_u8(in) & 7) == 0 ? size : 0);
      a[2] = (int32_t)fz_below(in, (unsigned)size + 2);
      a[3] = 1 + (int32_t)fz_below(in, 3);
      ni = 4;
      break;
    }
    case 2: { /* new leading dims, -1 keeps, 1s broadcast */
      o = O_EXPAND;
      int64_t numel = m->numel;
      int lead = (int)fz_below(in, 3);
      for (int d = 0; d < lead && m->ndim + lead <= 6; d++) {
        a[ni] = 1 + (int32_t)fz_below(in, 3);
        numel *= a[ni++];
      }
      for (int d = 0; d < m->ndim; d++) {
        unsigned b = fz_below(in, 4);
        a[ni] = b == 0 ? -1 : m->shape[d] == 1 && b == 3 ? 1 + (int32_t)fz_below(in, 4) : m->shape[d];
        if (m->shape[d] == 1 && a[ni] > 1) numel *= a[ni];
        ni++;
      }
      if (numel > MAX_NUMEL) return;
      break;
    }
    case 3: o = O_UNSQUEEZE, a[0] = (int32_t)fz_below(in, (unsigned)m->ndim + 1), ni = 1; break;
    case 4: /* reversed dims */
      o = O_PERMUTE;
      for (int d = 0; d < m->ndim; d++) a[ni++] = m->ndim - 1 - d;
      if (m->ndim > 1 && (fz_u8(in) & 1)) a[0] = 0, a[m->ndim - 1] = m->ndim - 1; /* middle dims only */
      break;
    case 5: /* flattened, or regrouped into [k, -1] */
      o = O_RESHAPE;
      if (m->ndim && m->shape[0] > 1 && (fz_u8(in) & 1)) a[ni++] = m->shape[0];
      a[ni++] = -1;
      break;
    case 6:
      if (!m->ndim) return;
      o = O_SELECT, a[0] = a_dim(in, m);
      a[1] = (int32_t)fz_below(in, (unsigned)m->shape[a[0] < 0 ? a[0] + m->ndim : a[0]] + 1);
      ni = 2;
      break;
    case 7:
      o = O_DIAGONAL, a[0] = (int32_t)fz_below(in, 3) - 1, a[1] = a_dim(in, m), a[2] = a_dim(in, m), ni = 3;
      break;
    case 8: o = O_SQUEEZE; break; /* every size-1 dim */
    default: o = O_CONTIGUOUS; break;
  }
  emit_op(P, h, r, o, 1, &x, ni, a, 0, NULL);
}

/* The dims attribute of a reduction: i = {nd, dims ascending, keepdim}. */
static int reduce_attrs(fz_in *in, const vmeta *m, int32_t *a) {
  unsigned mask = fz_u8(in), keep = fz_u8(in) & 1;
  int nd = 0;
  for (int d = 0; d < m->ndim; d++)
    if (mask >> d & 1) a[1 + nd++] = d;
  a[0] = nd;
  a[nd + 1] = (int32_t)keep;
  return nd + 2;
}

static void misc(cprog *P, fz_in *in, int32_t *h, result *r, int x) {
  const vmeta *m = &P->v[x];
  int32_t a[MAXD + 2];
  double f[2];
  switch (fz_below(in, 10)) {
    case 0: { /* x @ y: a y whose rows match x's columns, else x's transpose */
      if (!m->ndim) return;
      int32_t K = m->shape[m->ndim - 1];
      int n = P->nv, y = -1, v = (int)fz_below(in, (unsigned)n);
      for (int t = 0; t < n && y < 0; t++, v = (v + 1) % n) {
        const vmeta *w = &P->v[v];
        if (h[v] && w->ndim && w->dtype == m->dtype && w->shape[w->ndim >= 2 ? w->ndim - 2 : 0] == K) y = v;
      }
      if (y < 0 && m->ndim >= 2) {
        int32_t t[2] = {-1, -2};
        y = emit_op(P, h, r, O_TRANSPOSE, 1, &x, 2, t, 0, NULL);
      }
      if (y < 0 || m->numel * P->v[y].numel > ((int64_t)1 << 22)) return;
      int ins[2] = {x, y};
      emit_op(P, h, r, O_MATMUL, 2, ins, 0, NULL, 0, NULL);
      return;
    }
    case 1: case 2: {
      int n = reduce_attrs(in, m, a);
      emit_op(P, h, r, fz_u8(in) & 1 ? O_MEAN : O_SUM, 1, &x, n, a, 0, NULL);
      return;
    }
    case 3: a[0] = a_dim(in, m), emit_op(P, h, r, O_SOFTMAX, 1, &x, 1, a, 0, NULL); return;
    case 4: f[0] = fz_double(in), f[1] = fz_double(in), emit_op(P, h, r, O_CLAMP, 1, &x, 0, NULL, 2, f); return;
    case 5: f[0] = fz_double(in), emit_op(P, h, r, O_POW_SCALAR, 1, &x, 0, NULL, 1, f); return;
    case 6: a[0] = (int32_t)fz_below(in, 3), emit_op(P, h, r, O_CAST, 1, &x, 1, a, 0, NULL); return;
    case 7: emit_op(P, h, r, fz_u8(in) & 1 ? O_CLONE : O_DETACH, 1, &x, 0, NULL, 0, NULL); return;
    case 8: emit_op(P, h, r, fz_u8(in) & 1 ? O_RAND_LIKE : O_RANDN_LIKE, 1, &x, 0, NULL, 0, NULL); return;
    default: { /* where(x > y, x, y) */
      vmeta bc;
      int y = partner(P, in, h, r, x, &bc);
      if (y < 0) return;
      int ins[3] = {x, y, 0};
      int c = emit_op(P, h, r, O_GT, 2, ins, 0, NULL, 0, NULL);
      if (c < 0) return;
      ins[0] = c, ins[1] = x, ins[2] = y;
      emit_op(P, h, r, O_WHERE, 3, ins, 0, NULL, 0, NULL);
      return;
    }
  }
}

/* Whether f may write into x (unless FZ_COMPILE_KNOWN_BUGS): not into the
 * storage of a value it has read into JavaScript, nor into a view of an
 * input whose layout differs between A and B: composites are traced as
 * the input's strides made them decompose (contiguous() of a view that is
 * contiguous for one layout and not another: a no-op, or a clone), and a
 * write shows whether their result aliases. */
static bool writable(const cprog *P, int x) {
  (void)P; (void)x;
  return true; /* fixed: the signature keys a non-contiguous input's strides, and input_for models it */
}

/* Whether x.copy_(y) would lift a plain x onto the tape (y requires grad):
 * eager autograd does it, but a trace holds a reference to x, and
 * grad_assign refuses to lift a tensor held twice (a known bug). */
static bool lifts(const cprog *P, const int32_t *h, int x, int y) {
  if (ft_api_grad_flags(h[x]) & 1 || !(ft_api_grad_flags(h[y]) & 1)) return false;
  /* a captured tensor lifted stays on the tape: the next call differs, eager or not */
  int root = P->family[x];
  return root >= P->nin && root < P->nin + P->nconst;
}

/* Whether x.copy_(y) broadcasts or casts a y that requires grad: x's
 * history becomes y's as is, and the backward pass hands y's leaves
 * gradients of x's shape (a known bug of eager autograd, grad_assign). */
static bool reshapes_history(const cprog *P, const int32_t *h, int x, int y) {
  (void)P; (void)h; (void)x; (void)y;
  return false; /* fixed: grad_assign gives x the history of y cast and expanded */
}

/* x.op_(y) as js/ops makes it (the op, assign, dispose the temporary), or
 * x.copy_(y). */
static void inplace(cprog *P, fz_in *in, int32_t *h, result *r, int x) {
  unsigned b = fz_below(in, 4);
  int t;
  if (b == 0) { /* copy_: y broadcasts to x's shape (any dtype: assign casts) */
    vmeta bc;
    t = partner(P, in, h, r, x, &bc);
    const vmeta *m = &P->v[x];
    if (t < 0 || bc.ndim != m->ndim || memcmp(bc.shape, m->shape, sizeof(int32_t) * (size_t)m->ndim)) return;
    step S = {.kind = K_ASSIGN, .in = {x, t}};
    if (writable(P, x) && !lifts(P, h, x, t) && !reshapes_history(P, h, x, t)) emit(P, &S, h, r);
    return;
  }
  if (b == 1) {
    int o = (int)fz_below(in, N_UNARY);
    t = emit_op(P, h, r, o, 1, &x, 0, NULL, 0, NULL);
  } else {
    t = binary(P, in, h, r, x);
  }
  if (t < 0) return;
  step S = {.kind = K_ASSIGN, .in = {x, t}};
  if (writable(P, x) && !lifts(P, h, x, t) && !reshapes_history(P, h, x, t)) emit(P, &S, h, r);
  step D = {.kind = K_DROP, .in = {t}};
  emit(P, &D, h, r);
}

/* A tensor f makes itself: a number, full(), a literal array, or a random
 * draw (rand, randn, randint), shaped like x. */
static void fresh(cprog *P, fz_in *in, int32_t *h, result *r, int x) {
  unsigned b = fz_below(in, 4);
  if (P->v[x].ndim > 8) return; /* views may have more dims than js/ can make a tensor with */
  if (b == 0) {
    scalar(P, in, h, r, P->v[x].dtype);
    return;
  }
  if (b == 3) {
    step S = {.kind = K_RANDOM, .value = fz_below(in, 3), .m = P->v[x]};
    if (S.value == 2) S.f[0] = fz_int(in), S.f[1] = S.f[0] + fz_int(in) + 4, S.m.dtype = 2;
    else if (!is_float(S.m.dtype)) S.m.dtype = 0;
    emit(P, &S, h, r);
    return;
  }
  step S = {.kind = b == 1 ? K_FULL : K_DATA, .value = fz_double(in), .m = P->v[x]};
  S.seed = mix_seed(P->seed_c, (uint32_t)P->nsteps);
  if (!is_float(S.m.dtype)) S.m.dtype = 0;
  emit(P, &S, h, r);
}

static void gen_step(cprog *P, fz_in *in, int32_t *h, result *r) {
  unsigned a = fz_u8(in) % 24;
  int x = pick(P, in, h);
  if (x < 0) return;
  switch (a) {
    case 0: case 1: case 2: case 3: unary(P, in, h, r, x); break;
    case 4: case 5: case 6: case 7: binary(P, in, h, r, x); break;
    case 8: case 9: view(P, in, h, r, x); break;
    case 10: case 11: misc(P, in, h, r, x); break;
    case 12: case 13: inplace(P, in, h, r, x); break;
    case 14: fresh(P, in, h, r, x); break;
    case 15: /* dispose a value f made (never an argument or a captured tensor) */
      if (x >= P->nin + P->nconst) {
        step S = {.kind = K_DROP, .in = {x}};
        emit(P, &S, h, r);
      }
      break;
    case 16:
      if (P->nreads < MAX_READS && (fz_u8(in) & 1)) {
        step S = {.kind = K_READ, .in = {x}, .out = P->nreads};
        P->read_of[P->nreads] = x;
        if (!emit(P, &S, h, r)) P->nreads++;
      }
      break;
    default: { /* continue the chain from the newest value (what fusion fuses) */
      int y = P->nv - 1;
      if (!h[y]) break;
      if (a < 20) unary(P, in, h, r, y);
      else binary(P, in, h, r, y);
      break;
    }
  }
}

/* ---- the header: inputs, constants, layouts, outputs -------------------------------- */

static const int32_t k_sizes[8] = {1, 2, 3, 4, 5, 8, 2, 3};

static void read_header(cprog *P, fz_in *in) {
  memset(P, 0, sizeof *P);
  for (int k = 0; k < MAX_IN; k++) P->alias[k] = -1;
  unsigned b = fz_u8(in);
  P->nin = 1 + (int)(b % MAX_IN);
  P->nconst = (int)(b / MAX_IN % (MAX_CONST + 1));
  unsigned f = fz_u8(in);
  P->fuse = f % 4 != 0; /* fused mostly: the unfused program is the simpler path */
  P->scribble = (f >> 2) % 4 == 0;
  P->backward = (f >> 4) % 2;
  if (P->scribble) P->scribble_value = fz_double(in);
  for (int k = 0; k < 4; k++) P->seed_a = P->seed_a << 8 | fz_u8(in);
  P->seed_b = mix_seed(P->seed_a, 77), P->seed_c = mix_seed(P->seed_a, 78);
  /* a base shape; each tensor is it, a suffix of it, or it with 1s */
  vmeta base = {.ndim = (int)fz_below(in, 5), .dtype = (int)(b >> 6 & 1)};
  for (int d = 0; d < base.ndim; d++) {
    unsigned s = fz_u8(in);
    base.shape[d] = s >= 252 ? (s == 255 ? 0 : 16) : k_sizes[s % 8];
  }
  for (int k = 0; k < P->nin + P->nconst; k++) {
    vmeta m = base;
    unsigned c = fz_u8(in), t = fz_u8(in);
    m.dtype = t < 192 ? base.dtype : t < 240 ? !base.dtype : 2; /* mostly one float dtype: chains */
    P->rg[k] = is_float(m.dtype) && (t >> 2 & 3) == 3;
    if (c % 4 == 1) { /* a suffix */
      int drop = (int)fz_below(in, (unsigned)m.ndim + 1);
      m.ndim -= drop;
      memmove(m.shape, base.shape + drop, sizeof(int32_t) * (size_t)m.ndim);
    } else if (c % 4 == 2) { /* some dims 1 */
      unsigned mask = fz_u8(in);
      for (int d = 0; d < m.ndim; d++)
        if (mask >> d & 1) m.shape[d] = 1;
    } else if (c % 4 == 3 && c >= 128) { /* a shape of its own */
      m.ndim = (int)fz_below(in, 4);
      for (int d = 0; d < m.ndim; d++) m.shape[d] = k_sizes[fz_u8(in) % 8];
    }
    m.numel = 1;
    for (int d = 0; d < m.ndim; d++) m.numel *= m.shape[d];
    if (m.numel > MAX_NUMEL) m.ndim = 1, m.shape[0] = 8, m.numel = 8;
    P->v[k] = m;
    if (k < P->nin) {
      P->layout_a[k] = (int8_t)(c >> 2 & 3);
      P->layout_b[k] = (int8_t)(c >> 4 & 3);
      if (k > 0 && (c >> 6) == 3 && (t & 0x70) == 0x70) P->alias[k] = (int8_t)fz_below(in, (unsigned)k); /* f(x, x) */
      if (P->alias[k] >= 0) {
        int j = P->alias[k];
        P->v[k] = P->v[j], P->layout_a[k] = P->layout_a[j], P->layout_b[k] = P->layout_b[j], P->rg[k] = P->rg[j];
      }
    }
  }
  P->nv = P->nin + P->nconst;
  for (int v = 0; v < P->nv; v++) P->family[v] = v < P->nin && P->alias[v] >= 0 ? P->family[P->alias[v]] : v;
  P->nouts = (int)fz_below(in, MAX_OUTS + 1);
  if (!P->nouts) P->nouts = 1;
  for (int j = 0; j < P->nouts; j++) P->out_sel[j] = (uint8_t)fz_u8(in);
}

/* The values returned: made by f (js/ returns arguments and captured
 * tensors as themselves, without the program), still live, each once. */
static void choose_outputs(cprog *P, const int32_t *h) {
  int cand[MAX_VALS], n = 0;
  for (int v = P->nin + P->nconst; v < P->nv; v++)
    if (h[v]) cand[n++] = v;
  int nouts = 0;
  for (int j = 0; j < P->nouts && n; j++) {
    int v = cand[n - 1 - P->out_sel[j] % n];
    bool dup = false;
    for (int q = 0; q < nouts; q++) dup |= P->outs[q] == v;
    if (!dup) P->outs[nouts++] = v;
  }
  P->nouts = nouts;
}

/* ---- runs ----------------------------------------------------------------------------- */

static void requires_grad(int32_t h) {
  fz_clear_error();
  if (fz_check(ft_api_requires_grad_(h, 1), "requiresGrad_")) fz_fail("requiresGrad_ failed: %s", ft_api_last_error());
}

/* Back to their contents: a plain one through its data, a parameter (a
 * leaf that requires grad) as an optimizer writes it, under noGrad. */
static void reset_constants(cprog *P) {
  for (int c = 0; c < P->nconst; c++) {
    const vmeta *m = &P->v[P->nin + c];
    uint32_t seed = mix_seed(P->seed_c, 1000u + (uint32_t)c);
    if (ft_api_data_ptr(P->hc[c]) || !m->numel) { /* (an x.copy_(y) may have lifted it onto the tape) */
      fill(P->hc[c], m, seed);
      continue;
    }
    int32_t v = new_tensor(m, seed);
    int token = ft_api_no_grad_enter();
    fz_clear_error();
    int st = fz_check(ft_api_assign(P->hc[c], v), "assign (noGrad)");
    ft_api_no_grad_exit(token);
    if (st) fz_fail("resetting a parameter failed: %s", ft_api_last_error());
    ft_api_release(v);
  }
}

/* Input k's layout in a run on `dataset` (0: A, 1: B). B keeps A's
 * contiguity, and A's layout when either is non-contiguous, unless
 * FZ_COMPILE_MIX_CONTIGUITY: compile's signature (ft_trace_level_sig)
 * would trace again for another one. */
static int32_t input_for(cprog *P, int k, int dataset, const int32_t *h) {
  if (P->alias[k] >= 0) {
    int32_t x = h[P->alias[k]];
    fz_clear_error();
    if (fz_check(ft_api_retain(x), "retain")) fz_fail("retain failed");
    return x;
  }
  uint32_t seed = mix_seed(dataset ? P->seed_b : P->seed_a, (uint32_t)k);
  int32_t x = make_input(&P->v[k], seed, dataset ? P->layout_b[k] : P->layout_a[k]);
  bool contig = ft_api_data_ptr(x) != NULL || P->v[k].numel == 0;
  if (P->rg[k]) requires_grad(x); /* after the test: data_ptr is NULL for a leaf that requires grad */
  if (!dataset) P->contig_a[k] = contig;
  else if (!g_mix_contiguity && (contig != P->contig_a[k] || (!contig && P->layout_b[k] != P->layout_a[k]))) {
    ft_api_release(x);
    x = make_input(&P->v[k], seed, P->layout_a[k]);
    if (P->rg[k]) requires_grad(x);
  }
  return x;
}

static void backward(cprog *P, int32_t *h, result *r, int32_t y);

/* Whether the caller may write into returned value v: always, now that
 * compile snapshots every storage f made that it returns a view of. */
static bool scribble_ok(const cprog *P, int v) {
  (void)P; (void)v;
  return true; /* fixed: ft_trace_output snapshots any storage f made, so a view of it is remade too */
}

/* The caller's side after a call: the final contents of the inputs and
 * constants; then, if the input says so, out.fill_(value) on what the call
 * returned, which must not change what later calls return (a replay must
 * not hand out storage it keeps); then the inputs are released. */
static void finish_run(cprog *P, int32_t *h, result *r, const int32_t *outs) {
  for (int k = 0; k < P->nin; k++) r->in[k] = read_blob(h[k], &P->v[k]);
  for (int c = 0; c < P->nconst; c++) r->cst[c] = read_blob(P->hc[c], &P->v[P->nin + c]);
  if (P->backward && P->nouts) backward(P, h, r, outs[0]);
  for (int j = 0; j < P->nouts && P->scribble; j++) {
    if (!scribble_ok(P, P->outs[j])) continue;
    fz_clear_error();
    if (fz_check(ft_api_full(1, 0, P->scribble_value), "full")) fz_fail("full failed: %s", ft_api_last_error());
    int32_t v = fz_s.out[0];
    fz_clear_error();
    fz_check(ft_api_assign(outs[j], v), "assign (into a returned tensor)");
    ft_api_release(v);
  }
  for (int k = 0; k < P->nin; k++) ft_api_release(h[k]);
}

/* The eager half of what the replay was traced under (or not): the values
 * need grad, the caller runs sum(y).backward() (status and the leaves'
 * .grad must match the eager run's), then zeroGrad. */
static void backward(cprog *P, int32_t *h, result *r, int32_t y) {
  static int sum = -1;
  for (int op = 0; sum < 0 && op < ft_api_op_count(); op++)
    if (!strcmp(ft_api_op_name(op), "sum")) sum = op;
  fz_s.in[0] = y;
  fz_s.i[0] = 0, fz_s.i[1] = 0;
  fz_clear_error();
  /* it may fail like the backward pass: y is a stale view of a value written in place */
  if ((r->backward_status = fz_check(ft_api_op(sum, 1, 2, 0), "sum"))) return;
  int32_t root = fz_s.out[0];
  fz_s.in[0] = root;
  fz_s.in[1] = 0;
  fz_clear_error();
  r->backward_status = fz_check(ft_api_backward(1, 0, 0), "backward");
  ft_api_release(root);
  for (int k = 0; k < P->nin + P->nconst; k++) {
    if (!P->rg[k] || (k < P->nin && P->alias[k] >= 0)) continue;
    int32_t x = k < P->nin ? h[k] : P->hc[k - P->nin];
    fz_clear_error();
    if (fz_check(ft_api_get_grad(x), "grad")) fz_fail(".grad failed: %s", ft_api_last_error());
    int32_t g = fz_s.out[0];
    if (g) {
      r->grad[k] = read_blob(g, &P->v[k]);
      ft_api_release(g);
    }
    fz_clear_error();
    if (fz_check(ft_api_set_grad(x, 0), "zeroGrad")) fz_fail("zeroGrad failed: %s", ft_api_last_error());
  }
}

/* f, eagerly on `dataset` (decoding the steps from `in` when given), or
 * inside a trace (trace: 1 fused, 2 not) whose program id goes in *id. */
static void run_function(cprog *P, fz_in *in, int dataset, int trace, bool tolerant, result *r, int *id) {
  int32_t h[MAX_VALS] = {0};
  ft_api_seed(99);
  reset_constants(P);
  for (int k = 0; k < P->nin; k++) h[k] = input_for(P, k, dataset, h);
  for (int c = 0; c < P->nconst; c++) h[P->nin + c] = P->hc[c];
  if (trace) {
    fz_clear_error();
    if (fz_check(ft_api_trace_begin(), "trace begin")) fz_fail("trace begin failed: %s", ft_api_last_error());
    for (int k = 0; k < P->nin; k++) {
      fz_clear_error();
      if (fz_check(ft_api_trace_input(h[k]), "trace input") || fz_s.out[0] != k)
        fz_fail("trace input %d failed or was numbered %d: %s", k, fz_s.out[0], ft_api_last_error());
    }
  }
  if (in) {
    while (!fz_done(in) && P->nsteps < MAX_STEPS) gen_step(P, in, h, r);
    choose_outputs(P, h);
  } else {
    for (int k = 0; k < P->nsteps && !r->status; k++)
      r->status = exec_step(P, &P->s[k], h, r, trace != 0, false, tolerant);
  }
  if (r->status) { /* f threw (tolerant runs only) */
    for (int v = P->nin + P->nconst; v < P->nv; v++) ft_api_release(h[v]);
    for (int k = 0; k < P->nin; k++) ft_api_release(h[k]);
    return;
  }
  if (trace) {
    int n = 0;
    for (int j = 0; j < P->nouts; j++, n++) {
      fz_clear_error();
      if (fz_check(ft_api_trace_output(h[P->outs[j]]), "trace output") || fz_s.out[0] != n)
        fz_fail("trace output %d failed or was numbered %d: %s", j, fz_s.out[0], ft_api_last_error());
    }
    for (int j = 0; j < P->nreads; j++) { /* compile.js: a read returned is an output by slot */
      P->read_out[j] = -1;
      if (r->read_slot[j] < 0) continue; /* a constant's data: returned as a copy */
      fz_clear_error();
      if (fz_check(ft_api_trace_output_slot(r->read_slot[j]), "trace output slot") || fz_s.out[0] != n)
        fz_fail("trace output slot %d failed or was numbered %d: %s", j, fz_s.out[0], ft_api_last_error());
      P->read_out[j] = n++;
    }
    const char *why = ft_api_trace_failure();
    if (why && why[0]) {
      print_program(P);
      fz_fail("the trace failed: %s", why);
    }
    fz_clear_error();
    if (fz_check(ft_api_trace_end(trace), "trace end")) {
      print_program(P);
      fz_fail("building the program failed: %s", ft_api_last_error());
    }
    *id = fz_s.out[0];
    if (*id <= 0 || ft_api_prog_info(*id, 0) != P->nin || ft_api_prog_info(*id, 1) != n)
      fz_fail("the program has %d inputs and %d outputs, not %d and %d", ft_api_prog_info(*id, 0),
              ft_api_prog_info(*id, 1), P->nin, n);
    int groups = ft_api_prog_info(*id, 7), fused = ft_api_prog_info(*id, 8);
    if (trace == 2 ? groups || fused : groups < 0 || fused < 2 * groups)
      fz_fail("the program counts %d fused groups of %d instructions (fuse %d)", groups, fused, trace == 1);
    if (fz_trace > 0)
      fprintf(stderr, "program %d: %d instructions, %d dead, %d constants, %d groups of %d\n", *id,
              ft_api_prog_info(*id, 2), ft_api_prog_info(*id, 5), ft_api_prog_info(*id, 3), groups, fused);
  }
  int32_t outs[MAX_OUTS];
  for (int j = 0; j < P->nouts; j++) r->out[j] = read_blob(outs[j] = h[P->outs[j]], &P->v[P->outs[j]]);
  finish_run(P, h, r, outs);
  for (int v = P->nin + P->nconst; v < P->nv; v++) ft_api_release(h[v]);
}

/* The program, replayed on `dataset` (tolerant: it may fail, as B's eager run may). */
static void replay(cprog *P, int id, int dataset, bool tolerant, result *r) {
  int32_t h[MAX_VALS] = {0};
  ft_api_seed(99);
  reset_constants(P);
  for (int k = 0; k < P->nin; k++) h[k] = input_for(P, k, dataset, h);
  int32_t *hin = ft_api_prog_inputs(id);
  if (!hin) fz_fail("program %d has no input array", id);
  for (int k = 0; k < P->nin; k++) hin[k] = h[k];
  fz_clear_error();
  if ((r->status = fz_check(ft_api_prog_run(id), "program run"))) {
    if (!tolerant) {
      print_program(P);
      fz_fail("the replay failed: %s", ft_api_last_error());
    }
    for (int k = 0; k < P->nin; k++) ft_api_release(h[k]);
    return;
  }
  const int32_t *hout = ft_api_prog_outputs(id);
  int n = ft_api_prog_info(id, 1);
  for (int j = 0; j < n; j++)
    if (!hout[j]) fz_fail("the replay left output %d empty", j);
  for (int j = 0; j < P->nouts; j++) r->out[j] = read_blob(hout[j], &P->v[P->outs[j]]);
  for (int j = 0; j < P->nreads; j++)
    if (P->read_out[j] >= 0) {
      r->read[j] = read_blob(hout[P->read_out[j]], &P->v[P->read_of[j]]);
      r->have_read[j] = true;
    }
  int32_t outs[MAX_OUTS + MAX_READS];
  memcpy(outs, hout, sizeof(int32_t) * (size_t)n); /* the next call into the program may reuse hout */
  finish_run(P, h, r, outs);
  for (int j = 0; j < n; j++) ft_api_release(outs[j]);
}

/* ---- comparing --------------------------------------------------------------------------- */

static void first_difference(const blob *a, const blob *b, int dtype) {
  size_t es = esize(dtype), n = (a->n < b->n ? a->n : b->n) / es;
  for (size_t k = 0; k < n; k++) {
    if (!memcmp(a->p + k * es, b->p + k * es, es)) continue;
    double x, y;
    if (dtype == 0) { float p, q; memcpy(&p, a->p + k * es, 4); memcpy(&q, b->p + k * es, 4); x = p, y = q; }
    else if (dtype == 1) memcpy(&x, a->p + k * es, 8), memcpy(&y, b->p + k * es, 8);
    else { int32_t p = 0, q = 0; memcpy(&p, a->p + k * es, es); memcpy(&q, b->p + k * es, es); x = p, y = q; }
    fprintf(stderr, "element %zu: %.17g (eager) vs %.17g\n", k, x, y);
    return;
  }
}

static void expect_same(const cprog *P, const char *what, const blob *a, const blob *b, int dtype, const char *which,
                        int j) {
  if (a->n == b->n && !memcmp(a->p, b->p, a->n)) return;
  print_program(P);
  first_difference(a, b, dtype);
  fz_fail("%s: %s %d differs from the eager run (%zu and %zu bytes)", what, which, j, a->n, b->n);
}

static void compare(const cprog *P, const char *what, const result *e, const result *r) {
  for (int j = 0; j < P->nouts; j++) expect_same(P, what, &e->out[j], &r->out[j], P->v[P->outs[j]].dtype, "output", j);
  for (int j = 0; j < P->nreads; j++)
    if (e->have_read[j] && r->have_read[j])
      expect_same(P, what, &e->read[j], &r->read[j], P->v[P->read_of[j]].dtype, "value read", j);
  for (int k = 0; k < P->nin; k++)
    expect_same(P, what, &e->in[k], &r->in[k], P->v[k].dtype, "input (after the call)", k);
  for (int c = 0; c < P->nconst; c++)
    expect_same(P, what, &e->cst[c], &r->cst[c], P->v[P->nin + c].dtype, "captured tensor (after the call)", c);
  if (e->backward_status != r->backward_status) {
    print_program(P);
    fz_fail("%s: backward returned %d, the eager run's %d", what, r->backward_status, e->backward_status);
  }
  for (int k = 0; k < P->nin + P->nconst; k++) {
    if (!e->grad[k].p != !r->grad[k].p) {
      print_program(P);
      fz_fail("%s: v%d has %s .grad, unlike in the eager run", what, k, r->grad[k].p ? "a" : "no");
    }
    if (e->grad[k].p) expect_same(P, what, &e->grad[k], &r->grad[k], P->v[k].dtype, ".grad of v", k);
  }
}

/* ---- the target ----------------------------------------------------------------------------- */

/* libFuzzer's entropic schedule keeps statistics of every feature an input
 * touches, to choose what to mutate next. With -runs=0 (the gate, which
 * runs each mutant once, and the seed replay) nothing is mutated, and for
 * this target, whose inputs each run f five or six times through the
 * tracer, the builder, replays and eager calls, the bookkeeping was a
 * quarter of the gate's time. libFuzzer reads its flags after this hook. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  static char *args[1024];
  static char off[] = "-entropic=0";
  bool once = false;
  for (int k = 1; k < *argc; k++) once |= !strcmp((*argv)[k], "-runs=0");
  if (!once || *argc + 2 > (int)(sizeof args / sizeof args[0])) return 0;
  for (int k = 0; k < *argc; k++) args[k] = (*argv)[k];
  args[(*argc)++] = off;
  args[*argc] = NULL;
  *argv = args;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_state s;
  fz_in in = {data, size, 0};
  fz_begin(&s, data, size);
  bind_ops();
  read_env();
  cprog *P = &g_p;
  read_header(P, &in);
  for (int c = 0; c < P->nconst; c++) { /* reset before each run */
    P->hc[c] = new_tensor(&P->v[P->nin + c], 1);
    if (P->rg[P->nin + c]) requires_grad(P->hc[c]);
  }
  static result ea, tr, ra, eb, rb;
  /* the eager run decodes the steps; the trace's run must give the same */
  run_function(P, &in, 0, 0, false, &ea, NULL);
  if (fz_trace > 0) print_program(P);
  int id = 0;
  run_function(P, NULL, 0, P->fuse ? 1 : 2, false, &tr, &id);
  compare(P, "the traced call", &ea, &tr);
  replay(P, id, 0, false, &ra);
  compare(P, "the replay on the trace's inputs", &ea, &ra);
  run_function(P, NULL, 1, 0, true, &eb, NULL);
  replay(P, id, 1, true, &rb);
  if (eb.status != rb.status) {
    print_program(P);
    fz_fail("the replay on new inputs returned %d, the eager call %d", rb.status, eb.status);
  }
  if (!eb.status) compare(P, "the replay on new inputs", &eb, &rb);
  if (P->seed_a & 2) { /* again (half the time: the gate's budget): nothing of B's replay may stay behind */
    free_result(&ra);
    replay(P, id, 0, false, &ra);
    compare(P, "the second replay on the trace's inputs", &ea, &ra);
  }
  ft_api_prog_free(id);
  for (int c = 0; c < P->nconst; c++) ft_api_release(P->hc[c]);
  free_result(&ea), free_result(&tr), free_result(&ra), free_result(&eb), free_result(&rb);
  fz_end(&s);
  return 0;
}
