#include "authz.h"

#include <assert.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "error.h"
#include "ident.h"
#include "log.h"
#include "nego.h"
#include "record.h"
#include "resolver.h"
#include "seckey.h"
#include "value.h"

#define CHALLENGE_TTL_MS 30000
#define VLIST_DEPTH 4 /* levels of HS_VLIST groups nested in groups */

/* One session (authz.h): connection-bound (conn set; with a key when the
 * national SDK's encrypted session) or keyed of a network (klen > 0, net
 * set). admin holds the bound admin, or while unbound the identity
 * the setup named (alen 0: none). */
typedef struct session {
	struct session *next;
	uint32_t id; /* even, never 0: challenges' own ids are odd */
	const void *owner;
	uint64_t conn;
	netkey_t net;
	uint64_t created; /* order of setting up (authz.next_seq) */
	uint64_t expires; /* idn_now_ms() time */
	bool bound;
	uint32_t index;
	size_t alen;
	uint8_t admin[IDN_IDENT_MAX];
	int cipher;
	size_t klen;
	uint8_t key[IDN_SKEY_MAX];
	uint32_t ctr_top;  /* the highest MAC counter seen */
	uint64_t ctr_seen; /* bit i: counter ctr_top - i seen */
} session_t;

struct authz {
	pthread_mutex_t lock; /* guards the pending challenges and sessions */
	authz_challenge_t *challenges;
	unsigned nchallenges;
	size_t held; /* bytes of the requests the challenges hold */
	session_t *sessions;
	unsigned nsessions;
	uint64_t next_seq; /* of the next session set up */
	netcost_t *cost;   /* answers' CPU budget per network; NULL: none */
	int min_hash;	   /* weakest hash an answer may use (nego.h) */
};

int authz_new(authz_t **out, uint64_t cost_rate, uint64_t cost_burst)
{
	authz_t *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	if (cost_rate != 0 &&
	    (a->cost = netcost_new(cost_rate, cost_burst)) == NULL) {
		free(a);
		return -ENOMEM;
	}
	pthread_mutex_init(&a->lock, NULL);
	a->min_hash = IDN_HASH_RANK_SHA1;
	*out = a;
	return 0;
}

void authz_set_min_hash(authz_t *a, int rank)
{
	a->min_hash = rank;
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
	netcost_free(a->cost);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* Takes *pp out of the table; the caller holds the lock. */
static authz_challenge_t *challenge_unlink(authz_t *a, authz_challenge_t **pp)
{
	authz_challenge_t *c = *pp;
	*pp = c->next;
	a->nchallenges--;
	a->held -= c->len;
	return c;
}

/* Drops expired challenges; the caller holds the lock. */
static void challenges_expire(authz_t *a, uint64_t now)
{
	for (authz_challenge_t **pp = &a->challenges; *pp;) {
		if ((*pp)->expires <= now)
			free(challenge_unlink(a, pp));
		else
			pp = &(*pp)->next;
	}
}

/* Whether c may join the table within the caps; the caller holds the
 * lock. 0, -EBUSY (the node's caps) or -EUSERS (its source's). */
static int challenge_fits(const authz_t *a, const authz_challenge_t *c)
{
	if (a->nchallenges >= AUTHZ_PENDING_MAX ||
	    a->held + c->len > AUTHZ_PENDING_BYTES)
		return -EBUSY;
	unsigned nn = 0, na = 0;
	size_t bn = 0, ba = 0; /* bytes its network and address hold */
	for (const authz_challenge_t *x = a->challenges; x; x = x->next) {
		if (!netkey_eq(&x->net, &c->net))
			continue;
		nn++;
		bn += x->len;
		if (netkey_eq(&x->addr, &c->addr)) {
			na++;
			ba += x->len;
		}
	}
	if (nn >= AUTHZ_PENDING_NET_MAX ||
	    bn + c->len > AUTHZ_PENDING_NET_BYTES ||
	    na >= AUTHZ_PENDING_ADDR_MAX ||
	    ba + c->len > AUTHZ_PENDING_ADDR_BYTES)
		return -EUSERS;
	return 0;
}

/* Drops the pending challenge of session; the caller holds the lock. */
static void challenge_drop_session(authz_t *a, uint32_t session)
{
	for (authz_challenge_t **pp = &a->challenges; *pp; pp = &(*pp)->next)
		if ((*pp)->session == session) {
			free(challenge_unlink(a, pp));
			return;
		}
}

static int challenge_make(authz_t *a, const struct sockaddr_storage *peer,
			  const uint8_t *frame, size_t len,
			  idn_bytes_t signed_part, uint32_t session,
			  uint32_t *id, uint8_t nonce[16])
{
	if (len > AUTHZ_PENDING_ADDR_BYTES)
		return -EUSERS;
	authz_challenge_t *c = malloc(sizeof(*c) + len);
	uint32_t dl = 0;
	if (c == NULL || RAND_bytes(c->nonce, sizeof(c->nonce)) != 1 ||
	    RAND_bytes((uint8_t *)&c->id, sizeof(c->id)) != 1 ||
	    idn_digest(IDN_DIGEST_SHA1, signed_part.p, signed_part.len,
		       c->digest, &dl) != 0) {
		free(c);
		return -ENOMEM;
	}
	netkey_of(peer, &c->net);
	netkey_addr(peer, &c->addr);
	/* never 0, which means no session; below 2^31, as Java clients (the
	 * IDIS SDK, CNRI's) hold it in a signed int and send a negative one
	 * as 0 */
	c->id = (c->id & 0x7fffffffu) | 1;
	if (session != 0)
		c->id = session;
	c->session = session;
	c->expires = idn_now_ms() + CHALLENGE_TTL_MS;
	c->len = len;
	memcpy(c->frame, frame, len);
	*id = c->id;
	memcpy(nonce, c->nonce, sizeof(c->nonce));
	pthread_mutex_lock(&a->lock);
	challenges_expire(a, idn_now_ms());
	if (session != 0)
		challenge_drop_session(a, session);
	int err = challenge_fits(a, c);
	if (err == 0) {
		c->next = a->challenges;
		a->challenges = c;
		a->nchallenges++;
		a->held += len;
	}
	pthread_mutex_unlock(&a->lock);
	if (err)
		free(c);
	return err;
}

int authz_challenge(authz_t *a, const struct sockaddr_storage *peer,
		    const uint8_t *frame, size_t len, idn_bytes_t signed_part,
		    uint32_t *id, uint8_t nonce[16])
{
	return challenge_make(a, peer, frame, len, signed_part, 0, id, nonce);
}

int authz_challenge_in(authz_t *a, const struct sockaddr_storage *peer,
		       const uint8_t *frame, size_t len,
		       idn_bytes_t signed_part, uint32_t session,
		       uint8_t nonce[16])
{
	uint32_t id;
	assert(session != 0);
	return challenge_make(a, peer, frame, len, signed_part, session, &id,
			      nonce);
}

authz_challenge_t *authz_take(authz_t *a, uint32_t id)
{
	authz_challenge_t *found = NULL;
	pthread_mutex_lock(&a->lock);
	challenges_expire(a, idn_now_ms());
	for (authz_challenge_t **pp = &a->challenges; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			found = challenge_unlink(a, pp);
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

bool authz_is_admin_type(idn_bytes_t type)
{
	return idn_type_matches(type, idn_bytes_str("HS_ADMIN"));
}

/* ---- who an HS_ADMIN names: the admin, or HS_VLIST groups ---- */

/* One group walked: its identifier (bytes valid during the check) and
 * index, and the depth it was walked at. */
typedef struct {
	const uint8_t *id;
	uint32_t len;
	uint32_t index;
	int depth; /* 0: free slot */
} walked_t;

/* One permission check's walk over groups: whom it looks for, the groups
 * already walked (an open-addressing set that grows in the arena) and the
 * members examined so far against AUTHZ_WALK_MAX. */
typedef struct {
	idn_rtxn_t *t;
	idn_arena_t *ar;
	idn_bytes_t admin;
	uint32_t aidx;
	uint32_t examined;
	bool exceeded;
	walked_t *set;
	uint32_t cap, n;
} walk_t;

static uint64_t group_hash(const uint8_t *p, uint32_t len, uint32_t index)
{
	uint64_t h = 1469598103934665603ull ^ index;
	for (uint32_t i = 0; i < len; i++) {
		uint8_t c = p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i];
		h = (h ^ c) * 1099511628211ull;
	}
	return h;
}

/* The slot of (id, index) in the set: its entry, or the free slot where
 * it goes. */
static walked_t *group_slot(walked_t *set, uint32_t cap, const uint8_t *id,
			    uint32_t len, uint32_t index)
{
	uint32_t i = (uint32_t)group_hash(id, len, index) & (cap - 1);
	for (;; i = (i + 1) & (cap - 1)) {
		walked_t *s = &set[i];
		if (s->depth == 0 || (s->index == index &&
				      idn_ascii_caseeq(s->id, s->len, id, len)))
			return s;
	}
}

/* Records that the group (id, index) is walked at depth; false when it
 * was walked already at that depth or a shallower one (its members were
 * examined there, as deep or deeper), or when the set cannot grow. */
static bool group_visit(walk_t *w, idn_bytes_t id, uint32_t index, int depth)
{
	if (w->n + 1 > w->cap / 2) {
		uint32_t cap = w->cap ? w->cap * 2 : 64;
		walked_t *set = idn_arena_array(w->ar, cap, sizeof(*set));
		if (set == NULL) {
			w->exceeded = true;
			return false;
		}
		memset(set, 0, (size_t)cap * sizeof(*set));
		for (uint32_t i = 0; i < w->cap; i++)
			if (w->set[i].depth)
				*group_slot(set, cap, w->set[i].id,
					    w->set[i].len, w->set[i].index) =
					w->set[i];
		w->set = set;
		w->cap = cap;
	}
	walked_t *s = group_slot(w->set, w->cap, id.p, (uint32_t)id.len, index);
	if (s->depth != 0 && s->depth <= depth + 1)
		return false;
	if (s->depth == 0)
		w->n++;
	*s = (walked_t){id.p, (uint32_t)id.len, index, depth + 1};
	return true;
}

/* Is the admin the walk looks for the one (admin_id, admin_idx) names,
 * directly or as a member of the HS_VLIST group found there (groups
 * nested up to VLIST_DEPTH levels)? Sets w->exceeded, and answers false,
 * once more than AUTHZ_WALK_MAX members were examined. */
static bool admin_matches(walk_t *w, idn_bytes_t admin_id, uint32_t admin_idx,
			  int depth)
{
	if (admin_idx == w->aidx && idn_ascii_caseeq(w->admin.p, w->admin.len,
						     admin_id.p, admin_id.len))
		return true;
	if (depth >= VLIST_DEPTH || w->exceeded ||
	    !group_visit(w, admin_id, admin_idx, depth))
		return false;
	idn_value_t v;
	idn_hs_vlist_t vl;
	if (find_value(w->t, w->ar, admin_id, admin_idx, &v) != 0 ||
	    !idn_type_matches(v.type, idn_bytes_str("HS_VLIST")) ||
	    idn_hs_vlist_decode(v.data, w->ar, &vl) != 0)
		return false;
	for (uint32_t i = 0; i < vl.n; i++) {
		if (++w->examined > AUTHZ_WALK_MAX) {
			w->exceeded = true;
			return false;
		}
		if (admin_matches(w, vl.refs[i].id, vl.refs[i].index,
				  depth + 1))
			return true;
		if (w->exceeded)
			return false;
	}
	return false;
}

/* The rights among need that the HS_ADMIN values of the record (its
 * nvalues encoded values blob) grant the admin, one value or several
 * together. */
static uint16_t granted(walk_t *w, idn_bytes_t blob, uint32_t nvalues,
			uint16_t need)
{
	uint16_t got = 0;
	idn_rd_t rd;
	idn_rd_init(&rd, blob.p, blob.len);
	for (uint32_t i = 0; i < nvalues && !rd.err && got != need; i++) {
		idn_value_t v;
		idn_hs_admin_t adm;
		idn_value_decode(&rd, w->ar, &v);
		if (rd.err || !authz_is_admin_type(v.type) ||
		    idn_hs_admin_decode(v.data, &adm) != 0 ||
		    !(adm.perms & need & ~got))
			continue;
		if (admin_matches(w, adm.admin, adm.index, 0))
			got |= adm.perms & need;
		if (w->exceeded)
			break;
	}
	return got;
}

bool authz_may_read(idn_rtxn_t *t, idn_arena_t *ar, idn_bytes_t blob,
		    uint32_t nvalues, idn_bytes_t admin, uint32_t aidx)
{
	walk_t w = {t, ar, admin, aidx, 0, false, NULL, 0, 0};
	/* past the walk budget the reader sees what the public sees */
	return granted(&w, blob, nvalues, IDN_ADM_READ_VALUE) != 0;
}

/* ---- the rights of each operation (the op table's rights functions) ---- */

static const char TEXT_NO_RIGHT[] =
	"the admin lacks the permission for this operation";
static const char TEXT_WALK[] =
	"admin group walk exceeds " AUTHZ_WALK_MAX_TEXT " members";

/* Loads the record whose HS_ADMIN values govern target: the identifier
 * itself, or (prefix) the prefix handle 0.NA/<prefix> of an identifier or
 * of a prefix given as such. Returns 0 with *found, or a response code. */
static uint32_t governing(walk_t *w, idn_bytes_t target, bool prefix,
			  idn_record_t *rec, bool *found)
{
	uint8_t name[5 + IDN_IDENT_MAX];
	size_t nlen = target.len;
	if (prefix) {
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
	int err = idn_store_get(w->t, id.key, id.key_len, rec);
	*found = err == 0;
	return err == 0 || err == IDN_ENOTFOUND ? 0 : IDN_RC_ERROR;
}

/* Refuses unless the admin holds every right in need on record rec. */
static uint32_t need_on(walk_t *w, const idn_record_t *rec, uint16_t need,
			const char **why)
{
	uint16_t got = granted(w, rec->values, rec->nvalues, need);
	if (w->exceeded) {
		log_info("refused %.*s:%u: %s",
			 (int)(w->admin.len > 200 ? 200 : w->admin.len),
			 w->admin.p, w->aidx, TEXT_WALK);
		*why = TEXT_WALK;
		return IDN_RC_INSUFFICIENT_PERMS;
	}
	if (got != need) {
		*why = TEXT_NO_RIGHT;
		return IDN_RC_INSUFFICIENT_PERMS;
	}
	return 0;
}

/* need on the record governing target; a missing identifier is not
 * found, a missing prefix handle grants nothing. */
static uint32_t need_at(walk_t *w, idn_bytes_t target, bool prefix,
			uint16_t need, const char **why)
{
	idn_record_t rec;
	bool found;
	uint32_t rc = governing(w, target, prefix, &rec, &found);
	if (rc == 0 && !found)
		rc = prefix ? IDN_RC_INSUFFICIENT_PERMS : IDN_RC_NOT_FOUND;
	if (rc != 0) {
		*why = rc == IDN_RC_INSUFFICIENT_PERMS ? TEXT_NO_RIGHT : "";
		return rc;
	}
	return need_on(w, &rec, need, why);
}

/* The stored values of a record by index (ascending: the store keeps
 * them so, and a resolution refuses a record that is not): whether each
 * is an HS_ADMIN. */
typedef struct {
	uint32_t index;
	bool admin;
} held_t;

static int held_values(idn_arena_t *ar, const idn_record_t *rec, held_t **out)
{
	held_t *h = idn_arena_array(ar, rec->nvalues ? rec->nvalues : 1,
				    sizeof(*h));
	if (h == NULL)
		return -1;
	idn_rd_t rd;
	idn_rd_init(&rd, rec->values.p, rec->values.len);
	for (uint32_t i = 0; i < rec->nvalues; i++) {
		idn_value_t v;
		idn_value_decode(&rd, ar, &v);
		if (rd.err)
			return -1;
		h[i] = (held_t){v.index, authz_is_admin_type(v.type)};
	}
	*out = h;
	return 0;
}

/* The stored value at index among n held ones, or NULL. */
static const held_t *held_at(const held_t *h, uint32_t n, uint32_t index)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (h[mid].index == index)
			return &h[mid];
		if (h[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Replacing a stored value with one of another or the same type: modify
 * the value, or modify the admin when it is an HS_ADMIN (and remove it
 * when what replaces it is no HS_ADMIN). */
static uint16_t replace_needs(const held_t *old, bool new_admin)
{
	if (old->admin)
		return IDN_ADM_MODIFY_ADMIN |
		       (new_admin ? 0 : IDN_ADM_REMOVE_ADMIN);
	return new_admin ? IDN_ADM_MODIFY_ADMIN : IDN_ADM_MODIFY_VALUE;
}

#define WALK(t, ar, admin, aidx)                                               \
	{                                                                      \
		t, ar, admin, aidx, 0, false, NULL, 0, 0                       \
	}

uint32_t authz_rights_create(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			     idn_bytes_t admin, uint32_t aidx, const char **why)
{
	walk_t w = WALK(t, ar, admin, aidx);
	idn_values_body_t vb;
	*why = "";
	if (idn_values_body_decode(m->rest, ar, &vb) != 0)
		return IDN_RC_PROTOCOL_ERROR;
	uint32_t rc = need_at(&w, vb.id, true, IDN_ADM_ADD_HANDLE, why);
	if (rc != 0 || !(m->hdr.flags & IDN_OF_OVERWRITE))
		return rc;
	/* replacing a record takes it away from its admins: that is theirs
	 * to allow, as for deleting it */
	idn_record_t rec;
	bool found;
	rc = governing(&w, vb.id, false, &rec, &found);
	if (rc != 0 || !found)
		return rc;
	return need_on(&w, &rec, IDN_ADM_DELETE_HANDLE, why);
}

/* The record whose values a write to id changes, and what each of them
 * holds (in ar). Returns 0, IDN_RC_NOT_FOUND (no such record),
 * IDN_RC_ERROR (out of memory) or governing's error. */
static uint32_t values_held(walk_t *w, idn_arena_t *ar, idn_bytes_t id,
			    idn_record_t *rec, held_t **held)
{
	bool found;
	uint32_t rc = governing(w, id, false, rec, &found);
	if (rc != 0)
		return rc;
	if (!found)
		return IDN_RC_NOT_FOUND;
	return held_values(ar, rec, held) != 0 ? IDN_RC_ERROR : 0;
}

/* Add (replace: overwrite flag) or modify the values of request m. */
static uint32_t values_rights(idn_rtxn_t *t, idn_arena_t *ar,
			      const idn_msg_t *m, idn_bytes_t admin,
			      uint32_t aidx, bool modify, const char **why)
{
	walk_t w = WALK(t, ar, admin, aidx);
	idn_values_body_t vb;
	idn_record_t rec;
	held_t *held;
	*why = "";
	if (idn_values_body_decode(m->rest, ar, &vb) != 0)
		return IDN_RC_PROTOCOL_ERROR;
	uint32_t rc = values_held(&w, ar, vb.id, &rec, &held);
	if (rc != 0)
		return rc;
	bool replaces = modify || (m->hdr.flags & IDN_OF_OVERWRITE);
	uint16_t need = 0;
	for (uint32_t i = 0; i < vb.nvalues; i++) {
		bool adm = authz_is_admin_type(vb.values[i].type);
		const held_t *old = replaces ? held_at(held, rec.nvalues,
						       vb.values[i].index)
					     : NULL;
		if (old != NULL)
			need |= replace_needs(old, adm);
		else if (modify) /* nothing there: the write fails */
			need |= adm ? IDN_ADM_MODIFY_ADMIN
				    : IDN_ADM_MODIFY_VALUE;
		else
			need |= adm ? IDN_ADM_ADD_ADMIN : IDN_ADM_ADD_VALUE;
	}
	if (need == 0)
		need = modify ? IDN_ADM_MODIFY_VALUE : IDN_ADM_ADD_VALUE;
	return need_on(&w, &rec, need, why);
}

uint32_t authz_rights_add(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			  idn_bytes_t admin, uint32_t aidx, const char **why)
{
	return values_rights(t, ar, m, admin, aidx, false, why);
}

uint32_t authz_rights_modify(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			     idn_bytes_t admin, uint32_t aidx, const char **why)
{
	return values_rights(t, ar, m, admin, aidx, true, why);
}

uint32_t authz_rights_remove(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			     idn_bytes_t admin, uint32_t aidx, const char **why)
{
	walk_t w = WALK(t, ar, admin, aidx);
	idn_remove_req_t rb;
	idn_record_t rec;
	held_t *held;
	*why = "";
	if (idn_remove_req_decode(m->rest, ar, &rb) != 0)
		return IDN_RC_PROTOCOL_ERROR;
	uint32_t rc = values_held(&w, ar, rb.id, &rec, &held);
	if (rc != 0)
		return rc;
	uint16_t need = 0;
	for (uint32_t k = 0; k < rb.nindexes; k++) {
		const held_t *old = held_at(held, rec.nvalues, rb.indexes[k]);
		need |= old && old->admin ? IDN_ADM_REMOVE_ADMIN
					  : IDN_ADM_REMOVE_VALUE;
	}
	return need_on(&w, &rec, need ? need : IDN_ADM_REMOVE_VALUE, why);
}

/* A request whose body is one identifier, needing one right on it (or on
 * its prefix handle). */
static uint32_t id_rights(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			  idn_bytes_t admin, uint32_t aidx, bool prefix,
			  uint16_t need, const char **why)
{
	walk_t w = WALK(t, ar, admin, aidx);
	idn_bytes_t target;
	*why = "";
	if (idn_id_body_decode(m->rest, &target) != 0)
		return IDN_RC_PROTOCOL_ERROR;
	return need_at(&w, target, prefix, need, why);
}

uint32_t authz_rights_delete(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			     idn_bytes_t admin, uint32_t aidx, const char **why)
{
	return id_rights(t, ar, m, admin, aidx, false, IDN_ADM_DELETE_HANDLE,
			 why);
}

uint32_t authz_rights_list(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			   idn_bytes_t admin, uint32_t aidx, const char **why)
{
	return id_rights(t, ar, m, admin, aidx, true, IDN_ADM_LIST, why);
}

uint32_t authz_rights_home(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			   idn_bytes_t admin, uint32_t aidx, const char **why)
{
	return id_rights(t, ar, m, admin, aidx, true, IDN_ADM_ADD_PREFIX, why);
}

uint32_t authz_rights_unhome(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			     idn_bytes_t admin, uint32_t aidx, const char **why)
{
	return id_rights(t, ar, m, admin, aidx, true, IDN_ADM_DELETE_PREFIX,
			 why);
}

uint32_t authz_rights_none(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			   idn_bytes_t admin, uint32_t aidx, const char **why)
{
	(void)t;
	(void)ar;
	(void)m;
	(void)admin;
	(void)aidx;
	*why = "";
	return IDN_RC_PROTOCOL_ERROR;
}

uint64_t authz_seckey_cost(idn_bytes_t sig)
{
	idn_rd_t rd;
	idn_rd_init(&rd, sig.p, sig.len);
	if (idn_rd_u8(&rd) != IDN_MAC_PBKDF2_HMAC_SHA1 || rd.err)
		return 1;
	idn_rd_str(&rd, 1024); /* salt */
	uint32_t iter = idn_rd_u32(&rd);
	/* out-of-range counts are refused before any work */
	return rd.err || iter > IDN_PBKDF2_ITER_MAX ? 1 : iter;
}

uint64_t authz_pubkey_cost(int bits)
{
	/* a verification with a small public exponent grows with the square
	 * of the modulus: RSA-2048 ~16 units (30 µs), RSA-16384 ~1024 */
	uint64_t b = bits > 0 ? (uint64_t)bits : 0;
	uint64_t cost = b * b >> 18;
	return cost < 64 ? 64 : cost;
}

/* Charges cost to peer's network; 0, or the refusal. */
static uint32_t charge(authz_t *a, const struct sockaddr_storage *peer,
		       uint64_t cost, const char **why)
{
	if (netcost_take(a->cost, peer, cost, idn_now_ms()) == 0)
		return 0;
	*why = "too many costly challenge answers from this network: try "
	       "again later";
	log_debug("challenge answer refused: over its network's CPU budget");
	return IDN_RC_TOO_BUSY;
}

uint32_t authz_charge(authz_t *a, const struct sockaddr_storage *peer,
		      uint64_t cost, const char **why)
{
	return charge(a, peer, cost, why);
}

void authz_charge_done(authz_t *a, const struct sockaddr_storage *peer,
		       uint64_t cost)
{
	netcost_done(a->cost, peer, cost);
}

/* The refusal of an answer whose hash is below the node's floor. */
static const char *weaker(const authz_t *a)
{
	static const char *const text[] = {
		"", "hash weaker than this node's min-auth-hash (md5)",
		"hash weaker than this node's min-auth-hash (sha1)",
		"hash weaker than this node's min-auth-hash (sha256)"};
	return text[a->min_hash >= 1 && a->min_hash <= 3 ? a->min_hash : 0];
}

/* An HS_SECKEY answer: the MAC of nonce || digest with the secret stored
 * at the admin's value (seckey.h). */
static uint32_t check_seckey(authz_t *a, const struct sockaddr_storage *peer,
			     idn_rtxn_t *t, idn_arena_t *ar,
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
	/* the form follows the held request's protocol version: the bare
	 * MD5 form before 2.1 */
	uint8_t minor = c->frame[0] == 2 ? c->frame[1] : 1;
	int hr = idn_seckey_rank(ans->sig, minor);
	if (hr != 0 && hr < a->min_hash) {
		*why = weaker(a);
		return IDN_RC_AUTH_ERROR;
	}
	uint64_t cost = authz_seckey_cost(ans->sig);
	uint32_t rc = charge(a, peer, cost, why);
	if (rc != 0)
		return rc;
	err = idn_seckey_verify_v(key.data, ans->sig, idn_bytes(c->nonce, 16),
				  idn_bytes(c->digest, 20), minor);
	netcost_done(a->cost, peer, cost);
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

uint32_t authz_check_answer(authz_t *a, const struct sockaddr_storage *peer,
			    idn_rtxn_t *t, idn_arena_t *ar,
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
		rc = check_seckey(a, peer, t, ar, c, ans, why);
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
	/* an unknown hash (rank 0) fails to verify below */
	int hr = idn_hash_rank_of(hash);
	if (hr != 0 && hr < a->min_hash) {
		*why = weaker(a);
		return IDN_RC_AUTH_ERROR;
	}
	int err = find_value(t, ar, ans->admin, ans->index, &key);
	if (err || !idn_bytes_eq_str(key.type, "HS_PUBKEY") ||
	    idn_pubkey_load(key.data, &pk) != 0) {
		*why = "no usable HS_PUBKEY at that admin identifier and index";
		return IDN_RC_INVALID_ADMIN;
	}
	uint64_t cost = authz_pubkey_cost(EVP_PKEY_bits(pk));
	rc = charge(a, peer, cost, why);
	if (rc != 0) {
		EVP_PKEY_free(pk);
		return rc;
	}
	if (idn_answer_verify(pk, hash, idn_bytes(c->nonce, 16),
			      idn_bytes(c->digest, 20), sig, ans->admin) != 0) {
		*why = "signature does not verify";
		rc = IDN_RC_AUTH_FAILED;
	}
	netcost_done(a->cost, peer, cost);
	EVP_PKEY_free(pk);
done:
	if (rc == IDN_RC_AUTH_FAILED)
		log_info("authentication failed for %.*s:%u",
			 (int)(ans->admin.len > 200 ? 200 : ans->admin.len),
			 ans->admin.p, ans->index);
	return rc;
}

/* ---- sessions ---- */

/* Wipes session x's key and frees it. */
static void session_free(session_t *x)
{
	OPENSSL_cleanse(x->key, sizeof(x->key));
	free(x);
}

/* Unlinks session *pp from the table and frees it; the caller holds the
 * lock. */
static void session_drop(authz_t *a, session_t **pp)
{
	session_t *x = *pp;
	*pp = x->next;
	session_free(x);
	a->nsessions--;
}

/* A new session of (owner, conn) bound to admin at index, living lifetime
 * seconds from now; NULL when out of memory. admin.len <= IDN_IDENT_MAX. */
static session_t *session_bound(const void *owner, uint64_t conn,
				idn_bytes_t admin, uint32_t index,
				uint32_t lifetime)
{
	session_t *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->owner = owner;
	x->conn = conn;
	x->bound = true;
	x->index = index;
	x->alen = admin.len;
	if (admin.len > 0)
		memcpy(x->admin, admin.p, admin.len);
	x->expires = idn_now_ms() + (uint64_t)lifetime * 1000;
	return x;
}

/* A new session holding key for cipher, living lifetime seconds from now;
 * NULL when out of memory. 0 < key.len <= IDN_SKEY_MAX. */
static session_t *session_keyed(idn_bytes_t key, int cipher, uint32_t lifetime)
{
	session_t *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->cipher = cipher;
	x->klen = key.len;
	memcpy(x->key, key.p, key.len);
	x->expires = idn_now_ms() + (uint64_t)lifetime * 1000;
	return x;
}

/* Drops expired sessions; the caller holds the lock. */
static void sessions_expire(authz_t *a, uint64_t now)
{
	for (session_t **pp = &a->sessions; *pp;) {
		if ((*pp)->expires <= now)
			session_drop(a, pp);
		else
			pp = &(*pp)->next;
	}
}

/* The live session id; the caller holds the lock. */
static session_t **session_at(authz_t *a, uint32_t id)
{
	sessions_expire(a, idn_now_ms());
	for (session_t **pp = &a->sessions; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id)
			return pp;
	return NULL;
}

/* The live session id that a request on (owner, conn) means: the
 * connection's own (login sessions of one client-chosen id may live on
 * several connections, each its own), else the keyed one of that id; the
 * caller holds the lock. */
static session_t **session_find(authz_t *a, uint32_t id, const void *owner,
				uint64_t conn)
{
	sessions_expire(a, idn_now_ms());
	session_t **keyed = NULL;
	for (session_t **pp = &a->sessions; *pp; pp = &(*pp)->next) {
		const session_t *x = *pp;
		if (x->id != id)
			continue;
		if (x->conn != 0 && conn != 0 && x->owner == owner &&
		    x->conn == conn)
			return pp;
		if (x->conn == 0 && keyed == NULL)
			keyed = pp;
	}
	return keyed;
}

/* A new session's id: random, even, never 0 and not in use; the caller
 * holds the lock. */
static uint32_t session_id_new(authz_t *a)
{
	for (;;) {
		uint32_t id = 0;
		if (RAND_bytes((uint8_t *)&id, sizeof(id)) != 1)
			return 0;
		id &= 0x7ffffffeu; /* even, and positive as a Java int */
		if (id != 0 && session_at(a, id) == NULL)
			return id;
	}
}

/* Drops the oldest keyed session without a bound admin (of network net
 * when not NULL); false when there is none. The caller holds the lock. */
static bool session_evict(authz_t *a, const netkey_t *net)
{
	session_t **oldest = NULL;
	for (session_t **pp = &a->sessions; *pp; pp = &(*pp)->next) {
		const session_t *s = *pp;
		if (s->klen == 0 || s->bound || s->conn != 0 ||
		    (net != NULL && !netkey_eq(&s->net, net)))
			continue;
		if (oldest == NULL || s->created < (*oldest)->created)
			oldest = pp;
	}
	if (oldest == NULL)
		return false;
	session_drop(a, oldest);
	return true;
}

/* Puts x in the table within the caps (net: a keyed session, whose
 * network's cap applies and which may take an unbound one's place); the
 * caller holds the lock. 0, -EBUSY, -EUSERS, -ENOMEM. */
static int session_add(authz_t *a, session_t *x, bool net)
{
	sessions_expire(a, idn_now_ms());
	if (net) {
		unsigned nn = 0;
		for (const session_t *s = a->sessions; s; s = s->next)
			nn += s->conn == 0 && s->klen > 0 &&
			      netkey_eq(&s->net, &x->net);
		if (nn >= AUTHZ_SESSIONS_NET_MAX && !session_evict(a, &x->net))
			return -EUSERS;
	}
	if (a->nsessions >= AUTHZ_SESSIONS_MAX &&
	    !(net && session_evict(a, NULL)))
		return -EBUSY;
	x->id = session_id_new(a);
	if (x->id == 0)
		return -ENOMEM;
	x->created = a->next_seq++;
	x->next = a->sessions;
	a->sessions = x;
	a->nsessions++;
	return 0;
}

uint32_t authz_dh_charge(authz_t *a, const struct sockaddr_storage *peer,
			 int bits, const char **why)
{
	/* two exponentiations with a 256-bit exponent: some 16 signature
	 * checks of that size */
	return charge(a, peer, 16 * authz_pubkey_cost(bits), why);
}

void authz_dh_done(authz_t *a, const struct sockaddr_storage *peer, int bits)
{
	netcost_done(a->cost, peer, 16 * authz_pubkey_cost(bits));
}

int authz_session_open(authz_t *a, const void *owner, uint64_t conn,
		       idn_bytes_t admin, uint32_t index, uint32_t lifetime,
		       uint32_t *id)
{
	if (admin.len > IDN_IDENT_MAX)
		return IDN_ETOOLONG;
	session_t *x = session_bound(owner, conn, admin, index, lifetime);
	if (x == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&a->lock);
	int err = session_add(a, x, false);
	if (err == 0)
		*id = x->id;
	pthread_mutex_unlock(&a->lock);
	if (err)
		free(x);
	return err;
}

int authz_session_new(authz_t *a, const struct sockaddr_storage *peer,
		      idn_bytes_t key, int cipher, idn_bytes_t identity,
		      uint32_t index, uint32_t lifetime, uint32_t *id)
{
	if (identity.len > IDN_IDENT_MAX)
		return IDN_ETOOLONG;
	if (key.len == 0 || key.len > IDN_SKEY_MAX)
		return IDN_EINVAL;
	session_t *x = session_keyed(key, cipher, lifetime);
	if (x == NULL)
		return -ENOMEM;
	netkey_of(peer, &x->net);
	x->index = index;
	x->alen = identity.len;
	if (identity.len > 0)
		memcpy(x->admin, identity.p, identity.len);
	pthread_mutex_lock(&a->lock);
	int err = session_add(a, x, true);
	if (err == 0)
		*id = x->id;
	pthread_mutex_unlock(&a->lock);
	if (err)
		session_free(x);
	return err;
}

/* May a request from peer on (owner, conn) use x? 0, IDN_ENOTFOUND or
 * IDN_EAUTH (authz_session_find). */
static int session_usable(const session_t *x,
			  const struct sockaddr_storage *peer,
			  const void *owner, uint64_t conn)
{
	if (x->conn != 0)
		return conn != 0 && x->owner == owner && x->conn == conn
			       ? 0
			       : IDN_ENOTFOUND;
	netkey_t net;
	netkey_of(peer, &net);
	return netkey_eq(&net, &x->net) ? 0 : IDN_EAUTH;
}

static void sess_copy(const session_t *x, authz_sess_t *out);

int authz_session_find(authz_t *a, uint32_t id,
		       const struct sockaddr_storage *peer, const void *owner,
		       uint64_t conn, authz_sess_t *out)
{
	pthread_mutex_lock(&a->lock);
	session_t **pp = session_find(a, id, owner, conn);
	int err = pp ? session_usable(*pp, peer, owner, conn) : IDN_ENOTFOUND;
	if (err == 0)
		sess_copy(*pp, out);
	pthread_mutex_unlock(&a->lock);
	return err;
}

int authz_session_conn_keyed(authz_t *a, const void *owner, uint64_t conn,
			     authz_sess_t *out)
{
	if (conn == 0)
		return IDN_ENOTFOUND;
	pthread_mutex_lock(&a->lock);
	sessions_expire(a, idn_now_ms());
	const session_t *last = NULL;
	for (const session_t *x = a->sessions; x; x = x->next)
		if (x->conn == conn && x->owner == owner && x->klen > 0 &&
		    (last == NULL || x->created > last->created))
			last = x;
	if (last != NULL)
		sess_copy(last, out);
	pthread_mutex_unlock(&a->lock);
	return last != NULL ? 0 : IDN_ENOTFOUND;
}

/* Copies what a request may use of x (authz_sess_t); the caller holds
 * the lock. */
static void sess_copy(const session_t *x, authz_sess_t *out)
{
	out->bound = x->bound;
	out->keyed = x->klen > 0;
	out->conn_bound = x->conn != 0;
	out->cipher = x->cipher;
	out->key_len = x->klen;
	memcpy(out->key, x->key, x->klen);
	size_t n = x->bound ? x->alen : 0;
	memcpy(out->who.name, x->admin, n);
	out->who.admin = idn_bytes(out->who.name, n);
	out->who.index = x->bound ? x->index : 0;
}

int authz_session_bind(authz_t *a, uint32_t id, idn_bytes_t admin,
		       uint32_t index)
{
	if (admin.len > IDN_IDENT_MAX)
		return IDN_EAUTH;
	pthread_mutex_lock(&a->lock);
	session_t **pp = session_find(a, id, NULL, 0);
	int err = pp ? 0 : IDN_ENOTFOUND;
	if (pp != NULL) {
		session_t *x = *pp;
		bool same =
			x->index == index &&
			idn_ascii_caseeq(x->admin, x->alen, admin.p, admin.len);
		if (x->klen == 0 || (x->alen > 0 && !same)) {
			err = IDN_EAUTH;
		} else if (!x->bound) {
			x->bound = true;
			x->index = index;
			x->alen = admin.len;
			if (admin.len > 0)
				memcpy(x->admin, admin.p, admin.len);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return err;
}

int authz_session_counter(authz_t *a, uint32_t id, uint32_t ctr)
{
	pthread_mutex_lock(&a->lock);
	session_t **pp = session_find(a, id, NULL, 0);
	int err = pp ? 0 : IDN_ENOTFOUND;
	if (pp != NULL) {
		session_t *x = *pp;
		if (ctr > x->ctr_top) {
			uint32_t shift = ctr - x->ctr_top;
			x->ctr_seen = shift >= 64 ? 0 : x->ctr_seen << shift;
			x->ctr_seen |= 1;
			x->ctr_top = ctr;
		} else if (x->ctr_top - ctr >= 64 ||
			   (x->ctr_seen >> (x->ctr_top - ctr) & 1)) {
			err = IDN_EEXISTS;
		} else {
			x->ctr_seen |= 1ull << (x->ctr_top - ctr);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return err;
}

int authz_session_get(authz_t *a, uint32_t id, const void *owner, uint64_t conn,
		      authz_who_t *who)
{
	if (conn == 0)
		return IDN_ENOTFOUND;
	pthread_mutex_lock(&a->lock);
	session_t **pp = session_find(a, id, owner, conn);
	bool ok = pp && (*pp)->conn != 0 &&
		  session_usable(*pp, NULL, owner, conn) == 0;
	if (ok) {
		memcpy(who->name, (*pp)->admin, (*pp)->alen);
		who->admin = idn_bytes(who->name, (*pp)->alen);
		who->index = (*pp)->index;
	}
	pthread_mutex_unlock(&a->lock);
	return ok ? 0 : IDN_ENOTFOUND;
}

int authz_session_close(authz_t *a, uint32_t id,
			const struct sockaddr_storage *peer, const void *owner,
			uint64_t conn)
{
	pthread_mutex_lock(&a->lock);
	session_t **pp = session_find(a, id, owner, conn);
	bool ok = pp && session_usable(*pp, peer, owner, conn) == 0;
	if (ok)
		session_drop(a, pp);
	pthread_mutex_unlock(&a->lock);
	return ok ? 0 : IDN_ENOTFOUND;
}

int authz_session_end(authz_t *a, uint32_t id, const void *owner, uint64_t conn)
{
	if (conn == 0)
		return IDN_ENOTFOUND;
	return authz_session_close(a, id, NULL, owner, conn);
}

void authz_conn_closed(authz_t *a, const void *owner, uint64_t conn)
{
	pthread_mutex_lock(&a->lock);
	for (session_t **pp = &a->sessions; *pp;) {
		if ((*pp)->conn != 0 && (*pp)->owner == owner &&
		    (*pp)->conn == conn)
			session_drop(a, pp);
		else
			pp = &(*pp)->next;
	}
	pthread_mutex_unlock(&a->lock);
}

/* ---- sessions whose id the client chose (op 2001 login, login.c) ---- */

/* Adds connection-bound session x (its id set) in place of one of the
 * same id on its connection; a login (admin set, no key) keeps the key
 * of the session it replaces, which an encrypted session's setup made. */
static int session_put_as(authz_t *a, session_t *x)
{
	pthread_mutex_lock(&a->lock);
	/* a connection holds one session set up and not logged in yet:
	 * setups cost nothing to ask for */
	for (session_t **qq = &a->sessions; !x->bound && *qq;) {
		const session_t *o = *qq;
		if (o->conn == x->conn && o->owner == x->owner && !o->bound)
			session_drop(a, qq);
		else
			qq = &(*qq)->next;
	}
	session_t **pp = session_find(a, x->id, x->owner, x->conn);
	if (pp != NULL && (*pp)->conn != 0) {
		session_t *o = *pp;
		if (x->klen == 0 && o->klen > 0) {
			x->cipher = o->cipher;
			x->klen = o->klen;
			memcpy(x->key, o->key, o->klen);
		}
		session_drop(a, pp);
	}
	bool full = a->nsessions >= AUTHZ_SESSIONS_MAX;
	if (!full) {
		x->created = a->next_seq++;
		x->next = a->sessions;
		a->sessions = x;
		a->nsessions++;
	}
	pthread_mutex_unlock(&a->lock);
	if (full)
		session_free(x);
	return full ? -EBUSY : 0;
}

int authz_session_open_as(authz_t *a, const void *owner, uint64_t conn,
			  idn_bytes_t admin, uint32_t index, uint32_t lifetime,
			  uint32_t id)
{
	if (id == 0 || conn == 0)
		return IDN_EINVAL;
	if (admin.len > IDN_IDENT_MAX)
		return IDN_ETOOLONG;
	session_t *x = session_bound(owner, conn, admin, index, lifetime);
	if (x == NULL)
		return -ENOMEM;
	x->id = id;
	return session_put_as(a, x);
}

int authz_session_key_as(authz_t *a, const void *owner, uint64_t conn,
			 idn_bytes_t key, int cipher, uint32_t lifetime,
			 uint32_t id)
{
	if (id == 0 || conn == 0 || key.len == 0 || key.len > IDN_SKEY_MAX)
		return IDN_EINVAL;
	session_t *x = session_keyed(key, cipher, lifetime);
	if (x == NULL)
		return -ENOMEM;
	x->id = id;
	x->owner = owner;
	x->conn = conn;
	return session_put_as(a, x);
}

uint32_t authz_token_charge(authz_t *a, const struct sockaddr_storage *peer,
			    uint64_t cost, const char **why)
{
	if (netcost_take(a->cost, peer, cost, idn_now_ms()) == 0)
		return 0;
	*why = "too many costly token checks from this network: try again "
	       "later";
	return IDN_RC_TOO_BUSY;
}
