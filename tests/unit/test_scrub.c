/* scrub_receiver (daemon/util.c): a receiver's credentials are starred
 * by value in any text it sends back, whatever part of its URL they sit
 * in and however the text spells them; the rest of the text stays. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util.h"

/* text scrubbed for url and secret (caller frees) */
static char *scrubbed(const char *text, const char *url, const char *secret)
{
	char *s = xstrdup(text);

	scrub_receiver(s, url, secret);
	return s;
}

static void check(const char *url, const char *secret, const char *text, const char *want, const char *what)
{
	char *s = scrubbed(text, url, secret);

	is_str(s, want, "%s", what);
	free(s);
}

int main(void)
{
	/* the four vendors: the token goes, the vendors' own words stay */
	check("https://oapi.dingtalk.com/robot/send?access_token=abc123token0456", NULL,
	      "{\"errcode\":300005,\"errmsg\":\"token abc123token0456 is not exist\"}",
	      "{\"errcode\":300005,\"errmsg\":\"token *************** is not exist\"}",
	      "dingtalk: the access_token value echoed in errmsg");
	check("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7aaa-4bc4-97a0-0ec2fa5aaa01", NULL,
	      "invalid webhook url, key=693a91f6-7aaa-4bc4-97a0-0ec2fa5aaa01",
	      "invalid webhook url, key=************************************",
	      "wecom: the key goes, 'webhook' (a path word of the vendor's URL) stays");
	check("https://open.feishu.cn/open-apis/bot/v2/hook/0f3b2c1d-aaaa-bbbb-cccc-0123456789ab", NULL,
	      "404 page not found: /open-apis/bot/v2/hook/0f3b2c1d-aaaa-bbbb-cccc-0123456789ab",
	      "404 page not found: /open-apis/bot/v2/hook/************************************",
	      "feishu: the hook token in the path");
	check("https://hooks.slack.com/services/T0AB12CD3/B0AB12CD3/abcdEFGHijklMNOPqrstUVWX", NULL,
	      "no_service for /services/T0AB12CD3/B0AB12CD3/abcdEFGHijklMNOPqrstUVWX",
	      "no_service for /services/*********/*********/************************",
	      "slack: every segment of the webhook path but 'services'");

	/* the example: a proxy's 404 page echoing the request line */
	const char *url = "http://proxy.example:8080/hook/abc123secret?key=k9secretkey&v=1";
	check(url, NULL, "no route for /hook/abc123secret?key=k9secretkey&v=1",
	      "no route for /hook/************?key=***********&v=1",
	      "path segment and query value scrubbed; short parts (hook, v=1) and the host stay");
	check(url, NULL, "<a href=\"http://proxy.example:8080/hook/abc123secret?key=k9secretkey&v=1\">",
	      "<a href=\"***************************************************************\">", "the whole URL");

	/* percent-encoding: as configured, decoded, re-encoded in either case, '+' as a space */
	url = "https://h.example/x?token=tok+en%2F12345";
	const char *forms[] = { "tok+en%2F12345", "tok+en/12345", "tok en/12345", "tok%2Ben%2F12345",
				"tok%2ben%2f12345" };
	for (int i = 0; i < 5; i++) {
		char *s = scrubbed(forms[i], url, NULL);
		ok(strspn(s, "*") == strlen(forms[i]), "the query value as '%s' is scrubbed (%s)", forms[i], s);
		free(s);
	}
	url = "https://h.example/hook/se%63ret%2Dpath9";
	check(url, NULL, "GET /hook/secret-path9", "GET /hook/************", "a path segment, decoded");

	/* userinfo */
	url = "https://alice:pa55word99@h.example/x";
	check(url, NULL, "auth alice:pa55word99 failed", "auth **************** failed", "user:password");
	check(url, NULL, "bad password pa55word99 for alice", "bad password ********** for alice",
	      "the password alone (the 5-byte user name is too short to scrub on its own)");

	/* a part inside another is scrubbed whole, whatever their order in the URL */
	url = "http://h.example/abcdef123456?t=abcdef123456789";
	check(url, NULL, "x abcdef123456789 y abcdef123456 z", "x *************** y ************ z",
	      "the longer part first: no '789' left over");
	check("http://h.example/a?b=c#frag0123456", NULL, "see frag0123456", "see ***********", "the fragment");

	/* the secret, as it is and percent-encoded */
	check("http://h.example/x", "s3cret/+x", "sig s3cret/+x or s3cret%2F%2Bx", "sig ********* or *************",
	      "the signing secret, raw and encoded");
	check("http://h.example/x", "k9", "k9 k9", "** **", "a short secret is still scrubbed (it is the secret)");

	/* nothing to do */
	check(NULL, NULL, "HTTP 404: not found", "HTTP 404: not found", "no url, no secret: text unchanged");
	check("http://127.0.0.1:9/hook", NULL, "Failed to connect to 127.0.0.1 port 9 after 0 ms: refused",
	      "Failed to connect to 127.0.0.1 port 9 after 0 ms: refused", "a URL without tokens changes nothing");
	check("http://h.example/robot/send?access_token=", NULL, "robot send", "robot send", "empty and short parts");
	scrub_receiver(NULL, url, "x");
	ok(1, "a NULL text is ignored");
	done_testing();
}
