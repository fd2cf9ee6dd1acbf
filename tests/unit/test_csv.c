/* CSV cells for spreadsheets (csv.c), shared by qfctl's exports and the
 * console's: formulas neutralised, quotes doubled, numbers bare. */
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "tap.h"

static char *cell(const char *v, enum csv_kind k, bool last)
{
	struct buf b;
	buf_init(&b);
	csv_cell(&b, v, k, last);
	return buf_steal(&b);
}

int main(void)
{
	struct {
		const char *in;
		enum csv_kind kind;
		const char *out;
		const char *why;
	} t[] = {
		{"化学室", CSV_TEXT, "\"化学室\",", "text is quoted"},
		{"a\"b", CSV_TEXT, "\"a\"\"b\",", "a quote is doubled"},
		{"=1+2", CSV_TEXT, "\"'=1+2\",", "= starts a formula: neutralised"},
		{"+1", CSV_TEXT, "\"'+1\",", "+ too"},
		{"-1", CSV_TEXT, "\"'-1\",", "- in a text column too"},
		{"@SUM(A1)", CSV_TEXT, "\"'@SUM(A1)\",", "@ too"},
		{"\tx", CSV_TEXT, "\"'\tx\",", "a leading tab too"},
		{"=HYPERLINK(\"http://x\")", CSV_TEXT, "\"'=HYPERLINK(\"\"http://x\"\")\",", "a link formula, quotes doubled"},
		{"-12.50", CSV_NUMBER, "-12.50,", "a negative amount stays a number"},
		{"48000", CSV_NUMBER, "48000,", "an integer stays bare"},
		{"12.", CSV_NUMBER, "\"12.\",", "not a plain number: text"},
		{"=1", CSV_NUMBER, "\"'=1\",", "a formula in a number column: text, neutralised"},
		{"", CSV_NUMBER, "\"\",", "an empty number cell is an empty text"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *got = cell(t[i].in, t[i].kind, false);
		is_str(got, t[i].out, "%s", t[i].why);
		free(got);
	}
	char *last = cell("x", CSV_TEXT, true);
	is_str(last, "\"x\"\r\n", "the last cell of a row ends with CRLF");
	free(last);
	ok(csv_plain_number("-0.5") && !csv_plain_number("1e5") && !csv_plain_number("0x10"), "plain numbers only");
	done_testing();
}
