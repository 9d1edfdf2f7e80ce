/* Ways around the rights checks, each tried as an attacker would over UDP
 * and TCP with challenge-answering admins, and each refused with the
 * stored data left as it was: a create with the overwrite flag that
 * replaces someone else's record, an add with overwrite that replaces
 * values (an HS_ADMIN among them), a modify that turns an HS_ADMIN into
 * another type, a lower-case "hs_admin" slipping past the rights check,
 * and an HS_VLIST group graph that would take a permission check forever.
 * Over HTTP, a Handle message posted to /hdl is challenged like one over
 * TCP. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "msg.h"

#define ROOT H_HOME "/root"
#define VICTIM H_HOME "/victim"
#define TARGET H_HOME "/target"
#define GROUPED H_HOME "/grouped"
#define NGROUPS 256 /* groups of NGROUPS members: 65 536 in all */

static node_t *node;
static char dir[] = "/tmp/idn-holes.XXXXXX";
static char root_key[300], creator_key[300], val_key[300], addonly_key[300];
static char addr[64];
static uint16_t hport;

static const char *const transports[] = {"udp", "tcp"};

/* idctl -s ADDR [--tcp] [--overwrite] --auth ADMIN:300 --key KEY CMD ID
 * VALUE... (NULL-terminated). */
static int as_admin(h_run_t *r, const char *tr, bool overwrite,
		    const char *admin, const char *key, const char *cmd,
		    const char *id, const char *v1, const char *v2)
{
	const char *argv[24];
	int n = 0;
	argv[n++] = h_bin("idctl");
	argv[n++] = "-s";
	argv[n++] = addr;
	if (!strcmp(tr, "tcp"))
		argv[n++] = "--tcp";
	if (overwrite)
		argv[n++] = "--overwrite";
	argv[n++] = "--auth";
	argv[n++] = admin;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = cmd;
	argv[n++] = id;
	argv[n++] = v1;
	if (v2)
		argv[n++] = v2;
	argv[n] = NULL;
	return h_run(r, H_RUN_TIMEOUT_MS, argv);
}

/* The record as the control socket sees it, as canonical JSON text
 * (caller frees); NULL when it does not exist. */
static char *snapshot(const char *id)
{
	h_run_t r;
	h_ctl(&r, node, "--json", "resolve", id, NULL);
	char *s = NULL;
	if (r.status == 0) {
		json_t *j = h_json(&r);
		s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
		json_decref(j);
	}
	h_run_free(&r);
	return s;
}

/* Runs a request that must be refused with rc want (e.g. "(rc 401)"),
 * then checks that the record id did not change. */
#define assert_refused(id, want, call)                                         \
	do {                                                                   \
		char *before_ = snapshot(id);                                  \
		h_run_t r_;                                                    \
		call;                                                          \
		if (r_.status != 1 || strstr(r_.err, want) == NULL)            \
			print_error("expected refusal %s, got status %d: "     \
				    "%s%s\n",                                  \
				    want, r_.status, r_.out, r_.err);          \
		assert_int_equal(r_.status, 1);                                \
		assert_non_null(strstr(r_.err, want));                         \
		h_run_free(&r_);                                               \
		char *after_ = snapshot(id);                                   \
		assert_non_null(before_);                                      \
		assert_non_null(after_);                                       \
		assert_string_equal(before_, after_);                          \
		free(before_);                                                 \
		free(after_);                                                  \
	} while (0)

/* HS_ADMIN data (perms, admin, index) in hex. */
static void admin_hex(char *out, size_t cap, uint16_t perms, const char *admin,
		      uint32_t index)
{
	int n = snprintf(out, cap, "%04x%08zx", perms, strlen(admin));
	for (const char *p = admin; *p; p++)
		n += snprintf(out + n, cap - (size_t)n, "%02x", *p);
	snprintf(out + n, cap - (size_t)n, "%08x", index);
}

/* "INDEX:HS_VLIST=hex:..." listing every group H_HOME/g<j>@200. */
static char *all_groups_vlist(void)
{
	size_t cap = 64 + NGROUPS * 64;
	char *s = malloc(cap);
	assert_non_null(s);
	int n = snprintf(s, cap, "200:HS_VLIST=hex:%08x", NGROUPS);
	for (int j = 0; j < NGROUPS; j++) {
		char id[64];
		snprintf(id, sizeof(id), H_HOME "/g%d", j);
		n += snprintf(s + n, cap - (size_t)n, "%08zx", strlen(id));
		for (const char *p = id; *p; p++)
			n += snprintf(s + n, cap - (size_t)n, "%02x", *p);
		n += snprintf(s + n, cap - (size_t)n, "%08x", 200);
	}
	return s;
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(root_key, sizeof(root_key), "%s/root.pem", dir);
	snprintf(creator_key, sizeof(creator_key), "%s/creator.pem", dir);
	snprintf(val_key, sizeof(val_key), "%s/val.pem", dir);
	snprintf(addonly_key, sizeof(addonly_key), "%s/addonly.pem", dir);
	hport = h_free_port();
	char hp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", hport);
	/* vlist_walk_is_bounded resolves over UDP from one address as fast as
	 * it can: without --rrl-rate 0 the default rate limit would drop its
	 * queries */
	node = node_new("--home", H_HOME, "--http", hp, "--rrl-rate", "0",
			NULL);
	node_start(node);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", node->port);
	const char *paths[] = {root_key, creator_key, val_key, addonly_key};
	const char *ids[] = {ROOT, H_HOME "/creator", H_HOME "/val",
			     H_HOME "/addonly"};
	for (int i = 0; i < 4; i++) {
		char *hex = h_keygen(paths[i], NULL, NULL);
		char v[4096];
		snprintf(v, sizeof(v), "300,perms=e:HS_PUBKEY=hex:%s", hex);
		h_ctl_ok(node, "create", ids[i], v, NULL);
		free(hex);
	}
	/* the prefix: root holds every right, creator may only create */
	h_ctl_ok(node, "create", "0.NA/" H_HOME, "100:HS_ADMIN=" ROOT "@300",
		 "101:HS_ADMIN=" H_HOME "/creator@300#1", NULL);
	/* someone else's record */
	h_ctl_ok(node, "create", VICTIM, "1:URL=https://victim",
		 "100:HS_ADMIN=" ROOT "@300", NULL);
	/* val may add and modify values, addonly may only add them */
	h_ctl_ok(node, "create", TARGET, "1:URL=https://target",
		 "2:URL=https://two", "100:HS_ADMIN=" ROOT "@300",
		 "101:HS_ADMIN=" H_HOME "/val@300#50",
		 "102:HS_ADMIN=" H_HOME "/addonly@300#40", NULL);
	/* 256 groups, each listing all 256 (itself among them) */
	char *vl = all_groups_vlist();
	for (int j = 0; j < NGROUPS; j++) {
		char id[64];
		snprintf(id, sizeof(id), H_HOME "/g%d", j);
		h_ctl_ok(node, "create", id, vl, NULL);
	}
	free(vl);
	h_ctl_ok(node, "create", GROUPED, "1:URL=https://grouped",
		 "100:HS_ADMIN=" H_HOME "/g0@200", NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(node);
	return h_rmtree(dir) != 0;
}

/* An admin who may only create identifiers under the prefix cannot
 * replace an existing record by creating it with overwrite; it still may
 * create a new one with the flag set. */
static void overwrite_create_needs_delete_rights(void **state)
{
	(void)state;
	for (int t = 0; t < 2; t++) {
		const char *tr = transports[t];
		assert_refused(VICTIM, "(rc 401)",
			       as_admin(&r_, tr, true, H_HOME "/creator:300",
					creator_key, "create", VICTIM,
					"1:URL=https://evil",
					"100:HS_ADMIN=" H_HOME "/creator@300"));
		char fresh[64];
		snprintf(fresh, sizeof(fresh), H_HOME "/fresh-%s", tr);
		h_run_t r;
		as_admin(&r, tr, true, H_HOME "/creator:300", creator_key,
			 "create", fresh, "1:URL=https://fresh", NULL);
		h_assert_status(&r, 0);
		h_run_free(&r);
		char *s = snapshot(fresh);
		assert_non_null(s);
		free(s);
	}
	/* the record's own admin may replace it */
	h_run_t r;
	as_admin(&r, "tcp", true, ROOT ":300", root_key, "create", VICTIM,
		 "1:URL=https://replaced", "100:HS_ADMIN=" ROOT "@300");
	h_assert_status(&r, 0);
	h_run_free(&r);
	char *s = snapshot(VICTIM);
	assert_non_null(strstr(s, "https://replaced"));
	assert_null(strstr(s, "https://victim"));
	free(s);
}

/* Add with overwrite replaces values: that needs modify-value for them,
 * and modify-admin for an HS_ADMIN it replaces. */
static void overwrite_add_needs_modify_rights(void **state)
{
	(void)state;
	for (int t = 0; t < 2; t++) {
		const char *tr = transports[t];
		/* addonly: add-value alone */
		assert_refused(TARGET, "(rc 401)",
			       as_admin(&r_, tr, true, H_HOME "/addonly:300",
					addonly_key, "add", TARGET,
					"1:URL=https://evil", NULL));
		/* val: add and modify value, not modify-admin */
		assert_refused(TARGET, "(rc 401)",
			       as_admin(&r_, tr, true, H_HOME "/val:300",
					val_key, "add", TARGET,
					"100:HS_ADMIN=" H_HOME "/val@300",
					NULL));
		assert_refused(TARGET, "(rc 401)",
			       as_admin(&r_, tr, true, H_HOME "/val:300",
					val_key, "add", TARGET,
					"100:URL=https://evil", NULL));
		/* what each may do still works */
		char v[64];
		snprintf(v, sizeof(v), "%d:URL=https://added-%s", 10 + t, tr);
		h_run_t r;
		as_admin(&r, tr, false, H_HOME "/addonly:300", addonly_key,
			 "add", TARGET, v, NULL);
		h_assert_status(&r, 0);
		h_run_free(&r);
		snprintf(v, sizeof(v), "2:URL=https://two-%s", tr);
		as_admin(&r, tr, true, H_HOME "/val:300", val_key, "add",
			 TARGET, v, NULL);
		h_assert_status(&r, 0);
		h_run_free(&r);
		char *s = snapshot(TARGET);
		assert_non_null(strstr(s, v + 6));
		free(s);
	}
}

/* Modify that changes an HS_ADMIN, or turns it into another type, needs
 * modify-admin (and remove-admin). */
static void modify_of_admin_needs_admin_rights(void **state)
{
	(void)state;
	char vl[256], v[300];
	const char *member = H_HOME "/val";
	int off = snprintf(vl, sizeof(vl), "100:HS_VLIST=hex:00000001%08zx",
			   strlen(member));
	for (const char *p = member; *p; p++)
		off += snprintf(vl + off, sizeof(vl) - (size_t)off, "%02x", *p);
	snprintf(vl + off, sizeof(vl) - (size_t)off, "0000012c");
	for (int t = 0; t < 2; t++) {
		const char *tr = transports[t];
		assert_refused(TARGET, "(rc 401)",
			       as_admin(&r_, tr, false, H_HOME "/val:300",
					val_key, "modify", TARGET,
					"100:URL=https://evil", NULL));
		assert_refused(TARGET, "(rc 401)",
			       as_admin(&r_, tr, false, H_HOME "/val:300",
					val_key, "modify", TARGET, vl, NULL));
		assert_refused(TARGET, "(rc 401)",
			       as_admin(&r_, tr, false, H_HOME "/val:300",
					val_key, "modify", TARGET,
					"100:HS_ADMIN=" H_HOME "/val@300",
					NULL));
		/* lower case is still HS_ADMIN */
		char hex[200];
		admin_hex(hex, sizeof(hex), 0xfff, H_HOME "/val", 300);
		snprintf(v, sizeof(v), "100:hs_admin=hex:%s", hex);
		assert_refused(TARGET, "(rc 401)",
			       as_admin(&r_, tr, false, H_HOME "/val:300",
					val_key, "modify", TARGET, v, NULL));
		snprintf(v, sizeof(v), "20:Hs_Admin=hex:%s", hex);
		assert_refused(TARGET, "(rc 401)",
			       as_admin(&r_, tr, false, H_HOME "/addonly:300",
					addonly_key, "add", TARGET, v, NULL));
	}
}

typedef struct {
	const char *tr;
	h_run_t r;
	double ms;
	volatile int done;
} walk_t;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *walk_main(void *arg)
{
	walk_t *w = arg;
	double t0 = now_ms();
	as_admin(&w->r, w->tr, false, H_HOME "/val:300", val_key, "add",
		 GROUPED, "5:URL=https://walk", NULL);
	w->ms = now_ms() - t0;
	w->done = 1;
	return NULL;
}

/* A check that would walk 65 536 group members (the groups list each
 * other and themselves) is refused at the walk budget, quickly, while
 * other clients' resolutions are answered. */
static void vlist_walk_is_bounded(void **state)
{
	(void)state;
	for (int t = 0; t < 2; t++) {
		walk_t w = {transports[t], {0}, 0, 0};
		char *before = snapshot(GROUPED);
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, walk_main, &w), 0);
		double worst = 0;
		int n = 0;
		uint8_t req[512];
		do {
			size_t len = h_resolve_simple(
				req, sizeof(req), (uint32_t)(900 + n), TARGET);
			h_reply_t rep;
			h_reply_init(&rep);
			double t0 = now_ms();
			h_udp_call(node, req, len, &rep);
			double ms = now_ms() - t0;
			assert_int_equal(h_reply_decode(&rep), 0);
			assert_int_equal(rep.msg.hdr.rc, IDN_RC_SUCCESS);
			h_reply_free(&rep);
			worst = ms > worst ? ms : worst;
			n++;
		} while (!w.done || n < 5);
		pthread_join(th, NULL);
		print_message("[ INFO     ] %s: refused in %.1f ms; %d "
			      "resolutions meanwhile, slowest %.1f ms\n",
			      w.tr, w.ms, n, worst);
		if (w.r.status != 1 ||
		    strstr(w.r.err, "admin group walk exceeds 10000 members") ==
			    NULL)
			print_error("got status %d: %s%s\n", w.r.status,
				    w.r.out, w.r.err);
		assert_int_equal(w.r.status, 1);
		assert_non_null(strstr(w.r.err, "admin group walk exceeds "
						"10000 members"));
		assert_true(w.ms < 2000);
		assert_true(worst < 2000);
		h_run_free(&w.r);
		char *after = snapshot(GROUPED);
		assert_string_equal(before, after);
		free(before);
		free(after);
	}
}

/* Posts a Handle message to /hdl (no token) and returns the response
 * code of the Handle reply in the HTTP body, or 0. */
static uint32_t post_hdl(const uint8_t *frame, size_t len)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(hport)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "POST /hdl HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			 "Connection: close\r\n"
			 "Content-Type: application/x-hdl-message\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 len);
	assert_int_equal(h_write_all(fd, head, (size_t)n), 0);
	assert_int_equal(h_write_all(fd, frame, len), 0);
	static uint8_t buf[IDN_ENV_LEN + IDN_MSG_MAX + 4096];
	size_t got = 0;
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, H_IO_TIMEOUT_MS) <= 0)
			break;
		ssize_t k = read(fd, buf + got, sizeof(buf) - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	const uint8_t *end = memmem(buf, got, "\r\n\r\n", 4);
	assert_non_null(end);
	assert_int_equal(memcmp(buf + 9, "200", 3), 0);
	end += 4;
	size_t blen = got - (size_t)(end - buf);
	idn_msg_t m;
	if (blen < IDN_ENV_LEN ||
	    idn_msg_decode(end + IDN_ENV_LEN, blen - IDN_ENV_LEN, &m) != 0)
		return 0;
	return m.hdr.rc;
}

/* A create with overwrite sent anonymously, over TCP or posted as a
 * Handle message to /hdl (HTTP without a token is anonymous), is
 * challenged, not run. */
static void anonymous_overwrite_is_challenged(void **state)
{
	(void)state;
	uint8_t req[1024];
	size_t len = h_create_url_frame(req, sizeof(req), 77, VICTIM,
					"https://evil");
	/* the overwrite flag (0x00400000) in the header's flags */
	req[IDN_ENV_LEN + 8 + 1] |= 0x40;
	char *before = snapshot(VICTIM);
	h_reply_t rep;
	h_reply_init(&rep);
	h_tcp_call(node, req, len, &rep);
	assert_int_equal(h_reply_decode(&rep), 0);
	assert_int_equal(rep.msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_true(rep.msg.hdr.flags & IDN_OF_OVERWRITE);
	h_reply_free(&rep);
	assert_int_equal(post_hdl(req, len), IDN_RC_AUTH_NEEDED);
	char *after = snapshot(VICTIM);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* One value (index, type, data) written by admin with op and flags as a
 * raw Handle message over UDP, answering the challenge there; the rc. */
static uint32_t udp_value_op(uint32_t op, uint32_t flags, const char *admin,
			     const char *key, const char *id, uint32_t index,
			     const char *type, const char *data)
{
	static uint32_t reqid = 9000;
	uint8_t body[1024], frame[2048];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_value_t v = {index,
			 0,
			 0,
			 86400,
			 IDN_PERM_DEFAULT,
			 idn_bytes_str(type),
			 idn_bytes_str(data),
			 0,
			 NULL};
	idn_values_body_t b = {idn_bytes_str(id), 1, &v};
	idn_values_body_encode(&w, &b);
	assert_int_equal(w.err, 0);
	reqid += 2;
	h_req_t q = h_req(op, reqid);
	q.flags = flags;
	size_t len = h_frame(frame, sizeof(frame), &q, body, w.len);
	return h_udp_admin(node, frame, len, reqid, admin, 300, key);
}

/* The same holes as above, each sent as raw Handle messages over UDP (idctl
 * sends authenticated writes over TCP): the challenge is answered on UDP
 * and the released request is refused with 401, the record unchanged. */
static void holes_over_raw_udp(void **state)
{
	(void)state;
	struct {
		uint32_t op, flags;
		const char *admin, *key, *id;
		uint32_t index;
		const char *type, *data;
	} holes[] = {
		/* replace someone else's record by creating it again */
		{IDN_OC_CREATE, IDN_OF_OVERWRITE, H_HOME "/creator",
		 creator_key, VICTIM, 1, "URL", "https://evil"},
		/* add with overwrite over an existing value: add-value only */
		{IDN_OC_ADD_VALUE, IDN_OF_OVERWRITE, H_HOME "/addonly",
		 addonly_key, TARGET, 1, "URL", "https://evil"},
		/* ... over an HS_ADMIN, by an admin without modify-admin */
		{IDN_OC_ADD_VALUE, IDN_OF_OVERWRITE, H_HOME "/val", val_key,
		 TARGET, 100, "URL", "https://evil"},
		/* turn an HS_ADMIN into a URL */
		{IDN_OC_MODIFY_VALUE, 0, H_HOME "/val", val_key, TARGET, 100,
		 "URL", "https://evil"},
	};
	for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		char *before = snapshot(holes[i].id);
		uint32_t rc = udp_value_op(holes[i].op, holes[i].flags,
					   holes[i].admin, holes[i].key,
					   holes[i].id, holes[i].index,
					   holes[i].type, holes[i].data);
		print_message("udp hole %zu (op %u): rc %u\n", i, holes[i].op,
			      rc);
		assert_int_equal(rc, IDN_RC_INSUFFICIENT_PERMS);
		char *after = snapshot(holes[i].id);
		assert_non_null(before);
		assert_non_null(after);
		assert_string_equal(before, after);
		free(before);
		free(after);
	}
	/* and what the creator may do still works over UDP */
	assert_int_equal(udp_value_op(IDN_OC_CREATE, 0, H_HOME "/creator",
				      creator_key, H_HOME "/fresh-raw-udp", 1,
				      "URL", "https://fresh"),
			 IDN_RC_SUCCESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overwrite_create_needs_delete_rights),
		cmocka_unit_test(overwrite_add_needs_modify_rights),
		cmocka_unit_test(modify_of_admin_needs_admin_rights),
		cmocka_unit_test(vlist_walk_is_bounded),
		cmocka_unit_test(anonymous_overwrite_is_challenged),
		cmocka_unit_test(holes_over_raw_udp),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
