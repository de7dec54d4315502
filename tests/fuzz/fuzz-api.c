/*
 * fuzz-api.c - libFuzzer harness: the whole C_* API driven by a sequence
 * of calls the fuzzer chooses, with arguments it chooses.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The module's objects are linked into this program; everything is called
 * through the function lists from C_GetFunctionList and C_GetInterface,
 * exactly as an application would.  Each input is one life of the module:
 * C_Initialize with a pReserved string naming two SAT test bundles (copied
 * to a private folder, so C_SetPIN can rewrite them), up to 96 calls, then
 * C_Finalize.
 *
 * The input is read as a program: one byte picks the call, the next bytes
 * its arguments.  Handles come from what the module returned (open, closed
 * = stale) or are made up; templates, mechanism parameters, PINs and data
 * are fuzzer bytes; every output buffer is allocated with exactly the size
 * the call is told, so ASan sees any write past it.  The oracles are the
 * sanitizers, LeakSanitizer, and two rules checked here: a call never
 * reports more output than the buffer it was given, and never returns
 * CKR_OK with a NULL handle.
 *
 * Caller bugs are not generated: a length is never larger than its
 * buffer, and a pointer is either NULL or valid.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "efirma-pkcs11.h"
#include "fuzz-common.h"

#ifndef FUZZ_DATA_DIR
#define FUZZ_DATA_DIR "tests/data"
#endif

#define PIN "12345678a"

/* The module's exported entry points, linked in (the public header only
 * has the function-list types). */
CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);
CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
		     CK_INTERFACE_PTR_PTR iface, CK_FLAGS flags);

static CK_FUNCTION_LIST_PTR F;
static CK_FUNCTION_LIST_3_0_PTR F3;
static char tmpdir[64];
static char conf_dir[600], conf_one[1400];

struct bundle_file {
	char path[512];
	unsigned char *orig;
	size_t len;
};
static struct bundle_file keys[2];

/* ------------------------------------------------------------- reader */

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t u16(struct rd *r)
{
	return (uint16_t)(u8(r) | (u8(r) << 8));
}

static uint32_t u32(struct rd *r)
{
	return (uint32_t)u16(r) | ((uint32_t)u16(r) << 16);
}

/* A buffer of len bytes filled from the input (zeros once it runs out). */
static unsigned char *bytes(struct rd *r, size_t len)
{
	unsigned char *b = malloc(len ? len : 1);
	if (!b)
		abort();
	for (size_t i = 0; i < len; i++)
		b[i] = u8(r);
	return b;
}

/* ------------------------------------------------------------- setup */

static bool copy(const char *from, const char *to, struct bundle_file *save)
{
	FILE *in = fopen(from, "rb"), *out = NULL;
	unsigned char buf[65536];
	size_t n = 0;
	bool ok = false;
	if (!in)
		return false;
	n = fread(buf, 1, sizeof(buf), in);
	out = fopen(to, "wb");
	if (out && fwrite(buf, 1, n, out) == n)
		ok = true;
	if (out && fclose(out) != 0)
		ok = false;
	fclose(in);
	if (ok && save) {
		snprintf(save->path, sizeof(save->path), "%s", to);
		save->orig = malloc(n);
		if (!save->orig)
			return false;
		memcpy(save->orig, buf, n);
		save->len = n;
	}
	return ok;
}

static void cleanup(void)
{
	char cmd[128];
	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz-api: could not remove %s\n", tmpdir);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *data = getenv("EF_TEST_DATA");
	char from[600], to[600];
	static const char *const files[][2] = {
		{ "fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel.cer", "CACX7605101P8.cer" },
		{ "fiel-pf-CACX7605101P8-2023/CACX7605101P8_fiel.key", "CACX7605101P8.key" },
		{ "csd-pm-EKU9003173C9-2023/EKU9003173C9_csd.cer", "EKU9003173C9_csd.cer" },
		{ "csd-pm-EKU9003173C9-2023/EKU9003173C9_csd.key", "EKU9003173C9_csd.key" },
	};
	if (!data || !*data)
		data = FUZZ_DATA_DIR;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/efirma-fuzz-api-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		abort();
	}
	atexit(cleanup);
	for (size_t i = 0; i < 4; i++) {
		snprintf(from, sizeof(from), "%s/sat/%s", data, files[i][0]);
		snprintf(to, sizeof(to), "%s/%s", tmpdir, files[i][1]);
		if (!copy(from, to, i % 2 ? &keys[i / 2] : NULL)) {
			fprintf(stderr, "fuzz-api: cannot copy %s (set EF_TEST_DATA)\n", from);
			abort();
		}
	}
	/* Two forms of the pReserved string: a scanned folder with both
	 * bundles (default mechanisms), and one explicit bundle with PKCS#1
	 * v1.5 decryption turned on, so that its path is fuzzed too. */
	snprintf(conf_dir, sizeof(conf_dir), "dir=%s ca=%s/sat/ca", tmpdir, data);
	snprintf(conf_one, sizeof(conf_one), "cert=%s/CACX7605101P8.cer key=%s/CACX7605101P8.key "
		 "label=\"fuzz token\" ca=%s/sat/ca allow-pkcs1-decrypt=1", tmpdir, tmpdir, data);
	unsetenv("EFIRMA_PKCS11_CONF");
	setenv("XDG_CONFIG_HOME", tmpdir, 1);

	if (C_GetFunctionList(&F) != CKR_OK || !F)
		abort();
	CK_VERSION v30 = { 3, 0 };
	CK_INTERFACE_PTR ip = NULL;
	if (C_GetInterface((CK_UTF8CHAR_PTR)"PKCS 11", &v30, &ip, 0) != CKR_OK || !ip)
		abort();
	F3 = ip->pFunctionList;
	return 0;
}

/* Puts the .key files back after a C_SetPIN that succeeded. */
static void restore_keys(void)
{
	for (size_t i = 0; i < 2; i++) {
		int fd = open(keys[i].path, O_WRONLY | O_TRUNC | O_CREAT, 0600);
		if (fd < 0 || write(fd, keys[i].orig, keys[i].len) != (ssize_t)keys[i].len)
			abort();
		close(fd);
	}
}

/* -------------------------------------------------------------- state */

#define MAXH 16

struct state {
	struct rd r;
	bool init;
	bool pin_changed;
	CK_SLOT_ID slots[MAXH];
	size_t n_slots;
	CK_SESSION_HANDLE sess[MAXH];    /* open and closed: closed ones are stale */
	size_t n_sess;
	CK_OBJECT_HANDLE obj[MAXH];
	size_t n_obj;
	unsigned char last[1024];        /* the last signature / ciphertext */
	size_t last_len;
};

static void remember(CK_ULONG *arr, size_t *n, CK_ULONG v)
{
	for (size_t i = 0; i < *n; i++)
		if (arr[i] == v)
			return;
	if (*n < MAXH)
		arr[(*n)++] = v;
	else
		arr[v % MAXH] = v;
}

static CK_ULONG pick(struct state *st, const CK_ULONG *arr, size_t n)
{
	uint8_t b = u8(&st->r);
	if (n && b < 0xe0)
		return arr[b % n];
	switch (b & 3) {
	case 0: return 0;
	case 1: return n ? arr[0] + 1 : 2;
	case 2: return (CK_ULONG)-1;
	default: return u32(&st->r);
	}
}

static CK_SLOT_ID pick_slot(struct state *st) { return pick(st, st->slots, st->n_slots); }
static CK_SESSION_HANDLE pick_sess(struct state *st) { return pick(st, st->sess, st->n_sess); }

static CK_OBJECT_HANDLE pick_obj(struct state *st)
{
	uint8_t b = u8(&st->r);
	if (b < 0xc0 && st->n_obj)
		return st->obj[b % st->n_obj];
	/* Made up: a slot's high bits with any index. */
	if (b < 0xf0 && st->n_slots)
		return (st->slots[b % st->n_slots] << 16) | (u8(&st->r) % 12);
	return u32(&st->r);
}

/* Output buffers: NULL (length query) or exactly *len bytes. */
static unsigned char *out_buf(struct state *st, CK_ULONG *len)
{
	uint8_t b = u8(&st->r);
	switch (b & 3) {
	case 0:
		*len = u16(&st->r) % 600;
		return NULL;
	case 1:
		*len = 256;   /* the right size for RSA-2048 */
		break;
	case 2:
		*len = u16(&st->r) % 600;
		break;
	default:
		*len = b >> 2;   /* small */
		break;
	}
	unsigned char *p = malloc(*len ? *len : 1);
	if (!p)
		abort();
	memset(p, 0xa5, *len);
	return p;
}

static void check_out(CK_RV rv, const unsigned char *buf, CK_ULONG given, CK_ULONG got)
{
	/* The module must never claim to have written past the buffer. */
	if (rv == CKR_OK && buf && got > given)
		abort();
}

static const CK_ATTRIBUTE_TYPE attr_types[] = {
	CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_VALUE, CKA_CERTIFICATE_TYPE,
	CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_KEY_TYPE, CKA_SUBJECT, CKA_ID, CKA_SENSITIVE,
	CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN, CKA_VERIFY, CKA_MODULUS, CKA_MODULUS_BITS,
	CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1,
	CKA_COEFFICIENT, CKA_EXTRACTABLE, CKA_ALWAYS_AUTHENTICATE, CKA_CERTIFICATE_CATEGORY,
	CKA_CHECK_VALUE, CKA_START_DATE, CKA_END_DATE, CKA_PROFILE_ID, CKA_TRUSTED,
	CKA_EFIRMA_RFC, CKA_EFIRMA_CURP, CKA_EFIRMA_NUMERO, CKA_EFIRMA_KIND, CKA_EFIRMA_HOLDER,
	CKA_EFIRMA_BRANCH, CKA_PUBLIC_KEY_INFO, CKA_HASH_OF_SUBJECT_PUBLIC_KEY,
};
#define N_ATTR_TYPES (sizeof(attr_types) / sizeof(attr_types[0]))

static const CK_ULONG ulong_values[] = {
	CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_PROFILE, CKO_DATA,
	CKO_VENDOR_DEFINED | 0x4E534353UL /* NSS trust */, CKK_RSA, CKK_EC, CKC_X_509, 1, 2,
};

static CK_ATTRIBUTE_TYPE pick_type(struct state *st)
{
	uint8_t b = u8(&st->r);
	if (b < 0xf0)
		return attr_types[b % N_ATTR_TYPES];
	return u32(&st->r);
}

/* A template whose values are inputs (search). */
static CK_ATTRIBUTE *in_template(struct state *st, CK_ULONG *n)
{
	*n = u8(&st->r) % 6;
	CK_ATTRIBUTE *t = calloc(*n ? *n : 1, sizeof(*t));
	if (!t)
		abort();
	for (CK_ULONG i = 0; i < *n; i++) {
		t[i].type = pick_type(st);
		uint8_t how = u8(&st->r);
		if ((how & 3) == 0) {
			CK_ULONG *v = malloc(sizeof(*v));
			if (!v)
				abort();
			*v = ulong_values[(how >> 2) % (sizeof(ulong_values) / sizeof(*v))];
			t[i].pValue = v;
			t[i].ulValueLen = sizeof(*v);
		} else if ((how & 3) == 1) {
			CK_BBOOL *v = malloc(1);
			if (!v)
				abort();
			*v = how >> 7;
			t[i].pValue = v;
			t[i].ulValueLen = 1;
		} else if ((how & 3) == 2) {
			t[i].ulValueLen = u8(&st->r) % 300;
			t[i].pValue = bytes(&st->r, t[i].ulValueLen);
		} else {
			t[i].pValue = NULL;
			t[i].ulValueLen = 0;
		}
	}
	return t;
}

/* A template whose values are outputs (C_GetAttributeValue). */
static CK_ATTRIBUTE *out_template(struct state *st, CK_ULONG *n)
{
	*n = u8(&st->r) % 6;
	CK_ATTRIBUTE *t = calloc(*n ? *n : 1, sizeof(*t));
	if (!t)
		abort();
	for (CK_ULONG i = 0; i < *n; i++) {
		t[i].type = pick_type(st);
		uint8_t how = u8(&st->r);
		if (how & 1) {
			t[i].pValue = NULL;
			t[i].ulValueLen = u16(&st->r);
		} else {
			t[i].ulValueLen = how & 2 ? u16(&st->r) % 2048 : (CK_ULONG)(how >> 2);
			t[i].pValue = calloc(1, t[i].ulValueLen ? t[i].ulValueLen : 1);
			if (!t[i].pValue)
				abort();
		}
	}
	return t;
}

static void free_template(CK_ATTRIBUTE *t, CK_ULONG n)
{
	for (CK_ULONG i = 0; i < n; i++)
		free(t[i].pValue);
	free(t);
}

static const CK_MECHANISM_TYPE mechs[] = {
	CKM_RSA_PKCS, CKM_RSA_X_509, CKM_RSA_PKCS_PSS, CKM_RSA_PKCS_OAEP,
	CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS,
	CKM_SHA512_RSA_PKCS, CKM_SHA1_RSA_PKCS_PSS, CKM_SHA224_RSA_PKCS_PSS,
	CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS,
	CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512, CKM_MD5, CKM_AES_CBC,
	CKM_EC_KEY_PAIR_GEN,
};
static const CK_MECHANISM_TYPE hashes[] = {
	CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512, CKM_MD5, 0x2b0 /* SHA3-256 */,
};
static const CK_RSA_PKCS_MGF_TYPE mgfs[] = {
	CKG_MGF1_SHA1, CKG_MGF1_SHA224, CKG_MGF1_SHA256, CKG_MGF1_SHA384, CKG_MGF1_SHA512,
	7 /* MGF1 with SHA3-256 */, 0,
};

/* A mechanism with parameters; *extra holds memory to free afterwards. */
static void mechanism(struct state *st, CK_MECHANISM *m, void **param, void **extra)
{
	uint8_t b = u8(&st->r);
	*param = *extra = NULL;
	m->mechanism = b < 0xf8 ? mechs[b % (sizeof(mechs) / sizeof(mechs[0]))] : u32(&st->r);
	m->pParameter = NULL;
	m->ulParameterLen = 0;
	uint8_t how = u8(&st->r);
	switch (how % 5) {
	case 0:
		break;
	case 1:   /* NULL with a length */
		m->ulParameterLen = u8(&st->r);
		break;
	case 2: { /* PSS parameters */
		CK_RSA_PKCS_PSS_PARAMS *p = calloc(1, sizeof(*p));
		if (!p)
			abort();
		uint8_t x = u8(&st->r);
		p->hashAlg = x < 0xf0 ? hashes[x % (sizeof(hashes) / sizeof(hashes[0]))] : u32(&st->r);
		x = u8(&st->r);
		p->mgf = x < 0xf0 ? mgfs[x % (sizeof(mgfs) / sizeof(mgfs[0]))] : u32(&st->r);
		x = u8(&st->r);
		p->sLen = x < 0x80 ? (CK_ULONG)(x % 70) : x < 0xf0 ? 32 : u32(&st->r);
		m->pParameter = *param = p;
		m->ulParameterLen = how & 0x80 ? sizeof(*p) - (how & 7) : sizeof(*p);
		break;
	}
	case 3: { /* OAEP parameters */
		CK_RSA_PKCS_OAEP_PARAMS *p = calloc(1, sizeof(*p));
		if (!p)
			abort();
		uint8_t x = u8(&st->r);
		p->hashAlg = x < 0xf0 ? hashes[x % (sizeof(hashes) / sizeof(hashes[0]))] : u32(&st->r);
		x = u8(&st->r);
		p->mgf = x < 0xf0 ? mgfs[x % (sizeof(mgfs) / sizeof(mgfs[0]))] : u32(&st->r);
		x = u8(&st->r);
		p->source = x & 1 ? CKZ_DATA_SPECIFIED : x & 2 ? 0 : u32(&st->r);
		if (x & 4) {
			p->ulSourceDataLen = u8(&st->r);
			*extra = p->pSourceData = bytes(&st->r, p->ulSourceDataLen);
		} else {
			/* NULL data, maybe with a length: must be refused. */
			p->ulSourceDataLen = x & 8 ? u8(&st->r) : 0;
		}
		m->pParameter = *param = p;
		m->ulParameterLen = how & 0x80 ? sizeof(*p) + 8 - (how & 15) : sizeof(*p);
		if (m->ulParameterLen > sizeof(*p)) {
			/* never pass a length beyond the buffer */
			m->ulParameterLen = sizeof(*p) - 1;
		}
		break;
	}
	default: { /* raw bytes; never the size of a struct with pointers */
		size_t len = u8(&st->r) % 64;
		if (len == sizeof(CK_RSA_PKCS_OAEP_PARAMS))
			len--;
		m->pParameter = *param = bytes(&st->r, len);
		m->ulParameterLen = len;
		break;
	}
	}
}

/* -------------------------------------------------------------- calls */

static void do_init(struct state *st)
{
	CK_C_INITIALIZE_ARGS a;
	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	a.pReserved = u8(&st->r) & 1 ? conf_dir : conf_one;
	CK_RV rv = F->C_Initialize(&a);
	if (rv == CKR_OK)
		st->init = true;
}

static void do_slots(struct state *st)
{
	CK_ULONG n = 0;
	CK_BBOOL present = u8(&st->r) & 1;
	CK_RV rv = F->C_GetSlotList(present, NULL, &n);
	if (rv != CKR_OK)
		return;
	CK_ULONG cap = u8(&st->r) & 1 ? n : u8(&st->r) % 8;
	CK_SLOT_ID *ids = calloc(cap ? cap : 1, sizeof(*ids));
	if (!ids)
		abort();
	CK_ULONG got = cap;
	rv = F->C_GetSlotList(present, ids, &got);
	if (rv == CKR_OK) {
		if (got > cap)
			abort();
		for (CK_ULONG i = 0; i < got; i++)
			remember(st->slots, &st->n_slots, ids[i]);
	}
	free(ids);
}

static void do_info(struct state *st)
{
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_INFO info;
	CK_SLOT_ID slot = pick_slot(st);
	uint8_t b = u8(&st->r);
	switch (b % 6) {
	case 0: F->C_GetSlotInfo(slot, b & 0x80 ? NULL : &si); break;
	case 1: F->C_GetTokenInfo(slot, b & 0x80 ? NULL : &ti); break;
	case 2: F->C_GetInfo(b & 0x80 ? NULL : &info); break;
	case 3: F3->C_GetInfo(b & 0x80 ? NULL : &info); break;
	case 4: {
		CK_ULONG n = 0;
		if (F->C_GetMechanismList(slot, NULL, b & 0x80 ? NULL : &n) == CKR_OK) {
			CK_ULONG cap = b & 0x40 ? n : u8(&st->r) % 4;
			CK_MECHANISM_TYPE *l = calloc(cap ? cap : 1, sizeof(*l));
			if (!l)
				abort();
			CK_ULONG got = cap;
			if (F->C_GetMechanismList(slot, l, &got) == CKR_OK && got > cap)
				abort();
			free(l);
		}
		break;
	}
	default: {
		CK_MECHANISM_INFO mi;
		uint8_t x = u8(&st->r);
		F->C_GetMechanismInfo(slot, x < 0xf0 ? mechs[x % (sizeof(mechs) / sizeof(mechs[0]))] :
				      u32(&st->r), b & 0x80 ? NULL : &mi);
		break;
	}
	}
}

static void do_open(struct state *st)
{
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	uint8_t b = u8(&st->r);
	CK_FLAGS flags = b & 1 ? CKF_SERIAL_SESSION : 0;
	if (b & 2)
		flags |= CKF_RW_SESSION;
	if ((b & 0x1c) == 0x1c)
		flags |= u32(&st->r);
	CK_RV rv = F->C_OpenSession(pick_slot(st), flags, NULL, NULL, b & 0x80 ? NULL : &h);
	if (rv == CKR_OK) {
		if (h == CK_INVALID_HANDLE)
			abort();
		remember(st->sess, &st->n_sess, h);
	}
}

static void do_close(struct state *st)
{
	uint8_t b = u8(&st->r);
	if (b & 1)
		F->C_CloseSession(pick_sess(st));
	else
		F->C_CloseAllSessions(pick_slot(st));
}

static void do_session_info(struct state *st)
{
	CK_SESSION_INFO si;
	uint8_t b = u8(&st->r);
	CK_SESSION_HANDLE h = pick_sess(st);
	switch (b % 5) {
	case 0: F->C_GetSessionInfo(h, b & 0x80 ? NULL : &si); break;
	case 1: F3->C_SessionCancel(h, u8(&st->r) & 1 ? u32(&st->r) : CKF_SIGN | CKF_DECRYPT |
				    CKF_FIND_OBJECTS | CKF_DIGEST | CKF_VERIFY | CKF_ENCRYPT); break;
	case 2: {
		CK_ULONG len = 0;
		F->C_GetOperationState(h, NULL, b & 0x80 ? NULL : &len);
		break;
	}
	case 3: F->C_GetFunctionStatus(h); F->C_CancelFunction(h); break;
	default: {
		CK_SLOT_ID s = 0;
		F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &s, NULL);
		break;
	}
	}
}

static void do_login(struct state *st)
{
	uint8_t b = u8(&st->r);
	CK_USER_TYPE ut = (b & 3) == 3 ? u32(&st->r) : (b & 3) == 2 ? CKU_SO :
			  (b & 0x80) ? CKU_CONTEXT_SPECIFIC : CKU_USER;
	CK_SESSION_HANDLE h = pick_sess(st);
	unsigned char *pin = NULL;
	CK_ULONG len = 0;
	switch ((b >> 2) & 7) {
	case 0: case 1: case 2:
		pin = (unsigned char *)strdup(PIN);
		len = strlen(PIN);
		break;
	case 3:
		pin = (unsigned char *)strdup("12345678b");
		len = 9;
		break;
	case 4:
		len = u8(&st->r) % 300;   /* beyond the module's maximum too */
		pin = bytes(&st->r, len);
		break;
	case 5:
		len = 0;
		break;
	case 6:
		len = u8(&st->r);   /* NULL with a length */
		break;
	default:
		pin = (unsigned char *)strdup("");
		len = 0;
		break;
	}
	if (b & 0x40)
		F3->C_LoginUser(h, ut, pin, len, (CK_UTF8CHAR_PTR)"x", 1);
	else
		F->C_Login(h, ut, pin, len);
	free(pin);
}

static void do_setpin(struct state *st)
{
	uint8_t b = u8(&st->r);
	const char *old = b & 1 ? PIN : "incorrecta";
	CK_ULONG nlen = u8(&st->r) % 24;
	unsigned char *np = bytes(&st->r, nlen);
	CK_RV rv = F->C_SetPIN(pick_sess(st), (CK_UTF8CHAR_PTR)old, b & 2 ? strlen(old) : 0,
			       b & 4 ? NULL : np, b & 4 ? (b & 8 ? nlen : 0) : nlen);
	if (rv == CKR_OK)
		st->pin_changed = true;
	free(np);
}

static void do_find(struct state *st)
{
	CK_SESSION_HANDLE h = pick_sess(st);
	uint8_t b = u8(&st->r);
	CK_ULONG n;
	CK_ATTRIBUTE *t = in_template(st, &n);
	F->C_FindObjectsInit(h, b & 0x80 && n ? NULL : t, n);
	free_template(t, n);
	if (b & 1) {
		CK_ULONG max = u8(&st->r) % 12, got = 0;
		CK_OBJECT_HANDLE *objs = calloc(max ? max : 1, sizeof(*objs));
		if (!objs)
			abort();
		CK_RV rv = F->C_FindObjects(h, b & 0x40 ? NULL : objs, max, b & 0x20 ? NULL : &got);
		if (rv == CKR_OK && !(b & 0x60)) {
			if (got > max)
				abort();
			for (CK_ULONG i = 0; i < got; i++)
				remember(st->obj, &st->n_obj, objs[i]);
		}
		free(objs);
	}
	if (b & 2)
		F->C_FindObjectsFinal(h);
}

static void do_attr(struct state *st)
{
	CK_SESSION_HANDLE h = pick_sess(st);
	CK_OBJECT_HANDLE o = pick_obj(st);
	uint8_t b = u8(&st->r);
	CK_ULONG n;
	CK_ATTRIBUTE *t;
	switch (b % 6) {
	case 0: case 1: case 2: {
		t = out_template(st, &n);
		CK_ULONG given[6];
		for (CK_ULONG i = 0; i < n; i++)
			given[i] = t[i].ulValueLen;
		CK_RV rv = F->C_GetAttributeValue(h, o, b & 0x80 && n ? NULL : t, n);
		if (!(b & 0x80) || !n) {
			for (CK_ULONG i = 0; i < n; i++) {
				/* A value is never longer than its buffer. */
				if (t[i].pValue && t[i].ulValueLen != CK_UNAVAILABLE_INFORMATION &&
				    t[i].ulValueLen > given[i])
					abort();
			}
		}
		(void)rv;
		free_template(t, n);
		break;
	}
	case 3: {
		CK_ULONG size = 0;
		F->C_GetObjectSize(h, o, b & 0x80 ? NULL : &size);
		break;
	}
	case 4:
		t = in_template(st, &n);
		F->C_SetAttributeValue(h, o, t, n);
		free_template(t, n);
		break;
	default: {
		CK_OBJECT_HANDLE nh = 0;
		t = in_template(st, &n);
		if (b & 0x80)
			F->C_CopyObject(h, o, t, n, &nh);
		else if (b & 0x40)
			F->C_DestroyObject(h, o);
		else
			F->C_CreateObject(h, t, n, &nh);
		free_template(t, n);
		break;
	}
	}
}

/* Sign / verify / encrypt / decrypt / digest: init, then a few steps. */
static void do_crypto(struct state *st)
{
	CK_SESSION_HANDLE h = pick_sess(st);
	uint8_t kind = u8(&st->r) % 5;
	uint8_t b = u8(&st->r);
	CK_MECHANISM m;
	void *param, *extra;
	CK_RV rv;

	if (b & 1) {
		mechanism(st, &m, &param, &extra);
		CK_OBJECT_HANDLE key = pick_obj(st);
		CK_MECHANISM_PTR mp = b & 0x80 ? NULL : &m;
		switch (kind) {
		case 0: F->C_SignInit(h, mp, key); break;
		case 1: F->C_VerifyInit(h, mp, key); break;
		case 2: F->C_EncryptInit(h, mp, key); break;
		case 3: F->C_DecryptInit(h, mp, key); break;
		default: F->C_DigestInit(h, mp); break;
		}
		free(param);
		free(extra);
	}
	int steps = 1 + u8(&st->r) % 4;
	for (int i = 0; i < steps && st->r.n; i++) {
		uint8_t how = u8(&st->r);
		CK_ULONG in_len = how & 0x40 ? u16(&st->r) % 1100 : u8(&st->r) % 64;
		unsigned char *in;
		if ((how & 0x30) == 0x30 && st->last_len) {
			/* the last signature or ciphertext, maybe bent */
			in_len = st->last_len;
			in = bytes(&st->r, 0);
			free(in);
			in = malloc(in_len);
			if (!in)
				abort();
			memcpy(in, st->last, in_len);
			if (how & 0x80)
				in[u8(&st->r) % in_len] ^= (unsigned char)(1 + u8(&st->r) % 255);
		} else {
			in = bytes(&st->r, in_len);
		}
		CK_BYTE_PTR inp = (how & 0x0c) == 0x0c ? NULL : in;
		CK_ULONG out_len;
		unsigned char *out = NULL;
		switch (how & 3) {
		case 0:   /* the single-part call */
			if (kind == 1) {
				CK_ULONG sl = u8(&st->r) & 1 ? st->last_len : u16(&st->r) % 600;
				unsigned char *sig = malloc(sl ? sl : 1);
				if (!sig)
					abort();
				memcpy(sig, st->last, sl < st->last_len ? sl : st->last_len);
				if (sl > st->last_len)
					memset(sig + st->last_len, 0, sl - st->last_len);
				F->C_Verify(h, inp, in_len, sig, sl);
				free(sig);
				break;
			}
			out = out_buf(st, &out_len);
			CK_ULONG given = out_len;
			rv = kind == 0 ? F->C_Sign(h, inp, in_len, out, &out_len) :
			     kind == 2 ? F->C_Encrypt(h, inp, in_len, out, &out_len) :
			     kind == 3 ? F->C_Decrypt(h, inp, in_len, out, &out_len) :
					 F->C_Digest(h, inp, in_len, out, &out_len);
			check_out(rv, out, given, out_len);
			if (rv == CKR_OK && out && (kind == 0 || kind == 2) &&
			    out_len <= sizeof(st->last)) {
				memcpy(st->last, out, out_len);
				st->last_len = out_len;
			}
			break;
		case 1:   /* an update */
			switch (kind) {
			case 0: F->C_SignUpdate(h, inp, in_len); break;
			case 1: F->C_VerifyUpdate(h, inp, in_len); break;
			case 2: {
				CK_ULONG l = 0;
				F->C_EncryptUpdate(h, inp, in_len, NULL, &l);
				break;
			}
			case 3: {
				CK_ULONG l = 0;
				F->C_DecryptUpdate(h, inp, in_len, NULL, &l);
				break;
			}
			default: F->C_DigestUpdate(h, inp, in_len); break;
			}
			break;
		case 2:   /* the final call */
			if (kind == 1) {
				F->C_VerifyFinal(h, st->last, st->last_len);
				break;
			}
			out = out_buf(st, &out_len);
			CK_ULONG given2 = out_len;
			CK_ULONG_PTR lp = how & 0x80 ? NULL : &out_len;
			rv = kind == 0 ? F->C_SignFinal(h, out, lp) :
			     kind == 2 ? F->C_EncryptFinal(h, out, lp) :
			     kind == 3 ? F->C_DecryptFinal(h, out, lp) :
					 F->C_DigestFinal(h, out, lp);
			if (lp)
				check_out(rv, out, given2, out_len);
			if (rv == CKR_OK && out && kind == 0 && lp && out_len <= sizeof(st->last)) {
				memcpy(st->last, out, out_len);
				st->last_len = out_len;
			}
			break;
		default:  /* the odd ones */
			if (kind == 4)
				F->C_DigestKey(h, pick_obj(st));
			else if (how & 0x80)
				F->C_SignRecoverInit(h, NULL, pick_obj(st));
			else {
				CK_ULONG l = 0;
				F->C_SignEncryptUpdate(h, inp, in_len, NULL, &l);
			}
			break;
		}
		free(out);
		free(in);
	}
}

static void do_misc(struct state *st)
{
	CK_SESSION_HANDLE h = pick_sess(st);
	uint8_t b = u8(&st->r);
	switch (b % 6) {
	case 0: {
		CK_ULONG len = u8(&st->r);
		unsigned char *p = b & 0x80 ? NULL : malloc(len ? len : 1);
		F->C_GenerateRandom(h, p, len);
		free(p);
		break;
	}
	case 1:
		F->C_SeedRandom(h, (CK_BYTE_PTR)"seed", 4);
		break;
	case 2: {
		CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
		CK_ULONG len = 0;
		F->C_WrapKey(h, &m, pick_obj(st), pick_obj(st), NULL, &len);
		break;
	}
	case 3: {
		CK_MECHANISM m = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
		CK_OBJECT_HANDLE a, c;
		F->C_GenerateKeyPair(h, &m, NULL, 0, NULL, 0, &a, &c);
		F->C_DeriveKey(h, &m, pick_obj(st), NULL, 0, &a);
		break;
	}
	case 4:
		F->C_InitToken(pick_slot(st), (CK_UTF8CHAR_PTR)PIN, 9, (CK_UTF8CHAR_PTR)"x");
		F->C_InitPIN(h, (CK_UTF8CHAR_PTR)PIN, 9);
		break;
	default: {
		CK_ULONG n = 0;
		CK_INTERFACE list[4];
		C_GetInterfaceList(NULL, &n);
		n = u8(&st->r) % 4;
		C_GetInterfaceList(list, &n);
		CK_INTERFACE_PTR ip = NULL;
		CK_VERSION v = { u8(&st->r) % 4, 0 };
		C_GetInterface(b & 0x80 ? NULL : (CK_UTF8CHAR_PTR)"PKCS 11", b & 0x40 ? NULL : &v,
			       &ip, b & 0x20 ? CKF_INTERFACE_FORK_SAFE : 0);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st;
	memset(&st, 0, sizeof(st));
	st.r.p = data;
	st.r.n = size;

	do_init(&st);
	for (int step = 0; step < 96 && st.r.n; step++) {
		uint8_t op = u8(&st.r);
		switch (op % 16) {
		case 0: do_slots(&st); break;
		case 1: do_info(&st); break;
		case 2: case 3: do_open(&st); break;
		case 4: do_close(&st); break;
		case 5: do_session_info(&st); break;
		case 6: case 7: do_login(&st); break;
		case 8: F->C_Logout(pick_sess(&st)); break;
		case 9: do_find(&st); break;
		case 10: do_attr(&st); break;
		case 11: case 12: do_crypto(&st); break;
		case 13: do_misc(&st); break;
		case 14:
			if (op & 0x80) {
				if (F->C_Finalize(op & 0x40 ? (void *)&st : NULL) == CKR_OK)
					st.init = false;
			} else {
				do_init(&st);
			}
			break;
		default:
			if ((op & 0xf0) == 0xf0)
				do_setpin(&st);
			else
				do_slots(&st);
			break;
		}
	}
	if (st.init && F->C_Finalize(NULL) != CKR_OK)
		abort();
	if (st.pin_changed)
		restore_keys();
	return 0;
}
