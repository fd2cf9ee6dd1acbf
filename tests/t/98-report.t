#!/bin/bash
# qfctl report: the figures equal the same counts computed by SQL; csv
# with --excel round-trips; html is one self-contained file with inline SVG
# charts and record text escaped.
. "$(dirname "$0")/../lib.sh"

new_db report
ONCE_DEADLINE=1 write_conf "$T_DIR/q.conf" "http://127.0.0.1:9/hook" "$(only_rules F09 F03 D05)"
sql "$DB" "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by) VALUES
  ('P1', '化学室', 48000, 'a', 'a', 'x'), ('P2', '财务处,\"一科\"', 100, 'b', 'b', 'x'), ('P3', '化学室', 48100, 'c', 'd', 'e');
  INSERT INTO records.reception (reception_id, host_department, guests, accompanying, has_official_letter, held_at)
  VALUES ('R1', '<script>alert(1)</script>', 2, 5, true, now())"
run_once "$T_DIR/q.conf"
qf() { "$QFCTL" -c "$T_DIR/q.conf" "$@"; }
fid=$(sql "$DB" "SELECT id FROM qf.finding WHERE rule_id = 'F09' AND dedupe_key = 'P2'")
qf findings resolve "$fid" --note "已整改" >/dev/null
R=(report --from 2000-01-01 --to 2100-01-01)

md=$(qf "${R[@]}" --format md); st=$?
is "$st" 0 "report --format md exits 0"
for h in "423 矩阵 matrix" "月度趋势 monthly trend" "高发规则 top rules" "部门 departments" "未结风险点账龄" "整改用时" "历史链头"; do
  like "$md" "## $h" "md has the section $h"
done
total=$(sql "$DB" "SELECT count(*) FROM qf.finding")
# the matrix is a grid (issue 22): supervision x risk rows, a red/orange/yellow
# cell per duty; its cells add up to every finding, as does its total
is "$(printf '%s\n' "$md" | awk -F'|' '/^## 423/ {on = 1; next} /^## / {on = 0}
  on && /^\| [^ ]+ [a-z]/ && !/supervision|合计/ {for (c = 4; c <= 7; c++) {n = split($c, v, "/"); for (l = 1; l <= n; l++) s += v[l]}} END {print s}')" \
   "$total" "the 423 matrix adds up to the findings counted by SQL ($total)"
like "$md" "\| 合计 total \| \|.* $total \([0-9]+/[0-9]+/[0-9]+\) \|" "and its grand total is SQL's count"
want=$(sql "$DB" "SELECT string_agg(rule_id || '=' || n, ',' ORDER BY n DESC, rule_id) FROM (SELECT rule_id, count(*) n FROM qf.finding GROUP BY 1) x")
got=$(printf '%s\n' "$md" | awk -F'|' '/^## 高发/ {on = 1; next} /^## / {on = 0} on && /^\| [A-Z][0-9]/ {gsub(/ /, "", $2); gsub(/ /, "", $4); printf "%s%s=%s", (n++ ? "," : ""), $2, $4}')
is "$got" "$want" "top rules equal SQL's counts"
open=$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE status IN ('open', 'acknowledged')")
is "$(printf '%s\n' "$md" | awk -F'|' '/^## 未结/ {on = 1; next} /^## / {on = 0} on && $3 ~ /^ *[0-9]+ *$/ {s += $3} END {print s + 0}')" \
   "$open" "the ages of open findings add up to SQL's open count ($open)"
want=$(sql "$DB" "SELECT string_agg(department || '=' || n, ';' ORDER BY department) FROM (SELECT department, count(*) FILTER (WHERE status IN ('open', 'acknowledged')) n FROM qf.finding GROUP BY 1) x")
got=$(printf '%s\n' "$md" | awk -F'|' '/^## 部门/ {on = 1; next} /^## / {on = 0} on && NR > 0 && $2 !~ /部门|---/ && NF > 3 {gsub(/^ | $/, "", $2); gsub(/ /, "", $3); gsub(/\\/, "", $2); print $2 "=" $3}' | LC_ALL=C sort | paste -sd';')
is "$got" "$(printf '%s' "$want" | tr ';' '\n' | LC_ALL=C sort | paste -sd';')" "open findings per department equal SQL's"
like "$(printf '%s\n' "$md" | awk '/^## 整改/ {on = 1; next} on')" '\| resolved \| 1 \|' "time to resolve counts the resolved finding"
like "$md" "\| $(sql "$DB" "SELECT seq FROM qf.chain_head") \| $(sql "$DB" "SELECT hash FROM qf.chain_head") \|" "the report quotes the chain head"

# csv: RFC 4180, --excel, round trip
qf "${R[@]}" --format csv --excel >"$T_DIR/r.csv"
is "$(head -c 3 "$T_DIR/r.csv" | od -An -tx1 | tr -d ' ')" efbbbf "csv --excel starts with the BOM"
parsed=$(perl -0ne 's/^\xEF\xBB\xBF//; my @rows; my @f; my $v;
  while (length) { if (s/^"((?:[^"]|"")*)"//) { ($v = $1) =~ s/""/"/g } elsif (s/^([^,\r\n]*)//) { $v = $1 }
    push @f, $v; if (s/^,//) { next } s/^\r\n//; push @rows, [@f]; @f = () }
  my $s = 0; my $dep = "";
  for my $r (@rows) { $s += $r->[5] if $r->[0] =~ /^423/; $dep = "$r->[1]|$r->[3]" if $r->[0] =~ /^部门/ && $r->[1] =~ /一科/ }
  print "$s $dep"' "$T_DIR/r.csv")
is "$parsed" "$total 财务处,\"一科\"|1" "csv round-trips: the matrix sum, and a department with a comma and quotes"

# html: one file, inline SVG, record text escaped
html=$(qf "${R[@]}" --format html)
like "$html" "^<!DOCTYPE html>" "html is a document"
is "$(printf '%s' "$html" | grep -c '<svg ')" 3 "with three inline SVG charts"
like "$html" "&lt;script&gt;alert\(1\)&lt;/script&gt;" "record text is escaped"
ok $(printf '%s' "$html" | grep -q '<script>alert' && echo 1 || echo 0) "and never active"
ok $(printf '%s' "$html" | grep -Eq '(src|href)="http' && echo 1 || echo 0) "self-contained: nothing loaded from elsewhere"
# rendered by headless Chromium: a screenshot, which must hold the charts
if command -v chromium >/dev/null; then
  printf '%s\n' "$html" >"$T_DIR/report.html"
  sed 's|<svg .*||; /^<text\|^<\/svg>/d' "$T_DIR/report.html" >"$T_DIR/nocharts.html"
  shot() { chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
             --disable-component-update --disable-sync --user-data-dir="$T_DIR/chrome-$2" --hide-scrollbars \
             --window-size=900,1600 --screenshot="$T_DIR/$2.png" "file://$T_DIR/$1" >/dev/null 2>&1; }
  shot report.html with; shot nocharts.html without
  dims=$(perl -e 'open(my $f, "<:raw", $ARGV[0]) or exit; read($f, my $h, 24); print join("x", unpack("x16 N N", $h)) if substr($h, 1, 3) eq "PNG"' "$T_DIR/with.png")
  is "$dims" "900x1600" "headless Chromium renders the report to a 900x1600 PNG"
  # the bars are in their levels' colours (issue 22), which the grid's
  # level headers also use: the charts must add (nearly) every pixel of
  # their bars to what the chart-less render shows
  want=0 drawn=0 none=0
  for c in c0392b e67e22 d4ac0d; do
    want=$((want + $(printf '%s' "$html" | grep -o "width=\"[0-9]*\" height=\"14\" fill=\"#$c\"" | awk -F'"' '{s += $2 * 14} END {print s + 0}')))
    w=$(perl "$QF_ROOT/tests/png-red.pl" "$T_DIR/with.png" $c 2>&1); n=$(perl "$QF_ROOT/tests/png-red.pl" "$T_DIR/without.png" $c 2>&1)
    drawn=$((drawn + w - n)); none=$((none + n))
  done
  ok $([ "$want" -gt 0 ] && [ "$drawn" -ge $((want * 9 / 10)) ] && [ "$drawn" -le $((want * 11 / 10)) ] 2>/dev/null && echo 0 || echo 1) \
     "the screenshot shows the charts: $drawn bar pixels of $want drawn"
  ok $([ "$none" -gt 0 ] 2>/dev/null && echo 0 || echo 1) "and a render without the SVG still shows the grid's level colours"
  [ -n "${QF_KEEP_SCREENSHOT:-}" ] && cp "$T_DIR/with.png" "$QF_KEEP_SCREENSHOT"
else
  # tools/deps.sh (run by make check) installs it: a missing browser must
  # not pass as a report that renders
  ok 1 "headless Chromium renders the report (chromium is not installed: run tools/deps.sh)"
fi
done_testing
