/* The rule compiler: the shipped F09 compiles to the golden SQL, params
 * become $n (never text), overrides change values and the version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rule.h"
#include "tap.h"
#include "util.h"

static const char *root(void)
{
	return getenv("QF_ROOT") ? getenv("QF_ROOT") : ".";
}

static char *write_tmp(const char *text)
{
	char *path = xstrdup("/tmp/qf-test-rule.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

static const char *rule_text =
	"engine_version = 1;\n"
	"rules = ( { id = \"X1\"; title = { zh = \"甲\"; en = \"a\"; }; supervision = \"financial\";\n"
	"  risk = \"non-technical\"; duty = \"supervisory\"; level = \"yellow\"; kind = \"match\";\n"
	"  table = \"records.payment\"; key = [\"payment_id\", \"book\"]; subject = \"approved_by\";\n"
	"  where = \"amount >= :limit * (1 - :margin) AND amount < :limit AND note::text <> ':limit' AND \\\"x:y\\\" IS NULL\";\n"
	"  evidence = [\"amount\"];\n"
	"  message = { zh = \"{{字面}} {payment_id} {amount} {missing_ok}\"; en = \"{key}/{subject}/{department}\"; };\n"
	"  params = { limit = 50000; margin = 0.05; }; } );\n";

/* ---- golden SQL for every kind (tests/golden/README.md) ---- */

/* The rule's file as qfctl prints it when run from the source tree. */
static const char *rel_file(const char *file)
{
	size_t n = strlen(root());

	if (!strncmp(file, root(), n) && file[n] == '/')
		file += n + 1;
	return !strncmp(file, "./", 2) ? file + 2 : file;
}

/* What `qfctl rules explain ID` prints around the two statements (the
 * same format strings as daemon/qfctl.c), then what explain does not
 * show: the tables the rule reads, whether time alone can change its
 * result, whether it uses ${changed()}. Caller frees. */
static char *explain_text(const struct qf_rule *r)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "-- %s %s %s (%s:%d), version %s\n-- full pass: $1..$%d\n", r->id, r->title_zh, r->title_en,
		   rel_file(r->file), r->line, r->version, r->nvalues_full);
	for (int i = 0; i < r->nvalues; i++)
		buf_printf(&b, "-- $%d = %s\n", i + 1, rule_value_label(r, i));
	if (r->compiled_delta)
		buf_printf(&b, "-- incremental (only rows changed since the cursor): $1..$%d\n", r->nvalues);
	buf_puts(&b, "-- reads:");
	for (int i = 0; i < r->deps.n; i++)
		buf_printf(&b, " %s", r->deps.v[i]);
	buf_printf(&b, "\n-- clock: %s\n-- changed-aware: %s\n", r->clock ? "yes" : "no",
		   r->changed_aware ? "yes" : "no");
	return buf_steal(&b);
}

/* Compares got with tests/golden/NAME; a missing file means "no such
 * statement", so got must be NULL. With QF_GOLDEN_UPDATE=1 the file is
 * rewritten instead, and the check fails so that nobody mistakes an
 * update for a pass: review `git diff tests/golden`, then run again. */
static void golden(const char *name, const char *got)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/tests/golden/%s", root(), name);
	if (getenv("QF_GOLDEN_UPDATE") && *getenv("QF_GOLDEN_UPDATE") == '1') {
		FILE *f;
		if (got && (f = fopen(path, "w")) != NULL) {
			fputs(got, f);
			fclose(f);
		} else if (!got) {
			unlink(path);
		}
		ok(0, "%s rewritten (QF_GOLDEN_UPDATE): review the diff and run again", name);
		return;
	}
	char *want = read_file(path, NULL);
	if (got)
		is_str(got, want, "%s is tests/golden/%s byte for byte", name, name);
	else
		ok(!want, "no %s, and no tests/golden/%s", name, name);
	if (got && (!want || strcmp(got, want)))
		printf("#   to compare: QF_GOLDEN_UPDATE=1, then git diff tests/golden/%s\n", name);
	free(want);
}

/* One rule of each kind and statistical method, and the variants whose
 * statements differ in shape: the shipped pack's where it has one,
 * tests/golden/kinds.conf for what it lacks (aggregate, duplicate,
 * zscore, a match rule with exceptions). Each has its full statement
 * (ID.sql), its incremental one when it has one (ID.delta.sql) and the
 * rest of what explain prints (ID.explain). */
static void test_golden_kinds(void)
{
	static const struct {
		const char *file;
		const char *ids[10];
	} cases[] = {
		/* match (no time; and a department without subject, with time),
		 * sql (${changed()} with a column; ${incremental}/${cursor};
		 * neither; a window over per-day summaries) */
		{"rules/financial.conf", {"F09", "F01", "F08", "F05", NULL}},
		/* match with time; sql with a list; frequency (${changed()});
		 * absence by year with a date, by quarter at the end, within */
		{"rules/disciplinary.conf", {"D05", "D01", "D06", "D04", "D08", NULL}},
		{"tests/golden/kinds.conf", {"GA1", "GA2", "GF1", "GD1", "GD2", "GB1", "GZ1", "GZ2", "GM1", NULL}},
	};
	static const char *const kind_names[] = {"", "match", "sql", "aggregate", "frequency",
						 "duplicate", "absence", "statistical"};
	bool seen[8] = {false}, benford = false, zscore = false;

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct qf_ruleset set = {0};
		struct diag d;
		char path[4096];

		diag_init(&d);
		snprintf(path, sizeof path, "%s/%s", root(), cases[c].file);
		ok(ruleset_load_file(&set, path, &d) == 0 && ruleset_finish(&set, NULL, &d) == 0, "%s loads",
		   cases[c].file);
		diag_print(&d);
		for (int i = 0; cases[c].ids[i]; i++) {
			const char *id = cases[c].ids[i];
			const struct qf_rule *r = ruleset_find(&set, id);
			char name[64];
			ok(r && r->compiled, "%s (%s) compiles", id, r ? kind_names[r->kind] : "?");
			if (!r || !r->compiled)
				continue;
			seen[r->kind] = true;
			benford |= r->method && !strcmp(r->method, "benford");
			zscore |= r->method && !strcmp(r->method, "zscore");
			snprintf(name, sizeof name, "%s.sql", id);
			golden(name, r->compiled);
			snprintf(name, sizeof name, "%s.delta.sql", id);
			golden(name, r->compiled_delta);
			char *ex = explain_text(r);
			snprintf(name, sizeof name, "%s.explain", id);
			golden(name, ex);
			free(ex);
		}
		ruleset_free(&set);
		diag_free(&d);
	}
	int kinds = 0;
	for (int k = QF_RULE_MATCH; k <= QF_RULE_STATISTICAL; k++)
		kinds += seen[k];
	ok(kinds == 7 && benford && zscore, "golden SQL covers all seven kinds (%d) and both statistical methods", kinds);
}

int main(void)
{
	struct qf_ruleset set = {0};
	struct diag d;
	char path[4096];

	diag_init(&d);
	snprintf(path, sizeof path, "%s/rules/financial.conf", root());
	ok(ruleset_load_file(&set, path, &d) == 0 && ruleset_finish(&set, NULL, &d) == 0, "shipped F09 loads");
	diag_print(&d);
	const struct qf_rule *f09 = ruleset_find(&set, "F09");
	ok(f09 != NULL, "F09 is there");
	snprintf(path, sizeof path, "%s/tests/golden/F09.sql", root());
	char *golden = read_file(path, NULL);
	is_str(f09 ? f09->compiled : NULL, golden, "F09 compiles to tests/golden/F09.sql");
	free(golden);
	ok(f09 && f09->nvalues_full == 2 && f09->nvalues == 3 && f09->builtin[0] == 4 && !strcmp(f09->values[1], "F09"),
	   "F09 binds only the known-hit switch and its id; its delta statement adds the cursor");
	ok(f09 && f09->compiled_delta &&
		   strstr(f09->compiled_delta,
			  "t.\"payment_id\"::text = ANY(ARRAY(SELECT unnest(c.keys) FROM qf.change_log c WHERE c.tbl = 'payment' AND c.xid >= $3::xid8 AND " QF_LANE_COND(
				  "c.keys") " AND " QF_SEEN_COND("c.xid") "))"),
	   "F09 delta reads only payments changed since the cursor, in its lane's statements");
	ok(f09 && f09->deps.n == 2 && strlist_has(&f09->deps, "payment") && strlist_has(&f09->deps, "person"),
	   "F09 depends on payment (and person, for the subject's department)");
	/* ${changed()} rules get an incremental statement too: the same
	 * values, and no "cursor IS NULL" branch a generic plan cannot fold */
	const struct qf_rule *f01 = ruleset_find(&set, "F01");
	ok(f01 && f01->changed_aware && f01->compiled_delta && f01->nvalues == f01->nvalues_full,
	   "F01 (${changed()}) has an incremental statement with the full statement's values");
	ok(f01 && strstr(f01->compiled, "::xid8 IS NULL OR (t.payment_id)::text = ANY(ARRAY(") &&
		   f01->compiled_delta && !strstr(f01->compiled_delta, "IS NULL OR (t.payment_id)") &&
		   strstr(f01->compiled_delta, "((t.payment_id)::text = ANY(ARRAY("),
	   "F01's full statement reads everything when the cursor is NULL; its incremental one the changed payments "
	   "(and their pairs)");
	const struct qf_rule *f08 = ruleset_find(&set, "F08");
	ok(f08 && f08->compiled_delta && strstr(f08->compiled_delta, "::xid8 IS NOT NULL OR true)") &&
		   !strstr(f08->compiled, "IS NOT NULL OR true"),
	   "${incremental} is true in F08's incremental statement and decided by the cursor in its full one");
	const struct qf_rule *f03 = ruleset_find(&set, "F03");
	ok(f03 && !f03->changed_aware && f03->compiled_delta && !strstr(f03->compiled_delta, "IS NULL OR"),
	   "a match rule keeps its own incremental statement");
	ruleset_free(&set);
	diag_free(&d);

	/* parameters: :name outside quotes becomes $n, each name once */
	char *tmp = write_tmp(rule_text);
	/* {missing_ok} is not a column: the template check must refuse it */
	diag_init(&d);
	(void)(ruleset_load_file(&set, tmp, &d) == 0 && ruleset_finish(&set, NULL, &d) == 0);
	ok(d.errors == 1 && strstr(d.text.data, "message uses {missing_ok}"), "unknown placeholder refused: %s",
	   d.text.data ? d.text.data : "");
	diag_free(&d);
	ruleset_free(&set);
	unlink(tmp);
	free(tmp);

	char *fixed = xstrdup(rule_text);
	char *p = strstr(fixed, " {missing_ok}");
	memmove(p, p + strlen(" {missing_ok}"), strlen(p + strlen(" {missing_ok}")) + 1);
	tmp = write_tmp(fixed);
	diag_init(&d);
	ok(ruleset_load_file(&set, tmp, &d) == 0 && ruleset_finish(&set, NULL, &d) == 0, "fixed rule compiles");
	diag_print(&d);
	const struct qf_rule *x1 = ruleset_find(&set, "X1");
	ok(x1 && strstr(x1->compiled, "amount >= $1::numeric * (1 - $2::numeric) AND amount < $1::numeric AND note::text <> ':limit' AND \"x:y\" IS NULL"),
	   "params bound as typed $1/$2, casts and quoted text untouched");
	ok(x1 && x1->nvalues_full == 4 && !strcmp(x1->values[0], "50000") && !strcmp(x1->values[1], "0.05"),
	   "values in order: 50000, 0.05 (shortest decimal text)");
	ok(x1 && strstr(x1->compiled, "jsonb_build_array(t.\"payment_id\", t.\"book\")::text AS key"),
	   "a two-column key is a JSON array");
	ok(x1 && strstr(x1->compiled, "coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text))"),
	   "no department: the subject's department");
	char version1[17];
	snprintf(version1, sizeof version1, "%s", x1 ? x1->version : "");
	ruleset_free(&set);
	diag_free(&d);

	/* a deployment override changes the value and therefore the version */
	struct qf_param op = {.name = "limit", .value = "60000", .numeric = true, .line = 9};
	struct qf_override ov = {.rule_id = "X1", .enabled = 0, .level = QF_RED, .params = &op, .nparams = 1,
				 .file = "site.conf", .line = 8};
	struct qf_config cfg = {.overrides = &ov, .noverrides = 1};
	diag_init(&d);
	ok(ruleset_load_file(&set, tmp, &d) == 0 && ruleset_finish(&set, &cfg, &d) == 0, "override applies");
	x1 = ruleset_find(&set, "X1");
	ok(x1 && !strcmp(x1->values[0], "60000") && x1->level == QF_RED && !x1->enabled,
	   "limit 60000, level red, disabled");
	ok(x1 && strlen(x1->version) == 16 && strcmp(x1->version, version1), "rule_version changes with a parameter");
	ruleset_free(&set);
	diag_free(&d);

	op.numeric = false;
	diag_init(&d);
	(void)(ruleset_load_file(&set, tmp, &d) == 0 && ruleset_finish(&set, &cfg, &d) == 0);
	ok(d.errors == 1 && strstr(d.text.data, "site.conf:9: rule X1 parameter 'limit' must be a number"),
	   "a string for a numeric parameter is refused at the override's line");
	ruleset_free(&set);
	diag_free(&d);
	unlink(tmp);
	free(tmp);
	free(fixed);

	/* the engine's capture keys agree with qf.capture in sql/004_capture.sql */
	snprintf(path, sizeof path, "%s/sql/004_capture.sql", root());
	char *mig = read_file(path, NULL);
	int pairs = 0, agree = 0;
	for (const char *q = mig ? strstr(mig, "INSERT INTO qf.capture VALUES") : NULL; q && (q = strstr(q, "('")) != NULL;) {
		char tbl[64], col[64];
		if (sscanf(q, "('%63[a-z_]', '%63[a-z_]')", tbl, col) != 2)
			break;
		pairs++;
		agree += capture_key(tbl) && !strcmp(capture_key(tbl), col);
		q += 2;
	}
	ok(pairs == 24 && agree == 24, "capture keys: %d of %d tables agree with the migration", agree, pairs);
	free(mig);

	/* found by tests/fuzz/fuzz_rules.c (regression inputs in tests/fuzz/regress/rules/) */
	static const char *const one_line[][2] = {
		{ "where = \"true\"; message = { zh = \"{pay\nx.conf:1: forged}\"; en = \"x\"; };",
		  "message uses {pay?x.conf:1: forged}, which is neither" },
		{ "where = \"${no\nx.conf:1: forged}\"; message = { zh = \"x\"; en = \"x\"; };",
		  "where uses an unknown macro ${no?x.conf:1: forged}" },
	};
	for (size_t i = 0; i < sizeof one_line / sizeof one_line[0]; i++) {
		char text[1024];
		snprintf(text, sizeof text,
			 "engine_version = 2;\nrules = ( { id = \"X1\"; title = { zh = \"甲\"; en = \"a\"; };\n"
			 "  supervision = \"financial\"; risk = \"technical\"; duty = \"primary\"; level = \"red\";\n"
			 "  kind = \"match\"; table = \"records.payment\"; key = [\"payment_id\"]; %s } );\n",
			 one_line[i][0]);
		tmp = write_tmp(text);
		diag_init(&d);
		(void)(ruleset_load_file(&set, tmp, &d) == 0 && ruleset_finish(&set, NULL, &d) == 0);
		ok(d.errors == 1 && strstr(d.text.data, one_line[i][1]) && !strchr(d.text.data, '\n')[1],
		   "a newline quoted from a rule file stays on the error's one line (%zu)", i);
		diag_print(&d);
		ruleset_free(&set);
		diag_free(&d);
		unlink(tmp);
		free(tmp);
	}
	/* a fragment's own $n would bind to the engine's n-th value */
	static const char *const dollar[][2] = {
		{ "where = \"amount > $9\";", "where uses $9: write parameters as :name" },
		{ "where = \"${m}\";", "where: macro ${m} uses $12: write parameters as :name" },
		{ "where = \"note = '$1' AND \\\"x$1\\\" IS NULL AND a$1 > 0 AND $$x$$ = 'y'\";", NULL },
	};
	for (size_t i = 0; i < sizeof dollar / sizeof dollar[0]; i++) {
		char text[1024];
		snprintf(text, sizeof text,
			 "engine_version = 2;\nmacros = { m = \"amount > $12\"; };\n"
			 "rules = ( { id = \"X1\"; title = { zh = \"甲\"; en = \"a\"; };\n"
			 "  supervision = \"financial\"; risk = \"technical\"; duty = \"primary\"; level = \"red\";\n"
			 "  kind = \"match\"; table = \"records.payment\"; key = [\"payment_id\"]; %s\n"
			 "  message = { zh = \"x\"; en = \"x\"; }; } );\n",
			 dollar[i][0]);
		tmp = write_tmp(text);
		diag_init(&d);
		int rc = ruleset_load_file(&set, tmp, &d) == 0 && ruleset_finish(&set, NULL, &d) == 0 ? 0 : -1;
		if (dollar[i][1])
			ok(rc < 0 && d.errors == 1 && strstr(d.text.data, dollar[i][1]), "refused: %s", dollar[i][0]);
		else
			ok(rc == 0, "a $ in quotes, in a name or a dollar quote is not a parameter: %s", dollar[i][0]);
		diag_print(&d);
		ruleset_free(&set);
		diag_free(&d);
		unlink(tmp);
		free(tmp);
	}

	tmp = write_tmp("engine_version = 2;\n@include \"/\"\nrules = ();\n");
	diag_init(&d);
	ok(ruleset_load_file(&set, tmp, &d) < 0 && d.errors == 1 && strstr(d.text.data, ":2: cannot include '/': Is a directory"),
	   "a rule file's @include of a directory is refused (libconfig would exit)");
	ruleset_free(&set);
	diag_free(&d);
	unlink(tmp);
	free(tmp);

	/* rendering */
	json_t *vars = json_pack("{s:s, s:s, s:n}", "payment_id", "P-1", "amount", "48000.00", "vendor_id");
	char *m = rule_render("{{x}} {payment_id}: {amount} yuan, {vendor_id}, {unclosed", vars);
	is_str(m, "{x} P-1: 48000.00 yuan, -, {unclosed", "render: fields, literal braces, null as '-'");
	free(m);
	json_decref(vars);

	test_golden_kinds();
	done_testing();
}
