#!/bin/bash
# A failover: a primary and its streaming replica (pg_basebackup, in this
# test's own directories: the shared cluster is not touched); the
# daemon's conninfo names both with target_session_attrs=read-write. The
# primary is stopped in the middle of a pass's writes (some committed and
# answered, one waiting on a lock) and the replica promoted. The daemon's
# log names the server it reconnected to, every record is judged once,
# and qingfeng_findings_created_total equals the findings in the database.
. "$(dirname "$0")/../lib.sh"

get() { perl -MHTTP::Tiny -e 'my $r = HTTP::Tiny->new(timeout => 5)->get($ARGV[0]); print "$r->{status}\n$r->{content}"' "$1"; }
bin=$(dirname "$QF_PGCTL")
runas=($QF_PGRUNAS)
A=$T_DIR/a B=$T_DIR/b   # each cluster's data directory is $X/data, its socket $X
chmod 711 "$T_DIR"
mkdir -p "$A" "$B"
[ "$(id -u)" -eq 0 ] && chown postgres: "$A" "$B"
pgc() { "${runas[@]}" "$bin/pg_ctl" "$@" >/dev/null; }
clusters_stop() {
  for x in "$A" "$B"; do
    [ -f "$x/data/postmaster.pid" ] && pgc -D "$x/data" -m immediate -w stop 2>/dev/null
  done
  t_cleanup
}
trap clusters_stop EXIT

"${runas[@]}" "$bin/initdb" -D "$A/data" -U "$PGUSER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$T_DIR/initdb.log" 2>&1
ok $? "a primary cluster"
cat >>"$A/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$A'
port = 5432
fsync = off
log_min_messages = warning
CONF
pgc -D "$A/data" -l "$A/server.log" -w start; ok $? "the primary starts"
"${runas[@]}" "$bin/pg_basebackup" -h "$A" -p 5432 -U "$PGUSER" -D "$B/data" -R -X stream >"$T_DIR/basebackup.log" 2>&1
ok $? "pg_basebackup makes a replica"
printf "unix_socket_directories = '%s'\n" "$B" >>"$B/data/postgresql.conf"
pgc -D "$B/data" -l "$B/server.log" -w start; ok $? "the replica starts"
wait_for 20 '[ "$(psql -X -At -h "$A" -d postgres -c "SELECT count(*) FROM pg_stat_replication WHERE state = '"'streaming'"'")" = 1 ]'
ok $? "and streams from the primary"

createdb -h "$A" qf && "$QFCTL" -d "host=$A dbname=qf" migrate >/dev/null; ok $? "the schema, on the primary"
# both servers, the writable one chosen: where the daemon, and the loader, go
CONNINFO="host=$A,$B port=5432,5432 dbname=qf target_session_attrs=read-write"
receiver_start rcv -s s3cret
write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09 F03 F06)" "evaluation = { interval = 1; };"
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/daemon.log" & d=$!
T_PIDS+=("$d")
wait_for 10 'grep -q "connected to the database" "$T_DIR/daemon.log"'; ok $? "the daemon connects"
like "$(grep 'connected to the database' "$T_DIR/daemon.log")" "connected to the database \(host $A port 5432\)" \
  "to the primary, and says so"
port=$(grep -o 'metrics on [^ ]* (port [0-9]*' "$T_DIR/daemon.log" | grep -o '[0-9]*$')
base="http://127.0.0.1:$port"

# a payment through whichever server takes writes
pay() {
  psql -X -q "$CONNINFO" -c "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by)
    VALUES ('H$1', '财务处', $(( $1 % 2 ? 48000 : 20000 )), 'P$1', 'P$1', 'X')"
}
q() { psql -X -At "$CONNINFO" -c "$1"; }
for i in $(seq 1 10); do pay $i || ok 1 "payment H$i"; done
# each payment: F09 and F06 (both amounts are round), plus F03 for 48000
wait_for 20 '[ "$(q "SELECT count(*) FROM qf.finding")" = 25 ]'; ok $? "10 payments judged before the failover (25 findings)"

# The failover cuts a pass in the middle of its writes: each rule's write
# is its own transaction in one pipeline, and the last one (F09) waits on
# a lock this test holds on its cursor, so F03's and F06's are committed
# and answered when the primary goes.
psql -X -q -h "$A" -d qf -c "BEGIN; SELECT 1 FROM qf.cursor WHERE name = 'rule:F09' FOR UPDATE;
  SELECT pg_sleep(60); COMMIT" >/dev/null 2>&1 &
holder=$!
wait_for 10 '[ "$(psql -X -At -h "$A" -d qf -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '"'%pg_sleep(60)%'"' AND pid <> pg_backend_pid()")" = 1 ]'
pay 11
wait_for 10 '[ "$(psql -X -At -h "$A" -d qf -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'qingfengd'"' AND wait_event_type = '"'Lock'"'")" = 1 ]'
ok $? "a pass waits on F09's write"
is "$(q "SELECT string_agg(rule_id, ' ' ORDER BY rule_id) FROM qf.finding WHERE dedupe_key = 'H11'")" "F03 F06" \
  "while the same pass's F03 and F06 writes are committed"
pgc -D "$A/data" -m fast -w stop; ok $? "the primary is stopped"
wait $holder 2>/dev/null
pgc -D "$B/data" -w promote; ok $? "the replica is promoted"
fail=0; for i in $(seq 12 20); do pay $i || fail=1; done
ok $fail "payments go on to the promoted replica"

# 20 payments: 10 × 3 + 10 × 2
wait_for 60 '[ "$(q "SELECT count(*) FROM qf.finding")" = 50 ]'
ok $? "every payment is judged on the new primary ($(q "SELECT count(*) FROM qf.finding") of 50 findings)"
is "$(q "SELECT count(*) FROM (SELECT 1 FROM qf.finding GROUP BY rule_id, dedupe_key HAVING count(*) > 1) x")" 0 "none twice"
like "$(grep 'connected to the database' "$T_DIR/daemon.log" | tail -1)" "connected to the database \(host $B port 5432\)" \
  "the log names the server the daemon reconnected to"
created=$(q "SELECT count(*) FROM qf.finding")
wait_for 10 'get "$base/metrics" | grep -q "^qingfeng_findings_created_total $created\$"'; st=$?
is "$(get "$base/metrics" | grep '^qingfeng_findings_created_total ')" "qingfeng_findings_created_total $created" \
  "the created counter equals the findings made"
like "$(get "$base/metrics")" "qingfeng_reconnects_total [1-9]" "the reconnect is counted"
kill -TERM $d; wait $d; is "$?" 0 "SIGTERM: exit 0"
grep -E 'lost the database|connected to' "$T_DIR/daemon.log" | sed 's/^/# /'
done_testing
