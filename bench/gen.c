/* qf-gen: deterministic generator of realistic institute records for qingfeng.
 *
 *   qf-gen [--scale N] [--seed S] [--plant-rate R] [--truth] [--progress]
 *          [--part all|reference|activity] [--stream] [--benford-min-n N|auto]
 *          [--no-lab]
 *
 * Writes BEGIN; one COPY block per records table; COMMIT; to stdout, in
 * PostgreSQL text COPY format. --part writes only the reference tables
 * (people, counterparties, calendar, equipment, duties...) or only the
 * activity tables; every table is still generated, so the parts of one run
 * add up to the whole and --truth is complete with either. --stream writes
 * the activity tables as single-statement INSERTs and UPDATEs in the
 * records' own time order instead (for `make demo`). --benford-min-n plants
 * F05 for a smaller min_n than its 300 (the demo's institute is small).
 * The optional tables of the lab-integrity rules (RULES-LAB.md: T12-T17,
 * D10, F14) come after the others; --no-lab leaves them out, and the
 * output is then that of the generator before them, byte for byte.
 * See bench/GEN.md.
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g bench/gen.c -o /tmp/qf-gen -lm
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EX_USAGE 64
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------------ options */
static uint64_t opt_scale = 100000;
static uint64_t opt_seed = 1;
static double opt_plant = 0.0;
static bool opt_truth = false;
static bool opt_progress = false;
enum { PART_ALL, PART_REFERENCE, PART_ACTIVITY };
static int opt_part = PART_ALL;
static bool opt_stream = false;
static uint64_t opt_benford = 300; /* F05's min_n */
static bool opt_benford_given = false, opt_benford_auto = false;
static bool opt_lab = true; /* the optional tables of RULES-LAB.md */

/* ------------------------------------------------------------------ PRNG */
/* xoshiro256** seeded through splitmix64; every stream is derived from
 * (seed, stream id, index) so tables can be regenerated independently. */
typedef struct {
	uint64_t s[4];
} rng_t;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static void rng_init(rng_t *r, uint64_t stream, uint64_t idx)
{
	uint64_t x = mix64(opt_seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL);
	x = mix64(x ^ (stream * 0xD1B54A32D192ED03ULL + 0x7F4A7C15ULL));
	x = mix64(x ^ (idx * 0x94D049BB133111EBULL + 0x3C6EF372ULL));
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rnext(rng_t *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* uniform in [0, n) */
static inline uint32_t rint_(rng_t *r, uint32_t n)
{
	return (uint32_t)(((rnext(r) >> 32) * (uint64_t)n) >> 32);
}
/* uniform in [lo, hi] */
static inline int rrange(rng_t *r, int lo, int hi) { return lo + (int)rint_(r, (uint32_t)(hi - lo + 1)); }
static inline double runif(rng_t *r) { return (double)(rnext(r) >> 11) * 0x1.0p-53; }
static inline bool rchance(rng_t *r, double p) { return runif(r) < p; }
static double rnorm(rng_t *r)
{
	double u1 = runif(r), u2 = runif(r);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* streams */
enum {
	S_PERSON = 1, S_RELATIVE, S_PARTY, S_COI, S_METHOD, S_SIGN, S_EQUIP, S_TASK, S_PO, S_PAY,
	S_REIMB, S_LEAVE, S_DISC, S_GIFT, S_HOSP, S_COMPL, S_DUTY, S_RECEP, S_PLANT, S_MISC,
	/* the lab-integrity tables, after the others: the streams above keep their ids */
	S_ACCR, S_STD, S_SUBC, S_SAMPL, S_RETAIN, S_ISSUE, S_DECL, S_FEE, S_INV, S_LAB
};

/* ------------------------------------------------------------------ output */
static char obuf[1 << 20];
static size_t olen;
static int ncol;
static uint64_t rows_out, rows_target;
static bool out_error;
/* false while a table that --part leaves out is generated: its rows are
 * computed (they feed later tables and the truth) but not written */
static bool out_on = true;
/* true while an activity table is generated under --stream: its rows are
 * captured field by field and turned into time-stamped events */
static bool cap_on;

static void oflush(void)
{
	if (olen && fwrite(obuf, 1, olen, stdout) != olen)
		out_error = true;
	olen = 0;
}
static inline void oput(const char *s, size_t n)
{
	if (!out_on)
		return;
	if (olen + n > sizeof obuf)
		oflush();
	if (n > sizeof obuf) {
		if (fwrite(s, 1, n, stdout) != n)
			out_error = true;
		return;
	}
	memcpy(obuf + olen, s, n);
	olen += n;
}
static inline void oc(char c)
{
	if (!out_on)
		return;
	if (olen >= sizeof obuf)
		oflush();
	obuf[olen++] = c;
}
static inline void os(const char *s) { oput(s, strlen(s)); }

/* ------------------------------------------------------------------ progress */
static double prog_t0, prog_last;
static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
static void progress(bool final)
{
	double now = mono();
	if (!final && now - prog_last < 0.1)
		return;
	prog_last = now;
	double el = now - prog_t0;
	double pct = rows_target ? 100.0 * (double)rows_out / (double)rows_target : 100.0;
	if (pct > 100.0)
		pct = 100.0;
	int w = 30, fill = (int)(pct * w / 100.0);
	char bar[64];
	for (int i = 0; i < w; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[w] = 0;
	fprintf(stderr, "\rqf-gen [%s] %5.1f%% %" PRIu64 "/%" PRIu64 " rows %.0f rows/s%s", bar, pct, rows_out,
		rows_target, el > 0 ? (double)rows_out / el : 0.0, final ? "\n" : "");
}

/* --stream: the fields of the current row, unescaped, with the instant of
 * each timestamp or date field (CAP_NOTIME for the others) */
#define CAP_MAXF 24
#define CAP_NOTIME INT64_MIN
static char capbuf[4096];
static size_t caplen;
static int ncap;
static size_t capoff[CAP_MAXF];
static bool capnull[CAP_MAXF];
static int64_t capat[CAP_MAXF];
static void cap_field(const char *s, size_t n, int64_t at)
{
	if (ncap >= CAP_MAXF || caplen + n + 1 > sizeof capbuf) {
		fprintf(stderr, "qf-gen: internal error: row too wide for --stream\n");
		exit(70);
	}
	capoff[ncap] = caplen;
	capnull[ncap] = !s;
	capat[ncap] = at;
	if (s) {
		memcpy(capbuf + caplen, s, n);
		caplen += n;
	}
	capbuf[caplen++] = 0;
	ncap++;
}
static void stream_row(void);

/* fields */
static inline void sep(void)
{
	if (ncol++)
		oc('\t');
}
static inline void row_end(void)
{
	if (cap_on) {
		stream_row();
		ncap = 0;
		caplen = 0;
	} else
		oc('\n');
	ncol = 0;
	rows_out++;
	if (opt_progress && (rows_out & 4095) == 0)
		progress(false);
}
static void F_null(void)
{
	if (cap_on) {
		cap_field(NULL, 0, CAP_NOTIME);
		return;
	}
	sep();
	oput("\\N", 2);
}
static void F_text(const char *s)
{
	if (cap_on) {
		cap_field(s, s ? strlen(s) : 0, CAP_NOTIME);
		return;
	}
	sep();
	if (!s) {
		oput("\\N", 2);
		return;
	}
	for (; *s; s++) {
		switch (*s) {
		case '\\': oput("\\\\", 2); break;
		case '\t': oput("\\t", 2); break;
		case '\n': oput("\\n", 2); break;
		case '\r': oput("\\r", 2); break;
		default: oc(*s);
		}
	}
}
/* a formatted field: written, or captured under --stream */
static void F_raw(const char *b, size_t n, int64_t at)
{
	if (cap_on) {
		cap_field(b, n, at);
		return;
	}
	sep();
	oput(b, n);
}
static void F_int(int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof b, "%" PRId64, v);
	F_raw(b, (size_t)n, CAP_NOTIME);
}
static void F_bool(bool v) { F_raw(v ? "t" : "f", 1, CAP_NOTIME); }
/* money in cents */
static void F_money(int64_t c)
{
	char b[32];
	int n = snprintf(b, sizeof b, "%s%" PRId64 ".%02d", c < 0 ? "-" : "", (c < 0 ? -c : c) / 100,
			 (int)((c < 0 ? -c : c) % 100));
	F_raw(b, (size_t)n, CAP_NOTIME);
}
static void F_fixed(double v, int dec)
{
	char b[48];
	int n = snprintf(b, sizeof b, "%.*f", dec, v);
	F_raw(b, (size_t)n, CAP_NOTIME);
}

/* the tables of the institute's reference data (--part reference); the
 * others are activity */
static bool is_reference(const char *table)
{
	static const char *const ref[] = {"workday",	   "person",	  "relative",	 "counterparty", "coi_declaration",
					  "duty_record", "method_norm", "equipment", "signatory",	   "leave",
					  "accreditation", "standard_status", "fee_schedule", "impartiality_declaration"};
	for (int k = 0; k < NELEM(ref); k++)
		if (!strcmp(table, ref[k]))
			return true;
	return false;
}
static void stream_table(const char *table, const char *cols);

static void copy_begin(const char *table, const char *cols)
{
	bool ref = is_reference(table);
	bool want = opt_part == PART_ALL || (opt_part == PART_REFERENCE) == ref;
	cap_on = want && !ref && opt_stream;
	out_on = want && !cap_on;
	if (cap_on) {
		stream_table(table, cols);
		return;
	}
	os("COPY records.");
	os(table);
	os(" (");
	os(cols);
	os(") FROM stdin;\n");
}
static void copy_end(void)
{
	os("\\.\n");
	out_on = true;
	cap_on = false;
}

/* ------------------------------------------------------------------ calendar */
/* Days are counted from 1970-01-01; instants are seconds since 1970-01-01
 * 00:00 local time (UTC+08, no DST in China) and printed with "+08". */
typedef int64_t ts_t;
#define TS_NULL INT64_MIN
#define DAY_NULL INT32_MIN

static int days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int)doe - 719468;
}
static void civil_from_days(int z, int *y, int *m, int *d)
{
	z += 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int yy = (int)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yy + (*m <= 2);
}
static inline int weekday(int day) { return (int)(((int64_t)day % 7 + 7 + 4) % 7); } /* 0 = Sunday */
static inline int ts_day(ts_t t) { return (int)(t >= 0 ? t / 86400 : -((-t + 86399) / 86400)); }
static inline int ts_sec(ts_t t) { return (int)(t - (ts_t)ts_day(t) * 86400); }
static inline ts_t mkts(int day, int sec) { return (ts_t)day * 86400 + sec; }
#define D(y, m, d) days_from_civil(y, m, d)
#define HM(h, m) ((h) * 3600 + (m) * 60)

static void fmt_date(char *b, int day)
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	b[0] = (char)('0' + y / 1000);
	b[1] = (char)('0' + y / 100 % 10);
	b[2] = (char)('0' + y / 10 % 10);
	b[3] = (char)('0' + y % 10);
	b[4] = '-';
	b[5] = (char)('0' + m / 10);
	b[6] = (char)('0' + m % 10);
	b[7] = '-';
	b[8] = (char)('0' + d / 10);
	b[9] = (char)('0' + d % 10);
	b[10] = 0;
}
static void F_date(int day)
{
	if (day == DAY_NULL) {
		F_null();
		return;
	}
	char b[16];
	fmt_date(b, day);
	F_raw(b, 10, (int64_t)day * 86400);
}
static void fmt_ts(char *b, ts_t t)
{
	int s = ts_sec(t);
	fmt_date(b, ts_day(t));
	b[10] = ' ';
	b[11] = (char)('0' + s / 36000);
	b[12] = (char)('0' + s / 3600 % 10);
	b[13] = ':';
	b[14] = (char)('0' + s % 3600 / 600);
	b[15] = (char)('0' + s % 3600 / 60 % 10);
	b[16] = ':';
	b[17] = (char)('0' + s % 60 / 10);
	b[18] = (char)('0' + s % 10);
	memcpy(b + 19, "+08", 4);
}
static void F_ts(ts_t t)
{
	if (t == TS_NULL) {
		F_null();
		return;
	}
	char b[32];
	fmt_ts(b, t);
	F_raw(b, 22, t);
}

/* ------------------------------------------------------------------ --stream */
/* Under --stream the activity tables become events. A row is INSERTed at
 * the moment it comes into being (a task when its sample is received, a
 * payment when it is posted, a gift when it is registered) and UPDATEd at
 * each later step (test start and end, review, approval, issue; payment;
 * the close of an OOS investigation), so the stream replays the records in
 * their own time order and ends in exactly the rows the COPY output holds.
 * Events are kept in memory (about 300 bytes each), sorted by time and by
 * the order they were generated in, and written after everything else. */
struct sphase {
	const char *when; /* time column, or "a|b": the first of them that is not NULL */
	const char *kind; /* the event's name on its "-- @" line */
	const char *cols; /* columns it writes: NULL = all of them (an INSERT); later phases SET theirs */
	const char *note; /* columns shown after the id on the "-- @" line */
};
struct stable {
	const char *table, *key;
	struct sphase ph[6];
};
static const struct stable stables[] = {
	{"test_task", "task_id",
	 {{"received_at", "task.received",
	   "task_id, report_no, sample_id, client_id, lab, method, received_at, tested_by, contracted_days", "lab client_id"},
	  {"test_start", "task.started", "test_start", "lab"},
	  {"test_end", "task.tested", "test_end, verdict", "lab verdict"},
	  {"reviewed_at", "task.reviewed", "reviewed_by, reviewed_at", "lab reviewed_by"},
	  {"approved_at", "task.approved", "approved_by, approved_at", "lab approved_by"},
	  {"issued_at", "task.issued", "signed_by, issued_at", "lab report_no"}}},
	{"test_result", "result_id", {{"recorded_at", "result", NULL, "task_id item verdict"}}},
	{"oos_investigation", "task_id, item, opened_at",
	 {{"opened_at", "oos.opened", "task_id, item, opened_at", "item"},
	  {"closed_at", "oos.closed", "closed_at, conclusion", "item"}}},
	{"report_amendment", "task_id", {{"amended_at", "amendment", NULL, "amended_by"}}},
	{"audit_trail", "event_id", {{"changed_at", "audit", NULL, "entity_id field changed_by"}}},
	{"equipment_use", "task_id", {{"used_at", "equipment_use", NULL, "equipment_id"}}},
	{"purchase_order", "po_id", {{"ordered_at", "order", NULL, "department vendor_id amount"}}},
	{"payment", "payment_id",
	 {{"posted_at", "payment.posted",
	   "payment_id, vendor_id, department, invoice_no, invoice_date, contract_id, contract_date, amount, book, "
	   "voucher_no, posted_at, created_by, approved_by",
	   "department vendor_id amount"},
	  {"paid_at", "payment.paid", "paid_at, paid_by", "department vendor_id amount"}}},
	{"reimbursement", "claim_id", {{"claimed_at", "claim", NULL, "person_id category amount"}}},
	{"fee_discount", "discount_id", {{"approved_at", "discount", NULL, "client_id discount_pct"}}},
	{"gift", "gift_id", {{"registered_at|received_at", "gift", NULL, "person_id kind value"}}},
	{"hospitality", "hospitality_id", {{"held_at", "hospitality", NULL, "person_id host_party_id"}}},
	{"complaint", "complaint_id", {{"received_at", "complaint", NULL, "person_id stage"}}},
	{"reception", "reception_id", {{"held_at", "reception", NULL, "host_department guests accompanying"}}},
	/* the lab-integrity tables (RULES-LAB.md) */
	{"subcontract", "task_id, item", {{"sent_at", "subcontract", NULL, "item subcontractor_id"}}},
	{"sampling", "sampling_id", {{"sampled_at", "sampling", NULL, "task_id"}}},
	/* registered with the report (emit_retained sets the time), disposed of later */
	{"retained_sample", "sample_id",
	 {{"retain_until", "retained", "sample_id, task_id, retain_until", "task_id retain_until"},
	  {"disposed_at", "retained.disposed", "disposed_at, disposed_by", "task_id disposed_by"}}},
	{"report_issue", "task_id, version, issued_at", {{"issued_at", "report.issue", NULL, "version issued_by"}}},
	{"task_invoice", "task_id", {{"invoiced_at", "invoice", NULL, "amount"}}},
};

static const struct stable *st_cur;
static char st_colname[CAP_MAXF][32];
static int st_ncols;
/* set by a table's emitter for one row: the time of the row's first event,
 * when that is not its own time column (an amended value is replayed with
 * its amendment, see emit_audit) */
static int64_t cap_when = CAP_NOTIME;

struct event {
	int64_t at;
	uint64_t seq;
	size_t off, len;
};
static struct event *evs;
static size_t nev, evcap;
static char *evtext;
static size_t evlen, evtextcap;

static __attribute__((noreturn)) void internal(const char *what, const char *name)
{
	fprintf(stderr, "qf-gen: internal error in --stream: %s %s\n", what, name);
	exit(70);
}

static void stream_table(const char *table, const char *cols)
{
	st_cur = NULL;
	for (int k = 0; k < NELEM(stables); k++)
		if (!strcmp(stables[k].table, table))
			st_cur = &stables[k];
	if (!st_cur)
		internal("no event plan for table", table);
	st_ncols = 0;
	for (const char *c = cols; *c;) {
		size_t n = strcspn(c, ",");
		if (st_ncols >= CAP_MAXF || n >= sizeof st_colname[0])
			internal("too many columns in", table);
		memcpy(st_colname[st_ncols], c, n);
		st_colname[st_ncols++][n] = 0;
		c += n;
		while (*c == ',' || *c == ' ')
			c++;
	}
}

/* the columns named in list (separated by commas, spaces or '|') as indexes */
static int st_cols(const char *list, int *idx)
{
	int n = 0;
	while (*list) {
		size_t k = strcspn(list, ", |");
		int f = -1;
		for (int i = 0; i < st_ncols; i++)
			if (strlen(st_colname[i]) == k && !strncmp(st_colname[i], list, k))
				f = i;
		if (f < 0)
			internal("unknown column in the event plan of", st_cur->table);
		idx[n++] = f;
		list += k;
		while (*list == ',' || *list == ' ' || *list == '|')
			list++;
	}
	return n;
}

static void ev_put(const char *s, size_t n)
{
	if (evlen + n > evtextcap) {
		evtextcap = evtextcap ? evtextcap * 2 : (size_t)1 << 20;
		while (evlen + n > evtextcap)
			evtextcap *= 2;
		evtext = realloc(evtext, evtextcap);
		if (!evtext) {
			fprintf(stderr, "qf-gen: out of memory\n");
			exit(71);
		}
	}
	memcpy(evtext + evlen, s, n);
	evlen += n;
}
static void ev_puts(const char *s) { ev_put(s, strlen(s)); }
static const char *capval(int f) { return capbuf + capoff[f]; }
/* field f as an SQL literal; PostgreSQL casts the quoted text to the column's type */
static void ev_literal(int f)
{
	if (capnull[f]) {
		ev_puts("NULL");
		return;
	}
	const char *v = capval(f);
	bool esc = strpbrk(v, "\\\n\r") != NULL;
	ev_puts(esc ? "E'" : "'");
	for (; *v; v++) {
		if (*v == '\'')
			ev_puts("''");
		else if (esc && *v == '\\')
			ev_puts("\\\\");
		else if (*v == '\n')
			ev_puts("\\n");
		else if (*v == '\r')
			ev_puts("\\r");
		else
			ev_put(v, 1);
	}
	ev_puts("'");
}

static void stream_row(void)
{
	const struct stable *t = st_cur;
	bool written[CAP_MAXF] = {false};
	int key[4], cols[CAP_MAXF], note[8];
	char b[32];

	if (ncap != st_ncols)
		internal("a row does not match the columns of", t->table);
	int nkey = st_cols(t->key, key);
	for (int p = 0; p < NELEM(t->ph) && t->ph[p].kind; p++) {
		const struct sphase *ph = &t->ph[p];
		int when[4], nwhen = st_cols(ph->when, when);
		int64_t at = CAP_NOTIME;
		for (int k = 0; k < nwhen && at == CAP_NOTIME; k++)
			if (!capnull[when[k]])
				at = capat[when[k]];
		if (p == 0 && cap_when != CAP_NOTIME)
			at = cap_when;
		if (at == CAP_NOTIME) {
			if (p == 0)
				internal("a row without its first time in", t->table);
			continue; /* a step that has not happened yet */
		}
		int n = 0;
		if (ph->cols)
			n = st_cols(ph->cols, cols);
		else
			for (; n < st_ncols; n++)
				cols[n] = n;
		if (nev == evcap) {
			evcap = evcap ? evcap * 2 : 65536;
			evs = realloc(evs, evcap * sizeof *evs);
			if (!evs) {
				fprintf(stderr, "qf-gen: out of memory\n");
				exit(71);
			}
		}
		size_t off = evlen;
		fmt_ts(b, at);
		ev_puts("-- @ ");
		ev_put(b, 22);
		ev_puts(" ");
		ev_puts(ph->kind);
		ev_puts(" ");
		ev_puts(capval(key[0]));
		int nn = ph->note ? st_cols(ph->note, note) : 0;
		for (int k = 0; k < nn; k++) {
			ev_puts(" ");
			if (capnull[note[k]])
				ev_puts("-");
			else
				for (const char *v = capval(note[k]); *v; v++)
					ev_put(*v == ' ' || *v == '\n' || *v == '\r' || *v == '\t' ? "_" : v, 1);
		}
		ev_puts("\n");
		if (p == 0) {
			ev_puts("INSERT INTO records.");
			ev_puts(t->table);
			ev_puts(" (");
			for (int k = 0; k < n; k++) {
				ev_puts(k ? ", " : "");
				ev_puts(st_colname[cols[k]]);
			}
			ev_puts(") VALUES (");
			for (int k = 0; k < n; k++) {
				ev_puts(k ? ", " : "");
				ev_literal(cols[k]);
			}
			ev_puts(");\n");
		} else {
			ev_puts("UPDATE records.");
			ev_puts(t->table);
			ev_puts(" SET ");
			for (int k = 0; k < n; k++) {
				ev_puts(k ? ", " : "");
				ev_puts(st_colname[cols[k]]);
				ev_puts(" = ");
				ev_literal(cols[k]);
			}
			ev_puts(" WHERE ");
			for (int k = 0; k < nkey; k++) {
				if (!written[key[k]] || capnull[key[k]])
					internal("an update without its key in", t->table);
				ev_puts(k ? " AND " : "");
				ev_puts(st_colname[key[k]]);
				ev_puts(" = ");
				ev_literal(key[k]);
			}
			ev_puts(";\n");
		}
		for (int k = 0; k < n; k++)
			written[cols[k]] = true;
		evs[nev].at = at;
		evs[nev].seq = nev;
		evs[nev].off = off;
		evs[nev].len = evlen - off;
		nev++;
	}
	/* the last event leaves the row as the COPY output has it */
	for (int f = 0; f < ncap; f++)
		if (!written[f] && !capnull[f])
			internal("no event writes a column of", t->table);
	cap_when = CAP_NOTIME;
}

static int ev_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void stream_write(void)
{
	char a[32] = "-", z[32] = "-", head[256];
	qsort(evs, nev, sizeof *evs, ev_cmp);
	if (nev) {
		fmt_ts(a, evs[0].at);
		fmt_ts(z, evs[nev - 1].at);
	}
	snprintf(head, sizeof head, "-- qf-gen stream: %zu events from %s to %s\n", nev, a, z);
	os(head);
	os("-- the activity records in their own time order, one statement a line (each its own transaction\n"
	   "-- under psql's autocommit), each after a line \"-- @ TIME KIND ID [NOTE...]\"\n");
	for (size_t k = 0; k < nev; k++)
		oput(evtext + evs[k].off, evs[k].len);
}

/* State Council holiday notices: 国办发明电〔2024〕12号 (2025) and the notice of
 * 2025-11-04 (2026). Ranges of days off and adjusted working weekend days. */
struct hol {
	int y, m, d, y2, m2, d2;
};
static const struct hol holidays[] = {
	{2025, 1, 1, 2025, 1, 1},    {2025, 1, 28, 2025, 2, 4},  {2025, 4, 4, 2025, 4, 6},
	{2025, 5, 1, 2025, 5, 5},    {2025, 5, 31, 2025, 6, 2},  {2025, 10, 1, 2025, 10, 8},
	{2026, 1, 1, 2026, 1, 3},    {2026, 2, 15, 2026, 2, 23}, {2026, 4, 4, 2026, 4, 6},
	{2026, 5, 1, 2026, 5, 5},    {2026, 6, 19, 2026, 6, 21}, {2026, 9, 25, 2026, 9, 27},
	{2026, 10, 1, 2026, 10, 7},
};
static const int adjusted_workdays[][3] = {
	{2025, 1, 26}, {2025, 2, 8}, {2025, 4, 27}, {2025, 9, 28}, {2025, 10, 11},
	{2026, 1, 4},  {2026, 2, 14}, {2026, 2, 28}, {2026, 5, 9},  {2026, 9, 20}, {2026, 10, 10},
};

#define CAL_FIRST D(2024, 1, 1)
#define CAL_LAST D(2027, 12, 31)
static unsigned char cal_work[1500]; /* 2024-01-01 .. 2027-12-31 */
static int DAY0, DAYN;                     /* event range 2025-01-01 .. 2026-11-24 */
static int *workdays, nworkdays;           /* workdays in the event range */
static int *wd_index;                      /* day - DAY0 -> index of first workday >= day */

static bool is_workday(int day)
{
	int i = day - CAL_FIRST;
	if (i < 0 || i >= (int)sizeof cal_work) {
		int w = weekday(day);
		return w >= 1 && w <= 5;
	}
	return cal_work[i];
}

static void calendar_init(void)
{
	int first = CAL_FIRST;
	for (int day = first; day <= CAL_LAST; day++) {
		int w = weekday(day);
		cal_work[day - first] = w >= 1 && w <= 5;
	}
	for (int i = 0; i < NELEM(holidays); i++) {
		const struct hol *h = &holidays[i];
		for (int day = D(h->y, h->m, h->d); day <= D(h->y2, h->m2, h->d2); day++)
			cal_work[day - first] = 0;
	}
	for (int i = 0; i < NELEM(adjusted_workdays); i++)
		cal_work[D(adjusted_workdays[i][0], adjusted_workdays[i][1], adjusted_workdays[i][2]) - first] = 1;
	DAY0 = D(2025, 1, 1);
	DAYN = D(2026, 11, 24);
	workdays = malloc(sizeof(int) * (size_t)(DAYN - DAY0 + 1));
	wd_index = malloc(sizeof(int) * (size_t)(DAYN - DAY0 + 2));
	nworkdays = 0;
	for (int day = DAY0; day <= DAYN; day++)
		if (is_workday(day))
			workdays[nworkdays++] = day;
	int j = 0;
	for (int day = DAY0; day <= DAYN + 1; day++) {
		while (j < nworkdays && workdays[j] < day)
			j++;
		wd_index[day - DAY0] = j;
	}
}

/* the first workday on or after day */
static int next_workday(int day)
{
	while (!is_workday(day))
		day++;
	return day;
}
/* the last workday on or before day */
static int prev_workday(int day)
{
	while (!is_workday(day))
		day--;
	return day;
}
static inline int work_sec(rng_t *r) { return HM(8, 30) + (int)rint_(r, 9 * 3600); } /* 08:30..17:30 */
/* a moment in working hours at or after t, at most `spread` workdays later */
static ts_t work_after(rng_t *r, ts_t t, int min_wd, int spread)
{
	int day = ts_day(t), sec = ts_sec(t);
	if (!is_workday(day) || sec >= HM(17, 20)) {
		day = next_workday(day + 1);
		sec = -1;
	}
	for (int k = 0; k < min_wd; k++)
		day = next_workday(day + 1);
	int extra = spread > 0 ? (int)rint_(r, (uint32_t)spread + 1) : 0;
	for (int k = 0; k < extra; k++) {
		day = next_workday(day + 1);
		sec = -1;
	}
	if (min_wd > 0)
		sec = -1;
	int lo = sec < HM(8, 30) ? HM(8, 30) : sec + 60;
	int s = lo + (int)rint_(r, (uint32_t)(HM(17, 30) - lo));
	return mkts(day, s);
}
static void emit_workday(void)
{
	copy_begin("workday", "day, is_workday");
	for (int day = D(2025, 1, 1); day <= D(2026, 12, 31); day++) {
		int w = weekday(day);
		bool normal = w >= 1 && w <= 5;
		if (is_workday(day) != normal) {
			F_date(day);
			F_bool(is_workday(day));
			row_end();
		}
	}
	copy_end();
}

/* ------------------------------------------------------------------ names */
static const char *surnames[] = {
	"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
	"高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田",
	"董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚",
	"卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦", "方", "白", "邹",
	"孟", "熊", "秦", "邱", "江", "尹", "薛", "段", "雷", "侯", "龙", "史", "陶", "黎", "贺", "顾", "毛",
	"郝", "龚", "邵", "万", "钱", "严", "戴", "莫", "孔", "汤", "俞", "应", "楼", "章", "倪", "诸葛", "欧阳",
};
static const char *given[] = {
	"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
	"霞", "平", "刚", "英", "华", "慧", "建", "国", "晓", "文", "斌", "宇", "浩", "凯", "鹏", "辉", "婷",
	"雪", "琳", "晨", "欣", "佳", "俊", "峰", "波", "亮", "红", "玲", "燕", "飞", "海", "志", "立", "思",
	"雨", "梦", "子", "怡", "嘉", "振", "鑫", "琦", "睿", "舒", "颖", "彬", "晶", "丹", "蕾", "松", "林",
	"航", "瑶", "昊", "然", "轩", "阳", "博", "倩", "璐", "诚", "毅", "帆", "旭", "泽", "若", "一", "萍",
};
static void make_name(rng_t *r, char *b, size_t n)
{
	const char *s = surnames[rint_(r, NELEM(surnames))];
	if (rchance(r, 0.3))
		snprintf(b, n, "%s%s", s, given[rint_(r, NELEM(given))]);
	else
	{
		const char *g1 = given[rint_(r, NELEM(given))];
		const char *g2 = given[rint_(r, NELEM(given))];
		snprintf(b, n, "%s%s%s", s, g1, g2);
	}
}
/* cities with two of their districts each */
static const char *cities[][3] = {
	{"杭州市", "西湖区", "拱墅区"}, {"杭州市", "滨江区", "萧山区"}, {"杭州市", "余杭区", "上城区"},
	{"宁波市", "鄞州区", "海曙区"}, {"温州市", "鹿城区", "瓯海区"}, {"嘉兴市", "南湖区", "秀洲区"},
	{"湖州市", "吴兴区", "南浔区"}, {"绍兴市", "越城区", "柯桥区"}, {"金华市", "婺城区", "金东区"},
	{"台州市", "椒江区", "黄岩区"}, {"丽水市", "莲都区", "莲都区"}, {"衢州市", "柯城区", "衢江区"},
};
static const char *area_code(const char *city)
{
	static const char *codes[][2] = {{"杭州市", "0571"}, {"宁波市", "0574"}, {"温州市", "0577"}, {"嘉兴市", "0573"},
					 {"湖州市", "0572"}, {"绍兴市", "0575"}, {"金华市", "0579"}, {"台州市", "0576"},
					 {"丽水市", "0578"}, {"衢州市", "0570"}};
	for (int k = 0; k < NELEM(codes); k++)
		if (!strncmp(city, codes[k][0], strlen(codes[k][0])))
			return codes[k][1];
	return "0571";
}
/* "XX市XX区" */
static void city_district(rng_t *r, char *b, size_t n)
{
	int c = (int)rint_(r, NELEM(cities));
	snprintf(b, n, "%s%s", cities[c][0], cities[c][1 + rint_(r, 2)]);
}
/* a bijection of [0, m) for m = 10^k: multiply by a unit, add an offset */
static uint64_t scramble(uint64_t i, uint64_t m, uint64_t salt)
{
	unsigned __int128 x = (unsigned __int128)(i % m) * 6364136223846793007ULL; /* odd, not a multiple of 5 */
	return (uint64_t)((x + salt) % m);
}
static const char *roads[] = {"文三路", "天目山路", "延安路", "解放路", "凤起路", "庆春路", "莫干山路",
			      "江南大道", "中山路", "人民路", "建设路", "环城北路", "学院路", "钱江路",
			      "科技大道", "工业大道", "兴业路", "创业路", "开发区大道", "滨海大道"};
static const char *estates[] = {"和家园", "金色水岸", "翠苑", "嘉绿苑", "紫金庭园", "阳光花园", "桂花城",
				"绿城玫瑰园", "锦绣江南", "蓝庭", "丹桂公寓", "香樟园"};

/* ------------------------------------------------------------------ departments */
static const char *lab_names[] = {
	"化学室",     "机械室",       "电气室",       "食品室",       "纺织室",       "建材室",     "轻工室",
	"电子室",     "医疗器械室",   "计量室",       "压力容器室",   "电线电缆室",   "家具室",     "玩具室",
	"鞋类皮革室", "塑料制品室",   "石油产品室",   "金属材料室",   "照明电器室",   "家用电器室", "汽车零部件室",
	"消防产品室", "安全防护用品室", "包装材料室", "涂料室",       "化肥农药室",   "环境检测室",
};
#define NLABS 27
enum { DEP_FIN = NLABS, DEP_OFFICE, DEP_DISC, DEP_LEAD, NDEPS };
static const char *dept_name(int d)
{
	static const char *adm[] = {"财务处", "综合办公室", "纪检监察室", "院领导"};
	return d < NLABS ? lab_names[d] : adm[d - NLABS];
}

/* ------------------------------------------------------------------ persons */
enum role {
	R_HEAD, R_DEPUTY, R_TECH, R_REVIEWER, R_TESTER, R_SAMPLER,          /* labs */
	R_FIN_HEAD, R_FIN_DEPUTY, R_ACCOUNTANT, R_CASHIER,                  /* finance */
	R_OFF_HEAD, R_OFF_DEPUTY, R_BUYER, R_CLERK, R_DRIVER,               /* office */
	R_DISC_HEAD, R_DISC_STAFF,                                          /* discipline */
	R_PRESIDENT, R_SECRETARY, R_VP, R_DISC_SECRETARY,                   /* leadership */
};
static const char *role_post[] = {
	"室主任", "副主任", "技术负责人", "审核员", "检测员", "样品管理员",
	"处长", "副处长", "会计", "出纳",
	"主任", "副主任", "采购员", "办事员", "驾驶员",
	"主任", "纪检干事",
	"院长", "党委书记", "副院长", "纪委书记",
};

struct person {
	char id[16];
	char name[24];
	int dept, role;
	bool leader, key;
	int post_since;
	char phone[16];
	char idhash[40];
	char bank[24];
	char addr[128];
};
static struct person *persons;
static int npersons;
/* per lab: index ranges into persons[] */
struct labstaff {
	int first, n;
	int approvers[3], nappr;
	int reviewers[4], nrev;
	int testers[32], ntest;
};
static struct labstaff labstaff[NLABS];
static int fin_heads[2], accountants[8], naccountants, cashiers[4], ncashiers;
static int leaders_lead[8], nlead;   /* 院领导 */
static int buyers[4], nbuyers;
static int dept_head[NDEPS];

static void hexhash(rng_t *r, char *b)
{
	static const char hx[] = "0123456789abcdef";
	uint64_t a = rnext(r), c = rnext(r);
	for (int i = 0; i < 16; i++) {
		b[i] = hx[(a >> (60 - 4 * i)) & 15];
		b[16 + i] = hx[(c >> (60 - 4 * i)) & 15];
	}
	b[32] = 0;
}

static int add_person(rng_t *r, int dept, int role)
{
	struct person *p = &persons[npersons];
	memset(p, 0, sizeof *p);
	snprintf(p->id, sizeof p->id, "P%04d", (npersons + 1) % 10000);
	make_name(r, p->name, sizeof p->name);
	p->dept = dept;
	p->role = role;
	p->leader = role == R_HEAD || role == R_DEPUTY || role == R_FIN_HEAD || role == R_FIN_DEPUTY ||
		    role == R_OFF_HEAD || role == R_OFF_DEPUTY || role == R_DISC_HEAD || role >= R_PRESIDENT;
	p->key = role == R_HEAD || role == R_FIN_HEAD || role == R_FIN_DEPUTY || role == R_ACCOUNTANT ||
		 role == R_CASHIER || role == R_BUYER;
	/* key posts rotate within 5 years; others have served for a while */
	if (p->key)
		p->post_since = D(2022, 1, 1) + (int)rint_(r, (uint32_t)(D(2025, 6, 30) - D(2022, 1, 1)));
	else if (p->leader)
		p->post_since = D(2014, 1, 1) + (int)rint_(r, (uint32_t)(D(2025, 9, 30) - D(2014, 1, 1)));
	else
		p->post_since = D(2005, 1, 1) + (int)rint_(r, (uint32_t)(D(2025, 6, 30) - D(2005, 1, 1)));
	/* phones 139/158 + an injective 8-digit code: never equal to a relative's or a company's */
	uint64_t code = scramble((uint64_t)npersons, 100000000u, 1234567u);
	snprintf(p->phone, sizeof p->phone, "%s%08" PRIu64, rchance(r, 0.5) ? "139" : "158", code);
	hexhash(r, p->idhash);
	snprintf(p->bank, sizeof p->bank, "6222%03d%012" PRIu64, (int)rint_(r, 1000),
		 scramble((uint64_t)npersons, 1000000000000ULL, 4711));
	char cd[64];
	city_district(r, cd, sizeof cd);
	const char *road = roads[rint_(r, NELEM(roads))];
	int no = rrange(r, 1, 400);
	const char *estate = estates[rint_(r, NELEM(estates))];
	int bld = rrange(r, 1, 30), unit = rrange(r, 1, 4), floor_ = rrange(r, 1, 28), room = rrange(r, 1, 4);
	snprintf(p->addr, sizeof p->addr, "%s%s%d号%s%d幢%d单元%d室", cd, road, no, estate, bld, unit, floor_ * 100 + room);
	return npersons++;
}

static void persons_init(void)
{
	rng_t r;
	rng_init(&r, S_PERSON, 0);
	persons = calloc(1200, sizeof *persons);
	for (int l = 0; l < NLABS; l++) {
		struct labstaff *ls = &labstaff[l];
		int n = rrange(&r, 22, 28);
		ls->first = npersons;
		for (int k = 0; k < n; k++) {
			int role = k == 0 ? R_HEAD : k == 1 ? R_DEPUTY : k == 2 ? R_TECH : k <= 5 ? R_REVIEWER
				   : k == n - 1 ? R_SAMPLER : R_TESTER;
			int id = add_person(&r, l, role);
			if (role <= R_TECH)
				ls->approvers[ls->nappr++] = id;
			else if (role == R_REVIEWER)
				ls->reviewers[ls->nrev++] = id;
			else if (role == R_TESTER)
				ls->testers[ls->ntest++] = id;
			if (role == R_HEAD)
				dept_head[l] = id;
		}
		ls->n = npersons - ls->first;
	}
	/* finance */
	fin_heads[0] = dept_head[DEP_FIN] = add_person(&r, DEP_FIN, R_FIN_HEAD);
	fin_heads[1] = add_person(&r, DEP_FIN, R_FIN_DEPUTY);
	for (int k = 0; k < 6; k++)
		accountants[naccountants++] = add_person(&r, DEP_FIN, R_ACCOUNTANT);
	for (int k = 0; k < 3; k++)
		cashiers[ncashiers++] = add_person(&r, DEP_FIN, R_CASHIER);
	/* office */
	dept_head[DEP_OFFICE] = add_person(&r, DEP_OFFICE, R_OFF_HEAD);
	add_person(&r, DEP_OFFICE, R_OFF_DEPUTY);
	for (int k = 0; k < 3; k++)
		buyers[nbuyers++] = add_person(&r, DEP_OFFICE, R_BUYER);
	for (int k = 0; k < 6; k++)
		add_person(&r, DEP_OFFICE, R_CLERK);
	for (int k = 0; k < 2; k++)
		add_person(&r, DEP_OFFICE, R_DRIVER);
	/* discipline inspection */
	dept_head[DEP_DISC] = add_person(&r, DEP_DISC, R_DISC_HEAD);
	for (int k = 0; k < 3; k++)
		add_person(&r, DEP_DISC, R_DISC_STAFF);
	/* leadership */
	dept_head[DEP_LEAD] = leaders_lead[nlead++] = add_person(&r, DEP_LEAD, R_PRESIDENT);
	leaders_lead[nlead++] = add_person(&r, DEP_LEAD, R_SECRETARY);
	for (int k = 0; k < 3; k++)
		leaders_lead[nlead++] = add_person(&r, DEP_LEAD, R_VP);
	leaders_lead[nlead++] = add_person(&r, DEP_LEAD, R_DISC_SECRETARY);
}

static void emit_person(void)
{
	copy_begin("person", "person_id, name, department, post, is_leader, key_post, post_since, phone, id_hash, "
			      "bank_account, address");
	for (int i = 0; i < npersons; i++) {
		const struct person *p = &persons[i];
		F_text(p->id);
		F_text(p->name);
		F_text(dept_name(p->dept));
		F_text(role_post[p->role]);
		F_bool(p->leader);
		F_bool(p->key);
		F_date(p->post_since);
		F_text(p->phone);
		F_text(p->idhash);
		F_text(p->bank);
		F_text(p->addr);
		row_end();
	}
	copy_end();
}

/* ------------------------------------------------------------------ planting */
/* With --plant-rate R, about R x (candidate rows) rows per rule are changed so
 * that exactly that rule flags them, at least one per rule; --truth lists the
 * dedupe keys the rules produce for them. */
enum {
	P_T01, P_T02, P_T03, P_T04, P_T05, P_T06, P_T07, P_T08, P_T09, P_T10, P_T11,
	P_F01, P_F02, P_F03, P_F04, P_F05, P_F06, P_F07, P_F08, P_F09, P_F10, P_F11, P_F12, P_F13,
	P_D01, P_D02, P_D03, P_D04, P_D05, P_D06, P_D07, P_D08, P_D09,
	P_T12, P_T13, P_T14, P_T15, P_T16, P_T17, P_D10, P_F14, NRULES
};
static const char *rule_ids[NRULES] = {
	"T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08", "T09", "T10", "T11",
	"F01", "F02", "F03", "F04", "F05", "F06", "F07", "F08", "F09", "F10", "F11", "F12", "F13",
	"D01", "D02", "D03", "D04", "D05", "D06", "D07", "D08", "D09",
	"T12", "T13", "T14", "T15", "T16", "T17", "D10", "F14",
};
struct truth {
	int rule;
	char key[128];
};
static struct truth *truths;
static size_t ntruth, truth_cap;
static uint64_t planted[NRULES];
/* tables with per-row planting decisions */
enum { TB_TASK = 1, TB_PAY, TB_PO, TB_REIMB, TB_DISC, TB_GIFT, TB_HOSP, TB_COMPL, TB_RECEP, TB_DUTY };
/* the lab-integrity tables' (TB_DUTY + 1 and + 2 are D07's and D08's) */
enum { TB_ACCR = 30, TB_STD, TB_SUBC, TB_SAMPL, TB_RETAIN, TB_ISSUE, TB_DECL, TB_INV };

__attribute__((format(printf, 2, 3))) static void truth_add(int rule, const char *fmt, ...)
{
	if (ntruth == truth_cap) {
		truth_cap = truth_cap ? truth_cap * 2 : 1024;
		truths = realloc(truths, truth_cap * sizeof *truths);
		if (!truths) {
			fprintf(stderr, "qf-gen: out of memory\n");
			exit(71);
		}
	}
	truths[ntruth].rule = rule;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(truths[ntruth].key, sizeof truths[ntruth].key, fmt, ap);
	va_end(ap);
	ntruth++;
	planted[rule]++;
}

/* Which rule (if any) to plant on candidate idx of n in a table whose plantable
 * rules are rules[0..nrules): each with probability R, exclusively; and one
 * forced candidate per rule near the middle so that every rule gets one. */
static int plant_pick(int table, uint64_t idx, uint64_t n, const int *rules, int nrules)
{
	if (opt_plant <= 0 || n == 0)
		return -1;
	for (int k = 0; k < nrules; k++)
		if (idx == (n / 2 + 7 * (uint64_t)k) % n)
			return rules[k];
	rng_t r;
	rng_init(&r, S_PLANT * 1000 + (uint64_t)table, idx);
	double u = runif(&r);
	if (u < opt_plant * nrules)
		return rules[(int)(u / opt_plant) < nrules ? (int)(u / opt_plant) : nrules - 1];
	return -1;
}
/* how many of n fixed candidates to plant: R x n, at least 1 */
static int plant_count(uint64_t n)
{
	if (opt_plant <= 0)
		return 0;
	uint64_t k = (uint64_t)llround(opt_plant * (double)n);
	return (int)(k < 1 ? 1 : k);
}
static void rng_plant(rng_t *r, int what, uint64_t idx) { rng_init(r, S_PLANT * 1000 + 500 + (uint64_t)what, idx); }

/* ------------------------------------------------------------------ counterparties */
static const char *brand1[] = {"华", "恒", "金", "永", "新", "宏", "东", "天", "中", "瑞", "鑫", "安", "博", "正",
			       "信", "嘉", "利", "德", "泰", "兴", "远", "海", "明", "达", "宇", "通", "康", "凯"};
static const char *brand2[] = {"诚", "达", "盛", "源", "丰", "泰", "昌", "隆", "宝", "辉", "力", "威", "科", "润",
			       "邦", "联", "光", "锐", "星", "晟", "峰", "越", "美", "智", "和", "顺", "立", "创"};
/* the industry of a client per lab, and what vendors sell */
static const char *lab_industry[NLABS] = {
	"化工", "机械", "电器", "食品", "纺织", "建材", "日用品", "电子", "医疗器械", "衡器", "压力容器", "电缆",
	"家具", "玩具", "鞋业", "塑业", "石化", "金属制品", "照明", "家电", "汽车部件", "消防设备", "劳保用品",
	"包装", "涂料", "农化", "环保科技",
};
static const char *vendor_kind[] = {"仪器", "试剂", "实验室设备", "科技", "计量器具", "办公用品", "物业管理",
				    "建设工程", "信息技术", "标准物质", "气体", "印务"};

#define NPARTIES 400
#define NDORMANT 20
struct party {
	char id[16];
	char name[96];
	int kind; /* 0 client, 1 vendor, 2 both */
	int lab;  /* a client's usual lab */
	bool dormant;
	char uscc[24];
	char legal[40];
	char phone[24];
	char addr[128];
	char bank[32];
	ts_t created_at;
	int created_by;
	double weight;
	int coi[4], ncoi; /* persons who declared a conflict with this party */
};
static struct party parties[NPARTIES + 256]; /* planted extra counterparties after NPARTIES */
static int nparties = NPARTIES;
static int clients[NPARTIES], nclients;      /* active clients (kind client or both) */
static int vendors[NPARTIES], nvendors;      /* kind vendor or both */
static double client_wsum, vendor_wsum;
static int office_clerks[8], nclerks;
static const char *kind_name[] = {"client", "vendor", "both"};

static void parties_init(void)
{
	rng_t r;
	rng_init(&r, S_PARTY, 0);
	for (int i = 0; i < npersons; i++)
		if (persons[i].role == R_CLERK)
			office_clerks[nclerks++] = i;
	for (int i = 0; i < NPARTIES; i++) {
		struct party *c = &parties[i];
		snprintf(c->id, sizeof c->id, "C%04d", i + 1);
		c->dormant = i >= NPARTIES - NDORMANT;
		c->kind = c->dormant ? 0 : i < 250 ? 0 : i < 370 ? 1 : 2;
		c->lab = (int)rint_(&r, NLABS);
		char cd[64];
		city_district(&r, cd, sizeof cd);
		const char *b1 = brand1[rint_(&r, NELEM(brand1))], *b2 = brand2[rint_(&r, NELEM(brand2))];
		if (c->dormant)
			snprintf(c->name, sizeof c->name, "浙江省%s行业协会", lab_industry[(i - (NPARTIES - NDORMANT)) % NLABS]);
		else if (c->kind == 1)
			snprintf(c->name, sizeof c->name, "%s%s%s%s有限公司", cd, b1, b2, vendor_kind[rint_(&r, NELEM(vendor_kind))]);
		else
			snprintf(c->name, sizeof c->name, "浙江%s%s%s%s有限公司", b1, b2, lab_industry[c->lab],
				 rchance(&r, 0.5) ? "股份" : "");
		/* 91330...: companies registered in the province; relatives' other employers use other prefixes */
		int region = (int)rint_(&r, 1000);
		char check = "0123456789ABCDEFGHJKLMNPQRTUWXY"[rint_(&r, 31)];
		snprintf(c->uscc, sizeof c->uscc, "91330%03d%09" PRIu64 "%c", region,
			 scramble((uint64_t)i + 1, 1000000000u, 777), check);
		hexhash(&r, c->legal);
		snprintf(c->phone, sizeof c->phone, "%s-8%07" PRIu64, area_code(cd), scramble((uint64_t)i + 1, 10000000u, 31337));
		const char *road = roads[rint_(&r, NELEM(roads))];
		int no = rrange(&r, 1, 999);
		const char *site = c->dormant ? "行业大厦" : rchance(&r, 0.5) ? "厂区" : "科创园";
		snprintf(c->addr, sizeof c->addr, "%s%s%d号%s", cd, road, no, site);
		snprintf(c->bank, sizeof c->bank, "1202%015" PRIu64, scramble((uint64_t)i + 1, 1000000000000000ULL, 99));
		int cday;
		if (rchance(&r, 0.85) || c->dormant)
			cday = D(2015, 1, 1) + (int)rint_(&r, (uint32_t)(D(2024, 12, 31) - D(2015, 1, 1)));
		else
			cday = next_workday(DAY0 + (int)rint_(&r, (uint32_t)(D(2026, 8, 31) - DAY0)));
		c->created_at = mkts(cday, work_sec(&r));
		c->created_by = c->kind == 1 ? accountants[rint_(&r, (uint32_t)naccountants)]
					     : office_clerks[rint_(&r, (uint32_t)nclerks)];
		c->weight = exp(rnorm(&r) * 1.0); /* some clients and vendors are much busier */
		if (!c->dormant && c->kind != 1) {
			clients[nclients++] = i;
			client_wsum += c->weight;
		}
		if (c->kind != 0) {
			vendors[nvendors++] = i;
			vendor_wsum += c->weight;
		}
	}
}

/* a weighted pick from a list of parties */
static int pick_party(rng_t *r, const int *list, int n, double wsum)
{
	double x = runif(r) * wsum;
	for (int k = 0; k < n; k++) {
		x -= parties[list[k]].weight;
		if (x < 0)
			return list[k];
	}
	return list[n - 1];
}

static void emit_counterparty(void)
{
	copy_begin("counterparty", "party_id, name, kind, uscc, legal_rep_id_hash, phone, address, bank_account, "
				   "created_at, created_by");
	for (int i = 0; i < nparties; i++) {
		const struct party *c = &parties[i];
		F_text(c->id);
		F_text(c->name);
		F_text(kind_name[c->kind]);
		F_text(c->uscc);
		F_text(c->legal);
		F_text(c->phone);
		F_text(c->addr);
		F_text(c->bank);
		F_ts(c->created_at);
		F_text(persons[c->created_by].id);
		row_end();
	}
	copy_end();
}

/* ------------------------------------------------------------------ relatives and declarations */
struct relative {
	int person;
	char name[24];
	const char *relation;
	char idhash[40];
	char phone[16];
	char uscc[24];   /* "" = none */
};
struct coi {
	int person, party;
	const char *relation;
	ts_t declared_at;
	int valid_from, valid_to;
};
static struct relative *relatives;
static int nrelatives;
static struct coi *cois;
static int ncois;

static bool has_coi(int party, int person)
{
	const struct party *c = &parties[party];
	for (int k = 0; k < c->ncoi; k++)
		if (c->coi[k] == person)
			return true;
	return false;
}
static void add_coi(rng_t *r, int person, int party, const char *relation)
{
	struct party *c = &parties[party];
	if (c->ncoi >= NELEM(c->coi) || has_coi(party, person))
		return;
	c->coi[c->ncoi++] = person;
	struct coi *d = &cois[ncois++];
	d->person = person;
	d->party = party;
	d->relation = relation;
	int day = next_workday(D(2025, 1, 2) + (int)rint_(r, 60));
	d->declared_at = mkts(day, work_sec(r));
	d->valid_from = rchance(r, 0.5) ? D(2025, 1, 1) : day;
	d->valid_to = rchance(r, 0.6) ? DAY_NULL : D(2027, 12, 31);
}

static void relatives_init(void)
{
	static const char *rel[] = {"配偶", "父亲", "母亲", "子女", "兄弟姐妹"};
	rng_t r;
	rng_init(&r, S_RELATIVE, 0);
	relatives = calloc((size_t)npersons * 2 + 80, sizeof *relatives);
	cois = calloc((size_t)npersons * 2 + 64, sizeof *cois);
	for (int i = 0; i < npersons; i++) {
		int n = rchance(&r, 0.4);
		n += rchance(&r, 0.12);
		for (int k = 0; k < n; k++) {
			struct relative *v = &relatives[nrelatives];
			v->person = i;
			make_name(&r, v->name, sizeof v->name);
			v->relation = rel[rint_(&r, NELEM(rel))];
			hexhash(&r, v->idhash);
			snprintf(v->phone, sizeof v->phone, "%s%08" PRIu64, rchance(&r, 0.5) ? "136" : "187",
				 scramble((uint64_t)nrelatives + 1, 100000000u, 5550123));
			double u = runif(&r);
			if (u < 0.45)
				v->uscc[0] = 0;
			else if (u < 0.95 || nclients == 0)
				/* public institutions (12...) and sole traders (92...) never appear as counterparties */
			{
				const char *pre = rchance(&r, 0.5) ? "12" : "92";
				int region = (int)rint_(&r, 1000);
				char check = "0123456789ABCDEFGHJKLMNPQRTUWXY"[rint_(&r, 31)];
				snprintf(v->uscc, sizeof v->uscc, "%s330%03d%09" PRIu64 "%c", pre, region,
					 scramble((uint64_t)nrelatives + 1, 1000000000u, 4242), check);
			}
			else {
				/* works at a client or vendor: declared */
				int c = (int)rint_(&r, NPARTIES - NDORMANT);
				snprintf(v->uscc, sizeof v->uscc, "%s", parties[c].uscc);
				add_coi(&r, i, c, "亲属在该单位任职");
			}
			nrelatives++;
		}
	}
	/* other declared conflicts: former employers, shareholdings, classmates */
	static const char *why[] = {"曾在该单位任职", "本人持有该单位股份", "同学关系", "配偶为该单位股东"};
	for (int k = 0; k < npersons / 12; k++) {
		int l = (int)rint_(&r, NLABS);
		const struct labstaff *ls = &labstaff[l];
		int who = rchance(&r, 0.7) ? ls->testers[rint_(&r, (uint32_t)ls->ntest)]
					    : rchance(&r, 0.5) ? ls->reviewers[rint_(&r, (uint32_t)ls->nrev)]
							       : ls->approvers[rint_(&r, (uint32_t)ls->nappr)];
		int party = clients[rint_(&r, (uint32_t)nclients)];
		add_coi(&r, who, party, why[rint_(&r, NELEM(why))]);
	}
}

static void emit_relative(void)
{
	copy_begin("relative", "person_id, name, relation, id_hash, phone, employer_uscc");
	for (int i = 0; i < nrelatives; i++) {
		const struct relative *v = &relatives[i];
		F_text(persons[v->person].id);
		F_text(v->name);
		F_text(v->relation);
		F_text(v->idhash);
		F_text(v->phone);
		F_text(v->uscc[0] ? v->uscc : NULL);
		row_end();
	}
	copy_end();
}

static void emit_coi(void)
{
	copy_begin("coi_declaration", "person_id, party_id, relation, declared_at, valid_from, valid_to");
	for (int i = 0; i < ncois; i++) {
		const struct coi *d = &cois[i];
		F_text(persons[d->person].id);
		F_text(parties[d->party].id);
		F_text(d->relation);
		F_ts(d->declared_at);
		F_date(d->valid_from);
		F_date(d->valid_to);
		row_end();
	}
	copy_end();
}

/* ------------------------------------------------------------------ leaders' duties */
/* a workday in [lo, hi] (or lo itself if none), at a working hour */
static ts_t work_between(rng_t *r, int lo, int hi)
{
	int n = 0, pick = -1;
	for (int d = lo; d <= hi; d++)
		if (is_workday(d) && rint_(r, (uint32_t)++n) == 0)
			pick = d;
	return mkts(pick >= 0 ? pick : lo, work_sec(r));
}
static int superior_of(const struct person *p)
{
	if (p->dept == DEP_LEAD)
		return p->role == R_PRESIDENT || p->role == R_SECRETARY ? -1 : leaders_lead[1];
	return leaders_lead[2 + (int)((p - persons) % 3)];
}
static int subordinate_of(rng_t *r, const struct person *p)
{
	if (p->dept < NLABS) {
		const struct labstaff *ls = &labstaff[p->dept];
		return ls->first + 2 + (int)rint_(r, (uint32_t)(ls->n - 2));
	}
	if (p->dept == DEP_LEAD)
		return dept_head[rint_(r, NDEPS - 1)];
	for (;;) {
		int q = (int)rint_(r, (uint32_t)npersons);
		if (persons[q].dept == p->dept && !persons[q].leader)
			return q;
	}
}
/* pass 0 counts the periods that can be planted (D04, D07, D08), pass 1 writes */
static uint64_t duty_cand[3];
static void duty_rows(int pass)
{
	rng_t r;
	uint64_t idx[3] = {0, 0, 0};
	int dayend = DAYN;
	for (int i = 0; i < npersons; i++) {
		const struct person *p = &persons[i];
		if (!p->leader)
			continue;
		rng_init(&r, S_DUTY, (uint64_t)i);
		char per[16];
		for (int y = 2025; y <= 2026; y++) {
			snprintf(per, sizeof per, "%d", y);
			/* personal-matters report by 01-31 */
			if (D(y, 1, 31) >= p->post_since) {
				int lo = p->post_since > D(y, 1, 5) ? p->post_since : D(y, 1, 5);
				ts_t at = work_between(&r, lo, D(y, 1, 28));
				int pl = P_D04;
				bool skip = pass && plant_pick(TB_DUTY, idx[0]++, duty_cand[0], &pl, 1) == P_D04;
				if (pass == 0)
					duty_cand[0]++;
				else if (skip)
					truth_add(P_D04, "[\"%s\", \"%s\"]", p->id, per);
				else {
					F_text("personal_report");
					F_text(p->id);
					F_null();
					F_text(per);
					F_ts(at);
					row_end();
				}
			}
			/* responsibility letter by 03-31 */
			if (D(y, 3, 31) >= p->post_since) {
				int lo = p->post_since > D(y, 1, 10) ? p->post_since : D(y, 1, 10);
				int sup = superior_of(p);
				ts_t at = work_between(&r, lo, D(y, 3, 25));
				int pl = P_D07;
				bool skip = pass && plant_pick(TB_DUTY + 1, idx[1]++, duty_cand[1], &pl, 1) == P_D07;
				if (pass == 0)
					duty_cand[1]++;
				else if (skip)
					truth_add(P_D07, "[\"%s\", \"%s\"]", p->id, per);
				else {
					F_text("responsibility_letter");
					F_text(p->id);
					F_text(sup >= 0 ? persons[sup].id : "省市场监督管理局");
					F_text(per);
					F_ts(at);
					row_end();
				}
			}
		}
		/* heart-to-heart talks each quarter from 2024-Q4 */
		for (int y = 2024; y <= 2026; y++)
			for (int q = 1; q <= 4; q++) {
				if (y == 2024 && q < 4)
					continue;
				int qs = D(y, 3 * q - 2, 1), qe = (q == 4 ? D(y + 1, 1, 1) : D(y, 3 * q + 1, 1)) - 1;
				if (qe < p->post_since || qs > dayend)
					continue;
				int lo = qs > p->post_since ? qs : p->post_since, hi = qe < dayend ? qe : dayend;
				snprintf(per, sizeof per, "%d-Q%d", y, q);
				bool finished = qe < D(2026, 11, 25), skip = false;
				int pl = P_D08;
				if (finished && pass == 0)
					duty_cand[2]++;
				else if (finished)
					skip = plant_pick(TB_DUTY + 2, idx[2]++, duty_cand[2], &pl, 1) == P_D08;
				if (skip)
					truth_add(P_D08, "[\"%s\", \"%s\"]", p->id, per);
				int n = 1 + rchance(&r, 0.4);
				for (int k = 0; k < n; k++) {
					int who = subordinate_of(&r, p);
					ts_t at = work_between(&r, lo, hi);
					if (pass == 0 || skip)
						continue;
					F_text("heart_talk");
					F_text(p->id);
					F_text(persons[who].id);
					F_text(per);
					F_ts(at);
					row_end();
				}
			}
	}
}
static void emit_duty(void)
{
	copy_begin("duty_record", "duty, person_id, counterpart, period, done_at");
	memset(duty_cand, 0, sizeof duty_cand);
	duty_rows(0);
	duty_rows(1);
	copy_end();
}

/* ------------------------------------------------------------------ methods, equipment, signatories */
#define METHODS_PER_LAB 4
#define NMETHODS (NLABS * METHODS_PER_LAB)
#define EQ_PER_LAB 11
#define EQ_USABLE 9 /* the first EQ_USABLE of a lab's instruments are in service and calibrated */
#define NEQUIP (NLABS * EQ_PER_LAB)
static const char *lab_items[NLABS] = {
	"铅|镉|汞|六价铬|甲醛|pH值|邻苯二甲酸酯",         "抗拉强度|屈服强度|硬度|尺寸偏差|冲击吸收能量",
	"绝缘电阻|电气强度|泄漏电流|温升|接地电阻|标志",    "菌落总数|大肠菌群|铅|二氧化硫残留量|苯甲酸|水分",
	"甲醛含量|pH值|耐水色牢度|纤维含量|断裂强力",       "抗压强度|抗折强度|吸水率|放射性|尺寸偏差",
	"外观|规格尺寸|荧光性物质|迁移量|耐热性",           "辐射骚扰|静电放电抗扰度|功率|待机功耗|标志",
	"无菌|细菌内毒素|生物相容性|物理性能|环氧乙烷残留", "示值误差|重复性|偏载|鉴别力|稳定性",
	"耐压试验|壁厚|焊缝无损检测|爆破压力|气密性",       "导体电阻|绝缘厚度|护套厚度|耐电压|燃烧性能",
	"甲醛释放量|力学性能|漆膜附着力|稳定性|尺寸",       "小零件|锐利边缘|可迁移元素|增塑剂|燃烧性能",
	"耐折性能|剥离强度|耐磨性能|鞋跟结合力|六价铬",     "拉伸强度|断裂伸长率|落锤冲击|维卡软化温度|卫生性能",
	"闪点|运动黏度|硫含量|水分|馏程|十六烷值",         "化学成分|拉伸性能|弯曲性能|硬度|金相组织",
	"光通量|显色指数|谐波电流|防触电保护|耐热耐火",     "输入功率|温升|泄漏电流|能效|噪声|结构",
	"制动性能|尺寸|硬度|盐雾试验|耐久性",               "灭火性能|喷射时间|密封性能|报警功能|耐压",
	"防护性能|透气性|过滤效率|阻燃性能|耐穿刺",         "溶剂残留|透氧率|拉断力|热封强度|卫生性能",
	"VOC含量|铅|附着力|耐冲击性|干燥时间|细度",         "有效成分含量|水分|pH值|悬浮率|粒度",
	"化学需氧量|氨氮|总磷|悬浮物|噪声|颗粒物",
};
static const char *lab_item[NLABS][8];
static int lab_nitems[NLABS];
static const char *instruments[] = {
	"电感耦合等离子体质谱仪", "原子吸收分光光度计", "气相色谱仪", "液相色谱仪", "紫外可见分光光度计",
	"万能材料试验机", "洛氏硬度计", "冲击试验机", "耐压测试仪", "绝缘电阻测试仪", "泄漏电流测试仪",
	"温升测试系统", "恒温恒湿箱", "电子天平", "pH计", "马弗炉", "盐雾试验箱", "色差仪", "电磁兼容测试系统",
	"积分球光谱分析系统", "黏度计", "闪点测定仪", "生物安全柜", "高压灭菌器", "X射线荧光光谱仪",
	"傅里叶红外光谱仪", "显微镜", "燃烧试验机", "拉力试验机", "功率分析仪",
};
struct method {
	char code[32];
	double min_hours;
};
static struct method methods[NMETHODS];
struct equip {
	char id[16];
	char name[96];
	int due;
	const char *status;
};
static struct equip equips[NEQUIP];

static void tech_init(void)
{
	rng_t r;
	rng_init(&r, S_METHOD, 0);
	static char itembuf[NLABS][256];
	for (int l = 0; l < NLABS; l++) {
		snprintf(itembuf[l], sizeof itembuf[l], "%s", lab_items[l]);
		char *save = NULL;
		for (char *t = strtok_r(itembuf[l], "|", &save); t && lab_nitems[l] < 8; t = strtok_r(NULL, "|", &save))
			lab_item[l][lab_nitems[l]++] = t;
	}
	/* the standards series a lab mostly works to, besides GB and GB/T */
	static const char *series[NLABS] = {"HG/T", "JB/T", "GB", "GB", "FZ/T", "JC/T", "QB/T", "SJ/T", "YY",
					    "JJG", "TSG", "JB/T", "QB/T", "GB", "QB/T", "QB/T", "SH/T", "YB/T",
					    "GB", "GB", "QC/T", "GA", "GB", "BB/T", "HG/T", "HG/T", "HJ"};
	for (int m = 0; m < NMETHODS; m++) {
		int l = m / METHODS_PER_LAB;
		if (m % METHODS_PER_LAB == 0 && l == 2)
			snprintf(methods[m].code, sizeof methods[m].code, "GB 4706.1-2005");
		else
		{
			double u = runif(&r);
			const char *pf = u < 0.4 ? series[l] : u < 0.6 ? "GB" : "GB/T";
			int num = rrange(&r, 1000, 39999);
			const char *part = rchance(&r, 0.3) ? ".1" : "";
			int year = rrange(&r, 2008, 2024);
			snprintf(methods[m].code, sizeof methods[m].code, "%s %d%s-%d", pf, num, part, year);
		}
		/* avoid a repeated code */
		for (int k = 0; k < m; k++)
			if (!strcmp(methods[k].code, methods[m].code))
				snprintf(methods[m].code + strlen(methods[m].code), 8, "(%d)", m);
		static const double hours[] = {2, 4, 6, 8, 12, 24, 48, 72};
		methods[m].min_hours = hours[rint_(&r, NELEM(hours))];
	}
	rng_init(&r, S_EQUIP, 0);
	for (int e = 0; e < NEQUIP; e++) {
		struct equip *q = &equips[e];
		snprintf(q->id, sizeof q->id, "EQ-%04d", e + 1);
		const char *inst = instruments[rint_(&r, NELEM(instruments))];
		char m1 = (char)('A' + (int)rint_(&r, 26));
		char m2 = (char)('A' + (int)rint_(&r, 26));
		snprintf(q->name, sizeof q->name, "%s %c%c-%d", inst, m1, m2, rrange(&r, 100, 9900));
		if (e % EQ_PER_LAB < EQ_USABLE) {
			/* calibrated yearly: the current certificate runs past the end of the data */
			q->due = D(2026, 12, 1) + (int)rint_(&r, 360);
			q->status = "in_service";
		} else if (e % EQ_PER_LAB == EQ_USABLE) {
			q->status = rchance(&r, 0.5) ? "out_of_service" : "repair";
			q->due = D(2024, 6, 1) + (int)rint_(&r, 500);
		} else {
			static const char *st[] = {"out_of_service", "repair", "in_service"};
			q->status = st[rint_(&r, 3)];
			q->due = D(2024, 6, 1) + (int)rint_(&r, 500);
		}
	}
}

static void emit_method_norm(void)
{
	copy_begin("method_norm", "method, min_hours");
	for (int m = 0; m < NMETHODS; m++) {
		F_text(methods[m].code);
		F_fixed(methods[m].min_hours, 1);
		row_end();
	}
	copy_end();
}

static void emit_equipment(void)
{
	copy_begin("equipment", "equipment_id, name, calibration_due, status");
	for (int e = 0; e < NEQUIP; e++) {
		F_text(equips[e].id);
		F_text(equips[e].name);
		F_date(equips[e].due);
		F_text(equips[e].status);
		row_end();
	}
	copy_end();
}

static void emit_signatory(void)
{
	rng_t r;
	rng_init(&r, S_SIGN, 0);
	copy_begin("signatory", "person_id, method, valid_from, valid_to");
	for (int l = 0; l < NLABS; l++) {
		const struct labstaff *ls = &labstaff[l];
		for (int a = 0; a < ls->nappr; a++)
			for (int m = l * METHODS_PER_LAB; m < (l + 1) * METHODS_PER_LAB; m++) {
				F_text(persons[ls->approvers[a]].id);
				F_text(methods[m].code);
				F_date(D(2018, 1, 1) + (int)rint_(&r, 6 * 365));
				if (rchance(&r, 0.5))
					F_null();
				else
					F_date(D(2027, 6, 30) + (int)rint_(&r, 3 * 365));
				row_end();
			}
		/* an earlier authorisation of a reviewer that has lapsed */
		if (rchance(&r, 0.5)) {
			F_text(persons[ls->reviewers[0]].id);
			F_text(methods[l * METHODS_PER_LAB].code);
			F_date(D(2017, 3, 1) + (int)rint_(&r, 365));
			F_date(D(2022, 3, 1) + (int)rint_(&r, 600));
			row_end();
		}
	}
	/* the technical vice president signs for any method */
	F_text(persons[leaders_lead[2]].id);
	F_text("*");
	F_date(D(2019, 7, 1));
	F_null();
	row_end();
	copy_end();
}

/* ------------------------------------------------------------------ test tasks */
#define MAXRES 16
struct result {
	int item, attempt;
	bool pass;
	double value;
	int analyst;
	ts_t at;
	char hash[40];
};
struct oos {
	int item;
	ts_t opened, closed;
	const char *conclusion;
};
struct audit {
	const char *entity;
	int res; /* index into res[] or -1 for the task */
	const char *field;
	char oldv[32], newv[32];
	int by;
	ts_t at;
};
struct equse {
	int eq;
	ts_t at;
};
struct task {
	uint64_t idx;
	char id[24], report[32], sample[24];
	int client, lab, method;
	ts_t received, start, end, reviewed, approved, issued;
	int tester, reviewer, approver, signer;
	bool fail;
	int cdays;
	int nres;
	struct result res[MAXRES];
	int noos;
	struct oos oos[4];
	int naud;
	struct audit aud[12];
	int neq;
	struct equse eq[4];
	bool amended;
	ts_t amended_at;
	int amended_by;
	const char *amend_reason;
	int plant;   /* the rule planted on this task, or -1 */
	bool t11;    /* redirected to the T11 client and tester */
	int t04_person[4], nt04;
	int t02_res;
	int plant_aud; /* index of the planted audit event, or -1 */
	int amend_aud; /* index of the value change an amendment covers, or -1 */
	bool eq_planted;
};
static const int task_rules[] = {P_T01, P_T02, P_T03, P_T04, P_T05, P_T06, P_T07, P_T08, P_T09, P_T10};
static int t11_client = -1, t11_tester = -1;
static double t11_q;
/* T11 looks at the 90 days before "now". From T11_FROM (before the window of
 * the earliest supported now, 2026-11-25) all of the T11 client's work goes
 * to one tester; the key is planted when at least 10 of those tasks fall in
 * the window of the latest supported now (2026-12-31 24:00), so it fires for
 * any now in between */
#define T11_FROM mkts(D(2026, 8, 20), 0)
#define T11_NARROW (mkts(D(2027, 1, 1), 0) - 90 * 86400)
static uint64_t ntasks;
static ts_t TS_END; /* 2026-11-24 17:30 */

/* a member of list[] not declared conflicted with the client */
static int pick_staff(rng_t *r, const int *list, int n, int client, int not1, int not2)
{
	for (int tries = 0; tries < 64; tries++) {
		int p = list[rint_(r, (uint32_t)n)];
		if (p != not1 && p != not2 && !has_coi(client, p))
			return p;
	}
	for (int k = 0; k < n; k++)
		if (list[k] != not1 && list[k] != not2 && !has_coi(client, list[k]))
			return list[k];
	return list[0];
}

static void fmt_value(char *b, size_t n, double v) { snprintf(b, n, "%.3f", v); }

static bool coi_valid(int person, int party, int day)
{
	for (int k = 0; k < ncois; k++)
		if (cois[k].person == person && cois[k].party == party &&
		    (cois[k].valid_from == DAY_NULL || cois[k].valid_from <= day) &&
		    (cois[k].valid_to == DAY_NULL || cois[k].valid_to >= day))
			return true;
	return false;
}
static void gen_task(uint64_t i, struct task *t, bool plants);

/* change a complete clean task so that exactly one rule flags it */
static void plant_task(rng_t *q, struct task *t)
{
	const struct labstaff *ls = &labstaff[t->lab];
	switch (t->plant) {
	case P_T03:
		t->reviewer = t->tester;
		return;
	case P_T06:
		t->signer = pick_staff(q, ls->testers, ls->ntest, t->client, t->tester, -1);
		return;
	case P_T07:
		t->reviewed = t->end - 1800;
		return;
	case P_T08:
		t->end = t->start + (ts_t)(methods[t->method].min_hours * 0.3 * 3600.0);
		return;
	case P_T05:
		if (t->neq == 0)
			t->neq = 1;
		t->eq[0].eq = t->lab * EQ_PER_LAB + EQ_USABLE;
		t->eq[0].at = t->start + (t->end - t->start) / 2;
		t->eq_planted = true;
		return;
	case P_T04: {
		/* a declared conflict with a client, valid when the sample came in: the declarer tests it */
		int day = ts_day(t->received);
		int k0 = (int)rint_(q, (uint32_t)ncois);
		for (int n = 0; n < ncois; n++) {
			const struct coi *c = &cois[(k0 + n) % ncois];
			const struct party *pc = &parties[c->party];
			if (pc->kind == 1 || pc->dormant || !coi_valid(c->person, c->party, day) ||
			    c->person == t->reviewer || c->person == t->approver || c->person == t->signer)
				continue;
			t->client = c->party;
			t->tester = c->person;
			int roles[4] = {t->tester, t->reviewer, t->approver, t->signer};
			for (int a = 0; a < 4; a++) {
				bool dup = false;
				for (int b = 0; b < t->nt04; b++)
					dup |= t->t04_person[b] == roles[a];
				if (!dup && coi_valid(roles[a], t->client, day))
					t->t04_person[t->nt04++] = roles[a];
			}
			return;
		}
		t->plant = -1;
		return;
	}
	case P_T01:
	case P_T09: {
		if (t->amended || t->naud >= 11) {
			t->plant = -1;
			return;
		}
		struct audit *e = &t->aud[t->naud];
		e->entity = "test_result";
		e->res = 0;
		e->by = t->res[0].analyst;
		if (t->plant == P_T01) {
			/* a value changed after approval, in office hours, with no amendment */
			e->field = "value";
			fmt_value(e->oldv, sizeof e->oldv, t->res[0].value);
			fmt_value(e->newv, sizeof e->newv, t->res[0].value * 0.93);
			e->at = work_after(q, t->approved, 0, 3);
		} else {
			/* a remark added to an approved record late in the evening */
			e->entity = "test_task";
			e->res = -1;
			e->field = "remark";
			snprintf(e->newv, sizeof e->newv, "补充说明");
			e->at = mkts(ts_day(t->approved), HM(20, 0) + (int)rint_(q, 10000));
		}
		if (e->at > TS_END) {
			t->plant = -1;
			return;
		}
		t->plant_aud = t->naud;
		t->naud++;
		return;
	}
	case P_T02: {
		/* a failed first attempt passes on retest by the same analyst */
		if (t->nres >= MAXRES) {
			t->plant = -1;
			return;
		}
		for (int k = 0; k < t->nres; k++) {
			struct result *a = &t->res[k];
			bool alone = true;
			for (int j = 0; j < t->nres; j++)
				alone &= j == k || t->res[j].item != a->item;
			if (!alone || !a->pass)
				continue;
			a->pass = false;
			struct result *b = &t->res[t->nres++];
			*b = *a;
			b->attempt = 2;
			b->pass = true;
			b->at = a->at + (t->end - a->at) / 2;
			hexhash(q, b->hash);
			t->t02_res = k;
			return;
		}
		t->plant = -1;
		return;
	}
	case P_T10: {
		/* the first raw data file of the previous task reused */
		struct task prev;
		if (t->idx == 0 || plant_pick(TB_TASK, t->idx - 1, ntasks, task_rules, NELEM(task_rules)) == P_T10) {
			t->plant = -1;
			return;
		}
		gen_task(t->idx - 1, &prev, true);
		if (prev.end == TS_NULL || prev.res[0].at > TS_END) {
			t->plant = -1;
			return;
		}
		memcpy(t->res[0].hash, prev.res[0].hash, sizeof t->res[0].hash);
		return;
	}
	default:
		return;
	}
}

static void gen_task(uint64_t i, struct task *t, bool plants)
{
	rng_t r;
	rng_init(&r, S_TASK, i);
	memset(t, 0, sizeof *t);
	t->idx = i;
	t->plant_aud = -1;
	t->amend_aud = -1;
	/* received: tasks spread evenly over the workdays, ids in time order */
	int wd = (int)(((double)i + runif(&r)) * nworkdays / (double)ntasks);
	if (wd >= nworkdays)
		wd = nworkdays - 1;
	int day = workdays[wd];
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(t->id, sizeof t->id, "T%08" PRIu64, i + 1);
	snprintf(t->report, sizeof t->report, "ZJQI%d-%s%07" PRIu64, y, "BG", i + 1);
	snprintf(t->sample, sizeof t->sample, "S%d%08" PRIu64, y, i + 1);
	t->received = mkts(day, work_sec(&r));
	/* client: busy clients more often; not before the client existed */
	do
		t->client = pick_party(&r, clients, nclients, client_wsum);
	while (parties[t->client].created_at > t->received);
	t->lab = rchance(&r, 0.85) ? parties[t->client].lab : (int)rint_(&r, NLABS);
	t->plant = -1;
	if (plants && t11_client >= 0 && t->received >= T11_FROM) {
		/* planted T11: in the last months one client's work all goes to one tester */
		rng_t q;
		rng_plant(&q, TB_TASK + 100, i);
		if (t->client == t11_client || rchance(&q, t11_q)) {
			t->client = t11_client;
			t->lab = parties[t11_client].lab;
			t->t11 = true;
		}
	}
	t->method = t->lab * METHODS_PER_LAB + (int)rint_(&r, METHODS_PER_LAB);
	const struct labstaff *ls = &labstaff[t->lab];
	t->tester = pick_staff(&r, ls->testers, ls->ntest, t->client, -1, -1);
	t->reviewer = pick_staff(&r, ls->reviewers, ls->nrev, t->client, t->tester, -1);
	t->approver = pick_staff(&r, ls->approvers, ls->nappr, t->client, t->tester, t->reviewer);
	t->signer = t->approver;
	if (t->t11)
		t->tester = t11_tester;
	/* the timeline */
	double mh = methods[t->method].min_hours;
	t->start = work_after(&r, t->received, 0, 2);
	t->end = t->start + (ts_t)(mh * 3600.0 * (1.05 + 1.2 * runif(&r)));
	t->reviewed = work_after(&r, t->end, 0, 2);
	t->approved = work_after(&r, t->reviewed, 0, 1);
	t->issued = work_after(&r, t->approved, 0, 1);
	static const int cd[] = {5, 7, 7, 10, 10, 15, 20, 30};
	t->cdays = cd[rint_(&r, NELEM(cd))];
	int turnaround = (int)((t->issued - t->received + 86399) / 86400);
	if (t->cdays < turnaround * 4 / 5 + 1)
		t->cdays = turnaround * 4 / 5 + 1;

	/* results: every attempt */
	int nitems = rrange(&r, 1, 4);
	nitems += rchance(&r, 0.4);
	int nl = lab_nitems[t->lab];
	if (nitems > nl)
		nitems = nl;
	int first = (int)rint_(&r, (uint32_t)nl);
	ts_t span = t->end - t->start;
	for (int k = 0; k < nitems; k++) {
		int item = (first + k) % nl;
		struct result *a = &t->res[t->nres++];
		a->item = item;
		a->attempt = 1;
		a->analyst = t->tester;
		a->at = t->start + (ts_t)(span * (0.55 + 0.25 * runif(&r)));
		a->value = exp(rnorm(&r) * 0.8) * (1 + item);
		hexhash(&r, a->hash);
		a->pass = !rchance(&r, 0.04);
		if (a->pass)
			continue;
		/* an out-of-specification result is investigated; most are retested by a colleague */
		struct oos *o = &t->oos[t->noos++];
		o->item = item;
		o->opened = a->at + 600 + (ts_t)((t->end - a->at) * 0.2 * runif(&r));
		o->closed = work_after(&r, t->end, 0, 1);
		if (o->closed > t->reviewed)
			o->closed = t->reviewed;
		if (rchance(&r, 0.6)) {
			struct result *b = &t->res[t->nres++];
			*b = *a;
			b->attempt = 2;
			b->analyst = pick_staff(&r, ls->testers, ls->ntest, t->client, t->tester, -1);
			b->at = o->opened + 600 + (ts_t)((t->end - o->opened - 600) * (0.3 + 0.6 * runif(&r)));
			b->value = a->value * (0.9 + 0.1 * runif(&r));
			hexhash(&r, b->hash);
			b->pass = rchance(&r, 0.6);
			o->conclusion = b->pass ? "实验室偏差，复检合格" : "复检确认不合格";
			if (!b->pass)
				t->fail = true;
		} else {
			o->conclusion = "确认样品不合格";
			t->fail = true;
		}
		if (t->noos >= 4)
			break;
	}

	/* audit trail */
	int nres = t->nres;
	for (int k = 0; k < nres && t->naud < 8; k++) {
		if (!rchance(&r, 0.15))
			continue;
		struct result *a = &t->res[k];
		struct audit *e = &t->aud[t->naud++];
		e->entity = "test_result";
		e->res = k;
		e->field = "value";
		fmt_value(e->oldv, sizeof e->oldv, a->value * (0.8 + 0.4 * runif(&r)));
		fmt_value(e->newv, sizeof e->newv, a->value);
		e->by = a->analyst;
		e->at = a->at + 60 + (ts_t)((t->reviewed - a->at - 120) * 0.5 * runif(&r));
	}
	if (rchance(&r, 0.1)) {
		struct audit *e = &t->aud[t->naud++];
		e->entity = "test_task";
		e->res = -1;
		e->field = "sample_desc";
		snprintf(e->oldv, sizeof e->oldv, "样品%d件", rrange(&r, 1, 5));
		snprintf(e->newv, sizeof e->newv, "样品%d件（含备样）", rrange(&r, 2, 6));
		e->by = ls->first + ls->n - 1; /* the sample administrator */
		e->at = t->received + (t->start - t->received) / 2;
	}
	if (rchance(&r, 0.5)) {
		struct audit *e = &t->aud[t->naud++];
		e->entity = "test_task";
		e->res = -1;
		e->field = "status";
		snprintf(e->oldv, sizeof e->oldv, "tested");
		snprintf(e->newv, sizeof e->newv, "reviewed");
		e->by = t->reviewer;
		e->at = t->reviewed;
	}
	if (rchance(&r, 0.6)) {
		struct audit *e = &t->aud[t->naud++];
		e->entity = "test_task";
		e->res = -1;
		e->field = "status";
		snprintf(e->oldv, sizeof e->oldv, "reviewed");
		snprintf(e->newv, sizeof e->newv, "approved");
		e->by = t->approver;
		e->at = t->approved;
	}
	/* after approval only clerical fields change, in office hours */
	if (rchance(&r, 0.03)) {
		struct audit *e = &t->aud[t->naud++];
		e->entity = "test_task";
		e->res = -1;
		e->field = rchance(&r, 0.5) ? "client_contact" : "remark";
		snprintf(e->oldv, sizeof e->oldv, "%s", e->field[0] == 'r' ? "" : "张工");
		snprintf(e->newv, sizeof e->newv, "%s", e->field[0] == 'r' ? "报告已邮寄" : "李工");
		e->by = ls->first + ls->n - 1;
		e->at = work_after(&r, t->approved, 0, 5);
	}
	/* a few reports are amended: the corrected value is logged before the amendment */
	if (rchance(&r, 0.005)) {
		struct result *a = &t->res[rint_(&r, (uint32_t)t->nres)];
		struct audit *e = &t->aud[t->naud++];
		e->entity = "test_result";
		e->res = (int)(a - t->res);
		e->field = "value";
		fmt_value(e->oldv, sizeof e->oldv, a->value * 1.1);
		fmt_value(e->newv, sizeof e->newv, a->value);
		e->by = a->analyst;
		e->at = work_after(&r, t->issued, 1, 8);
		t->amended = true;
		t->amend_aud = t->naud - 1;
		t->amended_at = work_after(&r, e->at, 0, 2);
		t->amended_by = t->approver;
		static const char *why[] = {"数据录入错误更正", "委托方信息更正", "计算修约错误更正"};
		t->amend_reason = why[rint_(&r, NELEM(why))];
		if (t->amended_at > TS_END) {
			/* not amended yet at the end of the data: then the change is not there either */
			t->naud--;
			t->amended = false;
			t->amend_aud = -1;
		}
	}
	/* equipment */
	int ne = rchance(&r, 0.65) ? (rchance(&r, 0.28) ? 2 : 1) : 0;
	int e0 = (int)rint_(&r, EQ_USABLE);
	for (int k = 0; k < ne; k++) {
		t->eq[t->neq].eq = t->lab * EQ_PER_LAB + (e0 + k) % EQ_USABLE;
		t->eq[t->neq].at = t->start + (ts_t)(span * runif(&r));
		t->neq++;
	}
	if (plants && !t->t11 && t->issued <= TS_END) {
		t->plant = plant_pick(TB_TASK, i, ntasks, task_rules, NELEM(task_rules));
		if (t->plant >= 0) {
			rng_t q;
			rng_plant(&q, TB_TASK, i);
			plant_task(&q, t);
		}
	}
	/* work still in progress at the end of the data */
	ts_t *steps[] = {&t->start, &t->end, &t->reviewed, &t->approved, &t->issued};
	for (int k = 0; k < 5; k++)
		if (*steps[k] != TS_NULL && *steps[k] > TS_END)
			for (int j = k; j < 5; j++)
				*steps[j] = TS_NULL;
}

/* the lab-integrity tables look at every task as it is written (below) */
static void lab_task(const struct task *t);

static void emit_test_task(void)
{
	struct task t;
	int t11_n = 0;
	copy_begin("test_task", "task_id, report_no, sample_id, client_id, lab, method, received_at, test_start, "
				"test_end, tested_by, reviewed_by, approved_by, signed_by, reviewed_at, approved_at, "
				"issued_at, verdict, contracted_days");
	for (uint64_t i = 0; i < ntasks; i++) {
		gen_task(i, &t, true);
		bool done = t.issued != TS_NULL;
		F_text(t.id);
		F_text(t.report);
		F_text(t.sample);
		F_text(parties[t.client].id);
		F_text(lab_names[t.lab]);
		F_text(methods[t.method].code);
		F_ts(t.received);
		F_ts(t.start);
		F_ts(t.end);
		F_text(persons[t.tester].id);
		F_text(t.reviewed != TS_NULL ? persons[t.reviewer].id : NULL);
		F_text(t.approved != TS_NULL ? persons[t.approver].id : NULL);
		F_text(done ? persons[t.signer].id : NULL);
		F_ts(t.reviewed);
		F_ts(t.approved);
		F_ts(t.issued);
		F_text(t.end == TS_NULL ? NULL : t.fail ? "fail" : "pass");
		F_int(t.cdays);
		row_end();
		switch (t.plant) {
		case P_T03: case P_T06: case P_T07: case P_T08:
			truth_add(t.plant, "%s", t.id);
			break;
		case P_T04:
			for (int k = 0; k < t.nt04; k++)
				truth_add(P_T04, "[\"%s\", \"%s\"]", t.id, persons[t.t04_person[k]].id);
			break;
		}
		if (t.t11 && t.received > T11_NARROW)
			t11_n++;
		if (opt_lab)
			lab_task(&t);
	}
	copy_end();
	if (t11_client >= 0 && t11_n >= 10)
		truth_add(P_T11, "[\"%s\", \"%s\"]", parties[t11_client].id, persons[t11_tester].id);
}

static void emit_test_result(void)
{
	struct task t;
	char id[40];
	copy_begin("test_result", "result_id, task_id, item, attempt, verdict, value, analyst, raw_hash, recorded_at");
	for (uint64_t i = 0; i < ntasks; i++) {
		gen_task(i, &t, true);
		for (int k = 0; k < t.nres; k++) {
			const struct result *a = &t.res[k];
			if (t.end == TS_NULL || a->at > TS_END)
				break;
			snprintf(id, sizeof id, "R%08" PRIu64 "-%02d", i + 1, k + 1);
			F_text(id);
			F_text(t.id);
			F_text(lab_item[t.lab][a->item]);
			F_int(a->attempt);
			F_text(a->pass ? "pass" : "fail");
			F_fixed(a->value, 3);
			F_text(persons[a->analyst].id);
			F_text(a->hash);
			F_ts(a->at);
			row_end();
			if (t.plant == P_T02 && k == t.nres - 1)
				truth_add(P_T02, "[\"%s\", \"%s\"]", t.id, lab_item[t.lab][a->item]);
			if (t.plant == P_T10 && k == 0)
				truth_add(P_T10, "%s", a->hash);
		}
	}
	copy_end();
}

static void emit_oos(void)
{
	struct task t;
	copy_begin("oos_investigation", "task_id, item, opened_at, closed_at, conclusion");
	for (uint64_t i = 0; i < ntasks; i++) {
		gen_task(i, &t, true);
		if (t.end == TS_NULL)
			continue;
		for (int k = 0; k < t.noos; k++) {
			const struct oos *o = &t.oos[k];
			bool closed = t.reviewed != TS_NULL && o->closed <= TS_END;
			F_text(t.id);
			F_text(lab_item[t.lab][o->item]);
			F_ts(o->opened);
			F_ts(closed ? o->closed : TS_NULL);
			F_text(closed ? o->conclusion : NULL);
			row_end();
		}
	}
	copy_end();
}

static void emit_amendment(void)
{
	struct task t;
	copy_begin("report_amendment", "task_id, amended_at, amended_by, reason");
	for (uint64_t i = 0; i < ntasks; i++) {
		gen_task(i, &t, true);
		if (!t.amended || t.issued == TS_NULL || t.amended_at > TS_END)
			continue;
		F_text(t.id);
		F_ts(t.amended_at);
		F_text(persons[t.amended_by].id);
		F_text(t.amend_reason);
		row_end();
	}
	copy_end();
}

static void emit_audit(void)
{
	struct task t;
	char id[40], rid[40];
	copy_begin("audit_trail", "event_id, entity, entity_id, field, old_value, new_value, changed_by, changed_at");
	for (uint64_t i = 0; i < ntasks; i++) {
		gen_task(i, &t, true);
		for (int k = 0; k < t.naud; k++) {
			const struct audit *e = &t.aud[k];
			if (e->at > TS_END)
				continue;
			/* nothing happens to a step that has not happened yet */
			if ((e->at > t.start && t.end == TS_NULL) || (e->at >= t.reviewed && t.reviewed == TS_NULL) ||
			    (e->at >= t.approved && t.approved == TS_NULL) || (e->at > t.issued && t.issued == TS_NULL))
				continue;
			snprintf(id, sizeof id, "E%08" PRIu64 "-%02d", i + 1, k + 1);
			/* --stream: a corrected value arrives with the amendment that
			 * covers it (report_amendment is replayed first at that moment),
			 * so T01 never sees the change without it */
			if (k == t.amend_aud)
				cap_when = t.amended_at;
			F_text(id);
			F_text(e->entity);
			if (e->res >= 0) {
				snprintf(rid, sizeof rid, "R%08" PRIu64 "-%02d", i + 1, e->res + 1);
				F_text(rid);
			} else
				F_text(t.id);
			F_text(e->field);
			F_text(e->oldv[0] ? e->oldv : NULL);
			F_text(e->newv);
			F_text(persons[e->by].id);
			F_ts(e->at);
			row_end();
			if (k == t.plant_aud)
				truth_add(t.plant, "%s", id);
		}
	}
	copy_end();
}

static void emit_equipment_use(void)
{
	struct task t;
	copy_begin("equipment_use", "task_id, equipment_id, used_at");
	for (uint64_t i = 0; i < ntasks; i++) {
		gen_task(i, &t, true);
		if (t.end == TS_NULL)
			continue;
		for (int k = 0; k < t.neq; k++) {
			F_text(t.id);
			F_text(equips[t.eq[k].eq].id);
			F_ts(t.eq[k].at);
			row_end();
			if (t.eq_planted && k == 0)
				truth_add(P_T05, "[\"%s\", \"%s\"]", t.id, equips[t.eq[k].eq].id);
		}
	}
	copy_end();
}

/* ------------------------------------------------------------------ purchase orders */
static uint64_t npos, npays;
#define SPLIT_THRESHOLD 20000000 /* cents: F02's threshold, 200000 yuan */
#define RING 32
struct ring {
	ts_t at[RING];
	int64_t amt[RING];
	int n;
};
static struct ring *po_rings; /* [vendor slot][dept] */
static int vendor_slot[NPARTIES];

/* spread n events over the workdays in order: event j at a working moment */
static ts_t spread_ts(uint64_t j, uint64_t n)
{
	double f = ((double)j + 0.5) * nworkdays / (double)n;
	int wd = (int)f;
	if (wd >= nworkdays)
		wd = nworkdays - 1;
	return mkts(workdays[wd], HM(8, 30) + (int)((f - wd) * 9 * 3600));
}
static int64_t ring_sum(const struct ring *g, ts_t since)
{
	int64_t s = 0;
	for (int k = 0; k < g->n; k++)
		if (g->at[k] >= since)
			s += g->amt[k];
	return s;
}
static int ring_live(const struct ring *g, ts_t since)
{
	int n = 0;
	for (int k = 0; k < g->n; k++)
		n += g->at[k] >= since;
	return n;
}
/* add an order, replacing the oldest when full (callers check that the oldest is no longer live) */
static void ring_add(struct ring *g, ts_t at, int64_t amt)
{
	int k = g->n;
	if (g->n < RING)
		g->n++;
	else
		for (int j = k = 0; j < RING; j++)
			if (g->at[j] < g->at[k])
				k = j;
	g->at[k] = at;
	g->amt[k] = amt;
}
static int64_t lognormal_cents(rng_t *r, double median, double sigma)
{
	return (int64_t)llround(median * exp(sigma * rnorm(r)) * 100.0);
}
static int pick_vendor(rng_t *r, ts_t at, int min_age_days)
{
	for (;;) {
		int v = pick_party(r, vendors, nvendors, vendor_wsum);
		if (parties[v].created_at + (ts_t)min_age_days * 86400 <= at)
			return v;
	}
}
static int dept_member(rng_t *r, int dept)
{
	if (dept < NLABS) {
		const struct labstaff *ls = &labstaff[dept];
		return ls->first + (int)rint_(r, (uint32_t)ls->n);
	}
	for (;;) {
		int q = (int)rint_(r, (uint32_t)npersons);
		if (persons[q].dept == dept)
			return q;
	}
}
static int pick_dept(rng_t *r)
{
	return rchance(r, 0.8) ? (int)rint_(r, NLABS) : NLABS + (int)rint_(r, NDEPS - NLABS);
}

/* planted F02: two orders within hours to a vendor-department pair idle for a month, each below the threshold, together above it */
static bool plant_po(uint64_t j, ts_t at)
{
	rng_t q;
	rng_plant(&q, TB_PO, j);
	ts_t since = at - 31 * 86400;
	for (int tries = 0; tries < 200; tries++) {
		int v = pick_vendor(&q, at, 0), dept = pick_dept(&q);
		struct ring *g = &po_rings[vendor_slot[v] * NDEPS + dept];
		if (ring_live(g, since) > 0)
			continue;
		int64_t a = 11000000 + (int64_t)rint_(&q, 4000000);
		int64_t b = SPLIT_THRESHOLD - a + 100000 + (int64_t)rint_(&q, 3000000);
		ts_t tb = at + 3600 + (ts_t)rint_(&q, 3 * 3600);
		char id[40];
		for (int k = 0; k < 2; k++) {
			snprintf(id, sizeof id, "PO%08" PRIu64 "%s", j + 1, k ? "-2" : "");
			F_text(id);
			F_text(parties[v].id);
			F_text(dept_name(dept));
			F_text(persons[dept_member(&q, dept)].id);
			F_text(dept < NLABS ? "仪器配件" : "信息化服务");
			F_money(k ? b : a);
			F_ts(k ? tb : at);
			F_text(persons[buyers[rint_(&q, (uint32_t)nbuyers)]].id);
			F_text(persons[dept_head[dept]].id);
			row_end();
		}
		ring_add(g, at, a);
		ring_add(g, tb, b);
		char day[16];
		fmt_date(day, ts_day(at));
		truth_add(P_F02, "[\"%s\", \"%s\", \"%s\"]", parties[v].id, dept_name(dept), day);
		return true;
	}
	return false;
}

static void emit_purchase_order(void)
{
	static const char *cat_lab[] = {"化学试剂", "实验耗材", "标准物质", "仪器配件", "计量检定服务", "仪器维修服务"};
	static const char *cat_adm[] = {"办公用品", "印刷服务", "物业服务", "信息化服务", "会议服务"};
	rng_t r;
	char id[32];
	rng_init(&r, S_PO, 0);
	int ns = 0;
	for (int k = 0; k < nvendors; k++)
		vendor_slot[vendors[k]] = ns++;
	po_rings = calloc((size_t)ns * NDEPS, sizeof *po_rings);
	copy_begin("purchase_order", "po_id, vendor_id, department, requester, category, amount, ordered_at, "
				     "created_by, approved_by");
	for (uint64_t j = 0; j < npos; j++) {
		ts_t at = spread_ts(j, npos) + (ts_t)rint_(&r, 60);
		int f02 = P_F02;
		if (plant_pick(TB_PO, j, npos, &f02, 1) == P_F02 && plant_po(j, at))
			continue;
		int dept = pick_dept(&r), v = -1;
		int64_t amt;
		const char *cat;
		if (rchance(&r, 0.005)) {
			/* a major instrument, tendered as one order */
			amt = 20000000 + lognormal_cents(&r, 300000, 0.6);
			cat = "仪器设备";
			v = pick_vendor(&r, at, 0);
		} else {
			amt = lognormal_cents(&r, 2500, 1.1);
			if (amt < 5000)
				amt = 5000 + (amt % 5000);
			if (amt > 8000000)
				amt = 8000000 - (amt % 1000000);
			cat = dept < NLABS ? cat_lab[rint_(&r, NELEM(cat_lab))] : cat_adm[rint_(&r, NELEM(cat_adm))];
			/* keep every vendor-department month below the split-purchase threshold */
			for (int tries = 0; tries < 200; tries++) {
				int c = pick_vendor(&r, at, 0);
				struct ring *g = &po_rings[vendor_slot[c] * NDEPS + dept];
				ts_t since = at - 31 * 86400;
				if (ring_live(g, since) < RING && ring_sum(g, since) + amt < SPLIT_THRESHOLD * 9 / 10) {
					v = c;
					break;
				}
				if (tries % 20 == 19)
					dept = pick_dept(&r);
			}
			if (v < 0) {
				/* busy month: the first pair with room, else no order */
				int k0 = (int)rint_(&r, (uint32_t)(nvendors * NDEPS));
				ts_t since = at - 31 * 86400;
				for (int k = 0; k < nvendors * NDEPS && v < 0; k++) {
					int slot = (k0 + k) % (nvendors * NDEPS), c = vendors[slot / NDEPS], dp = slot % NDEPS;
					struct ring *g = &po_rings[vendor_slot[c] * NDEPS + dp];
					if (parties[c].created_at <= at && ring_live(g, since) < RING &&
					    ring_sum(g, since) + amt < SPLIT_THRESHOLD * 9 / 10) {
						v = c;
						dept = dp;
					}
				}
				if (v < 0)
					continue;
			}
			ring_add(&po_rings[vendor_slot[v] * NDEPS + dept], at, amt);
		}
		snprintf(id, sizeof id, "PO%08" PRIu64, j + 1);
		F_text(id);
		F_text(parties[v].id);
		F_text(dept_name(dept));
		F_text(persons[dept_member(&r, dept)].id);
		F_text(cat);
		F_money(amt);
		F_ts(at);
		F_text(persons[buyers[rint_(&r, (uint32_t)nbuyers)]].id);
		F_text(persons[amt >= 5000000 ? leaders_lead[3] : dept_head[dept]].id);
		row_end();
	}
	copy_end();
	free(po_rings);
}

/* ------------------------------------------------------------------ payments */
static const char *books[] = {"事业账套", "经营账套", "专项资金账套"};
#define NBOOKS 3
struct payment {
	uint64_t j;
	char id[24], invoice[32], contract[32];
	int vendor, dept, book;
	int invoice_date, contract_date;
	int64_t amount;
	int64_t voucher;
	ts_t posted, paid;
	int created_by, approved_by, paid_by;
	int plant;
};
static uint32_t *vendor_seq;
/* planting state: the last clean payment of each vendor (F01), F06's round amounts */
struct lastpay {
	bool ok;
	char id[24], invoice[32];
	int64_t amount;
	ts_t paid, posted;
};
static struct lastpay *lastpay;
static int64_t *round_amt;
static ts_t *round_at;
/* F10: new vendors paid fast; F05: one vendor whose amounts all start with 9 */
static int nf10;
static uint64_t f10_j[64];
static int f10_party[64];
static int f05_vendor = -1;
/* --benford-min-n: the share of the payments from 2026 on that go to the F05
 * vendor, so that it has enough of them even in a small institute */
static double f05_q;
#define F05_NARROW mkts(D(2026, 1, 1), 0) /* 365 days before the latest supported now, 2027-01-01 00:00 */
static const int pay_rules[] = {P_F01, P_F03, P_F06, P_F07, P_F08, P_F09, P_F11};
static int64_t voucher_next[NBOOKS][4];

/* amounts: decade from a skewed distribution, mantissa from a per-vendor Weyl
 * sequence, so the first digits of any run of a vendor's payments follow Benford's law */
static int64_t pay_amount(rng_t *r, int vendor)
{
	bool nines = vendor == f05_vendor;
	double u = runif(r);
	int e = u < 0.42 ? 3 : u < 0.83 ? 4 : u < 0.98 ? 5 : 6;
	uint32_t k = vendor_seq[vendor]++;
	double frac = fmod(0.6180339887498949 * (double)k + 0.137 * vendor, 1.0);
	if (nines) /* planted F05: every amount starts with a 9 */
		frac = log10(9.0) + frac * (1.0 - log10(9.0));
	int64_t c = (int64_t)llround(pow(10.0, e + frac) * 100.0);
	if (c >= 4750000 && c < 5000000) /* F03: just below the approval limit; stays a 4 */
		c = c * 9 / 10;
	if (c >= 1000000 && c % 100000 == 0) /* F06: round thousands */
		c += 37;
	return c;
}

static ts_t pay_time(ts_t paid, ts_t posted) { return paid != TS_NULL ? paid : posted; }

/* change a clean payment so that exactly one rule flags it */
static void plant_payment(rng_t *q, struct payment *p, int f10)
{
	int64_t c;
	switch (p->plant) {
	case P_F10: /* a brand-new vendor gets a large first payment within days */
		p->vendor = f10_party[f10];
		p->amount = 6000000 + (int64_t)rint_(q, 3000000) * 10 + 3;
		p->paid = p->posted + 600;
		p->approved_by = leaders_lead[0];
		truth_add(P_F10, "%s", p->id);
		return;
	case P_F09:
		p->approved_by = p->created_by;
		break;
	case P_F03:
		do
			c = 4750000 + (int64_t)rint_(q, 250000);
		while (c % 100000 == 0);
		p->amount = c;
		break;
	case P_F06: {
		c = p->amount >= 1000000 ? p->amount / 100000 * 100000 : 1000000 + 100000 * (int64_t)rint_(q, 90);
		if (c >= 4750000 && c < 5000000)
			c = 5200000;
		/* two equal round amounts to one vendor within 30 days would be F01 */
		while (round_amt[p->vendor] == c && p->posted - round_at[p->vendor] < 40 * 86400)
			c += 100000;
		round_amt[p->vendor] = c;
		round_at[p->vendor] = p->posted;
		p->amount = c;
		break;
	}
	case P_F07: {
		if (p->amount < 1000000 || p->paid == TS_NULL) {
			p->plant = -1;
			return;
		}
		int d = ts_day(p->posted) + 1;
		while (is_workday(d))
			d++;
		ts_t t = mkts(d, HM(9, 0) + (int)rint_(q, 7 * 3600));
		if (t > TS_END) {
			p->plant = -1;
			return;
		}
		p->paid = t;
		break;
	}
	case P_F11:
		if (p->paid == TS_NULL) {
			p->plant = -1;
			return;
		}
		p->invoice_date = ts_day(p->paid) + rrange(q, 1, 10);
		break;
	case P_F01: {
		const struct lastpay *l = &lastpay[p->vendor];
		/* only after the earlier one was paid (or if it never is): then
		 * this one is the later of the two at every moment of a --stream
		 * replay too, where a payment counts from its posting until paid */
		if (!l->ok || (l->paid != TS_NULL && l->paid > p->posted)) {
			p->plant = -1;
			return;
		}
		if (l->paid != TS_NULL && p->paid != TS_NULL && llabs(p->paid - l->paid) <= 25 * 86400 && rchance(q, 0.5))
			p->amount = l->amount;
		else
			snprintf(p->invoice, sizeof p->invoice, "%s", l->invoice);
		/* the later of the two is flagged */
		ts_t a = pay_time(p->paid, p->posted), b = pay_time(l->paid, l->posted);
		bool later = a > b || (a == b && strcmp(p->id, l->id) > 0);
		truth_add(P_F01, "%s", later ? p->id : l->id);
		return;
	}
	default:
		return;
	}
	truth_add(p->plant, "%s", p->id);
}

static void gen_payment(rng_t *r, uint64_t j, struct payment *p)
{
	memset(p, 0, sizeof *p);
	p->j = j;
	p->posted = spread_ts(j, npays);
	snprintf(p->id, sizeof p->id, "PAY%08" PRIu64, j + 1);
	p->vendor = pick_vendor(r, p->posted, 45);
	if (f05_q > 0 && p->posted >= F05_NARROW) {
		rng_t q;
		rng_plant(&q, TB_PAY + 100, j);
		if (rchance(&q, f05_q))
			p->vendor = f05_vendor;
	}
	p->dept = pick_dept(r);
	p->amount = pay_amount(r, p->vendor);
	double u = runif(r);
	p->book = u < 0.8 ? 0 : u < 0.9 ? 1 : 2;
	p->paid = work_after(r, p->posted, 0, 2);
	int pd = ts_day(p->posted);
	int y, m, d;
	civil_from_days(pd, &y, &m, &d);
	int f10 = -1;
	for (int k = 0; k < nf10; k++)
		if (f10_j[k] == j)
			f10 = k;
	p->plant = f10 >= 0 ? P_F10 : plant_pick(TB_PAY, j, npays, pay_rules, NELEM(pay_rules));
	if (p->plant == P_F08 && voucher_next[p->book][y - 2024] >= 1) {
		/* a voucher number is skipped */
		int64_t missing = ++voucher_next[p->book][y - 2024];
		truth_add(P_F08, "[\"%s\", %d, %" PRId64 "]", books[p->book], y, missing);
	} else if (p->plant == P_F08)
		p->plant = -1;
	p->voucher = ++voucher_next[p->book][y - 2024];
	p->invoice_date = prev_workday(pd - (int)rint_(r, 20));
	p->contract_date = p->invoice_date - (int)rint_(r, 180);
	int iy, im, idd;
	civil_from_days(p->invoice_date, &iy, &im, &idd);
	snprintf(p->invoice, sizeof p->invoice, "%02d33%016" PRIu64, iy % 100,
		 scramble(j + 1, 10000000000000000ULL, 123456789));
	int cy, cm, cdd;
	civil_from_days(p->contract_date, &cy, &cm, &cdd);
	snprintf(p->contract, sizeof p->contract, "HT%d-%06" PRIu64, cy, scramble(j + 1, 1000000u, 4321));
	p->created_by = accountants[rint_(r, (uint32_t)naccountants)];
	p->approved_by = p->amount >= 5000000 ? leaders_lead[rchance(r, 0.5) ? 0 : 3] : fin_heads[rint_(r, 2)];
	p->paid_by = cashiers[rint_(r, (uint32_t)ncashiers)];
	if (p->paid > TS_END)
		p->paid = TS_NULL;

	if (p->plant >= 0 && p->plant != P_F08) {
		rng_t q;
		rng_plant(&q, TB_PAY, j);
		plant_payment(&q, p, f10);
	}
	if (p->plant < 0) {
		struct lastpay *l = &lastpay[p->vendor];
		l->ok = true;
		snprintf(l->id, sizeof l->id, "%s", p->id);
		snprintf(l->invoice, sizeof l->invoice, "%s", p->invoice);
		l->amount = p->amount;
		l->paid = p->paid;
		l->posted = p->posted;
	}
}

static void emit_payment(void)
{
	rng_t r;
	struct payment p;
	uint64_t f05_n = 0;
	rng_init(&r, S_PAY, 0);
	vendor_seq = calloc(NPARTIES + 256, sizeof *vendor_seq);
	lastpay = calloc(NPARTIES + 256, sizeof *lastpay);
	round_amt = calloc(NPARTIES + 256, sizeof *round_amt);
	round_at = calloc(NPARTIES + 256, sizeof *round_at);
	copy_begin("payment", "payment_id, vendor_id, department, invoice_no, invoice_date, contract_id, contract_date, "
			      "amount, book, voucher_no, posted_at, paid_at, created_by, approved_by, paid_by");
	for (uint64_t j = 0; j < npays; j++) {
		gen_payment(&r, j, &p);
		F_text(p.id);
		F_text(parties[p.vendor].id);
		F_text(dept_name(p.dept));
		F_text(p.invoice);
		F_date(p.invoice_date);
		F_text(p.contract);
		F_date(p.contract_date);
		F_money(p.amount);
		F_text(books[p.book]);
		F_int(p.voucher);
		F_ts(p.posted);
		F_ts(p.paid);
		F_text(persons[p.created_by].id);
		F_text(persons[p.approved_by].id);
		F_text(p.paid == TS_NULL ? NULL : persons[p.paid_by].id);
		row_end();
		f05_n += p.vendor == f05_vendor && p.paid != TS_NULL && p.paid > F05_NARROW;
	}
	copy_end();
	/* in the window of any now up to 2026-12-31 (wider windows hold more) */
	if (f05_q > 0 && f05_n >= opt_benford)
		truth_add(P_F05, "%s", parties[f05_vendor].id);
}

/* ------------------------------------------------------------------ leave and reimbursement */
struct leave {
	int start, end;
};
static struct leave *leaves; /* per person: leaves[p * LEAVE_MAX ...] */
static int *nleave;
#define LEAVE_MAX 30
static uint64_t nleaves_total, nreimb, ndisc, ngifts, nhosp, ncompl, nrecep;

static void leaves_init(uint64_t target)
{
	rng_t r;
	rng_init(&r, S_LEAVE, 0);
	leaves = calloc((size_t)npersons * LEAVE_MAX, sizeof *leaves);
	nleave = calloc((size_t)npersons, sizeof *nleave);
	nleaves_total = 0;
	for (int p = 0; p < npersons; p++) {
		/* target / npersons each, the remainder to the first ones */
		uint64_t n = target / (uint64_t)npersons + ((uint64_t)p < target % (uint64_t)npersons);
		if (n > LEAVE_MAX)
			n = LEAVE_MAX;
		/* one leave in each of n equal slots of the event range: never overlapping */
		int slot = (DAYN - DAY0 + 1) / (int)(n ? n : 1);
		for (int k = 0; k < (int)n; k++) {
			int len = rchance(&r, 0.6) ? rrange(&r, 1, 2) : rrange(&r, 3, 7);
			if (len > slot - 1)
				len = slot - 1;
			if (len < 1)
				break;
			int lo = DAY0 + k * slot;
			int s = next_workday(lo + (int)rint_(&r, (uint32_t)(slot - len)));
			int e = s + len - 1;
			if (e >= lo + slot - 1 || e > DAYN)
				continue;
			leaves[p * LEAVE_MAX + nleave[p]].start = s;
			leaves[p * LEAVE_MAX + nleave[p]].end = e;
			nleave[p]++;
			nleaves_total++;
		}
	}
}
static bool on_leave(int p, int day)
{
	for (int k = 0; k < nleave[p]; k++)
		if (day >= leaves[p * LEAVE_MAX + k].start && day <= leaves[p * LEAVE_MAX + k].end)
			return true;
	return false;
}
static void emit_leave(void)
{
	copy_begin("leave", "person_id, start_date, end_date");
	for (int p = 0; p < npersons; p++)
		for (int k = 0; k < nleave[p]; k++) {
			F_text(persons[p].id);
			F_date(leaves[p * LEAVE_MAX + k].start);
			F_date(leaves[p * LEAVE_MAX + k].end);
			row_end();
		}
	copy_end();
}

static int approver_for(int p)
{
	const struct person *q = &persons[p];
	int h = dept_head[q->dept];
	if (h != p && q->dept != DEP_LEAD)
		return h;
	return q->role == R_PRESIDENT ? leaders_lead[1] : leaders_lead[0];
}

static void emit_reimbursement(void)
{
	static const char *cats[] = {"差旅费", "差旅费", "差旅费", "办公用品", "市内交通费", "会议费", "培训费",
				     "邮寄费", "资料费"};
	static const char *tcities[] = {"北京市", "上海市", "广州市", "深圳市", "南京市", "合肥市", "福州市",
					"武汉市", "成都市", "宁波市", "温州市", "天津市", "西安市", "长沙市"};
	rng_t r;
	char id[32], code[24], no[16], ta[32];
	rng_init(&r, S_REIMB, 0);
	copy_begin("reimbursement", "claim_id, person_id, invoice_code, invoice_no, amount, category, city, "
				    "expense_date, claimed_at, approved_by, travel_approval_id");
	struct {
		char id[32], code[24], no[16];
		ts_t claimed;
		bool ok;
	} last = {.ok = false};
	for (uint64_t j = 0; j < nreimb; j++) {
		ts_t base = spread_ts(j, nreimb);
		int p, day;
		do {
			p = (int)rint_(&r, (uint32_t)npersons);
			day = prev_workday(ts_day(base) - (int)rint_(&r, 20));
		} while (on_leave(p, day) || day < DAY0);
		int f12 = P_F12, variant = 0;
		rng_t q;
		if (plant_pick(TB_REIMB, j, nreimb, &f12, 1) == P_F12) {
			rng_plant(&q, TB_REIMB, j);
			variant = rchance(&q, 0.5) && last.ok ? 1 : 2;
			if (variant == 2) {
				/* an expense dated inside one of the claimant's leaves */
				for (int tries = 0; tries < 1000; tries++) {
					int c = (int)rint_(&q, (uint32_t)npersons);
					if (nleave[c] == 0)
						continue;
					p = c;
					day = leaves[c * LEAVE_MAX + rint_(&q, (uint32_t)nleave[c])].start;
					break;
				}
				if (!on_leave(p, day))
					variant = 0;
			}
		}
		const char *cat = cats[rint_(&r, NELEM(cats))];
		bool travel = !strcmp(cat, "差旅费");
		int64_t amt = travel ? lognormal_cents(&r, 1200, 0.7) : lognormal_cents(&r, 180, 0.9);
		if (amt < 500)
			amt += 500;
		int y, m, d;
		civil_from_days(day, &y, &m, &d);
		snprintf(id, sizeof id, "BX%08" PRIu64, j + 1);
		snprintf(code, sizeof code, "033%02d%07" PRIu64, y % 100, scramble(j / 37 + 1, 10000000u, 7));
		snprintf(no, sizeof no, "%08" PRIu64, scramble(j % 100000000u, 100000000u, 24680));
		ts_t claimed = work_after(&r, mkts(day, HM(18, 0)), 0, 8);
		if (claimed > TS_END)
			claimed = TS_END;
		if (variant == 1) {
			/* an invoice claimed a second time: the later claim is flagged */
			snprintf(code, sizeof code, "%s", last.code);
			snprintf(no, sizeof no, "%s", last.no);
			bool later = claimed > last.claimed || (claimed == last.claimed && strcmp(id, last.id) > 0);
			truth_add(P_F12, "%s", later ? id : last.id);
		} else if (variant == 2)
			truth_add(P_F12, "%s", id);
		else {
			last.ok = true;
			snprintf(last.id, sizeof last.id, "%s", id);
			snprintf(last.code, sizeof last.code, "%s", code);
			snprintf(last.no, sizeof last.no, "%s", no);
			last.claimed = claimed;
		}
		F_text(id);
		F_text(persons[p].id);
		F_text(code);
		F_text(no);
		F_money(amt);
		F_text(cat);
		F_text(travel ? tcities[rint_(&r, NELEM(tcities))] : "杭州市");
		F_date(day);
		F_ts(claimed);
		F_text(persons[approver_for(p)].id);
		if (travel) {
			snprintf(ta, sizeof ta, "CC%d-%06" PRIu64, y, scramble(j + 1, 1000000u, 99));
			F_text(ta);
		} else
			F_null();
		row_end();
	}
	copy_end();
}

/* ------------------------------------------------------------------ fee discounts */
/* F14 reads the discounts a client had when a test fee was invoiced (below) */
static void lab_discount(int client, int pct, ts_t at);

static void emit_fee_discount(void)
{
	rng_t r;
	char id[32], ct[32];
	rng_init(&r, S_DISC, 0);
	unsigned char *used = calloc((size_t)NPARTIES * 8, 1); /* discounts per client and quarter */
	copy_begin("fee_discount", "discount_id, contract_id, client_id, discount_pct, approved_by, approved_at");
	for (uint64_t j = 0; j < ndisc; j++) {
		ts_t at = spread_ts(j, ndisc) + (ts_t)rint_(&r, 1800);
		int y, m, d;
		civil_from_days(ts_day(at), &y, &m, &d);
		int q = (y - 2025) * 4 + (m - 1) / 3;
		int c = -1;
		for (int tries = 0; tries < 400 && c < 0; tries++) {
			int k = tries < 100 ? pick_party(&r, clients, nclients, client_wsum) : clients[rint_(&r, (uint32_t)nclients)];
			if (used[k * 8 + q] < 3 && parties[k].created_at < at)
				c = k;
		}
		if (c < 0)
			continue;
		used[c * 8 + q]++;
		static const int pct[] = {5, 5, 10, 10, 10, 15, 15, 20, 25, 30};
		snprintf(id, sizeof id, "ZK%07" PRIu64, j + 1);
		snprintf(ct, sizeof ct, "JC%d-%06" PRIu64, y, scramble(j + 1, 1000000u, 777));
		F_text(id);
		F_text(ct);
		F_text(parties[c].id);
		int f13 = P_F13, pc = pct[rint_(&r, NELEM(pct))];
		if (plant_pick(TB_DISC, j, ndisc, &f13, 1) == P_F13) {
			pc = 35 + 5 * (int)(j % 4);
			truth_add(P_F13, "%s", id);
		}
		F_int(pc);
		F_text(persons[rchance(&r, 0.7) ? dept_head[DEP_OFFICE] : leaders_lead[2 + rint_(&r, 3)]].id);
		F_ts(at);
		row_end();
		if (opt_lab)
			lab_discount(c, pc, at);
	}
	copy_end();
	free(used);
}

/* ------------------------------------------------------------------ gifts, hospitality, complaints, receptions */
static int rand_party(rng_t *r) { return (int)rint_(r, NPARTIES - NDORMANT); }
static int dormant_party(rng_t *r) { return NPARTIES - NDORMANT + (int)rint_(r, NDORMANT); }
/* any day in the event range at an hour between from and to */
static ts_t any_time(rng_t *r, int day0, int day1, int from, int to)
{
	int day = day0 + (int)rint_(r, (uint32_t)(day1 - day0 + 1));
	return mkts(day, from + (int)rint_(r, (uint32_t)(to - from)));
}

#define GIFT_YEARLY_MAX 60000 /* cents */
static void emit_gift(void)
{
	static const char *givers[] = {"校友", "学会秘书处", "老同事", "培训班同学", "社区"};
	rng_t r;
	char id[32];
	rng_init(&r, S_GIFT, 0);
	int *spent = calloc((size_t)npersons * 2, sizeof *spent); /* per person and year, cents */
	copy_begin("gift", "gift_id, person_id, giver_party_id, giver_name, kind, value, received_at, registered_at, "
			   "handed_in");
	for (uint64_t j = 0; j < ngifts; j++) {
		ts_t at = any_time(&r, DAY0, DAYN - 12, HM(9, 0), HM(21, 0));
		int yi = ts_day(at) >= D(2026, 1, 1);
		double u = runif(&r);
		const char *kind = u < 0.82 ? "gift" : u < 0.9 ? "cash" : u < 0.95 ? "securities" : "hospitality";
		int64_t v = (int64_t)rrange(&r, 30, 300) * 100;
		int d01 = P_D01;
		bool plant = plant_pick(TB_GIFT, j, ngifts, &d01, 1) == P_D01 && at < mkts(D(2026, 10, 20), 0);
		if (plant && v < 10000)
			v = 10000 + v;
		int p = -1;
		for (int tries = 0; tries < 50 && p < 0; tries++) {
			int q = (int)rint_(&r, (uint32_t)npersons);
			if (spent[q * 2 + yi] + v <= GIFT_YEARLY_MAX)
				p = q;
		}
		if (p < 0)
			continue;
		spent[p * 2 + yi] += (int)v;
		bool party = rchance(&r, 0.6);
		snprintf(id, sizeof id, "LP%07" PRIu64, j + 1);
		F_text(id);
		F_text(persons[p].id);
		F_text(party ? parties[rand_party(&r)].id : NULL);
		F_text(party ? NULL : givers[rint_(&r, NELEM(givers))]);
		F_text(kind);
		F_money(v);
		F_ts(at);
		ts_t reg = work_after(&r, at, 0, 5);
		bool handed = strcmp(kind, "gift") ? true : rchance(&r, 0.7);
		if (plant) {
			/* never registered; cash or securities also kept */
			reg = TS_NULL;
			handed = !strcmp(kind, "gift") && handed;
			truth_add(P_D01, "%s", id);
		}
		F_ts(reg);
		F_bool(handed);
		row_end();
	}
	copy_end();
	free(spent);
}

static void emit_hospitality(void)
{
	rng_t r;
	char id[32];
	rng_init(&r, S_HOSP, 0);
	copy_begin("hospitality", "hospitality_id, person_id, host_party_id, held_at");
	for (uint64_t j = 0; j < nhosp; j++) {
		snprintf(id, sizeof id, "YQ%07" PRIu64, j + 1);
		F_text(id);
		F_text(persons[rint_(&r, (uint32_t)npersons)].id);
		/* industry associations' annual meetings: hosts that are neither clients nor paid vendors */
		int host = dormant_party(&r);
		ts_t at = any_time(&r, DAY0, DAYN, HM(11, 30), HM(19, 30));
		int d02 = P_D02;
		if (plant_pick(TB_HOSP, j, nhosp, &d02, 1) == P_D02 && ntasks > 0) {
			/* a dinner paid by a client whose sample came in shortly
			 * before (D02 then sees the task when the dinner is recorded,
			 * also in a --stream replay) */
			struct task t;
			int day = ts_day(at);
			uint64_t i = (uint64_t)((double)wd_index[(day > DAYN ? DAYN : day) - DAY0] * ntasks / nworkdays);
			if (i >= ntasks)
				i = ntasks - 1;
			gen_task(i, &t, true);
			for (int back = 0; t.received > at && i > 0 && back < 64; back++)
				gen_task(--i, &t, true);
			if (t.received <= at && at - t.received <= 80 * 86400) {
				host = t.client;
				truth_add(P_D02, "%s", id);
			}
		}
		F_text(parties[host].id);
		F_ts(at);
		row_end();
	}
	copy_end();
}

static void emit_complaint(void)
{
	rng_t r;
	char id[32];
	rng_init(&r, S_COMPL, 0);
	copy_begin("complaint", "complaint_id, person_id, received_at, stage");
	for (uint64_t j = 0; j < ncompl; j++) {
		snprintf(id, sizeof id, "XF%06" PRIu64, j + 1);
		F_text(id);
		int who = (int)rint_(&r, (uint32_t)npersons);
		F_text(persons[who].id);
		/* looked into and closed, all more than a year before the end of the data */
		int cday = next_workday(DAY0 + (int)rint_(&r, (uint32_t)(D(2025, 11, 15) - DAY0)));
		ts_t at = mkts(cday, work_sec(&r));
		const char *stage = "closed";
		int d06 = P_D06;
		if (plant_pick(TB_COMPL, j, ncompl, &d06, 1) == P_D06) {
			rng_t q;
			rng_plant(&q, TB_COMPL, j);
			/* inside the 365 days before any "now" from 2026-11-25 to 2026-12-31 */
			cday = next_workday(D(2026, 1, 5) + (int)rint_(&q, 315));
			at = mkts(cday, work_sec(&q));
			stage = rchance(&q, 0.5) ? "received" : "preliminary";
			truth_add(P_D06, "%s", persons[who].id);
		}
		F_ts(at);
		F_text(stage);
		row_end();
	}
	copy_end();
}

static void emit_reception(void)
{
	rng_t r;
	char id[32];
	rng_init(&r, S_RECEP, 0);
	copy_begin("reception", "reception_id, host_department, guests, accompanying, has_official_letter, held_at, cost");
	for (uint64_t j = 0; j < nrecep; j++) {
		int guests = rchance(&r, 0.8) ? rrange(&r, 1, 10) : rrange(&r, 11, 30);
		int acc = guests <= 10 ? rrange(&r, 1, 3) : rrange(&r, 1, guests / 3);
		bool letter = true;
		int d05 = P_D05;
		if (plant_pick(TB_RECEP, j, nrecep, &d05, 1) == P_D05) {
			if (j % 2)
				letter = false;
			else
				acc = guests <= 10 ? 4 + (int)(j % 3) : guests / 3 + 1;
		}
		snprintf(id, sizeof id, "JD%06" PRIu64, j + 1);
		F_text(id);
		F_text(dept_name(rchance(&r, 0.5) ? DEP_OFFICE : (int)rint_(&r, NDEPS)));
		F_int(guests);
		F_int(acc);
		F_bool(letter);
		if (!letter || acc != (guests <= 10 ? (acc > 3 ? -1 : acc) : (acc * 3 > guests ? -1 : acc)))
			truth_add(P_D05, "%s", id);
		int rday = workdays[rint_(&r, (uint32_t)nworkdays)];
		F_ts(mkts(rday, rchance(&r, 0.7) ? HM(11, 45) : HM(17, 45)));
		F_money((int64_t)(guests + acc) * rrange(&r, 60, 120) * 100);
		row_end();
	}
	copy_end();
}

/* decisions that tables emitted earlier depend on */
static void plan_init(void)
{
	if (opt_plant <= 0)
		return;
	rng_t q;
	rng_plant(&q, 0, 0);
	/* F10: new vendors, each paid once shortly after being created */
	nf10 = plant_count((uint64_t)nvendors);
	if (nf10 > 32)
		nf10 = 32;
	if (npays < 10)
		nf10 = 0;
	for (int k = 0; k < nf10; k++) {
		f10_j[k] = npays * (uint64_t)(k + 1) / (uint64_t)(nf10 + 1) + 3;
		int i = nparties++;
		struct party *c = &parties[i];
		*c = parties[vendors[0]];
		c->ncoi = 0;
		snprintf(c->id, sizeof c->id, "C%04d", i + 1);
		const char *b1 = brand1[rint_(&q, NELEM(brand1))];
		const char *b2 = brand2[rint_(&q, NELEM(brand2))];
		snprintf(c->name, sizeof c->name, "杭州%s%s科技有限公司", b1, b2);
		c->kind = 1;
		snprintf(c->uscc, sizeof c->uscc, "91330%03d%09" PRIu64 "X", (int)rint_(&q, 1000),
			 scramble((uint64_t)i + 1, 1000000000u, 777));
		hexhash(&q, c->legal);
		snprintf(c->phone, sizeof c->phone, "0571-8%07" PRIu64, scramble((uint64_t)i + 1, 10000000u, 31337));
		snprintf(c->bank, sizeof c->bank, "1202%015" PRIu64, scramble((uint64_t)i + 1, 1000000000000000ULL, 99));
		c->created_at = spread_ts(f10_j[k], npays) + 600 - 3 * 86400 + (ts_t)rint_(&q, 7200);
		f10_party[k] = i;
	}
	/* D09: key posts held too long */
	int keyp[64], nkeyp = 0;
	for (int i = 0; i < npersons && nkeyp < 64; i++)
		if (persons[i].key && !persons[i].leader)
			keyp[nkeyp++] = i;
	int n = plant_count((uint64_t)nkeyp);
	for (int k = 0; k < n && k < nkeyp; k++) {
		int at = (int)rint_(&q, (uint32_t)(nkeyp - k)) + k, tmp = keyp[k];
		keyp[k] = keyp[at];
		keyp[at] = tmp;
		persons[keyp[k]].post_since = D(2017, 1, 1) + (int)rint_(&q, 900);
		truth_add(P_D09, "%s", persons[keyp[k]].id);
	}
	/* F04: a counterparty sharing a phone or a bank account with an employee */
	n = plant_count(NPARTIES);
	for (int k = 0; k < n && nparties < NPARTIES + 200; k++) {
		int i = nparties++, who = (int)rint_(&q, (uint32_t)npersons);
		struct party *c = &parties[i];
		*c = parties[vendors[rint_(&q, (uint32_t)nvendors)]];
		c->ncoi = 0;
		c->kind = 1;
		snprintf(c->id, sizeof c->id, "C%04d", i + 1);
		const char *b1 = brand1[rint_(&q, NELEM(brand1))];
		const char *b2 = brand2[rint_(&q, NELEM(brand2))];
		snprintf(c->name, sizeof c->name, "杭州%s%s商贸有限公司", b1, b2);
		snprintf(c->uscc, sizeof c->uscc, "91330%03d%09" PRIu64 "Y", (int)rint_(&q, 1000),
			 scramble((uint64_t)i + 1, 1000000000u, 777));
		hexhash(&q, c->legal);
		snprintf(c->phone, sizeof c->phone, "0571-8%07" PRIu64, scramble((uint64_t)i + 1, 10000000u, 31337));
		snprintf(c->bank, sizeof c->bank, "1202%015" PRIu64, scramble((uint64_t)i + 1, 1000000000000000ULL, 99));
		if (k % 2)
			snprintf(c->bank, sizeof c->bank, "%s", persons[who].bank);
		else
			snprintf(c->phone, sizeof c->phone, "%s", persons[who].phone);
		truth_add(P_F04, "[\"%s\", \"%s\"]", c->id, persons[who].id);
	}
	/* D03: a relative working at a counterparty, undeclared */
	n = plant_count((uint64_t)nrelatives);
	for (int k = 0; k < n && k < 64; k++) {
		int who = (int)rint_(&q, (uint32_t)npersons), c;
		do
			c = (int)rint_(&q, NPARTIES - NDORMANT);
		while (has_coi(c, who));
		struct relative *v = &relatives[nrelatives];
		v->person = who;
		make_name(&q, v->name, sizeof v->name);
		v->relation = "配偶";
		hexhash(&q, v->idhash);
		snprintf(v->phone, sizeof v->phone, "136%08" PRIu64, scramble((uint64_t)nrelatives + 1, 100000000u, 5550123));
		snprintf(v->uscc, sizeof v->uscc, "%s", parties[c].uscc);
		nrelatives++;
		truth_add(P_D03, "[\"%s\", \"%s\"]", persons[who].id, parties[c].id);
	}
	/* T11: the busiest client's recent work all goes to one tester */
	int top = clients[0];
	for (int k = 0; k < nclients; k++)
		if (parties[clients[k]].weight > parties[top].weight)
			top = clients[k];
	const struct labstaff *ls = &labstaff[parties[top].lab];
	for (int k = 0; k < ls->ntest; k++)
		if (!has_coi(top, ls->testers[k])) {
			t11_tester = ls->testers[k];
			break;
		}
	if (t11_tester >= 0 && ntasks > 0) {
		/* about 30 tasks in the narrowest window; none planted when the
		 * institute is too small for 20 */
		int inwin = 0;
		for (int k = 0; k < nworkdays; k++)
			inwin += mkts(workdays[k], HM(17, 30)) > T11_NARROW;
		double expect = (double)ntasks * inwin / nworkdays;
		t11_q = expect > 0 ? 30.0 / expect : 1.0;
		if (t11_q > 1)
			t11_q = 1;
		if (expect * t11_q >= 20)
			t11_client = top;
	}
	/* F05: the busiest long-standing vendor, if it has enough payments in the last year */
	int best = -1;
	for (int k = 0; k < nvendors; k++)
		if (parties[vendors[k]].created_at < mkts(D(2024, 1, 1), 0) &&
		    (best < 0 || parties[vendors[k]].weight > parties[best].weight))
			best = vendors[k];
	int recent = 0, narrow = 0;
	for (int k = 0; k < nworkdays; k++) {
		recent += workdays[k] > D(2025, 11, 26);
		narrow += mkts(workdays[k], 0) >= F05_NARROW;
	}
	double expect = (double)npays * parties[best].weight / vendor_wsum * recent / nworkdays;
	double inwin = (double)npays * narrow / nworkdays, expect_narrow = inwin * parties[best].weight / vendor_wsum;
	if (opt_benford_auto && best >= 0) {
		/* a min_n twice what any other vendor is expected to reach in the
		 * window of the earliest supported now (with room for chance) */
		int wide = 0;
		for (int k = 0; k < nworkdays; k++)
			wide += workdays[k] >= D(2025, 11, 24);
		double e2 = 0;
		for (int k = 0; k < nvendors; k++)
			if (vendors[k] != best && parties[vendors[k]].weight > e2)
				e2 = parties[vendors[k]].weight;
		e2 *= (double)npays * wide / nworkdays / vendor_wsum;
		double n = ceil(2 * e2 + 4 * sqrt(e2));
		opt_benford = n < 20 ? 20 : (uint64_t)n;
	}
	double want = 1.5 * (double)opt_benford;
	if (best >= 0 && expect >= want) {
		f05_vendor = best;
		truth_add(P_F05, "%s", parties[best].id);
	} else if (best >= 0 && opt_benford_given && want - expect_narrow <= 0.5 * inwin) {
		/* enough of the payments from 2026 on go to it: the key is
		 * planted after the payments, if it got min_n of them */
		f05_vendor = best;
		f05_q = (want - expect_narrow) / (inwin - expect_narrow);
	}
}

/* ------------------------------------------------------------------ lab integrity (RULES-LAB.md) */
/* The optional tables of the rules T12-T17, D10 and F14, generated after
 * everything else from their own streams (S_ACCR ...), so the other tables
 * are those of the same options without them. Clean, they make none of the
 * 41 rules fire; planted, each rule fires on exactly its truth keys, and
 * each has near misses at its boundaries: a task issued on the last day of
 * a lab's accreditation, a task started the day before its method was
 * withdrawn, a subcontract sent on the last day of the subcontractor's
 * qualification, samples disposed of on their retention day, a second
 * version issued at the instant of the amendment that covers it,
 * declarations signed on the deadline day, invoices at the tolerance edge
 * or exactly covered by the client's discount. One lab lists no
 * accreditation and one method has no published fee: out of the scope of
 * T12 and F14, whatever their tasks and invoices. */
#define UNCOVERED_LAB (NLABS - 1)    /* lists no accreditation (T12 does not check it) */
#define NOFEE_METHOD (NMETHODS - 1)  /* has no published fee (F14 does not check it) */
#define NSUBC 7
#define SUBC_LAPSED 5                /* qualified until the day one subcontract was sent */
#define SUBC_UNKNOWN 6               /* no known qualification: only planted rows use it */
struct subc {
	char id[16], name[96], uscc[24], legal[40], phone[24], addr[128], bank[32];
	ts_t created_at;
	int created_by;
	int valid_to; /* DAY_NULL: none known */
};
static struct subc subcs[NSUBC];
static uint64_t subc_nm = UINT64_MAX; /* the subcontract sent on the day SUBC_LAPSED's qualification ends */
/* T12: a (lab, method) out of scope after last_valid until valid_again */
#define MAXGAPS 16
static struct {
	int lab, method, last_valid, valid_again;
} gaps[MAXGAPS];
static int ngaps;
/* T13: methods withdrawn during the data */
#define MAXWD 16
static struct {
	int method, on;
} wds[MAXWD];
static int nwds;
/* the forced plant of each activity table: the first candidate at or after the middle */
static uint64_t forced_subc = UINT64_MAX, forced_sampl = UINT64_MAX, forced_retain = UINT64_MAX,
		forced_issue = UINT64_MAX, forced_inv = UINT64_MAX;
static unsigned char *part; /* [person * 2 + year - 2025]: on an issued task that year (D10) */
static int64_t fees[NMETHODS]; /* the published fee in cents, -1 = none */
struct disc {
	int client, pct;
	ts_t at;
};
static struct disc *discs;
static int ndiscs, disc_cap;

static void lab_discount(int client, int pct, ts_t at)
{
	if (ndiscs == disc_cap) {
		disc_cap = disc_cap ? disc_cap * 2 : 1024;
		discs = realloc(discs, (size_t)disc_cap * sizeof *discs);
		if (!discs) {
			fprintf(stderr, "qf-gen: out of memory\n");
			exit(71);
		}
	}
	discs[ndiscs].client = client;
	discs[ndiscs].pct = pct;
	discs[ndiscs].at = at;
	ndiscs++;
}
/* each client's discounts chained, once they are all known (emit_task_invoice) */
static int *disc_first, *disc_next;
static void disc_chain(void)
{
	disc_first = malloc(sizeof(int) * (size_t)(NPARTIES + 256));
	disc_next = malloc(sizeof(int) * (size_t)(ndiscs + 1));
	if (!disc_first || !disc_next) {
		fprintf(stderr, "qf-gen: out of memory\n");
		exit(71);
	}
	for (int c = 0; c < NPARTIES + 256; c++)
		disc_first[c] = -1;
	for (int k = ndiscs - 1; k >= 0; k--) {
		disc_next[k] = disc_first[discs[k].client];
		disc_first[discs[k].client] = k;
	}
}
/* the largest discount of a client approved at or before at, -1 if none */
static int max_discount(int client, ts_t at)
{
	int m = -1;
	if (!disc_first)
		return -1; /* lab_init: before the discounts are generated */
	for (int k = disc_first[client]; k >= 0; k = disc_next[k])
		if (discs[k].at <= at && discs[k].pct > m)
			m = discs[k].pct;
	return m;
}

/* planted on activity row i of table tb: with probability R, and the forced one */
static bool lab_plant(int tb, uint64_t i, uint64_t forced)
{
	if (opt_plant <= 0)
		return false;
	if (i == forced)
		return true;
	rng_t r;
	rng_init(&r, S_PLANT * 1000 + (uint64_t)tb, i);
	return runif(&r) < opt_plant;
}
static int task_day_used(const struct task *t) { return ts_day(t->start != TS_NULL ? t->start : t->received); }

/* a 64-digit content hash */
static void hash64(rng_t *r, char *b)
{
	hexhash(r, b);
	hexhash(r, b + 32);
}

/* the method code with another year: "GB/T 12345-2015" -> "GB/T 12345-2008" */
static bool method_edition(int m, int year, char *b, size_t n)
{
	const char *code = methods[m].code, *dash = strrchr(code, '-');
	if (!dash || strchr(dash, '('))
		return false;
	snprintf(b, n, "%.*s-%d", (int)(dash - code), code, year);
	for (int k = 0; k < NMETHODS; k++)
		if (!strcmp(methods[k].code, b))
			return false;
	return true;
}

/* --- subcontract: one item of 4 % of the tasks in testing, sent to another lab */
struct subrow {
	bool on, plant;
	const char *item;
	ts_t sent;
	int subc;
	bool disclosed;
};
static void subc_row(uint64_t i, const struct task *t, bool plant, struct subrow *s)
{
	memset(s, 0, sizeof *s);
	if (t->start == TS_NULL || t->end == TS_NULL)
		return;
	rng_t r;
	rng_init(&r, S_SUBC, i);
	bool want = rchance(&r, 0.04);
	int k0 = (int)rint_(&r, (uint32_t)lab_nitems[t->lab]);
	double f = runif(&r);
	int sc = (int)rint_(&r, SUBC_LAPSED);
	bool lapsed_ok = rchance(&r, 0.3);
	int variant = (int)rint_(&r, 3);
	if (!want)
		return;
	/* an item the lab does not test for this task itself */
	for (int k = 0; k < lab_nitems[t->lab] && !s->item; k++) {
		int item = (k0 + k) % lab_nitems[t->lab];
		bool used = false;
		for (int j = 0; j < t->nres; j++)
			used |= t->res[j].item == item;
		if (!used)
			s->item = lab_item[t->lab][item];
	}
	if (!s->item)
		return;
	s->on = true;
	s->sent = t->start + (ts_t)((double)(t->end - t->start) * (0.05 + 0.35 * f));
	s->disclosed = true;
	s->subc = sc;
	int lapse = subcs[SUBC_LAPSED].valid_to;
	if (i == subc_nm || (lapse != DAY_NULL && ts_day(s->sent) <= lapse && lapsed_ok))
		s->subc = SUBC_LAPSED;
	if (!plant || i == subc_nm)
		return;
	/* not marked in the report (orange), or sent to a subcontractor not qualified that day (red) */
	s->plant = true;
	if (variant == 0)
		s->disclosed = false;
	else if (variant == 1 && lapse != DAY_NULL && ts_day(s->sent) > lapse)
		s->subc = SUBC_LAPSED;
	else
		s->subc = SUBC_UNKNOWN;
}

/* --- sampling: 20 % of the tasks were sampled on site, by the lab's sample administrator and testers */
struct samprow {
	bool on, plant;
	ts_t at;
	int who[3], n;
};
static void sampl_row(uint64_t i, const struct task *t, bool plant, struct samprow *s)
{
	memset(s, 0, sizeof *s);
	rng_t r;
	rng_init(&r, S_SAMPL, i);
	bool want = rchance(&r, 0.2);
	int back = rrange(&r, 0, 2), sec = work_sec(&r);
	const struct labstaff *ls = &labstaff[t->lab];
	int k = (int)rint_(&r, (uint32_t)ls->ntest);
	double u = runif(&r);
	bool one = rchance(&r, 0.5);
	if (!want)
		return;
	s->on = true;
	/* on site, in working hours, on the day the sample came in or up to two workdays before */
	int day = prev_workday(ts_day(t->received) - back);
	s->at = mkts(day, sec);
	if (day < DAY0 || s->at > t->received - 1800)
		s->at = t->received - 1800;
	int admin = ls->first + ls->n - 1, a = ls->testers[k], b = ls->testers[(k + 1) % ls->ntest];
	s->who[s->n++] = admin;
	s->who[s->n++] = a;
	if (u < 0.2)
		s->who[s->n++] = b;
	else if (u < 0.25)
		s->who[s->n++] = admin; /* named twice: still two people */
	if (!plant)
		return;
	/* taken by one person (once, or named twice) */
	s->plant = true;
	s->n = one ? 1 : 2;
	s->who[1] = admin;
}

/* --- retained samples: half the issued tasks' samples, kept 90-365 days after the report */
struct retrow {
	bool on, plant;
	int until, by;
	ts_t disposed;
};
static void retain_row(uint64_t i, const struct task *t, bool plant, struct retrow *s)
{
	memset(s, 0, sizeof *s);
	if (t->issued == TS_NULL)
		return;
	rng_t r;
	rng_init(&r, S_RETAIN, i);
	static const int keep[] = {90, 90, 180, 365};
	bool want = rchance(&r, 0.5);
	int days = keep[rint_(&r, NELEM(keep))];
	bool on_the_day = rchance(&r, 0.3);
	int later = rrange(&r, 1, 10);
	int sec = work_sec(&r);
	int early = rrange(&r, 1, 30);
	if (!want)
		return;
	const struct labstaff *ls = &labstaff[t->lab];
	s->on = true;
	s->until = ts_day(t->issued) + days;
	s->by = ls->first + ls->n - 1;
	/* disposed of on the first workday from the retention date on (the day itself, often) */
	s->disposed = mkts(next_workday(s->until + (on_the_day ? 0 : later)), sec);
	if (s->disposed > TS_END)
		s->disposed = TS_NULL;
	if (!plant)
		return;
	int d = prev_workday(s->until - early);
	if (d <= ts_day(t->issued) || mkts(d, sec) > TS_END)
		return;
	s->plant = true;
	s->disposed = mkts(d, sec);
}

/* --- report issues: every issued report, a copy now and then, the amended version after an amendment */
struct issrow {
	int n, version[2], by[2];
	ts_t at[2];
	char hash[2][72];
	bool plant;
};
static void issue_row(uint64_t i, const struct task *t, bool plant, struct issrow *s)
{
	memset(s, 0, sizeof *s);
	if (t->issued == TS_NULL)
		return;
	rng_t r;
	rng_init(&r, S_ISSUE, i);
	char h1[72], h2[72];
	hash64(&r, h1);
	hash64(&r, h2);
	bool copy = rchance(&r, 0.03);
	ts_t later = work_after(&r, t->issued, 1, 12);
	bool at_once = rchance(&r, 0.5);
	ts_t delay = 600 + (ts_t)rint_(&r, 7200);
	bool same_version = rchance(&r, 0.5);
	s->version[0] = 1;
	memcpy(s->hash[0], h1, sizeof h1);
	s->at[0] = t->issued;
	s->by[0] = t->signer;
	s->n = 1;
	bool amended = t->amended && t->amended_at <= TS_END;
	if (amended) {
		/* the corrected report, at the amendment (the inclusive edge) or a little after */
		ts_t at = t->amended_at + (at_once ? 0 : delay);
		if (at <= TS_END) {
			s->version[1] = 2;
			memcpy(s->hash[1], h2, sizeof h2);
			s->at[1] = at;
			s->by[1] = t->amended_by;
			s->n = 2;
		}
		return;
	}
	if (plant && later <= TS_END) {
		/* another version, or a copy, with other content and no amendment */
		s->plant = true;
		s->version[1] = same_version ? 1 : 2;
		memcpy(s->hash[1], h2, sizeof h2);
	} else if (copy && later <= TS_END) {
		s->version[1] = 1;
		memcpy(s->hash[1], h1, sizeof h1);
	} else
		return;
	s->at[1] = later;
	s->by[1] = t->signer;
	s->n = 2;
}

/* --- invoices: 90 % of the issued tasks, at the published fee, a little below, or with the client's discount */
struct invrow {
	bool on, plant;
	ts_t at;
	int64_t amount;
	int by;
};
static void inv_row(uint64_t i, const struct task *t, bool plant, struct invrow *s)
{
	memset(s, 0, sizeof *s);
	if (t->issued == TS_NULL)
		return;
	rng_t r;
	rng_init(&r, S_INV, i);
	bool want = rchance(&r, 0.9);
	ts_t at = work_after(&r, t->issued, 0, 3);
	int by = fin_heads[rint_(&r, 2)];
	double u = runif(&r), v = runif(&r);
	int off = rrange(&r, 1, 4), cut = rrange(&r, 15, 40), any = rrange(&r, 1, 30);
	if (!want || at > TS_END)
		return;
	s->on = true;
	s->at = at;
	s->by = by;
	int64_t fee = fees[t->method];
	if (fee < 0) { /* no published fee: whatever was agreed */
		s->amount = (int64_t)any * 10000;
		return;
	}
	int maxp = max_discount(t->client, at);
	if (maxp > 5 && u < 0.6)
		s->amount = fee * (100 - maxp) / 100; /* the client's discount, exactly */
	else if (v < 0.85)
		s->amount = fee;
	else if (v < 0.95)
		s->amount = fee * (100 - off) / 100; /* within the tolerance */
	else
		s->amount = fee * 95 / 100; /* its edge */
	if (!plant)
		return;
	/* more off than any discount of the client by then */
	if (cut <= maxp)
		cut = maxp + 5;
	if (cut > 95)
		cut = 95;
	s->plant = true;
	s->amount = fee * (100 - cut) / 100;
}

/* the first candidate of a table at or after the middle that can be planted */
static uint64_t lab_forced(int which)
{
	struct task t;
	for (uint64_t i = ntasks / 2; i < ntasks; i++) {
		gen_task(i, &t, true);
		bool ok = false;
		if (which == TB_SUBC) {
			struct subrow x;
			subc_row(i, &t, true, &x);
			ok = x.plant;
		} else if (which == TB_SAMPL) {
			struct samprow x;
			sampl_row(i, &t, true, &x);
			ok = x.plant;
		} else if (which == TB_RETAIN) {
			struct retrow x;
			retain_row(i, &t, true, &x);
			ok = x.plant;
		} else if (which == TB_ISSUE) {
			struct issrow x;
			issue_row(i, &t, true, &x);
			ok = x.plant;
		} else if (which == TB_INV) {
			struct invrow x;
			inv_row(i, &t, true, &x);
			ok = x.plant;
		}
		if (ok)
			return i;
	}
	return UINT64_MAX;
}

/* decisions the lab tables depend on, after plan_init (tasks are final) */
static void lab_init(void)
{
	rng_t q;
	struct task t, u;
	part = calloc((size_t)npersons * 2, 1);
	/* the subcontractors: other testing labs, as counterparties with their qualification */
	static const char *fields[] = {"化学分析", "电磁兼容", "食品微生物", "放射性", "材料力学", "环境监测", "纺织纤维"};
	rng_init(&q, S_LAB, 0);
	for (int k = 0; k < NSUBC; k++) {
		struct subc *c = &subcs[k];
		int i = nparties + k; /* numbered after every other counterparty */
		snprintf(c->id, sizeof c->id, "C%04d", i + 1);
		char cd[64];
		city_district(&q, cd, sizeof cd);
		const char *b1 = brand1[rint_(&q, NELEM(brand1))];
		const char *b2 = brand2[rint_(&q, NELEM(brand2))];
		snprintf(c->name, sizeof c->name, "%s%s%s%s检测技术有限公司", cd, b1, b2, fields[k % NELEM(fields)]);
		snprintf(c->uscc, sizeof c->uscc, "91330%03d%09" PRIu64 "Z", (int)rint_(&q, 1000),
			 scramble((uint64_t)i + 1, 1000000000u, 777));
		hexhash(&q, c->legal);
		snprintf(c->phone, sizeof c->phone, "%s-8%07" PRIu64, area_code(cd), scramble((uint64_t)i + 1, 10000000u, 31337));
		int no = rrange(&q, 1, 999);
		snprintf(c->addr, sizeof c->addr, "%s%s%d号检测基地", cd, roads[rint_(&q, NELEM(roads))], no);
		snprintf(c->bank, sizeof c->bank, "1202%015" PRIu64, scramble((uint64_t)i + 1, 1000000000000000ULL, 99));
		int cday = D(2016, 1, 4) + (int)rint_(&q, 2000);
		c->created_at = mkts(cday, work_sec(&q));
		c->created_by = office_clerks[rint_(&q, (uint32_t)nclerks)];
		c->valid_to = D(2027, 3, 1) + (int)rint_(&q, 900);
	}
	subcs[SUBC_UNKNOWN].valid_to = DAY_NULL;
	subcs[SUBC_LAPSED].valid_to = DAY_NULL;
	/* SUBC_LAPSED's qualification ends on the day the first subcontract from 40 % of the tasks on is sent */
	for (uint64_t i = ntasks * 2 / 5; i < ntasks && subc_nm == UINT64_MAX; i++) {
		struct subrow x;
		gen_task(i, &t, true);
		subc_row(i, &t, false, &x);
		if (x.on) {
			subc_nm = i;
			subcs[SUBC_LAPSED].valid_to = ts_day(x.sent);
		}
	}
	/* fees: 200-5 000 yuan per method */
	rng_init(&q, S_FEE, 0);
	for (int m = 0; m < NMETHODS; m++) {
		int yuan = 100 * rrange(&q, 2, 50);
		fees[m] = m == NOFEE_METHOD ? -1 : (int64_t)yuan * 100;
	}
	if (opt_plant <= 0 || ntasks == 0)
		return;
	/* T12: a lab's scope for one of its methods lapses on the day a task of it
	 * was issued and is granted again after the next such task */
	rng_init(&q, S_ACCR, 1);
	int n = plant_count(NMETHODS - METHODS_PER_LAB);
	for (int g = 0; g < n && g < MAXGAPS; g++) {
		uint64_t i0 = ntasks * (uint64_t)(35 + 50 * g / n) / 100;
		for (; i0 < ntasks && ngaps == g; i0++) {
			gen_task(i0, &t, true);
			bool taken = t.issued == TS_NULL || t.lab == UNCOVERED_LAB;
			for (int k = 0; k < ngaps; k++)
				taken |= gaps[k].lab == t.lab && gaps[k].method == t.method;
			if (taken)
				continue;
			for (uint64_t j = i0 + 1; j < ntasks; j++) {
				gen_task(j, &u, true);
				if (u.lab == t.lab && u.method == t.method && u.issued != TS_NULL &&
				    ts_day(u.issued) > ts_day(t.issued)) {
					gaps[ngaps].lab = t.lab;
					gaps[ngaps].method = t.method;
					gaps[ngaps].last_valid = ts_day(t.issued);
					gaps[ngaps].valid_again = ts_day(u.issued) + rrange(&q, 1, 15);
					ngaps++;
					break;
				}
			}
		}
	}
	/* T13: a method withdrawn on the day a task of it was started (or received),
	 * after another one of it (the near miss) */
	n = plant_count(NMETHODS);
	for (int g = 0; g < n && g < MAXWD; g++) {
		uint64_t i0 = ntasks * (uint64_t)(75 + 20 * g / n) / 100;
		for (; i0 < ntasks && nwds == g; i0++) {
			gen_task(i0, &t, true);
			bool taken = false;
			for (int k = 0; k < nwds; k++)
				taken |= wds[k].method == t.method;
			if (taken)
				continue;
			for (uint64_t j = i0 + 1; j < ntasks; j++) {
				gen_task(j, &u, true);
				if (u.method == t.method && task_day_used(&u) > task_day_used(&t)) {
					wds[nwds].method = t.method;
					wds[nwds].on = task_day_used(&u);
					nwds++;
					break;
				}
			}
		}
	}
	forced_subc = lab_forced(TB_SUBC);
	forced_sampl = lab_forced(TB_SAMPL);
	forced_retain = lab_forced(TB_RETAIN);
	forced_issue = lab_forced(TB_ISSUE);
	forced_inv = lab_forced(TB_INV);
}

/* every task as emit_test_task writes it: who took part in issued reports
 * (D10), and the tasks the planted scope gaps (T12) and withdrawals (T13) catch */
static void lab_task(const struct task *t)
{
	if (t->issued != TS_NULL) {
		int y, m, d;
		civil_from_days(ts_day(t->issued), &y, &m, &d);
		int who[4] = {t->tester, t->reviewer, t->approver, t->signer};
		if (y >= 2025 && y <= 2026)
			for (int k = 0; k < 4; k++)
				part[who[k] * 2 + y - 2025] = 1;
		for (int g = 0; g < ngaps; g++)
			if (gaps[g].lab == t->lab && gaps[g].method == t->method && ts_day(t->issued) > gaps[g].last_valid &&
			    ts_day(t->issued) < gaps[g].valid_again)
				truth_add(P_T12, "%s", t->id);
	}
	for (int g = 0; g < nwds; g++)
		if (wds[g].method == t->method && task_day_used(t) >= wds[g].on)
			truth_add(P_T13, "%s", t->id);
}

static void emit_lab_counterparty(void)
{
	copy_begin("counterparty", "party_id, name, kind, uscc, legal_rep_id_hash, phone, address, bank_account, "
				   "created_at, created_by, accreditation_valid_to");
	for (int k = 0; k < NSUBC; k++) {
		const struct subc *c = &subcs[k];
		F_text(c->id);
		F_text(c->name);
		F_text("vendor");
		F_text(c->uscc);
		F_text(c->legal);
		F_text(c->phone);
		F_text(c->addr);
		F_text(c->bank);
		F_ts(c->created_at);
		F_text(persons[c->created_by].id);
		F_date(c->valid_to);
		row_end();
	}
	copy_end();
}

static void emit_accreditation(void)
{
	rng_t r;
	rng_init(&r, S_ACCR, 0);
	copy_begin("accreditation", "lab, method, valid_from, valid_to");
	for (int l = 0; l < NLABS; l++)
		for (int m = l * METHODS_PER_LAB; m < (l + 1) * METHODS_PER_LAB; m++) {
			int from = D(2018, 1, 1) + (int)rint_(&r, 6 * 365);
			int to = rchance(&r, 0.7) ? DAY_NULL : D(2027, 6, 30) + (int)rint_(&r, 3 * 365);
			bool old = rchance(&r, 0.3);
			int ofrom = D(2012, 1, 1) + (int)rint_(&r, 4 * 365);
			if (l == UNCOVERED_LAB)
				continue;
			if (old) { /* the certificate before the current one */
				F_text(lab_names[l]);
				F_text(methods[m].code);
				F_date(ofrom);
				F_date(from - 1);
				row_end();
			}
			int g = -1;
			for (int k = 0; k < ngaps; k++)
				if (gaps[k].lab == l && gaps[k].method == m)
					g = k;
			F_text(lab_names[l]);
			F_text(methods[m].code);
			F_date(from);
			F_date(g >= 0 ? gaps[g].last_valid : to);
			row_end();
			if (g >= 0) { /* granted again after the gap */
				F_text(lab_names[l]);
				F_text(methods[m].code);
				F_date(gaps[g].valid_again);
				F_date(to);
				row_end();
			}
		}
	copy_end();
}

static void emit_standard_status(void)
{
	rng_t r;
	char code[48], repl[48];
	static char seen[NMETHODS * 2][48]; /* the primary key: no code twice */
	int nseen = 0;
	rng_init(&r, S_STD, 0);
	copy_begin("standard_status", "method, withdrawn_on, replaced_by");
	for (int m = 0; m < NMETHODS; m++) {
		int y = atoi(strrchr(methods[m].code, '-') ? strrchr(methods[m].code, '-') + 1 : "2020");
		int back = rrange(&r, 5, 10);
		int mon = rrange(&r, 1, 12);
		bool future = rchance(&r, 0.03);
		int fday = (int)rint_(&r, 180);
		int w = -1;
		for (int k = 0; k < nwds; k++)
			if (wds[k].method == m)
				w = k;
		if (w >= 0) {
			/* withdrawn during the data (planted) */
			F_text(methods[m].code);
			F_date(wds[w].on);
			F_text(method_edition(m, 2025, repl, sizeof repl) ? repl : NULL);
			row_end();
		} else if (future && method_edition(m, 2026, repl, sizeof repl)) {
			/* announced: withdrawn after the data */
			F_text(methods[m].code);
			F_date(D(2027, 1, 1) + fday);
			F_text(repl);
			row_end();
		}
		/* the edition this method replaced, withdrawn long ago and no longer used */
		bool dup = false;
		if (m % 4 == 1 && y > 2008 && method_edition(m, y - back, code, sizeof code)) {
			for (int k = 0; k < nseen; k++)
				dup |= !strcmp(seen[k], code);
		} else
			dup = true;
		if (!dup) {
			snprintf(seen[nseen++], sizeof seen[0], "%s", code);
			F_text(code);
			F_date(D(y, mon, 1));
			F_text(methods[m].code);
			row_end();
		}
	}
	copy_end();
}

static void emit_fee_schedule(void)
{
	copy_begin("fee_schedule", "method, fee");
	for (int m = 0; m < NMETHODS; m++)
		if (fees[m] >= 0) {
			F_text(methods[m].code);
			F_money(fees[m]);
			row_end();
		}
	copy_end();
}

/* every person on an issued report (and every lab member and leader) signs by
 * 01-28 of each year, some on the deadline day itself (01-31) */
static void emit_declaration(void)
{
	rng_t r;
	uint64_t n = 0, idx = 0;
	for (int p = 0; p < npersons; p++)
		n += (uint64_t)part[p * 2] + part[p * 2 + 1];
	copy_begin("impartiality_declaration", "person_id, year, signed_at");
	for (int p = 0; p < npersons; p++)
		for (int y = 2025; y <= 2026; y++) {
			rng_init(&r, S_DECL, (uint64_t)p * 2 + (uint64_t)(y - 2025));
			ts_t at = work_between(&r, D(y, 1, 2), D(y, 1, 28));
			bool deadline_day = rchance(&r, 0.03);
			int late = rrange(&r, 0, 4 * 3600);
			bool missing = rchance(&r, 0.5);
			bool took_part = part[p * 2 + y - 2025];
			if (!took_part && persons[p].dept >= NLABS && !persons[p].leader)
				continue; /* drivers, clerks...: not in testing */
			if (deadline_day)
				at = mkts(D(y, 1, 31), HM(20, 0));
			int d10 = P_D10;
			if (took_part && plant_pick(TB_DECL, idx++, n, &d10, 1) == P_D10) {
				/* never signed, or signed the day after the deadline */
				truth_add(P_D10, "[\"%s\", %d]", persons[p].id, y);
				if (missing)
					continue;
				at = mkts(D(y, 2, 1), late);
			}
			F_text(persons[p].id);
			F_int(y);
			F_ts(at);
			row_end();
		}
	copy_end();
}

static void emit_subcontract(void)
{
	struct task t;
	struct subrow s;
	copy_begin("subcontract", "task_id, item, subcontractor_id, sent_at, disclosed");
	for (uint64_t i = 0; i < ntasks; i++) {
		gen_task(i, &t, true);
		subc_row(i, &t, lab_plant(TB_SUBC, i, forced_subc), &s);
		if (!s.on)
			continue;
		F_text(t.id);
		F_text(s.item);
		F_text(subcs[s.subc].id);
		F_ts(s.sent);
		F_bool(s.disclosed);
		row_end();
		if (s.plant)
			truth_add(P_T14, "[\"%s\", \"%s\"]", t.id, s.item);
	}
	copy_end();
}

static void emit_sampling(void)
{
	struct task t;
	struct samprow s;
	char id[32], list[64];
	copy_begin("sampling", "sampling_id, task_id, sampled_at, samplers");
	for (uint64_t i = 0; i < ntasks; i++) {
		gen_task(i, &t, true);
		sampl_row(i, &t, lab_plant(TB_SAMPL, i, forced_sampl), &s);
		if (!s.on)
			continue;
		snprintf(id, sizeof id, "CY%08" PRIu64, i + 1);
		size_t len = 0;
		list[len++] = '{';
		for (int k = 0; k < s.n; k++)
			len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? "," : "", persons[s.who[k]].id);
		snprintf(list + len, sizeof list - len, "}");
		F_text(id);
		F_text(t.id);
		F_ts(s.at);
		F_text(list);
		row_end();
		if (s.plant)
			truth_add(P_T15, "%s", id);
	}
	copy_end();
}

static void emit_retained(void)
{
	struct task t;
	struct retrow s;
	copy_begin("retained_sample", "sample_id, task_id, retain_until, disposed_at, disposed_by");
	for (uint64_t i = 0; i < ntasks; i++) {
		gen_task(i, &t, true);
		retain_row(i, &t, lab_plant(TB_RETAIN, i, forced_retain), &s);
		if (!s.on)
			continue;
		cap_when = t.issued; /* --stream: registered when the report is issued */
		F_text(t.sample);
		F_text(t.id);
		F_date(s.until);
		F_ts(s.disposed);
		F_text(s.disposed != TS_NULL ? persons[s.by].id : NULL);
		row_end();
		cap_when = CAP_NOTIME;
		if (s.plant)
			truth_add(P_T16, "%s", t.sample);
	}
	copy_end();
}

static void emit_report_issue(void)
{
	struct task t;
	struct issrow s;
	copy_begin("report_issue", "task_id, version, content_hash, issued_at, issued_by");
	for (uint64_t i = 0; i < ntasks; i++) {
		gen_task(i, &t, true);
		issue_row(i, &t, lab_plant(TB_ISSUE, i, forced_issue), &s);
		for (int k = 0; k < s.n; k++) {
			F_text(t.id);
			F_int(s.version[k]);
			F_text(s.hash[k]);
			F_ts(s.at[k]);
			F_text(persons[s.by[k]].id);
			row_end();
		}
		if (s.plant)
			truth_add(P_T17, "[\"%s\", %d]", t.id, s.version[1]);
	}
	copy_end();
}

static void emit_task_invoice(void)
{
	struct task t;
	struct invrow s;
	disc_chain();
	copy_begin("task_invoice", "task_id, amount, invoiced_at, approved_by");
	for (uint64_t i = 0; i < ntasks; i++) {
		gen_task(i, &t, true);
		inv_row(i, &t, lab_plant(TB_INV, i, forced_inv), &s);
		if (!s.on)
			continue;
		F_text(t.id);
		F_money(s.amount);
		F_ts(s.at);
		F_text(persons[s.by].id);
		row_end();
		if (s.plant)
			truth_add(P_F14, "%s", t.id);
	}
	copy_end();
}

static void emit_truth(void)
{
	os("CREATE TABLE IF NOT EXISTS public.bench_truth (rule_id text, dedupe_key text);\n");
	os("COPY public.bench_truth (rule_id, dedupe_key) FROM stdin;\n");
	for (size_t k = 0; k < ntruth; k++) {
		F_text(rule_ids[truths[k].rule]);
		F_text(truths[k].key);
		row_end();
	}
	os("\\.\n");
}

/* ------------------------------------------------------------------ main */
static void usage(void)
{
	fprintf(stderr, "usage: qf-gen [--scale N] [--seed S] [--plant-rate R] [--truth] [--progress]\n"
			"              [--part all|reference|activity] [--stream] [--benford-min-n N|auto]\n"
			"              [--no-lab]\n");
	exit(EX_USAGE);
}
static uint64_t parse_u64(const char *s)
{
	char *e;
	errno = 0;
	if (!s || !*s || *s == '-')
		usage();
	unsigned long long v = strtoull(s, &e, 10);
	if (errno || *e)
		usage();
	return (uint64_t)v;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = NULL;
		const char *eq = strchr(a, '=');
		char name[64];
		if (strncmp(a, "--", 2) || strlen(a) >= sizeof name)
			usage();
		if (eq) {
			size_t n = (size_t)(eq - a);
			if (n >= sizeof name)
				usage();
			memcpy(name, a, n);
			name[n] = 0;
			v = eq + 1;
		} else
			snprintf(name, sizeof name, "%s", a);
		bool needs = !strcmp(name, "--scale") || !strcmp(name, "--seed") || !strcmp(name, "--plant-rate") ||
			     !strcmp(name, "--part") || !strcmp(name, "--benford-min-n");
		if (needs && !v) {
			if (i + 1 >= argc)
				usage();
			v = argv[++i];
		}
		if (!strcmp(name, "--scale")) {
			opt_scale = parse_u64(v);
			if (opt_scale < 1)
				usage();
		} else if (!strcmp(name, "--seed"))
			opt_seed = parse_u64(v);
		else if (!strcmp(name, "--plant-rate")) {
			char *e;
			errno = 0;
			opt_plant = strtod(v, &e);
			if (errno || *e || !*v || !(opt_plant >= 0.0 && opt_plant <= 1.0))
				usage();
		} else if (!strcmp(name, "--truth") && !v)
			opt_truth = true;
		else if (!strcmp(name, "--progress") && !v)
			opt_progress = true;
		else if (!strcmp(name, "--stream") && !v)
			opt_stream = true;
		else if (!strcmp(name, "--no-lab") && !v)
			opt_lab = false;
		else if (!strcmp(name, "--benford-min-n")) {
			opt_benford_given = true;
			opt_benford_auto = !strcmp(v, "auto");
			if (!opt_benford_auto)
				opt_benford = parse_u64(v);
			if (opt_benford < 1)
				usage();
		}
		else if (!strcmp(name, "--part")) {
			if (!strcmp(v, "all"))
				opt_part = PART_ALL;
			else if (!strcmp(v, "reference"))
				opt_part = PART_REFERENCE;
			else if (!strcmp(v, "activity"))
				opt_part = PART_ACTIVITY;
			else
				usage();
		}
		else if (!strcmp(name, "--help") || !strcmp(name, "-h"))
			usage();
		else
			usage();
	}

	prog_t0 = mono();
	calendar_init();
	persons_init();
	parties_init();
	relatives_init();
	tech_init();
	TS_END = mkts(DAYN, HM(17, 30));
	ntasks = opt_scale * 12 / 100;
	npos = opt_scale * 5 / 100;
	npays = opt_scale * 8 / 100;
	nreimb = opt_scale * 5 / 100;
	leaves_init(opt_scale / 100);
	ndisc = opt_scale * 8 / 1000;
	if (ndisc > (uint64_t)nclients * 8 * 2)
		ndisc = (uint64_t)nclients * 8 * 2;
	ngifts = opt_scale * 6 / 1000;
	if (ngifts > (uint64_t)npersons * 2 * 3)
		ngifts = (uint64_t)npersons * 2 * 3;
	nhosp = opt_scale * 5 / 1000;
	ncompl = opt_scale * 2 / 1000;
	if (ncompl > 3000)
		ncompl = 3000;
	nrecep = opt_scale * 8 / 1000;
	rows_target = opt_scale;

	plan_init();
	if (opt_lab)
		lab_init();
	/* the COPY blocks and the truth are one transaction; a stream of
	 * activity events comes after it, each statement on its own */
	if (opt_benford_auto) {
		char b[160];
		snprintf(b, sizeof b, "-- qf-gen: F05 min_n %" PRIu64 " (--benford-min-n auto), %s\n", opt_benford,
			 f05_vendor >= 0 ? "planted" : "not planted");
		os(b);
	}
	bool copies = !(opt_stream && opt_part == PART_ACTIVITY) || opt_truth;
	if (copies)
		os("BEGIN;\n");
	emit_workday();
	emit_person();
	emit_relative();
	emit_counterparty();
	emit_coi();
	emit_duty();
	emit_method_norm();
	emit_equipment();
	emit_signatory();
	emit_test_task();
	emit_test_result();
	emit_oos();
	emit_amendment();
	emit_audit();
	emit_equipment_use();
	emit_purchase_order();
	emit_payment();
	emit_reimbursement();
	emit_leave();
	emit_fee_discount();
	emit_gift();
	emit_hospitality();
	emit_complaint();
	emit_reception();
	if (opt_lab) {
		/* the optional tables of RULES-LAB.md, after all the others */
		emit_lab_counterparty();
		emit_accreditation();
		emit_standard_status();
		emit_fee_schedule();
		emit_declaration();
		emit_subcontract();
		emit_sampling();
		emit_retained();
		emit_report_issue();
		emit_task_invoice();
	}
	if (opt_truth)
		emit_truth();
	if (copies)
		os("COMMIT;\n");
	if (opt_stream && opt_part != PART_REFERENCE)
		stream_write();
	oflush();
	if (opt_progress) {
		rows_target = rows_out;
		progress(true);
	}
	if (fflush(stdout) || out_error) {
		fprintf(stderr, "qf-gen: write error\n");
		return 74;
	}
	return 0;
}
