/* The console's sessions: a random 256-bit id (the cookie), a CSRF token
 * of its own, the person's role and their own database connection. The
 * table is small (the people logged in); a session is freed only when no
 * request holds it. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "db.h"
#include "log.h"
#include "qfweb.h"

#define MAX_SESSIONS 1024
/* each session holds a database connection: one person's logins (tabs,
 * browsers, a script) end their least recently used session beyond this,
 * rather than use up the server's connections */
#define MAX_PER_USER 8

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static struct web_session *table[MAX_SESSIONS];
static int64_t idle_ms = 1800 * 1000;

void sessions_init(int idle_timeout_s)
{
	idle_ms = (int64_t)(idle_timeout_s > 0 ? idle_timeout_s : 1800) * 1000;
}

int random_hex(char *out, size_t n)
{
	unsigned char raw[64];
	size_t got = 0;

	if (n > sizeof raw)
		return -1;
	while (got < n) {
		ssize_t k = getrandom(raw + got, n - got, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)k;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof raw);
	return 0;
}

bool token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	/* the length is no secret (always 64 hex digits); the content is
	 * compared in constant time */
	return la == lb && la > 0 && CRYPTO_memcmp(a, b, la) == 0;
}

static void session_free(struct web_session *s)
{
	db_close(&s->db);
	pthread_mutex_destroy(&s->mu);
	OPENSSL_cleanse(s, sizeof *s);
	free(s);
}

struct web_session *session_open(struct db_session *db, const char *user, bool admin, bool by_header)
{
	struct web_session *s = xcalloc(1, sizeof *s);
	if (random_hex(s->id, 32) < 0 || random_hex(s->csrf, 32) < 0) {
		db_close(&db);
		free(s);
		return NULL;
	}
	snprintf(s->user, sizeof s->user, "%s", user);
	s->admin = admin;
	s->by_header = by_header;
	s->db = db;
	s->last_ms = now_mono_ms();
	s->refs = 1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_lock(&table_mu);
	int mine = 0;
	struct web_session *lru = NULL;
	for (int k = 0; k < MAX_SESSIONS; k++)
		if (table[k] && !table[k]->dead && !strcmp(table[k]->user, s->user)) {
			mine++;
			if (!lru || table[k]->last_ms < lru->last_ms)
				lru = table[k];
		}
	if (mine >= MAX_PER_USER && lru) {
		lru->dead = true;
		log_notice("console: %s has %d sessions: the least recently used one ends", s->user, mine + 1);
	}
	int i;
	for (i = 0; i < MAX_SESSIONS && table[i]; i++)
		;
	if (i == MAX_SESSIONS) {
		pthread_mutex_unlock(&table_mu);
		log_warn("console: %d sessions open, refusing another login", MAX_SESSIONS);
		session_free(s);
		return NULL;
	}
	table[i] = s;
	pthread_mutex_unlock(&table_mu);
	return s;
}

struct web_session *session_find(const char *id, bool *expired)
{
	struct web_session *found = NULL;
	int64_t now = now_mono_ms();

	*expired = false;
	if (!id || strlen(id) != WEB_ID_HEX)
		return NULL;
	pthread_mutex_lock(&table_mu);
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct web_session *s = table[i];
		if (!s || !token_equal(s->id, id))
			continue;
		if (s->dead || now - s->last_ms > idle_ms) {
			s->dead = true;
			*expired = true;
		} else {
			s->refs++;
			s->last_ms = now;
			found = s;
		}
		break;
	}
	pthread_mutex_unlock(&table_mu);
	return found;
}

/* drops the table's reference to dead sessions; frees those no request
 * holds. Called with table_mu held; returns the sessions to free. */
static int collect(struct web_session **out, int max)
{
	int n = 0;
	int64_t now = now_mono_ms();
	for (int i = 0; i < MAX_SESSIONS && n < max; i++) {
		struct web_session *s = table[i];
		if (!s)
			continue;
		if (now - s->last_ms > idle_ms)
			s->dead = true;
		if (s->dead && s->refs == 0) {
			out[n++] = s;
			table[i] = NULL;
		}
	}
	return n;
}

static void free_collected(struct web_session **v, int n)
{
	/* outside the table's lock: closing a connection waits for the server */
	for (int i = 0; i < n; i++) {
		log_info("console: session of %s ended", v[i]->user);
		session_free(v[i]);
	}
}

void session_release(struct web_session *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&table_mu);
	s->refs--;
	pthread_mutex_unlock(&table_mu);
	sessions_sweep();
}

void session_end(struct web_session *s)
{
	pthread_mutex_lock(&table_mu);
	s->dead = true;
	pthread_mutex_unlock(&table_mu);
}

void sessions_sweep(void)
{
	struct web_session *v[64];
	int n;
	do {
		pthread_mutex_lock(&table_mu);
		n = collect(v, 64);
		pthread_mutex_unlock(&table_mu);
		free_collected(v, n);
	} while (n == 64);
}

void sessions_shutdown(void)
{
	pthread_mutex_lock(&table_mu);
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (table[i])
			table[i]->dead = true;
	pthread_mutex_unlock(&table_mu);
	sessions_sweep();
}

int sessions_count(void)
{
	int n = 0;
	pthread_mutex_lock(&table_mu);
	for (int i = 0; i < MAX_SESSIONS; i++)
		n += table[i] && !table[i]->dead;
	pthread_mutex_unlock(&table_mu);
	return n;
}
