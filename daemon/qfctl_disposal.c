/* qfctl: the steps of the disposal loop (findings ack|feedback|close|
 * reopen|assign) and the report's disposal sections (measures, overdue
 * findings). The database decides every step (sql/021): this file turns
 * its refusals into exit codes a script can tell apart (qfctl(1)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_disposal.h"
#include "qfctl_int.h"
#include "util.h"

/* exit codes of a refused step, by SQLSTATE (qfctl(1) EXIT STATUS) */
#define EX_NOT_FOUND 3 /* P0002: no such finding, or outside your scope */
#define EX_REFUSED 4   /* 42501: your role may not, or four eyes */
#define EX_STAGE 5     /* 55000: the finding is not at that stage */
#define EX_DATAERR 65  /* 22023: a bad outcome, disposition, role or missing note */

static const struct {
	const char *verb;
	enum disposal_step step;
} verbs[] = {{"ack", STEP_ACK},	      {"feedback", STEP_FEEDBACK}, {"close", STEP_CLOSE},
	     {"reopen", STEP_REOPEN}, {"assign", STEP_ASSIGN},	   {"resolve", STEP_RESOLVE},
	     {"dismiss", STEP_DISMISS}};

bool disposal_verb(const char *verb)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (!strcmp(verb, verbs[i].verb))
			return true;
	return false;
}

static int step_usage(const char *verb)
{
	fprintf(stderr, "usage: qfctl findings %s ID%s\n", verb,
		!strcmp(verb, "feedback") ? " --outcome substantiated|partly|unfounded"
					    " --disposition talk|criticism|admonish|transfer|rectify|none --note TEXT"
		: !strcmp(verb, "assign") ? " --to ROLE --note TEXT"
		: !strcmp(verb, "reopen") || !strcmp(verb, "resolve") || !strcmp(verb, "dismiss") ? " --note TEXT"
					  : " [--note TEXT]");
	return 64;
}

/* display columns of a label: its Chinese characters take two */
static int text_cols(const char *s)
{
	int w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xC0) != 0x80)
			w += *p >= 0xE0 ? 2 : 1;
	return w;
}

/* a finding id: digits only, not 0 */
static bool parse_id(const char *s, long long *id)
{
	char *end;
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return false;
	*id = strtoll(s, &end, 10);
	return *id > 0;
}

int cmd_disposal_step(struct db_session *c, int argc, char **argv)
{
	const char *verb = argv[1];
	enum disposal_step step = STEP_ACK;
	struct step_args a = {0};
	char *action = NULL, *err = NULL, state[6];

	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (!strcmp(verb, verbs[i].verb))
			step = verbs[i].step;
	if (argc < 3 || !parse_id(argv[2], &a.id))
		return step_usage(verb);
	for (int i = 3; i < argc; i++) {
		const char **slot = !strcmp(argv[i], "--note")						 ? &a.note
				    : step == STEP_FEEDBACK && !strcmp(argv[i], "--outcome")	 ? &a.outcome
				    : step == STEP_FEEDBACK && !strcmp(argv[i], "--disposition") ? &a.disposition
				    : step == STEP_ASSIGN && !strcmp(argv[i], "--to")		 ? &a.to
												 : NULL;
		if (!slot || i + 1 >= argc)
			return step_usage(verb);
		*slot = argv[++i];
	}
	/* what is missing is the database's to say, as for the console:
	 * one message, one exit code (65) */
	if (db_disposal_step(c, step, &a, &action, &err, state) < 0) {
		int rc = !strcmp(state, "P0002")   ? EX_NOT_FOUND
			 : !strcmp(state, "42501") ? EX_REFUSED
			 : !strcmp(state, "55000") ? EX_STAGE
			 : !strcmp(state, "22023") ? EX_DATAERR
						   : 1;
		fprintf(stderr, "qfctl: findings %s %lld: %s%s\n", verb, a.id, err ? err : "failed",
			rc == 1 ? "" : " (nothing was changed)");
		free(err);
		return rc;
	}
	if (step == STEP_ASSIGN)
		printf("finding %lld assigned to %s\n", a.id, a.to);
	else if (step == STEP_FEEDBACK)
		printf("finding %lld reported (outcome %s, disposition %s)\n", a.id, a.outcome, a.disposition);
	else
		printf("finding %lld %s\n", a.id, action);
	free(action);
	return 0;
}

int disposal_show(struct db_session *c, long long id)
{
	static const char *const labels[] = {"责任人 owner",	    "时限灯 light",	 "签收时限 sign due",
					     "办结时限 close due", "签收 signed",	 "结论/处置 outcome",
					     "反馈 feedback",	    "办结 closed"};
	struct db_table t;
	char *err = NULL;

	if (db_disposal_detail(c, id, &t, &err) < 0) {
		fprintf(stderr, "qfctl: findings show: %s\n", err ? err : "failed");
		free(err);
		return 1;
	}
	for (int i = 0; t.nrows == 1 && i < 8; i++)
		printf("%s%*s %s\n", labels[i], 20 - text_cols(labels[i]), "", db_cell(&t, 0, i));
	db_table_clear(&t);
	return 0;
}

/* ---- the report's sections ---- */

static struct db_table measures, overdue_list;
static bool loaded;

int disposal_report_load(struct db_session *c, const char *from, const char *to)
{
	char *err = NULL;

	if (db_disposal_measures(c, from, to, &measures, &err) < 0 ||
	    db_disposal_overdue(c, &overdue_list, &err) < 0) {
		fprintf(stderr, "qfctl: report: %s\n", err ? err : "failed");
		free(err);
		db_table_clear(&measures);
		return 1;
	}
	loaded = true;
	return 0;
}

void disposal_report_free(void)
{
	if (!loaded)
		return;
	db_table_clear(&measures);
	db_table_clear(&overdue_list);
	loaded = false;
}

static const char *const measure_title = "处置指标 disposal measures";
static const char *const overdue_title = "逾期督办 overdue findings";
/* the columns of qf.disposal_measures() after the grouping */
static const char *const measure_heads[] = {"",
					    "办结 closed",
					    "属实 substantiated",
					    "查实率 % substantiation rate",
					    "按期办结 closed on time",
					    "签收 signed",
					    "按期签收 signed on time",
					    "当前逾期 overdue now",
					    "办结中位天数 median days to close"};
static const char *const overdue_heads[] = {"编号 id",	 "规则 rule",	   "责任人 owner", "等级 level",
					    "部门 department", "逾期环节 deadline", "时限 due",	"逾期天数 days late"};

/* the group's label: 合计 all, 规则 rule X, 部门 department X */
static void group_label(FILE *o, int row, void (*text)(FILE *, const char *))
{
	const char *g = db_cell(&measures, row, 0);
	if (!strcmp(g, "all")) {
		fputs("合计 all", o);
		return;
	}
	fputs(!strcmp(g, "rule") ? "规则 rule " : "部门 department ", o);
	text(o, db_cell(&measures, row, 1));
}

void disposal_report_html(FILE *o)
{
	if (!loaded)
		return;
	fprintf(o, "<section><h2>%s</h2>\n<table class=\"measures\"><tr>", measure_title);
	for (int j = 0; j < 9; j++)
		fprintf(o, "<th>%s</th>", measure_heads[j]);
	fputs("</tr>\n", o);
	for (int i = 0; i < measures.nrows; i++) {
		/* data-* name the row for readers that check the figures
		 * (tests/t/53-disposal-report.t) */
		fputs("<tr data-group=\"", o);
		html_text(o, db_cell(&measures, i, 0));
		fputs(":", o);
		html_text(o, db_cell(&measures, i, 1));
		fputs("\"><td>", o);
		group_label(o, i, html_text);
		fputs("</td>", o);
		for (int j = 2; j < 10; j++) {
			fputs("<td class=\"n\">", o);
			html_text(o, db_cell(&measures, i, j));
			fputs("</td>", o);
		}
		fputs("</tr>\n", o);
	}
	fprintf(o, "</table>\n<p class=\"note\">查实率 = (属实 + 部分属实) / 办结; 办结、签收: 期间内 in the period; "
		   "当前逾期: 现在 now, on the engine's clock; whenever first seen. substantiation rate = (substantiated + partly) / closed."
		   "</p></section>\n"
		   "<section><h2>%s</h2>\n<table><tr>",
		overdue_title);
	for (int j = 0; j < 8; j++)
		fprintf(o, "<th>%s</th>", overdue_heads[j]);
	fputs("</tr>\n", o);
	for (int i = 0; i < overdue_list.nrows; i++) {
		fputs("<tr>", o);
		for (int j = 0; j < 8; j++) {
			fputs(j == 0 || j == 7 ? "<td class=\"n\">" : "<td>", o);
			html_text(o, db_cell(&overdue_list, i, j));
			fputs("</td>", o);
		}
		fputs("</tr>\n", o);
	}
	fputs("</table></section>\n", o);
}

static void md_row(FILE *o, const struct db_table *t, int row, int from, int to)
{
	for (int j = from; j < to; j++) {
		fputs(" ", o);
		md_text(o, db_cell(t, row, j));
		fputs(" |", o);
	}
	fputs("\n", o);
}

void disposal_report_md(FILE *o)
{
	if (!loaded)
		return;
	fprintf(o, "\n## %s\n\n|", measure_title);
	for (int j = 0; j < 9; j++)
		fprintf(o, " %s |", j ? measure_heads[j] : "分组 group");
	fputs("\n|---|---|---|---|---|---|---|---|---|\n", o);
	for (int i = 0; i < measures.nrows; i++) {
		fputs("| ", o);
		group_label(o, i, md_text);
		fputs(" |", o);
		md_row(o, &measures, i, 2, 10);
	}
	fputs("\n查实率 = (属实 + 部分属实) / 办结. Unlike the sections above, the measures count what was closed or "
	      "signed in the period, whenever first seen, and what is overdue now (the engine's clock).\n",
	      o);
	fprintf(o, "\n## %s\n\n|", overdue_title);
	for (int j = 0; j < 8; j++)
		fprintf(o, " %s |", overdue_heads[j]);
	fputs("\n|---|---|---|---|---|---|---|---|\n", o);
	for (int i = 0; i < overdue_list.nrows; i++) {
		fputs("|", o);
		md_row(o, &overdue_list, i, 0, 8);
	}
}

/* one row of the long CSV (qfctl.c report_csv): the section, six values
 * (c1, c2 the group; numbers bare), four empty Chinese columns */
static void csv_row(const char *section, const struct db_table *t, int row, const int cols[6])
{
	csv_field(section, CSV_TEXT, false);
	for (int j = 0; j < 6; j++)
		csv_field(cols[j] < 0 ? "" : db_cell(t, row, cols[j]), CSV_NUMBER, false);
	for (int j = 0; j < 4; j++)
		csv_field("", CSV_TEXT, j == 3);
}

void disposal_report_csv(void)
{
	/* the long table has six value columns: the measures in two rows
	 * each, the group first in both */
	static const int first[6] = {0, 1, 2, 4, 5, 7}, second[6] = {0, 1, 3, 6, 8, 9};
	static const int late[6] = {0, 1, 2, 3, 5, 7};

	if (!loaded)
		return;
	for (int i = 0; i < measures.nrows; i++)
		csv_row("处置指标 measures: group, closed, rate %, closed on time, signed on time", &measures, i, first);
	for (int i = 0; i < measures.nrows; i++)
		csv_row("处置指标 measures: group, substantiated, signed, overdue now, median days to close", &measures, i,
			second);
	for (int i = 0; i < overdue_list.nrows; i++)
		csv_row("逾期督办 overdue: id, rule, owner, level, deadline, days late", &overdue_list, i, late);
}
