/* Internal core types: storage, tensors (plain and wrapped), attributes, the
 * op table's entry type, levels and tape nodes. Everything under src/
 * includes this; nothing outside src/ does.
 *
 * NOTE: [levels]
 * A plain tensor (level 0) owns a strided view of a refcounted storage. A
 * wrapper (level > 0) belongs to one interpreter level and holds `inner`, the
 * same value one level down, plus the level's own data: a tape node for grad
 * levels, a tangent for jvp levels, a batch dimension for vmap levels. Level
 * ids grow monotonically and are never reused, so the live level with the
 * largest id among an op's inputs is the innermost one (functorch's
 * DynamicLayer, autodidax's find_top_trace). A wrapper whose level has been
 * popped ("dead") or is disabled (noGrad) is looked through: it behaves as its
 * inner value. Level 1 is the eager autograd level, pushed at start-up and
 * never popped; `requiresGrad_` turns a plain tensor into a level-1 leaf.
 */
#ifndef FT_CORE_H
#define FT_CORE_H

#include "torchfunc.h"
#include <string.h>

typedef struct ft_tensor ft_tensor;
typedef struct ft_node ft_node;

/* ---- status helpers -------------------------------------------------------- */

/* Sets the last error message (printf-style) and returns `code`. */
ft_status ft_error(ft_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
const char *ft_last_error(void);
/* Formats a shape as "[2, 3]" into buf (at least 16 * 22 bytes). */
const char *ft_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap);
#define FT_SHAPE_BUF 360

#define FT_TRY(expr)                 \
  do {                               \
    ft_status ft__s = (expr);        \
    if (ft__s != FT_OK) return ft__s; \
  } while (0)
/* For functions with cleanup: `FT_CHECK(expr)` jumps to `fail` with `st` set. */
#define FT_CHECK(expr)           \
  do {                           \
    st = (expr);                 \
    if (st != FT_OK) goto fail;  \
  } while (0)

/* ---- storage and pool ------------------------------------------------------ */

typedef struct ft_storage {
  int32_t refcount;
  uint32_t version; /* bumped by every in-place write; saved values check it */
  size_t nbytes;
  void *data;
} ft_storage;

ft_status ft_storage_new(size_t nbytes, ft_storage **out);
void ft_storage_retain(ft_storage *s);
void ft_storage_release(ft_storage *s);
/* Blocks are 16-byte aligned; free with the same byte count. */
void *ft_pool_alloc(size_t nbytes);
void ft_pool_free(void *p, size_t nbytes);
/* Live storage bytes and tensor structs, for torch.memory(). */
int64_t ft_mem_storage_bytes(void);
int64_t ft_mem_live_tensors(void);
void ft_mem_trim(void); /* returns cached blocks to malloc */

/* ---- tensors --------------------------------------------------------------- */

struct ft_tensor {
  int32_t refcount;
  int32_t level;      /* 0: plain value; > 0: wrapper belonging to that level id */
  ft_dtype dtype;
  int32_t ndim;
  int64_t numel;
  int64_t shape[FT_MAX_DIMS];   /* logical shape (what the level above sees) */
  int64_t strides[FT_MAX_DIMS]; /* plain only; in elements */
  int64_t offset;               /* plain only; in elements */
  ft_storage *storage;          /* plain only */
  ft_tensor *inner;             /* wrappers: the value one level down (owned) */
  /* grad level */
  ft_node *node;   /* owned; NULL for leaves and untracked values */
  int32_t out_idx; /* which output of node */
  bool requires_grad;
  bool retains_grad;
  ft_tensor *grad; /* accumulated gradient (one level down), owned */
  /* jvp level */
  ft_tensor *tangent; /* owned; NULL means zero */
  /* vmap level */
  int32_t bdim; /* batch dim of inner; the wrapper's shape omits it */
  /* grad and jvp levels: NOTE: [views and in-place] */
  bool is_view;          /* made by a view op from a tracked base */
  uint32_t view_version; /* the storage version when the view was made */
  /* functionalize levels: NOTE: [functionalization] in src/interp/functionalize.c */
  int32_t func_view; /* 1 + the index of this view's record in its level's table; 0: a base */
  uint32_t func_gen; /* base: bumped by each write; view: the base's generation its value shows */
};

/* NOTE: [views and in-place]
 * A view shares its base's storage, but its history at a grad or jvp level
 * records the base as it was when the view was made. PyTorch rebases both
 * on in-place writes (CopySlices); we do not yet, so the two cases that
 * would give wrong derivatives are errors instead: an in-place write
 * through a tracked view, and use of a tracked view after its storage was
 * written in place. Clone the view first to do either. */
ft_status ft_check_view_use(const ft_tensor *w, const char *op_name);

/* Creation. Every `out` receives a new reference. */
ft_status ft_tensor_alloc(ft_tensor **out); /* a zeroed struct, refcount 1 */
ft_status ft_tensor_empty(const int64_t *shape, int ndim, ft_dtype dt, ft_tensor **out);
ft_status ft_tensor_full(const int64_t *shape, int ndim, ft_dtype dt, double value, ft_tensor **out);
ft_status ft_tensor_from_data(const int64_t *shape, int ndim, ft_dtype dt, const void *data, ft_tensor **out);
/* A new plain tensor sharing `base`'s storage with the given geometry. */
ft_status ft_tensor_view_of(const ft_tensor *base, const int64_t *shape, const int64_t *strides,
                            int ndim, int64_t offset, ft_tensor **out);
/* Turns t itself into a wrapper at `level` around what t held. */
ft_status ft_wrap_in_place(ft_tensor *t, int32_t level);
/* A wrapper at `level` around `inner` (the wrapper takes a new reference). */
ft_status ft_wrapper_new(int32_t level, ft_tensor *inner, ft_tensor **out);

void ft_retain(ft_tensor *t);
void ft_release(ft_tensor *t);

static inline void *ft_data_ptr(const ft_tensor *t) {
  return (char *)t->storage->data + (size_t)t->offset * ft_dtype_size(t->dtype);
}
bool ft_is_contiguous(const ft_tensor *t);
void ft_contiguous_strides(const int64_t *shape, int ndim, int64_t *strides);
int64_t ft_shape_numel(const int64_t *shape, int ndim);
ft_status ft_check_shape(const int64_t *shape, int ndim, const char *what);
/* Normalises a possibly negative dim against ndim, or errors naming it. */
ft_status ft_wrap_dim(int64_t dim, int ndim, int *out);

/* ---- attributes ------------------------------------------------------------ */

#define FT_MAX_ATTR_I 24
#define FT_MAX_ATTR_F 4
typedef struct ft_attrs {
  int32_t ni, nf;
  int64_t i[FT_MAX_ATTR_I];
  double f[FT_MAX_ATTR_F];
} ft_attrs;

/* ---- the op table ---------------------------------------------------------- */

/* Every op appears once in src/ops/ops.def (through its family's .def
 * file) as FT_OP(ID); its ft_op_def, with name, arity, flags and rules, is
 * defined next to the rules in the family's ops_<family>.c as
 * `const ft_op_def ft_opdef_<ID>`. */
typedef enum {
#define FT_OP(ID) FT_OP_##ID,
#include "ops/ops.def"
#undef FT_OP
  FT_OP_COUNT
} ft_op;

enum {
  FT_F_DIFF = 1 << 0,      /* has a VJP rule (float outputs are differentiable) */
  FT_F_SAVE_IN = 1 << 1,   /* the VJP needs the inputs */
  FT_F_SAVE_OUT = 1 << 2,  /* the VJP needs the outputs */
  FT_F_COMPOSITE = 1 << 3, /* eval calls dispatched ops; no rules needed */
  FT_F_RANDOM = 1 << 4,    /* draws random numbers (vmap's `randomness`) */
  FT_F_VIEW = 1 << 5,      /* output 0 aliases input 0's storage at the base level */
  FT_F_NONDIFF = 1 << 6,   /* output never tracked (comparisons, arg-reductions, detach) */
  FT_F_VARIADIC = 1 << 7,  /* nin given at call time (cat) */
};

typedef struct ft_vjp_ctx {
  const ft_attrs *at;
  int nin, nout;
  ft_tensor *const *in;  /* saved inputs one level down (if FT_F_SAVE_IN), else NULL entries */
  ft_tensor *const *out; /* saved outputs (if FT_F_SAVE_OUT), else NULL entries */
  const bool *need;      /* need[i]: compute the gradient for input i */
  const int64_t *in_shapes; /* [nin * FT_MAX_DIMS], always kept: reductions and broadcasts need them */
  const int32_t *in_ndim;
  const ft_dtype *in_dtype;
  const int64_t *out_shapes; /* [nout * FT_MAX_DIMS] */
  const int32_t *out_ndim;
} ft_vjp_ctx;
#define FT_IN_SHAPE(c, i) ((c)->in_shapes + (size_t)(i) * FT_MAX_DIMS)
#define FT_OUT_SHAPE(c, j) ((c)->out_shapes + (size_t)(j) * FT_MAX_DIMS)

typedef ft_status (*ft_eval_fn)(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out);
/* gout[j] is never NULL (zeros are materialised); set gin[i] (new ref) or leave NULL for zero. */
typedef ft_status (*ft_vjp_fn)(const ft_vjp_ctx *c, ft_tensor *const *gout, ft_tensor **gin);
/* tin[i] NULL means a zero tangent; set tout[j] (new ref) or leave NULL for zero. */
typedef ft_status (*ft_jvp_fn)(ft_tensor *const *in, ft_tensor *const *tin, int nin, const ft_attrs *at,
                               ft_tensor *const *out, ft_tensor **tout);
/* bdim[i] == -1: input i is not batched. Sets out[j] and obdim[j]. */
typedef ft_status (*ft_batch_fn)(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                                 int64_t bsize, ft_tensor **out, int32_t *obdim);

#define FT_MAX_OUTS 4 /* most outputs of any op */

/* ft_op_def.fuse: the elementwise kernel an op's eval is, for func.compile's
 * fusion (src/interp/trace_fuse.c): FT_FUSE_UN(ft_unary_kind) or
 * FT_FUSE_BIN(ft_binary_kind). Declaring it promises that, when every input
 * has the output's float dtype, the eval is exactly that kernel over the
 * broadcast shape, writing a new contiguous tensor. 0: not fusible. */
#define FT_FUSE_UN(k) (0x100 | (k))
#define FT_FUSE_BIN(k) (0x200 | (k))

typedef struct ft_op_def {
  const char *name;
  int nin, nout;
  unsigned flags;
  ft_eval_fn eval;
  ft_vjp_fn vjp;
  ft_jvp_fn jvp;
  ft_batch_fn batch;
  int32_t fuse;
} ft_op_def;

extern const ft_op_def *const ft_ops[FT_OP_COUNT];

/* ---- dispatcher ------------------------------------------------------------ */

/* Runs `op` on the innermost live level among the inputs. Outputs are new
 * references. The one entry point for every op, from JavaScript, from
 * composite ops and from every rule. */
ft_status ft_dispatch(ft_op op, int nin, ft_tensor *const *in, const ft_attrs *at, ft_tensor **out);

/* ---- levels ---------------------------------------------------------------- */

typedef enum { FT_LV_GRAD = 1, FT_LV_JVP = 2, FT_LV_VMAP = 3, FT_LV_FUNC = 4 } ft_level_kind;
#define FT_MAX_LEVELS 64
#define FT_EAGER_LEVEL 1

typedef struct ft_level {
  int32_t id;
  ft_level_kind kind;
  int32_t disabled;   /* grad levels: > 0 inside noGrad / during backward */
  int64_t batch_size; /* vmap levels */
  int32_t randomness; /* vmap levels: 0 error, 1 different, 2 same */
} ft_level;

ft_status ft_level_push(ft_level_kind kind, int64_t batch_size, int32_t randomness, int32_t *id);
ft_status ft_level_pop(int32_t id); /* must be the innermost */
ft_level *ft_level_get(int32_t id);  /* NULL if dead */
int ft_level_depth(void);
ft_level *ft_level_at(int depth);
/* Strips wrappers that are dead, disabled or above `level`; borrowed result. */
ft_tensor *ft_peel(ft_tensor *t, int32_t level);
/* The plain value under every wrapper (borrowed). */
ft_tensor *ft_base_value(ft_tensor *t);
/* The innermost live, enabled level id among t's wrappers (0 if none). */
int32_t ft_top_level(ft_tensor *t);
/* The innermost vmap level a random op has yet to visit (0 if none): every
 * vmap level on the stack applies its randomness to random ops (vmap.c). */
int32_t ft_vmap_random_level(void);

/* ---- grad levels and the tape ---------------------------------------------- */

typedef struct ft_edge {
  ft_node *node;   /* producer (owned ref), or NULL */
  int32_t idx;     /* producer's output index */
  ft_tensor *leaf; /* a leaf to accumulate into (owned ref), or NULL */
} ft_edge;

struct ft_node {
  int32_t refcount;
  int32_t level;
  ft_op op;
  int32_t nin, nout;
  bool released; /* saved values freed after a backward without retainGraph */
  ft_attrs at;
  ft_edge *edges;        /* [nin] */
  ft_tensor **saved_in;  /* [nin] */
  ft_tensor **saved_out; /* [nout], values one level down */
  uint32_t *saved_ver;   /* [nin + nout] storage versions when saved */
  int64_t *in_shapes;    /* [nin * FT_MAX_DIMS] */
  int32_t *in_ndim;      /* [nin] */
  ft_dtype *in_dtype;    /* [nin] */
  ft_dtype *out_dtype;   /* [nout] */
  int64_t *out_shapes;   /* [nout * FT_MAX_DIMS] */
  int32_t *out_ndim;     /* [nout] */
  /* backward scratch */
  ft_tensor **gacc; /* [nout] */
  uint32_t mark;
  ft_node *next; /* release work list */
};

void ft_node_release(ft_node *n);
ft_status ft_grad_interpret(ft_level *lv, ft_op op, int nin, ft_tensor *const *in, const ft_attrs *at,
                            ft_tensor **out);
/* Reverse pass at grad level `level` from roots (wrappers at that level).
 * grads[i] may be NULL (ones, for one-element roots). Leaves' `grad` fields
 * accumulate. create_graph keeps the level enabled so the pass is recorded. */
ft_status ft_backward(int32_t level, int nroots, ft_tensor *const *roots, ft_tensor *const *grads,
                      bool retain_graph, bool create_graph);
ft_status ft_requires_grad_(ft_tensor *t, bool flag);
/* Makes a fresh leaf wrapper at a grad level around x (func.grad's inputs). */
ft_status ft_grad_wrap_leaf(int32_t level, ft_tensor *x, ft_tensor **out);

/* In-place assignment: writes `src`'s value (broadcast, cast) into `dst`
 * through every level, rebasing dst's history at grad levels. */
ft_status ft_assign_(ft_tensor *dst, ft_tensor *src);

/* ---- random numbers -------------------------------------------------------- */
void ft_rng_seed(uint64_t seed);
double ft_rng_uniform(void); /* [0, 1) */
double ft_rng_normal(void);
/* The generator's whole state (vmap's 'same' randomness replays it per chunk). */
#define FT_RNG_STATE_BYTES 48
void ft_rng_get_state(void *buf);
void ft_rng_set_state(const void *buf);

#endif
