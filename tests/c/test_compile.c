/* func.compile's core (src/interp/trace.c): tracing at the trace's boundary,
 * constants by reference, the memory plan, dead-code removal, fresh random
 * draws on replay, in-place writes, transforms inside the trace (lowered)
 * and around it (replayed through dispatch), failures and input checks. */
#include "check.h"
#include "core.h"
#include "ops/ops.h"
#include "interp/trace.h"

static double at(ft_tensor *t, int64_t i) {
  ft_tensor *b = ft_base_value(t);
  int64_t off = b->offset, rem = i;
  for (int d = b->ndim - 1; d >= 0; d--) {
    off += (rem % b->shape[d]) * b->strides[d];
    rem /= b->shape[d];
  }
  return b->dtype == FT_F64 ? ((double *)b->storage->data)[off] : ((float *)b->storage->data)[off];
}

static ft_tensor *vec(const double *v, int64_t n) {
  ft_tensor *t = NULL;
  ft_tensor_from_data(&n, 1, FT_F64, v, &t);
  return t;
}

/* f(x, y) = sum(exp(x) * y + w) with w closed over; an unused op too */
static ft_status f_basic(ft_tensor *x, ft_tensor *y, ft_tensor *w, ft_tensor **out) {
  ft_tensor *e = NULL, *m = NULL, *a = NULL, *dead = NULL;
  ft_status st = ft_exp(x, &e);
  if (!st) st = ft_mul(e, y, &m);
  if (!st) st = ft_add(m, w, &a);
  if (!st) st = ft_neg(a, &dead); /* nobody reads it: removed from the program */
  if (!st) st = ft_sum(a, NULL, 0, false, out);
  ft_release(e); ft_release(m); ft_release(a); ft_release(dead);
  return st;
}

static ft_program *trace_basic(ft_tensor *x, ft_tensor *y, ft_tensor *w) {
  ft_program *p = NULL;
  int32_t k;
  ft_tensor *out = NULL;
  CHECK_OK(ft_trace_begin());
  CHECK_OK(ft_trace_input(x, &k));
  CHECK(k == 0, "first input index 0");
  CHECK_OK(ft_trace_input(y, &k));
  CHECK_OK(f_basic(x, y, w, &out));
  CHECK(ft_trace_read(out) >= 0, "the result depends on the inputs");
  CHECK(ft_trace_read(w) < 0, "a constant does not");
  CHECK_OK(ft_trace_output(out, &k));
  CHECK(ft_trace_failure() == NULL, "traceable");
  CHECK_OK(ft_trace_end(true, true, &p));
  ft_release(out);
  return p;
}

static void test_basic_replay(void) {
  int64_t live0 = ft_mem_live_tensors();
  double xv[3] = {0.1, -0.2, 0.3}, yv[3] = {1, 2, 3}, wv[3] = {5, 6, 7};
  ft_tensor *x = vec(xv, 3), *y = vec(yv, 3), *w = vec(wv, 3);
  ft_program *p = trace_basic(x, y, w);
  CHECK(p != NULL, "a program");
  if (!p) return;
  CHECK(ft_program_info(p, 0) == 2 && ft_program_info(p, 1) == 1, "2 inputs, 1 output");
  /* exp, mul and add fuse into one instruction (trace_fuse.c), then sum */
  /* dead: the unused neg, and the clone that ft_trace_read(out) records (read values are kept as read) */
  CHECK(ft_program_info(p, 2) == 2 && ft_program_info(p, 5) == 2, "2 instructions, the unused neg removed (%d, %d)",
        ft_program_info(p, 2), ft_program_info(p, 5));
  CHECK(ft_program_info(p, 7) == 1 && ft_program_info(p, 8) == 3, "one group of 3 (%d, %d)", ft_program_info(p, 7),
        ft_program_info(p, 8));
  CHECK(ft_program_info(p, 3) == 1, "one constant (w)");
  /* the trace let go of everything but the constant */
  CHECK(ft_mem_live_tensors() == live0 + 3, "trace references released (%lld live)", (long long)(ft_mem_live_tensors() - live0));
  double x2v[3] = {1, 2, -1}, y2v[3] = {-1, 0.5, 2};
  ft_tensor *x2 = vec(x2v, 3), *y2 = vec(y2v, 3), *eager = NULL;
  CHECK_OK(f_basic(x2, y2, w, &eager));
  ft_program_inputs(p)[0] = x2;
  ft_program_inputs(p)[1] = y2;
  int64_t live1 = ft_mem_live_tensors();
  CHECK_OK(ft_program_run(p));
  ft_tensor *r = ft_program_outputs(p)[0];
  CHECK(ft_mem_live_tensors() == live1 + 1, "only the output is left live by a replay");
  CHECK(r->ndim == 0 && at(r, 0) == at(eager, 0), "replay = eager: %g vs %g", at(r, 0), at(eager, 0));
  ft_release(r);
  /* constants are references: w updated in place is seen */
  ((double *)w->storage->data)[0] = 100;
  ft_release(eager);
  CHECK_OK(f_basic(x2, y2, w, &eager));
  CHECK_OK(ft_program_run(p));
  r = ft_program_outputs(p)[0];
  CHECK(at(r, 0) == at(eager, 0), "a constant written between calls is read anew");
  ft_release(r);
  /* wrong shape: an error naming both, nothing leaked */
  double zv[2] = {1, 2};
  ft_tensor *z = vec(zv, 2);
  ft_program_inputs(p)[1] = z;
  int64_t live2 = ft_mem_live_tensors();
  CHECK(ft_program_run(p) == FT_ERR_VALUE, "shape mismatch rejected");
  CHECK(strstr(ft_last_error(), "[2]") && strstr(ft_last_error(), "[3]"), "message: %s", ft_last_error());
  CHECK(ft_mem_live_tensors() == live2, "no leak after a rejected run");
  ft_program_free(p);
  ft_release(z); ft_release(eager); ft_release(x2); ft_release(y2);
  ft_release(x); ft_release(y); ft_release(w);
  CHECK(ft_mem_live_tensors() == live0, "all freed (%lld)", (long long)(ft_mem_live_tensors() - live0));
}

/* random draws are instructions: each replay draws fresh numbers, the same
 * stream eager calls would draw */
static void test_random(void) {
  int64_t live0 = ft_mem_live_tensors();
  int64_t s[1] = {4};
  ft_tensor *e = NULL, *r = NULL, *o;
  ft_program *p = NULL;
  CHECK_OK(ft_tensor_empty(s, 1, FT_F64, &e));
  CHECK_OK(ft_trace_begin());
  CHECK_OK(ft_dispatch(FT_OP_RAND_LIKE, 1, &e, NULL, &r));
  int32_t k;
  CHECK_OK(ft_trace_output(r, &k));
  CHECK_OK(ft_trace_end(true, true, &p));
  ft_release(r);
  if (!p) return;
  ft_rng_seed(7);
  double eager[8];
  for (int c = 0; c < 2; c++) {
    CHECK_OK(ft_rand(s, 1, FT_F64, &o));
    for (int i = 0; i < 4; i++) eager[c * 4 + i] = at(o, i);
    ft_release(o);
  }
  ft_rng_seed(7);
  for (int c = 0; c < 2; c++) {
    CHECK_OK(ft_program_run(p));
    o = ft_program_outputs(p)[0];
    bool same = true;
    for (int i = 0; i < 4; i++) same &= at(o, i) == eager[c * 4 + i];
    CHECK(same, "replay %d draws what eager call %d drew", c, c);
    ft_release(o);
  }
  ft_program_free(p);
  ft_release(e);
  CHECK(ft_mem_live_tensors() == live0, "all freed");
}

/* grad inside the trace is lowered: the program holds forward and backward */
static ft_status grad_of_cube_sum(ft_tensor *x, ft_tensor **g) {
  int32_t L;
  FT_TRY(ft_level_push(FT_LV_GRAD, 0, 0, &L));
  ft_tensor *w = NULL, *c = NULL, *s = NULL;
  ft_status st = ft_grad_wrap_leaf(L, x, &w);
  if (!st) st = ft_pow_scalar(w, 3.0, &c);
  if (!st) st = ft_sum(c, NULL, 0, false, &s);
  if (!st) st = ft_backward(L, 1, &s, NULL, false, false);
  if (!st) {
    *g = w->grad;
    w->grad = NULL;
  }
  ft_release(c); ft_release(s); ft_release(w);
  ft_level_pop(L);
  return st;
}

static void test_grad_lowered(void) {
  int64_t live0 = ft_mem_live_tensors();
  double xv[3] = {1, 2, 3};
  ft_tensor *x = vec(xv, 3), *g = NULL;
  ft_program *p = NULL;
  int32_t k;
  CHECK_OK(ft_trace_begin());
  CHECK_OK(ft_trace_input(x, &k));
  CHECK_OK(grad_of_cube_sum(x, &g));
  CHECK(g && at(g, 2) == 27, "the traced call computes eagerly");
  CHECK_OK(ft_trace_output(g, &k));
  CHECK_OK(ft_trace_end(true, true, &p));
  ft_release(g);
  if (!p) return;
  double x2v[3] = {-1, 0.5, 4};
  ft_tensor *x2 = vec(x2v, 3);
  ft_program_inputs(p)[0] = x2;
  CHECK_OK(ft_program_run(p));
  ft_tensor *r = ft_program_outputs(p)[0];
  CHECK(r->level == 0 && at(r, 0) == 3 && at(r, 1) == 0.75 && at(r, 2) == 48, "3 x^2 on new input: %g %g %g", at(r, 0),
        at(r, 1), at(r, 2));
  ft_release(r);
  /* an input now wrapped at a live level: the program (traced on plain
   * values, run without dispatch) is stale; the caller traces again */
  CHECK_OK(ft_requires_grad_(x2, true));
  CHECK(ft_program_run(p) == FT_ERR_RUNTIME && ft_program_info(p, 6) == 1, "stale");
  ft_program_free(p);
  p = NULL;
  /* traced under an enclosing grad level (eager autograd here), the replay
   * dispatches every op so the enclosing level records it: d/dx sum(3x^2) = 6x */
  CHECK_OK(ft_trace_begin());
  CHECK_OK(ft_trace_input(x2, &k));
  CHECK_OK(grad_of_cube_sum(x2, &g));
  CHECK_OK(ft_trace_output(g, &k));
  CHECK_OK(ft_trace_end(true, true, &p));
  ft_release(g);
  if (!p) return;
  double x3v[3] = {-1, 0.5, 4};
  ft_tensor *x3 = vec(x3v, 3);
  CHECK_OK(ft_requires_grad_(x3, true));
  ft_program_inputs(p)[0] = x3;
  CHECK_OK(ft_program_run(p));
  r = ft_program_outputs(p)[0];
  CHECK(r->level == FT_EAGER_LEVEL && r->node, "the output is tracked by the enclosing level");
  ft_tensor *s = NULL;
  CHECK_OK(ft_sum(r, NULL, 0, false, &s));
  CHECK_OK(ft_backward(FT_EAGER_LEVEL, 1, &s, NULL, false, false));
  ft_tensor *xg = ft_peel(x3, FT_EAGER_LEVEL)->grad;
  CHECK(xg && at(xg, 0) == -6 && at(xg, 2) == 24, "second derivative through the replay: %g %g", xg ? at(xg, 0) : 0,
        xg ? at(xg, 2) : 0);
  ft_release(s); ft_release(r);
  ft_program_free(p);
  ft_release(x3); ft_release(x2); ft_release(x);
  CHECK(ft_mem_live_tensors() == live0, "all freed (%lld)", (long long)(ft_mem_live_tensors() - live0));
}

/* in-place writes are instructions: p <- p - 0.5 * x on a constant */
static void test_assign(void) {
  int64_t live0 = ft_mem_live_tensors();
  double pv[2] = {1, 1}, xv[2] = {2, 4};
  ft_tensor *param = vec(pv, 2), *x = vec(xv, 2), *u = NULL, *n = NULL;
  ft_program *p = NULL;
  int32_t k;
  CHECK_OK(ft_trace_begin());
  CHECK_OK(ft_trace_input(x, &k));
  CHECK(ft_trace_read(param) < 0, "a constant before it is written");
  CHECK_OK(ft_mul_scalar(x, 0.5, &u));
  CHECK_OK(ft_sub(param, u, &n));
  CHECK_OK(ft_assign_(param, n));
  CHECK(ft_trace_read(param) >= 0, "a constant written in place depends on the inputs");
  CHECK_OK(ft_trace_end(true, true, &p));
  ft_release(u); ft_release(n);
  CHECK(at(param, 0) == 0 && at(param, 1) == -1, "the traced call wrote");
  if (!p) return;
  CHECK(ft_program_info(p, 1) == 0, "no outputs");
  ft_program_inputs(p)[0] = x;
  CHECK_OK(ft_program_run(p));
  CHECK(at(param, 0) == -1 && at(param, 1) == -3, "the replay wrote: %g %g", at(param, 0), at(param, 1));
  ft_program_free(p);
  ft_release(param); ft_release(x);
  CHECK(ft_mem_live_tensors() == live0, "all freed");
}

/* an op error the function caught, and side effects, make the trace fail */
static void test_failures(void) {
  int64_t live0 = ft_mem_live_tensors();
  double av[3] = {1, 2, 3}, bv[2] = {1, 2};
  ft_tensor *a = vec(av, 3), *b = vec(bv, 2), *c = NULL;
  ft_program *p = NULL;
  CHECK_OK(ft_trace_begin());
  CHECK(ft_trace_begin() == FT_ERR_RUNTIME, "one trace at a time");
  CHECK(ft_add(a, b, &c) != FT_OK, "broadcast error");
  CHECK(ft_trace_failure() && strstr(ft_trace_failure(), "add"), "failure names the op: %s",
        ft_trace_failure() ? ft_trace_failure() : "(none)");
  CHECK(ft_trace_end(true, true, &p) == FT_ERR_RUNTIME && !p, "no program");
  CHECK_OK(ft_trace_begin());
  ft_trace_fail("a side effect");
  CHECK_OK(ft_trace_end(false, true, &p));
  CHECK(!p && !ft_trace_on && !ft_trace_recording, "closed");
  CHECK(ft_trace_end(true, true, &p) == FT_ERR_RUNTIME && !p, "closing twice is an error");
  int32_t k0;
  CHECK(ft_trace_input(a, &k0) == FT_ERR_RUNTIME && ft_trace_read(a) == -1, "no trace: inputs refused, nothing dynamic");
  /* tracing is off again: ops run untraced */
  CHECK_OK(ft_mul(a, a, &c));
  ft_release(c);
  ft_release(a); ft_release(b);
  CHECK(ft_mem_live_tensors() == live0, "all freed");
}

/* outputs: a fresh constant is cloned per replay; a pre-existing one is the same tensor */
static void test_const_outputs(void) {
  int64_t live0 = ft_mem_live_tensors();
  int64_t s[1] = {2};
  ft_tensor *z = NULL, *held = NULL;
  ft_program *p = NULL;
  int32_t k;
  CHECK_OK(ft_zeros(s, 1, FT_F32, &held));
  CHECK_OK(ft_trace_begin());
  CHECK_OK(ft_zeros(s, 1, FT_F32, &z));
  CHECK_OK(ft_trace_output(z, &k));
  CHECK_OK(ft_trace_output(held, &k));
  CHECK_OK(ft_trace_end(true, true, &p));
  if (!p) return;
  CHECK_OK(ft_program_run(p));
  ft_tensor *o0 = ft_program_outputs(p)[0], *o1 = ft_program_outputs(p)[1];
  CHECK(o0 != z && o0->storage != z->storage && at(o0, 1) == 0, "a fresh copy");
  CHECK(o1 == held, "the same tensor");
  ft_release(o0); ft_release(o1);
  ft_program_free(p);
  ft_release(z); ft_release(held);
  /* an accumulator f makes and writes in place: every replay starts from zeros */
  double xv[2] = {1, 2};
  ft_tensor *x = vec(xv, 2), *acc = NULL;
  int64_t s2[1] = {2};
  CHECK_OK(ft_trace_begin());
  CHECK_OK(ft_trace_input(x, &k));
  CHECK_OK(ft_zeros(s2, 1, FT_F64, &acc));
  CHECK_OK(ft_assign_(acc, x));
  ft_tensor *sum = NULL;
  CHECK_OK(ft_add(acc, x, &sum));
  CHECK_OK(ft_assign_(acc, sum));
  CHECK_OK(ft_trace_output(acc, &k));
  CHECK_OK(ft_trace_end(true, true, &p));
  ft_release(sum);
  CHECK(at(acc, 1) == 4, "traced call: 2x");
  for (int c = 0; c < 2 && p; c++) {
    ft_program_inputs(p)[0] = x;
    CHECK_OK(ft_program_run(p));
    ft_tensor *o = ft_program_outputs(p)[0];
    CHECK(o != acc && at(o, 0) == 2 && at(o, 1) == 4, "replay %d starts from zeros: %g %g", c, at(o, 0), at(o, 1));
    ft_release(o);
  }
  CHECK(at(acc, 1) == 4, "the traced call's tensor is untouched by replays");
  ft_program_free(p);
  ft_release(acc); ft_release(x);
  CHECK(ft_mem_live_tensors() == live0, "all freed");
}

/* the signature's level part: where inputs sit on the level stack */
static void test_level_sig(void) {
  int64_t live0 = ft_mem_live_tensors();
  double v[4] = {1, 2, 3, 4};
  ft_tensor *a = vec(v, 4), *b = vec(v, 2), *t = NULL, *w = NULL;
  ft_tensor *ab[2] = {a, b};
  uint32_t plain = ft_trace_level_sig(ab, 2, 0);
  ft_tensor *ba[2] = {b, a};
  CHECK(ft_trace_level_sig(ba, 2, 0) == plain, "values and shapes are not its business");
  CHECK_OK(ft_transpose(a, 0, 0, &t));
  int64_t s2[2] = {2, 2};
  ft_tensor *m = NULL, *mt = NULL;
  CHECK_OK(ft_reshape(a, s2, 2, &m));
  CHECK_OK(ft_transpose(m, 0, 1, &mt));
  ft_tensor *amt[2] = {mt, b};
  CHECK(ft_trace_level_sig(amt, 2, 0) != plain, "a non-contiguous input differs");
  int32_t V;
  CHECK_OK(ft_level_push(FT_LV_VMAP, 4, 0, &V));
  CHECK(ft_trace_level_sig(ab, 2, 0) != plain, "a deeper level stack differs");
  uint32_t under = ft_trace_level_sig(ab, 2, 0);
  CHECK_OK(ft_wrapper_new(V, a, &w));
  w->bdim = 0;
  w->ndim = 0;
  ft_tensor *wb[2] = {w, b};
  CHECK(ft_trace_level_sig(wb, 2, 0) != under, "an input wrapped at a live level differs");
  ft_level_pop(V);
  CHECK(ft_trace_level_sig(wb, 2, 0) == plain, "a dead level's wrapper is looked through");
  ft_release(w); ft_release(t); ft_release(m); ft_release(mt); ft_release(a); ft_release(b);
  CHECK(ft_mem_live_tensors() == live0, "all freed");
}

int main(void) {
  test_level_sig();
  test_basic_replay();
  test_random();
  test_grad_lowered();
  test_assign();
  test_failures();
  test_const_outputs();
  return test_summary();
}
