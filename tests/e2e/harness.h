/* End-to-end test harness: real idnode daemons on loopback ports with
 * temporary data directories, idctl runs with captured output, and raw
 * UDP / TCP / control-socket exchanges built and decoded with the library's
 * wire codec.
 *
 * Binaries come from $IDN_BUILD (default "build"): $IDN_BUILD/idnode and
 * $IDN_BUILD/idctl. Temporary directories go under $IDN_E2E_TMPDIR, else
 * /dev/shm (fast fsync), else $TMPDIR or /tmp, and are removed by
 * node_free. Every daemon is killed when the test process exits, however it
 * exits (PR_SET_PDEATHSIG plus an atexit hook), and a watchdog alarm
 * (IDN_E2E_WATCHDOG seconds, default 600) bounds the whole test binary.
 *
 * With IDN_E2E_PG set (a libpq URI or key=value string of a server where
 * the user may CREATE DATABASE), every node runs on PostgreSQL: the first
 * start on a data directory creates a fresh database, and the node gets
 * `--store <that database>` after its other arguments (unless they hold a
 * --store); a node started again on the same data directory (n->data, or
 * the last --data among its arguments) gets the same database, and
 * node_free drops the databases of the data directories under the node's
 * temporary directory (the rest go at exit; DROP DATABASE ... WITH (FORCE)
 * needs PostgreSQL 13 or later). A node that does not log "store
 * PostgreSQL" when it gets ready fails the test, unless its arguments put
 * it on LMDB (--store lmdb:DIR, as a mirror of a PostgreSQL primary).
 *
 * Helpers that cannot go on (a daemon that does not start, a socket that
 * cannot be opened) fail the current cmocka test with a message. */
#ifndef IDN_E2E_HARNESS_H
#define IDN_E2E_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>

#include "arena.h"
#include "msg.h"

/* The prefix most tests home. */
#define H_HOME "88.118.8"

/* Generous bounds: the suite also runs under ASan/UBSan on slow machines. */
#define H_START_TIMEOUT_MS 10000
#define H_STOP_TIMEOUT_MS 20000
#define H_IO_TIMEOUT_MS 10000
#define H_RUN_TIMEOUT_MS 60000

/* ---- paths ---- */

/* $IDN_BUILD/name, e.g. h_bin("idnode"). The result stays valid until
 * the process exits. */
const char *h_bin(const char *name);

/* Path of a file of the repository (rel like "tests/vectors"), found from
 * $IDN_SRCDIR or by walking up from the working directory. */
const char *h_src(const char *rel);

/* ---- daemons ---- */

#define H_MAX_ARGS 32

typedef struct {
	pid_t pid;	/* running daemon, 0 when not running */
	char dir[96];	/* temporary directory (removed by node_free) */
	char data[128]; /* dir/data */
	char ctl[128];	/* dir/ctl.sock */
	char log[128];	/* dir/node.log: the daemon's stdout and stderr */
	char addr[32];	/* "127.0.0.1:PORT" */
	uint16_t port;
	/* When bare, the daemon gets only args (the test supplies --data and
	 * the rest itself, e.g. through -c); otherwise the harness passes
	 * --data, --listen, --control and --workers 2 first. */
	bool bare;
	char *args[H_MAX_ARGS];
	int nargs;
	long log_mark;	 /* log size when the daemon was last spawned */
	int last_status; /* exit code of the last stop, 128+N for a signal */
} node_t;

/* A new node with a fresh temporary directory and extra idnode arguments
 * (NULL-terminated list), e.g. node_new("--home", H_HOME, NULL). Not
 * started. */
node_t *node_new(const char *arg, ...) __attribute__((sentinel));

/* The same without extra arguments. */
node_t *node_create(void);

/* Replaces the extra arguments (NULL-terminated); node_clear_args drops
 * them all. */
void node_set_args(node_t *n, const char *arg, ...) __attribute__((sentinel));
void node_clear_args(node_t *n);

/* Appends extra arguments (NULL-terminated) to those already set. */
void node_add_args(node_t *n, const char *arg, ...) __attribute__((sentinel));

/* Picks a loopback port free for both UDP and TCP into n->port/addr. */
void node_pick_port(node_t *n);

/* A loopback port free for both UDP and TCP right now. */
uint16_t h_free_port(void);

/* Starts the daemon and waits for "idnode ready" in its log; fails the test
 * (printing the log) if it exits or does not get ready in time. Keeps the
 * node's port if it is still free (a restart), else picks another. */
void node_start(node_t *n);

/* Starts several nodes at once (for hierarchies of daemons): spawns them
 * all, then waits until every one is ready; fails the test (printing the
 * log) like node_start. Ports are picked before spawning, so a test that
 * wires nodes together (--root, --parent) picks them itself first with
 * node_pick_port and passes the addresses in the arguments. */
void nodes_start(node_t *const *ns, int n);

/* Spawns the daemon without waiting: for tests that expect it to fail. */
void node_spawn(node_t *n);

/* Waits for the daemon to exit; returns its exit code (128+N for signal N)
 * or -1 on timeout. The node is then not running. */
int node_wait_exit(node_t *n, int timeout_ms);

/* SIGTERM, then asserts a clean exit (status 0) in time; prints the log
 * otherwise. */
void node_stop(node_t *n);

/* SIGKILL and reap, no checks (teardown after a failure). */
void node_kill(node_t *n);

/* True while the daemon process runs (not exited, not a zombie). */
bool node_alive(node_t *n);

/* True when the nodes run on PostgreSQL (IDN_E2E_PG is set). */
bool h_pg(void);

/* The --store the node gets on PostgreSQL (creating its database when it
 * has none yet; valid until node_free), NULL on LMDB. */
const char *node_store(const node_t *n);

/* On PostgreSQL, gives n's data directory (with no database yet) a copy
 * of src's database, src's node stopped: a replica frozen at that moment.
 * Fails the test on LMDB. */
void node_store_copy(const node_t *n, const node_t *src);

/* Skips the current test on PostgreSQL, saying why (for what only LMDB
 * has). */
#define h_skip_on_pg(why)                                                      \
	do {                                                                   \
		if (h_pg()) {                                                  \
			print_message("[ SKIP     ] on PostgreSQL: %s\n",      \
				      why);                                    \
			skip();                                                \
		}                                                              \
	} while (0)

/* Kills the daemon if it still runs and removes the temporary directory. */
void node_free(node_t *n);

/* The log written since the daemon was last spawned (NUL-terminated,
 * caller frees). */
char *node_log(const node_t *n);
void node_dump_log(const node_t *n);

/* ---- running programs ---- */

typedef struct {
	char *out, *err; /* captured stdout and stderr, NUL-terminated */
	size_t outlen, errlen;
	int status; /* exit code, 128+N for signal N, -1 on timeout */
} h_run_t;

/* Runs argv[0] (a path) with argv, stdin from /dev/null, capturing output,
 * killing it after timeout_ms. Returns r->status. */
int h_run(h_run_t *r, int timeout_ms, const char *const *argv);
void h_run_free(h_run_t *r);

/* idctl ARGS... (NULL-terminated) */
int h_idctl(h_run_t *r, const char *arg, ...) __attribute__((sentinel));
/* idctl -C <control socket> ARGS... */
int h_ctl(h_run_t *r, const node_t *n, const char *arg, ...)
	__attribute__((sentinel));
/* idctl -s <node address> ARGS... (UDP unless --tcp among ARGS) */
int h_net(h_run_t *r, const node_t *n, const char *arg, ...)
	__attribute__((sentinel));

/* The same with the arguments in a NULL-terminated array. */
int h_ctl_argv(h_run_t *r, const node_t *n, const char *const *args);
int h_net_argv(h_run_t *r, const node_t *n, const char *const *args);

/* idctl -C <control socket> ARGS..., asserting exit status 0. */
void h_ctl_ok(const node_t *n, const char *arg, ...) __attribute__((sentinel));

/* idctl -C <control socket> --json ARGS..., asserting exit status 0; the
 * parsed output (caller json_decref's it). */
json_t *h_ctl_json(const node_t *n, const char *arg, ...)
	__attribute__((sentinel));

/* Asserts r->status == want, printing the command's output otherwise. */
#define h_assert_status(r, want)                                               \
	h__assert_status((r), (want), __FILE__, __LINE__)
void h__assert_status(const h_run_t *r, int want, const char *file, int line);

/* Number of lines in s (a last line without '\n' counts). */
int h_count_lines(const char *s);

/* ---- JSON (idctl --json) ---- */

/* Parses r->out; fails the test (printing it) when it is not JSON. */
json_t *h_json(const h_run_t *r);

/* The element of root["values"] with that index, or NULL. */
json_t *h_json_value(json_t *root, long index);

/* Asserts that root["values"] holds exactly these indexes in this order. */
void h_json_assert_indexes(json_t *root, const long *want, size_t n);

/* Parses "YYYY-MM-DDTHH:MM:SSZ"; -1 when malformed. */
long long h_parse_time(const char *s);

/* ---- raw protocol ---- */

typedef struct {
	uint8_t major, minor, env_flags;
	uint32_t session_id, request_id;
	uint32_t op, flags, expiry;
	uint16_t serial;
	uint8_t rcount;
} h_req_t;

/* Version 2.10, serial 0xffff, expiry now + 12 h, everything else 0. */
h_req_t h_req(uint32_t op, uint32_t request_id);

/* Writes envelope + header + body + empty credential into out; returns the
 * frame length (fails the test if it does not fit). */
size_t h_frame(uint8_t *out, size_t cap, const h_req_t *q, const void *body,
	       size_t blen);

/* A resolution frame: identifier (idlen bytes, may hold anything), index
 * and type filters. */
size_t h_resolve_frame(uint8_t *out, size_t cap, const h_req_t *q,
		       const void *id, size_t idlen, const uint32_t *idx,
		       uint32_t nidx, const char *const *types,
		       uint32_t ntypes);

/* A resolution of a NUL-terminated identifier, all values. */
size_t h_resolve_simple(uint8_t *out, size_t cap, uint32_t request_id,
			const char *id);

/* A creation of id (NUL-terminated) with one value: index 1, type URL,
 * data url, ttl 86400, default permissions. */
size_t h_create_url_frame(uint8_t *out, size_t cap, uint32_t request_id,
			  const char *id, const char *url);

/* A challenge answer (op 200) for the challenge of session session:
 * auth type ("HS_PUBKEY" or "HS_SECKEY"), admin identifier and value index,
 * and the encoded signature or MAC sig. */
size_t h_answer_frame(uint8_t *out, size_t cap, uint32_t request_id,
		      uint32_t session, const char *type, const char *admin,
		      uint32_t index, idn_bytes_t sig);

/* Runs an administrative request frame (request id reqid) over UDP as the
 * admin (identifier, key value index, PEM private key file) by answering
 * its challenge on the same socket with an RSA or DSA signature over
 * SHA-256 (answer request id reqid + 1). Returns the final response code;
 * fails the test when the node does not challenge. */
uint32_t h_udp_admin(const node_t *n, const uint8_t *frame, size_t len,
		     uint32_t reqid, const char *admin, uint32_t index,
		     const char *key);

/* A received reply: the message with its (first) envelope. */
typedef struct {
	uint8_t *buf;	 /* IDN_ENV_LEN + IDN_MSG_MAX bytes */
	size_t len;	 /* envelope + message */
	idn_env_t env;	 /* of datagram 0 (seq 0) for UDP */
	idn_msg_t msg;	 /* points into buf */
	int ndgrams;	 /* UDP datagrams it came in (0 for streams) */
	size_t maxdgram; /* largest datagram seen */
	bool frags_ok;	 /* UDP: every datagram agreed on request id, msg_len
			  * and session, seqs 0..n-1 */
} h_reply_t;

void h_reply_init(h_reply_t *r);
void h_reply_free(h_reply_t *r);

/* Decodes r->buf into env and msg; returns 0 or the codec's error. */
int h_reply_decode(h_reply_t *r);

int h_udp_open(const node_t *n);
int h_tcp_open(const node_t *n);
int h_unix_open(const char *path);

/* Sends bytes as one datagram (no fragmentation; len may be 0). */
void h_udp_send_raw(int fd, const void *p, size_t len);

/* Sends a frame over UDP, split into datagrams when the message is longer
 * than 492 bytes. */
void h_udp_send_frame(int fd, const uint8_t *frame, size_t len);

/* Receives and reassembles the reply with this request id. Returns 0, or
 * -1 on timeout. */
int h_udp_recv(int fd, uint32_t request_id, h_reply_t *r, int timeout_ms);

/* Opens a socket, sends frame over UDP and receives its reply (two tries).
 * Fails the test on timeout. */
void h_udp_call(const node_t *n, const uint8_t *frame, size_t len,
		h_reply_t *r);

/* Writes everything (MSG_NOSIGNAL); returns 0 or -1 (peer closed). */
int h_write_all(int fd, const void *p, size_t len);

/* Reads one frame from a stream. Returns 1 (decoded into r), 0 on EOF at a
 * frame boundary, -1 on timeout or a broken frame. */
int h_read_frame(int fd, h_reply_t *r, int timeout_ms);

/* Sends a frame on a stream and reads one reply frame; fails the test if
 * none comes. */
void h_stream_call(int fd, const uint8_t *frame, size_t len, h_reply_t *r);

/* Opens a TCP connection, does h_stream_call, closes. */
void h_tcp_call(const node_t *n, const uint8_t *frame, size_t len,
		h_reply_t *r);

/* Reads and discards until the peer closes. Returns 0 on EOF (or reset),
 * -1 on timeout. */
int h_drain(int fd, int timeout_ms);

/* Text of an error reply (the body's message string), NUL-terminated in a
 * static buffer. */
const char *h_error_text(const h_reply_t *r);

/* ---- curl ---- */

/* One curl exchange: its exit code, the last response's status, head
 * (malloc'd) and body (in run.out). */
typedef struct {
	int exit;
	int status;
	char *head;
	const char *body;
	h_run_t run;
} h_curl_t;

/* The most arguments of a curl command line h_curl runs. */
#define H_CURL_MAX_ARGS 40

/* curl -sS -i --max-time max_s [--cacert ca] EXTRA... url, extra
 * NULL-terminated (fewer than H_CURL_MAX_ARGS - 9); fills c. Returns
 * curl's exit code. */
int h_curl(h_curl_t *c, const char *ca, int max_s, const char *url,
	   const char *const *extra);
void h_curl_free(h_curl_t *c);

/* ---- files ---- */

/* Whole file, NUL-terminated after its *len bytes (caller frees); NULL
 * if unreadable or not a regular file. */
uint8_t *h_read_file(const char *path, size_t *len);
/* The same as text; fails the test if the file cannot be read. */
char *h_slurp(const char *path, size_t *len);
/* Writes len bytes of b to path (replacing it); fails the test on error. */
void h_spill(const char *path, const void *b, size_t len);
/* A file of one hex line, decoded (caller frees); NULL if unreadable. */
uint8_t *h_read_hex(const char *path, size_t *len);
/* Writes a file; fails the test on error. */
void h_write_file(const char *path, const char *text);

/* Runs idctl keygen --out path [a1 a2] (a1, a2 may be NULL) and returns
 * the HS_PUBKEY value text it prints after "hex:" (malloc'd). */
char *h_keygen(const char *path, const char *a1, const char *a2);

/* Removes dir and everything under it; 0, or -1 when dir is still there. */
int h_rmtree(const char *dir);

/* Deterministic PRNG (xorshift64*). */
uint64_t h_rand(uint64_t *state);

/* Unix seconds now. */
uint32_t h_now(void);

/* Sleeps ms milliseconds (for polling loops only). */
void h_msleep(int ms);

#endif
