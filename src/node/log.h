/* Levelled logging to stderr, as text or as JSON Lines:
 *   2026-11-22T12:00:00Z info: text
 *   {"time":"2026-11-22T12:00:00.123Z","level":"info","module":"udp",
 *    "src":"src/node/udp.c:140","msg":"text"}
 * Warnings and errors repeated word for word (level, format and arguments
 * as rendered) within a window (10 s) are written once; when the window
 * closes the count of the others follows on one line ("... (repeated N
 * more times in 10 s)"; JSON: "repeated":N). An info line closes every
 * window first (it tells of a change: what repeats after it is written
 * again). Up to LOG_REPEAT_SLOTS distinct messages are tracked at once: a
 * new one evicts the least recently seen, whose count is written then.
 * Thread-safe. */
#ifndef IDN_NODE_LOG_H
#define IDN_NODE_LOG_H

#include <stdio.h>

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
enum { LOG_TEXT = 0, LOG_JSON = 1 };

#define LOG_REPEAT_SLOTS 32
#define LOG_REPEAT_WINDOW_MS 10000

/* Sets the most verbose level that is printed (default LOG_INFO). */
void log_set_level(int level);
/* Parses "error", "warn", "info" or "debug"; -1 if unknown. */
int log_level_parse(const char *s);
int log_enabled(int level);

/* Sets LOG_TEXT (default) or LOG_JSON. */
void log_set_format(int format);
/* Parses "text" or "json"; -1 if unknown. */
int log_format_parse(const char *s);

/* Where lines go (default stderr; tests). Set before other threads log. */
void log_set_output(FILE *out);
/* The window within which repeats are collapsed, in milliseconds; 0 turns
 * collapsing off (tests shorten it). */
void log_set_repeat_window(int ms);
/* Writes the counts of every open window now (at exit). */
void log_flush(void);

/* src and line name the call site (NULL: none); line 0 names a module
 * (src) without a line. */
void log_msg_at(int level, const char *src, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg_at(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_msg_at(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_msg_at(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_enabled(LOG_DEBUG))                                    \
			log_msg_at(LOG_DEBUG, __FILE__, __LINE__,              \
				   __VA_ARGS__);                               \
	} while (0)

#endif
