/* The console (qfweb): what its files share. qfweb.c serves HTTP
 * (libmicrohttpd, a thread per connection) and routes; qfweb_session.c
 * keeps the sessions (ids, CSRF tokens, idle timeout, each person's
 * connection); qfweb_pages.c renders the pages and runs the steps;
 * qfweb_html.c escapes and lays out HTML; qfweb_form.c reads forms. */
#ifndef QF_QFWEB_H
#define QF_QFWEB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct db_session;

/* the console's settings (the configuration's console section, and the
 * database's) */
struct web_conf {
	const char *conninfo;
	const char *timezone;
	int connect_timeout_s;
	int statement_timeout_ms;
	const char *listen;	    /* ADDR:PORT */
	const char *url;	    /* the public address, or NULL */
	const char *trusted_header; /* a proxy's header naming the logged-in role, or NULL */
	int idle_timeout_s;
	bool secure_cookie; /* the public address is https: cookies are Secure */
};

/* ---- sessions (qfweb_session.c) ---- */

#define WEB_ID_HEX 64 /* 256 bits */
struct web_session {
	char id[WEB_ID_HEX + 1];   /* the cookie's value */
	char csrf[WEB_ID_HEX + 1]; /* every form's token */
	char user[64];		   /* the PostgreSQL role */
	bool admin;
	bool by_header; /* opened by a trusted proxy's header */
	pthread_mutex_t mu; /* held while a request uses db: one person, one connection, one statement at a time */
	struct db_session *db;
	int64_t last_ms; /* monotonic time of the last request */
	int refs;
	bool dead;
};

void sessions_init(int idle_timeout_s);
/* a new session owning db, in the table, referenced once (release it) */
struct web_session *session_open(struct db_session *db, const char *user, bool admin, bool by_header);
/* the live session with this cookie value, referenced, its idle time
 * renewed; NULL when none (unknown or expired) */
struct web_session *session_find(const char *id, bool *expired);
void session_release(struct web_session *s);
/* ends it now (logout): its connection is closed once no request uses it */
void session_end(struct web_session *s);
/* ends the sessions idle for longer than the timeout */
void sessions_sweep(void);
void sessions_shutdown(void);
int sessions_count(void);
/* random hex of 2*n digits from getrandom(): 0, or -1 */
int random_hex(char *out, size_t n);
/* constant-time equality of two NUL-terminated strings */
bool token_equal(const char *a, const char *b);

/* ---- forms (qfweb_form.c) ---- */

struct form {
	int n;
	char *name[16], *value[16];
};
/* Parses an application/x-www-form-urlencoded body: 0, or -1 (bad
 * encoding, too many fields). */
int form_parse(struct form *f, const char *body, size_t len);
/* the first value of name, or NULL */
const char *form_get(const struct form *f, const char *name);
void form_free(struct form *f);
/* A text field fit to store: valid UTF-8, at most max bytes, no control
 * characters but newline and tab. */
bool field_text_ok(const char *v, size_t max);
/* a word of [A-Za-z0-9_.-], 1..max bytes (roles, rule ids) */
bool field_word_ok(const char *v, size_t max);

/* ---- HTML (qfweb_html.c) ---- */

/* the text, escaped for HTML text and attribute values */
void html_esc(struct buf *b, const char *s);
void html_escn(struct buf *b, const char *s, size_t n);
/* Starts a page: the header, the title (escaped), the navigation for a
 * logged-in session (with its logout form) or none. */
void page_begin(struct buf *b, const char *title_zh, const char *title_en, const struct web_session *s);
void page_end(struct buf *b);
/* a refusal or an error: what happened and what to do, both escaped */
void page_message(struct buf *b, const struct web_session *s, const char *title_zh, const char *title_en,
		  const char *what, const char *todo);
/* the hidden CSRF field of a session's form */
void html_csrf(struct buf *b, const struct web_session *s);
extern const char web_css[];
/* Chinese names of the vocabularies, "" when unknown */
const char *zh_status(const char *v);
const char *zh_level(const char *v);
const char *zh_light(const char *v);
const char *zh_outcome(const char *v);
const char *zh_disposition(const char *v);
const char *zh_action(const char *v);

/* ---- pages (qfweb_pages.c) ---- */

/* what a handler answers */
struct reply {
	unsigned status;
	struct buf body;
	const char *ctype;
	char *location;	   /* a 303's target */
	char *cookie;	   /* Set-Cookie */
	char disposition[128]; /* Content-Disposition, "" none */
	bool cacheable;	   /* a static resource: no no-store */
	const char *allow; /* a 405's Allow header */
};
/* query parameters by name (the request's), or NULL */
typedef const char *(*arg_fn)(void *ctx, const char *name);

void page_findings(struct web_session *s, arg_fn arg, void *ctx, struct reply *r);
void page_finding(struct web_session *s, long long id, struct reply *r);
void page_step(struct web_session *s, long long id, const char *step, const struct form *f, struct reply *r);
void page_dashboard(struct web_session *s, arg_fn arg, void *ctx, struct reply *r);
/* the dashboard as a standalone HTML file to keep (GET /export/report.html) */
void page_report(struct web_session *s, arg_fn arg, void *ctx, struct reply *r);
void page_export(struct web_session *s, arg_fn arg, void *ctx, struct reply *r);
/* the reply for a refusal: status, page */
void reply_message(struct reply *r, unsigned status, const struct web_session *s, const char *title_zh,
		   const char *title_en, const char *what, const char *todo);

#endif
