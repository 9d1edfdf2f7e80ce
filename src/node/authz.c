#include "authz.h"

#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "error.h"
#include "ident.h"
#include "log.h"
#include "record.h"
#include "resolver.h"
#include "seckey.h"
#include "value.h"

#define CHALLENGE_TTL_MS 30000
#define CHALLENGES_MAX 4096
#define VLIST_DEPTH 4

#define SESSIONS_MAX 4096

typedef struct session {
	struct session *next;
	uint32_t id;
	const void *owner;
	uint64_t conn;
	uint64_t expires; /* idn_now_ms() time */
	uint32_t index;
	size_t alen;
	uint8_t admin[IDN_IDENT_MAX];
} session_t;

struct authz {
	pthread_mutex_t lock; /* guards the pending challenges and sessions */
	authz_challenge_t *challenges;
	unsigned nchallenges;
	session_t *sessions;
	unsigned nsessions;
};

int authz_new(authz_t **out)
{
	authz_t *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	*out = a;
	return 0;
}

void authz_free(authz_t *a)
{
	if (a == NULL)
		return;
	while (a->challenges) {
		authz_challenge_t *c = a->challenges;
		a->challenges = c->next;
		free(c);
	}
	while (a->sessions) {
		session_t *x = a->sessions;
		a->sessions = x->next;
		free(x);
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* Drops expired challenges; the caller holds the lock. */
static void challenges_expire(authz_t *a, uint64_t now)
{
	for (authz_challenge_t **pp = &a->challenges; *pp;) {
		if ((*pp)->expires <= now) {
			authz_challenge_t *c = *pp;
			*pp = c->next;
			free(c);
			a->nchallenges--;
		} else {
			pp = &(*pp)->next;
		}
	}
}

int authz_challenge(authz_t *a, const uint8_t *frame, size_t len,
		    idn_bytes_t signed_part, uint32_t *id, uint8_t nonce[16])
{
	authz_challenge_t *c = malloc(sizeof(*c) + len);
	uint32_t dl = 0;
	if (c == NULL || RAND_bytes(c->nonce, sizeof(c->nonce)) != 1 ||
	    RAND_bytes((uint8_t *)&c->id, sizeof(c->id)) != 1 ||
	    idn_digest(IDN_DIGEST_SHA1, signed_part.p, signed_part.len,
		       c->digest, &dl) != 0) {
		free(c);
		return -ENOMEM;
	}
	c->id |= 1; /* never 0, which means no session */
	c->expires = idn_now_ms() + CHALLENGE_TTL_MS;
	c->len = len;
	memcpy(c->frame, frame, len);
	*id = c->id;
	memcpy(nonce, c->nonce, sizeof(c->nonce));
	pthread_mutex_lock(&a->lock);
	challenges_expire(a, idn_now_ms());
	bool full = a->nchallenges >= CHALLENGES_MAX;
	if (!full) {
		c->next = a->challenges;
		a->challenges = c;
		a->nchallenges++;
	}
	pthread_mutex_unlock(&a->lock);
	if (full) {
		free(c);
		return -EBUSY;
	}
	return 0;
}

authz_challenge_t *authz_take(authz_t *a, uint32_t id)
{
	authz_challenge_t *found = NULL;
	pthread_mutex_lock(&a->lock);
	challenges_expire(a, idn_now_ms());
	for (authz_challenge_t **pp = &a->challenges; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			found = *pp;
			*pp = found->next;
			a->nchallenges--;
			break;
		}
	pthread_mutex_unlock(&a->lock);
	return found;
}

/* Finds value index idx of the record named by text; 0 or an error. */
static int find_value(idn_rtxn_t *t, idn_arena_t *ar, idn_bytes_t text,
		      uint32_t idx, idn_value_t *out)
{
	static _Thread_local idn_ident_t id;
	int err = idn_ident_parse(text.p, text.len, 0, &id);
	if (err)
		return err;
	idn_record_t rec;
	err = idn_store_get(t, id.key, id.key_len, &rec);
	if (err)
		return err;
	idn_rd_t rd;
	idn_rd_init(&rd, rec.values.p, rec.values.len);
	for (uint32_t i = 0; i < rec.nvalues && !rd.err; i++) {
		idn_value_decode(&rd, ar, out);
		if (!rd.err && out->index == idx)
			return 0;
	}
	return rd.err ? IDN_ECORRUPT : IDN_EVALNOTFOUND;
}

/* Is (admin, aidx) the admin (admin_id, admin_idx) names, directly or as a
 * member of the HS_VLIST group found there? */
static bool admin_matches(idn_rtxn_t *t, idn_arena_t *ar, idn_bytes_t admin,
			  uint32_t aidx, idn_bytes_t admin_id,
			  uint32_t admin_idx, int depth)
{
	if (admin_idx == aidx &&
	    idn_ascii_caseeq(admin.p, admin.len, admin_id.p, admin_id.len))
		return true;
	if (depth >= VLIST_DEPTH)
		return false;
	idn_value_t v;
	idn_hs_vlist_t vl;
	if (find_value(t, ar, admin_id, admin_idx, &v) != 0 ||
	    !idn_bytes_eq_str(v.type, "HS_VLIST") ||
	    idn_hs_vlist_decode(v.data, ar, &vl) != 0)
		return false;
	for (uint32_t i = 0; i < vl.n; i++)
		if (admin_matches(t, ar, admin, aidx, vl.refs[i].id,
				  vl.refs[i].index, depth + 1))
			return true;
	return false;
}

/* The permission an operation needs, and the record whose HS_ADMIN values
 * grant it: the target itself, or the prefix handle 0.NA/<prefix> for
 * creating identifiers and for prefix-wide operations. */
static int required(const idn_msg_t *m, idn_arena_t *a, uint16_t *perm,
		    idn_bytes_t *target, bool *prefix_handle)
{
	idn_values_body_t vb;
	idn_remove_req_t rb;
	*prefix_handle = false;
	switch (m->hdr.op) {
	case IDN_OC_CREATE:
		*perm = IDN_ADM_ADD_HANDLE;
		*prefix_handle = true;
		if (idn_values_body_decode(m->rest, a, &vb) != 0)
			return IDN_EMALFORMED;
		*target = vb.id;
		return 0;
	case IDN_OC_ADD_VALUE:
	case IDN_OC_MODIFY_VALUE: {
		if (idn_values_body_decode(m->rest, a, &vb) != 0)
			return IDN_EMALFORMED;
		*target = vb.id;
		bool admin = false;
		for (uint32_t i = 0; i < vb.nvalues; i++)
			admin |=
				idn_bytes_eq_str(vb.values[i].type, "HS_ADMIN");
		*perm = m->hdr.op == IDN_OC_ADD_VALUE
				? (admin ? IDN_ADM_ADD_ADMIN
					 : IDN_ADM_ADD_VALUE)
				: (admin ? IDN_ADM_MODIFY_ADMIN
					 : IDN_ADM_MODIFY_VALUE);
		return 0;
	}
	case IDN_OC_REMOVE_VALUE:
		*perm = IDN_ADM_REMOVE_VALUE;
		if (idn_remove_req_decode(m->rest, a, &rb) != 0)
			return IDN_EMALFORMED;
		*target = rb.id;
		return 0;
	case IDN_OC_DELETE:
		*perm = IDN_ADM_DELETE_HANDLE;
		return idn_id_body_decode(m->rest, target);
	case IDN_OC_LIST:
		*perm = IDN_ADM_LIST;
		*prefix_handle = true;
		return idn_id_body_decode(m->rest, target);
	case IDN_OC_HOME:
	case IDN_OC_UNHOME:
		*perm = m->hdr.op == IDN_OC_HOME ? IDN_ADM_ADD_PREFIX
						 : IDN_ADM_DELETE_PREFIX;
		*prefix_handle = true;
		return idn_id_body_decode(m->rest, target);
	default:
		return IDN_EUNSUPPORTED;
	}
}

/* Does one HS_ADMIN value among the nvalues in blob grant perm to the
 * admin? */
static bool granted(idn_rtxn_t *t, idn_arena_t *ar, idn_bytes_t blob,
		    uint32_t nvalues, uint16_t perm, idn_bytes_t admin,
		    uint32_t aidx)
{
	idn_rd_t rd;
	idn_rd_init(&rd, blob.p, blob.len);
	for (uint32_t i = 0; i < nvalues && !rd.err; i++) {
		idn_value_t v;
		idn_hs_admin_t adm;
		idn_value_decode(&rd, ar, &v);
		if (rd.err || !idn_bytes_eq_str(v.type, "HS_ADMIN") ||
		    idn_hs_admin_decode(v.data, &adm) != 0 ||
		    !(adm.perms & perm))
			continue;
		if (admin_matches(t, ar, admin, aidx, adm.admin, adm.index, 0))
			return true;
	}
	return false;
}

/* Does remove request m take out one of the record's HS_ADMIN values? */
static bool removes_admin(const idn_msg_t *m, idn_arena_t *ar, idn_bytes_t blob,
			  uint32_t nvalues)
{
	idn_remove_req_t rb;
	if (idn_remove_req_decode(m->rest, ar, &rb) != 0)
		return false;
	idn_rd_t rd;
	idn_rd_init(&rd, blob.p, blob.len);
	for (uint32_t i = 0; i < nvalues && !rd.err; i++) {
		idn_value_t v;
		idn_value_decode(&rd, ar, &v);
		if (rd.err || !idn_bytes_eq_str(v.type, "HS_ADMIN"))
			continue;
		for (uint32_t k = 0; k < rb.nindexes; k++)
			if (rb.indexes[k] == v.index)
				return true;
	}
	return false;
}

bool authz_may_read(idn_rtxn_t *t, idn_arena_t *ar, idn_bytes_t blob,
		    uint32_t nvalues, idn_bytes_t admin, uint32_t aidx)
{
	return granted(t, ar, blob, nvalues, IDN_ADM_READ_VALUE, admin, aidx);
}

uint32_t authz_permit(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
		      idn_bytes_t admin, uint32_t aidx)
{
	uint16_t perm;
	idn_bytes_t target;
	bool ph;
	if (required(m, ar, &perm, &target, &ph) != 0)
		return IDN_RC_PROTOCOL_ERROR;
	uint8_t name[5 + IDN_IDENT_MAX];
	size_t nlen = target.len;
	if (ph) {
		/* the prefix of an identifier, or a prefix given as such */
		uint8_t p[IDN_IDENT_MAX];
		uint32_t pl;
		const uint8_t *slash = memchr(target.p, '/', target.len);
		size_t plen = slash && !(target.len > 5 &&
					 idn_ascii_caseeq(
						 target.p, 5,
						 (const uint8_t *)"0.NA/", 5))
				      ? (size_t)(slash - target.p)
				      : target.len;
		if (idn_prefix_normalise(target.p, plen, p, &pl) != 0)
			return IDN_RC_INVALID_HANDLE;
		memcpy(name, "0.NA/", 5);
		memcpy(name + 5, p, pl);
		nlen = 5 + pl;
	} else {
		if (target.len > IDN_IDENT_MAX)
			return IDN_RC_INVALID_HANDLE;
		memcpy(name, target.p, target.len);
	}
	static _Thread_local idn_ident_t id;
	if (idn_ident_parse(name, nlen, 0, &id) != 0)
		return IDN_RC_INVALID_HANDLE;
	idn_record_t rec;
	int err = idn_store_get(t, id.key, id.key_len, &rec);
	if (err)
		return err == IDN_ENOTFOUND && !ph ? IDN_RC_NOT_FOUND
						   : IDN_RC_INSUFFICIENT_PERMS;
	if (m->hdr.op == IDN_OC_REMOVE_VALUE &&
	    removes_admin(m, ar, rec.values, rec.nvalues))
		perm = IDN_ADM_REMOVE_ADMIN;
	return granted(t, ar, rec.values, rec.nvalues, perm, admin, aidx)
		       ? 0
		       : IDN_RC_INSUFFICIENT_PERMS;
}

/* An HS_SECKEY answer: the MAC of nonce || digest with the secret stored
 * at the admin's value (seckey.h). */
static uint32_t check_seckey(idn_rtxn_t *t, idn_arena_t *ar,
			     const authz_challenge_t *c,
			     const idn_challenge_answer_t *ans,
			     const char **why)
{
	idn_value_t key;
	int err = find_value(t, ar, ans->admin, ans->index, &key);
	if (err || !idn_bytes_eq_str(key.type, "HS_SECKEY") ||
	    key.data.len == 0) {
		*why = "no HS_SECKEY at that admin identifier and index";
		return IDN_RC_INVALID_ADMIN;
	}
	err = idn_seckey_verify(key.data, ans->sig, idn_bytes(c->nonce, 16),
				idn_bytes(c->digest, 20));
	if (err == IDN_EUNSUPPORTED) {
		*why = "unsupported MAC algorithm or parameters";
		return IDN_RC_AUTH_ERROR;
	}
	if (err) {
		*why = "MAC does not verify";
		return IDN_RC_AUTH_FAILED;
	}
	return 0;
}

uint32_t authz_check_answer(idn_rtxn_t *t, idn_arena_t *ar,
			    const authz_challenge_t *c, idn_bytes_t body,
			    idn_challenge_answer_t *ans, const char **why)
{
	idn_bytes_t hash, sig;
	idn_value_t key;
	EVP_PKEY *pk = NULL;
	uint32_t rc = 0;
	if (idn_challenge_answer_decode(body, ans) != 0) {
		*why = "malformed challenge answer";
		return IDN_RC_PROTOCOL_ERROR;
	}
	if (idn_bytes_eq_str(ans->auth_type, "HS_SECKEY")) {
		rc = check_seckey(t, ar, c, ans, why);
		goto done;
	}
	if (!idn_bytes_eq_str(ans->auth_type, "HS_PUBKEY")) {
		*why = "authentication type must be HS_PUBKEY or HS_SECKEY";
		return IDN_RC_NOT_SUPPORTED;
	}
	if (idn_sig_decode(ans->sig, &hash, &sig) != 0) {
		*why = "malformed challenge answer";
		return IDN_RC_PROTOCOL_ERROR;
	}
	int err = find_value(t, ar, ans->admin, ans->index, &key);
	if (err || !idn_bytes_eq_str(key.type, "HS_PUBKEY") ||
	    idn_pubkey_load(key.data, &pk) != 0) {
		*why = "no usable HS_PUBKEY at that admin identifier and index";
		return IDN_RC_INVALID_ADMIN;
	}
	idn_bytes_t parts[2] = {idn_bytes(c->nonce, 16),
				idn_bytes(c->digest, 20)};
	if (idn_sig_verify(pk, hash, parts, 2, sig) != 0) {
		*why = "signature does not verify";
		rc = IDN_RC_AUTH_FAILED;
	}
	EVP_PKEY_free(pk);
done:
	if (rc == IDN_RC_AUTH_FAILED)
		log_info("authentication failed for %.*s:%u",
			 (int)(ans->admin.len > 200 ? 200 : ans->admin.len),
			 ans->admin.p, ans->index);
	return rc;
}

/* ---- sessions ---- */

/* Drops expired sessions; the caller holds the lock. */
static void sessions_expire(authz_t *a, uint64_t now)
{
	for (session_t **pp = &a->sessions; *pp;) {
		if ((*pp)->expires <= now) {
			session_t *x = *pp;
			*pp = x->next;
			free(x);
			a->nsessions--;
		} else {
			pp = &(*pp)->next;
		}
	}
}

int authz_session_open(authz_t *a, const void *owner, uint64_t conn,
		       idn_bytes_t admin, uint32_t index, uint32_t lifetime,
		       uint32_t *id)
{
	if (admin.len > IDN_IDENT_MAX)
		return IDN_ETOOLONG;
	session_t *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	if (RAND_bytes((uint8_t *)&x->id, sizeof(x->id)) != 1) {
		free(x);
		return -ENOMEM;
	}
	x->id |= 1; /* never 0 */
	x->owner = owner;
	x->conn = conn;
	x->index = index;
	x->alen = admin.len;
	memcpy(x->admin, admin.p, admin.len);
	x->expires = idn_now_ms() + (uint64_t)lifetime * 1000;
	pthread_mutex_lock(&a->lock);
	sessions_expire(a, idn_now_ms());
	bool full = a->nsessions >= SESSIONS_MAX;
	if (!full) {
		x->next = a->sessions;
		a->sessions = x;
		a->nsessions++;
	}
	pthread_mutex_unlock(&a->lock);
	if (full) {
		free(x);
		return -EBUSY;
	}
	*id = x->id;
	return 0;
}

/* The live session id of (owner, conn); the caller holds the lock. */
static session_t **session_find(authz_t *a, uint32_t id, const void *owner,
				uint64_t conn)
{
	sessions_expire(a, idn_now_ms());
	for (session_t **pp = &a->sessions; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id && (*pp)->owner == owner &&
		    (*pp)->conn == conn)
			return pp;
	return NULL;
}

int authz_session_get(authz_t *a, uint32_t id, const void *owner, uint64_t conn,
		      authz_who_t *who)
{
	if (conn == 0)
		return IDN_ENOTFOUND;
	pthread_mutex_lock(&a->lock);
	session_t **pp = session_find(a, id, owner, conn);
	if (pp != NULL) {
		memcpy(who->name, (*pp)->admin, (*pp)->alen);
		who->admin = idn_bytes(who->name, (*pp)->alen);
		who->index = (*pp)->index;
	}
	pthread_mutex_unlock(&a->lock);
	return pp ? 0 : IDN_ENOTFOUND;
}

int authz_session_end(authz_t *a, uint32_t id, const void *owner, uint64_t conn)
{
	if (conn == 0)
		return IDN_ENOTFOUND;
	pthread_mutex_lock(&a->lock);
	session_t **pp = session_find(a, id, owner, conn);
	if (pp != NULL) {
		session_t *x = *pp;
		*pp = x->next;
		free(x);
		a->nsessions--;
	}
	pthread_mutex_unlock(&a->lock);
	return pp ? 0 : IDN_ENOTFOUND;
}

void authz_conn_closed(authz_t *a, const void *owner, uint64_t conn)
{
	pthread_mutex_lock(&a->lock);
	for (session_t **pp = &a->sessions; *pp;) {
		if ((*pp)->owner == owner && (*pp)->conn == conn) {
			session_t *x = *pp;
			*pp = x->next;
			free(x);
			a->nsessions--;
		} else {
			pp = &(*pp)->next;
		}
	}
	pthread_mutex_unlock(&a->lock);
}
