/* Fuzz target: random programs of tensor creation (dims 0..8, sizes 0..3
 * and now and then huge or negative, every dtype), any op of the op table
 * with inputs and attributes from the input, views shaped for their tensor
 * (transpose, slice, select, expand, permute, diagonal, ...), in-place
 * writes as js/ops makes them (op then assign), eager autograd (requiresGrad_,
 * backward with retain/create graph, .grad get/set, noGrad), aliases and data
 * reads; all through the exports of src/api/wasm_api.c (tests/fuzz/lib). */
#include "fz.h"

#define MAX_STEPS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_state s;
  fz_in in = {data, size, 0};
  fz_begin(&s, data, size);
  for (int n = 0; n < MAX_STEPS && !fz_done(&in); n++) fz_step(&s, &in, FZ_F_OPS);
  fz_end(&s);
  return 0;
}
