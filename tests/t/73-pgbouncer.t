#!/bin/bash
# Through a real PgBouncer (1.18, stock settings, unix socket in a temp
# dir, started and stopped here). In session mode the daemon and qfctl
# set their session (TimeZone, search_path) by statements, which a pooler
# passes on, and give the same findings as a direct connection on records
# where the server's UTC calendar and the institute's Asia/Shanghai one
# disagree. In transaction mode they refuse, once and clearly: /healthz
# 503, qingfeng_db_refused, a handful of log lines while retrying. And
# qfctl against a database that is not there says libpq's (or the
# pooler's) error and exits 69, never "run 'qfctl migrate'".
. "$(dirname "$0")/../lib.sh"

get() { perl -MHTTP::Tiny -e 'my $r = HTTP::Tiny->new(timeout => 5)->get($ARGV[0]); print "$r->{status}\n$r->{content}"' "$1"; }
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
if [ ! -x "$PGBOUNCER" ]; then
  ok 1 "pgbouncer is installed (tools/deps.sh installs it for make check)"
  done_testing
fi

# pgbouncer refuses to run as root: as root it switches to postgres (-u),
# which must reach its directory; T_DIR is root's, 0700
chmod 711 "$T_DIR"
# pgb_start NAME MODE TARGET-HOST: a PgBouncer for every database of
# TARGET-HOST (a socket directory) in pool mode MODE, on a unix socket in
# $T_DIR/NAME only (listen_addr empty: no TCP); sets PGB_<NAME> to that
# directory. Trust, as the throwaway cluster: the user must be in the
# auth_file all the same.
pgb_start() {
  local name=$1 mode=$2 target=$3 d=$T_DIR/$1
  mkdir -p "$d"
  cat >"$d/pgbouncer.ini" <<INI
[databases]
* = host=$target port=${PGPORT:-5432}
[pgbouncer]
listen_addr =
listen_port = 6432
unix_socket_dir = $d
auth_type = trust
auth_file = $d/users.txt
pool_mode = $mode
logfile = $d/pgbouncer.log
INI
  printf '"%s" ""\n' "$PGUSER" >"$d/users.txt"
  local as=()
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$d"; as=(-u postgres); fi
  "$PGBOUNCER" "${as[@]}" "$d/pgbouncer.ini" 2>>"$d/stderr.log" &
  T_PIDS+=("$!")
  wait_for 10 '[ -S "$d/.s.PGSQL.6432" ]' || { ok 1 "pgbouncer $name starts"; sed 's/^/# /' "$d/stderr.log"; }
  eval "PGB_$name=\$d"
}

NOW='2026-11-25 12:00'
# the same records in two databases whose sessions default to UTC
load() {
  sql "$DB" "ALTER DATABASE $DB SET TimeZone = 'UTC'"
  psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$QF_ROOT/tests/rules/T09.sql" >/dev/null
}
findings() { sql "$1" "SELECT rule_id, dedupe_key, level, subject, message FROM qf.finding ORDER BY 1, 2"; }

new_db direct; load; direct_db=$DB; direct_ci=$CONNINFO
new_db pooled; load; pooled_db=$DB
is "$(sql "$DB" "SHOW TimeZone")" UTC "the server's sessions are in UTC"

# ---- session mode: works, and the same as a direct connection ----
pgb_start session session "$PGHOST"
CONNINFO="host=$PGB_session port=6432 dbname=$pooled_db"
write_conf "$T_DIR/pooled.conf" "http://127.0.0.1:9/hook"
CONNINFO=$direct_ci write_conf "$T_DIR/direct.conf" "http://127.0.0.1:9/hook"
"$QFD" -c "$T_DIR/direct.conf" --once --clock "$NOW" >"$T_DIR/direct.log" 2>&1; st=$?
ok $([ $st = 0 ] || [ $st = 75 ] && echo 0 || echo 1) "--once directly runs (exit $st: the receiver is not there)"
"$QFD" -c "$T_DIR/pooled.conf" --once --clock "$NOW" >"$T_DIR/pooled.log" 2>&1; st=$?
ok $([ $st = 0 ] || [ $st = 75 ] && echo 0 || echo 1) "--once through PgBouncer in session mode runs (exit $st)"
unlike "$(cat "$T_DIR/pooled.log")" "unsupported startup parameter|cannot connect|refused" "PgBouncer accepts the session"
is "$(findings "$pooled_db" | grep -c '^T09|')" 4 "T09 flags the 4 records of its fixture (not the server's UTC calendar)"
is "$(findings "$pooled_db")" "$(findings "$direct_db")" "the findings through PgBouncer are the ones made directly"
like "$(sql "$pooled_db" "SELECT message FROM qf.finding WHERE rule_id = 'T09' AND dedupe_key = 'B4'")" "at 2026-03-07 10:00:00 local time" \
  "a message tells the institute's local time, not UTC's 02:00"
# a finding's times as qfctl prints them, through the pooler and directly
q() { "$QFCTL" -c "$T_DIR/$1.conf" findings list --format csv 2>&1; }
is "$(q pooled | cut -d, -f2-6,9- | sort)" "$(q direct | cut -d, -f2-6,9- | sort)" \
  "qfctl findings through PgBouncer list what they list directly"
is "$(q pooled | tr -d '"' | awk -F, '$4 == "T09" && $6 == "u4" {print $7}')" \
   "$(sql "$pooled_db" "SELECT to_char(first_seen AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') FROM qf.finding WHERE rule_id = 'T09' AND dedupe_key = 'B4'")" \
   "and print times in the institute's time zone, not the server's UTC"
got=$("$QFCTL" -c "$T_DIR/pooled.conf" rules test T09 --now "2026-11-25T12:00:00+08:00" 2>/dev/null | cut -f1-5 | tr '\t' '|')
is "$got" "$(cat "$QF_ROOT/tests/rules/T09.expected")" "qfctl rules test T09 through PgBouncer flags what T09.expected says"

# the daemon through the pooler: its session is ours for its lifetime
"$QFD" -c "$T_DIR/pooled.conf" 2>"$T_DIR/sd.log" & d=$!
T_PIDS+=("$d")
wait_for 10 'grep -q "connected to the database" "$T_DIR/sd.log"'; ok $? "the daemon connects through PgBouncer in session mode"
like "$(grep 'connected to the database' "$T_DIR/sd.log")" "host $PGB_session port 6432" "and says where"
sql "$pooled_db" "INSERT INTO records.audit_trail (event_id, entity, entity_id, field, changed_by, changed_at)
                  VALUES ('B10', 'test_task', 'H1', 'verdict', 'u10', '2026-03-03 23:30+08')"
DB=$pooled_db wait_sql "EXISTS (SELECT 1 FROM qf.finding WHERE dedupe_key = 'B10')"; ok $? "and evaluates a new record (23:30 local is off hours)"
sleep 1
is "$(grep -c 'does not exist\|lost the database' "$T_DIR/sd.log")" 0 "its prepared statements hold"
kill -TERM $d; wait $d; is "$?" 0 "SIGTERM: exit 0"

# ---- transaction mode: refused, once, and the daemon waits quietly ----
pgb_start tx transaction "$PGHOST"
CONNINFO="host=$PGB_tx port=6432 dbname=$pooled_db"
write_conf "$T_DIR/tx.conf" "http://127.0.0.1:9/hook"
out=$("$QFCTL" -c "$T_DIR/tx.conf" findings list 2>&1); st=$?
is "$st" 69 "qfctl through transaction pooling exits 69"
like "$out" "refused: the connection goes through a pooler that hands the server to other clients" "and says why"
"$QFD" -c "$T_DIR/tx.conf" --once >"$T_DIR/txonce.log" 2>&1; st=$?
is "$st" 69 "qingfengd --once refuses it too (69)"
# a record that arrives meanwhile waits for a session that holds
sql "$pooled_db" "INSERT INTO records.audit_trail (event_id, entity, entity_id, field, changed_by, changed_at)
                  VALUES ('B11', 'test_task', 'H1', 'verdict', 'u11', '2026-03-03 23:40+08')"
"$QFD" -c "$T_DIR/tx.conf" 2>"$T_DIR/tx.log" & d=$!
T_PIDS+=("$d")
port=""
wait_for 10 'port=$(grep -o "metrics on [^ ]* (port [0-9]*" "$T_DIR/tx.log" | grep -o "[0-9]*$"); [ -n "$port" ]'
base="http://127.0.0.1:$port"
# attempts at 0, 1, 3, 7 s: four of them in 8 s
wait_for 15 'get "$base/metrics" | grep -Eq "qingfeng_db_connect_failures_total\{reason=\"transaction_pooling\"\} [4-9]"'
ok $? "it retries, backing off, and counts each refusal"
h=$(get "$base/healthz")
is "$(printf '%s\n' "$h" | head -1)" 503 "/healthz 503 while refused"
like "$h" "database refused: transaction_pooling" "saying why"
m=$(get "$base/metrics")
like "$m" 'qingfeng_db_refused\{reason="transaction_pooling"\} 1' "qingfeng_db_refused{reason=\"transaction_pooling\"} 1"
like "$m" "qingfeng_up 0" "qingfeng_up 0"
is "$(grep -c 'refused' "$T_DIR/tx.log")" 1 "the refusal is logged once"
n=$(wc -l <"$T_DIR/tx.log")
ok $([ "$n" -le 8 ] && echo 0 || echo 1) "the log holds a handful of lines ($n), not thousands"
is "$(sql "$pooled_db" "SELECT count(*) FROM qf.finding WHERE dedupe_key = 'B11'")" 0 "nothing is evaluated through it"
kill -TERM $d; wait $d; is "$?" 0 "SIGTERM while refused: exit 0"

# ---- a database that is not there: the real error, exit 69 ----
mkdir -p "$T_DIR/nowhere"
CONNINFO="host=$T_DIR/nowhere port=5999 dbname=$pooled_db"
write_conf "$T_DIR/gone.conf" "http://127.0.0.1:9/hook"
out=$("$QFCTL" -c "$T_DIR/gone.conf" findings list 2>&1); st=$?
is "$st" 69 "qfctl against an unreachable database exits 69"
like "$out" "connection to server on socket \"$T_DIR/nowhere/.s.PGSQL.5999\" failed" "with libpq's error"
unlike "$out" "migrate" "and no advice to migrate"
# PgBouncer up, PostgreSQL down: the pooler holds the login until the
# client gives up
pgb_start down session "$T_DIR/nowhere"
CONNINFO="host=$PGB_down port=6432 dbname=$pooled_db"
write_conf "$T_DIR/down.conf" "http://127.0.0.1:9/hook"
out=$("$QFCTL" -c "$T_DIR/down.conf" findings list 2>&1); st=$?
is "$st" 69 "qfctl through PgBouncer to a stopped PostgreSQL exits 69"
like "$out" "connection to server on socket \"$PGB_down/.s.PGSQL.6432\" failed: (timeout expired|.*server)" "with libpq's error"
unlike "$out" "migrate|no qingfeng schema" "and no advice to migrate"

# the advice stays where it helps: a database without the schema
createdb "qf_${T_NAME}_empty"
CONNINFO="host=$PGHOST port=${PGPORT:-5432} dbname=qf_${T_NAME}_empty"
write_conf "$T_DIR/empty.conf" "http://127.0.0.1:9/hook"
out=$("$QFCTL" -c "$T_DIR/empty.conf" alerts list 2>&1); st=$?
is "$st" 69 "qfctl on a database without the schema exits 69"
like "$out" "database has no qingfeng schema \(.*\): run 'qfctl migrate'" "and says to migrate"
# and a role without rights is told that, not to migrate
role=qf_${T_NAME}_nobody
sql postgres "DROP ROLE IF EXISTS $role; CREATE ROLE $role LOGIN" 2>/dev/null
CONNINFO="host=$PGHOST port=${PGPORT:-5432} dbname=$pooled_db user=$role"
write_conf "$T_DIR/nobody.conf" "http://127.0.0.1:9/hook"
out=$("$QFCTL" -c "$T_DIR/nobody.conf" alerts list 2>&1); st=$?
is "$st" 69 "qfctl as a role without rights exits 69"
like "$out" "cannot read the schema version: permission denied" "saying the server's reason"
unlike "$out" "migrate" "not to migrate"
sql postgres "DROP ROLE $role"
dropdb "qf_${T_NAME}_empty"

done_testing
