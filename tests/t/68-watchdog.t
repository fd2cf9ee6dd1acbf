#!/bin/bash
# The loop stays alive while a statement runs. Through a real
# NOTIFY_SOCKET: a rule that sleeps 45 s (statement_timeout above it)
# gets WATCHDOG=1 every WATCHDOG_USEC/2 all along; SIGTERM during it
# cancels the statement and exits 0 within 10 s, the sleeping backend is
# gone, and nothing is lost (cursors unmoved, findings kept, a following
# --once completes the evaluation). A server that stops answering (its
# backend stopped) is given up after 2 x statement_timeout + 5 s, and the
# daemon reconnects.
. "$(dirname "$0")/../lib.sh"

now() { perl -MTime::HiRes=time -e 'printf "%.3f", time'; }
# the live lane's cursors (the loop's session, the one cancelled here); the
# bulk lane's ("rule:F09/bulk") move on their own, with no bulk to read
cursors() { sql "$DB" "SELECT string_agg(name || '=' || position, ',' ORDER BY name) FROM qf.cursor WHERE name LIKE 'rule:%' AND name NOT LIKE '%/%'"; }
sleeping() { sql "$DB" "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'qingfengd' AND state = 'active' AND query LIKE '%pg_sleep%'"; }
# gaps WINDOW-START WINDOW-END: the longest wait for a WATCHDOG=1 in the
# window, its ends included, and how many came (notify.log: "TIME MESSAGE")
gaps() {
  awk -v s="$1" -v e="$2" '$2 ~ /(^|\|)WATCHDOG=1(\||$)/ && $1 >= s && $1 <= e { if ($1 - p > m) m = $1 - p; p = $1; n++ }
    BEGIN { p = s; m = 0 } END { if (e - p > m) m = e - p; printf "%.2f %d\n", m, n }' "$T_DIR/notify.log"
}

new_db watchdog
sql "$DB" "CREATE TABLE public.slowdown (x int); GRANT SELECT ON public.slowdown TO PUBLIC"
receiver_start rcv -s s3cret
mkdir -p "$T_DIR/rules"
cp "$QF_ROOT"/rules/*.conf "$QF_ROOT/tests/conf/watchdog/sleep.conf" "$T_DIR/rules/"
RULES_DIR=$T_DIR/rules write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09)"
sed -i 's/^database = { conninfo = "\([^"]*\)"; };/database = { conninfo = "\1"; statement_timeout = 50000; };/' "$T_DIR/q.conf"
grep -q 'statement_timeout = 50000' "$T_DIR/q.conf"; ok $? "the test's statement_timeout (50 s) is above the rule's sleep (45 s)"

sock=$T_DIR/notify.sock
notify_listen "$sock" "$T_DIR/notify.log"

sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PAY-1', 'P1', 'P1')"
# WATCHDOG_PID: the daemon's own pid (bash's $$ survives the exec)
NOTIFY_SOCKET=$sock WATCHDOG_USEC=4000000 bash -c 'export WATCHDOG_PID=$$; exec "$@"' _ \
  "$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/daemon.log" &
dpid=$!
T_PIDS+=("$dpid")
wait_sql "(SELECT count(*) FROM qf.alert WHERE state = 'delivered') = 1 AND EXISTS (SELECT 1 FROM qf.cursor WHERE name = 'rule:X-SLEEP')"
ok $? "the first pass: PAY-1 flagged and delivered, X-SLEEP has a cursor"
before=$(cursors)

# the slow statement: a new SLOW payment read by F09 and X-SLEEP in one pass
sql "$DB" "INSERT INTO public.slowdown VALUES (1)"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('SLOW-1', 'P2', 'P2')"
wait_for 10 '[ "$(sleeping)" = 1 ]'; ok $? "the daemon's statement sleeps in pg_sleep(45)"
t0=$(now)
sleep 7
t1=$(now)
read -r gap n < <(gaps "$t0" "$t1")
note "WATCHDOG=1 during the statement: $n in $(perl -e 'printf "%.1f", $ARGV[1] - $ARGV[0]' "$t0" "$t1") s, longest wait $gap s"
ok $(perl -e 'exit($ARGV[0] <= 2.5 && $ARGV[1] >= 3 ? 0 : 1)' "$gap" "$n"; echo $?) \
   "WATCHDOG=1 keeps arriving every WATCHDOG_USEC/2 = 2 s while the statement runs (longest wait $gap s <= 2.5 s, $n of them)"
is "$(sleeping)" 1 "the statement is still running"
kill -0 $dpid; ok $? "and the daemon is alive"

ts=$(now)
kill -TERM $dpid
wait $dpid; st=$?
te=$(now)
is "$st" 0 "SIGTERM during the statement: exit 0 (no leak reported by ASan)"
took=$(perl -e 'printf "%.1f", $ARGV[1] - $ARGV[0]' "$ts" "$te")
ok $(perl -e 'exit($ARGV[0] <= 10 ? 0 : 1)' "$took"; echo $?) "within 10 s ($took s), not at the end of the statement"
like "$(cat "$T_DIR/daemon.log")" "cancel" "the log says the statement was cancelled"
like "$(tail -2 "$T_DIR/daemon.log")" "stopped" "and that the daemon stopped"
wait_for 5 '[ "$(sleeping)" = 0 ]'; ok $? "the sleeping backend is gone from pg_stat_activity"
is "$(sql "$DB" "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'qingfengd'")" 0 "no session of the daemon is left"
is "$(cursors)" "$before" "no cursor moved"
is "$(sql "$DB" "SELECT string_agg(rule_id || ':' || dedupe_key, ',' ORDER BY id) FROM qf.finding")" "F09:PAY-1" \
   "the finding that existed is there; nothing of the cancelled pass was written"
is "$(sql "$DB" "SELECT count(*) FROM qf.rule_run WHERE error IS NOT NULL")" 0 "the cancel is not recorded as a failed rule run"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE claimed_by IS NOT NULL")" 0 "no claim left behind"

# the next start evaluates what the cancelled pass did not
sql "$DB" "DELETE FROM public.slowdown"
run_once "$T_DIR/q.conf"; is "$?" 0 "a following --once run exits 0"
is "$(sql "$DB" "SELECT string_agg(rule_id || ':' || dedupe_key, ',' ORDER BY rule_id, dedupe_key) FROM qf.finding")" \
   "F09:PAY-1,F09:SLOW-1,X-SLEEP:SLOW-1" "and completes the evaluation: SLOW-1 flagged by both rules"

# A backend that stops answering: no answer for 2 x statement_timeout
# (1 s) + 5 s gives the connection up; the daemon reconnects and goes on.
sed -i 's/statement_timeout = 50000;/statement_timeout = 1000;/' "$T_DIR/q.conf"
sed -i 's/^metrics = .*/&\nevaluation = { interval = 1; };/' "$T_DIR/q.conf"
: >"$T_DIR/notify.log"
NOTIFY_SOCKET=$sock WATCHDOG_USEC=4000000 "$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/daemon2.log" &
dpid=$!
T_PIDS+=("$dpid")
wait_for 10 'grep -q "connected to the database" "$T_DIR/daemon2.log"'; ok $? "the daemon connects"
sleep 1
bpid=$(sql "$DB" "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'qingfengd'")
resume() { [ -n "${bpid:-}" ] && kill -CONT "$bpid" 2>/dev/null; }
trap 'resume; t_cleanup' EXIT
# stopped between two statements, not inside a transaction whose locks
# would hold up the next connection
idle() { [ "$(sql "$DB" "SELECT state FROM pg_stat_activity WHERE pid = $bpid")" = idle ]; }
stopped=1
for _ in $(seq 1 50); do
  if idle && kill -STOP "$bpid" && idle; then stopped=0; break; fi
  resume; sleep 0.05
done
ok $stopped "its backend ($bpid) is stopped while idle"
t0=$(now)
wait_for 15 'grep -q "no answer from the database" "$T_DIR/daemon2.log"'; ok $? "the daemon gives the silent connection up"
t1=$(now)
took=$(perl -e 'printf "%.1f", $ARGV[1] - $ARGV[0]' "$t0" "$t1")
ok $(perl -e 'exit($ARGV[0] >= 5 && $ARGV[0] <= 11 ? 0 : 1)' "$took"; echo $?) "after about 2 x statement_timeout + 5 s = 7 s ($took s)"
wait_for 10 '[ "$(grep -c "connected to the database" "$T_DIR/daemon2.log")" = 2 ]'; ok $? "and reconnects"
read -r gap n < <(gaps "$t0" "$t1")
ok $(perl -e 'exit($ARGV[0] <= 2.5 ? 0 : 1)' "$gap"; echo $?) "WATCHDOG=1 kept arriving while it waited (longest wait $gap s)"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PAY-3', 'P3', 'P3')"
wait_sql "EXISTS (SELECT 1 FROM qf.finding WHERE dedupe_key = 'PAY-3')"; ok $? "a new record is flagged on the new connection"
resume
kill -TERM $dpid; wait $dpid; is "$?" 0 "SIGTERM: exit 0"

done_testing
