/* qingfeng.conf: libconfig → validated struct qf_config.
 *
 * libconfig only checks syntax, so every group is checked here for unknown
 * keys, wrong types and missing settings, each reported as FILE:LINE. A typo
 * in a config that decides who is told about a risk must not be ignored. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgutil.h"
#include "chat.h"
#include "config_disposal.h"

const char *level_name(int level)
{
	switch (level) {
	case QF_YELLOW:
		return "yellow";
	case QF_ORANGE:
		return "orange";
	case QF_RED:
		return "red";
	default:
		return "none";
	}
}

int level_parse(const char *s)
{
	if (!s)
		return QF_LEVEL_NONE;
	if (!strcmp(s, "yellow"))
		return QF_YELLOW;
	if (!strcmp(s, "orange"))
		return QF_ORANGE;
	if (!strcmp(s, "red"))
		return QF_RED;
	return QF_LEVEL_NONE;
}

bool strlist_has(const struct strlist *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (s && !strcmp(l->v[i], s))
			return true;
	return false;
}

void strlist_free(struct strlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static const char *const supervisions[] = {"technical", "financial", "disciplinary", NULL};
static const char *const risks[] = {"technical", "non-technical", NULL};
static const char *const duties[] = {"primary", "supervisory", "dual-duty", "impartiality", NULL};

/* Reads a secret or URL from a file: the first line, without its newline. */
static char *read_first_line(struct cfgctx *cx, const config_setting_t *s, const char *path)
{
	size_t len;
	char *text = read_file(path, &len);

	if (!text) {
		cfg_error(cx, s, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	text[strcspn(text, "\r\n")] = '\0';
	if (!*text) {
		cfg_error(cx, s, "'%s' is empty", path);
		free(text);
		return NULL;
	}
	return text;
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > 63)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

static int hhmm(const char *v)
{
	int h, m;
	char extra;
	if (!v || sscanf(v, "%2d:%2d%c", &h, &m, &extra) != 2 || strlen(v) != 5 || h < 0 || h > 24 || m < 0 || m > 59 ||
	    (h == 24 && m))
		return -1;
	return h * 60 + m;
}

static void parse_window(struct cfgctx *cx, const config_setting_t *s, struct qf_window *w)
{
	static const char *const keys[] = {"days", "from", "to", NULL};
	static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
	struct strlist days = {0};
	const char *v;

	w->days = 0x7f;
	if (!config_setting_is_group(s)) {
		cfg_error(cx, s, "a maintenance window is a group { days = [ ... ]; from = \"HH:MM\"; to = \"HH:MM\"; }");
		return;
	}
	cfg_check_keys(cx, s, keys, "maintenance window");
	if (cfg_strlist(cx, s, "days", day_names, &days)) {
		w->days = 0;
		for (int i = 0; i < days.n; i++)
			for (int k = 0; day_names[k]; k++)
				if (!strcmp(days.v[i], day_names[k]))
					w->days |= 1 << k;
	}
	strlist_free(&days);
	if (cfg_string(cx, s, "from", true, &v) && (w->from_min = hhmm(v)) < 0)
		cfg_error(cx, config_setting_get_member(s, "from"), "from must be \"HH:MM\", not '%s'", v);
	if (cfg_string(cx, s, "to", true, &v) && (w->to_min = hhmm(v)) < 0)
		cfg_error(cx, config_setting_get_member(s, "to"), "to must be \"HH:MM\", not '%s'", v);
}

/* Where a receiver's alerts go and how they are signed: url or url_file,
 * secret or secret_file (a file keeps a token out of the configuration). */
static void parse_endpoint(struct cfgctx *cx, const config_setting_t *s, struct qf_receiver *r)
{
	const config_setting_t *u = config_setting_get_member(s, "url");
	const config_setting_t *uf = config_setting_get_member(s, "url_file");
	const config_setting_t *sec = config_setting_get_member(s, "secret");
	const config_setting_t *secf = config_setting_get_member(s, "secret_file");
	const char *str;

	if (u && uf)
		cfg_error(cx, uf, "give either url or url_file, not both");
	else if (!u && !uf)
		cfg_error(cx, s, "receiver '%s' needs url or url_file", r->name ? r->name : "?");
	else if (u && cfg_string(cx, s, "url", true, &str))
		r->url = xstrdup(str);
	else if (uf && cfg_string(cx, s, "url_file", true, &str))
		r->url = read_first_line(cx, uf, str);
	if (r->url && strncmp(r->url, "http://", 7) && strncmp(r->url, "https://", 8)) {
		/* do not echo the URL: it may carry a token */
		cfg_error(cx, u ? u : uf, "receiver url must start with http:// or https://");
	}
	if (sec && secf)
		cfg_error(cx, secf, "give either secret or secret_file, not both");
	else if (sec && cfg_string(cx, s, "secret", true, &str)) {
		if (!*str)
			cfg_error(cx, sec, "secret is empty (leave it out for an unsigned receiver)");
		r->secret = xstrdup(str);
	} else if (secf && cfg_string(cx, s, "secret_file", true, &str))
		r->secret = read_first_line(cx, secf, str);
}

static void parse_receiver(struct cfgctx *cx, const config_setting_t *s, struct qf_receiver *r)
{
	static const char *const keys[] = {"name",    "format",  "url",    "url_file", "secret",     "secret_file",
					   "timeout", "ca_file", "detail", "mentions", "rate_limit",
					   "notify_resolved", "maintenance", NULL};
	static const char *const levels[] = {"yellow", "orange", "red", NULL};
	const char *str;
	double timeout = 10;

	r->file = cfg_file(cx, s);
	r->line = config_setting_source_line(s);
	r->timeout_ms = 10000;
	if (!config_setting_is_group(s)) {
		cfg_error(cx, s, "a receiver must be a group { name = ...; format = ...; url = ...; }");
		return;
	}
	cfg_check_keys(cx, s, keys, "receiver");

	if (cfg_string(cx, s, "name", true, &str)) {
		if (!valid_name(str))
			cfg_error(cx, config_setting_get_member(s, "name"),
				  "receiver name '%s' must be 1-63 letters, digits, '_', '-' or '.'", str);
		r->name = xstrdup(str);
	}
	if (cfg_string(cx, s, "format", true, &str)) {
		enum chat_format cf;
		if (!strcmp(str, "json"))
			r->format = QF_FMT_JSON;
		else if (chat_format_parse(str, &cf) == 0)
			r->format = (enum qf_format)(cf + 1);
		else
			cfg_error(cx, config_setting_get_member(s, "format"),
				  "unknown receiver format '%s' (expected json, dingtalk, wecom, feishu or slack)", str);
	}
	r->rate_per_minute = r->format == QF_FMT_JSON ? 0 : chat_rate_per_minute((enum chat_format)(r->format - 1));
	if (config_setting_get_member(s, "rate_limit")) {
		/* a setting that would do nothing is an error, not a surprise */
		if (r->format == QF_FMT_JSON)
			cfg_error(cx, config_setting_get_member(s, "rate_limit"),
				  "rate_limit is for chat formats; json receivers are not rate-limited");
		else
			cfg_int_range(cx, s, "rate_limit", 1, 100000, &r->rate_per_minute);
	}
	if ((r->format == QF_FMT_WECOM || r->format == QF_FMT_SLACK) &&
	    (config_setting_get_member(s, "secret") || config_setting_get_member(s, "secret_file")))
		cfg_error(cx, s, "receiver '%s': %s has no signing secret (its key is in the URL: use url_file)",
			  r->name ? r->name : "?", r->format == QF_FMT_WECOM ? "wecom" : "slack");
	cfg_bool(cx, s, "notify_resolved", false, &r->notify_resolved);
	const config_setting_t *mw = config_setting_get_member(s, "maintenance");
	if (mw) {
		if (!config_setting_is_list(mw)) {
			cfg_error(cx, mw, "maintenance must be a list ( { days = [ \"sat\" ]; from = \"22:00\"; to = \"06:00\"; } )");
		} else {
			int n = config_setting_length(mw);
			r->maintenance = xcalloc((size_t)n + 1, sizeof *r->maintenance);
			for (int i = 0; i < n; i++)
				parse_window(cx, config_setting_get_elem(mw, (unsigned)i), &r->maintenance[r->nmaintenance++]);
		}
	}
	const config_setting_t *m = config_setting_get_member(s, "mentions");
	if (m) {
		if (!config_setting_is_group(m)) {
			cfg_error(cx, m, "mentions must be a group { red = [ \"mobile or user id\", ... ]; }");
		} else {
			cfg_check_keys(cx, m, levels, "mentions");
			for (int lv = QF_YELLOW; lv <= QF_RED; lv++)
				cfg_strlist(cx, m, level_name(lv), NULL, &r->mentions[lv]);
			if (r->format == QF_FMT_JSON)
				cfg_error(cx, m, "mentions are for chat formats, not json");
		}
	}

	parse_endpoint(cx, s, r);

	if (cfg_number(cx, s, "timeout", false, &timeout)) {
		if (timeout <= 0 || timeout > 300)
			cfg_error(cx, config_setting_get_member(s, "timeout"),
				  "timeout must be between 0 and 300 seconds");
		else /* at least 1 ms: 0 would be no timeout at all to libcurl */
			r->timeout_ms = timeout * 1000 >= 1 ? (int)(timeout * 1000) : 1;
	}
	if (cfg_string(cx, s, "ca_file", false, &str)) {
		if (access(str, R_OK) != 0)
			cfg_error(cx, config_setting_get_member(s, "ca_file"), "cannot read ca_file '%s': %s",
				  str, strerror(errno));
		r->ca_file = xstrdup(str);
	}
	if (cfg_string(cx, s, "detail", false, &str)) {
		if (!strcmp(str, "full"))
			r->detail = QF_DETAIL_FULL;
		else if (!strcmp(str, "minimal"))
			r->detail = QF_DETAIL_MINIMAL;
		else
			cfg_error(cx, config_setting_get_member(s, "detail"),
				  "detail must be \"full\" or \"minimal\", not '%s'", str);
	}
}

static void parse_route(struct cfgctx *cx, struct qf_config *cfg, const config_setting_t *s, struct qf_route *rt)
{
	static const char *const keys[] = {"match", "receivers", "continue", NULL};
	static const char *const match_keys[] = {"supervision", "risk", "duty", "min_level",
						 "rule", "tag", "department", "event", NULL};
	static const char *const events[] = {"finding.new",	 "finding.retriggered", "finding.escalated",
					     "finding.reminder", "finding.resolved",	"finding.overdue", NULL};
	struct strlist recv = {0};
	const char *str;

	rt->file = cfg_file(cx, s);
	rt->line = config_setting_source_line(s);
	if (!config_setting_is_group(s)) {
		cfg_error(cx, s, "a route must be a group { match = { ... }; receivers = [ ... ]; }");
		return;
	}
	cfg_check_keys(cx, s, keys, "route");
	const config_setting_t *m = config_setting_get_member(s, "match");
	if (m) {
		if (!config_setting_is_group(m)) {
			cfg_error(cx, m, "match must be a group");
		} else {
			cfg_check_keys(cx, m, match_keys, "route match");
			cfg_strlist(cx, m, "supervision", supervisions, &rt->supervision);
			cfg_strlist(cx, m, "risk", risks, &rt->risk);
			cfg_strlist(cx, m, "duty", duties, &rt->duty);
			cfg_strlist(cx, m, "rule", NULL, &rt->rule);
			cfg_strlist(cx, m, "tag", NULL, &rt->tag);
			cfg_strlist(cx, m, "department", NULL, &rt->department);
			cfg_strlist(cx, m, "event", events, &rt->event);
			if (cfg_string(cx, m, "min_level", false, &str)) {
				rt->min_level = level_parse(str);
				if (!rt->min_level)
					cfg_error(cx, config_setting_get_member(m, "min_level"),
						  "min_level must be yellow, orange or red, not '%s'", str);
			}
		}
	}
	if (!config_setting_get_member(s, "receivers"))
		cfg_error(cx, s, "route needs receivers = [ \"name\", ... ]");
	cfg_strlist(cx, s, "receivers", NULL, &recv);
	rt->receivers = xcalloc((size_t)recv.n, sizeof *rt->receivers);
	for (int i = 0; i < recv.n; i++) {
		int found = -1;
		for (int j = 0; j < cfg->nreceivers; j++)
			if (cfg->receivers[j].name && !strcmp(cfg->receivers[j].name, recv.v[i]))
				found = j;
		if (found < 0)
			cfg_error(cx, config_setting_get_member(s, "receivers"), "route names unknown receiver '%s'",
				  recv.v[i]);
		else
			rt->receivers[rt->nreceivers++] = found;
	}
	strlist_free(&recv);
	cfg_bool(cx, s, "continue", false, &rt->cont);
}

static void parse_override(struct cfgctx *cx, const config_setting_t *s, struct qf_override *o)
{
	const char *id = config_setting_name(s);

	o->rule_id = xstrdup(id);
	o->enabled = -1;
	o->file = cfg_file(cx, s);
	o->line = config_setting_source_line(s);
	if (!config_setting_is_group(s)) {
		cfg_error(cx, s, "params.%s must be a group { name = value; ... }", id);
		return;
	}
	int n = config_setting_length(s);
	o->params = xcalloc((size_t)n, sizeof *o->params);
	for (int i = 0; i < n; i++) {
		const config_setting_t *p = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(p);
		if (!strcmp(name, "enabled")) {
			if (config_setting_type(p) != CONFIG_TYPE_BOOL)
				cfg_error(cx, p, "params.%s.enabled must be true or false", id);
			else
				o->enabled = config_setting_get_bool(p);
		} else if (!strcmp(name, "exceptions")) {
			cfg_exceptions(cx, p, &o->exceptions, &o->nexceptions);
		} else if (!strcmp(name, "level")) {
			const char *lv = config_setting_type(p) == CONFIG_TYPE_STRING ? config_setting_get_string(p) : NULL;
			o->level = level_parse(lv);
			if (!o->level)
				cfg_error(cx, p, "params.%s.level must be \"yellow\", \"orange\" or \"red\"", id);
		} else {
			struct qf_param *q = &o->params[o->nparams];
			if (cfg_scalar_text(cx, p, &q->value, &q->numeric)) {
				q->name = xstrdup(name);
				q->line = config_setting_source_line(p);
				o->nparams++;
			}
		}
	}
}

static bool valid_timezone(const char *tz)
{
	if (!*tz || strlen(tz) > 64 || tz[0] == '/' || strstr(tz, ".."))
		return false;
	for (const char *p = tz; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '/' || *p == '+' || *p == '-'))
			return false;
	return true;
}

static void config_defaults(struct qf_config *cfg, const char *file)
{
	cfg->path = xstrdup(file);
	cfg->conninfo = xstrdup("");
	cfg->connect_timeout_s = 5;
	cfg->statement_timeout_ms = 60000;
	cfg->timezone = xstrdup("Asia/Shanghai");
	cfg->log_level = 6;
	cfg->eval_interval_s = 60;
	cfg->clock_interval_s = 3600;
	cfg->keep_runs_days = 90;
	cfg->metrics_listen = xstrdup("127.0.0.1:9423");
	cfg->escalate_after_days = 15;
	cfg->remind_red_hours = 24;
	cfg->max_attempts = 20;
	cfg->max_age_s = 3 * 24 * 3600;
	cfg->backoff_initial_ms = 1000;
	cfg->backoff_max_ms = 3600 * 1000;
	cfg->max_in_flight = 64;
	cfg->once_deadline_s = 30;
	cfg->lease_margin_s = 30;
	config_disposal_defaults(cfg);
	cfg->four_eyes = true;
	cfg->anchor_every_s = 86400;
}

/* The group `name` of the file with its keys checked, or NULL when it is
 * absent or not a group (reported with not_group). */
static const config_setting_t *section(struct cfgctx *cx, const config_setting_t *root, const char *name,
				       const char *not_group, const char *const *keys)
{
	const config_setting_t *g = config_setting_get_member(root, name);

	if (!g)
		return NULL;
	if (!config_setting_is_group(g)) {
		cfg_error(cx, g, "%s", not_group);
		return NULL;
	}
	cfg_check_keys(cx, g, keys, name);
	return g;
}

static void parse_database(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg)
{
	static const char *const keys[] = {"conninfo", "connect_timeout", "statement_timeout", NULL};
	const config_setting_t *g = section(cx, root, "database", "database must be a group { conninfo = \"...\"; }", keys);
	const char *str;

	if (!g)
		return;
	if (cfg_string(cx, g, "conninfo", false, &str)) {
		free(cfg->conninfo);
		cfg->conninfo = xstrdup(str);
	}
	cfg_int_range(cx, g, "connect_timeout", 1, 300, &cfg->connect_timeout_s);
	cfg_int_range(cx, g, "statement_timeout", 100, 3600 * 1000, &cfg->statement_timeout_ms);
}

/* rules_dir, timezone and log_level, at the top of the file */
static void parse_top(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg)
{
	const char *str;

	if (cfg_string(cx, root, "rules_dir", true, &str)) {
		cfg->rules_dir = xstrdup(str);
		cfg->rules_dir_line = config_setting_source_line(config_setting_get_member(root, "rules_dir"));
	}
	if (cfg_string(cx, root, "timezone", false, &str)) {
		if (!valid_timezone(str))
			cfg_error(cx, config_setting_get_member(root, "timezone"), "'%s' is not a time zone name", str);
		else if (access("/usr/share/zoneinfo", F_OK) == 0) {
			char path[256];
			snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", str);
			if (access(path, R_OK) != 0)
				cfg_error(cx, config_setting_get_member(root, "timezone"), "unknown time zone '%s'", str);
		}
		free(cfg->timezone);
		cfg->timezone = xstrdup(str);
	}
	if (cfg_string(cx, root, "log_level", false, &str)) {
		static const char *const lv[] = {"error", "warning", "notice", "info", "debug", NULL};
		int i;
		for (i = 0; lv[i] && strcmp(lv[i], str); i++)
			;
		if (!lv[i])
			cfg_error(cx, config_setting_get_member(root, "log_level"),
				  "log_level must be error, warning, notice, info or debug");
		else
			cfg->log_level = 3 + i;
	}
}

/* evaluation, escalation, metrics and reminders: the daemon's clock work */
static void parse_timers(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg)
{
	static const char *const eval_keys[] = {"interval", "clock_interval", "keep_runs", NULL};
	static const char *const esc_keys[] = {"after_days", NULL};
	static const char *const met_keys[] = {"listen", NULL};
	static const char *const rem_keys[] = {"red_every", NULL};
	const config_setting_t *g;
	const char *str;

	if ((g = section(cx, root, "evaluation", "evaluation must be a group", eval_keys)) != NULL) {
		cfg_int_range(cx, g, "interval", 1, 86400, &cfg->eval_interval_s);
		cfg_int_range(cx, g, "clock_interval", 1, 86400, &cfg->clock_interval_s);
		cfg_int_range(cx, g, "keep_runs", 1, 36500, &cfg->keep_runs_days);
	}
	if ((g = section(cx, root, "escalation", "escalation must be a group", esc_keys)) != NULL)
		cfg_int_range(cx, g, "after_days", 1, 3650, &cfg->escalate_after_days);
	g = section(cx, root, "metrics", "metrics must be a group { listen = \"127.0.0.1:9423\"; }", met_keys);
	if (g && cfg_string(cx, g, "listen", false, &str)) {
		const char *colon = strrchr(str, ':');
		if (*str && (!colon || colon == str || atoi(colon + 1) < 0 || atoi(colon + 1) > 65535))
			cfg_error(cx, config_setting_get_member(g, "listen"),
				  "listen must be \"ADDRESS:PORT\" (or \"\" to turn metrics off)");
		free(cfg->metrics_listen);
		cfg->metrics_listen = xstrdup(str);
	}
	if ((g = section(cx, root, "reminders", "reminders must be a group", rem_keys)) != NULL)
		cfg_int_range(cx, g, "red_every", 0, 24 * 365, &cfg->remind_red_hours);
}

static void parse_delivery(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg)
{
	static const char *const keys[] = {"max_attempts",  "max_age",       "backoff_initial",
					   "backoff_max",   "max_in_flight", "once_deadline",
					   "lease_margin",  NULL};
	const config_setting_t *g = section(cx, root, "delivery", "delivery must be a group", keys);
	double v;

	if (!g)
		return;
	cfg_int_range(cx, g, "max_attempts", 1, 1000, &cfg->max_attempts);
	cfg_int_range(cx, g, "max_age", 60, 90 * 86400, &cfg->max_age_s);
	cfg_int_range(cx, g, "max_in_flight", 1, 4096, &cfg->max_in_flight);
	cfg_int_range(cx, g, "once_deadline", 1, 3600, &cfg->once_deadline_s);
	cfg_int_range(cx, g, "lease_margin", 1, 3600, &cfg->lease_margin_s);
	if (cfg_number(cx, g, "backoff_initial", false, &v)) {
		if (v < 0.01 || v > 3600)
			cfg_error(cx, config_setting_get_member(g, "backoff_initial"),
				  "backoff_initial must be between 0.01 and 3600 seconds");
		else
			cfg->backoff_initial_ms = (int)(v * 1000);
	}
	if (cfg_number(cx, g, "backoff_max", false, &v)) {
		if (v < 0.01 || v > 86400)
			cfg_error(cx, config_setting_get_member(g, "backoff_max"),
				  "backoff_max must be between 0.01 and 86400 seconds");
		else
			cfg->backoff_max_ms = (int)(v * 1000);
	}
}

/* The list `name` of the file, or NULL when it is absent or not a list
 * (reported); *n is its length. */
static const config_setting_t *list(struct cfgctx *cx, const config_setting_t *root, const char *name, int *n)
{
	const config_setting_t *g = config_setting_get_member(root, name);

	*n = 0;
	if (!g)
		return NULL;
	if (!config_setting_is_list(g) && !config_setting_is_array(g)) {
		cfg_error(cx, g, "%s must be a list ( { ... }, { ... } )", name);
		return NULL;
	}
	*n = config_setting_length(g);
	return g;
}

static void parse_receivers(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg)
{
	int n;
	const config_setting_t *g = list(cx, root, "receivers", &n);

	if (!g)
		return;
	cfg->receivers = xcalloc((size_t)n, sizeof *cfg->receivers);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		parse_receiver(cx, e, &cfg->receivers[i]);
		cfg->nreceivers++;
		for (int j = 0; j < i; j++)
			if (cfg->receivers[i].name && cfg->receivers[j].name &&
			    !strcmp(cfg->receivers[i].name, cfg->receivers[j].name))
				cfg_error(cx, e, "duplicate receiver name '%s' (first at line %d)", cfg->receivers[i].name,
					  cfg->receivers[j].line);
	}
}

static void parse_routes(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg)
{
	int n;
	const config_setting_t *g = list(cx, root, "routes", &n);

	if (!g)
		return;
	cfg->routes = xcalloc((size_t)n, sizeof *cfg->routes);
	for (int i = 0; i < n; i++) {
		parse_route(cx, cfg, config_setting_get_elem(g, (unsigned)i), &cfg->routes[i]);
		cfg->nroutes++;
	}
}

/* params = { RULE_ID = { ... }; }: the deployment's rule overrides */
static void parse_overrides(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg)
{
	const config_setting_t *g = config_setting_get_member(root, "params");

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg_error(cx, g, "params must be a group { RULE_ID = { name = value; }; }");
		return;
	}
	int n = config_setting_length(g);
	cfg->overrides = xcalloc((size_t)n, sizeof *cfg->overrides);
	for (int i = 0; i < n; i++) {
		parse_override(cx, config_setting_get_elem(g, (unsigned)i), &cfg->overrides[i]);
		cfg->noverrides++;
	}
}

/* silence = { four_eyes }; audit = { anchor_receivers, anchor_every,
 * identity } (TRUST.md), after the receivers it names */
static void parse_trust(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg)
{
	static const char *const sil_keys[] = {"four_eyes", NULL};
	static const char *const aud_keys[] = {"anchor_receivers", "anchor_every", "identity", NULL};
	const config_setting_t *g;
	const char *str;

	if ((g = section(cx, root, "silence", "silence must be a group { four_eyes = true; }", sil_keys)) != NULL)
		cfg_bool(cx, g, "four_eyes", false, &cfg->four_eyes);
	if ((g = section(cx, root, "audit", "audit must be a group", aud_keys)) == NULL)
		return;
	cfg_int_range(cx, g, "anchor_every", 1, 366 * 86400, &cfg->anchor_every_s);
	if (cfg_string(cx, g, "identity", false, &str)) {
		if (!*str || strlen(str) > 200)
			cfg_error(cx, config_setting_get_member(g, "identity"), "identity must be 1 to 200 characters");
		cfg->identity = xstrdup(str);
	}
	cfg_strlist(cx, g, "anchor_receivers", NULL, &cfg->anchor_receivers);
	for (int i = 0; i < cfg->anchor_receivers.n; i++) {
		const struct qf_receiver *r = NULL;
		for (int k = 0; k < cfg->nreceivers && !r; k++)
			if (cfg->receivers[k].name && !strcmp(cfg->receivers[k].name, cfg->anchor_receivers.v[i]))
				r = &cfg->receivers[k];
		/* a chat message is no record to prove a head with: the json
		 * body, signed, is */
		if (!r || r->format != QF_FMT_JSON)
			cfg_error(cx, config_setting_get_member(g, "anchor_receivers"),
				  "anchor receiver '%s' %s", cfg->anchor_receivers.v[i],
				  r ? "must have format \"json\"" : "is not a receiver");
	}
}

struct qf_config *config_load(const char *file, struct diag *d)
{
	static const char *const keys[] = {"database", "rules_dir", "timezone", "log_level", "evaluation",
					   "delivery", "receivers", "routes", "params", "escalation", "reminders", "metrics",
					   "disposal", "console", "silence", "audit", NULL};
	struct qf_config *cfg = xcalloc(1, sizeof *cfg);
	const config_setting_t *root;
	struct cfgctx cx;
	config_t lc;
	int errors_before = d->errors;

	config_defaults(cfg, file);
	config_init(&lc);
	cfg_ctx_init(&cx, d, file, &cfg->files);
	if (!cfg_includes_ok(&cx, file))
		goto out; /* libconfig would exit() */
	if (config_read_file(&lc, file) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			diag_error(d, file, 0, "cannot read configuration file: %s", strerror(errno ? errno : EIO));
		else
			diag_error(d, config_error_file(&lc) ? config_error_file(&lc) : file, config_error_line(&lc),
				   "%s", config_error_text(&lc));
		goto out;
	}
	root = config_root_setting(&lc);
	cfg_check_keys(&cx, root, keys, "the configuration");
	/* in the order the sections were always read, so problems are
	 * reported in the same order */
	parse_database(&cx, root, cfg);
	parse_top(&cx, root, cfg);
	parse_timers(&cx, root, cfg);
	parse_delivery(&cx, root, cfg);
	parse_receivers(&cx, root, cfg);
	parse_routes(&cx, root, cfg);
	parse_overrides(&cx, root, cfg);
	config_disposal_parse(&cx, root, cfg);
	parse_trust(&cx, root, cfg);
out:
	config_destroy(&lc);
	if (d->errors > errors_before) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

void config_free(struct qf_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->conninfo);
	free(cfg->rules_dir);
	free(cfg->timezone);
	free(cfg->metrics_listen);
	for (int i = 0; i < cfg->nreceivers; i++) {
		struct qf_receiver *r = &cfg->receivers[i];
		free(r->name);
		free(r->url);
		if (r->secret) /* do not leave the key in freed heap for a core dump */
			explicit_bzero(r->secret, strlen(r->secret));
		free(r->secret);
		free(r->ca_file);
		for (int lv = 0; lv < 4; lv++)
			strlist_free(&r->mentions[lv]);
		free(r->maintenance);
	}
	free(cfg->receivers);
	for (int i = 0; i < cfg->nroutes; i++) {
		struct qf_route *rt = &cfg->routes[i];
		strlist_free(&rt->supervision);
		strlist_free(&rt->risk);
		strlist_free(&rt->duty);
		strlist_free(&rt->rule);
		strlist_free(&rt->tag);
		strlist_free(&rt->department);
		strlist_free(&rt->event);
		free(rt->receivers);
	}
	free(cfg->routes);
	for (int i = 0; i < cfg->noverrides; i++) {
		struct qf_override *o = &cfg->overrides[i];
		free(o->rule_id);
		for (int j = 0; j < o->nparams; j++) {
			free(o->params[j].name);
			free(o->params[j].value);
		}
		free(o->params);
		exceptions_free(o->exceptions, o->nexceptions);
	}
	free(cfg->overrides);
	config_disposal_free(cfg);
	strlist_free(&cfg->anchor_receivers);
	free(cfg->identity);
	strlist_free(&cfg->files);
	free(cfg);
}

const struct qf_receiver *config_receiver(const struct qf_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->nreceivers; i++)
		if (!strcmp(cfg->receivers[i].name, name))
			return &cfg->receivers[i];
	return NULL;
}

char *config_receivers_json(const struct qf_config *cfg)
{
	json_t *a = json_array();
	for (int i = 0; i < cfg->nreceivers; i++)
		json_array_append_new(a, json_string(cfg->receivers[i].name));
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!text) /* as xmalloc: only memory can be missing */
		abort();
	return text;
}
