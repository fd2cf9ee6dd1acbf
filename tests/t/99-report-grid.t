#!/bin/bash
# qfctl report as an auditor of the institute reads it: the 423 grid
# (三个监督 × 两大风险 rows, 四个到位 columns, each cell by level, zero
# cells shown, row and column totals) equal to counts SQL makes
# independently, in html, md and csv; Chinese labels with the English;
# every bar in its level's colour; the trend by the record's own date;
# the page rendered by headless Chromium at A4 width (not blank) and
# compact at 1280 px; --format pdf printed to A4.
. "$(dirname "$0")/../lib.sh"

new_db grid
# Some 600 findings spread over the 72 cells but for a few left empty, 27
# departments, 9 rules; their records dated over two years by the keys
# the shipped rules write (a change after approval: changed_at, not
# received_at, which comes later in the list; a payment; a hospitality; a missed deadline; a payment
# whose paid_at is not a date, with issued_at after it), a fifth with
# none (dated by first_seen)
psql -X -q -1 -v ON_ERROR_STOP=1 -d "$DB" <<'SQL' >/dev/null
CREATE TEMP TABLE g AS
SELECT i, (ARRAY['technical', 'financial', 'disciplinary'])[1 + i % 3] AS s,
       (ARRAY['technical', 'non-technical'])[1 + (i / 3) % 2] AS r,
       (ARRAY['primary', 'supervisory', 'dual-duty', 'impartiality'])[1 + (i / 7) % 4] AS d,
       (ARRAY['red', 'orange', 'orange', 'yellow', 'yellow', 'yellow'])[1 + (i / 5) % 6] AS l,
       make_date(2025, 1, 15) + ((i * 37) % 700) AS day
  FROM generate_series(1, 700) i;
DELETE FROM g WHERE (s = 'financial' AND r = 'technical') OR (s = 'disciplinary' AND d = 'primary' AND l = 'red')
                 OR day BETWEEN '2025-06-01' AND '2025-06-30';
INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, department,
                        status, evidence, evidence_hash)
SELECT 'X' || (i % 9), 'k' || i, 'v', '规则 rule ' || (i % 9), l, s, r, d, '第' || (1 + i % 27) || '检验室',
       CASE WHEN i % 4 = 0 THEN 'resolved' ELSE 'open' END, e, md5(e::text)
  FROM (SELECT g.*, CASE i % 6
          WHEN 0 THEN jsonb_build_object('table', 'records.payment', 'paid_at', day::timestamptz + interval '10 hours')
          WHEN 1 THEN jsonb_build_object('table', 'records.audit_trail', 'approved_at', (day - 90)::timestamptz,
                                         'received_at', (day - 95)::timestamptz,
                                         'changed_at', day::timestamptz + interval '23 hours 30 minutes')
          WHEN 2 THEN jsonb_build_object('table', 'records.hospitality', 'held_at', day)
          WHEN 3 THEN jsonb_build_object('table', 'records.duty_record', 'period', '2025', 'deadline', day)
          WHEN 4 THEN jsonb_build_object('table', 'records.payment', 'paid_at', 'n/a', 'issued_at', day)
          ELSE jsonb_build_object('table', 'records.test_task', 'task_id', 'T' || i) END AS e FROM g) x;
INSERT INTO qf.finding_event (finding_id, action, level) SELECT id, 'created', level FROM qf.finding;
SQL
total=$(sql "$DB" "SELECT count(*) FROM qf.finding")
ok $([ "$total" -gt 500 ] && echo 0 || echo 1) "the fixture has findings ($total)"
is "$(sql "$DB" "SELECT count(DISTINCT (supervision, risk, duty, level)) < 72 AND count(DISTINCT department) = 27 FROM qf.finding")" t \
   "with empty cells in the grid, and 27 departments"
R=(report --from 2000-01-01 --to 2100-01-01)
html=$("$QFCTL" -d "$CONNINFO" "${R[@]}" --format html); st=$?
is "$st" 0 "report --format html exits 0"
printf '%s\n' "$html" >"$T_DIR/report.html"

# --- the grid, against SQL ---
# kind NAME N for every figure of the grid the page shows, zeros left out
got() { perl -ne 'while (/data-(cell|row|col|level|total)="([^"]+)">(\d+)</g) { print "$1 $2 $3\n" if $3 }' "$T_DIR/report.html" | LC_ALL=C sort; }
want=$(sql "$DB" "
  SELECT 'cell ' || supervision || '/' || risk || '/' || duty || '/' || level || ' ' || count(*) FROM qf.finding GROUP BY supervision, risk, duty, level
  UNION ALL SELECT 'row ' || supervision || '/' || risk || '/' || level || ' ' || count(*) FROM qf.finding GROUP BY supervision, risk, level
  UNION ALL SELECT 'row ' || supervision || '/' || risk || '/all ' || count(*) FROM qf.finding GROUP BY supervision, risk
  UNION ALL SELECT 'col ' || duty || '/' || level || ' ' || count(*) FROM qf.finding GROUP BY duty, level
  UNION ALL SELECT 'level ' || level || ' ' || count(*) FROM qf.finding GROUP BY level
  UNION ALL SELECT 'total all ' || count(*) FROM qf.finding" | LC_ALL=C sort)
is "$(got | grep -c '^cell')" "$(sql "$DB" "SELECT count(DISTINCT (supervision, risk, duty, level)) FROM qf.finding")" \
   "every non-empty cell of the grid is shown"
is "$(got)" "$want" "each cell, row total, column total, level total and the grand total equal SQL's counts"
is "$(grep -o 'data-cell="[^"]*"' "$T_DIR/report.html" | sort -u | wc -l)" 72 "the grid has all 72 cells (3 × 2 × 4 × 3), empty ones too"
is "$(perl -ne 'while (/data-cell="[^"]+">0</g) { $n++ } END { print $n + 0 }' "$T_DIR/report.html")" \
   "$(sql "$DB" "SELECT 72 - count(DISTINCT (supervision, risk, duty, level)) FROM qf.finding")" "and the empty ones show 0"
for l in 技术监督 财务监督 纪律监督 技术风险 非技术风险 主体责任 监督责任 一岗双责 检验公正; do
  like "$html" "$l" "the grid is labelled $l"
done
like "$html" '非技术风险 <small>non-technical</small>' "with the English beside the Chinese"
# a cell's colour is its level's: every non-zero cell carries its level's class
is "$(perl -ne 'while (/<td class="n (\w+)" data-cell="[^"\/]+\/[^"\/]+\/[^"\/]+\/(\w+)">(\d+)</g) { $bad++ if $3 && $1 ne $2; $bad++ if !$3 && $1 ne "zero" } END { print $bad + 0 }' "$T_DIR/report.html")" \
   0 "each cell is coloured by its level, a zero cell by none"

# md: the same grid, each cell red/orange/yellow
md=$("$QFCTL" -d "$CONNINFO" "${R[@]}" --format md)
mdgrid=$(printf '%s\n' "$md" | perl -CSD -ne 'if (/^## /) { $on = /^## 423/; next }
  next unless $on && /^\| (\S+) [a-z-]+ \| (\S+) [a-z-]+ \|/ && !/supervision/;
  my ($s, $r) = ($1, $2); my @c = split /\|/; for my $d (3 .. 6) { my @v = split m{/}, $c[$d] =~ s/ //gr;
  for my $l (0 .. 2) { print "$s|$r|", $d + 1, "|", $l + 1, "|$v[$l]\n" if $v[$l] } }' | LC_ALL=C sort)
mdwant=$(sql "$DB" "SELECT s.zh || '|' || r.zh || '|' || 3 + d.n || '|' || l.n || '|' || count(*) FROM qf.finding f
  JOIN (VALUES ('technical', '技术监督'), ('financial', '财务监督'), ('disciplinary', '纪律监督')) s(en, zh) ON s.en = f.supervision
  JOIN (VALUES ('technical', '技术风险'), ('non-technical', '非技术风险')) r(en, zh) ON r.en = f.risk
  JOIN (VALUES ('primary', 1), ('supervisory', 2), ('dual-duty', 3), ('impartiality', 4)) d(en, n) ON d.en = f.duty
  JOIN (VALUES ('red', 1), ('orange', 2), ('yellow', 3)) l(en, n) ON l.en = f.level GROUP BY s.zh, r.zh, d.n, l.n" | LC_ALL=C sort)
is "$mdgrid" "$mdwant" "md: the grid's cells (supervision, risk, duty column, level) equal SQL's counts"
like "$md" "\| 合计 total \| \|.* $total \($(sql "$DB" "SELECT string_agg(n::text, '/' ORDER BY qf.level_rank(level) DESC) FROM (SELECT level, count(*) n FROM qf.finding GROUP BY 1) x")\) \|" \
     "md: the grand total, by level"

# csv: a long table, the English values where they were, the Chinese in new columns at the end
# text cells are quoted (qfctl(1), CSV files); none of this data has a comma or a quote
"$QFCTL" -d "$CONNINFO" "${R[@]}" --format csv | tr -d '\r"' >"$T_DIR/r.csv"
is "$(head -1 "$T_DIR/r.csv" | tr -d '\r')" "section,c1,c2,c3,c4,c5,c6,c1_zh,c2_zh,c3_zh,c4_zh" "csv: the columns as before, c6 and the Chinese labels added at the end"
is "$(awk -F, '/^423/ && $6 != 0 {print $2 "/" $3 "/" $4 "/" $5 " " $6}' "$T_DIR/r.csv" | LC_ALL=C sort)" \
   "$(sql "$DB" "SELECT supervision || '/' || risk || '/' || duty || '/' || level || ' ' || count(*) FROM qf.finding GROUP BY supervision, risk, duty, level" | LC_ALL=C sort)" \
   "csv: the matrix, one row a cell, equals SQL's counts"
is "$(grep -c '^423' "$T_DIR/r.csv")" 72 "csv: all 72 cells, empty ones too"
is "$(awk -F, '/^423/ {print $2 "=" $8; print $3 "=" $9; print $4 "=" $10; print $5 "=" $11}' "$T_DIR/r.csv" | LC_ALL=C sort -u | paste -sd' ')" \
   "disciplinary=纪律监督 dual-duty=一岗双责 financial=财务监督 impartiality=检验公正 non-technical=非技术风险 orange=橙色 primary=主体责任 red=红色 supervisory=监督责任 technical=技术监督 technical=技术风险 yellow=黄色" \
   "csv: each 423 and level value with its Chinese label"

# --- the trend, by the record's own month ---
trend_want=$(sql "$DB" "
  SELECT month || ' ' || level || ' ' || count(*) FROM (SELECT level, coalesce(CASE WHEN evidence->>'changed_at' ~ '^[0-9]{4}-[0-9]{2}' THEN left(evidence->>'changed_at', 7) END,
                  CASE WHEN evidence->>'paid_at' ~ '^[0-9]{4}-[0-9]{2}' THEN left(evidence->>'paid_at', 7) END,
                  CASE WHEN evidence->>'issued_at' ~ '^[0-9]{4}-[0-9]{2}' THEN left(evidence->>'issued_at', 7) END,
                  CASE WHEN evidence->>'held_at' ~ '^[0-9]{4}-[0-9]{2}' THEN left(evidence->>'held_at', 7) END,
                  CASE WHEN evidence->>'deadline' ~ '^[0-9]{4}-[0-9]{2}' THEN left(evidence->>'deadline', 7) END,
                  to_char(first_seen, 'YYYY-MM')) AS month
    FROM qf.finding) x GROUP BY month, level" | LC_ALL=C sort)
trend_got=$(awk -F, '/^月度/ && $4 != 0 {print $2 " " $3 " " $4}' "$T_DIR/r.csv" | LC_ALL=C sort)
is "$trend_got" "$trend_want" \
   "the monthly trend counts each finding in its record's month (changed_at before approved_at, a date key after one that is not a date, first_seen last)"
is "$(awk -F, '/^月度/ && $2 == "2025-06" {s += $4; n++} END {print n " " s + 0}' "$T_DIR/r.csv")" "3 0" \
   "a month without findings between two with is shown, as 0 for each level"
like "$html" "first_seen \($(sql "$DB" "SELECT count(*) FROM qf.finding WHERE NOT (evidence ?| ARRAY['changed_at', 'paid_at', 'issued_at', 'held_at', 'deadline'])") in this report\)" \
     "the footnote says how the trend dates a finding, and how many by first_seen"
like "$html" "changed_at,paid_at,.*,deadline" "and names the evidence keys in their order"

# --- bars: each in its level's colour ---
segments=$(( $(sql "$DB" "SELECT (SELECT count(DISTINCT (department, level)) FROM qf.finding) + (SELECT count(DISTINCT (rule_id, level)) FROM qf.finding)") + $(printf '%s\n' "$trend_want" | wc -l) ))
is "$(perl -ne 'while (/<rect class="lv-(\w+)"[^>]* fill="(#\w+)"/g) { $n++; $bad++ if $2 ne {red => "#c0392b", orange => "#e67e22", yellow => "#d4ac0d"}->{$1} } END { print $n + 0, " ", $bad + 0 }' "$T_DIR/report.html")" \
   "$segments 0" "one bar segment for each level present in a month, department or rule, each in its level's colour"
is "$(grep -o '<rect [^>]*>' "$T_DIR/report.html" | grep -vc 'class="lv-\(red\|orange\|yellow\)"')" 0 "no bar without a level"

# --- rendered by headless Chromium ---
shot() { # shot HTML PNG WIDTH HEIGHT
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$T_DIR/chrome-$(basename "$2")" --hide-scrollbars \
    --window-size="$3,$4" --screenshot="$2" "file://$1" >/dev/null 2>&1
}
if command -v chromium >/dev/null; then
  # A4 at 96 dpi is 794 px wide
  shot "$T_DIR/report.html" "$T_DIR/a4.png" 794 1123
  is "$(perl -e 'open(my $f, "<:raw", $ARGV[0]) or exit; read($f, my $h, 24); print join("x", unpack("x16 N N", $h)) if substr($h, 1, 3) eq "PNG"' "$T_DIR/a4.png")" \
     794x1123 "headless Chromium renders the report at A4 width"
  ink=$(perl "$QF_ROOT/tests/png-red.pl" "$T_DIR/a4.png" ink 2>&1)
  ok $([ "$ink" -gt $((794 * 1123 / 20)) ] 2>/dev/null && echo 0 || echo 1) "the A4 screenshot is not blank ($ink pixels of ink)"
  red=$(perl "$QF_ROOT/tests/png-red.pl" "$T_DIR/a4.png" c0392b 2>&1)
  ok $([ "$red" -gt 100 ] 2>/dev/null && echo 0 || echo 1) "and shows the levels' colours ($red red pixels)"
  # at 1280 px, two columns: the whole report within 2,500 px
  shot "$T_DIR/report.html" "$T_DIR/wide.png" 1280 4000
  h=$(perl "$QF_ROOT/tests/png-red.pl" "$T_DIR/wide.png" height 2>&1)
  ok $([ "$h" -gt 600 ] && [ "$h" -le 2500 ] 2>/dev/null && echo 0 || echo 1) "at 1280 px the report is $h px long (27 departments, 23 months): at most 2,500"
  # each level's bars drawn: what the charts add to a render without them
  sed 's|<svg .*||; /^<text\|^<\/svg>/d' "$T_DIR/report.html" >"$T_DIR/nocharts.html"
  shot "$T_DIR/nocharts.html" "$T_DIR/wide-nocharts.png" 1280 4000
  for c in red:c0392b orange:e67e22 yellow:d4ac0d; do
    want=$(grep -o "<rect class=\"lv-${c%%:*}\"[^>]*height=\"14\"" "$T_DIR/report.html" | grep -o 'width="[0-9]*"' | tr -dc '0-9\n' | awk '{s += $1 * 14} END {print s + 0}')
    with=$(perl "$QF_ROOT/tests/png-red.pl" "$T_DIR/wide.png" "${c#*:}" 2>&1); without=$(perl "$QF_ROOT/tests/png-red.pl" "$T_DIR/wide-nocharts.png" "${c#*:}" 2>&1)
    ok $([ "$want" -gt 0 ] && [ $((with - without)) -ge $((want * 9 / 10)) ] && [ $((with - without)) -le $((want * 11 / 10)) ] 2>/dev/null && echo 0 || echo 1) \
       "the ${c%%:*} bars are drawn in #${c#*:}: $((with - without)) pixels of $want"
  done
  [ -n "${QF_KEEP_SCREENSHOT:-}" ] && cp "$T_DIR/a4.png" "$QF_KEEP_SCREENSHOT-a4.png" && cp "$T_DIR/wide.png" "$QF_KEEP_SCREENSHOT-wide.png"
else
  ok 1 "headless Chromium renders the report (chromium is not installed: run tools/deps.sh)"
fi

# --- the print stylesheet, and --format pdf ---
like "$html" "@page\{size:A4" "a print stylesheet sets A4 pages"
like "$html" "@media print\{[^}]*\}?.*break-inside:avoid" "and keeps tables whole on a page"
"$QFCTL" -d "$CONNINFO" "${R[@]}" --format pdf >"$T_DIR/r.pdf" 2>"$T_DIR/pdf.err"; st=$?
if command -v chromium >/dev/null && command -v pdfinfo >/dev/null && command -v pdftoppm >/dev/null; then
  is "$st" 0 "report --format pdf exits 0"
  is "$(head -c 5 "$T_DIR/r.pdf")" "%PDF-" "and writes a PDF"
  like "$(pdfinfo "$T_DIR/r.pdf" 2>&1)" "Page size: +[0-9.]+ x [0-9.]+ pts \(A4\)" "on A4 pages"
  pdftoppm -f 1 -l 1 -r 48 -png "$T_DIR/r.pdf" "$T_DIR/page" 2>/dev/null
  page=$(ls "$T_DIR"/page*.png 2>/dev/null | head -1)
  ink=$(perl "$QF_ROOT/tests/png-red.pl" "$page" ink 2>&1)
  ok $([ -n "$page" ] && [ "$ink" -gt 2000 ] 2>/dev/null && echo 0 || echo 1) "page 1 renders, not blank ($ink pixels of ink)"
  ok $([ "$(perl "$QF_ROOT/tests/png-red.pl" "$page" c0392b 2>&1)" -gt 20 ] 2>/dev/null && echo 0 || echo 1) "in colour"
  [ -n "${QF_KEEP_SCREENSHOT:-}" ] && cp "$T_DIR/r.pdf" "$QF_KEEP_SCREENSHOT.pdf" && cp "$page" "$QF_KEEP_SCREENSHOT-pdf1.png"
else
  ok 1 "report --format pdf (needs chromium and poppler-utils: run tools/deps.sh)"
fi
# without Chromium: a clear message and EX_UNAVAILABLE, nothing on stdout
PATH=/nonexistent "$QFCTL" -d "$CONNINFO" "${R[@]}" --format pdf >"$T_DIR/none.pdf" 2>"$T_DIR/none.err"; st=$?
is "$st" 69 "report --format pdf without Chromium exits 69"
like "$(cat "$T_DIR/none.err")" "apt-get install chromium" "naming the package to install"
is "$(wc -c <"$T_DIR/none.pdf" | tr -d ' ')" 0 "and writes nothing"
# a Chromium that fails: its own words on stderr, exit 1, no half PDF
mkdir -p "$T_DIR/bin"; printf '#!/bin/sh\necho "cannot open display: broken" >&2\nexit 3\n' >"$T_DIR/bin/chromium"; chmod +x "$T_DIR/bin/chromium"
PATH="$T_DIR/bin" "$QFCTL" -d "$CONNINFO" "${R[@]}" --format pdf >"$T_DIR/bad.pdf" 2>"$T_DIR/bad.err"; st=$?
is "$st" 1 "a Chromium that fails makes report --format pdf exit 1"
like "$(tr '\n' ' ' <"$T_DIR/bad.err")" "chromium failed \(exit 3\).*cannot open display: broken" "with what it said"
is "$(wc -c <"$T_DIR/bad.pdf" | tr -d ' ')" 0 "and nothing on stdout"
done_testing
