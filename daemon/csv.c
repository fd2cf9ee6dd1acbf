/* CSV cells made inert for spreadsheets (moved here from qfctl.c, so that
 * qfctl's exports and the console's neutralise formulas the same way). */
#include "csv.h"

#include <string.h>

bool csv_plain_number(const char *v)
{
	if (*v == '-')
		v++;
	if (*v < '0' || *v > '9')
		return false;
	while (*v >= '0' && *v <= '9')
		v++;
	if (*v == '.') {
		v++;
		if (*v < '0' || *v > '9')
			return false;
		while (*v >= '0' && *v <= '9')
			v++;
	}
	return *v == '\0';
}

/* RFC 4180 (CRLF after the last cell). Excel and WPS run a cell that
 * starts with = + - or @ as a formula (LibreOffice one that starts with
 * =), Excel also after a tab or CR, and the records are anyone's text: a
 * department "=1+2" would compute, an approver =HYPERLINK(...) link out.
 * So, as OWASP's CSV injection advice says, a text cell starting with one
 * of them gets a leading ' (which the spreadsheet takes as "this is
 * text"), and every text cell is quoted, quotes doubled, so that a
 * spreadsheet guessing another separator (';', tab) cannot split a cell
 * into one that starts a formula. A number cell is left bare, a number to
 * the spreadsheet: its column comes from a typed SQL value (bigint,
 * integer, numeric), whose text may start with '-' but is never a
 * formula; a prefix there would turn an amount of -12.50 into text.
 * Anything in a number column that is not a plain number is written as
 * text. */
void csv_cell(struct buf *b, const char *v, enum csv_kind kind, bool last)
{
	if (kind == CSV_NUMBER && csv_plain_number(v)) {
		buf_puts(b, v);
	} else {
		buf_add(b, "\"", 1);
		if (*v && strchr("=+-@\t\r", *v))
			buf_add(b, "'", 1);
		for (const char *p = v; *p; p++) {
			if (*p == '"')
				buf_add(b, "\"", 1);
			buf_add(b, p, 1);
		}
		buf_add(b, "\"", 1);
	}
	buf_puts(b, last ? "\r\n" : ",");
}
