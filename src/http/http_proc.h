/* The process's own resource use, for /metrics (the Prometheus client
 * libraries' process_* metrics), read from /proc/self and getrusage. */
#ifndef IDN_HTTP_PROC_H
#define IDN_HTTP_PROC_H

#include <stdint.h>

typedef struct {
	double cpu_seconds; /* user + system */
	double start_time;  /* Unix seconds */
	uint64_t rss;	    /* resident bytes (VmRSS) */
	uint64_t rss_anon;  /* ... of anonymous memory (RssAnon) */
	uint64_t rss_file;  /* ... of file mappings: the LMDB store's
			     * pages, the binary (RssFile) */
	uint64_t rss_shmem; /* ... of shared memory (RssShmem) */
	uint64_t vsize;	    /* virtual bytes (VmSize) */
	uint64_t open_fds;  /* entries of /proc/self/fd */
	uint64_t max_fds;   /* RLIMIT_NOFILE, soft */
	uint64_t threads;
} http_proc_t;

/* Fills p; a figure that cannot be read is left 0. Returns 0, or -1 when
 * /proc/self/status cannot be read (not Linux). */
int http_proc_read(http_proc_t *p);

#endif
