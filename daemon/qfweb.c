/* qfweb: the web console of the disposal loop (qfweb(8), DISPOSAL.md).
 * libmicrohttpd with a thread per connection: a request may wait for the
 * database, and one person's wait must not hold up another's. Each
 * person works on their own PostgreSQL connection (their role, their
 * scope, their name in the history); the console stores no password. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "db_web.h"
#include "log.h"
#include "qfweb.h"

#define MAX_BODY (16 * 1024) /* the largest form: a note of 4,000 bytes, escaped */
#define COOKIE "qfweb"
#define EX_USAGE_ 64
#define EX_UNAVAILABLE_ 69

static struct web_conf conf;

/* ---- answering ---- */

static void reply_init(struct reply *r)
{
	memset(r, 0, sizeof *r);
	r->status = 200;
	r->ctype = "text/html; charset=utf-8";
	buf_init(&r->body);
}

/* whether the person reached us over https (the proxy says so), or the
 * configuration's public address is https */
static bool over_https(struct MHD_Connection *c)
{
	const char *p = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-Proto");
	return conf.secure_cookie || (p && !strcasecmp(p, "https"));
}

static char *session_cookie(struct MHD_Connection *c, const char *value, bool clear)
{
	struct buf b;
	buf_init(&b);
	/* HttpOnly: no script reads it; SameSite=Strict: no other site's page
	 * sends it (with the CSRF token, two locks on every step) */
	buf_printf(&b, COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s%s", value, over_https(c) ? "; Secure" : "",
		   clear ? "; Max-Age=0" : "");
	return buf_steal(&b);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(r->body.len, r->body.data ? r->body.data : (void *)"",
								    MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc = MHD_NO;
	if (resp) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
		/* no script at all, no framing by another site, no guessing of
		 * types; pages with data are never stored by a browser or proxy */
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
					" frame-ancestors 'none'; base-uri 'none'");
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
		MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
		MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
		MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					r->cacheable ? "public, max-age=3600" : "no-store");
		if (r->location)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
		if (r->cookie)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->cookie);
		if (*r->disposition)
			MHD_add_response_header(resp, "Content-Disposition", r->disposition);
		if (r->status == 405)
			MHD_add_response_header(resp, "Allow", r->allow ? r->allow : "GET, HEAD, POST");
		rc = MHD_queue_response(c, r->status, resp);
		MHD_destroy_response(resp);
	}
	buf_free(&r->body);
	free(r->location);
	free(r->cookie);
	return rc;
}

static const char *query_arg(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- per connection: the body of a POST ---- */

struct conn_state {
	struct buf body;
	bool too_big;
};

static void request_done(void *cls, struct MHD_Connection *c, void **st, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct conn_state *cs = *st;
	if (cs) {
		if (cs->body.data) /* a login's body holds a password */
			explicit_bzero(cs->body.data, cs->body.cap);
		buf_free(&cs->body);
		free(cs);
		*st = NULL;
	}
}

/* ---- cross-site checks ---- */

/* A browser says where a request comes from: Sec-Fetch-Site, or at least
 * Origin on a POST. Another site's page (a login CSRF: the victim logged
 * in as the attacker) is refused; a script (curl) sends neither. */
static bool same_origin(struct MHD_Connection *c)
{
	const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
	if (site)
		return !strcmp(site, "same-origin") || !strcmp(site, "none");
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	if (!origin)
		return true;
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-Host");
	if (!host)
		host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *sep = strstr(origin, "://");
	return host && sep && !strcmp(sep + 3, host);
}

/* ---- login and logout ---- */

static void page_login(struct reply *r, unsigned status, const char *msg)
{
	r->status = status;
	buf_reset(&r->body);
	struct buf *b = &r->body;
	page_begin(b, "登录", "Log in", NULL);
	if (msg) {
		buf_puts(b, "<div class=\"msg\"><p class=\"what\">");
		html_esc(b, msg);
		buf_puts(b, "</p></div>");
	}
	if (conf.trusted_header) {
		buf_puts(b, "<p>请通过单点登录进入。 <span class=\"en\">Log in through the single sign-on in front of this "
			    "console.</span></p>");
	} else {
		buf_puts(b, "<form class=\"step\" method=\"post\" action=\"/login\">"
			    "<p><label>用户名 <small>PostgreSQL role</small><br><input name=\"user\" autocomplete=\"username\""
			    " required maxlength=\"63\" autofocus></label></p>"
			    "<p><label>密码 <small>password</small><br><input name=\"password\" type=\"password\""
			    " autocomplete=\"current-password\" required></label></p>"
			    "<button type=\"submit\">登录 Log in</button></form>"
			    "<p class=\"en\">Each person logs in with their own database role: what you see and do is"
			    " what your role may, and the history names you.</p>");
	}
	page_end(b);
}

/* A role name as a person types it. libpq takes it as the user keyword's
 * value (never parsed as conninfo), but what reads as conninfo (`a
 * host=evil`, `dbname=`, quotes) is no one's role name here: refused
 * before anything connects. */
static bool user_ok(const char *u)
{
	if (!u || !*u || !field_text_ok(u, 63))
		return false;
	return !strpbrk(u, " \n\r\t='\"\\");
}

/* A login's user and password travel in a POST body, never in a URL,
 * which proxies and browsers keep in their logs and history. */
static const char in_url_msg[] = "用户名和密码不能放在网址中。 A user name or password never goes in the address.";

static bool login_query_ok(struct MHD_Connection *c)
{
	return !MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "password") &&
	       !MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "user");
}

static void do_login(struct MHD_Connection *c, struct conn_state *cs, struct web_session *old, struct reply *r)
{
	struct form f;
	if (!login_query_ok(c)) {
		page_login(r, 400, in_url_msg);
		return;
	}
	if (conf.trusted_header) {
		page_login(r, 403, "此控制台由单点登录认证，不接受密码登录。 This console logs people in through the proxy.");
		return;
	}
	if (!same_origin(c)) {
		reply_message(r, 403, NULL, "拒绝跨站登录", "Cross-site login refused",
			      "登录请求来自其他网站。 The login came from another site's page.",
			      "请直接打开本控制台的登录页。 Open this console's login page yourself.");
		return;
	}
	if (form_parse(&f, cs->body.data ? cs->body.data : "", cs->body.len) < 0) {
		page_login(r, 400, "表单无法解析。 The form could not be read.");
		return;
	}
	const char *user = form_get(&f, "user"), *pw = form_get(&f, "password");
	if (!user_ok(user) || !pw || !*pw || strlen(pw) > 1024) {
		page_login(r, 400, "请填写用户名和密码。 Give your user name and password.");
		form_free(&f);
		return;
	}
	enum db_web_login why;
	bool admin;
	char msg[512];
	struct db_session *db =
		db_web_connect(conf.conninfo, user, pw, conf.timezone, conf.connect_timeout_s,
				       conf.statement_timeout_ms, &why, &admin, msg, sizeof msg);
	if (!db) {
		/* the configuration's fault, not the person's: the operator must
		 * hear of it; the person reads a wrong password */
		if (why == DBW_LOGIN_UNCHECKED)
			log_warn("console: login of %s refused: %s", user, msg);
		else
			log_notice("console: login of %s refused: %s", user, msg);
		form_free(&f);
		if (why == DBW_LOGIN_UNREACHABLE) {
			page_login(r, 503, "数据库暂时无法连接，请稍后再试。 The database cannot be reached now; try again later.");
		} else if (why == DBW_LOGIN_NOT_AUDITOR) {
			page_login(r, 403, "该账号不是审核人员（qf_auditor / qf_admin）。 This role is not an auditor.");
		} else {
			/* slows a guesser down; each attempt has its own thread */
			sleep(1);
			page_login(r, 401, "用户名或密码错误。 Wrong user name or password.");
		}
		return;
	}
	/* a new id at every login, whatever cookie came with it (session
	 * fixation): the old session, if any, ends */
	if (old)
		session_end(old);
	struct web_session *s = session_open(db, user, admin, false);
	form_free(&f);
	if (!s) {
		reply_message(r, 503, NULL, "无法建立会话", "No session", "登录人数已满或随机数不可用。 Too many sessions.",
			      "请稍后再试。 Try again later.");
		return;
	}
	log_info("console: %s logged in", s->user);
	r->cookie = session_cookie(c, s->id, false);
	r->status = 303;
	r->location = xstrdup("/findings");
	session_release(s);
}

/* the trusted proxy's person: a session of their own, opened without a
 * password (client certificate or ident map in the conninfo) */
static struct web_session *header_session(struct MHD_Connection *c, struct web_session *s, struct reply *r)
{
	const char *who = MHD_lookup_connection_value(c, MHD_HEADER_KIND, conf.trusted_header);
	if (!who || !user_ok(who))
		return s;
	if (s && s->by_header && !strcmp(s->user, who))
		return s;
	if (s) { /* another person behind the same browser: not theirs */
		session_end(s);
		session_release(s);
	}
	enum db_web_login why;
	bool admin;
	char msg[512];
	struct db_session *db =
		db_web_connect(conf.conninfo, who, NULL, conf.timezone, conf.connect_timeout_s,
				       conf.statement_timeout_ms, &why, &admin, msg, sizeof msg);
	if (!db) {
		log_notice("console: login of %s (by %s) refused: %s", who, conf.trusted_header, msg);
		return NULL;
	}
	struct web_session *n = session_open(db, who, admin, true);
	if (n) {
		log_info("console: %s logged in (by %s)", n->user, conf.trusted_header);
		r->cookie = session_cookie(c, n->id, false);
	}
	return n;
}

/* ---- routing ---- */

/* "/findings/123" → 123 and rest "", "/findings/123/ack" → rest "ack" */
static long long finding_path(const char *url, const char **rest)
{
	const char *p = url + strlen("/findings/");
	long long id = 0;
	int digits = 0;
	while (*p >= '0' && *p <= '9' && digits < 18) {
		id = id * 10 + (*p++ - '0');
		digits++;
	}
	if (!digits || id <= 0 || (*p && *p != '/'))
		return -1;
	*rest = *p ? p + 1 : p;
	return id;
}

static void route_get(struct MHD_Connection *c, const char *url, struct web_session *s, struct reply *r)
{
	const char *rest;
	if (!strcmp(url, "/findings"))
		page_findings(s, query_arg, c, r);
	else if (!strcmp(url, "/dashboard"))
		page_dashboard(s, query_arg, c, r);
	else if (!strcmp(url, "/export/findings.csv"))
		page_export(s, query_arg, c, r);
	else if (!strcmp(url, "/export/report.html"))
		page_report(s, query_arg, c, r);
	else if (!strncmp(url, "/findings/", 10) && finding_path(url, &rest) > 0 && !*rest)
		page_finding(s, finding_path(url, &rest), r);
	else if (!strncmp(url, "/findings/", 10) && finding_path(url, &rest) > 0) {
		r->allow = "POST";
		reply_message(r, 405, s, "请使用页面上的按钮", "Use the page's buttons",
			      "办理操作须通过表单提交（POST），不能通过链接（GET）。 A step is a form you send (POST), never a link.",
			      "请打开预警页面，用其中的表单办理。 Open the finding and use its form.");
	} else {
		reply_message(r, 404, s, "没有这个页面", "Not found", url, "");
	}
}

static void route_post(struct MHD_Connection *c, const char *url, struct conn_state *cs, struct web_session *s,
		       struct reply *r)
{
	struct form f;
	if (form_parse(&f, cs->body.data ? cs->body.data : "", cs->body.len) < 0) {
		reply_message(r, 400, s, "表单无法解析", "Bad form", "表单编码有误。 The form's encoding is wrong.", "");
		return;
	}
	/* every step carries the session's token, and comes from our own pages */
	const char *token = form_get(&f, "csrf");
	if (!token || !token_equal(token, s->csrf) || !same_origin(c)) {
		log_notice("console: %s: %s refused: %s", s->user, url, token ? "wrong CSRF token" : "no CSRF token");
		reply_message(r, 403, s, "请求已被拒绝", "Request refused",
			      "请求缺少有效的安全令牌（CSRF），可能来自其他网站或已失效的页面。"
			      " The request lacks this session's token: it came from another site or an old page.",
			      "请重新打开页面后再提交。 Open the page again and send the form from there.");
		form_free(&f);
		return;
	}
	const char *rest;
	long long id;
	if (!strcmp(url, "/logout")) {
		log_info("console: %s logged out", s->user);
		session_end(s);
		r->cookie = session_cookie(c, "", true);
		r->status = 303;
		r->location = xstrdup("/login");
	} else if (!strncmp(url, "/findings/", 10) && (id = finding_path(url, &rest)) > 0 && *rest) {
		page_step(s, id, rest, &f, r);
	} else {
		reply_message(r, 404, s, "没有这个操作", "Not found", url, "");
	}
	form_free(&f);
}

/* A request whose session is missing or ended: a page asks to log in
 * (the 303 says why); a POST is refused, never redirected. */
static void no_session(bool post, bool expired, struct reply *r)
{
	if (post) {
		reply_message(r, 401, NULL, expired ? "会话已过期" : "尚未登录", expired ? "Session expired" : "Not logged in",
			      expired ? "您的会话因长时间未操作已过期，本次操作未执行。 Your session expired; nothing was done."
				      : "请先登录。 Log in first; nothing was done.",
			      "请重新登录后再办理。 Log in again, then redo the step.");
		return;
	}
	r->status = 303;
	r->location = xstrdup(expired ? "/login?expired=1" : "/login");
}

static void dispatch(struct MHD_Connection *c, const char *url, const char *method, struct conn_state *cs,
		     struct reply *r)
{
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
	if (!get && !post) {
		reply_message(r, 405, NULL, "不支持的请求方法", "Method not allowed", method, "");
		return;
	}
	if (get && !strcmp(url, "/healthz")) {
		r->ctype = "text/plain; charset=utf-8";
		buf_printf(&r->body, "ok %d session(s)\n", sessions_count());
		return;
	}
	if (get && !strcmp(url, "/style.css")) {
		r->ctype = "text/css; charset=utf-8";
		r->cacheable = true;
		buf_puts(&r->body, web_css);
		return;
	}
	bool expired = false;
	struct web_session *s = session_find(MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE), &expired);
	if (conf.trusted_header)
		s = header_session(c, s, r);
	if (post && !strcmp(url, "/login")) {
		do_login(c, cs, s, r);
	} else if (get && !strcmp(url, "/login")) {
		if (!login_query_ok(c)) {
			page_login(r, 400, in_url_msg);
		} else if (s) {
			r->status = 303;
			r->location = xstrdup("/findings");
		} else {
			const char *e = query_arg(c, "expired");
			page_login(r, 200, e ? "会话已过期，请重新登录。 Your session expired: log in again." : NULL);
		}
	} else if (!s) {
		no_session(post, expired, r);
	} else if (get && !strcmp(url, "/")) {
		r->status = 303;
		r->location = xstrdup("/findings");
	} else {
		/* one statement at a time on a person's connection */
		pthread_mutex_lock(&s->mu);
		if (post)
			route_post(c, url, cs, s, r);
		else
			route_get(c, url, s, r);
		pthread_mutex_unlock(&s->mu);
	}
	session_release(s);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *data, size_t *size, void **st)
{
	(void)cls;
	(void)version;
	struct conn_state *cs = *st;
	struct reply r;
	if (!cs) {
		cs = *st = xcalloc(1, sizeof *cs);
		buf_init(&cs->body);
		const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (len && strtoull(len, NULL, 10) > MAX_BODY) {
			reply_init(&r);
			reply_message(&r, 413, NULL, "提交的内容过大", "Too large", "表单超过 16 KiB。 The form is over 16 KiB.",
				      "请缩短说明后再提交。 Shorten the note and send it again.");
			return send_reply(c, &r);
		}
		return MHD_YES;
	}
	if (*size) {
		if (cs->body.len + *size > MAX_BODY)
			cs->too_big = true;
		else
			buf_add(&cs->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	reply_init(&r);
	if (cs->too_big) {
		reply_message(&r, 413, NULL, "提交的内容过大", "Too large", "表单超过 16 KiB。 The form is over 16 KiB.",
			      "请缩短说明后再提交。 Shorten the note and send it again.");
		return send_reply(c, &r);
	}
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!strcmp(method, "POST") && (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33))) {
		reply_message(&r, 400, NULL, "表单格式不支持", "Unsupported form",
			      "表单须为 application/x-www-form-urlencoded。 Forms are application/x-www-form-urlencoded.", "");
		return send_reply(c, &r);
	}
	dispatch(c, url, method, cs, &r);
	return send_reply(c, &r);
}

/* ---- start ---- */

static struct MHD_Daemon *listen_on(const char *listen, int *port_out)
{
	struct sockaddr_storage ss;
	char host[64];
	const char *colon = strrchr(listen, ':');
	int port = colon ? atoi(colon + 1) : -1;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	memset(&ss, 0, sizeof ss);
	if (!colon || port < 0 || port > 65535 || (size_t)(colon - listen) >= sizeof host)
		return NULL;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (host[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		size_t n = strlen(host);
		if (n < 3 || host[n - 1] != ']')
			return NULL;
		host[n - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			return NULL;
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return NULL;
	}
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
	if (d) {
		const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
		*port_out = info ? info->port : port;
	}
	return d;
}

/* the port listened on, for a script that asked for any free one */
static void write_port(const char *path, int port)
{
	FILE *f = path ? fopen(path, "w") : NULL;
	if (f) {
		fprintf(f, "%d\n", port);
		fclose(f);
	} else if (path) {
		log_warn("cannot write the port to %s: %s", path, strerror(errno));
	}
}

static void usage(FILE *o)
{
	fprintf(o, "usage: qfweb -c FILE [-n] [-l ADDRESS:PORT] [--port-file FILE] [-v]\n"
		   "  the web console of qingfeng (qfweb(8)); FILE is qingfeng.conf(5)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"listen", required_argument, NULL, 'l'},
					     {"port-file", required_argument, NULL, 'P'},
					     {"verbose", no_argument, NULL, 'v'},
					     {"check", no_argument, NULL, 'n'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *path = NULL, *listen = NULL, *port_file = NULL;
	bool verbose = false, check = false;
	int o;
	while ((o = getopt_long(argc, argv, "c:l:nvh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'l': listen = optarg; break;
		case 'P': port_file = optarg; break;
		case 'v': verbose = true; break;
		case 'n': check = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE_;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return EX_USAGE_;
	}
	log_init("qfweb", verbose ? QF_LOG_DEBUG : QF_LOG_INFO);
	/* its memory holds people's passwords for the moment of a login */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warn("cannot turn off core dumps: %s", strerror(errno));
	/* no password but the person's own, ever: not the service's */
	unsetenv("PGPASSWORD");
	unsetenv("PGPASSFILE");
	unsetenv("PGUSER");
	struct diag d;
	diag_init(&d);
	struct qf_config *cfg = config_load(path, &d);
	if (!cfg) {
		diag_print(&d);
		diag_free(&d);
		return QF_EX_CONFIG;
	}
	diag_free(&d);
	log_set_level(verbose ? QF_LOG_DEBUG : cfg->log_level);
	conf = (struct web_conf){.conninfo = cfg->conninfo,
				 .timezone = cfg->timezone,
				 .connect_timeout_s = cfg->connect_timeout_s,
				 .statement_timeout_ms = cfg->statement_timeout_ms,
				 .listen = cfg->console.listen,
				 .url = cfg->console.url,
				 .trusted_header = cfg->console.trusted_header,
				 .idle_timeout_s = cfg->console.idle_timeout_s};
	if (listen)
		conf.listen = listen;
	conf.secure_cookie = conf.url && !strncmp(conf.url, "https://", 8);
	char why[256];
	if (db_web_check_conninfo(conf.conninfo, why, sizeof why) < 0) {
		fprintf(stderr, "qfweb: %s: %s\n", path, why);
		config_free(cfg);
		return QF_EX_CONFIG;
	}
	if (check) {
		printf("qfweb: %s: configuration OK (console on %s%s)\n", path, conf.listen,
		       conf.trusted_header ? ", logins by the proxy's header" : "");
		config_free(cfg);
		return 0;
	}
	sessions_init(conf.idle_timeout_s);

	/* the signals are this thread's, taken by sigtimedwait(); every
	 * thread libmicrohttpd starts inherits the mask */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int port = 0;
	struct MHD_Daemon *httpd = listen_on(conf.listen, &port);
	if (!httpd) {
		log_err("cannot listen on %s (console.listen: ADDRESS:PORT, free?)", conf.listen);
		config_free(cfg);
		return EX_UNAVAILABLE_;
	}
	write_port(port_file, port);
	if (conf.trusted_header && strncmp(conf.listen, "127.", 4) && strncmp(conf.listen, "[::1]", 5))
		log_warn("console.trusted_header is set and the console listens on %s: whoever reaches it can name any"
			 " role in %s; listen on the loopback address, behind the proxy alone",
			 conf.listen, conf.trusted_header);
	log_notice("listening on %.*s:%d%s", (int)(strrchr(conf.listen, ':') - conf.listen), conf.listen, port,
		   conf.trusted_header ? " (logins by the proxy's header)" : "");
	sd_notifyf(0, "READY=1\nSTATUS=listening on port %d", port);

	for (;;) {
		struct timespec ts = {.tv_sec = 5};
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		/* SIGHUP: nothing to re-read that a running session could take;
		 * the idle sessions end on the clock */
		sessions_sweep();
	}
	sd_notify(0, "STOPPING=1");
	log_notice("stopping: finishing the requests under way");
	MHD_stop_daemon(httpd);
	sessions_shutdown();
	config_free(cfg);
	log_notice("stopped");
	return 0;
}
