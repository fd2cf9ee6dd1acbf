/* qfctl's commands of TRUST.md: audit log, audit verify --anchor, silence approve. */
#ifndef QF_QFCTL_TRUST_H
#define QF_QFCTL_TRUST_H

#include "db.h"

/* audit log [--since DATE] [--kind K] [--format table|json]; argv[0] is "audit" */
int qfctl_audit_log(struct db_session *c, int argc, char **argv);
/* audit verify [--anchor ID:HASH]...: the chain, then each anchor */
int qfctl_audit_verify(struct db_session *c, int argc, char **argv);
/* silence approve ID */
int qfctl_silence_approve(struct db_session *c, const char *id);

#endif
