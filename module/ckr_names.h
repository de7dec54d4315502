/*
 * ckr_names.h - a PKCS#11 return code by name.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef EF_CKR_NAMES_H
#define EF_CKR_NAMES_H

#include "efirma-pkcs11.h"

/* "CKR_PIN_INCORRECT" for CKR_PIN_INCORRECT; a hex string for unknown
 * values (in a static buffer per thread). */
const char *ef_rv_name(CK_RV rv);

#endif
