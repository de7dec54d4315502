/*
 * strv.h - malloc'd arrays of malloc'd strings.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_STRV_H
#define EF_STRV_H

#include <stddef.h>
#include <stdlib.h>

static inline void ef_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

#endif
