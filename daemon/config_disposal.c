/* qingfeng.conf's `disposal` and `console` sections (DISPOSAL.md): who owns
 * a new finding, its deadlines by level, four eyes, overdue alerts; where
 * the web console listens and what chat messages link to. */
#include "config_disposal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A PostgreSQL role name as disposal.owners and the console take it: what
 * CREATE ROLE accepts quoted (1-63 bytes), without control characters. */
static bool valid_role(const char *s)
{
	if (!*s || strlen(s) > 63)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

void config_disposal_defaults(struct qf_config *cfg)
{
	static const int days[4][2] = {{0, 0}, {3, 30}, {2, 20}, {1, 10}};

	cfg->disposal.four_eyes = true;
	memcpy(cfg->disposal.deadlines, days, sizeof days);
	cfg->disposal.overdue_every = 2;
	cfg->console.listen = xstrdup("127.0.0.1:9424");
	cfg->console.idle_timeout_s = 1800;
}

/* owners = ( { department = "财务部"; role = "jw_caiwu"; }, { role = "jw_office"; } ) */
static void parse_owners(struct cfgctx *cx, const config_setting_t *g, struct qf_disposal *dp)
{
	static const char *const keys[] = {"department", "role", NULL};
	const config_setting_t *l = config_setting_get_member(g, "owners");
	const char *str;

	if (!l)
		return;
	if (!config_setting_is_list(l) && !config_setting_is_array(l)) {
		cfg_error(cx, l, "owners must be a list ( { department = \"...\"; role = \"...\"; }, { role = \"...\"; } )");
		return;
	}
	int n = config_setting_length(l);
	dp->owners = xcalloc((size_t)n + 1, sizeof *dp->owners);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		struct qf_owner_rule *o = &dp->owners[dp->nowners];
		if (!config_setting_is_group(e)) {
			cfg_error(cx, e, "an owner is a group { department = \"...\"; role = \"...\"; }");
			continue;
		}
		cfg_check_keys(cx, e, keys, "owner");
		o->line = config_setting_source_line(e);
		if (cfg_string(cx, e, "role", true, &str)) {
			if (!valid_role(str))
				cfg_error(cx, config_setting_get_member(e, "role"),
					  "owner role '%s' is not a PostgreSQL role name (1-63 bytes, no control characters)", str);
			o->role = xstrdup(str);
		}
		if (cfg_string(cx, e, "department", false, &str)) {
			if (!*str)
				cfg_error(cx, config_setting_get_member(e, "department"),
					  "department is empty (leave it out for the default owner)");
			o->department = xstrdup(str);
		}
		for (int j = 0; j < dp->nowners; j++) {
			const struct qf_owner_rule *p = &dp->owners[j];
			bool same = o->department ? p->department && !strcmp(p->department, o->department) : !p->department;
			if (same)
				cfg_error(cx, e, "%s%s%s has an owner already (line %d): the first would always win",
					  o->department ? "department '" : "the default", o->department ? o->department : "",
					  o->department ? "'" : "", p->line);
		}
		dp->nowners++;
	}
}

/* deadlines = { red = [ 1, 10 ]; orange = [ 2, 20 ]; yellow = [ 3, 30 ]; } */
static void parse_deadlines(struct cfgctx *cx, const config_setting_t *g, struct qf_disposal *dp)
{
	static const char *const keys[] = {"red", "orange", "yellow", NULL};
	const config_setting_t *d = config_setting_get_member(g, "deadlines");

	if (!d)
		return;
	if (!config_setting_is_group(d)) {
		cfg_error(cx, d, "deadlines must be a group { red = [ 1, 10 ]; orange = [ 2, 20 ]; yellow = [ 3, 30 ]; }");
		return;
	}
	cfg_check_keys(cx, d, keys, "deadlines");
	for (int lv = QF_YELLOW; lv <= QF_RED; lv++) {
		const config_setting_t *a = config_setting_get_member(d, level_name(lv));
		if (!a)
			continue;
		if ((!config_setting_is_array(a) && !config_setting_is_list(a)) || config_setting_length(a) != 2 ||
		    config_setting_type(config_setting_get_elem(a, 0)) != CONFIG_TYPE_INT ||
		    config_setting_type(config_setting_get_elem(a, 1)) != CONFIG_TYPE_INT) {
			cfg_error(cx, a, "deadlines.%s must be [ SIGN, CLOSE ]: two whole numbers of workdays",
				  level_name(lv));
			continue;
		}
		int sign = config_setting_get_int_elem(a, 0), close = config_setting_get_int_elem(a, 1);
		if (sign < 1 || sign > 3650 || close < 1 || close > 3650)
			cfg_error(cx, a, "deadlines.%s: workdays must be between 1 and 3650, not [ %d, %d ]", level_name(lv),
				  sign, close);
		else if (close < sign)
			cfg_error(cx, a, "deadlines.%s: the close deadline (%d) comes before the sign deadline (%d)",
				  level_name(lv), close, sign);
		dp->deadlines[lv][0] = sign;
		dp->deadlines[lv][1] = close;
	}
	/* a higher level never gives more time: escalation only shortens */
	for (int lv = QF_ORANGE; lv <= QF_RED; lv++)
		for (int k = 0; k < 2; k++)
			if (dp->deadlines[lv][k] > dp->deadlines[lv - 1][k])
				cfg_error(cx, d, "deadlines: %s gives more time to %s (%d) than %s does (%d)", level_name(lv),
					  k ? "close" : "sign", dp->deadlines[lv][k], level_name(lv - 1),
					  dp->deadlines[lv - 1][k]);
}

static void parse_disposal(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg)
{
	static const char *const keys[] = {"four_eyes", "owners", "deadlines", "overdue_every", NULL};
	const config_setting_t *g = config_setting_get_member(root, "disposal");

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg_error(cx, g, "disposal must be a group { four_eyes = true; owners = ( ... ); deadlines = { ... }; }");
		return;
	}
	cfg_check_keys(cx, g, keys, "disposal");
	cfg_bool(cx, g, "four_eyes", false, &cfg->disposal.four_eyes);
	parse_owners(cx, g, &cfg->disposal);
	parse_deadlines(cx, g, &cfg->disposal);
	cfg_int_range(cx, g, "overdue_every", 1, 365, &cfg->disposal.overdue_every);
}

/* an HTTP header name (RFC 9110 token) */
static bool valid_header(const char *s)
{
	if (!*s || strlen(s) > 100)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", *p)))
			return false;
	return true;
}

static void parse_console(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg)
{
	static const char *const keys[] = {"listen", "url", "trusted_header", "idle_timeout", NULL};
	const config_setting_t *g = config_setting_get_member(root, "console");
	const char *str;

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg_error(cx, g, "console must be a group { listen = \"127.0.0.1:9424\"; url = \"https://...\"; }");
		return;
	}
	cfg_check_keys(cx, g, keys, "console");
	if (cfg_string(cx, g, "listen", false, &str)) {
		const char *colon = strrchr(str, ':');
		char *end = NULL;
		long port = colon ? strtol(colon + 1, &end, 10) : -1;
		if (!colon || colon == str || !end || *end || end == colon + 1 || port < 0 || port > 65535)
			cfg_error(cx, config_setting_get_member(g, "listen"), "listen must be \"ADDRESS:PORT\", not '%s'", str);
		free(cfg->console.listen);
		cfg->console.listen = xstrdup(str);
	}
	if (cfg_string(cx, g, "url", false, &str)) {
		if (strncmp(str, "http://", 7) && strncmp(str, "https://", 8))
			cfg_error(cx, config_setting_get_member(g, "url"),
				  "url must start with http:// or https:// (the console's address as people open it)");
		else if (strpbrk(str, " \t\r\n\"'<>?#()[]|\\`"))
			cfg_error(cx, config_setting_get_member(g, "url"),
				  "url must be a plain address without spaces, quotes, a query or a fragment");
		cfg->console.url = xstrdup(str);
		size_t n = strlen(cfg->console.url);
		while (n > 8 && cfg->console.url[n - 1] == '/') /* links append /findings/ID */
			cfg->console.url[--n] = '\0';
	}
	if (cfg_string(cx, g, "trusted_header", false, &str)) {
		if (!valid_header(str))
			cfg_error(cx, config_setting_get_member(g, "trusted_header"), "trusted_header '%s' is not a header name",
				  str);
		cfg->console.trusted_header = xstrdup(str);
	}
	cfg_int_range(cx, g, "idle_timeout", 60, 7 * 86400, &cfg->console.idle_timeout_s);
}

void config_disposal_parse(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg)
{
	parse_disposal(cx, root, cfg);
	parse_console(cx, root, cfg);
}

void config_disposal_free(struct qf_config *cfg)
{
	for (int i = 0; i < cfg->disposal.nowners; i++) {
		free(cfg->disposal.owners[i].department);
		free(cfg->disposal.owners[i].role);
	}
	free(cfg->disposal.owners);
	free(cfg->console.listen);
	free(cfg->console.url);
	free(cfg->console.trusted_header);
}

char *config_owners_json(const struct qf_config *cfg)
{
	json_t *a = json_array();
	for (int i = 0; i < cfg->disposal.nowners; i++) {
		const struct qf_owner_rule *o = &cfg->disposal.owners[i];
		json_t *e = json_object();
		if (o->department)
			json_object_set_new(e, "department", json_string(o->department));
		json_object_set_new(e, "role", json_string(o->role));
		json_array_append_new(a, e);
	}
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!text)
		abort();
	return text;
}

char *config_deadlines_json(const struct qf_config *cfg)
{
	char buf[200];
	const int(*d)[2] = cfg->disposal.deadlines;
	snprintf(buf, sizeof buf, "{\"red\":[%d,%d],\"orange\":[%d,%d],\"yellow\":[%d,%d]}", d[QF_RED][0], d[QF_RED][1],
		 d[QF_ORANGE][0], d[QF_ORANGE][1], d[QF_YELLOW][0], d[QF_YELLOW][1]);
	return xstrdup(buf);
}
