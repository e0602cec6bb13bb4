/* func.compile's programs: building one from a trace (dead instructions,
 * the memory plan, snapshots of tensors f made) and replaying it (NOTE:
 * [tracing] in trace.c). */
#include "trace_impl.h"
#include "../ops/ops.h"
#include <stdlib.h>

typedef struct pinstr {
  int32_t op, nin, nout, args, attr, base;
  int32_t frees, nfree; /* value slots released after this instruction */
  int32_t steal;        /* OP_FUSED: the input its result may be written into (it dies here), or -1 */
} pinstr;

typedef struct pmat {
  int32_t slot, snap;
  ft_dtype dtype;
  int32_t ndim;
  int64_t offset;
  int64_t shape[FT_MAX_DIMS], strides[FT_MAX_DIMS];
} pmat;

struct ft_program {
  int32_t nslots, ninputs, nconsts, ninstr, noutputs, maxin, ndead;
  int32_t ngroups, nfused; /* fused elementwise groups, and the instructions in them */
  ft_fused *groups;
  int32_t nsnaps, nmats;
  void **snap_copy;     /* [nsnaps], owned */
  size_t *snap_bytes;   /* [nsnaps] */
  ft_storage **snap_st; /* [nsnaps]: replay scratch */
  pmat *mats;           /* [nmats]: tensors made fresh by each replay from a snapshot */
  ft_tensor **in, **out; /* [ninputs], [noutputs]: the caller's */
  int32_t *in_slot;      /* [ninputs] */
  ft_dtype *in_dtype;    /* [ninputs] */
  int32_t *in_ndim;      /* [ninputs] */
  int64_t *in_shape;     /* [ninputs * FT_MAX_DIMS] */
  ft_tensor **consts;    /* [nconsts], owned */
  int32_t *const_slot;   /* [nconsts] */
  uint8_t *const_live;   /* [nconsts]: wrapped at a live level when traced */
  uint8_t *in_live;      /* [ninputs]: the same, for the inputs */
  bool stale;            /* a constant's level changed since: trace again */
  pinstr *ins;
  int32_t *args, *frees;
  ft_attrs *attrs;
  int32_t *out_slot;  /* [noutputs] */
  uint8_t *out_take;  /* [noutputs]: hand over the slot's reference (else retain) */
  uint8_t *kind;      /* [nslots] */
  ft_tensor **slots;  /* [nslots]: replay scratch */
};

void ft_program_free(ft_program *p) {
  if (!p) return;
  for (int32_t c = 0; c < p->nconsts; c++) ft_release(p->consts[c]);
  for (int32_t k = 0; k < p->nsnaps; k++) free(p->snap_copy[k]);
  free(p->snap_copy); free(p->snap_bytes); free(p->snap_st); free(p->mats);
  free(p->in); free(p->out); free(p->in_slot); free(p->in_dtype); free(p->in_ndim); free(p->in_shape);
  free(p->consts); free(p->const_slot); free(p->const_live); free(p->in_live); free(p->ins); free(p->args); free(p->frees); free(p->attrs);
  free(p->out_slot); free(p->out_take); free(p->kind); free(p->slots);
  ft_fused_free(p->groups, p->ngroups);
  free(p);
}

#define ALLOC(ptr, n) (((ptr) = calloc((size_t)((n) > 0 ? (n) : 1), sizeof *(ptr))) != NULL)

ft_status ft_trace_build(bool fuse, ft_program **out) {
  ft_program *p = calloc(1, sizeof *p);
  int32_t S = ft_tr.nslots, N = ft_tr.nins;
  uint8_t *used = calloc((size_t)(S > 0 ? S : 1), 1), *live = calloc((size_t)(N > 0 ? N : 1), 1);
  int32_t *last = NULL, *newidx = NULL, *cmap = NULL, *smap = NULL;
  ft_status st = FT_ERR_OOM;
  if (!p || !used || !live || !ALLOC(last, S) || !ALLOC(newidx, N) || !ALLOC(cmap, ft_tr.nconsts) || !ALLOC(smap, ft_tr.nsnaps))
    goto fail;
  /* dead instructions: results nobody uses, from ops without side effects */
  for (int32_t j = 0; j < ft_tr.nouts; j++) used[ft_tr.outs[j]] = 1;
  for (int32_t k = N - 1; k >= 0; k--) {
    const tinstr *I = &ft_tr.ins[k];
    const int32_t *a = ft_tr.args + I->args;
    bool keep = I->op == OP_ASSIGN || (ft_ops[I->op]->flags & FT_F_RANDOM);
    for (int j = 0; j < I->nout && !keep; j++) keep = used[a[I->nin + j]];
    if (!keep) continue;
    live[k] = 1;
    for (int i = 0; i < I->nin; i++) used[a[i]] = 1;
  }
  for (int32_t k = 0; k < N; k++) p->ndead += !live[k];
  if (fuse && (st = ft_fuse_plan(live, &p->groups, &p->ngroups, &p->nfused))) goto fail;
  st = FT_ERR_OOM;
  int32_t n = 0, nargs = 0, nattr = 0, nconst = 0;
  for (int32_t k = 0; k < N; k++) {
    newidx[k] = live[k] ? n++ : -1;
    if (live[k]) { nargs += ft_tr.ins[k].nin + ft_tr.ins[k].nout; nattr += ft_tr.ins[k].attr >= 0 && ft_tr.ins[k].op != OP_FUSED; }
  }
  /* constants f made and the program writes or returns are remade by each replay */
  int32_t nmat = 0, nsnap = 0;
  for (int32_t k = 0; k < ft_tr.nsnaps; k++) smap[k] = -1;
  for (int32_t c = 0; c < ft_tr.nconsts; c++) {
    cmap[c] = -1;
    if (!used[ft_tr.const_slot[c]]) continue;
    int32_t k = ft_trace_snap_of(ft_base_value(ft_tr.consts[c])->storage);
    if (k < 0) { cmap[c] = nconst++; continue; }
    cmap[c] = -2 - nmat++;
    if (smap[k] < 0) smap[k] = nsnap++;
  }
  p->nslots = S;
  p->ninputs = ft_tr.ninputs;
  p->nconsts = nconst;
  p->ninstr = n;
  p->noutputs = ft_tr.nouts;
  if (!ALLOC(p->in, ft_tr.ninputs) || !ALLOC(p->out, ft_tr.nouts) || !ALLOC(p->in_slot, ft_tr.ninputs) ||
      !ALLOC(p->in_dtype, ft_tr.ninputs) || !ALLOC(p->in_ndim, ft_tr.ninputs) ||
      !ALLOC(p->in_shape, (int64_t)ft_tr.ninputs * FT_MAX_DIMS) || !ALLOC(p->consts, nconst) ||
      !ALLOC(p->const_slot, nconst) || !ALLOC(p->const_live, nconst) || !ALLOC(p->in_live, ft_tr.ninputs) || !ALLOC(p->ins, n) || !ALLOC(p->args, nargs) || !ALLOC(p->frees, nargs) ||
      !ALLOC(p->attrs, nattr) || !ALLOC(p->out_slot, ft_tr.nouts) || !ALLOC(p->out_take, ft_tr.nouts) ||
      !ALLOC(p->kind, S) || !ALLOC(p->slots, S) || !ALLOC(p->snap_copy, nsnap) || !ALLOC(p->snap_bytes, nsnap) ||
      !ALLOC(p->snap_st, nsnap) || !ALLOC(p->mats, nmat))
    goto fail;
  for (int32_t s = 0; s < S; s++) p->kind[s] = ft_tr.slots[s].kind;
  for (int32_t k = 0; k < ft_tr.ninputs; k++) {
    const ft_tensor *t = ft_tr.in_meta[k];
    p->in_slot[k] = ft_tr.inputs[k];
    p->in_dtype[k] = t->dtype;
    p->in_ndim[k] = t->ndim;
    p->in_live[k] = ft_tr.in_live[k];
    memcpy(p->in_shape + (size_t)k * FT_MAX_DIMS, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  }
  for (int32_t k = 0; k < ft_tr.nsnaps; k++) {
    if (smap[k] < 0) continue;
    p->snap_copy[smap[k]] = ft_tr.snaps[k].copy; /* the program's now */
    p->snap_bytes[smap[k]] = ft_tr.snaps[k].nbytes;
    ft_tr.snaps[k].copy = NULL;
  }
  p->nsnaps = nsnap;
  for (int32_t c = 0; c < ft_tr.nconsts; c++) {
    int32_t s = ft_tr.const_slot[c];
    if (cmap[c] >= 0) {
      p->consts[cmap[c]] = ft_tr.consts[c];
      ft_retain(ft_tr.consts[c]);
      p->const_slot[cmap[c]] = s;
      p->const_live[cmap[c]] = ft_top_level(ft_tr.consts[c]) != 0;
    } else if (cmap[c] <= -2) {
      const ft_tensor *b = ft_base_value(ft_tr.consts[c]);
      pmat *m = &p->mats[p->nmats++];
      m->slot = s;
      m->snap = smap[ft_trace_snap_of(b->storage)];
      m->dtype = b->dtype;
      m->ndim = b->ndim;
      m->offset = b->offset;
      memcpy(m->shape, b->shape, sizeof m->shape);
      memcpy(m->strides, b->strides, sizeof m->strides);
      ft_tr.slots[s].kind = p->kind[s] = SLOT_VALUE; /* released after its last use, like a result */
    }
  }
  /* the memory plan: each value slot's last reader */
  for (int32_t s = 0; s < S; s++) last[s] = -1;
  for (int32_t k = 0; k < N; k++) {
    if (!live[k]) continue;
    const tinstr *I = &ft_tr.ins[k];
    for (int i = 0; i < I->nin; i++) last[ft_tr.args[I->args + i]] = newidx[k];
  }
  memset(used, 0, (size_t)S); /* now: pinned as an output */
  for (int32_t j = 0; j < ft_tr.nouts; j++) {
    int32_t s = ft_tr.outs[j];
    p->out_slot[j] = s;
    p->out_take[j] = ft_tr.slots[s].kind == SLOT_VALUE && !used[s];
    used[s] = 1;
  }
  int32_t na = 0, nf = 0, ni = 0, nat = 0;
  for (int32_t k = 0; k < N; k++) {
    if (!live[k]) continue;
    const tinstr *I = &ft_tr.ins[k];
    pinstr *P = &p->ins[ni];
    P->op = I->op;
    P->nin = I->nin;
    P->nout = I->nout;
    P->base = I->base;
    P->args = na;
    memcpy(p->args + na, ft_tr.args + I->args, sizeof(int32_t) * (size_t)(I->nin + I->nout));
    na += I->nin + I->nout;
    if (I->nin > p->maxin) p->maxin = I->nin;
    P->attr = -1;
    P->steal = -1;
    if (I->op == OP_FUSED) {
      P->attr = I->attr; /* the group */
      int32_t c = ft_fused_steal_candidate(ft_fused_group(p->groups, I->attr));
      int32_t s = c >= 0 ? ft_tr.args[I->args + c] : -1;
      if (s >= 0 && ft_tr.slots[s].kind == SLOT_VALUE && !used[s] && last[s] == ni) P->steal = c;
    } else if (I->attr >= 0) {
      p->attrs[nat] = ft_tr.attrs[I->attr];
      P->attr = nat++;
    }
    P->frees = nf;
    /* results read by nobody, then slots whose last reader this is */
    for (int j = 0; j < I->nout; j++) {
      int32_t s = ft_tr.args[I->args + I->nin + j];
      if (!used[s] && last[s] < 0) p->frees[nf++] = s;
    }
    for (int i = 0; i < I->nin; i++) {
      int32_t s = ft_tr.args[I->args + i];
      bool dup = false;
      for (int q = 0; q < i; q++) dup |= ft_tr.args[I->args + q] == s;
      if (!dup && ft_tr.slots[s].kind == SLOT_VALUE && !used[s] && last[s] == ni) p->frees[nf++] = s;
    }
    P->nfree = nf - P->frees;
    ni++;
  }
  *out = p;
  p = NULL;
  st = FT_OK;
fail:
  if (st) ft_error(st, "out of memory building a compiled program");
  ft_program_free(p);
  free(used); free(live); free(last); free(newidx); free(cmap); free(smap);
  return st;
}

ft_tensor **ft_program_inputs(ft_program *p) { return p->in; }
ft_tensor **ft_program_outputs(ft_program *p) { return p->out; }

int32_t ft_program_info(const ft_program *p, int which) {
  switch (which) {
    case 0: return p->ninputs;
    case 1: return p->noutputs;
    case 2: return p->ninstr;
    case 3: return p->nconsts;
    case 4: return p->nslots;
    case 5: return p->ndead;
    case 6: return p->stale;
    case 7: return p->ngroups;
    case 8: return p->nfused;
    default: return -1;
  }
}

static ft_status check_input(const ft_program *p, int32_t k, const ft_tensor *t) {
  if (!t) return ft_error(FT_ERR_VALUE, "compiled program: input %d is missing", (int)k);
  if (t->refcount <= 0) return ft_error(FT_ERR_RUNTIME, "compiled program: input %d has been disposed", (int)k);
  bool same = t->dtype == p->in_dtype[k] && t->ndim == p->in_ndim[k];
  const int64_t *shape = p->in_shape + (size_t)k * FT_MAX_DIMS;
  for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == shape[d];
  if (same) return FT_OK;
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  return ft_error(FT_ERR_VALUE, "compiled program: input %d is %s %s, but the program was traced for %s %s", (int)k,
                  ft_dtype_name(t->dtype), ft_shape_str(t->shape, t->ndim, b1, sizeof b1),
                  ft_dtype_name(p->in_dtype[k]), ft_shape_str(shape, p->in_ndim[k], b2, sizeof b2));
}

/* The tensors f made and the program writes or returns, new for this replay. */
static ft_status remake(ft_program *p) {
  ft_status st = FT_OK;
  int32_t k = 0;
  for (; k < p->nsnaps && !st; k++) {
    st = ft_storage_new(p->snap_bytes[k], &p->snap_st[k]);
    if (!st) memcpy(p->snap_st[k]->data, p->snap_copy[k], p->snap_bytes[k]);
  }
  if (st) k--;
  for (int32_t j = 0; j < p->nmats && !st; j++) {
    const pmat *m = &p->mats[j];
    ft_tensor *t;
    if ((st = ft_tensor_alloc(&t))) break;
    t->dtype = m->dtype;
    t->ndim = m->ndim;
    memcpy(t->shape, m->shape, sizeof t->shape);
    memcpy(t->strides, m->strides, sizeof t->strides);
    t->numel = ft_shape_numel(m->shape, m->ndim);
    t->offset = m->offset;
    t->storage = p->snap_st[m->snap];
    ft_storage_retain(t->storage);
    p->slots[m->slot] = t;
  }
  for (int32_t q = 0; q < k; q++) ft_storage_release(p->snap_st[q]); /* the tensors hold them */
  return st;
}

ft_status ft_program_run(ft_program *p) {
  static const ft_attrs no_attrs;
  if (ft_trace_on) return ft_error(FT_ERR_RUNTIME, "compile: a compiled program cannot replay while a trace records");
  ft_tensor **S = p->slots;
  for (int32_t k = 0; k < p->ninputs; k++) {
    FT_TRY(check_input(p, k, p->in[k]));
    if ((ft_top_level(p->in[k]) != 0) != p->in_live[k]) {
      p->stale = true;
      return ft_error(FT_ERR_RUNTIME, "compile: input %d is wrapped by a transform differently than in the trace", (int)k);
    }
  }
  for (int32_t c = 0; c < p->nconsts; c++) {
    if ((ft_top_level(p->consts[c]) != 0) != p->const_live[c]) {
      p->stale = true;
      return ft_error(FT_ERR_RUNTIME, "compile: a tensor the program captured changed transform level since it was traced");
    }
  }
  for (int32_t k = 0; k < p->ninputs; k++) S[p->in_slot[k]] = p->in[k];
  for (int32_t c = 0; c < p->nconsts; c++) S[p->const_slot[c]] = p->consts[c];
  ft_tensor *inb[p->maxin > 0 ? p->maxin : 1];
  ft_status st = FT_OK;
  if (p->nmats && (st = remake(p))) goto fail;
  for (int32_t k = 0; k < p->ninstr; k++) {
    const pinstr *I = &p->ins[k];
    const int32_t *a = p->args + I->args;
    if (I->op == OP_ASSIGN) {
      st = I->base ? ft_assign_impl(ft_base_value(S[a[0]]), ft_base_value(S[a[1]])) : ft_assign_(S[a[0]], S[a[1]]);
    } else if (I->op == OP_FUSED) {
      for (int i = 0; i < I->nin; i++) inb[i] = ft_base_value(S[a[i]]);
      int32_t steal = I->steal;
      if (steal >= 0) { /* only a plain value nothing else holds */
        const ft_tensor *t = S[a[steal]];
        if (t != inb[steal] || t->refcount != 1 || t->storage->refcount != 1) steal = -1;
      }
      ft_tensor *o = NULL;
      bool stolen = false;
      st = ft_fused_run(ft_fused_group(p->groups, I->attr), inb, steal, &o, &stolen);
      if (!st) {
        if (stolen) S[a[steal]] = NULL;
        S[a[I->nin]] = o;
      }
    } else {
      const ft_attrs *at = I->attr >= 0 ? &p->attrs[I->attr] : &no_attrs;
      ft_tensor *ob[FT_MAX_OUTS] = {0};
      if (I->base) { /* as the trace ran it: the eval on plain values, no dispatch */
        for (int i = 0; i < I->nin; i++) inb[i] = ft_base_value(S[a[i]]);
        st = ft_ops[I->op]->eval(inb, I->nin, at, ob);
      } else {
        for (int i = 0; i < I->nin; i++) inb[i] = S[a[i]];
        st = ft_dispatch((ft_op)I->op, I->nin, inb, at, ob);
      }
      if (!st)
        for (int j = 0; j < I->nout; j++) S[a[I->nin + j]] = ob[j];
    }
    if (st) goto fail;
    const int32_t *f = p->frees + I->frees;
    for (int32_t q = 0; q < I->nfree; q++) {
      ft_release(S[f[q]]);
      S[f[q]] = NULL;
    }
  }
  for (int32_t j = 0; j < p->noutputs; j++) {
    ft_tensor *t = S[p->out_slot[j]];
    if (!p->out_take[j]) ft_retain(t);
    p->out[j] = t;
  }
  for (int32_t s = 0; s < p->nslots; s++) S[s] = NULL;
  return FT_OK;
fail:
  for (int32_t s = 0; s < p->nslots; s++) {
    if (p->kind[s] == SLOT_VALUE) ft_release(S[s]);
    S[s] = NULL;
  }
  return st;
}
