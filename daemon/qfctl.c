/* qfctl: the command line for auditors and operators (qfctl(1)). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <locale.h>
#include <unistd.h>
#include <wchar.h>

#include "config.h"
#include "db.h"
#include "db_eval.h"
#include "db_migrate.h"
#include "db_ops.h"
#include "db_outbox.h"
#include "eval.h"
#include "log.h"
#include "route.h"
#include "rule.h"

#define DEFAULT_CONFIG "/etc/qingfeng/qingfeng.conf"

static void usage(FILE *f)
{
	fprintf(f, "usage: qfctl [-c FILE] [-d CONNINFO] COMMAND\n"
		   "commands:\n"
		   "  migrate [--sql-dir DIR]   apply pending sql/ migrations\n"
		   "  rules check               check the configuration and every rule file\n"
		   "  rules list                list the rules\n"
		   "  rules explain ID          print the rule's compiled SQL and its parameters\n"
		   "  rules test ID [--since DATE] [--now TIMESTAMP]\n"
		   "                            dry run: print what the rule would flag, write nothing\n"
		   "  alerts [list] [--state pending|delivered|dead|silenced] [--limit N]\n"
		   "  alerts retry ID | --dead  re-queue an alert, or every dead one, with a fresh budget\n"
		   "  silence add (--rule ID | --person P | --department D)... --until TS --reason TEXT [--from TS]\n"
		   "  silence list [--all]      active (or all) silences\n"
		   "  silence expire ID         end a silence now\n"
		   "  findings [list] [--status S] [--level L] [--supervision X] [--risk R] [--duty D] [--rule ID]\n"
		   "           [--person P] [--department D] [--since DATE] [--until DATE] [--limit N]\n"
		   "           [--format table|json|csv] [--excel]\n"
		   "  findings show ID          the finding, its evidence and its whole history\n"
		   "  findings ack|resolve|dismiss|reopen ID --note TEXT\n"
		   "  report --from DATE --to DATE [--format md|csv|html] [--excel]\n"
		   "                            findings first seen in [from, to): 423 matrix, trend, rules,\n"
		   "                            departments, open ages, time to resolve, chain head\n"
		   "  audit verify              check the history hash chain (exit 1 at the first broken link)\n"
		   "  audit head                print the chain head, to record elsewhere\n"
		   "  version                   print the version\n");
}

static int cmd_migrate(const char *conninfo, const char *tz, int argc, char **argv)
{
	const char *sqldir = getenv("QF_SQL_DIR") ? getenv("QF_SQL_DIR") : QF_SQLDIR;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sql-dir") && i + 1 < argc)
			sqldir = argv[++i];
		else {
			usage(stderr);
			return 64;
		}
	}
	struct db_session *c = db_connect(conninfo, "qfctl", tz, 10);
	if (!c)
		return 69;
	int rc = db_migrate(c, sqldir) == 0 ? 0 : 1;
	db_close(&c);
	return rc;
}

/* A dry run (qfctl rules test): the rule's statement in full, in its
 * read-only snapshot, known hits included; one line per hit on stdout,
 * stable and diffable (golden files); nothing written. */
static int rules_test(const struct qf_config *cfg, const char *conninfo, const struct qf_rule *r, const char *since,
		      const char *now)
{
	char nowbuf[40], *err = NULL;
	struct rule_hits h;
	long flagged = 0;
	bool failed = false;

	if (!now) {
		eval_now_text(nowbuf, 0);
		now = nowbuf;
	}
	struct db_session *c = db_connect(conninfo, "qfctl", cfg->timezone, 10);
	if (!c)
		return 69;
	if (db_rule_hits(c, r, cfg->statement_timeout_ms, now, since ? since : "-infinity", NULL, true, false, false, &h,
			 &err) < 0) {
		log_err("rule %s (%s:%d): %s", r->id, r->file, r->line, err);
		free(err);
		failed = true;
	} else {
		for (int i = 0; i < h.nrows; i++) {
			const struct hit *x = &h.rows[i];
			struct hit_text t;
			eval_render(r, x, &t);
			printf("%s\t%s\t%s\t%s\t%s\t%s\n", r->id, x->key, level_name(t.level), x->subject ? x->subject : "-",
			       x->department ? x->department : "-", t.zh);
			hit_text_free(&t);
		}
		flagged = h.nrows;
	}
	rule_hits_clear(&h);
	fprintf(stderr, "qfctl: %s would flag %ld record(s)%s\n", r->id, flagged,
		failed ? " (the rule failed: see above)" : "");
	db_close(&c);
	return failed ? 1 : 0;
}

static int cmd_rules(const struct qf_config *cfg, const char *conninfo, int argc, char **argv)
{
	struct qf_ruleset set = {0};
	struct diag d;
	int rc = 0;

	if (argc < 2 || (strcmp(argv[1], "check") && strcmp(argv[1], "list") && strcmp(argv[1], "explain") &&
			 strcmp(argv[1], "test"))) {
		usage(stderr);
		return 64;
	}
	if (!cfg) {
		fprintf(stderr, "qfctl: rules needs a configuration (-c FILE)\n");
		return 78;
	}
	diag_init(&d);
	rc = ruleset_load(&set, cfg->rules_dir, cfg, &d);
	diag_print(&d);
	diag_free(&d);
	if (rc < 0) {
		ruleset_free(&set);
		return 78;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "check")) {
		printf("%d rule(s) OK\n", set.n);
	} else if (!strcmp(sub, "list")) {
		for (int i = 0; i < set.n; i++) {
			const struct qf_rule *r = &set.rules[i];
			printf("%-5s %-7s %-12s %-13s %-12s %s %s%s\n", r->id, level_name(r->level), r->supervision,
			       r->risk, r->duty, r->title_zh, r->title_en, r->enabled ? "" : " (disabled)");
		}
	} else {
		const struct qf_rule *r = argc >= 3 ? ruleset_find(&set, argv[2]) : NULL;
		if (!r) {
			fprintf(stderr, "qfctl: rules %s: %s\n", sub, argc >= 3 ? "no such rule" : "needs a rule id");
			ruleset_free(&set);
			return argc >= 3 ? 1 : 64;
		}
		if (!strcmp(sub, "explain")) {
			printf("-- %s %s %s (%s:%d), version %s\n-- full pass: $1..$%d\n%s;\n", r->id, r->title_zh,
			       r->title_en, r->file, r->line, r->version, r->nvalues_full, r->compiled);
			for (int i = 0; i < r->nvalues; i++)
				printf("-- $%d = %s\n", i + 1,
				       r->builtin[i] == 1   ? "(:now, the evaluation time)"
				       : r->builtin[i] == 2 ? "(:since, -infinity unless given)"
				       : r->builtin[i] == 3 ? "(the rule's cursor; NULL in a full pass)"
				       : r->builtin[i] == 4 ? "(skip known hits: true, false in a dry run)"
							    : r->values[i]);
			if (r->compiled_delta)
				printf("-- incremental (only rows changed since the cursor): $1..$%d\n%s;\n", r->nvalues,
				       r->compiled_delta);
		} else {
			const char *since = NULL, *now = NULL;
			for (int i = 3; i < argc; i++) {
				if (!strcmp(argv[i], "--since") && i + 1 < argc)
					since = argv[++i];
				else if (!strcmp(argv[i], "--now") && i + 1 < argc)
					now = argv[++i];
				else {
					usage(stderr);
					ruleset_free(&set);
					return 64;
				}
			}
			rc = rules_test(cfg, conninfo, r, since, now);
		}
	}
	ruleset_free(&set);
	return rc;
}

static int fail(const char *what, char *err)
{
	fprintf(stderr, "qfctl: %s: %s\n", what, err ? err : "failed");
	free(err);
	return 1;
}

/* display columns of a UTF-8 string: wcwidth() in a UTF-8 locale, so
 * Chinese (two columns a character) lines up with Latin text */
static int text_width(const char *s)
{
	mbstate_t st;
	size_t left = strlen(s);
	int w = 0;

	memset(&st, 0, sizeof st);
	while (left) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, s, left, &st);
		if (n == (size_t)-1 || n == (size_t)-2) { /* not UTF-8: a byte, a column */
			memset(&st, 0, sizeof st);
			n = 1;
			w++;
		} else {
			if (n == 0)
				break;
			int cw = wcwidth(wc);
			w += cw > 0 ? cw : 0;
		}
		s += n;
		left -= n;
	}
	return w;
}

static void print_table(const struct db_table *r, const char *const *heads)
{
	int nc = r->ncols, nr = r->nrows;
	int *w = xcalloc((size_t)nc + 1, sizeof *w);

	for (int j = 0; j < nc; j++) {
		w[j] = text_width(heads[j]);
		for (int i = 0; i < nr; i++) {
			int tw = text_width(db_cell(r, i, j));
			if (tw > w[j])
				w[j] = tw;
		}
	}
	for (int i = -1; i < nr; i++) {
		for (int j = 0; j < nc; j++) {
			const char *v = i < 0 ? heads[j] : db_cell(r, i, j);
			int pad = j + 1 < nc ? w[j] - text_width(v) + 2 : 0;
			/* a line break inside a value must not break the row */
			for (const char *p = v; *p; p++)
				putchar((unsigned char)*p < 0x20 ? ' ' : *p);
			printf("%*s", pad, "");
		}
		printf("\n");
	}
	free(w);
}

/* Pending alerts for receivers the configuration does not name wait for
 * ever: says how many, on stderr, after the list. */
static void orphans_note(struct db_session *c, const char *const *receivers, int n)
{
	char *err = NULL;
	struct orphans o;
	long total = 0;

	if (db_orphaned_alerts(c, receivers, n, &o, &err) < 0) {
		fprintf(stderr, "qfctl: cannot count alerts for unknown receivers: %s\n", err ? err : "failed");
		free(err);
		return;
	}
	for (int i = 0; i < o.n; i++)
		total += o.v[i].count;
	if (total) {
		fprintf(stderr, "qfctl: %ld pending alert(s) for receiver(s) not in the configuration:", total);
		for (int i = 0; i < o.n; i++)
			fprintf(stderr, "%s %s (%ld)", i ? "," : "", o.v[i].receiver, o.v[i].count);
		fprintf(stderr, "; they wait until a receiver of that name is configured\n");
	}
	orphans_clear(&o);
}

static int cmd_alerts(struct db_session *c, const struct qf_config *cfg, int argc, char **argv)
{
	char *err = NULL;
	int i = 1;

	if (argc > 1 && !strcmp(argv[1], "retry")) {
		long long id = 0;
		if (argc == 3 && !strcmp(argv[2], "--dead"))
			id = -1;
		else if (argc == 3)
			id = atoll(argv[2]);
		if (argc != 3 || id == 0) {
			usage(stderr);
			return 64;
		}
		long n = db_alerts_retry(c, id, &err);
		if (n < 0)
			return fail("alerts retry", err);
		printf("%ld alert(s) re-queued\n", n);
		return id > 0 && n == 0 ? 1 : 0;
	}
	if (argc > 1 && !strcmp(argv[1], "list"))
		i = 2;
	const char *state = NULL;
	int limit = 100;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--state") && i + 1 < argc)
			state = argv[++i];
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			limit = atoi(argv[++i]);
		else {
			usage(stderr);
			return 64;
		}
	}
	if (state && strcmp(state, "pending") && strcmp(state, "delivered") && strcmp(state, "dead") &&
	    strcmp(state, "silenced")) {
		fprintf(stderr, "qfctl: --state must be pending, delivered, dead or silenced\n");
		return 64;
	}
	/* with a configuration, alerts for receivers it does not name are marked */
	const char **names = cfg ? route_receiver_names(cfg) : NULL;
	int nnames = cfg ? cfg->nreceivers : 0;
	struct db_table r;
	if (db_alerts_list(c, state, limit > 0 ? limit : 100, names, nnames, &r, &err) < 0) {
		free(names);
		return fail("alerts", err);
	}
	static const char *const heads[] = {"ID", "STATE", "RECEIVER", "EVENT", "FINDING", "RULE", "LEVEL",
					    "ATTEMPTS", "NEXT ATTEMPT", "DELIVERED", "LAST ERROR"};
	print_table(&r, heads);
	db_table_clear(&r);
	if (names && (!state || !strcmp(state, "pending")))
		orphans_note(c, names, nnames);
	free(names);
	return 0;
}

static int cmd_silence(struct db_session *c, int argc, char **argv)
{
	char *err = NULL;

	if (argc >= 2 && !strcmp(argv[1], "add")) {
		const char *rule = NULL, *person = NULL, *dept = NULL, *from = NULL, *until = NULL, *reason = NULL;
		for (int i = 2; i < argc; i++) {
			const char **dst = !strcmp(argv[i], "--rule")	       ? &rule
					   : !strcmp(argv[i], "--person")     ? &person
					   : !strcmp(argv[i], "--department") ? &dept
					   : !strcmp(argv[i], "--from")	      ? &from
					   : !strcmp(argv[i], "--until")      ? &until
					   : !strcmp(argv[i], "--reason")     ? &reason
									      : NULL;
			if (!dst || i + 1 >= argc) {
				usage(stderr);
				return 64;
			}
			*dst = argv[++i];
		}
		if (!(rule || person || dept) || !until || !reason || !*reason) {
			fprintf(stderr, "qfctl: silence add needs --rule, --person or --department, --until and --reason\n");
			return 64;
		}
		long long id = db_silence_add(c, rule, person, dept, from, until, reason, &err);
		if (id < 0)
			return fail("silence add", err);
		printf("silence %lld added\n", id);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "expire") && argc == 3) {
		long n = db_silence_expire(c, atoll(argv[2]), &err);
		if (n < 0)
			return fail("silence expire", err);
		if (n == 0) {
			fprintf(stderr, "qfctl: no active silence %s\n", argv[2]);
			return 1;
		}
		printf("silence %s expired\n", argv[2]);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "list")) {
		bool all = argc == 3 && !strcmp(argv[2], "--all");
		if (argc > 3 || (argc == 3 && !all)) {
			usage(stderr);
			return 64;
		}
		struct db_table r;
		if (db_silence_list(c, all, &r, &err) < 0)
			return fail("silence list", err);
		static const char *const heads[] = {"ID",	 "RULE", "PERSON", "DEPARTMENT", "FROM",
						    "UNTIL", "BY",   "REASON", "STATE"};
		print_table(&r, heads);
		db_table_clear(&r);
		return 0;
	}
	usage(stderr);
	return 64;
}

/* What a CSV cell holds: text, or a number a spreadsheet should read as
 * one. */
enum csv_kind { CSV_TEXT, CSV_NUMBER };

/* digits with an optional sign and fraction: the text of PostgreSQL's
 * integer and numeric, never a formula */
static bool plain_number(const char *v)
{
	if (*v == '-')
		v++;
	if (*v < '0' || *v > '9')
		return false;
	while (*v >= '0' && *v <= '9')
		v++;
	if (*v == '.') {
		v++;
		if (*v < '0' || *v > '9')
			return false;
		while (*v >= '0' && *v <= '9')
			v++;
	}
	return *v == '\0';
}

/* One CSV cell (RFC 4180: CRLF after the last), made inert for
 * spreadsheets. Excel and WPS run a cell that starts with = + - or @ as
 * a formula (LibreOffice one that starts with =), Excel also after a tab
 * or CR, and the records are anyone's text: a department "=1+2" would
 * compute, an approver =HYPERLINK(...) link out. So, as OWASP's CSV injection advice says, a
 * text cell starting with one of them gets a leading ' (which the
 * spreadsheet takes as "this is text"), and every text cell is quoted,
 * quotes doubled, so that a spreadsheet guessing another separator
 * (';', tab) cannot split a cell into one that starts a formula. A
 * number cell is left bare, a number to the spreadsheet: its column comes
 * from a typed SQL value (bigint, integer, numeric), whose text may start
 * with '-' but is never a formula; a prefix there would turn an amount
 * of -12.50 into text. Anything in a number column that is not a plain
 * number is written as text. */
static void csv_field(const char *v, enum csv_kind kind, bool last)
{
	if (kind == CSV_NUMBER && plain_number(v)) {
		fputs(v, stdout);
	} else {
		putchar('"');
		if (*v && strchr("=+-@\t\r", *v))
			putchar('\'');
		for (const char *p = v; *p; p++) {
			if (*p == '"')
				putchar('"');
			putchar(*p);
		}
		putchar('"');
	}
	fputs(last ? "\r\n" : ",", stdout);
}

/* the UTF-8 byte order mark, which Excel and WPS need to read Chinese
 * text as UTF-8 (LibreOffice is told so in its import dialog: qfctl(1)) */
static void csv_excel_bom(void)
{
	fputs("\xEF\xBB\xBF", stdout);
}

static int findings_list(struct db_session *c, int argc, char **argv, int i)
{
	/* in the order of enum findings_filter */
	static const char *const opts[FF_N] = {"--status", "--level", "--supervision", "--risk",  "--duty",
					       "--rule",   "--person", "--department",  "--since", "--until"};
	const char *filter[FF_N] = {0}, *format = "table";
	bool excel = false;
	int limit = 1000;
	char *err = NULL;

	for (; i < argc; i++) {
		int k;
		for (k = 0; k < FF_N && strcmp(argv[i], opts[k]); k++)
			;
		if (k < FF_N && i + 1 < argc)
			filter[k] = argv[++i];
		else if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			limit = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--excel"))
			excel = true;
		else {
			usage(stderr);
			return 64;
		}
	}
	if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "csv")) {
		fprintf(stderr, "qfctl: --format must be table, json or csv\n");
		return 64;
	}
	if (excel && strcmp(format, "csv")) { /* it used to be ignored, and the table taken for a spreadsheet file */
		fprintf(stderr, "qfctl: --excel goes with --format csv only\n");
		return 64;
	}
	limit = limit > 0 ? limit : 1000;
	if (!strcmp(format, "json")) {
		char *json = db_findings_json(c, filter, limit, &err);
		if (!json)
			return fail("findings", err);
		printf("%s\n", json);
		free(json);
		return 0;
	}
	bool csv = !strcmp(format, "csv");
	struct db_table r;
	if ((csv ? db_findings_export(c, filter, limit, &r, &err) : db_findings(c, filter, limit, &r, &err)) < 0)
		return fail("findings", err);
	/* the table's columns, then (csv only) those of db_findings_export() */
	static const char *const heads[] = {"ID",	   "LEVEL",	"STATUS", "RULE",	     "DEPARTMENT", "PERSON",
					    "FIRST SEEN", "LAST SEEN", "HITS",	  "SUPERVISION",    "RISK",	   "DUTY",
					    "TITLE",	   "AMOUNT",	"TABLE",  "RECORD KEY",     "MESSAGE",	   "EVIDENCE"};
	if ((size_t)r.ncols > sizeof heads / sizeof heads[0]) { /* a column without a head is a bug here */
		db_table_clear(&r);
		return fail("findings", xstrdup("more columns than headings"));
	}
	if (csv) {
		if (excel)
			csv_excel_bom();
		for (int j = 0; j < r.ncols; j++)
			csv_field(heads[j], CSV_TEXT, j + 1 == r.ncols);
		for (int row = 0; row < r.nrows; row++)
			for (int j = 0; j < r.ncols; j++) {
				/* the id, the hit count and the amount are typed numbers */
				bool num = j == 0 || j == 8 || j == 13;
				csv_field(db_cell(&r, row, j), num ? CSV_NUMBER : CSV_TEXT, j + 1 == r.ncols);
			}
	} else {
		print_table(&r, heads);
	}
	db_table_clear(&r);
	return 0;
}

static int findings_show(struct db_session *c, long long id)
{
	char *err = NULL;
	struct finding_detail f;
	int found = db_finding_show(c, id, &f, &err);
	if (found < 0)
		return fail("findings show", err);
	if (!found) {
		fprintf(stderr, "qfctl: no finding %lld\n", id);
		finding_detail_clear(&f);
		return 1;
	}
	static const char *const labels[] = {"编号 id",	      "规则 rule",	  "标题 title",	       "等级 level",
					     "状态 status",     "监督 supervision", "风险 risk",	       "责任 duty",
					     "对象 subject",    "部门 department",  "命中 hits",	       "首次 first seen",
					     "最近 last seen",  "规则版本 rule version"};
	const char *const values[14] = {f.id,	     f.rule_id, f.title,   f.level,	 f.status,
					f.supervision, f.risk,	  f.duty,    f.subject,	 f.department,
					f.hits,	     f.first_seen, f.last_seen, f.rule_version};
	for (int j = 0; j < 14; j++)
		printf("%-*s %s\n", 20 + (int)strlen(labels[j]) - text_width(labels[j]), labels[j], values[j]);
	printf("\n说明 message:\n  %s\n\n证据 evidence:\n%s\n", f.message, f.evidence);
	finding_detail_clear(&f);
	struct db_table r;
	if (db_finding_history(c, id, &r, &err) < 0)
		return fail("findings show", err);
	static const char *const heads[] = {"SEQ", "AT", "ACTOR", "ACTION", "LEVEL", "NOTE", "HASH"};
	printf("\n历史 history:\n");
	print_table(&r, heads);
	db_table_clear(&r);
	return 0;
}

static int cmd_findings(struct db_session *c, int argc, char **argv)
{
	static const char *const verbs[][2] = {
		{"ack", "acknowledged"}, {"resolve", "resolved"}, {"dismiss", "dismissed"}, {"reopen", "open"}};
	char *err = NULL;

	if (argc == 1 || argv[1][0] == '-')
		return findings_list(c, argc, argv, 1);
	if (!strcmp(argv[1], "list"))
		return findings_list(c, argc, argv, 2);
	if (!strcmp(argv[1], "show") && argc == 3)
		return findings_show(c, atoll(argv[2]));
	if (argc == 5 && !strcmp(argv[3], "--note")) {
		for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
			if (!strcmp(argv[1], verbs[v][0])) {
				if (db_set_status(c, atoll(argv[2]), verbs[v][1], argv[4], &err) < 0)
					return fail(argv[1], err);
				printf("finding %s %s\n", argv[2], verbs[v][1]);
				return 0;
			}
	}
	usage(stderr);
	return 64;
}

static void html_text(const char *v)
{
	for (const char *p = v; *p; p++) {
		switch (*p) {
		case '<': fputs("&lt;", stdout); break;
		case '>': fputs("&gt;", stdout); break;
		case '&': fputs("&amp;", stdout); break;
		case '"': fputs("&quot;", stdout); break;
		default: putchar((unsigned char)*p < 0x20 ? ' ' : *p);
		}
	}
}

static void md_text(const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == '|' || *p == '\\' || *p == '*' || *p == '_' || *p == '`' || *p == '<')
			putchar('\\');
		putchar((unsigned char)*p < 0x20 ? ' ' : *p);
	}
}

/* a horizontal bar chart, inline SVG: the label is column label (and
 * label2 after it, unless -1), the bar column value */
static void svg_bars(const struct db_table *r, int label, int label2, int value)
{
	int n = r->nrows, max = 1;
	for (int i = 0; i < n; i++)
		if (atoi(db_cell(r, i, value)) > max)
			max = atoi(db_cell(r, i, value));
	printf("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"%d\" role=\"img\">\n", 24 * n + 8);
	for (int i = 0; i < n; i++) {
		int v = atoi(db_cell(r, i, value)), w = 400 * v / max;
		printf("<text x=\"0\" y=\"%d\" font-size=\"13\">", 24 * i + 18);
		html_text(db_cell(r, i, label));
		if (label2 >= 0) {
			putchar(' ');
			html_text(db_cell(r, i, label2));
		}
		printf("</text><rect x=\"200\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"#c0392b\"/>"
		       "<text x=\"%d\" y=\"%d\" font-size=\"12\">%d</text>\n",
		       24 * i + 5, w > 0 ? w : 1, 206 + w, 24 * i + 18, v);
	}
	printf("</svg>\n");
}

static const char *const report_titles[REPORT_NSECTIONS] = {
	"423 矩阵 matrix",	"月度趋势 monthly trend",
	"高发规则 top rules",	"部门 departments",
	"未结风险点账龄 ages of open findings", "整改用时 time to resolve (days)",
	"历史链头 history chain head"};
static const char *const report_heads[REPORT_NSECTIONS][5] = {
	{"监督 supervision", "风险 risk", "责任 duty", "等级 level", "数量 findings"},
	{"月份 month", "等级 level", "数量 findings"},
	{"规则 rule", "标题 title", "数量 findings"},
	{"部门 department", "未结 open", "合计 findings"},
	{"账龄 age", "数量 findings"},
	{"", "数量 count", "中位 median", "P90"},
	{"seq", "hash"}};

static void report_html(int k, const struct db_table *r)
{
	int nc = r->ncols;

	printf("<h2>%s</h2>\n", report_titles[k]);
	if (k == REPORT_MONTHLY) /* month and level */
		svg_bars(r, 0, 1, 2);
	else if (k == REPORT_TOP_RULES) /* rule id (the titles are in the table) */
		svg_bars(r, 0, -1, 2);
	else if (k == REPORT_DEPARTMENTS) /* department, all its findings */
		svg_bars(r, 0, -1, 2);
	printf("<table><tr>");
	for (int j = 0; j < nc; j++)
		printf("<th>%s</th>", report_heads[k][j]);
	printf("</tr>\n");
	for (int i = 0; i < r->nrows; i++) {
		printf("<tr>");
		for (int j = 0; j < nc; j++) {
			printf("<td>");
			html_text(db_cell(r, i, j));
			printf("</td>");
		}
		printf("</tr>\n");
	}
	printf("</table>\n");
}

static void report_csv(int k, const struct db_table *r)
{
	/* per section, the columns that are counts or days (numbers from
	 * SQL); a section not listed is all text, which is safe */
	static const unsigned numeric[REPORT_NSECTIONS] = {
		[REPORT_MATRIX] = 1u << 4,	  [REPORT_MONTHLY] = 1u << 2,  [REPORT_TOP_RULES] = 1u << 2,
		[REPORT_DEPARTMENTS] = 3u << 1, [REPORT_OPEN_AGES] = 1u << 1, [REPORT_RESOLVE] = 7u << 1,
		[REPORT_CHAIN_HEAD] = 1u << 0};
	for (int i = 0; i < r->nrows; i++) {
		csv_field(report_titles[k], CSV_TEXT, false);
		for (int j = 0; j < 5; j++)
			csv_field(j < r->ncols ? db_cell(r, i, j) : "", numeric[k] >> j & 1u ? CSV_NUMBER : CSV_TEXT, j == 4);
	}
}

static void report_md(int k, const struct db_table *r)
{
	int nc = r->ncols;

	printf("\n## %s\n\n|", report_titles[k]);
	for (int j = 0; j < nc; j++)
		printf(" %s |", report_heads[k][j]);
	printf("\n|");
	for (int j = 0; j < nc; j++)
		printf("---|");
	printf("\n");
	for (int i = 0; i < r->nrows; i++) {
		printf("|");
		for (int j = 0; j < nc; j++) {
			printf(" ");
			md_text(db_cell(r, i, j));
			printf(" |");
		}
		printf("\n");
	}
}

static void report_head(bool html, bool csv, const char *from, const char *to)
{
	if (html) {
		printf("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
		       "<title>清风 廉政风险报告 qingfeng report %s – %s</title>\n"
		       "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
		       "td,th{border:1px solid #bbb;padding:.2em .6em}th{background:#eee}</style></head><body>\n"
		       "<h1>清风 廉政风险报告 qingfeng report</h1><p>",
		       from, to);
		html_text(from);
		fputs(" – ", stdout);
		html_text(to);
		printf("</p>\n");
	} else if (!csv) {
		printf("# 清风 廉政风险报告 qingfeng report %s – %s\n", from, to);
	} else {
		static const char *const cols[] = {"section", "c1", "c2", "c3", "c4", "c5"};
		for (int j = 0; j < 6; j++)
			csv_field(cols[j], CSV_TEXT, j == 5);
	}
}

static int cmd_report(struct db_session *c, int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *format = "md";
	bool excel = false;
	char *err = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < argc)
			from = argv[++i];
		else if (!strcmp(argv[i], "--to") && i + 1 < argc)
			to = argv[++i];
		else if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else if (!strcmp(argv[i], "--excel"))
			excel = true;
		else {
			usage(stderr);
			return 64;
		}
	}
	if (!from || !to || (strcmp(format, "md") && strcmp(format, "csv") && strcmp(format, "html"))) {
		fprintf(stderr, "qfctl: report needs --from DATE --to DATE and --format md, csv or html\n");
		return 64;
	}
	if (excel && strcmp(format, "csv")) {
		fprintf(stderr, "qfctl: --excel goes with --format csv only\n");
		return 64;
	}
	struct db_table sec[REPORT_NSECTIONS];
	for (int k = 0; k < REPORT_NSECTIONS; k++)
		if (db_report_section(c, (enum report_section)k, from, to, &sec[k], &err) < 0) {
			for (int j = 0; j < k; j++)
				db_table_clear(&sec[j]);
			return fail("report", err);
		}
	bool html = !strcmp(format, "html"), csv = !strcmp(format, "csv");
	if (csv && excel)
		csv_excel_bom();
	report_head(html, csv, from, to);
	for (int k = 0; k < REPORT_NSECTIONS; k++) {
		if (html)
			report_html(k, &sec[k]);
		else if (csv)
			report_csv(k, &sec[k]);
		else
			report_md(k, &sec[k]);
		db_table_clear(&sec[k]);
	}
	if (html)
		printf("</body></html>\n");
	return 0;
}

static int cmd_audit(struct db_session *c, int argc, char **argv)
{
	char *err = NULL;
	struct chain_head h;

	if (argc == 2 && !strcmp(argv[1], "verify")) {
		struct chain_break b;
		int broken = db_audit_verify(c, &b, &err);
		if (broken < 0)
			return fail("audit verify", err);
		if (!broken) {
			if (db_audit_head(c, &h, &err) < 0)
				return fail("audit verify", err);
			printf("history chain intact: %s event(s), head %s\n", h.seq, h.hash);
			chain_head_clear(&h);
			return 0;
		}
		printf("history chain BROKEN at seq %s%s%s: %s\n", b.seq, b.event_id ? ", event id " : "",
		       b.event_id ? b.event_id : "", b.why);
		chain_break_clear(&b);
		return 1;
	}
	if (argc == 2 && !strcmp(argv[1], "head")) {
		if (db_audit_head(c, &h, &err) < 0)
			return fail("audit head", err);
		printf("seq %s hash %s at %s\n", h.seq, h.hash, h.at);
		chain_head_clear(&h);
		return 0;
	}
	usage(stderr);
	return 64;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"dbname", required_argument, NULL, 'd'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *path = NULL, *conninfo = NULL;
	struct qf_config *cfg = NULL;
	int ch, rc;

	/* '+': options end at the command, whose own options follow it */
	while ((ch = getopt_long(argc, argv, "+c:d:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			conninfo = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 64;
	}
	log_init("qfctl", QF_LOG_WARNING);
	setlocale(LC_CTYPE, "C.UTF-8"); /* character widths only; output stays as the database gives it */
	/* the default config is optional for qfctl; a named one is not */
	if (path || access(DEFAULT_CONFIG, R_OK) == 0) {
		struct diag d;
		diag_init(&d);
		cfg = config_load(path ? path : DEFAULT_CONFIG, &d);
		diag_print(&d);
		diag_free(&d);
		if (!cfg)
			return 78;
	}
	if (!conninfo)
		conninfo = cfg ? cfg->conninfo : "";
	const char *tz = cfg ? cfg->timezone : "Asia/Shanghai";

	const char *cmd = argv[optind];
	if (!strcmp(cmd, "migrate")) {
		rc = cmd_migrate(conninfo, tz, argc - optind, argv + optind);
	} else if (!strcmp(cmd, "rules")) {
		rc = cmd_rules(cfg, conninfo, argc - optind, argv + optind);
	} else if (!strcmp(cmd, "alerts") || !strcmp(cmd, "silence") || !strcmp(cmd, "findings") ||
		   !strcmp(cmd, "audit") || !strcmp(cmd, "report")) {
		struct db_session *c = db_connect(conninfo, "qfctl", tz, 10);
		if (!c)
			rc = 69;
		else if (db_check_schema(c) < 0)
			rc = 69;
		else
			rc = !strcmp(cmd, "alerts")     ? cmd_alerts(c, cfg, argc - optind, argv + optind)
			     : !strcmp(cmd, "silence")  ? cmd_silence(c, argc - optind, argv + optind)
			     : !strcmp(cmd, "audit")    ? cmd_audit(c, argc - optind, argv + optind)
			     : !strcmp(cmd, "report")   ? cmd_report(c, argc - optind, argv + optind)
							: cmd_findings(c, argc - optind, argv + optind);
		db_close(&c);
	} else if (!strcmp(cmd, "version")) {
		printf("qfctl %s (rule engine %d, schema %d)\n", QF_VERSION, QF_ENGINE_VERSION, QF_SCHEMA_VERSION);
		rc = 0;
	} else {
		fprintf(stderr, "qfctl: unknown command '%s'\n", cmd);
		usage(stderr);
		rc = 64;
	}
	config_free(cfg);
	return rc;
}
