/* Fuzz target: the programs of fuzz_ops run under function transforms:
 * grad, jvp, vmap and functionalize levels pushed and popped in random
 * nests (a pop of a level that is not the innermost must fail), inputs
 * wrapped at the innermost level as the transforms wrap them (now and then
 * breaking js/'s preconditions: a jvp tangent of another shape, a vmap
 * batch dim of another size), outputs unwrapped, reverse passes run at live
 * and popped levels, tangents and batch dims read, functionalize's writes
 * propagated, escaped wrappers used after their level is gone. Every input
 * ends with an unwind that pops what is still pushed (tests/fuzz/lib). */
#include "fz.h"

#define MAX_STEPS 96

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_state s;
  fz_in in = {data, size, 0};
  fz_begin(&s, data, size);
  for (int n = 0; n < MAX_STEPS && !fz_done(&in); n++) fz_step(&s, &in, FZ_F_OPS | FZ_F_LEVELS);
  fz_end(&s);
  return 0;
}
