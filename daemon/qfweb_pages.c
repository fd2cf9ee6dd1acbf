/* The console's pages: the findings list, one finding with the steps the
 * person may take now, the steps themselves (the database functions
 * qfctl calls) and the CSV export. Each runs with the session's lock
 * held (qfweb.c): one person's connection serves one request at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "db.h"
#include "db_disposal.h"
#include "db_web.h"
#include "log.h"
#include "qfweb.h"

#define PAGE_ROWS 50
#define MAX_OFFSET_PAGES 100 /* beyond, the pages go on by key (before=) */
#define EXPORT_ROWS 50000
#define NOTE_MAX 4000

void reply_message(struct reply *r, unsigned status, const struct web_session *s, const char *title_zh,
		   const char *title_en, const char *what, const char *todo)
{
	r->status = status;
	buf_reset(&r->body);
	page_message(&r->body, s, title_zh, title_en, what, todo);
}

/* a statement failed: the connection is gone (log in again) or the
 * database refused it (its message, and what to do) */
static void db_failed(struct reply *r, struct web_session *s, char *err)
{
	if (!db_ok(s->db)) {
		session_end(s);
		reply_message(r, 503, NULL, "数据库连接已断开", "The database connection was lost",
			      err ? err : "no answer from the database",
			      "请重新登录；如果仍然失败，请联系系统管理员。 Log in again; if it fails again, call the administrator.");
	} else {
		log_warn("console: %s: %s", s->user, err ? err : "?");
		reply_message(r, 500, s, "数据库未能完成请求", "The database could not answer", err ? err : "?",
			      "请稍后再试，或把这段话发给系统管理员。 Try again later, or send this text to the administrator.");
	}
	free(err);
}

static bool one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(v, *set))
			return true;
	return false;
}

static const char *const statuses[] = {"open", "acknowledged", "reported", "resolved", "dismissed", NULL};
static const char *const levels[] = {"red", "orange", "yellow", NULL};
static const char *const lights[] = {"green", "yellow", "red", NULL};
static const char *const outcomes[] = {"substantiated", "partly", "unfounded", NULL};
static const char *const dispositions[] = {"talk", "criticism", "admonish", "transfer", "rectify", "none", NULL};

/* the filters of the query string, checked: NULL when fine, else the
 * name of the bad one */
static const char *read_filter(arg_fn arg, void *ctx, struct web_filter *f)
{
	memset(f, 0, sizeof *f);
	const char *v;
#define EMPTY_NULL(x) ((x) && *(x) ? (x) : NULL)
	if ((f->status = EMPTY_NULL(arg(ctx, "status"))) && !one_of(f->status, statuses))
		return "status";
	if ((f->level = EMPTY_NULL(arg(ctx, "level"))) && !one_of(f->level, levels))
		return "level";
	if ((f->light = EMPTY_NULL(arg(ctx, "light"))) && !one_of(f->light, lights))
		return "light";
	if ((v = f->rule = EMPTY_NULL(arg(ctx, "rule"))) && !field_word_ok(v, 40))
		return "rule";
	if ((v = f->owner = EMPTY_NULL(arg(ctx, "owner"))) && !field_word_ok(v, 63))
		return "owner";
#undef EMPTY_NULL
	return NULL;
}

static void bad_field(struct reply *r, const struct web_session *s, const char *field)
{
	char what[160];
	snprintf(what, sizeof what, "字段 %s 的值不合规 (the field %s has a value it cannot take).", field, field);
	reply_message(r, 400, s, "请求有误", "Bad request", what,
		      "请用页面上的表单或选项重新提交。 Use the page's form and its choices, then send it again.");
}

/* a positive integer of at most max, or -1 */
static long long parse_pos(const char *v, long long max)
{
	if (!v || !*v || strlen(v) > 18)
		return -1;
	long long n = 0;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n >= 1 && n <= max ? n : -1;
}

static void select_box(struct buf *b, const char *name, const char *label, const char *const *set,
		       const char *(*zh)(const char *), const char *cur)
{
	buf_printf(b, "<label>%s<select name=\"%s\"><option value=\"\">全部 any</option>", label, name);
	for (; *set; set++) {
		buf_printf(b, "<option value=\"%s\"%s>%s %s</option>", *set, cur && !strcmp(cur, *set) ? " selected" : "",
			   zh(*set), *set);
	}
	buf_puts(b, "</select></label>");
}

/* the filters as query parameters, escaped for an href */
static void filter_query(struct buf *b, const struct web_filter *f)
{
	const char *names[] = {"status", "level", "rule", "owner", "light"};
	const char *vals[] = {f->status, f->level, f->rule, f->owner, f->light};
	for (int i = 0; i < 5; i++)
		if (vals[i]) /* checked words: nothing to percent-encode */
			buf_printf(b, "%s=%s&amp;", names[i], vals[i]);
}

static void light_cell(struct buf *b, const char *light)
{
	buf_puts(b, "<td>");
	if (*light) {
		buf_printf(b, "<span class=\"light %s\"></span>%s <span class=\"en\">%s</span>", light, zh_light(light),
			   light);
	}
	buf_puts(b, "</td>");
}

static void level_badge(struct buf *b, const char *level)
{
	buf_printf(b, "<span class=\"lv %s\">%s %s</span>", level, zh_level(level), level);
}

static void list_filters(struct buf *b, const struct web_filter *f)
{
	buf_puts(b, "<form class=\"filters\" method=\"get\" action=\"/findings\">");
	select_box(b, "status", "状态 status", statuses, zh_status, f->status);
	select_box(b, "level", "等级 level", levels, zh_level, f->level);
	select_box(b, "light", "时限灯 light", lights, zh_light, f->light);
	buf_puts(b, "<label>规则 rule<input name=\"rule\" size=\"6\" value=\"");
	html_esc(b, f->rule);
	buf_puts(b, "\"></label><label>责任人 owner<input name=\"owner\" size=\"12\" value=\"");
	html_esc(b, f->owner);
	buf_puts(b, "\"></label><button type=\"submit\">筛选 Filter</button> <a href=\"/findings\">清除 clear</a></form>\n");
}

static void list_rows(struct buf *b, const struct db_table *t, int n)
{
	buf_puts(b, "<table class=\"findings\"><tr><th>编号<br><small>id</small></th><th>等级<br><small>level</small></th>"
		    "<th>状态<br><small>status</small></th><th>时限灯<br><small>light</small></th>"
		    "<th>规则<br><small>rule</small></th><th>标题<br><small>title</small></th>"
		    "<th>部门<br><small>department</small></th><th>人员<br><small>person</small></th>"
		    "<th>责任人<br><small>owner</small></th><th>发现时间<br><small>first seen</small></th>"
		    "<th>签收时限<br><small>sign by</small></th><th>办结时限<br><small>close by</small></th></tr>\n");
	for (int i = 0; i < n; i++) {
		const char *id = db_cell(t, i, 0);
		buf_printf(b, "<tr data-id=\"%s\"><td class=\"n\"><a href=\"/findings/%s\">%s</a></td><td>", id, id, id);
		level_badge(b, db_cell(t, i, 1));
		buf_printf(b, "</td><td>%s <span class=\"en\">%s</span></td>", zh_status(db_cell(t, i, 2)),
			   db_cell(t, i, 2));
		light_cell(b, db_cell(t, i, 11));
		buf_puts(b, "<td>");
		html_esc(b, db_cell(t, i, 3));
		buf_printf(b, "</td><td><a href=\"/findings/%s\">", id);
		html_esc(b, db_cell(t, i, 4));
		buf_puts(b, "</a></td>");
		for (int j = 5; j <= 10; j++) {
			buf_puts(b, "<td>");
			html_esc(b, db_cell(t, i, j));
			buf_puts(b, "</td>");
		}
		buf_puts(b, "</tr>\n");
	}
	buf_puts(b, "</table>\n");
}

void page_findings(struct web_session *s, arg_fn arg, void *ctx, struct reply *r)
{
	struct web_filter f;
	const char *bad = read_filter(arg, ctx, &f);
	long long page = arg(ctx, "page") ? parse_pos(arg(ctx, "page"), 1000000000LL) : 1;
	long long before = arg(ctx, "before") ? parse_pos(arg(ctx, "before"), 1LL << 62) : 0;
	if (bad || page < 0 || before < 0) {
		bad_field(r, s, bad ? bad : page < 0 ? "page" : "before");
		return;
	}
	if (!before && page > MAX_OFFSET_PAGES) {
		reply_message(r, 400, s, "页码太大", "Page too far",
			      "这么靠后的页只能用“下一页”链接翻到。 Pages this far are reached with the next-page links.",
			      "请缩小筛选范围（状态、等级、规则、责任人）。 Narrow the filters (status, level, rule, owner).");
		return;
	}
	char *err = NULL;
	struct db_table t;
	if (db_web_list(s->db, &f, before, before ? 0 : (int)(page - 1) * PAGE_ROWS, PAGE_ROWS + 1, &t, &err) < 0) {
		db_failed(r, s, err);
		return;
	}
	int n = t.nrows > PAGE_ROWS ? PAGE_ROWS : t.nrows;
	long seen = (before ? 0 : (page - 1) * PAGE_ROWS) + n;
	long count = seen;
	if (t.nrows > PAGE_ROWS || page > 1) { /* more than this page: estimated, never read through */
		count = db_web_estimate(s->db, &f, &err);
		if (count < 0) {
			db_table_clear(&t);
			db_failed(r, s, err);
			return;
		}
	}
	struct buf *b = &r->body;
	page_begin(b, "预警列表", "Findings", s);
	list_filters(b, &f);
	if (t.nrows > PAGE_ROWS || page > 1)
		buf_printf(b, "<p class=\"count\">约 %ld 条 <span class=\"en\">about %ld findings (estimated)</span>"
			      "，第 %lld 页 <span class=\"en\">page %lld</span></p>",
			   count > seen ? count : seen, count > seen ? count : seen, page, page);
	else
		buf_printf(b, "<p class=\"count\">共 %ld 条 <span class=\"en\">%ld findings</span>，第 %lld 页 "
			      "<span class=\"en\">page %lld</span></p>",
			   count, count, page, page);
	list_rows(b, &t, n);
	buf_puts(b, "<p class=\"pager\">");
	if (page > 1 && page - 1 <= MAX_OFFSET_PAGES) {
		buf_puts(b, "<a rel=\"prev\" href=\"/findings?");
		filter_query(b, &f);
		buf_printf(b, "page=%lld\">上一页 previous</a>", page - 1);
	}
	if (t.nrows > PAGE_ROWS) {
		buf_puts(b, "<a rel=\"next\" href=\"/findings?");
		filter_query(b, &f);
		buf_printf(b, "page=%lld&amp;before=%s\">下一页 next</a>", page + 1, db_cell(&t, n - 1, 0));
	}
	buf_puts(b, "<a href=\"/export/findings.csv?");
	filter_query(b, &f);
	buf_puts(b, "\">导出本筛选的 CSV <span class=\"en\">export these as CSV</span></a></p>");
	page_end(b);
	db_table_clear(&t);
}

/* ---- one finding ---- */

static void dl_item(struct buf *b, const char *zh, const char *en, const char *v)
{
	buf_printf(b, "<dt>%s <small>%s</small></dt><dd>", zh, en);
	html_esc(b, v);
	buf_puts(b, "</dd>");
}

static void finding_facts(struct buf *b, const struct db_table *t)
{
	buf_puts(b, "<dl class=\"facts\">");
	buf_puts(b, "<dt>等级 <small>level</small></dt><dd>");
	level_badge(b, db_cell(t, 0, FW_LEVEL));
	buf_printf(b, "</dd><dt>状态 <small>status</small></dt><dd class=\"status\" data-status=\"%s\">%s %s</dd>",
		   db_cell(t, 0, FW_STATUS), zh_status(db_cell(t, 0, FW_STATUS)), db_cell(t, 0, FW_STATUS));
	buf_puts(b, "<dt>时限灯 <small>light</small></dt><dd>");
	if (*db_cell(t, 0, FW_LIGHT))
		buf_printf(b, "<span class=\"light %s\"></span>%s %s", db_cell(t, 0, FW_LIGHT),
			   zh_light(db_cell(t, 0, FW_LIGHT)), db_cell(t, 0, FW_LIGHT));
	buf_puts(b, "</dd>");
	dl_item(b, "规则", "rule", db_cell(t, 0, FW_RULE));
	dl_item(b, "规则版本", "rule version", db_cell(t, 0, FW_VERSION));
	buf_printf(b, "<dt>423 <small>supervision / risk / duty</small></dt><dd>%s / %s / %s</dd>",
		   db_cell(t, 0, FW_SUPERVISION), db_cell(t, 0, FW_RISK), db_cell(t, 0, FW_DUTY));
	dl_item(b, "部门", "department", db_cell(t, 0, FW_DEPARTMENT));
	dl_item(b, "人员", "person", db_cell(t, 0, FW_PERSON));
	dl_item(b, "责任人", "owner", db_cell(t, 0, FW_OWNER));
	dl_item(b, "签收时限", "sign by", db_cell(t, 0, FW_SIGN_DUE));
	dl_item(b, "办结时限", "close by", db_cell(t, 0, FW_CLOSE_DUE));
	dl_item(b, "首次发现", "first seen", db_cell(t, 0, FW_FIRST));
	dl_item(b, "最近命中", "last seen", db_cell(t, 0, FW_LAST));
	dl_item(b, "命中次数", "hits", db_cell(t, 0, FW_HITS));
	const char *o = db_cell(t, 0, FW_OUTCOME), *d = db_cell(t, 0, FW_DISPOSITION);
	buf_printf(b, "<dt>核查结论 <small>outcome</small></dt><dd class=\"outcome\">%s %s</dd>", zh_outcome(o), o);
	buf_printf(b, "<dt>处置方式 <small>disposition</small></dt><dd>%s %s</dd>", zh_disposition(d), d);
	buf_puts(b, "</dl>\n<h2>预警内容 <small>message</small></h2><pre class=\"message\">");
	html_esc(b, db_cell(t, 0, FW_MESSAGE));
	buf_puts(b, "</pre>\n");
}

static void evidence_table(struct buf *b, const struct db_table *e)
{
	buf_puts(b, "<h2>证据 <small>evidence</small></h2><table class=\"evidence\"><tr><th>字段 field</th><th>值 value</th></tr>");
	for (int i = 0; i < e->nrows; i++) {
		buf_puts(b, "<tr><th>");
		html_esc(b, db_cell(e, i, 0));
		buf_puts(b, "</th><td><pre>");
		html_esc(b, db_cell(e, i, 1));
		buf_puts(b, "</pre></td></tr>");
	}
	buf_puts(b, "</table>\n");
}

static void history_table(struct buf *b, const struct db_table *h)
{
	int broken = 0, unknown = 0;
	for (int i = 0; i < h->nrows; i++) {
		broken += strcmp(db_cell(h, i, 7), "t") != 0 || !strcmp(db_cell(h, i, 8), "f");
		unknown += !*db_cell(h, i, 8) && strcmp(db_cell(h, i, 0), "1");
	}
	buf_puts(b, "<h2>处置记录 <small>history</small></h2>");
	if (broken)
		buf_printf(b, "<p class=\"chain bad\" data-chain=\"broken\">哈希链校验失败：%d 条记录与其哈希不符或断链。"
			      " <span class=\"en\">The hash chain does not verify: %d events are changed or unlinked.</span>"
			      " 请立即报告系统管理员（qfctl audit verify）。</p>",
			   broken, broken);
	else
		buf_printf(b, "<p class=\"chain ok\" data-chain=\"intact\">哈希链校验通过 <span class=\"en\">hash chain "
			      "verified</span>：本预警的 %d 条记录内容与哈希一致%s。</p>",
			   h->nrows,
			   unknown ? "；部分前序记录属于您无权查看的预警，由 qfctl audit verify 全链校验 (links to events "
				     "outside your scope are checked by qfctl audit verify)"
				   : "，且逐条相连 (each linked to the one before)");
	buf_puts(b, "<table class=\"history\"><tr><th>序号 seq</th><th>时间 at</th><th>操作人 actor</th>"
		    "<th>操作 action</th><th>等级 level</th><th>说明 note</th><th>哈希 hash</th><th>校验 check</th></tr>\n");
	for (int i = 0; i < h->nrows; i++) {
		const char *act = db_cell(h, i, 3);
		bool ok = !strcmp(db_cell(h, i, 7), "t") && strcmp(db_cell(h, i, 8), "f");
		buf_printf(b, "<tr data-action=\"%s\"><td class=\"n\">%s</td><td>%s</td><td>", act, db_cell(h, i, 0),
			   db_cell(h, i, 1));
		html_esc(b, db_cell(h, i, 2));
		buf_printf(b, "</td><td>%s <span class=\"en\">", zh_action(act));
		html_esc(b, act);
		buf_printf(b, "</span></td><td>%s</td><td>", db_cell(h, i, 4));
		html_esc(b, db_cell(h, i, 5));
		buf_printf(b, "</td><td><code>%s</code></td><td class=\"%s\">%s</td></tr>\n", db_cell(h, i, 6),
			   ok ? "ok" : "bad", ok ? "✓" : "✗");
	}
	buf_puts(b, "</table>\n");
}

static void step_form(struct buf *b, const struct web_session *s, const char *id, const char *step, const char *zh,
		      const char *en, bool note_required)
{
	buf_printf(b, "<form class=\"step\" id=\"step-%s\" method=\"post\" action=\"/findings/%s/%s\">", step, id, step);
	html_csrf(b, s);
	buf_printf(b, "<strong>%s</strong> <small>%s</small>", zh, en);
	if (!strcmp(step, "feedback")) {
		buf_puts(b, "<p><label>核查结论 outcome <select name=\"outcome\" required>");
		for (const char *const *o = outcomes; *o; o++)
			buf_printf(b, "<option value=\"%s\">%s %s</option>", *o, zh_outcome(*o), *o);
		buf_puts(b, "</select></label> <label>处置方式 disposition <select name=\"disposition\" required>");
		for (const char *const *d = dispositions; *d; d++)
			buf_printf(b, "<option value=\"%s\">%s %s</option>", *d, zh_disposition(*d), *d);
		buf_puts(b, "</select></label></p>");
	}
	if (!strcmp(step, "assign"))
		buf_puts(b, "<p><label>转给 to (PostgreSQL role) <input name=\"to\" required maxlength=\"63\"></label></p>");
	buf_printf(b, "<p><label>说明 note%s<br><textarea name=\"note\" maxlength=\"%d\"%s></textarea></label></p>",
		   note_required ? "（必填 required）" : "", NOTE_MAX, note_required ? " required" : "");
	buf_printf(b, "<button type=\"submit\">%s %s</button></form>\n", zh, en);
}

/* whether the comma-separated list has the word */
static bool has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* the steps the person may take now, as the database says
 * (qf.disposal_actions: scope, owner, stage, four eyes); it checks them
 * again when one is taken */
static void finding_steps(struct buf *b, const struct web_session *s, const struct db_table *t)
{
	const char *id = db_cell(t, 0, FW_ID), *st = db_cell(t, 0, FW_STATUS), *can = db_cell(t, 0, FW_ACTIONS);
	buf_printf(b, "<h2>可办理的操作 <small>what you can do now</small></h2><div class=\"steps\" data-steps=\"%s\">", can);
	if (has_word(can, "ack"))
		step_form(b, s, id, "ack", "签收", "Sign for it (acknowledge)", false);
	if (has_word(can, "feedback"))
		step_form(b, s, id, "feedback", "反馈核查结果", "Report what the check found", true);
	if (has_word(can, "close"))
		step_form(b, s, id, "close", "办结", "Close", false);
	else if (!strcmp(st, "reported") && !strcmp(db_cell(t, 0, FW_REPORTER), s->user))
		buf_puts(b, "<p class=\"foureyes\">核查结果由您反馈，须由另一位审核人办结（双人复核）。 <span class=\"en\">You "
			    "gave the feedback: another person closes it (four eyes).</span></p>");
	if (has_word(can, "reopen"))
		step_form(b, s, id, "reopen", "重新打开", "Reopen", true);
	if (has_word(can, "assign"))
		step_form(b, s, id, "assign", "转办", "Assign to another owner", true);
	if (!*can)
		buf_puts(b, "<p>此阶段您没有可办理的操作。 <span class=\"en\">Nothing for you to do at this stage.</span></p>");
	buf_puts(b, "</div>");
}

void page_finding(struct web_session *s, long long id, struct reply *r)
{
	char *err = NULL;
	struct db_table t, e, h;
	if (db_web_finding(s->db, id, &t, &err) < 0) {
		db_failed(r, s, err);
		return;
	}
	if (t.nrows != 1) {
		db_table_clear(&t);
		reply_message(r, 403, s, "无法查看", "Not available",
			      "没有这条预警，或它不在您的查看范围内。 There is no such finding, or it is outside your scope.",
			      "如需查看，请联系管理员调整您的范围（qfctl scope）。 Ask an administrator to widen your scope if you need it.");
		return;
	}
	if (db_web_evidence(s->db, id, &e, &err) < 0) {
		db_table_clear(&t);
		db_failed(r, s, err);
		return;
	}
	if (db_web_history(s->db, id, &h, &err) < 0) {
		db_table_clear(&t);
		db_table_clear(&e);
		db_failed(r, s, err);
		return;
	}
	char title[64];
	snprintf(title, sizeof title, "预警 %lld", id);
	struct buf *b = &r->body;
	page_begin(b, title, db_cell(&t, 0, FW_TITLE), s);
	buf_puts(b, "<p class=\"title\">");
	html_esc(b, db_cell(&t, 0, FW_TITLE));
	buf_puts(b, "</p>");
	finding_facts(b, &t);
	evidence_table(b, &e);
	history_table(b, &h);
	finding_steps(b, s, &t);
	page_end(b);
	db_table_clear(&t);
	db_table_clear(&e);
	db_table_clear(&h);
}

/* ---- the steps ---- */

/* the database's refusal as a page: 403 scope or four eyes, 409 stage,
 * 400 a field; its message says which */
static void step_refused(struct reply *r, struct web_session *s, long long id, const char *code, char *err)
{
	char todo[256];
	snprintf(todo, sizeof todo, "返回预警 %lld 查看其当前状态。 Go back to finding %lld to see where it stands.", id, id);
	if (!strcmp(code, "P0002") || !strcmp(code, "42501"))
		reply_message(r, 403, s, "不允许此操作", "Not permitted", err, todo);
	else if (!strcmp(code, "55000"))
		reply_message(r, 409, s, "当前阶段不能办理此操作", "Not at this stage", err, todo);
	else if (!strncmp(code, "22", 2) || !strncmp(code, "23", 2))
		reply_message(r, 400, s, "填写有误", "A field is wrong", err, todo);
	else {
		db_failed(r, s, err);
		return;
	}
	free(err);
}

void page_step(struct web_session *s, long long id, const char *step, const struct form *f, struct reply *r)
{
	static const char *const names[] = {"ack", "feedback", "close", "reopen", "assign", NULL};
	int k = 0;
	while (names[k] && strcmp(names[k], step))
		k++;
	if (!names[k]) {
		reply_message(r, 404, s, "没有这个操作", "No such step", step, "");
		return;
	}
	const char *note = form_get(f, "note"), *outcome = form_get(f, "outcome"),
		   *disposition = form_get(f, "disposition"), *to = form_get(f, "to");
	if (note && !field_text_ok(note, NOTE_MAX)) {
		bad_field(r, s, "note");
		return;
	}
	if (k == STEP_FEEDBACK && (!outcome || !one_of(outcome, outcomes))) {
		bad_field(r, s, "outcome");
		return;
	}
	if (k == STEP_FEEDBACK && (!disposition || !one_of(disposition, dispositions))) {
		bad_field(r, s, "disposition");
		return;
	}
	if (k == STEP_ASSIGN && (!to || !field_word_ok(to, 63))) {
		bad_field(r, s, "to");
		return;
	}
	char code[6], *err = NULL, *action = NULL;
	/* the same call as qfctl's: names[] is in the order of enum disposal_step */
	const struct step_args a = {.id = id, .note = note && *note ? note : NULL, .outcome = outcome,
				    .disposition = disposition, .to = to};
	if (db_disposal_step(s->db, (enum disposal_step)k, &a, &action, &err, code) < 0) {
		log_info("console: %s: %s of finding %lld refused (%s)", s->user, step, id, code);
		step_refused(r, s, id, code, err);
		return;
	}
	free(action);
	log_info("console: %s: %s of finding %lld", s->user, step, id);
	r->status = 303;
	char loc[64];
	snprintf(loc, sizeof loc, "/findings/%lld", id);
	r->location = xstrdup(loc);
}

/* ---- the export ---- */

void page_export(struct web_session *s, arg_fn arg, void *ctx, struct reply *r)
{
	struct web_filter f;
	const char *bad = read_filter(arg, ctx, &f);
	if (bad) {
		bad_field(r, s, bad);
		return;
	}
	char *err = NULL;
	struct db_table t;
	if (db_web_export(s->db, &f, EXPORT_ROWS, &t, &err) < 0) {
		db_failed(r, s, err);
		return;
	}
	static const char *const heads[] = {
		"ID", "LEVEL", "STATUS", "RULE", "TITLE", "DEPARTMENT", "PERSON", "OWNER", "FIRST SEEN", "SIGN DUE",
		"CLOSE DUE", "LIGHT", "HITS", "SUPERVISION", "RISK", "DUTY", "AMOUNT", "TABLE", "RECORD KEY",
		"OUTCOME", "DISPOSITION", "MESSAGE", "EVIDENCE"};
	int nh = (int)(sizeof heads / sizeof heads[0]);
	struct buf *b = &r->body;
	buf_puts(b, CSV_EXCEL_BOM);
	for (int j = 0; j < nh; j++)
		csv_cell(b, heads[j], CSV_TEXT, j + 1 == nh);
	for (int i = 0; i < t.nrows; i++)
		for (int j = 0; j < nh && j < t.ncols; j++) {
			/* the id, the hits and the amount are typed numbers */
			bool num = j == 0 || j == 12 || j == 16;
			csv_cell(b, db_cell(&t, i, j), num ? CSV_NUMBER : CSV_TEXT, j + 1 == nh);
		}
	db_table_clear(&t);
	r->ctype = "text/csv; charset=utf-8";
	snprintf(r->disposition, sizeof r->disposition, "attachment; filename=\"findings.csv\"");
}
