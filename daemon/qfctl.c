/* qfctl: the command line for auditors and operators (qfctl(1)). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "eval.h"
#include "log.h"
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
		   "  findings ack|resolve|dismiss|reopen ID --note TEXT\n"
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
	PGconn *c = db_connect(conninfo, "qfctl", tz, 10);
	if (!c)
		return 69;
	int rc = db_migrate(c, sqldir) == 0 ? 0 : 1;
	db_close(&c);
	return rc;
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
			printf("-- %s %s %s (%s:%d), version %s\n%s;\n", r->id, r->title_zh, r->title_en, r->file, r->line,
			       r->version, r->compiled);
			for (int i = 0; i < r->nvalues; i++)
				printf("-- $%d = %s\n", i + 1,
				       r->builtin[i] == 1 ? "(:now, the evaluation time)"
				       : r->builtin[i] == 2 ? "(:since, -infinity unless given)"
							    : r->values[i]);
		} else {
			struct eval_opts o = {.only = r->id, .dry_run = stdout};
			for (int i = 3; i < argc; i++) {
				if (!strcmp(argv[i], "--since") && i + 1 < argc)
					o.since = argv[++i];
				else if (!strcmp(argv[i], "--now") && i + 1 < argc)
					o.now = argv[++i];
				else {
					usage(stderr);
					ruleset_free(&set);
					return 64;
				}
			}
			PGconn *c = db_connect(conninfo, "qfctl", cfg->timezone, 10);
			struct eval_totals t;
			if (!c) {
				rc = 69;
			} else {
				rc = eval_all(c, cfg, &set, &o, &t) < 0 || t.failed ? 1 : 0;
				fprintf(stderr, "qfctl: %s would flag %ld record(s)%s\n", r->id, t.created,
					t.failed ? " (the rule failed: see above)" : "");
				db_close(&c);
			}
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

/* prints a result as aligned columns; widths count characters, and CJK
 * takes two columns, so Chinese text lines up */
static int text_width(const char *s)
{
	int w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xC0) == 0x80)
			continue;
		w += *p >= 0xE1 ? 2 : 1; /* U+1000 and up: wide, near enough for CJK */
	}
	return w;
}

static void print_table(PGresult *r, const char *const *heads)
{
	int nc = PQnfields(r), nr = PQntuples(r);
	int *w = xcalloc((size_t)nc, sizeof *w);

	for (int j = 0; j < nc; j++) {
		w[j] = text_width(heads[j]);
		for (int i = 0; i < nr; i++) {
			int tw = text_width(PQgetvalue(r, i, j));
			if (tw > w[j])
				w[j] = tw;
		}
	}
	for (int i = -1; i < nr; i++) {
		for (int j = 0; j < nc; j++) {
			const char *v = i < 0 ? heads[j] : PQgetvalue(r, i, j);
			int pad = j + 1 < nc ? w[j] - text_width(v) + 2 : 0;
			printf("%s%*s", v, pad, "");
		}
		printf("\n");
	}
	free(w);
}

static int cmd_alerts(PGconn *c, int argc, char **argv)
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
	PGresult *r = db_alerts_list(c, state, limit > 0 ? limit : 100, &err);
	if (!r)
		return fail("alerts", err);
	static const char *const heads[] = {"ID", "STATE", "RECEIVER", "EVENT", "FINDING", "RULE", "LEVEL",
					    "ATTEMPTS", "NEXT ATTEMPT", "DELIVERED", "LAST ERROR"};
	print_table(r, heads);
	PQclear(r);
	return 0;
}

static int cmd_silence(PGconn *c, int argc, char **argv)
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
		PGresult *r = db_silence_list(c, all, &err);
		if (!r)
			return fail("silence list", err);
		static const char *const heads[] = {"ID",	 "RULE", "PERSON", "DEPARTMENT", "FROM",
						    "UNTIL", "BY",   "REASON", "STATE"};
		print_table(r, heads);
		PQclear(r);
		return 0;
	}
	usage(stderr);
	return 64;
}

static int cmd_findings(PGconn *c, int argc, char **argv)
{
	static const char *const verbs[][2] = {
		{"ack", "acknowledged"}, {"resolve", "resolved"}, {"dismiss", "dismissed"}, {"reopen", "open"}};
	char *err = NULL;

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
	} else if (!strcmp(cmd, "alerts") || !strcmp(cmd, "silence") || !strcmp(cmd, "findings")) {
		PGconn *c = db_connect(conninfo, "qfctl", tz, 10);
		if (!c)
			rc = 69;
		else if (db_check_schema(c) < 0)
			rc = 69;
		else
			rc = !strcmp(cmd, "alerts")    ? cmd_alerts(c, argc - optind, argv + optind)
			     : !strcmp(cmd, "silence") ? cmd_silence(c, argc - optind, argv + optind)
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
