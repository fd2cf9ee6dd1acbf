/*
 * qf-receiver: a tiny loopback-only HTTP webhook receiver for qingfeng's
 * integration tests and `make demo`.
 *
 * It records every POSTed alert as one JSON line (-o), can verify the
 * X-Qingfeng-Signature HMAC (-s), answers from a scripted list of status
 * codes / hangs / delays (-r) so tests can exercise qingfeng's retry and
 * timeout paths, and can pretty-print alerts in Chinese + English (-P).
 *
 * With --emulate dingtalk|wecom|feishu|slack it answers like that vendor's
 * chat robot API instead (RECEIVERS.md): signature and timestamp checks
 * with -s as the robot's secret, the vendors' size and rate limits, and
 * their error codes in an HTTP 200 JSON body (slack: "ok", or a real 429
 * with Retry-After). The -r script still applies on top: a scripted status
 * other than 200 is answered as before, without asking the "vendor".
 *
 * -m caps the bodies it takes (413 beyond), as a proxy's client_max_body_size
 * does; -E makes its scripted error answers echo the request's path and
 * query, as a proxy's error page does ("no route for /hook/TOKEN?key=K"),
 * so tests can check that such echoes never reach qingfeng's logs.
 *
 * Threading model: libmicrohttpd thread-per-connection, so a delayed or
 * hanging answer simply sleeps in its own connection thread without
 * blocking anybody else.  Every sleep polls a shutdown flag, which is what
 * lets SIGTERM stop the daemon promptly even while a request hangs.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define PROG "qf-receiver"
#define MAX_BODY ((size_t)1 << 20) /* larger bodies get 413 (-m: less) */
#define STATUS_HANG (-1)           /* script element "hang" */
#define MAX_DELAY_MS 3600000L      /* an hour is already absurd for a test */
#define POLL_MS 50                 /* how often sleepers look at the stop flag */
#define IDLE_TIMEOUT_S 30          /* drop idle keep-alive connections */
#define PRETTY_RAW_MAX 2000        /* bytes of a non-alert body shown by -P */
#define ROBOT_WINDOW 128           /* accepted sends remembered per robot (>= 100/min) */

/* One element of the -r script. */
struct step {
	int status;	  /* 100..599, or STATUS_HANG */
	long delay_ms;	  /* "@MS" suffix, 0 if absent */
	long retry_after; /* "~S" suffix: a Retry-After header of S seconds, 0 if absent */
};

/* --emulate: which vendor API to behave like */
enum emulation { EMU_NONE, EMU_DINGTALK, EMU_WECOM, EMU_FEISHU, EMU_SLACK };

static const char *const EMU_NAMES[] = { "", "dingtalk", "wecom", "feishu", "slack" };

/* One robot (access token, key or hook path) and its recent accepted sends. */
struct robot {
	struct robot *next;
	char *id;
	int64_t sent_ms[ROBOT_WINDOW]; /* ring of accept times, realtime ms */
	unsigned head, count;
};

/* What the emulated vendor answered. */
struct vendor_answer {
	int status;          /* HTTP status */
	char *body;          /* answer body, malloc'd */
	const char *ctype;
	json_t *code;        /* errcode / code (integer), or slack's answer (string) */
	int sig_ok;          /* -1 not checked, else whether signature and timestamp passed */
	long retry_after;    /* seconds, for slack's 429; 0 = no header */
};

/*
 * Everything the handlers need.  Only `mu`-protected fields and `stopping`
 * change after start-up; the rest is read-only configuration.
 */
struct receiver {
	struct sockaddr_in addr;
	const char *port_file;
	const char *secret;
	size_t secret_len;
	struct step *steps;
	size_t nsteps;
	bool pretty, quiet;
	bool color; /* -P on a terminal, unless NO_COLOR is set */
	bool echo;  /* -E: scripted error answers echo the request line */
	size_t max_body;
	FILE *log;
	enum emulation emulate;

	pthread_mutex_t mu; /* guards next_n, robots and all writes to log/stdout */
	struct robot *robots;
	uint64_t next_n;
	atomic_bool stopping; /* set by main before MHD_stop_daemon */
};

/* Per-POST state, owned by MHD's req_cls and freed in on_completed(). */
struct request {
	uint64_t n;
	const struct step *step;
	char *body;
	size_t len, cap;
	uint64_t total; /* bytes received, including any discarded beyond MAX_BODY */
	bool too_large;
	bool answered; /* finish() already ran; ignore any further upload data */
};

/* req_cls of a GET/HEAD request: just a unique address, never freed. */
static const char GET_MARK;

/* Set from the signal handler; only the main thread reads it. */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [options]\n"
		"  -l, --listen ADDR:PORT   loopback address to listen on (127.0.0.0/8 only),\n"
		"                           default 127.0.0.1:0 (ephemeral port)\n"
		"  -p, --port-file FILE     write the bound port to FILE (atomically) once listening\n"
		"  -s, --secret SECRET      verify X-Qingfeng-Signature (t=..,v1=hex HMAC-SHA256);\n"
		"                           with --emulate: the robot's signing secret\n"
		"                           (dingtalk, feishu; wecom and slack do not sign)\n"
		"  -e, --emulate FORMAT     answer like the dingtalk, wecom, feishu or slack\n"
		"                           robot API: checks, limits and error codes\n"
		"  -r, --responses LIST     answer script, e.g. 500,200 or hang,200 or 200@10;\n"
		"                           429~3 answers 429 with Retry-After: 3;\n"
		"                           the last element repeats (default 200)\n"
		"  -m, --max-body BYTES     answer 413 to bodies larger than BYTES (default and\n"
		"                           most 1048576)\n"
		"  -E, --echo               scripted error answers (not the emulated vendor's)\n"
		"                           echo the request's path and query in a text body,\n"
		"                           as a proxy's error page does\n"
		"  -o, --log FILE           append one JSON line per received request\n"
		"                           (with --emulate also \"vendor_code\", the code answered)\n"
		"  -P, --pretty             print each alert to stdout in a line or two (level,\n"
		"                           rule, title, department, signature check, message;\n"
		"                           in colour on a terminal unless NO_COLOR is set)\n"
		"  -q, --quiet              no start-up line on stderr\n"
		"  -h, --help               this text\n"
		"GET /healthz answers 200 \"ok\"; POST is recorded; other methods get 405.\n");
}

__attribute__((format(printf, 1, 2)))
static _Noreturn void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n(try --help)\n");
	va_end(ap);
	exit(EX_USAGE);
}

/* Strict decimal parse: digits only, no sign, no spaces, within [lo, hi]. */
static bool parse_ulong(const char *s, size_t n, unsigned long lo,
			unsigned long hi, unsigned long *out)
{
	unsigned long long v = 0; /* 10 digits always fit: no overflow checks */

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = (unsigned long)v;
	return true;
}

/*
 * Sleep up to ms milliseconds in POLL_MS slices.  Returns false if shutdown
 * began meanwhile, so callers can abandon the request instead of holding up
 * MHD_stop_daemon (which joins every connection thread).
 */
static bool sleep_ms(struct receiver *rx, long ms)
{
	while (ms > 0) {
		if (atomic_load(&rx->stopping))
			return false;
		long step = ms < POLL_MS ? ms : POLL_MS;
		struct timespec ts = { step / 1000, (step % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return !atomic_load(&rx->stopping);
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp, min;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, cp = c & 0x1F, min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3, cp = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/*
 * A JSON string for arbitrary bytes.  jansson refuses to *dump* invalid
 * UTF-8 even when it was stored with json_stringn_nocheck (json_dumps then
 * returns NULL and the whole log line would be lost), so invalid bytes are
 * replaced by U+FFFD here; callers keep the exact bytes elsewhere if needed.
 * *valid (optional) reports whether the input was clean UTF-8.
 */
static json_t *json_text(const char *s, size_t n, bool *valid)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n && (k = utf8_seq(u + i, n - i)) != 0)
		i += k;
	if (valid)
		*valid = (i == n);
	if (i == n)
		return json_stringn(s, n);

	char *buf = malloc(n * 3 + 1); /* worst case: every byte -> EF BF BD */
	if (!buf)
		return NULL;
	size_t o = 0;
	for (i = 0; i < n;) {
		k = utf8_seq(u + i, n - i);
		if (k) {
			memcpy(buf + o, s + i, k);
			o += k, i += k;
		} else {
			memcpy(buf + o, "\xEF\xBF\xBD", 3);
			o += 3, i += 1;
		}
	}
	json_t *j = json_stringn_nocheck(buf, o);
	free(buf);
	return j;
}

static json_t *json_text_or_null(const char *s)
{
	return s ? json_text(s, strlen(s), NULL) : json_null();
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* ------------------------------------------------------------------ */
/* option parsing                                                      */

static void parse_listen(struct receiver *rx, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	char host[INET_ADDRSTRLEN];
	unsigned long port;

	if (!colon || (size_t)(colon - arg) >= sizeof host)
		die_usage("--listen wants ADDR:PORT (IPv4), got '%s'", arg);
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';

	memset(&rx->addr, 0, sizeof rx->addr);
	rx->addr.sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &rx->addr.sin_addr) != 1)
		die_usage("--listen: '%s' is not an IPv4 address", host);
	/* Hard rule: this is a test tool and must never be reachable from outside. */
	if ((ntohl(rx->addr.sin_addr.s_addr) >> 24) != 127)
		die_usage("--listen: refusing to listen on %s: only loopback "
			  "addresses (127.0.0.0/8) are allowed", host);
	if (!parse_ulong(colon + 1, strlen(colon + 1), 0, 65535, &port))
		die_usage("--listen: bad port '%s' (0..65535)", colon + 1);
	rx->addr.sin_port = htons((uint16_t)port);
}

static void parse_responses(struct receiver *rx, const char *arg)
{
	size_t count = 1;

	for (const char *p = arg; *p; p++)
		count += (*p == ',');
	rx->steps = calloc(count, sizeof *rx->steps);
	if (!rx->steps) {
		perror(PROG);
		exit(1);
	}
	rx->nsteps = 0;

	const char *p = arg;
	for (;;) {
		size_t len = strcspn(p, ",");
		const char *at = memchr(p, '@', len);
		size_t slen = at ? (size_t)(at - p) : len;
		struct step *st = &rx->steps[rx->nsteps++];
		unsigned long v;
		const char *tilde = memchr(p, '~', slen);
		if (tilde) {
			if (!parse_ulong(tilde + 1, slen - (size_t)(tilde - p) - 1, 1, 86400, &v))
				die_usage("--responses: bad ~SECONDS Retry-After in '%s'", arg);
			st->retry_after = (long)v;
			slen = (size_t)(tilde - p);
		}

		if (slen == 4 && memcmp(p, "hang", 4) == 0) {
			if (at)
				die_usage("--responses: 'hang' takes no @delay ('%s')", arg);
			st->status = STATUS_HANG;
		} else if (parse_ulong(p, slen, 100, 599, &v)) {
			st->status = (int)v;
		} else {
			die_usage("--responses: each element must be a status 100..599 "
				  "or 'hang', optionally with @MS ('%s')", arg);
		}
		if (at) {
			if (!parse_ulong(at + 1, len - slen - 1, 0, MAX_DELAY_MS, &v))
				die_usage("--responses: bad @MS delay in '%s'", arg);
			st->delay_ms = (long)v;
		}
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
}

static void parse_args(struct receiver *rx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "secret", required_argument, NULL, 's' },
		{ "responses", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'o' },
		{ "pretty", no_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "emulate", required_argument, NULL, 'e' },
		{ "max-body", required_argument, NULL, 'm' },
		{ "echo", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = "127.0.0.1:0", *responses = "200";
	const char *log_path = NULL, *emulate = NULL;
	unsigned long max_body = MAX_BODY;
	int c;

	while ((c = getopt_long(argc, argv, "l:p:s:r:o:Pqe:m:Eh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'p': rx->port_file = optarg; break;
		case 's': rx->secret = optarg; break;
		case 'r': responses = optarg; break;
		case 'o': log_path = optarg; break;
		case 'P':
			rx->pretty = true;
			rx->color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
			break;
		case 'q': rx->quiet = true; break;
		case 'e': emulate = optarg; break;
		case 'm':
			if (!parse_ulong(optarg, strlen(optarg), 1, MAX_BODY, &max_body))
				die_usage("--max-body wants 1..%zu bytes, got '%s'", MAX_BODY, optarg);
			break;
		case 'E': rx->echo = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(EX_USAGE);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	rx->max_body = max_body;
	if (emulate) {
		for (int i = EMU_DINGTALK; i <= EMU_SLACK && !rx->emulate; i++)
			if (!strcmp(emulate, EMU_NAMES[i]))
				rx->emulate = (enum emulation)i;
		if (!rx->emulate)
			die_usage("--emulate wants dingtalk, wecom, feishu or slack, got '%s'", emulate);
	}
	if (rx->port_file && !*rx->port_file)
		die_usage("--port-file: empty file name");
	if (rx->secret) {
		/* An empty key is almost certainly a quoting mistake in a test script. */
		if (!*rx->secret)
			die_usage("--secret: empty secret");
		rx->secret_len = strlen(rx->secret);
		if (rx->secret_len > INT_MAX)
			die_usage("--secret: too long");
	}
	parse_listen(rx, listen);
	parse_responses(rx, responses);

	if (log_path) {
		rx->log = fopen(log_path, "ae");
		if (!rx->log) {
			fprintf(stderr, PROG ": cannot open log %s: %s\n", log_path,
				strerror(errno));
			exit(1);
		}
	}
}

/* ------------------------------------------------------------------ */
/* signature                                                           */

/*
 * Header format "t=<unix seconds>,v1=<64 lowercase hex>".  Parsed strictly
 * on purpose: the point of the check is to catch qingfeng signing bugs
 * (uppercase hex, missing timestamp, ...), not to be lenient.  No freshness
 * window is enforced, so tests can replay fixed timestamps.
 */
static bool verify_signature(const struct receiver *rx, const char *hdr,
			     const char *body, size_t len)
{
	static const char hexdigits[] = "0123456789abcdef";
	const char *t = NULL, *v1 = NULL;
	size_t tlen = 0, v1len = 0;
	unsigned long dummy;

	if (!hdr)
		return false;
	for (const char *p = hdr;;) {
		size_t seg = strcspn(p, ",");
		if (seg > 2 && !strncmp(p, "t=", 2) && !t)
			t = p + 2, tlen = seg - 2;
		else if (seg > 3 && !strncmp(p, "v1=", 3) && !v1)
			v1 = p + 3, v1len = seg - 3;
		else
			return false; /* unknown, empty or repeated element */
		if (!p[seg])
			break;
		p += seg + 1;
	}
	if (!t || !v1 || v1len != 64)
		return false;
	/* parse_ulong caps at 10 digits, i.e. any plausible unix time */
	if (!parse_ulong(t, tlen, 0, ULONG_MAX, &dummy))
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!v1[i] || !strchr(hexdigits, v1[i]))
			return false;

	/* message = "<t>." + raw body */
	size_t mlen = tlen + 1 + len;
	unsigned char *msg = malloc(mlen ? mlen : 1);
	if (!msg)
		return false;
	memcpy(msg, t, tlen);
	msg[tlen] = '.';
	if (len)
		memcpy(msg + tlen + 1, body, len);

	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	bool ok = false;
	if (HMAC(EVP_sha256(), rx->secret, (int)rx->secret_len, msg, mlen, mac,
		 &maclen) && maclen == 32) {
		char hex[64];
		for (unsigned i = 0; i < 32; i++) {
			hex[2 * i] = hexdigits[mac[i] >> 4];
			hex[2 * i + 1] = hexdigits[mac[i] & 15];
		}
		ok = CRYPTO_memcmp(hex, v1, 64) == 0;
	}
	free(msg);
	return ok;
}

/* ------------------------------------------------------------------ */
/* request log                                                         */

struct query_ctx {
	json_t *obj;
	FILE *path; /* memstream rebuilding "?k=v&..." */
	bool first;
};

static void put_urlenc(FILE *f, const char *s)
{
	for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
		if ((*u >= 'A' && *u <= 'Z') || (*u >= 'a' && *u <= 'z') ||
		    (*u >= '0' && *u <= '9') || strchr("-._~", *u))
			fputc(*u, f);
		else
			fprintf(f, "%%%02X", *u);
	}
}

/* MHD hands us decoded arguments, so the query string is re-encoded. */
static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind,
				  const char *key, const char *value)
{
	struct query_ctx *q = cls;

	(void)kind;
	json_object_set_new(q->obj, key, json_text_or_null(value));
	fputc(q->first ? '?' : '&', q->path);
	q->first = false;
	put_urlenc(q->path, key);
	if (value) {
		fputc('=', q->path);
		put_urlenc(q->path, value);
	}
	return MHD_YES;
}

/* MHD's decoded arguments as " (k: v, k2: v2)": a proxy's page may show
 * them decoded as well */
static enum MHD_Result decoded_iter(void *cls, enum MHD_ValueKind kind,
				    const char *key, const char *value)
{
	struct query_ctx *q = cls;

	(void)kind;
	fprintf(q->path, "%s%s: %s", q->first ? " (" : ", ", key, value ? value : "");
	q->first = false;
	return MHD_YES;
}

/* -E: the text of a proxy's "no route" page, echoing the request line
 * (path and query re-encoded, then the arguments decoded). Caller frees. */
static char *echo_text(struct MHD_Connection *c, const char *url)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_t *query = json_object();

	if (!f || !query) {
		if (f)
			fclose(f);
		json_decref(query);
		free(text);
		return NULL;
	}
	struct query_ctx q = { query, f, true };
	fputs("no route for ", f);
	fputs(url, f);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_iter, &q);
	q.first = true;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, decoded_iter, &q);
	if (!q.first)
		fputc(')', f);
	fputc('\n', f);
	json_decref(query);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static void write_log(struct receiver *rx, struct MHD_Connection *c,
		      const struct request *r, const char *url,
		      const char *method, int sig_ok, bool json_ok, int status,
		      const struct vendor_answer *va)
{
	json_t *o = json_object();
	json_t *query = json_object();
	char *path = NULL;
	size_t pathlen = 0;
	FILE *pf = open_memstream(&path, &pathlen);

	if (!o || !query || !pf)
		goto out;

	/* Rebuild "path?query" for tests that care about the exact URL. */
	fputs(url, pf);
	struct query_ctx q = { query, pf, true };
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_iter, &q);
	fclose(pf);
	pf = NULL;

	bool utf8 = true;
	json_t *body = r->too_large ? json_null()
				    : json_text(r->body ? r->body : "", r->len, &utf8);

	json_object_set_new(o, "n", json_integer((json_int_t)r->n));
	{ /* arrival time (wall clock, µs), for latency measurements */
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		json_object_set_new(o, "t", json_real((double)now.tv_sec + (double)now.tv_nsec / 1e9));
	}
	json_object_set_new(o, "method", json_text_or_null(method));
	json_object_set_new(o, "path", json_text_or_null(path));
	json_object_set_new(o, "query", query);
	query = NULL;
	json_object_set_new(o, "content_type", json_text_or_null(header(c, MHD_HTTP_HEADER_CONTENT_TYPE)));
	json_object_set_new(o, "idempotency_key", json_text_or_null(header(c, "Idempotency-Key")));
	json_object_set_new(o, "signature", json_text_or_null(header(c, "X-Qingfeng-Signature")));
	json_object_set_new(o, "sig_ok", sig_ok < 0 ? json_null() : json_boolean(sig_ok));
	json_object_set_new(o, "body", body);
	json_object_set_new(o, "body_utf8", r->too_large ? json_null() : json_boolean(utf8));
	json_object_set_new(o, "body_bytes", json_integer((json_int_t)r->total));
	if (!utf8) {
		/* "body" had bytes replaced by U+FFFD; keep the exact bytes too. */
		size_t blen = 4 * ((r->len + 2) / 3) + 1;
		unsigned char *b64 = malloc(blen);
		if (b64 && r->len <= INT_MAX) {
			int k = EVP_EncodeBlock(b64, (const unsigned char *)r->body, (int)r->len);
			json_object_set_new(o, "body_base64", json_stringn((char *)b64, (size_t)k));
		}
		free(b64);
	}
	json_object_set_new(o, "json_ok", json_boolean(json_ok));
	json_object_set_new(o, "status", status == STATUS_HANG ? json_string("hang")
							       : json_integer(status));
	/* only in emulation mode: the code the vendor answered, null when the
	 * -r script answered instead */
	if (rx->emulate)
		json_object_set(o, "vendor_code", va && va->code ? va->code : json_null());

	char *line = json_dumps(o, JSON_COMPACT);
	if (line) {
		size_t n = strlen(line);
		char *nl = realloc(line, n + 2);
		if (nl) {
			line = nl;
			line[n] = '\n';
			/* One fwrite per line under the mutex: lines never interleave. */
			pthread_mutex_lock(&rx->mu);
			fwrite(line, 1, n + 1, rx->log);
			fflush(rx->log);
			pthread_mutex_unlock(&rx->mu);
		}
		free(line);
	} else {
		fprintf(stderr, PROG ": could not encode log line for request %" PRIu64 "\n", r->n);
	}
out:
	if (pf)
		fclose(pf);
	free(path);
	json_decref(query);
	json_decref(o);
}

/* ------------------------------------------------------------------ */
/* vendor emulation (--emulate)                                        */

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *qarg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

/* Strict decimal: 1..18 digits, no sign. */
static bool parse_i64(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;

	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* base64(HMAC-SHA256(key, msg)) == got, in constant time */
static bool hmac_b64_matches(const void *key, size_t keylen, const void *msg,
			     size_t msglen, const char *got)
{
	unsigned char mac[EVP_MAX_MD_SIZE], b64[48];
	unsigned maclen = 0;

	if (!got || keylen > INT_MAX ||
	    !HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, mac, &maclen) || maclen != 32)
		return false;
	int n = EVP_EncodeBlock(b64, mac, 32); /* 44 */
	return strlen(got) == (size_t)n && CRYPTO_memcmp(b64, got, (size_t)n) == 0;
}

/*
 * DingTalk: ?timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(key=secret,
 * "<ms>\n<secret>")))>, the timestamp within an hour of now. MHD hands us
 * the URL-decoded sign (and turns a raw '+' into a space, as the vendor's
 * decoder does, so a sender that forgot to URL-encode fails here too).
 */
static bool dingtalk_sign_ok(const struct receiver *rx, struct MHD_Connection *c,
			     const char **why)
{
	const char *ts = qarg(c, "timestamp"), *sign = qarg(c, "sign");
	int64_t t;

	*why = "sign not match";
	if (!ts || !sign || !parse_i64(ts, strlen(ts), &t))
		return false;
	if (llabs(realtime_ms() - t) > 3600 * 1000L) {
		*why = "invalid timestamp";
		return false;
	}
	size_t tlen = strlen(ts), mlen = tlen + 1 + rx->secret_len;
	char *msg = malloc(mlen);
	if (!msg)
		return false;
	memcpy(msg, ts, tlen);
	msg[tlen] = '\n';
	memcpy(msg + tlen + 1, rx->secret, rx->secret_len);
	bool ok = hmac_b64_matches(rx->secret, rx->secret_len, msg, mlen, sign);
	free(msg);
	return ok;
}

/*
 * Feishu: "timestamp" (seconds, a string; a number is accepted too) and
 * "sign" = base64(HMAC-SHA256(key="<timestamp>\n<secret>", msg="")) in the
 * body, the timestamp within an hour of now.
 */
static bool feishu_sign_ok(const struct receiver *rx, const json_t *doc)
{
	const json_t *jt = json_object_get(doc, "timestamp");
	const char *sign = json_string_value(json_object_get(doc, "sign"));
	char ts[24];
	int64_t t;

	if (json_is_string(jt) && json_string_length(jt) < sizeof ts)
		snprintf(ts, sizeof ts, "%s", json_string_value(jt));
	else if (json_is_integer(jt))
		snprintf(ts, sizeof ts, "%" JSON_INTEGER_FORMAT, json_integer_value(jt));
	else
		return false;
	if (!sign || !parse_i64(ts, strlen(ts), &t) || llabs(realtime_ms() / 1000 - t) > 3600)
		return false;
	size_t tlen = strlen(ts), klen = tlen + 1 + rx->secret_len;
	char *key = malloc(klen);
	if (!key)
		return false;
	memcpy(key, ts, tlen);
	key[tlen] = '\n';
	memcpy(key + tlen + 1, rx->secret, rx->secret_len);
	bool ok = hmac_b64_matches(key, klen, "", 0, sign);
	free(key);
	return ok;
}

/*
 * Sliding-window rate limits per robot: at most per_min accepted sends in
 * the last 60 s and (if per_sec) per_sec in the last second. Records the
 * send when it is allowed; otherwise *retry_s (optional) gets the seconds
 * until one would be. Rejected sends do not count, as with the vendors.
 */
static bool rate_take(struct receiver *rx, const char *id, unsigned per_min,
		      unsigned per_sec, long *retry_s)
{
	int64_t now = realtime_ms(), wait_ms = 0;
	unsigned in_min = 0, in_sec = 0;
	struct robot *rb;
	bool ok = true;

	pthread_mutex_lock(&rx->mu);
	for (rb = rx->robots; rb && strcmp(rb->id, id) != 0; rb = rb->next)
		;
	if (!rb) {
		rb = calloc(1, sizeof *rb);
		if (rb && !(rb->id = strdup(id))) {
			free(rb);
			rb = NULL;
		}
		if (!rb) {
			pthread_mutex_unlock(&rx->mu);
			return true; /* out of memory: do not invent a rate limit */
		}
		rb->next = rx->robots;
		rx->robots = rb;
	}
	/* newest first: the ring holds the last ROBOT_WINDOW accepted sends */
	for (unsigned k = 0; k < rb->count; k++) {
		int64_t t = rb->sent_ms[(rb->head + ROBOT_WINDOW - 1 - k) % ROBOT_WINDOW];
		if (now - t < 60000) {
			if (++in_min == per_min)
				wait_ms = t + 60000 - now;
		}
		if (now - t < 1000 && ++in_sec == per_sec && t + 1000 - now > wait_ms)
			wait_ms = t + 1000 - now;
	}
	if (in_min >= per_min || (per_sec && in_sec >= per_sec)) {
		ok = false;
	} else {
		rb->sent_ms[rb->head] = now;
		rb->head = (rb->head + 1) % ROBOT_WINDOW;
		if (rb->count < ROBOT_WINDOW)
			rb->count++;
	}
	pthread_mutex_unlock(&rx->mu);
	if (!ok && retry_s)
		*retry_s = wait_ms <= 0 ? 1 : (long)((wait_ms + 999) / 1000);
	return ok;
}

/* The JSON answer of dingtalk / wecom ({errcode, errmsg}) or feishu ({code, msg, data}). */
static void answer_code(struct vendor_answer *va, enum emulation e, long long code,
			const char *msg)
{
	json_t *o = json_object();

	if (e == EMU_FEISHU) {
		json_object_set_new(o, "code", json_integer(code));
		json_object_set_new(o, "msg", json_string(msg));
		json_object_set_new(o, "data", json_object());
	} else {
		json_object_set_new(o, "errcode", json_integer(code));
		json_object_set_new(o, "errmsg", json_string(msg));
	}
	va->status = 200; /* these APIs say everything in the body */
	va->body = json_dumps(o, JSON_COMPACT);
	va->ctype = "application/json";
	va->code = json_integer(code);
	json_decref(o);
}

static void answer_slack(struct vendor_answer *va, int status, const char *text, long retry_after)
{
	va->status = status;
	va->body = strdup(text);
	va->ctype = "text/plain";
	va->code = json_string(text);
	va->retry_after = retry_after;
}

/* length of a string member, or -1 when it is not a string */
static long jlen(const json_t *obj, const char *k1, const char *k2)
{
	const json_t *v = json_object_get(json_object_get(obj, k1), k2);

	return json_is_string(v) ? (long)json_string_length(v) : -1;
}

/* Decides the vendor's answer to one request. */
static void emulate(struct receiver *rx, struct MHD_Connection *c, const struct request *r,
		    const char *url, struct vendor_answer *va)
{
	const char *body = r->body ? r->body : "";
	json_t *doc = json_loadb(body, r->len, 0, NULL);
	enum emulation e = rx->emulate;
	const char *mt = json_string_value(json_object_get(doc, "msgtype"));
	long n = -1;

	va->sig_ok = -1;
	switch (e) {
	case EMU_DINGTALK: {
		const char *tok = qarg(c, "access_token"), *why;
		if (rx->secret) {
			va->sig_ok = dingtalk_sign_ok(rx, c, &why);
			if (!va->sig_ok) {
				answer_code(va, e, 310000, why);
				break;
			}
		}
		if (r->len > 20000)
			answer_code(va, e, 460101, "message too long, exceed 20000 bytes");
		else if (!json_is_object(doc) || !mt)
			answer_code(va, e, 40035, "缺少参数 json / msgtype");
		else if (!rate_take(rx, tok && *tok ? tok : url, 20, 0, NULL))
			answer_code(va, e, 130101, "send too fast, exceed 20 times per minute");
		else
			answer_code(va, e, 0, "ok");
		break;
	}
	case EMU_WECOM: {
		const char *key = qarg(c, "key");
		if (!key || !*key)
			answer_code(va, e, 93000, "invalid webhook url, hint: key is missing");
		else if (!json_is_object(doc) || !mt)
			answer_code(va, e, 40035, "invalid json or msgtype");
		else if (!strcmp(mt, "markdown") && (n = jlen(doc, "markdown", "content")) > 4096)
			answer_code(va, e, 40058, "markdown.content exceed max length 4096");
		else if (!strcmp(mt, "text") && (n = jlen(doc, "text", "content")) > 2048)
			answer_code(va, e, 40058, "text.content exceed max length 2048");
		else if (strcmp(mt, "markdown") != 0 && strcmp(mt, "text") != 0)
			answer_code(va, e, 40008, "invalid message type");
		else if (n < 0)
			answer_code(va, e, 44004, "empty content");
		else if (!rate_take(rx, key, 20, 0, NULL))
			answer_code(va, e, 45009, "api freq out of limit");
		else
			answer_code(va, e, 0, "ok");
		break;
	}
	case EMU_FEISHU:
		if (r->len > 20000 || !json_is_object(doc) ||
		    !json_is_string(json_object_get(doc, "msg_type")))
			answer_code(va, e, 9499, "Bad Request");
		else if (rx->secret && !(va->sig_ok = feishu_sign_ok(rx, doc)))
			answer_code(va, e, 19021, "sign match fail or timestamp is not within one hour from current time");
		else if (!rate_take(rx, url, 100, 5, NULL))
			answer_code(va, e, 11232, "frequency limited");
		else
			answer_code(va, e, 0, "success");
		break;
	case EMU_SLACK: {
		long retry = 0;
		if (!json_is_object(doc))
			answer_slack(va, 400, "invalid_payload", 0);
		else if (!json_is_string(json_object_get(doc, "text")) &&
			 !json_is_array(json_object_get(doc, "blocks")))
			answer_slack(va, 400, "no_text", 0);
		/* 1/s on average with short bursts: 60 in any minute */
		else if (!rate_take(rx, url, 60, 0, &retry))
			answer_slack(va, 429, "rate_limited", retry);
		else
			answer_slack(va, 200, "ok", 0);
		break;
	}
	case EMU_NONE:
		break;
	}
	json_decref(doc);
	if (!va->body) /* out of memory somewhere above */
		va->status = 500;
}

/* ------------------------------------------------------------------ */
/* --pretty                                                            */

/* The demo's screen: one or two lines per alert. */
static const struct level_label {
	const char *value, *label, *color; /* color: an ANSI sequence */
} LEVELS[] = {
	{ "red", "红 RED", "\033[1;31m" },
	{ "orange", "橙 ORANGE", "\033[1;38;5;208m" },
	{ "yellow", "黄 YELLOW", "\033[1;33m" },
};
static const struct event_mark {
	const char *event, *mark;
	bool brief; /* one dim line, without the message */
} EVENTS[] = {
	{ "finding.new", "●", false },
	{ "finding.retriggered", "↻ 再次触发 re-triggered", true },
	{ "finding.escalated", "⇧ 升级 escalated", false },
	{ "finding.reminder", "⏰ 提醒 reminder", true },
	{ "finding.resolved", "✔ 已处理 resolved", true },
};
#define C_DIM "\033[2m"
#define C_BOLD "\033[1m"
#define C_GREEN "\033[32m"
#define C_RED "\033[1;31m"
#define C_OFF "\033[0m"

/* jansson getters are NULL-safe, so missing keys / wrong types give NULL. */
static const char *jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Print arbitrary bytes, with invalid UTF-8 shown as U+FFFD. */
static void put_bytes(FILE *f, const char *s, size_t n)
{
	json_t *j = json_text(s, n, NULL);
	if (j)
		fwrite(json_string_value(j), 1, json_string_length(j), f);
	json_decref(j);
}

/* Raw body for the demo screen, cut (on a UTF-8 boundary) if it is huge. */
static void put_raw_body(FILE *f, const struct request *r)
{
	size_t n = r->len;

	if (n > PRETTY_RAW_MAX) {
		n = PRETTY_RAW_MAX;
		while (n > 0 && ((unsigned char)r->body[n] & 0xC0) == 0x80)
			n--;
	}
	put_bytes(f, r->body ? r->body : "", n);
	if (n < r->len)
		fprintf(f, " … (%zu of %zu bytes shown)", n, r->len);
	fputc('\n', f);
}

/* Print text with every line indented, so a multi-line message stands out. */
static void put_indented(FILE *f, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t k = nl ? (size_t)(nl - (s + i)) : n - i;
		fputs("  ", f);
		fwrite(s + i, 1, k, f);
		fputc('\n', f);
		i += k + (nl ? 1 : 0);
	}
}

static void put_scalar(FILE *f, const json_t *v)
{
	if (json_is_string(v)) {
		fwrite(json_string_value(v), 1, json_string_length(v), f);
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		fputs(s ? s : "?", f);
		free(s);
	}
}

/*
 * An alert in one or two lines: its event, level (in colour on a terminal),
 * rule, title, department, alert id and the signature check; then, for a
 * new or escalated finding, the first (Chinese) line of its message.
 */
static void put_alert(FILE *f, bool color, const json_t *doc, const json_t *fnd, int sig_ok,
		      bool signed_, int status)
{
	const char *event = jstr(doc, "event"), *rule = jstr(fnd, "rule_id");
	const char *title = jstr(fnd, "title"), *dept = jstr(fnd, "department");
	const char *level = jstr(fnd, "level");
	const json_t *aid = json_object_get(doc, "alert_id"), *hits = json_object_get(fnd, "hit_count");
	const struct level_label *lv = NULL;
	const struct event_mark *ev = NULL;

	for (size_t i = 0; i < sizeof LEVELS / sizeof *LEVELS; i++)
		if (level && !strcmp(level, LEVELS[i].value))
			lv = &LEVELS[i];
	for (size_t i = 0; i < sizeof EVENTS / sizeof *EVENTS; i++)
		if (event && !strcmp(event, EVENTS[i].event))
			ev = &EVENTS[i];
	bool brief = ev && ev->brief;
	const char *lcol = color && lv ? lv->color : "", *loff = !*lcol ? "" : brief ? C_OFF C_DIM : C_OFF;
	const char *off = !color ? "" : brief ? C_OFF C_DIM : C_OFF;

	if (brief && color)
		fputs(C_DIM, f);
	if (ev)
		fprintf(f, "%s%s%s ", brief ? "" : lcol, ev->mark, brief ? "" : loff);
	else
		fprintf(f, "%s ", event ? event : "?");
	fprintf(f, "%s%s%s ", lcol, lv ? lv->label : level ? level : "?", loff);
	fprintf(f, "%s%s%s", color && !brief ? C_BOLD : "", rule ? rule : "?", color && !brief ? C_OFF : "");
	if (title)
		fprintf(f, " %s", title);
	if (dept)
		fprintf(f, " · %s", dept);
	if (brief && json_is_integer(hits))
		fprintf(f, " · 命中 hits %" JSON_INTEGER_FORMAT, json_integer_value(hits));
	if (json_is_integer(aid))
		fprintf(f, " · #%" JSON_INTEGER_FORMAT, json_integer_value(aid));
	if (sig_ok > 0)
		fprintf(f, " %s✓%s", color ? C_GREEN : "", off);
	else if (sig_ok == 0)
		fprintf(f, " %s✗ %s%s", color ? C_RED : "", signed_ ? "签名无效 bad signature" : "无签名 unsigned", off);
	if (status == STATUS_HANG)
		fputs(" → hang", f);
	else if (status < 200 || status > 299)
		fprintf(f, " → %d", status);
	fputs(brief && color ? C_OFF "\n" : "\n", f);

	const json_t *msg = json_object_get(fnd, "message");
	if (!brief && json_is_string(msg)) {
		const char *m = json_string_value(msg), *nl = strchr(m, '\n');
		size_t n = nl ? (size_t)(nl - m) : strlen(m);
		fputs("    ", f);
		fwrite(m, 1, n, f);
		fputc('\n', f);
	}
}

/* Title (if any), text and mentions of a chat robot body, per vendor. */
static void put_chat(FILE *f, enum emulation e, const json_t *doc)
{
	const json_t *md = json_object_get(doc, "markdown");
	const char *title = NULL, *text = NULL;

	switch (e) {
	case EMU_DINGTALK:
		title = jstr(md, "title");
		text = md ? jstr(md, "text") : jstr(json_object_get(doc, "text"), "content");
		break;
	case EMU_WECOM:
		text = md ? jstr(md, "content") : jstr(json_object_get(doc, "text"), "content");
		break;
	case EMU_FEISHU: {
		const json_t *card = json_object_get(doc, "card");
		const json_t *el = json_array_get(json_object_get(card, "elements"), 0);
		title = jstr(json_object_get(json_object_get(card, "header"), "title"), "content");
		text = card ? (jstr(el, "content") ? jstr(el, "content")
						    : jstr(json_object_get(el, "text"), "content"))
			    : jstr(json_object_get(doc, "content"), "text");
		break;
	}
	case EMU_SLACK:
		text = jstr(doc, "text");
		break;
	case EMU_NONE:
		break;
	}
	fprintf(f, "💬 %s%s%s\n", EMU_NAMES[e], title ? "  " : "", title ? title : "");
	if (text)
		put_indented(f, text, strlen(text));
	const json_t *at = json_object_get(json_object_get(doc, "at"), "atMobiles");
	if (json_array_size(at)) {
		fputs("@ atMobiles:", f);
		for (size_t i = 0; i < json_array_size(at); i++) {
			fputc(' ', f);
			put_scalar(f, json_array_get(at, i));
		}
		fputc('\n', f);
	}
}

static void print_pretty(struct receiver *rx, struct MHD_Connection *c,
			 const struct request *r, const json_t *doc, int sig_ok,
			 int status, const struct vendor_answer *va)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	const json_t *fnd = json_object_get(doc, "finding");
	const char *sig = header(c, "X-Qingfeng-Signature");
	const char *idem = header(c, "Idempotency-Key");

	if (!f)
		return;
	if (!rx->emulate && json_is_object(fnd)) {
		put_alert(f, rx->color, doc, fnd, sig_ok, sig != NULL, status);
		goto out;
	}
	fputs("──────────────────────────────────────────\n", f);
	if (rx->emulate && json_is_object(doc)) {
		put_chat(f, rx->emulate, doc);
	} else {
		/* Not the expected shape: show what arrived, verbatim. */
		fprintf(f, "📨 请求 request #%" PRIu64 " (不是告警 not a qingfeng alert)\n", r->n);
		if (r->too_large)
			fprintf(f, "(body too large: %" PRIu64 " bytes)\n", r->total);
		else
			put_raw_body(f, r);
	}

	const char *sigtxt = sig_ok < 0 ? "– 未校验 not checked"
			   : sig_ok     ? "✓ verified"
			   : sig	? "✗ 无效 INVALID"
					: "✗ 缺失 missing";
	fprintf(f, "签名 signature: %s   幂等键 Idempotency-Key: ", sigtxt);
	if (idem)
		put_bytes(f, idem, strlen(idem));
	else
		fputs("-", f);
	if (status == STATUS_HANG)
		fputs("   应答 answer: hang\n", f);
	else if (va && va->body)
		fprintf(f, "   应答 answer: %d %s\n", status, va->body);
	else
		fprintf(f, "   应答 answer: %d\n", status);

out:
	if (fclose(f) == 0 && out) {
		pthread_mutex_lock(&rx->mu);
		fwrite(out, 1, outlen, stdout);
		fflush(stdout);
		pthread_mutex_unlock(&rx->mu);
	}
	free(out);
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */

static enum MHD_Result respond(struct MHD_Connection *c, int status,
			       const char *ctype, const char *body)
{
	/* RFC 9110: 1xx, 204 and 304 never carry content. */
	if (status < 200 || status == 204 || status == 304)
		body = "";
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (*body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == 405)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST, GET");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, int status)
{
	return respond(c, status, "application/json",
		       status >= 200 && status < 300 ? "{\"ok\":true}" : "{\"ok\":false}");
}

/* The emulated vendor's answer (body copied), with Retry-After on a 429. */
static enum MHD_Result respond_vendor(struct MHD_Connection *c, const struct vendor_answer *va)
{
	const char *body = va->body ? va->body : "";
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	char ra[24];

	if (!resp)
		return MHD_NO;
	if (*body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, va->ctype);
	if (va->retry_after > 0) {
		snprintf(ra, sizeof ra, "%ld", va->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)va->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* True once the client has closed its end (e.g. curl --max-time expired). */
static bool peer_gone(int fd)
{
	char b;
	ssize_t k = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (k == 0)
		return true;
	return k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/*
 * Never answer.  Thread-per-connection makes a plain sleep loop the robust
 * choice (MHD_suspend_connection is not available in that mode); we stop
 * when shutting down, or when the client gave up, so abandoned hangs do not
 * pile up threads.  MHD_NO closes the connection without a response.
 */
static enum MHD_Result hang(struct receiver *rx, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	int fd = ci ? ci->connect_fd : -1;

	while (sleep_ms(rx, POLL_MS))
		if (fd >= 0 && peer_gone(fd))
			break;
	return MHD_NO;
}

/* The whole body is in (or was refused): record it, then answer per script. */
static enum MHD_Result finish(struct receiver *rx, struct MHD_Connection *c,
			      struct request *r, const char *url, const char *method)
{
	int status = r->too_large ? 413 : r->step->status;
	const char *body = r->body ? r->body : "";
	int sig_ok = -1;
	json_t *doc = NULL;
	struct vendor_answer va = { .sig_ok = -1 };
	/* the script's 200 means "let the vendor decide"; anything else is
	 * answered by the script, as a failing gateway in front would */
	bool vendor = rx->emulate && !r->too_large && r->step->status == 200;
	enum MHD_Result ret;

	r->answered = true;
	if (vendor) {
		emulate(rx, c, r, url, &va);
		status = va.status;
		sig_ok = va.sig_ok;
	} else if (rx->secret && !rx->emulate) {
		sig_ok = !r->too_large &&
			 verify_signature(rx, header(c, "X-Qingfeng-Signature"), body, r->len);
	}
	if (!r->too_large)
		doc = json_loadb(body, r->len, JSON_REJECT_DUPLICATES, NULL);

	/* Record before any delay/hang so tests can see hung requests. */
	if (rx->log)
		write_log(rx, c, r, url, method, sig_ok, doc != NULL, status, vendor ? &va : NULL);
	if (rx->pretty)
		print_pretty(rx, c, r, doc, sig_ok, status, vendor ? &va : NULL);
	json_decref(doc);

	if (status == STATUS_HANG) {
		ret = hang(rx, c);
	} else if (!r->too_large && r->step->delay_ms > 0 && !sleep_ms(rx, r->step->delay_ms)) {
		ret = MHD_NO; /* shutting down */
	} else if (!vendor && rx->echo && status >= 300) {
		struct vendor_answer ea = {.status = status, .ctype = "text/plain; charset=utf-8"};
		ea.body = echo_text(c, url);
		ret = ea.body ? respond_vendor(c, &ea) : MHD_NO;
		free(ea.body);
	} else if (!vendor && r->step->retry_after > 0) {
		struct vendor_answer ra = {.status = status, .ctype = "application/json",
					   .retry_after = r->step->retry_after};
		ra.body = strdup(status >= 200 && status < 300 ? "{\"ok\":true}" : "{\"ok\":false}");
		ret = ra.body ? respond_vendor(c, &ra) : MHD_NO;
		free(ra.body);
	} else {
		ret = vendor ? respond_vendor(c, &va) : respond_json(c, status);
	}
	free(va.body);
	json_decref(va.code);
	return ret;
}

static bool append_body(const struct receiver *rx, struct request *r, const char *data, size_t n)
{
	r->total += n;
	if (r->too_large || r->len + n > rx->max_body) {
		/* Keep draining so we can still answer 413 on a sane connection. */
		r->too_large = true;
		free(r->body);
		r->body = NULL;
		r->len = r->cap = 0;
		return true;
	}
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n)
			cap *= 2;
		if (cap > rx->max_body)
			cap = rx->max_body;
		char *nb = realloc(r->body, cap);
		if (!nb)
			return false;
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct receiver *rx = cls;
	struct request *r = *req_cls;

	(void)version;
	if (*req_cls == &GET_MARK) {
		/* Answered on the second call: MHD drops keep-alive for answers
		 * queued on the first one. */
		if (*upload_data_size) {
			*upload_data_size = 0;
			return MHD_YES;
		}
		if (!strcmp(url, "/healthz"))
			return respond(c, 200, "text/plain", "ok");
		return respond(c, 404, "application/json", "{\"ok\":false}");
	}
	if (!r) {
		/* First call: headers only. */
		if (!strcmp(method, MHD_HTTP_METHOD_GET) ||
		    !strcmp(method, MHD_HTTP_METHOD_HEAD)) {
			*req_cls = (void *)&GET_MARK;
			return MHD_YES;
		}
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return respond(c, 405, "application/json", "{\"ok\":false}");

		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		pthread_mutex_lock(&rx->mu);
		r->n = ++rx->next_n; /* arrival order = order headers were parsed */
		pthread_mutex_unlock(&rx->mu);
		r->step = &rx->steps[r->n - 1 < rx->nsteps ? r->n - 1 : rx->nsteps - 1];
		*req_cls = r;

		/* Refuse an announced oversize body before the client sends it. */
		const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			errno = 0;
			char *end;
			unsigned long long v = strtoull(cl, &end, 10);
			if (end != cl && !*end && (errno == ERANGE || v > rx->max_body)) {
				r->too_large = true;
				r->total = v;
				return finish(rx, c, r, url, method);
			}
		}
		return MHD_YES;
	}

	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->answered)
			return MHD_YES; /* already answered (413); drop the rest */
		return append_body(rx, r, upload_data, n) ? MHD_YES : MHD_NO;
	}
	if (r->answered)
		return MHD_YES;
	return finish(rx, c, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *r = *req_cls;

	(void)cls, (void)c, (void)toe;
	if (r && (const void *)r != (const void *)&GET_MARK) {
		free(r->body);
		free(r);
		*req_cls = NULL;
	}
}

/* MHD's own diagnostics, prefixed so they are attributable in test output. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct receiver *rx = cls;
	char msg[512];

	if (atomic_load(&rx->stopping))
		return; /* teardown chatter is not interesting */
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* Our deliberate MHD_NO for "hang" (and shutdown) is reported this way. */
	if (strstr(msg, "Application reported internal error"))
		return;
	fprintf(stderr, PROG ": mhd: %s%s", msg,
		*msg && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

/* ------------------------------------------------------------------ */

/* A test script polls for FILE, so it must never see a partial write. */
static bool write_port_file(const char *path, unsigned port)
{
	size_t n = strlen(path) + 5;
	char *tmp = malloc(n);
	char buf[16];
	int len = snprintf(buf, sizeof buf, "%u\n", port);
	bool ok = false;

	if (!tmp)
		return false;
	snprintf(tmp, n, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		ok = write(fd, buf, (size_t)len) == len;
		ok = (close(fd) == 0) && ok;
		ok = ok && rename(tmp, path) == 0;
		if (!ok)
			unlink(tmp);
	}
	if (!ok)
		fprintf(stderr, PROG ": cannot write port file %s: %s\n", path, strerror(errno));
	free(tmp);
	return ok;
}

/*
 * We bind the socket ourselves (rather than letting MHD do it) to report a
 * precise error and to learn the ephemeral port with getsockname().
 */
static int open_listener(const struct sockaddr_in *addr, unsigned *port)
{
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in got;
	socklen_t glen = sizeof got;
	char host[INET_ADDRSTRLEN];

	if (fd < 0) {
		fprintf(stderr, PROG ": socket: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)addr, sizeof *addr) < 0 ||
	    listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&got, &glen) < 0) {
		inet_ntop(AF_INET, &addr->sin_addr, host, sizeof host);
		fprintf(stderr, PROG ": cannot listen on %s:%u: %s\n", host,
			ntohs(addr->sin_port), strerror(errno));
		close(fd);
		return -1;
	}
	*port = ntohs(got.sin_port);
	return fd;
}

int main(int argc, char **argv)
{
	struct receiver rx = { 0 };
	sigset_t block, waitmask;
	struct sigaction sa;
	unsigned port = 0;
	int rc = 0;

	pthread_mutex_init(&rx.mu, NULL);
	atomic_init(&rx.stopping, false);
	parse_args(&rx, argc, argv);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Block the stop signals before MHD creates its threads (they inherit
	 * the mask), so only main receives them and sigsuspend() cannot miss one.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);

	int lfd = open_listener(&rx.addr, &port);
	if (lfd < 0) {
		rc = 1;
		goto out;
	}
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			MHD_USE_POLL | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, &rx,
		/* the logger must come first to cover option-parsing messages */
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &rx,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, &rx,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
		MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, PROG ": cannot start HTTP daemon\n");
		close(lfd);
		rc = 1;
		goto out;
	}

	if (rx.port_file && !write_port_file(rx.port_file, port)) {
		rc = 1;
	} else {
		if (!rx.quiet) {
			char host[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &rx.addr.sin_addr, host, sizeof host);
			fprintf(stderr, PROG ": listening on %s:%u\n", host, port);
		}
		while (!got_signal)
			sigsuspend(&waitmask);
	}

	/* Sleepers see this within POLL_MS, so MHD_stop_daemon's joins are quick. */
	atomic_store(&rx.stopping, true);
	MHD_stop_daemon(d); /* also closes lfd */
out:
	if (rx.log)
		fclose(rx.log);
	free(rx.steps);
	while (rx.robots) {
		struct robot *next = rx.robots->next;
		free(rx.robots->id);
		free(rx.robots);
		rx.robots = next;
	}
	pthread_mutex_destroy(&rx.mu);
	return rc;
}
