/*
 * session.c - sessions and their operations.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "grow.h"
#include "lock.h"
#include "log.h"

/* Sorted by handle: handles only grow, so opening appends. */
static struct ef_session **sessions;
static size_t n_sessions, cap_sessions;
static CK_SESSION_HANDLE next_handle = 1;

void ef_op_free(struct ef_op *op)
{
	if (!op)
		return;
	if (op->key)
		ef_key_unref(op->key);
	if (op->digest)
		ef_digest_free(op->digest);
	free(op->label);
	free(op);
}

static size_t find_index_inlock(CK_SESSION_HANDLE h, bool *found)
{
	ef_assert_locked();
	size_t lo = 0, hi = n_sessions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sessions[mid]->handle < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n_sessions && sessions[lo]->handle == h;
	return lo;
}

CK_RV ef_session_lookup_inlock(CK_SESSION_HANDLE h, struct ef_session **s)
{
	ef_assert_locked();
	bool found;
	size_t i = find_index_inlock(h, &found);
	if (!found)
		return EF_FAIL(CKR_SESSION_HANDLE_INVALID);
	*s = sessions[i];
	return CKR_OK;
}

CK_RV ef_session_open_inlock(struct ef_token *t, CK_FLAGS flags, CK_SESSION_HANDLE *h)
{
	struct ef_session *s, **p;
	ef_assert_locked();
	p = ef_grow(sessions, n_sessions, &cap_sessions, 32, sizeof(*p));
	if (!p)
		return EF_FAIL(CKR_HOST_MEMORY);
	sessions = p;
	s = calloc(1, sizeof(*s));
	if (!s)
		return EF_FAIL(CKR_HOST_MEMORY);
	s->handle = next_handle++;
	s->token = t;
	s->generation = t->generation;
	s->flags = flags;
	sessions[n_sessions++] = s;
	t->n_sessions++;
	if (flags & CKF_RW_SESSION)
		t->n_rw_sessions++;
	*h = s->handle;
	return CKR_OK;
}

static void free_session(struct ef_session *s)
{
	for (int k = 0; k < EF_OP_KINDS; k++)
		ef_op_free(s->ops[k]);
	/* Operations taken out are freed by the thread that holds them, when
	 * it finds the session gone. */
	free(s->found);
	free(s);
}

static void remove_at_inlock(size_t i)
{
	ef_assert_locked();
	struct ef_session *s = sessions[i];
	struct ef_token *t = s->token;
	memmove(&sessions[i], &sessions[i + 1], (n_sessions - i - 1) * sizeof(*sessions));
	n_sessions--;
	t->n_sessions--;
	if (s->flags & CKF_RW_SESSION)
		t->n_rw_sessions--;
	if (t->n_sessions == 0 && ef_token_logged_in_inlock(t)) {
		ef_log_trace("slot %lu: last session closed, logging out", t->slot_id);
		ef_token_logout_inlock(t);
	}
	free_session(s);
}

CK_RV ef_session_close_inlock(CK_SESSION_HANDLE h)
{
	ef_assert_locked();
	bool found;
	size_t i = find_index_inlock(h, &found);
	if (!found)
		return EF_FAIL(CKR_SESSION_HANDLE_INVALID);
	remove_at_inlock(i);
	return CKR_OK;
}

void ef_session_close_all_inlock(struct ef_token *t)
{
	ef_assert_locked();
	for (size_t i = n_sessions; i-- > 0;)
		if (sessions[i]->token == t)
			remove_at_inlock(i);
}

void ef_sessions_close_stale_inlock(void)
{
	ef_assert_locked();
	for (size_t i = n_sessions; i-- > 0;) {
		const struct ef_session *s = sessions[i];
		if (!s->token->present || s->generation != s->token->generation)
			remove_at_inlock(i);
	}
}

void ef_sessions_fini_inlock(void)
{
	ef_assert_locked();
	for (size_t i = 0; i < n_sessions; i++)
		free_session(sessions[i]);
	free(sessions);
	sessions = NULL;
	n_sessions = cap_sessions = 0;
}

CK_STATE ef_session_state_inlock(const struct ef_session *s)
{
	ef_assert_locked();
	bool rw = s->flags & CKF_RW_SESSION;
	if (ef_token_logged_in_inlock(s->token))
		return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
	return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
}

bool ef_session_op_active_inlock(const struct ef_session *s, enum ef_op_kind kind)
{
	ef_assert_locked();
	return s->ops[kind] || s->out[kind];
}

void ef_session_clear_found_inlock(struct ef_session *s)
{
	ef_assert_locked();
	/* Detached before freed: see ef_token_logout_inlock. */
	CK_OBJECT_HANDLE *found = s->found;
	s->found = NULL;
	s->n_found = s->pos = 0;
	free(found);
}

void ef_session_cancel_inlock(struct ef_session *s, enum ef_op_kind kind)
{
	ef_assert_locked();
	/* Detached before freed: see ef_token_logout_inlock. */
	struct ef_op *op = s->ops[kind];
	s->ops[kind] = NULL;
	ef_op_free(op);
	/* The thread working on a taken-out operation frees it on return. */
	s->out[kind] = NULL;
}

void ef_sessions_drop_key_ops_inlock(const struct ef_token *t)
{
	ef_assert_locked();
	for (size_t i = 0; i < n_sessions; i++) {
		if (sessions[i]->token != t)
			continue;
		ef_session_cancel_inlock(sessions[i], EF_OP_SIGN);
		ef_session_cancel_inlock(sessions[i], EF_OP_DECRYPT);
	}
}

CK_RV ef_session_take_op_inlock(struct ef_session *s, enum ef_op_kind kind,
				struct ef_op **op)
{
	ef_assert_locked();
	if (s->out[kind])
		return EF_FAIL(EF_R_OP_BUSY);
	if (!s->ops[kind])
		return EF_FAIL(CKR_OPERATION_NOT_INITIALIZED);
	*op = s->ops[kind];
	s->ops[kind] = NULL;
	s->out[kind] = *op;
	return CKR_OK;
}

void ef_session_return_op(CK_SESSION_HANDLE h, struct ef_op *op, bool keep)
{
	struct ef_session *s;
	ef_lock_acquire();
	if (ef_session_lookup_inlock(h, &s) == CKR_OK && s->out[op->kind] == op) {
		s->out[op->kind] = NULL;
		if (keep) {
			s->ops[op->kind] = op;
			op = NULL;
		}
	}
	ef_lock_release();
	ef_op_free(op);
}
