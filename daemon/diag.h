/* Diagnostics for configuration and rule files: every problem is collected
 * as "FILE:LINE: message" so `qingfengd -n` can report all of them at once
 * and a reload can log why it kept the old configuration. */
#ifndef QF_DIAG_H
#define QF_DIAG_H

#include "util.h"

struct diag {
	struct buf text; /* one message per line */
	int errors;
};

void diag_init(struct diag *d);
void diag_free(struct diag *d);
void diag_error(struct diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* writes every message to stderr (for -n and qfctl) */
void diag_print(const struct diag *d);
/* logs every message at error level (for the running daemon) */
void diag_log(const struct diag *d);

#endif
