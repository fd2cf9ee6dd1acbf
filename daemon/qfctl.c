/* qfctl: the command line for auditors and operators (qfctl(1)). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <locale.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "config.h"
#include "csv.h"
#include "db.h"
#include "db_eval.h"
#include "db_migrate.h"
#include "db_ops.h"
#include "db_outbox.h"
#include "eval.h"
#include "log.h"
#include "qfctl_trust.h"
#include "route.h"
#include "rule.h"
#include "qfctl_int.h"

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
		   "  silence approve ID        approve another admin's silence (four eyes)\n"
		   "  findings [list] [--status S] [--level L] [--supervision X] [--risk R] [--duty D] [--rule ID]\n"
		   "           [--person P] [--department D] [--since DATE] [--until DATE] [--limit N]\n"
		   "           [--owner ROLE] [--light green|yellow|red] [--overdue]\n"
		   "           [--format table|json|csv] [--excel]\n"
		   "  findings show ID          the finding, its evidence and its whole history\n"
		   "  findings ack ID [--note TEXT]            sign for it (its owner or an admin)\n"
		   "  findings feedback ID --outcome substantiated|partly|unfounded\n"
		   "           --disposition talk|criticism|admonish|transfer|rectify|none --note TEXT\n"
		   "  findings close ID [--note TEXT]          close it (four eyes: not who gave the feedback)\n"
		   "  findings reopen ID --note TEXT | assign ID --to ROLE --note TEXT\n"
		   "  findings resolve|dismiss ID --note TEXT  feedback and close in one step\n"
		   "  report --from DATE --to DATE [--format md|csv|html|pdf] [--excel]\n"
		   "                            findings first seen in [from, to): 423 matrix, trend, rules,\n"
		   "                            departments, open ages, time to resolve, disposal measures,\n"
		   "                            overdue findings, chain head\n"
		   "  audit verify              check the history hash chain (exit 1 at the first broken link)\n"
		   "  audit head                print the chain head, to record elsewhere\n"
		   "  audit verify --anchor ID:HASH...  also prove the chain still holds each anchored head\n"
		   "  audit log [--since DATE] [--kind K] [--format table|json]  control events (who changed what)\n"
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
				printf("-- $%d = %s\n", i + 1, rule_value_label(r, i));
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

void print_table(const struct db_table *r, const char *const *heads)
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
	if (argc == 3 && !strcmp(argv[1], "approve"))
		return qfctl_silence_approve(c, argv[2]);
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

/* One CSV cell on stdout, made inert for spreadsheets (csv.c says how). */
void csv_field(const char *v, enum csv_kind kind, bool last)
{
	struct buf b;
	buf_init(&b);
	csv_cell(&b, v, kind, last);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static void csv_excel_bom(void)
{
	fputs(CSV_EXCEL_BOM, stdout);
}

static int findings_list(struct db_session *c, int argc, char **argv, int i)
{
	/* in the order of enum findings_filter */
	static const char *const opts[FF_N] = {"--status", "--level",  "--supervision", "--risk",  "--duty",
					       "--rule",   "--person", "--department",  "--since", "--until",
					       "--owner",  "--light",  "--overdue"};
	const char *filter[FF_N] = {0}, *format = "table";
	bool excel = false;
	int limit = 1000;
	char *err = NULL;

	for (; i < argc; i++) {
		int k;
		for (k = 0; k < FF_N && strcmp(argv[i], opts[k]); k++)
			;
		if (k == FF_OVERDUE)
			filter[k] = "t";
		else if (k < FF_N && i + 1 < argc)
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
	if (filter[FF_LIGHT] && strcmp(filter[FF_LIGHT], "green") && strcmp(filter[FF_LIGHT], "yellow") &&
	    strcmp(filter[FF_LIGHT], "red")) {
		fprintf(stderr, "qfctl: --light must be green, yellow or red\n");
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
					    "TITLE",	   "AMOUNT",	"TABLE",  "RECORD KEY",     "MESSAGE",	   "EVIDENCE",
					    "OWNER",	   "LIGHT",	"SIGN DUE", "CLOSE DUE",    "OUTCOME",	   "DISPOSITION"};
	/* the table's: the listing's, then the disposal's (db_findings()) */
	static const char *const theads[] = {"ID",	    "LEVEL",	 "STATUS", "RULE",	    "DEPARTMENT", "PERSON",
					     "FIRST SEEN", "LAST SEEN", "HITS",	   "SUPERVISION", "RISK",	  "DUTY",
					     "TITLE",	    "OWNER",	 "LIGHT",  "SIGN DUE",	  "CLOSE DUE",	  "OUTCOME",
					     "DISPOSITION"};
	if ((size_t)r.ncols > (csv ? sizeof heads / sizeof heads[0] : sizeof theads / sizeof theads[0])) {
		/* a column without a head is a bug here */
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
		print_table(&r, theads);
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
	if (disposal_show(c, id))
		return 1;
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
	if (argc == 1 || argv[1][0] == '-')
		return findings_list(c, argc, argv, 1);
	if (!strcmp(argv[1], "list"))
		return findings_list(c, argc, argv, 2);
	if (!strcmp(argv[1], "show") && argc == 3)
		return findings_show(c, atoll(argv[2]));
	/* ack, feedback, close, reopen, assign, resolve, dismiss: qfctl_disposal.c */
	if (disposal_verb(argv[1]))
		return cmd_disposal_step(c, argc, argv);
	usage(stderr);
	return 64;
}

/* ---- the report (qfctl report) ---- */

/* The 423 method's vocabularies in its own order, with the Chinese an
 * auditor of the institute reads first (RULES-423.md); the database
 * stores the English. */
struct vocab {
	const char *en, *zh;
};
static const struct vocab v_supervision[3] = {
	{"technical", "技术监督"}, {"financial", "财务监督"}, {"disciplinary", "纪律监督"}};
static const struct vocab v_risk[2] = {{"technical", "技术风险"}, {"non-technical", "非技术风险"}};
static const struct vocab v_duty[4] = {
	{"primary", "主体责任"}, {"supervisory", "监督责任"}, {"dual-duty", "一岗双责"}, {"impartiality", "检验公正"}};
static const struct vocab v_level[3] = {{"red", "红色"}, {"orange", "橙色"}, {"yellow", "黄色"}};
/* bars and level headers in the level's own colour (the yellow dark
 * enough to see on white paper); cells in a tint of it */
static const char *const level_rgb[3] = {"#c0392b", "#e67e22", "#d4ac0d"};
static const char *const level_short[3] = {"红", "橙", "黄"};

static int vocab_index(const struct vocab *v, int n, const char *en)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i].en, en))
			return i;
	return -1;
}

/* the Chinese of an English 423 or level value, or NULL */
static const char *vocab_zh(const struct vocab *v, int n, const char *en)
{
	int i = vocab_index(v, n, en);
	return i < 0 ? NULL : v[i].zh;
}

static void html_textn(FILE *o, const char *v, size_t len)
{
	for (const char *p = v; p < v + len && *p; p++) {
		switch (*p) {
		case '<': fputs("&lt;", o); break;
		case '>': fputs("&gt;", o); break;
		case '&': fputs("&amp;", o); break;
		case '"': fputs("&quot;", o); break;
		default: putc((unsigned char)*p < 0x20 ? ' ' : *p, o);
		}
	}
}

void html_text(FILE *o, const char *v)
{
	html_textn(o, v, strlen(v));
}

/* v escaped and cut, on a character boundary, to at most max display
 * columns (an ellipsis ends a cut one): chart labels have a fixed width */
static void html_text_cols(FILE *o, const char *v, int max)
{
	if (text_width(v) <= max) {
		html_text(o, v);
		return;
	}
	mbstate_t st;
	size_t left = strlen(v), used = 0;
	int w = 0;
	memset(&st, 0, sizeof st);
	while (left) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, v + used, left, &st);
		int cw = 1;
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			memset(&st, 0, sizeof st);
			n = 1;
		} else {
			cw = wcwidth(wc) > 0 ? wcwidth(wc) : 0;
		}
		if (w + cw > max - 1)
			break;
		w += cw;
		used += n;
		left -= n;
	}
	html_textn(o, v, used);
	fputs("…", o);
}

void md_text(FILE *o, const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == '|' || *p == '\\' || *p == '*' || *p == '_' || *p == '`' || *p == '<')
			putc('\\', o);
		putc((unsigned char)*p < 0x20 ? ' ' : *p, o);
	}
}

/* One bar of a chart: its label and its findings by level. */
struct bar {
	const char *label;
	long lv[3];
};

/* Horizontal bars in inline SVG, one a row, each stacked red, orange,
 * yellow in the levels' colours, the total after it. 600 wide at most:
 * drawn at scale 1 on a screen and on A4, smaller in a narrow window. */
static void svg_bars(FILE *o, const struct bar *b, int n)
{
	enum { LABEL = 190, SPAN = 340, PITCH = 20, HEIGHT = 14 };
	long max = 1;

	for (int i = 0; i < n; i++)
		if (b[i].lv[0] + b[i].lv[1] + b[i].lv[2] > max)
			max = b[i].lv[0] + b[i].lv[1] + b[i].lv[2];
	fprintf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"%d\" viewBox=\"0 0 600 %d\" role=\"img\">\n",
		PITCH * n + 4, PITCH * n + 4);
	for (int i = 0; i < n; i++) {
		long x = LABEL;
		fprintf(o, "<text x=\"0\" y=\"%d\" font-size=\"13\">", PITCH * i + 15);
		html_text_cols(o, b[i].label, 28);
		fputs("</text>", o);
		for (int l = 0; l < 3; l++) {
			if (!b[i].lv[l])
				continue;
			/* a level present is never drawn as nothing */
			long w = SPAN * b[i].lv[l] / max;
			w = w > 0 ? w : 1;
			fprintf(o, "<rect class=\"lv-%s\" x=\"%ld\" y=\"%d\" width=\"%ld\" height=\"%d\" fill=\"%s\"/>",
				v_level[l].en, x, PITCH * i + 3, w, HEIGHT, level_rgb[l]);
			x += w;
		}
		fprintf(o, "<text x=\"%ld\" y=\"%d\" font-size=\"12\">%ld</text>\n", x + 5, PITCH * i + 15,
			b[i].lv[0] + b[i].lv[1] + b[i].lv[2]);
	}
	fputs("</svg>\n", o);
}

/* The 423 matrix as the method lays it out: three supervisions by two
 * risks down, four duties across, each cell by level. */
struct grid {
	long n[3][2][4][3];		     /* supervision, risk, duty, level */
	long row[3][2][3], col[4][3], lv[3]; /* totals by level */
	long total;
};

static void grid_fill(const struct db_table *r, struct grid *g)
{
	memset(g, 0, sizeof *g);
	for (int i = 0; i < r->nrows; i++) {
		int s = vocab_index(v_supervision, 3, db_cell(r, i, 0)), k = vocab_index(v_risk, 2, db_cell(r, i, 1));
		int d = vocab_index(v_duty, 4, db_cell(r, i, 2)), l = vocab_index(v_level, 3, db_cell(r, i, 3));
		if (s < 0 || k < 0 || d < 0 || l < 0) /* the columns are CHECKed: cannot be */
			continue;
		long c = atol(db_cell(r, i, 4));
		g->n[s][k][d][l] += c;
		g->row[s][k][l] += c;
		g->col[d][l] += c;
		g->lv[l] += c;
		g->total += c;
	}
}

/* a count cell: the level's tint when not zero; data-* names the cell
 * for readers that check the figures (tests/t/99-report-grid.t) */
static void grid_td(FILE *o, const char *attr, const char *name, int l, long v)
{
	fprintf(o, "<td class=\"n %s\" %s=\"%s\">%ld</td>", v ? (l < 0 ? "sum" : v_level[l].en) : "zero", attr, name, v);
}

static void html_grid(FILE *o, const struct grid *g)
{
	char name[96];

	fputs("<table class=\"grid\">\n<tr><th colspan=\"2\" rowspan=\"2\">三个监督 × 两大风险<br>"
	      "<small>supervision × risk</small></th>",
	      o);
	for (int d = 0; d < 4; d++)
		fprintf(o, "<th colspan=\"3\">%s<br><small>%s</small></th>", v_duty[d].zh, v_duty[d].en);
	fputs("<th colspan=\"4\">合计<br><small>total</small></th></tr>\n<tr>", o);
	for (int d = 0; d <= 4; d++) {
		for (int l = 0; l < 3; l++)
			fprintf(o, "<th class=\"lh %s\" title=\"%s\">%s</th>", v_level[l].en, v_level[l].en, level_short[l]);
		if (d == 4)
			fputs("<th>计</th>", o);
	}
	fputs("</tr>\n", o);
	for (int s = 0; s < 3; s++)
		for (int k = 0; k < 2; k++) {
			fputs("<tr>", o);
			if (k == 0)
				fprintf(o, "<th rowspan=\"2\">%s<br><small>%s</small></th>", v_supervision[s].zh,
					v_supervision[s].en);
			fprintf(o, "<th class=\"risk\">%s <small>%s</small></th>", v_risk[k].zh, v_risk[k].en);
			long sum = 0;
			for (int d = 0; d < 4; d++)
				for (int l = 0; l < 3; l++) {
					snprintf(name, sizeof name, "%s/%s/%s/%s", v_supervision[s].en, v_risk[k].en,
						 v_duty[d].en, v_level[l].en);
					grid_td(o, "data-cell", name, l, g->n[s][k][d][l]);
				}
			for (int l = 0; l < 3; l++) {
				snprintf(name, sizeof name, "%s/%s/%s", v_supervision[s].en, v_risk[k].en, v_level[l].en);
				grid_td(o, "data-row", name, l, g->row[s][k][l]);
				sum += g->row[s][k][l];
			}
			snprintf(name, sizeof name, "%s/%s/all", v_supervision[s].en, v_risk[k].en);
			grid_td(o, "data-row", name, -1, sum);
			fputs("</tr>\n", o);
		}
	fputs("<tr class=\"total\"><th colspan=\"2\">合计 <small>total</small></th>", o);
	for (int d = 0; d < 4; d++)
		for (int l = 0; l < 3; l++) {
			snprintf(name, sizeof name, "%s/%s", v_duty[d].en, v_level[l].en);
			grid_td(o, "data-col", name, l, g->col[d][l]);
		}
	for (int l = 0; l < 3; l++)
		grid_td(o, "data-level", v_level[l].en, l, g->lv[l]);
	grid_td(o, "data-total", "all", -1, g->total);
	fputs("</tr>\n</table>\n", o);
}

static void md_grid(FILE *o, const struct grid *g)
{
	fputs("\n三个监督 × 两大风险 × 四个到位；每格 each cell: 红/橙/黄 red/orange/yellow\n\n"
	      "| 监督 supervision | 风险 risk |",
	      o);
	for (int d = 0; d < 4; d++)
		fprintf(o, " %s %s |", v_duty[d].zh, v_duty[d].en);
	fputs(" 合计 total |\n|---|---|---|---|---|---|---|\n", o);
	for (int s = 0; s < 3; s++)
		for (int k = 0; k < 2; k++) {
			fprintf(o, "| %s %s | %s %s |", v_supervision[s].zh, v_supervision[s].en, v_risk[k].zh,
				v_risk[k].en);
			for (int d = 0; d < 4; d++)
				fprintf(o, " %ld/%ld/%ld |", g->n[s][k][d][0], g->n[s][k][d][1], g->n[s][k][d][2]);
			fprintf(o, " %ld (%ld/%ld/%ld) |\n", g->row[s][k][0] + g->row[s][k][1] + g->row[s][k][2],
				g->row[s][k][0], g->row[s][k][1], g->row[s][k][2]);
		}
	fputs("| 合计 total | |", o);
	for (int d = 0; d < 4; d++)
		fprintf(o, " %ld/%ld/%ld |", g->col[d][0], g->col[d][1], g->col[d][2]);
	fprintf(o, " %ld (%ld/%ld/%ld) |\n", g->total, g->lv[0], g->lv[1], g->lv[2]);
}

/* The monthly section's rows (month, level, findings, of which dated by
 * first_seen), one per month and level, as one bar a month. */
struct months {
	struct bar *v;
	int n;
	long fallback;
};

static void months_fill(const struct db_table *r, struct months *m)
{
	m->v = xcalloc((size_t)r->nrows + 1, sizeof *m->v);
	m->n = 0;
	m->fallback = 0;
	for (int i = 0; i < r->nrows; i++) {
		const char *month = db_cell(r, i, 0);
		int l = vocab_index(v_level, 3, db_cell(r, i, 1));
		if (!m->n || strcmp(m->v[m->n - 1].label, month))
			m->v[m->n++].label = month;
		if (l >= 0)
			m->v[m->n - 1].lv[l] += atol(db_cell(r, i, 2));
		m->fallback += atol(db_cell(r, i, 3));
	}
}

static const char *const report_titles[REPORT_NSECTIONS] = {
	"423 矩阵 matrix",	"月度趋势 monthly trend",
	"高发规则 top rules",	"部门 departments",
	"未结风险点账龄 ages of open findings", "整改用时 time to resolve (days)",
	"历史链头 history chain head"};
/* the column heads of md and html tables (the matrix and the trend are
 * laid out by md_grid, html_grid and the month rows) */
static const char *const report_heads[REPORT_NSECTIONS][6] = {
	{"监督 supervision", "风险 risk", "责任 duty", "等级 level", "数量 findings"},
	{"月份 month", "红 red", "橙 orange", "黄 yellow", "合计 findings"},
	{"规则 rule", "标题 title", "数量 findings", "红 red", "橙 orange", "黄 yellow"},
	{"部门 department", "未结 open", "合计 findings", "红 red", "橙 orange", "黄 yellow"},
	{"账龄 age", "数量 findings"},
	{"", "数量 count", "中位 median", "P90"},
	{"seq", "hash", "读取时间 read at"}};

/* the level a column counts (0 red, 1 orange, 2 yellow), or -1 */
static int column_level(int k, int j)
{
	return (k == REPORT_TOP_RULES || k == REPORT_DEPARTMENTS) && j >= 3 && j <= 5 ? j - 3 : -1;
}

static void html_th(FILE *o, const char *head, int l)
{
	if (l >= 0)
		fprintf(o, "<th class=\"lh %s\">%s</th>", v_level[l].en, head);
	else
		fprintf(o, "<th>%s</th>", head);
}

static void html_table(FILE *o, int k, const struct db_table *r)
{
	fputs("<table><tr>", o);
	for (int j = 0; j < r->ncols; j++)
		html_th(o, report_heads[k][j], column_level(k, j));
	fputs("</tr>\n", o);
	for (int i = 0; i < r->nrows; i++) {
		fputs("<tr>", o);
		for (int j = 0; j < r->ncols; j++) {
			int l = column_level(k, j);
			const char *v = db_cell(r, i, j);
			if (l >= 0)
				fprintf(o, "<td class=\"n %s\">", strcmp(v, "0") ? v_level[l].en : "zero");
			else
				fputs("<td>", o);
			html_text(o, v);
			fputs("</td>", o);
		}
		fputs("</tr>\n", o);
	}
	fputs("</table>\n", o);
}

static void html_months(FILE *o, const struct months *m)
{
	fputs("<table><tr>", o);
	for (int j = 0; j < 5; j++)
		html_th(o, report_heads[REPORT_MONTHLY][j], j >= 1 && j <= 3 ? j - 1 : -1);
	fputs("</tr>\n", o);
	for (int i = 0; i < m->n; i++) {
		const struct bar *b = &m->v[i];
		fputs("<tr><td>", o);
		html_text(o, b->label);
		fputs("</td>", o);
		for (int l = 0; l < 3; l++)
			fprintf(o, "<td class=\"n %s\">%ld</td>", b->lv[l] ? v_level[l].en : "zero", b->lv[l]);
		fprintf(o, "<td class=\"n\">%ld</td></tr>\n", b->lv[0] + b->lv[1] + b->lv[2]);
	}
	fputs("</table>\n", o);
}

/* a chart's bars from a section whose columns 3..5 count by level */
static struct bar *section_bars(const struct db_table *r)
{
	struct bar *b = xcalloc((size_t)r->nrows + 1, sizeof *b);
	for (int i = 0; i < r->nrows; i++) {
		b[i].label = db_cell(r, i, 0);
		for (int l = 0; l < 3; l++)
			b[i].lv[l] = atol(db_cell(r, i, 3 + l));
	}
	return b;
}

static const char report_css[] =
	"body{font:13px/1.35 \"Noto Sans CJK SC\",\"Noto Sans SC\",sans-serif;margin:14px 20px;color:#222}"
	"h1{font-size:19px;margin:0 0 2px}h2{font-size:15px;margin:12px 0 4px;border-bottom:1px solid #ddd}"
	"p{margin:2px 0}.meta,.note{color:#555}.note{font-size:12px}small{color:#666;font-weight:normal}"
	"table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ccc;padding:1px 6px}"
	"th{background:#f2f2f2;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}"
	"td.zero{color:#aaa}td.red{background:#f6d5d1;color:#7b241c;font-weight:600}"
	"td.orange{background:#fbe0c3;color:#7e3f06;font-weight:600}"
	"td.yellow{background:#fbf0bd;color:#5e4b00;font-weight:600}td.sum{font-weight:600}"
	"th.lh{min-width:1.6em}th.lh.red{background:#c0392b;color:#fff}th.lh.orange{background:#e67e22;color:#fff}"
	"th.lh.yellow{background:#d4ac0d;color:#222}.grid th.risk{text-align:left;font-weight:normal;white-space:nowrap}"
	".grid tr.total td,.grid tr.total th{border-top:2px solid #888}"
	".sw{display:inline-block;width:.9em;height:.9em;vertical-align:-1px;margin:0 2px 0 8px}"
	".sw.red{background:#c0392b}.sw.orange{background:#e67e22}.sw.yellow{background:#d4ac0d}"
	".cols{columns:2 540px;column-gap:28px}.cols section{break-inside:avoid}"
	"svg{display:block;max-width:100%;height:auto}"
	/* A4 on paper: one column, colours kept, nothing cut across pages */
	"@page{size:A4;margin:12mm 12mm 14mm}"
	"@media print{body{margin:0;font-size:10pt}.cols{columns:auto}"
	"section,table,tr,svg,footer{break-inside:avoid;page-break-inside:avoid}"
	"h2{break-after:avoid;page-break-after:avoid}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}.noprint{display:none}}";

/* the footnote: what the report counts, and how the trend dates a finding */
static void report_note(FILE *o, bool html, const char *from, const char *to, long fallback)
{
	fprintf(o, "%s范围 scope: 首次发现于 [", html ? "<p>" : "\n---\n\n");
	html ? html_text(o, from) : md_text(o, from);
	fputs(", ", o);
	html ? html_text(o, to) : md_text(o, to);
	fputs(") 的风险点（本人可见范围内） findings first seen in that period, within your scope. "
	      "等级 levels: 红色 red 一级, 橙色 orange 二级, 黄色 yellow 三级.",
	      o);
	fprintf(o, "%s月度趋势按记录本身的日期 the monthly trend is by the date of the record itself: "
		   "the first of these evidence keys that holds a date: ",
		html ? "</p>\n<p>" : "\n\n");
	html ? html_text(o, db_report_time_keys) : md_text(o, db_report_time_keys);
	fprintf(o, "; a finding with none is counted by its first_seen (%ld in this report).%s\n", fallback,
		html ? "</p>" : "");
}

static void report_html(FILE *o, struct db_table *sec, const char *from, const char *to)
{
	struct grid g;
	struct months m;
	const struct db_table *head = &sec[REPORT_CHAIN_HEAD];

	grid_fill(&sec[REPORT_MATRIX], &g);
	months_fill(&sec[REPORT_MONTHLY], &m);
	fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width\"><title>清风 廉政风险报告 qingfeng report ",
	      o);
	html_text(o, from);
	fputs(" – ", o);
	html_text(o, to);
	fprintf(o, "</title>\n<style>%s</style></head><body>\n<header><h1>清风 廉政风险报告 "
		   "<small>qingfeng integrity risk report</small></h1>\n<p class=\"meta\">期间 period ",
		report_css);
	html_text(o, from);
	fputs(" – ", o);
	html_text(o, to);
	fprintf(o, " · 风险点 findings <b>%ld</b> ·", g.total);
	for (int l = 0; l < 3; l++)
		fprintf(o, "<span class=\"sw %s\"></span>%s %s %ld", v_level[l].en, v_level[l].zh, v_level[l].en, g.lv[l]);
	if (head->nrows) {
		fputs(" · 生成 generated ", o);
		html_text(o, db_cell(head, 0, 2));
	}
	fputs("</p></header>\n", o);
	fprintf(o, "<section><h2>%s：三个监督 × 两大风险 × 四个到位</h2>\n", report_titles[REPORT_MATRIX]);
	html_grid(o, &g);
	fputs("</section>\n<div class=\"cols\">\n", o);
	for (int k = REPORT_MONTHLY; k < REPORT_NSECTIONS; k++) {
		fprintf(o, "<section><h2>%s</h2>\n", report_titles[k]);
		if (k == REPORT_MONTHLY) {
			svg_bars(o, m.v, m.n);
			html_months(o, &m);
		} else {
			if (k == REPORT_TOP_RULES || k == REPORT_DEPARTMENTS) {
				struct bar *b = section_bars(&sec[k]);
				svg_bars(o, b, sec[k].nrows);
				free(b);
			}
			html_table(o, k, &sec[k]);
		}
		fputs("</section>\n", o);
	}
	disposal_report_html(o);
	fputs("</div>\n<footer class=\"note\">", o);
	report_note(o, true, from, to, m.fallback);
	fputs("</footer>\n</body></html>\n", o);
	free(m.v);
}

static void md_table(FILE *o, int k, const struct db_table *r)
{
	fputs("\n|", o);
	for (int j = 0; j < r->ncols; j++)
		fprintf(o, " %s |", report_heads[k][j]);
	fputs("\n|", o);
	for (int j = 0; j < r->ncols; j++)
		fputs("---|", o);
	fputs("\n", o);
	for (int i = 0; i < r->nrows; i++) {
		fputs("|", o);
		for (int j = 0; j < r->ncols; j++) {
			fputs(" ", o);
			md_text(o, db_cell(r, i, j));
			fputs(" |", o);
		}
		fputs("\n", o);
	}
}

static void report_md(FILE *o, struct db_table *sec, const char *from, const char *to)
{
	struct grid g;
	struct months m;

	grid_fill(&sec[REPORT_MATRIX], &g);
	months_fill(&sec[REPORT_MONTHLY], &m);
	fprintf(o, "# 清风 廉政风险报告 qingfeng report %s – %s\n", from, to);
	for (int k = 0; k < REPORT_NSECTIONS; k++) {
		fprintf(o, "\n## %s\n", report_titles[k]);
		if (k == REPORT_MATRIX) {
			md_grid(o, &g);
		} else if (k == REPORT_MONTHLY) {
			fputs("\n|", o);
			for (int j = 0; j < 5; j++)
				fprintf(o, " %s |", report_heads[k][j]);
			fputs("\n|---|---|---|---|---|\n", o);
			for (int i = 0; i < m.n; i++)
				fprintf(o, "| %s | %ld | %ld | %ld | %ld |\n", m.v[i].label, m.v[i].lv[0], m.v[i].lv[1],
					m.v[i].lv[2], m.v[i].lv[0] + m.v[i].lv[1] + m.v[i].lv[2]);
		} else {
			md_table(o, k, &sec[k]);
		}
	}
	disposal_report_md(o);
	report_note(o, false, from, to, m.fallback);
	free(m.v);
}

/* csv: a long table, one row per line of every section, the section in
 * the first column, its values in c1..c6, and the Chinese of the ones
 * that are 423 or level values in c1_zh..c4_zh (columns only ever added
 * at the end, for the spreadsheets that read them by position) */
static void report_csv(struct db_table *sec)
{
	static const char *const cols[] = {"section", "c1", "c2", "c3", "c4", "c5", "c6", "c1_zh", "c2_zh", "c3_zh", "c4_zh"};
	for (int j = 0; j < 11; j++)
		csv_field(cols[j], CSV_TEXT, j == 10);
	for (int k = 0; k < REPORT_NSECTIONS; k++) {
		const struct db_table *r = &sec[k];
		for (int i = 0; i < r->nrows; i++) {
			csv_field(report_titles[k], CSV_TEXT, false);
			/* counts and days stay numbers; anything else in c1..c6
			 * (a label, a department, a hash) is text, made inert */
			for (int j = 0; j < 6; j++)
				csv_field(j < r->ncols ? db_cell(r, i, j) : "", CSV_NUMBER, false);
			for (int j = 0; j < 4; j++) {
				const char *zh = NULL, *v = j < r->ncols ? db_cell(r, i, j) : "";
				if (k == REPORT_MATRIX)
					zh = j == 0   ? vocab_zh(v_supervision, 3, v)
					     : j == 1 ? vocab_zh(v_risk, 2, v)
					     : j == 2 ? vocab_zh(v_duty, 4, v)
						      : vocab_zh(v_level, 3, v);
				else if (k == REPORT_MONTHLY && j == 1)
					zh = vocab_zh(v_level, 3, v);
				csv_field(zh ? zh : "", CSV_TEXT, j == 3);
			}
		}
	}
	disposal_report_csv();
}

/* ---- the report as PDF: Chromium's print to PDF ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* Chromium in PATH under one of its usual names; caller frees; NULL: none */
static char *find_chromium(void)
{
	static const char *const names[] = {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"};
	const char *path = getenv("PATH");
	char full[4096];

	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
			size_t n = strcspn(p, ":");
			snprintf(full, sizeof full, "%.*s/%s", (int)n, n ? p : ".", names[k]);
			if (access(full, X_OK) == 0)
				return xstrdup(full);
			p += n + (p[n] == ':');
		}
	}
	return NULL;
}

/* runs Chromium on dir/report.html, printing dir/report.pdf; its output
 * goes to dir/chromium.log; 0 when it exited 0 within the time allowed */
static int chromium_print(const char *bin, const char *dir)
{
	char profile[PATH_MAX + 32], pdf[PATH_MAX + 32], url[PATH_MAX + 32], log[PATH_MAX + 32];
	snprintf(profile, sizeof profile, "--user-data-dir=%s/profile", dir);
	snprintf(pdf, sizeof pdf, "--print-to-pdf=%s/report.pdf", dir);
	snprintf(url, sizeof url, "file://%s/report.html", dir);
	snprintf(log, sizeof log, "%s/chromium.log", dir);
	/* a throwaway profile, nothing fetched, no page header or footer
	 * (the report has its own). The sandbox stays on, but as root
	 * Chromium will not start with it. (Scripts stay on: the report has
	 * none, and headless Chromium prints nothing with them off.) */
	char *args[16];
	int n = 0;
	args[n++] = (char *)bin;
	args[n++] = "--headless";
	if (geteuid() == 0)
		args[n++] = "--no-sandbox";
	args[n++] = "--disable-gpu";
	args[n++] = "--no-pdf-header-footer";
	args[n++] = "--no-first-run";
	args[n++] = "--disable-background-networking";
	args[n++] = "--disable-component-update";
	args[n++] = "--disable-sync";
	args[n++] = "--disable-extensions";
	args[n++] = profile;
	args[n++] = pdf;
	args[n++] = url;
	args[n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "qfctl: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		setpgid(0, 0); /* its helpers with it, to end them all at the end */
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execv(bin, args);
		_exit(127);
	}
	setpgid(pid, pid);
	/* a browser that hangs must not hang the command: 120 s. Its exit is
	 * seen without reaping it, so that its group's id is still taken when
	 * the helpers it leaves behind are ended. */
	siginfo_t si;
	bool done = false;
	for (int i = 0; i < 2400; i++) {
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno != EINTR)
			break;
		if (si.si_pid == pid) {
			done = true;
			break;
		}
		nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
	}
	kill(-pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!done) {
		fprintf(stderr, "qfctl: %s did not finish printing within 120 s\n", bin);
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "qfctl: %s failed (%s %d):\n", bin, WIFEXITED(st) ? "exit" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return -1;
	}
	return 0;
}

/* The HTML report printed to PDF (A4, from its print stylesheet) on
 * stdout: 0, 1 (failed) or 69 (no Chromium). */
static int report_pdf(struct db_table *sec, const char *from, const char *to)
{
	char dir[PATH_MAX], path[PATH_MAX + 20];
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *bin = find_chromium();
	int rc = 1;

	if (!bin) {
		fprintf(stderr, "qfctl: --format pdf prints the HTML report with Chromium, which is not in PATH "
				"(Debian: apt-get install chromium)\n");
		return 69;
	}
	snprintf(dir, sizeof dir, "%s/qfctl-report.XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "qfctl: %s: %s\n", dir, strerror(errno));
		free(bin);
		return 1;
	}
	snprintf(path, sizeof path, "%s/report.html", dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "qfctl: %s: %s\n", path, strerror(errno));
		goto out;
	}
	report_html(f, sec, from, to);
	if (fclose(f) != 0) {
		fprintf(stderr, "qfctl: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (chromium_print(bin, dir) < 0) {
		snprintf(path, sizeof path, "%s/chromium.log", dir);
		if ((f = fopen(path, "r"))) {
			char line[512];
			while (fgets(line, sizeof line, f))
				fputs(line, stderr);
			fclose(f);
		}
		goto out;
	}
	snprintf(path, sizeof path, "%s/report.pdf", dir);
	char buf[65536];
	size_t n;
	if (!(f = fopen(path, "rb")) || (n = fread(buf, 1, sizeof buf, f)) < 5 || memcmp(buf, "%PDF-", 5)) {
		fprintf(stderr, "qfctl: %s printed no PDF\n", bin);
		if (f)
			fclose(f);
		goto out;
	}
	do
		fwrite(buf, 1, n, stdout);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0);
	fclose(f);
	rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
	if (rc)
		fprintf(stderr, "qfctl: writing the PDF: %s\n", strerror(errno));
out:
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(bin);
	return rc;
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
	if (!from || !to ||
	    (strcmp(format, "md") && strcmp(format, "csv") && strcmp(format, "html") && strcmp(format, "pdf"))) {
		fprintf(stderr, "qfctl: report needs --from DATE --to DATE and --format md, csv, html or pdf\n");
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
	int rc = disposal_report_load(c, from, to);
	if (rc) {
		for (int k = 0; k < REPORT_NSECTIONS; k++)
			db_table_clear(&sec[k]);
		return rc;
	}
	if (!strcmp(format, "pdf")) {
		rc = report_pdf(sec, from, to);
	} else if (!strcmp(format, "csv")) {
		if (excel)
			csv_excel_bom();
		report_csv(sec);
	} else if (!strcmp(format, "html")) {
		report_html(stdout, sec, from, to);
	} else {
		report_md(stdout, sec, from, to);
	}
	for (int k = 0; k < REPORT_NSECTIONS; k++)
		db_table_clear(&sec[k]);
	disposal_report_free();
	return rc;
}

static int cmd_audit(struct db_session *c, int argc, char **argv)
{
	char *err = NULL;
	struct chain_head h;

	if (argc > 2 && !strcmp(argv[1], "verify"))
		return qfctl_audit_verify(c, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "log"))
		return qfctl_audit_log(c, argc, argv);
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
