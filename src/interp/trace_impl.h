/* The tracer's state, shared by trace.c (recording) and trace_program.c
 * (building and replaying programs). Internal to src/interp/. */
#ifndef FT_TRACE_IMPL_H
#define FT_TRACE_IMPL_H

#include "trace.h"

#define OP_ASSIGN (-1)
#define OP_FUSED (-2) /* a fused elementwise group (trace_fuse.c): attr is the group's index */
enum { SLOT_VALUE = 0, SLOT_INPUT = 1, SLOT_CONST = 2 };

typedef struct tslot {
  uint8_t kind;
  uint8_t dynamic; /* depends on the inputs */
  int32_t ref;     /* input or constant index */
  ft_tensor *t;    /* the tensor it was keyed by (held by the trace) */
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
  uint8_t *in_live;    /* each input wrapped at a live level when registered (the call may lift it) */
  int32_t cin_live;
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
ft_status ft_trace_build(bool fuse, ft_program **out);

/* ---- fusion (trace_fuse.c) ---------------------------------------------------- */

typedef struct ft_fused ft_fused;

/* Finds chains of elementwise instructions among the live ones (live[k])
 * and rewrites each chain's last instruction in ft_tr.ins into one OP_FUSED
 * instruction (its inputs: the chain's external values; its output: the
 * chain's result), clearing live[] for the others. *groups receives the
 * groups (ft_fused_free), in the order of their attr index. */
ft_status ft_fuse_plan(uint8_t *live, ft_fused **groups, int32_t *ngroups, int32_t *nfused);
void ft_fused_free(ft_fused *groups, int32_t n);
/* Group g of the array. */
ft_fused *ft_fused_group(ft_fused *groups, int32_t g);
/* Runs group g on its inputs (plain values). *out: a new reference, except
 * when *stolen: then the result was written into in[steal] and *out is that
 * reference, moved. Pass steal >= 0 only when the caller gives up in[steal]
 * after this run and nothing else shares its storage. */
ft_status ft_fused_run(ft_fused *g, ft_tensor *const *in, int32_t steal, ft_tensor **out, bool *stolen);
/* The input of group g the result may be written into (one shaped and laid
 * out as the result, an instruction's result in the trace), or -1. */
int32_t ft_fused_steal_candidate(const ft_fused *g);

#endif
