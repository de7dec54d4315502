/*
 * test-api-info.c - the general and slot/token part of the function list,
 * black-box through dlopen():
 *   - C_GetFunctionList (a 2.40 table), C_GetInterfaceList and C_GetInterface
 *     ("PKCS 11" 3.0 and 2.40, unknown names, CKF_INTERFACE_FORK_SAFE);
 *   - C_Initialize forms: NULL, NSS (flags + mutex callbacks), p11-kit (flag,
 *     NULL callbacks), inconsistent callbacks, double initialisation, calls
 *     before initialisation, C_Finalize;
 *   - C_GetInfo, C_GetSlotList (length queries), C_GetSlotInfo,
 *     C_GetTokenInfo: blank padding, labels, serial from the número,
 *     flags (doc/DESIGN.md §3);
 *   - broken bundles (missing, garbage, truncated) as slots without a token;
 *   - holder names stored as T61String (Ñ) turned into valid UTF-8;
 *   - C_GetMechanismList / C_GetMechanismInfo for an e.firma and a CSD;
 *   - C_WaitForSlotEvent;
 *   - a scanned [directory]: bundles added and removed show up on the next
 *     C_GetSlotList(NULL) with stable slot IDs.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "api-util.h"

#define LABEL_CACX "e.firma CACX7605101P8"
#define LABEL_EKU_CSD "CSD EKU9003173C9"
#define NUMERO_CACX "30001000000500003282"
#define NUMERO_EKU_CSD "30001000000500003416"

/* ---------------------------------------------------------------- mutexes
 * NSS passes its own mutex callbacks; these are real ones so that a module
 * that chooses to use them works. */
static CK_RV mx_create(CK_VOID_PTR_PTR m)
{
	pthread_mutex_t *p = malloc(sizeof *p);
	if (!p)
		return CKR_HOST_MEMORY;
	pthread_mutex_init(p, NULL);
	*m = p;
	return CKR_OK;
}

static CK_RV mx_destroy(CK_VOID_PTR m)
{
	pthread_mutex_destroy(m);
	free(m);
	return CKR_OK;
}

static CK_RV mx_lock(CK_VOID_PTR m)
{
	return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_MUTEX_BAD;
}

static CK_RV mx_unlock(CK_VOID_PTR m)
{
	return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_MUTEX_NOT_LOCKED;
}

/* ------------------------------------------------------------ interfaces */

static void test_function_list(void)
{
	is_ul(P->version.major, 2, "C_GetFunctionList: table major version 2");
	is_ul(P->version.minor, 40, "C_GetFunctionList: table minor version 40");
	is_ul(P->C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD, "C_GetFunctionList(NULL) -> CKR_ARGUMENTS_BAD");
	CK_FUNCTION_LIST_PTR again = NULL;
	is_ul(P->C_GetFunctionList(&again), CKR_OK, "C_GetFunctionList through the table");
	ok(again && again->version.major == 2 && again->version.minor == 40,
	   "second C_GetFunctionList is 2.40 too");
}

static void test_interfaces(void)
{
	CK_ULONG n = 0;
	CK_INTERFACE list[4];
	CK_INTERFACE_PTR ip = NULL;
	CK_VERSION v;
	CK_RV rv;

	if (!ok(api_get_interface_list && api_get_interface,
		"C_GetInterfaceList and C_GetInterface are exported"))
		return;
	is_ul(api_get_interface_list(NULL, NULL), CKR_ARGUMENTS_BAD,
	      "C_GetInterfaceList(NULL, NULL) -> CKR_ARGUMENTS_BAD");
	is_ul(api_get_interface_list(NULL, &n), CKR_OK, "C_GetInterfaceList length query");
	is_ul(n, 2, "two interfaces offered");
	n = 1;
	is_ul(api_get_interface_list(list, &n), CKR_BUFFER_TOO_SMALL,
	      "C_GetInterfaceList short buffer -> CKR_BUFFER_TOO_SMALL");
	is_ul(n, 2, "... and the count is returned");
	n = 4;
	rv = api_get_interface_list(list, &n);
	is_ul(rv, CKR_OK, "C_GetInterfaceList");
	if (rv == CKR_OK && n == 2) {
		bool have30 = false, have240 = false, names = true, nofork = true;
		for (CK_ULONG i = 0; i < n; i++) {
			CK_VERSION *iv = list[i].pFunctionList;
			if (!list[i].pInterfaceName || strcmp((char *)list[i].pInterfaceName, "PKCS 11"))
				names = false;
			if (list[i].flags & CKF_INTERFACE_FORK_SAFE)
				nofork = false;
			if (iv && iv->major == 3 && iv->minor == 0)
				have30 = true;
			if (iv && iv->major == 2 && iv->minor == 40)
				have240 = true;
		}
		ok(names, "both interfaces are named \"PKCS 11\"");
		ok(have30, "a 3.0 function list is offered");
		ok(have240, "a 2.40 function list is offered");
		ok(nofork, "no interface claims CKF_INTERFACE_FORK_SAFE");
	} else {
		ok(0, "interface list content (not read)");
	}

	rv = api_get_interface((CK_UTF8CHAR_PTR)"PKCS 11", NULL, &ip, 0);
	is_ul(rv, CKR_OK, "C_GetInterface(\"PKCS 11\", NULL, 0)");
	ok(rv == CKR_OK && ip && ((CK_VERSION *)ip->pFunctionList)->major == 3 &&
	   ((CK_VERSION *)ip->pFunctionList)->minor == 0,
	   "... gives the 3.0 list (the newest)");
	if (rv == CKR_OK && ip) {
		CK_FUNCTION_LIST_3_0_PTR f3 = ip->pFunctionList;
		ok(f3->C_LoginUser && f3->C_SessionCancel && f3->C_GetInterface &&
		   f3->C_MessageSignInit && f3->C_Initialize,
		   "3.0 list has every entry filled (C_LoginUser, C_SessionCancel, ...)");
		ok(ip->pInterfaceName && strcmp((char *)ip->pInterfaceName, "PKCS 11") == 0,
		   "... named \"PKCS 11\"");
	} else {
		ok(0, "3.0 list entries");
		ok(0, "3.0 list name");
	}

	ip = NULL;
	rv = api_get_interface(NULL, NULL, &ip, 0);
	ok(rv == CKR_OK && ip && ((CK_VERSION *)ip->pFunctionList)->major == 3,
	   "C_GetInterface(NULL name) gives the default (3.0) interface: %s", ef_rv_name(rv));

	v.major = 2;
	v.minor = 40;
	ip = NULL;
	rv = api_get_interface((CK_UTF8CHAR_PTR)"PKCS 11", &v, &ip, 0);
	is_ul(rv, CKR_OK, "C_GetInterface(\"PKCS 11\", {2,40})");
	ok(rv == CKR_OK && ip && ((CK_VERSION *)ip->pFunctionList)->major == 2 &&
	   ((CK_VERSION *)ip->pFunctionList)->minor == 40, "... gives the 2.40 list");

	v.major = 3;
	v.minor = 0;
	ip = NULL;
	rv = api_get_interface((CK_UTF8CHAR_PTR)"PKCS 11", &v, &ip, 0);
	ok(rv == CKR_OK && ip && ((CK_VERSION *)ip->pFunctionList)->major == 3,
	   "C_GetInterface(\"PKCS 11\", {3,0}) gives 3.0: %s", ef_rv_name(rv));

	ip = NULL;
	rv = api_get_interface((CK_UTF8CHAR_PTR)"Vendor NSS", NULL, &ip, 0);
	is_ul(rv, CKR_ARGUMENTS_BAD, "C_GetInterface(unknown name) -> CKR_ARGUMENTS_BAD");
	ok(ip == NULL, "... and no interface returned");

	v.major = 2;
	v.minor = 11;
	ip = NULL;
	rv = api_get_interface((CK_UTF8CHAR_PTR)"PKCS 11", &v, &ip, 0);
	/* [PKCS#11 3.0 C_GetInterface] no interface of that name and version */
	is_ul(rv, CKR_ARGUMENTS_BAD, "C_GetInterface({2,11}) is not offered: %s", ef_rv_name(rv));

	/* [PKCS#11 3.0 C_GetInterface] flags: the interface must support them.
	 * This module does not promise fork-safe semantics (the child must
	 * call C_Initialize), so NSS's first request has to fail. */
	ip = NULL;
	rv = api_get_interface((CK_UTF8CHAR_PTR)"PKCS 11", NULL, &ip, CKF_INTERFACE_FORK_SAFE);
	is_ul(rv, CKR_ARGUMENTS_BAD, "C_GetInterface(CKF_INTERFACE_FORK_SAFE) not offered: %s",
	      ef_rv_name(rv));
	ok(ip == NULL, "... and no interface returned");

	rv = api_get_interface((CK_UTF8CHAR_PTR)"PKCS 11", NULL, NULL, 0);
	is_ul(rv, CKR_ARGUMENTS_BAD, "C_GetInterface(ppInterface NULL) -> CKR_ARGUMENTS_BAD");
}

/* ----------------------------------------------------------- initialize */

static void test_not_initialized(void)
{
	CK_INFO info;
	CK_ULONG n = 0;
	CK_SESSION_HANDLE s;

	is_ul(P->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED,
	      "C_GetInfo before C_Initialize -> CKR_CRYPTOKI_NOT_INITIALIZED");
	is_ul(P->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED,
	      "C_GetSlotList before C_Initialize -> CKR_CRYPTOKI_NOT_INITIALIZED");
	is_ul(P->C_OpenSession(2, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_CRYPTOKI_NOT_INITIALIZED,
	      "C_OpenSession before C_Initialize -> CKR_CRYPTOKI_NOT_INITIALIZED");
	is_ul(P->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED,
	      "C_Finalize before C_Initialize -> CKR_CRYPTOKI_NOT_INITIALIZED");
	if (P3)
		is_ul(P3->C_SessionCancel(1, CKF_SIGN), CKR_CRYPTOKI_NOT_INITIALIZED,
		      "C_SessionCancel (3.0) before C_Initialize -> CKR_CRYPTOKI_NOT_INITIALIZED");
	else
		ok(0, "3.0 function list available");
}

static void test_initialize_forms(void)
{
	CK_C_INITIALIZE_ARGS a;
	CK_INFO info;
	CK_RV rv;

	is_ul(P->C_Initialize(NULL), CKR_OK, "C_Initialize(NULL)");
	is_ul(P->C_GetInfo(&info), CKR_OK, "C_GetInfo after C_Initialize(NULL)");
	is_ul(P->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED,
	      "second C_Initialize -> CKR_CRYPTOKI_ALREADY_INITIALIZED");
	is_ul(P->C_Finalize((void *)&a), CKR_ARGUMENTS_BAD,
	      "C_Finalize(non-NULL) -> CKR_ARGUMENTS_BAD");
	is_ul(P->C_Finalize(NULL), CKR_OK, "C_Finalize");
	is_ul(P->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED,
	      "C_Finalize twice -> CKR_CRYPTOKI_NOT_INITIALIZED");

	/* NSS: CKF_OS_LOCKING_OK | CKF_LIBRARY_CANT_CREATE_OS_THREADS and its own
	 * mutex callbacks. */
	memset(&a, 0, sizeof a);
	a.flags = CKF_OS_LOCKING_OK | CKF_LIBRARY_CANT_CREATE_OS_THREADS;
	a.CreateMutex = mx_create;
	a.DestroyMutex = mx_destroy;
	a.LockMutex = mx_lock;
	a.UnlockMutex = mx_unlock;
	is_ul(P->C_Initialize(&a), CKR_OK, "C_Initialize, NSS form (flags + 4 mutex callbacks)");
	is_ul(P->C_Initialize(&a), CKR_CRYPTOKI_ALREADY_INITIALIZED,
	      "... again -> CKR_CRYPTOKI_ALREADY_INITIALIZED");
	is_ul(P->C_Finalize(NULL), CKR_OK, "C_Finalize after NSS form");

	/* p11-kit: the flag, NULL callbacks. */
	memset(&a, 0, sizeof a);
	a.flags = CKF_OS_LOCKING_OK;
	is_ul(P->C_Initialize(&a), CKR_OK, "C_Initialize, p11-kit form (CKF_OS_LOCKING_OK, NULL callbacks)");
	is_ul(P->C_Finalize(NULL), CKR_OK, "C_Finalize after p11-kit form");

	memset(&a, 0, sizeof a);
	a.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS;
	is_ul(P->C_Initialize(&a), CKR_OK, "C_Initialize, CKF_LIBRARY_CANT_CREATE_OS_THREADS only");
	P->C_Finalize(NULL);

	/* Callbacks without CKF_OS_LOCKING_OK: the module must use them or
	 * answer CKR_CANT_LOCK. */
	memset(&a, 0, sizeof a);
	a.CreateMutex = mx_create;
	a.DestroyMutex = mx_destroy;
	a.LockMutex = mx_lock;
	a.UnlockMutex = mx_unlock;
	rv = P->C_Initialize(&a);
	ok(rv == CKR_OK || rv == CKR_CANT_LOCK,
	   "C_Initialize, callbacks without the flag -> CKR_OK or CKR_CANT_LOCK: %s", ef_rv_name(rv));
	if (rv == CKR_OK)
		P->C_Finalize(NULL);

	/* [PKCS#11 2.40 C_Initialize] either all four callbacks or none. */
	memset(&a, 0, sizeof a);
	a.flags = CKF_OS_LOCKING_OK;
	a.CreateMutex = mx_create;
	a.LockMutex = mx_lock;
	rv = P->C_Initialize(&a);
	is_ul(rv, CKR_ARGUMENTS_BAD, "C_Initialize with 2 of 4 callbacks -> CKR_ARGUMENTS_BAD");
	if (rv == CKR_OK)
		P->C_Finalize(NULL);
	is_ul(P->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED,
	      "... and the library stays uninitialised");
	memset(&a, 0, sizeof a);
	a.DestroyMutex = mx_destroy;
	rv = P->C_Initialize(&a);
	is_ul(rv, CKR_ARGUMENTS_BAD, "C_Initialize with only DestroyMutex -> CKR_ARGUMENTS_BAD");
	if (rv == CKR_OK)
		P->C_Finalize(NULL);
}

/* ------------------------------------------------------- info, slots, tokens */

static bool no_colon(const unsigned char *p, size_t n)
{
	return memchr(p, ':', n) == NULL;
}

static void check_token(CK_SLOT_ID slot, const char *label, const char *numero)
{
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO si;
	char l[64], serial[32];
	CK_RV rv = P->C_GetTokenInfo(slot, &ti);

	if (!is_ul(rv, CKR_OK, "C_GetTokenInfo(%s)", label))
		return;
	api_field(ti.label, sizeof ti.label, l, sizeof l);
	is_str(l, label, "token label");
	ok(api_blank_padded(ti.label, sizeof ti.label) && ti.label[sizeof ti.label - 1] == ' ',
	   "%s: label blank padded, no NUL", label);
	ok(no_colon(ti.label, sizeof ti.label), "%s: no ':' in the label", label);
	ok(api_blank_padded(ti.manufacturerID, sizeof ti.manufacturerID), "%s: manufacturerID blank padded", label);
	ok(api_blank_padded(ti.model, sizeof ti.model), "%s: model blank padded", label);
	ok(api_blank_padded(ti.serialNumber, sizeof ti.serialNumber), "%s: serialNumber blank padded", label);
	ok(api_blank_padded(ti.utcTime, sizeof ti.utcTime) || !(ti.flags & CKF_CLOCK_ON_TOKEN),
	   "%s: utcTime padded (or no clock)", label);
	api_field(ti.serialNumber, sizeof ti.serialNumber, serial, sizeof serial);
	size_t sl = strlen(serial), nl = strlen(numero);
	ok(sl >= 8 && sl <= nl && strcmp(numero + nl - sl, serial) == 0,
	   "%s: serial '%s' is the tail of the número %s", label, serial, numero);
	CK_FLAGS need = CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
	ok((ti.flags & need) == need, "%s: flags LOGIN_REQUIRED|USER_PIN_INITIALIZED|TOKEN_INITIALIZED (0x%lx)",
	   label, (unsigned long)ti.flags);
	ok(!(ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH), "%s: no protected authentication path", label);
	ok(ti.ulMaxPinLen >= ti.ulMinPinLen && ti.ulMaxPinLen >= 9 && ti.ulMinPinLen >= 1,
	   "%s: PIN length range %lu..%lu admits the SAT password", label,
	   (unsigned long)ti.ulMinPinLen, (unsigned long)ti.ulMaxPinLen);

	rv = P->C_GetSlotInfo(slot, &si);
	is_ul(rv, CKR_OK, "C_GetSlotInfo(%s)", label);
	ok(si.flags & CKF_TOKEN_PRESENT, "%s: CKF_TOKEN_PRESENT", label);
	ok(!(si.flags & CKF_HW_SLOT), "%s: not a hardware slot", label);
	ok(api_blank_padded(si.slotDescription, sizeof si.slotDescription),
	   "%s: slotDescription blank padded, no NUL", label);
	ok(api_blank_padded(si.manufacturerID, sizeof si.manufacturerID),
	   "%s: slot manufacturerID blank padded, no NUL", label);
}

static void test_info_slots(void)
{
	struct api_bundle b[2];
	CK_INFO info;
	CK_SLOT_ID ids[8], slot;
	CK_ULONG n = 0;
	CK_RV rv;

	if (!ok(api_sat_bundle("fiel-pf-CACX7605101P8-2023", &b[0]) &&
		api_sat_bundle("csd-pm-EKU9003173C9-2023", &b[1]), "SAT bundles found in %s", api_sat_dir()))
		return;
	if (!is_ul(api_init_bundles(b, 2), CKR_OK, "C_Initialize with two bundles (conf=)"))
		return;

	is_ul(P->C_GetInfo(NULL), CKR_ARGUMENTS_BAD, "C_GetInfo(NULL) -> CKR_ARGUMENTS_BAD");
	is_ul(P->C_GetInfo(&info), CKR_OK, "C_GetInfo");
	ok((info.cryptokiVersion.major == 2 && info.cryptokiVersion.minor == 40) ||
	   (info.cryptokiVersion.major == 3 && info.cryptokiVersion.minor == 0),
	   "cryptokiVersion is 2.40 or 3.0 (%u.%u)", info.cryptokiVersion.major, info.cryptokiVersion.minor);
	ok(api_blank_padded(info.manufacturerID, sizeof info.manufacturerID),
	   "C_GetInfo manufacturerID blank padded, no NUL");
	ok(api_blank_padded(info.libraryDescription, sizeof info.libraryDescription),
	   "C_GetInfo libraryDescription blank padded, no NUL");
	ok(info.manufacturerID[0] != ' ' && info.libraryDescription[0] != ' ',
	   "C_GetInfo strings are not empty");
	is_ul(info.flags, 0, "C_GetInfo flags are 0");

	is_ul(P->C_GetSlotList(CK_FALSE, NULL, NULL), CKR_ARGUMENTS_BAD,
	      "C_GetSlotList(pulCount NULL) -> CKR_ARGUMENTS_BAD");
	rv = P->C_GetSlotList(CK_TRUE, NULL, &n);
	is_ul(rv, CKR_OK, "C_GetSlotList(NULL) length query");
	is_ul(n, 2, "two slots with a token");
	n = 1;
	is_ul(P->C_GetSlotList(CK_TRUE, ids, &n), CKR_BUFFER_TOO_SMALL,
	      "C_GetSlotList short buffer -> CKR_BUFFER_TOO_SMALL");
	is_ul(n, 2, "... and the count is returned");
	n = 8;
	is_ul(P->C_GetSlotList(CK_TRUE, ids, &n), CKR_OK, "C_GetSlotList");
	is_ul(n, 2, "two slot IDs");
	ok(n == 2 && ids[0] != 0 && ids[0] != 1 && ids[1] != 0 && ids[1] != 1,
	   "slot IDs are never 0 or 1");
	ok(n == 2 && ids[0] != ids[1], "slot IDs differ");
	n = 8;
	is_ul(P->C_GetSlotList(CK_FALSE, ids, &n), CKR_OK, "C_GetSlotList(all)");
	is_ul(n, 2, "all slots: two");

	if (is_ul(api_find_slot(LABEL_CACX, &slot), CKR_OK, "slot '%s' found", LABEL_CACX))
		check_token(slot, LABEL_CACX, NUMERO_CACX);
	if (is_ul(api_find_slot(LABEL_EKU_CSD, &slot), CKR_OK, "slot '%s' found", LABEL_EKU_CSD))
		check_token(slot, LABEL_EKU_CSD, NUMERO_EKU_CSD);

	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	is_ul(P->C_GetSlotInfo(0xdead, &si), CKR_SLOT_ID_INVALID, "C_GetSlotInfo(bad id) -> CKR_SLOT_ID_INVALID");
	is_ul(P->C_GetTokenInfo(0xdead, &ti), CKR_SLOT_ID_INVALID, "C_GetTokenInfo(bad id) -> CKR_SLOT_ID_INVALID");
	is_ul(P->C_GetSlotInfo(0, &si), CKR_SLOT_ID_INVALID, "C_GetSlotInfo(0) -> CKR_SLOT_ID_INVALID");
	is_ul(P->C_GetSlotInfo(ids[0], NULL), CKR_ARGUMENTS_BAD, "C_GetSlotInfo(NULL) -> CKR_ARGUMENTS_BAD");
	is_ul(P->C_GetTokenInfo(ids[0], NULL), CKR_ARGUMENTS_BAD, "C_GetTokenInfo(NULL) -> CKR_ARGUMENTS_BAD");
	api_finalize();
}

/* One bundle alone, through the pReserved "cert= key=" form. */
static void test_single_reserved(void)
{
	struct api_bundle b;
	CK_ULONG n = 0;
	CK_SLOT_ID slot;
	char conf[4096];
	if (!api_sat_bundle("fiel-pm-EKU9003173C9-2023", &b))
		return;
	snprintf(conf, sizeof conf, "cert=%s key=%s", b.cer, b.key);
	is_ul(api_init(conf), CKR_OK, "C_Initialize with pReserved \"cert=... key=...\"");
	is_ul(P->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK, "C_GetSlotList");
	is_ul(n, 1, "one token");
	is_ul(api_find_slot("e.firma EKU9003173C9", &slot), CKR_OK, "persona moral e.firma label 'e.firma EKU9003173C9'");
	api_finalize();

	/* label= overrides the token label. */
	snprintf(conf, sizeof conf, "cert=%s key=%s label=\"Mi firma\"", b.cer, b.key);
	CK_RV rv = api_init(conf);
	is_ul(rv, CKR_OK, "C_Initialize with label=\"Mi firma\"");
	is_ul(api_find_slot("Mi firma", &slot), CKR_OK, "label= sets the token label");
	api_finalize();

	/* EFIRMA_PKCS11_CONF names a file when pReserved is NULL. */
	const char *dir = api_tmpdir();
	char path[4096];
	snprintf(path, sizeof path, "%s/env.conf", dir);
	FILE *f = fopen(path, "w");
	if (f) {
		fprintf(f, "# comment\n[bundle]\ncert = %s\nkey = %s\n", b.cer, b.key);
		fclose(f);
	}
	setenv("EFIRMA_PKCS11_CONF", path, 1);
	is_ul(P->C_Initialize(NULL), CKR_OK, "C_Initialize(NULL) with EFIRMA_PKCS11_CONF");
	is_ul(api_find_slot("e.firma EKU9003173C9", &slot), CKR_OK, "EFIRMA_PKCS11_CONF file read");
	api_finalize();
	unsetenv("EFIRMA_PKCS11_CONF");

	/* XDG_CONFIG_HOME/efirma-pkcs11/efirma-pkcs11.conf when nothing else. */
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg) {
		api_sh("mkdir -p '%s/efirma-pkcs11' && cp '%s' '%s/efirma-pkcs11/efirma-pkcs11.conf'",
		       xdg, path, xdg);
		is_ul(P->C_Initialize(NULL), CKR_OK, "C_Initialize(NULL) with a user config file");
		is_ul(api_find_slot("e.firma EKU9003173C9", &slot), CKR_OK,
		      "$XDG_CONFIG_HOME/efirma-pkcs11/efirma-pkcs11.conf read");
		api_finalize();
		/* pReserved wins over the user file. */
		struct api_bundle c;
		if (api_sat_bundle("fiel-pf-CACX7605101P8-2023", &c)) {
			api_init_bundle(&c);
			n = 0;
			P->C_GetSlotList(CK_FALSE, NULL, &n);
			ok(n == 1 && api_find_slot(LABEL_CACX, &slot) == CKR_OK,
			   "pReserved wins over the user file (first found wins)");
			api_finalize();
		}
		api_sh("rm -rf '%s/efirma-pkcs11'", xdg);
	}
}

/* ---------------------------------------------------------- broken bundles */

static void test_broken(void)
{
	struct api_bundle b[4];
	const char *dir = api_tmpdir();
	CK_SLOT_ID ids[8];
	CK_ULONG n = 0;

	if (!dir || !api_sat_bundle("fiel-pf-CACX7605101P8-2023", &b[0]))
		return;
	/* missing files */
	b[1] = b[0];
	snprintf(b[1].cer, sizeof b[1].cer, "%s/missing.cer", dir);
	snprintf(b[1].key, sizeof b[1].key, "%s/missing.key", dir);
	/* garbage */
	b[2] = b[0];
	snprintf(b[2].cer, sizeof b[2].cer, "%s/garbage.cer", dir);
	snprintf(b[2].key, sizeof b[2].key, "%s/garbage.key", dir);
	unsigned char junk[1500];
	api_random(junk, sizeof junk);
	api_write_file(b[2].cer, junk, sizeof junk);
	api_write_file(b[2].key, junk, sizeof junk);
	/* truncated certificate */
	b[3] = b[0];
	snprintf(b[3].cer, sizeof b[3].cer, "%s/truncated.cer", dir);
	size_t len;
	unsigned char *der = api_read_file(b[0].cer, &len);
	if (der)
		api_write_file(b[3].cer, der, len / 2);
	free(der);
	/* b[3].key stays the good key */

	CK_RV rv = api_init_bundles(b, 4);
	if (!is_ul(rv, CKR_OK, "C_Initialize succeeds with missing/garbage/truncated bundles"))
		return;
	is_ul(P->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK, "C_GetSlotList(all)");
	is_ul(n, 4, "one slot per bundle, broken ones included");
	n = 8;
	is_ul(P->C_GetSlotList(CK_TRUE, ids, &n), CKR_OK, "C_GetSlotList(token present)");
	is_ul(n, 1, "only the good bundle has a token");
	n = 8;
	P->C_GetSlotList(CK_FALSE, ids, &n);
	int empty = 0, good = 0;
	for (CK_ULONG i = 0; i < n && i < 8; i++) {
		CK_SLOT_INFO si;
		CK_TOKEN_INFO ti;
		CK_SESSION_HANDLE s;
		if (P->C_GetSlotInfo(ids[i], &si) != CKR_OK)
			continue;
		if (si.flags & CKF_TOKEN_PRESENT) {
			good++;
			continue;
		}
		empty++;
		is_ul(P->C_GetTokenInfo(ids[i], &ti), CKR_TOKEN_NOT_PRESENT,
		      "broken slot %lu: C_GetTokenInfo -> CKR_TOKEN_NOT_PRESENT", (unsigned long)ids[i]);
		is_ul(P->C_OpenSession(ids[i], CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_TOKEN_NOT_PRESENT,
		      "broken slot %lu: C_OpenSession -> CKR_TOKEN_NOT_PRESENT", (unsigned long)ids[i]);
		ok(api_blank_padded(si.slotDescription, sizeof si.slotDescription),
		   "broken slot %lu: description blank padded", (unsigned long)ids[i]);
	}
	is_ul(empty, 3, "three slots without a token");
	is_ul(good, 1, "one slot with a token");
	CK_SLOT_ID slot;
	is_ul(api_find_slot(LABEL_CACX, &slot), CKR_OK, "the good bundle is still usable");
	api_finalize();
}

/* ------------------------------------------------------------- T61String */

static void test_t61(const char *bundle, const char *label)
{
	struct api_bundle b;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE s;

	if (!ok(api_sat_bundle(bundle, &b), "bundle %s", bundle))
		return;
	if (!is_ul(api_init_bundle(&b), CKR_OK, "C_Initialize(%s)", bundle))
		return;
	if (is_ul(api_find_slot(label, &slot), CKR_OK, "token label is '%s' (UTF-8 Ñ)", label)) {
		P->C_GetTokenInfo(slot, &ti);
		ok(api_utf8_valid(ti.label, sizeof ti.label), "%s: token label valid UTF-8", bundle);
		ok(api_memmem(ti.label, sizeof ti.label, "\xc3\x91", 2), "%s: token label holds Ñ as C3 91", bundle);
		if (is_ul(api_open(slot, false, &s), CKR_OK, "C_OpenSession")) {
			CK_OBJECT_HANDLE c = api_leaf_cert(s);
			unsigned char *v = NULL;
			CK_ULONG len = 0;
			X509 *x = api_load_cert(b.cer);
			char *cn = x ? api_cert_cn_utf8(x) : NULL;
			CK_RV rv = api_attr(s, c, CKA_LABEL, &v, &len);
			is_ul(rv, CKR_OK, "%s: certificate CKA_LABEL", bundle);
			ok(rv == CKR_OK && api_utf8_valid(v, len), "%s: CKA_LABEL valid UTF-8", bundle);
			ok(rv == CKR_OK && api_memmem(v, len, "\xc3\x91", 2), "%s: CKA_LABEL holds Ñ as C3 91", bundle);
			ok(rv == CKR_OK && cn && len == strlen(cn) && memcmp(v, cn, len) == 0,
			   "%s: CKA_LABEL '%.*s' is the holder name '%s'", bundle, (int)len, v ? (char *)v : "",
			   cn ? cn : "?");
			free(v);
			free(cn);
			X509_free(x);
			P->C_CloseSession(s);
		}
	}
	api_finalize();
}

/* ------------------------------------------------------------ mechanisms */

static const CK_MECHANISM_TYPE required_mechs[] = {
	CKM_RSA_PKCS, CKM_RSA_PKCS_PSS,
	CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS, CKM_SHA256_RSA_PKCS,
	CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS,
	CKM_SHA1_RSA_PKCS_PSS, CKM_SHA224_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS,
	CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS,
	CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512,
};

static bool is_digest(CK_MECHANISM_TYPE m)
{
	return m == CKM_SHA_1 || m == CKM_SHA224 || m == CKM_SHA256 || m == CKM_SHA384 ||
	       m == CKM_SHA512;
}

static void test_mechanisms(const char *bundle, const char *label, bool efirma)
{
	struct api_bundle b;
	CK_SLOT_ID slot;
	CK_MECHANISM_TYPE *list = NULL;
	CK_ULONG n = 0, n1;
	CK_MECHANISM_INFO mi;
	CK_RV rv;

	if (!api_sat_bundle(bundle, &b) || api_init_bundle(&b) != CKR_OK) {
		ok(0, "C_Initialize(%s)", bundle);
		return;
	}
	if (!is_ul(api_find_slot(label, &slot), CKR_OK, "slot %s", label))
		goto out;
	is_ul(P->C_GetMechanismList(slot, NULL, &n), CKR_OK, "%s: C_GetMechanismList length query", label);
	ok(n >= sizeof required_mechs / sizeof required_mechs[0], "%s: %lu mechanisms", label, (unsigned long)n);
	list = calloc(n + 1, sizeof *list);
	n1 = 1;
	is_ul(P->C_GetMechanismList(slot, list, &n1), n > 1 ? CKR_BUFFER_TOO_SMALL : CKR_OK,
	      "%s: C_GetMechanismList short buffer -> CKR_BUFFER_TOO_SMALL", label);
	is_ul(n1, n, "%s: ... and the count", label);
	n1 = n;
	is_ul(P->C_GetMechanismList(slot, list, &n1), CKR_OK, "%s: C_GetMechanismList", label);
	for (size_t r = 0; r < sizeof required_mechs / sizeof required_mechs[0]; r++) {
		bool found = false;
		for (CK_ULONG i = 0; i < n1; i++)
			found |= list[i] == required_mechs[r];
		ok(found, "%s: mechanism 0x%lx listed", label, (unsigned long)required_mechs[r]);
	}
	bool decrypt_anywhere = false, sizes_ok = true, infos_ok = true, no_hw = true;
	for (CK_ULONG i = 0; i < n1; i++) {
		rv = P->C_GetMechanismInfo(slot, list[i], &mi);
		if (rv != CKR_OK) {
			infos_ok = false;
			tap_diag("C_GetMechanismInfo(0x%lx): %s", (unsigned long)list[i], ef_rv_name(rv));
			continue;
		}
		if (mi.flags & CKF_DECRYPT)
			decrypt_anywhere = true;
		if (mi.flags & CKF_HW)
			no_hw = false;
		if (is_digest(list[i])) {
			if (!(mi.flags & CKF_DIGEST)) {
				infos_ok = false;
				tap_diag("digest 0x%lx without CKF_DIGEST", (unsigned long)list[i]);
			}
		} else if (mi.ulMinKeySize > 2048 || mi.ulMaxKeySize < 2048) {
			sizes_ok = false;
			tap_diag("0x%lx key sizes %lu..%lu", (unsigned long)list[i],
				 (unsigned long)mi.ulMinKeySize, (unsigned long)mi.ulMaxKeySize);
		}
	}
	ok(infos_ok, "%s: C_GetMechanismInfo OK for every listed mechanism", label);
	ok(sizes_ok, "%s: RSA key sizes cover 2048", label);
	ok(no_hw, "%s: no mechanism claims CKF_HW", label);
	CK_MECHANISM_TYPE signers[] = { CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS,
					 CKM_SHA256_RSA_PKCS_PSS };
	for (size_t i = 0; i < sizeof signers / sizeof signers[0]; i++) {
		rv = P->C_GetMechanismInfo(slot, signers[i], &mi);
		ok(rv == CKR_OK && (mi.flags & (CKF_SIGN | CKF_VERIFY)) == (CKF_SIGN | CKF_VERIFY),
		   "%s: 0x%lx has CKF_SIGN|CKF_VERIFY", label, (unsigned long)signers[i]);
	}
	if (efirma) {
		rv = P->C_GetMechanismInfo(slot, CKM_RSA_PKCS_OAEP, &mi);
		ok(rv == CKR_OK && (mi.flags & (CKF_DECRYPT | CKF_ENCRYPT)) == (CKF_DECRYPT | CKF_ENCRYPT),
		   "%s: CKM_RSA_PKCS_OAEP with CKF_DECRYPT|CKF_ENCRYPT (%s)", label, ef_rv_name(rv));
		/* PKCS#1 v1.5 decryption is a padding oracle (doc/DESIGN.md §8):
		 * off unless configured (tests/api/test-api-mechs). */
		rv = P->C_GetMechanismInfo(slot, CKM_RSA_PKCS, &mi);
		ok(rv == CKR_OK && !(mi.flags & CKF_DECRYPT), "%s: CKM_RSA_PKCS without CKF_DECRYPT", label);
	} else {
		ok(!decrypt_anywhere, "%s: CSD offers CKF_DECRYPT nowhere", label);
	}
	is_ul(P->C_GetMechanismInfo(slot, CKM_AES_CBC, &mi), CKR_MECHANISM_INVALID,
	      "%s: C_GetMechanismInfo(CKM_AES_CBC) -> CKR_MECHANISM_INVALID", label);
	is_ul(P->C_GetMechanismInfo(0xdead, CKM_RSA_PKCS, &mi), CKR_SLOT_ID_INVALID,
	      "C_GetMechanismInfo(bad slot) -> CKR_SLOT_ID_INVALID");
out:
	free(list);
	api_finalize();
}

/* ------------------------------------------------------------ slot events */

static void test_wait_event(void)
{
	struct api_bundle b;
	CK_SLOT_ID slot = 0;
	if (!api_sat_bundle("fiel-pf-CACX7605101P8-2023", &b) || api_init_bundle(&b) != CKR_OK) {
		ok(0, "C_Initialize for C_WaitForSlotEvent");
		return;
	}
	is_ul(P->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT,
	      "C_WaitForSlotEvent(CKF_DONT_BLOCK) -> CKR_NO_EVENT");
	is_ul(P->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD,
	      "C_WaitForSlotEvent(pSlot NULL) -> CKR_ARGUMENTS_BAD");
	is_ul(P->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, &slot), CKR_ARGUMENTS_BAD,
	      "C_WaitForSlotEvent(pReserved) -> CKR_ARGUMENTS_BAD");
	/* What blocks and what wakes it: tests/api/test-api-hotplug. */
	api_finalize();
}

/* ------------------------------------------------------------- directory */

static bool slot_has_token(CK_SLOT_ID id)
{
	CK_SLOT_INFO si;
	return P->C_GetSlotInfo(id, &si) == CKR_OK && (si.flags & CKF_TOKEN_PRESENT);
}

static bool in_list(const CK_SLOT_ID *ids, CK_ULONG n, CK_SLOT_ID id)
{
	for (CK_ULONG i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static bool copy_bundle(const struct api_bundle *b, const char *dir)
{
	return api_sh("cp '%s' '%s' '%s/'", b->cer, b->key, dir) == 0;
}

static void test_directory(void)
{
	struct api_bundle a, c, f;
	const char *dir = api_tmpdir();
	char conf[4096];
	CK_SLOT_ID ids[16], sa = 0, sc = 0, sf = 0;
	CK_ULONG n;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;

	if (!dir || !api_sat_bundle("fiel-pf-CACX7605101P8-2023", &a) ||
	    !api_sat_bundle("csd-pm-EKU9003173C9-2023", &c) ||
	    !api_sat_bundle("fiel-pf-FUNK671228PH6-2023", &f))
		return;
	ok(copy_bundle(&a, dir) && copy_bundle(&c, dir), "two bundles copied into a directory");
	snprintf(conf, sizeof conf, "dir=%s ca=%s", dir, api_sat("ca"));
	if (!is_ul(api_init(conf), CKR_OK, "C_Initialize with dir="))
		return;
	n = 16;
	is_ul(P->C_GetSlotList(CK_TRUE, ids, &n), CKR_OK, "C_GetSlotList");
	is_ul(n, 2, "directory with two bundles -> two tokens");
	ok(api_find_slot(LABEL_CACX, &sa) == CKR_OK && api_find_slot(LABEL_EKU_CSD, &sc) == CKR_OK,
	   "both tokens found by label");
	ok(api_open(sc, false, &s) == CKR_OK, "session open on the CSD token");

	ok(copy_bundle(&f, dir), "a third bundle copied in");
	n = 0;
	is_ul(P->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK, "C_GetSlotList(NULL) rescans");
	is_ul(n, 3, "three tokens after the copy");
	n = 16;
	P->C_GetSlotList(CK_TRUE, ids, &n);
	ok(api_find_slot("e.firma FUNK671228PH6", &sf) == CKR_OK, "the new token appears");
	CK_SLOT_ID sa2 = 0, sc2 = 0;
	ok(api_find_slot(LABEL_CACX, &sa2) == CKR_OK && sa2 == sa &&
	   api_find_slot(LABEL_EKU_CSD, &sc2) == CKR_OK && sc2 == sc,
	   "existing slot IDs unchanged after the rescan");
	ok(sf != sa && sf != sc && sf != 0 && sf != 1, "the new slot has a new ID");
	CK_SESSION_INFO info;
	is_ul(P->C_GetSessionInfo(s, &info), CKR_OK, "session on an unchanged token survives the rescan");

	ok(api_sh("rm -f '%s'/EKU9003173C9_csd.cer '%s'/EKU9003173C9_csd.key", dir, dir) == 0,
	   "the CSD bundle removed from the directory");
	n = 0;
	is_ul(P->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK, "C_GetSlotList(NULL) rescans");
	CK_ULONG all = n;
	n = 16;
	P->C_GetSlotList(CK_FALSE, ids, &n);
	ok(!slot_has_token(sc), "the removed bundle's slot has no token");
	/* 2 bundles, 2 empty slots, of which the third bundle took one. */
	ok(in_list(ids, n, sc) && all == 4, "its slot stays listed (4 slots: %lu)", all);
	ok(slot_has_token(sa) && slot_has_token(sf), "the other tokens stay at their slot IDs");
	n = 0;
	P->C_GetSlotList(CK_TRUE, NULL, &n);
	is_ul(n, 2, "two tokens present");
	CK_RV rv = P->C_GetSessionInfo(s, &info);
	is_ul(rv, CKR_SESSION_HANDLE_INVALID, "session on the removed token is gone: %s", ef_rv_name(rv));

	ok(copy_bundle(&c, dir), "the CSD bundle copied back");
	n = 0;
	P->C_GetSlotList(CK_TRUE, NULL, &n);
	is_ul(n, 3, "three tokens again");
	sc2 = 0;
	CK_RV frv = api_find_slot(LABEL_EKU_CSD, &sc2);
	ok(frv == CKR_OK && sc2 == sc,
	   "the bundle returns at its old slot ID (%lu, was %lu)", (unsigned long)sc2, (unsigned long)sc);
	api_finalize();
}

int main(void)
{
	api_setup_env();
	/* A hang (C_Initialize waiting on a thread) fails instead of
	 * stalling the suite. */
	tap_alarm("test-api-info", 120);
	if (!ok(api_load(), "module loads: %s", api_module_path()))
		return tap_done();
	TAP_PART(test_function_list());
	TAP_PART(test_interfaces());
	TAP_PART(test_not_initialized());
	TAP_PART(test_initialize_forms());
	TAP_PART(test_info_slots());
	TAP_PART(test_single_reserved());
	TAP_PART(test_broken());
	TAP_PART(test_t61("fiel-pm-HAN930228SM9-2019-expired", "e.firma HA\xc3\x91" "930228SM9"));
	TAP_PART(test_t61("fiel-pf-IANL750210963-2019-expired", "e.firma IA\xc3\x91L750210963"));
	TAP_PART(test_mechanisms("fiel-pf-CACX7605101P8-2023", LABEL_CACX, true));
	TAP_PART(test_mechanisms("csd-pm-EKU9003173C9-2023", LABEL_EKU_CSD, false));
	TAP_PART(test_wait_event());
	TAP_PART(test_directory());
	return tap_done();
}
