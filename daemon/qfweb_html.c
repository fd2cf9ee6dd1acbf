/* HTML of the console: every value escaped on its way out, one small
 * style sheet (/style.css), no script. zh-CN first, English beside it. */
#include <string.h>

#include "qfweb.h"

void html_escn(struct buf *b, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: break;
		}
		if (rep) {
			buf_add(b, s + start, i - start);
			buf_puts(b, rep);
			start = i + 1;
		}
	}
	buf_add(b, s + start, n - start);
}

void html_esc(struct buf *b, const char *s)
{
	html_escn(b, s ? s : "", s ? strlen(s) : 0);
}

const char web_css[] =
	"body{font:14px/1.45 \"Noto Sans CJK SC\",\"Noto Sans SC\",\"Microsoft YaHei\",sans-serif;margin:0;color:#222;"
	"background:#fafafa}"
	"header{background:#1f4e3d;color:#fff;padding:8px 20px;display:flex;gap:18px;align-items:center;flex-wrap:wrap}"
	"header a{color:#fff;text-decoration:none}header .en{color:#cfe3da}header .brand{font-weight:700;font-size:16px}"
	"header form{margin-left:auto}header .who{opacity:.85}main{padding:12px 20px;max-width:1400px}"
	"h1{font-size:20px;margin:6px 0}h2{font-size:16px;margin:16px 0 6px;border-bottom:1px solid #ddd}"
	"small,.en{color:#666;font-weight:normal}table{border-collapse:collapse;margin:6px 0;background:#fff}"
	"td,th{border:1px solid #d4d4d4;padding:3px 7px;vertical-align:top;text-align:left}"
	"th{background:#eef2ef;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}"
	"td.zero{color:#aaa}.lv{display:inline-block;white-space:nowrap;padding:0 6px;border-radius:3px;color:#fff;font-size:12px}"
	".lv.red{background:#c0392b}.lv.orange{background:#e67e22}.lv.yellow{background:#d4ac0d;color:#222}"
	".light{display:inline-block;width:.8em;height:.8em;border-radius:50%;vertical-align:-1px;margin-right:3px}"
	".light.green{background:#27ae60}.light.yellow{background:#f1c40f}.light.red{background:#c0392b}"
	"td.red{background:#f6d5d1}td.orange{background:#fbe0c3}td.yellow{background:#fbf0bd}td.sum{font-weight:600}"
	"form.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:end;margin:6px 0}"
	"form.filters label{display:flex;flex-direction:column;font-size:12px;color:#444}"
	"form.step{border:1px solid #ccd;background:#fff;padding:8px 12px;margin:8px 0;max-width:720px}"
	"form.step textarea{width:100%;min-height:3.5em}button{padding:3px 12px;cursor:pointer}"
	".msg{border-left:4px solid #c0392b;background:#fff;padding:8px 14px;max-width:760px}"
	".ok{color:#1e8449}.bad{color:#c0392b;font-weight:600}.pager{margin:8px 0;display:flex;gap:14px}"
	"pre{white-space:pre-wrap;word-break:break-all;margin:0}dl{display:grid;grid-template-columns:max-content auto;"
	"gap:2px 14px}dt{color:#555}dd{margin:0}.bar{display:inline-block;height:10px;vertical-align:middle}"
	".bar.red{background:#c0392b}.bar.orange{background:#e67e22}.bar.yellow{background:#d4ac0d}"
	"@media print{header form,form.step,form.filters{display:none}}";

void page_begin(struct buf *b, const char *title_zh, const char *title_en, const struct web_session *s)
{
	buf_puts(b, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		    "<link rel=\"stylesheet\" href=\"/style.css\"><title>");
	html_esc(b, title_zh);
	buf_puts(b, " · 清风 qingfeng</title></head><body><header><span class=\"brand\">清风 qingfeng</span>");
	if (s) {
		buf_puts(b, "<a href=\"/findings\">预警 <span class=\"en\">Findings</span></a>"
			    "<a href=\"/dashboard\">看板 <span class=\"en\">Dashboard</span></a>"
			    "<a href=\"/export/findings.csv\">导出 <span class=\"en\">CSV</span></a>"
			    "<span class=\"who\">");
		html_esc(b, s->user);
		buf_puts(b, s->admin ? " (qf_admin)" : " (qf_auditor)");
		buf_puts(b, "</span>");
		if (!s->by_header) {
			buf_puts(b, "<form method=\"post\" action=\"/logout\">");
			html_csrf(b, s);
			buf_puts(b, "<button type=\"submit\">退出 Log out</button></form>");
		}
	}
	buf_puts(b, "</header><main><h1>");
	html_esc(b, title_zh);
	buf_puts(b, " <small>");
	html_esc(b, title_en);
	buf_puts(b, "</small></h1>\n");
}

void page_end(struct buf *b)
{
	buf_puts(b, "</main></body></html>\n");
}

void html_csrf(struct buf *b, const struct web_session *s)
{
	buf_puts(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	html_esc(b, s->csrf);
	buf_puts(b, "\">");
}

void page_message(struct buf *b, const struct web_session *s, const char *title_zh, const char *title_en,
		  const char *what, const char *todo)
{
	page_begin(b, title_zh, title_en, s);
	buf_puts(b, "<div class=\"msg\"><p class=\"what\">");
	html_esc(b, what);
	buf_puts(b, "</p>");
	if (todo && *todo) {
		buf_puts(b, "<p class=\"todo\">");
		html_esc(b, todo);
		buf_puts(b, "</p>");
	}
	buf_puts(b, "<p><a href=\"/findings\">返回预警列表 Back to the findings</a></p></div>");
	page_end(b);
}

struct vocab {
	const char *en, *zh;
};

static const char *lookup(const struct vocab *v, const char *s)
{
	for (; v->en; v++)
		if (s && !strcmp(v->en, s))
			return v->zh;
	return "";
}

const char *zh_status(const char *v)
{
	static const struct vocab t[] = {{"open", "待签收"},	   {"acknowledged", "核查中"}, {"reported", "已反馈"},
					 {"resolved", "办结(属实)"}, {"dismissed", "办结(不属实)"}, {NULL, NULL}};
	return lookup(t, v);
}

const char *zh_level(const char *v)
{
	static const struct vocab t[] = {{"red", "红"}, {"orange", "橙"}, {"yellow", "黄"}, {NULL, NULL}};
	return lookup(t, v);
}

const char *zh_light(const char *v)
{
	static const struct vocab t[] = {{"green", "按时"}, {"yellow", "临期"}, {"red", "超期"}, {NULL, NULL}};
	return lookup(t, v);
}

const char *zh_outcome(const char *v)
{
	static const struct vocab t[] = {
		{"substantiated", "属实"}, {"partly", "部分属实"}, {"unfounded", "不属实"}, {NULL, NULL}};
	return lookup(t, v);
}

const char *zh_disposition(const char *v)
{
	static const struct vocab t[] = {{"talk", "谈话提醒"},	{"criticism", "批评教育"}, {"admonish", "诫勉"},
					 {"transfer", "移交/移送"}, {"rectify", "责令整改"},	{"none", "予以了结"},
					 {NULL, NULL}};
	return lookup(t, v);
}

const char *zh_action(const char *v)
{
	static const struct vocab t[] = {{"created", "发现"},	    {"retriggered", "再次命中"}, {"escalated", "升级"},
					 {"reminded", "提醒"},	    {"acknowledged", "签收"},	 {"assigned", "转办"},
					 {"reported", "反馈"},	    {"resolved", "办结(属实)"}, {"dismissed", "办结(不属实)"},
					 {"reopened", "重新打开"}, {"overdue", "督办(超期)"}, {NULL, NULL}};
	return lookup(t, v);
}
