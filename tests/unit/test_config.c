/* qingfeng.conf: the data contract's minimal file is accepted as it
 * stands, defaults are as documented, routes pick receivers. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "route.h"
#include "rule.h"
#include "tap.h"

static char *write_tmp(const char *text)
{
	char *path = xstrdup("/tmp/qf-test-conf.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

int main(void)
{
	struct diag d;

	/* verbatim from DATA-CONTRACT.md, "Config contract" */
	char *p = write_tmp("database = { conninfo = \"host=/run/postgresql dbname=qf\"; };\n"
			    "rules_dir = \"/etc/qingfeng/rules.d\";\n"
			    "receivers = (\n"
			    "  { name = \"office\"; format = \"json\"; url = \"http://127.0.0.1:8080/hook\"; secret = \"s3cret\"; }\n"
			    ");\n");
	diag_init(&d);
	struct qf_config *cfg = config_load(p, &d);
	ok(cfg != NULL, "the contract's minimal config is accepted as it stands");
	diag_print(&d);
	if (!cfg)
		return 1;
	is_str(cfg->conninfo, "host=/run/postgresql dbname=qf", "conninfo");
	is_str(cfg->rules_dir, "/etc/qingfeng/rules.d", "rules_dir");
	ok(cfg->nreceivers == 1 && !strcmp(cfg->receivers[0].name, "office") && cfg->receivers[0].format == QF_FMT_JSON,
	   "one json receiver");
	is_str(cfg->receivers[0].secret, "s3cret", "secret");
	ok(cfg->receivers[0].timeout_ms == 10000 && cfg->receivers[0].detail == QF_DETAIL_FULL,
	   "receiver defaults: 10 s timeout, full detail");
	is_str(cfg->timezone, "Asia/Shanghai", "time zone defaults to Asia/Shanghai");
	ok(cfg->eval_interval_s == 60 && cfg->max_attempts == 20 && cfg->once_deadline_s == 30, "documented defaults");

	/* no routes: every receiver gets every finding */
	struct qf_rule r = {.id = "F09", .supervision = "financial", .risk = "non-technical", .duty = "supervisory"};
	int idx[4];
	ok(route_receivers(cfg, &r, QF_ORANGE, "财务处", idx) == 1 && idx[0] == 0, "no routes: all receivers");
	config_free(cfg);
	diag_free(&d);
	unlink(p);
	free(p);

	/* secret_file and url_file: first line, newline stripped */
	char *sf = write_tmp("filesecret\n");
	char *uf = write_tmp("http://127.0.0.1:1/x?key=abc\r\n");
	char text[2048];
	snprintf(text, sizeof text,
		 "rules_dir = \"/r\";\n"
		 "receivers = (\n"
		 "  { name = \"a\"; format = \"json\"; url_file = \"%s\"; secret_file = \"%s\"; timeout = 2.5; detail = \"minimal\"; },\n"
		 "  { name = \"b\"; format = \"json\"; url = \"http://127.0.0.1:1/b\"; },\n"
		 "  { name = \"c\"; format = \"json\"; url = \"http://127.0.0.1:1/c\"; }\n"
		 ");\n"
		 "routes = (\n"
		 "  { match = { supervision = [\"disciplinary\"]; }; receivers = [\"a\"]; },\n"
		 "  { match = { min_level = \"red\"; }; receivers = [\"b\"]; continue = true; },\n"
		 "  { match = { rule = \"F09\"; department = [\"财务处\"]; }; receivers = [\"c\"]; },\n"
		 "  { receivers = [\"b\"]; }\n"
		 ");\n",
		 uf, sf);
	p = write_tmp(text);
	diag_init(&d);
	cfg = config_load(p, &d);
	ok(cfg != NULL, "routes, url_file and secret_file parse");
	diag_print(&d);
	if (!cfg)
		return 1;
	is_str(cfg->receivers[0].secret, "filesecret", "secret_file: newline stripped");
	is_str(cfg->receivers[0].url, "http://127.0.0.1:1/x?key=abc", "url_file: CRLF stripped");
	ok(cfg->receivers[0].timeout_ms == 2500 && cfg->receivers[0].detail == QF_DETAIL_MINIMAL, "timeout 2.5 s, minimal");

	int n = route_receivers(cfg, &r, QF_RED, "财务处", idx);
	ok(n == 2 && idx[0] == 1 && idx[1] == 2, "red F09 in 财务处: b (continue) then c");
	n = route_receivers(cfg, &r, QF_ORANGE, "财务处", idx);
	ok(n == 1 && idx[0] == 2, "orange F09 in 财务处: c only");
	n = route_receivers(cfg, &r, QF_ORANGE, "化学室", idx);
	ok(n == 1 && idx[0] == 1, "other department: the catch-all route, b");
	struct qf_rule dr = {.id = "D01", .supervision = "disciplinary", .risk = "non-technical", .duty = "supervisory"};
	n = route_receivers(cfg, &dr, QF_RED, NULL, idx);
	ok(n == 1 && idx[0] == 0, "disciplinary: a only, first match stops");
	config_free(cfg);
	diag_free(&d);
	unlink(p);
	unlink(sf);
	unlink(uf);
	free(p);
	free(sf);
	free(uf);

	/* found by tests/fuzz/fuzz_config.c (regression inputs in tests/fuzz/regress/config/) */
	/* libconfig 1.5 exit()s on an @include of a directory: it is refused first */
	p = write_tmp("rules_dir = \"/r\";\n/*\n@include \"/\"\n*/\nx = \"\n@include \\\"/\\\"\n\";\n"
		      "   @include \"/t\\mp\"\n");
	diag_init(&d);
	cfg = config_load(p, &d);
	snprintf(text, sizeof text, "%s:8: cannot include '/tmp': Is a directory\n", p);
	ok(!cfg && d.errors == 1 && !strcmp(d.text.data, text),
	   "@include of a directory: refused at its line, not in a comment or a string");
	diag_print(&d);
	config_free(cfg);
	diag_free(&d);
	unlink(p);
	free(p);

	/* a quoted value cannot split a diagnostic into two lines */
	p = write_tmp("rules_dir = \"/r\";\nreceivers = ( { name = \"a\nx.conf:1: b\tc\"; format = \"json\"; url = \"http://x/\"; } );\n");
	diag_init(&d);
	cfg = config_load(p, &d);
	ok(!cfg && d.errors == 1 && strstr(d.text.data, "receiver name 'a\\nx.conf:1: b\\tc' must be") &&
	       !strchr(d.text.data, '\n')[1],
	   "a newline in a quoted value is shown as \\n: one line per error");
	diag_print(&d);
	config_free(cfg);
	diag_free(&d);
	unlink(p);
	free(p);

	/* timeout 0.1 ms was 0 ms, which libcurl takes as no timeout at all */
	p = write_tmp("rules_dir = \"/r\";\nreceivers = ( { name = \"a\"; format = \"json\"; url = \"http://x/\"; timeout = 0.0001; } );\n");
	diag_init(&d);
	cfg = config_load(p, &d);
	ok(cfg && cfg->receivers[0].timeout_ms == 1, "a timeout under 1 ms is 1 ms, never 0 (no timeout)");
	config_free(cfg);
	diag_free(&d);
	unlink(p);
	free(p);
	done_testing();
}
