#!/bin/bash
# The console (qfweb) without a browser: logins (wrong password, unknown
# role, a role that is no auditor, a cross-site login), sessions (cookie
# flags, a new id at each login, logout, idle timeout), CSRF (missing,
# forged), no step by GET, scope (GET and POST of a finding outside it),
# the stages (close twice: 409), four eyes (403), bad fields (400),
# escaping, the CSV export's formula neutralising, security headers, a
# large body, sd_notify READY and SIGTERM. Under a cluster of its own: it
# changes pg_hba.conf (SCRAM for its roles) and reloads the server.
. "$(dirname "$0")/../lib.sh"
own_cluster
. "$QF_ROOT/tests/browser/web-setup.sh"

web_setup; ok $? "a database with findings and auditors who log in with passwords"
like "$("$QF_BUILD/qfweb" -c "$T_DIR/q.conf" -n 2>&1)" "configuration OK \(console on 127.0.0.1:9424\)" "qfweb -n checks the configuration"
sed 's|conninfo = "|conninfo = "password=secret |' "$T_DIR/q.conf" >"$T_DIR/bad.conf"
out=$("$QF_BUILD/qfweb" -c "$T_DIR/bad.conf" -n 2>&1); st=$?
is "$st" 78 "a conninfo with a password: refused (78)"
like "$out" "holds a password" "and says why"
notify_listen "$T_DIR/notify.sock" "$T_DIR/notify.log"
NOTIFY_SOCKET=$T_DIR/notify.sock web_start; ok $? "qfweb starts"
wait_for 5 'grep -q READY=1 "$T_DIR/notify.log"'; ok $? "and tells systemd READY=1"

O=$T_DIR/out.html H=$T_DIR/headers.txt
# req JAR METHOD PATH [curl args...]: the status; the body in $O, the headers in $H
req() {
  local jar=$1 m=$2 path=$3; shift 3
  curl -s -o "$O" -D "$H" -w '%{http_code}' -b "$jar" -c "$jar" -X "$m" "$@" "$W$path"
}
login() { local jar=$1 u=$2 pw=$3; shift 3; req "$jar" POST /login --data-urlencode "user=$u" --data-urlencode "password=$pw" "$@"; }
csrf() { perl -ne 'print "$1\n" if /name="csrf" value="([0-9a-f]{64})"/' "$O" | head -1; }
hdr() { tr -d '\r' <"$H" | grep -i "^$1:" | head -1 | cut -d' ' -f2-; }
status_of() { sql "$DB" "SELECT status FROM qf.finding WHERE id = $1"; }
events() { sql "$DB" "SELECT count(*) FROM qf.finding_event"; }

is "$(curl -s "$W/healthz" | cut -d' ' -f1)" ok "/healthz answers ok"
J0=$T_DIR/anon.jar
is "$(req "$J0" GET /findings)" 303 "no session: /findings redirects"
is "$(hdr location)" /login "to /login"

# logins that fail
is "$(login "$J0" web_a1 wrong-password)" 401 "a wrong password: 401"
like "$(cat "$O")" "用户名或密码错误" "with a page that says so"
is "$(hdr set-cookie)" "" "and no session cookie"
is "$(login "$J0" web_nobody whatever)" 401 "an unknown role: the same 401"
like "$(cat "$O")" "用户名或密码错误" "reads the same (no guessing which roles exist)"
is "$(login "$J0" web_plain pw-plain)" 403 "a role that is no auditor: 403"
is "$(req "$J0" POST /login -H 'Sec-Fetch-Site: cross-site' --data 'user=web_a1&password=pw-a1')" 403 \
   "a login posted from another site (login CSRF): 403"
is "$(req "$J0" POST /login -H 'Origin: http://evil.example' --data 'user=web_a1&password=pw-a1')" 403 \
   "a login with a foreign Origin: 403"
unlike "$(cat "$T_DIR/web.log")" "pw-a1|wrong-password" "no password in the log"

# a login
J1=$T_DIR/a1.jar
echo "127.0.0.1	FALSE	/	FALSE	0	qfweb	$(printf 'f%.0s' $(seq 64))" >"$J1"
is "$(login "$J1" web_a1 pw-a1)" 303 "web_a1 logs in: 303"
is "$(hdr location)" /findings "to the findings"
cookie=$(hdr set-cookie)
like "$cookie" "^qfweb=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict$" "a 256-bit id, HttpOnly, SameSite=Strict, not Secure over plain http"
unlike "$cookie" "qfweb=f{64}" "a new id, not the one the browser came with (session fixation)"
login "$T_DIR/https.jar" web_a1 pw-a1 -H 'X-Forwarded-Proto: https' >/dev/null
like "$(hdr set-cookie)" "; Secure$" "Secure when the proxy says https"

# the list
is "$(req "$J1" GET /findings)" 200 "the list: 200"
like "$(hdr content-security-policy)" "default-src 'none'.*frame-ancestors 'none'" "a CSP without script, no framing"
is "$(hdr x-frame-options)" DENY "X-Frame-Options: DENY"
is "$(hdr cache-control)" no-store "pages with data are not stored"
n_all=$(grep -c '<tr data-id=' "$O")
is "$n_all" "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE supervision = 'financial'")" "every finding in scope is listed"
req "$J1" GET '/findings?rule=F03' >/dev/null
is "$(grep -c '<tr data-id=' "$O")" "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE rule_id = 'F03'")" "?rule=F03 filters"
is "$(req "$J1" GET '/findings?status=bogus')" 400 "a bad filter: 400"
is "$(req "$J1" GET '/findings?page=x')" 400 "a bad page: 400"
like "$(req "$J1" GET '/findings?page=2&light=green')" 200 "a page beyond the last: 200, empty"

# escaping: a department with markup and a formula
evil=$(sql "$DB" "SELECT id FROM qf.finding WHERE department LIKE '=1+2%'")
req "$J1" GET "/findings/$evil" >/dev/null
like "$(cat "$O")" '=1\+2&lt;b&gt;粗&lt;/b&gt;' "record text is escaped in the page"
unlike "$(cat "$O")" '<b>粗' "never markup"

# the CSV export
is "$(req "$J1" GET /export/findings.csv)" 200 "the CSV export: 200"
is "$(head -c 3 "$O" | od -An -tx1 | tr -d ' ')" efbbbf "with the BOM that Excel and WPS need"
like "$(hdr content-disposition)" 'attachment; filename="findings.csv"' "as a download"
like "$(cat "$O")" "\"'=1\+2<b>粗</b>\"" "a cell starting with = is neutralised as qfctl's CSV does"

# one finding
F=$(sql "$DB" "SELECT id FROM qf.finding WHERE rule_id = 'F09' AND dedupe_key = 'P1'")
is "$(req "$J1" GET "/findings/$F")" 200 "a finding: 200"
like "$(cat "$O")" 'data-chain="intact"' "its history's hashes verified"
like "$(cat "$O")" 'payment_id' "its evidence"
T1=$(csrf); like "$T1" '^[0-9a-f]{64}$' "its forms carry the CSRF token"

# no step without the token, or with a forged one, or by GET
e0=$(events)
is "$(req "$J1" POST "/findings/$F/ack" --data 'note=x')" 403 "a step without the CSRF token: 403"
is "$(req "$J1" POST "/findings/$F/ack" --data "csrf=$(printf '0%.0s' $(seq 64))&note=x")" 403 "a forged token: 403"
is "$(req "$J1" POST "/findings/$F/ack" --data "csrf=$T1&note=x" -H 'Sec-Fetch-Site: cross-site')" 403 \
   "the right token from another site's page: 403"
is "$(req "$J1" GET "/findings/$F/ack?csrf=$T1&note=x")" 405 "a step by GET: refused (405)"
is "$(status_of "$F")$(events)" "open$e0" "nothing was written"
is "$(hdr allow)" POST "(the 405 says: Allow: POST)"

# one person's sessions are capped (each holds a database connection)
for i in 1 2 3 4 5 6 7 8; do login "$T_DIR/many$i.jar" web_a2 pw-a2 >/dev/null; done
is "$(req "$T_DIR/many1.jar" GET /findings)" 200 "eight sessions of one person live side by side"
login "$T_DIR/many9.jar" web_a2 pw-a2 >/dev/null
is "$(req "$T_DIR/many2.jar" GET /findings)" 303 "a ninth ends the least recently used one"
is "$(req "$T_DIR/many1.jar" GET /findings)" 200 "and only that one"

# scope
J3=$T_DIR/out.jar
is "$(login "$J3" web_out pw-out)" 303 "web_out logs in"
req "$J3" GET /findings >/dev/null; T3=$(csrf)
is "$(grep -c '<tr data-id=' "$O")" 0 "and sees no finding"
is "$(req "$J3" GET "/findings/$F")" 403 "a finding outside the scope: GET 403"
is "$(req "$J3" POST "/findings/$F/ack" --data "csrf=$T3&note=x")" 403 "POST 403"
is "$(status_of "$F")$(events)" "open$e0" "nothing was written"

# the loop: ack, feedback (a1), close (a2, four eyes), close again
is "$(req "$J1" POST "/findings/$F/ack" --data "csrf=$T1&note=签收")" 303 "ack: 303"
is "$(hdr location)" "/findings/$F" "back to the finding"
is "$(status_of "$F")" acknowledged "acknowledged"
is "$(req "$J1" POST "/findings/$F/feedback" --data "csrf=$T1&outcome=bogus&disposition=talk&note=x")" 400 "an unknown outcome: 400"
is "$(req "$J1" POST "/findings/$F/feedback" --data "csrf=$T1&outcome=partly&disposition=talk&note=%zz")" 400 "a bad escape: 400"
is "$(req "$J1" POST "/findings/$F/feedback" --data-urlencode "csrf=$T1" --data-urlencode outcome=partly \
        --data-urlencode disposition=talk --data-urlencode "note=核实：部分属实 <script>")" 303 "feedback: 303"
is "$(status_of "$F")" reported "reported"
is "$(req "$J1" POST "/findings/$F/close" --data "csrf=$T1&note=x")" 403 "closing one's own feedback (four eyes): 403"
like "$(cat "$O")" "四眼原则|four eyes" "the page says why"
unlike "$(cat "$O")" "SELECT|qf\.finding_close" "and shows no SQL"
is "$(status_of "$F")" reported "still reported"
J2=$T_DIR/a2.jar
is "$(login "$J2" web_a2 pw-a2)" 303 "web_a2 logs in"
req "$J2" GET "/findings/$F" >/dev/null; T2=$(csrf)
like "$(cat "$O")" 'id="step-close"' "and is offered the close"
other=$(sql "$DB" "SELECT id FROM qf.finding WHERE rule_id = 'F09' AND dedupe_key = 'P2'")
req "$J2" GET "/findings/$other" >/dev/null
unlike "$(cat "$O")" 'id="step-ack"' "web_a2 is not offered the sign-for of web_a1's finding"
is "$(req "$J2" POST "/findings/$other/ack" --data "csrf=$T2&note=x")" 403 "and signing it anyway: 403"
is "$(status_of "$other")" open "still open"
is "$(req "$J2" POST "/findings/$F/close" --data "csrf=$T2&note=办结")" 303 "web_a2 closes it: 303"
is "$(status_of "$F")" resolved "resolved (partly substantiated)"
is "$(req "$J2" POST "/findings/$F/close" --data "csrf=$T2&note=again")" 409 "closing a closed finding: 409"
is "$(sql "$DB" "SELECT string_agg(actor || ':' || action, ',' ORDER BY seq) FROM qf.finding_event WHERE finding_id = $F AND action <> 'created'")" \
   "web_a1:acknowledged,web_a1:reported,web_a2:resolved" "the history names each person"
is "$(req "$J1" POST "/findings/$F/ack" --data "csrf=$T2&note=x")" 403 "one session's token is not another's"

# the dashboard
is "$(req "$J2" GET /dashboard)" 200 "the dashboard: 200"
like "$(cat "$O")" 'data-grouping="all">.*class="n rate" data-rate="100.0"' "查实率 100.0 after one partly-substantiated closure"
like "$(cat "$O")" 'data-cell="financial/non-technical/supervisory/orange">[1-9]' "the 423 matrix counts the period's findings"
is "$(req "$J2" GET '/dashboard?from=x')" 400 "a bad date: 400"
is "$(req "$J2" GET '/export/report.html')" 200 "the HTML report: 200"
like "$(hdr content-disposition)" '^attachment; filename="qingfeng-report-[0-9-]{10}-[0-9-]{10}\.html"$' "a download named by its period"
like "$(cat "$O")" '<style>.*data-rate="100.0"' "standalone (its style inside), with 查实率"
unlike "$(cat "$O")" '<form' "and no form"

# a large body
big=$(head -c 20000 /dev/zero | tr '\0' a)
is "$(req "$J1" POST "/findings/$F/reopen" --data "csrf=$T1&note=$big")" 413 "a body over 16 KiB: 413"

# logout
old=$(awk '$6 == "qfweb" {print $7}' "$J1")
is "$(req "$J1" POST /logout --data "csrf=$T1")" 303 "logout: 303"
like "$(hdr set-cookie)" "Max-Age=0" "the cookie is cleared"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: qfweb=$old" "$W/findings")" 303 "the ended session's cookie no longer opens a page"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: qfweb=$(awk '$6 == "qfweb" {print $7}' "$J2")" "$W/findings")" 200 \
   "(another person's session goes on)"

# SIGTERM
kill -TERM "$WEB_PID"; wait "$WEB_PID"; is "$?" 0 "SIGTERM: qfweb stops, status 0"
like "$(cat "$T_DIR/web.log")" "stopped" "and says so"

done_testing
