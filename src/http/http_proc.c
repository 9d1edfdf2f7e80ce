#include "http_proc.h"

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

/* The "Key:   1234 kB" lines of /proc/self/status. */
static int read_status(http_proc_t *p)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return -1;
	static const struct {
		const char *key;
		size_t off;
		uint64_t unit;
	} keys[] = {
		{"VmRSS:", offsetof(http_proc_t, rss), 1024},
		{"RssAnon:", offsetof(http_proc_t, rss_anon), 1024},
		{"RssFile:", offsetof(http_proc_t, rss_file), 1024},
		{"RssShmem:", offsetof(http_proc_t, rss_shmem), 1024},
		{"VmSize:", offsetof(http_proc_t, vsize), 1024},
		{"Threads:", offsetof(http_proc_t, threads), 1},
	};
	char line[256];
	while (fgets(line, sizeof(line), f) != NULL)
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t kl = strlen(keys[i].key);
			if (strncmp(line, keys[i].key, kl) != 0)
				continue;
			uint64_t v = strtoull(line + kl, NULL, 10);
			*(uint64_t *)((char *)p + keys[i].off) =
				v * keys[i].unit;
		}
	fclose(f);
	return 0;
}

/* Seconds since boot the system booted at (btime of /proc/stat). */
static double boot_time(void)
{
	FILE *f = fopen("/proc/stat", "r");
	if (f == NULL)
		return 0;
	char line[256];
	double bt = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "btime ", 6) == 0)
			bt = strtod(line + 6, NULL);
	fclose(f);
	return bt;
}

/* Field 22 of /proc/self/stat (clock ticks after boot), counted after the
 * command name's closing parenthesis, which may itself hold spaces. */
static double start_time(void)
{
	FILE *f = fopen("/proc/self/stat", "r");
	if (f == NULL)
		return 0;
	char buf[1024];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *s = strrchr(buf, ')');
	if (s == NULL)
		return 0;
	/* s + 2 is field 3 (state); field 22 is 19 further */
	s += 2;
	for (int field = 3; field < 22 && s != NULL; field++) {
		s = strchr(s, ' ');
		if (s != NULL)
			s++;
	}
	long hz = sysconf(_SC_CLK_TCK);
	if (s == NULL || hz <= 0)
		return 0;
	return boot_time() + strtod(s, NULL) / (double)hz;
}

static uint64_t count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return 0;
	uint64_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0; /* not the directory's own */
}

int http_proc_read(http_proc_t *p)
{
	memset(p, 0, sizeof(*p));
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		p->cpu_seconds = (double)ru.ru_utime.tv_sec +
				 (double)ru.ru_utime.tv_usec / 1e6 +
				 (double)ru.ru_stime.tv_sec +
				 (double)ru.ru_stime.tv_usec / 1e6;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		p->max_fds = rl.rlim_cur == RLIM_INFINITY
				     ? UINT64_MAX
				     : (uint64_t)rl.rlim_cur;
	p->open_fds = count_fds();
	p->start_time = start_time();
	return read_status(p);
}
