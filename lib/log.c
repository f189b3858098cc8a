/* Line-oriented logging to syslog or stderr (see log.h). On a stderr
 * that systemd connected to the journal, each line starts with the
 * sd-daemon(3) "<N>" priority, so the journal keeps each line's level. */
#include "log.h"

#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "num.h"

static bool log_stderr = true;
static bool log_journal; /* stderr is systemd's journal stream */
static enum log_level log_max = LOG_LEVEL_INFO;
static char log_ident[32] = "imapmoved";
static char log_sid[64];

/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it gives the
 * service as stdout/stderr (systemd.exec(5)). A child whose stderr went
 * elsewhere (a terminal, a file) inherits the variable but not the
 * stream, hence the comparison with stderr itself. */
static bool
stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM"), *colon;
	uint64_t dev, ino;
	struct stat st;

	if (v == NULL || isatty(STDERR_FILENO) || fstat(STDERR_FILENO, &st) < 0)
		return false;
	colon = strchr(v, ':');
	if (colon == NULL ||
	    num_parse_u64(v, (size_t)(colon - v), UINT64_MAX, &dev) < 0 ||
	    num_parse_str_u64(colon + 1, UINT64_MAX, &ino) < 0)
		return false;
	return dev == (uint64_t)st.st_dev && ino == (uint64_t)st.st_ino;
}

void
log_open(const char *ident, bool to_stderr, enum log_level level)
{
	(void)snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_stderr = to_stderr;
	log_journal = to_stderr && stderr_is_journal();
	log_max = level;
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_level(enum log_level level)
{
	log_max = level;
}

int
log_level_parse(const char *s, enum log_level *level_r)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*level_r = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_set_session(const char *id)
{
	(void)snprintf(log_sid, sizeof(log_sid), "%s", id ? id : "");
}

const char *
log_session(void)
{
	return log_sid;
}

static void __attribute__((format(printf, 2, 0)))
log_v(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *const tag[] = {"error", "warn", "info", "debug"};
	/* sd-daemon(3) prefixes: the syslog priorities 3, 4, 6 and 7. */
	static const char *const sd_prefix[] = {"<3>", "<4>", "<6>", "<7>"};
	char msg[2048];

	if (level > log_max)
		return;
	/* Truncation is acceptable for a log line. */
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_stderr) {
		(void)fprintf(stderr, "%s%s[%ld]: %s: %s%s%s\n",
			      log_journal ? sd_prefix[level] : "", log_ident,
			      (long)getpid(), tag[level], log_sid,
			      log_sid[0] ? ": " : "", msg);
		return;
	}
	syslog(prio[level], "%s%s%s", log_sid, log_sid[0] ? ": " : "", msg);
}

#define LOG_FN(name, level)                                                    \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_v(level, fmt, ap);                                         \
		va_end(ap);                                                    \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)
