/* Tensor handles for the exports (src/api/wasm_api.c). In WebAssembly a
 * handle is the tensor's address: pointers are 32-bit, so an int32 holds
 * one. Natively (the fuzz harnesses of tests/fuzz drive the same exports)
 * pointers are 64-bit, so handles index a table instead; the harness
 * clears it between inputs, once it holds no tensor. */
#ifndef FT_API_HANDLES_H
#define FT_API_HANDLES_H

#include "../core.h"

#if UINTPTR_MAX > 0xFFFFFFFFu
#define FT_HANDLE_TABLE 1
/* The tensor behind handle h (NULL for 0 or a handle never given out). */
ft_tensor *ft_handle_tensor(int32_t h);
/* t's handle (0 for NULL); the same tensor address always gets the same
 * handle. Aborts only if the table cannot grow, which natively means the
 * process is out of memory anyway (no export can report it: handles are
 * made after the work is done). */
int32_t ft_handle_of(ft_tensor *t);
/* Forgets every handle: only valid when no handle is in use. */
void ft_handles_reset(void);
#endif

#endif
