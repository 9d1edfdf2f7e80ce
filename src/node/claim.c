/* Claiming the data directory (a flock held for the process's life) and
 * the listen addresses (a bind without SO_REUSEPORT on a probe socket:
 * the node's own workers share their addresses through SO_REUSEPORT, and
 * so would any other process that sets it, splitting the queries between
 * two nodes). */
#include "claim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "store.h"

int claim_dir(const char *dir, const char *what, int *fd)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/lock", dir);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		log_error("cannot open the data directory's lock %s: %s", path,
			  strerror(errno));
		return -1;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		char pid[32] = "";
		ssize_t n = pread(*fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		if (e == EWOULDBLOCK)
			log_error("%s %s is in use: another "
				  "idnode%s%s%s holds its lock %s",
				  what, dir, pid[0] ? " (pid " : "", pid,
				  pid[0] ? ")" : "", path);
		else
			log_error("cannot lock %s: %s", path, strerror(e));
		close(*fd);
		*fd = -1;
		return -1;
	}
	/* the pid, for the message of a node refused later */
	char text[32];
	int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(*fd, 0) != 0 || pwrite(*fd, text, (size_t)len, 0) != len)
		log_warn("cannot write the pid into %s: %s", path,
			 strerror(errno));
	return 0;
}

int claim_store_dir(const node_conf_t *conf, int *fd)
{
	*fd = -1;
	idn_store_spec_t spec;
	if (conf->store[0] == 0 ||
	    idn_store_spec_parse(conf->store, &spec) != 0 ||
	    spec.kind != IDN_STORE_LMDB)
		return 0;
	if (mkdir(spec.path, 0750) != 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", spec.path, strerror(errno));
		return -1;
	}
	struct stat a, b;
	if (stat(spec.path, &a) == 0 && stat(conf->data, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0; /* the data directory, locked already */
	return claim_dir(spec.path, "store", fd);
}

/* ---- who listens there ---- */

/* Whether the /proc/net address hex (the kernel's words as %08X, in host
 * order) and port p are ss's, a wildcard counting as any address. */
static bool proc_addr_matches(const char *hex, unsigned p,
			      const struct sockaddr_storage *ss)
{
	uint32_t w[4] = {0};
	size_t words = strlen(hex) / 8;
	if (words != 1 && words != 4)
		return false;
	for (size_t i = 0; i < words; i++) {
		char part[9];
		memcpy(part, hex + 8 * i, 8);
		part[8] = 0;
		w[i] = (uint32_t)strtoul(part, NULL, 16);
	}
	bool any = w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const void *)ss;
		return ntohs(v4->sin_port) == p &&
		       (any || v4->sin_addr.s_addr == INADDR_ANY ||
			(words == 1 && w[0] == v4->sin_addr.s_addr));
	}
	const struct sockaddr_in6 *v6 = (const void *)ss;
	bool mine_any = IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
	return ntohs(v6->sin6_port) == p &&
	       (any || mine_any ||
		(words == 4 && memcmp(w, &v6->sin6_addr, 16) == 0));
}

/* The inode of a socket of the given type listening on ss, from
 * /proc/net; 0 when none is found. */
static unsigned long listener_inode(const struct sockaddr_storage *ss, int type)
{
	static const char *const tcp[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	static const char *const udp[] = {"/proc/net/udp", "/proc/net/udp6"};
	for (int f = 0; f < 2; f++) {
		FILE *in = fopen(type == SOCK_STREAM ? tcp[f] : udp[f], "r");
		if (in == NULL)
			continue;
		char line[512];
		unsigned long found = 0;
		while (found == 0 && fgets(line, sizeof(line), in) != NULL) {
			char local[64];
			unsigned port, state;
			unsigned long inode;
			if (sscanf(line,
				   " %*d: %63[0-9A-Fa-f]:%x %*s %x %*s %*s "
				   "%*s %*s %*s %lu",
				   local, &port, &state, &inode) != 4)
				continue;
			/* TCP: listening sockets only (state 0A) */
			if (type == SOCK_STREAM && state != 0x0A)
				continue;
			if (proc_addr_matches(local, port, ss))
				found = inode;
		}
		fclose(in);
		if (found)
			return found;
	}
	return 0;
}

/* The process holding socket inode: *pid and its command name, or 0. */
static long socket_owner(unsigned long inode, char *comm, size_t cap)
{
	char want[64];
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	DIR *proc = opendir("/proc");
	if (proc == NULL)
		return 0;
	long pid = 0;
	struct dirent *de;
	while (pid == 0 && (de = readdir(proc)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		DIR *fds = opendir(path);
		if (fds == NULL)
			continue; /* another user's: not visible */
		struct dirent *fe;
		while (pid == 0 && (fe = readdir(fds)) != NULL) {
			char link[600], target[64];
			snprintf(link, sizeof(link), "%s/%s", path, fe->d_name);
			ssize_t n = readlink(link, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = 0;
			if (strcmp(target, want) == 0)
				pid = strtol(de->d_name, NULL, 10);
		}
		closedir(fds);
	}
	closedir(proc);
	comm[0] = 0;
	if (pid == 0)
		return 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(comm, (int)cap, f) == NULL)
			comm[0] = 0;
		comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
	return pid;
}

static void log_in_use(const char *addr, const char *proto,
		       const struct sockaddr_storage *ss, int type)
{
	unsigned long inode = listener_inode(ss, type);
	char comm[64] = "";
	long pid = inode ? socket_owner(inode, comm, sizeof(comm)) : 0;
	if (pid > 0)
		log_error("cannot listen on %s/%s: another process listens "
			  "there (pid %ld, %s)",
			  addr, proto, pid, comm[0] ? comm : "?");
	else
		log_error("cannot listen on %s/%s: another process listens "
			  "there",
			  addr, proto);
}

/* Binds a probe socket to addr without SO_REUSEPORT. Returns 0 when the
 * address is free or fails for another reason (the plane reports that),
 * -1 after logging when another process listens there. */
static int probe(const char *addr, uint16_t def_port, int type)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (idn_addr_parse(addr, def_port, &ss, &sl) != 0)
		return 0; /* the plane names the bad address */
	int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int one = 1;
	/* TCP: past connections in TIME_WAIT do not count; a listener does
	 * (on UDP the option would share the address, so not there) */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	int rc = bind(fd, (struct sockaddr *)&ss, sl);
	int e = errno;
	close(fd);
	if (rc == 0 || e != EADDRINUSE)
		return 0;
	log_in_use(addr, type == SOCK_STREAM ? "tcp" : "udp", &ss, type);
	return -1;
}

int claim_addresses(const node_conf_t *conf)
{
	int rc = 0;
	for (int i = 0; i < conf->nlisten; i++) {
		if (probe(conf->listen[i], IDN_DEFAULT_PORT, SOCK_DGRAM) != 0)
			rc = -1;
		if (probe(conf->listen[i], IDN_DEFAULT_PORT, SOCK_STREAM) != 0)
			rc = -1;
	}
	/* the HTTP plane's default port (http.c) */
	if (conf->http[0] && probe(conf->http, 8000, SOCK_STREAM) != 0)
		rc = -1;
	return rc;
}
