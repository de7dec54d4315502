/*
 * grow.h - room for one more element in a malloc'd array that doubles.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_GROW_H
#define EF_GROW_H

#include <stdint.h>
#include <stdlib.h>

/* arr holds n of *cap elements of elem bytes.  Returns arr when there is
 * room for one more, else arr reallocated to twice *cap (first when
 * *cap is 0) with *cap updated; NULL when out of memory, arr and *cap
 * then unchanged. */
static inline void *ef_grow(void *arr, size_t n, size_t *cap, size_t first, size_t elem)
{
	size_t want;
	void *p;

	if (n < *cap)
		return arr;
	want = *cap ? *cap * 2 : first;
	if (want < *cap || want > SIZE_MAX / elem)
		return NULL;
	p = realloc(arr, want * elem);
	if (p != NULL)
		*cap = want;
	return p;
}

#endif
