/* The console's dashboard: 查实率 and the on-time rates of a period (by
 * qf.disposal_measures, the figures of qfctl report), the findings late
 * now, and the 423 matrix and the daily trend of the findings first seen
 * in the period (one read of them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_ops.h"
#include "db_web.h"
#include "qfweb.h"

static const struct {
	const char *en, *zh;
} v_sup[] = {{"technical", "技术监督"}, {"financial", "财务监督"}, {"disciplinary", "纪律监督"}},
  v_risk[] = {{"technical", "技术性风险"}, {"non-technical", "非技术性风险"}},
  v_duty[] = {{"primary", "主体责任"}, {"supervisory", "监督责任"}, {"dual-duty", "一岗双责"}, {"impartiality", "公正性"}},
  v_lv[] = {{"red", "红"}, {"orange", "橙"}, {"yellow", "黄"}};

static int idx(const char *v, int n, int which)
{
	for (int i = 0; i < n; i++) {
		const char *en = which == 0 ? v_sup[i].en : which == 1 ? v_risk[i].en : which == 2 ? v_duty[i].en : v_lv[i].en;
		if (!strcmp(v, en))
			return i;
	}
	return -1;
}

/* a YYYY-MM-DD date, or NULL */
static bool is_date(const char *v)
{
	if (!v || strlen(v) != 10)
		return false;
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? v[i] != '-' : (v[i] < '0' || v[i] > '9'))
			return false;
	return true;
}

static void pct(struct buf *b, long num, long den)
{
	if (den > 0)
		buf_printf(b, "%.1f%%", 100.0 * (double)num / (double)den);
	else
		buf_puts(b, "–");
}

/* the measures: the period's figures, then per rule and per department */
static void measures(struct buf *b, const struct db_table *m)
{
	buf_puts(b, "<h2>处置成效 <small>disposal measures</small></h2>");
	for (int pass = 0; pass < 3; pass++) {
		static const char *const g[] = {"all", "rule", "department"};
		static const char *const gzh[] = {"全部", "按规则 by rule", "按部门 by department"};
		bool any = false;
		for (int i = 0; i < m->nrows; i++) {
			if (strcmp(db_cell(m, i, 0), g[pass]))
				continue;
			if (!any) {
				buf_printf(b, "<table class=\"measures\" data-grouping=\"%s\"><tr><th>%s</th><th>办结<br><small>closed</small></th>"
					      "<th>属实(含部分)<br><small>substantiated</small></th><th>查实率<br><small>rate</small></th>"
					      "<th>按时办结率<br><small>closed on time</small></th><th>按时签收率<br><small>signed on time</small></th>"
					      "<th>当前超期<br><small>overdue now</small></th><th>办结天数中位数<br><small>median days</small></th></tr>",
					   g[pass], gzh[pass]);
				any = true;
			}
			long closed = atol(db_cell(m, i, 2)), ontime = atol(db_cell(m, i, 5));
			long signed_ = atol(db_cell(m, i, 6)), signed_ontime = atol(db_cell(m, i, 7));
			buf_puts(b, "<tr><th>");
			html_esc(b, pass ? db_cell(m, i, 1) : "合计 total");
			buf_printf(b, "</th><td class=\"n closed\">%ld</td><td class=\"n\">%s</td><td class=\"n rate\" data-rate=\"%s\">%s%s</td>"
				      "<td class=\"n\">",
				   closed, db_cell(m, i, 3), db_cell(m, i, 4), db_cell(m, i, 4), *db_cell(m, i, 4) ? "%" : "–");
			pct(b, ontime, closed);
			buf_puts(b, "</td><td class=\"n\">");
			pct(b, signed_ontime, signed_);
			buf_printf(b, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>", db_cell(m, i, 8),
				   *db_cell(m, i, 9) ? db_cell(m, i, 9) : "–");
		}
		if (any)
			buf_puts(b, "</table>\n");
	}
}

static void overdue(struct buf *b, const struct db_table *o)
{
	buf_printf(b, "<h2>超期督办 <small>overdue now</small></h2>");
	if (!o->nrows) {
		buf_puts(b, "<p>目前没有超期的预警。 <span class=\"en\">Nothing is late.</span></p>");
		return;
	}
	buf_puts(b, "<table class=\"overdue\"><tr><th>编号 id</th><th>等级 level</th><th>规则 rule</th><th>标题 title</th>"
		    "<th>责任人 owner</th><th>部门 department</th><th>状态 status</th><th>时限 due</th><th>超期天数 days late</th></tr>");
	for (int i = 0; i < o->nrows; i++) {
		const char *id = db_cell(o, i, 0);
		buf_printf(b, "<tr><td class=\"n\"><a href=\"/findings/%s\">%s</a></td><td><span class=\"lv %s\">%s</span></td><td>",
			   id, id, db_cell(o, i, 1), zh_level(db_cell(o, i, 1)));
		for (int j = 2; j <= 5; j++) {
			html_esc(b, db_cell(o, i, j));
			buf_puts(b, "</td><td>");
		}
		buf_printf(b, "%s</td><td>%s</td><td class=\"n\">%s</td></tr>", zh_status(db_cell(o, i, 6)), db_cell(o, i, 7),
			   db_cell(o, i, 8));
	}
	buf_puts(b, "</table>\n");
}

static void matrix(struct buf *b, const struct db_table *r)
{
	long n[3][2][4][3] = {{{{0}}}}, tot = 0;
	for (int i = 0; i < r->nrows; i++) {
		int s = idx(db_cell(r, i, 0), 3, 0), k = idx(db_cell(r, i, 1), 2, 1), d = idx(db_cell(r, i, 2), 4, 2),
		    l = idx(db_cell(r, i, 3), 3, 3);
		if (s >= 0 && k >= 0 && d >= 0 && l >= 0) {
			n[s][k][d][l] += atol(db_cell(r, i, 5));
			tot += atol(db_cell(r, i, 5));
		}
	}
	buf_printf(b, "<h2>423 矩阵 <small>the 423 matrix: findings first seen in the period (%ld)</small></h2>", tot);
	buf_puts(b, "<table class=\"grid\"><tr><th colspan=\"2\" rowspan=\"2\">三个监督 × 两大风险<br><small>supervision × risk</small></th>");
	for (int d = 0; d < 4; d++)
		buf_printf(b, "<th colspan=\"3\">%s<br><small>%s</small></th>", v_duty[d].zh, v_duty[d].en);
	buf_puts(b, "</tr><tr>");
	for (int d = 0; d < 4; d++)
		for (int l = 0; l < 3; l++)
			buf_printf(b, "<th>%s</th>", v_lv[l].zh);
	buf_puts(b, "</tr>\n");
	for (int s = 0; s < 3; s++)
		for (int k = 0; k < 2; k++) {
			buf_puts(b, "<tr>");
			if (k == 0)
				buf_printf(b, "<th rowspan=\"2\">%s<br><small>%s</small></th>", v_sup[s].zh, v_sup[s].en);
			buf_printf(b, "<th>%s <small>%s</small></th>", v_risk[k].zh, v_risk[k].en);
			for (int d = 0; d < 4; d++)
				for (int l = 0; l < 3; l++) {
					long v = n[s][k][d][l];
					buf_printf(b, "<td class=\"n %s\" data-cell=\"%s/%s/%s/%s\">%ld</td>", v ? v_lv[l].en : "zero",
						   v_sup[s].en, v_risk[k].en, v_duty[d].en, v_lv[l].en, v);
				}
			buf_puts(b, "</tr>\n");
		}
	buf_puts(b, "</table>\n");
}

struct day {
	char date[11];
	long lv[3], closed;
};

static int day_cmp(const void *a, const void *b)
{
	return strcmp(((const struct day *)a)->date, ((const struct day *)b)->date);
}

/* the period's findings per day and level, from the period's counts */
static int days_of(const struct db_table *r, struct day *v, int max)
{
	int n = 0;
	for (int i = 0; i < r->nrows; i++) {
		const char *date = db_cell(r, i, 4);
		int l = idx(db_cell(r, i, 3), 3, 3), k;
		for (k = 0; k < n && strcmp(v[k].date, date); k++)
			;
		if (k == n) {
			if (n == max)
				continue;
			memset(&v[n], 0, sizeof v[n]);
			snprintf(v[n].date, sizeof v[n].date, "%s", date);
			n++;
		}
		if (l >= 0)
			v[k].lv[l] += atol(db_cell(r, i, 5));
		v[k].closed += atol(db_cell(r, i, 6));
	}
	qsort(v, (size_t)n, sizeof *v, day_cmp);
	return n;
}

/* stacked bars in SVG (no inline style: the policy forbids it) */
static void trend(struct buf *b, const struct db_table *r)
{
	struct day v[400]; /* a period of up to 400 days with findings; the rest is not drawn */
	static const char *const fill[] = {"#c0392b", "#e67e22", "#d4ac0d"};
	int n = days_of(r, v, 400);
	long max = 1;
	for (int i = 0; i < n; i++)
		max = v[i].lv[0] + v[i].lv[1] + v[i].lv[2] > max ? v[i].lv[0] + v[i].lv[1] + v[i].lv[2] : max;
	buf_puts(b, "<h2>趋势 <small>trend: findings first seen per day of the period (closed of them)</small></h2>");
	if (!n)
		buf_puts(b, "<p>本期间没有新预警。 <span class=\"en\">No finding in the period.</span></p>");
	else
		buf_printf(b, "<svg class=\"trend\" xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"%d\" role=\"img\">",
			   16 * n + 4);
	for (int i = 0; i < n; i++) {
		long x = 90, y = 16 * i + 2, sum = v[i].lv[0] + v[i].lv[1] + v[i].lv[2];
		buf_printf(b, "<text x=\"0\" y=\"%ld\" font-size=\"11\">%s</text>", y + 11, v[i].date);
		for (int l = 0; l < 3; l++) {
			if (!v[i].lv[l])
				continue;
			long w = 430 * v[i].lv[l] / max;
			w = w > 0 ? w : 1;
			buf_printf(b, "<rect x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"12\" fill=\"%s\"/>", x, y, w, fill[l]);
			x += w;
		}
		buf_printf(b, "<text x=\"%ld\" y=\"%ld\" font-size=\"11\">%ld (%ld)</text>", x + 5, y + 11, sum, v[i].closed);
	}
	if (n)
		buf_puts(b, "</svg>\n");
}

/* the report's own page: standalone (its style inside, no navigation, no
 * form), to keep or mail; a download, so the page's policy is not in the
 * way of its style */
static void report_begin(struct buf *b, const struct web_session *s, const char *from, const char *to)
{
	buf_puts(b, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>清风 处置报告 ");
	html_esc(b, from);
	buf_puts(b, " – ");
	html_esc(b, to);
	buf_printf(b, "</title><style>%s</style></head><body><main><h1>处置报告 <small>disposal report</small></h1><p>", web_css);
	buf_puts(b, "期间 period: ");
	html_esc(b, from);
	buf_puts(b, " ≤ first seen / closed &lt; ");
	html_esc(b, to);
	buf_puts(b, "；导出人 exported by ");
	html_esc(b, s->user);
	buf_puts(b, "（其查阅范围内 within their scope）</p>");
}

static void page_dashboard_as(struct web_session *s, arg_fn arg, void *ctx, struct reply *r, bool report);

void page_dashboard(struct web_session *s, arg_fn arg, void *ctx, struct reply *r)
{
	page_dashboard_as(s, arg, ctx, r, false);
}

void page_report(struct web_session *s, arg_fn arg, void *ctx, struct reply *r)
{
	page_dashboard_as(s, arg, ctx, r, true);
}

static void page_dashboard_as(struct web_session *s, arg_fn arg, void *ctx, struct reply *r, bool report)
{
	char from[11], to[11], *err = NULL;
	const char *qf = arg(ctx, "from"), *qt = arg(ctx, "to");
	if ((qf && *qf && !is_date(qf)) || (qt && *qt && !is_date(qt))) {
		reply_message(r, 400, s, "日期有误", "Bad date", "from / to 须为 YYYY-MM-DD (dates are YYYY-MM-DD).",
			      "请重新选择期间。 Choose the period again.");
		return;
	}
	if (db_web_month(s->db, from, to, &err) < 0)
		goto failed;
	if (qf && *qf)
		snprintf(from, sizeof from, "%s", qf);
	if (qt && *qt)
		snprintf(to, sizeof to, "%s", qt);
	struct db_table m, o, g;
	memset(&o, 0, sizeof o);
	memset(&g, 0, sizeof g);
	if (db_web_measures(s->db, from, to, &m, &err) < 0)
		goto failed;
	if (db_web_overdue(s->db, 50, &o, &err) < 0 || db_web_period(s->db, from, to, &g, &err) < 0) {
		db_table_clear(&m);
		db_table_clear(&o);
		db_table_clear(&g);
		goto failed;
	}
	struct buf *b = &r->body;
	if (report) {
		report_begin(b, s, from, to);
		/* from and to are checked dates, or the month's */
		snprintf(r->disposition, sizeof r->disposition, "attachment; filename=\"qingfeng-report-%s-%s.html\"", from,
			 to);
	} else {
		page_begin(b, "看板", "Dashboard", s);
		buf_puts(b, "<form class=\"filters\" method=\"get\" action=\"/dashboard\"><label>自 from<input type=\"date\" name=\"from\" value=\"");
		html_esc(b, from);
		buf_puts(b, "\"></label><label>至 to (不含 exclusive)<input type=\"date\" name=\"to\" value=\"");
		html_esc(b, to);
		buf_puts(b, "\"></label><button type=\"submit\">查看 Show</button> <a href=\"/export/report.html?from=");
		html_esc(b, from);
		buf_puts(b, "&amp;to=");
		html_esc(b, to);
		buf_puts(b, "\">下载报告 download the report (HTML)</a></form>");
	}
	measures(b, &m);
	overdue(b, &o);
	matrix(b, &g);
	trend(b, &g);
	page_end(b);
	db_table_clear(&m);
	db_table_clear(&o);
	db_table_clear(&g);
	return;
failed:
	reply_message(r, db_ok(s->db) ? 500 : 503, s, "看板数据读取失败", "The dashboard could not be read", err ? err : "?",
		      "请稍后再试，或联系系统管理员。 Try again later, or call the administrator.");
	free(err);
}
