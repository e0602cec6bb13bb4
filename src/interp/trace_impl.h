/* The tracer's state, shared by trace.c (recording) and trace_program.c
 * (building and replaying programs). Internal to src/interp/. */
#ifndef FT_TRACE_IMPL_H
#define FT_TRACE_IMPL_H

#include "trace.h"

#define OP_ASSIGN (-1)
enum { SLOT_VALUE = 0, SLOT_INPUT = 1, SLOT_CONST = 2 };

typedef struct tslot {
  uint8_t kind;
  uint8_t dynamic; /* depends on the inputs */
  int32_t ref;     /* input or constant index */
} tslot;

typedef struct tinstr {
  int32_t op; /* ft_op, or OP_ASSIGN (args: dst, src) */
  int32_t nin, nout;
  int32_t args; /* offset of nin input slots, then nout output slots */
  int32_t attr; /* index into attrs, or -1 */
  int32_t base; /* it ran at the base level (no live level saw it): replays evaluate it there */
} tinstr;

typedef struct tent {
  ft_tensor *key;
  int32_t slot;
} tent;

/* A storage made during the trace (torch.zeros in f) that the program writes
 * in place or returns: its contents before the first write, copied into a
 * new storage by every replay, as each eager call makes a new tensor. */
typedef struct tsnap {
  ft_storage *s;
  void *copy;
  size_t nbytes;
} tsnap;

typedef struct ft_trace_state {
  int32_t depth; /* > 0 while a recorded op runs */
  bool failed;
  char failure[320];
  tslot *slots;
  int32_t nslots, cslots;
  ft_tensor **held; /* one reference each */
  int32_t nheld, cheld;
  int32_t *inputs; /* slot of each input */
  int32_t ninputs, cinputs;
  ft_tensor **in_meta; /* the input tensors as registered (held) */
  int32_t cin_meta;
  ft_tensor **consts; /* held */
  int32_t *const_slot;
  int32_t nconsts, cconsts, cconst_slot;
  tinstr *ins;
  int32_t nins, cins;
  int32_t *args;
  int32_t nargs, cargs;
  ft_attrs *attrs;
  int32_t nattrs, cattrs;
  int32_t *outs;
  int32_t nouts, couts;
  tent *map;
  int32_t nmap, cmap; /* cmap: a power of two */
  ft_storage **fresh; /* storages made during the trace outside recorded ops: a set */
  int32_t nfresh, cfresh;
  tsnap *snaps;
  int32_t nsnaps, csnaps;
} ft_trace_state;

extern ft_trace_state ft_tr;

/* The snapshot of storage s (a tensor f made, written or returned), or -1. */
int32_t ft_trace_snap_of(const ft_storage *s);
/* The program of the trace just recorded (trace_program.c). */
ft_status ft_trace_build(ft_program **out);

#endif
