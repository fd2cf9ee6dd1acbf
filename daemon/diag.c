/* Collected FILE:LINE diagnostics. */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

void diag_init(struct diag *d)
{
	buf_init(&d->text);
	d->errors = 0;
}

void diag_free(struct diag *d)
{
	buf_free(&d->text);
	d->errors = 0;
}

void diag_error(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	buf_printf(&d->text, "%s:%d: %s\n", file ? file : "(unknown)", line, msg);
	d->errors++;
}

void diag_print(const struct diag *d)
{
	if (d->text.len)
		fwrite(d->text.data, 1, d->text.len, stderr);
}

void diag_log(const struct diag *d)
{
	const char *p = d->text.data;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		log_err("%.*s", n, p);
		p += n + (nl ? 1 : 0);
	}
}
