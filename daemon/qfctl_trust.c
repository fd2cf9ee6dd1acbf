/* qfctl: the control-surface log, anchored verification, four-eyes
 * approval (TRUST.md). */
#include "qfctl_trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_ops.h"
#include "db_trust.h"

static int fail(const char *what, char *err)
{
	fprintf(stderr, "qfctl: %s: %s\n", what, err ? err : "failed");
	free(err);
	return 1;
}

/* tab-separated would break on a reason with a tab: columns padded, the
 * summary last and unpadded, control characters shown as spaces */
static void print_rows(const struct db_table *t)
{
	static const char *const heads[] = {"SEQ", "AT", "ACTOR", "KIND", "FINDING", "WHAT"};
	int w[6] = {0};

	for (int j = 0; j < 6 && j < t->ncols; j++) {
		w[j] = (int)strlen(heads[j]);
		for (int i = 0; i < t->nrows; i++)
			if ((int)strlen(db_cell(t, i, j)) > w[j])
				w[j] = (int)strlen(db_cell(t, i, j));
	}
	for (int i = -1; i < t->nrows; i++) {
		for (int j = 0; j < 6 && j < t->ncols; j++) {
			const char *v = i < 0 ? heads[j] : db_cell(t, i, j);
			for (const char *p = v; *p; p++)
				putchar((unsigned char)*p < 0x20 ? ' ' : *p);
			if (j < 5)
				printf("%*s", w[j] - (int)strlen(v) + 2, "");
		}
		putchar('\n');
	}
}

int qfctl_audit_log(struct db_session *c, int argc, char **argv)
{
	const char *since = NULL, *kind = NULL, *format = "table";
	char *err = NULL;
	struct db_table t;

	for (int i = 2; i < argc; i++) {
		const char **dst = !strcmp(argv[i], "--since") ? &since
				   : !strcmp(argv[i], "--kind")	 ? &kind
				   : !strcmp(argv[i], "--format") ? &format
								  : NULL;
		if (!dst || i + 1 >= argc) {
			fprintf(stderr, "qfctl: audit log [--since DATE] [--kind K] [--format table|json]\n");
			return 64;
		}
		*dst = argv[++i];
	}
	bool json = !strcmp(format, "json");
	if (!json && strcmp(format, "table")) {
		fprintf(stderr, "qfctl: audit log: --format must be table or json\n");
		return 64;
	}
	if (db_audit_log(c, since, kind, json, &t, &err) < 0)
		return fail("audit log", err);
	if (json)
		printf("%s\n", t.nrows ? db_cell(&t, 0, 0) : "[]");
	else
		print_rows(&t);
	db_table_clear(&t);
	return 0;
}

/* "ID:HASH", ID digits, HASH 64 hex digits: split into id and hash */
static bool anchor_parse(const char *a, char id[24], char hash[65])
{
	const char *colon = strchr(a, ':');
	size_t n = colon ? (size_t)(colon - a) : 0;

	if (!n || n >= 24 || strlen(colon + 1) != 64 || strspn(a, "0123456789") != n ||
	    strspn(colon + 1, "0123456789abcdefABCDEF") != 64)
		return false;
	memcpy(id, a, n);
	id[n] = 0;
	memcpy(hash, colon + 1, 65);
	return true;
}

int qfctl_audit_verify(struct db_session *c, int argc, char **argv)
{
	char *err = NULL;
	char id[24], hash[65];
	struct chain_break b;
	struct chain_head h;

	for (int i = 2; i < argc; i += 2)
		if (strcmp(argv[i], "--anchor") || i + 1 >= argc || !anchor_parse(argv[i + 1], id, hash)) {
			fprintf(stderr, "qfctl: audit verify [--anchor ID:HASH]... (ID an event id, HASH its 64 hex digits,"
					" as the anchor receivers got them)\n");
			return 64;
		}
	int broken = db_audit_verify(c, &b, &err);
	if (broken < 0)
		return fail("audit verify", err);
	if (broken) {
		printf("history chain BROKEN at seq %s%s%s: %s\n", b.seq, b.event_id ? ", event id " : "",
		       b.event_id ? b.event_id : "", b.why);
		chain_break_clear(&b);
		return 1;
	}
	/* a chain rewritten whole and consistently verifies: only a head kept
	 * elsewhere shows it */
	int n = 0;
	for (int i = 2; i < argc; i += 2, n++) {
		(void)anchor_parse(argv[i + 1], id, hash);
		int in = db_chain_contains(c, id, hash, &err);
		if (in < 0)
			return fail("audit verify", err);
		if (!in) {
			printf("history chain does NOT contain anchor %s (event %s): it was rewritten since that head was"
			       " sent\n",
			       argv[i + 1], id);
			return 1;
		}
	}
	if (db_audit_head(c, &h, &err) < 0)
		return fail("audit verify", err);
	printf("history chain intact: %s event(s), head %s", h.seq, h.hash);
	if (n)
		printf("; it contains the %d anchor(s) given", n);
	printf("\n");
	chain_head_clear(&h);
	return 0;
}

int qfctl_silence_approve(struct db_session *c, const char *id)
{
	char *err = NULL;

	if (!*id || strspn(id, "0123456789") != strlen(id)) {
		fprintf(stderr, "qfctl: silence approve ID (a number)\n");
		return 64;
	}
	if (db_silence_approve(c, id, &err) < 0)
		return fail("silence approve", err);
	printf("silence %s approved\n", id);
	return 0;
}
