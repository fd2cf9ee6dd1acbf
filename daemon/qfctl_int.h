/* What qfctl.c shares with its other files (qfctl_*.c). */
#ifndef QF_QFCTL_INT_H
#define QF_QFCTL_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "csv.h"
#include "db.h"
#include "db_ops.h"

/* a table of text on stdout, columns aligned by display width */
void print_table(const struct db_table *r, const char *const *heads);
/* one CSV cell on stdout, made inert for spreadsheets (csv.c says how) */
void csv_field(const char *v, enum csv_kind kind, bool last);
void html_text(FILE *o, const char *v);
void md_text(FILE *o, const char *v);

/* qfctl_disposal.c: the steps of the loop (findings ack|feedback|close|
 * reopen|assign): true when argv[1] names one */
bool disposal_verb(const char *verb);
int cmd_disposal_step(struct db_session *c, int argc, char **argv);
/* the disposal lines of qfctl findings show: 0, or 1 (printed) */
int disposal_show(struct db_session *c, long long id);
/* the report's disposal sections: loaded with the others (0, or the
 * exit status with the error printed), written by each format, freed */
int disposal_report_load(struct db_session *c, const char *from, const char *to);
void disposal_report_html(FILE *o);
void disposal_report_md(FILE *o);
void disposal_report_csv(void);
void disposal_report_free(void);

#endif
