/* Chat messages of the disposal loop (daemon/chat.c, DISPOSAL.md "Chat"):
 * a finding.overdue alert says plainly that it is overdue, for which step,
 * how long and whose; with console.url set, a message links to the
 * finding: dingtalk's actionCard button (markdown with a link when it must
 * @ someone), feishu's card button, a link in wecom's and slack's text;
 * without it, no link at all. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "tap.h"

#define LINK "https://qf.example.org/findings/7"

static struct chat_alert overdue_alert(const char *link)
{
	struct chat_alert a = {.event = "finding.overdue",
			       .alert_id = 42,
			       .finding_id = 7,
			       .rule_id = "F09",
			       .title = "制单审批同一人",
			       .level = "red",
			       .department = "财务处",
			       .status = "open",
			       .owner = "jw_caiwu",
			       .overdue_step = "sign",
			       .overdue_due = "2027-01-12T10:00:00+08:00",
			       .days_late = 1.54,
			       .link = link};
	return a;
}

static json_t *render(enum chat_format f, const struct chat_alert *a, const char *const *mentions, int nm)
{
	struct chat_opts o = {.mentions = mentions, .nmentions = nm, .now_s = 1700000000};
	char *body = chat_render(f, a, 1, &o, NULL);
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;
	free(body);
	return j;
}

static const char *path(json_t *j, const char *a, const char *b)
{
	json_t *x = json_object_get(j, a);
	return json_string_value(b ? json_object_get(x, b) : x);
}

static bool has(const char *s, const char *needle)
{
	return s && strstr(s, needle);
}

int main(void)
{
	struct chat_alert a = overdue_alert(LINK);
	static const char *const mob[] = {"13800000000"};

	json_t *j = render(CHAT_DINGTALK, &a, NULL, 0);
	is_str(path(j, "msgtype", NULL), "actionCard", "dingtalk with a console link: an actionCard");
	is_str(path(j, "actionCard", "singleURL"), LINK, "its button opens the finding in the console");
	is_str(path(j, "actionCard", "singleTitle"), "签收 / 查看 sign / view", "labelled 签收 / 查看");
	const char *text = path(j, "actionCard", "text");
	ok(has(text, "督办 overdue") && has(text, "逾期 overdue") && has(text, "未按期签收 not signed for"),
	   "the text says it is overdue, for signing");
	ok(has(text, "已逾期 1.5 天 days late") && has(text, "2027-01-12T10:00:00+08:00"), "how late, and the deadline");
	ok(has(text, "责任人 owner: jw\\_caiwu") || has(text, "责任人 owner: jw_caiwu"), "and whose it is");
	json_decref(j);

	j = render(CHAT_DINGTALK, &a, mob, 1);
	is_str(path(j, "msgtype", NULL), "markdown", "dingtalk that must @ someone stays markdown");
	ok(has(path(j, "markdown", "text"), "[签收 / 查看 sign / view](" LINK ")"), "with the link in its text");
	json_decref(j);

	j = render(CHAT_FEISHU, &a, NULL, 0);
	json_t *els = json_object_get(json_object_get(j, "card"), "elements");
	json_t *act = json_array_get(els, json_array_size(els) - 1);
	json_t *btn = json_array_get(json_object_get(act, "actions"), 0);
	is_str(json_string_value(json_object_get(act, "tag")), "action", "feishu: the card ends with an action");
	is_str(json_string_value(json_object_get(btn, "url")), LINK, "a button to the finding");
	is_str(json_string_value(json_object_get(json_object_get(btn, "text"), "content")), "签收 / 查看 sign / view",
	       "labelled 签收 / 查看");
	json_decref(j);

	j = render(CHAT_WECOM, &a, NULL, 0);
	text = path(j, "markdown", "content");
	ok(has(text, "[签收 / 查看 sign / view](" LINK ")"), "wecom: a link in the markdown");
	ok(has(text, "逾期 overdue"), "saying it is overdue");
	json_decref(j);

	j = render(CHAT_SLACK, &a, NULL, 0);
	ok(has(path(j, "text", NULL), "<" LINK "|签收 / 查看 sign / view>"), "slack: a link in its mrkdwn");
	json_decref(j);

	a = overdue_alert(NULL);
	a.overdue_step = "close";
	for (int f = CHAT_DINGTALK; f <= CHAT_SLACK; f++) {
		struct chat_opts o = {.now_s = 1700000000};
		char *body = chat_render((enum chat_format)f, &a, 1, &o, NULL);
		ok(body && !strstr(body, "签收 / 查看") && !strstr(body, "actionCard") && strstr(body, "未按期办结 not closed"),
		   "%s without console.url: no link, and a late close says so", chat_format_name((enum chat_format)f));
		free(body);
	}

	/* a new finding: no overdue line, its owner shown */
	a = overdue_alert(NULL);
	a.event = "finding.new";
	a.overdue_step = NULL;
	j = render(CHAT_WECOM, &a, NULL, 0);
	text = path(j, "markdown", "content");
	ok(!has(text, "逾期") && has(text, "责任人 owner"), "a new finding: no overdue line, its owner");
	json_decref(j);
	done_testing();
}
