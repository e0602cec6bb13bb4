/* The one dispatcher: finds the innermost live level among the inputs and
 * hands the call to that level's interpreter, which unwraps its layer,
 * dispatches again below, and wraps the result (DESIGN.md). */
#include "../core.h"
#include "trace.h"

ft_status ft_jvp_interpret(ft_level *lv, ft_op op, int nin, ft_tensor *const *in, const ft_attrs *at,
                           ft_tensor **out);
ft_status ft_vmap_interpret(ft_level *lv, ft_op op, int nin, ft_tensor *const *in, const ft_attrs *at,
                            ft_tensor **out);
int32_t ft_vmap_random_level(void);
ft_status ft_func_interpret(ft_level *lv, ft_op op, int nin, ft_tensor *const *in, const ft_attrs *at,
                            ft_tensor **out);

static ft_status base_eval(const ft_op_def *d, int nin, ft_tensor *const *in, const ft_attrs *at,
                           ft_tensor **out) {
  ft_tensor *plain[nin > 0 ? nin : 1];
  for (int i = 0; i < nin; i++) plain[i] = ft_base_value(in[i]);
  return d->eval(plain, nin, at, out);
}

ft_status ft_dispatch(ft_op op, int nin, ft_tensor *const *in, const ft_attrs *at, ft_tensor **out) {
  if ((unsigned)op >= FT_OP_COUNT) return ft_error(FT_ERR_VALUE, "unknown op code %d", (int)op);
  const ft_op_def *d = ft_ops[op];
  if (!(d->flags & FT_F_VARIADIC) && nin != d->nin)
    return ft_error(FT_ERR_VALUE, "%s expects %d tensor inputs, got %d", d->name, d->nin, nin);
  static const ft_attrs no_attrs;
  if (!at) at = &no_attrs;
  int32_t top = 0;
  for (int i = 0; i < nin; i++) {
    if (!in[i]) return ft_error(FT_ERR_VALUE, "%s: input %d is missing", d->name, i);
    if (in[i]->refcount <= 0) return ft_error(FT_ERR_RUNTIME, "%s: input %d has been disposed", d->name, i);
    int32_t l = ft_top_level(in[i]);
    if (l > top) top = l;
  }
  for (int j = 0; j < d->nout; j++) out[j] = NULL;
  /* Composite ops are decomposed at the level they are called from: their
   * eval dispatches primitives, which every level knows how to interpret. */
  if (d->flags & FT_F_COMPOSITE) {
    /* A wrapper of a popped level behaves as its inner value (NOTE:
     * [levels]); a composite reads its inputs' shapes, so it gets that
     * value, not an escaped vmap wrapper's unbatched shape. */
    ft_tensor *live[nin > 0 ? nin : 1];
    for (int i = 0; i < nin; i++) {
      ft_tensor *t = in[i];
      while (t->level > 0 && !ft_level_get(t->level)) t = t->inner;
      live[i] = t;
    }
    return d->eval(live, nin, at, out);
  }
  /* A random op is seen by every vmap level on the stack, batched inputs or
   * not: each one applies its `randomness` (functorch's FuncTorchVmapMode). */
  if (d->flags & FT_F_RANDOM) {
    int32_t v = ft_vmap_random_level();
    if (v > top) top = v;
  }
  /* func.compile records the op here, where it leaves the trace's levels (NOTE: [tracing] in trace.c) */
  if (ft_trace_recording && top < ft_trace_boundary) return ft_trace_record(op, top, nin, in, at, out);
  return ft_dispatch_at(op, top, nin, in, at, out);
}

ft_status ft_dispatch_at(ft_op op, int32_t top, int nin, ft_tensor *const *in, const ft_attrs *at, ft_tensor **out) {
  const ft_op_def *d = ft_ops[op];
  if (top == 0) return base_eval(d, nin, in, at, out);
  ft_level *lv = ft_level_get(top);
  switch (lv->kind) {
    case FT_LV_GRAD: return ft_grad_interpret(lv, op, nin, in, at, out);
    case FT_LV_JVP: return ft_jvp_interpret(lv, op, nin, in, at, out);
    case FT_LV_VMAP: return ft_vmap_interpret(lv, op, nin, in, at, out);
    case FT_LV_FUNC: return ft_func_interpret(lv, op, nin, in, at, out);
  }
  return ft_error(FT_ERR_RUNTIME, "corrupt level %d", (int)top);
}
