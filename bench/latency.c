/* Load for the commit → webhook latency benchmark (bench/latency.sh).
 *
 *   qf-latency CONNINFO RATE COUNT
 *
 * Commits COUNT risky payments ('L<i>', creator approves: F09), one per
 * transaction, RATE per second on a fixed schedule, and prints for each
 * "<payment_id> <commit time> <notify time>": the wall clock when COMMIT
 * returned, and when a second connection, LISTENing on the channel the
 * change capture notifies, received that commit's notification (the bare
 * commit → NOTIFY round trip the daemon's latency is compared with). */
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void drain(PGconn *l, double *notify_at, int *nseen, int count)
{
	PGnotify *n;
	PQconsumeInput(l);
	while ((n = PQnotifies(l)) != NULL) {
		if (*nseen < count)
			notify_at[(*nseen)++] = now_s();
		PQfreemem(n);
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: qf-latency CONNINFO RATE COUNT\n");
		return 64;
	}
	int rate = atoi(argv[2]), count = atoi(argv[3]);
	PGconn *c = PQconnectdb(argv[1]), *l = PQconnectdb(argv[1]);
	if (PQstatus(c) != CONNECTION_OK || PQstatus(l) != CONNECTION_OK) {
		fprintf(stderr, "qf-latency: %s", PQerrorMessage(PQstatus(c) != CONNECTION_OK ? c : l));
		return 69;
	}
	PQclear(PQexec(l, "LISTEN qingfeng"));
	double *commit_at = calloc((size_t)count, sizeof(double)), *notify_at = calloc((size_t)count, sizeof(double));
	int nseen = 0;
	double start = now_s() + 0.2;
	for (int i = 0; i < count; i++) {
		double due = start + (double)i / rate;
		while (now_s() < due) { /* wait for the schedule, reading notifications meanwhile */
			struct pollfd p = {.fd = PQsocket(l), .events = POLLIN};
			int ms = (int)((due - now_s()) * 1000);
			poll(&p, 1, ms > 0 ? ms : 0);
			drain(l, notify_at, &nseen, count);
		}
		char id[32], who[32];
		snprintf(id, sizeof id, "L%d", i);
		/* by the institute's ~700 staff in turn, as a real stream would be:
		 * one person approving thousands of their own payments makes every
		 * new finding count that person's history (the escalation rules) */
		snprintf(who, sizeof who, "PL%d", i % 700);
		const char *params[2] = {id, who};
		PGresult *r = PQexecParams(c,
					   "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by,"
					   " paid_by) VALUES ($1, '财务处', 123.45, $2, $2, 'X')",
					   2, NULL, params, NULL, NULL, 0);
		commit_at[i] = now_s(); /* autocommit: the INSERT returned after COMMIT */
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "qf-latency: %s", PQresultErrorMessage(r));
			return 1;
		}
		PQclear(r);
		drain(l, notify_at, &nseen, count);
	}
	double end = now_s() + 2;
	while (nseen < count && now_s() < end) {
		struct pollfd p = {.fd = PQsocket(l), .events = POLLIN};
		poll(&p, 1, 100);
		drain(l, notify_at, &nseen, count);
	}
	for (int i = 0; i < count; i++)
		printf("L%d %.6f %.6f\n", i, commit_at[i], i < nseen ? notify_at[i] : 0.0);
	free(commit_at);
	free(notify_at);
	PQfinish(c);
	PQfinish(l);
	return 0;
}
