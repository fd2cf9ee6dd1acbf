#!/bin/bash
# The console's sessions over time and behind a proxy: a session idle for
# longer than console.idle_timeout (60 s, the least the configuration
# takes) is gone (a page asks to log in again, a step is refused and
# nothing is written); with console.trusted_header, the proxy's header
# names the person, who gets a session as their own role without a
# password (here pg_hba trust over the socket stands for the client
# certificate or ident map), and password logins are off. Under a
# cluster of its own (pg_hba.conf for SCRAM).
. "$(dirname "$0")/../lib.sh"
own_cluster
. "$QF_ROOT/tests/browser/web-setup.sh"

WEB_CONF_EXTRA='console = { idle_timeout = 60; };' web_setup; ok $? "a database with findings and auditors"
sql postgres "CREATE ROLE web_t1 LOGIN IN ROLE qf_auditor; CREATE ROLE web_t2 LOGIN"
sql "$DB" "INSERT INTO qf.auditor_scope (role_name, supervision) VALUES ('web_t1', 'financial')"
web_start; ok $? "qfweb starts (idle_timeout 60 s)"
A=$W
sed 's/console = { idle_timeout = 60; };/console = { idle_timeout = 60; trusted_header = "X-Remote-User"; };/' \
  "$T_DIR/q.conf" >"$T_DIR/q2.conf"
"$QF_BUILD/qfweb" -c "$T_DIR/q2.conf" -l 127.0.0.1:0 --port-file "$T_DIR/web2.port" 2>>"$T_DIR/web2.log" &
T_PIDS+=($!)
wait_for 5 '[ -s "$T_DIR/web2.port" ]'; ok $? "a second qfweb starts, with trusted_header"
B=http://127.0.0.1:$(cat "$T_DIR/web2.port")

O=$T_DIR/out.html H=$T_DIR/headers.txt
req() { # req JAR METHOD URL [curl args...]: the status; the body in $O, the headers in $H
  local jar=$1 m=$2 url=$3; shift 3
  curl -s -o "$O" -D "$H" -w '%{http_code}' -b "$jar" -c "$jar" -X "$m" "$@" "$url"
}
hdr() { tr -d '\r' <"$H" | grep -i "^$1:" | head -1 | cut -d' ' -f2-; }
csrf() { perl -ne 'print "$1\n" if /name="csrf" value="([0-9a-f]{64})"/' "$O" | head -1; }
F=$(sql "$DB" "SELECT id FROM qf.finding WHERE rule_id = 'F09' AND dedupe_key = 'P1'")

# a password session, left idle while the proxy's part runs
J1=$T_DIR/a1.jar
is "$(req "$J1" POST "$A/login" --data 'user=web_a1&password=pw-a1')" 303 "web_a1 logs in"
req "$J1" GET "$A/findings/$F" >/dev/null; T1=$(csrf)
J4=$T_DIR/a2.jar
is "$(req "$J4" POST "$A/login" --data 'user=web_a2&password=pw-a2')" 303 "web_a2 logs in too"
started=$(date +%s)

# the proxy's header
JT=$T_DIR/t.jar
is "$(req "$JT" GET "$B/findings")" 303 "trusted_header, no header: to the login page"
req "$JT" GET "$B/login" >/dev/null
like "$(cat "$O")" "单点登录" "which says to log in through the proxy"
is "$(req "$JT" POST "$B/login" --data 'user=web_a1&password=pw-a1')" 403 "password logins are off"
is "$(req "$JT" GET "$B/findings" -H 'X-Remote-User: web_t1')" 200 "the header web_t1: the list, as web_t1"
like "$(cat "$O")" 'class="who">web_t1 ' "the page names web_t1"
like "$(hdr set-cookie)" '^qfweb=[0-9a-f]{64}; ' "with a session cookie (for the CSRF token)"
n0=$(grep -c 'logged in (by X-Remote-User)' "$T_DIR/web2.log")
req "$JT" GET "$B/findings/$F" -H 'X-Remote-User: web_t1' >/dev/null; TT=$(csrf)
is "$(grep -c 'logged in (by X-Remote-User)' "$T_DIR/web2.log")" "$n0" "the next request keeps that session"
is "$(req "$JT" POST "$B/findings/$F/ack" -H 'X-Remote-User: web_t1' --data 'note=x')" 403 "a step without the token: 403"
is "$(req "$JT" POST "$B/findings/$F/assign" -H 'X-Remote-User: web_t1' --data "csrf=$TT&to=web_a2&note=x")" 403 \
   "a step the role may not take (assign, not the owner): 403"
is "$(req "$JT" GET "$B/findings" -H 'X-Remote-User: web_t2')" 303 "the header naming a role that is no auditor: to the login page"
is "$(req "$JT" GET "$B/findings" -H 'X-Remote-User: web_nobody')" 303 "the header naming no role: to the login page"
is "$(req "$JT" POST "$B/findings/$F/ack" -H 'X-Remote-User: web_t2' --data "csrf=$TT&note=x")" 401 \
   "web_t1's token with another person's header: refused (401), web_t1's session ended"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event WHERE actor LIKE 'web_t%'")" 0 "nothing was written by the proxy's people"

# idle: 60 s after the last request, the session is gone
left=$((started + 62 - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
e0=$(sql "$DB" "SELECT count(*) FROM qf.finding_event")
is "$(req "$J1" POST "$A/findings/$F/ack" --data "csrf=$T1&note=late")" 401 "after 60 s idle a step is refused (401)"
like "$(cat "$O")" "会话已过期" "the page says the session expired"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event")" "$e0" "nothing was written"
is "$(sql "$DB" "SELECT status FROM qf.finding WHERE id = $F")" open "the finding is still open"
is "$(req "$J4" GET "$A/findings")" 303 "after 60 s idle a page redirects"
is "$(hdr location)" "/login?expired=1" "to the login page, which says the session expired"
req "$J4" GET "$A/login?expired=1" >/dev/null
like "$(cat "$O")" "会话已过期" "(it does)"
J2=$T_DIR/a1b.jar
is "$(req "$J2" POST "$A/login" --data 'user=web_a1&password=pw-a1')" 303 "logging in again works"
wait_for 10 'grep -q "session of web_a1 ended" "$T_DIR/web.log"'; ok $? "the expired session's connection was closed"

done_testing
