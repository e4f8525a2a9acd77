/*
 * Growing an array by doubling, the one way the library's lists grow.
 *
 * Promises: on failure nothing changes (the old array and *cap stay, so
 * the caller still owns and frees what it had); the size computation
 * cannot overflow (reallocarray).
 */
#ifndef PRAAS_ARRAY_GROW_H
#define PRAAS_ARRAY_GROW_H

#include <stddef.h>

/*
 * Makes room for element n of v (n elements of size in use, *cap
 * allocated): returns v itself when there is room, else v reallocated to
 * twice *cap (first when *cap is 0) with *cap updated, or NULL on ENOMEM.
 */
void *array_grow(void *v, size_t *cap, size_t n, size_t size, size_t first);

#endif
