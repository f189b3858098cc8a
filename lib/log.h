/* Logging to syslog (LOG_MAIL) or to stderr, one line per event, each
 * prefixed with the session id when one is set. Never logs passwords:
 * callers pass "********" instead. */
#ifndef LIB_LOG_H
#define LIB_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Start logging as ident, to stderr when to_stderr, else syslog LOG_MAIL.
 * Before log_open() is called messages go to stderr at level INFO. When
 * stderr is not a terminal and is the stream JOURNAL_STREAM names (as
 * systemd sets it), each stderr line starts with its sd-daemon priority:
 * "<3>" error, "<4>" warn, "<6>" info, "<7>" debug. */
void log_open(const char *ident, bool to_stderr, enum log_level level);
void log_set_level(enum log_level level);
/* Parse "error", "warn", "info" or "debug". Returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *level_r);
/* Set the session id put before each line (NULL clears it). The string is
 * copied. */
void log_set_session(const char *id);
const char *log_session(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
