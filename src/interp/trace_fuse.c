/* func.compile's elementwise fusion: chains of elementwise instructions
 * become one instruction that runs the whole chain block by block.
 *
 * NOTE: [fusion]
 * Which instructions. One whose op declares its kernel (ft_op_def.fuse:
 * the unary kinds NEG .. ERF, and ADD SUB MUL DIV MAXIMUM MINIMUM), that
 * ran at the base level (replay calls its eval on plain values), whose
 * inputs all have its float dtype (no conversion inside the chain), and
 * whose output is non-empty. A chain grows backwards from its last
 * instruction (the root) through inputs that are the result of another
 * such instruction with the root's shape and dtype, read by nothing else
 * (no other instruction, not an output, no JavaScript read), with no
 * in-place write between that producer and the root: moving the producer's
 * work to the root's place must not let it see a later write. What the
 * chain reads from outside (its externals) is read in the root's place,
 * which is the same values for the same reason.
 *
 * How it runs. The chain's shape is merged, like the kernels' own
 * iterator merges dims, into at most [rows, cols] over which every external
 * is a strided (often broadcast: stride 0) operand; a chain whose externals
 * need more dims stays unfused. Blocks of 16 KiB of output (whole rows when
 * rows are short) go through every step of the chain before the next
 * block starts, so intermediates live in a few block-sized scratch buffers
 * in cache instead of full tensors from the pool (at 4 KiB the kernels'
 * per-call setup ate the gain: a 10-op chain over 1M floats ran 9% slower
 * than unfused; at 16 KiB it runs level, and chains of small tensors, where
 * fusion saves the allocations, 2.7x faster), and the kernels are the
 * ones the evals call: the kernels compute a value the same way wherever it
 * sits (vector tails run the vector code on padded lanes; see
 * elementwise_unary.c), so fused results are bit-identical to eager ones.
 * When the root's result can take over the storage of an external that
 * dies here (the matmul output a bias add and a relu follow), it is
 * written in place: the chain then allocates nothing.
 *
 * Replays check that every external is laid out as in the trace (shapes
 * are fixed by the signature, strides of a non-contiguous input are not);
 * one that differs runs the chain's evals one by one instead. */
#include "trace_impl.h"
#include "../ops/ops.h"
#include <stdlib.h>
#include <string.h>

#define FUSE_BLOCK_BYTES 16384
#define FUSE_MAX_STEPS 256
#define FUSE_MAX_EXT 64
#define FUSE_MAX_BUF 8

enum { SRC_EXT = 0, SRC_BUF = 1 };

typedef struct fstep {
  int32_t op;     /* for the one-by-one fallback */
  int32_t kernel; /* FT_FUSE_UN(k) or FT_FUSE_BIN(k) */
  int32_t nin;
  uint8_t src_kind[2];
  uint8_t last[2]; /* SRC_BUF: the buffer's last read */
  int32_t src[2]; /* external index or buffer index */
  int32_t dst;    /* buffer index; -1 for the last step (the result) */
} fstep;

struct ft_fused {
  ft_dtype dt;
  int32_t ndim;
  int64_t shape[FT_MAX_DIMS];
  int64_t rows, cols;
  int32_t next, nsteps, nbuf, steal;
  fstep *steps;
  int32_t *ext_ndim;                  /* [next] */
  int64_t *ext_shape, *ext_strides;   /* [next * FT_MAX_DIMS]: as traced */
  int64_t *ext_rs, *ext_cs;           /* [next]: strides over [rows, cols] */
  void *scratch;                      /* nbuf blocks */
};

static void clear_group(ft_fused *G) {
  free(G->steps); free(G->ext_ndim); free(G->ext_shape); free(G->ext_strides);
  free(G->ext_rs); free(G->ext_cs); free(G->scratch);
  memset(G, 0, sizeof *G);
}

void ft_fused_free(ft_fused *groups, int32_t n) {
  if (!groups) return;
  for (int32_t g = 0; g < n; g++) clear_group(&groups[g]);
  free(groups);
}

ft_fused *ft_fused_group(ft_fused *groups, int32_t g) { return &groups[g]; }

int32_t ft_fused_steal_candidate(const ft_fused *g) { return g->steal; }

/* ---- planning ---------------------------------------------------------------- */

static const ft_tensor *slot_value(int32_t s) { return ft_base_value(ft_tr.slots[s].t); }

static bool same_shape(const ft_tensor *t, const int64_t *shape, int ndim) {
  if (t->ndim != ndim) return false;
  for (int d = 0; d < ndim; d++)
    if (t->shape[d] != shape[d]) return false;
  return true;
}

/* Instruction k can be part of a chain (see the NOTE). */
static bool fusible(int32_t k) {
  const tinstr *I = &ft_tr.ins[k];
  if (!I->base || I->op < 0 || !ft_ops[I->op]->fuse || I->nout != 1) return false;
  const int32_t *a = ft_tr.args + I->args;
  const ft_tensor *o = slot_value(a[I->nin]);
  if ((o->dtype != FT_F32 && o->dtype != FT_F64) || o->numel == 0 || !ft_is_contiguous(o)) return false;
  for (int i = 0; i < I->nin; i++)
    if (slot_value(a[i])->dtype != o->dtype) return false;
  return true;
}

/* Merges the group's shape into at most two dims over which every external
 * is strided; false if it needs more. */
static bool merge_layout(ft_fused *G, const int32_t *ext, int32_t next) {
  int64_t shape[FT_MAX_DIMS], st[FUSE_MAX_EXT][FT_MAX_DIMS];
  int nd = 0;
  for (int d = 0; d < G->ndim; d++) {
    if (G->shape[d] == 1) continue;
    shape[nd] = G->shape[d];
    for (int32_t e = 0; e < next; e++) {
      int64_t full[FT_MAX_DIMS];
      ft_broadcast_strides(slot_value(ext[e]), G->shape, G->ndim, full);
      st[e][nd] = full[d];
    }
    nd++;
  }
  /* merge d into d - 1 where every operand allows it (the output is contiguous) */
  int m = 0;
  for (int d = 0; d < nd; d++) {
    bool join = m > 0;
    for (int32_t e = 0; join && e < next; e++) join = st[e][m - 1] == st[e][d] * shape[d];
    if (join) {
      shape[m - 1] *= shape[d];
      for (int32_t e = 0; e < next; e++) st[e][m - 1] = st[e][d];
    } else {
      shape[m] = shape[d];
      for (int32_t e = 0; e < next; e++) st[e][m] = st[e][d];
      m++;
    }
  }
  if (m > 2) return false;
  G->rows = m == 2 ? shape[0] : 1;
  G->cols = m >= 1 ? shape[m - 1] : 1;
  for (int32_t e = 0; e < next; e++) {
    G->ext_rs[e] = m == 2 ? st[e][0] : 0;
    G->ext_cs[e] = m >= 1 ? st[e][m - 1] : 0;
  }
  return true;
}

typedef struct plan_tmp {
  int32_t *readers;  /* [nslots]: reads by live instructions */
  uint8_t *pinned;   /* [nslots]: an output of the program */
  int32_t *assigns;  /* [nins + 1]: live in-place writes before each instruction */
  int32_t *members;  /* [FUSE_MAX_STEPS] */
  uint8_t *grouped;  /* [nins] */
  uint8_t *inside;   /* [nins]: a member of the group being built */
} plan_tmp;

/* The producer of slot s if it can join the chain rooted at `root`, else -1. */
static int32_t joinable(const plan_tmp *T, const uint8_t *live, int32_t s, int32_t root, const ft_tensor *ro) {
  const tslot *sl = &ft_tr.slots[s];
  if (sl->kind != SLOT_VALUE || T->pinned[s]) return -1;
  int32_t p = sl->ref;
  if (p < 0 || p >= root || !live[p] || T->grouped[p] || T->inside[p] || !fusible(p)) return -1;
  if (T->assigns[root] != T->assigns[p + 1]) return -1;
  const ft_tensor *v = slot_value(s);
  if (v->dtype != ro->dtype || !same_shape(v, ro->shape, ro->ndim)) return -1;
  return p;
}

/* Drops the members (never the root, members[0]) whose result something
 * outside the chain reads, until none does: their producers then lose a
 * reader inside and drop in turn. Returns the new member count. */
static int32_t only_internal_reads(plan_tmp *T, int32_t n) {
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t m = 1; m < n; m++) {
      const tinstr *P = &ft_tr.ins[T->members[m]];
      int32_t s = ft_tr.args[P->args + P->nin], inner = 0;
      for (int32_t q = 0; q < n; q++) {
        const tinstr *I = &ft_tr.ins[T->members[q]];
        for (int i = 0; i < I->nin; i++) inner += ft_tr.args[I->args + i] == s;
      }
      if (inner == T->readers[s]) continue;
      T->inside[T->members[m]] = 0;
      T->members[m--] = T->members[--n];
      changed = true;
    }
  }
  return n;
}

static int cmp_i32(const void *x, const void *y) {
  int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
  return (a > b) - (a < b);
}

/* Builds group G from the members (sorted); false if it does not fit the
 * limits (the members then stay unfused). */
static bool build_group(ft_fused *G, const plan_tmp *T, int32_t n, int32_t *ext, int32_t *next_out) {
  const tinstr *R = &ft_tr.ins[T->members[n - 1]];
  const ft_tensor *ro = slot_value(ft_tr.args[R->args + R->nin]);
  G->dt = ro->dtype;
  G->ndim = ro->ndim;
  memcpy(G->shape, ro->shape, sizeof(int64_t) * (size_t)ro->ndim);
  G->steal = -1;
  int32_t next = 0, nbuf = 0, nfree = 0, freebuf[FUSE_MAX_BUF];
  int32_t slotbuf[FUSE_MAX_STEPS]; /* buffer of each member's result */
  int32_t left[FUSE_MAX_STEPS];    /* reads of it still to come */
  if (!(G->steps = calloc((size_t)n, sizeof *G->steps))) return false;
  for (int32_t i = 0; i < n; i++) {
    const tinstr *I = &ft_tr.ins[T->members[i]];
    const int32_t *a = ft_tr.args + I->args;
    fstep *S = &G->steps[i];
    S->op = I->op;
    S->kernel = ft_ops[I->op]->fuse;
    S->nin = I->nin;
    for (int j = 0; j < I->nin; j++) {
      int32_t s = a[j], q = -1;
      for (int32_t m = 0; m < i && q < 0; m++)
        if (ft_tr.args[ft_tr.ins[T->members[m]].args + ft_tr.ins[T->members[m]].nin] == s) q = m;
      if (q >= 0) { /* a member's result: its buffer, free after its last read */
        S->src_kind[j] = SRC_BUF;
        S->src[j] = slotbuf[q];
        if (--left[q] == 0) freebuf[nfree++] = slotbuf[q], S->last[j] = 1;
        continue;
      }
      int32_t e = 0;
      while (e < next && ext[e] != s) e++;
      if (e == next) {
        if (next == FUSE_MAX_EXT) return false;
        ext[next++] = s;
      }
      S->src_kind[j] = SRC_EXT;
      S->src[j] = e;
    }
    if (i == n - 1) { S->dst = -1; break; }
    /* elementwise kernels may write over an input of the same layout */
    if (nfree) S->dst = freebuf[--nfree];
    else if (nbuf == FUSE_MAX_BUF) return false;
    else S->dst = nbuf++;
    slotbuf[i] = S->dst;
    left[i] = T->readers[ft_tr.args[I->args + I->nin]];
  }
  G->nsteps = n;
  G->nbuf = nbuf;
  G->next = next;
  if (!(G->ext_ndim = calloc((size_t)next, sizeof *G->ext_ndim)) ||
      !(G->ext_shape = calloc((size_t)next * FT_MAX_DIMS, sizeof *G->ext_shape)) ||
      !(G->ext_strides = calloc((size_t)next * FT_MAX_DIMS, sizeof *G->ext_strides)) ||
      !(G->ext_rs = calloc((size_t)next, sizeof *G->ext_rs)) || !(G->ext_cs = calloc((size_t)next, sizeof *G->ext_cs)) ||
      !(G->scratch = malloc((size_t)(nbuf ? nbuf : 1) * FUSE_BLOCK_BYTES)))
    return false;
  for (int32_t e = 0; e < next; e++) {
    const ft_tensor *t = slot_value(ext[e]);
    G->ext_ndim[e] = t->ndim;
    memcpy(G->ext_shape + (size_t)e * FT_MAX_DIMS, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    memcpy(G->ext_strides + (size_t)e * FT_MAX_DIMS, t->strides, sizeof(int64_t) * (size_t)t->ndim);
    if (G->steal < 0 && ft_tr.slots[ext[e]].kind == SLOT_VALUE && same_shape(t, G->shape, G->ndim) && ft_is_contiguous(t))
      G->steal = e;
  }
  *next_out = next;
  return merge_layout(G, ext, next);
}

/* Room for n more instruction arguments. */
static bool reserve_args(int32_t n) {
  if (ft_tr.nargs + n <= ft_tr.cargs) return true;
  int32_t c = ft_tr.cargs ? ft_tr.cargs : 16;
  while (c < ft_tr.nargs + n) c *= 2;
  int32_t *q = realloc(ft_tr.args, (size_t)c * sizeof *q);
  if (!q) return false;
  ft_tr.args = q;
  ft_tr.cargs = c;
  return true;
}

ft_status ft_fuse_plan(uint8_t *live, ft_fused **groups, int32_t *ngroups, int32_t *nfused) {
  int32_t N = ft_tr.nins, S = ft_tr.nslots, ng = 0, cap = 0, fused = 0;
  ft_fused *gs = NULL;
  plan_tmp T = {0};
  int32_t ext[FUSE_MAX_EXT];
  ft_status st = FT_ERR_OOM;
  *groups = NULL;
  *ngroups = *nfused = 0;
  if (!(T.readers = calloc((size_t)(S ? S : 1), sizeof *T.readers)) ||
      !(T.assigns = calloc((size_t)N + 1, sizeof *T.assigns)) ||
      !(T.members = calloc(FUSE_MAX_STEPS, sizeof *T.members)) || !(T.grouped = calloc((size_t)(N ? N : 1), 1)) ||
      !(T.inside = calloc((size_t)(N ? N : 1), 1)) || !(T.pinned = calloc((size_t)(S ? S : 1), 1)))
    goto done;
  for (int32_t j = 0; j < ft_tr.nouts; j++) T.pinned[ft_tr.outs[j]] = 1;
  for (int32_t k = 0; k < N; k++) {
    const tinstr *I = &ft_tr.ins[k];
    T.assigns[k + 1] = T.assigns[k] + (live[k] && I->op == OP_ASSIGN);
    if (!live[k]) continue;
    for (int i = 0; i < I->nin; i++) T.readers[ft_tr.args[I->args + i]]++;
  }
  for (int32_t root = N - 1; root >= 0; root--) {
    if (!live[root] || T.grouped[root] || !fusible(root)) continue;
    const tinstr *R = &ft_tr.ins[root];
    const ft_tensor *ro = slot_value(ft_tr.args[R->args + R->nin]);
    /* grow the chain: a worklist over the members' inputs */
    int32_t n = 0;
    T.members[n++] = root;
    T.inside[root] = 1;
    for (int32_t w = 0; w < n; w++) {
      const tinstr *I = &ft_tr.ins[T.members[w]];
      for (int i = 0; i < I->nin && n < FUSE_MAX_STEPS; i++) {
        int32_t p = joinable(&T, live, ft_tr.args[I->args + i], root, ro);
        if (p < 0) continue;
        T.members[n++] = p;
        T.inside[p] = 1;
      }
    }
    n = only_internal_reads(&T, n);
    for (int32_t m = 0; m < n; m++) T.inside[T.members[m]] = 0;
    if (n < 2) continue;
    qsort(T.members, (size_t)n, sizeof *T.members, cmp_i32);
    if (ng == cap) {
      int32_t nc = cap ? cap * 2 : 8;
      ft_fused *q = realloc(gs, (size_t)nc * sizeof *gs);
      if (!q) goto done;
      gs = q;
      cap = nc;
    }
    ft_fused *G = &gs[ng];
    memset(G, 0, sizeof *G);
    int32_t next = 0;
    int32_t out_slot = ft_tr.args[R->args + R->nin];
    if (!build_group(G, &T, n, ext, &next) || !reserve_args(next + 1)) {
      clear_group(G); /* the members stay as they are */
      continue;
    }
    /* the root becomes the fused instruction: externals in, the root's result out */
    int32_t at = ft_tr.nargs;
    memcpy(ft_tr.args + at, ext, sizeof(int32_t) * (size_t)next);
    ft_tr.args[at + next] = out_slot;
    ft_tr.nargs += next + 1;
    ft_tr.ins[root] = (tinstr){.op = OP_FUSED, .nin = next, .nout = 1, .args = at, .attr = ng, .base = 1};
    for (int32_t m = 0; m < n; m++) {
      T.grouped[T.members[m]] = 1;
      if (T.members[m] != root) live[T.members[m]] = 0;
    }
    fused += n;
    ng++;
  }
  *groups = gs;
  *ngroups = ng;
  *nfused = fused;
  gs = NULL;
  st = FT_OK;
done:
  ft_fused_free(gs, ng);
  free(T.readers); free(T.pinned); free(T.assigns); free(T.members); free(T.grouped); free(T.inside);
  return st;
}

/* ---- running --------------------------------------------------------------------- */

/* Externals laid out as in the trace (dtype and shape, then strides). */
static bool layout_as_traced(const ft_fused *G, ft_tensor *const *in) {
  for (int32_t e = 0; e < G->next; e++) {
    const ft_tensor *t = in[e];
    if (t->dtype != G->dt || t->ndim != G->ext_ndim[e]) return false;
    const int64_t *sh = G->ext_shape + (size_t)e * FT_MAX_DIMS, *st = G->ext_strides + (size_t)e * FT_MAX_DIMS;
    for (int d = 0; d < t->ndim; d++)
      if (t->shape[d] != sh[d] || (sh[d] != 1 && t->strides[d] != st[d])) return false;
  }
  return true;
}

/* The chain's evals one by one (an external laid out unlike the trace). */
static ft_status run_unfused(const ft_fused *G, ft_tensor *const *in, ft_tensor **out) {
  static const ft_attrs no_attrs;
  ft_tensor *buf[FUSE_MAX_BUF] = {0};
  ft_status st = FT_OK;
  for (int32_t i = 0; i < G->nsteps && !st; i++) {
    const fstep *S = &G->steps[i];
    ft_tensor *args[2], *r = NULL;
    for (int j = 0; j < S->nin; j++) args[j] = S->src_kind[j] == SRC_EXT ? in[S->src[j]] : buf[S->src[j]];
    st = ft_ops[S->op]->eval(args, S->nin, &no_attrs, &r);
    for (int j = 0; j < S->nin; j++)
      if (S->src_kind[j] == SRC_BUF && S->last[j]) { ft_release(buf[S->src[j]]); buf[S->src[j]] = NULL; }
    if (st) break;
    if (S->dst >= 0) buf[S->dst] = r;
    else *out = r;
  }
  for (int b = 0; b < FUSE_MAX_BUF; b++) ft_release(buf[b]);
  return st;
}

ft_status ft_fused_run(ft_fused *G, ft_tensor *const *in, int32_t steal, ft_tensor **out, bool *stolen) {
  *stolen = false;
  if (!layout_as_traced(G, in)) return run_unfused(G, in, out);
  ft_tensor *o;
  if (steal >= 0 && steal == G->steal) {
    o = in[steal];
    o->storage->version++;
    *stolen = true;
  } else {
    FT_TRY(ft_tensor_empty(G->shape, G->ndim, G->dt, &o));
  }
  const size_t esz = ft_dtype_size(G->dt);
  const int64_t blk = FUSE_BLOCK_BYTES / (int64_t)esz, R = G->rows, C = G->cols;
  const int64_t rb = C >= blk ? 1 : blk / C, cb = C >= blk ? blk : C;
  char *ext[FUSE_MAX_EXT];
  for (int32_t e = 0; e < G->next; e++) ext[e] = ft_data_ptr(in[e]);
  char *odata = ft_data_ptr(o), *scratch = G->scratch;
  for (int64_t r0 = 0; r0 < R; r0 += rb) {
    const int64_t rn = R - r0 < rb ? R - r0 : rb;
    for (int64_t c0 = 0; c0 < C; c0 += cb) {
      const int64_t cn = C - c0 < cb ? C - c0 : cb;
      const int64_t shape[2] = {rn, cn}, bst[2] = {cn, 1}, ost[2] = {C, 1};
      for (int32_t i = 0; i < G->nsteps; i++) {
        const fstep *S = &G->steps[i];
        const void *x[2];
        int64_t xs[2][2];
        for (int j = 0; j < S->nin; j++) {
          if (S->src_kind[j] == SRC_EXT) {
            int32_t e = S->src[j];
            x[j] = ext[e] + (size_t)(r0 * G->ext_rs[e] + c0 * G->ext_cs[e]) * esz;
            xs[j][0] = G->ext_rs[e];
            xs[j][1] = G->ext_cs[e];
          } else {
            x[j] = scratch + (size_t)S->src[j] * FUSE_BLOCK_BYTES;
            xs[j][0] = bst[0];
            xs[j][1] = bst[1];
          }
        }
        void *y = S->dst >= 0 ? scratch + (size_t)S->dst * FUSE_BLOCK_BYTES : odata + (size_t)(r0 * C + c0) * esz;
        const int64_t *ys = S->dst >= 0 ? bst : ost;
        if (S->kernel & 0x200)
          ft_k_binary((ft_binary_kind)(S->kernel & 0xff), G->dt, 2, shape, x[0], xs[0], x[1], xs[1], y, ys);
        else
          ft_k_unary((ft_unary_kind)(S->kernel & 0xff), G->dt, 2, shape, x[0], xs[0], y, ys);
      }
    }
  }
  *out = o;
  return FT_OK;
}
