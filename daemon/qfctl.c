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
