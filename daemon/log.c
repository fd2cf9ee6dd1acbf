/* Logging: one line per message on stderr. Under systemd (JOURNAL_STREAM
 * names our stderr) lines carry "<N>" priority prefixes that journald
 * parses; on a terminal they carry the program name and level instead. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *prog = "qingfeng";
static int max_level = QF_LOG_INFO;
static bool journal;

static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%lu:%lu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void log_init(const char *progname, int level)
{
	prog = progname;
	max_level = level;
	journal = stderr_is_journal();
}

void log_set_level(int level)
{
	max_level = level;
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
	static const char *names[] = {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};
	char line[4096];
	int n;

	if (level > max_level)
		return;
	if (journal)
		n = snprintf(line, sizeof line, "<%d>", level);
	else
		n = snprintf(line, sizeof line, "%s: %s: ", prog, names[level & 7]);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	/* one write per line so concurrent writers never interleave mid-line */
	size_t len = strlen(line);
	if (len + 1 < sizeof line) {
		line[len++] = '\n';
		line[len] = '\0';
	} else {
		line[sizeof line - 2] = '\n';
		len = sizeof line - 1;
	}
	fwrite(line, 1, len, stderr);
	fflush(stderr);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
