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

/* Every problem of a file, in the file's order of sections: the text
 * config_load reports (FILE stands for the file's name). */
static void all_problems(const char *conf, const char *const *want, const char *what)
{
	struct diag d;
	struct buf w;
	char *p = write_tmp(conf);

	buf_init(&w);
	for (int i = 0; want[i]; i++)
		buf_printf(&w, "%s%s\n", p, want[i]);
	diag_init(&d);
	struct qf_config *cfg = config_load(p, &d);
	ok(!cfg, "%s: refused", what);
	is_str(d.text.data, w.data, "%s: every problem, in order, each at its line", what);
	config_free(cfg);
	diag_free(&d);
	buf_free(&w);
	unlink(p);
	free(p);
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

	/* config_load reads the sections one function each: the problems of a
	 * file come in the same order as they always did */
	static const char conf0[] =
		"database = { conninfo = 5; connect_timeout = 0; statement_timeout = 10; color = 1; };\n"
		"rules_dir = 7;\n"
		"timezone = \"../etc\";\n"
		"log_level = \"loud\";\n"
		"evaluation = { interval = 0; clock_interval = 100000; keep_runs = 0; x = 1; };\n"
		"escalation = { after_days = 0; y = 1; };\n"
		"metrics = { listen = \"nocolon\"; z = 1; };\n"
		"reminders = { red_every = -1; w = 1; };\n"
		"delivery = { max_attempts = 0; max_age = 1; max_in_flight = 0; once_deadline = 0; lease_margin = 0;\n"
		"             backoff_initial = 0.001; backoff_max = 100000.0; v = 1; };\n"
		"receivers = (\n"
		"  { name = \"a b\"; format = \"telex\"; url = \"ftp://x\"; url_file = \"/nonexistent\"; secret = \"\"; timeout = 0;\n"
		"    ca_file = \"/nonexistent/ca\"; detail = \"some\"; mentions = { red = [ \"1\" ]; blue = [ \"2\" ]; }; rate_limit = 0;\n"
		"    maintenance = ( { days = [ \"xyz\" ]; from = \"25:00\"; to = \"6\"; } ); u = 1; },\n"
		"  { name = \"a b\"; format = \"wecom\"; secret_file = \"/nonexistent\"; }\n"
		");\n"
		"routes = ( { match = { supervision = [ \"moral\" ]; min_level = \"pink\"; q = 1; }; receivers = [ \"nobody\" ]; },\n"
		"           { continue = 3; } );\n"
		"params = { F09 = { enabled = 1; level = \"pink\"; limit = { }; }; X = 3; };\n"
		"unknown_top = 1;\n";
	static const char *const want0[] = {
		":20: unknown setting 'unknown_top' in the configuration",
		":1: unknown setting 'color' in database",
		":1: 'conninfo' must be a string in double quotes",
		":1: 'connect_timeout' must be between 1 and 300, not 0",
		":1: 'statement_timeout' must be between 100 and 3600000, not 10",
		":2: 'rules_dir' must be a string in double quotes",
		":3: '../etc' is not a time zone name",
		":4: log_level must be error, warning, notice, info or debug",
		":5: unknown setting 'x' in evaluation",
		":5: 'interval' must be between 1 and 86400, not 0",
		":5: 'clock_interval' must be between 1 and 86400, not 100000",
		":5: 'keep_runs' must be between 1 and 36500, not 0",
		":6: unknown setting 'y' in escalation",
		":6: 'after_days' must be between 1 and 3650, not 0",
		":7: unknown setting 'z' in metrics",
		":7: listen must be \"ADDRESS:PORT\" (or \"\" to turn metrics off)",
		":8: unknown setting 'w' in reminders",
		":8: 'red_every' must be between 0 and 8760, not -1",
		":10: unknown setting 'v' in delivery",
		":9: 'max_attempts' must be between 1 and 1000, not 0",
		":9: 'max_age' must be between 60 and 7776000, not 1",
		":9: 'max_in_flight' must be between 1 and 4096, not 0",
		":9: 'once_deadline' must be between 1 and 3600, not 0",
		":9: 'lease_margin' must be between 1 and 3600, not 0",
		":10: backoff_initial must be between 0.01 and 3600 seconds",
		":10: backoff_max must be between 0.01 and 86400 seconds",
		":14: unknown setting 'u' in receiver",
		":12: receiver name 'a b' must be 1-63 letters, digits, '_', '-' or '.'",
		":12: unknown receiver format 'telex' (expected json, dingtalk, wecom, feishu or slack)",
		":13: rate_limit is for chat formats; json receivers are not rate-limited",
		":14: 'days' has unknown value 'xyz' (expected one of sun, mon, tue, wed, thu, fri, sat)",
		":14: from must be \"HH:MM\", not '25:00'",
		":14: to must be \"HH:MM\", not '6'",
		":13: unknown setting 'blue' in mentions",
		":13: mentions are for chat formats, not json",
		":12: give either url or url_file, not both",
		":12: secret is empty (leave it out for an unsigned receiver)",
		":12: timeout must be between 0 and 300 seconds",
		":13: cannot read ca_file '/nonexistent/ca': No such file or directory",
		":13: detail must be \"full\" or \"minimal\", not 'some'",
		":15: receiver name 'a b' must be 1-63 letters, digits, '_', '-' or '.'",
		":15: receiver 'a b': wecom has no signing secret (its key is in the URL: use url_file)",
		":15: receiver 'a b' needs url or url_file",
		":15: cannot read '/nonexistent': No such file or directory",
		":15: duplicate receiver name 'a b' (first at line 12)",
		":17: unknown setting 'q' in route match",
		":17: 'supervision' has unknown value 'moral' (expected one of technical, financial, disciplinary)",
		":17: min_level must be yellow, orange or red, not 'pink'",
		":17: route names unknown receiver 'nobody'",
		":18: route needs receivers = [ \"name\", ... ]",
		":18: 'continue' must be true or false",
		":19: params.F09.enabled must be true or false",
		":19: params.F09.level must be \"yellow\", \"orange\" or \"red\"",
		":19: parameter 'limit' must be a number, string or boolean",
		":19: params.X must be a group { name = value; ... }",
		NULL};
	all_problems(conf0, want0, "a problem in every setting of every section");
	static const char conf1[] =
		"database = 1;\n"
		"rules_dir = \"/tmp\";\n"
		"evaluation = 2;\n"
		"escalation = \"x\";\n"
		"metrics = [ 1 ];\n"
		"reminders = 3;\n"
		"delivery = 4;\n"
		"receivers = 5;\n"
		"routes = { a = 1; };\n"
		"params = 6;\n";
	static const char *const want1[] = {
		":1: database must be a group { conninfo = \"...\"; }",
		":3: evaluation must be a group",
		":4: escalation must be a group",
		":5: metrics must be a group { listen = \"127.0.0.1:9423\"; }",
		":6: reminders must be a group",
		":7: delivery must be a group",
		":8: receivers must be a list ( { ... }, { ... } )",
		":9: routes must be a list ( { ... }, { ... } )",
		":10: params must be a group { RULE_ID = { name = value; }; }",
		NULL};
	all_problems(conf1, want1, "sections of the wrong type");
	static const char conf2[] =
		"rules_dir = \"/tmp\";\n"
		"receivers = ( 1, { name = \"r\"; format = \"json\"; url = \"http://x/\"; maintenance = 1; mentions = 2; } );\n"
		"routes = ( 2, { match = 1; receivers = \"r\"; } );\n";
	static const char *const want2[] = {
		":2: a receiver must be a group { name = ...; format = ...; url = ...; }",
		":2: maintenance must be a list ( { days = [ \"sat\" ]; from = \"22:00\"; to = \"06:00\"; } )",
		":2: mentions must be a group { red = [ \"mobile or user id\", ... ]; }",
		":3: a route must be a group { match = { ... }; receivers = [ ... ]; }",
		":3: match must be a group",
		NULL};
	all_problems(conf2, want2, "receivers and routes of the wrong type");
	done_testing();
}
