#!/bin/bash
# The console's password login is only as good as the server's check of
# the password: a role that pg_hba.conf lets in without one (trust, peer
# for the service's own OS user, the cluster's superuser on a trusting
# socket) is refused whatever password is typed, with a warning for the
# operator that says why and, to the person, the same page as a wrong
# password. The right password (SCRAM) logs in; a wrong one is a 401 and
# never reaches the log. Bad fields are a 400 before anything connects:
# an empty user, conninfo in the user (`a host=...`, `dbname=...`) or in
# the password, values too long, NUL bytes, a user or password in the
# URL (GET or POST). The trusted proxy's header still logs people in
# without a password. Under a cluster of its own (pg_hba.conf, pg_ident.conf).
. "$(dirname "$0")/../lib.sh"
own_cluster
. "$QF_ROOT/tests/browser/web-setup.sh"

web_setup; ok $? "a database with findings and auditors who log in with SCRAM passwords"
me=$(id -un)
# web_nopw has a password but a trust line; web_peer gets in as whoever
# runs the console (peer, mapped): both as a careless pg_hba.conf would
sql postgres "CREATE ROLE web_nopw LOGIN PASSWORD 'pw-nopw' IN ROLE qf_auditor;
  CREATE ROLE web_peer LOGIN PASSWORD 'pw-peer' IN ROLE qf_auditor; CREATE ROLE web_t1 LOGIN IN ROLE qf_auditor"
sql "$DB" "INSERT INTO qf.auditor_scope (role_name, supervision) VALUES
  ('web_nopw', 'financial'), ('web_peer', 'financial'), ('web_t1', 'financial')"
hba=$QF_PGDATA/pg_hba.conf
{ echo "local all web_nopw trust"; echo "local all web_peer peer map=qfweb"; cat "$hba"; } >"$T_DIR/hba"
echo "qfweb $me web_peer" >"$T_DIR/ident"
$QF_PGRUNAS tee "$hba" <"$T_DIR/hba" >/dev/null && $QF_PGRUNAS tee "$QF_PGDATA/pg_ident.conf" <"$T_DIR/ident" >/dev/null &&
  $QF_PGRUNAS "$QF_PGCTL" -D "$QF_PGDATA" reload >/dev/null
ok $? "pg_hba.conf: trust for web_nopw, peer (mapped from $me) for web_peer"
wait_for 5 '[ "$(psql -X -At -d "$DB" -U web_peer -c "SELECT 1" 2>/dev/null)" = 1 ]'
ok $? "(the server took it: web_peer connects as $me without a password)"

web_start; ok $? "qfweb starts"
O=$T_DIR/out.html H=$T_DIR/headers.txt
req() { # req JAR METHOD PATH [curl args...]: the status; the body in $O, the headers in $H
  local jar=$1 m=$2 path=$3; shift 3
  curl -s -o "$O" -D "$H" -w '%{http_code}' -b "$jar" -c "$jar" -X "$m" "$@" "$W$path"
}
login() { local jar=$1 u=$2 pw=$3; shift 3; req "$jar" POST /login --data-urlencode "user=$u" --data-urlencode "password=$pw" "$@"; }
hdr() { tr -d '\r' <"$H" | grep -i "^$1:" | head -1 | cut -d' ' -f2-; }
J=$T_DIR/j.jar

# the server checks the password
is "$(login "$J" web_a1 pw-a1)" 303 "the right password (SCRAM): in (303)"
like "$(hdr set-cookie)" '^qfweb=[0-9a-f]{64};' "with a session"
is "$(login "$T_DIR/w.jar" web_a1 Wr0ng-pw-a1)" 401 "a wrong password: 401"
cp "$O" "$T_DIR/wrong.html"
like "$(cat "$O")" "用户名或密码错误" "the page says wrong user name or password"
is "$(hdr set-cookie)" "" "no session cookie"

# pg_hba.conf lets the role in without asking for the password
n0=$(grep -c 'logged in' "$T_DIR/web.log")
is "$(login "$T_DIR/n.jar" web_nopw any-thing-at-all)" 401 "a role that pg_hba.conf trusts, any password: refused (401)"
cmp -s "$O" "$T_DIR/wrong.html"; ok $? "the same page as a wrong password (the configuration is not revealed)"
is "$(hdr set-cookie)" "" "no session cookie"
is "$(login "$T_DIR/n.jar" web_nopw pw-nopw)" 401 "its right password too: the server never checked it"
like "$(grep 'login of web_nopw' "$T_DIR/web.log" | head -1)" \
  "warning.*pg_hba.conf lets role web_nopw in without a password; the console requires one" \
  "the operator's log says why (a warning)"
is "$(login "$T_DIR/p.jar" web_peer whatever)" 401 "a role that peer (an ident map) lets in as the console's OS user: refused"
like "$(cat "$T_DIR/web.log")" "pg_hba.conf lets role web_peer in without a password" "and logged"
is "$(login "$T_DIR/s.jar" "$PGUSER" whatever)" 401 "the cluster's superuser over its trusting socket: refused"
like "$(cat "$T_DIR/web.log")" "pg_hba.conf lets role $PGUSER in without a password" "and logged"
is "$(grep -c 'logged in' "$T_DIR/web.log")" "$n0" "none of them logged in"
is "$(curl -s "$W/healthz")" "ok 1 session(s)" "only web_a1's session is open"
unlike "$(cat "$T_DIR/web.log")" "any-thing-at-all|Wr0ng-pw-a1|pw-nopw|pw-a1" "no password in the log"

# bad fields: 400, and nothing connects (a listener counts who comes)
perl -MIO::Socket::INET -e '
  my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:0", Listen => 5, ReuseAddr => 1) or die;
  open(my $p, ">", $ARGV[0]) or die; print $p $s->sockport, "\n"; close $p;
  while (my $c = $s->accept) { open(my $l, ">>", $ARGV[1]) or die; print $l "connect\n"; close $l; close $c; }
' "$T_DIR/trap.port" "$T_DIR/trap.log" &
T_PIDS+=($!)
wait_for 5 '[ -s "$T_DIR/trap.port" ]'; P=$(cat "$T_DIR/trap.port")
n0=$(grep -c 'login of' "$T_DIR/web.log")
is "$(login "$J" "" pw-a1)" 400 "an empty user: 400"
is "$(req "$J" POST /login --data 'password=pw-a1')" 400 "no user: 400"
is "$(req "$J" POST /login --data 'user=web_a1')" 400 "no password: 400"
is "$(login "$J" "web_a1 host=127.0.0.1 port=$P" pw-a1)" 400 "a user 'web_a1 host=... port=...': 400"
is "$(login "$J" "dbname=postgresql://127.0.0.1:$P/x" pw-a1)" 400 "a user 'dbname=postgresql://...': 400"
is "$(login "$J" "dbname=" pw-a1)" 400 "a user 'dbname=': 400"
is "$(login "$J" "web_a1'" pw-a1)" 400 "a user with a quote: 400"
is "$(login "$J" "$(printf 'a%.0s' $(seq 64))" pw-a1)" 400 "a user of 64 bytes (a role name has 63 at most): 400"
is "$(login "$J" "$(printf 'a%.0s' $(seq 5000))" pw-a1)" 400 "a user of 5,000 bytes: 400"
is "$(login "$J" web_a1 "$(printf 'p%.0s' $(seq 1025))")" 400 "a password of 1,025 bytes: 400"
is "$(req "$J" POST /login --data 'user=web_a1%00x&password=pw-a1')" 400 "a NUL (%00) in the user: 400"
is "$(req "$J" POST /login --data 'user=web_a1&password=pw-a1%00')" 400 "a NUL (%00) in the password: 400"
printf 'user=web_a1\0&password=pw-a1' >"$T_DIR/nul.body"
is "$(req "$J" POST /login --data-binary @"$T_DIR/nul.body")" 400 "a raw NUL byte in the body: 400"
is "$(req "$J" GET '/login?user=web_a1&password=pw-a1')" 400 "user and password by GET, in the URL: 400"
is "$(req "$J" GET '/login?password=pw-a1')" 400 "a password in a GET's URL: 400"
is "$(req "$J" POST '/login?password=pw-a1' --data 'user=web_a1&password=pw-a1')" 400 \
  "a password in the URL of a POST (its body right): 400"
is "$(req "$J" POST '/login?user=web_a1' --data 'user=web_a1&password=pw-a1')" 400 "a user in the URL of a POST: 400"
is "$(grep -c 'login of' "$T_DIR/web.log")" "$n0" "none of them reached the database (no login line)"
is "$(login "$J" web_a1 "x host=127.0.0.1 port=$P dbname=postgresql://127.0.0.1:$P/x")" 401 \
  "conninfo in a password is only a wrong password (401)"
sleep 0.5
is "$(cat "$T_DIR/trap.log" 2>/dev/null | wc -l)" 0 "nothing connected to the address named in the fields"
is "$(req "$T_DIR/fresh.jar" GET '/login?expired=1')" 200 "(the login page's own query, ?expired=1, is still fine)"

# the trusted proxy's header: no password, the proxy authenticated the person
{ cat "$T_DIR/q.conf"; echo 'console = { trusted_header = "X-Remote-User"; };'; } >"$T_DIR/q2.conf"
"$QF_BUILD/qfweb" -c "$T_DIR/q2.conf" -l 127.0.0.1:0 --port-file "$T_DIR/web2.port" 2>>"$T_DIR/web2.log" &
T_PIDS+=($!)
wait_for 5 '[ -s "$T_DIR/web2.port" ]'; ok $? "a second qfweb starts, with trusted_header"
W2=http://127.0.0.1:$(cat "$T_DIR/web2.port")
is "$(curl -s -o "$O" -w '%{http_code}' -H 'X-Remote-User: web_t1' "$W2/findings")" 200 \
  "trusted_header: the header web_t1 (trust over the socket stands for the client certificate): the list"
like "$(cat "$O")" 'class="who">web_t1 ' "as web_t1"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Remote-User: a host=127.0.0.1' "$W2/findings")" 303 \
  "a header naming 'a host=...': no session (to the login page)"
is "$(curl -s -o /dev/null -w '%{http_code}' --data 'user=web_nopw&password=x' "$W2/login")" 403 \
  "password logins are off there"

done_testing
