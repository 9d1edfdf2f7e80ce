#include "harness.h"
#include "harness_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "error.h"
#include "hex.h"
#include "wire.h"

/* ---- process-wide setup ---- */

#define MAX_PIDS 64
static pid_t live[MAX_PIDS];

static void track(pid_t pid)
{
	for (int i = 0; i < MAX_PIDS; i++)
		if (live[i] == 0) {
			live[i] = pid;
			return;
		}
}

static void untrack(pid_t pid)
{
	for (int i = 0; i < MAX_PIDS; i++)
		if (live[i] == pid)
			live[i] = 0;
}

static void free_all_nodes(void);
static void pg_drop_all(void);

static void kill_all(void)
{
	free_all_nodes(); /* nodes a failed test left behind: dirs too */
	for (int i = 0; i < MAX_PIDS; i++)
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
	pg_drop_all(); /* after the daemons: nothing holds them any more */
}

static void init(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	signal(SIGPIPE, SIG_IGN);
	atexit(kill_all);
	const char *w = getenv("IDN_E2E_WATCHDOG");
	unsigned secs = w ? (unsigned)strtoul(w, NULL, 10) : 600;
	if (secs)
		alarm(secs); /* default action kills us; children follow */
}

uint32_t h_now(void)
{
	return (uint32_t)time(NULL);
}

long long h__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_msleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

uint64_t h_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* ---- paths ---- */

/* Paths handed out by h_bin and h_src: kept for the life of the process
 * (and freed at exit, so that LeakSanitizer stays quiet). */
#define MAX_PATHS 64
static char *paths[MAX_PATHS];
static int npaths;

static void free_paths(void)
{
	for (int i = 0; i < npaths; i++)
		free(paths[i]);
	npaths = 0;
}

static const char *keep_path(const char *a, const char *b)
{
	char buf[2048];
	snprintf(buf, sizeof(buf), "%s/%s", a, b);
	for (int i = 0; i < npaths; i++)
		if (strcmp(paths[i], buf) == 0)
			return paths[i];
	if (npaths == 0)
		atexit(free_paths);
	assert_true(npaths < MAX_PATHS);
	paths[npaths] = strdup(buf);
	assert_non_null(paths[npaths]);
	return paths[npaths++];
}

const char *h_bin(const char *name)
{
	const char *b = getenv("IDN_BUILD");
	if (b == NULL || *b == 0)
		b = "build";
	return keep_path(b, name);
}

const char *h_src(const char *rel)
{
	static char root[1024];
	if (root[0] == 0) {
		const char *e = getenv("IDN_SRCDIR");
		if (e != NULL && *e) {
			snprintf(root, sizeof(root), "%s", e);
		} else {
			char probe[1100];
			const char *ups[] = {".", "..", "../..", "../../.."};
			for (size_t i = 0; i < 4 && root[0] == 0; i++) {
				snprintf(probe, sizeof(probe),
					 "%s/tests/vectors/INDEX.md", ups[i]);
				if (access(probe, R_OK) == 0)
					snprintf(root, sizeof(root), "%s",
						 ups[i]);
			}
			if (root[0] == 0)
				fail_msg("cannot find the repository "
					 "(tests/vectors); "
					 "run from it or set IDN_SRCDIR");
		}
	}
	return keep_path(root, rel);
}

static const char *tmp_base(void)
{
	const char *e = getenv("IDN_E2E_TMPDIR");
	if (e != NULL && *e)
		return e;
	struct stat st;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK | X_OK) == 0)
		return "/dev/shm";
	e = getenv("TMPDIR");
	return e != NULL && *e ? e : "/tmp";
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* ---- PostgreSQL stores (IDN_E2E_PG) ---- */

/* One database per data directory a node was started on, so that a node
 * restarted on the same directory finds its data again. Created on the
 * node's first start, dropped by node_free of the node whose temporary
 * directory holds the data directory (or at exit). */
#define MAX_DBS 64
typedef struct {
	char key[160];	/* the data directory */
	char name[64];	/* database name */
	char *conninfo; /* what the node gets as --store */
} pg_db_t;
static pg_db_t dbs[MAX_DBS];
static PGconn *pg_admin;
static int pg_seq;

bool h_pg(void)
{
	const char *e = getenv("IDN_E2E_PG");
	return e != NULL && *e != 0;
}

/* "does not exist, skipping" and the like are of no interest. */
static void pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Runs one statement on the admin connection; false with the server's
 * message in err on failure. */
static bool pg_exec(const char *sql, char *err, size_t errlen)
{
	if (pg_admin == NULL) {
		pg_admin = PQconnectdb(getenv("IDN_E2E_PG"));
		if (PQstatus(pg_admin) != CONNECTION_OK) {
			snprintf(err, errlen,
				 "cannot connect to IDN_E2E_PG: %s",
				 PQerrorMessage(pg_admin));
			PQfinish(pg_admin);
			pg_admin = NULL;
			return false;
		}
		PQsetNoticeProcessor(pg_admin, pg_quiet, NULL);
	}
	PGresult *res = PQexec(pg_admin, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		snprintf(err, errlen, "%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* base with its database replaced by name: the path of a URI, or a
 * dbname= appended to a key=value string (the last one wins). */
static char *pg_conninfo_for(const char *base, const char *name)
{
	size_t cap = strlen(base) + strlen(name) + 32;
	char *out = malloc(cap);
	assert_non_null(out);
	const char *sch = strstr(base, "://");
	if (strncmp(base, "postgres", 8) == 0 && sch != NULL) {
		const char *auth = sch + 3;
		size_t alen = strcspn(auth, "/?");
		const char *rest = auth + alen;
		if (*rest == '/')
			rest += strcspn(rest, "?");
		snprintf(out, cap, "%.*s/%s%s", (int)(auth + alen - base), base,
			 name, rest);
	} else {
		snprintf(out, cap, "%s dbname=%s", base, name);
	}
	return out;
}

/* The --store of a node on data directory key: its database, created
 * when first asked for (as a copy of database tmpl unless NULL). Fails the
 * test when the server refuses. */
static const char *pg_store_for(const char *key, const char *tmpl)
{
	int freeslot = -1;
	for (int i = 0; i < MAX_DBS; i++) {
		if (dbs[i].conninfo != NULL && strcmp(dbs[i].key, key) == 0)
			return dbs[i].conninfo;
		if (dbs[i].conninfo == NULL && freeslot < 0)
			freeslot = i;
	}
	if (freeslot < 0)
		fail_msg("more than %d PostgreSQL test databases at once",
			 MAX_DBS);
	pg_db_t *d = &dbs[freeslot];
	assert_true(strlen(key) < sizeof(d->key));
	snprintf(d->key, sizeof(d->key), "%s", key);
	snprintf(d->name, sizeof(d->name), "idn_e2e_%ld_%d", (long)getpid(),
		 ++pg_seq);
	char sql[160], err[1024];
	/* a left-over of an earlier run killed with this pid */
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", d->name);
	if (!pg_exec(sql, err, sizeof(err)))
		fail_msg("%s", err);
	if (tmpl)
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s",
			 d->name, tmpl);
	else
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", d->name);
	/* the backends of a node just stopped may still be leaving the
	 * template ("being accessed by other users") */
	bool made = false;
	for (int i = 0; i < 100 && !made; i++) {
		made = pg_exec(sql, err, sizeof(err));
		if (!made && tmpl)
			h_msleep(50);
		else if (!made)
			break;
	}
	if (!made)
		fail_msg("%s", err);
	d->conninfo = pg_conninfo_for(getenv("IDN_E2E_PG"), d->name);
	return d->conninfo;
}

static void pg_drop(pg_db_t *d)
{
	char sql[160], err[1024];
	/* FORCE: the backends of a node just killed may not have noticed */
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
		 d->name);
	if (!pg_exec(sql, err, sizeof(err)))
		fprintf(stderr, "harness: %s\n", err);
	free(d->conninfo);
	memset(d, 0, sizeof(*d));
}

/* Drops the databases of data directories under dir. */
static void pg_drop_under(const char *dir)
{
	size_t dl = strlen(dir);
	for (int i = 0; i < MAX_DBS; i++)
		if (dbs[i].conninfo != NULL &&
		    strncmp(dbs[i].key, dir, dl) == 0 &&
		    (dbs[i].key[dl] == '/' || dbs[i].key[dl] == 0))
			pg_drop(&dbs[i]);
}

static void pg_drop_all(void)
{
	for (int i = 0; i < MAX_DBS; i++)
		if (dbs[i].conninfo != NULL)
			pg_drop(&dbs[i]);
	if (pg_admin != NULL)
		PQfinish(pg_admin);
	pg_admin = NULL;
}

/* The data directory a node runs on: the last --data among its
 * arguments, else n->data (also for a bare node whose config file names
 * it: the key only has to stay the same across restarts). */
static const char *node_data_dir(const node_t *n)
{
	const char *d = n->data;
	for (int i = 0; i < n->nargs; i++) {
		const char *a = n->args[i];
		if ((!strcmp(a, "--data") || !strcmp(a, "-d")) &&
		    i + 1 < n->nargs)
			d = n->args[++i];
		else if (!strncmp(a, "--data=", 7))
			d = a + 7;
	}
	return d;
}

static bool node_has_store(const node_t *n)
{
	for (int i = 0; i < n->nargs; i++)
		if (!strcmp(n->args[i], "--store") ||
		    !strncmp(n->args[i], "--store=", 8))
			return true;
	return false;
}

/* Whether the node was told to run on an LMDB store (--store lmdb:DIR):
 * on the PostgreSQL pass, a mirror (docs/replication.md). */
static bool node_on_lmdb(const node_t *n)
{
	for (int i = 0; i < n->nargs; i++) {
		const char *a = n->args[i];
		if (!strcmp(a, "--store") && i + 1 < n->nargs)
			a = n->args[++i];
		else if (!strncmp(a, "--store=", 8))
			a += 8;
		else
			continue;
		if (!strncmp(a, "lmdb:", 5))
			return true;
	}
	return false;
}

const char *node_store(const node_t *n)
{
	if (!h_pg())
		return NULL;
	return pg_store_for(node_data_dir(n), NULL);
}

void node_store_copy(const node_t *n, const node_t *src)
{
	if (!h_pg())
		fail_msg("node_store_copy is for PostgreSQL (IDN_E2E_PG)");
	const char *from = node_data_dir(src);
	const char *tmpl = NULL;
	for (int i = 0; i < MAX_DBS && tmpl == NULL; i++)
		if (dbs[i].conninfo != NULL && !strcmp(dbs[i].key, from))
			tmpl = dbs[i].name;
	if (tmpl == NULL)
		fail_msg("node_store_copy: %s has no database", from);
	const char *key = node_data_dir(n);
	for (int i = 0; i < MAX_DBS; i++)
		if (dbs[i].conninfo != NULL && !strcmp(dbs[i].key, key))
			fail_msg("node_store_copy: %s has a database", key);
	pg_store_for(key, tmpl);
}

/* ---- daemons ---- */

/* Nodes alive in this process, so that a failure to talk to one can say
 * whether it died (and show its log) instead of just "refused". */
#define MAX_NODES 16
static node_t *nodes[MAX_NODES];

static void register_node(node_t *n, bool add)
{
	for (int i = 0; i < MAX_NODES; i++)
		if (add ? nodes[i] == NULL : nodes[i] == n) {
			nodes[i] = add ? n : NULL;
			return;
		}
}

static void free_all_nodes(void)
{
	for (int i = 0; i < MAX_NODES; i++)
		if (nodes[i] != NULL)
			node_free(nodes[i]);
}

void h__report_dead_nodes(void)
{
	for (int i = 0; i < MAX_NODES; i++) {
		node_t *n = nodes[i];
		if (n == NULL || n->pid == 0 || node_alive(n))
			continue;
		print_error("idnode on %s has died (status %d)\n", n->addr,
			    n->last_status);
		node_dump_log(n);
	}
}

static void set_args_v(node_t *n, const char *arg, va_list ap)
{
	for (int i = 0; i < n->nargs; i++)
		free(n->args[i]);
	n->nargs = 0;
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(n->nargs < H_MAX_ARGS);
		n->args[n->nargs] = strdup(a);
		assert_non_null(n->args[n->nargs]);
		n->nargs++;
	}
}

node_t *node_new(const char *arg, ...)
{
	init();
	node_t *n = calloc(1, sizeof(*n));
	assert_non_null(n);
	snprintf(n->dir, sizeof(n->dir), "%s/idn-e2e-XXXXXX", tmp_base());
	if (mkdtemp(n->dir) == NULL)
		fail_msg("mkdtemp %s: %s", n->dir, strerror(errno));
	snprintf(n->data, sizeof(n->data), "%s/data", n->dir);
	snprintf(n->ctl, sizeof(n->ctl), "%s/ctl.sock", n->dir);
	snprintf(n->log, sizeof(n->log), "%s/node.log", n->dir);
	va_list ap;
	va_start(ap, arg);
	set_args_v(n, arg, ap);
	va_end(ap);
	register_node(n, true);
	return n;
}

node_t *node_create(void)
{
	return node_new(NULL, NULL);
}

void node_set_args(node_t *n, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	set_args_v(n, arg, ap);
	va_end(ap);
}

void node_add_args(node_t *n, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(n->nargs < H_MAX_ARGS);
		n->args[n->nargs] = strdup(a);
		assert_non_null(n->args[n->nargs]);
		n->nargs++;
	}
	va_end(ap);
}

void node_clear_args(node_t *n)
{
	for (int i = 0; i < n->nargs; i++)
		free(n->args[i]);
	n->nargs = 0;
}

/* True when port is free for both UDP and TCP on 127.0.0.1. */
static bool port_free(uint16_t port, uint16_t *got)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = false;
	if (u >= 0 && t >= 0 &&
	    bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		socklen_t sl = sizeof(sa);
		getsockname(u, (struct sockaddr *)&sa, &sl);
		ok = bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (ok && got)
			*got = ntohs(sa.sin_port);
	}
	if (u >= 0)
		close(u);
	if (t >= 0)
		close(t);
	return ok;
}

uint16_t h_free_port(void)
{
	uint16_t p = 0;
	for (int i = 0; i < 100 && !port_free(0, &p); i++)
		;
	if (p == 0)
		fail_msg("no free loopback port for UDP and TCP");
	return p;
}

void node_pick_port(node_t *n)
{
	uint16_t p = h_free_port();
	n->port = p;
	snprintf(n->addr, sizeof(n->addr), "127.0.0.1:%u", p);
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

void node_spawn(node_t *n)
{
	init();
	assert_int_equal(n->pid, 0);
	if (n->port == 0)
		node_pick_port(n);
	const char *argv[H_MAX_ARGS + 16];
	int k = 0;
	argv[k++] = h_bin("idnode");
	if (!n->bare) {
		argv[k++] = "--data";
		argv[k++] = n->data;
		argv[k++] = "--listen";
		argv[k++] = n->addr;
		argv[k++] = "--control";
		argv[k++] = n->ctl;
		argv[k++] = "--workers";
		argv[k++] = "2";
	}
	for (int i = 0; i < n->nargs; i++)
		argv[k++] = n->args[i];
	if (h_pg() && !node_has_store(n)) {
		argv[k++] = "--store";
		argv[k++] = node_store(n);
	}
	argv[k] = NULL;
	n->log_mark = file_size(n->log);
	int logfd =
		open(n->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		fail_msg("open %s: %s", n->log, strerror(errno));
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		signal(SIGPIPE, SIG_DFL);
		alarm(0);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	n->pid = pid;
	track(pid);
}

static int decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int node_wait_exit(node_t *n, int timeout_ms)
{
	if (n->pid == 0)
		return n->last_status;
	long long end = h__now_ms() + timeout_ms;
	for (;;) {
		int st;
		pid_t r = waitpid(n->pid, &st, WNOHANG);
		if (r == n->pid) {
			untrack(n->pid);
			n->pid = 0;
			n->last_status = decode_status(st);
			return n->last_status;
		}
		if (r < 0 && errno != EINTR) {
			untrack(n->pid);
			n->pid = 0;
			return n->last_status = -1;
		}
		if (h__now_ms() > end)
			return -1;
		h_msleep(5);
	}
}

bool node_alive(node_t *n)
{
	if (n->pid == 0)
		return false;
	int st;
	pid_t r = waitpid(n->pid, &st, WNOHANG);
	if (r == n->pid) {
		untrack(n->pid);
		n->pid = 0;
		n->last_status = decode_status(st);
		return false;
	}
	return kill(n->pid, 0) == 0;
}

char *node_log(const node_t *n)
{
	size_t len = 0;
	uint8_t *all = h_read_file(n->log, &len);
	if (all == NULL)
		return strdup("");
	size_t from = (size_t)n->log_mark <= len ? (size_t)n->log_mark : 0;
	char *s = malloc(len - from + 1);
	assert_non_null(s);
	memcpy(s, all + from, len - from);
	s[len - from] = 0;
	free(all);
	return s;
}

void node_dump_log(const node_t *n)
{
	char *s = node_log(n);
	print_error("---- idnode log (%s) ----\n%s---- end of log ----\n",
		    n->log, s);
	free(s);
}

/* 1 ready, 0 exited, -1 timeout */
static int wait_ready(node_t *n, int timeout_ms)
{
	long long end = h__now_ms() + timeout_ms;
	for (;;) {
		char *s = node_log(n);
		bool ready = strstr(s, "idnode ready") != NULL;
		/* a PostgreSQL pass whose nodes ran on LMDB would prove
		 * nothing (a node the test put on LMDB aside) */
		bool not_pg = ready && h_pg() && !node_on_lmdb(n) &&
			      strstr(s, "store PostgreSQL") == NULL;
		free(s);
		if (not_pg) {
			node_kill(n);
			node_dump_log(n);
			fail_msg("IDN_E2E_PG is set but the node on %s did not "
				 "log \"store PostgreSQL\"",
				 n->addr);
		}
		if (ready)
			return 1;
		if (!node_alive(n))
			return 0;
		if (h__now_ms() > end)
			return -1;
		h_msleep(10);
	}
}

void node_start(node_t *n)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		if (n->port != 0 && !n->bare && !port_free(n->port, NULL))
			node_pick_port(n); /* a restart whose port was taken */
		node_spawn(n);
		int r = wait_ready(n, H_START_TIMEOUT_MS);
		if (r == 1)
			return;
		if (r < 0) {
			node_kill(n);
			node_dump_log(n);
			fail_msg("idnode did not get ready within %d ms",
				 H_START_TIMEOUT_MS);
		}
		char *s = node_log(n);
		bool raced = !n->bare && strstr(s, "cannot listen") != NULL;
		free(s);
		if (!raced)
			break;
		node_pick_port(n); /* someone took the port meanwhile */
	}
	node_dump_log(n);
	fail_msg("idnode exited during start-up (status %d)", n->last_status);
}

void nodes_start(node_t *const *ns, int n)
{
	for (int i = 0; i < n; i++)
		node_spawn(ns[i]);
	for (int i = 0; i < n; i++) {
		int r = wait_ready(ns[i], H_START_TIMEOUT_MS);
		if (r == 1)
			continue;
		if (r < 0)
			node_kill(ns[i]);
		node_dump_log(ns[i]);
		fail_msg("idnode on %s %s", ns[i]->addr,
			 r < 0 ? "did not get ready in time"
			       : "exited during start-up");
	}
}

void node_kill(node_t *n)
{
	if (n->pid == 0)
		return;
	kill(n->pid, SIGKILL);
	int st;
	while (waitpid(n->pid, &st, 0) < 0 && errno == EINTR)
		;
	untrack(n->pid);
	n->pid = 0;
	n->last_status = decode_status(st);
}

void node_stop(node_t *n)
{
	assert_true(n->pid > 0);
	if (kill(n->pid, SIGTERM) != 0)
		fail_msg("kill(SIGTERM): %s", strerror(errno));
	int st = node_wait_exit(n, H_STOP_TIMEOUT_MS);
	if (st == -1 && n->pid != 0) {
		node_kill(n);
		node_dump_log(n);
		fail_msg("idnode did not exit within %d ms of SIGTERM",
			 H_STOP_TIMEOUT_MS);
	}
	if (st != 0) {
		node_dump_log(n);
		fail_msg("idnode exited with status %d after SIGTERM, want 0",
			 st);
	}
}

void node_free(node_t *n)
{
	if (n == NULL)
		return;
	register_node(n, false);
	node_kill(n);
	if (n->dir[0]) {
		nftw(n->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		pg_drop_under(n->dir);
	}
	for (int i = 0; i < n->nargs; i++)
		free(n->args[i]);
	free(n);
}

/* ---- running programs ---- */

typedef struct {
	char *p;
	size_t len, cap;
} sbuf_t;

static void sbuf_add(sbuf_t *b, const char *p, size_t n)
{
	if (b->cap - b->len < n + 1) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->len < n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
}

int h_run(h_run_t *r, int timeout_ms, const char *const *argv)
{
	init();
	memset(r, 0, sizeof(*r));
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)
		fail_msg("pipe: %s", strerror(errno));
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		signal(SIGPIPE, SIG_DFL);
		alarm(0);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	track(pid);
	close(po[1]);
	close(pe[1]);
	sbuf_t out = {0}, err = {0};
	sbuf_add(&out, "", 0);
	sbuf_add(&err, "", 0);
	struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
	int open_fds = 2;
	long long end = h__now_ms() + timeout_ms;
	bool timed_out = false;
	while (open_fds > 0) {
		long long left = end - h__now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		int pr = poll(pf, 2, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 ||
			    !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[65536];
			ssize_t k = read(pf[i].fd, buf, sizeof(buf));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			sbuf_add(i == 0 ? &out : &err, buf, (size_t)k);
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	int st = 0;
	if (timed_out) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		r->status = -1;
	} else {
		/* the pipes closed: the child is exiting */
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		r->status = decode_status(st);
	}
	untrack(pid);
	r->out = out.p;
	r->outlen = out.len;
	r->err = err.p;
	r->errlen = err.len;
	return r->status;
}

void h_run_free(h_run_t *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

#define MAX_ARGV 64

static int run_idctl_v(h_run_t *r, const char *pre1, const char *pre2,
		       const char *pre3, const char *pre4, const char *arg,
		       va_list ap)
{
	const char *argv[MAX_ARGV];
	int k = 0;
	argv[k++] = h_bin("idctl");
	const char *pre[] = {pre1, pre2, pre3, pre4};
	for (int i = 0; i < 4; i++)
		if (pre[i] != NULL)
			argv[k++] = pre[i];
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(k < MAX_ARGV - 1);
		argv[k++] = a;
	}
	argv[k] = NULL;
	return h_run(r, H_RUN_TIMEOUT_MS, argv);
}

int h_idctl(h_run_t *r, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int st = run_idctl_v(r, NULL, NULL, NULL, NULL, arg, ap);
	va_end(ap);
	return st;
}

int h_ctl(h_run_t *r, const node_t *n, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int st = run_idctl_v(r, "-C", n->ctl, "--timeout", "10000", arg, ap);
	va_end(ap);
	return st;
}

int h_net(h_run_t *r, const node_t *n, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int st = run_idctl_v(r, "-s", n->addr, "--timeout", "9000", arg, ap);
	va_end(ap);
	return st;
}

static int run_idctl_a(h_run_t *r, const char *const *pre, int npre,
		       const char *const *args)
{
	const char *argv[MAX_ARGV];
	int k = 0;
	argv[k++] = h_bin("idctl");
	for (int i = 0; i < npre; i++)
		argv[k++] = pre[i];
	for (int i = 0; args[i] != NULL; i++) {
		assert_true(k < MAX_ARGV - 1);
		argv[k++] = args[i];
	}
	argv[k] = NULL;
	return h_run(r, H_RUN_TIMEOUT_MS, argv);
}

int h_ctl_argv(h_run_t *r, const node_t *n, const char *const *args)
{
	const char *pre[] = {"-C", n->ctl, "--timeout", "10000"};
	return run_idctl_a(r, pre, 4, args);
}

int h_net_argv(h_run_t *r, const node_t *n, const char *const *args)
{
	const char *pre[] = {"-s", n->addr, "--timeout", "9000"};
	return run_idctl_a(r, pre, 4, args);
}

void h_ctl_ok(const node_t *n, const char *arg, ...)
{
	const char *args[MAX_ARGV];
	int k = 0;
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(k < MAX_ARGV - 8);
		args[k++] = a;
	}
	va_end(ap);
	args[k] = NULL;
	h_run_t r;
	h_ctl_argv(&r, n, args);
	h_assert_status(&r, 0);
	h_run_free(&r);
}

json_t *h_ctl_json(const node_t *n, const char *arg, ...)
{
	const char *args[MAX_ARGV];
	int k = 0;
	args[k++] = "--json";
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(k < MAX_ARGV - 8);
		args[k++] = a;
	}
	va_end(ap);
	args[k] = NULL;
	h_run_t r;
	h_ctl_argv(&r, n, args);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	h_run_free(&r);
	return j;
}

void h__assert_status(const h_run_t *r, int want, const char *file, int line)
{
	if (r->status == want)
		return;
	h__report_dead_nodes();
	print_error("%s:%d: exit status %d, want %d\n---- stdout ----\n%s"
		    "---- stderr ----\n%s---- end ----\n",
		    file, line, r->status, want, r->out ? r->out : "",
		    r->err ? r->err : "");
	fail_msg("unexpected exit status %d (want %d)", r->status, want);
}

int h_count_lines(const char *s)
{
	int n = 0;
	size_t len = strlen(s);
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n')
			n++;
	if (len > 0 && s[len - 1] != '\n')
		n++;
	return n;
}

/* ---- JSON ---- */

json_t *h_json(const h_run_t *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->out, r->outlen, 0, &e);
	if (j == NULL) {
		print_error("---- stdout ----\n%s---- stderr ----\n%s----\n",
			    r->out, r->err);
		fail_msg("idctl output is not JSON: %s (line %d)", e.text,
			 e.line);
	}
	return j;
}

json_t *h_json_value(json_t *root, long index)
{
	json_t *vals = json_object_get(root, "values");
	size_t i;
	json_t *v;
	json_array_foreach(vals, i, v)
	{
		if (json_integer_value(json_object_get(v, "index")) == index)
			return v;
	}
	return NULL;
}

void h_json_assert_indexes(json_t *root, const long *want, size_t n)
{
	json_t *vals = json_object_get(root, "values");
	char got[512] = "", exp[512] = "";
	size_t gl = 0, el = 0;
	bool same = json_is_array(vals) && json_array_size(vals) == n;
	for (size_t i = 0; i < json_array_size(vals); i++) {
		long idx = (long)json_integer_value(
			json_object_get(json_array_get(vals, i), "index"));
		if (gl < sizeof(got) - 16)
			gl += (size_t)snprintf(got + gl, sizeof(got) - gl,
					       " %ld", idx);
		if (i >= n || idx != want[i])
			same = false;
	}
	for (size_t i = 0; i < n; i++)
		if (el < sizeof(exp) - 16)
			el += (size_t)snprintf(exp + el, sizeof(exp) - el,
					       " %ld", want[i]);
	if (!same) {
		char *dump = json_dumps(root, JSON_INDENT(1));
		print_error("%s\n", dump ? dump : "(null)");
		free(dump);
		fail_msg("value indexes [%s ] want [%s ]", got, exp);
	}
}

long long h_parse_time(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (s == NULL)
		return -1;
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != 0)
		return -1;
	return (long long)timegm(&tm);
}

/* ---- files ---- */

int h_curl(h_curl_t *c, const char *ca, int max_s, const char *url,
	   const char *const *extra)
{
	char secs[16];
	snprintf(secs, sizeof(secs), "%d", max_s);
	const char *argv[H_CURL_MAX_ARGS] = {"/usr/bin/curl", "-sS", "-i",
					     "--max-time", secs};
	int n = 5;
	if (ca != NULL) {
		argv[n++] = "--cacert";
		argv[n++] = ca;
	}
	for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
		assert_true(n < H_CURL_MAX_ARGS - 2);
		argv[n++] = extra[i];
	}
	argv[n++] = url;
	argv[n] = NULL;
	memset(c, 0, sizeof(*c));
	c->exit = h_run(&c->run, H_RUN_TIMEOUT_MS, argv);
	const char *out = c->run.out ? c->run.out : "";
	const char *end = strstr(out, "\r\n\r\n");
	c->head = strndup(out, end ? (size_t)(end - out) + 2 : strlen(out));
	c->body = end ? end + 4 : "";
	sscanf(out, "HTTP/%*s %d", &c->status);
	return c->exit;
}

void h_curl_free(h_curl_t *c)
{
	free(c->head);
	h_run_free(&c->run);
	memset(c, 0, sizeof(*c));
}

uint8_t *h_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return NULL;
	}
	size_t cap = 4096, n = 0;
	uint8_t *p = malloc(cap);
	assert_non_null(p);
	for (;;) {
		if (cap - n < 4096) {
			cap *= 2;
			p = realloc(p, cap);
			assert_non_null(p);
		}
		size_t k = fread(p + n, 1, cap - n, f);
		if (k == 0)
			break;
		n += k;
	}
	fclose(f);
	p[n] = 0; /* room: the loop keeps 4096 bytes free */
	*len = n;
	return p;
}

char *h_slurp(const char *path, size_t *len)
{
	uint8_t *p = h_read_file(path, len);
	if (p == NULL)
		fail_msg("cannot read %s", path);
	return (char *)p;
}

void h_spill(const char *path, const void *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	if (fwrite(b, 1, len, f) != len)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	if (fclose(f) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
}

uint8_t *h_read_hex(const char *path, size_t *len)
{
	size_t n;
	uint8_t *text = h_read_file(path, &n);
	if (text == NULL)
		return NULL;
	uint8_t *out = malloc(n / 2 + 1);
	assert_non_null(out);
	size_t k = 0;
	int hi = -1;
	for (size_t i = 0; i < n; i++) {
		int v = idn_hex_digit(text[i]);
		if (v < 0)
			continue; /* newline, spaces */
		if (hi < 0) {
			hi = v;
		} else {
			out[k++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	free(text);
	*len = k;
	return out;
}

void h_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
}

int h_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return access(dir, F_OK) == 0 ? -1 : 0;
}

char *h_keygen(const char *path, const char *a1, const char *a2)
{
	h_run_t r;
	h_idctl(&r, "keygen", "--out", path, a1, a2, NULL);
	h_assert_status(&r, 0);
	const char *hex = strstr(r.out, "hex:");
	assert_non_null(hex);
	char *v = strdup(hex + 4);
	assert_non_null(v);
	v[strcspn(v, "\n")] = 0;
	h_run_free(&r);
	return v;
}
