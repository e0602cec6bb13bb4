/* Reference-cycle checks for in-place writes (reach.c): whether a value
 * about to be written into a tensor already refers to that tensor. */
#ifndef FT_INTERP_REACH_H
#define FT_INTERP_REACH_H

#include "../core.h"

/* How a walk got to the tensor: through a node's saved value, a node's
 * leaf, or anything else (an inner value, a tangent, a grad, a node). */
enum { FT_REACH_SAVED = 1, FT_REACH_LEAF = 2, FT_REACH_OTHER = 4 };

/* Or's into *how how everything reachable from `from` refers to dp. */
ft_status ft_reach(ft_tensor *from, const ft_tensor *dp, unsigned *how);
/* After dp became a wrapper in place: saved values reachable from `from`
 * that are dp are pointed at dp->inner, the contents they saved. */
ft_status ft_reach_redirect_saved(ft_tensor *from, ft_tensor *dp);

#endif
