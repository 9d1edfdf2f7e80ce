/* The audit log (docs/audit.md) against a real daemon: a line for every
 * write attempt, accepted or refused, on UDP and TCP (challenge-answering
 * admins), HTTP (the admin token) and the control socket, naming the
 * principal, source, transport, op, identifier and response code; a line
 * for each failed authentication, rate-limited per source network with a
 * summary of what was left out; the file reopened on SIGHUP; and
 * --audit-required refusing writes it cannot record. The store's change
 * log (idctl changes) holds exactly the accepted writes, naming the same
 * principal. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "harness.h"
#include "msg.h"

#define TOKEN "audit-admin-token-0123456789abcdef"
#define ROOT_ADMIN "0.NA/" H_HOME ":300"
#define ROOT_NAME "300:0.NA/" H_HOME
#define LIMITED_ADMIN H_HOME "/limited:300"
#define LIMITED_NAME "300:" H_HOME "/limited"

static node_t *node;
static uint16_t hport;
static char audit_path[160], root_key[160], limited_key[160], addr[64];

static void write_secret(const char *path, const char *text)
{
	h_write_file(path, text);
	assert_int_equal(chmod(path, 0600), 0);
}

static int setup(void **state)
{
	(void)state;
	/* the rate-limit test sends 100 answers at once from one address:
	 * response-rate limiting (on by default) would drop replies it
	 * counts, and it tests the audit log's own limit */
	node = node_new("--home", H_HOME, "--rrl-rate", "0", NULL);
	char tok[160], port[32];
	snprintf(tok, sizeof(tok), "%s/admin.token", node->dir);
	write_secret(tok, TOKEN "\n");
	snprintf(audit_path, sizeof(audit_path), "%s/audit.jsonl", node->dir);
	snprintf(root_key, sizeof(root_key), "%s/root.pem", node->dir);
	snprintf(limited_key, sizeof(limited_key), "%s/limited.pem", node->dir);
	hport = h_free_port();
	snprintf(port, sizeof(port), "127.0.0.1:%u", hport);
	node_add_args(node, "--http", port, "--http-admin-token-file", tok,
		      "--audit-log", audit_path, NULL);
	node_start(node);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", node->port);
	char *root = h_keygen(root_key, NULL, NULL);
	char *limited = h_keygen(limited_key, NULL, NULL);
	char v[4096];
	/* the prefix's own key may do anything; the limited admin may only
	 * add identifiers (rights 0x1) */
	snprintf(v, sizeof(v), "300,perms=e:HS_PUBKEY=hex:%s", root);
	h_ctl_ok(node, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300",
		 "101:HS_ADMIN=" H_HOME "/limited@300#1", v, NULL);
	snprintf(v, sizeof(v), "300,perms=e:HS_PUBKEY=hex:%s", limited);
	h_ctl_ok(node, "create", H_HOME "/limited", v, NULL);
	free(root);
	free(limited);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* a clean exit: under the sanitizers, nothing reported */
	node_stop(node);
	node_free(node);
	return 0;
}

/* ---- reading the log ---- */

/* Every line of path parsed (a JSON array; the test fails on a line that
 * is not a JSON object). */
static json_t *read_lines(const char *path)
{
	size_t len = 0;
	uint8_t *text = h_read_file(path, &len);
	json_t *all = json_array();
	if (text == NULL)
		return all;
	char *s = (char *)text, *end = s + len;
	while (s < end) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		assert_non_null(nl); /* every line ends */
		json_error_t e;
		json_t *j = json_loadb(s, (size_t)(nl - s), 0, &e);
		if (j == NULL || !json_is_object(j))
			fail_msg("not a JSON line: %.*s (%s)", (int)(nl - s), s,
				 e.text);
		json_array_append_new(all, j);
		s = nl + 1;
	}
	free(text);
	return all;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The last line whose event is event and whose id is id (NULL: any),
 * borrowed from lines. */
static json_t *last_line(json_t *lines, const char *event, const char *id)
{
	json_t *found = NULL;
	size_t i;
	json_t *j;
	json_array_foreach(lines, i, j)
	{
		const char *e = str(j, "event"), *jid = str(j, "id");
		if (e && strcmp(e, event) == 0 &&
		    (id == NULL || (jid && strcmp(jid, id) == 0)))
			found = j;
	}
	return found;
}

static int count_lines(json_t *lines, const char *event, const char *id)
{
	int n = 0;
	size_t i;
	json_t *j;
	json_array_foreach(lines, i, j)
	{
		const char *e = str(j, "event"), *jid = str(j, "id");
		if (e && strcmp(e, event) == 0 &&
		    (id == NULL || (jid && strcmp(jid, id) == 0)))
			n++;
	}
	return n;
}

/* Asserts the fields every write line has. kind/name: the principal
 * ("admin" with its INDEX:ID, "http" with its user, "operator"). */
static void assert_write(json_t *l, const char *kind, const char *name,
			 const char *transport, const char *op, long rc)
{
	if (l == NULL)
		fail_msg("no audit line");
	char *dump = json_dumps(l, 0);
	print_message("audit: %s\n", dump);
	free(dump);
	json_t *p = json_object_get(l, "principal");
	assert_string_equal(str(p, "kind"), kind);
	if (strcmp(kind, "admin") == 0)
		assert_string_equal(str(p, "admin"), name);
	if (strcmp(kind, "http") == 0)
		assert_string_equal(str(p, "user"), name);
	assert_string_equal(str(l, "transport"), transport);
	assert_string_equal(str(l, "op"), op);
	assert_int_equal(json_integer_value(json_object_get(l, "rc")), rc);
	const char *src = str(l, "source");
	assert_non_null(src);
	if (strcmp(transport, "control") == 0)
		assert_string_equal(src, "control");
	else
		assert_true(strncmp(src, "127.0.0.1:", 10) == 0 &&
			    atoi(src + 10) > 0);
	/* 2026-12-07T09:48:00.123Z */
	const char *t = str(l, "time");
	assert_non_null(t);
	assert_int_equal(strlen(t), 24);
	assert_int_equal(t[10], 'T');
	assert_int_equal(t[19], '.');
	assert_int_equal(t[23], 'Z');
	if (rc == 1)
		assert_null(json_object_get(l, "error"));
	else
		assert_non_null(str(l, "error"));
}

static void assert_indexes(json_t *l, const long *want, size_t n)
{
	json_t *ix = json_object_get(l, "indexes");
	assert_true(json_is_array(ix));
	assert_int_equal(json_array_size(ix), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_integer_value(json_array_get(ix, i)),
				 want[i]);
}

/* ---- clients ---- */

/* idctl -s ADDR [--tcp] --auth ADMIN --key KEY ARGS...; the exit status */
static int net_write(bool tcp, const char *admin, const char *key,
		     const char *a1, const char *a2, const char *a3,
		     const char *a4)
{
	h_run_t r;
	const char *argv[16];
	int n = 0;
	argv[n++] = h_bin("idctl");
	argv[n++] = "-s";
	argv[n++] = addr;
	if (tcp)
		argv[n++] = "--tcp";
	argv[n++] = "--auth";
	argv[n++] = admin;
	argv[n++] = "--key";
	argv[n++] = key;
	const char *rest[] = {a1, a2, a3, a4};
	for (int i = 0; i < 4 && rest[i] != NULL; i++)
		argv[n++] = rest[i];
	argv[n] = NULL;
	int st = h_run(&r, H_RUN_TIMEOUT_MS, argv);
	if (st != 0)
		print_message("idctl: %s%s", r.out, r.err);
	h_run_free(&r);
	return st;
}

static uint32_t udp_create(const char *admin, const char *key, const char *id)
{
	uint8_t frame[2048];
	size_t len = h_create_url_frame(frame, sizeof(frame), 500, id,
					"https://udp.example");
	return h_udp_admin(node, frame, len, 500, admin, 300, key);
}

static uint32_t udp_delete(const char *admin, const char *key, const char *id)
{
	uint8_t body[512], frame[1024];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_id_body_encode(&w, idn_bytes_str(id));
	h_req_t q = h_req(IDN_OC_DELETE, 600);
	size_t len = h_frame(frame, sizeof(frame), &q, body, w.len);
	return h_udp_admin(node, frame, len, 600, admin, 300, key);
}

/* The body of the last HTTP response. */
static char last_body[8192];

/* One HTTP request on its own connection; returns the status. */
static int http(const char *method, const char *path, const char *hdrs,
		const char *body)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(hport)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char head[4096];
	size_t blen = body ? strlen(body) : 0;
	int n = snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
			 "close\r\nContent-Length: %zu\r\n%s\r\n",
			 method, path, blen, hdrs ? hdrs : "");
	assert_int_equal(h_write_all(fd, head, (size_t)n), 0);
	if (blen)
		assert_int_equal(h_write_all(fd, body, blen), 0);
	char buf[8192];
	size_t len = 0;
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, H_IO_TIMEOUT_MS) <= 0)
			break;
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = 0;
	close(fd);
	const char *body_at = strstr(buf, "\r\n\r\n");
	snprintf(last_body, sizeof(last_body), "%s",
		 body_at ? body_at + 4 : "");
	int status = 0;
	sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

static const char url_rec[] =
	"{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":{\"format\":"
	"\"string\",\"value\":\"https://example.com/h\"}}]}";

/* ---- tests ---- */

static void udp_admin_writes(void **state)
{
	(void)state;
	assert_int_equal(udp_create("0.NA/" H_HOME, root_key, H_HOME "/udp-1"),
			 IDN_RC_SUCCESS);
	/* the limited admin may not delete: refused after its answer */
	assert_int_equal(
		udp_delete(H_HOME "/limited", limited_key, H_HOME "/udp-1"),
		IDN_RC_INSUFFICIENT_PERMS);
	json_t *lines = read_lines(audit_path);
	assert_int_equal(count_lines(lines, "write", H_HOME "/udp-1"), 2);
	json_t *ok = json_array_get(lines, json_array_size(lines) - 2);
	assert_write(ok, "admin", ROOT_NAME, "udp", "create", 1);
	assert_string_equal(str(ok, "id"), H_HOME "/udp-1");
	const long one[] = {1};
	assert_indexes(ok, one, 1);
	json_t *no = last_line(lines, "write", H_HOME "/udp-1");
	assert_write(no, "admin", LIMITED_NAME, "udp", "delete", 401);
	json_decref(lines);
	/* the challenges themselves (rc 402) are not lines */
	h_ctl_ok(node, "resolve", H_HOME "/udp-1", NULL);
}

static void tcp_admin_writes(void **state)
{
	(void)state;
	assert_int_equal(net_write(true, ROOT_ADMIN, root_key, "create",
				   H_HOME "/tcp-1", "1:URL=https://t",
				   "100:HS_ADMIN=0.NA/" H_HOME "@300"),
			 0);
	assert_int_equal(net_write(true, ROOT_ADMIN, root_key, "add",
				   H_HOME "/tcp-1", "2:EMAIL=a@example.com",
				   NULL),
			 0);
	/* creating over an existing record without overwrite: refused */
	assert_int_not_equal(net_write(true, ROOT_ADMIN, root_key, "create",
				       H_HOME "/tcp-1", "1:URL=https://again",
				       NULL),
			     0);
	json_t *lines = read_lines(audit_path);
	assert_int_equal(count_lines(lines, "write", H_HOME "/tcp-1"), 3);
	size_t n = json_array_size(lines);
	json_t *made = json_array_get(lines, n - 3);
	assert_write(made, "admin", ROOT_NAME, "tcp", "create", 1);
	const long both[] = {1, 100};
	assert_indexes(made, both, 2);
	json_t *add = json_array_get(lines, n - 2);
	assert_write(add, "admin", ROOT_NAME, "tcp", "add value", 1);
	const long two[] = {2};
	assert_indexes(add, two, 1);
	json_t *dup = json_array_get(lines, n - 1);
	assert_write(dup, "admin", ROOT_NAME, "tcp", "create", 101);
	json_decref(lines);
}

static void http_token_writes(void **state)
{
	(void)state;
	assert_int_equal(http("PUT", "/api/handles/" H_HOME "/http-1",
			      "Authorization: Bearer " TOKEN
			      "\r\nContent-Type: application/json\r\n",
			      url_rec),
			 201);
	/* the identifier belongs to a prefix not homed here: refused (400,
	 * as the HANDLE.NET manual has it), and audited */
	assert_int_equal(http("PUT", "/api/handles/99.1/http-2",
			      "Authorization: Bearer " TOKEN
			      "\r\nContent-Type: application/json\r\n",
			      url_rec),
			 400);
	json_t *lines = read_lines(audit_path);
	json_t *ok = last_line(lines, "write", H_HOME "/http-1");
	assert_write(ok, "http", "admin-token", "http", "create", 1);
	json_t *no = last_line(lines, "write", "99.1/http-2");
	assert_write(no, "http", "admin-token", "http", "create", 301);
	json_decref(lines);
	assert_int_equal(http("DELETE", "/api/handles/" H_HOME "/http-1",
			      "Authorization: Bearer " TOKEN "\r\n", NULL),
			 200);
	lines = read_lines(audit_path);
	assert_write(last_line(lines, "write", H_HOME "/http-1"), "http",
		     "admin-token", "http", "delete", 1);
	json_decref(lines);
	/* the holder of a login token is the user admin */
	assert_int_equal(http("POST", "/identity/token",
			      "Content-Type: application/json\r\n",
			      "{\"username\":\"admin\",\"password\":\"" TOKEN
			      "\"}"),
			 200);
	json_t *login = json_loads(last_body, 0, NULL);
	const char *t = str(json_object_get(login, "data"), "token");
	assert_non_null(t);
	char hdr[256];
	snprintf(hdr, sizeof(hdr),
		 "Authorization: Bearer %s\r\nContent-Type: "
		 "application/json\r\n",
		 t);
	json_decref(login);
	assert_int_equal(
		http("PUT", "/api/handles/" H_HOME "/http-3", hdr, url_rec),
		201);
	lines = read_lines(audit_path);
	assert_write(last_line(lines, "write", H_HOME "/http-3"), "http",
		     "admin", "http", "create", 1);
	json_decref(lines);
	/* template writes are the record writes that store them */
	const char *pump =
		"{\"prefix\":\"" H_HOME "\",\"name\":\"pump\",\"version\":1,"
		"\"industry\":\"C\",\"items\":[{\"name\":\"FLOW\","
		"\"index\":2001,\"type\":\"number\",\"required\":true}]}";
	assert_int_equal(http("POST", "/snms/api/v5/template",
			      "Authorization: Bearer " TOKEN
			      "\r\nContent-Type: application/json\r\n",
			      pump),
			 201);
	assert_int_equal(http("POST",
			      "/snms/api/v5/template/publish?prefix=" H_HOME
			      "&name=pump&version=1",
			      "Authorization: Bearer " TOKEN "\r\n", NULL),
			 200);
	lines = read_lines(audit_path);
	json_t *pub = last_line(lines, "write", NULL);
	assert_write(pub, "http", "admin-token", "http", "modify value", 1);
	assert_non_null(strstr(str(pub, "id"), "pump"));
	const long v1[] = {1};
	assert_indexes(pub, v1, 1);
	json_decref(lines);
}

static void control_writes(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/ctl-1", "1:URL=https://c",
		 "7:EMAIL=b@example.com", NULL);
	h_run_t r;
	h_ctl(&r, node, "remove", H_HOME "/ctl-1", "9", NULL);
	assert_int_not_equal(r.status, 0);
	h_run_free(&r);
	json_t *lines = read_lines(audit_path);
	size_t n = json_array_size(lines);
	json_t *ok = json_array_get(lines, n - 2);
	assert_write(ok, "operator", NULL, "control", "create", 1);
	assert_string_equal(str(ok, "id"), H_HOME "/ctl-1");
	const long ix[] = {1, 7};
	assert_indexes(ok, ix, 2);
	json_t *no = json_array_get(lines, n - 1);
	assert_write(no, "operator", NULL, "control", "remove value", 200);
	const long nine[] = {9};
	assert_indexes(no, nine, 1);
	/* reads are never audited */
	h_ctl_ok(node, "resolve", H_HOME "/ctl-1", NULL);
	json_t *after = read_lines(audit_path);
	assert_int_equal(json_array_size(after), n);
	json_decref(after);
	json_decref(lines);
}

/* idctl import: one line per batch with its counts, not one per record;
 * declaring and dropping a search index type are writes, listing is not */
static void bulk_and_index_writes(void **state)
{
	(void)state;
	char path[200];
	snprintf(path, sizeof(path), "%s/bulk.jsonl", node->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 5; i++) {
		char id[64];
		if (i < 4)
			snprintf(id, sizeof(id), H_HOME "/bulk-%d", i);
		else
			snprintf(id, sizeof(id), H_HOME "/ctl-1");
		fprintf(f,
			"{\"handle\":\"%s\",\"values\":[{\"index\":1,"
			"\"type\":\"URL\",\"data\":{\"format\":\"string\","
			"\"value\":\"https://b/%d\"}}]}\n",
			id, i);
	}
	fclose(f);
	/* the fifth record already exists (ctl-1): skipped */
	h_ctl_ok(node, "import", path, "--batch", "100", NULL);
	json_t *lines = read_lines(audit_path);
	json_t *b = last_line(lines, "write", NULL);
	assert_write(b, "operator", NULL, "control", "bulk create", 1);
	assert_null(json_object_get(b, "id"));
	assert_int_equal(json_integer_value(json_object_get(b, "records")), 5);
	assert_int_equal(json_integer_value(json_object_get(b, "created")), 4);
	json_decref(lines);

	/* small batches sent ahead are committed in groups: still one line
	 * per batch, written once its group committed */
	size_t before = json_array_size(lines = read_lines(audit_path));
	json_decref(lines);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 40; i++)
		fprintf(f,
			"{\"handle\":\"%s/group-%d\",\"values\":[{\"index\":"
			"1,\"type\":\"URL\",\"data\":{\"format\":\"string\","
			"\"value\":\"https://g/%d\"}}]}\n",
			H_HOME, i, i);
	fclose(f);
	h_ctl_ok(node, "import", path, "--batch", "2", "--pipeline", "8", NULL);
	lines = read_lines(audit_path);
	long records = 0, created = 0;
	for (size_t i = before; i < json_array_size(lines); i++) {
		json_t *l = json_array_get(lines, i);
		assert_string_equal(str(l, "op"), "bulk create");
		records += json_integer_value(json_object_get(l, "records"));
		created += json_integer_value(json_object_get(l, "created"));
	}
	assert_int_equal(json_array_size(lines) - before, 20);
	assert_int_equal(records, 40);
	assert_int_equal(created, 40);
	json_decref(lines);

	h_ctl_ok(node, "index", "add", "EMAIL", NULL);
	h_ctl_ok(node, "index", "list", NULL);
	h_ctl_ok(node, "index", "remove", "EMAIL", NULL);
	lines = read_lines(audit_path);
	size_t n = json_array_size(lines);
	json_t *add = json_array_get(lines, n - 2);
	json_t *rm = json_array_get(lines, n - 1);
	assert_write(add, "operator", NULL, "control", "index", 1);
	assert_string_equal(str(add, "action"), "add");
	assert_string_equal(str(add, "id"), "EMAIL");
	assert_write(rm, "operator", NULL, "control", "index", 1);
	assert_string_equal(str(rm, "action"), "remove");
	json_decref(lines);
}

static void failed_authentication(void **state)
{
	(void)state;
	/* the limited admin's identity with the root key: the signature does
	 * not verify */
	assert_int_equal(
		udp_create(H_HOME "/limited", root_key, H_HOME "/auth-1"),
		IDN_RC_AUTH_FAILED);
	json_t *lines = read_lines(audit_path);
	json_t *l = last_line(lines, "auth failure", NULL);
	assert_non_null(l);
	char *dump = json_dumps(l, 0);
	print_message("audit: %s\n", dump);
	free(dump);
	assert_string_equal(str(json_object_get(l, "principal"), "kind"),
			    "anonymous");
	assert_string_equal(str(l, "claimed"), LIMITED_NAME);
	assert_string_equal(str(l, "method"), "challenge answer");
	assert_string_equal(str(l, "op"), "create");
	assert_string_equal(str(l, "id"), H_HOME "/auth-1");
	assert_string_equal(str(l, "transport"), "udp");
	assert_true(strncmp(str(l, "source"), "127.0.0.1:", 10) == 0);
	assert_true(json_integer_value(json_object_get(l, "rc")) >= 400);
	assert_non_null(str(l, "error"));
	/* the refused write was not applied */
	assert_int_equal(count_lines(lines, "write", H_HOME "/auth-1"), 0);
	json_decref(lines);
	/* a bad bearer token over HTTP */
	http("PUT", "/api/handles/" H_HOME "/auth-2",
	     "Authorization: Bearer not-the-token\r\nContent-Type: "
	     "application/json\r\n",
	     url_rec);
	/* a wrong password at the login */
	assert_int_equal(http("POST", "/identity/token",
			      "Content-Type: application/json\r\n",
			      "{\"username\":\"admin\",\"password\":\"no\"}"),
			 401);
	lines = read_lines(audit_path);
	size_t n = json_array_size(lines);
	json_t *tok = json_array_get(lines, n - 2);
	json_t *login = json_array_get(lines, n - 1);
	assert_string_equal(str(tok, "event"), "auth failure");
	assert_string_equal(str(tok, "method"), "bearer token");
	assert_string_equal(str(tok, "transport"), "http");
	assert_string_equal(str(login, "event"), "auth failure");
	assert_string_equal(str(login, "method"), "login");
	assert_string_equal(str(login, "claimed_user"), "admin");
	assert_true(strncmp(str(login, "source"), "127.0.0.1:", 10) == 0);
	json_decref(lines);
}

/* 100 answers to challenges that do not exist, as fast as they go: at
 * most AUDIT_SOURCE_RATE lines a second from 127.0.0.0/24, and a summary
 * counting the rest. */
static void auth_failures_rate_limited(void **state)
{
	(void)state;
	size_t before = 0;
	json_t *lines = read_lines(audit_path);
	before = json_array_size(lines);
	json_decref(lines);
	int fd = h_udp_open(node);
	uint8_t frame[1024];
	uint8_t sig[8] = {0};
	for (uint32_t i = 0; i < 100; i++) {
		size_t len = h_answer_frame(frame, sizeof(frame), 7000 + i,
					    0x40000000u + i, "HS_PUBKEY",
					    "0.NA/" H_HOME, 300,
					    idn_bytes(sig, sizeof(sig)));
		h_udp_send_raw(fd, frame, len);
	}
	/* answers are checked on several blocking threads, so the replies
	 * come in any order: take each as it comes */
	bool seen[100] = {false};
	int answered = 0;
	struct pollfd pfd = {fd, POLLIN, 0};
	while (answered < 100 && poll(&pfd, 1, 3000) == 1) {
		uint8_t dg[2048];
		ssize_t k = recv(fd, dg, sizeof(dg), 0);
		idn_env_t e;
		idn_msg_t m;
		if (k <= 0 || idn_env_decode(dg, (size_t)k, &e) != 0 ||
		    e.request_id < 7000 || e.request_id >= 7100 ||
		    seen[e.request_id - 7000])
			continue;
		assert_int_equal(idn_msg_decode(dg + IDN_ENV_LEN,
						(size_t)k - IDN_ENV_LEN, &m),
				 0);
		assert_int_equal(m.hdr.rc, IDN_RC_AUTH_TIMEOUT);
		seen[e.request_id - 7000] = true;
		answered++;
	}
	assert_int_equal(answered, 100);
	/* the next second's line from the network brings the summary */
	h_msleep(1100);
	size_t len = h_answer_frame(frame, sizeof(frame), 8000, 0x50000000u,
				    "HS_PUBKEY", "0.NA/" H_HOME, 300,
				    idn_bytes(sig, sizeof(sig)));
	h_reply_t r;
	h_reply_init(&r);
	h_udp_send_raw(fd, frame, len);
	assert_int_equal(h_udp_recv(fd, 8000, &r, 3000), 0);
	h_reply_free(&r);
	close(fd);
	lines = read_lines(audit_path);
	int auth = 0;
	long suppressed = 0;
	int summaries = 0;
	for (size_t i = before; i < json_array_size(lines); i++) {
		json_t *l = json_array_get(lines, i);
		const char *e = str(l, "event");
		if (strcmp(e, "auth failure") == 0) {
			auth++;
		} else if (strcmp(e, "suppressed") == 0) {
			summaries++;
			assert_string_equal(str(l, "source"), "127.0.0.0/24");
			suppressed +=
				json_integer_value(json_object_get(l, "count"));
		}
	}
	print_message("101 failures: %d lines, %d summaries of %ld\n", auth,
		      summaries, suppressed);
	/* the burst may straddle a second: at most two windows' worth, plus
	 * the one after the pause */
	assert_true(auth <= 2 * 10 + 1);
	assert_true(summaries >= 1);
	assert_int_equal(auth + suppressed, 101);
	json_decref(lines);
}

static void reopened_on_sighup(void **state)
{
	(void)state;
	char moved[200];
	snprintf(moved, sizeof(moved), "%s.1", audit_path);
	assert_int_equal(rename(audit_path, moved), 0);
	assert_int_equal(kill(node->pid, SIGHUP), 0);
	struct stat st;
	for (int i = 0; i < 200 && stat(audit_path, &st) != 0; i++)
		h_msleep(10);
	assert_int_equal(stat(audit_path, &st), 0);
	h_ctl_ok(node, "create", H_HOME "/rotated", "1:URL=https://r", NULL);
	json_t *fresh = read_lines(audit_path);
	json_t *old = read_lines(moved);
	assert_string_equal(str(json_array_get(fresh, 0), "event"), "open");
	assert_string_equal(str(json_array_get(fresh, 0), "reason"), "reopen");
	assert_write(last_line(fresh, "write", H_HOME "/rotated"), "operator",
		     NULL, "control", "create", 1);
	assert_null(last_line(old, "write", H_HOME "/rotated"));
	assert_non_null(last_line(old, "write", H_HOME "/ctl-1"));
	json_decref(fresh);
	json_decref(old);
}

/* --audit-required on a log that cannot be written (/dev/full): writes
 * are refused with rc 2 and store nothing; reads go on. Without it, the
 * write is made and the lost line logged. */
static void required_refuses_unwritten(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, "--audit-log", "/dev/full",
			     "--audit-required", NULL);
	node_start(n);
	h_run_t r;
	h_ctl(&r, n, "create", H_HOME "/nope", "1:URL=https://n", NULL);
	assert_int_not_equal(r.status, 0);
	assert_non_null(strstr(r.err, "audit log unavailable"));
	assert_non_null(strstr(r.err, "rc 2"));
	h_run_free(&r);
	h_ctl(&r, n, "resolve", H_HOME "/nope", NULL);
	assert_int_not_equal(r.status, 0);
	h_run_free(&r);
	char *log = node_log(n);
	assert_non_null(strstr(log, "audit log /dev/full: cannot write"));
	free(log);
	node_stop(n);
	node_set_args(n, "--home", H_HOME, "--audit-log", "/dev/full", NULL);
	node_start(n);
	h_ctl_ok(n, "create", H_HOME "/made", "1:URL=https://m", NULL);
	h_ctl_ok(n, "resolve", H_HOME "/made", NULL);
	node_stop(n);
	node_free(n);
}

/* The change log of the node's store as idctl changes --json prints it,
 * for one identifier: a JSON array of its entries. */
static json_t *changes_of(const char *id)
{
	h_run_t r;
	const char *store = h_pg() ? node_store(node) : node->data;
	assert_int_equal(h_idctl(&r, "changes", "--data", store, "--name", id,
				 "--since", "0", "--json", NULL),
			 0);
	json_t *all = json_array();
	for (char *line = strtok(r.out, "\n"); line;
	     line = strtok(NULL, "\n")) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j);
		json_array_append_new(all, j);
	}
	h_run_free(&r);
	return all;
}

/* What the store committed agrees with the audit log: an entry per
 * accepted write of an identifier, none for a refused one, each naming
 * the principal the audit line names. */
static void change_log_agrees(void **state)
{
	(void)state;
	json_t *c = changes_of(H_HOME "/tcp-1");
	/* create and add accepted; the second create refused (rc 101) */
	assert_int_equal(json_array_size(c), 2);
	assert_string_equal(str(json_array_get(c, 0), "op"), "create");
	assert_string_equal(str(json_array_get(c, 1), "op"), "add");
	assert_string_equal(str(json_array_get(c, 0), "actor"),
			    "admin " ROOT_NAME);
	assert_string_equal(str(json_array_get(c, 1), "actor"),
			    "admin " ROOT_NAME);
	json_t *vals = json_object_get(json_array_get(c, 1), "values");
	assert_int_equal(json_array_size(vals), 1);
	assert_string_equal(str(json_array_get(vals, 0), "type"), "EMAIL");
	assert_true(json_integer_value(
			    json_object_get(json_array_get(c, 0), "id")) <
		    json_integer_value(
			    json_object_get(json_array_get(c, 1), "id")));
	json_decref(c);
	/* the same for people: a line per change */
	h_run_t r;
	const char *store = h_pg() ? node_store(node) : node->data;
	assert_int_equal(h_idctl(&r, "changes", "--data", store, "--name",
				 H_HOME "/tcp-1", "--last", "1000", NULL),
			 0);
	assert_non_null(strstr(r.out,
			       " create   " H_HOME "/tcp-1 by admin " ROOT_NAME
			       ": values 1:URL 100:HS_ADMIN\n"));
	assert_non_null(strstr(r.out,
			       " add      " H_HOME "/tcp-1 by admin " ROOT_NAME
			       ": values 2:EMAIL\n"));
	assert_non_null(strstr(r.out, "# 2 shown\n"));
	h_run_free(&r);
	/* created over UDP; the limited admin's delete refused */
	c = changes_of(H_HOME "/udp-1");
	assert_int_equal(json_array_size(c), 1);
	assert_string_equal(str(json_array_get(c, 0), "op"), "create");
	assert_string_equal(str(json_array_get(c, 0), "actor"),
			    "admin " ROOT_NAME);
	json_decref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(udp_admin_writes),
		cmocka_unit_test(tcp_admin_writes),
		cmocka_unit_test(http_token_writes),
		cmocka_unit_test(control_writes),
		cmocka_unit_test(bulk_and_index_writes),
		cmocka_unit_test(failed_authentication),
		cmocka_unit_test(auth_failures_rate_limited),
		cmocka_unit_test(reopened_on_sighup),
		cmocka_unit_test(required_refuses_unwritten),
		cmocka_unit_test(change_log_agrees),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
