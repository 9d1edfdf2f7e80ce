/* The audit log (audit.h): JSON lines, the file they go to, and the rate
 * limit on lines of callers nobody has proven. */
#include "audit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cache.h" /* idn_siphash */
#include "ident.h" /* idn_utf8_seq_len */
#include "log.h"
#include "search.h" /* IDN_INDEX_* */
#include "value.h"  /* IDN_TYPE_MAX */

#define RL_SLOTS 256	    /* source networks tracked at once */
#define ERR_LOG_INTERVAL 10 /* seconds between "cannot write" messages */

typedef struct {
	uint8_t key[17]; /* family, then the /24 or /56 */
	bool used;
	int64_t sec; /* the second this window counts */
	uint32_t count;
	uint64_t suppressed; /* lines left out, not yet summarised */
} rl_slot_t;

struct audit {
	pthread_mutex_t mu; /* the descriptor, the error log's state */
	int fd;
	char *path;
	bool required;
	atomic_bool ok; /* the last line was written */
	time_t err_logged;
	uint64_t lost; /* lines lost since the last message */
	pthread_mutex_t rl_mu;
	uint8_t sipkey[16];
	rl_slot_t slots[RL_SLOTS];
};

/* ---- formatting ---- */

static int grow(audit_buf_t *b, size_t more)
{
	if (b->failed)
		return -ENOMEM;
	if (b->cap - b->len > more)
		return 0;
	size_t cap = b->cap ? b->cap : 512;
	while (cap - b->len <= more)
		cap *= 2;
	char *p = realloc(b->buf, cap);
	if (p == NULL) {
		free(b->buf);
		*b = (audit_buf_t){NULL, 0, 0, true};
		return -ENOMEM;
	}
	b->buf = p;
	b->cap = cap;
	return 0;
}

static int put(audit_buf_t *b, const char *s, size_t n)
{
	if (grow(b, n) != 0)
		return -ENOMEM;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = 0;
	return 0;
}

static int puts_(audit_buf_t *b, const char *s)
{
	return put(b, s, strlen(s));
}

static int putf(audit_buf_t *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int putf(audit_buf_t *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	return put(b, tmp,
		   (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

int audit_json_str(audit_buf_t *b, const uint8_t *s, size_t len, bool *lossy)
{
	*lossy = false;
	if (put(b, "\"", 1) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		uint8_t c = s[i];
		size_t n = idn_utf8_seq_len(s + i, len - i);
		int err;
		if (n == 0) {
			*lossy = true;
			err = puts_(b, "\\ufffd");
			n = 1;
		} else if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			err = put(b, esc, 2);
		} else if (c == '\n') {
			err = puts_(b, "\\n");
		} else if (c == '\t') {
			err = puts_(b, "\\t");
		} else if (c == '\r') {
			err = puts_(b, "\\r");
		} else if (c < 0x20 || c == 0x7f) {
			err = putf(b, "\\u%04x", c);
		} else {
			err = put(b, (const char *)s + i, n);
		}
		if (err)
			return err;
		i += n;
	}
	return put(b, "\"", 1);
}

static int put_str(audit_buf_t *b, const char *s)
{
	bool lossy;
	return audit_json_str(b, (const uint8_t *)s, strlen(s), &lossy);
}

static int put_hex(audit_buf_t *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (put(b, "\"", 1) != 0 || grow(b, 2 * n) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		b->buf[b->len++] = hex[p[i] >> 4];
		b->buf[b->len++] = hex[p[i] & 15];
	}
	return put(b, "\"", 1);
}

void audit_time(const struct timespec *ts, char out[64])
{
	struct tm tm;
	time_t s = ts->tv_sec;
	gmtime_r(&s, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
}

static int put_time(audit_buf_t *b, const struct timespec *when)
{
	struct timespec now = *when;
	if (now.tv_sec == 0 && now.tv_nsec == 0)
		clock_gettime(CLOCK_REALTIME, &now);
	char t[64];
	audit_time(&now, t);
	return putf(b, "{\"time\":\"%s\"", t);
}

/* "INDEX:ID" as a JSON string, and its exact bytes in hex under hexkey
 * when they are not UTF-8. */
static int put_admin(audit_buf_t *b, const char *key, const char *hexkey,
		     uint32_t index, idn_bytes_t admin)
{
	char ix[16];
	int n = snprintf(ix, sizeof(ix), "%u:", index);
	uint8_t *tmp = malloc((size_t)n + admin.len + 1);
	if (tmp == NULL)
		return -ENOMEM;
	memcpy(tmp, ix, (size_t)n);
	if (admin.len)
		memcpy(tmp + n, admin.p, admin.len);
	bool lossy;
	int err = putf(b, ",\"%s\":", key);
	if (err == 0)
		err = audit_json_str(b, tmp, (size_t)n + admin.len, &lossy);
	if (err == 0 && lossy) {
		err = putf(b, ",\"%s\":", hexkey);
		if (err == 0)
			err = put_hex(b, admin.p, admin.len);
	}
	free(tmp);
	return err;
}

static int put_principal(audit_buf_t *b, const principal_t *who)
{
	static const principal_t anon = {
		PRINCIPAL_ANONYMOUS, {NULL, 0}, 0, NULL};
	if (who == NULL)
		who = &anon;
	switch (who->kind) {
	case PRINCIPAL_ADMIN: {
		int err = puts_(b, ",\"principal\":{\"kind\":\"admin\"");
		if (err == 0)
			err = put_admin(b, "admin", "admin_hex", who->index,
					who->admin);
		return err ? err : put(b, "}", 1);
	}
	case PRINCIPAL_HTTP: {
		int err =
			puts_(b, ",\"principal\":{\"kind\":\"http\",\"user\":");
		if (err == 0)
			err = put_str(b, who->user ? who->user : "");
		return err ? err : put(b, "}", 1);
	}
	case PRINCIPAL_OPERATOR:
		return puts_(b, ",\"principal\":{\"kind\":\"operator\"}");
	case PRINCIPAL_ANONYMOUS:
		break;
	}
	return puts_(b, ",\"principal\":{\"kind\":\"anonymous\"}");
}

static const char *transport_name(transport_t t)
{
	switch (t) {
	case TRANSPORT_UDP:
		return "udp";
	case TRANSPORT_TCP:
		return "tcp";
	case TRANSPORT_CONTROL:
		return "control";
	case TRANSPORT_HTTP:
		return "http";
	}
	return "unknown";
}

/* "192.0.2.1:2641", "[2001:db8::1]:2641"; "" when peer is not IP. */
static void peer_text(const struct sockaddr_storage *peer, char out[64])
{
	char a[INET6_ADDRSTRLEN];
	out[0] = 0;
	if (peer == NULL)
		return;
	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const void *)peer;
		inet_ntop(AF_INET, &v4->sin_addr, a, sizeof(a));
		snprintf(out, 64, "%s:%u", a, ntohs(v4->sin_port));
	} else if (peer->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const void *)peer;
		inet_ntop(AF_INET6, &v6->sin6_addr, a, sizeof(a));
		snprintf(out, 64, "[%s]:%u", a, ntohs(v6->sin6_port));
	}
}

static int put_source(audit_buf_t *b, const audit_rec_t *rec)
{
	if (rec->transport == TRANSPORT_CONTROL)
		return puts_(b, ",\"source\":\"control\"");
	char s[64];
	peer_text(rec->peer, s);
	if (!s[0])
		return puts_(b, ",\"source\":null");
	return putf(b, ",\"source\":\"%s\"", s);
}

static int put_id(audit_buf_t *b, idn_bytes_t id)
{
	bool lossy;
	int err = puts_(b, ",\"id\":");
	if (err == 0)
		err = audit_json_str(b, id.p, id.len, &lossy);
	if (err == 0 && lossy) {
		err = puts_(b, ",\"id_hex\":");
		if (err == 0)
			err = put_hex(b, id.p, id.len);
	}
	return err;
}

static int put_indexes(audit_buf_t *b, const uint32_t *ix, uint32_t n)
{
	int err = puts_(b, ",\"indexes\":[");
	for (uint32_t i = 0; err == 0 && i < n; i++)
		err = putf(b, "%s%u", i ? "," : "", ix[i]);
	return err ? err : put(b, "]", 1);
}

int audit_format(const audit_rec_t *rec, audit_buf_t *b)
{
	int err = put_time(b, &rec->when);
	if (err == 0)
		err = puts_(b, rec->event == AUDIT_AUTH
				       ? ",\"event\":\"auth failure\""
				       : ",\"event\":\"write\"");
	if (err == 0)
		err = put_principal(b, rec->who);
	if (err == 0)
		err = put_source(b, rec);
	if (err == 0)
		err = putf(b, ",\"transport\":\"%s\"",
			   transport_name(rec->transport));
	if (err == 0 && rec->op != NULL) {
		err = puts_(b, ",\"op\":");
		if (err == 0)
			err = put_str(b, rec->op);
	}
	if (err == 0 && rec->action != NULL)
		err = putf(b, ",\"action\":\"%s\"", rec->action);
	if (err == 0 && rec->id.p != NULL)
		err = put_id(b, rec->id);
	if (err == 0 && rec->has_indexes)
		err = put_indexes(b, rec->indexes, rec->nindexes);
	if (err == 0 && rec->has_counts)
		err = putf(b, ",\"records\":%u,\"created\":%u", rec->records,
			   rec->created);
	if (err == 0)
		err = putf(b, ",\"rc\":%u", rec->rc);
	if (err == 0 && rec->error != NULL && rec->error[0]) {
		err = puts_(b, ",\"error\":");
		if (err == 0)
			err = put_str(b, rec->error);
	}
	if (err == 0 && rec->claimed.p != NULL)
		err = put_admin(b, "claimed", "claimed_hex", rec->claimed_index,
				rec->claimed);
	if (err == 0 && rec->claimed_user != NULL) {
		err = puts_(b, ",\"claimed_user\":");
		if (err == 0)
			err = put_str(b, rec->claimed_user);
	}
	if (err == 0 && rec->method != NULL) {
		err = puts_(b, ",\"method\":");
		if (err == 0)
			err = put_str(b, rec->method);
	}
	return err ? err : put(b, "}\n", 2);
}

void audit_buf_free(audit_buf_t *b)
{
	free(b->buf);
	*b = (audit_buf_t){NULL, 0, 0, false};
}

/* ---- what each write op names ---- */

bool audit_desc_values(const idn_msg_t *req, idn_arena_t *ar, audit_rec_t *rec)
{
	idn_values_body_t b;
	if (idn_values_body_decode(req->rest, ar, &b) != 0)
		return true;
	rec->id = b.id;
	uint32_t *ix =
		b.nvalues ? idn_arena_array(ar, b.nvalues, sizeof(*ix)) : NULL;
	if (b.nvalues && ix == NULL)
		return true;
	for (uint32_t i = 0; i < b.nvalues; i++)
		ix[i] = b.values[i].index;
	rec->indexes = ix;
	rec->nindexes = b.nvalues;
	rec->has_indexes = true;
	return true;
}

bool audit_desc_remove(const idn_msg_t *req, idn_arena_t *ar, audit_rec_t *rec)
{
	idn_remove_req_t b;
	if (idn_remove_req_decode(req->rest, ar, &b) != 0)
		return true;
	rec->id = b.id;
	rec->indexes = b.indexes;
	rec->nindexes = b.nindexes;
	rec->has_indexes = true;
	return true;
}

bool audit_desc_id(const idn_msg_t *req, idn_arena_t *ar, audit_rec_t *rec)
{
	(void)ar;
	idn_bytes_t id;
	if (idn_id_body_decode(req->rest, &id) == 0)
		rec->id = id;
	return true;
}

bool audit_desc_bulk(const idn_msg_t *req, idn_arena_t *ar, audit_rec_t *rec)
{
	(void)ar;
	idn_rd_t rd;
	idn_rd_init(&rd, req->rest.p, req->rest.len);
	uint32_t n = idn_rd_u32(&rd);
	rec->has_counts = true;
	rec->records = rd.err ? 0 : n;
	return true;
}

bool audit_desc_index(const idn_msg_t *req, idn_arena_t *ar, audit_rec_t *rec)
{
	(void)ar;
	idn_rd_t rd;
	idn_rd_init(&rd, req->rest.p, req->rest.len);
	uint32_t action = idn_rd_u32(&rd);
	idn_bytes_t type = idn_rd_str(&rd, IDN_TYPE_MAX);
	if (rd.err)
		return true;
	if (action == IDN_INDEX_LIST)
		return false;
	rec->action = action == IDN_INDEX_ADD ? "add" : "remove";
	/* the empty type stands for the creation time */
	rec->id = type.p != NULL ? type : idn_bytes_str("");
	return true;
}

/* ---- the file ---- */

/* Writes every byte under a->mu; returns 0 or -errno. */
static int write_locked(audit_t *a, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(a->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int audit_append(audit_t *a, const char *lines, size_t len)
{
	pthread_mutex_lock(&a->mu);
	int err = write_locked(a, lines, len);
	atomic_store(&a->ok, err == 0);
	if (err) {
		a->lost++;
		time_t now = time(NULL);
		if (now - a->err_logged >= ERR_LOG_INTERVAL) {
			log_error("audit log %s: cannot write a line: %s (%llu "
				  "lines lost since the last such message)%s",
				  a->path, strerror(-err),
				  (unsigned long long)a->lost,
				  a->required ? "; writes are refused" : "");
			a->err_logged = now;
			a->lost = 0;
		}
	}
	pthread_mutex_unlock(&a->mu);
	return err;
}

/* The line that starts each file: when auditing (re)started, by whom. */
static int write_open_line(audit_t *a, const char *reason)
{
	audit_buf_t b = {0};
	struct timespec zero = {0, 0};
	int err = put_time(&b, &zero);
	if (err == 0)
		err = putf(
			&b,
			",\"event\":\"open\",\"reason\":\"%s\",\"pid\":%ld}\n",
			reason, (long)getpid());
	err = err ? err : audit_append(a, b.buf, b.len);
	audit_buf_free(&b);
	return err;
}

static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return fd < 0 ? -errno : fd;
}

int audit_open(const char *path, bool required, audit_t **out)
{
	*out = NULL;
	audit_t *a = calloc(1, sizeof(*a));
	if (a == NULL || (a->path = strdup(path)) == NULL) {
		free(a);
		return -ENOMEM;
	}
	a->required = required;
	a->fd = open_file(path);
	if (a->fd < 0) {
		int err = a->fd;
		log_error("cannot open the audit log %s: %s", path,
			  strerror(-err));
		free(a->path);
		free(a);
		return err;
	}
	if (RAND_bytes(a->sipkey, sizeof(a->sipkey)) != 1)
		memset(a->sipkey, 0x5a, sizeof(a->sipkey));
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->rl_mu, NULL);
	atomic_init(&a->ok, true);
	write_open_line(a, "start");
	log_info("audit log %s%s", path,
		 required ? " (required: writes are refused while it cannot "
			    "be written)"
			  : "");
	*out = a;
	return 0;
}

int audit_reopen(audit_t *a)
{
	if (a == NULL)
		return 0;
	int fd = open_file(a->path);
	if (fd < 0) {
		log_error("cannot reopen the audit log %s: %s (still writing "
			  "to the file it had open)",
			  a->path, strerror(-fd));
		return fd;
	}
	pthread_mutex_lock(&a->mu);
	int old = a->fd;
	a->fd = fd;
	pthread_mutex_unlock(&a->mu);
	close(old);
	write_open_line(a, "reopen");
	log_info("audit log %s reopened", a->path);
	return 0;
}

bool audit_gate(audit_t *a)
{
	return a == NULL || !a->required || atomic_load(&a->ok);
}

/* ---- the rate limit on unproven callers ---- */

static void netkey(const struct sockaddr_storage *ss, uint8_t key[17])
{
	memset(key, 0, 17);
	if (ss == NULL)
		return;
	key[0] = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const void *)ss;
		memcpy(key + 1, &v4->sin_addr, 3);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const void *)ss;
		memcpy(key + 1, &v6->sin6_addr, 7);
	}
}

/* "192.0.2.0/24", "2001:db8:0:100::/56" */
static void net_text(const uint8_t key[17], char out[64])
{
	char a[INET6_ADDRSTRLEN];
	if (key[0] == AF_INET) {
		uint8_t ip[4] = {key[1], key[2], key[3], 0};
		inet_ntop(AF_INET, ip, a, sizeof(a));
		snprintf(out, 64, "%s/24", a);
	} else if (key[0] == AF_INET6) {
		uint8_t ip[16] = {0};
		memcpy(ip, key + 1, 7);
		inet_ntop(AF_INET6, ip, a, sizeof(a));
		snprintf(out, 64, "%s/56", a);
	} else {
		snprintf(out, 64, "unknown");
	}
}

static int64_t mono_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static int put_summary(audit_buf_t *b, const rl_slot_t *s)
{
	char net[64];
	net_text(s->key, net);
	struct timespec zero = {0, 0};
	int err = put_time(b, &zero);
	return err ? err
		   : putf(b,
			  ",\"event\":\"suppressed\",\"source\":\"%s\","
			  "\"count\":%llu,\"limit\":%d}\n",
			  net, (unsigned long long)s->suppressed,
			  AUDIT_SOURCE_RATE);
}

/* Whether a line from peer may be written now; summaries of networks
 * whose window has ended are appended to b first. */
static bool rl_admit(audit_t *a, const struct sockaddr_storage *peer,
		     audit_buf_t *b)
{
	uint8_t key[17];
	netkey(peer, key);
	int64_t now = mono_sec();
	pthread_mutex_lock(&a->rl_mu);
	/* a network that went quiet is summarised by the next line of any
	 * unproven caller: the table is small */
	for (int i = 0; i < RL_SLOTS; i++) {
		rl_slot_t *s = &a->slots[i];
		if (s->used && s->suppressed > 0 && s->sec != now) {
			put_summary(b, s);
			s->suppressed = 0;
		}
	}
	rl_slot_t *s = &a->slots[idn_siphash(a->sipkey, key, sizeof(key)) &
				 (RL_SLOTS - 1)];
	if (!s->used || memcmp(s->key, key, sizeof(key)) != 0) {
		if (s->used && s->suppressed > 0)
			put_summary(b, s); /* taken over by another network */
		memcpy(s->key, key, sizeof(key));
		s->used = true;
		s->sec = now;
		s->count = 0;
		s->suppressed = 0;
	}
	if (s->sec != now) {
		s->sec = now;
		s->count = 0;
	}
	bool ok = s->count < AUDIT_SOURCE_RATE;
	if (ok)
		s->count++;
	else
		s->suppressed++;
	pthread_mutex_unlock(&a->rl_mu);
	return ok;
}

int audit_write(audit_t *a, const audit_rec_t *rec)
{
	if (a == NULL)
		return 0;
	audit_buf_t b = {0};
	bool unproven =
		rec->who == NULL || rec->who->kind == PRINCIPAL_ANONYMOUS;
	bool admit = !unproven || rl_admit(a, rec->peer, &b);
	int err = admit ? audit_format(rec, &b) : 0;
	if (b.failed)
		err = -ENOMEM;
	if (err == 0 && b.len > 0)
		err = audit_append(a, b.buf, b.len);
	else if (err)
		atomic_store(&a->ok, false);
	audit_buf_free(&b);
	return err;
}

void audit_close(audit_t *a)
{
	if (a == NULL)
		return;
	audit_buf_t b = {0};
	pthread_mutex_lock(&a->rl_mu);
	for (int i = 0; i < RL_SLOTS; i++)
		if (a->slots[i].used && a->slots[i].suppressed > 0)
			put_summary(&b, &a->slots[i]);
	pthread_mutex_unlock(&a->rl_mu);
	if (b.len > 0)
		audit_append(a, b.buf, b.len);
	audit_buf_free(&b);
	close(a->fd);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->rl_mu);
	free(a->path);
	free(a);
}
