/* Load for the commit → webhook latency benchmark (bench/latency.sh).
 *
 *   qf-latency CONNINFO RATE COUNT [VENDOR CASHIER]
 *
 * Commits COUNT risky payments ('L<i>', creator approves: F09), one per
 * transaction, RATE per second on a fixed schedule, and prints for each
 * "<payment_id> <sent> <committed> <notified>": the wall clock when the
 * INSERT (autocommit) was sent, when it returned committed, and when a
 * second connection, LISTENing on the channel the change capture notifies,
 * received that commit's notification. A thread of its own waits on that
 * connection, so a notification is stamped when it arrives, not when the
 * committing thread gets round to reading it: sent → notified is the bare
 * commit → NOTIFY round trip the daemon's latency is compared with.
 *
 * With VENDOR and CASHIER (bench/hotkey.sh), every payment goes to that one
 * vendor and is paid by that one cashier, with its own invoice number and
 * an amount that varies (so the window and statistical rules of the pack,
 * F01 and F05 among them, have a hot key's whole history to read): the
 * ledger of a real institute, where a few vendors and cashiers carry most
 * of it.
 *
 * QF_LATENCY_PREFIX (default "L") starts each payment id, and with "P" each
 * person's name: bench/hotkey.sh warms the daemon with a few payments of
 * another vendor before the stream it measures, under other ids. */
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
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

struct listener {
	PGconn *l;
	double *notify_at;
	int count;
	atomic_int nseen;
	atomic_bool stop;
};

/* Commits are made one at a time on one connection, so their notifications
 * arrive in commit order: the n-th is the n-th commit's. */
static void *listen_thread(void *arg)
{
	struct listener *ls = arg;
	while (!atomic_load(&ls->stop) && atomic_load(&ls->nseen) < ls->count) {
		struct pollfd p = {.fd = PQsocket(ls->l), .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		double t = now_s();
		PGnotify *n;
		if (!PQconsumeInput(ls->l))
			break;
		while ((n = PQnotifies(ls->l)) != NULL) {
			int k = atomic_load(&ls->nseen);
			if (k < ls->count) {
				ls->notify_at[k] = t;
				atomic_store(&ls->nseen, k + 1);
			}
			PQfreemem(n);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 6) {
		fprintf(stderr, "usage: qf-latency CONNINFO RATE COUNT [VENDOR CASHIER]\n");
		return 64;
	}
	const char *vendor = argc == 6 ? argv[4] : NULL, *cashier = argc == 6 ? argv[5] : NULL;
	int rate = atoi(argv[2]), count = atoi(argv[3]);
	const char *prefix = getenv("QF_LATENCY_PREFIX");
	if (!prefix || !*prefix || strlen(prefix) > 8)
		prefix = "L";
	PGconn *c = PQconnectdb(argv[1]), *l = PQconnectdb(argv[1]);
	if (PQstatus(c) != CONNECTION_OK || PQstatus(l) != CONNECTION_OK) {
		fprintf(stderr, "qf-latency: %s", PQerrorMessage(PQstatus(c) != CONNECTION_OK ? c : l));
		return 69;
	}
	PQclear(PQexec(l, "LISTEN qingfeng"));
	double *sent_at = calloc((size_t)count, sizeof(double)), *commit_at = calloc((size_t)count, sizeof(double));
	struct listener ls = {.l = l, .notify_at = calloc((size_t)count, sizeof(double)), .count = count};
	pthread_t th;
	if (pthread_create(&th, NULL, listen_thread, &ls) != 0) {
		fprintf(stderr, "qf-latency: cannot start the listener thread\n");
		return 71;
	}
	double start = now_s() + 0.2;
	for (int i = 0; i < count; i++) {
		double due = start + (double)i / rate;
		double wait = due - now_s();
		if (wait > 0) {
			struct timespec ts = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9)};
			nanosleep(&ts, NULL);
		}
		char id[32], who[32];
		snprintf(id, sizeof id, "%s%d", prefix, i);
		/* by the institute's ~700 staff in turn, as a real stream would be:
		 * one person approving thousands of their own payments makes every
		 * new finding count that person's history (the escalation rules) */
		snprintf(who, sizeof who, "P%s%d", prefix, i % 700);
		char amount[32];
		/* every first digit, few repeats: 100.00 … 99,999.00 */
		snprintf(amount, sizeof amount, "%d.%02d", 100 + (int)(((long)i * 7919) % 99900), i % 100);
		const char *params[5] = {id, who, vendor, cashier, amount};
		sent_at[i] = now_s();
		PGresult *r =
			vendor ? PQexecParams(c,
					      "INSERT INTO records.payment (payment_id, vendor_id, department, invoice_no, amount,"
					      " created_by, approved_by, paid_by, paid_at, posted_at)"
					      " VALUES ($1, $3, '财务处', 'INV-' || $1, $5::numeric, $2, $2, $4, now(), now())",
					      5, NULL, params, NULL, NULL, 0)
			       : PQexecParams(c,
					      "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by,"
					      " paid_by) VALUES ($1, '财务处', 123.45, $2, $2, 'X')",
					      2, NULL, params, NULL, NULL, 0);
		commit_at[i] = now_s(); /* autocommit: the INSERT returned after COMMIT */
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "qf-latency: %s", PQresultErrorMessage(r));
			return 1;
		}
		PQclear(r);
	}
	double end = now_s() + 2;
	while (atomic_load(&ls.nseen) < count && now_s() < end) {
		struct timespec ts = {.tv_nsec = 10000000};
		nanosleep(&ts, NULL);
	}
	atomic_store(&ls.stop, true);
	pthread_join(th, NULL);
	int nseen = atomic_load(&ls.nseen);
	for (int i = 0; i < count; i++)
		printf("%s%d %.6f %.6f %.6f\n", prefix, i, sent_at[i], commit_at[i], i < nseen ? ls.notify_at[i] : 0.0);
	free(sent_at);
	free(commit_at);
	free(ls.notify_at);
	PQfinish(c);
	PQfinish(l);
	return 0;
}
