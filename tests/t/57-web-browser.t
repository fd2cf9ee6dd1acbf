#!/bin/bash
# The console in a browser: Debian's chromium driven by playwright-core
# (tests/browser/console.mjs; npm ci installs it when node_modules is
# missing, no browser is downloaded) against a real qfweb and PostgreSQL.
# Two auditors work a finding through the loop (filter, open, sign,
# feedback, close), the dashboard shows the closure in 查实率, a POST
# without the CSRF token is refused; the screenshots of the list, the
# finding and the dashboard are kept under $QF_BUILD/test-output and must
# not be blank. Under a cluster of its own (pg_hba.conf for SCRAM).
. "$(dirname "$0")/../lib.sh"
own_cluster
. "$QF_ROOT/tests/browser/web-setup.sh"

B=$QF_ROOT/tests/browser
if ! command -v node >/dev/null || ! [ -x /usr/bin/chromium ]; then
  echo "1..0 # SKIP needs node and chromium (tools/deps.sh test)"; exit 0
fi
if ! [ -d "$B/node_modules/playwright-core" ]; then
  (cd "$B" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >"$T_DIR/npm.log" 2>&1) ||
    { sed 's/^/# /' "$T_DIR/npm.log"; }
fi
[ -d "$B/node_modules/playwright-core" ]; ok $? "playwright-core is installed (npm ci, tests/browser/package-lock.json)"

web_setup; ok $? "a database with findings and two auditors"
web_start; ok $? "qfweb starts"
F=$(sql "$DB" "SELECT id FROM qf.finding WHERE rule_id = 'F09' AND dedupe_key = 'P1'")
OUT=${QF_TEST_OUT:-$QF_BUILD/test-output}/57-web-browser
rm -rf "$OUT"; mkdir -p "$OUT"

# each line the script prints is one check
(cd "$B" && timeout 180 node console.mjs "$W" "$F" "$OUT") >"$T_DIR/node.out" 2>"$T_DIR/node.err"
ok $? "the browser script ran"
[ -s "$T_DIR/node.err" ] && sed 's/^/# /' "$T_DIR/node.err" | head -20
while IFS= read -r line; do
  case $line in
    "ok - "*) ok 0 "${line#ok - }" ;;
    "not ok - "*) ok 1 "${line#not ok - }" ;;
    *) echo "$line" ;;
  esac
done <"$T_DIR/node.out"
grep -q "the dashboard shows the closure" "$T_DIR/node.out"; ok $? "the script reached the dashboard"

# what the browser did is in the database, by each person
is "$(sql "$DB" "SELECT string_agg(actor || ':' || action, ',' ORDER BY seq) FROM qf.finding_event WHERE finding_id = $F AND action <> 'created'")" \
   "web_a1:acknowledged,web_a1:reported,web_a2:resolved" "the history names the two auditors"
is "$(sql "$DB" "SELECT outcome || '/' || disposition FROM qf.finding WHERE id = $F")" "substantiated/talk" "the feedback was stored"

for shot in list finding dashboard; do
  ink=$(perl "$QF_ROOT/tests/png-red.pl" "$OUT/$shot.png" ink 2>&1)
  [ "${ink:-0}" -gt 20000 ] 2>/dev/null; ok $? "the $shot screenshot is not blank ($ink pixels of ink)"
done
bar=$(perl "$QF_ROOT/tests/png-red.pl" "$OUT/list.png" 1f4e3d 2>&1)
[ "${bar:-0}" -gt 1000 ] 2>/dev/null; ok $? "the list is drawn with its style sheet (header colour: $bar pixels)"
badge=$(perl "$QF_ROOT/tests/png-red.pl" "$OUT/list.png" e67e22 2>&1)
[ "${badge:-0}" -gt 50 ] 2>/dev/null; ok $? "and its rows (orange level badges: $badge pixels)"

done_testing
