/* Shared by the fuzz targets (tests/fuzz/fuzz_*.c): an input reader, a
 * private temp dir for parsers that take a path, a guard on which files
 * the parsers may open, and independent checks (oracles) that do not use
 * the code under test. Each target is one .c file that includes this. */
#ifndef QF_FUZZ_H
#define QF_FUZZ_H

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* not every target uses every helper */
#define FZ static __attribute__((unused))

/* An invariant that must hold: print what broke and abort(), which
 * libFuzzer (and replay_main) report as a crash with the input saved. */
__attribute__((format(printf, 2, 3), noreturn)) FZ void fuzz_fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\nqf-fuzz: invariant violated: %s\n  ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define FUZZ_CHECK(cond, ...)                                     \
	do {                                                      \
		if (!(cond))                                      \
			fuzz_fail(#cond, __VA_ARGS__);            \
	} while (0)

/* ------------------------------------------------------------------ */
/* reading the input                                                   */

struct fdp {
	const uint8_t *p;
	size_t n;
};

FZ uint8_t fdp_byte(struct fdp *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

FZ uint64_t fdp_u64(struct fdp *f, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | fdp_byte(f);
	return v;
}

/* The next NUL-terminated piece (or the rest), as a fresh C string;
 * NULL when the input is used up. */
FZ char *fdp_str(struct fdp *f)
{
	const uint8_t *z;
	size_t len;
	char *s;

	if (!f->n)
		return NULL;
	z = memchr(f->p, 0, f->n);
	len = z ? (size_t)(z - f->p) : f->n;
	s = malloc(len + 1);
	if (!s)
		abort();
	memcpy(s, f->p, len);
	s[len] = '\0';
	f->p += len + (z ? 1 : 0);
	f->n -= len + (z ? 1 : 0);
	return s;
}

/* ------------------------------------------------------------------ */
/* files                                                               */

FZ char fuzz_dir[PATH_MAX];

FZ void fuzz_rmdir(void)
{
	char path[PATH_MAX + 16];
	const char *names[] = { "in.conf", "cfg.conf" };

	if (!fuzz_dir[0])
		return;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", fuzz_dir, names[i]);
		unlink(path);
	}
	rmdir(fuzz_dir);
}

/* A private directory under $TMPDIR (tests/fuzz/run.sh points that at its
 * work dir), removed at exit. */
FZ const char *fuzz_tmpdir(void)
{
	if (!fuzz_dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(fuzz_dir, sizeof fuzz_dir, "%s/qf-fuzz.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(fuzz_dir)) {
			perror("qf-fuzz: mkdtemp");
			abort();
		}
		atexit(fuzz_rmdir);
	}
	return fuzz_dir;
}

/* Writes data to NAME in the private directory; returns the path (static). */
FZ const char *fuzz_write(const char *name, const void *data, size_t n)
{
	static char path[2][PATH_MAX + 16];
	static int k;
	char *p = path[k++ & 1];
	int fd;

	snprintf(p, PATH_MAX + 16, "%s/%s", fuzz_tmpdir(), name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (n && write(fd, data, n) != (ssize_t)n) || close(fd) < 0) {
		perror("qf-fuzz: writing the input");
		abort();
	}
	return p;
}

/*
 * The file guard. The parsers open files the input names: libconfig's
 * @include, a receiver's url_file and secret_file. A mutated input can
 * name /dev/zero, /dev/stdin or /proc/kmsg, which never end or block: a
 * hang or an out-of-memory that says nothing about qingfeng (it reads
 * what its administrator names, as it should). While fuzz_guard is on,
 * fopen() refuses anything but a regular file of at most 1 MB or a
 * directory outside /dev, /proc and /sys. Defining fopen here interposes
 * on every caller in the process, libconfig's included; the real one is
 * the next definition (libc's, or the sanitizer's interceptor).
 */
FZ bool fuzz_guard;

FZ bool fuzz_path_ok(const char *path)
{
	char real[PATH_MAX];
	struct stat st;

	if (!path || !realpath(path, real))
		return true; /* fopen will fail on its own */
	if (!strncmp(real, "/dev", 4) || !strncmp(real, "/proc", 5) || !strncmp(real, "/sys", 4))
		return false;
	if (stat(real, &st) < 0)
		return true;
	return S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size <= (1 << 20));
}

typedef FILE *(*fopen_fn)(const char *, const char *);

FZ FILE *guarded_fopen(const char *sym, const char *path, const char *mode)
{
	static fopen_fn real[2];
	int k = sym[5] == '6';

	if (!real[k] && !(real[k] = (fopen_fn)(uintptr_t)dlsym(RTLD_NEXT, sym)))
		abort();
	if (fuzz_guard && !fuzz_path_ok(path)) {
		errno = EACCES;
		return NULL;
	}
	return real[k](path, mode);
}

FILE *fopen(const char *path, const char *mode);
FILE *fopen64(const char *path, const char *mode);
FILE *fopen(const char *path, const char *mode)
{
	return guarded_fopen("fopen", path, mode);
}
FILE *fopen64(const char *path, const char *mode)
{
	return guarded_fopen("fopen64", path, mode);
}

/* ------------------------------------------------------------------ */
/* oracles                                                             */

/* RFC 3629 UTF-8, decoded to code points and range-checked: written
 * independently of daemon/utf8.c, to check it and what uses it. */
FZ bool oracle_utf8(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		unsigned c = u[i], cp, len, min;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0)
			len = 2, cp = c & 0x1F, min = 0x80;
		else if ((c & 0xF0) == 0xE0)
			len = 3, cp = c & 0x0F, min = 0x800;
		else if ((c & 0xF8) == 0xF0)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (n - i < len)
			return false;
		for (unsigned k = 1; k < len; k++) {
			if ((u[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (u[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

/* Every "FILE:LINE: message" line of a diag text; the number of them, or
 * -1 at the first line that is not one. */
FZ int diag_lines(const char *text, size_t len)
{
	int n = 0;

	for (size_t i = 0; i < len;) {
		const char *l = text + i, *nl = memchr(l, '\n', len - i);
		if (!nl)
			return -1; /* every message ends its line */
		/* FILE is anything up to the last ":DIGITS: " of the line's head */
		const char *c = NULL;
		for (const char *p = l; p + 2 < nl; p++)
			if (p[0] == ':' && p[1] >= '0' && p[1] <= '9') {
				const char *q = p + 1;
				while (q < nl && *q >= '0' && *q <= '9')
					q++;
				if (q + 1 < nl && q[0] == ':' && q[1] == ' ') {
					c = p;
					break;
				}
			}
		if (!c || c == l)
			return -1;
		n++;
		i = (size_t)(nl - text) + 1;
	}
	return n;
}

#ifdef QF_DIAG_H
/* A parser's diagnostics: one "FILE:LINE: message" line per error, the
 * same text from diag_print(), and one log line per error from
 * diag_log(). Their output is captured: stderr (the FILE, not fd 2, where
 * the sanitizers and libFuzzer report) points at a memory stream. */
FZ void check_diag(const struct diag *d, const char *what)
{
	char *out = NULL, *log = NULL;
	size_t outn = 0, logn = 0;
	FILE *saved = stderr;
	int lines = diag_lines(d->text.data ? d->text.data : "", d->text.len);

	FUZZ_CHECK(lines == d->errors, "%s: %d errors, but the diagnostics have %d FILE:LINE lines:\n%.2000s", what,
		   d->errors, lines, d->text.data ? d->text.data : "");
	stderr = open_memstream(&out, &outn);
	if (!stderr)
		abort();
	diag_print(d);
	fclose(stderr);
	stderr = open_memstream(&log, &logn);
	if (!stderr)
		abort();
	diag_log(d);
	fclose(stderr);
	stderr = saved;
	FUZZ_CHECK(outn == d->text.len && (!outn || !memcmp(out, d->text.data, outn)), "%s: diag_print changed the text",
		   what);
	int loglines = 0;
	for (size_t i = 0; i < logn; i++)
		loglines += log[i] == '\n';
	FUZZ_CHECK(loglines == d->errors, "%s: diag_log wrote %d lines for %d errors", what, loglines, d->errors);
	free(out);
	free(log);
}
#endif

#endif
