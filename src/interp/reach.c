/* Reference-cycle checks for in-place writes (grad.c, jvp.c).
 *
 * Writing a tracked value into a tensor gives the tensor that value's
 * history (a tape node, a tangent); when the tensor was plain, it becomes a
 * wrapper in place (ft_wrap_in_place), keeping its address, which
 * JavaScript holds. If anything reachable from the value already refers to
 * that address, the tensor would end up owning itself: a cycle that is never
 * freed, and for tangents a recursion without end. These walks find such
 * references: every pointer a tensor or a node owns is followed (inner,
 * tangent, grad and node; a node's edges, leaves, saved values and
 * accumulators), with a visited set so that shared subgraphs are walked
 * once, iteratively because graphs are as deep as programs are long. */
#include "reach.h"
#include <stdlib.h>

typedef struct walk {
  const void **seen; /* open addressing; NULL = empty */
  size_t seen_cap, nseen;
  uintptr_t *stack; /* pointers tagged in bit 0: 1 = node, 0 = tensor */
  size_t n, cap;
} walk;

static ft_status oom(void) { return ft_error(FT_ERR_OOM, "out of memory in an in-place operation"); }

static size_t slot_of(const void *p, size_t cap) {
  return (size_t)(((uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
}

/* Adds p to the visited set; *fresh says whether it was new. */
static ft_status see(walk *w, const void *p, bool *fresh) {
  if (2 * (w->nseen + 1) > w->seen_cap) {
    size_t cap = w->seen_cap ? 2 * w->seen_cap : 256;
    const void **v = calloc(cap, sizeof(void *));
    if (!v) return oom();
    for (size_t k = 0; k < w->seen_cap; k++) {
      if (!w->seen[k]) continue;
      size_t s = slot_of(w->seen[k], cap);
      while (v[s]) s = (s + 1) & (cap - 1);
      v[s] = w->seen[k];
    }
    free(w->seen);
    w->seen = v;
    w->seen_cap = cap;
  }
  size_t s = slot_of(p, w->seen_cap);
  for (; w->seen[s]; s = (s + 1) & (w->seen_cap - 1))
    if (w->seen[s] == p) { *fresh = false; return FT_OK; }
  w->seen[s] = p;
  w->nseen++;
  *fresh = true;
  return FT_OK;
}

static ft_status push(walk *w, const void *p, bool is_node) {
  if (!p) return FT_OK;
  bool fresh;
  FT_TRY(see(w, p, &fresh));
  if (!fresh) return FT_OK;
  if (w->n == w->cap) {
    size_t cap = w->cap ? 2 * w->cap : 64;
    uintptr_t *v = realloc(w->stack, sizeof(uintptr_t) * cap);
    if (!v) return oom();
    w->stack = v;
    w->cap = cap;
  }
  w->stack[w->n++] = (uintptr_t)p | (is_node ? 1u : 0u);
  return FT_OK;
}

static void walk_free(walk *w) {
  free(w->seen);
  free(w->stack);
}

/* Walks everything reachable from `from` without entering dp. Links to dp
 * are noted in *how by kind; with `redirect`, saved values that are dp are
 * replaced by dp->inner (dp must be a wrapper by then). */
static ft_status run(ft_tensor *from, ft_tensor *dp, bool redirect, unsigned *how) {
  walk w = {0};
  ft_status st = from == dp ? FT_OK : push(&w, from, false);
  if (from == dp) *how |= FT_REACH_OTHER;
#define LINK(p, kind, is_node)                     \
  do {                                             \
    if ((const void *)(p) == (const void *)dp) {   \
      *how |= (kind);                              \
    } else if ((st = push(&w, (p), (is_node)))) {  \
      goto done;                                   \
    }                                              \
  } while (0)
  while (!st && w.n) {
    uintptr_t top = w.stack[--w.n];
    if (top & 1) {
      ft_node *m = (ft_node *)(top & ~(uintptr_t)1);
      for (int i = 0; i < m->nin; i++) {
        LINK(m->edges[i].node, FT_REACH_OTHER, true);
        LINK(m->edges[i].leaf, FT_REACH_LEAF, false);
        if (redirect && m->saved_in[i] == dp) {
          ft_retain(dp->inner);
          m->saved_in[i] = dp->inner;
          ft_release(dp);
        }
        LINK(m->saved_in[i], FT_REACH_SAVED, false);
      }
      for (int j = 0; j < m->nout; j++) {
        if (redirect && m->saved_out[j] == dp) {
          ft_retain(dp->inner);
          m->saved_out[j] = dp->inner;
          ft_release(dp);
        }
        LINK(m->saved_out[j], FT_REACH_SAVED, false);
        LINK(m->gacc[j], FT_REACH_OTHER, false);
      }
    } else {
      ft_tensor *t = (ft_tensor *)top;
      if (t->level > 0) LINK(t->inner, FT_REACH_OTHER, false);
      LINK(t->tangent, FT_REACH_OTHER, false);
      LINK(t->grad, FT_REACH_OTHER, false);
      LINK(t->node, FT_REACH_OTHER, true);
    }
  }
#undef LINK
done:
  walk_free(&w);
  return st;
}

ft_status ft_reach(ft_tensor *from, const ft_tensor *dp, unsigned *how) {
  return run(from, (ft_tensor *)dp, false, how);
}

ft_status ft_reach_redirect_saved(ft_tensor *from, ft_tensor *dp) {
  unsigned how = 0;
  return run(from, dp, true, &how);
}
