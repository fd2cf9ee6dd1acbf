/* Schema migrations (qfctl migrate). One migrator at a time (an advisory
 * lock); a migration changed after it was applied, or a schema newer than
 * the files, is refused rather than guessed at. */
#include "db_migrate.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

static int migration_filter(const struct dirent *e)
{
	const char *n = e->d_name;
	size_t len = strlen(n);
	return len > 8 && n[0] >= '0' && n[0] <= '9' && n[1] >= '0' && n[1] <= '9' && n[2] >= '0' && n[2] <= '9' &&
	       n[3] == '_' && !strcmp(n + len - 4, ".sql");
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* line number of a 1-based character position, for migration errors */
static int line_of(const char *text, const char *pos)
{
	long p = pos ? atol(pos) : 0;
	int line = 1;
	for (long i = 0; i < p - 1 && text[i]; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* The lock, the bookkeeping table, and what was applied (caller clears);
 * NULL after printing why. */
static PGresult *migrate_start(struct db_session *s)
{
	char *err = NULL;

	/* one migrator at a time; the lock is released with the session */
	if (!dbi_cmd(s, "SELECT pg_advisory_lock(7254823)", &err) ||
	    !dbi_cmd(s,
		     "CREATE SCHEMA IF NOT EXISTS qf;"
		     "CREATE TABLE IF NOT EXISTS qf.schema_migrations ("
		     " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
		     " applied_at timestamptz NOT NULL DEFAULT now(),"
		     " applied_by text NOT NULL DEFAULT session_user)",
		     &err)) {
		fprintf(stderr, "qfctl: migrate: %s\n", err);
		free(err);
		return NULL;
	}
	PGresult *applied = dbi_exec(s, "SELECT version, name, checksum FROM qf.schema_migrations ORDER BY version");
	if (PQresultStatus(applied) != PGRES_TUPLES_OK) {
		err = dbi_error(s, applied);
		fprintf(stderr, "qfctl: migrate: %s\n", err);
		free(err);
		PQclear(applied);
		return NULL;
	}
	return applied;
}

/* Runs one migration file and records it, in one transaction: 0, or -1
 * after printing why (rolled back). */
static int apply_one(struct db_session *s, const char *path, const char *fname, int version, const char *text,
		     const char *sum)
{
	char vtext[16], *err = NULL;
	const char *params[3] = {vtext, fname, sum};

	snprintf(vtext, sizeof vtext, "%d", version);
	if (!dbi_cmd(s, "BEGIN", &err)) {
		fprintf(stderr, "qfctl: %s: %s\n", path, err);
		free(err);
		return -1;
	}
	PGresult *r = dbi_exec(s, text);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		err = dbi_error(s, r);
		fprintf(stderr, "%s:%d: %s\n", path, line_of(text, PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION)), err);
		PQclear(r);
		free(err);
		dbi_rollback(s);
		return -1;
	}
	PQclear(r);
	r = dbi_params(s, "INSERT INTO qf.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", 3, params);
	if (PQresultStatus(r) != PGRES_COMMAND_OK || !dbi_cmd(s, "COMMIT", &err)) {
		if (!err)
			err = dbi_error(s, r);
		fprintf(stderr, "qfctl: %s: %s\n", path, err);
		PQclear(r);
		free(err);
		dbi_rollback(s);
		return -1;
	}
	PQclear(r);
	return 0;
}

/* Applies names[i] unless applied already (with the same checksum):
 * 1 applied, 0 already there, -1 after printing why. */
static int migrate_file(struct db_session *s, const char *sqldir, const char *fname, PGresult *applied)
{
	int version = atoi(fname);
	char path[4096], sum[65];
	size_t len;
	const char *prev_sum = NULL;

	snprintf(path, sizeof path, "%s/%s", sqldir, fname);
	char *text = read_file(path, &len);
	if (!text) {
		fprintf(stderr, "qfctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	sha256_hex(text, len, sum);
	for (int j = 0; j < PQntuples(applied); j++)
		if (atoi(PQgetvalue(applied, j, 0)) == version)
			prev_sum = PQgetvalue(applied, j, 2);
	if (prev_sum) {
		free(text);
		if (strcmp(prev_sum, sum)) {
			fprintf(stderr, "qfctl: %s was changed after it was applied (checksum differs): refusing\n", path);
			return -1;
		}
		return 0;
	}
	int rc = apply_one(s, path, fname, version, text, sum);
	free(text);
	if (rc < 0)
		return -1;
	printf("applied %s\n", fname);
	return 1;
}

int db_migrate(struct db_session *s, const char *sqldir)
{
	struct dirent **names = NULL;
	PGresult *applied = NULL;
	int n, rc = -1, done = 0;

	n = scandir(sqldir, &names, migration_filter, alphasort);
	if (n <= 0) {
		fprintf(stderr, "qfctl: no migrations in '%s': %s\n", sqldir, n < 0 ? strerror(errno) : "empty");
		free(names);
		return -1;
	}
	if (!(applied = migrate_start(s)))
		goto out;
	int known_max = atoi(names[n - 1]->d_name);
	for (int i = 0; i < PQntuples(applied); i++) {
		int v = atoi(PQgetvalue(applied, i, 0));
		if (v > known_max) {
			fprintf(stderr,
				"qfctl: database schema has migration %d (%s), newer than the newest this qfctl knows "
				"(%d): refusing to touch it\n",
				v, PQgetvalue(applied, i, 1), known_max);
			goto out;
		}
	}
	for (int i = 0; i < n; i++) {
		int k = migrate_file(s, sqldir, names[i]->d_name, applied);
		if (k < 0)
			goto out;
		done += k;
	}
	if (!done)
		printf("database schema is up to date (version %d)\n", known_max);
	rc = 0;
out:
	PQclear(applied);
	PQclear(dbi_exec(s, "SELECT pg_advisory_unlock(7254823)"));
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
