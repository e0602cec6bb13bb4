/* Fuzz target: functional_call with random dicts.
 *
 * functionalCall (js/func/functional_call.js) is JavaScript: it swaps the
 * dict's tensors into a module's slots, runs forward and restores them.
 * What reaches C is the forward of the built-in layers: one
 * ft_api_nn_chain call (src/nn/layers.c) per Sequential, whose descriptors
 * carry whatever tensors the dict put in the slots. So this target runs
 * chains of 1..4 random layers (every kind, and unknown ones) with random
 * ints and floats, and with parameter tensors of random shapes and dtypes,
 * missing ones (handle 0), wrapped ones (requiresGrad, or wrapped at a
 * grad/jvp/vmap/functionalize level the program pushed), as a random dict
 * would give; then, now and then, a backward pass from the output. The
 * tensors and levels come from the shared program (tests/fuzz/lib). */
#include "fz.h"
#include <string.h>

#define MAX_STEPS 48
#define MAX_LAYERS 4
#define KINDS 24 /* ft_nn_layer_kind's count; kinds up to KINDS + 1 are unknown */

typedef struct nn_scratch {
  int32_t *hdr, *ints, *tensors;
  double *floats;
} nn_scratch;

static nn_scratch g_nn;

static void bind_nn(void) {
  if (g_nn.hdr) return;
  char *base = ft_api_nn_scratch_ptr();
  g_nn.hdr = (int32_t *)(base + ft_api_nn_scratch_layout(0));
  g_nn.ints = (int32_t *)(base + ft_api_nn_scratch_layout(1));
  g_nn.tensors = (int32_t *)(base + ft_api_nn_scratch_layout(2));
  g_nn.floats = (double *)(base + ft_api_nn_scratch_layout(3));
}

/* What each kind's descriptor holds (src/nn/layers.h): ints, floats, tensors. */
static const int8_t k_want[KINDS][3] = {
    {0, 0, 0}, {0, 0, 2}, {4, 0, 2}, {7, 0, 2}, {9, 0, 2}, {9, 0, 0}, {9, 0, 0}, {2, 0, 0},
    {2, 2, 5}, {1, 1, 2}, {1, 1, 2}, {1, 0, 1}, {0, 1, 0}, {0, 0, 0}, {0, 1, 0}, {1, 0, 0},
    {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {1, 0, 0}, {1, 0, 0}, {2, 0, 0}, {0, 1, 0}, {0, 2, 0}};

/* An int of a layer: strides, kernel sizes and groups are mostly small and positive. */
static int32_t layer_int(fz_in *in) {
  unsigned b = fz_u8(in);
  if (b < 160) return (int32_t)(b % 4);
  if (b < 192) return 1;
  in->i--; /* re-read the byte as a general int */
  return fz_int(in);
}

static void chain(fz_state *s, fz_in *in) {
  int x = fz_pick(s, in);
  if (x < 0) return;
  int n = 1 + (int)fz_below(in, MAX_LAYERS);
  int oi = 0, of = 0, ot = 0;
  for (int k = 0; k < n; k++) {
    int kind = (int)fz_below(in, KINDS + 2);
    int ni, nf, nt;
    if (kind < KINDS && (fz_u8(in) & 7)) { /* the descriptor its kind expects */
      ni = k_want[kind][0], nf = k_want[kind][1], nt = k_want[kind][2];
      if ((kind == 2 || kind == 3) && (fz_u8(in) & 1)) ni = kind == 2 ? 6 : 10; /* the long form */
    } else {
      ni = (int)fz_below(in, 12), nf = (int)fz_below(in, 4), nt = (int)fz_below(in, 6);
    }
    int32_t *h = g_nn.hdr + 5 * k;
    h[0] = kind, h[1] = ni, h[2] = nf, h[3] = nt, h[4] = (int32_t)(fz_u8(in) & 1);
    for (int j = 0; j < ni; j++) g_nn.ints[oi++] = layer_int(in);
    for (int j = 0; j < nf; j++) g_nn.floats[of++] = fz_double(in);
    for (int j = 0; j < nt; j++) {
      int t = (fz_u8(in) & 3) ? fz_pick(s, in) : -1; /* a missing entry now and then */
      g_nn.tensors[ot++] = t >= 0 ? s->slot[t].h : 0;
    }
  }
  if (fz_u8(in) == 0xE1) g_nn.hdr[1] = -1 - (int32_t)fz_below(in, 4); /* a broken descriptor */
  fz_s.in[0] = s->slot[x].h;
  fz_clear_error();
  if (fz_check(ft_api_nn_chain(n), "nn chain")) return;
  if (!fz_s.out[0]) fz_fail("nn chain succeeded without an output");
  int y = fz_take(s, 0);
  if (y < 0 || !(fz_u8(in) & 1)) return;
  /* loss = y.sum(); loss.backward(): gradients flow back into the dict's tensors */
  static int sum = -1;
  for (int op = 0; sum < 0 && op < s->op_count; op++)
    if (!strcmp(ft_api_op_name(op), "sum")) sum = op;
  fz_s.in[0] = s->slot[y].h;
  fz_s.i[0] = 0, fz_s.i[1] = 0;
  fz_clear_error();
  if (fz_check(ft_api_op(sum, 1, 2, 0), "sum")) return;
  int l = fz_take(s, 0);
  if (l < 0) return;
  fz_s.in[0] = s->slot[l].h;
  fz_s.in[1] = 0;
  fz_clear_error();
  fz_check(ft_api_backward(1, 0, 0), "backward");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_state s;
  fz_in in = {data, size, 0};
  fz_begin(&s, data, size);
  bind_nn();
  for (int n = 0; n < MAX_STEPS && !fz_done(&in); n++) {
    unsigned a = fz_u8(&in) % 8;
    if (a < 3) fz_new_tensor(&s, &in);
    else if (a < 5) fz_step(&s, &in, FZ_F_OPS | FZ_F_LEVELS);
    else chain(&s, &in);
  }
  fz_end(&s);
  return 0;
}
