#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "ident.h" /* idn_utf8_seq_len */

static atomic_int max_level = LOG_INFO;
static atomic_int format = LOG_TEXT;
static atomic_int window_ms = LOG_REPEAT_WINDOW_MS;
static FILE *output; /* NULL: stderr */
static const char *const names[] = {"error", "warn", "info", "debug"};

#define MSG_MAX 1024

/* A warning or error whose repeats are being counted: the window opened
 * when it was written. */
typedef struct {
	uint64_t hash; /* 0: a free slot */
	int level;
	uint64_t opened, seen; /* monotonic ms */
	uint64_t repeats;      /* since it was written */
	const char *src;       /* __FILE__: static */
	int line;
	char msg[MSG_MAX];
} repeat_t;

/* The repeat table. Lines are written under its lock so that a count
 * never overtakes the line it counts. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a first repeat: the flusher has a deadline */
	bool flusher;	     /* started (once the first repeat is seen) */
	repeat_t slot[LOG_REPEAT_SLOTS];
} rep = {.lock = PTHREAD_MUTEX_INITIALIZER};

void log_set_level(int level)
{
	atomic_store(&max_level, level);
}

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int log_enabled(int level)
{
	return level <= atomic_load(&max_level);
}

void log_set_format(int f)
{
	atomic_store(&format, f);
}

int log_format_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return LOG_TEXT;
	if (strcmp(s, "json") == 0)
		return LOG_JSON;
	return -1;
}

void log_set_output(FILE *out)
{
	output = out;
}

void log_set_repeat_window(int ms)
{
	atomic_store(&window_ms, ms);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- formatting ---- */

/* A line being built; text past the end is dropped, the tail reserved
 * for the closing fields and the newline. */
typedef struct {
	char p[4 * MSG_MAX];
	size_t len;
} line_t;

#define TAIL_ROOM 96

static void put(line_t *l, const char *s, size_t n)
{
	if (n > sizeof(l->p) - l->len)
		n = sizeof(l->p) - l->len;
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void put_str(line_t *l, const char *s)
{
	put(l, s, strlen(s));
}

static void putf(line_t *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void putf(line_t *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = sizeof(l->p) - l->len;
	int n = vsnprintf(l->p + l->len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < room ? (size_t)n : room - 1;
}

/* msg as a JSON string: control characters escaped, invalid UTF-8 as
 * U+FFFD, cut at a character boundary when the line is full. */
static void put_json_str(line_t *l, const char *msg)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t n = strlen(msg);
	put(l, "\"", 1);
	for (size_t i = 0; i < n && l->len + TAIL_ROOM < sizeof(l->p);) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			put(l, e, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			putf(l, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			put(l, (const char *)s + i, 1);
			i++;
		} else {
			size_t k = idn_utf8_seq_len(s + i, n - i);
			if (k == 0) {
				put_str(l, "\\ufffd");
				i++;
			} else {
				put(l, (const char *)s + i, k);
				i += k;
			}
		}
	}
	put(l, "\"", 1);
}

/* The module is the source file's name without directory and ".c". */
static void put_module(line_t *l, const char *src)
{
	const char *b = strrchr(src, '/');
	b = b ? b + 1 : src;
	const char *dot = strrchr(b, '.');
	put(l, "\"", 1);
	put(l, b, dot ? (size_t)(dot - b) : strlen(b));
	put(l, "\"", 1);
}

/* Writes one line; repeats > 0 makes it the count of a closed window. */
static void emit(int level, const char *src, int line, const char *msg,
		 uint64_t repeats, int win)
{
	line_t l;
	l.len = 0;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char t[32];
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	if (atomic_load(&format) == LOG_JSON) {
		putf(&l, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\"", t,
		     ts.tv_nsec / 1000000, names[level]);
		if (src != NULL) {
			put_str(&l, ",\"module\":");
			put_module(&l, src);
			if (line > 0)
				putf(&l, ",\"src\":\"%s:%d\"", src, line);
		}
		put_str(&l, ",\"msg\":");
		put_json_str(&l, msg);
		if (repeats > 0)
			putf(&l, ",\"repeated\":%llu,\"window_s\":%g",
			     (unsigned long long)repeats, win / 1000.0);
		put_str(&l, "}");
	} else {
		putf(&l, "%sZ %s: ", t, names[level]);
		put(&l, msg, strnlen(msg, sizeof(l.p) - TAIL_ROOM - l.len));
		if (repeats > 0)
			putf(&l, " (repeated %llu more times in %g s)",
			     (unsigned long long)repeats, win / 1000.0);
	}
	if (l.len > sizeof(l.p) - 1)
		l.len = sizeof(l.p) - 1;
	l.p[l.len++] = '\n';
	/* one write per line keeps lines from different threads whole */
	FILE *out = output ? output : stderr;
	fwrite(l.p, 1, l.len, out);
	fflush(out);
}

/* ---- collapsing repeats (called with rep.lock held) ---- */

static uint64_t msg_hash(int level, const char *msg)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)level;
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h ? h : 1;
}

static void close_slot(repeat_t *s, int win)
{
	if (s->repeats > 0)
		emit(s->level, s->src, s->line, s->msg, s->repeats, win);
	s->hash = 0;
}

static void close_expired(uint64_t now, int win)
{
	for (int i = 0; i < LOG_REPEAT_SLOTS; i++) {
		repeat_t *s = &rep.slot[i];
		if (s->hash && (win <= 0 || now - s->opened >= (uint64_t)win))
			close_slot(s, win);
	}
}

static repeat_t *find(uint64_t h, int level, const char *msg)
{
	for (int i = 0; i < LOG_REPEAT_SLOTS; i++) {
		repeat_t *s = &rep.slot[i];
		if (s->hash == h && s->level == level && !strcmp(s->msg, msg))
			return s;
	}
	return NULL;
}

/* A free slot, or the least recently seen one, closed. */
static repeat_t *take(int win)
{
	repeat_t *lru = &rep.slot[0];
	for (int i = 0; i < LOG_REPEAT_SLOTS; i++) {
		repeat_t *s = &rep.slot[i];
		if (s->hash == 0)
			return s;
		if (s->seen < lru->seen)
			lru = s;
	}
	close_slot(lru, win);
	return lru;
}

/* Closes each window when it ends, so a count is written even when the
 * message stops. */
static void *flusher_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&rep.lock);
	for (;;) {
		int win = atomic_load(&window_ms);
		uint64_t now = mono_ms();
		close_expired(now, win);
		uint64_t next = 0;
		for (int i = 0; i < LOG_REPEAT_SLOTS; i++) {
			repeat_t *s = &rep.slot[i];
			uint64_t end = s->opened + (uint64_t)win;
			if (s->hash && s->repeats && (next == 0 || end < next))
				next = end;
		}
		if (next == 0) {
			pthread_cond_wait(&rep.wake, &rep.lock);
			continue;
		}
		struct timespec ts = {(time_t)(next / 1000),
				      (long)(next % 1000) * 1000000};
		pthread_cond_timedwait(&rep.wake, &rep.lock, &ts);
	}
	return NULL;
}

static void start_flusher(void)
{
	static bool tried;
	if (tried)
		return;
	tried = true;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rep.wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	/* without it, counts are still written by later lines and at exit */
	rep.flusher = pthread_create(&t, &a, flusher_main, NULL) == 0;
	pthread_attr_destroy(&a);
}

static void log_repeatable(int level, const char *src, int line,
			   const char *msg, int win)
{
	uint64_t h = msg_hash(level, msg);
	pthread_mutex_lock(&rep.lock);
	uint64_t now = mono_ms();
	close_expired(now, win);
	repeat_t *s = find(h, level, msg);
	if (s != NULL) {
		s->seen = now;
		if (s->repeats++ == 0) {
			if (!rep.flusher)
				start_flusher();
			else
				pthread_cond_signal(&rep.wake);
		}
	} else {
		s = take(win);
		s->hash = h;
		s->level = level;
		s->opened = s->seen = now;
		s->repeats = 0;
		s->src = src;
		s->line = line;
		snprintf(s->msg, sizeof(s->msg), "%s", msg);
		emit(level, src, line, msg, 0, win);
	}
	pthread_mutex_unlock(&rep.lock);
}

void log_flush(void)
{
	pthread_mutex_lock(&rep.lock);
	for (int i = 0; i < LOG_REPEAT_SLOTS; i++)
		if (rep.slot[i].hash)
			close_slot(&rep.slot[i], atomic_load(&window_ms));
	pthread_mutex_unlock(&rep.lock);
}

static void vlog(int level, const char *src, int line, const char *fmt,
		 va_list ap)
{
	if (!log_enabled(level))
		return;
	char msg[MSG_MAX];
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	int win = atomic_load(&window_ms);
	if (level <= LOG_WARN && win > 0) {
		log_repeatable(level, src, line, msg, win);
	} else if (level == LOG_INFO && win > 0) {
		/* an info line tells of a change (a store back, a reload):
		 * the counts so far come before it, and a warning after it
		 * is written again */
		pthread_mutex_lock(&rep.lock);
		for (int i = 0; i < LOG_REPEAT_SLOTS; i++)
			if (rep.slot[i].hash)
				close_slot(&rep.slot[i], win);
		emit(level, src, line, msg, 0, win);
		pthread_mutex_unlock(&rep.lock);
	} else {
		emit(level, src, line, msg, 0, win);
	}
}

void log_msg_at(int level, const char *src, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, src, line, fmt, ap);
	va_end(ap);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, NULL, 0, fmt, ap);
	va_end(ap);
}
