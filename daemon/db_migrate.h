/* Schema migrations: sql/NNN_*.sql applied in order, each once, each in
 * its own transaction, with its checksum recorded (qfctl migrate). */
#ifndef QF_DB_MIGRATE_H
#define QF_DB_MIGRATE_H

#include "db.h"

/* Applies the pending migrations of sqldir; see qfctl(1). It is qfctl's
 * command: it prints its progress to stdout and each problem to stderr as
 * qfctl does ("qfctl: ...", or "FILE:LINE: ..." for a statement a
 * migration file got wrong). Returns 0, or -1 after printing why. */
int db_migrate(struct db_session *s, const char *sqldir) QF_MUST_CHECK;

#endif
