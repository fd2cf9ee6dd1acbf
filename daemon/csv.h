/* CSV cells for spreadsheets (Excel, WPS, LibreOffice), made inert: the
 * one writer of qfctl's CSV exports and the console's (qfweb). */
#ifndef QF_CSV_H
#define QF_CSV_H

#include <stdbool.h>

#include "util.h"

/* What a CSV cell holds: text, or a number a spreadsheet should read as
 * one. */
enum csv_kind { CSV_TEXT, CSV_NUMBER };

/* digits with an optional sign and fraction: the text of PostgreSQL's
 * integer and numeric, never a formula */
bool csv_plain_number(const char *v);
/* One cell, then "," or (last) CRLF, appended to b. */
void csv_cell(struct buf *b, const char *v, enum csv_kind kind, bool last);
/* the UTF-8 byte order mark, which Excel and WPS need to read Chinese
 * text as UTF-8 */
#define CSV_EXCEL_BOM "\xEF\xBB\xBF"

#endif
