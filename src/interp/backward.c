/* The reverse pass of a grad level (see NOTE: [saved values] in grad.c). */
#include "../core.h"
#include "../ops/ops.h"
#include "reach.h"

typedef struct {
  ft_node **v;
  int n, cap;
} node_vec;

static ft_status vec_push(node_vec *s, ft_node *n) {
  if (s->n == s->cap) {
    int cap = s->cap ? s->cap * 2 : 64;
    ft_node **nv = ft_pool_alloc(sizeof(ft_node *) * (size_t)cap);
    if (!nv) return ft_error(FT_ERR_OOM, "out of memory during backward");
    if (s->v) { memcpy(nv, s->v, sizeof(ft_node *) * (size_t)s->n); ft_pool_free(s->v, sizeof(ft_node *) * (size_t)s->cap); }
    s->v = nv;
    s->cap = cap;
  }
  s->v[s->n++] = n;
  return FT_OK;
}
static void vec_free(node_vec *s) {
  if (s->v) ft_pool_free(s->v, sizeof(ft_node *) * (size_t)s->cap);
}

/* Post-order of the nodes reachable from the roots, iteratively (graphs can
 * be as deep as a training loop is long). `mark` holds the generation. */
static ft_status topo_order(int nroots, ft_tensor *const *roots, uint32_t gen, node_vec *order) {
  node_vec stack = {0};
  ft_status st = FT_OK;
  for (int r = 0; r < nroots && !st; r++) {
    ft_node *n = roots[r]->node;
    if (!n || n->mark == gen || n->mark == gen + 1) continue;
    n->mark = gen; /* gen: on the stack; gen + 1: emitted */
    if ((st = vec_push(&stack, n))) break;
    while (stack.n && !st) {
      ft_node *top = stack.v[stack.n - 1];
      bool pushed = false;
      for (int i = 0; i < top->nin; i++) {
        ft_node *c = top->edges[i].node;
        if (c && c->mark != gen && c->mark != gen + 1) {
          c->mark = gen;
          if ((st = vec_push(&stack, c))) break;
          pushed = true;
          break;
        }
      }
      if (st) break;
      if (!pushed) {
        stack.n--;
        top->mark = gen + 1;
        st = vec_push(order, top);
      }
    }
  }
  vec_free(&stack);
  return st;
}

static ft_status accumulate(ft_tensor **slot, ft_tensor *g) {
  if (!*slot) { ft_retain(g); *slot = g; return FT_OK; }
  ft_tensor *s;
  FT_TRY(ft_add(*slot, g, &s));
  ft_release(*slot);
  *slot = s;
  return FT_OK;
}

static const char *op_name(ft_op op) { return ft_ops[op]->name; }

static ft_status check_version(ft_node *n, ft_tensor *v, uint32_t ver, const char *what, int idx) {
  if (!v) return FT_OK;
  uint32_t now = ft_base_value(v)->storage->version;
  if (now == ver) return FT_OK;
  char b[FT_SHAPE_BUF];
  return ft_error(FT_ERR_RUNTIME,
                  "one of the variables needed for gradient computation has been modified by an inplace operation: "
                  "[%s %s], which is %s %d of %s's backward, is at version %u; expected version %u instead.",
                  ft_dtype_name(v->dtype), ft_shape_str(v->shape, v->ndim, b, sizeof b), what, idx,
                  op_name(n->op), now, ver);
}

/* Rebuilds the level's wrapper for a saved value (create_graph only). */
static ft_status rewrap(int32_t L, ft_tensor *v, ft_node *node, int32_t idx, ft_tensor *leaf, ft_tensor **out) {
  if (leaf) { ft_retain(leaf); *out = leaf; return FT_OK; }
  if (!node) { ft_retain(v); *out = v; return FT_OK; }
  FT_TRY(ft_wrapper_new(L, v, out));
  (*out)->node = node;
  node->refcount++;
  (*out)->out_idx = idx;
  (*out)->requires_grad = true;
  return FT_OK;
}

static ft_status run_node(int32_t L, ft_node *n, bool create_graph) {
  const ft_op_def *d = ft_ops[n->op];
  int nin = n->nin, nout = n->nout;
  ft_tensor *gout[nout], *gin[nin], *sin[nin], *sout[nout];
  bool need[nin];
  ft_status st = FT_OK;
  memset(gin, 0, sizeof gin);
  memset(sin, 0, sizeof sin);
  memset(sout, 0, sizeof sout);
  memset(gout, 0, sizeof gout);
  bool any = false;
  for (int i = 0; i < nin; i++) any |= (need[i] = n->edges[i].node || n->edges[i].leaf);
  if (!any) return FT_OK;
  if (n->released)
    return ft_error(FT_ERR_RUNTIME,
                    "Trying to backward through the graph a second time (or directly access saved tensors after they "
                    "have already been freed). Saved intermediate values of the graph are freed when you call "
                    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                    "graph a second time or if you need to access saved tensors after calling backward.");
  for (int i = 0; i < nin; i++) FT_CHECK(check_version(n, n->saved_in[i], n->saved_ver[i], "input", i));
  for (int j = 0; j < nout; j++) FT_CHECK(check_version(n, n->saved_out[j], n->saved_ver[nin + j], "output", j));
  for (int j = 0; j < nout; j++) {
    if (n->gacc[j]) { gout[j] = n->gacc[j]; n->gacc[j] = NULL; continue; }
    FT_CHECK(ft_zeros(n->out_shapes + (size_t)j * FT_MAX_DIMS, n->out_ndim[j], n->out_dtype[j], &gout[j]));
  }
  for (int i = 0; i < nin; i++) {
    if (!n->saved_in[i]) continue;
    if (create_graph) FT_CHECK(rewrap(L, n->saved_in[i], n->edges[i].node, n->edges[i].idx, n->edges[i].leaf, &sin[i]));
    else { sin[i] = n->saved_in[i]; ft_retain(sin[i]); }
  }
  for (int j = 0; j < nout; j++) {
    if (!n->saved_out[j]) continue;
    if (create_graph) FT_CHECK(rewrap(L, n->saved_out[j], n, j, NULL, &sout[j]));
    else { sout[j] = n->saved_out[j]; ft_retain(sout[j]); }
  }
  ft_vjp_ctx c = {.at = &n->at, .nin = nin, .nout = nout, .in = sin, .out = sout, .need = need,
                  .in_shapes = n->in_shapes, .in_ndim = n->in_ndim, .in_dtype = n->in_dtype,
                  .out_shapes = n->out_shapes, .out_ndim = n->out_ndim};
  FT_CHECK(d->vjp(&c, gout, gin));
  for (int i = 0; i < nin; i++) {
    if (!need[i] || !gin[i]) continue;
    ft_edge *e = &n->edges[i];
    if (e->node) FT_CHECK(accumulate(&e->node->gacc[e->idx], gin[i]));
    /* a leaf that stopped requiring grad after the graph used it gets
     * nothing, as PyTorch's AccumulateGrad does */
    else if (e->leaf->requires_grad) FT_CHECK(accumulate(&e->leaf->grad, gin[i]));
  }
fail:
  for (int i = 0; i < nin; i++) { ft_release(gin[i]); ft_release(sin[i]); }
  for (int j = 0; j < nout; j++) { ft_release(gout[j]); ft_release(sout[j]); }
  return st;
}

ft_status ft_backward(int32_t level, int nroots, ft_tensor *const *roots, ft_tensor *const *grads, bool retain_graph,
                      bool create_graph) {
  if (create_graph) retain_graph = true; /* as PyTorch: the recorded backward may need the graph again */
  ft_level *lv = ft_level_get(level);
  if (lv && lv->kind != FT_LV_GRAD) return ft_error(FT_ERR_RUNTIME, "backward: level %d is not a grad level", (int)level);
  ft_tensor *peeled[nroots > 0 ? nroots : 1];
  for (int r = 0; r < nroots; r++) {
    ft_tensor *p = ft_peel(roots[r], level);
    /* A disabled level still owns its wrappers for backward's purposes. */
    while (p->level > level) p = p->inner;
    if (p->level != level) {
      ft_tensor *q = roots[r];
      while (q->level > 0 && q->level != level) q = q->inner;
      p = q;
    }
    if (p->level != level || !p->requires_grad)
      return ft_error(FT_ERR_RUNTIME, "element %d of tensors does not require grad and does not have a grad_fn", r);
    peeled[r] = p;
    if (!grads || !grads[r]) {
      if (p->numel != 1) return ft_error(FT_ERR_RUNTIME, "grad can be implicitly created only for scalar outputs");
    } else {
      char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
      const ft_tensor *g = grads[r];
      bool same = g->ndim == p->ndim;
      for (int i = 0; same && i < p->ndim; i++) same = g->shape[i] == p->shape[i];
      if (!same)
        return ft_error(FT_ERR_VALUE, "Mismatch in shape: grad_output[%d] has a shape of %s and output[%d] has a shape of %s.",
                        r, ft_shape_str(g->shape, g->ndim, b1, sizeof b1), r, ft_shape_str(p->shape, p->ndim, b2, sizeof b2));
    }
  }
  /* The roots are held for the whole pass: the ops it dispatches may sync
   * a functionalize view, which replaces the value a root was peeled to. */
  for (int r = 0; r < nroots; r++) ft_retain(peeled[r]);
  /* A popped level (vjp's vjpFn runs after its transform returned) has no
   * recording to disable: its saved values live one level down. */
  if (!create_graph && lv) lv->disabled++;
  node_vec order = {0};
  ft_status st = FT_OK;
  uint32_t gen = 0;
  /* seed */
  for (int r = 0; r < nroots && !st; r++) {
    ft_tensor *p = peeled[r], *g;
    if (grads && grads[r]) {
      /* Without create_graph the seed is a value one level down, as PyTorch
       * detaches it (wrappers of popped levels are looked through anyway).
       * A seed that still refers to the root (x.backward(x), or a wrapper
       * of x) is copied, as PyTorch's AccumulateGrad copies: kept, it would
       * make the root own itself, a cycle that nothing can break. */
      g = grads[r];
      while (g->level > 0 && (!ft_level_get(g->level) || (!create_graph && g->level == level))) g = g->inner;
      unsigned how = 0;
      if (g != p && (st = ft_reach(g, p, &how))) break;
      if (g == p || how) {
        if ((st = ft_clone(g, &g))) break;
      } else {
        ft_retain(g);
      }
    }
    else { st = ft_ones(p->shape, p->ndim, p->dtype, &g); if (st) break; }
    if (p->node) st = accumulate(&p->node->gacc[p->out_idx], g);
    else st = accumulate(&p->grad, g);
    ft_release(g);
  }
  if (!st) {
    extern uint32_t ft_tape_next_generation(void);
    gen = ft_tape_next_generation();
    st = topo_order(nroots, peeled, gen, &order);
  }
  for (int k = order.n - 1; k >= 0 && !st; k--) {
    ft_node *n = order.v[k];
    st = run_node(level, n, create_graph);
    if (!retain_graph && (ft_ops[n->op]->flags & (FT_F_SAVE_IN | FT_F_SAVE_OUT))) {
      for (int i = 0; i < n->nin; i++) { ft_release(n->saved_in[i]); n->saved_in[i] = NULL; }
      for (int j = 0; j < n->nout; j++) { ft_release(n->saved_out[j]); n->saved_out[j] = NULL; }
      n->released = true;
    }
  }
  /* On error, drop partial accumulations so the next backward starts clean. */
  for (int k = 0; k < order.n; k++)
    for (int j = 0; j < order.v[k]->nout; j++) { ft_release(order.v[k]->gacc[j]); order.v[k]->gacc[j] = NULL; }
  vec_free(&order);
  if (!create_graph && lv) lv->disabled--;
  for (int r = 0; r < nroots; r++) ft_release(peeled[r]);
  return st;
}
