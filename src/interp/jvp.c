/* Jvp levels: (primal, tangent) pairs; a NULL tangent is a symbolic zero. */
#include "../core.h"
#include "../ops/ops.h"
#include "reach.h"

ft_status ft_captured_write_error(void); /* grad.c */

static bool is_float(ft_dtype dt) { return dt == FT_F32 || dt == FT_F64; }

ft_status ft_jvp_interpret(ft_level *lv, ft_op op, int nin, ft_tensor *const *in, const ft_attrs *at,
                           ft_tensor **out) {
  const ft_op_def *d = ft_ops[op];
  int32_t J = lv->id;
  ft_tensor *primal[nin > 0 ? nin : 1], *tan[nin > 0 ? nin : 1];
  primal[0] = tan[0] = NULL; /* nin == 0 (factories): gcc -Wmaybe-uninitialized */
  bool any = false;
  for (int i = 0; i < nin; i++) {
    ft_tensor *p = ft_peel(in[i], J);
    bool ours = p->level == J;
    if (ours) FT_TRY(ft_check_view_use(p, d->name));
    primal[i] = ours ? p->inner : p;
    tan[i] = ours ? p->tangent : NULL;
    any |= tan[i] != NULL;
  }
  FT_TRY(ft_dispatch(op, nin, primal, at, out));
  if (!any || (d->flags & FT_F_NONDIFF)) return FT_OK;
  ft_status st;
  ft_tensor *tout[FT_MAX_OUTS] = {0};
  if (!d->jvp) { st = ft_error(FT_ERR_RUNTIME, "forward-mode AD: %s has no JVP rule", d->name); goto fail; }
  st = d->jvp(primal, tan, nin, at, out, tout);
  if (st) goto fail;
  for (int j = 0; j < d->nout; j++) {
    if (!is_float(out[j]->dtype) || !tout[j]) { ft_release(tout[j]); continue; }
    ft_tensor *w;
    st = ft_wrapper_new(J, out[j], &w);
    if (st) { for (int k = j; k < d->nout; k++) ft_release(tout[k]); goto fail; }
    w->tangent = tout[j];
    /* reshape copies when strides don't allow a view: only real aliases count */
    if ((d->flags & FT_F_VIEW) && nin > 0 && ft_base_value(out[j])->storage == ft_base_value(primal[0])->storage) {
      w->is_view = true;
      w->view_version = ft_base_value(out[j])->storage->version;
    }
    ft_release(out[j]);
    out[j] = w;
  }
  return FT_OK;
fail:
  for (int j = 0; j < d->nout; j++) { ft_release(out[j]); out[j] = NULL; }
  return st;
}

ft_status ft_jvp_assign_(ft_level *lv, ft_tensor *dst, ft_tensor *src) {
  int32_t J = lv->id;
  ft_tensor *dp = ft_peel(dst, J), *sp = ft_peel(src, J);
  ft_tensor *st_tan = sp->level == J ? sp->tangent : NULL;
  /* x.copy_(dual whose tangent refers to x, e.g. is x): x, seen from
   * outside the transform, would become (part of) its own tangent, and
   * every op on it would recurse without end (reach.c). functorch refuses
   * such writes. */
  unsigned how = 0;
  if (dp->level != J && st_tan) {
    /* dp becomes a wrapper in place: only when the program's handle is its
     * one reference (see grad_assign) and the tangent does not hold it */
    if (dp->level == 0 && dp->refcount > 1) return ft_captured_write_error();
    FT_TRY(ft_reach(st_tan, dp, &how));
  }
  if (how) return ft_captured_write_error();
  if (dp->level == J && dp->is_view)
    return ft_error(FT_ERR_RUNTIME,
                    "an in-place operation on a view of a tensor that carries a tangent is not supported yet: its "
                    "base's tangent would be wrong. Clone the view first, or write the base out of place "
                    "(e.g. with sliceScatter).");
  if (dp->level != J) {
    if (!st_tan) return ft_assign_(dp, sp->level == J ? sp->inner : sp);
    FT_TRY(ft_wrap_in_place(dp, J));
  }
  FT_TRY(ft_assign_(dp->inner, sp->level == J ? sp->inner : sp));
  /* Tangents are never written in place, so the new one may alias src's. */
  ft_tensor *nt = NULL;
  if (st_tan) FT_TRY(ft_expand(st_tan, dp->shape, dp->ndim, &nt));
  ft_release(dp->tangent);
  dp->tangent = nt;
  return FT_OK;
}
